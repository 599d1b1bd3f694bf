"""Running a spec: open the state store and the connectors, check the spec against what the
plugins allow, run each flow in order, and keep the run in history."""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from integrate.build import resolve_config
from integrate.connector import BadRecord, Connector, ConnectorContext
from integrate.engine.checks import check_against_plugins
from integrate.engine.context import FailureSink, RunContext
from integrate.engine.events import EventRun
from integrate.engine.lookup import LookupCache
from integrate.engine.objects import RunObjects, looked_up
from integrate.engine.plan import FAIL, QUEUE, Change, FlowStats
from integrate.engine.scratch import Scratch
from integrate.engine.stop import Interrupted, StopNow, StopRequest
from integrate.engine.sync import SyncRun
from integrate.errors import (
    IntegrateError,
    StateError,
    UsageError,
)
from integrate.functions import RunScope, run_scope
from integrate.http import Clock, SystemClock
from integrate.metacache import MetadataCache, StateEntries
from integrate.model import Spec, SyncFlow
from integrate.plugins import Plugins
from integrate.secrets import Resolver
from integrate.state import StateStore
from integrate.statedb import shown
from integrate.tokencache import StateTokenCache

if TYPE_CHECKING:
    import httpx

SUCCEEDED = "succeeded"
WITH_ERRORS = "completed_with_errors"
FAILED = "failed"
INTERRUPTED = "interrupted"  # stopped by SIGINT/SIGTERM, or its process died (marked later)


@dataclass
class RunOptions:
    dry_run: bool = False
    flows: tuple[str, ...] | None = None
    full_refresh: bool = False
    only_held: bool = False
    trigger: str = "manual"
    state_path: Path | None = None
    # a PostgreSQL state's postgresql:// URL (from --state or $INTEGRATE_STATE, never a spec):
    # it wins over state_path (docs/scaling-out.md)
    state_url: str | None = None
    worker: str = ""  # the worker running it, kept with the run (workers only)
    failures_path: Path | None = None
    # Per connection: an in-process transport (emulators) and config overrides (sandbox).
    transports: Mapping[str, httpx.BaseTransport] = field(default_factory=dict)
    configs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    resolver: Resolver | None = None
    clock: Clock = field(default_factory=SystemClock)
    observer: Callable[[Change], None] | None = None
    progress: Callable[[str, str, int], None] | None = None
    # asked to stop by a signal (see engine.stop.stopping_on_signals)
    stop: StopRequest = field(default_factory=StopRequest)


@dataclass
class RunReport:
    integration: str
    run_id: int | None
    status: str
    dry_run: bool
    flows: list[FlowStats]
    state_path: Path | str  # a file, or a database's URL as shown (its password hidden)
    failures_path: Path
    seconds: float = 0.0
    error: str = ""
    # The code of the error that stopped the run (NEEDS_REAUTH, DEADLINE, RATE_LIMITED ...).
    error_code: str = ""
    # API calls per connection (reads, writes, auth, retries, seconds waited).
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)

    @property
    def failed_records(self) -> int:
        return sum(f.total("failed") for f in self.flows)

    def as_dict(self) -> dict[str, Any]:
        return {
            "integration": self.integration,
            "run_id": self.run_id,
            "status": self.status,
            "dry_run": self.dry_run,
            "seconds": round(self.seconds, 3),
            "error": self.error,
            "error_code": self.error_code,
            "notices": self.notices,
            "calls": self.calls,
            "state": str(self.state_path),
            "failures_file": str(self.failures_path),
            "flows": [f.as_dict() for f in self.flows],
        }


class RunFailed(IntegrateError):
    """A run stopped before its end (the report says how far it got)."""

    exit_code = 1

    def __init__(self, message: str, report: RunReport):
        super().__init__(message)
        self.report = report


class RunInterrupted(RunFailed):
    """A signal stopped the run; it is recorded `interrupted` (exit 128 + the signal)."""

    def __init__(self, error: Interrupted, report: RunReport):
        super().__init__(f"the run was {error}", report)
        self.exit_code = error.exit_code


def state_dir() -> Path:
    return Path(os.environ.get("INTEGRATE_HOME", ".integrate"))


def state_path_for(spec: Spec, override: Path | None = None) -> Path:
    return override or spec.state_path or state_dir() / "state.db"


def state_location(spec: Spec, options: RunOptions) -> Path | str:
    """Where a run's state is: the database named by options, else the file."""
    return options.state_url or state_path_for(spec, options.state_path)


def failures_path_for(spec: Spec, override: Path | None = None) -> Path:
    return override or spec.failures_path or state_dir() / f"{spec.name}.failed.jsonl"


def open_connectors(
    spec: Spec, plugins: Plugins, options: RunOptions, resolver: Resolver, store: StateStore
) -> dict[str, Connector]:
    """One connector per connection, configured (secrets resolved) and wired to its transport."""
    tokens = StateTokenCache(store)
    metadata = MetadataCache(StateEntries(store), options.clock)
    return {
        alias: open_connector(spec, plugins, options, resolver, alias, tokens, metadata)
        for alias in spec.connections
    }


