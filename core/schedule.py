"""Schedules: when each flow of a spec runs (its own cron, else the spec's), read in the
spec's time zone; and the loop behind `integrate serve` that runs them when they fall due."""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from croniter import croniter

from integrate.http import Clock
from integrate.model import Spec

log = logging.getLogger("integrate.serve")


@dataclass(frozen=True)
class Due:
    """A run that falls due: these flows of this spec, at this moment."""

    at: dt.datetime
    spec: Spec
    flows: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.at.isoformat(timespec='minutes')} {self.spec.name}: {', '.join(self.flows)}"


def schedules(spec: Spec) -> dict[str, tuple[str, ...]]:
    """cron expression → the enabled flows that run on it."""
    out: dict[str, list[str]] = {}
    for name, flow in spec.flows.items():
        cron = flow.common.schedule or spec.schedule
        if cron and flow.common.enabled:
            out.setdefault(cron, []).append(name)
    return {cron: tuple(flows) for cron, flows in out.items()}


def upcoming(specs: Sequence[Spec], after: dt.datetime) -> Iterator[Due]:
    """Every run due after `after`, in time order, for ever."""
    iterators = []
    for spec in specs:
        zone = zoneinfo.ZoneInfo(spec.timezone)
        start = after.astimezone(zone)
        for cron, flows in schedules(spec).items():
            iterators.append((croniter(cron, start), spec, flows))
    pending: list[tuple[dt.datetime, int, Spec, tuple[str, ...]]] = []
    for n, (it, spec, flows) in enumerate(iterators):
        pending.append((it.get_next(dt.datetime), n, spec, flows))
    while pending:
        pending.sort(key=lambda p: (p[0], p[1]))
        at, n, spec, flows = pending[0]
        yield Due(at, spec, flows)
        pending[0] = (iterators[n][0].get_next(dt.datetime), n, spec, flows)


def serve(
    specs: Sequence[Spec],
    run: Callable[[Due], None],
    clock: Clock,
    *,
    max_runs: int | None = None,
) -> int:
    """Run each spec's flows whenever their schedules fall due (sleeping on `clock` in
    between); returns how many runs were made. Runs falling due together run one after
    the other, in time order; a run that fell due while another was going is skipped (no
    pile-up after a long run)."""
    made = 0
    busy_until = clock.now()
    for due in upcoming(specs, dt.datetime.fromtimestamp(busy_until, dt.UTC)):
        if max_runs is not None and made >= max_runs:
            break
        if due.at.timestamp() < busy_until:
            log.warning("%s: skipped, it fell due while the run before was still going", due)
            continue
        wait = due.at.timestamp() - clock.now()
        if wait > 0:
            clock.sleep(wait)
        run(due)
        made += 1
        busy_until = clock.now()
    return made
