"""The task `integrate.run`: a worker runs one of its specs as `integrate run --state URL`
does (`run_spec`, on the PostgreSQL state the queue shares, the run kept in its history). A run that fails is the run's failure, in the
history; the job is still done. A run a stopping worker interrupted is queued again."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from integrate.build import load_spec
from integrate.engine.runner import RunFailed, RunInterrupted, RunOptions, RunReport, run_spec
from integrate.engine.stop import StopRequest, signal_name
from integrate.errors import IntegrateError, RunLocked, SpecError, UsageError
from integrate.model import Spec
from integrate.plugins import Plugins
from integrate.secrets import REDACTOR
from integrate.workers.jobs import Enqueued

log = logging.getLogger("integrate.workers")


def spec_files(arguments: Iterable[str]) -> list[Path]:
    """The spec files named: files as they are, folders by their `*.yaml` (sorted)."""
    found: list[Path] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            inside = sorted(p for p in path.glob("*.yaml") if p.is_file())
            if not inside:
                raise UsageError(f"{path}: no *.yaml spec in this folder")
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"{path}: no such spec file or folder")
    return found


@dataclass(frozen=True)
class Catalogue:
    """The specs a worker may run, by integration name (each loaded again for each run, so
    an edited spec takes effect at its next run)."""

    paths: Mapping[str, Path]

    @classmethod
    def of(cls, specs: Sequence[Spec]) -> Catalogue:
        paths: dict[str, Path] = {}
        for spec in specs:
            if spec.name in paths:
                raise UsageError(
                    f"{spec.path}: integration '{spec.name}' is also {paths[spec.name]}: "
                    "each integration has one spec"
                )
            paths[spec.name] = spec.path.resolve()
        return cls(paths)


def outcome(report: RunReport) -> str:
    """A run's end in one line: its number, status, time and counts."""
    totals = {c: sum(f.total(c) for f in report.flows) for c in ("read", "created", "updated")}
    text = (
        f"run {report.run_id} {report.status} in {report.seconds:.1f}s: read {totals['read']:,},"
        f" created {totals['created']:,}, updated {totals['updated']:,},"
        f" failed {report.failed_records:,}"
    )
    if report.error:
        text += f"; {report.error}"
    return REDACTOR.redact(text)


class JobRunner:
    """The task's body for one worker: runs jobs of its catalogue's integrations, each with
    a StopRequest the worker's signal handler can set (the runner stops at a safe point)."""

    def __init__(
        self,
        plugins: Plugins,
        catalogue: Catalogue,
        hand_on: Callable[[str, Sequence[str]], Enqueued],
        *,
        state_url: str,
        worker: str,
    ):
        self.plugins = plugins
        self.catalogue = catalogue
        self.state_url = state_url  # the runs' state: the queue's database
        self.worker = worker  # kept with each run in the history
        self.hand_on = hand_on  # queue the integration's run again (trigger "retry")
        self._lock = threading.Lock()
        self._stops: dict[int, StopRequest] = {}
        self._stopping: int | None = None

    def stop(self, signum: int) -> None:
        """Ask every run going to stop at its next safe point, and the next jobs not to start."""
        with self._lock:
            self._stopping = signum
            for request in self._stops.values():
                request.request(signum)

    def __call__(
        self, job_id: int, integration: str, trigger: str, flows: Sequence[str]
    ) -> dict[str, Any]:
        stop = StopRequest()
        with self._lock:
            stopping = self._stopping
            if stopping is None:
                self._stops[job_id] = stop
        if stopping is not None:
            handed = self.hand_on(integration, flows)
            log.warning(
                "job %s: %s: not started, the worker is stopping (%s); %s",
                job_id,
                integration,
                signal_name(stopping),
                handed,
            )
            return {"status": "not started", "handed_on": handed.job_id}
        try:
            return self._run(job_id, integration, trigger, flows, stop)
        finally:
            with self._lock:
                self._stops.pop(job_id, None)

    def _run(
        self,
        job_id: int,
        integration: str,
        trigger: str,
        flows: Sequence[str],
        stop: StopRequest,
    ) -> dict[str, Any]:
        where = f"job {job_id}: {integration}"
        path = self.catalogue.paths.get(integration)
        if path is None:  # its queue is this worker's: only a job made by hand lands here
            log.error("%s: not run: this worker has no spec of that integration", where)
            return {"status": "not run"}
        what = f"flows {', '.join(flows)}" if flows else "all flows"
        log.info("%s: starting (%s, %s, spec %s)", where, trigger, what, path)
        try:
            spec = load_spec(path, self.plugins, strict_env=True)
            if spec.name != integration:
                raise UsageError(f"{path} now names integration '{spec.name}'")
            options = RunOptions(
                flows=tuple(flows) or None,
                trigger=trigger,
                stop=stop,
                state_url=self.state_url,
                worker=self.worker,
            )
            report = run_spec(spec, self.plugins, options)
        except RunInterrupted as exc:
            handed = self.hand_on(integration, flows)
            log.warning("%s: %s; %s", where, outcome(exc.report), handed)
            return {"run": exc.report.run_id, "status": exc.report.status}
        except RunFailed as exc:
            log.warning("%s: %s", where, outcome(exc.report))
            return {"run": exc.report.run_id, "status": exc.report.status}
        except RunLocked as exc:
            log.warning("%s: not run: %s", where, REDACTOR.redact(str(exc)))
            return {"status": "not run"}
        except SpecError as exc:
            log.error("%s: not run: its spec has problems:\n%s", where, REDACTOR.redact(str(exc)))
            return {"status": "not run"}
        except IntegrateError as exc:
            log.error("%s: not run: %s", where, REDACTOR.redact(str(exc)))
            return {"status": "not run"}
        log.info("%s: %s", where, outcome(report))
        return {"run": report.run_id, "status": report.status}
