"""The emulation kit's pieces, as a plugin author uses them: routing, the versioned record
store and its snapshots, paging helpers, replies and refusals, save/restore of an emulator,
the token bucket; and the example emulator of docs/plugins.md, run as the docs print it."""

from __future__ import annotations

import json
import re
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from integrate import (
    Answer,
    FakeClock,
    HttpEmulator,
    PageTokenRefused,
    PageTokens,
    RecordStore,
    Refusal,
    Reply,
    Router,
    StoredRow,
    TokenBucket,
    Unsupported,
    Window,
    ascii_slug,
    page_of,
)
from integrate.errors import StateError

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
START = 1_790_000_000.0


# ---- routing --------------------------------------------------------------------------------


def test_the_first_pattern_added_that_matches_wins_and_names_take_one_segment() -> None:
    router: Router[str] = Router()
    router.add("/v1/contacts/search", "search")
    router.add("/v1/{object}/{id}", "record")
    router.add("/v1/{object}", "list")

    found = router.match("/v1/contacts/search")
    assert found is not None
    assert found.target == "search"
    found = router.match("/v1/contacts/42")
    assert found is not None
    assert (found.target, dict(found.params)) == (
        "record",
        {"object": "contacts", "id": "42"},
    )
    assert router.match("/v1/contacts/42/notes") is None
    assert router.match("/v2/contacts") is None


def test_a_last_rest_name_takes_none_or_more_segments_and_empty_segments_do_not_count() -> None:
    router: Router[str] = Router()
    router.add("/api/{more*}", "api")

    found = router.match("//api//a/b/")
    assert found is not None
    assert found.params == {"more": "a/b"}
    found = router.match("/api")
    assert found is not None
    assert found.params == {"more": ""}


@pytest.mark.parametrize("pattern", ["/a/{rest*}/b", "/a/x{y}"])
def test_a_pattern_that_is_not_one_is_refused_when_added(pattern: str) -> None:
    with pytest.raises(ValueError, match=re.escape(pattern)):
        Router[str]().add(pattern, "x")


# ---- the record store -----------------------------------------------------------------------


class People(RecordStore):
    """A vendor's store with an index of e-mail addresses and ids of its own shape."""

    def __init__(self) -> None:
        super().__init__(["people"], last_id=100)
        self.emails: dict[str, str] = {}

    def id_for(self, number: int) -> str:
        return f"P-{number}"

    def index(self, row: StoredRow) -> None:
        self.emails[row.values["email"]] = row.id

    def unindex(self, row: StoredRow) -> None:
        self.emails.pop(row.values["email"], None)

    def clear_indexes(self) -> None:
        self.emails.clear()


def test_changes_go_through_the_index_hooks_and_ids_come_in_order() -> None:
    store = People()
    ann = store.add("people", {"email": "ann@x.example"}, 1, 1)
    bob = store.add("people", {"email": "bob@x.example"}, 2, 2)
    store.replace(ann, {"email": "ann@y.example"}, 5)
    store.remove(bob)

    assert (ann.id, bob.id) == ("P-101", "P-102")
    assert store.emails == {"ann@y.example": "P-101"}
    assert store.get("people", "P-101") is ann
    assert store.get("people", "P-102") is None
    assert ann.modified == 5
    store.replace(ann, {"email": "ann@y.example"}, 3)
    assert ann.modified == 5  # a modified time never goes back


def test_what_is_kept_is_made_again_after_any_change() -> None:
    store = People()
    made: list[int] = []

    def listing() -> list[str]:
        made.append(1)
        return sorted(store.by_id)

    store.add("people", {"email": "a@x.example"}, 1, 1)
    first = store.kept("all", listing)
    again = store.kept("all", listing)
    store.add("people", {"email": "b@x.example"}, 1, 1)
    after = store.kept("all", listing)
    store.changed()
    store.kept("all", listing)

    assert first is again
    assert len(made) == 3
    assert after == ["P-101", "P-102"]


