"""Admin routes over HTTP on the real app: GET/PUT /api/admin/settings (who may, strict range,
who changed what) and POST /api/admin/retention/run (dry run by default and changing nothing;
a real run deleting what is due), with a fake clock so recordings can be 31 days old."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeClock
from fastapi.testclient import TestClient
from recording_world import World, events_of
from retention_world import DAY, clip, files_under, finalized, orphan_folder, without_schedule, world_on

from adapters.passwords import Argon2Hasher
from adapters.runtime.bootstrap import bootstrap
from adapters.runtime.services import Services
from application.config import AppSettings
from domain import ids
from domain.settings import MAX_RETENTION_DAYS, Settings
from interfaces.app_factory import create_app

PASSWORD = "password-123"
ROLES = ["proctor", "supervisor", "auditor", "candidate"]


class Admin:
    def __init__(self, client: TestClient, services: Services, w: World) -> None:
        self.client, self.services, self.w = client, services, w
        names = {"admin": "admin", "proctor": "proctor", "supervisor": "supervisor", "auditor": "auditor",
                 "candidate": "cand0"}  # fmt: skip
        self.tokens = {role: self.login(name) for role, name in names.items()}
        client.cookies.clear()  # bearer tokens only: a cookie session would need CSRF headers

    def login(self, username: str) -> dict[str, str]:
        r = self.client.post("/api/auth/login", json={"username": username, "password": "password-123"})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['accessToken']}"}


@pytest.fixture
def ui(tmp_path: Path, clock: FakeClock) -> Iterator[Admin]:
    settings = AppSettings(data_dir=tmp_path, expiry_sweep_seconds=3600, projection_process=False,
                           enable_sample_sessions=False)  # fmt: skip
    holder: dict[str, Any] = {}

    def build(s: AppSettings) -> Services:
        hasher = Argon2Hasher(time_cost=1, memory_cost=8192)
        services = without_schedule(bootstrap(s, clock=clock, hasher=hasher))
        holder["w"] = world_on(services, clock)
        from application.users import register_user

        for name in ("supervisor", "auditor"):
            register_user(services.app, name, PASSWORD, name, name.title())
        return services

    app = create_app(settings, build=build)
    with TestClient(app) as client:
        yield Admin(client, app.state.services, holder["w"])


def test_an_admin_reads_and_changes_the_retention_days(ui: Admin) -> None:
    admin = ui.tokens["admin"]
    r = ui.client.get("/api/admin/settings", headers=admin)
    assert r.status_code == 200 and r.json()["retentionDays"] == 30
    assert r.json()["maxRetentionDays"] == MAX_RETENTION_DAYS and r.headers["cache-control"] == "no-store"
    r = ui.client.put("/api/admin/settings", json={"retentionDays": 7}, headers=admin)
    assert r.status_code == 200 and r.json()["retentionDays"] == 7
    assert ui.client.get("/api/admin/settings", headers=admin).json()["retentionDays"] == 7
    events = ui.services.app.events.get(ids.settings_id())
    changed = [e for e in events if isinstance(e, Settings.RetentionDaysChanged)]
    assert [(e.by, e.old, e.new) for e in changed] == [(ui.w.admin.user_id, 30, 7)]


@pytest.mark.parametrize("role", ROLES)
def test_only_admins_may(ui: Admin, role: str) -> None:
    who = ui.tokens[role]
    position = ui.services.app.position()
    calls = [("GET", "/api/admin/settings", None), ("PUT", "/api/admin/settings", {"retentionDays": 5}),
             ("POST", "/api/admin/retention/run?dryRun=false", None)]  # fmt: skip
    for method, path, body in calls:
        r = ui.client.request(method, path, json=body, headers=who)
        assert r.status_code == 403 and r.json()["error"] == "PermissionDenied", (method, path, r.text)
    assert ui.services.app.position() == position


def test_anonymous_is_401(ui: Admin) -> None:
    for method, path in [("GET", "/api/admin/settings"), ("PUT", "/api/admin/settings"),
                         ("POST", "/api/admin/retention/run")]:  # fmt: skip
        r = ui.client.request(method, path, json={"retentionDays": 5})
        assert r.status_code == 401 and set(r.json()) == {"error", "detail"}


@pytest.mark.parametrize("days", [0, -1, MAX_RETENTION_DAYS + 1, "7", 7.0, 7.5, True, None, [7]])
def test_out_of_range_or_not_an_integer_is_422_and_changes_nothing(ui: Admin, days: Any) -> None:
    position = ui.services.app.position()
    r = ui.client.put("/api/admin/settings", json={"retentionDays": days}, headers=ui.tokens["admin"])
    assert r.status_code == 422 and r.json()["error"] == "InvalidInput" and r.json()["detail"]
    assert ui.services.app.position() == position


def test_unknown_or_missing_fields_are_422(ui: Admin) -> None:
    admin = ui.tokens["admin"]
    for body in [{}, {"retentionDays": 5, "other": 1}, {"days": 5}]:
        r = ui.client.put("/api/admin/settings", json=body, headers=admin)
        assert r.status_code == 422, body


def test_retention_run_dry_by_default_then_for_real(ui: Admin, tmp_path: Path) -> None:
    w, admin = ui.w, ui.tokens["admin"]
    old = finalized(w, 0, clip(tmp_path))
    w.clock.advance(31 * DAY)
    lost = orphan_folder(w, 2 * DAY)
    root = ui.services.media.root
    position, before = ui.services.app.position(), files_under(root)
    for query in ("", "?dryRun=true"):
        r = ui.client.post(f"/api/admin/retention/run{query}", headers=admin)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["dryRun"] is True and [x["attemptId"] for x in body["recordings"]] == [str(old)]
        assert [o["path"] for o in body["orphans"]] == [w.files.folder_path(lost)]
        assert body["bytesFreed"] == body["recordings"][0]["bytes"] + body["orphans"][0]["bytes"] > 0
        assert ui.services.app.position() == position and files_under(root) == before
    r = ui.client.post("/api/admin/retention/run?dryRun=false", headers=admin)
    assert r.status_code == 200 and r.json()["dryRun"] is False
    assert r.json()["recordings"] == body["recordings"] and r.json()["bytesFreed"] == body["bytesFreed"]
    assert events_of(w.app, old)[-1] == "RecordingDeleted" and not w.files.folder(old).exists()
    events = w.app.events.get(ids.recording_id(old))
    (deleted,) = [e for e in events if type(e).__name__ == "RecordingDeleted"]
    assert (deleted.by, deleted.why) == (w.admin.user_id, "retention: 30 days")
    assert ui.client.post("/api/admin/retention/run?dryRun=maybe", headers=admin).status_code == 422
