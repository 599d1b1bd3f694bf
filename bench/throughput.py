"""Scenario T's verdict, its state-bytes figure and its section of RESULTS.md (run.py runs it).

Targets, all from one recording (every contender takes its turn in each round, so a ratio is
worked out round by round and its median taken):

  integrate ≥ 0.8 times the durable floor (the orjson floor plus, per 1,000 records, an fsynced
  append and one SQLite transaction of link rows: integrate's own batch and durability), and
  integrate ahead of dlt (more than 1 times), both in the same recording;
  the state file's links ≤ 200 bytes per linked record (T's spec is a one-way flow).
"""

from __future__ import annotations

import math
import sqlite3
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

INTEGRATE = "integrate run (zoho_crm → files)"
FLOOR = "floor: httpx + orjson"
DURABLE = "durable floor (fsync + SQLite per 1,000)"
DURABLE_MODIFIED = "durable floor, read in order of modification"
DLT = "dlt"  # its name carries dlt's version: found by this prefix
TARGET_VS_DURABLE = 0.8  # integrate's records/s over the durable floor's, at least
TARGET_VS_DLT = 1.0  # integrate's records/s over dlt's, more than
TARGET_STATE_BYTES = 200  # pages of links and its indexes per link, at most
PAGE = 200  # Accounts a list call

MedianRange = Callable[[list[float], str], str]
ProfileTable = Callable[[list[dict[str, Any]]], list[str]]


def named(t: dict[str, Any], prefix: str) -> str | None:
    """The contender whose name starts with `prefix` (dlt's name carries its version)."""
    return next((k for k in t["contenders"] if k.startswith(prefix)), None)


def paired(t: dict[str, Any], first: str | None, second: str | None) -> list[float]:
    """`first`'s records/s over `second`'s, round by round (round i of each ran minutes
    apart at most); [] when either was not run in this recording."""
    if first is None or second is None:
        return []
    runs = t["contenders"]
    if first not in runs or second not in runs:
        return []
    return [
        b["seconds"] / a["seconds"]
        for a, b in zip(runs[first]["runs"], runs[second]["runs"], strict=False)
    ]


def t_ratios(t: dict[str, Any]) -> dict[str, list[float]]:
    """Round by round: integrate over the durable floor, over dlt and over the orjson floor;
    the durable floor over the orjson floor (what durability costs); the floor over dlt."""
    ours, dlt = named(t, "integrate"), named(t, DLT)
    return {
        "vs_durable": paired(t, ours, DURABLE),
        "vs_dlt": paired(t, ours, dlt),
        "vs_floor": paired(t, ours, FLOOR),
        "durable_vs_floor": paired(t, DURABLE, FLOOR),
        "floor_vs_dlt": paired(t, FLOOR, dlt),
        "vs_durable_modified": paired(t, ours, DURABLE_MODIFIED),
        "modified_vs_durable": paired(t, DURABLE_MODIFIED, DURABLE),
    }


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def t_holds(t: dict[str, Any]) -> bool:
    """T's throughput target: integrate ≥ 0.8 times the durable floor and ahead of dlt, both
    measured in this recording (a profile of integrate explains it when it fails)."""
    ratios = t_ratios(t)
    vs_durable, vs_dlt = _median(ratios["vs_durable"]), _median(ratios["vs_dlt"])
    if vs_durable is None or vs_dlt is None:
        return False
    return vs_durable >= TARGET_VS_DURABLE and vs_dlt > TARGET_VS_DLT


# ---- state bytes per linked record ---------------------------------------------------------


