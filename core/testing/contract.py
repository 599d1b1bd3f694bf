"""The plugin contract: a pytest suite every connector passes against its own emulator.

Subclass `ConnectorContract` in a test module (the class name must start with `Test`) and
fill in the few methods that know your system:

    class TestAcmeContract(ConnectorContract):
        object_name = "contacts"

        def make_emulator(self, clock):
            return AcmeEmulator(clock=clock)

        def make_record(self, n):
            return {"email": f"person{n}@example.com", "name": f"Person {n}"}

        def make_invalid(self, n):
            return {"name": "no email"}          # a row Acme refuses

        def change_values(self, n):
            return {"name": f"Renamed {n}"}

pytest then runs: reading every page, an incremental read after changes, records changed
between page fetches (none may be lost), a write at the batch limit, per-record errors that
fail only their rows, ids holding `/`, `?`, `#` or `..` that name no other record (by `get` and
by an update; for HTTP emulators the request log shows no call reached another path), and —
for HTTP plugins whose emulator can do it (`supports_auth`, `supports_faults`) — recovery from
an expired token and from rate limiting, waiting at least what Retry-After asked.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, ClassVar
from urllib.parse import unquote

import pytest

from integrate.connector import GET, UPDATE, Connector, ConnectorContext, Record, WriteItem
from integrate.emulation import HttpEmulator
from integrate.emulator import Emulator
from integrate.http import FakeClock
from integrate.oauth import MemoryTokenCache
from integrate.plugins import make_plugins


class ConnectorContract(ABC):
    """The suite; see the module's docstring."""

    object_name: ClassVar[str] = ""
    # Does the system refresh tokens (an emulator with expire_tokens())?
    supports_auth: ClassVar[bool] = False
    # Is the emulator an HttpEmulator with fault injection?
    supports_faults: ClassVar[bool] = False
    # Can the object be read incrementally (a cursor at the end of a read, changes since it)?
    # A system without a modified-since filter reads in full every time: say False.
    supports_incremental: ClassVar[bool] = True
    retry_after: ClassVar[int] = 7

    # ---- what the plugin fills in -----------------------------------------------------

    @abstractmethod
    def make_emulator(self, clock: FakeClock) -> Emulator:
        """The emulator to test against, on this clock."""

    @abstractmethod
    def make_record(self, n: int) -> Record:
        """A valid new record (n makes it unique)."""

    @abstractmethod
    def make_invalid(self, n: int) -> Record:
        """A record the system refuses (a missing mandatory field, a bad value)."""

    @abstractmethod
    def change_values(self, n: int) -> Record:
        """A user's edit of a record."""

    def changed_as_read(self, n: int) -> Record:
        """How `change_values(n)` reads back (override when the connector reshapes it)."""
        return self.change_values(n)

    def connection_config(self, emulator: Emulator) -> dict[str, Any]:
        return emulator.connection_config()

    # ---- fixtures -----------------------------------------------------------------------

    @pytest.fixture
    def clock(self) -> FakeClock:
        return FakeClock()

    @pytest.fixture
    def emulator(self, clock: FakeClock) -> Iterator[Emulator]:
        emulator = self.make_emulator(clock)
        yield emulator
        emulator.close()

    @pytest.fixture
    def connector(self, emulator: Emulator, clock: FakeClock) -> Iterator[Connector]:
        connector = self.open(emulator, clock)
        yield connector
        connector.close()

    def open(self, emulator: Emulator, clock: FakeClock) -> Connector:
        cls = make_plugins().connector(emulator.plugin)
        context = ConnectorContext(
            connection="contract",
            transport=emulator.transport(),
            clock=clock,
            tokens=MemoryTokenCache(),
        )
        return cls(self.connection_config(emulator), context)

    # ---- helpers --------------------------------------------------------------------------

    def read_all(self, connector: Connector, since: Any = None) -> tuple[list[Record], Any]:
        records: list[Record] = []
        cursor = since
        for page in connector.read(self.object_name, since=since):
            records.extend(page.records)
            if page.cursor is not None:
                cursor = page.cursor
        return records, cursor

    def ids(self, connector: Connector, records: list[Record]) -> list[str]:
        field = connector.describe(self.object_name).id_field
        return [str(r[field]) for r in records]

    def seed(self, emulator: Emulator, count: int, start: int = 0) -> list[Record]:
        return emulator.seed(self.object_name, [self.make_record(start + i) for i in range(count)])

    def hostile_ids(self, victim: str, other: str) -> list[str]:
        """Ids that try to leave their place in a URL and name `victim` instead: a `/` with
        dot segments, a query, a fragment, bare dot segments, an escape already there, a
        list separator."""
        return [
            f"../{victim}",
            f"{other}/../{victim}",
            f"./{victim}",
            f"{victim}?x=1",
            f"{victim}#x",
            "..",
            ".",
            f"..%2F{victim}",
            f"{victim},{other}",
        ]

    @staticmethod
    def reached(emulator: Emulator, call: Callable[[], Any], id: str) -> tuple[Any, set[str]]:
        """What `call` returned, and the paths its requests reached ("METHOD /path", the id's
        own segment written `{id}`), from an HTTP emulator's request log (else none)."""
        log = emulator.log if isinstance(emulator, HttpEmulator) else None
        start = len(log) if log is not None else 0
        result = call()
        paths = set()
        for logged in log[start:] if log is not None else []:
            segments = logged.raw_path.split("/")
            shape = "/".join("{id}" if unquote(seg) == id else seg for seg in segments)
            paths.add(f"{logged.method} {shape}")
        return result, paths

    # ---- the contract -------------------------------------------------------------------

    def test_reads_every_page_once(self, emulator: Emulator, connector: Connector) -> None:
        size = connector.describe(self.object_name).page_size
        before = len(emulator.records(self.object_name))
        self.seed(emulator, 2 * size + 3)

        records, _cursor = self.read_all(connector)

        ids = self.ids(connector, records)
        assert len(ids) == len(set(ids)), "a record came twice"
        assert len(ids) == before + 2 * size + 3

    def test_incremental_read_returns_exactly_the_changes(
        self, emulator: Emulator, connector: Connector, clock: FakeClock
    ) -> None:
        if not self.supports_incremental:
            pytest.skip("this object is read in full every time")
        seeded = self.seed(emulator, 12)
        field = connector.describe(self.object_name).id_field
        _all, cursor = self.read_all(connector)
        assert cursor is not None, "a full read must end with a cursor"
        clock.advance(5)
        changed = {str(seeded[i][field]) for i in (1, 4, 7)}
        for i in (1, 4, 7):
            emulator.change(self.object_name, str(seeded[i][field]), self.change_values(i))

        records, _next = self.read_all(connector, since=cursor)

        assert sorted(self.ids(connector, records)) == sorted(changed)

    def test_records_changed_between_page_fetches_are_not_lost(
        self, emulator: Emulator, connector: Connector, clock: FakeClock
    ) -> None:
        """Users work while a read pages: records of a page already read are changed and a
        record is added before the next page is fetched. No record may be skipped: each is
        read (again, with its new values, when it changed) by that read or by the next
        incremental one; nothing is lost however the system's listing shifts."""
        size = connector.describe(self.object_name).page_size
        field = connector.describe(self.object_name).id_field
        for i in range(3 * size):
            self.seed(emulator, 1, start=5000 + i)
            clock.advance(1)  # one a second: a listing by modified time has an order
        latest: dict[str, Record] = {}
        changed: dict[str, int] = {}
        cursor: Any = None
        pages = connector.read(self.object_name)
        for number, page in enumerate(pages):
            latest.update({str(r[field]): r for r in page.records})
            if page.cursor is not None:
                cursor = page.cursor
            if number == 0:
                clock.advance(1)
                for k in (1, len(page.records) // 2, len(page.records) - 2):
                    rid = str(page.records[k][field])
                    emulator.change(self.object_name, rid, self.change_values(7000 + k))
                    changed[rid] = 7000 + k
                self.seed(emulator, 1, start=9000)
                clock.advance(1)
        if self.supports_incremental:
            clock.advance(5)
            for page in connector.read(self.object_name, since=cursor):
                latest.update({str(r[field]): r for r in page.records})
        else:
            # read in full every time: the next read sees what moved
            for page in connector.read(self.object_name):
                latest.update({str(r[field]): r for r in page.records})

        present = {str(r[field]) for r in emulator.records(self.object_name)}
        missing = sorted(present - set(latest))
        assert not missing, f"{len(missing)} records were never read: {missing[:5]}"
        for rid, n in changed.items():
            for key, value in self.changed_as_read(n).items():
                assert latest[rid].get(key) == value, f"record {rid} was not read after its change"

    def test_writes_a_full_batch_in_one_call(
        self, emulator: Emulator, connector: Connector
    ) -> None:
        limit = connector.describe(self.object_name).write_batch
        before = len(emulator.records(self.object_name))
        items = [WriteItem(ref=i, values=self.make_record(1000 + i)) for i in range(limit)]

        results = connector.write(self.object_name, "create", items)

        assert [r.ref for r in results] == list(range(limit))
        assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
        assert len({r.id for r in results}) == limit
        assert len(emulator.records(self.object_name)) == before + limit

    def test_a_bad_row_fails_alone(self, emulator: Emulator, connector: Connector) -> None:
        before = len(emulator.records(self.object_name))
        values = [self.make_record(2000 + i) for i in range(6)]
        values[1] = self.make_invalid(1)
        values[4] = self.make_invalid(4)
        items = [WriteItem(ref=i, values=v) for i, v in enumerate(values)]

        results = connector.write(self.object_name, "create", items)

        assert [r.ok for r in results] == [True, False, True, True, False, True]
        assert all(r.code and r.error for r in results if not r.ok)
        assert len(emulator.records(self.object_name)) == before + 4

    def test_ids_name_their_own_record_only(self, emulator: Emulator, connector: Connector) -> None:
        """`get` by an id that holds a path, a query or dot segments finds nothing, and
        reaches no path that a plain unknown id does not."""
        info = connector.describe(self.object_name)
        if not info.supports(GET):
            pytest.skip("this object is not read by id")
        obj, field = self.object_name, info.id_field
        real, victim = (str(r[field]) for r in self.seed(emulator, 2))
        hostile = self.hostile_ids(victim, real)
        unknown = "contract-no-such-id"
        self.reached(emulator, lambda: connector.get(obj, [unknown]), unknown)  # warm up
        _none, allowed = self.reached(emulator, lambda: connector.get(obj, [unknown]), unknown)

        for id in hostile:
            found, paths = self.reached(emulator, partial(connector.get, obj, [id]), id)
            assert [str(r.get(field)) for r in found] == [], f"get({id!r}) found another record"
            assert paths <= allowed, f"get({id!r}) reached {sorted(paths - allowed)}"
        both = connector.get(obj, [*hostile, real])
        assert [str(r.get(field)) for r in both] == [real]

    def test_an_update_by_a_hostile_id_fails_alone(
        self, emulator: Emulator, connector: Connector
    ) -> None:
        """Updates by such ids fail row by row; the record updated beside them changes, no
        other record does, and no call reaches another path."""
        info = connector.describe(self.object_name)
        if not info.supports(UPDATE):
            pytest.skip("this object is not updated")
        obj, field = self.object_name, info.id_field
        real, victim = (str(r[field]) for r in self.seed(emulator, 2))
        hostile = self.hostile_ids(victim, real)
        unknown = "contract-no-such-id"

        def update(ids: list[str]) -> Any:
            items = [
                WriteItem(ref=n, values=self.change_values(n), id=i) for n, i in enumerate(ids)
            ]
            return connector.write(obj, UPDATE, items)

        update([unknown])  # warm up (field lists, tokens)
        _failed, allowed = self.reached(emulator, lambda: update([unknown]), unknown)
        before = {str(r[field]): r for r in emulator.records(obj)}
        reached: set[str] = set()
        for id in hostile:
            _result, paths = self.reached(emulator, partial(update, [id]), id)
            reached |= paths - allowed

        results = update([*hostile, real])

        assert reached == set(), f"updates reached {sorted(reached)}"
        assert [r.ok for r in results] == [False] * len(hostile) + [True]
        assert all(r.code and r.error for r in results[:-1]), [r.error for r in results]
        after = {str(r[field]): r for r in emulator.records(obj)}
        assert {k: v for k, v in after.items() if k != real} == {
            k: v for k, v in before.items() if k != real
        }, "an update by a hostile id changed another record"
        assert after[real] != before[real]

    def test_an_expired_token_is_refreshed_once(
        self, emulator: Emulator, connector: Connector
    ) -> None:
        if not self.supports_auth:
            pytest.skip("this system has no tokens to expire")
        self.seed(emulator, 3)
        self.read_all(connector)
        before = emulator.calls().get("token", 0)
        expire = getattr(emulator, "expire_tokens")  # noqa: B009  (HTTP emulators with tokens have it)
        expire()

        records, _cursor = self.read_all(connector)

        assert len(records) >= 3
        assert emulator.calls().get("token", 0) == before + 1

    def test_rate_limits_are_waited_out(
        self, emulator: Emulator, connector: Connector, clock: FakeClock
    ) -> None:
        if not self.supports_faults or not isinstance(emulator, HttpEmulator):
            pytest.skip("this emulator injects no faults")
        size = connector.describe(self.object_name).page_size
        self.seed(emulator, 3 * size)
        emulator.faults.rate_limit = 0.34
        emulator.faults.retry_after = self.retry_after
        emulator.faults.spare = frozenset({"token"})

        records, _cursor = self.read_all(connector)

        assert len(records) >= 3 * size
        limited = [i for i, call in enumerate(emulator.log) if call.status == 429]
        assert limited, "the emulator answered no 429 (seeded faults)"
        for i in limited:
            after = next((c for c in emulator.log[i + 1 :] if c.path == emulator.log[i].path), None)
            assert after is not None
            assert after.at - emulator.log[i].at >= self.retry_after
