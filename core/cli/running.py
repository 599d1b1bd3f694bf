"""`integrate validate`, `run`, `test`, `plugins` and `schema`."""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import click

from integrate.cli import (
    _fail,
    _guard,
    _plugins,
    _spec,
    main,
    state_option,
    state_options,
)
from integrate.errors import EXIT_OK, EXIT_RECORDS_FAILED, SpecError, UsageError
from integrate.secrets import REDACTOR


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
@state_option()
@click.option(
    "--failures", type=click.Path(dir_okay=False), help="Failed-records file (JSON lines)."
)
@click.option(
    "--plan", "show_plan", is_flag=True, help="Print every line of the plan (implied by --dry-run)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON.")
@click.option(
    "--sandbox",
    is_flag=True,
    help="Run against the plugins' emulators, seeded with the spec's demo data.",
)
@click.option(
    "--fresh", is_flag=True, help="With --sandbox: start the sandbox over from its demo data."
)
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
    sandbox: bool,
    fresh: bool,
) -> None:
    """Run a spec's flows (or plan them with --dry-run) and print the summary.

    With --sandbox, the spec runs against its plugins' emulators instead of the real systems
    (no credentials needed), seeded with the spec's `sandbox` demo data; the emulated data and
    the sandbox's own state are kept between sandbox commands until --fresh.
    """
    from integrate.engine.stop import StopRequest, stopping_on_signals

    if fresh and not sandbox:
        raise UsageError("--fresh starts a sandbox over: use it with --sandbox")
    # SIGINT/SIGTERM: stop at the next safe point, recorded `interrupted`. Caught from the
    # start (loading plugins and the spec) to the last line printed, so that a Ctrl-C is
    # never click's "Aborted!" with exit 1 and a run left `running`.
    stop = StopRequest()
    with stopping_on_signals(stop):
        _run_command(
            spec_path,
            stop,
            dry_run,
            flows,
            full_refresh,
            state,
            failures,
            show_plan,
            as_json,
            sandbox,
            fresh,
        )


def _run_command(
    spec_path: str,
    stop: Any,
    dry_run: bool,
    flows: tuple[str, ...],
    full_refresh: bool,
    state: str | None,
    failures: str | None,
    show_plan: bool,
    as_json: bool,
    sandbox: bool,
    fresh: bool,
) -> None:
    from integrate.engine import RunFailed
    from integrate.engine.runner import RunInterrupted
    from integrate.render import change_line, console

    plugins = _plugins()
    spec = _spec(spec_path, plugins, strict_env=not sandbox)
    err = console(stderr=True)
    lines: list[str] = []
    plan_limit = 200

    def observe(change: Any) -> None:
        if (dry_run or show_plan) and len(lines) < plan_limit:
            lines.append(change_line(change))
        elif dry_run or show_plan:
            lines.append("")

    progress = _Progress(err)
    settings: dict[str, Any] = {
        "dry_run": dry_run,
        "flows": flows or None,
        "full_refresh": full_refresh,
        "observer": observe if dry_run or show_plan else None,
        "progress": progress.update,
        "stop": stop,
    }
    try:
        report = _run_now(spec, plugins, sandbox, fresh, state, failures, settings)
    except RunFailed as exc:
        progress.done()
        _print_run(exc.report, lines, plan_limit, as_json)
        if isinstance(exc, RunInterrupted) and not dry_run:
            again = [spec_path, *(f"--flow={f}" for f in flows)]
            again += [f"--state={state}"] if state else []
            again += [f"--failures={failures}"] if failures else []
            again += ["--sandbox"] if sandbox else []
            click.echo(REDACTOR.redact(str(exc)), err=True)
            command = " ".join(shlex.quote(a) for a in again)
            click.echo(REDACTOR.redact(f"resume with: integrate run {command}"), err=True)
            sys.exit(exc.exit_code)
        _fail(exc)
    progress.done()
    _print_run(report, lines, plan_limit, as_json)
    if sandbox and not as_json:
        _sandbox_hints(spec_path, report)
    sys.exit(EXIT_RECORDS_FAILED if report.failed_records and not dry_run else EXIT_OK)


def _run_now(
    spec: Any,
    plugins: Any,
    sandbox: bool,
    fresh: bool,
    state: str | None,
    failures: str | None,
    settings: dict[str, Any],
) -> Any:
    from integrate.engine import RunOptions, run_spec

    if sandbox:
        from integrate.sandbox import sandboxed

        with sandboxed(spec, plugins, fresh=fresh, **settings) as options:
            return run_spec(spec, plugins, options)
    options = RunOptions(
        **state_options(state),
        failures_path=Path(failures) if failures else None,
        **settings,
    )
    return run_spec(spec, plugins, options)


def _sandbox_hints(spec_path: str, report: Any) -> None:
    click.echo(f"sandbox: emulated systems and state in {Path(report.state_path).parent}")
    if any("pending queue" in n for n in report.notices):
        click.echo(f"next: integrate pending list {spec_path} --sandbox")
    elif report.failed_records:
        click.echo(f"next: integrate failures list {spec_path} --sandbox")


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

    # Back to the line's start and erase it: rich strips a printed "\r" (and every other
    # control character), so the live line writes these to the terminal itself.
    REDRAW = "\r\x1b[2K"

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
            self._draw(f"{flow}: read {count:,} from {side}…")
            self.last = now

    def _draw(self, text: str, end: str = "") -> None:
        self.out.file.write(f"{self.REDRAW}{text}{end}")
        self.out.file.flush()

    def _end_line(self) -> None:
        if self.current is None:
            return
        flow, side = self.current
        if self.live:
            self._draw(f"{flow}: read {self.count:,} from {side}", end="\n")
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
    """List installed plugins: name, version, status and the objects they offer.

    A plugin that INTEGRATE_PLUGINS does not list (or INTEGRATE_BLOCK_PLUGINS names) shows as
    blocked, with why; it was never imported.
    """
    from integrate.plugins import ALLOW_ENV, BLOCK_ENV

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
    console().print(
        f"load only listed plugins with {ALLOW_ENV}=name,name (integrate-sync's own always load); "
        f"block plugins with {BLOCK_ENV}=name,name (or * for all)",
        markup=False,
    )


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
