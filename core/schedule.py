"""Schedules: when each flow of a spec runs (its own cron, else the spec's), read in the
spec's time zone; and the loop behind `integrate serve` that runs them when they fall due."""

from __future__ import annotations

import datetime as dt
import logging
import re
import zoneinfo
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from croniter import croniter

from integrate.http import Clock
from integrate.model import Spec, SyncFlow

log = logging.getLogger("integrate.serve")

# Each field of a cron expression: its name and the values it takes.
_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
    ("second", 0, 59),
)
_NAMES = {
    3: ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
    4: ("sun", "mon", "tue", "wed", "thu", "fri", "sat"),
}
_HELP = "(minute hour day month weekday)"


def cron_problem(text: str) -> tuple[str, int | None] | None:
    """(message, offset of the culprit in `text`, if one is) when `text` is not a cron expression croniter
    reads; the message names the field and its range where one is wrong ("hour 25 is out of
    range 0-23")."""
    if croniter.is_valid(text):
        return None
    generic = f"'{text}' is not a valid cron expression {_HELP}"
    if text.startswith("@"):
        return generic, None
    offset = 0
    for index, field in enumerate(text.split()):
        offset = text.index(field, offset)
        if index < len(_FIELDS):
            found = _field_problem(index, field)
            if found is not None:
                message, within = found
                return f"'{text}' is not a valid cron expression: {message} {_HELP}", (
                    offset + within
                )
        offset += len(field)
    return generic, None


def _field_problem(index: int, field: str) -> tuple[str, int] | None:
    name, low, high = _FIELDS[index]
    names = _NAMES.get(index, ())
    position = 0
    for item in field.split(","):
        body, _, step = item.partition("/")
        if step and (not step.isdigit() or int(step) == 0):
            return f"{name} step /{step} must be a whole number of at least 1", position
        for part in body.split("-") if body not in ("*", "?") else ():
            value = part.lower()
            if value.isdigit():
                if not low <= int(value) <= high:
                    where = position + item.index(part)
                    return f"{name} {part} is out of range {low}\u2013{high}", where
            elif value not in names and value not in ("l", ""):
                where = position + item.index(part)
                spelled = f" or a name ({', '.join(names[:3])} ...)" if names else ""
                return f"{name} '{part}' is not a number {low}\u2013{high}{spelled}", where
        position += len(item) + 1
    return None


# A duration as a spec writes it: seconds, or a number with its unit.
_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(s|m|h)$")
_UNIT = {"s": 1, "m": 60, "h": 3600}
# The shortest interval a watch may have.
LEAST_WATCH = 1.0


def duration(value: int | str) -> float:
    """Seconds of a duration (30, "30s", "1.5m", "1h"); ValueError saying what is wrong."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration (30s, 5m, 1h)")
    if isinstance(value, int):
        seconds = float(value)
    else:
        found = _DURATION.match(value.strip())
        if found is None:
            raise ValueError(f"'{value}' is not a duration: write seconds, or 30s, 5m, 1h")
        seconds = float(found.group(1)) * _UNIT[found.group(2)]
    if seconds < LEAST_WATCH:
        raise ValueError(f"'{value}' is shorter than the least interval, 1s")
    return seconds


@dataclass(frozen=True)
class Due:
    """A run that falls due: these flows of this spec, at this moment (and, for a run a
    watch asked for, what it found changed)."""

    at: dt.datetime
    spec: Spec
    flows: tuple[str, ...]
    reason: str = ""
    # what started it, for the run history ("" : `watch` with a reason, else `schedule`)
    trigger: str = ""

    def __str__(self) -> str:
        if self.reason:
            return f"{self.at.isoformat(timespec='seconds')} {self.spec.name}: {self.reason}"
        return f"{self.at.isoformat(timespec='minutes')} {self.spec.name}: {', '.join(self.flows)}"


@dataclass(frozen=True)
class Watch:
    """One side of a flow that `serve` looks at every `every` seconds (`watch:`)."""

    spec: Spec
    flow: str
    side: str  # the model's side name (a one-way flow's: source)
    every: float

    def __str__(self) -> str:
        flow = self.spec.flows[self.flow]
        # as the spec names it: a one-way flow's source by its connection
        side = self.side
        if isinstance(flow, SyncFlow) and not flow.two_way:
            side = flow.sides[0].ref.connection
        return f"{self.spec.name}: {self.flow} on {side} every {self.every:g}s"


def watches(spec: Spec) -> tuple[Watch, ...]:
    """The watches of a spec's enabled flows, in flow order."""
    return tuple(
        Watch(spec, name, side, every)
        for name, flow in spec.flows.items()
        if flow.common.enabled
        for side, every in flow.common.watch.items()
    )


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


