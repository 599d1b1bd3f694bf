"""Helpers for an emulator's generated data (names from many languages, e-mail addresses and
domains made from them, ids in the shape of UUIDs): `ascii_slug`, `seeded_uuid`."""

from __future__ import annotations

import functools
import random
import unicodedata
import uuid

# Letters NFKD does not take apart into a base letter and marks.
_ASCII = str.maketrans(
    {"ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "ß": "ss", "æ": "ae", "ı": "i", "đ": "d", "Đ": "D"}  # noqa: RUF001
)


@functools.lru_cache(maxsize=4096)
def ascii_slug(text: str) -> str:
    """`text` in ASCII letters and digits only, lower case ('' if none are left): "Łódź
    Logistics" gives "lodzlogistics", for made-up e-mail addresses and domains."""
    plain = unicodedata.normalize("NFKD", text.translate(_ASCII))
    return "".join(c for c in plain.lower() if c.isascii() and c.isalnum())


def seeded_uuid(key: str) -> str:
    """A UUID of version 4's shape drawn from `key` alone: the same key, the same id, so a
    vendor whose ids are UUIDs gets the same ids for the same seed (`RecordStore.id_for`)."""
    return str(uuid.UUID(int=random.Random(key).getrandbits(128), version=4))
