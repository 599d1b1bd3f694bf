"""A plugin's emulator served on loopback in a process of its own, driven over stdin, for
benchmarks that need the emulator's own figures (calls by kind, calls in flight) after a run.

    python bench/emulated.py servicedesk_msp --latency 0.05 --set accounts=0

It prints one JSON line, {"url": ..., "config": {...}} (the connection settings that point a
spec at it), then answers each command on stdin with one JSON line:

    calls               {"kinds": {kind: n}, "writes": {kind: n}, "max_in_flight": n, "in_flight": n}
    count OBJECT        {"count": n}
    records OBJECT      [record, ...]
    seed OBJECT JSON    {"seeded": n}       (JSON: a list of records, on the same line)
    reset               {"reset": true}     (counts, request log and max_in_flight start again)

End of input stops it. A write is a call whose method changes something (POST, PUT, PATCH,
DELETE), the OAuth token calls apart.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from typing import Any

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NOT_WRITES = frozenset({"token", "revoke", "consent"})


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


def calls(emulator: Any) -> dict[str, Any]:
    with emulator.lock:
        kinds = {k: n for k, n in emulator.counts.items() if not k.startswith("fault:")}
        writes = Counter(
            c.kind for c in emulator.log if c.method in WRITE_METHODS and c.kind not in NOT_WRITES
        )
    return {
        "kinds": kinds,
        "writes": dict(writes),
        "max_in_flight": emulator.max_in_flight,
        "in_flight": emulator.in_flight,
    }


def answer(emulator: Any, line: str) -> Any:
    command, _, rest = line.strip().partition(" ")
    if command == "calls":
        return calls(emulator)
    if command == "count":
        return {"count": len(emulator.records(rest.strip()))}
    if command == "records":
        return emulator.records(rest.strip())
    if command == "seed":
        name, _, records = rest.partition(" ")
        return {"seeded": len(emulator.seed(name, json.loads(records)))}
    if command == "reset":
        with emulator.lock:
            emulator.counts.clear()
            emulator.log.clear()
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
    args = parser.parse_args()
    cls = make_plugins().emulators[args.plugin]
    options = {k: value(v) for k, _, v in (o.partition("=") for o in args.options)}
    emulator = cls(**{"seed": args.seed, **options, "faults": Faults(latency=args.latency)})
    url = emulator.serve("127.0.0.1", 0)
    print(json.dumps({"url": url, "config": emulator.connection_config()}), flush=True)
    try:
        for line in sys.stdin:
            if line.strip():
                print(json.dumps(answer(emulator, line), default=str), flush=True)
    finally:
        emulator.close()


if __name__ == "__main__":
    main()
