"""Scenario X's arithmetic (bench/workers.py): PostgreSQL's CPU counts the backends that ended
in the span, the gap is taken between one worker's own runs, and the report's ceiling and
ratios come from the figures."""

from __future__ import annotations

import datetime as dt
import os
import statistics
import subprocess
import sys
from types import ModuleType
from typing import Any

import pytest

from tests.unit.bench_modules import load_bench

T0 = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def workers() -> ModuleType:
    return load_bench("workers")


@pytest.fixture(scope="module")
def figures() -> ModuleType:
    return load_bench("workers_figures")


def median_range(values: list[float], fmt: str = "{:.3f}") -> str:
    return fmt.format(statistics.median(values))


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_postgres_cpu_counts_a_child_that_ended_in_its_parents_time(workers: ModuleType) -> None:
    # this process as the postmaster: a child that burns CPU, ends and is reaped
    before = workers.postgres_cpu(os.getpid())
    burn = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass"
    subprocess.run([sys.executable, "-c", burn], check=True)
    after = workers.postgres_cpu(os.getpid())

    assert workers.grown(before, after) >= 0.25


def test_cpu_grown_counts_processes_born_since_whole(workers: ModuleType) -> None:
    # pid 1 the postmaster (its own and its reaped children's); 2 a backend that ended; 3 born
    before = {1: 1.0, 2: 0.5}
    after = {1: 1.8, 3: 0.2}  # 2's 0.5 s + 0.3 s more are now in the postmaster's

    assert workers.grown(before, after) == pytest.approx(1.0)


def test_the_gap_is_between_one_workers_own_runs(workers: ModuleType) -> None:
    runs = [
        {"worker": "x1", "started": at(0), "finished": at(1.0)},
        {"worker": "x2", "started": at(0.5), "finished": at(1.2)},
        {"worker": "x1", "started": at(1.1), "finished": at(2.0)},
        {"worker": "x2", "started": at(1.5), "finished": at(1.9)},
        {"worker": "x1", "started": at(2.4), "finished": at(3.0)},
    ]

    # x1: 0.1 and 0.4; x2: 0.3 (never x1's end to x2's start)
    assert workers.gaps(runs) == pytest.approx(0.3)


def trial(count: int, per_minute: float, cpu: float, pg: float) -> dict[str, Any]:
    return {
        "workers": count,
        "runs": 100,
        "per_minute": per_minute,
        "per_minute_busy": per_minute * 1.1,
        "wall": 6000 / per_minute,
        "run_seconds": 0.06,
        "gap": 0.03,
        "start_up": 1.0,
        "workers_cpu": cpu,
        "postgres_cpu": pg,
        "machine_busy": 0.6,
    }


def test_the_report_works_out_the_ceiling_and_the_ratios(figures: ModuleType) -> None:
    x = {
        "integrations": 100,
        "cores": 2,
        "rounds": [
            [trial(1, 500, 5.0, 5.0), trial(2, 800, 5.0, 5.0), trial(4, 850, 5.0, 5.0)],
            [trial(1, 600, 5.0, 5.0), trial(2, 900, 5.0, 5.0), trial(4, 1000, 5.0, 5.0)],
        ],
        "in_process": {"runs": 100, "wall": 0.09, "cpu": 0.05, "postgres_cpu": 0.05},
        "phases": {
            "spec_loading": 0.1,
            "postgresql_calls": 0.6,
            "rest": 0.3,
            "execute": 4000,
            "executemany": 900,
        },
        "connecting": {
            "connect_wall": 0.008,
            "connect_cpu": 0.004,
            "connect_postgres_cpu": 0.0075,
            "state_wall": 0.02,
            "state_cpu": 0.009,
            "state_postgres_cpu": 0.0125,
        },
    }

    text = "\n".join(figures.x_report(x, median_range))

    # 50 ms of the worker's CPU and 50 of PostgreSQL's a run: 2 cores, 1,200 runs a minute
    assert "so 2 cores allow at most about 1200 runs a minute" in text
    assert "the most measured is 925 (4 workers" in text
    # ratios within each round: 1.6 and 1.5 with 2 workers, 1.7 and 1.67 with 4
    assert "a second worker fills it (1.55 times the runs)" in text
    assert "(1.68 times with 4)" in text
    assert "opening the state is 25%" in text  # 12.5 ms of 50
    assert "40 statements and 9 batches of them a run" in text
    assert "**What bounds it: CPU, 50% of it PostgreSQL's.**" in text
