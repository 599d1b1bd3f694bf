"""`integrate schedule`: when specs will run (`integrate serve`, in serving.py, runs them)."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from typing import Any

import click

from integrate.cli import _guard, _plugins, _spec, main
from integrate.errors import UsageError

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
