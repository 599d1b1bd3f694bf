"""Reading one page ahead: the same pages in the same order, the next one fetched while this
one is handled, a fetch's error where its page would have been, nothing left running."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from integrate.engine.ahead import read_ahead


def test_the_pages_come_in_order_and_the_next_is_fetched_while_this_one_is_handled() -> None:
    fetched: list[int] = []
    second = threading.Event()

    def pages() -> Iterator[int]:
        for n in range(5):
            fetched.append(n)
            if n == 1:
                second.set()
            yield n

    got = []
    for page in read_ahead(pages()):
        if page == 0:
            # handling page 0: page 1 is fetched meanwhile, by the other thread
            assert second.wait(timeout=5)
        got.append(page)

    assert got == [0, 1, 2, 3, 4]
    assert fetched == [0, 1, 2, 3, 4]


def test_an_error_comes_out_where_its_page_would_have() -> None:
    def pages() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("page 3 broke")

    got: list[int] = []
    with pytest.raises(ValueError, match="page 3 broke"):
        got.extend(read_ahead(pages()))

    assert got == [1, 2]


def test_stopping_early_stops_the_fetching_and_closes_the_pages() -> None:
    closed = threading.Event()

    def pages() -> Iterator[int]:
        try:
            yield from range(1000)
        finally:
            closed.set()

    for page in read_ahead(pages()):
        if page == 2:
            break

    assert closed.wait(timeout=5)
    assert not [t for t in threading.enumerate() if t.name == "integrate-read-ahead"]