def test_a_snapshot_restores_rows_indexes_and_the_id_counter_through_json() -> None:
    store = People()
    ann = store.add("people", {"email": "ann@x.example", "name": "Ann"}, 1, 7)
    store.add("people", {"email": "bob@x.example"}, 2, 2)
    store.remove(store.by_id["P-102"])

    again = People()
    again.add("people", {"email": "stale@x.example"}, 1, 1)
    again.restore(json.loads(json.dumps(store.snapshot())))

    assert list(again.by_id) == [ann.id]
    assert (again.by_id[ann.id].values, again.by_id[ann.id].modified) == (ann.values, 7)
    assert again.emails == {"ann@x.example": ann.id}
    assert again.new_id() == "P-103"  # the deleted record's id is not handed out again


# ---- paging ---------------------------------------------------------------------------------


def test_page_of_says_whether_more_rows_follow() -> None:
    rows = list(range(5))
    assert page_of(rows, 0, 2) == ([0, 1], True)
    assert page_of(rows, 4, 2) == ([4], False)
    assert page_of(rows, 9, 2) == ([], False)


def test_a_window_reads_like_the_slice_it_stands_for() -> None:
    rows = list(range(10))
    window = Window(rows, 3, 8)
    assert (len(window), window[0], window[-1], window[1:3]) == (5, 3, 7, [4, 5])
    assert list(window) == rows[3:8]
    with pytest.raises(IndexError):
        window[5]


def test_page_tokens_are_bound_to_their_query_and_expire() -> None:
    tokens = PageTokens(seed=1, lifetime=60)
    token = tokens.issue("contacts?size=2", 2, START)

    assert tokens.redeem(token, "contacts?size=2", START + 60).offset == 2
    reasons = []
    for given, signature, now in (
        ("nope", "contacts?size=2", START),
        (token, "contacts?size=3", START),
        (token, "contacts?size=2", START + 61),
    ):
        with pytest.raises(PageTokenRefused) as refused:
            tokens.redeem(given, signature, now)
        reasons.append(refused.value.reason)
    assert reasons == ["unknown", "mismatch", "expired"]
    assert PageTokens(seed=1, lifetime=60).issue("contacts?size=2", 2, START) == token


# ---- replies, refusals and save/restore ------------------------------------------------------


class Teapot(Refusal):
    def body(self) -> Any:
        return {"fault": {"text": str(self)}}


class Kettle(HttpEmulator):
    """Answers by path: a refusal raised deep inside, a Reply of each kind, an Answer."""

    plugin = "kettle"
    saved_version = 3

    def __init__(self, *, water: int = 0, **options: Any):
        super().__init__(**options)
        self.water = water
        self.store = RecordStore(["cups"])

    def route(self, request: Request) -> Answer | Reply:
        if request.path == "/brew":
            raise Teapot(418, "short and stout", {"X-Why": "teapot"})
        if request.path == "/empty":
            return Reply(204)
        if request.path == "/raw":
            return Reply(200, raw=b"\x00\x01", content_type="application/x-kettle")
        if request.path == "/json":
            return Reply(201, {"ok": True}, headers={"X-Made": "1"})
        return self.json(200, {"water": self.water})

    def seed(self, object: str, records: Any) -> list[Any]:
        return [self.store.add(object, dict(r), 0, 0).id for r in records]

    def records(self, object: str) -> list[Any]:
        return [dict(r.values, id=r.id) for r in self.store.rows[object].values()]

    def change(self, object: str, id: str, values: Any) -> Any:
        raise NotImplementedError

    def connection_config(self) -> dict[str, Any]:
        return {}

    def saved_settings(self) -> dict[str, Any]:
        return {"water": self.water}

    def saved_parts(self) -> dict[str, Any]:
        return {"cups": self.store}


def test_a_refusal_is_answered_in_the_vendors_words_and_replies_are_encoded() -> None:
    kettle = Kettle()
    with httpx.Client(transport=kettle.transport(), base_url="http://kettle.test") as client:
        brew, empty, raw, made = (client.get(p) for p in ("/brew", "/empty", "/raw", "/json"))

    assert (brew.status_code, brew.json(), brew.headers["X-Why"]) == (
        418,
        {"fault": {"text": "short and stout"}},
        "teapot",
    )
    assert (empty.status_code, empty.content) == (204, b"")
    assert (raw.content, raw.headers["Content-Type"]) == (b"\x00\x01", "application/x-kettle")
    assert (made.status_code, made.json(), made.headers["X-Made"]) == (201, {"ok": True}, "1")
    assert [entry.status for entry in kettle.log] == [418, 204, 200, 201]


