"""What the snapshot benchmark prints: each round as it ends, then the summary table (and the
figures for --json). With --compare-root, the old version's figures and product/old too."""

from __future__ import annotations

from typing import Any

from _common import latency_summary, median, ms, verdict
from _snapshot_load import rate

TARGET_RATIO = 0.6
Row = tuple[str, str, str, str]


def _side(name: str, res: dict[str, Any], with_errors: bool) -> str:
    s = latency_summary(res["latencies"])
    errors = f"{res['ok']} ok, {len(res['errors'])} errors, " if with_errors else ""
    return (
        f"{name} {rate(res):6.1f}/s p50 {ms(s['p50'])} p99 {ms(s['p99'])} ({errors}"
        f"server CPU {res['cpu'] / res['wall']:.0%}, client CPU {res['client_cpu'] / res['wall']:.0%})"
    )


def print_round(n: int, res: dict[str, Any]) -> None:
    p, b = res["product"], res["bare"]
    parts = [_side("product", p, True)]
    if "old" in res:
        parts.append(_side("old", res["old"], True))
    parts += [_side("bare", b, False), f"product/bare {rate(p) / rate(b):.2f}"]
    if "old" in res:
        parts.append(f"old/bare {rate(res['old']) / rate(b):.2f}")
        parts.append(f"product/old {rate(p) / rate(res['old']):.2f}")
    print(f"  round {n}: " + " | ".join(parts), flush=True)
    for e in [e for side in res.values() for e in side["errors"]][:5]:
        print(f"           ERROR {e['request']} -> {e['status']}: {e['response']}")


def _rounds(values: list[float], digits: int) -> str:
    return f"{median(values):.{digits}f}  (rounds: {', '.join(f'{x:.{digits}f}' for x in values)})"


def _pooled(rounds: list[dict[str, Any]], a: str, b: str) -> float:
    def pooled_rate(side: str) -> float:
        return float(sum(r[side]["ok"] for r in rounds) / sum(r[side]["wall"] for r in rounds))

    return pooled_rate(a) / pooled_rate(b)


def _p99(res: dict[str, Any]) -> float:
    return latency_summary(res["latencies"])["p99"]


def _product_rows(
    tag: str,
    name: str,
    rounds: list[dict[str, Any]],
    warm: dict[str, Any],
    check: tuple[int, int, int],
    problems: list[str],
) -> list[Row]:
    """The rows of one product version against the bare endpoint."""
    label = "product" if name == "product" else "old product"
    rates = [rate(r[name]) for r in rounds]
    ratios = [rate(r[name]) / rate(r["bare"]) for r in rounds]
    latency = latency_summary([x for r in rounds for x in r[name]["latencies"]])
    errors = sum(len(r[name]["errors"]) for r in rounds) + len(warm[name]["errors"])
    recorded, files, uploaded = check
    rows: list[Row] = [(f"{tag} {label} uploads/s (median of {len(rounds)})", _rounds(rates, 0), "", "")]
    if name == "product":
        bare_rates = [rate(r["bare"]) for r in rounds]
        rows.append((f"{tag} bare uploads/s", _rounds(bare_rates, 0), "", ""))
    rows += [
        (
            f"{tag} ratio {name}/bare uploads/s (median of per-round)",
            _rounds(ratios, 2),
            ">= 0.6",
            verdict(median(ratios) >= TARGET_RATIO),
        ),
        (
            f"{tag} ratio {name}/bare, pooled (all uploads / all time)",
            f"{_pooled(rounds, name, 'bare'):.2f}",
            "",
            "",
        ),
        (
            f"{tag} {label} p50 / p99 / max",
            f"{ms(latency['p50'])} / {ms(latency['p99'])} / {ms(latency['max'])}",
            "",
            "",
        ),
    ]
    if name == "product":
        bl = latency_summary([x for r in rounds for x in r["bare"]["latencies"]])
        rows.append(
            (f"{tag} bare p50 / p99 / max", f"{ms(bl['p50'])} / {ms(bl['p99'])} / {ms(bl['max'])}", "", "")
        )
    p99_ratio = median([_p99(r[name]) / _p99(r["bare"]) for r in rounds])
    rows += [
        (f"{tag} ratio p99 {name}/bare (median of per-round)", f"{p99_ratio:.2f}", "", ""),
        (
            f"{tag} snapshots the {label} recorded (read model) / files / 201s",
            f"{recorded} / {files} / {uploaded}",
            "all equal",
            verdict(recorded == files == uploaded),
        ),
        (
            f"{tag} {label} request errors / ERROR lines in log",
            f"{errors} / {len(problems)}",
            "0 / 0",
            verdict(errors == 0 and not problems),
        ),
    ]
    return rows


def summary_rows(
    backend: str,
    rounds: list[dict[str, Any]],
    warm: dict[str, Any],
    checks: dict[str, tuple[int, int, int]],
    problems: dict[str, list[str]],
) -> tuple[list[Row], dict[str, Any]]:
    tag = f"[{backend}]"
    rows: list[Row] = [("measure", "result", "target", "verdict")]
    rows += _product_rows(tag, "product", rounds, warm, checks["product"], problems["product"])
    recorded, files, uploaded = checks["product"]
    figures: dict[str, Any] = {
        "product_per_s": [rate(r["product"]) for r in rounds],
        "bare_per_s": [rate(r["bare"]) for r in rounds],
        "ratios": [rate(r["product"]) / rate(r["bare"]) for r in rounds],
        "product_latency": latency_summary([x for r in rounds for x in r["product"]["latencies"]]),
        "bare_latency": latency_summary([x for r in rounds for x in r["bare"]["latencies"]]),
        "recorded": recorded,
        "files": files,
        "uploaded": uploaded,
    }
    if "old" in checks:
        rows += _product_rows(tag, "old", rounds, warm, checks["old"], problems["old"])
        ab = [rate(r["product"]) / rate(r["old"]) for r in rounds]
        rows += [
            (
                f"{tag} A/B product/old uploads/s (median of per-round)",
                _rounds(ab, 2),
                ">= 0.9",
                verdict(median(ab) >= 0.9),
            ),
            (f"{tag} A/B product/old, pooled", f"{_pooled(rounds, 'product', 'old'):.2f}", "", ""),
        ]
        figures |= {"old_per_s": [rate(r["old"]) for r in rounds], "product_over_old": ab}
    return rows, figures
