"""Scenario F, a filter pushed down into Zoho's COQL (issue 12, CS-1): Zoho CRM Accounts into
a files folder through a one-way flow whose filter is the ClientSuccess spec's
(`Account_Status == 'Customer' || Sync_with_ClientSuccess == `true``), on 10,000 accounts of
which 10% match, read with the filter pushed down and without it (the same filter with one
more branch no query language can say, so the engine alone applies it), in one process on a
fake clock: the calls by kind, the API credits they cost (§10.1: 1 a Get Records page; a COQL
query by its LIMIT, 3 at 2,000), the records Zoho answered (the emulator's count: a read by key
answers the records of each page's last second twice), the records the connector handed over
and the records written. Then 1% of the
accounts edited (a tenth of them matching) and a rerun each way. Calls are deterministic;
wall time is given for information.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

PUSHED = "Account_Status == 'Customer' || Sync_with_ClientSuccess == `true`"
NOT_PUSHED = PUSHED + " || contains(`[]`, Account_Name)"
SPEC = """\
integrate: 1
name: crm-clients
connections:
  crm:
    plugin: zoho_crm
    config:
      data_center: com
      client_id: ${env:ZOHO_CLIENT_ID}
      client_secret: ${env:ZOHO_CLIENT_SECRET}
      refresh_token: ${env:ZOHO_REFRESH_TOKEN}
  out: {plugin: files, config: {path: ./out}}
flows:
  clients:
    from: crm.Accounts
    to: out.clients
    filter: "%s"
    match: [[id, crm_id]]
    fields:
      crm_id: id
      name: Account_Name
      website: Website
      city: Billing_City
      country: Billing_Country
