"""What the lifecycle benchmark prints: each round as it ends, then the summary table."""

from __future__ import annotations

import math
from typing import Any

from _common import (
    latency_summary,
    median,
    ms,
    verdict,
)

TARGET_PAIRS_PER_S = 300.0
TARGET_RATIO = 0.5


def rate(res: dict[str, Any]) -> float:
    return res["pairs"] / res["wall"] if res["wall"] > 0 else math.nan


def print_round(n: int, result: dict[str, Any]) -> None:
    p, b = result["product"], result["bare"]
    ps, pu = latency_summary(p["start"]), latency_summary(p["submit"])
    bs, bu = latency_summary(b["start"]), latency_summary(b["submit"])
    ratio = rate(p) / rate(b) if rate(b) else math.nan
    print(
        f"  round {n}: API {rate(p):7.1f} pairs/s ({p['pairs']} ok, {len(p['errors'])} errors, "
        f"server CPU {p['cpu'] / p['wall']:.0%}, client CPU {p['client_cpu'] / p['wall']:.0%}) | "
        f"bare {rate(b):7.1f} pairs/s (CPU {b['cpu'] / b['wall']:.0%}) | API/bare {ratio:.2f}",
        flush=True,
    )
    print(
        f"           API  start p50 {ms(ps['p50'])} p99 {ms(ps['p99'])} | "
        f"submit p50 {ms(pu['p50'])} p99 {ms(pu['p99'])}"
    )
    print(
        f"           bare start p50 {ms(bs['p50'])} p99 {ms(bs['p99'])} | "
        f"submit p50 {ms(bu['p50'])} p99 {ms(bu['p99'])}"
    )
    for e in p["errors"][:5]:
        print(f"           ERROR {e['request']} -> {e['status']}: {e['response']}")


def summarize(res: dict[str, Any]) -> tuple[list[tuple[str, str, str, str]], bool, dict[str, Any]]:
    backend, rounds = res["backend"], res["rounds"]
    api = [rate(r["product"]) for r in rounds]
    bare = [rate(r["bare"]) for r in rounds]
    ratios = [a / b for a, b in zip(api, bare, strict=True)]
    pooled = (sum(r["product"]["pairs"] for r in rounds) / sum(r["product"]["wall"] for r in rounds)) / (
        sum(r["bare"]["pairs"] for r in rounds) / sum(r["bare"]["wall"] for r in rounds)
    )
    lat = {
        side: {k: latency_summary([x for r in rounds for x in r[side][k]]) for k in ("start", "submit")}
        for side in ("product", "bare")
    }
    errors = sum(len(r["product"]["errors"]) for r in rounds)
    api_med, ratio_med = median(api), median(ratios)
    rows = [
        (
            f"[{backend}] API start+submit pairs/s (median of {len(rounds)})",
            f"{api_med:.0f}  (rounds: {', '.join(f'{x:.0f}' for x in api)})",
            ">= 300" if backend == "sqlite" else "(none)",
            verdict(api_med >= TARGET_PAIRS_PER_S) if backend == "sqlite" else "-",
        ),
        (
            f"[{backend}] bare eventsourcing pairs/s",
            f"{median(bare):.0f}  (rounds: {', '.join(f'{x:.0f}' for x in bare)})",
            "",
            "",
        ),
        (
            f"[{backend}] ratio API/bare (median of per-round)",
            f"{ratio_med:.2f}  (rounds: {', '.join(f'{x:.2f}' for x in ratios)})",
            ">= 0.5",
            verdict(ratio_med >= TARGET_RATIO),
        ),
        (f"[{backend}] ratio API/bare, pooled (all pairs / all time)", f"{pooled:.2f}", "", ""),
        (
            f"[{backend}] API start p50 / p99",
            f"{ms(lat['product']['start']['p50'])} / {ms(lat['product']['start']['p99'])}",
            "",
            "",
        ),
        (
            f"[{backend}] API submit p50 / p99",
            f"{ms(lat['product']['submit']['p50'])} / {ms(lat['product']['submit']['p99'])}",
            "",
            "",
        ),
        (
            f"[{backend}] bare start p50 / p99",
            f"{ms(lat['bare']['start']['p50'])} / {ms(lat['bare']['start']['p99'])}",
            "",
            "",
        ),
        (
            f"[{backend}] bare submit p50 / p99",
            f"{ms(lat['bare']['submit']['p50'])} / {ms(lat['bare']['submit']['p99'])}",
            "",
            "",
        ),
        (f"[{backend}] API request errors", str(errors), "0", verdict(errors == 0)),
        (
            f"[{backend}] ERROR/Traceback lines in server log",
            str(len(res["server_log_errors"])),
            "0",
            verdict(not res["server_log_errors"]),
        ),
    ]
    ok = all(r[3] != "MISS" for r in rows)
    figures = {
        "backend": backend,
        "api_pairs_per_s": api,
        "bare_pairs_per_s": bare,
        "ratios": ratios,
        "pooled_ratio": pooled,
        "latency": lat,
        "errors": errors,
    }
    return rows, ok, figures
