"""Bounded property-based run over the OpenAPI schema: whatever the inputs and whoever calls,
the API answers with a clear status (never a 5xx) in the one error shape."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import Api

STREAMING = {"/api/Proctor/sessions/stream", "/api/attempts/{attempt_id}/stream"}
MAX_EXAMPLES = 25


def operations(api: Api) -> list[Any]:
    schema = schemathesis.openapi.from_dict(api.client.app.openapi())  # type: ignore[attr-defined]
    ops = [result.ok() for result in schema.get_all_operations()]
    return [op for op in ops if op.path not in STREAMING]


def test_no_operation_answers_5xx(api: Api) -> None:
    callers = [api.admin, api.alice, api.proctor, {}]
    seen: list[int] = []
    ops = operations(api)
    assert len(ops) >= 15

    for op in ops:
        _fuzz(api, op, callers, seen)
    assert len(seen) >= len(ops) * 5, len(seen)  # the run really exercised every operation


def _fuzz(api: Api, op: Any, callers: list[dict[str, str]], seen: list[int]) -> None:
    @settings(
        max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(case=op.as_strategy(), who=st.sampled_from(callers))
    def check(case: Any, who: dict[str, str]) -> None:
        kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=who)
        kwargs.pop("cookies", None)
        api.client.cookies.clear()
        response = api.client.request(**kwargs)
        seen.append(response.status_code)
        assert response.status_code < 500, (op.method, op.path, kwargs, response.text)
        if response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
            assert set(response.json()) == {"error", "detail"}, response.text

    check()


@pytest.mark.parametrize("path", sorted(STREAMING))
def test_streams_refuse_anonymous_and_bad_ids(api: Api, path: str) -> None:
    api.client.cookies.clear()
    url = path.replace("{attempt_id}", "not-a-uuid")
    assert api.client.get(url).status_code in (401, 422)
