"""`integrate serve`: run specs' flows when their schedules fall due, when a watched side
changed, and when a webhook (a vendor's notification) says a source changed."""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import click

from integrate.cli import _guard, _plugins, _spec, main, state_option, state_options
from integrate.errors import IntegrateError, UsageError
from integrate.secrets import REDACTOR

log = logging.getLogger("integrate.serve")


@main.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--sandbox", is_flag=True, help="Run against the plugins' emulators (demo data).")
@state_option()
@click.option("--run-now", is_flag=True, help="Run every scheduled or watched flow once at start.")
@click.option(
    "--max-runs", type=int, help="Stop after this many runs (default: serve until stopped)."
)
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address the webhook receiver binds."
)
@click.option(
    "--port", default=8470, show_default=True, help="Its port (0: any free port, printed)."
)
@click.option("--public-url", help="URL vendors call back (default: http://HOST:PORT, as bound).")
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Allow a non-loopback --host (needs INTEGRATE_SERVE_SECRET, 32+ characters).",
)
@click.option(
    "--queue",
    is_flag=True,
    help="Queue runs for `integrate worker`s instead of running them here (needs a PostgreSQL "
    "--state); schedules are left to the workers.",
)
@click.option(
    "--channel-lifetime",
    default="24h",
    show_default=True,
    help="How long a notification channel lives before renewal (capped by the vendor's).",
)
@_guard
def serve(
    specs: tuple[str, ...],
    sandbox: bool,
    state: str | None,
    run_now: bool,
    max_runs: int | None,
    host: str,
    port: int,
    public_url: str | None,
    allow_remote: bool,
    queue: bool,
    channel_lifetime: str,
) -> None:
    """Run specs' flows whenever their schedules fall due, whenever a watched side changed
    (a flow's `watch:`), and whenever a webhook arrives for an event flow with `triggers:
    [webhook]`, until stopped (Ctrl-C or SIGTERM: the run going stops at its next safe point).

    Each run prints its summary, as `integrate run` does. A run that fails is reported and
    serving goes on; a run that finds another still going (the state's run lock) is skipped.
    Webhook flows run once at start (catch-up), then on each webhook and on their schedule.

    With --queue (a PostgreSQL --state), each of those runs is queued for the workers
    (`integrate worker`) instead, and the schedules are theirs (docs/scaling-out.md).
    """
    from integrate.channels import hooks
    from integrate.cli.page import Pages, ui_token
    from integrate.clock import SystemClock
    from integrate.engine.stop import StopNow
    from integrate.receiver import Inbox
    from integrate.schedule import Due, schedules, watches
    from integrate.schedule import duration as parse_duration
    from integrate.schedule import serve as serve_loop
    from integrate.serving import SECRET_VARIABLE, Serving, bind_secret

    if max_runs is not None and max_runs < 1:
        raise UsageError("--max-runs must be at least 1")
    if not 0 <= port <= 65535:
        raise UsageError("--port must be 0 (any free port) to 65535")
    try:
        lifetime = parse_duration(channel_lifetime)
    except ValueError as exc:
        raise UsageError(f"--channel-lifetime: {exc}") from None
    secret = bind_secret(host, allow_remote, os.environ.get(SECRET_VARIABLE))
    # the database checked here, touched only once every spec is known good (as a worker does)
    queue_db = _Queue.database(state, sandbox) if queue else None
    plugins = _plugins()
    loaded = [_spec(path, plugins, strict_env=not sandbox) for path in specs]
    for spec in loaded:
        if not schedules(spec) and not watches(spec) and not hooks(spec, plugins):
            raise UsageError(
                f"{spec.path}: no schedule to serve (set `schedule:` on the spec or on a flow, "
                "`watch:` on a flow, or `triggers: [webhook]` on an event flow whose source plugin "
                "sends notifications)"
            )
    queued = _Queue.opened(queue_db) if queue_db is not None else None
    token = ui_token()
    pages = Pages(loaded, plugins, token, sandbox=sandbox, state=state) if token else None
    clock = SystemClock()
    stop = _Stop()
    serving: Serving | None = None
    webhooks = any(hooks(spec, plugins) for spec in loaded)
    if webhooks or pages is not None:
        serving = Serving(
            loaded,
            plugins,
            lambda spec: _options(spec, state, sandbox),
            clock,
            host=host,
            port=port,
            public_url=public_url,
            secret=secret,
            lifetime=lifetime,
            channels=not sandbox,
            pages=pages,
        )
    inbox = serving.inbox if serving is not None else Inbox(clock)
    made = 0
    failing: dict[tuple[str, str, str], str] = {}  # the last error of each watch, said once

    def execute(due: Due) -> Any:
        return _run_due(due, plugins, sandbox, state, stop)

    def run(due: Due) -> None:
        click.echo(f"— {due}")
        if queued is not None:
            queued.defer(due)  # the worker's run marks the ledger's events applied
        elif serving is not None:
            serving.run(due, execute)
        else:
            execute(due)

    def look(watch: Any) -> str:
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

    with stop.on_signals(inbox):
        try:
            if serving is not None:
                for line in serving.start():
                    click.echo(REDACTOR.redact(line), err=True)
                if webhooks:
                    click.echo(f"receiving webhooks on {serving.public_url}", err=True)
                if pages is not None:
                    listener = serving.listener
                    where = f"[{listener.host}]" if ":" in listener.host else listener.host
                    click.echo(f"operator page on http://{where}:{listener.port}/ui/", err=True)
            now = dt.datetime.now(dt.UTC)
            for spec in loaded:
                if (max_runs is not None and made >= max_runs) or stop.signum is not None:
                    break
                listed: set[str] = set()
                if run_now:
                    listed = {f for group in schedules(spec).values() for f in group}
                    listed |= {w.flow for w in watches(spec)}
                catch_up = set(serving.catch_up(spec)) if serving is not None else set()
                flows = tuple(f for f in spec.flows if f in listed | catch_up)
                if flows:
                    trigger = "poll" if not listed else ""
                    run(Due(now, spec, flows, trigger=trigger))
                    made += 1
            left = None if max_runs is None else max_runs - made
            if (left is None or left > 0) and stop.signum is None:
                click.echo(f"serving {len(loaded)} spec(s); Ctrl-C stops", err=True)
                serve_loop(
                    loaded,
                    run,
                    clock,
                    max_runs=left,
                    look=look,
                    woken=inbox,
                    chores=serving,
                    run_schedules=queued is None,
                )
        except StopNow:
            pass  # a second signal while no run was going: stopped all the same
        finally:
            if serving is not None:
                serving.stop()
            if queued is not None:
                queued.close()
    if stop.signum is not None:
        click.echo("stopped", err=True)


