"""Many integrations on `integrate worker` processes sharing one PostgreSQL database (T20 and
bench scenario X): their specs and folders laid out, `integrate enqueue` in rounds, what the
database says afterwards (the run history, Procrastinate's jobs and event log), a watch that
samples it while the workers go, and what one uninterrupted run of a spec writes.

The integrations are files → files specs (each with its own folders; a few hundred records in
one or several batches, or long ones: 3,000 records in batches of 10), and Zoho CRM Accounts →
files specs against a Zoho emulator whose address and credentials are in the environment
(`ZOHO_ACCOUNTS_URL` ..., see tests/plugins/zoho_crm/emulator_kit.py)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import read_jsonl, write_jsonl
from tests.plugins.zoho_crm.emulator_kit import accounts_to_files

# (records, batch_size) of the files specs, in turn: one batch, several, many
SHAPES = ((150, 1000), (300, 100), (450, 50))
LONG_SHAPE = (8000, 10)  # long enough to be caught in the middle of a run
FILES_SPEC = """\
integrate: 1
name: {name}
connections:
  src: {{plugin: files, config: {{path: ../data/{name}/src, cursor_field: changed}}}}
  dst: {{plugin: files, config: {{path: ../data/{name}/dst}}}}
flows:
  accounts:
    from: src.accounts
    to: dst.accounts
    batch_size: {batch}
    match: [[name, title]]
    fields: {{title: name, city: city}}
"""


@dataclass(frozen=True)
class Integration:
    name: str
    kind: str  # files | long | zoho
    records: int  # what its source holds
    batch: int = 0

    @property
    def shape(self) -> tuple[str, int, int]:
        """Integrations of one shape have the same source data, so the same expected target."""
        return (self.kind, self.records, self.batch)


def integrations(
    count: int, long: int = 0, zoho: int = 0, accounts: int = 0, prefix: str = "t20"
) -> list[Integration]:
    """`count` integrations named PREFIX-NNN-KIND, the `long` and `zoho` ones spread evenly
    among the files ones, the last one long (a queue is run in the order it was filled: long
    runs go on all along, and one is still going when the rest is done). `accounts`: what the
    Zoho emulator holds."""
    long_at = {count - 1 - i * count // long for i in range(long)} if long else set()
    zoho_at: set[int] = set()
    for i in range(zoho):
        at = (i * count // zoho + count // (2 * zoho)) % count
        while at in long_at or at in zoho_at:
            at = (at + 1) % count
        zoho_at.add(at)
    made = []
    for i in range(count):
        if i in long_at:
            made.append(Integration(f"{prefix}-{i:03d}-long", "long", *LONG_SHAPE))
        elif i in zoho_at:
            made.append(Integration(f"{prefix}-{i:03d}-zoho", "zoho", accounts))
        else:
            made.append(Integration(f"{prefix}-{i:03d}-files", "files", *SHAPES[i % len(SHAPES)]))
    return made


def lay_out(root: Path, item: Integration) -> Path:
    """Its spec in root/specs, its folders in root/data/NAME; the spec's path."""
    spec = root / "specs" / f"{item.name}.yaml"
    spec.parent.mkdir(parents=True, exist_ok=True)
    (root / "data" / item.name / "dst").mkdir(parents=True)
    if item.kind == "zoho":
        text = accounts_to_files(
            name=item.name, out=f"../data/{item.name}/dst", accounts_url="${env:ZOHO_ACCOUNTS_URL}"
        )
    else:
        source = [
            {"id": f"s{i}", "name": f"Company {i:05d}", "city": f"City {i % 7}", "changed": i}
            for i in range(item.records)
        ]
        write_jsonl(root / "data" / item.name / "src" / "accounts.jsonl", source)
        text = FILES_SPEC.format(name=item.name, batch=item.batch)
    spec.write_text(text)
    return spec


def target(root: Path, name: str) -> list[dict[str, Any]]:
    """The records in an integration's target file."""
    return read_jsonl(root / "data" / name / "dst" / "accounts.jsonl")


def written(root: Path, name: str) -> int:
    """How many records its target file holds (lines counted, not parsed)."""
    path = root / "data" / name / "dst" / "accounts.jsonl"
    return path.read_bytes().count(b"\n") if path.exists() else 0


def reference(root: Path, item: Integration) -> list[dict[str, Any]]:
    """What one uninterrupted run of the item's spec writes: the same spec and data laid out
    again under root, run to its end once in this process on a SQLite state file there."""
    from integrate.build import load_spec
    from integrate.engine import RunOptions, run_spec
    from integrate.plugins import make_plugins

    spec = lay_out(root, item)
    plugins = make_plugins()
    options = RunOptions(state_path=root / "state.db", failures_path=root / "failed.jsonl")
    report = run_spec(load_spec(spec, plugins), plugins, options)
    assert report.status == "succeeded", report.error
    return target(root, item.name)


