"""What a user of the emulated SALESmanago account does by hand (`change`): as over the API, a
contact cannot be given an email another contact has (the emulator once let it, leaving two
contacts with one email, which the API then answered for with either)."""

from __future__ import annotations

import pytest

from tests.plugins.salesmanago.emulator_kit import Sm


def test_a_user_cannot_give_a_contact_the_email_of_another() -> None:
    sm = Sm()
    ann = sm.upsert({"email": "ann@example.com", "name": "Ann"})
    sm.upsert({"email": "bob@example.com", "name": "Bob"})

    with pytest.raises(ValueError, match=r"cannot change contact .*: BOB@example.com is another"):
        sm.emulator.change("contacts", ann, {"email": "BOB@example.com"})

    assert sorted(c["email"] for c in sm.emulator.records("contacts")) == [
        "ann@example.com",
        "bob@example.com",
    ]
    assert sm.one("bob@example.com")["name"] == "Bob"
    assert sm.emulator.change("contacts", ann, {"email": "Ann@Example.com"})["email"] == (
        "Ann@Example.com"  # its own email, in another case, is the user's to change
    )
