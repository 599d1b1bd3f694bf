"""`integrate state`, `pending` and `failures`: what integrate remembers, and what waits."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from integrate.cli import (
    SANDBOX_HELP,
    _fail,
    _guard,
    _open_state,
    _plugins,
    _spec,
    _state_spec,
    main,
    state_option,
    state_options,
)
from integrate.cli.running import _print_run
from integrate.errors import EXIT_OK, EXIT_RECORDS_FAILED, IntegrateError, UsageError
from integrate.secrets import REDACTOR


@main.group()
def state() -> None:
    """Look at or reset what integrate remembers about a spec."""


@state.command("show")
@click.argument("spec_path", metavar="SPEC", type=click.Path(exists=True, dir_okay=False))
@state_option("state_file")
@click.option("--sandbox", is_flag=True, help=SANDBOX_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@_guard
def state_show(spec_path: str, state_file: str | None, sandbox: bool, as_json: bool) -> None:
    """Cursors, link counts, held records, webhook events and recent runs."""
    from integrate.ledger import event_counts, recent_events

    spec = _state_spec(spec_path)
    store = _open_state(spec, state_file, sandbox)
    try:
        data = {
            "integration": spec.name,
            "state": store.file,
            "flows": store.flow_states(),
            "counts": store.counts(),
            "runs": store.runs(10),
            "events": event_counts(store.db, spec.name),
            "recent_events": recent_events(store.db, spec.name, 10),
        }
    finally:
        store.close()
    if as_json:
        click.echo(REDACTOR.redact(json.dumps(data, indent=2, default=str)))
        return
    click.echo(f"integration {spec.name} (state {data['state']})")
    links = data["counts"]["links"]
    held = data["counts"]["held"]
    for name in spec.flows:
        flow_held = (
            ", ".join(f"{n} {k}" for k, n in sorted(held.get(name, {}).items())) or "nothing held"
        )
        click.echo(f"  flow {name}: {links.get(name, 0):,} links, {flow_held}")
        if name in data["events"]:
            counts = data["events"][name]
            click.echo(
                f"    webhook events: {counts['pending']} pending, {counts['applied']} applied"
            )
        for row in data["flows"]:
            if row["flow"] == name and row["side"] != "*":
                text = json.dumps(row["cursor"], default=str)
                if len(text) > 160:  # (--json shows it whole)
                    text = f"{text[:157]}…"
                click.echo(f"    cursor {row['side']}: {text}")
            elif row["flow"] == name:
                click.echo(f"    completed runs: {row['completed_runs']}")
    click.echo("recent runs:")
    for run_row in data["runs"]:
        totals = {f["flow"]: f["totals"] for f in (run_row["stats"] or {}).get("flows", [])}
        brief = "; ".join(
            f"{flow}: " + ", ".join(f"{k} {v}" for k, v in t.items() if v and k != "actions")
            for flow, t in totals.items()
        )
        kind = " (dry run)" if run_row["dry_run"] else ""
        click.echo(
            f"  #{run_row['run_id']} {run_row['started_at'][:19]} {run_row['status']}{kind} {brief}"
        )


@state.command("reset")
@click.argument("spec_path", metavar="SPEC", type=click.Path(exists=True, dir_okay=False))
@click.option("--flow", help="Reset only this flow.")
@state_option("state_file")
@click.option("--sandbox", is_flag=True, help=SANDBOX_HELP)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_guard
def state_reset(
    spec_path: str, flow: str | None, state_file: str | None, sandbox: bool, yes: bool
) -> None:
    """Forget cursors, links and held records: the next run starts over.

    No system's data is touched; records are matched by their keys again.
    """
    spec = _state_spec(spec_path)
    if flow is not None and flow not in spec.flows:
        raise UsageError(f"no flow named {flow} (flows: {', '.join(spec.flows)})")
    what = f"flow {flow}" if flow else f"all flows of {spec.name}"
    if not yes and not click.confirm(f"Forget cursors, links and held records of {what}?"):
        raise IntegrateError("nothing was reset")
    store = _open_state(spec, state_file, sandbox)
    try:
        counts = store.reset(flow)
    finally:
        store.close()
    cached = (
        f", {counts['metadata_cache']} cached metadata entries"
        if "metadata_cache" in counts
        else ""
    )
    click.echo(
        f"reset {what}: {counts['links']} links, {counts['held']} held records, "
        f"{counts['flow_state']} cursors{cached} forgotten"
    )


# ---- pending queue ---------------------------------------------------------------------------

# A candidate's score is difflib's similarity of the two match keys (0 to 1: twice the letters
# in common, in order, over both lengths). Names that share a whole word score 0.6 and more
# (Umbrella Corp / Umbrella Health 0.64); unrelated names of a similar length reach 0.3-0.45 on
# scattered letters alone (Stark Industries / Wayne Enterprises 0.36, Umbrella Corp / Globex
# Corporation 0.45). Below half, a candidate is noise an operator might take for a hint.
CANDIDATE_FLOOR = 0.5


@main.group()
def pending() -> None:
    """The pending queue: records waiting for an operator's decision."""