# ---- the database, read back -----------------------------------------------------------------


def query(url: str, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def clock(url: str) -> dt.datetime:
    """The database's clock (the machine's: the workers, the database and the test share it)."""
    [(now,)] = query(url, "SELECT clock_timestamp()")
    assert isinstance(now, dt.datetime)
    return now


def has_table(url: str, name: str) -> bool:
    return query(url, "SELECT to_regclass(%s)", (name,)) != [(None,)]


def history(url: str) -> list[dict[str, Any]]:
    """Every run in the state's history: integration, number, status, trigger, started and
    finished (datetimes), worker, message, stats (the run's JSON report)."""
    if not has_table(url, "runs"):
        return []
    rows = query(
        url,
        "SELECT integration, number, status, trigger, started_at, finished_at, worker, message,"
        " stats FROM runs ORDER BY integration, number",
    )
    runs = []
    for name, number, status, trigger, started, finished, worker, message, stats in rows:
        runs.append(
            {
                "integration": name,
                "number": number,
                "status": status,
                "trigger": trigger,
                "started": dt.datetime.fromisoformat(started),
                "finished": dt.datetime.fromisoformat(finished) if finished else None,
                "worker": worker,
                "message": message or "",
                "stats": json.loads(stats) if stats else {},
            }
        )
    return runs


def running(url: str) -> list[tuple[str, int, str]]:
    """(integration, number, worker) of the runs recorded `running` now."""
    if not has_table(url, "runs"):
        return []
    rows = query(url, "SELECT integration, number, worker FROM runs WHERE status = 'running'")
    return [(str(name), int(number), str(worker)) for name, number, worker in rows]


def unfinished_jobs(url: str, *statuses: str) -> int:
    """`integrate.run` jobs in these statuses (default: waiting or taken)."""
    [(count,)] = query(
        url,
        "SELECT count(*) FROM procrastinate_jobs"
        " WHERE task_name = 'integrate.run' AND status::text = ANY(%s)",
        (list(statuses or ("todo", "doing")),),
    )
    return int(count)


def alive(url: str) -> list[str]:
    """The workers whose name is written and whose heartbeat is fresh."""
    if not has_table(url, "integrate_workers"):
        return []
    rows = query(
        url,
        "SELECT n.name FROM integrate_workers n JOIN procrastinate_workers w ON w.id = n.worker_id"
        " WHERE w.last_heartbeat > now() - make_interval(secs => n.stalled_after)",
    )
    return [str(name) for (name,) in rows]


@dataclass(frozen=True)
class Span:
    """A job's stay in one status, `todo` (waiting) or `doing` (taken), between two events of
    Procrastinate's event log, by their ids (`until` None: it is still there). The ids order
    the events as they happened: each is drawn by the statement that moved the job. (Their
    times do not: `at` is when the event's transaction began, and a worker's transaction can
    begin before the job it takes was queued.)"""

    job: int
    status: str
    since: int
    until: int | None

    def meets(self, low: int, high: int | None) -> bool:
        """Whether the job was in its status at some moment after event `low` and before
        event `high` (None: ever after), either included."""
        return (high is None or self.since <= high) and (self.until is None or low < self.until)


_LEAVES = {
    "todo": ("started", "cancelled"),
    "doing": ("succeeded", "failed", "aborted", "deferred_for_retry"),
}
_ENTERS = {
    "deferred": "todo",
    "deferred_for_retry": "todo",
    "retried": "todo",
    "started": "doing",
}


def spans(url: str) -> dict[str, list[Span]]:
    """Every job's spans waiting and taken, by integration, in the order they began."""
    rows = query(
        url,
        "SELECT j.args->>'integration', e.job_id, e.type::text, e.id FROM procrastinate_events e"
        " JOIN procrastinate_jobs j ON j.id = e.job_id WHERE j.task_name = 'integrate.run'"
        " ORDER BY e.id",
    )
    found: dict[str, list[Span]] = defaultdict(list)
    opened: dict[int, tuple[str, str, int]] = {}
    for name, job, kind, event in rows:
        if job in opened and kind in _LEAVES[opened[job][1]]:
            _name, status, since = opened.pop(job)
            found[name].append(Span(job, status, since, event))
        if kind in _ENTERS:
            opened[job] = (name, _ENTERS[kind], event)
    for job, (name, status, since) in opened.items():
        found[name].append(Span(job, status, since, None))
    for listed in found.values():
        listed.sort(key=lambda span: span.since)
    return found


def last_event(url: str) -> int:
    """The id of the event log's latest event (0: none yet)."""
    if not has_table(url, "procrastinate_events"):
        return 0
    [(last,)] = query(url, "SELECT coalesce(max(id), 0) FROM procrastinate_events")
    return int(last)


def started_jobs(url: str) -> int:
    """How many times a worker took an `integrate.run` job (Procrastinate's `started` events)."""
    [(count,)] = query(
        url,
        "SELECT count(*) FROM procrastinate_events e JOIN procrastinate_jobs j ON j.id = e.job_id"
        " WHERE j.task_name = 'integrate.run' AND e.type = 'started'",
    )
    return int(count)


# ---- beside the workers ----------------------------------------------------------------------


@dataclass
class Watch:
    """Samples the database every 50 ms until `stop` is set: integrations with two jobs
    waiting, with two jobs taken, with two runs recorded `running`."""

    url: str
    samples: int = 0
    seen: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        import psycopg

        twice = (
            "SELECT args->>'integration', count(*) FROM procrastinate_jobs WHERE task_name ="
            " 'integrate.run' AND status = %s GROUP BY 1 HAVING count(*) > 1"
        )
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.wait(0.05):
                for status in ("todo", "doing"):
                    rows = conn.execute(twice, (status,)).fetchall()
                    self.seen += [f"{n} jobs of {lock} {status}" for lock, n in rows]
                if conn.execute("SELECT to_regclass('runs')").fetchone() != (None,):
                    rows = conn.execute(
                        "SELECT integration, count(*) FROM runs WHERE status = 'running'"
                        " GROUP BY 1 HAVING count(*) > 1"
                    ).fetchall()
                    self.seen += [f"{n} runs of {name} running" for name, n in rows]
                self.samples += 1


@dataclass(frozen=True)
class Round:
    """One `integrate enqueue`: its lines, and the event log's latest event before it began
    and after it ended."""

    began: int
    ended: int
    lines: list[str]

    def said(self) -> dict[str, str]:
        """Each integration's line, by name."""
        return {line.split(" (job ")[0].split(": ", 1)[1]: line for line in self.lines}


def enqueue(root: Path, url: str, specs: Sequence[str] = ("specs",), timeout: float = 120) -> Round:
    """`integrate enqueue SPECS... --state URL` in its own process, in root (the specs are
    queued in the order given; a folder's in the order of their names)."""
    began = last_event(url)
    done = subprocess.run(
        [sys.executable, "-m", "integrate", "enqueue", *specs, "--state", url],
        cwd=root,
        env={**os.environ, "INTEGRATE_HOME": str(root / ".integrate")},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"integrate enqueue exited {done.returncode}: {done.stderr[-2000:]}")
    return Round(began, last_event(url), done.stdout.splitlines())


def enqueue_round(root: Path, url: str, *groups: Sequence[str]) -> Round:
    """One round of `enqueue` as one command per group of specs, one after the other (a
    small group first is queued sooner: the command loads its specs before it queues)."""
    parts = [enqueue(root, url, group) for group in groups]
    return Round(parts[0].began, parts[-1].ended, [line for p in parts for line in p.lines])


def enqueue_in_thread(
    root: Path, url: str, groups: Sequence[Sequence[str]], rounds: list[Round], failed: list[str]
) -> None:
    """`enqueue_round` as a thread's body: the round goes into `rounds`, what went wrong into
    `failed` (for the test to raise)."""
    import psycopg

    try:
        rounds.append(enqueue_round(root, url, *groups))
    except (AssertionError, OSError, subprocess.TimeoutExpired, psycopg.Error) as exc:
        failed.append(f"enqueue: {exc}")


def held_back(url: str) -> int:
    """How many times a worker took a job queued after one that was waiting while another job
    of that one's integration was taken: what only the integration's lock explains (the queue
    is taken oldest first). From Procrastinate's event log."""
    every = spans(url)
    taken = sorted(
        (span.since, span.job)
        for listed in every.values()
        for span in listed
        if span.status == "doing"
    )
    count = 0
    for listed in every.values():
        for waiting in (span for span in listed if span.status == "todo"):
            for going in (span for span in listed if span.status == "doing"):
                if going.job == waiting.job or not going.meets(waiting.since, waiting.until):
                    continue
                low = max(waiting.since, going.since)
                ends = [end for end in (waiting.until, going.until) if end is not None]
                high = min(ends) if ends else None
                count += sum(
                    1
                    for event, job in taken
                    if job > waiting.job and low < event and (high is None or event < high)
                )
    return count
