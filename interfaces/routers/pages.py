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

router = APIRouter(include_in_schema=False)
TEMPLATES = Path(__file__).parent.parent / "templates"
# Only pages that exist: the audit page adds its link here.
NAV = [
    ("/exams", "Exams", None),
    ("/proctor-center", "Proctor Center", STAFF),
    ("/admin/settings", "Settings", ADMINS),
]


def render(name: str, title: str, actor: Actor | None, **data: Any) -> HTMLResponse:
    body = Template((TEMPLATES / f"{name}.html").read_text()).safe_substitute(
        {k: html.escape(str(v)) for k, v in data.items()}
    )
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
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


def _login_redirect(request: Request) -> Response:
    return RedirectResponse(f"/login?next={request.url.path}", status_code=303)


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
        return render("forbidden", "Not allowed", actor)
    return render(name, title, actor, **data)


@router.get("/")
def home(actor: OptionalActorDep) -> Response:
    if actor is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse("/proctor-center" if actor.role in STAFF else "/exams", status_code=303)


@router.get("/login")
def login_page(actor: OptionalActorDep) -> Response:
    return render("login", "Log in", None)


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
