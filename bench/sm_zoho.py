"""Scenario SM, SALESmanago ⇄ Zoho CRM at scale (issue 11): the same people on both sides,
linked by email; then rounds of 1% of them edited on each side and a rerun, then a rerun
with nothing changed. Both emulators are served on loopback, each in its own process and
answering every call `latency` seconds late, and `integrate run` runs as a subprocess, as in
scenario L. What each run did is what the emulators saw: calls by kind, the records each
write carried, and both sides' records afterwards, checked person by person.

The spec is a copy of specs/salesmanago-zoho_crm.yaml made by `bench_spec` (the lines it
changes, and why, are in bench/README.md). The figures and targets are in sm_figures.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SPEC = ROOT / "specs/salesmanago-zoho_crm.yaml"
CONNECTIONS = {"sm": "salesmanago", "crm": "zoho_crm"}
MODULES = ("Leads", "Contacts")


def _bench(name: str) -> Any:
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    import importlib

    return importlib.import_module(name)


def bench_spec(text: str) -> str:
    """The spec `text` (the real one's), with SALESmanago's clock taken as this machine's
    (`clock_skew: 0`). The spec itself points at the served emulators when SALESMANAGO_URL
    and ZOHO_ACCOUNTS_URL are set (`env`); it must read them, since a benchmark must never
    call the real systems."""
    for name in ("SALESMANAGO_URL", "ZOHO_ACCOUNTS_URL"):
        if f"${{env:{name}" not in text:
            raise SystemExit(f"scenario SM: {SPEC.name} does not read ${{env:{name}}}")
    if "      clock_skew:" in text:
        return text
    return _once(text, "      server: app3\n", "      clock_skew: 0\n")


def _once(text: str, line: str, after: str) -> str:
    if text.count(line) != 1:
        raise SystemExit(f"scenario SM: {SPEC.name} has no single `{line.strip()}` line")
    return text.replace(line, line + after)


class Sides:
    """Both emulators served from the saved world, `latency` seconds a call."""

    def __init__(self, folder: Path, latency: float):
        served = _bench("latency").ServedEmulator
        self.sm = served("salesmanago", latency, restore=folder)
        try:
            self.crm = served("zoho_crm", latency, restore=folder)
        except BaseException:
            self.sm.close()
            raise

    def env(self, world: dict[str, Any], work: Path) -> dict[str, str]:
        sm, crm = self.sm.config, self.crm.config
        return {
            **os.environ,
            "SALESMANAGO_URL": sm["base_url"],
            "SALESMANAGO_CLIENT_ID": sm["client_id"],
            "SALESMANAGO_API_SECRET": sm["api_secret"],
            "SALESMANAGO_OWNER": world["owner"],
            "ZOHO_ACCOUNTS_URL": self.crm.url,
            "ZOHO_CLIENT_ID": crm["client_id"],
            "ZOHO_CLIENT_SECRET": crm["client_secret"],
            "ZOHO_REFRESH_TOKEN": crm["refresh_token"],
            "ZOHO_DEFAULT_OWNER_ID": world["default_owner_id"],
            "INTEGRATE_HOME": str(work / ".integrate"),
        }

    def people(self) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        world = _bench("sm_world")
        crm = {m: self.crm.ask(f"records {m}") for m in MODULES}
        return world.people(self.sm.ask("records contacts"), crm)

    def change(self, side: str, object: str, id: str, values: dict[str, Any]) -> None:
        emulator = self.sm if side == "sm" else self.crm
        answer = emulator.ask(f"change {object} {id} {json.dumps(values)}")
        if not isinstance(answer, dict) or "error" in answer:
            raise SystemExit(f"scenario SM: the {side} emulator refused an edit: {answer}")

    def reset(self) -> None:
        self.sm.ask("reset")
        self.crm.ask("reset")

    def seen(self) -> dict[str, Any]:
        """Each emulator's calls (by kind, writes, most in flight) and the records each write
        carried, since the last reset."""
        return {
            "calls": {"sm": self.sm.ask("calls"), "crm": self.crm.ask("calls")},
            "written": {"sm": self.sm.ask("written"), "crm": self.crm.ask("written")},
        }

    def close(self) -> None:
        self.sm.close()
        self.crm.close()


def run_integrate(work: Path, env: dict[str, str], profile: Path | None = None) -> dict[str, Any]:
    """`integrate run --json` of the bench spec in `work`: wall time and the run report's
    figures (status, seconds, the flow's reads and outcomes per direction)."""
    run = [str(BIN / "integrate"), "run", "spec.yaml", "--state", "state.db", "--json"]
    command = [sys.executable, "-m", "cProfile", "-o", str(profile), *run] if profile else run
    start = time.perf_counter()
    done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(
            f"scenario SM: integrate run exited {done.returncode}:\n{done.stderr[-3000:]}"
        )
    summary = json.loads(done.stdout)
    flow = summary["flows"][0]
    return {
        "seconds": seconds,
        "run_seconds": summary.get("seconds"),
        "status": summary.get("status"),
        "read": flow["read"],
        "outcomes": flow["outcomes"],
    }


def measured(
    sides: Sides, work: Path, env: dict[str, str], profile: Path | None = None
) -> dict[str, Any]:
    sides.reset()
    row = run_integrate(work, env, profile)
    row.update(sides.seen())
    return row


def first_sync(sides: Sides, work: Path, env: dict[str, str]) -> dict[str, Any]:
    """The first run (every contact on both sides read and linked by email), checked: both
    sides hold the same people afterwards; then a rerun with nothing changed."""
    world = _bench("sm_world")
    first = measured(sides, work, env)
    sm, crm = sides.people()
    wrong = world.differences(
        "crm", crm, {e: {k: p[k] for k in world.COMMON} for e, p in sm.items()}
    )
    if wrong:
        raise SystemExit(f"scenario SM: the sides differ after the first run: {'; '.join(wrong)}")
    time.sleep(1.1)
    same = measured(sides, work, env)
    return {"first": first, "same": same, "people": len(sm)}


def one_round(
    sides: Sides, work: Path, env: dict[str, str], round: int, profile: Path | None = None
) -> dict[str, Any]:
    """1% of the people edited on each side, the rerun that carries the edits over, checked
    person by person, then a rerun with nothing changed, checked the same way."""
    world = _bench("sm_world")
    sm, crm = sides.people()
    base = {e: {k: p[k] for k in world.COMMON} for e, p in sm.items()}
    edits = world.plan_edits([sm[e] for e in sorted(sm)], round)
    time.sleep(1.1)  # Zoho's Modified_Time has whole seconds: the edits come after the last read
    for edit in edits:
        person = sm[edit["email"]] if edit["side"] == "sm" else crm[edit["email"]]
        sides.change(edit["side"], *world.change_of(edit, person))
    on_sm = {e["email"] for e in edits if e["side"] == "sm"}
    on_crm = {e["email"] for e in edits if e["side"] == "crm"}
    want = world.expected(base, edits)
    row: dict[str, Any] = {
        "edits": {"sm": len(on_sm), "crm": len(on_crm), "both": len(on_sm & on_crm)},
        # What must land on each side, grouped as the vendor's API writes them apart
        "to_crm": dict(Counter(crm[e]["module"] for e in on_sm)),
        "to_sm": dict(Counter(sm[e]["owner"] for e in on_crm)),
        # What each side holds modified since its last read, and the contacts SALESmanago
        # must be asked for before their upsert (not read in the same run)
        "read_sm": {"modified": len(on_sm), "fetch": len(on_crm - on_sm)},
        "read_crm": dict(Counter(crm[e]["module"] for e in on_crm)),
        "same_read_sm": {"modified": len(on_crm), "fetch": 0},
        "same_read_crm": dict(Counter(crm[e]["module"] for e in on_sm)),
    }
    expected = {"crm": {crm[e]["id"] for e in on_sm}, "sm": {sm[e]["email"] for e in on_crm}}
    row["changed"] = measured(sides, work, env, profile)
    row["changed_check"] = _check(sides, want, row["changed"], expected)
    time.sleep(1.1)
    row["same"] = measured(sides, work, env)
    row["same_check"] = _check(sides, want, row["same"], {"crm": set(), "sm": set()})
    return row


def _check(
    sides: Sides,
    want: dict[str, dict[str, Any]],
    run: dict[str, Any],
    expected: dict[str, set[str]],
) -> dict[str, Any]:
    """Both sides against `want`, person by person, and the records each side was written
    against those `expected` there: the ones missing and the ones too many (echoes)."""
    world = _bench("sm_world")
    sm, crm = sides.people()
    out: dict[str, Any] = {
        "people": world.differences("sm", sm, want) + world.differences("crm", crm, want)
    }
    for side in CONNECTIONS:
        written = Counter(
            k.casefold() if side == "sm" else k
            for call in run["written"][side]
            for k in call["keys"]
        )
        wanted = {k.casefold() if side == "sm" else k for k in expected[side]}
        out[side] = {
            "written": sum(written.values()),
            "missing": len(wanted - set(written)),
            "echoes": sum(n for k, n in written.items() if k not in wanted),
            "twice": sum(n - 1 for k, n in written.items() if k in wanted and n > 1),
        }
    return out


def scenario_sm(runs: int, contacts: int, latency: float) -> dict[str, Any]:
    """Build the world, serve it, the first run, then `runs` rounds (each: 1% edited on both
    sides, the rerun, a rerun with nothing changed); when the latency target does not hold,
    one more round with `integrate run` under cProfile."""
    world_module = _bench("sm_world")
    figures = _bench("sm_figures")
    latency_module = _bench("latency")
    results: dict[str, Any] = {"latency": latency, "rounds": []}
    with tempfile.TemporaryDirectory(prefix="integrate-bench-sm-") as tmp:
        work = Path(tmp)
        print(f"  SM: building {contacts:,} people on each side", file=sys.stderr, flush=True)
        world = world_module.build(work / "world", contacts)
        results["world"] = world
        spec = bench_spec(SPEC.read_text())
        (work / "spec.yaml").write_text(spec)
        sides = Sides(work / "world", latency)
        try:
            env = sides.env(world, work)
            results["limits"] = {
                alias: latency_module.http_limits(work / "spec.yaml", alias, config)
                for alias, config in (("sm", sides.sm.config), ("crm", sides.crm.config))
            }
            results["batch"] = figures.batch_limits(work / "spec.yaml")
            print("  SM: the first run", file=sys.stderr, flush=True)
            results.update(first_sync(sides, work, env))
            for n in range(runs):
                print(f"  SM: round {n + 1} of {runs}", file=sys.stderr, flush=True)
                results["rounds"].append(one_round(sides, work, env, n))
            if not figures.sm_holds(results):
                print("  SM: profiling one more round", file=sys.stderr, flush=True)
                prof = work / "run.prof"
                profiled = one_round(sides, work, env, runs, profile=prof)
                results["profile"] = {
                    "seconds": profiled["changed"]["seconds"],
                    "phases": phases(prof),
                    "rows": latency_module.cumulative_rows(prof),
                }
        finally:
            sides.close()
    return results


def phases(path: Path) -> list[dict[str, Any]]:
    """Where a profiled `integrate run` spends its time (main thread, seconds under
    cProfile): before the run starts (imports, the command line, the spec), opening the
    connections, waiting for the emulators' answers, and the engine's own work."""
    import pstats

    table = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    total = max(v[3] for v in table.values())

    def cumulative(file: str, name: str) -> float:
        return sum(v[3] for (f, _line, n), v in table.items() if n == name and f.endswith(file))

    run = cumulative("core/engine/runner.py", "run_spec")
    opening = cumulative("core/engine/runner.py", "open_connectors")
    waiting = sum(
        v[2]
        for (_f, _line, n), v in table.items()
        if n == "<method 'acquire' of '_thread.lock' objects>"
    )
    return [
        {"phase": "start-up: Python, imports, the command line, the spec", "seconds": total - run},
        {"phase": "opening both connections (importing httpx, its clients)", "seconds": opening},
        {"phase": "waiting for the emulators' answers (reads and writes)", "seconds": waiting},
        {
            "phase": "the engine's own work (matching, mapping, state)",
            "seconds": run - opening - waiting,
        },
    ]