def open_connector(
    spec: Spec,
    plugins: Plugins,
    options: RunOptions,
    resolver: Resolver,
    alias: str,
    tokens: StateTokenCache,
    metadata: MetadataCache,
) -> Connector:
    """The connector of one connection (read-only with `dry_run`); the token and metadata
    caches are the state's, shared by the connectors of a run."""
    connection = spec.connections[alias]
    cls = plugins.connector(connection.plugin)
    if alias in options.configs:
        config: dict[str, Any] = dict(options.configs[alias])
    else:
        config = resolve_config(connection, resolver, schema=cls.config_schema)
    context = ConnectorContext(
        connection=alias,
        transport=options.transports.get(alias),
        base_dir=str(spec.path.parent),
        read_only=options.dry_run,
        clock=options.clock,
        tokens=tokens,
        # by default, shared by the connections with this plugin and this very config
        cache=metadata.account(connection.plugin, config),
        limits=connection.limits,
    )
    return cls(config, context)


def run_spec(spec: Spec, plugins: Plugins, options: RunOptions | None = None) -> RunReport:
    """Run (or, with dry_run, plan) every selected flow of a spec."""
    options = options or RunOptions()
    started = time.monotonic()
    state_path = state_location(spec, options)
    failures_path = failures_path_for(spec, options.failures_path)
    selected = _select(spec, options.flows)
    if options.dry_run:
        store = StateStore.snapshot(state_path, spec.name)
    else:
        store = StateStore(state_path, spec.name, lock=True, check=True)
    resolver = options.resolver or Resolver(base=spec.path.parent)
    connectors: dict[str, Connector] = {}
    scratch = Scratch()
    executors: dict[int, ThreadPoolExecutor] = {}  # write pools, one per connection
    sink = FailureSink(failures_path, spec.name, dry_run=options.dry_run)
    report = RunReport(
        spec.name,
        None,
        FAILED,
        options.dry_run,
        [],
        state_path if isinstance(state_path, Path) else shown(state_path),
        failures_path,
    )
    try:
        connectors = open_connectors(spec, plugins, options, resolver, store)
        ctx = RunContext(
            spec=spec,
            store=store,
            connectors=connectors,
            scratch=scratch,
            failures=sink,
            dry_run=options.dry_run,
            full_refresh=options.full_refresh,
            only_held=options.only_held,
            observer=options.observer,
            progress=options.progress,
            stop=options.stop,
        )
        # where each loaded plugin came from (distribution, version, file hash), for audits
        origins: dict[str, Any] = plugins.provenance()
        for connector in connectors.values():
            origins.setdefault(connector.plugin, {}).setdefault("version", connector.version)
        ctx.run_id = store.start_run(
            trigger=options.trigger, dry_run=options.dry_run, plugins=origins, worker=options.worker
        )
        report.run_id = ctx.run_id
        try:
            check_against_plugins(spec, ctx, selected)
        except IntegrateError as exc:
            # Refused before any record was read (a spec problem only the plugins can see,
            # credentials refused): still a run of the history, failed, with its reason.
            report.error, report.error_code = str(exc), str(getattr(exc, "code", "") or "")
            report.seconds = time.monotonic() - started
            report.calls = {alias: c.context.stats.as_dict() for alias, c in connectors.items()}
            with contextlib.suppress(StateError):
                store.finish_run(ctx.run_id, FAILED, report.as_dict(), report.error)
            raise
        # events received before the run starts are what it answers (it reads every change
        # since its cursors): marked applied when it commits, by whoever runs it
        waiting = {} if options.dry_run else store.events_waiting(selected)
        error = _run_flows(spec, ctx, selected, options, report, executors)
        if not isinstance(error, StateError):  # a state file that failed is not read again
            report.notices.extend(_notices(store, report))
        if ctx.unreadable:
            kept = "the plan" if options.dry_run else str(report.failures_path)
            report.notices.append(
                f"{ctx.unreadable} record(s) could not be read (bad data where the plugin "
                f"reads them); each is in {kept} with where it is, and is read again on the "
                "next run: fix it there"
            )
        if isinstance(error, Interrupted):
            report.status = INTERRUPTED
        elif error is not None:
            report.status = FAILED
        else:
            report.status = WITH_ERRORS if report.failed_records else SUCCEEDED
        report.error = str(error) if error is not None else ""
        report.error_code = str(getattr(error, "code", "") or "")
        report.seconds = time.monotonic() - started
        report.calls = {alias: c.context.stats.as_dict() for alias, c in connectors.items()}
        try:
            store.finish_run(ctx.run_id, report.status, report.as_dict(), report.error)
            if waiting and report.status in (SUCCEEDED, WITH_ERRORS):
                store.events_applied(waiting, ctx.run_id)
        except StateError:
            if not isinstance(error, StateError):
                raise
            # the state file's own failure is what the operator needs to hear, not this one
        if isinstance(error, Interrupted):
            raise RunInterrupted(error, report) from error
        if error is not None:
            raise RunFailed(f"the run stopped: {error}", report) from error
        return report
    except StopNow as exc:  # a second signal outside the flows (while starting or finishing)
        stopped = Interrupted(exc.signum, at_once=True)
        report.status, report.error = INTERRUPTED, str(stopped)
        if report.run_id is not None:  # else, or if this fails, the next run marks the row
            with contextlib.suppress(StateError):
                store.finish_run(report.run_id, INTERRUPTED, report.as_dict(), report.error)
        raise RunInterrupted(stopped, report) from None
    finally:
        for pool in executors.values():
            pool.shutdown(wait=True, cancel_futures=True)
        for connector in connectors.values():
            connector.close()
        sink.close()
        scratch.close()
        store.close()


