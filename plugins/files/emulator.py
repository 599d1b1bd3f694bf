"""The files plugin's emulator: a temporary folder the connector is pointed at."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from integrate import ConnectorContext, Emulator, Record, WriteItem
from integrate_files.connector import FilesConnector


class FilesEmulator(Emulator):
    """A throwaway folder of JSON-lines files."""

    plugin = "files"

    def __init__(self, path: str | Path | None = None, **settings: Any):
        self._owned = path is None
        self.path = (
            Path(path) if path is not None else Path(tempfile.mkdtemp(prefix="integrate-files-"))
        )
        self.settings = settings

    @classmethod
    def for_connection(cls, config: Mapping[str, Any], **options: Any) -> FilesEmulator:
        return cls(**{k: v for k, v in config.items() if k != "path"}, **options)

    def save(self, folder: Path) -> None:
        if folder.resolve() != self.path.resolve():
            shutil.copytree(self.path, folder, dirs_exist_ok=True)

    @classmethod
    def restore(cls, folder: Path, config: Mapping[str, Any]) -> FilesEmulator:
        return cls(path=folder, **{k: v for k, v in config.items() if k != "path"})

    def connection_config(self) -> dict[str, Any]:
        return {"path": str(self.path), **self.settings}

    def _connector(self) -> FilesConnector:
        return FilesConnector(self.connection_config(), ConnectorContext(connection="emulator"))

    def seed(self, object: str, records: Sequence[Record]) -> list[Record]:
        connector = self._connector()
        try:
            results = connector.write(
                object, "create", [WriteItem(ref=i, values=dict(r)) for i, r in enumerate(records)]
            )
        finally:
            connector.close()
        failed = [r.error for r in results if not r.ok]
        if failed:
            raise ValueError(f"cannot seed {object}: {failed[0]}")
        return [r.record or {} for r in results]

    def records(self, object: str) -> list[Record]:
        connector = self._connector()
        try:
            return [r for page in connector.read(object) for r in page.records]
        finally:
            connector.close()

    def change(self, object: str, id: str, values: Record) -> Record:
        connector = self._connector()
        try:
            [result] = connector.write(
                object, "update", [WriteItem(ref=0, values=dict(values), id=str(id))]
            )
        finally:
            connector.close()
        if not result.ok:
            raise KeyError(f"{object} has no record {id}")
        return result.record or {}

    def close(self) -> None:
        if self._owned:
            shutil.rmtree(self.path, ignore_errors=True)
