"""What every flow of a run shares: the state store, the connectors, the scratch space, the
failure sink, and the observers of progress and plan."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from integrate.connector import Connector, ObjectInfo, Record
from integrate.engine.plan import Change
from integrate.engine.scratch import Scratch
from integrate.engine.stop import StopRequest
from integrate.errors import PluginError, StateError
from integrate.model import Spec
from integrate.permissions import private_folder, tighten_fd
from integrate.secrets import REDACTOR
from integrate.state import StateStore, now


def capped(wanted: int | None, cap: int) -> int:
    """A flow's page or batch size (`wanted`, None: unset) within the object's own `cap`."""
    return min(wanted or cap, cap)


class FailureSink:
    """Appends failed records, redacted, to the failed-records file (JSON lines)."""

    def __init__(self, path: Path | None, integration: str, *, dry_run: bool):
        self.path = path
        self.integration = integration
        self.dry_run = dry_run
        self.count = 0
        self._file: IO[bytes] | None = None

    def write(self, entry: dict[str, Any]) -> None:
        self.count += 1
        if self.dry_run or self.path is None:
            return
        line = {"time": now(), "integration": self.integration, **entry}
        data = orjson.dumps(REDACTOR.redact_data(line), default=str) + b"\n"
        try:
            if self._file is None:
                private_folder(self.path.parent)
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                tighten_fd(fd, self.path)  # records, redacted, but still the systems' data
                self._file = os.fdopen(fd, "ab")
            self._file.write(data)
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as exc:
            raise StateError(
                f"cannot write the failed-records file {self.path}: {exc.strerror or exc}; "
                "check the disk's free space and the folder's permissions, then run again "
                "(the failures of this batch were not recorded in the state either)"
            ) from exc

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


@dataclass
class RunContext:
    spec: Spec
    store: StateStore
    connectors: dict[str, Connector]
    scratch: Scratch
    failures: FailureSink
    run_id: int | None = None
    dry_run: bool = False
    full_refresh: bool = False
    only_held: bool = False
    observer: Callable[[Change], None] | None = None
    progress: Callable[[str, str, int], None] | None = None
    stop: StopRequest = field(default_factory=StopRequest)  # looked at between pages
    # Records the connectors handed over as unreadable in this run (failures, stage `read`).
    unreadable: int = 0
    _infos: dict[tuple[str, str], ObjectInfo] = field(default_factory=dict)

    def info(self, connection: str, obj: str) -> ObjectInfo:
        key = (connection, obj)
        info = self._infos.get(key)
        if info is None:
            connector = self.connectors[connection]
            try:
                info = connector.describe(obj)
            except KeyError:
                known = ", ".join(connector.objects()) or "none listed"
                raise PluginError(
                    f"{connector.plugin} (connection '{connection}') has no object '{obj}' (objects: {known})"
                ) from None
            self._infos[key] = info
        return info

    def forget(self, connection: str, obj: str) -> bool:
        """Drop the object's description here and its connector's cached one; True when the
        connector had one cached (so a description asked for now may differ)."""
        if not self.connectors[connection].forget_description(obj):
            return False
        self._infos.pop((connection, obj), None)
        return True

    def id_of(self, connection: str, obj: str, record: Record) -> str | None:
        value = record.get(self.info(connection, obj).id_field)
        if value is None or value == "":
            return None
        return str(value)
