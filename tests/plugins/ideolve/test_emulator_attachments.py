"""Attachments (the issue's decisions): one `multipart/form-data` part named `file`, answered
with its id, filename and size and listed on the note; the limit of 25 MB exactly (26,214,400
bytes pass, one more is a 413); the upload read as it streams in, reading stopped past the
limit; no `file` part, or a broken body, is a 400."""

from __future__ import annotations

import hashlib
import io as bytesio
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder

from tests.plugins.ideolve.emulator_kit import API_KEY, CLIENT_ID, Ideolve, multipart

LIMIT = 25 * 1024 * 1024


def attach_path(io: Ideolve) -> tuple[str, str, str]:
    workspace = io.workspace()
    note = io.note(workspace)
    return workspace, note, f"/workspace/{workspace}/note/{note}/attachment"


def test_an_upload_is_answered_and_listed_on_the_note_with_its_bytes_hash() -> None:
    io = Ideolve()
    workspace, note, path = attach_path(io)
    content = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\r\n--not-the-boundary\r\n"

    made = io.ok("POST", path, files={"file": ("Quote Q-17.pdf", content, "application/pdf")})

    assert sorted(made) == ["attachmentid", "filename", "size", "status"]
    assert made["attachmentid"].startswith("at_")
    assert (made["filename"], made["size"]) == ("Quote Q-17.pdf", len(content))
    assert io.get(workspace, note)["attachments"] == [
        {"attachmentid": made["attachmentid"], "filename": "Quote Q-17.pdf", "size": len(content)}
    ]
    (stored,) = io.emulator.records("notes")[0]["attachments"]
    assert stored["sha256"] == hashlib.sha256(content).hexdigest()
    assert stored["contenttype"] == "application/pdf"


def test_other_parts_are_passed_over_and_attachments_are_listed_in_order() -> None:
    io = Ideolve()
    workspace, note, path = attach_path(io)
    first = io.ok("POST", path, data={"comment": "ignored"}, files={"file": ("a.txt", b"one")})
    second = io.ok("POST", path, files={"file": ("b.txt", b"")})

    listed = io.get(workspace, note)["attachments"]
    assert [a["attachmentid"] for a in listed] == [first["attachmentid"], second["attachmentid"]]
    assert [(a["filename"], a["size"]) for a in listed] == [("a.txt", 3), ("b.txt", 0)]


def test_exactly_25_mb_passes_and_one_byte_more_is_a_413() -> None:
    io = Ideolve()
    workspace, note, path = attach_path(io)
    body, headers = multipart(b"\x00" * LIMIT, filename="big.bin")

    made = io.ok("POST", path, content=body, headers={**io.headers, **headers})
    assert made["size"] == 26_214_400

    body, headers = multipart(b"\x00" * (LIMIT + 1), filename="too-big.bin")
    refused = io.refused("POST", path, 413, content=body, headers={**io.headers, **headers})

    assert refused == {"status": "ERROR", "reason": "attachment too large"}
    assert [a["filename"] for a in io.get(workspace, note)["attachments"]] == ["big.bin"]


def test_the_limit_is_an_option() -> None:
    io = Ideolve(max_attachment_bytes=10)
    _, _, path = attach_path(io)

    assert io.ok("POST", path, files={"file": ("ten.txt", b"0123456789")})["size"] == 10
    io.refused("POST", path, 413, files={"file": ("eleven.txt", b"0123456789!")})


class Endless(bytesio.RawIOBase):
    """A request body that never ends (a part that goes on and on), counting what is read."""

    def __init__(self, head: bytes) -> None:
        self.head = head
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = len(buffer)
        start = self.read_bytes
        for at in range(size):
            where = start + at
            buffer[at] = self.head[where] if where < len(self.head) else 0x41
        self.read_bytes += size
        return size


