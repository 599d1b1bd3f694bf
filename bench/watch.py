"""Scenario W, push on change (CS-6): `integrate serve` watching one side of a two-way flow
at a 1 s interval, in its own process, on the real clock. A people list (files) kept equal
to Zoho CRM Contacts (the emulator served on loopback in a process of its own, see
emulated.py); a Zoho user's edit is made at a random moment, and the delay is the time
until the edited value is in the files side. While nothing changes, the emulator counts the
calls each look makes (`serve -vv` logs every idle look).

The ClientSuccess round (contacts without a modification date: a look reads them all and
judges them against the link snapshots) is in watch_cs.py; see bench/README.md, "Scenario W".
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import watch_cs
from latency import ServedEmulator

PEOPLE = 50  # on both sides, linked by email by a first run
CHANGES = 5  # edits per round, each pushed by serve
IDLE = 5.0  # seconds of watching with nothing changed, per round (about)
DEADLINE = 30.0  # the most a round waits for one change to arrive

SPEC = """\
integrate: 1
name: watched
connections:
  src: {plugin: files, config: {path: ./src}}
  crm:
    plugin: zoho_crm
    config:
      data_center: com
      accounts_url: ${env:ZOHO_URL}
      client_id: ${env:ZOHO_CLIENT_ID}
      client_secret: ${env:ZOHO_CLIENT_SECRET}
      refresh_token: ${env:ZOHO_REFRESH_TOKEN}
flows:
  people:
    between: [src.people, crm.Contacts]
    match: [[email, Email]]
    fields:
      - {src: email, crm: Email}
      - {src: name, crm: Last_Name}
    watch: {crm: %(interval)gs}
