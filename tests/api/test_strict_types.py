"""Class 9 of issue 12: request bodies take exactly their types: "1" and true are not 1, a
blank title or choice is refused, choices and texts have length caps."""

from __future__ import annotations

import pytest

from .conftest import QUESTIONS, Api


@pytest.mark.parametrize("choice", ["1", True, False, 1.0, None, [1], {"v": 1}])
def test_an_answer_is_an_integer_only(api: Api, choice: object) -> None:
    attempt = api.start(api.exam(), api.alice)["attemptId"]
    r = api.client.put(f"/api/attempts/{attempt}/answers/q1", json={"choice": choice}, headers=api.alice)
    assert r.status_code == 422 and r.json()["error"] == "InvalidInput", (choice, r.text)
    ok = api.client.put(f"/api/attempts/{attempt}/answers/q1", json={"choice": 1}, headers=api.alice)
    assert ok.status_code == 200


EXAM = {"title": "T", "durationSeconds": 600, "proctoringEnabled": True, "questions": QUESTIONS}


@pytest.mark.parametrize(
    "change",
    [
        {"title": "   "},
        {"title": ""},
        {"title": "x" * 301},
        {"durationSeconds": "600"},
        {"durationSeconds": True},
        {"proctoringEnabled": "yes"},
        {"proctoringEnabled": 1},
        {"passMark": "1"},
        {"questions": [{**QUESTIONS[0], "choices": ["3", "  "]}]},
        {"questions": [{**QUESTIONS[0], "choices": ["3", "x" * 501]}]},
        {"questions": [{**QUESTIONS[0], "choices": ["c"] * 21}]},
        {"questions": [{**QUESTIONS[0], "answer": "1"}]},
        {"questions": [{**QUESTIONS[0], "id": " "}]},
        {"questions": [{**QUESTIONS[0], "text": "\n\t"}]},
    ],
)
def test_exam_fields_are_strict(api: Api, change: dict[str, object]) -> None:
    r = api.client.post("/api/exams", json={**EXAM, **change}, headers=api.admin)
    assert r.status_code == 422 and r.json()["error"] == "InvalidInput", (change, r.text)


def test_a_plain_exam_is_still_accepted(api: Api) -> None:
    r = api.client.post("/api/exams", json={**EXAM, "passMark": 1}, headers=api.admin)
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("body", [{"username": 5, "password": "x"}, {"username": "alice", "password": True}])
def test_login_takes_strings_only(api: Api, body: dict[str, object]) -> None:
    assert api.client.post("/api/auth/login", json=body).status_code == 422