def state_bytes(path: Path) -> dict[str, Any]:
    """What a state file spends on links: the pages of the `links` table and of its indexes
    (SQLite's `dbstat`), the number of links and the whole file's bytes."""
    files = [path, path.with_name(path.name + "-wal")]
    size = sum(f.stat().st_size for f in files if f.exists())
    db = sqlite3.connect(path)
    try:
        links = db.execute("SELECT COUNT(*) FROM links").fetchone()[0]
        indexes = [
            row[0]
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'links'"
            )
        ]
        pages = dict(
            db.execute(
                "SELECT name, SUM(pgsize) FROM dbstat WHERE name = 'links' GROUP BY name"
            ).fetchall()
        )
        pages["indexes"] = sum(
            db.execute(
                "SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name = ?", (name,)
            ).fetchone()[0]
            for name in indexes
        )
    except sqlite3.OperationalError as exc:  # no dbstat in this SQLite, or no links table
        return {"error": f"{path.name}: {exc}"}
    finally:
        db.close()
    return {
        "links": links,
        "table_bytes": pages.get("links", 0),
        "index_bytes": pages["indexes"],
        "file_bytes": size,
    }


def per_link(state: dict[str, Any]) -> float | None:
    """Bytes of the links table and its indexes per link (None when not measured)."""
    if not state.get("links"):
        return None
    return (state["table_bytes"] + state["index_bytes"]) / state["links"]


def t_state(t: dict[str, Any]) -> dict[str, Any] | None:
    """integrate's state figures from its last run (every run writes the same links)."""
    ours = named(t, "integrate")
    runs = t["contenders"][ours]["runs"] if ours else []
    measured = [r["state"] for r in runs if r.get("state")]
    return measured[-1] if measured else None


def t_state_holds(t: dict[str, Any]) -> bool:
    state = t_state(t)
    figure = per_link(state) if state else None
    return figure is not None and figure <= TARGET_STATE_BYTES


# ---- the report -----------------------------------------------------------------------------


def _verdict(holds: bool) -> str:
    return "**holds**" if holds else "**does not hold**"


def _ratio(values: list[float], median_range: MedianRange) -> str:
    return median_range(values, "{:.2f}") if values else "not measured in this recording"


def _column(runs: list[dict[str, Any]], key: str, median_range: MedianRange, fmt: str) -> str:
    values = [r[key] for r in runs if r.get(key) is not None]
    return median_range(values, fmt) if values else "-"


def _list_calls(runs: list[dict[str, Any]]) -> str:
    counts = sorted({r["calls"].get("list", 0) for r in runs if "calls" in r})
    return ", ".join(f"{c:,}" for c in counts) or "-"


def _state_cell(runs: list[dict[str, Any]]) -> str:
    states = [r["state"] for r in runs if r.get("state")]
    if not states:
        return "-"
    figure = per_link(states[-1])
    return f"{figure:.0f}" if figure is not None else states[-1].get("error", "-")