def test_save_and_restore_keep_the_settings_and_every_named_part(tmp_path: Path) -> None:
    kettle = Kettle(water=3)
    kettle.seed("cups", [{"tea": "green"}, {"tea": "black"}])
    kettle.save(tmp_path)

    again = Kettle.restore(tmp_path, {}, clock=FakeClock(START))

    assert (tmp_path / "kettle.json").is_file()
    assert again.water == 3
    assert again.records("cups") == kettle.records("cups")
    assert again.seed("cups", [{"tea": "oolong"}]) == ["3"]


def test_a_save_of_another_format_is_refused_with_what_to_do(tmp_path: Path) -> None:
    Kettle().save(tmp_path)
    saved = json.loads((tmp_path / "kettle.json").read_text())
    (tmp_path / "kettle.json").write_text(json.dumps(saved | {"version": 2}))

    with pytest.raises(StateError, match=r"another version .* --fresh"):
        Kettle.restore(tmp_path, {})


def test_an_emulator_that_names_no_parts_cannot_keep_its_data(tmp_path: Path) -> None:
    class Plain(Kettle):
        def saved_parts(self) -> dict[str, Any]:
            return {}

    with pytest.raises(Unsupported, match="cannot keep its data"):
        Plain().save(tmp_path)


# ---- small pieces ---------------------------------------------------------------------------


def test_a_token_bucket_allows_so_many_calls_a_minute_refilled_as_time_goes() -> None:
    bucket = TokenBucket(per_minute=2, now=START)
    taken = [bucket.take(START), bucket.take(START), bucket.take(START)]
    assert taken == [True, True, False]
    assert bucket.take(START + 29) is False
    assert bucket.take(START + 30) is True


def test_ascii_slug_keeps_letters_of_every_language_as_ascii() -> None:
    assert ascii_slug("Łódź Logistics") == "lodzlogistics"
    assert ascii_slug("Đà Nẵng Foods") == "danangfoods"
    assert ascii_slug("Brøndby Straße") == "brondbystrasse"
    assert ascii_slug("経理部") == ""


# ---- the example of docs/plugins.md ---------------------------------------------------------


def docs_example() -> types.ModuleType:
    """The python block of the "Writing an emulator" section, as a module."""
    section = DOCS.read_text(encoding="utf-8").split("## Writing an emulator", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    module = types.ModuleType("moon_example")
    exec(compile(code, f"{DOCS}:Writing an emulator", "exec"), module.__dict__)
    return module


def test_the_docs_example_emulator_runs_as_printed(tmp_path: Path) -> None:
    moon = docs_example()
    clock = FakeClock(START)
    emulator = moon.MoonEmulator(clock=clock, faults={"rate_limit": 1.0, "spare": ["token"]})
    http = httpx.Client(transport=emulator.transport(), base_url="https://api.moon.example")
    credentials = emulator.connection_config()
    token = http.post("/oauth/token", data={**credentials, "grant_type": "refresh_token"})
    assert token.status_code == 200
    auth = {"Authorization": f"Bearer {token.json()['access_token']}"}

    assert http.get("/v1/contacts", headers=auth).status_code == 429  # faults spare the token
    emulator.faults.rate_limit = 0.0
    anonymous = http.get("/v1/contacts")
    assert (anonymous.status_code, anonymous.json()["error"]["code"]) == (401, "unauthorised")
    for name in ("Ann", "Bob", "Cy"):
        assert http.post("/v1/contacts", json={"name": name}, headers=auth).status_code == 201
    first = http.get("/v1/contacts", headers=auth).json()
    second = http.get("/v1/contacts", params={"page": 2}, headers=auth).json()
    assert ([r["name"] for r in first["data"]], first["more"]) == (["Ann", "Bob"], True)
    assert ([r["name"] for r in second["data"]], second["more"]) == (["Cy"], False)
    assert http.get("/v1/deals", headers=auth).status_code == 404
    assert emulator.calls()["token"] == 1

    emulator.save(tmp_path)
    again = moon.MoonEmulator.restore(tmp_path, {}, clock=clock)
    assert again.records("contacts") == emulator.records("contacts")
    again_http = httpx.Client(transport=again.transport(), base_url="https://api.moon.example")
    assert again_http.get("/v1/contacts", headers=auth).status_code == 200  # still its half hour
    clock.advance(1800)
    assert again_http.get("/v1/contacts", headers=auth).status_code == 401
