"""The `integrate` command: parse, call the library, render. Exit codes belong to exception
types (see docs/cli.md)."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from integrate.errors import EXIT_OK, EXIT_RECORDS_FAILED, IntegrateError, SpecError, UsageError
from integrate.secrets import REDACTOR, RedactingFilter

STATE_HELP = "State file (default: the spec's `state`, else $INTEGRATE_HOME/state.db, else .integrate/state.db)."


def _fail(exc: IntegrateError) -> NoReturn:
    click.echo(REDACTOR.redact(str(exc)), err=True)
    sys.exit(exc.exit_code)


def _guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn IntegrateError into a clean message and its exit code; anything else is a bug."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except IntegrateError as exc:
            _fail(exc)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="integrate-sync", prog_name="integrate")
@click.option("-v", "--verbose", count=True, help="More detail on stderr (-v info, -vv debug).")
def main(verbose: int) -> None:
    """integrate: declarative, testable, two-way record sync between systems.

    A spec (YAML) says which systems, which records, how they match and map; plugins speak
    each system's API. Start with `integrate validate spec.yaml`, then `integrate run
    spec.yaml --dry-run`.
    """
    _setup_logging(verbose)


# ---- loading helpers -------------------------------------------------------------------


def _plugins() -> Any:
    from integrate.plugins import make_plugins

    plugins = make_plugins()
    for warning in plugins.warnings:
        click.echo(f"warning: {warning}", err=True)
    return plugins


def _spec(path: str, plugins: Any, *, strict_env: bool) -> Any:
    from integrate.build import load_spec

    return load_spec(path, plugins, strict_env=strict_env)


def _state_spec(path: str) -> Any:
    """A spec loaded for its name and paths only (no plugins, no secrets needed)."""
    return _spec(path, None, strict_env=False)


def _open_state(spec: Any, state: str | None) -> Any:
    from integrate.engine.runner import state_path_for
    from integrate.state import StateStore

    path = state_path_for(spec, Path(state) if state else None)
    if not path.exists():
        raise IntegrateError(f"no state yet at {path}: `integrate run {spec.path}` makes it")
    return StateStore(path, spec.name)


# ---- validate ----------------------------------------------------------------------------


@main.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--core", is_flag=True, help="Check against the core schema only (plugins' settings unchecked)."
)
@click.option(
    "--strict", is_flag=True, help="Treat warnings (such as unset environment variables) as errors."
)
@click.option("--json", "as_json", is_flag=True, help="Print problems as JSON.")
@_guard
def validate(specs: tuple[str, ...], core: bool, strict: bool, as_json: bool) -> None:
    """Check specs without running them: every problem at file:line:col.

    Makes no network call and writes no file. Exits 2 when a spec has errors.
    """
    plugins = None if core else _plugins()
    failed = False
    out: list[dict[str, Any]] = []
    for path in specs:
        try:
            spec = _spec(path, plugins, strict_env=False)
        except SpecError as exc:
            failed = True
            for p in exc.problems:
                out.append(
                    {
                        "file": path,
                        "line": p.location.line,
                        "col": p.location.col,
                        "path": p.path,
                        "severity": p.severity,
                        "message": REDACTOR.redact(p.message),
                    }
                )
                if not as_json:
                    click.echo(REDACTOR.redact(str(p)))
            if not as_json:
                click.echo(
                    f"{path}: {len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''}"
                )
            continue
        for warning in spec.warnings:
            failed = failed or strict
            out.append({"file": path, "severity": "warning", "message": REDACTOR.redact(warning)})
            if not as_json:
                click.echo(REDACTOR.redact(warning))
        if not as_json:
            flows = ", ".join(spec.flows)
            click.echo(f"{path}: ok ({len(spec.connections)} connections, flows: {flows})")
    if as_json:
        click.echo(json.dumps(out, indent=2))
    sys.exit(2 if failed else 0)


# ---- run -----------------------------------------------------------------------------------


@main.command()
@click.argument("spec_path", metavar="SPEC", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Print the plan; write nothing anywhere.")
@click.option("--flow", "flows", multiple=True, help="Run only this flow (repeatable).")
@click.option("--full-refresh", is_flag=True, help="Ignore saved cursors: read everything again.")
@click.option("--state", type=click.Path(dir_okay=False), help=STATE_HELP)
@click.option(
    "--failures", type=click.Path(dir_okay=False), help="Failed-records file (JSON lines)."
)
@click.option(
    "--plan", "show_plan", is_flag=True, help="Print every line of the plan (implied by --dry-run)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON.")
@_guard
def run(
    spec_path: str,
    dry_run: bool,
    flows: tuple[str, ...],
    full_refresh: bool,
    state: str | None,
    failures: str | None,
    show_plan: bool,
    as_json: bool,
) -> None:
    """Run a spec's flows (or plan them with --dry-run) and print the summary."""
    from integrate.engine import RunFailed, RunOptions, run_spec
    from integrate.render import change_line, console

    plugins = _plugins()
    spec = _spec(spec_path, plugins, strict_env=True)
    err = console(stderr=True)
    lines: list[str] = []
    plan_limit = 200

    def observe(change: Any) -> None:
        if (dry_run or show_plan) and len(lines) < plan_limit:
            lines.append(change_line(change))
        elif dry_run or show_plan:
            lines.append("")

    progress = _Progress(err)
    options = RunOptions(
        dry_run=dry_run,
        flows=flows or None,
        full_refresh=full_refresh,
        state_path=Path(state) if state else None,
        failures_path=Path(failures) if failures else None,
        observer=observe,
        progress=progress.update,
    )
    try:
        report = run_spec(spec, plugins, options)
    except RunFailed as exc:
        progress.done()
        _print_run(exc.report, lines, plan_limit, as_json)
        _fail(exc)
    progress.done()
    _print_run(report, lines, plan_limit, as_json)
    if not dry_run and report.notices and not as_json:
        pass
    sys.exit(EXIT_RECORDS_FAILED if report.failed_records and not dry_run else EXIT_OK)


def _print_run(report: Any, lines: list[str], limit: int, as_json: bool) -> None:
    from integrate.render import console, print_report

    if as_json:
        click.echo(REDACTOR.redact(json.dumps(report.as_dict(), indent=2, default=str)))
        return
    out = console()
    if lines:
        out.print("plan:" if report.dry_run else "changes:")
        for line in lines[:limit]:
            out.print(f"  {line}", markup=False)
        if len(lines) > limit:
            out.print(f"  … and {len(lines) - limit:,} more")
    print_report(report, out)


class _Progress:
    """Records read so far, per flow: a live line on a terminal, a line per flow otherwise."""

    def __init__(self, out: Any):
        self.out = out
        self.live = out.is_terminal
        self.last = 0.0
        self.current: tuple[str, str] | None = None
        self.count = 0

    def update(self, flow: str, side: str, count: int) -> None:
        key = (flow, side)
        if key != self.current:
            self._end_line()
            self.current = key
        self.count = count
        now = time.monotonic()
        if self.live and now - self.last > 0.1:
            self.out.print(f"\r{flow}: read {count:,} from {side}…", end="", markup=False)
            self.last = now

    def _end_line(self) -> None:
        if self.current is None:
            return
        flow, side = self.current
        if self.live:
            self.out.print(f"\r{flow}: read {self.count:,} from {side}   ", markup=False)
        else:
            self.out.print(f"{flow}: read {self.count:,} from {side}", markup=False)

    def done(self) -> None:
        self._end_line()
        self.current = None


# ---- plugins and schema ------------------------------------------------------------------


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@_guard
def plugins(as_json: bool) -> None:
    """List installed plugins: name, version, status and the objects they offer."""
    from integrate.plugins import BLOCK_ENV

    found = _plugins()
    rows: list[dict[str, Any]] = []
    for info in found.infos:
        known: list[str] = []
        for name in info.connectors:
            known.extend(found.connectors[name].known_objects)
        rows.append(
            {
                "name": info.name,
                "version": info.version,
                "distribution": info.distribution,
                "status": info.status,
                "error": info.error,
                "connectors": info.connectors,
                "objects": known,
                "emulator": any(c in found.emulators for c in info.connectors),
            }
        )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    from rich import box
    from rich.table import Table

    from integrate.render import console

    table = Table(box=box.SIMPLE_HEAVY)
    for column in ("plugin", "version", "status", "objects", "emulator"):
        table.add_column(column)
    for row in rows:
        status = row["status"] + (f": {row['error']}" if row["error"] else "")
        objects = ", ".join(row["objects"]) or (
            "any (see the plugin's docs)" if row["connectors"] else "-"
        )
        table.add_row(
            row["name"], row["version"], status, objects, "yes" if row["emulator"] else "no"
        )
    console().print(table)
    console().print(f"block plugins with {BLOCK_ENV}=name,name (or * for all)", markup=False)


@main.command()
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Write to this file instead of stdout."
)
@_guard
def schema(output: str | None) -> None:
    """Print the JSON Schema of specs, with every installed plugin's settings, for editors.

    With yaml-language-server, put `# yaml-language-server: $schema=<file>` on a spec's first line.
    """
    from integrate.schema import combined_schema

    text = json.dumps(combined_schema(_plugins().config_schemas()), indent=2)
    if output:
        Path(output).write_text(text + "\n", encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text)


# ---- state ---------------------------------------------------------------------------------


@main.group()
def state() -> None:
    """Look at or reset what integrate remembers about a spec."""


@state.command("show")
@click.argument("spec_path", metavar="SPEC", type=click.Path(exists=True, dir_okay=False))
@click.option("--state", "state_file", type=click.Path(dir_okay=False), help=STATE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@_guard
def state_show(spec_path: str, state_file: str | None, as_json: bool) -> None:
    """Cursors, link counts, held records and recent runs."""
    spec = _state_spec(spec_path)
    store = _open_state(spec, state_file)
    try:
        data = {
            "integration": spec.name,
            "state": str(store.path),
            "flows": store.flow_states(),
            "counts": store.counts(),
            "runs": store.runs(10),
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
        for row in data["flows"]:
            if row["flow"] == name and row["side"] != "*":
                click.echo(f"    cursor {row['side']}: {json.dumps(row['cursor'], default=str)}")
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
@click.option("--state", "state_file", type=click.Path(dir_okay=False), help=STATE_HELP)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_guard
def state_reset(spec_path: str, flow: str | None, state_file: str | None, yes: bool) -> None:
    """Forget cursors, links and held records: the next run starts over.

    No system's data is touched; records are matched by their keys again.
    """
    spec = _state_spec(spec_path)
    if flow is not None and flow not in spec.flows:
        raise UsageError(f"no flow named {flow} (flows: {', '.join(spec.flows)})")
    what = f"flow {flow}" if flow else f"all flows of {spec.name}"
    if not yes and not click.confirm(f"Forget cursors, links and held records of {what}?"):
        raise IntegrateError("nothing was reset")
    store = _open_state(spec, state_file)
    try:
        counts = store.reset(flow)
    finally:
        store.close()
    click.echo(
        f"reset {what}: {counts['links']} links, {counts['held']} held records, {counts['flow_state']} cursors forgotten"
    )


# ---- pending queue ---------------------------------------------------------------------------


@main.group()
def pending() -> None:
    """The pending queue: records waiting for an operator's decision."""


