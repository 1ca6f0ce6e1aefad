"""Server-rendered pages: a small layout around one template each; behaviour in ES modules."""

from __future__ import annotations

import html
import json
from pathlib import Path
from string import Template
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from application.access import ADMINS, CANDIDATES, REVIEWERS, STAFF, Actor
from interfaces.deps import OptionalActorDep, ServicesDep
from interfaces.page_paths import login_url, safe_next

router = APIRouter(include_in_schema=False)
TEMPLATES = Path(__file__).parent.parent / "templates"
NAV = [  # only pages that exist
    ("/exams", "Exams", None),
    ("/proctor-center", "Proctor Center", STAFF),
    ("/admin/settings", "Settings", ADMINS),
]
FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" '
    'fill="#1f5fa8"/><path d="M9 17l5 5 9-11" stroke="#fff" stroke-width="3.5" fill="none" '
    'stroke-linecap="round" stroke-linejoin="round"/></svg>'
)


def render(
    name: str, title: str, actor: Actor | None, status: int = 200, notice: str = "", **data: Any
) -> HTMLResponse:
    body = Template((TEMPLATES / f"{name}.html").read_text()).safe_substitute(
        {k: html.escape(str(v)) for k, v in data.items()}
    )
    if notice:
        note = html.escape(notice)
        body = f'<p class="card notice" role="status" data-testid="page-notice">{note}</p>\n{body}'
    return layout(title, actor, body, status, data)


def layout(title: str, actor: Actor | None, body: str, status: int, data: dict[str, Any]) -> HTMLResponse:
    nav = ""
    if actor is not None:
        links = "".join(
            f'<a href="{href}">{label}</a>'
            for href, label, roles in NAV
            if roles is None or actor.role in roles
        )
        nav = (
            f'<nav aria-label="Main">{links}<span class="who">{html.escape(actor.display_name)} '
            f'({actor.role})</span><button type="button" id="logout">Log out</button></nav>'
        )
    page = Template((TEMPLATES / "layout.html").read_text()).substitute(
        title=html.escape(title),
        nav=nav,
        body=body,
        boot=html.escape(json.dumps({k: str(v) for k, v in data.items()})),
    )
    return HTMLResponse(page, status_code=status, headers={"Cache-Control": "no-store"})


ERROR_TITLES = {400: "Bad request", 403: "Not allowed", 404: "Page not found", 422: "Bad address"}


def error_page(status: int, detail: str, actor: Actor | None) -> HTMLResponse:
    """An error on a page, in the pages' look (the API answers JSON: interfaces/errors.py)."""
    title = ERROR_TITLES.get(status, "Something went wrong")
    if status == 403:
        return render("forbidden", title, actor, status=403)
    body = (
        f'<section class="card" aria-labelledby="error-title"><h1 id="error-title">{title}</h1>'
        f'<p>{html.escape(detail)}</p><p><a href="/">Go to your start page</a>.</p></section>'
    )
    return layout(title, actor, body, status, {})


def _login_redirect(request: Request) -> Response:
    return RedirectResponse(login_url(request.url.path, request.url.query), status_code=303)


def _page(
    request: Request,
    actor: Actor | None,
    roles: tuple[str, ...] | None,
    name: str,
    title: str,
    **data: Any,
) -> Response:
    if actor is None:
        return _login_redirect(request)
    if roles is not None and actor.role not in roles:
        return error_page(403, "Your role cannot open this page.", actor)
    return render(name, title, actor, **data)


@router.get("/")
def home(actor: OptionalActorDep) -> Response:
    if actor is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse("/proctor-center" if actor.role in STAFF else "/exams", status_code=303)


@router.get("/login")
def login_page(request: Request, actor: OptionalActorDep) -> Response:
    """The redirect target after login is decided here: an unsafe `next` is dropped (303 to
    /login), so the page script only ever sees a same-site path."""
    raw = request.query_params.get("next")
    target = safe_next(raw)
    if raw is not None and target is None:
        return RedirectResponse("/login", status_code=303)
    if target is None:
        return render("login", "Log in", None)
    notice = f"Log in to open {target}: that page needs you to be logged in."
    if actor is not None:
        notice = f"You are logged in as {actor.display_name} ({actor.role}); log in again to open {target}."
    return render("login", "Log in", None, notice=notice, next=target)


@router.get("/favicon.ico")
def favicon() -> Response:
    return Response(FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})


@router.get("/exams")
def exams_page(request: Request, actor: OptionalActorDep) -> Response:
    return _page(request, actor, None, "exams", "Exams")


@router.get("/exam/{attempt_id}")
def exam_page(
    request: Request, attempt_id: UUID, actor: OptionalActorDep, services: ServicesDep
) -> Response:
    settings = services.settings
    return _page(
        request,
        actor,
        CANDIDATES,
        "exam",
        "Exam",
        attempt_id=attempt_id,
        videoRecording=str(settings.enable_video_recording).lower(),
        chunkSeconds=settings.chunk_seconds,
    )


@router.get("/proctor-center")
def proctor_center_page(request: Request, actor: OptionalActorDep) -> Response:
    return _page(request, actor, STAFF, "proctor_center", "Proctor Center")


@router.get("/proctor-center/session/{attempt_id}")
def session_page(request: Request, attempt_id: UUID, actor: OptionalActorDep) -> Response:
    return _page(request, actor, STAFF, "session", "Session", attempt_id=attempt_id)


@router.get("/proctor-center/recording/{attempt_id}")
def recording_page(request: Request, attempt_id: UUID, actor: OptionalActorDep) -> Response:
    """The Attempt Video Page: the MP4, the timeline that seeks it, screenshots, retention."""
    return _page(request, actor, REVIEWERS, "recording", "Recording", attempt_id=attempt_id)


@router.get("/admin/settings")
def admin_settings_page(request: Request, actor: OptionalActorDep) -> Response:
    return _page(request, actor, ADMINS, "admin_settings", "Settings")
