"""Every route: happy path, 401 anonymous, 403 wrong role / other candidate, 404, 409, 422, 400."""

from __future__ import annotations

import uuid

import pytest
from helpers import wait_until

from tests.api.conftest import Api

UNKNOWN = str(uuid.uuid4())


def assert_error(r, status: int, error: str | None = None) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "detail"} and body["detail"], body
    if error:
        assert body["error"] == error


def test_healthz(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}


def test_login_me_logout_and_bad_credentials(api: Api) -> None:
    c = api.client
    assert_error(c.post("/api/auth/login", json={"username": "alice", "password": "nope-nope"}), 401)
    assert_error(c.post("/api/auth/login", json={"username": "ghost", "password": "whatever1"}), 401)
    assert_error(
        c.post("/api/auth/login", content=b"{bad", headers={"content-type": "application/json"}),
        400,
    )
    assert_error(c.post("/api/auth/login", json={"username": 5}), 422)
    assert c.get("/api/auth/me", headers=api.alice).json()["role"] == "candidate"
    assert_error(c.get("/api/auth/me", headers={"Authorization": "Bearer forged.token"}), 401)
    assert c.post("/api/auth/logout").status_code == 204


def test_cookie_session_needs_csrf_header_on_writes(api: Api) -> None:
    c = api.client
    r = c.post("/api/auth/login", json={"username": "alice", "password": "password-123"})
    exam = api.exam()
    assert_error(c.post(f"/api/exams/{exam}/attempts"), 403)  # cookie only, no CSRF header
    ok = c.post(f"/api/exams/{exam}/attempts", headers={"X-CSRF-Token": r.json()["csrfToken"]})
    assert ok.status_code == 200
    assert c.get(f"/api/attempts/{ok.json()['attemptId']}").status_code == 200  # reads need none


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/exams"),
        ("POST", "/api/exams"),
        ("GET", f"/api/attempts/{UNKNOWN}"),
        ("POST", f"/api/exams/{UNKNOWN}/attempts"),
        ("GET", "/api/Proctor/sessions"),
        ("GET", "/api/Proctor/sessions/stream"),
        ("POST", f"/api/Proctor/snapshot/{UNKNOWN}"),
        ("GET", f"/api/Proctor/timeline/{UNKNOWN}"),
    ],
)
def test_anonymous_gets_401(api: Api, method: str, path: str) -> None:
    api.client.cookies.clear()
    assert_error(api.client.request(method, path, json={}), 401, "NotAuthenticated")


def test_exam_crud_roles_and_validation(api: Api) -> None:
    c = api.client
    body = {
        "title": "T",
        "durationSeconds": 60,
        "questions": [{"id": "a", "text": "t", "choices": ["x", "y"], "answer": 1}],
    }
    assert_error(c.post("/api/exams", json=body, headers=api.alice), 403)
    assert_error(c.post("/api/exams", json={**body, "durationSeconds": "long"}, headers=api.admin), 422)
    bad = {**body, "questions": [{"id": "a", "text": "t", "choices": ["x", "y"], "answer": 5}]}
    assert_error(c.post("/api/exams", json=bad, headers=api.admin), 422)
    exam = c.post("/api/exams", json=body, headers=api.admin).json()["id"]
    listed = wait_until(lambda: c.get("/api/exams", headers=api.alice).json(), what="exam listed")
    assert listed[0]["id"] == exam and listed[0]["questionCount"] == 1