class Woken(Protocol):
    """What wakes the serve loop besides its timers (the webhook receiver's inbox)."""

    stopping: bool

    def take(self) -> list[tuple[str, str]]: ...

    def wait_until(self, moment: float | None) -> bool: ...


class Chores(Protocol):
    """Work of the loop that is no run (renewing notification channels)."""

    def next_at(self) -> float | None: ...

    def upkeep(self) -> list[str]: ...


def serve(
    specs: Sequence[Spec],
    run: Callable[[Due], None],
    clock: Clock,
    *,
    max_runs: int | None = None,
    look: Callable[[Watch], str] | None = None,
    woken: Woken | None = None,
    chores: Chores | None = None,
    run_schedules: bool = True,
) -> int:
    """Run each spec's flows whenever their schedules fall due, whenever a watch finds
    its side changed, and whenever a webhook woke a flow (sleeping on `clock` in between);
    returns how many runs were made.

    One thing at a time, in time order: a run falling due while another was going is
    skipped (no pile-up after a long run); a watch that fell due meanwhile looks as soon as
    it ends (delayed, never overlapping). `look(watch)` says why the watch's flow needs a
    run ("" when nothing changed: no run, nothing written). Flows `woken` names run first,
    once each however many webhooks came for them meanwhile; `chores` are done when due.
    `run_schedules=False`: schedules are left to others (workers' periodic tasks)."""
    by_name = {spec.name: spec for spec in specs}
    made = 0
    start = clock.now()
    busy_until = start
    cron = upcoming(specs if run_schedules else [], dt.datetime.fromtimestamp(start, dt.UTC))
    due = next(cron, None)
    timers = [(start + w.every, n, w) for n, w in enumerate(_all_watches(specs, look))]
    while True:
        if max_runs is not None and made >= max_runs:
            break
        if woken is not None:
            if woken.stopping:
                break
            flows = woken.take()
            for integration, flow in flows:
                if max_runs is not None and made >= max_runs:
                    break  # what is left waits in the ledger for the next run
                when = dt.datetime.fromtimestamp(clock.now(), dt.UTC)
                spec = by_name[integration]
                run(Due(when, spec, (flow,), f"{flow}: webhook", trigger="webhook"))
                made += 1
                busy_until = clock.now()
            if flows:
                continue
        timers.sort(key=lambda t: (t[0], t[1]))
        moments = []
        if due is not None:
            moments.append((due.at.timestamp(), 0))
        if timers:
            moments.append((timers[0][0], 1))
        upkeep_at = chores.next_at() if chores is not None else None
        if upkeep_at is not None:
            moments.append((upkeep_at, 2))
        if not moments:
            if woken is not None and woken.wait_until(None):
                continue
            break
        at, kind = min(moments)
        if kind == 0 and due is not None and at < busy_until:
            log.warning("%s: skipped, it fell due while the run before was still going", due)
            due = next(cron, None)
            continue
        if woken is not None:
            if woken.wait_until(at):
                continue  # a webhook (or a stop) came first
        else:
            _sleep_until(clock, at)
        if kind == 0 and due is not None:
            run(due)
            made += 1
            busy_until = clock.now()
            due = next(cron, None)
        elif kind == 1:
            if _look(timers, look, run, clock):
                made += 1
                busy_until = clock.now()
        else:
            assert chores is not None
            for line in chores.upkeep():
                log.warning("%s", line)
    return made


def _look(
    timers: list[tuple[float, int, Watch]],
    look: Callable[[Watch], str] | None,
    run: Callable[[Due], None],
    clock: Clock,
) -> int:
    """The first timer's look, and its run if it found a change; runs made (0 or 1)."""
    at, n, watch = timers[0]
    assert look is not None
    reason = look(watch)
    made = 0
    if reason:
        log.info("%s: %s", watch.spec.name, reason)
        run(Due(dt.datetime.fromtimestamp(clock.now(), dt.UTC), watch.spec, (watch.flow,), reason))
        made = 1
    else:
        log.debug("%s: nothing changed", watch)
    timers[0] = (max(at + watch.every, clock.now()), n, watch)
    return made


def _all_watches(specs: Sequence[Spec], look: Callable[[Watch], str] | None) -> list[Watch]:
    return [w for spec in specs for w in watches(spec)] if look is not None else []


def _sleep_until(clock: Clock, moment: float) -> None:
    wait = moment - clock.now()
    if wait > 0:
        clock.sleep(wait)
