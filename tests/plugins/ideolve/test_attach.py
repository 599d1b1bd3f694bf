"""Attachments (targets.md §4.4, ASSUMED): a FileStream uploaded as the multipart part
`file`, streamed as its pieces come and counted on the way; past `max_attachment_bytes`
(25 MB) the upload is abandoned mid-body and its record fails, Ideolve holding nothing; a
declared size over the limit fails before anything is read; Ideolve's own 413 fails the
record too; a source download refused at its limit fails the record with its code.

Memory is measured by hand (docs/ideolve-plugin.md): a 30 MB generator sent to a served
emulator is cut after 25 MB with the sending process's peak RSS growing by about one piece."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from integrate import ConnectorError, FileStream
from tests.plugins.ideolve.kit import Ideolve, MiB, Pieces

LIMIT = 26_214_400


@pytest.fixture
def ideolve() -> Iterator[Ideolve]:
    world = Ideolve()
    yield world
    world.close()


def test_a_file_is_uploaded_as_its_pieces_come(ideolve: Ideolve) -> None:  # ID-5
    noteid = ideolve.note()
    source = Pieces(300_000, piece=7_000, byte=b"\x00\xff")
    content = b"\x00\xff" * 300_000

    result = ideolve.attach(noteid, FileStream('Q3 "plan".pdf', source))

    assert result.ok, result.error
    [attached] = ideolve.notes()[noteid]["attachments"]
    assert attached["filename"] == 'Q3 "plan".pdf'
    assert attached["size"] == len(content)
    assert attached["sha256"] == hashlib.sha256(content).hexdigest()
    assert result.record is not None
    assert result.record["attachmentid"] == attached["attachmentid"]
    assert source.opened == 1


def test_a_30_mb_stream_is_cut_at_the_25_mb_limit(ideolve: Ideolve) -> None:
    ideolve.emulator.serve()  # over loopback: the body really streams
    ideolve.config["base_url"] = ideolve.emulator.url
    ideolve.connector = ideolve.open()
    noteid = ideolve.note()
    source = Pieces(30 * MiB, piece=256 * 1024)

    result = ideolve.attach(noteid, FileStream("big.bin", source))

    assert not result.ok
    assert result.code == "ATTACHMENT_TOO_LARGE"
    assert f"over Ideolve's limit of {LIMIT:,} bytes" in result.error
    assert "big.bin" in result.error
    assert source.taken <= LIMIT + source.piece, "read past the limit and one piece"
    assert ideolve.notes()[noteid]["attachments"] == []
    # the connection goes on
    assert ideolve.attach(noteid, FileStream("small.txt", Pieces(10))).ok


def test_a_declared_size_over_the_limit_fails_before_anything_is_read(ideolve: Ideolve) -> None:
    noteid = ideolve.note()
    source = Pieces(100)
    before = len(ideolve.emulator.log)

    result = ideolve.attach(noteid, FileStream("huge.iso", source, size=LIMIT + 1))

    assert result.code == "ATTACHMENT_TOO_LARGE"
    assert f"is {LIMIT + 1:,} bytes" in result.error
    assert source.opened == 0
    assert len(ideolve.emulator.log) == before


def test_ideolves_own_413_fails_the_record() -> None:
    world = Ideolve(emulator={"max_attachment_bytes": MiB})
    try:
        noteid = world.note()

        result = world.attach(noteid, FileStream("two.bin", Pieces(2 * MiB)))

        assert result.code == "ATTACHMENT_TOO_LARGE"
        assert "attachment too large" in result.error
        assert world.notes()[noteid]["attachments"] == []
    finally:
        world.close()


def test_a_download_refused_at_its_limit_fails_the_record_with_its_code(ideolve: Ideolve) -> None:
    noteid = ideolve.note()

    def refused() -> Iterator[bytes]:
        yield b"a" * 1000
        raise ConnectorError(
            "attachment z1 is over the limit of 1,000 bytes", code="RESPONSE_TOO_LARGE"
        )

    result = ideolve.attach(noteid, FileStream("cut.bin", refused))

    assert result.code == "RESPONSE_TOO_LARGE"
    assert "cut.bin" in result.error
    assert "over the limit of 1,000 bytes" in result.error
    assert ideolve.notes()[noteid]["attachments"] == []


def test_attach_without_a_file_says_the_source_cannot_download(ideolve: Ideolve) -> None:
    noteid = ideolve.note()

    result = ideolve.act("attach", noteid, {"attachment_id": "z1", "file_name": "a.txt"})

    assert result.code == "NO_FILE"
    assert "cannot download attachments" in result.error
