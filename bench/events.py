"""Scenario E, event to comment (ID-7, issue 13): the Zoho CRM → Ideolve spec
(specs/zoho_crm-ideolve.yaml as shipped, pointed at the emulators by its variables) under `integrate
serve` in its own process on the real clock; both emulators served on loopback in processes of
their own (see emulated.py), the Zoho one POSTing its callbacks to serve's receiver by itself.
N Zoho edits, each at a random moment, each timed from the edit to its comment being in the
Ideolve emulator (its records polled every 5 ms). Each delay is split by serve's state file:
callback delivery (edit → received), the wait for the run (received → run start) and the run
(its reads of Zoho and the comment write: run start → comment seen). See bench/README.md.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from latency import ServedEmulator

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs/zoho_crm-ideolve.yaml"
ACCOUNTS = 5  # accounts with a note, made by webhook before the timed edits
EDITS = 10  # timed edits per round
GAP = 1.0  # each edit comes at a random moment of up to this many seconds after the last
DEADLINE = 30.0  # the most a round waits for one comment
POLL = 0.005  # seconds between looks at Ideolve's notes
TARGET = 2.0  # seconds from a Zoho edit to its comment, on loopback
USER = "sales.bot@example.com"


def operators_copy() -> str:
    """The shipped spec as it is: it reads Zoho's accounts server and Ideolve's base URL from
    the environment (ZOHO_ACCOUNTS_URL, IDEOLVE_URL), which point it at the emulators; a spec
    that does not would call the real systems, which a benchmark must never do."""
    text = SPEC.read_text()
    for reads in ("${env:ZOHO_ACCOUNTS_URL", "${env:IDEOLVE_URL"):
        if reads not in text:
            raise SystemExit(f"scenario E: {SPEC.name} does not read {reads[6:]}")
    return text


def moment(iso: str) -> float:
    return dt.datetime.fromisoformat(iso).timestamp()


def comments(ideolve: ServedEmulator) -> dict[str, int]:
    return {n["subject"]: len(n.get("comments") or []) for n in ideolve.ask("records notes")}


def wait_for(what: str, done: Any, serve: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not done():
        if serve.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"scenario E: {what}: not within {DEADLINE:g} s")
        time.sleep(POLL)


def split(db_path: Path, id: str, edited: float) -> dict[str, float]:
    """From serve's state: when the edit's callback was received and when its run started."""
    db = sqlite3.connect(db_path, timeout=5)
    try:
        events = db.execute(
            "SELECT received_at FROM webhook_events WHERE ids LIKE ? ORDER BY seq",
            (f'%"{id}"%',),
        ).fetchall()
        received = [moment(at) for (at,) in events if moment(at) >= edited]
        if not received:
            return {}
        runs = db.execute("SELECT started_at FROM runs ORDER BY run_id").fetchall()
    finally:
        db.close()
    started = [moment(at) for (at,) in runs if moment(at) >= received[0]]
    if not started:
        return {}
    return {"delivery": received[0] - edited, "to_run": started[0] - received[0],
            "run_at": started[0]}  # fmt: skip


def one_round(seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    crm = ServedEmulator("zoho_crm", 0.0, seed=seed, data_center="in")
    ideolve = ServedEmulator("ideolve", 0.0, user=USER)
    serve: subprocess.Popen[bytes] | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="integrate-bench-e-") as folder:
            work = Path(folder)
            (work / "spec.yaml").write_text(operators_copy())
            env = {
                **os.environ,
                "INTEGRATE_HOME": str(work / ".integrate"),
                "ZOHO_ACCOUNTS_URL": crm.url,
                "ZOHO_CLIENT_ID": crm.config["client_id"],
                "ZOHO_CLIENT_SECRET": crm.config["client_secret"],
                "ZOHO_REFRESH_TOKEN": crm.config["refresh_token"],
                "IDEOLVE_CLIENT_ID": ideolve.config["client_id"],
                "IDEOLVE_API_KEY": ideolve.config["api_key"],
                "IDEOLVE_URL": ideolve.config["base_url"],
            }
            serve = subprocess.Popen(
                [sys.executable, "-m", "integrate", "serve", "spec.yaml", "--port", "0"],
                cwd=work,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            db = work / ".integrate/state.db"
            wait_for("the catch-up run on start", lambda: caught_up(db), serve)
            accounts = [{"Account_Name": f"Account {i}", "Phone": "0"} for i in range(ACCOUNTS)]
            crm.ask(f"seed Accounts {json.dumps(accounts)}")
            wait_for("the notes", lambda: len(comments(ideolve)) == ACCOUNTS, serve)
            ids = {r["Account_Name"]: str(r["id"]) for r in crm.ask("records Accounts")}
            edits = []
            for n in range(EDITS):
                time.sleep(rng.uniform(0, GAP))  # a random moment
                name = f"Account {rng.randrange(ACCOUNTS)}"
                before = comments(ideolve)[f"Account: {name}"]
                crm.ask("reset")
                edited = time.time()
                crm.ask(f"change Accounts {ids[name]} {json.dumps({'Phone': str(n + 1)})}")
                started = time.monotonic()
                wait_for(
                    f"edit {n}'s comment",
                    lambda name=name, before=before: comments(ideolve)[f"Account: {name}"] > before,
                    serve,
                )
                delay = time.monotonic() - started
                seen = edited + delay
                parts = split(db, ids[name], edited)
                edits.append(
                    {
                        "delay": delay,
                        "delivery": parts.get("delivery"),
                        "to_run": parts.get("to_run"),
                        "run": seen - parts["run_at"] if parts else None,
                        "crm_calls": crm.ask("calls")["kinds"],
                    }
                )
    finally:
        if serve is not None and serve.poll() is None:
            serve.terminate()  # SIGTERM: serve stops at a safe point
            try:
                serve.wait(timeout=DEADLINE)
            except subprocess.TimeoutExpired:
                serve.kill()
                serve.wait()
        crm.close()
        ideolve.close()
    return {"edits": edits}


def caught_up(db_path: Path) -> bool:
    """Whether serve's catch-up run on start has committed (its channel is subscribed)."""
    if not db_path.exists():
        return False
    db = sqlite3.connect(db_path, timeout=5)
    try:
        return bool(db.execute("SELECT 1 FROM runs WHERE status = 'succeeded'").fetchall())
    except sqlite3.OperationalError:
        return False  # not made yet
    finally:
        db.close()


