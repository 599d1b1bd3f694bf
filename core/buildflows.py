"""Building flows: one-way and two-way sync flows (sides, field pairs, value maps, match,
unmatched policies, rules) and event flows, each part checked against the others."""

from __future__ import annotations

from dataclasses import replace

from integrate.buildbase import (
    RESERVED_SIDES,
    _hint,
)
from integrate.buildfields import FieldBuilder
from integrate.expressions import (
    Expr,
)
from integrate.loader import JsonPath, json_path
from integrate.model import (
    Assign,
    EventFlow,
    EventHandler,
    Flow,
    FlowCommon,
    Side,
    SyncFlow,
)

_ITEMWISE = ("fields", "rules", "events", "match")


class FlowBuilder(FieldBuilder):
    """Builds the flows of a spec."""

    def _prune_flow(self, name: str) -> bool:
        """Drop the parts of a flow the schema refused, so the rest can still be checked.
        False when the flow cannot be built at all (itself or a required key is broken)."""
        prefix = f"$.flows.{name}"
        raw = self.data["flows"][name]
        if prefix in self.broken or not isinstance(raw, dict):
            return False
        required = ("from", "to", "between", "events")
        if any(self._is_broken(f"{prefix}.{key}") for key in required):
            return False
        if "between" in raw and (
            self._is_broken(f"{prefix}.fields") and f"{prefix}.fields" in self.broken
        ):
            return False
        for key in list(raw):
            where = f"{prefix}.{key}"
            if not self._is_broken(where):
                continue
            if key in _ITEMWISE and isinstance(raw[key], list) and where not in self.broken:
                continue  # broken items are skipped one by one
            if (
                key in ("fields", "on_create")
                and isinstance(raw[key], dict)
                and where not in self.broken
            ):
                for sub in list(raw[key]):
                    if self._is_broken(f"{where}.{sub}"):
                        del raw[key][sub]
                continue
            del raw[key]
        return True

    def _common(self, name: str) -> FlowCommon:
        path: JsonPath = ("flows", name)
        raw = self.get(path)
        after = raw.get("after", ())
        after = (after,) if isinstance(after, str) else tuple(after)
        for i, dep in enumerate(after):
            where = (*path, "after") if isinstance(raw.get("after"), str) else (*path, "after", i)
            if dep not in self.flow_names:
                self.error(where, f"there is no flow '{dep}'{_hint(dep, self.flow_names)}")
            elif dep == name:
                self.error(where, "a flow cannot run after itself")
        if "schedule" in raw:
            self._cron((*path, "schedule"))
        return FlowCommon(
            name=name,
            location=self.at(path, key=True),
            description=raw.get("description", ""),
            # `direction: off` (two-way flows) switches the flow off as `enabled: false` does
            enabled=raw.get("enabled", True) and raw.get("direction") != "off",
            after=after,
            schedule=raw.get("schedule"),
            triggers=tuple(raw.get("triggers", ("poll",))),
            batch_size=raw.get("batch_size"),
            page_size=raw.get("page_size"),
            batch_location=self.at((*path, "batch_size")) if "batch_size" in raw else None,
            page_location=self.at((*path, "page_size")) if "page_size" in raw else None,
        )

    def _flow(self, name: str) -> Flow | None:
        raw = self.get(("flows", name))
        if "events" in raw:
            return self._event_flow(name)
        return self._sync_flow(name)

    def _sides(self, name: str) -> tuple[Side, Side] | None:
        path: JsonPath = ("flows", name)
        raw = self.get(path)
        if "between" not in raw:
            src = self.object_ref((*path, "from"))
            dst = self.object_ref((*path, "to"))
            if src is None or dst is None:
                return None
            if src.multi:
                self.error((*path, "from"), "the source of a one-way flow is one object")
            return Side("source", src), Side("target", dst)
        between = raw["between"]
        if isinstance(between, list):
            refs = [self.object_ref((*path, "between", i)) for i in range(2)]
            if refs[0] is None or refs[1] is None:
                return None
            if refs[0].connection == refs[1].connection:
                self.error(
                    (*path, "between"),
                    f"both sides use connection '{refs[0].connection}': name the sides, "
                    "e.g. between: {left: conn.A, right: conn.B}",
                )
                return None
            return Side(refs[0].connection, refs[0]), Side(refs[1].connection, refs[1])
        names = list(between)
        refs = [self.object_ref((*path, "between", n)) for n in names]
        if refs[0] is None or refs[1] is None:
            return None
        return Side(names[0], refs[0]), Side(names[1], refs[1])

    def _sync_flow(self, name: str) -> SyncFlow | None:
        path: JsonPath = ("flows", name)
        raw = self.get(path)
        common = self._common(name)
        sides = self._sides(name)
        if sides is None:
            return None
        two_way = "between" in raw
        side_names = [s.name for s in sides]
        for side in side_names:
            if side in RESERVED_SIDES or side.startswith("to_"):
                self.error((*path, "between"), f"'{side}' cannot name a side (it is a keyword)")
                return None
        lets: list[tuple[str, Expr]] = []
        if not two_way:
            # One-way flows read let.<name> only from their `let:` block (checked everywhere).
            defined: list[str] = []
            self._lets = defined
            self._let_block = "let" in raw
            # Compiled first, each seeing the ones before it; the rest of the flow sees all.
            for let_name in raw.get("let", {}):
                if (e := self.expr((*path, "let", let_name))) is not None:
                    lets.append((let_name, e))
                defined.append(let_name)
        if two_way:
            only_to = (
                self._direction((*path, "direction"), side_names) if "direction" in raw else None
            )
            pairs = tuple(
                p
                for i in range(len(raw["fields"]))
                if not self._is_broken(f"$.flows.{name}.fields[{i}]")
                and (p := self._pair((*path, "fields", i), sides)) is not None
            )
        else:
            only_to = "target"
            pairs = tuple(self._one_way_pairs(path, raw))
        match, normalize = self._match(path, raw, side_names)
        unmatched = self._unmatched(path, raw, side_names, two_way)
        conflict = raw.get("conflict", "newest")
        if conflict not in ("newest", "queue") and conflict not in side_names:
            self.error(
                (*path, "conflict"),
                f"'{conflict}' is not newest, queue or a side ({', '.join(side_names)})",
            )
        rules = tuple(
            r
            for i in range(len(raw.get("rules", [])))
            if not self._is_broken(json_path((*path, "rules", i)))
            and (r := self._rule((*path, "rules", i), sides, two_way)) is not None
        )
        filters: dict[str, Expr] = {}
        if "filter" in raw:
            if two_way:
                for side in raw["filter"]:
                    if side not in side_names:
                        self.error(
                            (*path, "filter", side),
                            f"there is no side '{side}'{_hint(side, side_names)}",
                            key=True,
                        )
                    elif (e := self.expr((*path, "filter", side))) is not None:
                        filters[side] = e
            elif (e := self.expr((*path, "filter"))) is not None:
                filters["source"] = e
        on_create: dict[str, tuple[Assign, ...]] = {}
        if "on_create" in raw:
            if two_way:
                for side in raw["on_create"]:
                    if side not in side_names:
                        self.error(
                            (*path, "on_create", side),
                            f"there is no side '{side}'{_hint(side, side_names)}",
                            key=True,
                        )
                    else:
                        on_create[side] = self._assigns((*path, "on_create", side), sides, side)
            else:
                on_create["target"] = self._assigns((*path, "on_create"), sides, "target")
        upsert_on = tuple(raw.get("upsert_on", ()))
        if "watch" in raw:
            common = replace(
                common,
                watch=self._watch((*path, "watch"), sides, only_to),
                watch_location=self.at((*path, "watch")),
            )
        flow = SyncFlow(
            common=common,
            sides=sides,
            two_way=two_way,
            only_to=only_to,
            pairs=pairs,
            match=match,
            normalize=normalize,
            unmatched=unmatched,
            conflict=conflict,
            rules=rules,
            filters=filters,
            on_create=on_create,
            upsert_on=upsert_on,
            deletes=raw.get("deletes", "ignore"),
            lets=tuple(lets),
            keep_empty=raw.get("empty") == "keep",
        )
        self._lets = None
        if not match and not upsert_on:
            for side in side_names:
                policy = unmatched[side]
                if flow.writes_to(side) and "create" in (policy.first_run, policy.later):
                    self.warn(
                        path,
                        f"flow has no match keys: a run killed between a create in {side} and its "
                        "commit creates that record again on restart (add match or upsert_on)",
                    )
                    break
        return flow

    def _watch(
        self, path: JsonPath, sides: tuple[Side, Side], only_to: str | None
    ) -> dict[str, float]:
        """`watch:` as side name -> seconds: a duration watches every side whose changes the
        flow pushes; a mapping names the sides (a one-way flow's source by its connection)."""
        two_way = sides[0].name != "source"
        pushed = [s.name for s in sides if s.name != only_to]
        label = {s.name: s.name if two_way else s.ref.connection for s in sides}
        raw = self.get(path)
        if not isinstance(raw, dict):
            seconds = self._duration(path)
            return dict.fromkeys(pushed, seconds) if seconds is not None else {}
        out: dict[str, float] = {}
        for key in raw:
            where = (*path, key)
            side = key if two_way else next((n for n in pushed if label[n] == key), None)
            if side is None or side not in label:
                choices = [label[n] for n in pushed] if not two_way else list(label)
                what = "a side" if two_way else "this one-way flow's source"
                self.error(
                    where,
                    f"'{key}' is not {what} ({', '.join(choices)}){_hint(key, choices)}",
                    key=True,
                )
                continue
            if side not in pushed:
                # not an error: an object's direction is switched (CS-4) without editing its
                # watch, which waits, doing nothing, until the direction pushes that side again
                self.warn(
                    where,
                    f"'{key}' is not watched while the flow writes only to {only_to}: "
                    f"what changes on '{key}' goes nowhere",
                )
                continue
            seconds = self._duration(where)
            if seconds is not None:
                out[side] = seconds
        return out

    def _duration(self, path: JsonPath) -> float | None:
        from integrate.schedule import duration

        try:
            return duration(self.get(path))
        except ValueError as exc:
            self.error(path, str(exc))
            return None

    def _event_flow(self, name: str) -> EventFlow | None:
        path: JsonPath = ("flows", name)
        raw = self.get(path)
        common = self._common(name)
        if "watch" in raw:
            self.error(
                (*path, "watch"),
                "watch applies to sync flows (an event flow runs on its schedule)",
                key=True,
            )
        source = self.object_ref((*path, "from"))
        target = self.object_ref((*path, "to"))
        if source is None or target is None:
            return None
        if target.multi:
            self.error((*path, "to"), "an event flow writes to one object")
        filt = self.expr((*path, "filter")) if "filter" in raw else None
        handlers = []
        for i, handler in enumerate(raw["events"]):
            if self._is_broken(json_path((*path, "events", i))):
                continue
            hpath = (*path, "events", i)
            event = handler["event"]
            related = handler.get("related")
            if event == "related_added" and not related:
                self.error(
                    hpath,
                    "related_added needs `related`: the related list to watch (Deals, Events ...)",
                )
            if related and event != "related_added":
                self.error(
                    (*hpath, "related"), "`related` belongs to related_added events", key=True
                )
            objects = tuple(handler.get("objects", ()))
            for j, obj in enumerate(objects):
                if obj not in source.objects:
                    self.error(
                        (*hpath, "objects", j), f"'{obj}' is not one of {', '.join(source.objects)}"
                    )
            when = self.expr((*hpath, "when")) if "when" in handler else None
            assigns: tuple[Assign, ...] = ()
            if "fields" in handler:
                assigns = tuple(
                    Assign(f, e)
                    for f in handler["fields"]
                    if (e := self.expr((*hpath, "fields", f))) is not None
                )
            if "schedule" in handler:
                self._cron((*hpath, "schedule"))
                if event != "related_added":
                    self.error(
                        (*hpath, "schedule"),
                        "a schedule only applies to related_added events (created and updated "
                        "events are acted on as their records are read)",
                        key=True,
                    )
            handlers.append(
                EventHandler(
                    event=event,
                    action=handler["do"],
                    location=self.at(hpath),
                    related=related,
                    objects=objects,
                    when=when,
                    assigns=assigns,
                    schedule=handler.get("schedule"),
                )
            )
        return EventFlow(common, source, target, filt, raw.get("backfill", False), tuple(handlers))

    # ---- order and tests ------------------------------------------------------------
