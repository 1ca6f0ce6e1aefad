from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from adapters.runtime.services import CENTER
from application.access import STAFF, require_role
from interfaces.deps import ActorDep, ServicesDep
from interfaces.schemas import SessionOut, session_out

router = APIRouter(prefix="/api/Proctor", tags=["proctor"])


@router.get("/sessions", response_model=list[SessionOut])
def list_sessions(
    actor: ActorDep,
    services: ServicesDep,
    response: Response,
    status: Literal["Active", "Completed", "Cancelled"] = "Active",
    include_samples: Annotated[bool, Query(alias="includeSamples")] = False,
) -> list[SessionOut]:
    require_role(actor, *STAFF)
    response.headers["Cache-Control"] = "no-store"
    services.wait_until_current(CENTER)  # reads see writes
    rows = services.center.sessions(status, include_samples, services.app.clock.now())
    return [session_out(r) for r in rows]
