"""Composition root: settings in, a running set of services out. Nothing else wires adapters.
The followers run as threads here, in a supervised child process, or (run_projections=false)
in a separate `smart-exam worker`."""

from __future__ import annotations

from adapters.runtime.assembly import assemble, follow_in_threads
from adapters.runtime.projection_process import ProjectionProcess
from adapters.runtime.services import Services
from application.config import AppSettings
from application.ports import Clock, PasswordHasher


def bootstrap(
    settings: AppSettings,
    *,
    clock: Clock | None = None,
    hasher: PasswordHasher | None = None,
    run_workers: bool = True,
) -> Services:
    following = run_workers and settings.run_projections
    in_child = following and settings.projections_in_own_process
    services = assemble(settings, clock=clock, hasher=hasher, follow_here=following and not in_child)
    if in_child:
        services.background.append(ProjectionProcess(settings, services.app.recorder, services.bus))
        services.followers_in_child = True
    elif following:
        follow_in_threads(services)
    return services