def t_report(
    t: dict[str, Any], median_range: MedianRange, profile_table: ProfileTable
) -> list[str]:
    n = t["accounts"]
    lines = [
        f"## T: throughput ({n:,} Zoho Accounts over loopback HTTP, 15 fields, 200 a page, 10 mapped)",
        "",
        "The Zoho CRM emulator runs in its own process (`bench/emulated.py zoho_crm`); every "
        "contender pulls all Accounts, maps the same 10 fields (one nested) and writes JSON "
        "lines. Start-up is the same whole job over an org with one Account. The contenders "
        "take turns, one round after another, after an untimed round that leaves the emulator "
        "warm for each one's query. The checker compares every contender's output with the "
        "harness's own read, record by record. List calls and the emulator's CPU time are the "
        "emulator's own figures for each run; state bytes are the pages of the `links` table "
        "and its indexes over the number of links (SQLite's `dbstat`).",
        "",
        "| contender | records/s | wall time (s) | start-up (s) | peak RSS (MiB) | list calls "
        "| emulator CPU (s) | state bytes a link | output checked |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in t["contenders"].items():
        runs = row["runs"]
        seconds = [r["seconds"] for r in runs]
        checks = {r.get("check", "") for r in runs}
        verdict = (
            "all records equal" if checks == {""} else "; ".join(sorted(c for c in checks if c))
        )
        lines.append(
            f"| {name} | {median_range([n / x for x in seconds], '{:,.0f}')} | "
            f"{median_range(seconds, '{:.2f}')} | {median_range(row['startup'], '{:.2f}')} | "
            f"{_column(runs, 'rss_mib', median_range, '{:.0f}')} | {_list_calls(runs)} | "
            f"{_column(runs, 'emulator_cpu', median_range, '{:.2f}')} | {_state_cell(runs)} | "
            f"{verdict} |"
        )
    ratios = t_ratios(t)
    vs_durable, vs_dlt = _median(ratios["vs_durable"]), _median(ratios["vs_dlt"])
    lines += [
        "",
        f"- `integrate` ≥ {TARGET_VS_DURABLE} times the durable floor (the same batch of 1,000: "
        f"an fsynced append and one SQLite transaction of link rows), round by round: "
        f"{_ratio(ratios['vs_durable'], median_range)}: "
        f"{_verdict(vs_durable is not None and vs_durable >= TARGET_VS_DURABLE)}.",
        f"- `integrate` ahead of dlt (more than {TARGET_VS_DLT:.0f} times), round by round: "
        f"{_ratio(ratios['vs_dlt'], median_range)}: "
        f"{_verdict(vs_dlt is not None and vs_dlt > TARGET_VS_DLT)}.",
        f"- Both, in the same recording: {_verdict(t_holds(t))}.",
        *_state_lines(t),
        "- For information, round by round: `integrate` over the httpx + orjson floor "
        f"{_ratio(ratios['vs_floor'], median_range)}; the durable floor over that floor "
        f"{_ratio(ratios['durable_vs_floor'], median_range)} (what the fsyncs and link rows "
        f"cost); that floor over dlt {_ratio(ratios['floor_vs_dlt'], median_range)}.",
        *_order_lines(ratios, median_range),
        *_calls_lines(t),
        *_emulator_lines(t),
        "- A plain field path does not pay for the interpreter: `Account_Name` or `Owner.name` "
        "compile to dictionary look-ups (`_getter` in `core/expressions.py`); the "
        '"jmespath per field" row is what calling the interpreter per field costs.',
        "",
    ]
    profile = t.get("profile")
    if profile:
        lines += [
            "Why not: where `integrate run` spends its time (cProfile of one more run; shares of "
            "the profiled time):",
            "",
            "| phase | share |",
            "|---|---|",
            *(f"| {p['phase']} | {p['share']:.0%} |" for p in profile["phases"]),
            "",
            "The functions with the most own time:",
            "",
            *profile_table(profile["functions"]),
            "",
            "The orjson floor keeps no state and syncs nothing to disk; the durable floor does "
            "per batch of 1,000 what `integrate` does (an `fsync` of the file, one transaction "
            "of link rows in a WAL database with `synchronous=FULL`), but keeps one digest of "
            "the line where `integrate` keeps one per field of each side, and reads in id "
            "order, so its link rows come in order. The distance is broken down, part by "
            'part, in bench/README.md ("Why T\'s throughput target does not hold").',
            "",
        ]
    return lines


def _order_lines(ratios: dict[str, list[float]], median_range: MedianRange) -> list[str]:
    """What the read order costs: the durable floor reading in integrate's order (by
    modification time, so link rows come in no order of their ids) over the one reading by id."""
    if not ratios["modified_vs_durable"]:
        return []
    return [
        "- The read order, for information, round by round: the durable floor reading in "
        "order of modification (as `integrate`'s read by key does, so that its link rows come "
        "in no order of their ids) over the same floor reading by id "
        f"{_ratio(ratios['modified_vs_durable'], median_range)}; `integrate` over that floor "
        f"{_ratio(ratios['vs_durable_modified'], median_range)}."
    ]


def _state_lines(t: dict[str, Any]) -> list[str]:
    state = t_state(t)
    target = (
        f"State bytes per linked record ≤ {TARGET_STATE_BYTES} (T's spec is a one-way flow of "
        "10 fields)"
    )
    if state is None:
        return [f"- {target}: not measured in this recording: **does not hold**."]
    figure = per_link(state)
    if figure is None:
        return [f"- {target}: not measured ({state.get('error', 'no links')}): **does not hold**."]
    return [
        f"- {target}: `links` {state['table_bytes']:,} + its indexes {state['index_bytes']:,} "
        f"bytes for {state['links']:,} links = {figure:.0f} bytes a link (the whole state file, "
        f"{state['file_bytes']:,} bytes, is {state['file_bytes'] / state['links']:.0f} a link): "
        f"{_verdict(figure <= TARGET_STATE_BYTES)}."
    ]


def _list_counts(t: dict[str, Any], mine: bool) -> list[int]:
    """The list calls integrate's runs made (`mine`), or every other contender's."""
    ours = named(t, "integrate")
    return sorted(
        {
            r["calls"].get("list", 0)
            for name, row in t["contenders"].items()
            if (name == ours) == mine
            for r in row["runs"]
            if "calls" in r
        }
    )


def t_same_reads(t: dict[str, Any]) -> bool | None:
    """Whether every contender read in the calls its kind of read takes: ⌈n / 200⌉ by
    `page_token`, and integrate the fewest of a read by key (each page from the second the
    page before ended at, which those records take room in); None when not counted."""
    made, others = _list_counts(t, True), _list_counts(t, False)
    keyset = t.get("keyset_list_calls")
    if not made or not others or keyset is None:
        return None
    return made == [keyset] and others == [math.ceil(t["accounts"] / PAGE)]


def _calls_lines(t: dict[str, Any]) -> list[str]:
    same = t_same_reads(t)
    if same is None:
        return []
    made, others = _list_counts(t, True), _list_counts(t, False)
    ours = named(t, "integrate")
    own = sorted(
        {
            f"{kind} {n}"
            for r in t["contenders"][ours]["runs"]
            if "calls" in r
            for kind, n in r["calls"].items()
            if kind != "list"
        }
    )
    pages, keyset = math.ceil(t["accounts"] / PAGE), t["keyset_list_calls"]
    return [
        f"- The same reads: the other contenders page by `page_token`, ⌈{t['accounts']:,} / "
        f"{PAGE}⌉ = {pages:,} list calls (they made {_counts(others)}); `integrate` reads by key "
        "(each page from the last second read, so that records changing while it pages are "
        "never skipped), whose fewest list calls here, worked out from every Account's "
        f"Modified_Time, are {keyset:,} (it made {_counts(made)}; besides: "
        f"{', '.join(own) or 'none'}): {'**the same**' if same else '**they differ**'} (the read "
        f"by key: {keyset - pages:+,} calls)."
    ]


def _counts(values: list[int]) -> str:
    return ", ".join(f"{v:,}" for v in values)


def t_emulator_shares(t: dict[str, Any]) -> dict[str, float]:
    """The emulator's CPU time over the run's wall time (median of the runs), for integrate
    and the two floors: near 1, the emulator would be what bounds them."""
    out = {}
    for name in (named(t, "integrate"), DURABLE, FLOOR):
        runs = t["contenders"].get(name or "", {}).get("runs", [])
        pairs = [(r["emulator_cpu"], r["seconds"]) for r in runs if "emulator_cpu" in r]
        if name and pairs:
            out[name] = statistics.median(cpu / wall for cpu, wall in pairs)
    return out


def _emulator_lines(t: dict[str, Any]) -> list[str]:
    shares = t_emulator_shares(t)
    if not shares:
        return []
    return [
        "- Whether the emulator is the bound: its own CPU time (its process, every thread) "
        "over the run's wall time is "
        + "; ".join(f"{share:.0%} for {name}" for name, share in shares.items())
        + ". Every contender waits for each page, so that time is in everyone's wall time; "
        "the emulator would be the bound only near 100%."
    ]
