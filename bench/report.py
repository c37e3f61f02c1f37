"""Turn measurements into markdown tables; plain data in, text out, no third-party imports.

The in-process runner measures each framework in its own process, together with the raw ASGI
floor, and sends its samples here as JSON. Every ratio is a framework's median over the raw
floor's median *from the same process*: processes started one after another on a shared machine
differ by 10-30% in absolute speed, while two apps timed in interleaved rounds inside one process
see the same conditions.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FLOOR",
    "Row",
    "deps_report",
    "geo_mean",
    "inprocess_report",
    "problems_report",
    "real_app_report",
    "spread_line",
    "sweep_report",
    "table",
    "targets_report",
]

FLOOR = "raw"
# The dependency-injection issue's target: covet's deps3 costs at most this times its deps0.
DEPS_TARGET = 1.5
# The routing issue's target: params with 1,000 or 10,000 decoys within this of 100 decoys.
SWEEP_TARGET = 1.2
# The performance issue's in-process targets: covet's geo-mean ratio to raw, compiled and pure.
COMPILED_TARGET = 2.0
PURE_TARGET = 3.0
# The five scenarios on the plain app; the geo-mean target is checked on these.
BASE_SCENARIOS = ("plaintext", "json", "params", "post_items", "query")
# The real-app scenarios, each with the bare scenario it adds work to and issue 11's target for
# covet's ratio to raw (compiled and pure alike).
REAL_APP = {"hooked": ("params", 1.6), "deps": ("post_items", 2.0), "stack": ("json", 1.6)}
# Every scenario that adds work to a bare one, for the "what it adds" table: the real-app ones and
# std_stack (covet's own CORS, GZip and sessions against the peers' that have them; no target).
ADDS_TO = {**{name: bare for name, (bare, _) in REAL_APP.items()}, "std_stack": "json"}


@dataclass
class Row:
    """One framework's results from one process, with the raw floor timed beside it."""

    name: str
    version: str = ""
    error: str | None = None
    compiled: bool | None = None  # for covet: were the compiled speedups in use
    decoys: int = 100
    wrong: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    samples: dict[str, list[float]] = field(default_factory=dict)  # µs per request
    floor: dict[str, list[float]] = field(default_factory=dict)  # raw, same process

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Row:
        return cls(**data)

    def median(self, scenario: str) -> float | None:
        runs = self.samples.get(scenario)
        return statistics.median(runs) if runs else None

    def ratio(self, scenario: str) -> float | None:
        """This row's median over the raw floor's median from the same process."""
        mine, base = self.median(scenario), self.floor.get(scenario)
        return mine / statistics.median(base) if mine is not None and base else None


