"""`integrate worker`, `enqueue` and `workers`: runs on Procrastinate workers sharing one
PostgreSQL database (docs/scaling-out.md). Procrastinate and psycopg are imported inside the
commands only: the embedded default never loads them."""

from __future__ import annotations

import json
import logging
from typing import Any

import click

from integrate.cli import _guard, _plugins, _spec, main, state_option
from integrate.errors import UsageError
from integrate.secrets import REDACTOR


def _say(line: str) -> None:
    click.echo(REDACTOR.redact(line), err=True)


@main.command()
@click.argument("specs", metavar="SPEC_OR_DIR...", nargs=-1, required=True, type=click.Path())
@state_option(url_only=True)
@click.option(
    "--concurrency",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Runs at once (of different integrations).",
)
@click.option(
    "--name", help="The worker's name in logs and `integrate workers` (default HOST-PID)."
)
@click.option(
    "--stalled-after",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0.3, 3600),
    metavar="SECONDS",
    help="A worker without a heartbeat for this long is stalled; its run is queued again.",
)
@_guard
def worker(
    specs: tuple[str, ...],
    state: str | None,
    concurrency: int,
    name: str | None,
    stalled_after: float,
) -> None:
    """Run integrations queued for these specs (files, or folders of *.yaml) until stopped.

    One run per integration at a time across all workers; the specs' schedules queue runs.
    SIGTERM or Ctrl-C: runs going stop after their batch in flight, are queued again, and
    the worker exits 0.
    """
    from integrate.workers.database import database, prepare
    from integrate.workers.running import spec_files
    from integrate.workers.worker import WorkerSettings, default_name, work

    db = database(state)
    plugins = _plugins()
    loaded = [_spec(str(path), plugins, strict_env=True) for path in spec_files(specs)]
    prepare(db)
    # which integration each job runs and how it ended: said without -v
    workers_log = logging.getLogger("integrate.workers")
    if workers_log.getEffectiveLevel() > logging.INFO:
        workers_log.setLevel(logging.INFO)
    settings = WorkerSettings(name or default_name(), concurrency, stalled_after)
    work(db, loaded, plugins, settings, _say)
    _say("stopped")


@main.command()
@click.argument("specs", metavar="SPEC_OR_DIR...", nargs=-1, required=True, type=click.Path())
@state_option(url_only=True)
@click.option("--flow", "flows", multiple=True, help="Run only this flow (repeatable).")
@_guard
def enqueue(specs: tuple[str, ...], state: str | None, flows: tuple[str, ...]) -> None:
    """Queue a run of each spec for the workers: `queued: NAME (job N)`, or `already queued:
    NAME` when a run of it is already waiting (at most one waits). Exit 0 either way."""
    from procrastinate import App, SyncPsycopgConnector

    from integrate.workers.database import database, prepare
    from integrate.workers.jobs import defer
    from integrate.workers.running import spec_files

    db = database(state)
    plugins = _plugins()
    loaded = [_spec(str(path), plugins, strict_env=False) for path in spec_files(specs)]
    for spec in loaded:
        unknown = [f for f in flows if f not in spec.flows]
        if unknown:
            raise UsageError(
                f"{spec.path}: no flow named {', '.join(unknown)} (flows: {', '.join(spec.flows)})"
            )
    prepare(db)
    app = App(connector=SyncPsycopgConnector(conninfo=db.url, min_size=1, max_size=1))
    with app.open():
        for spec in loaded:
            click.echo(str(defer(app, spec.name, "enqueue", flows)))


@main.command("workers")
@state_option(url_only=True)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@_guard
def workers_command(state: str | None, as_json: bool) -> None:
    """List workers (alive or stalled, by their heartbeats) and runs running, queued and
    stalled."""
    from integrate.workers.database import database
    from integrate.workers.status import overview

    db = database(state)
    view = overview(db)
    if as_json:
        click.echo(json.dumps(view.as_dict(), indent=2))
        return
    click.echo(f"workers of {db}:")
    if not view.workers:
        click.echo("  none (start one with `integrate worker SPEC... --state URL`)")
    for w in view.workers:
        name = w.name or "(name not written yet)"
        if w.alive:
            health = f"alive, heartbeat {w.heartbeat_age:.1f}s ago"
        else:
            health = (
                f"stalled, no heartbeat for {w.heartbeat_age:.0f}s "
                f"(stalled after {w.stalled_after:g}s)"
            )
        where = f", {w.host} pid {w.pid}" if w.host else ""
        click.echo(f"  worker {w.id} {name}: {health}{where}")
    for state_name in ("running", "queued", "stalled"):
        jobs = view.of_state(state_name)
        click.echo(f"{state_name} ({len(jobs)}):")
        for job in jobs:
            click.echo(f"  {_job_line(job)}")


def _job_line(job: Any) -> str:
    since = job.since.isoformat(timespec="seconds") if job.since else "?"
    flows = f" flows {', '.join(job.flows)}" if job.flows else ""
    text = f"job {job.id} {job.integration} ({job.trigger}{flows})"
    if job.state == "queued":
        text += f" queued since {since}"
        if job.not_before is not None:
            text += f", not before {job.not_before.isoformat(timespec='seconds')}"
    else:
        worker = f"worker {job.worker_id}" if job.worker_id is not None else "a forgotten worker"
        if job.worker:
            worker += f" ({job.worker})"
        text += f" on {worker} since {since}"
    if job.attempts:
        text += f", tried {job.attempts} time(s) before"
    if job.last_run:
        run = job.last_run
        by = f" on {run['worker']}" if run.get("worker") else ""
        text += f"; last run {run['number']} {run['status']}{by}"
    return text