def test_attempt_lifecycle_and_ownership(api: Api) -> None:
    c = api.client
    exam = api.exam()
    first = api.start(exam, api.alice)
    again = api.start(exam, api.alice)
    assert first == again and first["proctorSessionId"]
    attempt = first["attemptId"]
    assert_error(c.post(f"/api/exams/{exam}/attempts", headers=api.proctor), 403)
    assert_error(c.post(f"/api/exams/{UNKNOWN}/attempts", headers=api.alice), 404)
    assert_error(c.get(f"/api/attempts/{attempt}", headers=api.bob), 404)  # issue 12 class 8
    assert_error(c.get(f"/api/attempts/{UNKNOWN}", headers=api.alice), 404)
    assert_error(c.get("/api/attempts/not-a-uuid", headers=api.alice), 422)
    view = c.get(f"/api/attempts/{attempt}", headers=api.alice).json()
    assert view["status"] == "Active" and "answer" not in view["questions"][0]
    assert c.get(f"/api/attempts/{attempt}", headers=api.proctor).status_code == 200

    def put(q: str, body: object, who: dict[str, str] = api.alice):  # type: ignore[no-untyped-def]
        return c.put(f"/api/attempts/{attempt}/answers/{q}", json=body, headers=who)

    assert put("q1", {"choice": 1}).json() == {"status": "saved"}
    assert_error(put("q1", {"choice": 1}, api.bob), 404)
    assert_error(put("q9", {"choice": 0}), 404)
    assert_error(put("q1", {"choice": 7}), 422)
    assert_error(put("q1", {"choice": "one"}), 422)
    assert_error(c.post(f"/api/attempts/{attempt}/submit", headers=api.bob), 404)
    result = c.post(f"/api/attempts/{attempt}/submit", headers=api.alice).json()
    assert result == {"status": "Submitted", "score": 1, "maxScore": 2, "passed": False}
    assert_error(c.post(f"/api/attempts/{attempt}/submit", headers=api.alice), 409, "Conflict")
    assert_error(put("q2", {"choice": 0}), 409)
    assert_error(c.post(f"/api/attempt-control/{attempt}/force-end", json={}, headers=api.proctor), 409)


def test_force_end_cancels_and_blocks_the_candidate(api: Api) -> None:
    c = api.client
    attempt = api.start(api.exam(), api.alice)["attemptId"]
    assert_error(
        c.post(f"/api/attempt-control/{attempt}/force-end", json={"reason": "x"}, headers=api.alice),
        403,
    )
    assert_error(c.post(f"/api/attempt-control/{UNKNOWN}/force-end", json={}, headers=api.proctor), 404)
    r = c.post(f"/api/attempt-control/{attempt}/force-end", json={"reason": "phone"}, headers=api.proctor)
    assert r.json() == {"status": "Cancelled"}
    assert_error(c.post(f"/api/attempts/{attempt}/submit", headers=api.alice), 409)
    rows = wait_until(
        lambda: c.get("/api/Proctor/sessions?status=Cancelled", headers=api.proctor).json(),
        what="cancelled",
    )
    assert [s["attemptId"] for s in rows] == [attempt] and rows[0]["endedAt"]


def test_sessions_list_filters_and_samples(api: Api) -> None:
    c = api.client
    get = lambda q="": c.get(f"/api/Proctor/sessions{q}", headers=api.proctor)  # noqa: E731
    assert get().json() == []
    samples = get("?includeSamples=true").json()
    assert len(samples) == 2 and all(s["isSample"] for s in samples)
    assert get("?includeSamples=true").json() == samples  # stable ids
    assert_error(
        c.post(
            f"/api/Proctor/sessions/{samples[0]['attemptId']}/flag",
            json={"note": "x"},
            headers=api.proctor,
        ),
        409,
    )
    assert_error(get("?status=Weird"), 422)
    assert_error(c.get("/api/Proctor/sessions", headers=api.alice), 403)
    attempt = api.start(api.exam(), api.alice)["attemptId"]
    rows = wait_until(
        lambda: get("?includeSamples=true").json(),
        lambda r: r and not r[0]["isSample"],
        what="real",
    )
    assert [r["attemptId"] for r in rows] == [attempt]  # never mixed
    assert get("?status=Completed").json() == []
    unproctored = api.start(api.exam(proctoring=False), api.bob)
    assert unproctored["proctorSessionId"] is None


