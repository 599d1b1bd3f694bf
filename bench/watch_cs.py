"""Scenario W's ClientSuccess round (CS-6): `integrate serve` watching ClientSuccess contacts,
two-way with Zoho CRM Contacts, each emulator served on loopback in a process of its own
(emulated.py), on the real clock. A ClientSuccess user's edit is timed until its value is in
the Zoho emulator; while nothing changes, the ClientSuccess emulator counts each look's calls.

ClientSuccess contacts carry no modification date and v1 has no account-wide contact list: a
look lists the clients, then each client's contacts, and judges every contact against the
link snapshots. Its cost grows with the clients, so the round runs at more than one size.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from latency import ServedEmulator

SIZES = ((2, 5), (10, 5))  # (clients, contacts per client)
CHANGES = 3  # edits per round, each pushed by serve
IDLE_LOOKS = 2  # idle looks counted per round
RATE = 10.0  # the emulator's calls a second per token (ASSUMED) and the plugin's pacing
DEADLINE = 30.0  # the most a round waits for one change to arrive

SPEC = """\
integrate: 1
name: watched-cs
connections:
  cs:
    plugin: clientsuccess
    config:
      base_url: ${env:CS_URL}
      username: ${env:CLIENTSUCCESS_USERNAME}
      password: ${env:CLIENTSUCCESS_PASSWORD}
  crm:
    plugin: zoho_crm
    config:
      data_center: com
      accounts_url: ${env:ZOHO_URL}
      client_id: ${env:ZOHO_CLIENT_ID}
      client_secret: ${env:ZOHO_CLIENT_SECRET}
      refresh_token: ${env:ZOHO_REFRESH_TOKEN}
flows:
  contacts:
    between: [cs.contacts, crm.Contacts]
    direction: both
    match: [[email, Email]]
    unmatched: create
    fields:
      - {cs: email, crm: Email}
      - {cs: firstName, crm: First_Name}
      - {cs: lastName, crm: Last_Name}
    watch: {cs: %(interval)gs}
