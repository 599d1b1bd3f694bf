"""`integrate schedule` (when specs will run) and `integrate serve` (run them when due)."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from pathlib import Path
from typing import Any

import click

from integrate.cli import STATE_HELP, _guard, _plugins, _spec, main
from integrate.errors import IntegrateError, UsageError
from integrate.secrets import REDACTOR

log = logging.getLogger("integrate.serve")


def _moment(text: str | None) -> dt.datetime:
    if text is None:
        return dt.datetime.now(dt.UTC)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--from {text!r} is not an ISO date and time (2026-11-23T18:00)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@main.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--from", "start", help="Start from this moment (ISO; default now, UTC if no zone).")
@click.option("--count", default=5, show_default=True, help="How many runs to list.")
@_guard
def schedule(specs: tuple[str, ...], start: str | None, count: int) -> None:
    """List the next runs of specs' schedules: when, which spec, which flows.

    Times are shown in each spec's `timezone`. A flow's own `schedule` wins over the spec's;
    flows with neither (and disabled flows) never run on a schedule.
    """
    from integrate.schedule import upcoming

    if count < 1:
        raise UsageError("--count must be at least 1")
    plugins = _plugins()
    loaded = [_spec(path, plugins, strict_env=False) for path in specs]
    unscheduled = [s.name for s in loaded if not _has_schedule(s)]
    for name in unscheduled:
        click.echo(f"{name}: no schedule (set `schedule:` on the spec or on a flow)")
    for due in itertools.islice(
        upcoming([s for s in loaded if _has_schedule(s)], _moment(start)), count
    ):
        click.echo(str(due))


def _has_schedule(spec: Any) -> bool:
    from integrate.schedule import schedules

    return bool(schedules(spec))


@main.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--sandbox", is_flag=True, help="Run against the plugins' emulators (demo data).")
@click.option("--state", type=click.Path(dir_okay=False), help=STATE_HELP)
@click.option("--run-now", is_flag=True, help="Run every scheduled or watched flow once at start.")
@click.option(
    "--max-runs", type=int, help="Stop after this many runs (default: serve until stopped)."
)
@_guard
def serve(
    specs: tuple[str, ...],
    sandbox: bool,
    state: str | None,
    run_now: bool,
    max_runs: int | None,
) -> None:
    """Run specs' flows whenever their schedules fall due, and whenever a watched side
    changed (a flow's `watch:`), until stopped (Ctrl-C).

    Each run prints its summary, as `integrate run` does. A run that fails is reported and
    serving goes on; a run that finds another still going (the state's run lock) is skipped.
    A watch that finds nothing changed prints nothing and records no run.
    """
    from integrate.http import SystemClock
    from integrate.schedule import Due, Watch, schedules, watches
    from integrate.schedule import serve as serve_loop

    if max_runs is not None and max_runs < 1:
        raise UsageError("--max-runs must be at least 1")
    plugins = _plugins()
    loaded = [_spec(path, plugins, strict_env=not sandbox) for path in specs]
    for spec in loaded:
        if not schedules(spec) and not watches(spec):
            raise UsageError(
                f"{spec.path}: no schedule to serve (set `schedule:` on the spec or on a flow, "
                "or `watch:` on a flow)"
            )
    made = 0
    # the last error of each watch, said once until it changes
    failing: dict[tuple[str, str, str], str] = {}

    def run(due: Due) -> None:
        click.echo(f"— {due}")
        _run_due(due, plugins, sandbox, state)

    def look(watch: Watch) -> str:
        key = (watch.spec.name, watch.flow, watch.side)
        try:
            found = _look(watch, plugins, sandbox, state)
        except IntegrateError as exc:
            message = f"{watch.spec.name}: watch of {watch.flow} failed: {exc}"
            if failing.get(key) != message:
                click.echo(REDACTOR.redact(message), err=True)
            failing[key] = message
            return ""
        failing.pop(key, None)
        if found.busy:
            log.debug("%s: a run is going in another process: looked at again later", watch)
        return str(found.reason)

    try:
        if run_now:
            now = dt.datetime.now(dt.UTC)
            for spec in loaded:
                if max_runs is not None and made >= max_runs:
                    break
                listed = {f for group in schedules(spec).values() for f in group}
                listed |= {w.flow for w in watches(spec)}
                run(Due(now, spec, tuple(f for f in spec.flows if f in listed)))
                made += 1
        left = None if max_runs is None else max_runs - made
        if left is None or left > 0:
            click.echo(f"serving {len(loaded)} spec(s); Ctrl-C stops", err=True)
            serve_loop(loaded, run, SystemClock(), max_runs=left, look=look)
    except KeyboardInterrupt:
        click.echo("stopped", err=True)


def _look(watch: Any, plugins: Any, sandbox: bool, state: str | None) -> Any:
    """What the watch finds on its side (read only; the sandbox's emulators with --sandbox)."""
    from integrate.engine import RunOptions
    from integrate.engine.watch import look

    if sandbox:
        from integrate.sandbox import sandboxed

        with sandboxed(watch.spec, plugins) as options:
            return look(watch.spec, plugins, watch.flow, watch.side, options)
    options = RunOptions(state_path=Path(state) if state else None)
    return look(watch.spec, plugins, watch.flow, watch.side, options)


def _run_due(due: Any, plugins: Any, sandbox: bool, state: str | None) -> None:
    from integrate.engine import RunFailed, RunOptions, run_spec
    from integrate.render import console, print_report

    settings: dict[str, Any] = {
        "flows": due.flows,
        "trigger": "watch" if due.reason else "schedule",
    }
    try:
        if sandbox:
            from integrate.sandbox import sandboxed

            with sandboxed(due.spec, plugins, **settings) as options:
                report = run_spec(due.spec, plugins, options)
        else:
            options = RunOptions(state_path=Path(state) if state else None, **settings)
            report = run_spec(due.spec, plugins, options)
    except RunFailed as exc:
        print_report(exc.report, console())
        click.echo(REDACTOR.redact(str(exc)), err=True)
        return
    except IntegrateError as exc:
        click.echo(f"{due.spec.name}: run not made: {REDACTOR.redact(str(exc))}", err=True)
        return
    print_report(report, console())