def test_proctor_actions_and_detail(api: Api) -> None:
    c = api.client
    attempt = api.start(api.exam(), api.alice)["attemptId"]
    assert_error(c.post(f"/api/Proctor/sessions/{attempt}/flag", json={"note": "x"}, headers=api.alice), 403)
    assert_error(
        c.post(f"/api/Proctor/sessions/{attempt}/warn", json={"message": ""}, headers=api.proctor),
        422,
    )
    assert_error(
        c.post(f"/api/Proctor/sessions/{UNKNOWN}/warn", json={"message": "hi"}, headers=api.proctor),
        404,
    )
    assert (
        c.post(
            f"/api/Proctor/sessions/{attempt}/flag", json={"note": "look"}, headers=api.proctor
        ).status_code
        == 200
    )
    assert (
        c.post(
            f"/api/Proctor/sessions/{attempt}/warn", json={"message": "eyes"}, headers=api.proctor
        ).status_code
        == 200
    )
    ev = c.post(
        f"/api/Proctor/event/{attempt}",
        json={"type": "tab_hidden", "detail": ""},
        headers=api.alice,
    )
    assert ev.status_code == 201
    assert_error(c.post(f"/api/Proctor/event/{attempt}", json={"type": "rm -rf"}, headers=api.alice), 422)
    assert_error(c.post(f"/api/Proctor/event/{attempt}", json={"type": "tab_hidden"}, headers=api.bob), 404)
    detail = wait_until(
        lambda: c.get(f"/api/Proctor/sessions/{attempt}", headers=api.proctor).json(),
        lambda d: (
            len(d.get("timeline", [])) >= 4
            and any(r["type"] == "tab_hidden" for r in d["session"]["riskReasons"])
        ),
        what="timeline and risk",
    )
    assert detail["session"]["riskScore"] == 30 and detail["session"]["flagCount"] == 1
    assert [r["type"] for r in detail["session"]["riskReasons"]] == ["flagged", "tab_hidden"]
    labels = [i["label"] for i in detail["timeline"]]
    assert labels == ["Exam started", "Flagged by proctor", "Warning sent", "Left the exam tab"]
    timeline = c.get(f"/api/Proctor/timeline/{attempt}", headers=api.proctor).json()
    assert [i["label"] for i in timeline] == labels
    assert_error(c.get(f"/api/Proctor/timeline/{UNKNOWN}", headers=api.proctor), 404)
    assert_error(c.get(f"/api/Proctor/sessions/{attempt}", headers=api.alice), 403)


def test_connectivity_events_never_raise_risk(api: Api) -> None:
    c = api.client
    attempt = api.start(api.exam(), api.alice)["attemptId"]
    for kind in ("snapshot_upload_failed", "network_offline", "live_lost"):
        c.post(f"/api/Proctor/event/{attempt}", json={"type": kind}, headers=api.alice)
    row = wait_until(
        lambda: c.get(f"/api/Proctor/sessions/{attempt}", headers=api.proctor).json()["session"],
        lambda s: s["connectivityIssues"] == 3,
        what="connectivity counted",
    )
    assert row["riskScore"] == 0 and row["riskReasons"] == []


def test_failed_logins_are_throttled_but_successes_are_not(api: Api) -> None:
    for _ in range(25):  # an exam hall behind one address logging in
        assert (
            api.client.post(
                "/api/auth/login", json={"username": "alice", "password": "password-123"}
            ).status_code
            == 200
        )
    codes = [
        api.client.post("/api/auth/login", json={"username": "bob", "password": "wrong-guess"}).status_code
        for _ in range(21)
    ]
    assert codes[:20] == [401] * 20 and codes[20] == 429
    assert_error(
        api.client.post("/api/auth/login", json={"username": "bob", "password": "password-123"}), 429
    )


def test_detail_never_shows_a_timeline_older_than_its_session_row(api: Api) -> None:
    c = api.client
    attempt = api.start(api.exam(), api.alice)["attemptId"]
    for n in range(1, 31):
        c.post(f"/api/Proctor/sessions/{attempt}/warn", json={"message": f"w{n}"}, headers=api.proctor)
        detail = c.get(f"/api/Proctor/sessions/{attempt}", headers=api.proctor).json()
        warned = sum(1 for item in detail["timeline"] if item["kind"] == "warned")
        assert warned >= detail["session"]["warningCount"], (n, warned, detail["session"]["warningCount"])
