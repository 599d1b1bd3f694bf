"""Checking a sync flow's fields against the plugins' field catalogues: every field written
must exist (and be writable), every field an expression reads from a record must exist.
Run when a spec is built (with the catalogues a plugin knows from its settings alone) and
again when a run starts (with the catalogues the plugin describes), before any record is
read; each problem at its line, with a "did you mean"."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from integrate.connector import FieldInfo
from integrate.errors import ProblemList
from integrate.expressions import Expr
from integrate.model import OBJECT_FIELD, Assign, Side, SyncFlow

LET = "let"


@dataclass(frozen=True)
class Catalogue:
    """What a side's records hold: one catalogue per object of the side, the plugin's name,
    and fields every record has whatever the catalogue says (its id, its change time)."""

    plugin: str
    objects: tuple[Mapping[str, FieldInfo], ...]
    always: frozenset[str] = frozenset()

    def names(self) -> set[str]:
        return {f for c in self.objects for f in c} | set(self.always)


# A side's catalogue, or None when its plugin has none (any field name is accepted).
CatalogueOf = Callable[[Side], Catalogue | None]


def check_flow_fields(problems: ProblemList, flow: SyncFlow, catalogue_of: CatalogueOf) -> None:
    """Every problem of the flow's field names, added to `problems`."""
    catalogues = {side.name: catalogue_of(side) for side in flow.sides}
    seen: set[tuple[str, str, str]] = set()
    for side in flow.sides:
        found = catalogues[side.name]
        if found is None:
            continue
        _check_writes(problems, flow, side, found)
        for expr in _reads(flow, side):
            _check_read(problems, flow, side, found, expr, seen)
    if flow.two_way and all(c is not None for c in catalogues.values()):
        # A rule without a side is tried on the records of both: its fields must be on one.
        both = [c for c in catalogues.values() if c is not None]
        known = set().union(*(c.names() for c in both))
        for rule in flow.rules:
            if rule.side is not None:
                continue
            for expr in (rule.when, *(a.expr for a in rule.assigns)):
                for name in sorted(expr.roots):
                    if _exempt(name, flow) or name in known:
                        continue
                    sides = " nor ".join(s.ref.text for s in flow.sides)
                    problems.add(
                        expr.location, f"neither {sides} has a field '{name}'{_hint(name, known)}"
                    )


def _check_writes(problems: ProblemList, flow: SyncFlow, side: Side, found: Catalogue) -> None:
    """Fields written to a side must be in at least one of its objects' catalogues, and not
    read-only in all of them."""
    # a pair brought in only by an object-level one-way direction may name a read-only field
    # (it is then left out of that direction: SyncFlow.pairs_writing)
    read_only = frozenset(
        name
        for c in found.objects
        for name, info in c.items()
        if info.read_only and all(name not in o or o[name].read_only for o in found.objects)
    )
    pairs = flow.pairs_writing(side.name, read_only)
    assigns: list[Assign] = [a for p in pairs for a in p.make[side.name]]
    assigns += list(flow.on_create.get(side.name, ()))
    if flow.writes_to(side.name):
        other = flow.other(side.name).name
        assigns += [a for r in flow.rules for a in r.assigns if r.side in (None, other)]
    known = sorted({f for c in found.objects for f in c})
    for assign in assigns:
        name = assign.field.split(".")[0]
        if name == OBJECT_FIELD:
            continue
        infos = [c[name] for c in found.objects if name in c]
        if not infos:
            problems.add(
                assign.field_location,
                f"{found.plugin} {side.ref.text} has no field '{name}'{_hint(name, known)}",
            )
        elif all(f.read_only for f in infos):
            problems.add(
                assign.field_location, f"'{name}' of {side.ref.text} is read-only in {found.plugin}"
            )


def _reads(flow: SyncFlow, side: Side) -> Iterable[Expr]:
    """The expressions evaluated over this side's records (two-way rules without a side
    are checked against both sides together, elsewhere)."""
    other = flow.other(side.name).name
    yield from (a.expr for p in flow.pairs_to(other) for a in p.make[other])
    yield from (a.expr for a in flow.on_create.get(other, ()))
    yield from (key.exprs[side.name] for key in flow.match if side.name in key.exprs)
    if side.name in flow.filters:
        yield flow.filters[side.name]
    if not flow.two_way and side.name == "source":
        yield from (expr for _name, expr in flow.lets)
    for rule in flow.rules:
        if rule.side == side.name or (
            rule.side is None and not flow.two_way and side.name == "source"
        ):
            yield rule.when
            yield from (a.expr for a in rule.assigns)


def _check_read(
    problems: ProblemList,
    flow: SyncFlow,
    side: Side,
    found: Catalogue,
    expr: Expr,
    seen: set[tuple[str, str, str]],
) -> None:
    known = found.names()
    for name in sorted(expr.roots):
        if _exempt(name, flow) or name in known:
            continue
        key = (str(expr.location), side.name, name)
        if key in seen:
            continue
        seen.add(key)
        problems.add(
            expr.location,
            f"{found.plugin} {side.ref.text} has no field '{name}' to read{_hint(name, known)}",
        )


def _exempt(name: str, flow: SyncFlow) -> bool:
    """Pseudo-fields ($object ...) and, in one-way flows, the flow's own let values."""
    return name.startswith("$") or (name == LET and not flow.two_way)


def _hint(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