def scenario_e(runs: int) -> dict[str, Any]:
    rounds = [one_round(seed) for seed in range(1, runs + 1)]
    return {"accounts": ACCOUNTS, "edits": EDITS, "gap": GAP, "rounds": rounds}


def e_report(e: dict[str, Any], median_range: Any) -> list[str]:
    edits = [x for r in e["rounds"] for x in r["edits"]]
    delays = [x["delay"] for x in edits]
    holds = max(delays) < TARGET
    rows = []
    for key, what in (
        ("delivery", "callback delivery (Zoho edit → serve received it)"),
        ("to_run", "wait for the run (received → run start)"),
        ("run", "the run: its reads of Zoho and the comment write (start → comment seen)"),
    ):
        values = [x[key] for x in edits if x.get(key) is not None]
        if values:
            rows.append(f"| {what} | {median_range(values)} | {max(values):.3f} |")
    calls: dict[str, int] = {}
    for x in edits:
        for kind, n in x.get("crm_calls", {}).items():
            calls[kind] = calls.get(kind, 0) + n
    per_edit = ", ".join(f"`{k}` {n / len(edits):.1f}" for k, n in sorted(calls.items()))
    shares = {k: statistics.median([x[k] for x in edits if x.get(k) is not None] or [0.0])
              for k in ("delivery", "to_run", "run")}  # fmt: skip
    bound = max(shares, key=lambda k: shares[k])
    names = {"delivery": "callback delivery", "to_run": "the wait for the run",
             "run": "the run's reads and the comment write"}  # fmt: skip
    return [
        "## E: event to comment (`serve` with the Zoho CRM → Ideolve spec)",
        "",
        f"The shipped spec (pointed at the emulators by ZOHO_ACCOUNTS_URL and IDEOLVE_URL) under `integrate serve` "
        f"in its own process; both emulators served on loopback in processes of their own, no "
        f"added latency, the Zoho one POSTing its callbacks by itself. {e['accounts']} Accounts "
        f"with a note, then {e['edits']} Zoho edits a round ({len(e['rounds'])} rounds), each "
        f"at a random moment up to {e['gap']:g} s after the last, each timed from the edit to "
        "its comment in the Ideolve emulator (polled every 5 ms).",
        "",
        "| | median (range) (s) | slowest (s) |",
        "|---|---|---|",
        f"| **event to comment** | {median_range(delays)} | {max(delays):.3f} |",
        *rows,
        "",
        f"Zoho calls a timed edit (the run's reads, by kind, on average): {per_edit}.",
        "",
        f"Target: every comment within {TARGET:g} s of its Zoho edit on loopback: "
        f"**{'holds' if holds else 'does not hold'}** (slowest {max(delays):.3f} s). "
        f"What bounds it (the largest median share): {names[bound]}.",
        "",
    ]
