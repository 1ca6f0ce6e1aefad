"""Admin routes: product settings (the retention period) and running the retention sweep now."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from adapters.runtime.retention import sweep
from application import admin
from application.access import ADMINS, require_role
from interfaces.deps import ActorDep, CommandsDep, ServicesDep
from interfaces.schemas_admin import (
    ExpiredRecordingOut,
    OrphanOut,
    RetentionRunOut,
    SettingsIn,
    SettingsOut,
)

router = APIRouter(tags=["admin"])


@router.get("/api/admin/settings", response_model=SettingsOut)
def get_settings(actor: ActorDep, services: ServicesDep, response: Response) -> SettingsOut:
    settings = admin.read_settings(services.app, actor)
    response.headers["Cache-Control"] = "no-store"
    return SettingsOut(retention_days=settings.retention_days)


@router.put("/api/admin/settings", response_model=SettingsOut)
async def put_settings(
    body: SettingsIn, actor: ActorDep, services: ServicesDep, commands: CommandsDep
) -> SettingsOut:
    settings = await commands.run(admin.change_retention_days, services.app, actor, body.retention_days)
    return SettingsOut(retention_days=settings.retention_days)


@router.post("/api/admin/retention/run", response_model=RetentionRunOut)
async def run_retention(
    actor: ActorDep,
    services: ServicesDep,
    dry_run: bool = Query(True, alias="dryRun"),
) -> RetentionRunOut:
    """Runs the sweep now (a dry run unless `dryRun=false`): what it deleted, or would."""
    require_role(actor, *ADMINS)
    report = await run_in_threadpool(sweep, services, by=actor.user_id, dry_run=dry_run)
    return RetentionRunOut(
        dry_run=report.dry_run,
        retention_days=report.retention_days,
        cutoff=report.cutoff,
        recordings=[
            ExpiredRecordingOut(attempt_id=r.attempt_id, ended_at=r.ended_at, bytes=r.bytes)
            for r in report.recordings
        ],
        orphans=[
            OrphanOut(path=o.path, bytes=o.bytes, files=o.files, reason=o.reason) for o in report.orphans
        ],
        skipped=report.skipped,
        bytes_freed=report.bytes_freed,
    )