"""


class Serving:
    """`integrate -vv serve` in its own process; its stderr lines kept with their moment."""

    def __init__(self, work: Path, env: dict[str, str], max_runs: int):
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "integrate",
                "-vv",
                "serve",
                "spec.yaml",
                "--max-runs",
                str(max_runs),
            ],
            cwd=work,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[tuple[float, str]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def idle_looks(self, start: float, end: float) -> int:
        return sum(
            1 for at, line in list(self.lines) if start <= at < end and "nothing changed" in line
        )

    def next_idle_look(self) -> None:
        """Wait for the next look that finds nothing changed."""
        seen = len(self.lines)
        deadline = time.monotonic() + DEADLINE
        while not any("nothing changed" in line for _, line in self.lines[seen:]):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"scenario W: no idle look: {self.lines[-5:]}")
            time.sleep(0.001)

    def wait_started(self) -> None:
        deadline = time.monotonic() + DEADLINE
        while not any("serving" in line for _, line in list(self.lines)):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"scenario W: serve did not start: {self.lines[-5:]}")
            time.sleep(0.01)

    def close(self) -> int:
        try:
            return self.process.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return -1


def names_in(path: Path) -> dict[str, str]:
    try:
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except (OSError, json.JSONDecodeError):
        return {}  # written while we read: look again
    return {str(r.get("email")): str(r.get("name")) for r in rows}


def one_round(interval: float, latency: float, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    crm = ServedEmulator("zoho_crm", latency, seed=seed)
    try:
        people = [{"Email": f"p{i}@example.com", "Last_Name": f"Person {i}"} for i in range(PEOPLE)]
        crm.ask(f"seed Contacts {json.dumps(people)}")
        ids = {r["Email"]: r["id"] for r in crm.ask("records Contacts")}
        with tempfile.TemporaryDirectory(prefix="integrate-bench-w-") as folder:
            work = Path(folder)
            (work / "src").mkdir()
            (work / "src/people.jsonl").write_text("")
            (work / "spec.yaml").write_text(SPEC % {"interval": interval})
            env = {
                **os.environ,
                "INTEGRATE_HOME": str(work / ".integrate"),
                **crm.zoho_variables("ZOHO_URL"),
            }
            first = watch_cs.first_run(work, env)
            if first.returncode != 0 or len(names_in(work / "src/people.jsonl")) != PEOPLE:
                raise SystemExit(f"scenario W: the first run failed: {first.stderr[-2000:]}")
            serving = Serving(work, env, CHANGES)
            try:
                serving.wait_started()
                # from just after an idle look to mid-interval: no look straddles the window
                serving.next_idle_look()
                crm.ask("reset")
                start = time.monotonic()
                time.sleep(IDLE - interval / 2)
                idle_calls = crm.ask("calls")["kinds"]
                end = time.monotonic()
                looks = serving.idle_looks(start, end)
                delays = []
                for n in range(CHANGES):
                    time.sleep(rng.uniform(0, interval))  # any moment of the interval
                    email = f"p{rng.randrange(PEOPLE)}@example.com"
                    name = f"Edited {n}"
                    crm.ask(f"change Contacts {ids[email]} {json.dumps({'Last_Name': name})}")
                    changed = time.monotonic()
                    while names_in(work / "src/people.jsonl").get(email) != name:
                        if time.monotonic() - changed > DEADLINE:
                            raise SystemExit(f"scenario W: change {n} did not arrive")
                        time.sleep(0.005)
                    delays.append(time.monotonic() - changed)
            finally:
                code = serving.close()
            if code != 0:
                raise SystemExit(f"scenario W: serve ended with {code}: {serving.lines[-5:]}")
    finally:
        crm.close()
    return {
        "delays": delays,
        "idle_seconds": end - start,
        "idle_looks": looks,
        "idle_calls": idle_calls,
    }


def scenario_w(runs: int, interval: float = 1.0, latency: float = 0.0) -> dict[str, Any]:
    rounds = [one_round(interval, latency, seed) for seed in range(1, runs + 1)]
    cs = watch_cs.scenario_w_cs(runs, interval, Serving)
    return {"interval": interval, "latency": latency, "people": PEOPLE, "rounds": rounds, "cs": cs}


def w_report(w: dict[str, Any], median_range: Any) -> list[str]:
    interval = w["interval"]
    delays = [d for r in w["rounds"] for d in r["delays"]]
    per_look = [sum(r["idle_calls"].values()) / max(1, r["idle_looks"]) for r in w["rounds"]]
    kinds: dict[str, int] = {}
    for r in w["rounds"]:
        for kind, n in r["idle_calls"].items():
            kinds[kind] = kinds.get(kind, 0) + n
    looks = sum(r["idle_looks"] for r in w["rounds"])
    delay_ok = max(delays) <= interval + 1.0
    calls_ok = all(
        set(r["idle_calls"]) <= {"list"} and sum(r["idle_calls"].values()) == r["idle_looks"]
        for r in w["rounds"]
    )
    cs_rows = ["| clientsuccess (contacts, no modification date) | to be recorded | | |"]
    cs_lines: list[str] = []
    if "cs" in w:  # recorded before the ClientSuccess round: no row yet
        cs_rows = watch_cs.cs_rows(w["cs"], median_range)
        cs_lines = watch_cs.cs_lines(w["cs"], interval)
    return [
        f"## W: push on change (`serve` watching Zoho CRM Contacts and ClientSuccess contacts "
        f"every {interval:g} s)",
        "",
        f"Zoho CRM rounds: a two-way flow, files ⇄ Zoho CRM Contacts ({w['people']} people linked by email), "
        f"the Zoho emulator served on loopback ({w['latency'] * 1000:g} ms added a call), "
        f"`integrate serve` in its own process with `watch: {{crm: {interval:g}s}}`. Each round: "
        f"about {IDLE:g} s with nothing changed (from just after an idle look), then {CHANGES} Zoho edits, each at a random moment "
        "of the interval, each timed until its value is in the files side.",
        "",
        "| plugin (object) | push-on-change delay (s) | slowest (s) | calls per idle look |",
        "|---|---|---|---|",
        f"| zoho_crm (Contacts, by `Modified_Time`) | {median_range(delays)} | "
        f"{max(delays):.3f} | {median_range(per_look, '{:.2f}')} |",
        *cs_rows,
        "",
        f"Zoho CRM idle calls by kind over {looks} idle looks: "
        + ", ".join(f"`{k}` {n}" for k, n in sorted(kinds.items()))
        + ".",
        "",
        f"Targets (Zoho CRM): every change arrives within one interval plus one run (≤ {interval + 1:g} s "
        f"here): **{'holds' if delay_ok else 'does not hold'}**; an idle look costs one call "
        f"per watched object (one `list` of Contacts since the cursor): "
        f"**{'holds' if calls_ok else 'does not hold'}**.",
        "",
        *cs_lines,
    ]
