"""The emulation kit's faults: refused calls take no effect; lost answers come after the
call took effect (an error instead of the answer, or the answer too late for the client).
The gauge of calls in flight, and latency that overlaps between concurrent calls."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from integrate import Answer, Faults, HttpEmulator, SystemClock

if TYPE_CHECKING:
    from werkzeug.wrappers import Request


class Notes(HttpEmulator):
    """A tiny API: POST /notes keeps a note, GET /notes lists them."""

    plugin = "notes"

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.notes: list[str] = []

    def kind_of(self, request: Request) -> str:
        return "add" if request.method == "POST" else "list"

    def route(self, request: Request) -> Answer:
        if request.method == "POST":
            self.kind(request, "add")
            self.notes.append(request.get_data(as_text=True))
            return self.json(201, {"id": len(self.notes)})
        self.kind(request, "list")
        return self.json(200, {"notes": self.notes})

    def seed(self, object: str, records: Any) -> list[Any]:
        return []

    def records(self, object: str) -> list[Any]:
        return [{"text": n} for n in self.notes]

    def change(self, object: str, id: str, values: Any) -> Any:
        raise NotImplementedError

    def connection_config(self) -> dict[str, Any]:
        return {}


def test_a_refused_call_takes_no_effect_and_answers_the_chosen_status() -> None:
    notes = Notes(faults=Faults(server_error=1.0, error_status=503))
    with httpx.Client(transport=notes.transport(), base_url="http://notes.test") as client:
        answer = client.post("/notes", content="a")

    assert answer.status_code == 503
    assert notes.notes == []
    assert notes.calls() == {"add": 1, "fault:503": 1}


def test_a_lost_answer_comes_after_the_call_took_effect_only_for_the_kinds_named() -> None:
    lost = Faults(lose_answer=1.0, error_status=502, lose_kinds=frozenset({"add"}))
    notes = Notes(faults=lost)
    with httpx.Client(transport=notes.transport(), base_url="http://notes.test") as client:
        added = client.post("/notes", content="a")
        listed = client.get("/notes")

    assert added.status_code == 502
    assert notes.notes == ["a"]  # done, though the answer says otherwise
    assert (listed.status_code, listed.json()) == (200, {"notes": ["a"]})
    assert notes.calls() == {"add": 1, "list": 1, "fault:lost": 1}


def test_an_answer_held_back_past_the_clients_timeout_is_a_read_timeout_after_the_commit() -> None:
    notes = Notes(faults=Faults(lose_answer=1.0, hang_after_commit=1.0))
    url = notes.serve()
    try:
        with (
            httpx.Client(base_url=url, timeout=0.3) as client,
            pytest.raises(httpx.ReadTimeout),
        ):
            client.post("/notes", content="a")
        assert notes.notes == ["a"]
        assert notes.calls()["fault:hang"] == 1
    finally:
        notes.close()


def test_faults_from_a_mapping_take_lists_of_kinds() -> None:
    faults = Faults.of({"lose_answer": 0.5, "lose_kinds": ["insert"], "error_status": 503})

    assert faults.lose_kinds == frozenset({"insert"})
    assert (faults.lose_answer, faults.error_status) == (0.5, 503)


def test_a_call_is_in_flight_until_the_last_piece_of_its_answer_is_handed_over() -> None:
    notes = Notes(faults=Faults(chunked=1000))  # a body of 100 pieces, read as it streams
    notes.notes.append("x" * 100_000)
    with httpx.Client(transport=notes.transport(), base_url="http://notes.test") as client:
        with client.stream("GET", "/notes") as first:
            assert first.status_code == 200
            with client.stream("GET", "/notes") as second:
                assert (notes.in_flight, notes.max_in_flight) == (2, 2)
                second.read()
            assert notes.in_flight == 1  # the second's body is written; the first's is not
            notes.reset_max_in_flight()
            assert notes.max_in_flight == 1  # the call still in flight counts after a reset
            assert len(first.read()) > 100_000
        assert notes.in_flight == 0

    assert notes.streamed == 2 * len(first.content)


def test_a_call_has_left_the_count_once_the_server_holds_the_last_piece_of_its_answer() -> None:
    # A server sends what it is handed; its client may have the whole answer, and send the
    # next call, before the server's thread runs again: that call must not count as a second.
    from werkzeug.test import EnvironBuilder

    notes = Notes()

    def start_response(status: str, headers: list[Any], exc_info: Any = None) -> Any:
        return lambda data: None

    first = iter(notes(EnvironBuilder(path="/notes").get_environ(), start_response))
    handed = next(first)  # the whole body, handed to the server to send
    second = notes(EnvironBuilder(path="/notes").get_environ(), start_response)

    assert handed == b'{"notes":[]}'
    assert notes.max_in_flight == 1
    assert b"".join(second) == handed
    assert list(first) == []
    assert (notes.in_flight, notes.max_in_flight) == (0, 1)


class Rendezvous(SystemClock):
    """The system clock, whose sleeps first wait (at most 5 s) until `parties` calls sleep
    at once: a latency waited out one call at a time breaks the barrier."""

    def __init__(self, parties: int):
        self.barrier = threading.Barrier(parties, timeout=5)

    def sleep(self, seconds: float) -> None:
        self.barrier.wait()
        super().sleep(seconds)


def test_latency_on_a_served_emulator_overlaps_between_concurrent_calls() -> None:
    clock = Rendezvous(5)
    notes = Notes(clock=clock, faults=Faults(latency=0.05))
    url = notes.serve()
    try:
        with ThreadPoolExecutor(5) as pool:
            statuses = list(pool.map(lambda _: httpx.get(f"{url}/notes").status_code, range(5)))
    finally:
        notes.close()

    assert statuses == [200] * 5
    assert not clock.barrier.broken  # all 5 calls waited out their latency at the same time
    assert notes.max_in_flight == 5
    assert notes.calls() == {"list": 5}