@pending.command("list")
@click.argument("spec_path", metavar="SPEC", type=click.Path(exists=True, dir_okay=False))
@click.option("--flow", help="Only this flow.")
@state_option("state_file")
@click.option("--sandbox", is_flag=True, help=SANDBOX_HELP)
@click.option(
    "--all-candidates",
    is_flag=True,
    help=f"Also candidates scoring below {CANDIDATE_FLOOR} (names alike only by scattered letters).",
)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@_guard
def pending_list(
    spec_path: str,
    flow: str | None,
    state_file: str | None,
    sandbox: bool,
    all_candidates: bool,
    as_json: bool,
) -> None:
    """Queued records, why they wait, and candidates to map them to, with their scores."""
    from integrate.render import console, held_table

    spec = _state_spec(spec_path)
    store = _open_state(spec, state_file, sandbox)
    floor = 0.0 if all_candidates else CANDIDATE_FLOOR
    try:
        rows = pending_rows(spec, store, flow, floor)
    finally:
        store.close()
    if as_json:
        click.echo(
            REDACTOR.redact(json.dumps([row.__dict__ for row in rows], indent=2, default=str))
        )
        return
    if not rows:
        click.echo("the pending queue is empty")
        return
    console().print(held_table(rows, f"pending: {len(rows)} record(s)"))
    hidden = sum(row.below_floor for row in rows)
    if hidden:
        click.echo(
            f"{hidden} candidate(s) hidden: their score is below {CANDIDATE_FLOOR} (alike by "
            "scattered letters only); --all-candidates shows them"
        )
    where = " --sandbox" if sandbox else ""
    click.echo(
        f"resolve with: integrate pending resolve {spec_path} <flow> <id> --create | --map-to <target id>{where}"
    )


def pending_rows(
    spec: Any, store: Any, flow: str | None, floor: float = CANDIDATE_FLOOR
) -> list[Any]:
    """The queued records (of one flow, or all), each with the candidates still free to map
    it to (none linked since, none promised to another queued record) that score at least
    `floor`; `below_floor` counts the others."""
    rows: list[Any] = store.held(flow, kinds=("queue",))
    promised = _promised(store)
    for row in rows:
        free = [
            c
            for c in _free_candidates(spec, store, row)
            if promised.get((row.flow, str(c["id"])), row.source_id) == row.source_id
        ]
        row.candidates = [c for c in free if float(c.get("score", 1.0)) >= floor]
        row.below_floor = len(free) - len(row.candidates)
    return rows


def _promised(store: Any) -> dict[tuple[str, str], str]:
    """(flow, target id) → the queued record an operator has already mapped to it."""
    out: dict[tuple[str, str], str] = {}
    for row in store.held(None, kinds=("queue",)):
        resolution = row.resolution or {}
        if resolution.get("action") == "map":
            out[(row.flow, str(resolution.get("target_id")))] = row.source_id
    return out


