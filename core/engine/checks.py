"""What only the plugins know about a spec, checked before any record is read: the objects
exist, the fields a flow reads and writes are in their catalogues, batch and page sizes are
within the plugins' limits, the operations and actions exist. Every problem at its line."""

from __future__ import annotations

from typing import Any

from integrate.connector import CREATE, UPDATE, UPSERT
from integrate.engine.context import RunContext
from integrate.errors import Location, PluginError, ProblemList
from integrate.fieldcheck import Catalogue, CatalogueOf, check_flow_fields
from integrate.model import Side, Spec, SyncFlow


def check_against_plugins(spec: Spec, ctx: RunContext, selected: list[str]) -> None:
    """What only the plugins know: objects exist, limits are respected, operations exist.
    Every problem is reported at its line, before any record is read."""
    problems = ProblemList()

    def info(connection: str, obj: str, location: Location) -> Any:
        try:
            return ctx.info(connection, obj)
        except PluginError as exc:
            problems.add(location, str(exc))
            return None

    catalogue_of = _catalogue_of(ctx)
    for name in selected:
        flow = spec.flows[name]
        if isinstance(flow, SyncFlow):
            _check_fields(problems, flow, ctx, catalogue_of)
            for side in flow.sides:
                for obj in side.ref.objects:
                    found = info(side.ref.connection, obj, side.ref.location)
                    if found is None:
                        continue
                    plugin = ctx.connectors[side.ref.connection].plugin
                    common = flow.common
                    if (
                        common.batch_size
                        and common.batch_size > found.write_batch
                        and flow.writes_to(side.name)
                    ):
                        problems.add(
                            common.batch_location or common.location,
                            f"batch_size {common.batch_size} is above the limit of {found.write_batch} "
                            f"that {plugin} allows for {obj}",
                        )
                    if common.page_size and common.page_size > found.page_size:
                        problems.add(
                            common.page_location or common.location,
                            f"page_size {common.page_size} is above the limit of {found.page_size} "
                            f"that {plugin} allows for {obj}",
                        )
                    if flow.writes_to(side.name):
                        needed = [UPSERT] if flow.upsert_on and side.name == "target" else [UPDATE]
                        if not flow.upsert_on and any(
                            "create" in (p.first_run, p.later) for p in flow.unmatched.values()
                        ):
                            needed.append(CREATE)
                        for op in needed:
                            if not found.supports(op):
                                problems.add(
                                    side.ref.location, f"{plugin} cannot {op} records of {obj}"
                                )
        else:
            for obj in flow.source.objects:
                info(flow.source.connection, obj, flow.source.location)
            target = info(flow.target.connection, flow.target.objects[0], flow.target.location)
            if target is not None:
                for handler in flow.handlers:
                    if not target.supports(handler.action):
                        plugin = ctx.connectors[flow.target.connection].plugin
                        problems.add(
                            handler.location,
                            f"{plugin} offers no action '{handler.action}' on {flow.target.objects[0]}",
                        )
    problems.raise_if_any()


def _check_fields(
    problems: ProblemList, flow: SyncFlow, ctx: RunContext, catalogue_of: CatalogueOf
) -> None:
    """The flow's field names against its sides' catalogues. A catalogue may come from a
    plugin's cache (kept between runs): when a name is missing, the cached ones are dropped
    and the check made once more, so a field added at the vendor since is found."""
    found = ProblemList()
    check_flow_fields(found, flow, catalogue_of)
    if found.errors:
        # every object is asked (no short cut), so no stale catalogue stays behind
        forgot = [ctx.forget(s.ref.connection, obj) for s in flow.sides for obj in s.ref.objects]
        if any(forgot):
            found = ProblemList()
            check_flow_fields(found, flow, catalogue_of)
    problems.extend(found.items)


def _catalogue_of(ctx: RunContext) -> CatalogueOf:
    """A side's catalogues as its plugin describes them (None: schemaless, or an object the
    plugin lacks, which the object check reports)."""

    def of(side: Side) -> Catalogue | None:
        objects = []
        always: set[str] = set()
        for obj in side.ref.objects:
            try:
                info = ctx.info(side.ref.connection, obj)
            except PluginError:
                return None
            if info.fields is None:
                return None
            objects.append(info.fields)
            always |= {f for f in (info.id_field, info.modified_field) if f}
        plugin = ctx.connectors[side.ref.connection].plugin
        return Catalogue(plugin, tuple(objects), frozenset(always))

    return of
