"""T18: an attachment far over the download limit is cut off at the limit, through the real
download path (the zoho_crm connector's `download`, over loopback HTTP from the Zoho CRM
emulator), whether the server announces its size (Content-Length: refused before the body
is read) or not (chunked: counted, refused once past the limit); the next download through
the same connector works.

Through a flow (the Zoho CRM → Ideolve spec's `attach`, issue 13): an attachment over the
source's download limit, and one over the target's upload limit, each fail their related
record: dead-lettered (the failure ledger, as `integrate failures list` shows it, and the
failed-records file) with the reason, while the run goes on and attaches the small one.

Memory is not asserted: at full size a second test downloads in a process of its own and
prints the growth of its peak RSS (the figure in docs/reliability.md).

CI: a 24 MiB attachment, a 2 MiB limit; in the flow, 25 MiB and a byte (over Zoho's default
25 MiB, refused on its Content-Length) and 3 MiB over Ideolve's limit set to 2 MiB. Full size
(INTEGRATE_RELIABILITY_FULL=1): 200 MiB and 25 MiB (the plugin's default limit).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integrate import ConnectorContext, ConnectorError, Faults
from integrate.oauth import MemoryTokenCache
from integrate_zoho_crm import ZohoCrmConnector
from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.conftest import read_jsonl
from tests.plugins.ideolve.flow import EVERY_TWO_HOURS, Flow, copy_of_spec
from tests.reliability.harness import full_size, scale

MiB = 1024 * 1024
SIZE = scale(24, 200) * MiB
LIMIT = scale(2, 25) * MiB
PIECE = 64 * 1024  # what the server writes at a time when it does not announce the size


class Org:
    """A Zoho org served on loopback whose one account has a huge and a small attachment."""

    def __init__(self) -> None:
        self.emulator = ZohoCrmEmulator(seed=18)
        self.emulator.serve()
        [account] = self.emulator.seed("Accounts", [{"Account_Name": "Big Files Ltd"}])
        self.account = account["id"]
        self.small_content = b"a small file\n" * 100
        big, small = self.emulator.seed(
            "Attachments",
            [
                {"Parent_Id": self.account, "File_Name": "huge.bin", "content": _bytes(SIZE)},
                {
                    "Parent_Id": self.account,
                    "File_Name": "small.txt",
                    "content": self.small_content,
                },
            ],
        )
        self.big, self.small = big["id"], small["id"]
        context = ConnectorContext(connection="crm", tokens=MemoryTokenCache())
        self.connector = ZohoCrmConnector(self.emulator.connection_config(), context)

    def download(self, attachment: str) -> Iterator[bytes]:
        return self.connector.download("Accounts", self.account, attachment, limit=LIMIT)


@pytest.fixture
def org() -> Iterator[Org]:
    built = Org()
    yield built
    built.connector.close()
    built.emulator.close()


def consume(chunks: Iterator[bytes], sizes: list[int]) -> None:
    """Take a download as a caller would, noting the size of every piece handed over."""
    for chunk in chunks:
        sizes.append(len(chunk))


def _bytes(n: int) -> bytes:
    return hashlib.shake_256(b"T18").digest(n)


@pytest.mark.parametrize("announced", [True, False], ids=["content-length", "chunked"])
def test_T18_an_attachment_over_the_limit_is_cut_off_at_the_limit(
    org: Org, announced: bool
) -> None:
    org.emulator.faults = Faults(chunked=0 if announced else PIECE, spare=frozenset({"token"}))
    pieces: list[int] = []

    with pytest.raises(ConnectorError) as refused:
        consume(org.download(org.big), pieces)

    received = sum(pieces)
    assert refused.value.code == "RESPONSE_TOO_LARGE"
    assert f"over the limit of {LIMIT:,}" in str(refused.value)
    assert received <= LIMIT
    if announced:
        assert received == 0  # refused on the Content-Length, before any of the body
    else:
        assert received > LIMIT - 4 * PIECE  # counted up to the limit, not refused early
        # The client hung up: the server could not write much past the limit and the
        # socket buffers (loopback: a few MiB), never the whole file.
        assert org.emulator.streamed < SIZE // 2, org.emulator.streamed
    assert org.emulator.calls()["download"] == 1

    # The connector goes on: the next attachment downloads whole.
    assert b"".join(org.download(org.small)) == org.small_content


def test_T18_through_the_flow_an_oversized_attachment_is_dead_lettered(
    cli: Any, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = copy_of_spec(
        workdir,
        (EVERY_TWO_HOURS, ""),
        (
            "      user: sales.bot@example.com",
            "      max_attachment_bytes: 2097152\n      user: sales.bot@example.com",
        ),
    )
    flow = Flow(workdir, monkeypatch, spec)
    flow.run()  # backfill: false: the first run only remembers what is there
    account = flow.account(Account_Name="Big Files Ltd")
    over_source = 25 * MiB + 1  # over Zoho CRM's download limit (25 MiB)
    over_target = 3 * MiB  # over Ideolve's, 2 MiB here
    small = b"a small file\n" * 100
    seeded = flow.crm.seed(
        "Attachments",
        [
            {"Parent_Id": account, "File_Name": "huge.bin", "content": _bytes(over_source)},
            {"Parent_Id": account, "File_Name": "mid.bin", "content": _bytes(over_target)},
            {"Parent_Id": account, "File_Name": "small.txt", "content": small},
        ],
    )
    huge, mid = str(seeded[0]["id"]), str(seeded[1]["id"])

    report = flow.run()

    assert report["status"] == "completed_with_errors", report
    [totals] = [f["totals"] for f in report["flows"]]
    assert totals["failed"] == 2
    [note] = flow.notes()
    assert [a["filename"] for a in note["attachments"]] == ["small.txt"]
    assert note["attachments"][0]["size"] == len(small)
    listed = cli("failures", "list", str(spec), "--state", "state.db", "--json", "--all")
    assert listed.exit_code == 0, listed.stderr
    ledger = {f["code"]: f for f in json.loads(listed.stdout)}
    assert set(ledger) == {"RESPONSE_TOO_LARGE", "ATTACHMENT_TOO_LARGE"}
    assert {f["source_id"] for f in ledger.values()} == {account}
    assert (
        f"{over_source:,} bytes, over the limit of {25 * MiB:,}"
        in ledger["RESPONSE_TOO_LARGE"]["message"]
    )
    assert huge in ledger["RESPONSE_TOO_LARGE"]["message"]
    assert "mid.bin" in ledger["ATTACHMENT_TOO_LARGE"]["message"]
    assert "over Ideolve's limit of 2,097,152 bytes" in ledger["ATTACHMENT_TOO_LARGE"]["message"]
    lines = read_jsonl(workdir / "failed.jsonl")
    assert sorted(line["code"] for line in lines) == ["ATTACHMENT_TOO_LARGE", "RESPONSE_TOO_LARGE"]
    assert {line["record"].get("id") for line in lines} == {huge, mid}
    # in process the cut upload never reaches Ideolve (over loopback it arrives cut short)
    assert flow.ideolve.calls()["attach"] == 1


# What the downloading process does at full size: its RSS before, its peak (VmHWM) after.
MEASURE = """
import json, sys
from integrate import ConnectorContext, ConnectorError
from integrate.oauth import MemoryTokenCache
from integrate_zoho_crm import ZohoCrmConnector

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024

