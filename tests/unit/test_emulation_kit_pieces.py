"""The emulation kit's pieces that came from the SALESmanago emulator, as another vendor's
emulator would use them: seeded UUID ids, the records of a time window, asynchronous jobs and
their files, a rate limit stated per second, and what an attacker sends (a body over the cap,
broken or deeply nested JSON, numbers past 64 bits, megabyte values quoted back, addresses
that are no e-mail addresses)."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterable

import orjson
import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from integrate import (
    BodyRefused,
    Jobs,
    RecordStore,
    StoredRow,
    TokenBucket,
    int64,
    json_object,
    quoted,
    seeded_uuid,
    valid_email,
)

START = 1_790_000_000.0


# ---- ids and time windows -------------------------------------------------------------------


class Uuids(RecordStore):
    """A vendor whose ids are UUIDs, the same for the same seed."""

    def __init__(self, seed: int) -> None:
        super().__init__(["deals"])
        self.seed = seed

    def id_for(self, number: int) -> str:
        return seeded_uuid(f"moon:{self.seed}:{number}")


def made(seed: int, count: int = 3) -> list[str]:
    store = Uuids(seed)
    return [store.add("deals", {}, 1, 1).id for _ in range(count)]


def test_seeded_uuids_are_version_4_uuids_the_same_for_the_same_seed() -> None:
    ids = made(7)

    assert all(uuid.UUID(i).version == 4 and str(uuid.UUID(i)) == i for i in ids)
    assert len(set(ids)) == 3
    assert made(7) == ids
    assert set(ids).isdisjoint(made(8))


def window_store() -> tuple[RecordStore, dict[str, str]]:
    """Five deals: (created, modified) times, two sharing a modified time."""
    store = RecordStore(["deals"])
    names = {}
    for name, created, modified in [
        ("a", 10, 50),
        ("b", 20, 30),
        ("c", 30, 30),
        ("d", 40, 70),
        ("e", 50, 60),
    ]:
        names[store.add("deals", {"name": name}, created, modified).id] = name
    return store, names


def test_a_time_window_holds_the_rows_changed_within_it_both_ends_included_in_time_order() -> None:
    store, names = window_store()

    def shown(rows: Iterable[StoredRow]) -> list[str]:
        return [names[r.id] for r in rows]

    assert shown(store.between("deals", 30, 60)) == ["b", "c", "a", "e"]  # b, c share 30: by id
    assert shown(store.between("deals", 31, 59)) == ["a"]
    assert shown(store.between("deals", None, 30)) == ["b", "c"]
    assert shown(store.between("deals", 61)) == ["d"]
    assert shown(store.between("deals", 20, 40, created=True)) == ["b", "c", "d"]
    assert shown(store.between("deals", 60, 30)) == []  # an end before the start: nothing
    assert len(store.between("deals", 60, 30)) == 0


def test_a_time_window_follows_changes_to_the_rows() -> None:
    store, names = window_store()
    before = [names[r.id] for r in store.between("deals")]
    a = next(r for r in store.rows["deals"].values() if r.values["name"] == "a")

    store.replace(a, {"name": "a"}, 80)
    store.remove(next(r for r in store.rows["deals"].values() if r.values["name"] == "d"))

    assert before == ["b", "c", "a", "e", "d"]
    assert [names[r.id] for r in store.between("deals")] == ["b", "c", "e", "a"]
    assert [names[r.id] for r in store.between("deals", 75)] == ["a"]


# ---- jobs -----------------------------------------------------------------------------------


def test_a_job_is_polled_by_its_id_and_its_file_fetched_by_its_token() -> None:
    jobs = Jobs("moon-jobs:1")
    job = jobs.start()
    running = jobs.result(job)
    token = jobs.keep([{"id": 1}])
    jobs.finish(job, {"file": token})

    assert running is None
    assert job in jobs
    assert jobs.result(job) == {"file": token}
    assert jobs.file(token) == [{"id": 1}]
    assert jobs.result("never-started") is None
    assert "never-started" not in jobs
    assert jobs.file(job) is None  # a job's id names no file
    assert job != token
    assert all(len(t) == 32 for t in (job, token))


def test_jobs_hand_out_the_same_ids_for_the_same_seed() -> None:
    def ids(seed: str) -> list[str]:
        jobs = Jobs(seed)
        return [jobs.start(), jobs.keep("x"), jobs.start()]

    assert ids("a") == ids("a")
    assert set(ids("a")).isdisjoint(ids("b"))


# ---- a rate limit stated per second ---------------------------------------------------------


def test_a_limit_of_so_many_calls_a_second_holds_no_more_than_a_seconds_calls_at_once() -> None:
    bucket = TokenBucket.every(4, 1, 0.0)  # 4 a second; times in binary fractions, exact

    burst = [bucket.take(0.0) for _ in range(5)]
    assert burst == [True, True, True, True, False]  # not the 240 of a minute
    assert bucket.take(0.125) is False  # half a call's token back
    assert [bucket.take(0.5) for _ in range(3)] == [True, True, False]
    assert [bucket.take(100.0) for _ in range(5)].count(True) == 4  # never more than 4


# ---- what an attacker sends -----------------------------------------------------------------


def request(body: bytes) -> Request:
    return Request(EnvironBuilder(method="POST", data=body).get_environ())


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"a": "' + b"x" * 200 + b'"}', "too_large"),
        (b"{", "malformed"),
        (b"\xff\xfe\x00", "malformed"),
        (b"[" * 100_000 + b"]" * 100_000, "too_large"),
        (b"", "malformed"),
        (b"[1, 2]", "not_object"),
        (b'"text"', "not_object"),
    ],
    ids=["over-the-cap", "broken", "not-unicode", "deep-and-big", "empty", "a-list", "a-string"],
)
def test_a_body_the_emulator_does_not_read_is_refused_with_its_reason(
    body: bytes, reason: str
) -> None:
    with pytest.raises(BodyRefused) as refused:
        json_object(request(body), max_bytes=100)
    assert refused.value.reason == reason


def test_json_nested_too_deep_to_parse_is_malformed_not_a_crash() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(BodyRefused) as refused:
        json_object(request(b'{"a": ' + deep + b"}"), max_bytes=1_000_000)
    assert refused.value.reason == "malformed"


def test_a_json_object_under_the_cap_is_read_whole() -> None:
    body = {"name": "Zoë", "n": 1, "deep": {"list": [1, 2]}}
    data = json.dumps(body).encode()

    assert json_object(request(data), max_bytes=len(data)) == body
    assert math.isnan(json_object(request(b'{"x": NaN}'), max_bytes=100)["x"])


@pytest.mark.parametrize(
    ("value", "number"),
    [
        (12, 12),
        ("12", 12),
        (" -7 ", -7),
        (1.9, 1),
        (2**63 - 1, 2**63 - 1),
        (-(2**63), -(2**63)),
        (2**63, None),
        (-(2**63) - 1, None),
        (10**30, None),
        (float("nan"), None),
        (float("inf"), None),
        ("1" * 21, None),
        ("9" * 5000, None),
        ("abc", None),
        (True, None),
        (None, None),
        ([1], None),
    ],
)
def test_int64_gives_a_whole_number_only_when_an_answer_can_carry_it(
    value: object, number: int | None
) -> None:
    found = int64(value)

    assert found == number
    if found is not None:
        assert orjson.loads(orjson.dumps({"n": found})) == {"n": number}  # answerable


def test_a_hostile_value_is_quoted_back_short() -> None:
    assert quoted("short") == "short"
    assert quoted("x" * 80) == "x" * 80
    assert quoted("x" * 1_000_000) == "x" * 80 + "..."
    assert quoted("y" * 30, limit=10) == "y" * 10 + "..."
    assert quoted({"a": 1}) == "{'a': 1}"
    assert quoted(list(range(10_000))).endswith("...")


@pytest.mark.parametrize(
    "address",
    [
        "jane.doe@acme.example",
        "o'brien+tag@mail.example.co.uk",
        "a" * 64 + "@x.example",
        "a@" + "b" * 249 + ".pl",  # 254 characters in all
    ],
)
def test_valid_email_takes_rfc_style_addresses(address: str) -> None:
    assert valid_email(address) is True


@pytest.mark.parametrize(
    "address",
    [
        "a" * 65 + "@x.example",  # 65 characters before the @
        "a@" + "b" * 250 + ".pl",  # 255 in all
        "no-at-sign.example",
        "two@@x.example",
        "nodomain@localhost",
        "space in@x.example",
        ".dot@x.example",
        "zoë@x.example",
        "",
        None,
        42,
    ],
)
def test_valid_email_refuses_what_is_no_address(address: object) -> None:
    assert valid_email(address) is False
