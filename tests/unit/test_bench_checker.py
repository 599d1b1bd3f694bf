"""The benchmark's output checker (bench/run.py): it must catch what a contender gets wrong,
or scenario T's "all records equal" would mean nothing."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.unit.bench_modules import load_bench


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_bench("run")


def _row(i: int) -> dict[str, Any]:
    return {
        "zoho_id": str(i),
        "name": f"Company {i}",
        "number": f"A-{i}",
        "type": "Customer",
        "industry": None,
        "phone": "+44 1",
        "website": None,
        "employees": i,
        "city": "Leeds",
        "owner": "Søren Østergaard",
    }


EXPECTED = {str(i): _row(i) for i in range(3)}


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return path


def test_equal_records_pass_and_extra_keys_are_ignored(bench: ModuleType, tmp_path: Path) -> None:
    rows = [{**_row(i), "id": str(100 + i)} for i in range(3)]  # files adds its own id
    assert bench.check(_write(tmp_path / "out.jsonl", rows), EXPECTED) == ""


def test_a_wrong_value_a_missing_record_and_a_duplicate_are_each_caught(
    bench: ModuleType, tmp_path: Path
) -> None:
    rows = [{**_row(0), "employees": "0"}, _row(1), _row(1)]
    verdict = bench.check(_write(tmp_path / "out.jsonl", rows), EXPECTED)
    assert "0: different employees" in verdict
    assert "1 twice" in verdict
    assert "1 records missing" in verdict


def test_a_singer_message_stream_is_read_by_its_record_messages(
    bench: ModuleType, tmp_path: Path
) -> None:
    messages = [{"type": "SCHEMA", "stream": "accounts", "schema": {}}] + [
        {"type": "RECORD", "stream": "accounts", "record": _row(i)} for i in range(3)
    ]
    assert bench.check(_write(tmp_path / "out.jsonl", messages), EXPECTED) == ""
    messages[1]["record"]["owner"] = None
    assert bench.check(_write(tmp_path / "out.jsonl", messages), EXPECTED) == "0: different owner"
