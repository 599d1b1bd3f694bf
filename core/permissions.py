"""Keeping integrate's own files to the user who runs it: the folders it creates are 0700 and
every file it writes there 0600 (the state file and its -wal/-shm, lock files, failed-records
files, sandbox data). The state file holds access tokens and copies of records.

A file integrate owns that has group or other bits is tightened; a folder it did not create
is left as it is (it may be shared on purpose, and is not ours to change), with a warning
when others may write in it: they could put their own file where integrate's will be."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("integrate.permissions")

FOLDER_MODE = 0o700
FILE_MODE = 0o600
_OPEN_TO_OTHERS = stat.S_IRWXG | stat.S_IRWXO
_WRITABLE_BY_OTHERS = stat.S_IWGRP | stat.S_IWOTH

_warned: set[Path] = set()  # one warning per folder per process


def private_folder(path: Path) -> None:
    """Make `path` a folder (0700 when integrate creates it, parents included); warn once
    when it already exists and its group or others may write in it (a folder others may
    only read, such as a usual 0755 project folder, is fine: integrate's files in it are
    0600)."""
    if not path.exists():
        missing = [p for p in (path, *path.parents) if not p.exists()]
        path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        for created in missing:
            _chmod(created, FOLDER_MODE)
        return
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & _WRITABLE_BY_OTHERS and path.resolve() not in _warned:
        _warned.add(path.resolve())
        log.warning(
            "folder %s is open to other users (mode %s): others may write in it, and could "
            "put their own files where integrate's go; integrate keeps its files in it 0600: "
            "`chmod go-w %s`, or keep the state elsewhere",
            path,
            oct(stat.S_IMODE(mode)),
            path,
        )


def private_file(path: Path) -> None:
    """Create `path` empty with 0600 if it does not exist (before anything else opens it:
    SQLite gives -wal/-shm the mode of the database); tighten it if it exists with group
    or other bits."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    except FileExistsError:
        # By its path, never by opening it: closing any descriptor of a file drops every
        # POSIX lock this process holds on it, the SQLite locks of another connection to a
        # state file included (a run opening the state while serve's receiver writes to it).
        tighten(path)
        return
    except OSError:
        return  # the caller's own open reports what is wrong, where it can say what to do
    try:
        tighten_fd(fd, path)
    finally:
        os.close(fd)


def tighten(path: Path) -> None:
    """Remove group and other bits from a file integrate owns, if it exists."""
    try:
        mode = path.lstat().st_mode
    except OSError:
        return
    if stat.S_ISREG(mode) and mode & _OPEN_TO_OTHERS:
        _chmod(path, FILE_MODE)


def tighten_fd(fd: int, path: Path) -> None:
    """As `tighten`, on an open file."""
    mode = os.fstat(fd).st_mode
    if mode & _OPEN_TO_OTHERS:
        try:
            os.fchmod(fd, FILE_MODE)
        except OSError as exc:
            log.warning("cannot make %s private (mode %s): %s", path, oct(mode & 0o777), exc)


def tighten_tree(folder: Path) -> None:
    """Every folder under `folder` 0700 and every file 0600 (data integrate wrote there)."""
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            _chmod(Path(root, name), FOLDER_MODE, only_if_open=True)
        for name in files:
            tighten(Path(root, name))


def _chmod(path: Path, mode: int, *, only_if_open: bool = False) -> None:
    try:
        if only_if_open and not path.lstat().st_mode & _OPEN_TO_OTHERS:
            return
        if not path.is_symlink():
            path.chmod(mode)
    except OSError as exc:
        log.warning("cannot make %s private: %s", path, exc)
