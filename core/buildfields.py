"""Building the parts of a sync flow: field pairs (both ways, value maps), one-way field
maps, match keys, unmatched policies, directions and rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from integrate.buildbase import (
    _NO_DEFAULT,
    DEFAULT_NORMALIZE,
    RESERVED_SIDES,
    RULE_ACTIONS,
    BuilderBase,
    _field_expr,
    _hint,
    _mapped,
)
from integrate.loader import JsonPath, json_path
from integrate.model import (
    OBJECT_FIELD,
    Assign,
    FieldPair,
    MatchKey,
    Policy,
    Rule,
    Side,
)


class FieldBuilder(BuilderBase):
    """Builds the parts of sync flows."""

    def _direction(self, path: JsonPath, sides: list[str]) -> str | None:
        value: str = self.get(path)
        if value in ("both", "off"):
            return None
        side = value.removeprefix("to_")
        if side not in sides:
            options = ", ".join(f"to_{s}" for s in sides)
            self.error(path, f"'{value}' is not both or {options}")
            return None
        return side

    def _one_way_pairs(self, path: JsonPath, raw: Mapping[str, Any]) -> Iterable[FieldPair]:
        for field_name in raw.get("fields", {}):
            fpath = (*path, "fields", field_name)
            self._check_object_field(field_name, fpath, "target", raw)
            expr = self.expr(fpath)
            if expr is None:
                continue
            yield FieldPair(
                location=self.at(fpath, key=True),
                fields={"target": (field_name,)},
                make={"target": (Assign(field_name, expr, self.at(fpath, key=True)),)},
                direction="target",
            )

    def _check_object_field(
        self, field_name: str, path: JsonPath, side: str, raw: Mapping[str, Any]
    ) -> None:
        if field_name != OBJECT_FIELD:
            return
        ref = raw.get("to") if side == "target" else None
        if isinstance(ref, str) and "|" not in ref:
            self.error(
                path,
                f"{OBJECT_FIELD} only exists on a side that spans several objects (conn.A|B)",
                key=True,
            )

    def _pair(self, path: JsonPath, sides: tuple[Side, Side]) -> FieldPair | None:
        raw: dict[str, Any] = self.get(path)
        names = [s.name for s in sides]
        fields: dict[str, tuple[str, ...]] = {}
        for key, value in raw.items():
            if key in RESERVED_SIDES or key.startswith("to_"):
                continue
            if key not in names:
                self.error((*path, key), f"there is no side '{key}'{_hint(key, names)}", key=True)
                return None
            fields[key] = (value,)
            side = sides[names.index(key)]
            if value == OBJECT_FIELD and not side.ref.multi:
                self.error(
                    (*path, key),
                    f"{OBJECT_FIELD} only exists on a side that spans several objects (conn.A|B)",
                )
        makers: dict[str, tuple[Assign, ...]] = {}
        for key, value in raw.items():
            if not key.startswith("to_"):
                continue
            target = key[3:]
            if target not in names:
                options = ", ".join(f"to_{n}" for n in names)
                self.error((*path, key), f"'{key}' names no side (use {options})", key=True)
                return None
            if isinstance(value, dict):
                assigns = self._assigns((*path, key), sides, target)
                if target in fields and (fields[target] != tuple(a.field for a in assigns)):
                    self.error(
                        (*path, key),
                        f"give either {target}: <field> or {key}: {{field: expression}}, not both",
                        key=True,
                    )
                fields[target] = tuple(a.field for a in assigns)
                makers[target] = assigns
            else:
                if target not in fields:
                    self.error(
                        (*path, key),
                        f"{key} needs the field it writes: add {target}: <field name>",
                        key=True,
                    )
                    return None
                expr = self.expr((*path, key))
                if expr is None:
                    return None
                makers[target] = (Assign(fields[target][0], expr),)
        if "values" in raw:
            if makers:
                self.error(
                    (*path, "values"),
                    "a value map cannot be combined with to_<side> expressions",
                    key=True,
                )
                return None
            if any(len(fields.get(n, ())) != 1 for n in names):
                self.error(
                    (*path, "values"), "a value map needs the field's name on both sides", key=True
                )
                return None
            makers.update(self._value_map(path, raw, sides, fields))
        else:
            for target in names:
                source = names[1 - names.index(target)]
                if target not in makers and target in fields and source in fields:
                    src_field = fields[source][0]
                    makers[target] = (
                        Assign(fields[target][0], _field_expr(src_field, self.at(path))),
                    )
        direction = "both"
        if "direction" in raw:
            chosen = self._direction((*path, "direction"), names)
            direction = chosen or "both"
            if chosen is not None and chosen not in makers:
                self.error(
                    (*path, "direction"), f"this pair has no way to make values for '{chosen}'"
                )
        if not makers:
            self.error(
                path,
                "this pair says neither side's field nor how to make it (e.g. {a: email, b: Email})",
            )
            return None
        if "default" in raw:
            for side in raw["default"]:
                if side not in names:
                    self.error(
                        (*path, "default", side),
                        f"there is no side '{side}'{_hint(side, names)}",
                        key=True,
                    )
        return FieldPair(self.at(path), fields, makers, direction)

    def _value_map(
        self,
        path: JsonPath,
        raw: Mapping[str, Any],
        sides: tuple[Side, Side],
        fields: Mapping[str, tuple[str, ...]],
    ) -> dict[str, tuple[Assign, ...]]:
        first, second = sides[0].name, sides[1].name
        forward: dict[Any, Any] = dict(raw["values"])
        backward: dict[Any, Any] = {}
        for key, value in forward.items():
            if value in backward:
                self.error(
                    (*path, "values", key),
                    f"'{value}' appears twice on the {second} side: the map must work both ways",
                )
            backward[value] = key
        defaults = raw.get("default", {})
        location = self.at((*path, "values"))
        label = f"{fields[first][0]} ⇄ {fields[second][0]}"
        out: dict[str, tuple[Assign, ...]] = {}
        for target, source, table in ((second, first, forward), (first, second, backward)):
            getter = _field_expr(fields[source][0], location)
            fallback = defaults.get(target, _NO_DEFAULT)
            # A record is always in one object: a null value for $object takes the default.
            null = fields[target][0] == OBJECT_FIELD
            out[target] = (
                Assign(
                    fields[target][0],
                    _mapped(getter, table, fallback, label, location, null_default=null),
                ),
            )
        return out

    def _assigns(self, path: JsonPath, sides: tuple[Side, Side], target: str) -> tuple[Assign, ...]:
        out = []
        raw = self.get(path)
        flow_raw = self.get(path[:3])
        for field_name in raw:
            fpath = (*path, field_name)
            self._check_object_field(field_name, fpath, target, flow_raw)
            expr = self.expr(fpath)
            if expr is not None:
                out.append(Assign(field_name, expr, self.at(fpath, key=True)))
        return tuple(out)

    def _match(
        self, path: JsonPath, raw: Mapping[str, Any], sides: list[str]
    ) -> tuple[tuple[MatchKey, ...], frozenset[str]]:
        if "match" not in raw:
            return (), DEFAULT_NORMALIZE
        spec = raw["match"]
        if isinstance(spec, dict):
            keys_path: JsonPath = (*path, "match", "keys")
            normalize_raw = spec.get("normalize", sorted(DEFAULT_NORMALIZE))
            normalize = frozenset() if normalize_raw == "exact" else frozenset(normalize_raw)
            count = len(spec["keys"])
        else:
            keys_path = (*path, "match")
            normalize = DEFAULT_NORMALIZE
            count = len(spec)
        keys = []
        for i in range(count):
            if self._is_broken(json_path((*keys_path, i))):
                continue
            exprs = {}
            for j, side in enumerate(sides):
                e = self.expr((*keys_path, i, j))
                if e is not None:
                    exprs[side] = e
            if len(exprs) == 2:
                keys.append(MatchKey(exprs, self.at((*keys_path, i))))
        return tuple(keys), normalize

    def _unmatched(
        self, path: JsonPath, raw: Mapping[str, Any], sides: list[str], two_way: bool
    ) -> dict[str, Policy]:
        here = self.at((*path, "unmatched")) if "unmatched" in raw else self.at(path)
        default = Policy("create", "create", here)
        value = raw.get("unmatched")
        out = dict.fromkeys(sides, default)
        if value is None:
            return out
        if isinstance(value, str):
            return {side: Policy(value, value, here) for side in sides}
        if "first_run" in value:
            return {side: Policy(value["first_run"], value["later"], here) for side in sides}
        for key, policy in value.items():
            side = key.removeprefix("to_")
            if side not in sides:
                options = ", ".join(f"to_{s}" for s in sides)
                self.error(
                    (*path, "unmatched", key), f"'{key}' names no side (use {options})", key=True
                )
                continue
            where = self.at((*path, "unmatched", key))
            if isinstance(policy, str):
                out[side] = Policy(policy, policy, where)
            else:
                out[side] = Policy(policy["first_run"], policy["later"], where)
        return out

    def _rule(self, path: JsonPath, sides: tuple[Side, Side], two_way: bool) -> Rule | None:
        raw = self.get(path)
        actions = [a for a in RULE_ACTIONS if a in raw]
        if len(actions) != 1:
            self.error(path, f"a rule does one thing; this one says {', '.join(actions)}")
            return None
        action = actions[0]
        side = raw.get("side")
        names = [s.name for s in sides]
        if side is not None:
            if not two_way:
                self.error((*path, "side"), "side is only for two-way flows", key=True)
            elif side not in names:
                self.error((*path, "side"), f"there is no side '{side}'{_hint(side, names)}")
        when = self.expr((*path, "when"))
        if when is None:
            return None
        location = self.at(path)
        if action == "set":
            # The rule writes to the side opposite the record's side; for one-way that is target.
            target = (
                "target"
                if not two_way
                else (names[1 - names.index(side)] if side in names else names[1])
            )
            assigns = self._assigns((*path, "set"), sides, target)
            return Rule(when, "set", "", location, assigns=assigns, side=side)
        if action == "route":
            ref = self.object_ref((*path, "route"))
            if ref is None:
                return None
            target_side = sides[1] if not two_way else None
            if target_side is not None and ref.connection != target_side.ref.connection:
                self.error(
                    (*path, "route"),
                    f"a rule can only route to another object of '{target_side.ref.connection}'",
                )
            return Rule(when, "route", "", location, route=ref, side=side)
        return Rule(when, action, raw[action], location, side=side)

    # ---- event flows ----------------------------------------------------------------
