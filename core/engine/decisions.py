"""Values the sync engine passes along: a record in flight (`Item`) and what was decided
for it (`Decision`). Classification turns items into decisions; the applier turns the
decisions into writes and state; nothing in between holds a closure.

They are `value` classes: frozen for the type checker (assigning a field is an error mypy
reports), plain slotted dataclasses at run time. Several are made per record, and a frozen
dataclass's `__init__` (an `object.__setattr__` per field) costs about five times as much
(1.4 µs against 0.2 for ten fields). A step that needs another value makes a new one
(`_with`, `dataclasses.replace`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar, dataclass_transform

from integrate.connector import Record
from integrate.engine.scope import RuleResult
from integrate.engine.values import same
from integrate.errors import Location
from integrate.links import Link
from integrate.state import Held

_T = TypeVar("_T")


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def value(cls: type[_T]) -> type[_T]:
    """A record-in-flight value: immutable as far as the type checker is concerned, and as
    cheap to make as a plain slotted dataclass."""
    return dataclass(slots=True)(cls)


@value
class Item:
    """A record in flight: the side (0 or 1) and object it was read from, its id, its values
    (with the flow's `let` values, when it has any), and what the state knows of it."""

    s: int
    obj: str
    sid: str
    record: Record
    held: Held | None = None
    link: Link | None = None


class LinkDraft:
    """A link as the writes of this run leave it: each write that lands sets its side's
    snapshot (both directions of a two-way pair may write one link in a run)."""

    def __init__(self, link: Link):
        self.link = Link(
            link.a_id,
            link.b_id,
            link.a_object,
            link.b_object,
            dict(link.a_values),
            dict(link.b_values),
        )
        self._orig = (dict(link.a_values), dict(link.b_values))

    def set_values(self, index: int, values: dict[str, Any]) -> None:
        if index == 0:
            self.link.a_values = dict(values)
        else:
            self.link.b_values = dict(values)

    def changed(self) -> bool:
        """Whether a snapshot differs from what the state holds (so the link is saved),
        value by value as the engine compares them: the state gives back long values as
        digests, which equal the values they were made from."""
        for now, was in zip((self.link.a_values, self.link.b_values), self._orig, strict=True):
            if now.keys() != was.keys() or any(not same(v, was[k]) for k, v in now.items()):
                return True
        return False


# ---- decisions --------------------------------------------------------------------------
# `t` is the side index a decision writes to; an item's `s` is the side it was read from.


@value
class Skip:
    item: Item
    reason: str


@value
class Hold:
    """Queued for an operator, or deferred: looked at again on every run."""

    item: Item
    kind: str  # queue | defer
    reason: str
    location: Location | None = None
    candidates: list[dict[str, Any]] | None = None
    code: str = ""


@value
class Fail:
    item: Item
    message: str
    stage: str
    code: str = ""
    location: Location | None = None


@value
class Create:
    item: Item
    t: int
    t_obj: str
    values: dict[str, Any]  # the mapped values (what the link remembers)
    extra: dict[str, Any]  # on_create values, sent with the create only
    key: str | None  # the match key the create claims (None: none to claim)
    snap_t: dict[str, Any]
    snap_s: dict[str, Any]
    by_operator: bool = False  # `pending resolve --create`: made whatever matches
    rules: RuleResult = field(default_factory=RuleResult)  # what the rules set and route


@value
class Upsert:
    item: Item
    t: int
    t_obj: str
    values: dict[str, Any]
    snap_t: dict[str, Any]
    snap_s: dict[str, Any]


@value
class Update:
    """Update the record linked on side t (and, with `move_from`, move it from that object to
    `obj` first: a Lead becoming a Contact). `item` is the record whose change it carries."""

    item: Item
    t: int
    obj: str
    t_id: str
    diff: dict[str, tuple[Any, Any]]
    snap: dict[str, Any]
    draft: LinkDraft
    release: bool = False
    move_from: str | None = None
    note: str = ""  # why it is written, for the run summary (a move that could not be made)


@value
class Relink:
    """Keep a link as drafted, with no write of its own (a record just matched, or snapshots
    that moved on), and let the record go from the held records."""

    item: Item
    draft: LinkDraft
    claimed: tuple[str, str] | None = None  # the (object, id) of side t this match claimed


@value
class Unchanged:
    item: Item
    t: int
    t_obj: str
    t_id: str


@value
class Release:
    """A held record whose counterpart already agrees: let it go."""

    item: Item


@value
class Recheck:
    """A record read again while its create is unclear: it is looked for as planned, and
    then written with these newer values."""

    item: Item
    rules: RuleResult = field(default_factory=RuleResult)


Decision = Skip | Hold | Fail | Create | Upsert | Update | Relink | Unchanged | Release | Recheck
WRITES = (Create, Upsert, Update)