@pytest.mark.parametrize("declared", ["length", "chunked"])
def test_reading_stops_past_the_limit_whatever_the_client_sends(declared: str) -> None:
    io = Ideolve(max_attachment_bytes=100_000)
    _, _, path = attach_path(io)
    head, headers = multipart(b"")
    endless = Endless(head[: head.index(b"\r\n--b0undary--")])
    environ = EnvironBuilder(
        path="/v4/user/sales.bot%40example.com" + path,
        method="POST",
        headers={"Client-Id": CLIENT_ID, "Connector-Api-Key": API_KEY, "App-Name": "t"},
    ).get_environ()
    environ["CONTENT_TYPE"] = headers["Content-Type"]
    environ["wsgi.input"] = bytesio.BufferedReader(endless)
    if declared == "length":
        environ["CONTENT_LENGTH"] = str(10**12)
    else:
        environ.pop("CONTENT_LENGTH", None)
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        environ["wsgi.input_terminated"] = True  # as werkzeug's server marks de-chunked input
    statuses: list[str] = []

    answer = b"".join(io.emulator(environ, lambda status, headers: statuses.append(status)))

    assert statuses == ["413 Request Entity Too Large"]
    assert b"attachment too large" in answer
    assert endless.read_bytes < 100_000 + 256 * 1024  # the limit, a chunk and a buffer's worth


@pytest.mark.parametrize(
    ("content", "content_type", "reason"),
    [
        (b'{"file": "x"}', "application/json", "a multipart/form-data body with one part named file is required"),
        (b"", "multipart/form-data", "a multipart/form-data body with one part named file is required"),
        (b"--b\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"a\"\r\n\r\nx\r\n--b--\r\n", "multipart/form-data; boundary=b", "a multipart/form-data body with one part named file is required"),
        (b"--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n--b--\r\n", "multipart/form-data; boundary=b", "the file part needs a filename of 1 to 255 characters"),
        (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\"\r\n\r\nx\r\n--b--\r\n", "multipart/form-data; boundary=b", "the file part needs a filename of 1 to 255 characters"),
        (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nx\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b\"\r\n\r\ny\r\n--b--\r\n", "multipart/form-data; boundary=b", "only one part named file may be sent"),
        (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nx", "multipart/form-data; boundary=b", "the multipart/form-data body is broken"),
        (b"garbage" * 1000, "multipart/form-data; boundary=b", "the multipart/form-data body is broken"),
        (b"--b\r\nno colon here\r\n\r\nx\r\n--b--\r\n", "multipart/form-data; boundary=b", "the multipart/form-data body is broken"),
        (b"--b\r\n" + b"X-Pad: " + b"p" * 20000 + b"\r\n\r\n", "multipart/form-data; boundary=b", "the multipart/form-data body is broken"),
    ],
    ids=["json", "no-boundary", "other-part", "no-filename", "empty-filename", "two-files",
         "cut", "garbage", "bad-header", "huge-headers"],
)  # fmt: skip
def test_an_upload_without_one_good_file_part_is_a_400_and_adds_nothing(
    content: bytes, content_type: str, reason: str
) -> None:
    io = Ideolve()
    workspace, note, path = attach_path(io)

    body = io.refused("POST", path, 400, content=content,
                      headers={**io.headers, "Content-Type": content_type})  # fmt: skip

    assert body == {"status": "ERROR", "reason": reason}
    assert io.get(workspace, note)["attachments"] == []


def test_a_filename_is_kept_as_sent_and_names_nothing_on_disk() -> None:
    io = Ideolve()
    workspace, note, path = attach_path(io)

    io.ok("POST", path, files={"file": ("../../etc/passwd", b"x")})

    assert io.get(workspace, note)["attachments"][0]["filename"] == "../../etc/passwd"


def test_an_upload_streamed_without_content_length_is_read_to_its_end() -> None:
    io = Ideolve()
    workspace, note, path = attach_path(io)
    body, headers = multipart(b"abc" * 50_000, filename="streamed.bin")

    def pieces() -> Any:
        for at in range(0, len(body), 7_001):
            yield body[at : at + 7_001]

    made = io.ok("POST", path, content=pieces(), headers={**io.headers, **headers})

    assert made["size"] == 150_000
    assert io.get(workspace, note)["attachments"][0]["size"] == 150_000


def test_an_attachment_to_a_note_of_another_workspace_is_a_404_and_reads_no_body() -> None:
    io = Ideolve()
    _, note, _ = attach_path(io)
    other = io.workspace("Other")

    refused = io.refused(
        "POST", f"/workspace/{other}/note/{note}/attachment", 404, files={"file": ("a", b"x")}
    )

    assert refused["reason"] == "note not found"