def _run_flows(
    spec: Spec,
    ctx: RunContext,
    selected: list[str],
    options: RunOptions,
    report: RunReport,
    executors: dict[int, ThreadPoolExecutor],
) -> IntegrateError | None:
    """Run the selected flows in order until one fails or a signal stops the run; returns
    what stopped it. A stop asked for is honoured between flows, pages and batches."""
    # only what the flows that run look up is read in full for them
    running = [spec.flows[name] for name in selected if spec.flows[name].common.enabled]
    objects = RunObjects(ctx.scratch, looked_up(running))
    lookups = LookupCache(ctx, objects)
    linked = linked_reader(spec, ctx)
    for name in selected:
        flow = spec.flows[name]
        try:
            options.stop.check()
            if not flow.common.enabled:
                report.flows.append(FlowStats(name, disabled=True))
                continue
            runner: SyncRun | EventRun = (
                SyncRun(ctx, flow, objects, executors)
                if isinstance(flow, SyncFlow)
                else EventRun(ctx, flow, executors)
            )
            report.flows.append(runner.stats)
            lookups.unreadable = _lookup_unreadable(runner)
            scope = RunScope(linked=functools.partial(linked, current=name), lookup=lookups.lookup)
            with run_scope(scope):
                runner.run()
        except IntegrateError as exc:
            return exc
        except StopNow as exc:
            return Interrupted(exc.signum, at_once=True)
        except Exception as exc:
            # A bug: keep the traceback, but never leave the run "running" in history.
            assert ctx.run_id is not None
            report.error = f"internal error: {type(exc).__name__}: {exc}"
            report.calls = {a: c.context.stats.as_dict() for a, c in ctx.connectors.items()}
            ctx.store.finish_run(ctx.run_id, FAILED, report.as_dict(), report.error)
            raise
    return None


def _lookup_unreadable(runner: SyncRun | EventRun) -> Callable[[str, BadRecord], None]:
    """A looked-up object's unreadable record is a failure of the flow that looked it up,
    on the side named after the object ("conn.Object")."""

    def record(ref: str, bad: BadRecord) -> None:
        runner.applier.state(runner.out.unreadable(ref, None, bad))

    return record


def _select(spec: Spec, flows: tuple[str, ...] | None) -> list[str]:
    if not flows:
        return list(spec.flows)
    unknown = [f for f in flows if f not in spec.flows]
    if unknown:
        raise UsageError(f"no flow named {', '.join(unknown)} (flows: {', '.join(spec.flows)})")
    return [f for f in spec.flows if f in flows]


def linked_reader(spec: Spec, ctx: RunContext) -> Callable[..., str | None]:
    """linked(flow, id, side) for expressions: the current flow's links as they stand now,
    other flows' links (already run) from a cache."""
    cache: dict[tuple[str, str, int], str | None] = {}

    def linked(flow: str, id: Any, side: str | None, *, current: str) -> str | None:
        model = spec.flows.get(flow)
        index = 0
        if side is not None and isinstance(model, SyncFlow):
            names = [s.name for s in model.sides]
            index = names.index(side) if side in names else 0
        key = (flow, str(id), index)
        if flow == current:
            return ctx.store.linked_to(flow, index, key[1])
        if key not in cache:
            if len(cache) > 100_000:
                cache.clear()
            cache[key] = ctx.store.linked_to(flow, index, key[1])
        return cache[key]

    return linked


def _notices(store: StateStore, report: RunReport) -> list[str]:
    out = []
    queued = store.held(kinds=(QUEUE,))
    if queued:
        flows = sorted({h.flow for h in queued})
        unresolved = sum(1 for h in queued if not h.resolution)
        out.append(
            f"{unresolved} record(s) wait in the pending queue ({', '.join(flows)}): "
            "see `integrate pending list`"
        )
    failed = store.held(kinds=(FAIL,))
    if failed:
        out.append(
            f"{len(failed)} record(s) failed and will be retried on the next run; details in "
            f"{report.failures_path} and `integrate failures list`"
        )
    return out
