"""Scenario L, a latency-bound first sync: the Zoho CRM → ServiceDesk Plus MSP spec against
both emulators, each served on loopback in a process of its own and answering every call
`latency` seconds late, `integrate run` as a subprocess. It measures the wall time against
the least the calls made allow (reads one at a time, writes up to each connection's
concurrency) and the most calls each emulator had in flight at once.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SPEC = ROOT / "specs/zoho_crm-servicedesk_msp.yaml"
EMULATED = ROOT / "bench/emulated.py"
CONNECTIONS = {"crm": "zoho_crm", "sdp": "servicedesk_msp"}
TARGET_RATIO = 1.25
TIMES = "\u00d7"  # the multiplication sign of the printed formula


class ServedEmulator:
    """`bench/emulated.py PLUGIN` in its own process; `ask` sends it one command. With
    `restore`, it starts from what the emulator's `save` left in that folder."""

    def __init__(self, plugin: str, latency: float, restore: Path | None = None, **options: Any):
        sets = [f"--set={k}={v}" for k, v in options.items()]
        if restore is not None:
            sets.append(f"--restore={restore}")
        self.process = subprocess.Popen(
            [sys.executable, str(EMULATED), plugin, "--latency", str(latency), *sets],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        first = self.process.stdout.readline() if self.process.stdout else ""
        if not first.startswith("{"):
            self.close()
            raise SystemExit(f"bench: the {plugin} emulator did not start: {first!r}")
        started = json.loads(first)
        self.url: str = started["url"]
        self.config: dict[str, Any] = started["config"]

    def ask(self, command: str) -> Any:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def zoho_variables(self, url_variable: str = "ZOHO_ACCOUNTS_URL") -> dict[str, str]:
        """A served Zoho CRM emulator's accounts server (as `url_variable`) and credentials,
        as a spec's `${env:ZOHO_...}` reads them."""
        keys = ("client_id", "client_secret", "refresh_token")
        return {
            url_variable: self.config["accounts_url"],
            **{f"ZOHO_{key.upper()}": self.config[key] for key in keys},
        }

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()  # end of input stops it
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def l_spec() -> str:
    """The SDP spec as shipped: its Zoho connection reads ZOHO_ACCOUNTS_URL (set to the served
    emulator's accounts server; unset, the spec names Zoho's data centre, which a benchmark
    must never call)."""
    text = SPEC.read_text()
    if "${env:ZOHO_ACCOUNTS_URL" not in text:
        raise SystemExit(f"scenario L: {SPEC.name} does not read ${{env:ZOHO_ACCOUNTS_URL}}")
    return text


def concurrency_of(alias: str, config: dict[str, Any]) -> int:
    """A connection's concurrency limit: the spec's `limits.concurrency`, else the default
    its plugin's connector asks `ConnectorContext.http` for."""
    return int(http_limits(SPEC, alias, config)["concurrency"])


def http_limits(spec: Path, alias: str, config: dict[str, Any]) -> dict[str, Any]:
    """What a connection of `spec` asks `ConnectorContext.http` for: its `concurrency` (the
    spec's `limits.concurrency`, else the plugin's default) and `calls_per_minute` (the
    spec's `limits.calls_per_minute`, else the plugin's pacing; None: not paced)."""
    from integrate import ConnectorContext
    from integrate.build import load_spec
    from integrate.plugins import make_plugins

    plugins = make_plugins()
    connection = load_spec(spec, plugins, strict_env=False).connections[alias]
    default = inspect.signature(ConnectorContext.http).parameters["concurrency"].default
    seen: list[dict[str, Any]] = []

    class Probe(ConnectorContext):
        def http(self, base_url: str = "", **kwargs: Any) -> Any:
            pace = self.limits.get("calls_per_minute", kwargs.get("calls_per_minute"))
            seen.append(
                {
                    "concurrency": int(
                        self.limits.get("concurrency", kwargs.get("concurrency", default))
                    ),
                    "calls_per_minute": float(pace) if pace else None,
                }
            )
            return super().http(base_url, **kwargs)

    context = Probe(connection=alias, limits=connection.limits)
    plugins.connector(connection.plugin)(config, context).close()
    if not seen:
        raise SystemExit(f"bench: the {alias} connector of {spec.name} made no HTTP client")
    return seen[-1]


def one_run(
    accounts: int, per_account: int, latency: float, profile: Path | None = None
) -> dict[str, Any]:
    """A first sync of `accounts` Zoho accounts (all in SDP by name) and their contacts;
    with `profile`, `integrate run` runs under cProfile into that file."""
    crm = ServedEmulator(
        "zoho_crm", latency, accounts=accounts, contacts_per_account=per_account, seed=5
    )
    sdp: ServedEmulator | None = None
    try:
        sdp = ServedEmulator("servicedesk_msp", latency)
        names = [{"name": a["Account_Name"]} for a in crm.ask("records Accounts")]
        sdp.ask(f"seed accounts {json.dumps(names)}")
        contacts = crm.ask("count Contacts")["count"]
        for emulator in (crm, sdp):
            emulator.ask("reset")
        with tempfile.TemporaryDirectory(prefix="integrate-bench-l-") as tmp:
            work = Path(tmp)
            (work / "spec").mkdir()  # the spec's failures file is ../.integrate/…: in work
            (work / "spec/spec.yaml").write_text(l_spec())
            env = {
                **os.environ,
                **crm.zoho_variables(),
                "SDP_URL": sdp.config["url"],
                "SDP_TECHNICIAN_KEY": sdp.config["technician_key"],
                "INTEGRATE_HOME": str(work / ".integrate"),
            }
            run = [str(BIN / "integrate"), "run", "spec/spec.yaml", "--state", "state.db"]
            command = (
                [sys.executable, "-m", "cProfile", "-o", str(profile), *run] if profile else run
            )
            start = time.perf_counter()
            done = subprocess.run(
                [*command, "--json"], cwd=work, env=env, capture_output=True, text=True, check=False
            )
            seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(
                f"scenario L: integrate run exited {done.returncode}:\n{done.stderr[-3000:]}"
            )
        summary = json.loads(done.stdout)
        row: dict[str, Any] = {
            "accounts": len(names),
            "contacts": contacts,
            "seconds": seconds,
            "run_seconds": summary.get("seconds"),
            "status": summary.get("status"),
            "requesters": sdp.ask("count requesters")["count"],
            "calls": {"crm": crm.ask("calls"), "sdp": sdp.ask("calls")},
            "concurrency": {
                "crm": concurrency_of("crm", crm.config),
                "sdp": concurrency_of("sdp", sdp.config),
            },
        }
        if row["requesters"] != contacts:
            raise SystemExit(
                f"scenario L: SDP holds {row['requesters']} requesters after the run, not the "
                f"{contacts} contacts"
            )
        return row
    finally:
        crm.close()
        if sdp is not None:
            sdp.close()


def scenario_l(runs: int, accounts: int, latency: float, per_account: int = 3) -> dict[str, Any]:
    """Fresh emulators and state for every run (each one a first sync)."""
    results: dict[str, Any] = {"latency": latency, "runs": []}
    for n in range(runs):
        print(f"  L: run {n + 1} of {runs}", file=sys.stderr, flush=True)
        results["runs"].append(one_run(accounts, per_account, latency))
    results["concurrency"] = results["runs"][0]["concurrency"]
    if not l_holds(results):
        # Where the time goes, at a tenth of the size (the shape, not the size).
        size = max(20, accounts // 10)
        print(f"  L: profiling a run of {size} accounts", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(prefix="integrate-bench-lp-") as tmp:
            prof = Path(tmp) / "run.prof"
            profiled = one_run(size, per_account, latency, profile=prof)
            results["profile"] = {
                "accounts": profiled["accounts"],
                "contacts": profiled["contacts"],
                "calls": sum(sum(c["kinds"].values()) for c in profiled["calls"].values()),
                "rows": cumulative_rows(prof),
            }
    return results


def minimum(row: dict[str, Any], concurrency: dict[str, int], latency: float) -> dict[str, Any]:
    """The least a run making these calls can take: reads one at a time, each kind of write
    `concurrency` at a time on its connection, every call `latency` long."""
    reads = {
        alias: sum(row["calls"][alias]["kinds"].values())
        - sum(row["calls"][alias]["writes"].values())
        for alias in CONNECTIONS
    }
    rounds = [
        (alias, kind, n, math.ceil(n / concurrency[alias]))
        for alias in CONNECTIONS
        for kind, n in sorted(row["calls"][alias]["writes"].items())
    ]
    read_seconds = sum(reads.values()) * latency
    write_seconds = sum(r for *_, r in rounds) * latency
    read_text = " + ".join(f"{alias} {n:,}" for alias, n in reads.items())
    write_text = " + ".join(
        f"{alias} {kind} ⌈{n:,} / {concurrency[alias]}⌉" for alias, kind, n, _ in rounds
    )
    formula = (
        f"({read_text} reads) {TIMES} {latency:g} s + ({write_text or 'no writes'}) {TIMES} {latency:g} s "
        f"= {read_seconds:.2f} s + {write_seconds:.2f} s = {read_seconds + write_seconds:.2f} s"
    )
    calls = sum(sum(row["calls"][a]["kinds"].values()) for a in CONNECTIONS)
    return {
        "seconds": read_seconds + write_seconds,
        "formula": formula,
        "calls": calls,
        "serial_seconds": calls * latency,
    }


def in_flight_checks(scenario: dict[str, Any]) -> list[tuple[str, bool]]:
    """Per connection, over every run: never more calls in flight than its concurrency; a
    connection that is written to reaches it (there are writes enough to fill it)."""
    checks = []
    for alias in CONNECTIONS:
        limit = scenario["concurrency"][alias]
        most = sorted({r["calls"][alias]["max_in_flight"] for r in scenario["runs"]})
        seen = str(most[0]) if len(most) == 1 else f"{most[0]} to {most[-1]}"
        if any(r["calls"][alias]["writes"] for r in scenario["runs"]):
            label = f"{alias}: at most {seen} in flight; its concurrency is {limit}"
            checks.append((label, most == [limit]))
        else:
            label = f"{alias} (reads only): at most {seen} in flight, not above its {limit}"
            checks.append((label, most[-1] <= limit))
    return checks


def ratios(scenario: dict[str, Any]) -> list[float]:
    return [
        r["seconds"] / minimum(r, scenario["concurrency"], scenario["latency"])["seconds"]
        for r in scenario["runs"]
    ]


def l_holds(scenario: dict[str, Any]) -> bool:
    return statistics.median(ratios(scenario)) <= TARGET_RATIO and all(
        ok for _, ok in in_flight_checks(scenario)
    )


def cumulative_rows(path: Path, top: int = 14) -> list[dict[str, Any]]:
    """The project's functions (core/, plugins/) with the most time spent in them and what
    they call, as a share of the profiled run: where a latency-bound run waits."""
    import pstats

    table = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    total = max(v[3] for v in table.values()) or 1.0
    rows = []
    for (file, line, name), (_cc, calls, _own, cum, _callers) in table.items():
        where = file.replace(str(ROOT) + "/", "")
        if not where.startswith(("core/", "plugins/")) or where.startswith("core/cli"):
            continue
        rows.append(
            {"function": f"{name} ({where}:{line})", "calls": calls, "cum_share": cum / total}
        )
    rows.sort(key=lambda r: -r["cum_share"])
    return rows[:top]


def l_report(scenario: dict[str, Any], median_range: Any) -> list[str]:
    first = scenario["runs"][0]
    latency, concurrency = scenario["latency"], scenario["concurrency"]
    least = minimum(first, concurrency, latency)
    walls = [r["seconds"] for r in scenario["runs"]]
    wall_ratios = ratios(scenario)
    ratio = statistics.median(wall_ratios)
    ms = f"{latency * 1000:g} ms"

    def kinds(calls: dict[str, int]) -> str:
        return ", ".join(f"{k} {v:,}" for k, v in sorted(calls.items())) or "none"

    lines = [
        f"## L: latency-bound first sync (Zoho CRM → ServiceDesk Plus MSP spec, {ms} a call)",
        "",
        f"{first['accounts']:,} Zoho accounts (all already in SDP by name) and "
        f"{first['contacts']:,} contacts to create; each emulator served on loopback in its own "
        f"process (`bench/emulated.py`), answering every call {ms} late; `integrate run` as a "
        "subprocess. Calls and calls in flight are the emulators' own figures.",
        "",
        "| connection | calls by kind | of them writes | most calls in flight | concurrency limit |",
        "|---|---|---|---|---|",
    ]
    for alias, plugin in CONNECTIONS.items():
        calls = first["calls"][alias]
        lines.append(
            f"| {alias} ({plugin}) | {kinds(calls['kinds'])} | {kinds(calls['writes'])} | "
            f"{max(r['calls'][alias]['max_in_flight'] for r in scenario['runs'])} | {concurrency[alias]} |"
        )
    lines += [
        "",
        f"- Wall time: {median_range(walls, '{:.1f}')} s.",
        "- Minimum (reads one at a time, each kind of write up to its connection's concurrency "
        f"at once): {least['formula']}.",
        f"- Wall ≤ {TARGET_RATIO} {TIMES} the minimum: {median_range(wall_ratios, '{:.2f}')} times: "
        f"**{'holds' if ratio <= TARGET_RATIO else 'does not hold'}**.",
    ]
    for label, ok in in_flight_checks(scenario):
        lines.append(f"- Calls in flight, {label}: **{'holds' if ok else 'does not hold'}**.")
    lines.append("")
    if l_holds(scenario):
        return lines
    serial = least["serial_seconds"]
    most = max(r["calls"][a]["max_in_flight"] for r in scenario["runs"] for a in CONNECTIONS)
    wall = statistics.median(walls)
    lines += [
        "Why not: the same calls made one after another take "
        f"{least['calls']:,} {TIMES} {latency:g} s = {serial:.1f} s; the run took {wall:.1f} s"
        + (
            ", and no emulator ever had two calls in flight at once: every call's latency is "
            "waited out in turn, so the writes never reach their connection's concurrency. "
            f"The {wall - serial:.1f} s beyond that is integrate's own work (start-up, "
            "matching, mapping, state) and the emulators'."
            if most <= 1
            else f"; at most {most} calls were in flight on one emulator."
        ),
        "",
    ]
    profile = scenario.get("profile")
    if profile:
        lines += [
            f"Where `integrate run` spends its time (cProfile of one more run, "
            f"{profile['accounts']:,} accounts and {profile['contacts']:,} contacts, main thread; "
            "the project's functions with the most time in them and what they call):",
            "",
            "| function | calls | with callees |",
            "|---|---|---|",
            *(
                f"| `{r['function']}` | {r['calls']:,} | {r['cum_share']:.0%} |"
                for r in profile["rows"]
            ),
            "",
        ]
        sent = [
            r["calls"] for r in profile["rows"] if r["function"].startswith("request (core/http.py")
        ]
        if sent and sent[0] >= profile.get("calls", math.inf):
            lines += [
                f"Every one of the {profile['calls']:,} calls the emulators answered in that run "
                f"was sent from the run's main thread (`HttpClient.request`, {sent[0]:,} calls "
                "there), so one after another: nothing else sends while a call waits.",
                "",
            ]
    return lines
