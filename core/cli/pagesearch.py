"""The operator page's search over a flow's target records: the target side read as a dry run
reads it (nothing written), the records whose text holds the words asked for, a few at most."""

from __future__ import annotations

from typing import Any

from integrate.cli.records import _promised
from integrate.engine.runner import RunOptions, open_connector, state_location
from integrate.metacache import MetadataCache, StateEntries
from integrate.model import Spec
from integrate.plugins import Plugins
from integrate.secrets import REDACTOR, Resolver
from integrate.state import StateStore
from integrate.tokencache import StateTokenCache

MOST_HITS = 20
MOST_READ = 20_000  # records looked at before the search gives up (say so: search narrower)


def label_of(record: dict[str, Any]) -> str:
    """A record's name for a person: its name-like fields, else its first text fields."""
    texts = [(k, v) for k, v in record.items() if isinstance(v, str) and v and k[:1] != "$"]
    named = [v for k, v in texts if "name" in k.lower() or "email" in k.lower()]
    return REDACTOR.redact(" ".join((named or [v for _, v in texts])[:2]))


def search_target(
    spec: Spec, plugins: Plugins, options: RunOptions, row: Any, query: str
) -> list[dict[str, Any]]:
    """Target records (of the side other than the held record's) whose text holds every word
    of `query` (case ignored): id, object and label each, at most MOST_HITS."""
    flow = spec.flows[row.flow]
    sides = getattr(flow, "sides", None)
    if not sides:
        return []
    names = [s.name for s in sides]
    target = sides[1 - names.index(row.side) if row.side in names else 1]
    words = query.casefold().split()
    store = StateStore.snapshot(state_location(spec, options), spec.name)
    resolver = options.resolver or Resolver(base=spec.path.parent)
    tokens, metadata = StateTokenCache(store), MetadataCache(StateEntries(store), options.clock)
    connector = open_connector(
        spec, plugins, options, resolver, target.ref.connection, tokens, metadata
    )
    hits: list[dict[str, Any]] = []
    read = 0
    try:
        for obj in target.ref.objects:
            info = connector.describe(obj)
            for page in connector.read(obj, page_size=info.page_size):
                for record in page.records:
                    read += 1
                    text = " ".join(str(v) for v in record.values() if v is not None).casefold()
                    if all(w in text for w in words):
                        id_ = record.get(info.id_field)
                        hits.append({"id": str(id_), "object": obj, "label": label_of(record)})
                    if len(hits) >= MOST_HITS or read >= MOST_READ:
                        return hits
    finally:
        connector.close()
        store.close()
    return hits


def taken(spec: Any, store: Any, row: Any, hits: list[dict[str, Any]]) -> dict[str, str]:
    """Search hits that are not offered: linked already, or promised to another record."""
    sides = [s.name for s in spec.flows[row.flow].sides]
    other = 1 - sides.index(row.side) if row.side in sides else 1
    promised = _promised(store)
    out = {}
    for hit in hits:
        owner = store.linked_to(row.flow, other, hit["id"], hit["object"])
        if owner is not None:
            out[hit["id"]] = f"linked to {owner}"
        elif promised.get((row.flow, hit["id"]), row.source_id) != row.source_id:
            out[hit["id"]] = f"promised to {promised[(row.flow, hit['id'])]}"
    return out


__all__ = ["label_of", "search_target", "taken"]
