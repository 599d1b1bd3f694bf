"""The benchmark entry script: runs each scenario and writes bench/RESULTS.md.

    .venv/bin/python bench/run.py                 # every scenario this script has so far
    .venv/bin/python bench/run.py --only S,A      # some of them
    .venv/bin/python bench/run.py --quick         # M without 1M records, L at 100 accounts, SM at 1,000

Scenarios:

  S  start-up: wall time of `integrate --help` and `integrate validate`
  A  API economy: the Zoho CRM → ServiceDesk Plus MSP spec on its emulators, 5,000 accounts and
     20,000 contacts: calls by kind for a first run, a no-change rerun and a 1%-changed rerun,
     next to the theoretical minimum
  I  incremental: wall time of the 1%-changed rerun as a fraction of the first run (from A)
  M  memory: peak RSS of a files → files sync at 10k, 100k and 1M records (no 1M with --quick)
  T  throughput: 100,000 Zoho Accounts over loopback HTTP, integrate against the floors (one
     durable: fsync + SQLite per 1,000) and peers; state bytes per linked record
  L  latency-bound first sync: the Zoho CRM → SDP spec against both emulators served with 50 ms
     a call: wall time against the least the calls allow, and the most calls in flight
  W  push on change: `integrate serve` watching Zoho CRM Contacts every second (files ⇄ Zoho,
     the emulator served on loopback): the delay from a Zoho edit to its value on the files
     side, and the calls an idle look makes; the same for ClientSuccess contacts ⇄ Zoho
     Contacts (both emulators served), at 2 and 10 clients of 5 contacts
  SM SALESmanago ⇄ Zoho CRM at scale: 10,000 people linked on both sides, 1% edited on each
     side: calls by kind against each API's minimum, what landed (person by person), echoes,
     a no-change rerun; wall time at 50 ms a call against the least the calls allow
  E  event to comment: the Zoho CRM → Ideolve spec under `integrate serve` (both emulators
     served on loopback, Zoho POSTing its callbacks): the delay from a Zoho edit to its
     comment in Ideolve, split into callback delivery, the wait for the run and the run
  F  a filter pushed down into Zoho's COQL: 10,000 accounts, 10% matching, read with the
     filter pushed down and without: calls, credits, records read, the same records written
  X  runs on workers: runs per minute of 100 files → files integrations queued at once, with
     1, 2 and 4 `integrate worker` processes on one PostgreSQL (a throw-away cluster), and
     what a run costs the workers and PostgreSQL

Every figure is the median of --runs runs (default 3) with the lowest and highest beside it.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
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
from types import ModuleType
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SPEC = ROOT / "specs/zoho_crm-servicedesk_msp.yaml"
SCENARIOS = ("S", "A", "I", "M", "T", "L", "SM", "F", "W", "E", "X")


def bench_module(name: str) -> ModuleType:
    """A module of bench/ (latency: scenario L; throughput: T's verdict and report), however
    this script was loaded (run or imported)."""
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    return importlib.import_module(name)


def scenario_l_module() -> ModuleType:
    """bench/latency.py (scenario L)."""
    return bench_module("latency")


def scenario_t_module() -> ModuleType:
    """bench/throughput.py (scenario T's targets, state bytes and report)."""
    return bench_module("throughput")


def scenario_sm_module() -> ModuleType:
    """bench/sm_zoho.py (scenario SM's runs; its figures and report are in sm_figures.py)."""
    return bench_module("sm_zoho")


def scenario_w_module() -> ModuleType:
    """bench/watch.py (scenario W: push on change)."""
    return bench_module("watch")


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

    sys.path.insert(0, str(ROOT))  # the tests' model of a read by key
    from tests.plugins.zoho_crm.emulator_kit import keyset_list_calls

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
            # The fewest list calls a read that cannot skip records makes (by key: each page
            # starts at the second the page before ended at)
            row["keyset_lists"] = keyset_list_calls(crm.records("Accounts")) + keyset_list_calls(
                contacts
            )

            start = time.perf_counter()
            first = run_spec(spec, plugins, options)
            row["first_seconds"] = time.perf_counter() - start
            row["first"] = first.as_dict()["calls"]

            start = time.perf_counter()
            same = run_spec(spec, plugins, options)
            row["same_seconds"] = time.perf_counter() - start
            row["same"] = same.as_dict()["calls"]

            time.sleep(1.1)  # Modified_Time has whole seconds
            by_name = {a["Account_Name"]: a["id"] for a in crm.records("Accounts")}
            row["changed"] = change_one_percent(crm, names, by_name, contacts, 0, "Changed")

            start = time.perf_counter()
            one_percent = run_spec(spec, plugins, options)
            row["changed_seconds"] = time.perf_counter() - start
            row["changed_calls"] = one_percent.as_dict()["calls"]
            row["changed_flows"] = [f.as_dict()["totals"] for f in one_percent.flows]
            if n == runs - 1:
                # Another 1% changed, rerun untimed under cProfile: where a rerun's time goes.
                time.sleep(1.1)
                change_one_percent(crm, names, by_name, contacts, 50, "Changed again")
                profiler = cProfile.Profile()
                profiler.runcall(run_spec, spec, plugins, options)
                with tempfile.TemporaryDirectory() as tmp:
                    profiler.dump_stats(Path(tmp) / "rerun.prof")
                    row["changed_profile"] = profile_rows(Path(tmp) / "rerun.prof")
        results.append(row)
    return {"runs": results, "page": 200, "sdp_page": 100}


def change_one_percent(
    crm: Any,
    names: list[str],
    by_name: dict[str, str],
    contacts: list[dict[str, Any]],
    offset: int,
    title: str,
) -> int:
    """Change every hundredth Account and Contact (from `offset`) in the Zoho emulator, as a
    user would; returns how many."""
    accounts = names[offset::100][: max(1, len(names) // 100)]
    for name in accounts:
        crm.change("Accounts", by_name[name], {"Phone": f"+1 555 {offset:04d}"})
    changed = contacts[offset::100][: max(1, len(contacts) // 100)]
    for contact in changed:
        crm.change("Contacts", contact["id"], {"Title": title})
    return len(accounts) + len(changed)


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


# ---- T: throughput against the floor and peers -------------------------------------------

T_FIELDS = (
    "Account_Name,Account_Number,Account_Type,Industry,Phone,Website,Employees,"
    "Annual_Revenue,Billing_Street,Billing_City,Billing_Country,Owner,Modified_Time,"
    "Support_Plan"
)
# output key -> where it comes from in a Zoho Account (the 10 fields every contender maps)
T_MAPPING = {
    "zoho_id": ("id",),
    "name": ("Account_Name",),
    "number": ("Account_Number",),
    "type": ("Account_Type",),
    "industry": ("Industry",),
    "phone": ("Phone",),
    "website": ("Website",),
    "employees": ("Employees",),
    "city": ("Billing_City",),
    "owner": ("Owner", "name"),
}
T_SPEC = """\
integrate: 1
name: throughput
connections:
  crm:
    plugin: zoho_crm
    config:
      data_center: com
      accounts_url: ${env:ZOHO_URL}
      client_id: ${env:ZOHO_CLIENT_ID}
      client_secret: ${env:ZOHO_CLIENT_SECRET}
      refresh_token: ${env:ZOHO_REFRESH_TOKEN}
  out:
    plugin: files
    config: {path: ./out}
flows:
  accounts:
    from: crm.Accounts
    to: out.accounts
    fields:
      zoho_id: id
      name: Account_Name
      number: Account_Number
      type: Account_Type
      industry: Industry
      phone: Phone
      website: Website
      employees: Employees
      city: Billing_City
      owner: Owner.name
"""
PEERS = ROOT / "bench/.peers-venv"
PEER_REQUIREMENTS = ROOT / "bench/peers/requirements.txt"


class Served:
    """The Zoho CRM emulator with N Accounts, served on loopback by `bench/emulated.py` in its
    own process (its own core), with an access token: the harness asks it for the calls each
    run made and reads the CPU time it spent."""

    def __init__(self, accounts: int):
        self.emulator = scenario_l_module().ServedEmulator("zoho_crm", 0.0, accounts=accounts)
        self.url: str = self.emulator.url
        self.config = {k: str(v) for k, v in self.emulator.config.items()}
        import httpx

        answer = httpx.post(
            f"{self.url}/oauth/v2/token",
            data={
                "grant_type": "refresh_token",
                "client_id": self.config["client_id"],
                "client_secret": self.config["client_secret"],
                "refresh_token": self.config["refresh_token"],
            },
        ).json()
        self.api, self.token = answer["api_domain"], answer["access_token"]

    def env(self) -> dict[str, str]:
        return {
            "ZOHO_URL": self.url,
            "ZOHO_CLIENT_ID": self.config["client_id"],
            "ZOHO_CLIENT_SECRET": self.config["client_secret"],
            "ZOHO_REFRESH_TOKEN": self.config["refresh_token"],
        }

    def reset(self) -> None:
        """Count calls from zero."""
        self.emulator.ask("reset")

    def calls(self) -> dict[str, int]:
        """The calls by kind since the last reset (list, token, modules, fields ...)."""
        return dict(self.emulator.ask("calls")["kinds"])

    def cpu_seconds(self) -> float:
        """The CPU time the emulator's process has used (user + system, every thread)."""
        fields = Path(f"/proc/{self.emulator.process.pid}/stat").read_text().rsplit(")", 1)[1]
        user, system = fields.split()[11:13]
        return (int(user) + int(system)) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        self.emulator.close()


def peers_python() -> Path:
    """The peers' own virtualenv (bench/.peers-venv), made or brought up to date from
    bench/peers/requirements.txt; the project's .venv never sees dlt or singer-sdk."""
    python = PEERS / "bin/python"
    stamp = PEERS / "requirements.txt"
    wanted = PEER_REQUIREMENTS.read_text()
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    print("installing the peers (dlt, singer-sdk) into bench/.peers-venv …", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(PEERS)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "-r", str(PEER_REQUIREMENTS)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    stamp.write_text(wanted)
    return python


def reference(served: Served) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """The 10 values of every Account, read by the harness itself: what each contender's
    output is checked against; and each Account's id and Modified_Time (what a read by key's
    calls are worked out from)."""
    import httpx

    out: dict[str, dict[str, Any]] = {}
    times: list[dict[str, Any]] = []
    params: dict[str, Any] = {"fields": T_FIELDS, "per_page": 200}
    headers = {"Authorization": f"Zoho-oauthtoken {served.token}"}
    with httpx.Client(base_url=served.api, headers=headers, timeout=60) as client:
        while True:
            body = client.get("/crm/v8/Accounts", params=params).json()
            for record in body["data"]:
                row = {}
                for key, path in T_MAPPING.items():
                    value: Any = record
                    for part in path:
                        value = value.get(part) if isinstance(value, dict) else None
                    row[key] = value
                out[row["zoho_id"]] = row
                times.append({"id": record["id"], "Modified_Time": record["Modified_Time"]})
            if not body["info"]["more_records"]:
                return out, times
            params["page_token"] = body["info"]["next_page_token"]


def check(path: Path, expected: dict[str, dict[str, Any]]) -> str:
    """'' when the file holds exactly the expected records (JSON lines, or a Singer message
    stream whose RECORD messages hold them), else what is wrong."""
    seen: set[str] = set()
    wrong: list[str] = []
    with path.open("rb") as f:
        for line in f:
            record = json.loads(line)
            if record.get("type") == "RECORD" and "record" in record:
                record = record["record"]
            elif record.get("type") in ("SCHEMA", "STATE", "ACTIVATE_VERSION"):
                continue
            key = str(record.get("zoho_id"))
            if key in seen:
                wrong.append(f"{key} twice")
                continue
            seen.add(key)
            want = expected.get(key)
            got = {k: record.get(k) for k in T_MAPPING}
            if want is None:
                wrong.append(f"{key} is not an Account")
            elif got != want:
                fields = sorted(k for k in T_MAPPING if got[k] != want[k])
                wrong.append(f"{key}: different {', '.join(fields)}")
    missing = len(expected) - len(seen & set(expected))
    if missing:
        wrong.append(f"{missing} records missing")
    return "; ".join(wrong[:3]) + (f" (+{len(wrong) - 3} more)" if len(wrong) > 3 else "")


class Job(NamedTuple):
    """One run of a contender: its command, the file it writes, its environment, and the
    SQLite file it keeps its links in (when it keeps any). A named tuple, not a dataclass:
    the tests load this script under a name of their own, outside `sys.modules`."""

    command: list[str]
    out: Path
    env: dict[str, str]
    state: Path | None = None


def t_contenders(peers: Path) -> dict[str, Callable[[Served, Path], Job]]:
    """name -> (served, work folder) -> the job."""
    floor = ROOT / "bench/contenders/floor.py"
    t = scenario_t_module()

    def script(python: Path, path: Path, *extra: str) -> Callable[[Served, Path], Job]:
        def make(served: Served, work: Path) -> Job:
            out = work / "out.jsonl"
            argv = [str(python), str(path), "--api", served.api, "--token", served.token]
            return Job([*argv, "--out", str(out), *extra], out, {})

        return make

    def durable(*extra: str) -> Callable[[Served, Path], Job]:
        def make(served: Served, work: Path) -> Job:
            job = script(Path(sys.executable), floor, "--durable", "--state", "links.db", *extra)
            job = job(served, work)
            return Job(job.command, job.out, job.env, work / "links.db")

        return make

    def integrate(served: Served, work: Path) -> Job:
        (work / "spec.yaml").write_text(T_SPEC)
        (work / "out").mkdir(exist_ok=True)
        command = [str(BIN / "integrate"), "run", "spec.yaml", "--state", "state.db"]
        env = {**served.env(), "INTEGRATE_HOME": str(work / ".integrate")}
        return Job(command, work / "out/accounts.jsonl", env, work / "state.db")

    return {
        t.INTEGRATE: integrate,
        "floor: httpx + json": script(Path(sys.executable), floor, "--codec", "json"),
        t.FLOOR: script(Path(sys.executable), floor, "--codec", "orjson"),
        t.DURABLE: durable(),
        t.DURABLE_MODIFIED: durable("--order", "modified"),
        "httpx + orjson, jmespath per field": script(
            Path(sys.executable), floor, "--codec", "jmespath"
        ),
        f"dlt {_peer_version(peers, 'dlt')} rest_api": script(
            peers, ROOT / "bench/peers/dlt_zoho.py"
        ),
        f"singer-sdk {_peer_version(peers, 'singer-sdk')} stream maps": script(
            peers, ROOT / "bench/peers/singer_zoho.py"
        ),
    }


def _peer_version(python: Path, name: str) -> str:
    done = subprocess.run(
        [str(python), "-c", f"from importlib.metadata import version; print(version({name!r}))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def run_contender(
    make: Callable[[Served, Path], Job],
    served: Served,
    expected: dict[str, dict[str, Any]] | None,
) -> dict[str, Any]:
    """One timed run: wall time, peak RSS, the emulator's calls and CPU time, the state
    file's links (for a contender that keeps them) and, given `expected`, the output checked."""
    with tempfile.TemporaryDirectory(prefix="integrate-bench-t-") as tmp:
        work = Path(tmp)
        job = make(served, work)
        served.reset()
        cpu = served.cpu_seconds()
        start = time.perf_counter()
        done = subprocess.run(
            ["/usr/bin/time", "-v", *job.command],
            cwd=work,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, **job.env},
        )
        seconds = time.perf_counter() - start
        emulator_cpu = served.cpu_seconds() - cpu
        if done.returncode != 0:
            raise SystemExit(f"scenario T: {job.command[:3]} failed:\n{done.stderr[-3000:]}")
        peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
        assert peak is not None
        row: dict[str, Any] = {
            "seconds": seconds,
            "rss_mib": int(peak.group(1)) / 1024,
            "calls": served.calls(),
            "emulator_cpu": emulator_cpu,
        }
        if job.state is not None and job.state.exists():
            row["state"] = scenario_t_module().state_bytes(job.state)
        if expected is not None:
            row["check"] = check(job.out, expected)
        return row


def scenario_t(runs: int, accounts: int) -> dict[str, Any]:
    peers = peers_python()
    contenders = t_contenders(peers)
    results: dict[str, Any] = {"accounts": accounts, "contenders": {}}
    small = Served(1)
    try:
        # start-up: the whole job over an org with one Account (one page)
        for name, make in contenders.items():
            row = results["contenders"].setdefault(name, {"startup": [], "runs": []})
            for _ in range(runs):
                row["startup"].append(run_contender(make, small, None)["seconds"])
    finally:
        small.close()
    served = Served(accounts)
    try:
        expected, times = reference(served)  # also renders every page the floors ask for
        if len(expected) != accounts:
            raise SystemExit(f"scenario T: the emulator listed {len(expected)} of {accounts}")
        sys.path.insert(0, str(ROOT))  # the tests' model of a read by key
        from tests.plugins.zoho_crm.emulator_kit import keyset_list_calls

        results["keyset_list_calls"] = keyset_list_calls(times)
        # An untimed round first: integrate asks for other fields than the floors, and the
        # emulator renders a record once per field list; every timed run finds it warm.
        for name, make in contenders.items():
            print(f"  T (warm-up): {name}", file=sys.stderr, flush=True)
            run_contender(make, served, None)
        for _ in range(runs):  # round robin: a slow minute hits every contender alike
            for name, make in contenders.items():
                print(f"  T: {name}", file=sys.stderr, flush=True)
                results["contenders"][name]["runs"].append(run_contender(make, served, expected))
        if not scenario_t_module().t_holds(results):
            print("scenario T: profiling integrate …", file=sys.stderr, flush=True)
            results["profile"] = profile_integrate_t(served)
    finally:
        served.close()
    return results


def profile_rows(path: Path, top: int = 12) -> list[dict[str, Any]]:
    """The functions with the most own time in a cProfile file, with their share of the run."""
    import pstats

    stats = pstats.Stats(str(path))
    table = stats.stats  # type: ignore[attr-defined]
    total = sum(own for _cc, _nc, own, _cum, _callers in table.values()) or 1.0
    rows = []
    for (file, line, name), (_cc, calls, own, cum, _callers) in sorted(
        table.items(), key=lambda item: -item[1][2]
    )[:top]:
        where = file.replace(str(ROOT) + "/", "")
        where = re.sub(r".*/site-packages/", "", where)
        rows.append(
            {
                "function": f"{name} ({where}:{line})",
                "calls": calls,
                "own_share": own / total,
                "cum_share": cum / total,
            }
        )
    return rows


PHASES: list[tuple[str, Callable[[str, str], bool]]] = [
    # the pages are fetched one ahead by a thread of their own: this is the run waiting
    ("waiting for Zoho's pages", lambda f, n: n == "read_ahead" and "engine/ahead.py" in f),
    ("mapping the 10 fields", lambda f, n: n == "make" and "engine/scope.py" in f),
    ("writing the JSONL file (append, fsync)", lambda f, n: n == "write" and "files/" in f),
    (
        "state store: link look-ups and writes (digests), commits (fsync)",
        lambda f, n: (
            ("core/state.py" in f and n in ("transaction", "links"))
            or ("core/links.py" in f and n == "save")
        ),
    ),
]


def phases(path: Path) -> list[dict[str, Any]]:
    """Where the run's time goes, by phase (cumulative time of the functions that do it);
    the rest of the sync is the engine's own per-record work."""
    import pstats

    table = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    total = sum(own for _cc, _nc, own, _cum, _callers in table.values()) or 1.0

    def cumulative(test: Callable[[str, str], bool]) -> float:
        return sum(v[3] for (f, _line, n), v in table.items() if test(f, n))

    sync = cumulative(lambda f, n: n == "run" and "engine/sync.py" in f)
    out = [{"phase": "start-up, spec, plugins, metadata, summary", "share": 1 - sync / total}]
    named = 0.0
    for label, test in PHASES:
        seconds = cumulative(test)
        named += seconds
        out.append({"phase": label, "share": seconds / total})
    out.append(
        {"phase": "the engine's per-record work (the rest)", "share": (sync - named) / total}
    )
    return out


def profile_integrate_t(served: Served) -> dict[str, Any]:
    """cProfile of one more `integrate run` of scenario T, on the warm emulator the timed
    runs used (own-time leaders, and the share of each phase)."""
    with tempfile.TemporaryDirectory(prefix="integrate-bench-tp-") as tmp:
        work = Path(tmp)
        (work / "spec.yaml").write_text(T_SPEC)
        (work / "out").mkdir()
        prof = work / "run.prof"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "cProfile",
                "-o",
                str(prof),
                str(BIN / "integrate"),
                "run",
                "spec.yaml",
                "--state",
                "state.db",
            ],
            cwd=work,
            check=True,
            capture_output=True,
            env={**os.environ, **served.env(), "INTEGRATE_HOME": str(work / ".integrate")},
        )
        return {"phases": phases(prof), "functions": profile_rows(prof)}


def import_leaders(top: int = 8) -> list[dict[str, Any]]:
    """`-X importtime` of `integrate validate`: the imports that cost most (cumulative)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "integrate", "validate", str(SPEC)],
        capture_output=True,
        text=True,
        check=False,
    )
    rows = []
    for line in done.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if m:
            rows.append(
                {
                    "module": m.group(4),
                    "cumulative_ms": int(m.group(2)) / 1000,
                    "depth": len(m.group(3)),
                }
            )
    total = sum(r["cumulative_ms"] for r in rows if r["depth"] <= 1)
    firsts = sorted((r for r in rows if r["depth"] <= 1), key=lambda r: -r["cumulative_ms"])
    return [{"total_ms": total}, *firsts[:top]]


# ---- the report ---------------------------------------------------------------------------


def environment() -> list[str]:
    """The machine and versions a recording was made with (kept with its figures)."""
    return [
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}, {platform.system()} {platform.release()}.",
        f"Versions: integrate-sync {version('integrate-sync')}, httpx {version('httpx')}, "
        f"jmespath {version('jmespath')}, orjson {version('orjson')}.",
    ]


def report(results: dict[str, Any], runs: int) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Recorded {results.get('recorded') or time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `bench/run.py` "
        f"({results.get('runs', runs)} runs each; medians, lowest to highest in brackets).",
        "",
        *results.get("environment", environment()),
        "",
    ]
    for name, when in sorted(results.get("separately", {}).items()):
        lines += [
            f"Scenario {name} recorded on its own, {when['recorded']} ({when['runs']} "
            f"run{'s' if when['runs'] != 1 else ''} a figure). {' '.join(when['environment'])}",
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
        if s.get("imports"):
            total, *leaders = s["imports"]
            lines += [
                f"What `integrate validate` imports (`-X importtime`, {total['total_ms']:.0f} ms "
                "in all; the top-level imports that cost most, with what they import):",
                "",
                "| module | ms |",
                "|---|---|",
                *(f"| `{r['module']}` | {r['cumulative_ms']:.0f} |" for r in leaders),
                "",
            ]
    if "A" in results:
        a = results["A"]
        row = a["runs"][0]
        accounts, contacts = row["accounts"], row["contacts"]
        offset_lists = math.ceil(accounts / a["page"]) + math.ceil(contacts / a["page"])
        minimum_lists = row.get("keyset_lists", offset_lists)

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
            f"- Zoho list calls on the first run: {first_lists} (the minimum for a read by key, "
            f"which no record moving under it can escape: {minimum_lists}; paging by offset would "
            f"take ceil({accounts}/200) + ceil({contacts}/200) = {offset_lists} and skip records "
            f"that change while it pages): "
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
        if changed_lists > 2:
            lines += [
                "Why the 1% rerun makes one Zoho list call more than ceil(changed / 200) per "
                "object: Zoho's `If-Modified-Since` is inclusive, so the records of the previous "
                "run's last second come back (the cursor's fingerprints then drop them unless "
                "they changed). With exactly 200 changed contacts, those extra rows make a "
                "second page. Asking from the next second instead would lose an edit made in "
                "that same second after the read (the bug the fingerprints fixed).",
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
        profiled = a["runs"][-1].get("changed_profile")
        if profiled and statistics.median(fractions) >= 0.05:
            lines += [
                "Where a 1%-changed rerun spends its time (cProfile of one more such rerun, "
                "emulators in process, so their work is in it):",
                "",
                *profile_table(profiled),
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
    if "T" in results:
        lines += scenario_t_module().t_report(results["T"], median_range, profile_table)
    if "L" in results:
        lines += scenario_l_module().l_report(results["L"], median_range)
    if "SM" in results:
        lines += bench_module("sm_figures").sm_report(results["SM"], median_range)
    if "F" in results:
        lines += bench_module("pushdown").f_report(results["F"], median_range)
    if "W" in results:
        lines += scenario_w_module().w_report(results["W"], median_range)
    if "E" in results:
        lines += bench_module("events").e_report(results["E"], median_range)
    if "X" in results:
        lines += bench_module("workers_figures").x_report(results["X"], median_range)
    return "\n".join(lines)


def splice(old: str, new: str, names: set[str]) -> str:
    """The new report's header and sections of `names`, every other section as it was (its
    words as they were recorded: the report's text may have moved on since)."""

    def sections(text: str) -> tuple[str, dict[str, str]]:
        head, *parts = re.split(r"(?m)^(?=## )", text)
        return head, {part[3:].split(":", 1)[0]: part for part in parts}

    _, before = sections(old)
    head, after = sections(new)
    kept = {
        name: (after[name] if name in names and name in after else part)
        for name, part in before.items()
    }
    kept.update({name: part for name, part in after.items() if name not in kept})
    return head + "".join(part.rstrip("\n") + "\n\n" for part in kept.values())


def profile_table(rows: list[dict[str, Any]]) -> list[str]:
    out = ["| function | calls | own time | with callees |", "|---|---|---|---|"]
    for row in rows:
        out.append(
            f"| `{row['function']}` | {row['calls']:,} | {row['own_share']:.0%} | {row['cum_share']:.0%} |"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default=",".join(SCENARIOS), help="scenarios, comma-separated")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="scenario M only up to 100,000 records (no 1M); L at 100 accounts; SM at 1,000 people",
    )
    parser.add_argument(
        "--l-accounts",
        type=int,
        default=1000,
        help="scenario L: Zoho accounts, all in SDP by name, 3 contacts each (--quick: 100)",
    )
    parser.add_argument(
        "--l-latency", type=float, default=0.05, help="scenario L: seconds added to every call"
    )
    parser.add_argument(
        "--t-accounts", type=int, default=100_000, help="scenario T: Accounts served"
    )
    parser.add_argument(
        "--sm-contacts",
        type=int,
        default=10_000,
        help="scenario SM: people on each side, linked by email (--quick: 1,000)",
    )
    parser.add_argument(
        "--sm-latency", type=float, default=0.05, help="scenario SM: seconds added to every call"
    )
    parser.add_argument(
        "--w-interval", type=float, default=1.0, help="scenario W: seconds between looks"
    )
    parser.add_argument(
        "--accounts", type=int, default=5000, help="scenario A: accounts (4 contacts each)"
    )
    parser.add_argument(
        "--f-accounts", type=int, default=10_000, help="scenario F: Zoho accounts (10%% match)"
    )
    parser.add_argument(
        "--x-integrations",
        type=int,
        default=100,
        help="scenario X: files integrations queued at once for the workers",
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
    # Start-up as installed: bytecode compiled, as a wheel install has it (with
    # PYTHONDONTWRITEBYTECODE set, Python would otherwise compile the sources at every start).
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "core"), str(ROOT / "plugins")],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    recorded = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    results: dict[str, Any] = {
        "recorded": recorded,
        "runs": args.runs,
        "environment": environment(),
    }
    saved_path = Path(args.out).with_suffix(".json")
    merged = not only >= set(SCENARIOS) and saved_path.exists()
    if merged:
        # Some scenarios only: the others stay as recorded, and the report says which are new.
        results = json.loads(saved_path.read_text())
        for name in only | ({"A"} if "I" in only else set()):
            results.setdefault("separately", {})[name] = {
                "recorded": recorded,
                "runs": args.runs,
                "environment": environment(),
            }
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("S", lambda: scenario_s(max(args.runs, 5))),
        ("A", lambda: scenario_a(args.runs, args.accounts, 4)),
        (
            "M",
            lambda: scenario_m([10_000, 100_000] + ([] if args.quick else [1_000_000]), args.runs),
        ),
        ("T", lambda: scenario_t(args.runs, args.t_accounts)),
        (
            "L",
            lambda: scenario_l_module().scenario_l(
                args.runs, 100 if args.quick else args.l_accounts, args.l_latency
            ),
        ),
        (
            "SM",
            lambda: scenario_sm_module().scenario_sm(
                args.runs, 1000 if args.quick else args.sm_contacts, args.sm_latency
            ),
        ),
        ("F", lambda: bench_module("pushdown").scenario_f(args.f_accounts)),
        ("W", lambda: scenario_w_module().scenario_w(args.runs, args.w_interval)),
        ("E", lambda: bench_module("events").scenario_e(args.runs)),
        ("X", lambda: bench_module("workers").scenario_x(args.runs, args.x_integrations)),
    ]
    for name, step in steps:
        if name in only or (name == "A" and "I" in only):
            print(f"scenario {name} …", file=sys.stderr, flush=True)
            started = time.perf_counter()
            results[name] = step()
            print(f"scenario {name}: {time.perf_counter() - started:.1f}s", file=sys.stderr)
    if "I" in only and "A" in results:
        results["I"] = True
    # Where a target does not hold, the profile that shows why goes under it (scenario_t
    # profiles integrate itself, on the warm emulator of its timed runs).
    if "S" in only and statistics.median(results["S"]["validate"]) >= 0.5:
        results["S"]["imports"] = import_leaders()
    text = report(results, args.runs)
    if merged and Path(args.out).exists():
        text = splice(Path(args.out).read_text(), text, only | ({"A"} if "I" in only else set()))
    Path(args.out).write_text(text.rstrip("\n") + "\n")
    (Path(args.out).with_suffix(".json")).write_text(json.dumps(results, indent=1, default=str))
    print(text)


if __name__ == "__main__":
    main()
