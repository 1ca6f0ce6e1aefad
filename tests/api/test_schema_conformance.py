"""Class 10 of issue 12: schemathesis (not_a_server_error + response_schema_conformance) as a
candidate, a proctor and an admin: every answer, errors included, is what /openapi.json says.
Bounded: a few examples per operation and caller, and a wall-clock budget for the whole run."""

from __future__ import annotations

import time
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.api.conftest import Api

STREAMING = {"/api/Proctor/sessions/stream", "/api/attempts/{attempt_id}/stream"}
EXAMPLES = 8
BUDGET_SECONDS = 120.0
CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.mark.timeout(BUDGET_SECONDS * 2)
@pytest.mark.parametrize("role", ["alice", "proctor", "admin"])
def test_every_answer_conforms_to_the_schema(api: Api, role: str) -> None:
    who: dict[str, str] = getattr(api, role)
    schema = schemathesis.openapi.from_dict(api.client.app.openapi())  # type: ignore[attr-defined]
    ops = [r.ok() for r in schema.get_all_operations()]
    ops = [op for op in ops if op.path not in STREAMING]
    assert len(ops) >= 15
    deadline = time.monotonic() + BUDGET_SECONDS
    calls = 0
    for op in ops:
        if time.monotonic() > deadline:
            break
        calls += _run(api, op, who, deadline)
    assert calls >= len(ops) * 2, calls  # it really exercised the operations


def _run(api: Api, op: Any, who: dict[str, str], deadline: float) -> int:
    calls = 0

    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=op.as_strategy())
    def check(case: Any) -> None:
        nonlocal calls
        if time.monotonic() > deadline:
            return
        kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=who)
        kwargs.pop("cookies", None)
        api.client.cookies.clear()
        response = api.client.request(**kwargs)
        calls += 1
        case.validate_response(response, checks=CHECKS)

    check()
    return calls


def test_the_error_shape_is_documented(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    login = document["paths"]["/api/auth/login"]["post"]["responses"]
    for code in ("400", "401", "403", "404", "409", "413", "415", "422", "429"):
        assert login[code]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert "Retry-After" in login["429"]["headers"]


def test_docs_are_served_without_a_cdn(api: Api) -> None:
    for path in ("/docs", "/redoc"):
        page = api.client.get(path)
        assert page.status_code == 200
        assert "cdn." not in page.text and "googleapis" not in page.text, path
        for asset in ("/docs-assets/swagger-ui-bundle.js", "/docs-assets/redoc.standalone.js"):
            if asset in page.text:
                assert api.client.get(asset).status_code == 200
