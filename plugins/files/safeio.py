"""Opening the files of a folder without ever following a symbolic link (a link planted in
the folder must not make a read or a write land outside it), and repairing the last line a
killed writer may leave torn."""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from integrate import PluginError

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_LINK_ERRORS = (errno.ELOOP, errno.EMLINK)


def refuse_link(path: Path) -> PluginError:
    return PluginError(
        f"files: {path} is a symbolic link; files never reads or writes through one "
        "(remove it, or point `path` or `file` at the real file)"
    )


def _open(path: Path, flags: int, mode: str) -> BinaryIO:
    try:
        fd = os.open(path, flags | _NOFOLLOW, 0o666)
    except OSError as exc:
        if exc.errno in _LINK_ERRORS and path.is_symlink():
            raise refuse_link(path) from exc
        raise
    return os.fdopen(fd, mode)  # type: ignore[return-value]


def open_read(path: Path) -> BinaryIO:
    return _open(path, os.O_RDONLY, "rb")


def open_append(path: Path) -> BinaryIO:
    return _open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, "ab")


def open_update(path: Path) -> BinaryIO:
    return _open(path, os.O_RDWR, "rb+")


def open_new(path: Path) -> BinaryIO:
    """A new, empty file (a leftover file or link of that name is removed first)."""
    if path.is_symlink() or path.exists():
        path.unlink()
    return _open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, "wb")


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def repair_last_line(path: Path, whole: Callable[[bytes], bool], log: logging.Logger) -> None:
    """A last line without its line end: ended, when it is a whole record (a file written
    without a final newline); cut off, when it is not (a write interrupted by a crash,
    never acknowledged)."""
    if not path.exists():
        return
    size = path.stat().st_size
    if size == 0:
        return
    with open_update(path) as fh:
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return
        start = _last_line_start(fh, size)
        fh.seek(start)
        tail = fh.read(size - start)
        if whole(tail):
            fh.seek(size)
            fh.write(b"\n")
        else:
            fh.truncate(start)
            log.warning(
                "files: %s: cut off an incomplete last line (%d bytes) left by an interrupted write",
                path,
                size - start,
            )
        fh.flush()
        os.fsync(fh.fileno())


def _last_line_start(fh: BinaryIO, size: int) -> int:
    position = size
    chunk = 4096
    while position > 0:
        start = max(0, position - chunk)
        fh.seek(start)
        data = fh.read(position - start)
        cut = data.rfind(b"\n")
        if cut >= 0:
            return start + cut + 1
        position = start
    return 0
