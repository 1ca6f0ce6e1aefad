"""projections.center_queries.risk_of: an explainable 0..100 score where connectivity never
counts as misconduct."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.proctoring import CONDUCT_EVENT_TYPES, CONNECTIVITY_EVENT_TYPES
from projections.center_queries import risk_of

WEIGHTS = {"tab_hidden": 10, "fullscreen_exit": 5, "camera_denied": 25, "flagged": 20}


def test_nothing_happened_means_no_risk() -> None:
    assert risk_of({}, WEIGHTS) == (0, [])


def test_reasons_explain_the_score_largest_first() -> None:
    score, reasons = risk_of({"tab_hidden": 2, "camera_denied": 1, "fullscreen_exit": 1}, WEIGHTS)
    assert score == 20 + 25 + 5
    assert reasons == [
        {"type": "camera_denied", "count": 1, "points": 25},
        {"type": "tab_hidden", "count": 2, "points": 20},
        {"type": "fullscreen_exit", "count": 1, "points": 5},
    ]


def test_equal_points_are_ordered_by_type() -> None:
    _, reasons = risk_of({"tab_hidden": 2, "flagged": 1}, WEIGHTS)
    assert [r["type"] for r in reasons] == ["flagged", "tab_hidden"]


def test_score_is_capped_at_100() -> None:
    score, reasons = risk_of({"camera_denied": 3, "tab_hidden": 10}, WEIGHTS)
    assert score == 100
    assert sum(r["points"] for r in reasons) == 175


def test_connectivity_never_counts_even_if_weighted() -> None:
    weights = {**WEIGHTS, **{t: 50 for t in CONNECTIVITY_EVENT_TYPES}}
    counts = {t: 3 for t in CONNECTIVITY_EVENT_TYPES}
    assert risk_of(counts, weights) == (0, [])


def test_unweighted_zero_weight_and_zero_count_types_are_left_out() -> None:
    weights = {**WEIGHTS, "tab_visible": 0}
    score, reasons = risk_of({"tab_visible": 4, "camera_restored": 2, "tab_hidden": 0}, weights)
    assert (score, reasons) == (0, [])


counts_strategy = st.dictionaries(
    st.sampled_from(sorted(CONDUCT_EVENT_TYPES | CONNECTIVITY_EVENT_TYPES | {"flagged"})),
    st.integers(0, 50),
)
weights_strategy = st.dictionaries(st.sampled_from(sorted(WEIGHTS)), st.integers(-5, 40))


@given(counts=counts_strategy, weights=weights_strategy)
def test_risk_properties(counts: dict[str, int], weights: dict[str, int]) -> None:
    score, reasons = risk_of(counts, weights)
    assert 0 <= score <= 100
    assert score == min(100, sum(r["points"] for r in reasons))
    assert all(r["points"] > 0 for r in reasons)
    assert all(r["type"] not in CONNECTIVITY_EVENT_TYPES for r in reasons)
    assert all(r["points"] == r["count"] * weights[r["type"]] for r in reasons)
    keys = [(-r["points"], r["type"]) for r in reasons]
    assert keys == sorted(keys)
    # more of a weighted conduct event never lowers the score
    for kind in WEIGHTS:
        if weights.get(kind, 0) > 0:
            more = {**counts, kind: counts.get(kind, 0) + 1}
            assert risk_of(more, weights)[0] >= score