config, account, attachment, limit = json.loads(sys.argv[1])
connector = ZohoCrmConnector(config, ConnectorContext("crm", tokens=MemoryTokenCache()))
connector.catalogue("Accounts")  # token and metadata: the connector's own memory, before
open("/proc/self/clear_refs", "w").write("5")  # the peak RSS starts again from here
before = status("VmRSS")
received, code = 0, None
try:
    for chunk in connector.download("Accounts", account, attachment, limit=limit):
        received += len(chunk)
except ConnectorError as exc:
    code = exc.code
print(json.dumps({"received": received, "code": code, "growth": status("VmHWM") - before}))
"""


@pytest.mark.skipif(not full_size(), reason="full size only (INTEGRATE_RELIABILITY_FULL=1)")
@pytest.mark.parametrize("announced", [True, False], ids=["content-length", "chunked"])
def test_T18_full_size_memory_of_the_downloading_process(org: Org, announced: bool) -> None:
    org.emulator.faults = Faults(chunked=0 if announced else PIECE, spare=frozenset({"token"}))
    given = [org.emulator.connection_config(), org.account, org.big, LIMIT]

    done = subprocess.run(
        [sys.executable, "-c", MEASURE, json.dumps(given)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )

    figure = json.loads(done.stdout)
    print(
        f"T18 {SIZE // MiB} MiB at a {LIMIT // MiB} MiB limit, {'sized' if announced else 'chunked'}: "
        f"received {figure['received']:,} bytes, {figure['code']}, "
        f"peak RSS growth {figure['growth'] / MiB:.1f} MiB, server wrote {org.emulator.streamed:,}"
    )
    assert figure["code"] == "RESPONSE_TOO_LARGE"
    assert figure["received"] <= LIMIT
