"""Turning results into text for people: the run summary table, plans, queues, problems."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from integrate.engine.plan import COLUMNS, Change, FlowStats
from integrate.engine.runner import RunReport
from integrate.links import Digest
from integrate.secrets import REDACTOR


def console(stderr: bool = False) -> Console:
    out = Console(stderr=stderr, highlight=False, soft_wrap=True)
    if not out.is_terminal:
        # Files and pipes get full-width tables rather than rich's 80-column default.
        out = Console(stderr=stderr, highlight=False, soft_wrap=True, width=160)
    return out


def _clean(value: Any) -> str:
    return REDACTOR.redact(str(value))


def summary_table(report: RunReport) -> Table:
    title = f"{report.integration}: {'plan (dry run)' if report.dry_run else 'run'}"
    if report.run_id is not None and not report.dry_run:
        title += f" #{report.run_id}"
    columns = list(COLUMNS)
    if any(f.total("actions") for f in report.flows):
        columns.append("actions")  # event flows
    table = Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left")
    table.add_column("flow")
    for column in columns:
        table.add_column(column, justify="right")
    for stats in report.flows:
        for label, counts in _rows(stats, columns):
            table.add_row(label, *counts)
    return table


def _rows(stats: FlowStats, columns: list[str]) -> Iterable[tuple[str, list[str]]]:
    if stats.disabled:
        yield f"{stats.flow} (disabled)", ["-"] * len(columns)
        return
    directions = [d for d in stats.outcomes if d != "-"]
    if len(directions) <= 1:
        yield stats.flow, [f"{stats.total(c):,}" for c in columns]
        return
    # Two ways: a row per direction, its records read from the side it comes from.
    sides = set(stats.read) | set(directions)
    for direction in sorted(directions):
        counts = stats.outcomes[direction]
        source = " | ".join(sorted(sides - {direction}))
        read = sum(n for side, n in stats.read.items() if side != direction)
        yield (
            f"{stats.flow}: {source} → {direction}",
            [f"{read:,}", *(f"{counts[c]:,}" for c in columns[1:])],
        )


def calls_table(report: RunReport) -> Table | None:
    """API calls per connection, when any connection made some."""
    rows = {a: c for a, c in report.calls.items() if c["reads"] or c["writes"] or c["auth"]}
    if not rows:
        return None
    table = Table(title="API calls", box=box.SIMPLE_HEAVY, title_justify="left")
    for column in ("connection", "reads", "writes", "auth", "retries", "waited (s)"):
        table.add_column(column, justify="left" if column == "connection" else "right")
    for alias, c in rows.items():
        table.add_row(
            alias,
            f"{c['reads']:,}",
            f"{c['writes']:,}",
            f"{c['auth']:,}",
            f"{c['retries']:,}",
            f"{c['seconds_waited']:.1f}",
        )
    return table


def print_report(report: RunReport, out: Console) -> None:
    out.print(summary_table(report))
    calls = calls_table(report)
    if calls is not None:
        out.print(calls)
    reasons = [(f.flow, o, r, n) for f in report.flows for (o, r), n in sorted(f.reasons.items())]
    held = [(f.flow, line) for f in report.flows if (line := f.held_line())]
    if reasons or held:
        out.print("why:")
        for flow, line in held:
            out.print(f"  {flow}: {line}")
        for flow, outcome, reason, n in reasons[:30]:
            out.print(f"  {flow}: {n:,} {outcome} — {_clean(reason)}")
        if len(reasons) > 30:
            out.print(f"  … and {len(reasons) - 30} more reasons (see `integrate state show`)")
    status = {
        "succeeded": "[green]succeeded[/]",
        "completed_with_errors": "[yellow]completed with errors[/]",
        "failed": "[red]failed[/]",
        "interrupted": "[yellow]interrupted[/]",
    }.get(report.status, report.status)
    verb = "planned" if report.dry_run else "finished"
    out.print(f"{verb}: {status} in {report.seconds:.2f}s")
    if report.error:
        out.print(f"[red]error:[/] {_clean(report.error)}")
    for notice in report.notices:
        out.print(f"note: {_clean(notice)}")
    if report.dry_run:
        out.print("dry run: nothing was written to any system or to the state store")


def change_line(change: Change) -> str:
    where = f"{change.flow}: {change.outcome}"
    who = f" {change.source_side}:{change.source_id}" if change.source_id else ""
    target = ""
    if change.target_object:
        target = f" → {change.target_side}.{change.target_object}"
        if change.target_id:
            target += f":{change.target_id}"
    detail = ""
    if change.fields:
        parts = [
            f"{k}: {_short(old)} → {_short(new)}"
            for k, (old, new) in list(change.fields.items())[:6]
        ]
        more = len(change.fields) - 6
        detail = " {" + ", ".join(parts) + (f", +{more} more" if more > 0 else "") + "}"
    if change.reason:
        detail += f" ({change.reason})"
    return _clean(f"{where}{who}{target}{detail}")


def _short(value: Any) -> str:
    if isinstance(value, Digest):
        return "…"  # what the target holds was not read; the link knows it only by digest
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 40 else text[:37] + "…"


def _candidate(c: dict[str, Any]) -> str:
    score = c.get("score")
    return f"{c['id']} {c['label']}" + (f" ({score:.2f})" if score is not None else "")


def held_table(rows: Sequence[Any], title: str) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left")
    for column in ("flow", "side", "id", "reason", "resolution", "candidates", "since"):
        table.add_column(column)
    for h in rows:
        candidates = ", ".join(_candidate(c) for c in h.candidates[:3]) or "-"
        hidden = h.below_floor
        if hidden:
            candidates += f" ({hidden} hidden)"
        resolution = "-"
        if h.resolution:
            r = h.resolution
            resolution = {
                "create": "create as new",
                "map": f"map to {r.get('target_id')}",
                "keep": f"keep {r.get('side')}",
            }.get(r.get("action", ""), str(r))
        table.add_row(
            h.flow,
            h.side,
            h.source_id,
            _clean(h.reason),
            resolution,
            _clean(candidates),
            h.first_seen[:19],
        )
    return table