def _free_candidates(spec: Any, store: Any, row: Any) -> list[dict[str, Any]]:
    """Candidates that nothing has been linked to since they were suggested."""
    flow = spec.flows.get(row.flow)
    if flow is None or not hasattr(flow, "sides"):
        return list(row.candidates)
    names = [s.name for s in flow.sides]
    other = 1 - names.index(row.side) if row.side in names else 1
    return [
        c
        for c in row.candidates
        if store.linked_to(row.flow, other, str(c["id"]), c.get("object")) is None
    ]


@pending.command("resolve")
@click.argument("spec_path", metavar="SPEC", type=click.Path(exists=True, dir_okay=False))
@click.argument("flow")
@click.argument("record_id")
@click.option("--create", "create", is_flag=True, help="Create it as a new record on the next run.")
@click.option("--map-to", "map_to", metavar="TARGET_ID", help="Link it to this existing record.")
@click.option("--keep", metavar="SIDE", help="For a conflict: keep this side's values.")
@state_option("state_file")
@click.option("--sandbox", is_flag=True, help=SANDBOX_HELP)
@_guard
def pending_resolve(
    spec_path: str,
    flow: str,
    record_id: str,
    create: bool,
    map_to: str | None,
    keep: str | None,
    state_file: str | None,
    sandbox: bool,
) -> None:
    """Decide for one queued record; the next run carries the decision out and remembers it."""
    chosen = [x for x in (create, map_to, keep) if x]
    if len(chosen) != 1:
        raise UsageError("give exactly one of --create, --map-to TARGET_ID, --keep SIDE")
    spec = _state_spec(spec_path)
    if flow not in spec.flows:
        raise UsageError(f"no flow named {flow} (flows: {', '.join(spec.flows)})")
    store = _open_state(spec, state_file, sandbox)
    try:
        what = resolve_pending(spec, store, flow, record_id, map_to=map_to, keep=keep)
    finally:
        store.close()
    click.echo(f"{flow} {record_id}: will {what} on the next run")


def resolve_pending(
    spec: Any, store: Any, flow: str, record_id: str, *, map_to: str | None, keep: str | None
) -> str:
    """Record an operator's decision for one queued record (create as new when neither
    `map_to` nor `keep` is given); what the next run will do, in words. The CLI and the
    operator's page both decide through this."""
    if flow not in spec.flows:
        raise UsageError(f"no flow named {flow} (flows: {', '.join(spec.flows)})")
    if map_to:
        held_rows = [h for h in store.held(flow, kinds=("queue",)) if h.source_id == record_id]
        if held_rows:
            sides = [s.name for s in spec.flows[flow].sides]
            other = 1 - sides.index(held_rows[0].side)
            owner = store.linked_to(flow, other, map_to)
            if owner is not None:
                raise IntegrateError(
                    f"{map_to} is already linked to {owner} in flow {flow}: pick another"
                )
            promised = _promised(store).get((flow, map_to))
            if promised is not None and promised != record_id:
                raise IntegrateError(
                    f"{map_to} is already promised to {promised} in flow {flow} (mapped "
                    "by an earlier `pending resolve`): pick another"
                )
        resolution: dict[str, Any] = {"action": "map", "target_id": map_to}
    elif keep:
        sides = [s.name for s in getattr(spec.flows[flow], "sides", ())]
        if keep not in sides:
            raise UsageError(f"--keep takes a side of flow {flow}: {', '.join(sides) or 'none'}")
        resolution = {"action": "keep", "side": keep}
    else:
        resolution = {"action": "create"}
    store.resolve(flow, record_id, resolution)
    return {"map": f"map to {map_to}", "keep": f"keep {keep}'s values", "create": "create as new"}[
        resolution["action"]
    ]


# ---- failures -------------------------------------------------------------------------------


@main.group()
def failures() -> None:
    """Records that failed: list them, retry them."""


