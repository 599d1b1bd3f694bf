"""A plugin's emulator served on loopback in a process of its own, driven over stdin, for
benchmarks that need the emulator's own figures (calls by kind, calls in flight) after a run.

    python bench/emulated.py servicedesk_msp --latency 0.05 --set accounts=0
    python bench/emulated.py salesmanago --latency 0.05 --restore FOLDER

`--restore FOLDER` starts it from what the emulator's `save` left in FOLDER (on the real
clock) instead of from `--set` options. It prints one JSON line, {"url": ..., "config":
{...}} (the connection settings that point a spec at it), then answers each command on stdin
with one JSON line:

    calls                {"kinds": {kind: n}, "writes": {kind: n}, "max_in_flight": n, "in_flight": n}
    written              [{"kind": kind, "keys": [...]}, ...]  (each write call, in order)
    count OBJECT         {"count": n}
    records OBJECT       [record, ...]
    seed OBJECT JSON     {"seeded": n}       (JSON: a list of records, on the same line)
    change OBJECT ID JSON  the record after a user's edit (JSON: the values, on the same line)
    reset                {"reset": true}     (counts, writes, request log and max_in_flight start again)

End of input stops it. A write is a call whose method changes something (POST, PUT, PATCH,
DELETE), the OAuth token calls apart; SALESmanago, whose every call is a POST, writes by
the methods that change contacts (WRITE_KINDS). `written` names the records each write
carried, as the request's body does: Zoho's `data[].id` (or `Email` for a new record),
SALESmanago's `contact.email` of each upsert.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NOT_WRITES = frozenset({"token", "revoke", "consent"})
# Plugins whose reads are POSTs too: the kinds (methods) that write.
WRITE_KINDS = {
    "salesmanago": frozenset(
        {
            *("upsert", "insert", "update", "batchupsert", "batchupsertv2", "delete"),
            *("optin", "optout", "batchoptin", "batchoptout"),
        }
    )
}


def value(text: str) -> Any:
    """An option's value as `integrate emulate --set` reads it: int, float, bool or text."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def is_write(plugin: str, method: str, kind: str) -> bool:
    if plugin in WRITE_KINDS:
        return kind in WRITE_KINDS[plugin]
    return method in WRITE_METHODS and kind not in NOT_WRITES


def keys(body: bytes) -> list[str]:
    """The records a write's JSON body names (Zoho's `data`, SALESmanago's upserts)."""
    try:
        found = json.loads(body) if body else None
    except ValueError:
        return []
    if not isinstance(found, dict):
        return []
    if isinstance(found.get("data"), list):  # Zoho CRM
        return [str(r.get("id") or r.get("Email")) for r in found["data"] if isinstance(r, dict)]
    items = found.get("upsertDetails")  # SALESmanago: batchupsert, else one upsert
    items = items if isinstance(items, list) else [found]
    contacts = (i.get("contact") for i in items if isinstance(i, dict))
    return [str(c.get("email")) for c in contacts if isinstance(c, dict) and c.get("email")]


def observed(cls: type, plugin: str) -> type:
    """The emulator class, noting the records each write call carries (its `written`)."""
    from werkzeug.wrappers import Request

    class Observed(cls):  # type: ignore[misc, valid-type]
        written: list[dict[str, Any]]

        def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
            method = str(environ.get("REQUEST_METHOD", ""))
            body = b""
            if method in WRITE_METHODS:
                body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
                environ["wsgi.input"] = io.BytesIO(body)
            answer = super().__call__(environ, start_response)
            kind = environ.get("integrate.kind") or self.kind_of(Request(environ))
            if is_write(plugin, method, kind):
                self.written.append({"kind": kind, "keys": keys(body)})
            return answer

    return Observed


def calls(emulator: Any, plugin: str) -> dict[str, Any]:
    with emulator.lock:
        kinds = {k: n for k, n in emulator.counts.items() if not k.startswith("fault:")}
        writes = Counter(c.kind for c in emulator.log if is_write(plugin, c.method, c.kind))
    return {
        "kinds": kinds,
        "writes": dict(writes),
        "max_in_flight": emulator.max_in_flight,
        "in_flight": emulator.in_flight,
    }


def answer(emulator: Any, plugin: str, line: str) -> Any:
    command, _, rest = line.strip().partition(" ")
    if command == "calls":
        return calls(emulator, plugin)
    if command == "written":
        return list(emulator.written)
    if command == "count":
        return {"count": len(emulator.records(rest.strip()))}
    if command == "records":
        return emulator.records(rest.strip())
    if command == "seed":
        name, _, records = rest.partition(" ")
        return {"seeded": len(emulator.seed(name, json.loads(records)))}
    if command == "change":
        name, _, rest = rest.partition(" ")
        id, _, values = rest.partition(" ")
        return emulator.change(name, id, json.loads(values))
    if command == "reset":
        with emulator.lock:
            emulator.counts.clear()
            emulator.log.clear()
            emulator.written.clear()
        emulator.reset_max_in_flight()
        return {"reset": True}
    return {"error": f"unknown command {command!r}"}


def main() -> None:
    from integrate.emulation import Faults
    from integrate.plugins import make_plugins

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("plugin")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every call")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", dest="options", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--restore", metavar="FOLDER", help="start from what `save` left here")
    args = parser.parse_args()
    cls = observed(make_plugins().emulators[args.plugin], args.plugin)
    if args.restore:
        emulator = cls.restore(Path(args.restore), {})
        emulator.faults = Faults(latency=args.latency)
    else:
        options = {k: value(v) for k, _, v in (o.partition("=") for o in args.options)}
        emulator = cls(**{"seed": args.seed, **options, "faults": Faults(latency=args.latency)})
    emulator.written = []
    url = emulator.serve("127.0.0.1", 0)
    print(json.dumps({"url": url, "config": emulator.connection_config()}), flush=True)
    try:
        for line in sys.stdin:
            if line.strip():
                print(json.dumps(answer(emulator, args.plugin, line), default=str), flush=True)
    finally:
        emulator.close()


if __name__ == "__main__":
    main()
