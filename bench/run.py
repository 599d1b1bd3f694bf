"""The benchmark entry script: runs each scenario and writes bench/RESULTS.md.

    .venv/bin/python bench/run.py                 # every scenario this script has so far
    .venv/bin/python bench/run.py --only S,A      # some of them
    .venv/bin/python bench/run.py --large         # scenario M up to 1,000,000 records

Scenarios so far (issue 5 lists the rest; T, the throughput comparison with peers, is not
written yet):

  S  start-up: wall time of `integrate --help` and `integrate validate`
  A  API economy: the Zoho CRM → ServiceDesk Plus MSP spec on its emulators, 5,000 accounts and
     20,000 contacts: calls by kind for a first run, a no-change rerun and a 1%-changed rerun,
     next to the theoretical minimum
  I  incremental: wall time of the 1%-changed rerun as a fraction of the first run (from A)
  M  memory: peak RSS of a files → files sync at 10k and 100k records (1M with --large)

Every figure is the median of --runs runs (default 3) with the lowest and highest beside it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SPEC = ROOT / "specs/zoho_crm-servicedesk_msp.yaml"


def median_range(values: list[float], fmt: str = "{:.3f}") -> str:
    low, high = fmt.format(min(values)), fmt.format(max(values))
    return f"{fmt.format(statistics.median(values))} ({low} to {high})"


def timed(command: list[str], runs: int, cwd: Path | None = None) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, check=True, capture_output=True)
        out.append(time.perf_counter() - start)
    return out


# ---- S: start-up --------------------------------------------------------------------------


def scenario_s(runs: int) -> dict[str, Any]:
    integrate = str(BIN / "integrate")
    help_times = timed([integrate, "--help"], runs)
    validate_times = timed([integrate, "validate", str(SPEC)], runs)
    return {
        "help": help_times,
        "validate": validate_times,
        "target_validate": 0.5,
    }


# ---- A and I: API economy, incremental cost ----------------------------------------------


def scenario_a(runs: int, accounts: int, per_account: int) -> dict[str, Any]:
    from integrate.build import load_spec
    from integrate.engine import run_spec
    from integrate.plugins import make_plugins
    from integrate.testing import emulated
    from integrate_zoho_crm.emulator import ZohoCrmEmulator

    plugins = make_plugins()
    spec = load_spec(SPEC, plugins, strict_env=False)
    results: list[dict[str, Any]] = []
    for n in range(runs):
        with emulated(spec, plugins) as (emulators, options):
            crm = ZohoCrmEmulator(accounts=accounts, contacts_per_account=per_account, seed=5 + n)
            emulators["crm"].close()
            emulators["crm"] = crm
            options.configs["crm"] = {**options.configs["crm"], **crm.connection_config()}
            options.transports["crm"] = crm.transport()
            names = [a["Account_Name"] for a in crm.records("Accounts")]
            emulators["sdp"].seed("accounts", [{"name": name} for name in names])
            contacts = crm.records("Contacts")
            row: dict[str, Any] = {"accounts": len(names), "contacts": len(contacts)}

            start = time.perf_counter()
            first = run_spec(spec, plugins, options)
            row["first_seconds"] = time.perf_counter() - start
            row["first"] = first.as_dict()["calls"]

            start = time.perf_counter()
            same = run_spec(spec, plugins, options)
            row["same_seconds"] = time.perf_counter() - start
            row["same"] = same.as_dict()["calls"]

            time.sleep(1.1)  # Modified_Time has whole seconds
            changed_accounts = names[::100][: max(1, len(names) // 100)]
            by_name = {a["Account_Name"]: a["id"] for a in crm.records("Accounts")}
            for name in changed_accounts:
                crm.change("Accounts", by_name[name], {"Phone": "+1 555 0100"})
            changed_contacts = contacts[::100][: max(1, len(contacts) // 100)]
            for contact in changed_contacts:
                crm.change("Contacts", contact["id"], {"Title": "Changed"})
            row["changed"] = len(changed_accounts) + len(changed_contacts)

            start = time.perf_counter()
            one_percent = run_spec(spec, plugins, options)
            row["changed_seconds"] = time.perf_counter() - start
            row["changed_calls"] = one_percent.as_dict()["calls"]
            row["changed_flows"] = [f.as_dict()["totals"] for f in one_percent.flows]
        results.append(row)
    return {"runs": results, "page": 200, "sdp_page": 100}


# ---- M: memory ----------------------------------------------------------------------------

M_SPEC = """\
integrate: 1
name: memory
connections:
  src: {plugin: files, config: {path: ./src}}
  dst: {plugin: files, config: {path: ./dst}}
