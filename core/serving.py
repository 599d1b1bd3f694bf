"""What `integrate serve` adds to its schedules for webhooks: the receiver on a loopback port
(or, asked for, another address with a shared secret), the channels it keeps, the catch-up
run on start, and a flow whose events a run left pending run again soon (the run itself marks
them applied when it commits: run_spec, whoever runs it)."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Sequence
from typing import Any

from integrate.channels import DEFAULT_LIFETIME, Channels, Hook, hooks
from integrate.clock import Clock, utc_iso
from integrate.engine.runner import SUCCEEDED, WITH_ERRORS, RunOptions, RunReport, state_location
from integrate.errors import UsageError
from integrate.ledger import PENDING, EventLedger
from integrate.model import Spec
from integrate.plugins import Plugins
from integrate.receiver import Inbox, Listener, Receiver
from integrate.schedule import Due

log = logging.getLogger("integrate.serve")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8470
SECRET_VARIABLE = "INTEGRATE_SERVE_SECRET"
LEAST_SECRET = 32
RETRY = 60.0  # seconds before a webhook flow whose run did not commit is run again
RETRY_MOST = 900.0  # the longest such wait (it doubles each time)


def loopback(host: str) -> bool:
    """Whether `host` is a loopback address (or `localhost`)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_secret(host: str, allow_remote: bool, secret: str | None) -> str | None:
    """The secret every non-webhook path needs: none on loopback; off it, `--allow-remote`
    and a secret of at least 32 characters, else a UsageError saying what to do."""
    if loopback(host):
        return None
    if not allow_remote:
        raise UsageError(
            f"--host {host} is not a loopback address: serve listens on the network only with "
            f"--allow-remote and a shared secret in {SECRET_VARIABLE} (at least "
            f"{LEAST_SECRET} characters)"
        )
    if not secret or len(secret) < LEAST_SECRET:
        raise UsageError(
            f"--allow-remote needs a shared secret in {SECRET_VARIABLE}, at least "
            f"{LEAST_SECRET} characters (every path but the webhooks asks for it as a "
            "bearer token)"
        )
    return secret


class Serving:
    """The webhook side of serve for these specs: start() listens and keeps the channels;
    run() wraps a run so that a flow whose events it left pending is tried again soon."""

    def __init__(
        self,
        specs: Sequence[Spec],
        plugins: Plugins,
        options_for: Callable[[Spec], RunOptions],
        clock: Clock,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        public_url: str | None = None,
        secret: str | None = None,
        lifetime: float = DEFAULT_LIFETIME,
        channels: bool = True,
        pages: Callable[..., Any] | None = None,
    ):
        self.specs = list(specs)
        self.clock = clock
        self.hooks: list[Hook] = [h for spec in specs for h in hooks(spec, plugins)]
        self.ledgers: dict[str, EventLedger] = {}
        for spec in specs:
            location = state_location(spec, options_for(spec))
            self.ledgers[spec.name] = EventLedger(location, spec.name)
        self.inbox = Inbox(clock)
        receiver = Receiver(
            self.hooks,
            self.ledgers,
            self.inbox,
            clock,
            secret=secret,
            health=self.health,
            pages=pages,
        )
        self.listener = Listener(receiver, host, port)
        where = f"[{host}]" if ":" in host else host
        self.public_url = (public_url or f"http://{where}:{self.listener.port}").rstrip("/")
        self.channels = Channels(
            self.hooks if channels else [],
            self.ledgers,
            options_for,
            clock,
            self.public_url,
            plugins,
            lifetime,
        )

        # (integration, flow) → when its pending events are tried again, and the wait before
        self.retries: dict[tuple[str, str], float] = {}
        self.backoff: dict[tuple[str, str], float] = {}

    def start(self) -> list[str]:
        """Listen, then subscribe or renew the channels; what was done, a line each."""
        self.listener.start()
        return self.channels.upkeep()

    def stop(self) -> None:
        """Stop listening (calls being answered finish); the ledgers are closed."""
        self.inbox.stop()
        self.listener.stop()
        for ledger in self.ledgers.values():
            ledger.close()

    def catch_up(self, spec: Spec) -> tuple[str, ...]:
        """The spec's webhook flows, run once on start to find what came while serve was
        down (their notifications were lost, the records were not)."""
        return tuple(h.flow for h in self.hooks if h.spec.name == spec.name)

    def run(self, due: Due, execute: Callable[[Due], RunReport | None]) -> RunReport | None:
        """Run `due` with `execute`. A run that commits (succeeded, or completed with record
        errors that are retried as usual) has marked the events its flows had waiting when it
        started applied (run_spec does, whoever runs it); a run that fails or is stopped leaves
        them pending, and its webhook flows that have some are tried again after a backoff."""
        ledger = self.ledgers.get(due.spec.name)
        hooked = {h.flow for h in self.hooks if h.spec.name == due.spec.name}
        report = execute(due)
        if ledger is None or (report is not None and report.dry_run):
            return report
        committed = report is not None and report.status in (SUCCEEDED, WITH_ERRORS)
        for flow in (f for f in due.flows if f in hooked):
            key = (due.spec.name, flow)
            if committed:
                self.retries.pop(key, None)
                self.backoff.pop(key, None)
            elif ledger.pending(flow)[0]:
                # not applied: the flow is run again later, sooner than its next call may come
                wait = min(2 * self.backoff[key], RETRY_MOST) if key in self.backoff else RETRY
                self.backoff[key] = wait
                self.retries[key] = self.clock.now() + wait
        return report

    def next_at(self) -> float | None:
        """When the loop has a chore: a channel to renew, or a flow whose events wait for a
        run that failed to be tried again."""
        moments = list(self.retries.values())
        renew = self.channels.next_at()
        if renew is not None:
            moments.append(renew)
        return min(moments) if moments else None

    def upkeep(self) -> list[str]:
        """Renew what needs it; wake the flows whose retry is due (their events still wait)."""
        now = self.clock.now()
        for key, at in list(self.retries.items()):
            if at <= now:
                del self.retries[key]  # its run says whether it is tried again
                self.inbox.put(*key)
        return self.channels.upkeep()

    def health(self) -> dict[str, Any]:
        """The health page: status, and per spec its last run and per webhook flow the events
        pending and the channel's expiry. No tokens, ids or URLs with secrets."""
        specs = []
        for spec in self.specs:
            ledger = self.ledgers[spec.name]
            counts = ledger.counts()
            flows = {}
            for hook in self.hooks:
                if hook.spec.name != spec.name:
                    continue
                kept = ledger.channel(hook.flow)
                flows[hook.flow] = {
                    "last_completed": ledger.completed_at(hook.flow),
                    "pending_events": counts.get(hook.flow, {}).get(PENDING, 0),
                    "channel_expires": utc_iso(kept.channel.expires) if kept else None,
                }
            specs.append({"integration": spec.name, "last_run": ledger.last_run(), "flows": flows})
        return {"status": "ok", "specs": specs}


__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "SECRET_VARIABLE",
    "Serving",
    "bind_secret",
    "loopback",
]
