from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from interfaces.deps import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(services: ServicesDep) -> JSONResponse:
    try:
        services.app.recorder.max_notification_id()
    except Exception as exc:  # the store is down: say so, don't crash
        return JSONResponse({"status": "unavailable", "detail": str(exc)[:200]}, status_code=503)
    return JSONResponse({"status": "ok"})
