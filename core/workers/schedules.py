"""Specs' schedules as Procrastinate periodic tasks: each cron of a spec (a flow's own, else
the spec's; read in the spec's time zone, as `integrate serve` reads it) defers a run of
those flows when it falls due; every worker registers them, the database defers each once."""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Iterable
from typing import Any

import attr
from croniter import croniter
from procrastinate import App
from procrastinate.periodic import PeriodicTask
from procrastinate.tasks import ConfigureTaskOptions, Task

from integrate.model import Spec
from integrate.schedule import schedules
from integrate.workers.jobs import job_arguments, job_options


@attr.dataclass(frozen=True)
class ZonedPeriodicTask(PeriodicTask[Any, Any, Any]):
    """A periodic task whose cron is read in a time zone: Procrastinate reads crons in UTC,
    a spec's `schedule: "0 9 * * *"` with `timezone: Europe/Warsaw` means 9:00 in Warsaw."""

    zone: str = "UTC"

    @functools.cached_property
    def croniter(self) -> croniter:
        # croniter keeps the zone of the moment it starts from for every later moment
        return croniter(self.cron, dt.datetime.now(zoneinfo.ZoneInfo(self.zone)))


def periodic_id(spec: Spec, cron: str) -> str:
    """Names one schedule of one integration, the same in every worker (the database defers
    a periodic task's moment once per (task, periodic_id))."""
    return f"{spec.name}@{cron}"


def register(app: App, task: Task[Any, Any, Any], specs: Iterable[Spec]) -> list[str]:
    """Register each schedule of the specs as a periodic task deferring `task` with the
    integration's queue and locks; one line per schedule, to print."""
    lines = []
    for spec in specs:
        for cron, flows in schedules(spec).items():
            key = periodic_id(spec, cron)
            options: ConfigureTaskOptions = {
                **job_options(spec.name),
                "task_kwargs": job_arguments(spec.name, "schedule", flows),
            }
            app.periodic_registry.periodic_tasks[(task.name, key)] = ZonedPeriodicTask(
                task=task,
                cron=cron,
                periodic_id=key,
                configure_kwargs=options,
                zone=spec.timezone,
            )
            lines.append(f"{spec.name}: {', '.join(flows)} on '{cron}' ({spec.timezone})")
    return lines
