from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from interfaces.deps import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(services: ServicesDep) -> JSONResponse:
    """ok; unavailable (503) when the store is down; degraded (200: the service still takes
    evidence) when a follower cannot apply an event: which one, which event, the error."""
    try:
        await run_in_threadpool(services.app.recorder.max_notification_id)
        faults = await run_in_threadpool(services.faults.current) if services.faults else []
    except Exception as exc:  # the store is down: say so, don't crash
        return JSONResponse({"status": "unavailable", "detail": str(exc)[:200]}, status_code=503)
    if faults:
        return JSONResponse({"status": "degraded", "followers": faults})
    return JSONResponse({"status": "ok"})