"""
START = 1_790_000_000.0
WRITE_KINDS = ("insert", "update", "upsert", "delete")


def _world(accounts: int) -> tuple[Any, Any]:
    """The emulator on a fake clock, `accounts` seeded 25 a second, every tenth matching."""
    from integrate import FakeClock
    from integrate_zoho_crm.emulator import ZohoCrmEmulator

    clock = FakeClock(START)
    emulator = ZohoCrmEmulator(clock=clock)
    rows = []
    for i in range(accounts):
        status = "Customer" if i % 20 == 0 else ("Prospect", "At Risk", None)[i % 3]
        rows.append(
            {
                "Account_Name": f"Account {i:05d}",
                "Website": f"https://a{i}.example.com",
                "Billing_City": "Leeds",
                "Billing_Country": "UK",
                "Account_Status": status,
                "Sync_with_ClientSuccess": i % 20 == 10,
            }
        )
    for start in range(0, accounts, 25):
        emulator.seed("Accounts", rows[start : start + 25])
        clock.advance(1)
    return emulator, clock


def _run(emulator: Any, clock: Any, folder: Path, text: str) -> dict[str, Any]:
    from integrate.build import load_spec
    from integrate.engine import RunOptions, run_spec
    from integrate.plugins import make_plugins

    spec_path = folder / "spec.yaml"
    spec_path.write_text(SPEC % text.replace('"', '\\"'))
    os.environ["INTEGRATE_HOME"] = str(folder / ".integrate")
    for key, value in emulator.connection_config().items():
        if key in ("client_id", "client_secret", "refresh_token"):
            os.environ[f"ZOHO_{key.upper()}"] = str(value)
    clock.advance(2)
    before = dict(emulator.calls())
    answered_before = emulator.records_answered()
    credits_before = emulator.coql_credits
    plugins = make_plugins()
    spec = load_spec(str(spec_path), plugins)
    started = time.perf_counter()
    report = run_spec(
        spec, plugins, RunOptions(transports={"crm": emulator.transport()}, clock=clock)
    )
    wall = time.perf_counter() - started
    calls = {k: v - before.get(k, 0) for k, v in emulator.calls().items()}
    calls = {k: v for k, v in calls.items() if v}
    coql_credits = emulator.coql_credits - credits_before
    answered = sum(emulator.records_answered().values()) - sum(answered_before.values())
    credits = sum(v for k, v in calls.items() if k not in ("coql", "token")) + coql_credits
    flow = report.flows[0].as_dict()
    return {
        "calls": calls,
        "credits": credits,
        "read": sum(flow["read"].values()),
        "answered": answered,
        "created": flow["totals"]["created"],
        "updated": flow["totals"]["updated"],
        "wall": wall,
    }


def _edit(emulator: Any, clock: Any) -> int:
    """1% of the accounts edited (every 97th by name: a tenth of them match), as a user
    would; how many of them match."""
    clock.advance(2)
    edited = 0
    ordered = sorted(emulator.records("Accounts"), key=lambda r: r["Account_Name"])
    for record in ordered[::97][: max(1, len(ordered) // 100)]:
        emulator.change("Accounts", record["id"], {"Website": record["Website"] + "/new"})
        edited += record["Account_Status"] == "Customer" or record["Sync_with_ClientSuccess"]
    return edited


def _written(folder: Path) -> list[str]:
    path = folder / "out/clients.jsonl"
    return sorted(path.read_text().splitlines()) if path.exists() else []


def scenario_f(accounts: int = 10_000) -> dict[str, Any]:
    out: dict[str, Any] = {"accounts": accounts}
    targets = {}
    for name, text in (("pushed", PUSHED), ("full", NOT_PUSHED)):
        with tempfile.TemporaryDirectory(prefix="bench-f-") as tmp:
            folder = Path(tmp)
            emulator, clock = _world(accounts)
            first = _run(emulator, clock, folder, text)
            matching = _edit(emulator, clock)
            rerun = _run(emulator, clock, folder, text)
            targets[name] = _written(folder)
            out[name] = {"first": first, "rerun": rerun, "edited_matching": matching}
    out["matching"] = len(targets["pushed"])
    out["same_targets"] = targets["pushed"] == targets["full"]
    return out


def f_report(results: dict[str, Any], median_range: Any = None) -> list[str]:
    f = results
    pushed, full = f["pushed"], f["full"]

    def kinds(calls: dict[str, int]) -> str:
        return ", ".join(f"{k} {v:,}" for k, v in sorted(calls.items()))

    def total(run: dict[str, Any]) -> int:
        return sum(run["calls"].values())

    lines = [
        "## F: a filter pushed down into Zoho's COQL (issue 12, CS-1)",
        "",
        f"{f['accounts']:,} Zoho Accounts, {f['matching']:,} of them matching the ClientSuccess "
        "spec's filter, into a files folder by a one-way flow; then 1% of the accounts edited "
        f"({pushed['edited_matching']} of them matching) and a rerun. Both ways write the same "
        f"records: {'yes' if f['same_targets'] else 'NO'}.",
        "",
        "| run | read | calls | credits | records Zoho answered | records read | created / updated | wall |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, key in (("first run", "first"), ("1% edited, rerun", "rerun")):
        for way, run in (("pushed (COQL)", pushed[key]), ("not pushed (Get Records)", full[key])):
            lines.append(
                f"| {label} | {way} | {total(run):,} ({kinds(run['calls'])}) | {run['credits']:,} "
                f"| {run['answered']:,} | {run['read']:,} | {run['created']:,} / {run['updated']:,} "
                f"| {run['wall']:.2f} s |"
            )
    saved = total(full["first"]) - total(pushed["first"])
    lines += [
        "",
        f"The first run saves {saved:,} calls "
        f"({total(pushed['first']):,} instead of {total(full['first']):,}) and "
        f"{full['first']['credits'] - pushed['first']['credits']:,} credits; the rerun "
        f"{total(full['rerun']) - total(pushed['rerun']):,} calls.",
        "",
    ]
    return lines


if __name__ == "__main__":
    import json
    import sys

    figures = scenario_f(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
    print(json.dumps(figures, indent=1))
    print("\n".join(f_report(figures)))