def geo_mean(values: Sequence[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A markdown table, first column left-aligned and numbers right-aligned, padded to line up."""
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.rjust(w) if i else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (w + 1) + ":" if i else "-" * (w + 2) for i, w in enumerate(widths)) + "|"
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def _cells(
    values: Sequence[float | None], suffix: str = "", wrong: Sequence[bool] | None = None
) -> list[str]:
    """One cell per scenario and the geo-mean, n/a if incomplete. Where there is no time: WRONG
    when the answer was wrong (or ``wrong`` is not given), "—" when nothing ran (a framework
    without that middleware, or the raw floor for a scenario it has no app for)."""
    flags = wrong if wrong is not None else [True] * len(values)
    cells = [f"{v:.2f}{suffix}" if v is not None else ("WRONG" if bad else "—") for v, bad in zip(values, flags, strict=True)]
    done = [v for v in values if v is not None]
    cells.append(f"{geo_mean(done):.2f}{suffix}" if done and len(done) == len(values) else "n/a")
    return cells


def inprocess_report(rows: Sequence[Row], scenarios: Sequence[str], repeat: int) -> str:
    """µs per request and ratio-to-raw tables for rows that ran; raw's own µs is the median over rows."""
    live = [row for row in rows if row.error is None]
    header = ["framework", *scenarios, "geo-mean"]
    us_rows: list[list[str]] = []
    ratio_rows: list[list[str]] = []
    floors = [row for row in live if row.floor]
    if floors:
        # raw ran in every process; its row shows the median of its per-process medians.
        raw: list[float | None] = []
        for s in scenarios:
            medians = [statistics.median(r.floor[s]) for r in floors if r.floor.get(s)]
            raw.append(statistics.median(medians) if medians else None)
        no_floor = [False] * len(scenarios)
        us_rows.append([FLOOR, *_cells(raw, "", no_floor)])
        ratio_rows.append([FLOOR, *_cells([1.0 if v is not None else None for v in raw], "x", no_floor)])
    for row in live:
        if row.name == FLOOR:
            continue
        wrong = [s in row.wrong for s in scenarios]
        us_rows.append([row.name, *_cells([row.median(s) for s in scenarios], "", wrong)])
        ratio_rows.append([row.name, *_cells([row.ratio(s) for s in scenarios], "x", wrong)])
    out = [
        f"µs per request (median of {repeat} batches; lower is better; the raw row is the median of the "
        "raw floor timed in each framework's process)",
        "",
        table(header, us_rows),
        "",
        f"ratio to the {FLOOR} ASGI floor timed in the same process (lower is better)",
        "",
        table(header, ratio_rows),
    ]
    out += targets_report(live, scenarios)
    out += real_app_report(live, scenarios)
    if {"deps0", "deps3"} <= set(scenarios):
        out += deps_report(live)
    return "\n".join(out)


def targets_report(rows: Sequence[Row], scenarios: Sequence[str]) -> list[str]:
    """One line per covet row: its geo-mean against its target, and the peers faster than it."""
    peers = [row for row in rows if row.error is None and not row.name.startswith(("covet", FLOOR))]
    lines: list[str] = []
    base = [s for s in scenarios if s in BASE_SCENARIOS]
    which = "" if base == list(scenarios) else f" of {', '.join(base)}"
    for row in rows:
        if not row.name.startswith("covet") or row.error is not None:
            continue
        ratios = [row.ratio(s) for s in scenarios]
        base_ratios = [row.ratio(s) for s in base]
        target = COMPILED_TARGET if row.compiled and row.name == "covet" else PURE_TARGET
        parts = []
        if base and all(r is not None for r in base_ratios):
            geo = geo_mean([r for r in base_ratios if r is not None])
            verdict = "meets" if geo <= target else "misses"
            parts.append(f"geo-mean{which} {geo:.2f}x of raw, {verdict} the target of at most {target:.1f}x")
        elif base:
            parts.append(f"geo-mean{which} n/a (a scenario is WRONG)")
        for scenario in scenarios:
            if scenario in REAL_APP and (mine := row.ratio(scenario)) is not None:
                limit = REAL_APP[scenario][1]
                verdict = "meets" if mine <= limit else "misses"
                parts.append(f"{scenario} {mine:.2f}x, {verdict} at most {limit:.1f}x")
        faster = []
        for scenario, mine in zip(scenarios, ratios, strict=True):
            ahead = [p.name for p in peers if mine is not None and (r := p.ratio(scenario)) is not None and r < mine]
            if ahead:
                faster.append(f"{scenario} ({', '.join(ahead)})")
        parts.append("faster peers: " + ("; ".join(faster) if faster else "none") + " (by ratio to raw)")
        lines.append(f"- {row.name}: " + "; ".join(parts))
    return ["", "targets:", *lines] if lines else []


def real_app_report(rows: Sequence[Row], scenarios: Sequence[str]) -> list[str]:
    """What the hook, the three dependencies and the three middleware add to each framework's bare route.

    One column per real-app scenario whose bare scenario also ran: the difference of the two
    medians in µs, and their ratio, both from the framework's own process. raw's row is the
    median of the per-process differences.
    """
    pairs = [(name, ADDS_TO[name]) for name in scenarios if name in ADDS_TO and ADDS_TO[name] in scenarios]
    if not pairs:
        return []
    header = ["framework", *(f"{name} − {bare}" for name, bare in pairs)]
    lines: list[list[str]] = []
    floors = [row for row in rows if row.floor]
    raw_cells = []
    for name, bare in pairs:
        gaps = [
            (statistics.median(r.floor[name]), statistics.median(r.floor[bare]))
            for r in floors
            if r.floor.get(name) and r.floor.get(bare)
        ]
        if gaps:
            added = statistics.median(a - b for a, b in gaps)
            times = statistics.median(a / b for a, b in gaps)
            raw_cells.append(f"+{added:.2f} µs ({times:.2f}x)")
        else:
            raw_cells.append("n/a")
    if floors:
        lines.append([FLOOR, *raw_cells])
    for row in rows:
        if row.name == FLOOR:
            continue
        cells = []
        for name, bare in pairs:
            mine, base = row.median(name), row.median(bare)
            cells.append(f"{mine - base:+.2f} µs ({mine / base:.2f}x)" if mine is not None and base else "n/a")
        lines.append([row.name, *cells])
    return [
        "",
        "what the hook, the dependencies and the middleware add to the bare route (same process; "
        "lower is better)",
        "",
        table(header, lines),
    ]


def deps_report(rows: Sequence[Row]) -> list[str]:
    """Compare each framework's deps3 with its own deps0: what three dependencies cost it."""
    lines: list[list[str]] = []
    verdicts: list[str] = []
    for row in rows:
        deps0, deps3 = row.median("deps0"), row.median("deps3")
        if deps0 is None or deps3 is None:
            lines.append([row.name, "n/a", "n/a", "n/a", "n/a"])
            continue
        ratio = deps3 / deps0
        lines.append([row.name, f"{deps0:.2f}", f"{deps3:.2f}", f"{deps3 - deps0:.2f}", f"{ratio:.2f}x"])
        if row.name.startswith("covet"):
            verdict = "meets" if ratio <= DEPS_TARGET else "misses"
            verdicts.append(
                f"{row.name} deps3/deps0 = {ratio:.2f}x: {verdict} the target of at most {DEPS_TARGET:.2f}x"
            )
    header = ["framework", "deps0 µs", "deps3 µs", "deps3 - deps0 µs", "deps3/deps0"]
    return [
        "",
        "three nested dependencies against none, per framework (same process; lower is better)",
        "",
        table(header, lines),
        *([""] + verdicts if verdicts else []),
    ]


def sweep_report(rows: Sequence[Row], counts: Sequence[int]) -> str:
    """params µs at each decoy count and the ratios to the first count, each framework in one process.

    Two ratios per count: the plain one, and the same divided by raw's, raw being timed beside the
    framework in the same process with the same number of decoys. raw's own routing does not
    depend on the decoys (a dict keyed by the first segment), so its ratio is the machine drifting
    and the heap growing while the big apps exist; the corrected ratio removes both and is the one
    the target is checked against.
    """
    base = counts[0]
    names: list[str] = []
    for row in rows:
        if row.name not in names:
            names.append(row.name)
    header = [
        "framework",
        *(f"{n:,} decoys µs" for n in counts),
        *(f"{n:,}/{base:,}" for n in counts[1:]),
        *(f"{n:,}/{base:,} over raw's" for n in counts[1:]),
    ]
    lines: list[list[str]] = []
    verdicts: list[str] = []
    for name in names:
        by_count = {row.decoys: row for row in rows if row.name == name and row.error is None}
        medians = [by_count[n].median("params") if n in by_count else None for n in counts]
        to_raw = [by_count[n].ratio("params") if n in by_count else None for n in counts]
        cells = [f"{m:.2f}" if m is not None else "n/a" for m in medians]
        first, first_to_raw = medians[0], to_raw[0]
        ratios = [m / first if m is not None and first else None for m in medians[1:]]
        corrected = [r / first_to_raw if r is not None and first_to_raw else None for r in to_raw[1:]]
        cells += [f"{r:.2f}x" if r is not None else "n/a" for r in ratios]
        cells += [f"{r:.2f}x" if r is not None else "n/a" for r in corrected]
        lines.append([name, *cells])
        if name.startswith("covet") and all(r is not None for r in corrected):
            worst = max(r for r in corrected if r is not None)
            verdict = "meets" if worst <= SWEEP_TARGET else "misses"
            verdicts.append(
                f"{name}: worst ratio over raw's {worst:.2f}x, {verdict} the target of at most {SWEEP_TARGET:.2f}x"
            )
    return "\n".join(
        [
            f"params (GET /users/42/posts/hello-world) with more dynamic decoys registered before it; "
            f"ratios are to {base:,} decoys, timed in the same process, then divided by raw's same ratio "
            f"(lower is better)",
            "",
            table(header, lines),
            *([""] + verdicts if verdicts else []),
        ]
    )


def spread_line(rows: Sequence[Row]) -> str | None:
    """The noisiest cell: (max - min) / median across the repeats."""
    spreads = [
        ((max(v) - min(v)) / statistics.median(v), f"{row.name}/{scenario}")
        for row in rows
        for scenario, v in row.samples.items()
        if len(v) > 1
    ]
    if not spreads:
        return None
    worst, where = max(spreads)
    return f"largest spread across batches, (max-min)/median: {worst:.0%} ({where})"


def problems_report(rows: Sequence[Row]) -> list[str]:
    """Every error, wrong answer and failed check, one per line; empty when all went well."""
    issues: list[str] = []
    for row in rows:
        label = row.name if row.decoys == 100 else f"{row.name} ({row.decoys} decoys)"
        if row.error is not None:
            issues.append(f"{label}: {row.error}")
        for scenario, found in row.wrong.items():
            issues += [f"{label} {scenario}: WRONG, {p}" for p in found]
        issues += [f"{label}: {w}" for w in row.warnings]
    return issues
