"""Gap detection is pure: checked on examples and against a generated true timeline."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest
from fakes import EPOCH
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.recording_timeline import (
    CONNECTION_LOST,
    MIN_RELOAD_GAP_SECONDS,
    PAGE_RELOADED,
    find_gaps,
    highest_contiguous,
    missing_seqs,
    playable_segments,
    segment_map,
)

CS = 3.0


def at(seconds: float) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


def test_a_complete_recording_has_no_gap() -> None:
    received = {0: {seq: at(3 * (seq + 1)) for seq in range(5)}}
    assert find_gaps(received, CS) == []


def test_late_uploads_do_not_move_the_segment_start() -> None:
    """After an offline spell the backlog arrives in a burst: the times are still right."""
    received = {0: {0: at(3), 1: at(6), 2: at(30.1), 3: at(30.2), 4: at(30.3)}}
    assert find_gaps(received, CS) == []
    assert segment_map(received, CS, {0: 15.0})[0]["wall_clock_start"] == EPOCH


def test_missing_runs_are_one_gap_each() -> None:
    received = {0: {seq: at(3 * (seq + 1)) for seq in (0, 3, 4, 6)}}
    gaps = find_gaps(received, CS)
    assert [(g.reason, g.seqs, g.start, g.end) for g in gaps] == [
        (CONNECTION_LOST, (1, 2), at(3), at(9)),
        (CONNECTION_LOST, (5,), at(15), at(18)),
    ]


def test_a_segment_without_its_header_is_all_gap_and_not_in_the_map() -> None:
    received = {0: {0: at(3), 1: at(6)}, 1: {1: at(12), 2: at(15)}}
    gaps = find_gaps(received, CS, {0: 6.0})
    assert [(g.reason, g.segment, g.seqs) for g in gaps] == [(CONNECTION_LOST, 1, (0, 1, 2))]
    assert playable_segments(received) == [0]
    assert [e["segment"] for e in segment_map(received, CS, {0: 6.0})] == [0]


def test_helpers() -> None:
    assert missing_seqs({0, 2, 5}) == [1, 3, 4]
    assert missing_seqs(set()) == []
    assert highest_contiguous({0, 1, 2, 4}) == 2
    assert highest_contiguous({1, 2}) == -1


segments_strategy = st.lists(
    st.tuples(
        st.integers(1, 12),  # chunks recorded
        st.sets(st.integers(0, 11)),  # seqs lost
        st.floats(0, 20),  # pause before the next segment (a reload)
        st.lists(st.floats(0, 8), min_size=12, max_size=12),  # upload delay per seq
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(segments_strategy)
def test_gaps_match_the_true_timeline(segments: list[tuple[int, set[int], float, list[float]]]) -> None:
    received: dict[int, dict[int, datetime]] = {}
    expected_lost: dict[int, set[int]] = {}
    expected_reload = 0.0
    start = 0.0
    pending_pause: float | None = None
    for number, (count, lost, pause, delays) in enumerate(segments):
        held = [seq for seq in range(count) if seq not in lost]
        if not held:
            continue
        first = min(held)
        chunks = {s: at(start + CS * (s + 1) + (0.0 if s == first else delays[s])) for s in held}
        received[number] = chunks
        top = max(held)
        expected_lost[number] = set(range(top + 1)) if 0 not in chunks else set(range(top + 1)) - set(held)
        if pending_pause is not None and pending_pause >= MIN_RELOAD_GAP_SECONDS:
            expected_reload += pending_pause
        trailing = (count - top - 1) * CS  # lost chunks after the last held one: part of the pause
        pending_pause = trailing + pause
        start += count * CS + pause
    durations = {s: (max(c) + 1) * CS for s, c in received.items() if 0 in c}

    gaps = find_gaps(received, CS, durations)

    for earlier, later in itertools.pairwise(gaps):
        assert earlier.end <= later.start + timedelta(microseconds=1)
    for segment, lost in expected_lost.items():
        lost_here = [g for g in gaps if g.reason == CONNECTION_LOST and g.segment == segment]
        reported = [seq for g in lost_here for seq in g.seqs]
        assert sorted(reported) == sorted(lost)
    for gap in gaps:
        if gap.reason == CONNECTION_LOST:
            assert gap.seconds == pytest.approx(len(gap.seqs) * CS)
        else:
            assert gap.reason == PAGE_RELOADED and gap.seconds >= MIN_RELOAD_GAP_SECONDS
    reload_total = sum(g.seconds for g in gaps if g.reason == PAGE_RELOADED)
    assert reload_total == pytest.approx(expected_reload, abs=1e-6)