@pending.command("list")
@click.argument("spec_path", metavar="SPEC", type=click.Path(exists=True, dir_okay=False))
@click.option("--flow", help="Only this flow.")
@click.option("--state", "state_file", type=click.Path(dir_okay=False), help=STATE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@_guard
def pending_list(spec_path: str, flow: str | None, state_file: str | None, as_json: bool) -> None:
    """Queued records, why they wait, and candidates to map them to."""
    from integrate.render import console, held_table

    spec = _state_spec(spec_path)
    store = _open_state(spec, state_file)
    try:
        rows = store.held(flow, kinds=("queue",))
        for row in rows:
            row.candidates = _free_candidates(spec, store, row)
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
    click.echo(
        f"resolve with: integrate pending resolve {spec_path} <flow> <id> --create | --map-to <target id>"
    )


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
@click.option("--state", "state_file", type=click.Path(dir_okay=False), help=STATE_HELP)
@_guard
def pending_resolve(
    spec_path: str,
    flow: str,
    record_id: str,
    create: bool,
    map_to: str | None,
    keep: str | None,
    state_file: str | None,
) -> None:
    """Decide for one queued record; the next run carries the decision out and remembers it."""
    chosen = [x for x in (create, map_to, keep) if x]
    if len(chosen) != 1:
        raise UsageError("give exactly one of --create, --map-to TARGET_ID, --keep SIDE")
    spec = _state_spec(spec_path)
    if flow not in spec.flows:
        raise UsageError(f"no flow named {flow} (flows: {', '.join(spec.flows)})")
    store = _open_state(spec, state_file)
    try:
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
            resolution: dict[str, Any] = {"action": "map", "target_id": map_to}
        elif keep:
            sides = [s.name for s in getattr(spec.flows[flow], "sides", ())]
            if keep not in sides:
                raise UsageError(
                    f"--keep takes a side of flow {flow}: {', '.join(sides) or 'none'}"
                )
            resolution = {"action": "keep", "side": keep}
        else:
            resolution = {"action": "create"}
        store.resolve(flow, record_id, resolution)
    finally:
        store.close()
    what = {"map": f"map to {map_to}", "keep": f"keep {keep}'s values", "create": "create as new"}[
        resolution["action"]
    ]
    click.echo(f"{flow} {record_id}: will {what} on the next run")


# ---- failures -------------------------------------------------------------------------------


@main.group()
def failures() -> None:
    """Records that failed: list them, retry them."""


@failures.command("list")
@click.argument("spec_path", metavar="SPEC", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--all", "show_all", is_flag=True, help="The whole failure ledger, not only open failures."
)
@click.option("--state", "state_file", type=click.Path(dir_okay=False), help=STATE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@_guard
def failures_list(spec_path: str, show_all: bool, state_file: str | None, as_json: bool) -> None:
    """Open failures (retried on every run), or with --all every failure ever recorded."""
    from integrate.render import console, held_table

    spec = _state_spec(spec_path)
    store = _open_state(spec, state_file)
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
@click.option("--state", "state_file", type=click.Path(dir_okay=False), help=STATE_HELP)
@click.option(
    "--failures", "failures_file", type=click.Path(dir_okay=False), help="Failed-records file."
)
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON.")
@_guard
def failures_retry(
    spec_path: str,
    flows: tuple[str, ...],
    state_file: str | None,
    failures_file: str | None,
    as_json: bool,
) -> None:
    """Try the failed records again now, without reading anything new."""
    from integrate.engine import RunFailed, RunOptions, run_spec

    plugins = _plugins()
    spec = _spec(spec_path, plugins, strict_env=True)
    options = RunOptions(
        flows=flows or None,
        only_held=True,
        trigger="retry",
        state_path=Path(state_file) if state_file else None,
        failures_path=Path(failures_file) if failures_file else None,
    )
    try:
        report = run_spec(spec, plugins, options)
    except RunFailed as exc:
        _print_run(exc.report, [], 0, as_json)
        _fail(exc)
    _print_run(report, [], 0, as_json)
    sys.exit(EXIT_RECORDS_FAILED if report.failed_records else EXIT_OK)


# ---- test --------------------------------------------------------------------------------------


@main.command("test")
@click.argument("specs", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("-k", "pattern", help="Only tests whose name contains this text.")
@_guard
def test_command(specs: tuple[str, ...], pattern: str | None) -> None:
    """Run the `tests:` block of specs against the plugins' emulators, offline."""
    from integrate.spectest import run_spec_tests

    plugins = _plugins()
    failed = 0
    total = 0
    for path in specs:
        spec = _spec(path, plugins, strict_env=False)
        for result in run_spec_tests(spec, plugins, pattern=pattern):
            total += 1
            mark = "PASS" if result.ok else "FAIL"
            click.echo(f"{mark} {path}: {result.name}")
            for line in result.messages:
                click.echo(f"     {REDACTOR.redact(line)}")
            failed += 0 if result.ok else 1
    click.echo(f"{total - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
