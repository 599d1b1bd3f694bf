"""What a vendor's handlers answer with: a `Reply` (a JSON body, no body, or raw bytes) or a
`Refusal` raised from anywhere inside the handling, which the emulator answers with the
vendor's own error body and status."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Reply:
    """A handler's answer: a JSON `body`, no body (`body` None: 204, 304 ...), or `raw` bytes
    of `content_type`. `HttpEmulator.route` may return one; the base encodes it."""

    status: int
    body: Any = None
    raw: bytes | None = None
    content_type: str = "application/octet-stream"
    headers: dict[str, str] = field(default_factory=dict)


class Refusal(Exception):
    """A refusal of the whole request in the vendor's words. Raise a subclass from anywhere
    inside `route`: the emulator answers `status` with `body()` as JSON and `headers`.
    Subclasses give `body()` their vendor's error envelope."""

    def __init__(
        self, status: int, message: str = "", headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message or f"HTTP {status}")
        self.status = status
        self.headers = dict(headers or {})

    def body(self) -> Any:
        """The JSON body of the answer (the default: `{"message": ...}`)."""
        return {"message": str(self)}
