"""Class 8 of issue 12: for a candidate, another candidate's attempt (and its evidence) answers
exactly as a missing one, on every route that names an attempt; staff still get 403 where
their role may not act."""

from __future__ import annotations

from uuid import UUID

from domain import ids

from .conftest import Api, jpeg


def test_another_candidates_attempt_answers_as_a_missing_one(api: Api) -> None:
    c = api.client
    exam = api.exam()
    attempt = api.start(exam, api.alice)["attemptId"]
    missing = str(ids.attempt_id(UUID(exam), UUID(int=7)))  # derivable, like a real one
    for method, path, body in [
        ("GET", "/api/attempts/{}", None),
        ("PUT", "/api/attempts/{}/answers/q1", {"choice": 1}),
        ("POST", "/api/attempts/{}/submit", None),
        ("POST", "/api/Proctor/event/{}", {"type": "tab_hidden", "detail": ""}),
        ("GET", "/api/attempts/{}/stream", None),
    ]:
        theirs = c.request(method, path.format(attempt), json=body, headers=api.bob)
        absent = c.request(method, path.format(missing), json=body, headers=api.bob)
        assert theirs.status_code == absent.status_code == 404, (path, theirs.text, absent.text)
        assert theirs.json()["error"] == absent.json()["error"] == "NotFound"
        assert theirs.json()["detail"] == absent.json()["detail"].replace(missing, attempt)
    shot = c.post(
        f"/api/Proctor/snapshot/{attempt}", content=jpeg(), headers={**api.bob, "Content-Type": "image/jpeg"}
    )
    assert shot.status_code == 404
    # staff are told the truth: a proctor may not upload a candidate's evidence
    shot = c.post(
        f"/api/Proctor/snapshot/{attempt}",
        content=jpeg(),
        headers={**api.proctor, "Content-Type": "image/jpeg"},
    )
    assert shot.status_code == 403
