"""Reading the next page while this one is handled: a connector's pages fetched one ahead by
a thread of their own (for connectors whose `read` may run beside the run's writes), so a
page's round trip overlaps the work on the page before."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


def read_ahead(pages: Iterator[T], depth: int = 1) -> Iterator[T]:
    """The same pages, in order, with up to `depth` fetched before they are asked for. An
    error while fetching comes out where that page would have; when the consumer stops
    early, the fetching stops after the page in hand."""
    ready: queue.Queue[tuple[object, object]] = queue.Queue(maxsize=depth)
    stopped = threading.Event()

    def fetch() -> None:
        try:
            for page in pages:
                while not stopped.is_set():
                    try:
                        ready.put((None, page), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stopped.is_set():
                    return
        except BaseException as exc:  # handed to the consumer, who raises it  # noqa: BLE001
            _put(ready, stopped, (exc, None))
            return
        _put(ready, stopped, (_DONE, None))

    thread = threading.Thread(target=fetch, name="integrate-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            error, page = ready.get()
            if error is _DONE:
                return
            if isinstance(error, BaseException):
                raise error
            yield page  # type: ignore[misc]
    finally:
        stopped.set()
        close = getattr(pages, "close", None)
        thread.join(timeout=5)  # a fetch in flight ends within its call's deadline
        if close is not None and not thread.is_alive():
            close()


def _put(
    ready: queue.Queue[tuple[object, object]], stopped: threading.Event, item: tuple[object, object]
) -> None:
    while not stopped.is_set():
        try:
            ready.put(item, timeout=0.1)
            return
        except queue.Full:
            continue
