"""The CLI's progress bar: drawn on a terminal (or when forced), silent otherwise."""

from __future__ import annotations

import io

from interfaces.progress import ProgressBar


def test_draws_in_place_then_ends_the_line() -> None:
    out = io.StringIO()
    bar = ProgressBar("retention", out, force=True)
    bar(1, 4)
    bar(4, 4)
    bar.close()
    assert out.getvalue() == (
        "\rretention [#######.......................] 1/4"
        "\rretention [##############################] 4/4\n"
    )


def test_silent_when_not_a_terminal() -> None:
    out = io.StringIO()
    bar = ProgressBar("retention", out)
    bar(1, 2)
    bar.close()
    assert out.getvalue() == ""
