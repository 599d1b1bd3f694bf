"""docs/clientsuccess-plugin.md documents every setting of the connector in a row of its own,
every object, and every custom-field name rule it states holds."""

from __future__ import annotations

from pathlib import Path

from integrate_clientsuccess.connector import OBJECTS
from integrate_clientsuccess.settings import CONFIG_SCHEMA, custom_name

PAGE = Path(__file__).resolve().parents[3] / "docs" / "clientsuccess-plugin.md"


def test_every_setting_and_object_has_a_row_in_the_plugins_page() -> None:
    text = PAGE.read_text(encoding="utf-8")

    missing = [name for name in CONFIG_SCHEMA["properties"] if f"| `{name}` |" not in text]
    objects = [name for name in OBJECTS if f"| `{name}` |" not in text]

    assert missing == [], f"settings without a row in {PAGE.name}"
    assert objects == [], f"objects without a row in {PAGE.name}"


def test_custom_field_names_are_made_as_the_page_says() -> None:
    text = PAGE.read_text(encoding="utf-8")

    assert custom_name("Zoho Owner") == "cf_zoho_owner"
    assert "`cf_zoho_owner`" in text
    assert custom_name("Renewal Date") == "cf_renewal_date"
    assert "`cf_renewal_date`" in text
    assert custom_name("  Net $ Value (USD) ") == "cf_net_value_usd"
