"""The base of every plugin's emulator: a stand-in for the vendor's system that tests,
`--sandbox` runs and `integrate test` use instead of the real service."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from integrate.connector import Record, Unsupported

if TYPE_CHECKING:
    import httpx


class Emulator(ABC):
    """An in-process stand-in for one system.

    HTTP plugins serve their vendor's API from a WSGI app and hand out a transport for it;
    plugins that need no network (files) return None from `transport()` and point
    `connection_config()` at local resources instead.
    """

    plugin: ClassVar[str] = ""
    # Options `integrate emulate` uses unless `--set` gives them: the generated data a hand
    # test expects (the constructor's own defaults stay minimal, for tests).
    emulate_defaults: ClassVar[Mapping[str, Any]] = {}
    # The prefix of the environment variables `integrate emulate` prints for the settings
    # (ZOHO_CLIENT_ID): the names the plugin's docs and shipped specs use. Default: the
    # plugin's name in capitals.
    env_prefix: ClassVar[str] = ""

    @classmethod
    def for_connection(cls, config: Mapping[str, Any], **options: Any) -> Emulator:
        """An emulator for a connection whose plain (non-secret) settings are `config`, with
        emulator `options` (generated data sizes, faults ...) from a spec's `sandbox`. The
        default ignores the settings; plugins whose behaviour depends on them override it."""
        return cls(**options)

    def save(self, folder: Path) -> None:
        """Keep the emulated system's data in `folder`, so that the next `--sandbox` run goes
        on where this one stopped."""
        raise Unsupported(f"the {self.plugin} emulator cannot keep its data between runs")

    @classmethod
    def restore(cls, folder: Path, config: Mapping[str, Any]) -> Emulator:
        """The emulator `save` left in `folder` (for a connection with these settings)."""
        raise Unsupported(f"the {cls.plugin} emulator cannot keep its data between runs")

    @abstractmethod
    def seed(self, object: str, records: Sequence[Record]) -> list[Record]:
        """Put records into an object as if users had made them; returns them as stored."""

    @abstractmethod
    def records(self, object: str) -> list[Record]:
        """Every record of an object, as the system holds it now."""

    @abstractmethod
    def change(self, object: str, id: str, values: Record) -> Record:
        """Change a record as a user of the system would (its modified time moves on);
        returns it as stored."""

    @abstractmethod
    def connection_config(self) -> dict[str, Any]:
        """A connection `config` that points the plugin's connector at this emulator."""

    def transport(self) -> httpx.BaseTransport | None:
        """The in-process transport to this emulator, if it speaks HTTP."""
        return None

    def calls(self) -> Mapping[str, int]:
        """Calls received so far, by kind (read, write, auth ...)."""
        return {}

    def close(self) -> None:  # noqa: B027  (optional: not every emulator holds resources)
        """Release what the emulator holds (temporary folders, threads)."""

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