@failures.command("list")
@click.argument("spec_path", metavar="SPEC", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--all", "show_all", is_flag=True, help="The whole failure ledger, not only open failures."
)
@state_option("state_file")
@click.option("--sandbox", is_flag=True, help=SANDBOX_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@_guard
def failures_list(
    spec_path: str, show_all: bool, state_file: str | None, sandbox: bool, as_json: bool
) -> None:
    """Open failures (retried on every run), or with --all every failure ever recorded."""
    from integrate.render import console, held_table

    spec = _state_spec(spec_path)
    store = _open_state(spec, state_file, sandbox)
    try:
        rows: Any = store.failures(500) if show_all else store.held(kinds=("fail",))
    finally:
        store.close()
    if as_json:
        data = rows if show_all else [r.__dict__ for r in rows]
        click.echo(REDACTOR.redact(json.dumps(data, indent=2, default=str)))
        return
    if not rows:
        click.echo("no failures")
        return
    if show_all:
        for r in rows:
            where = f" at {r['location']}" if r["location"] else ""
            code = f" [{r['code']}]" if r["code"] else ""
            click.echo(
                REDACTOR.redact(
                    f"run {r['run_id']} {r['flow']} {r['side']}:{r['source_id']} {r['stage']}{code}: {r['message']}{where}"
                )
            )
        return
    console().print(held_table(rows, f"open failures: {len(rows)}"))


@failures.command("retry")
@click.argument("spec_path", metavar="SPEC", type=click.Path(exists=True, dir_okay=False))
@click.option("--flow", "flows", multiple=True, help="Only this flow (repeatable).")
@state_option("state_file")
@click.option("--sandbox", is_flag=True, help=SANDBOX_HELP)
@click.option(
    "--failures", "failures_file", type=click.Path(dir_okay=False), help="Failed-records file."
)
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON.")
@_guard
def failures_retry(
    spec_path: str,
    flows: tuple[str, ...],
    state_file: str | None,
    sandbox: bool,
    failures_file: str | None,
    as_json: bool,
) -> None:
    """Try the failed records again now, without reading anything new."""
    from integrate.engine import RunFailed
    from integrate.engine.stop import StopRequest, stopping_on_signals

    plugins = _plugins()
    spec = _spec(spec_path, plugins, strict_env=not sandbox)
    stop = StopRequest()  # SIGINT/SIGTERM stop it cleanly, as they stop `integrate run`
    try:
        with stopping_on_signals(stop):
            report = retry_failed(
                spec,
                plugins,
                flows,
                sandbox=sandbox,
                state_file=state_file,
                failures_file=failures_file,
                stop=stop,
            )
    except RunFailed as exc:
        _print_run(exc.report, [], 0, as_json)
        _fail(exc)
    _print_run(report, [], 0, as_json)
    sys.exit(EXIT_RECORDS_FAILED if report.failed_records else EXIT_OK)


def retry_failed(
    spec: Any,
    plugins: Any,
    flows: tuple[str, ...],
    *,
    sandbox: bool,
    state_file: str | None,
    failures_file: str | None = None,
    stop: Any = None,
) -> Any:
    """A run of the held records only (open failures, decided queued records), reading
    nothing new; its report (RunFailed when the run failed). `failures retry` and the
    operator's page's retry button both run this."""
    from integrate.engine import RunOptions, run_spec
    from integrate.engine.stop import StopRequest

    settings: dict[str, Any] = {
        "flows": flows or None,
        "only_held": True,
        "trigger": "retry",
        "stop": stop or StopRequest(),
    }
    if sandbox:
        from integrate.sandbox import sandboxed

        with sandboxed(spec, plugins, **settings) as options:
            return run_spec(spec, plugins, options)
    options = RunOptions(
        **state_options(state_file),
        failures_path=Path(failures_file) if failures_file else None,
        **settings,
    )
    return run_spec(spec, plugins, options)


# ---- test --------------------------------------------------------------------------------------
