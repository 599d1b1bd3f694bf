"""`integrate worker`: a Procrastinate worker that runs its specs' jobs, defers their
schedules, retries the jobs of workers that stopped sending heartbeats, and on SIGTERM or
SIGINT lets its runs stop after their batch in flight, then exits."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import psycopg
from procrastinate import App, JobContext, PsycopgConnector
from procrastinate.exceptions import ConnectorException
from procrastinate.worker import Worker

from integrate.engine.stop import SIGNALS, signal_name
from integrate.errors import StateError
from integrate.model import Spec
from integrate.plugins import Plugins
from integrate.statedb import first_line
from integrate.workers import schedules
from integrate.workers.database import Database
from integrate.workers.jobs import TASK, defer, queue_of
from integrate.workers.recovery import recover_stalled
from integrate.workers.running import Catalogue, JobRunner

log = logging.getLogger("integrate.workers")


@dataclass(frozen=True)
class WorkerSettings:
    """How a worker works: its name, how many runs at once, and after how many seconds
    without a heartbeat a worker (and the job it was running) counts as stalled."""

    name: str
    concurrency: int = 1
    stalled_after: float = 30.0

    @property
    def heartbeat(self) -> float:
        """Seconds between heartbeats: a third of the stalled timeout (10 s for 30 s)."""
        return self.stalled_after / 3

    @property
    def poll(self) -> float:
        """Seconds between looks for jobs no notification announced (a job freed by its
        lock's run ending elsewhere, a stalled job queued again)."""
        return min(5.0, self.heartbeat)


def default_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def work(
    db: Database,
    specs: Sequence[Spec],
    plugins: Plugins,
    settings: WorkerSettings,
    say: Callable[[str], None],
) -> None:
    """Run the worker until a signal stops it (returns once its runs are recorded)."""
    catalogue = Catalogue.of(specs)
    connector = PsycopgConnector(conninfo=db.url, min_size=1, max_size=settings.concurrency + 3)
    app = App(connector=connector)
    runner = JobRunner(
        plugins,
        catalogue,
        lambda name, flows: defer(app, name, "retry", flows),
        state_url=db.url,
        worker=settings.name,
    )

    def run(
        context: JobContext,
        integration: str,
        trigger: str = "enqueue",
        flows: list[str] | None = None,
        timestamp: int | None = None,  # a periodic task's moment (Procrastinate adds it)
    ) -> dict[str, Any]:
        assert context.job.id is not None
        return runner(context.job.id, integration, trigger, flows or [])

    task = app.task(name=TASK, pass_context=True)(run)
    for line in schedules.register(app, task, specs):
        say(f"schedule: {line}")
    queues = sorted({queue_of(name) for name in catalogue.paths})
    say(
        f"worker {settings.name} on {db}: {len(catalogue.paths)} integration(s), "
        f"concurrency {settings.concurrency}, stalled after {settings.stalled_after:g}s"
    )
    try:
        stopped = asyncio.run(_serve(app, connector, runner, settings, queues))
    except ConnectorException as exc:
        raise StateError(
            f"the worker stopped: {db} failed: {first_line(exc.__cause__ or exc)}"
        ) from exc
    if not stopped:
        raise StateError(
            f"the worker stopped: it lost {db} (see the lines above); its runs are queued "
            "again by the other workers once its heartbeat is stalled"
        )


async def _serve(
    app: App,
    connector: PsycopgConnector,
    runner: JobRunner,
    settings: WorkerSettings,
    queues: list[str],
) -> bool:
    """Run the worker until it stops: True when a signal stopped it, False when Procrastinate
    did (its connection to the database failed)."""
    loop = asyncio.get_running_loop()
    # Procrastinate runs a sync task in the loop's default executor: one thread per run.
    loop.set_default_executor(ThreadPoolExecutor(max_workers=settings.concurrency + 2))
    async with app.open_async():
        worker = Worker(
            app=app,
            queues=queues,
            name=settings.name,
            concurrency=settings.concurrency,
            install_signal_handlers=False,
            update_heartbeat_interval=settings.heartbeat,
            stalled_worker_timeout=settings.stalled_after,
            fetch_job_polling_interval=settings.poll,
            listen_notify=True,
        )
        signals = _Signals(worker, runner)
        for signum in SIGNALS:
            loop.add_signal_handler(signum, signals.received, signum)
        sides = [
            asyncio.create_task(_recover(connector, settings), name="integrate: stalled jobs"),
            asyncio.create_task(_introduce(app, worker, settings, queues), name="integrate: name"),
        ]
        try:
            await worker.run()  # type: ignore[no-untyped-call]
        finally:
            for side in sides:
                side.cancel()
            await asyncio.gather(*sides, return_exceptions=True)
            for signum in SIGNALS:
                loop.remove_signal_handler(signum)
    return signals.count > 0


class _Signals:
    """The first SIGTERM/SIGINT: no new job starts, the runs going stop after their batch in
    flight (recorded `interrupted`, queued again), then the worker exits 0. A second: exit
    at once, as if killed; the other workers' stalled-job recovery retries its jobs."""

    def __init__(self, worker: Worker, runner: JobRunner):
        self.worker = worker
        self.runner = runner
        self.count = 0

    def received(self, signum: int) -> None:
        self.count += 1
        name = signal_name(signum)
        if self.count == 1:
            log.warning(
                "%s: stopping; runs going stop after their batch in flight and are queued again",
                name,
            )
            self.runner.stop(signum)
            self.worker.stop()  # type: ignore[no-untyped-call]
            return
        log.warning("second %s: stopping at once; other workers retry its jobs when stalled", name)
        logging.shutdown()
        os._exit(128 + signum)


async def _introduce(app: App, worker: Worker, settings: WorkerSettings, queues: list[str]) -> None:
    """Once Procrastinate has registered the worker: its name, host and process beside it."""
    while worker.worker_id is None:
        await asyncio.sleep(0.05)
    try:
        await app.connector.execute_query_async(
            "INSERT INTO integrate_workers(worker_id, name, host, pid, integrations, stalled_after)"
            " VALUES (%(id)s, %(name)s, %(host)s, %(pid)s, %(count)s, %(stalled)s)"
            " ON CONFLICT (worker_id) DO NOTHING",
            id=worker.worker_id,
            name=settings.name,
            host=socket.gethostname(),
            pid=os.getpid(),
            count=len(queues),
            stalled=settings.stalled_after,
        )
    except ConnectorException as exc:  # it runs all the same; `integrate workers` shows no name
        log.warning("could not write the worker's name: %s", first_line(exc.__cause__ or exc))
        return
    log.info("worker %s is Procrastinate's worker %s", settings.name, worker.worker_id)


async def _recover(connector: PsycopgConnector, settings: WorkerSettings) -> None:
    """Every heartbeat: queue again the runs of workers that stopped sending heartbeats."""
    while True:
        await asyncio.sleep(settings.heartbeat)
        try:
            for line in await recover_stalled(connector.pool, settings.stalled_after):
                log.warning("%s", line)
        except psycopg.Error as exc:  # the database went away for a moment: next time
            log.warning("looking for stalled jobs failed: %s", first_line(exc))
