"""The Plan: what a run does to each record, and the counts a run ends with."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from integrate.errors import Location
from integrate.links import Digest

CREATE = "create"
UPDATE = "update"
UNCHANGED = "unchanged"
SKIP = "skip"
DEFER = "defer"
QUEUE = "queue"
FAIL = "fail"
ACTION = "action"

OUTCOMES = (CREATE, UPDATE, UNCHANGED, SKIP, DEFER, QUEUE, FAIL, ACTION)
# Column titles of the summary table, in order.
COLUMNS = ("read", "created", "updated", "unchanged", "skipped", "deferred", "queued", "failed")
_COLUMN_OF = {
    CREATE: "created",
    UPDATE: "updated",
    UNCHANGED: "unchanged",
    SKIP: "skipped",
    DEFER: "deferred",
    QUEUE: "queued",
    FAIL: "failed",
    ACTION: "actions",
}

# How an operator's decisions (`pending resolve`) are named in the summary.
ACTIONS = {"create": "create as new", "map": "map to a record", "keep": "keep a side"}


@dataclass
class Change:
    """One line of the plan."""

    flow: str
    outcome: str
    source_side: str
    source_id: str | None
    target_side: str | None = None
    target_object: str | None = None
    target_id: str | None = None
    fields: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    reason: str = ""
    location: Location | None = None
    code: str = ""
    action: str = ""

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "flow": self.flow,
            "outcome": self.outcome,
            "source_side": self.source_side,
            "source_id": self.source_id,
        }
        if self.target_side:
            out["target_side"] = self.target_side
        if self.target_object:
            out["target_object"] = self.target_object
        if self.target_id:
            out["target_id"] = self.target_id
        if self.fields:
            # an old value the run did not read (the link knows it only by digest) is left out
            out["fields"] = {
                k: {"new": new} if isinstance(old, Digest) else {"old": old, "new": new}
                for k, (old, new) in self.fields.items()
            }
        if self.reason:
            out["reason"] = self.reason
        if self.location:
            out["location"] = str(self.location)
        if self.code:
            out["code"] = self.code
        if self.action:
            out["action"] = self.action
        return out


@dataclass
class FlowStats:
    """Counts for one flow: records read per side, outcomes per direction, reasons."""

    flow: str
    read: Counter[str] = field(default_factory=Counter)
    outcomes: dict[str, Counter[str]] = field(default_factory=dict)
    reasons: Counter[tuple[str, str]] = field(default_factory=Counter)
    disabled: bool = False
    # held records (queued, deferred, failed) looked at again without being read from the
    # system this run, and of those, what an operator decided (`pending resolve`) by action
    held_again: int = 0
    decided: Counter[str] = field(default_factory=Counter)

    def count(self, change: Change) -> None:
        direction = change.target_side or "-"
        counts = self.outcomes.get(direction)
        if counts is None:
            counts = self.outcomes[direction] = Counter()
        counts[_COLUMN_OF[change.outcome]] += 1
        if change.reason:
            self.reasons[(change.outcome, change.reason)] += 1

    def total(self, column: str) -> int:
        if column == "read":
            return sum(self.read.values())
        return sum(c[column] for c in self.outcomes.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "flow": self.flow,
            "disabled": self.disabled,
            "read": dict(self.read),
            "outcomes": {k: dict(v) for k, v in self.outcomes.items()},
            "totals": {c: self.total(c) for c in (*COLUMNS, "actions")},
            "reasons": [
                {"outcome": o, "reason": r, "count": n}
                for (o, r), n in sorted(self.reasons.items())
            ],
            "held_again": self.held_again,
            "decided": dict(self.decided),
        }

    def held_line(self) -> str:
        """Where records came from that the run did not read: held ones looked at again."""
        if not self.held_again:
            return ""
        line = f"{self.held_again:,} held record(s) looked at again, not read from the system"
        decided = sum(self.decided.values())
        if decided:
            actions = ", ".join(
                f"{ACTIONS.get(a, a)}: {n:,}" for a, n in sorted(self.decided.items())
            )
            line += f": {decided:,} decided by an operator ({actions})"
            rest = self.held_again - decided
            if rest:
                line += f", {rest:,} still waiting or tried again"
        return line
