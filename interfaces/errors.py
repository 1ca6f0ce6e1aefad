"""The one place errors become HTTP: {"error": "<Type>", "detail": "<human text>"}."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from eventsourcing.persistence import IntegrityError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from domain import errors
from interfaces.deps import actor_from
from interfaces.routers.pages import error_page

log = logging.getLogger(__name__)

STATUS: dict[type[errors.SmartExamError], int] = {
    errors.BadRequest: 400,
    errors.NotAuthenticated: 401,
    errors.PermissionDenied: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Gone: 410,
    errors.PayloadTooLarge: 413,
    errors.UnsupportedMediaType: 415,
    errors.InvalidInput: 422,
    errors.RateLimited: 429,
    errors.Unavailable: 503,
}
HTTP_NAMES = {
    400: "BadRequest",
    401: "NotAuthenticated",
    403: "PermissionDenied",
    404: "NotFound",
    405: "MethodNotAllowed",
    408: "RequestTimeout",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    422: "InvalidInput",
    429: "RateLimited",
    503: "Unavailable",
}


API_PREFIXES = ("/api/", "/static/", "/healthz", "/openapi.json", "/docs", "/redoc")


def wants_page(request: Request) -> bool:
    """A browser navigating to a page (not the API): its errors are HTML in the pages' look."""
    return (
        request.method in ("GET", "HEAD")
        and not request.url.path.startswith(API_PREFIXES)
        and "text/html" in request.headers.get("accept", "")
    )


def page_error(request: Request, status: int, detail: str) -> Response:
    try:
        actor = actor_from(request, request.app.state.signer)
    except errors.SmartExamError:
        actor = None
    return error_page(status, detail, actor)


def error_response(
    status: int, error: str, detail: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)


def _validation_detail(exc: RequestValidationError) -> str:
    parts = []
    for e in exc.errors()[:5]:
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {e.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def status_of(exc: errors.SmartExamError) -> int:
    return next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)


def close_code(exc: errors.SmartExamError) -> int:
    """A WebSocket refusal: 4000 + the HTTP status (4401, 4403, 4404, 4409, 4429, 4503), with
    the detail as the close reason. 400 and 422 both close as 4400 (a malformed message)."""
    status = status_of(exc)
    return 4400 if status == 422 else 4000 + status


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(errors.SmartExamError)
    async def _domain(_: Request, exc: errors.SmartExamError) -> JSONResponse:
        status = status_of(exc)
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, errors.RateLimited) else None
        return error_response(status, type(exc).__name__, exc.detail, headers)

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        return error_response(409, "Conflict", "another change was saved first; reload and retry")

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        if wants_page(request):
            return page_error(request, 422, "This address is malformed: " + _validation_detail(exc))
        malformed = any(e.get("type") == "json_invalid" for e in exc.errors())
        if malformed:
            return error_response(400, "BadRequest", "request body is not valid JSON")
        return error_response(422, "InvalidInput", _validation_detail(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and wants_page(request):
            return page_error(request, 404, "There is no page at this address.")
        name = HTTP_NAMES.get(exc.status_code, "HTTPError")
        return error_response(exc.status_code, name, str(exc.detail), exc.headers)

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, _: ClientDisconnect) -> JSONResponse:
        log.info("%s %s: the client went away mid-body", request.method, request.url.path)
        return error_response(400, "BadRequest", "the request body ended early: the client went away")

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return error_response(500, "InternalError", "unexpected server error; it has been logged")