flows:
  accounts:
    from: src.accounts
    to: dst.accounts
    match: [[name, name]]
    fields: {name: name, city: address.city, phone: phone, tier: "upper(tier)"}
"""


def scenario_m(sizes: list[int], runs: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for size in sizes:
        peaks = []
        seconds = []
        for _ in range(runs):
            with tempfile.TemporaryDirectory(prefix="integrate-bench-m-") as tmp:
                root = Path(tmp)
                (root / "src").mkdir()
                (root / "dst").mkdir()
                with (root / "src/accounts.jsonl").open("w") as f:
                    for i in range(size):
                        f.write(
                            json.dumps(
                                {
                                    "id": f"s{i}",
                                    "name": f"Company {i:07d}",
                                    "address": {"city": "Leeds", "street": f"{i} Mill Road"},
                                    "phone": f"+44 113 {i:07d}",
                                    "tier": "b",
                                }
                            )
                            + "\n"
                        )
                (root / "spec.yaml").write_text(M_SPEC)
                start = time.perf_counter()
                done = subprocess.run(
                    [
                        "/usr/bin/time",
                        "-v",
                        str(BIN / "integrate"),
                        "run",
                        "spec.yaml",
                        "--state",
                        "state.db",
                    ],
                    cwd=root,
                    capture_output=True,
                    text=True,
                    check=False,
                    env={**os.environ, "INTEGRATE_HOME": str(root / ".integrate")},
                )
                seconds.append(time.perf_counter() - start)
                if done.returncode != 0:
                    raise SystemExit(f"scenario M at {size}: {done.stderr[-2000:]}")
                peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
                assert peak is not None
                peaks.append(int(peak.group(1)) / 1024)
        out[str(size)] = {"rss_mib": peaks, "seconds": seconds}
    return out


# ---- the report ---------------------------------------------------------------------------


def report(results: dict[str, Any], runs: int) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Recorded {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `bench/run.py` "
        f"({runs} runs each; medians, lowest to highest in brackets).",
        "",
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}, {platform.system()} {platform.release()}.",
        f"Versions: integrate-sync {version('integrate-sync')}, httpx {version('httpx')}, "
        f"jmespath {version('jmespath')}, orjson {version('orjson')}.",
        "",
    ]
    if "S" in results:
        s = results["S"]
        holds = statistics.median(s["validate"]) < s["target_validate"]
        lines += [
            "## S: start-up",
            "",
            "| command | wall time (s) |",
            "|---|---|",
            f"| `integrate --help` | {median_range(s['help'])} |",
            f"| `integrate validate specs/zoho_crm-servicedesk_msp.yaml` | {median_range(s['validate'])} |",
            "",
            f"Target: `integrate validate` under 0.5 s: **{'holds' if holds else 'does not hold'}**.",
            "",
        ]
    if "A" in results:
        a = results["A"]
        row = a["runs"][0]
        accounts, contacts = row["accounts"], row["contacts"]
        minimum_lists = math.ceil(accounts / a["page"]) + math.ceil(contacts / a["page"])

        def kinds(calls: dict[str, Any], conn: str) -> str:
            return (
                ", ".join(f"{k} {v:,}" for k, v in sorted(calls[conn]["kinds"].items())) or "none"
            )

        first_lists = row["first"]["crm"]["kinds"].get("read:list", 0)
        same_writes = row["same"]["sdp"]["writes"] + row["same"]["crm"]["writes"]
        same_lists = row["same"]["crm"]["kinds"].get("read:list", 0)
        changed_lists = row["changed_calls"]["crm"]["kinds"].get("read:list", 0)
        changed_writes = row["changed_calls"]["sdp"]["writes"]
        lines += [
            "## A: API economy (Zoho CRM → ServiceDesk Plus MSP spec, emulators in process)",
            "",
            f"{accounts:,} accounts (all already in SDP by name) and {contacts:,} contacts.",
            "",
            "| run | Zoho calls by kind | SDP calls by kind |",
            "|---|---|---|",
            f"| first | {kinds(row['first'], 'crm')} | {kinds(row['first'], 'sdp')} |",
            f"| no change | {kinds(row['same'], 'crm')} | {kinds(row['same'], 'sdp')} |",
            f"| {row['changed']} records changed (1%) | {kinds(row['changed_calls'], 'crm')} | {kinds(row['changed_calls'], 'sdp')} |",
            "",
            f"- Zoho list calls on the first run: {first_lists} (minimum ceil({accounts}/200) + "
            f"ceil({contacts}/200) = {minimum_lists}): "
            f"**{'holds' if first_lists == minimum_lists else 'does not hold'}**.",
            f"- No-change rerun: {same_writes} write calls, {same_lists} Zoho list calls for 2 "
            f"objects: **{'holds' if same_writes == 0 and same_lists <= 2 else 'does not hold'}**.",
            f"- 1% rerun: {changed_lists} Zoho list calls, {changed_writes} SDP writes for "
            f"{row['changed']} changed records (SDP writes one record a call, so the minimum is "
            f"{row['changed']}): **{'holds' if changed_writes <= row['changed'] and changed_lists <= 2 else 'does not hold'}**.",
            "- Not at the minimum: each run also reads Zoho's metadata (`settings/modules`, "
            "`settings/fields` per module: 3 calls), and SDP's lists are full reads (no "
            "modified-since filter in its API).",
            "",
        ]
    if "I" in results:
        a = results["A"]
        fractions = [r["changed_seconds"] / r["first_seconds"] for r in a["runs"]]
        firsts = [r["first_seconds"] for r in a["runs"]]
        changed = [r["changed_seconds"] for r in a["runs"]]
        lines += [
            "## I: incremental cost",
            "",
            "| run | wall time (s) |",
            "|---|---|",
            f"| first run (A) | {median_range(firsts)} |",
            f"| 1%-changed rerun | {median_range(changed)} |",
            f"| fraction | {median_range(fractions)} |",
            "",
            f"Target: under 5% of the full run: "
            f"**{'holds' if statistics.median(fractions) < 0.05 else 'does not hold'}**.",
            "",
        ]
    if "M" in results:
        m = results["M"]
        sizes = sorted(m, key=int)
        base = statistics.median(m[sizes[0]]["rss_mib"])
        top = statistics.median(m[sizes[-1]]["rss_mib"])
        lines += [
            "## M: memory (files → files, peak RSS of `integrate run`)",
            "",
            "| records | peak RSS (MiB) | wall time (s) |",
            "|---|---|---|",
        ]
        for size in sizes:
            lines.append(
                f"| {int(size):,} | {median_range(m[size]['rss_mib'], '{:.0f}')} | "
                f"{median_range(m[size]['seconds'], '{:.1f}')} |"
            )
        ok = top <= 1.5 * base and top < 200
        lines += [
            "",
            f"Target: peak RSS at the largest size within 1.5 times the smallest and under 200 MiB: "
            f"{top:.0f} vs {base:.0f} MiB: **{'holds' if ok else 'does not hold'}**"
            + (
                ""
                if sizes[-1] == "1000000"
                else " (measured up to " + f"{int(sizes[-1]):,}; run with --large for 1M)"
            )
            + ".",
            "",
        ]
    lines += [
        "## T: throughput against the floor and peers",
        "",
        "Not measured yet: the contenders (hand-written httpx floor, dlt `rest_api`, singer-sdk)"
        " and the output checker are still to be written (issue 5).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default="S,A,I,M", help="scenarios, comma-separated")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--large", action="store_true", help="scenario M up to 1M records")
    parser.add_argument(
        "--accounts", type=int, default=5000, help="scenario A: accounts (4 contacts each)"
    )
    parser.add_argument("--out", default=str(ROOT / "bench/RESULTS.md"))
    parser.add_argument(
        "--report-only", action="store_true", help="write RESULTS.md again from RESULTS.json"
    )
    args = parser.parse_args()
    if args.report_only:
        saved = json.loads(Path(args.out).with_suffix(".json").read_text())
        Path(args.out).write_text(report(saved, args.runs) + "\n")
        return
    only = set(args.only.upper().split(","))
    results: dict[str, Any] = {}
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("S", lambda: scenario_s(max(args.runs, 5))),
        ("A", lambda: scenario_a(args.runs, args.accounts, 4)),
        (
            "M",
            lambda: scenario_m([10_000, 100_000] + ([1_000_000] if args.large else []), args.runs),
        ),
    ]
    for name, step in steps:
        if name in only or (name == "A" and "I" in only):
            print(f"scenario {name} …", file=sys.stderr, flush=True)
            started = time.perf_counter()
            results[name] = step()
            print(f"scenario {name}: {time.perf_counter() - started:.1f}s", file=sys.stderr)
    if "I" in only and "A" in results:
        results["I"] = True
    text = report(results, args.runs)
    Path(args.out).write_text(text + "\n")
    (Path(args.out).with_suffix(".json")).write_text(json.dumps(results, indent=1, default=str))
    print(text)


if __name__ == "__main__":
    main()
