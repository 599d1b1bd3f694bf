"""Delivering watch callbacks (§9): each channel's callbacks POSTed to its notify_url in
order, retried on a failing receiver, dropped once the channel is gone. The emulator's own
safety rule (not Zoho's): it only ever sends to loopback hosts."""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

log = logging.getLogger(__name__)

# Zoho does not document its retries (§9 "[unverified]"). ASSUMED: again after 1 s, 5 s,
# 30 s and 2 min, then the callback is dropped (and logged).
RETRY_DELAYS: tuple[float, ...] = (1.0, 5.0, 30.0, 120.0)
TIMEOUT = 5.0  # seconds a receiver has to answer one POST
POLL = 0.02  # seconds the served emulator's delivery thread waits between looks


def is_loopback(url: str) -> bool:
    """Whether `url`'s host is a loopback one: `localhost`, 127.0.0.0/8 or ::1. Names other
    than `localhost` are not resolved (that would itself be traffic)."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def where(url: str) -> str:
    """A notify_url without its query (which may hold a receiver's secret), for logs."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


@dataclass(frozen=True)
class RetryPolicy:
    """How a failing receiver is retried: the delays after each failed attempt (so
    `len(delays) + 1` attempts in all) and how long one attempt may take."""

    delays: tuple[float, ...] = RETRY_DELAYS
    timeout: float = TIMEOUT

    @classmethod
    def of(cls, delays: Sequence[float] | None, timeout: float | None) -> RetryPolicy:
        policy = cls(
            tuple(float(d) for d in (RETRY_DELAYS if delays is None else delays)),
            TIMEOUT if timeout is None else float(timeout),
        )
        if any(d < 0 for d in policy.delays) or not 0 < policy.timeout <= 60:
            raise ValueError(
                "callback_retries are delays in seconds (>= 0) and callback_timeout is "
                f"0-60 seconds, not {delays!r} and {timeout!r}"
            )
        return policy


@dataclass
class Pending:
    """One callback waiting to go out: its body (the same bytes on every attempt)."""

    channel_id: str
    url: str
    body: bytes
    due: float
    attempts: int = 0


class Outbox:
    """Callbacks per channel, delivered in order: a channel's next callback waits until the
    one before it is delivered or dropped. `deliver_due()` sends what is due now (tests pump
    it on a fake clock); `start()` runs it in a thread of its own (the served emulator)."""

    def __init__(
        self,
        now: Callable[[], float],
        live: Callable[[str, str], bool],
        policy: RetryPolicy | None = None,
    ):
        self.now = now
        self.live = live  # (channel id, notify_url) -> may this channel still be sent to?
        self.policy = policy or RetryPolicy()
        self.queues: dict[str, deque[Pending]] = {}
        self._lock = threading.Lock()  # the queues (held briefly, never across a POST)
        self._sending = threading.Lock()  # one deliverer at a time keeps each channel's order
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def put(self, channel_id: str, url: str, body: bytes) -> None:
        with self._lock:
            queue = self.queues.setdefault(channel_id, deque())
            queue.append(Pending(channel_id, url, body, self.now()))
        self._wake.set()

    def pending(self) -> int:
        """Callbacks not yet delivered nor dropped."""
        with self._lock:
            return sum(len(q) for q in self.queues.values())

    def next_due(self) -> float | None:
        """When the earliest waiting callback is due (None: nothing waits)."""
        with self._lock:
            heads = [q[0].due for q in self.queues.values() if q]
        return min(heads) if heads else None

    def deliver_due(self) -> int:
        """POST every callback due by now, each channel in order; the number delivered."""
        due = self.next_due()
        if due is None or due > self.now():
            return 0
        delivered = 0
        with self._sending, httpx.Client(timeout=self.policy.timeout, trust_env=False) as http:
            with self._lock:
                channels = list(self.queues)
            for channel_id in channels:
                while True:
                    with self._lock:
                        queue = self.queues.get(channel_id)
                        head = queue[0] if queue else None
                    if head is None or head.due > self.now():
                        break
                    if not self.live(channel_id, head.url) or not is_loopback(head.url):
                        self._drop(head, "the channel has expired or was disabled")
                        continue
                    failure = self._post(http, head)
                    if failure is None:
                        delivered += 1
                        self._pop(head)
                        continue
                    head.attempts += 1
                    if head.attempts > len(self.policy.delays):
                        self._drop(head, f"{head.attempts} attempts failed, the last: {failure}")
                        continue
                    head.due = self.now() + self.policy.delays[head.attempts - 1]
                    break
            with self._lock:
                for channel_id in [c for c, q in self.queues.items() if not q]:
                    del self.queues[channel_id]
        return delivered

    def _post(self, http: httpx.Client, pending: Pending) -> str | None:
        """One attempt; None when the receiver answered 2xx, else what went wrong."""
        try:
            answer = http.post(
                pending.url,
                content=pending.body,
                headers={"Content-Type": "application/json"},
            )
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}"
        if 200 <= answer.status_code < 300:
            return None
        return f"HTTP {answer.status_code}"

    def _pop(self, pending: Pending) -> None:
        with self._lock:
            queue = self.queues.get(pending.channel_id)
            if queue and queue[0] is pending:
                queue.popleft()

    def _drop(self, pending: Pending, why: str) -> None:
        log.warning(
            "Zoho CRM emulator: a watch callback for channel %s to %s was dropped: %s",
            pending.channel_id,
            where(pending.url),
            why,
        )
        self._pop(pending)

    # ---- the served emulator's delivery thread -------------------------------------------

    def start(self, name: str) -> None:
        """Deliver in a daemon thread until `stop()`: what is due goes out on its own."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.policy.timeout + 1)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(POLL)
            self._wake.clear()
            if self._stop.is_set():
                return
            due = self.next_due()
            if due is not None and due <= self.now():
                try:
                    self.deliver_due()
                except Exception:  # a bug here must not end deliveries silently
                    log.exception("Zoho CRM emulator: delivering watch callbacks failed")
