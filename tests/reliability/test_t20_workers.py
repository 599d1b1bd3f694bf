"""T20: 4 `integrate worker` processes on one PostgreSQL database run many integrations, each
queued 3 times; one worker is SIGKILLed in the middle of a run. Never two
runs of one integration at once, never two waiting, the killed run queued again and resumed
by another worker within the stalled timeout + 60 s, every integration converged.

The integrations (tests/reliability/fleet.py) are files → files specs with folders of their
own (a few hundred records in one or several batches, and long ones, 8,000 records in batches
of 10, so that a run can be caught in its middle), and Zoho CRM Accounts → files specs against
one Zoho emulator served on loopback by its own process. The workers and `integrate enqueue`
are processes of their own; the state and the queue are a fresh database of the test cluster.

What is checked, from what a user can see:
- `integrate enqueue`'s lines (each round names every integration once: `queued: NAME (job
  N)` or `already queued: NAME`) against the queue: an integration's jobs are exactly its
  `queued` lines, and when a round said `already queued` a run of it was waiting then;
- the queue never held two waiting runs (nor two taken) of one integration: sampled all
  along, and from Procrastinate's event log (each job's spans waiting, which never overlap);
- the run history (`runs`): never two runs of one integration at once (each ends before the
  next begins; the killed one ends with its process, before the next begins), all succeeded
  but the killed run (`interrupted`, marked so by the next), one run per job taken;
- the killed run queued again (by the stalled-job recovery) within the stalled timeout + 60 s,
  and resumed on another worker from the committed state (it creates only what was missing);
- every integration's target holds what one uninterrupted run of its spec writes (the same
  spec run once in another folder on a SQLite state), no record twice.

Rounds 1 and 2 go before the workers start (round 2 is refused every run: each still waits);
round 3 goes while they work, when the last long run, the last of round 1, is at its start:
the workers are then free while its run queued again waits for it (the lock's part). Round 3
is two commands: that spec and five short ones first (its run is queued first, theirs just
after and taken at once), then the others. One worker is killed in the middle of
another long run.

CI: 40 integrations (2 long, 3 Zoho). Full size (INTEGRATE_RELIABILITY_FULL=1): 200
integrations (6 long, 8 Zoho). It prints its figures (`T20: ...`; `pytest -s`).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.plugins.zoho_crm.emulator_kit import zoho_variables
from tests.reliability import fleet
from tests.reliability.fleet import Watch
from tests.reliability.harness import ServedEmulator, scale
from tests.reliability.t20_checks import (
    Kill,
    check_converged,
    check_history,
    check_queue,
    check_resumed,
    hunt,
    job_holder,
)
from tests.workers.world import WorkerProcess, wait_until

pytestmark = pytest.mark.slow

INTEGRATIONS = scale(40, 200)
LONG = scale(2, 6)
ZOHO = scale(3, 8)
ACCOUNTS = 250  # in the Zoho emulator: two pages of Get Records
WORKERS = 4
ROUNDS = 3  # `integrate enqueue specs/`, this many times, while the workers work
STALLED_AFTER = 3.0  # the workers' --stalled-after (seconds); a heartbeat every third of it
BOUND = STALLED_AFTER + 60  # RELIABILITY T20: queued again within the stalled timeout + 60 s
DRAIN = scale(150, 900)  # the most seconds the whole queue may take


@pytest.fixture
def crm() -> Iterator[ServedEmulator]:
    with ServedEmulator("zoho_crm", {"seed": 20, "refresh_limit": 1000}) as served:
        accounts = [
            {"Account_Name": f"Tenant {i:04d}", "Phone": f"+49 30 {i:06d}"} for i in range(ACCOUNTS)
        ]
        served.call("seed", "Accounts", accounts)
        yield served


def test_T20_four_workers_one_killed_never_run_one_integration_twice_at_once_and_all_converge(
    workdir: Path, pg_url: str, crm: ServedEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    began = time.monotonic()
    monkeypatch.delenv("INTEGRATE_STATE", raising=False)
    for name, value in zoho_variables(crm.config).items():
        monkeypatch.setenv(name, value)  # the workers' environment is the test's
    items = fleet.integrations(INTEGRATIONS, LONG, ZOHO, ACCOUNTS)
    specs = [str(fleet.lay_out(workdir, item).relative_to(workdir)) for item in items]
    *long, last = [item for item in items if item.kind == "long"]  # `last` is queued last
    # round 3: the last long spec and five short ones (a command of their own, soon done),
    # then the others
    firsts = [spec for spec in specs if f"/{last.name}." in spec]
    firsts += [spec for spec in specs if "-files." in spec][:5]
    thens = [spec for spec in specs if spec not in firsts]

    workers: dict[str, WorkerProcess] = {}
    watch = Watch(pg_url)
    watcher = threading.Thread(target=watch.run, name="t20-watch", daemon=True)
    failed: list[str] = []
    # rounds 1 and 2 before the workers start: round 2 finds every run of round 1 waiting
    rounds = [fleet.enqueue(workdir, pg_url) for _ in range(ROUNDS - 1)]
    # round 3 when the last long run starts (see above)
    later = threading.Thread(
        target=fleet.enqueue_in_thread,
        args=(workdir, pg_url, [firsts, thens], rounds, failed),
        daemon=True,
    )
    kill: Kill | None = None
    requeued_after: float | None = None
    try:
        watcher.start()
        for n in range(1, WORKERS + 1):
            workers[f"w{n}"] = WorkerProcess(
                workdir,
                pg_url,
                [workdir / "specs"],
                f"w{n}",
                "--stalled-after",
                f"{STALLED_AFTER:g}",
            )
        deadline = time.monotonic() + DRAIN
        while kill is None or requeued_after is None or later.ident is None:  # not started
            assert not failed, failed
            assert time.monotonic() < deadline, (
                f"after {DRAIN}s: killed {kill}, its job settled after {requeued_after}s,"
                f" rounds {len(rounds)}"
            )
            if kill is None:  # a long run caught in its first half: its worker SIGKILLed
                kill = hunt(workdir, pg_url, workers, {i.name: i for i in long})
            elif requeued_after is None and job_holder(pg_url, kill.job) != kill.holder:
                # the stalled-job recovery of another worker settled the killed run's job
                requeued_after = time.monotonic() - kill.monotonic
            elif requeued_after is None:
                lost = time.monotonic() - kill.monotonic
                assert lost < BOUND, (
                    f"job {kill.job} still taken by the killed worker {lost:.0f}s on"
                )
            if (
                later.ident is None
                and last.name in {name for name, _n, _w in fleet.running(pg_url)}
                and fleet.written(workdir, last.name) < last.records // 4
            ):
                later.start()
            time.sleep(0.02)
        assert kill is not None
        assert requeued_after is not None
        killed = kill
        later.join(timeout=260)
        assert not later.is_alive(), "integrate enqueue did not end"
        assert not failed, failed
        wait_until(
            lambda: [
                r
                for r in fleet.history(pg_url)
                if r["integration"] == killed.integration.name and r["number"] > killed.number
            ],
            "the killed run's integration to run again",
            timeout=BOUND + 10,
        )
        wait_until(lambda: fleet.unfinished_jobs(pg_url) == 0, "the queue to be run", DRAIN)
        drained = time.monotonic() - began
        # SIGTERM: each worker left stops and exits 0
        assert [w.stop(timeout=30) for w in workers.values() if w is not killed.worker] == [0] * 3
    finally:
        watch.stop.set()
        for thread in (watcher, later):
            if thread.is_alive():
                thread.join(timeout=130)
        for worker in workers.values():
            worker.kill()

    password = urlsplit(pg_url).password or ""
    for name, worker in workers.items():
        log = worker.log()
        assert password not in log, f"{name}'s log shows the database password"
        refusals = [line for line in log.splitlines() if "not run" in line]
        assert refusals == [], f"{name} refused jobs"
    assert len(rounds) == ROUNDS
    refused = check_queue(pg_url, items, rounds, watch)
    runs = check_history(pg_url, items, killed, set(workers))
    # the lock was put to the test: jobs queued later were taken while one waited for it
    skipped = fleet.held_back(pg_url)
    assert skipped > 0
    [next_run] = [
        r
        for r in runs
        if (r["integration"], r["number"]) == (killed.integration.name, killed.number + 1)
    ]
    requeued = check_resumed(pg_url, killed, next_run, requeued_after, STALLED_AFTER)
    check_converged(workdir, items)

    [long_run] = [r for r in runs if (r["integration"], r["number"]) == (last.name, 1)]
    lasted = (long_run["finished"] - long_run["started"]).total_seconds()
    kinds = Counter(item.kind for item in items)
    queued = sum(len(r.lines) for r in rounds) - refused
    print(
        f"T20: {len(items)} integrations ({kinds['files']} files, {kinds['long']} long,"
        f" {kinds['zoho']} Zoho), {WORKERS} workers, {ROUNDS} enqueue rounds: {queued} queued,"
        f" {refused} already queued; {len(runs)} runs; {skipped} jobs taken past one held by"
        f" its integration's lock (the last long run took {lasted:.1f}s); killed"
        f" {killed.worker.name} in run {killed.number} of {killed.integration.name}"
        f" ({killed.written:,} of {killed.integration.records:,}"
        f" written); {requeued}; its next run started"
        f" {(next_run['started'] - killed.at).total_seconds():.1f}s after the kill on"
        f" {next_run['worker']} (bound {BOUND:g}s),"
        f" creating {next_run['stats']['flows'][0]['totals']['created']:,} records; every"
        f" job done {drained:.1f}s after the test began; {watch.samples} samples; all converged"
    )