class _Queue:
    """serve --queue: runs queued for the workers (Procrastinate, in the state's database)."""

    def __init__(self, app: Any):
        self.app = app

    @staticmethod
    def database(state: str | None, sandbox: bool) -> Any:
        """The workers' database --state names (a UsageError, exit 2, if it names none)."""
        if sandbox:
            raise UsageError(
                "--queue and --sandbox do not go together: workers need a PostgreSQL --state"
            )
        from integrate.workers.database import database

        return database(state)

    @classmethod
    def opened(cls, db: Any) -> _Queue:
        """The queue in that database, its tables made when missing."""
        from procrastinate import App, SyncPsycopgConnector

        from integrate.workers.database import prepare

        prepare(db)
        app = App(connector=SyncPsycopgConnector(conninfo=db.url, min_size=1, max_size=2))
        app.open()
        return cls(app)

    def defer(self, due: Any) -> None:
        from integrate.workers.jobs import defer

        trigger = due.trigger or ("watch" if due.reason else "schedule")
        click.echo(str(defer(self.app, due.spec.name, trigger, due.flows)))

    def close(self) -> None:
        self.app.close()


class _Stop:
    """The stop serve was asked for: the first SIGINT/SIGTERM stops the loop and asks the run
    going to stop at its next safe point; a second stops that run at once."""

    def __init__(self) -> None:
        from integrate.engine.stop import StopRequest

        self.request = StopRequest()

    @property
    def signum(self) -> int | None:
        return self.request.signum

    @contextmanager
    def on_signals(self, inbox: Any) -> Iterator[None]:
        from integrate.engine.stop import SIGNALS, StopNow

        def handler(signum: int, _frame: FrameType | None) -> None:
            if self.request.signum is None:
                self.request.request(signum)
                inbox.stop()
            elif not self.request.at_once:
                self.request.at_once = True
                raise StopNow(signum)

        previous = {signum: signal.signal(signum, handler) for signum in SIGNALS}
        try:
            yield
        finally:
            for signum, old in previous.items():
                signal.signal(signum, old)


def _options(spec: Any, state: str | None, sandbox: bool) -> Any:
    """Where a spec's state is (the sandbox's own with --sandbox), for the event ledger."""
    from integrate.engine import RunOptions

    if sandbox:
        from integrate.sandbox import sandbox_state

        return RunOptions(state_path=sandbox_state(spec))
    return RunOptions(**state_options(state))


def _look(watch: Any, plugins: Any, sandbox: bool, state: str | None) -> Any:
    """What the watch finds on its side (read only; the sandbox's emulators with --sandbox)."""
    from integrate.engine.watch import look

    return _within(
        watch.spec,
        plugins,
        sandbox,
        state,
        lambda options: look(watch.spec, plugins, watch.flow, watch.side, options),
    )


def _within(
    spec: Any,
    plugins: Any,
    sandbox: bool,
    state: str | None,
    work: Callable[[Any], Any],
    **settings: Any,
) -> Any:
    """`work(options)` with a spec's run options: the sandbox's emulators and state with
    --sandbox, else the spec's systems and the --state file."""
    from integrate.engine import RunOptions

    if sandbox:
        from integrate.sandbox import sandboxed

        with sandboxed(spec, plugins, **settings) as options:
            return work(options)
    return work(RunOptions(**state_options(state), **settings))


def _run_due(due: Any, plugins: Any, sandbox: bool, state: str | None, stop: _Stop) -> Any:
    """Run what fell due and print its summary; the report when the run ended (None when
    it was not made)."""
    from integrate.engine import RunFailed, run_spec
    from integrate.render import console, print_report

    settings: dict[str, Any] = {
        "flows": due.flows,
        "trigger": due.trigger or ("watch" if due.reason else "schedule"),
        "stop": stop.request,
    }
    try:
        report = _within(
            due.spec,
            plugins,
            sandbox,
            state,
            lambda options: run_spec(due.spec, plugins, options),
            **settings,
        )
    except RunFailed as exc:
        print_report(exc.report, console())
        click.echo(REDACTOR.redact(str(exc)), err=True)
        return exc.report
    except IntegrateError as exc:
        click.echo(f"{due.spec.name}: run not made: {REDACTOR.redact(str(exc))}", err=True)
        return None
    print_report(report, console())
    return report