"""


def seeded(cs: ServedEmulator, clients: int, per_client: int) -> dict[str, str]:
    """`clients` clients of `per_client` contacts each on ClientSuccess; contact ids by email."""
    cs.ask(f"seed clients {json.dumps([{'name': f'Client {c}'} for c in range(clients)])}")
    ids = [str(r["id"]) for r in cs.ask("records clients")]
    people = [
        {"clientId": ids[c], "firstName": f"P{c}-{n}", "lastName": f"Person {c}-{n}",
         "email": f"p{c}-{n}@example.com"}
        for c in range(clients)
        for n in range(per_client)
    ]  # fmt: skip
    cs.ask(f"seed contacts {json.dumps(people)}")
    return {str(r["email"]): str(r["id"]) for r in cs.ask("records contacts")}


def first_run(work: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`integrate run spec.yaml` in `work`: the first run that links both sides."""
    return subprocess.run(
        [sys.executable, "-m", "integrate", "run", "spec.yaml"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def last_names(crm: ServedEmulator) -> dict[str, str]:
    return {str(r.get("Email")): str(r.get("Last_Name")) for r in crm.ask("records Contacts")}


def idle_calls(serving: Any, cs: ServedEmulator, looks: int) -> tuple[dict[str, int], float]:
    """The ClientSuccess calls of exactly `looks` idle looks: counted from just after one
    idle look's line to just after the `looks`-th next one (the next look's first call is
    paced ~1/RATE s later)."""
    serving.next_idle_look()
    cs.ask("reset")
    start = time.monotonic()
    for _ in range(looks):
        serving.next_idle_look()
    kinds: dict[str, int] = cs.ask("calls")["kinds"]
    return kinds, time.monotonic() - start


def one_round(
    serving_class: Any, clients: int, per_client: int, interval: float, seed: int
) -> dict[str, Any]:
    """One round at one size; `serving_class` is watch.py's `Serving` (serve in its process)."""
    rng = random.Random(seed)
    cs = ServedEmulator("clientsuccess", 0.0, seed=seed, clients=0, contacts_per_client=0)
    crm = ServedEmulator("zoho_crm", 0.0, seed=seed)
    try:
        ids = seeded(cs, clients, per_client)
        with tempfile.TemporaryDirectory(prefix="integrate-bench-w-cs-") as folder:
            work = Path(folder)
            (work / "spec.yaml").write_text(SPEC % {"interval": interval})
            env = {
                **os.environ,
                "INTEGRATE_HOME": str(work / ".integrate"),
                "CS_URL": cs.config["base_url"],
                "CLIENTSUCCESS_USERNAME": cs.config["username"],
                "CLIENTSUCCESS_PASSWORD": cs.config["password"],
                **crm.zoho_variables("ZOHO_URL"),
            }
            first = first_run(work, env)
            if first.returncode != 0 or len(last_names(crm)) != len(ids):
                raise SystemExit(f"scenario W (cs): the first run failed: {first.stderr[-2000:]}")
            serving = serving_class(work, env, CHANGES)
            try:
                serving.wait_started()
                kinds, idle_seconds = idle_calls(serving, cs, IDLE_LOOKS)
                delays = []
                for n in range(CHANGES):
                    time.sleep(rng.uniform(0, interval))  # any moment of the interval
                    email = rng.choice(sorted(ids))
                    name = f"Edited {n}"
                    cs.ask(f"change contacts {ids[email]} {json.dumps({'lastName': name})}")
                    changed = time.monotonic()
                    while last_names(crm).get(email) != name:
                        if time.monotonic() - changed > DEADLINE:
                            raise SystemExit(f"scenario W (cs): change {n} did not arrive")
                        time.sleep(0.01)
                    delays.append(time.monotonic() - changed)
            finally:
                code = serving.close()
            if code != 0:
                raise SystemExit(f"scenario W (cs): serve ended with {code}: {serving.lines[-5:]}")
    finally:
        cs.close()
        crm.close()
    return {
        "delays": delays,
        "idle_seconds": idle_seconds,
        "idle_looks": IDLE_LOOKS,
        "idle_calls": kinds,
    }


def scenario_w_cs(runs: int, interval: float, serving_class: Any) -> list[dict[str, Any]]:
    """One entry per size: its clients, contacts per client and rounds."""
    return [
        {
            "clients": clients,
            "per_client": per_client,
            "rounds": [
                one_round(serving_class, clients, per_client, interval, s)
                for s in range(1, runs + 1)
            ],
        }
        for clients, per_client in SIZES
    ]


def list_calls(size: dict[str, Any]) -> int:
    """What an idle look costs at least: one list of clients, one list per client."""
    return 1 + int(size["clients"])


def per_look(size: dict[str, Any]) -> list[float]:
    return [sum(r["idle_calls"].values()) / max(1, r["idle_looks"]) for r in size["rounds"]]


def delays_of(size: dict[str, Any]) -> list[float]:
    return [d for r in size["rounds"] for d in r["delays"]]


def lists_ok(size: dict[str, Any]) -> bool:
    """An idle look lists the clients once and each client's contacts once, and writes
    nothing (a login apart, no other call)."""
    return all(
        set(r["idle_calls"]) <= {"list", "auth"}
        and r["idle_calls"].get("list", 0) == list_calls(size) * r["idle_looks"]
        for r in size["rounds"]
    )


def logins(size: dict[str, Any]) -> float:
    """Logins (`auth`) per idle look."""
    rounds = size["rounds"]
    return sum(r["idle_calls"].get("auth", 0) for r in rounds) / max(
        1, sum(r["idle_looks"] for r in rounds)
    )


def cs_rows(sizes: list[dict[str, Any]], median_range: Any) -> list[str]:
    return [
        f"| clientsuccess (contacts, no modification date; {s['clients']} clients of "
        f"{s['per_client']} contacts) | {median_range(delays_of(s))} | "
        f"{max(delays_of(s)):.3f} | {median_range(per_look(s), '{:.2f}')} |"
        for s in sizes
    ]


def cs_lines(sizes: list[dict[str, Any]], interval: float) -> list[str]:
    """What the ClientSuccess rows mean, and their verdicts size by size."""
    lines = [
        "ClientSuccess rounds: the ClientSuccess and the Zoho emulator each served on "
        "loopback, a contacts flow shaped like specs/clientsuccess-zoho_crm.yaml's "
        f"(`watch: {{cs: {interval:g}s}}`; matched by email, no clients flow), linked by a "
        f"first run; per round {IDLE_LOOKS} idle looks counted on the ClientSuccess emulator, "
        f"then {CHANGES} ClientSuccess edits (`lastName`), each at a random moment of the "
        "interval, each timed until the value is in Zoho's Contacts. ClientSuccess v1 has no "
        "account-wide contact list: a look lists the clients, then each client's contacts, "
        f"paced at {RATE:g} calls/s (the plugin's `requests_per_second`, the emulator's "
        "ASSUMED limit per token). A change made just after its client was listed waits for "
        "the next look, then for a run that lists them all again: the delay can reach one "
        "interval plus about twice (1 + clients) / 10 s. At most one call per watched object "
        "when nothing changed "
        "holds for a watch of clients (one unpaged list of clients), not for contacts.",
        "",
    ]
    for s in sizes:
        kinds: dict[str, int] = {}
        for r in s["rounds"]:
            for kind, n in r["idle_calls"].items():
                kinds[kind] = kinds.get(kind, 0) + n
        looks = sum(r["idle_looks"] for r in s["rounds"])
        calls = list_calls(s) + logins(s)
        pacing = list_calls(s) / RATE
        paced = "longer" if pacing > interval else "shorter"
        delay_ok = max(delays_of(s)) <= interval + 1.0
        lines.append(
            f"- {s['clients']} clients of {s['per_client']} contacts: idle calls by kind over "
            f"{looks} idle looks: "
            + ", ".join(f"`{k}` {n}" for k, n in sorted(kinds.items()))
            + f"; a look's lists take ~{pacing:.1f} s of pacing, {paced} than the "
            f"{interval:g} s interval. Targets: every change arrives within one interval plus "
            f"one run (≤ {interval + 1:g} s here): "
            f"**{'holds' if delay_ok else 'does not hold'}**; an idle look lists the clients "
            f"once and each client's contacts once ({list_calls(s)} `list`), nothing written: "
            f"**{'holds' if lists_ok(s) else 'does not hold'}**; at most one call per watched "
            f"object: **{'holds' if calls <= 1 else 'does not hold'}** ({calls:g} calls a look, "
            f"{logins(s):g} of them a login)."
        )
    return [*lines, ""]
