"""Stateful schemathesis over the OpenAPI links (/openapi.json): create an exam, start an
attempt with its id, then call whatever the attempt's id reaches (answers, submit, events, the
proctor's detail, flag, warn, force-end, chunk status, recording). Each call is made by the role
that would make it — admin, candidate or proctor — and every answer must be no 5xx and exactly
what the schema says. Bounded in examples and steps."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.api.conftest import QUESTIONS, Api

CHECKS = [not_a_server_error, response_schema_conformance]
CANDIDATE_PATHS = ("/api/exams/{exam_id}/attempts", "/api/attempts/", "/api/Proctor/event/")
# Nearly every exam body hypothesis makes is schema-valid but refused by the rules (an answer
# index beyond its choices): half of them (decided by the case itself, so that a replay decides
# the same) are replaced by this one, so that chains go on.
EXAM = {"title": "Stateful", "durationSeconds": 600, "proctoringEnabled": True, "questions": QUESTIONS}


def _caller(api: Api, path: str) -> dict[str, str]:
    if path == "/api/exams" or path.startswith("/api/attempt-control/"):
        return api.admin
    if path.startswith(CANDIDATE_PATHS) or path.endswith("/status"):
        return api.alice
    return api.proctor


@pytest.mark.timeout(300)
def test_linked_calls_conform_to_the_schema(api: Api) -> None:
    schema = schemathesis.openapi.from_dict(api.client.app.openapi())  # type: ignore[attr-defined]
    statuses: list[int] = []
    exams_made = 0

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def call(self, case: Any, **kwargs: Any) -> Response:
            nonlocal exams_made
            if case.path == "/api/exams" and case.method == "POST":
                exams_made += 1
                if len(repr(case.body)) % 2:
                    case.body = {**EXAM, "title": f"Stateful {exams_made}"}
            request = case.as_transport_kwargs(base_url="http://testserver", headers=_caller(api, case.path))
            request.pop("cookies", None)
            api.client.cookies.clear()
            response = api.client.request(**request)
            statuses.append(response.status_code)
            return Response.from_any(response)

        def validate_response(self, response: Response, case: Any, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS)

    Workflow.run(
        settings=settings(
            max_examples=60,
            stateful_step_count=8,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    assert 201 in statuses and 200 in statuses, sorted(set(statuses))  # chains really ran
