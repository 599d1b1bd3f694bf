"""Secrets never print: the Secret value, the redactor and logging filter that scrub every
form of a registered secret, and the ${env:...} / ${file:...} resolver (RELIABILITY.md §3.2)."""

from __future__ import annotations

import base64
import io
import logging
import pickle
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from integrate.errors import Location
from integrate.secrets import (
    MASK,
    REDACTOR,
    RedactingFilter,
    Redactor,
    ReferenceProblem,
    Resolver,
    Secret,
    references,
    reveal,
)

WHERE = Location("spec.yaml", 7, 18)


@pytest.fixture
def log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose one handler scrubs secrets, and the text it wrote."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("integrate.test_secrets")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield logger, out
    logger.removeHandler(handler)


# ---- Secret ------------------------------------------------------------------------------


def test_a_secret_never_prints_its_value() -> None:
    canary = "canary-secret-7f3a"
    secret = Secret(canary, source="${env:SDP_TECHNICIAN_KEY}")

    shown = [
        str(secret),
        repr(secret),
        f"{secret}",
        f"{secret!r}",
        f"{secret:>30}",
        "%s %r" % (secret, secret),  # noqa: UP031  (the old formatting is used by logging)
        "{}".format(secret),  # noqa: UP032
        str([secret]),
        str({"key": secret}),
    ]

    assert all(canary not in text for text in shown)
    assert str(secret) == MASK
    assert repr(secret) == "Secret(${env:SDP_TECHNICIAN_KEY})"


def test_reveal_is_the_way_to_the_value() -> None:
    secret = Secret("canary-reveal-1b2c")

    assert secret.reveal() == "canary-reveal-1b2c"
    assert reveal(secret) == "canary-reveal-1b2c"
    assert reveal("plain") == "plain"
    assert reveal(None) is None


def test_a_secret_cannot_be_pickled_to_disk() -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(Secret("canary-pickle-9d8e"))


def test_secrets_compare_by_value_without_showing_it() -> None:
    assert Secret("canary-eq-0001") == Secret("canary-eq-0001")
    assert Secret("canary-eq-0001") != Secret("canary-eq-0002")
    assert Secret("canary-eq-0001") != "canary-eq-0001"
    assert not Secret("")


def test_a_secret_in_a_log_message_is_masked(log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = log
    secret = Secret("canary-log-4c5d")

    logger.info("calling with key %s (%r)", secret, secret)

    assert "canary-log-4c5d" not in out.getvalue()
    assert "calling with key *** (Secret(secret))" in out.getvalue()


# ---- Redactor ----------------------------------------------------------------------------


def test_the_redactor_masks_raw_url_encoded_and_base64_forms() -> None:
    redactor = Redactor()
    value = "p@ss/word+&=1"
    redactor.register(value)
    raw = value.encode()
    forms = {
        "raw": value,
        "query": quote(value, safe=""),
        "form": quote_plus(value),
        "path": quote(value),
        "base64": base64.b64encode(raw).decode(),
        "base64url": base64.urlsafe_b64encode(raw).decode(),
    }

    for name, form in forms.items():
        text = f"before {form} after"
        clean = redactor.redact(text)
        assert form not in clean, name
        assert clean.startswith("before ***"), name
        assert clean.endswith(" after"), name


@pytest.mark.parametrize("user", ["", "u", "us", "api", "user"])
def test_the_redactor_masks_a_secret_inside_http_basic_credentials(user: str) -> None:
    redactor = Redactor()
    redactor.register("canary-basic-77aa")
    header = (
        "Authorization: Basic " + base64.b64encode(f"{user}:canary-basic-77aa".encode()).decode()
    )

    clean = redactor.redact(header)

    assert "***" in clean
    # What is left cannot be decoded back to the secret.
    left = clean.removeprefix("Authorization: Basic ").replace("***", "")
    assert "canary" not in base64.b64decode(left + "===", validate=False).decode("latin-1")


def test_the_redactor_leaves_text_without_secrets_alone() -> None:
    redactor = Redactor()
    redactor.register("canary-alone-5e6f")

    assert redactor.redact("nothing to see here") == "nothing to see here"
    assert Redactor().redact("no secrets registered") == "no secrets registered"


def test_values_too_short_to_mask_safely_are_not_registered() -> None:
    redactor = Redactor()
    redactor.register("abc")

    assert redactor.redact("abcdef") == "abcdef"


def test_redact_data_masks_secrets_and_values_under_sensitive_keys() -> None:
    redactor = Redactor()
    redactor.register("canary-data-8a9b")
    record = {
        "name": "Ann",
        "note": "key is canary-data-8a9b",
        "headers": {"Authorization": "Bearer xyz", "Accept": "application/json"},
        "auth": [{"password": "hunter2", "user": "ann"}],
        "token": "",
        "key": Secret("canary-data-8a9b"),
    }

    assert redactor.redact_data(record) == {
        "name": "Ann",
        "note": "key is ***",
        "headers": {"Authorization": "***", "Accept": "application/json"},
        "auth": [{"password": "***", "user": "ann"}],
        "token": "",
        "key": "***",
    }


# ---- RedactingFilter ---------------------------------------------------------------------


def test_the_filter_scrubs_arguments_and_exception_text(
    log: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, out = log
    REDACTOR.register("canary-filter-1a2b")

    try:
        raise ValueError("refused token canary-filter-1a2b")
    except ValueError:
        logger.exception("call failed: %s", {"url": "https://x/?key=canary-filter-1a2b"})

    text = out.getvalue()
    assert "canary-filter-1a2b" not in text
    assert "call failed: {'url': 'https://x/?key=***'}" in text
    assert "ValueError: refused token ***" in text
    assert "Traceback" in text


def test_the_filter_scrubs_url_encoded_secrets_in_messages(
    log: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, out = log
    REDACTOR.register("canary filter/2c3d")

    logger.warning("GET https://api.example/v1?secret=%s", quote_plus("canary filter/2c3d"))

    assert out.getvalue() == "GET https://api.example/v1?secret=***\n"


# ---- Resolver ----------------------------------------------------------------------------


def test_env_references_resolve_to_text() -> None:
    resolver = Resolver(environ={"SDP_URL": "https://sdp.example", "PORT": "8443"})

    value = resolver.resolve("${env:SDP_URL}:${env:PORT}/api", secret=False, location=WHERE)

    assert value == "https://sdp.example:8443/api"
    assert not isinstance(value, Secret)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "https://accounts.zoho.com/oauth"),  # unset: the default
        ({"ZOHO_ACCOUNTS_URL": ""}, "https://accounts.zoho.com/oauth"),  # empty, as the shell
        ({"ZOHO_ACCOUNTS_URL": "http://127.0.0.1:8080"}, "http://127.0.0.1:8080/oauth"),
    ],
)
def test_an_env_reference_with_a_default(environ: dict[str, str], expected: str) -> None:
    resolver = Resolver(environ=environ)
    text = "${env:ZOHO_ACCOUNTS_URL:-https://accounts.zoho.com}/oauth"

    assert resolver.resolve(text, secret=False, location=WHERE) == expected
    assert resolver.missing(text) == []
    assert references(text) == [("env", "ZOHO_ACCOUNTS_URL")]


def test_an_empty_default_is_a_value_and_a_file_reference_has_no_default(tmp_path: Path) -> None:
    resolver = Resolver(environ={}, base=tmp_path)

    assert resolver.resolve("${env:ZOHO_API_DOMAIN:-}", secret=False, location=WHERE) == ""
    # ":-" is part of a file's name: no default for files
    assert resolver.missing("${file:token:-x}") == [("file", "token:-x")]


def test_a_default_of_a_variable_whose_name_says_secret_is_masked() -> None:
    resolver = Resolver(environ={})

    value = resolver.resolve("${env:DEMO_TOKEN:-canary-default-9876}", secret=False, location=WHERE)

    assert isinstance(value, Secret)
    assert value.reveal() == "canary-default-9876"
    assert REDACTOR.redact("sent canary-default-9876") == f"sent {MASK}"


@pytest.mark.parametrize(
    "name", ["ZOHO_CLIENT_SECRET", "SDP_TECHNICIAN_KEY", "API_KEY", "DB_PASSWORD", "REFRESH_TOKEN"]
)
def test_variables_with_sensitive_names_resolve_to_secrets(name: str) -> None:
    resolver = Resolver(environ={name: f"canary-{name.lower()}"})

    value = resolver.resolve(f"Bearer ${{env:{name}}}", secret=False, location=WHERE)

    assert isinstance(value, Secret)
    assert value.reveal() == f"Bearer canary-{name.lower()}"
    assert f"canary-{name.lower()}" not in repr(value)
    # Registered: the value is scrubbed from logs from now on, even on its own.
    assert REDACTOR.redact(f"x canary-{name.lower()} y") == "x *** y"


def test_a_field_marked_secret_resolves_to_a_secret_whatever_the_variable_name() -> None:
    resolver = Resolver(environ={"PLAIN": "canary-plain-6b7c"})

    value = resolver.resolve("${env:PLAIN}", secret=True, location=WHERE)

    assert isinstance(value, Secret)
    assert value.reveal() == "canary-plain-6b7c"


def test_a_secret_shows_its_references_never_literal_text_around_them() -> None:
    resolver = Resolver(environ={"USER_TOKEN": "canary-tok-3e4f"})

    literal = resolver.resolve("canary-literal-2d3e", secret=True, location=WHERE)
    mixed = resolver.resolve("canary-prefix-${env:USER_TOKEN}", secret=True, location=WHERE)

    assert repr(literal) == "Secret(secret)"
    assert repr(mixed) == "Secret(${env:USER_TOKEN})"


def test_file_references_are_read_relative_to_the_base_and_are_secrets(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "zoho").write_text("canary-file-9f0a\n")
    resolver = Resolver(environ={}, base=tmp_path)

    value = resolver.resolve("${file:secrets/zoho}", secret=False, location=WHERE)

    assert isinstance(value, Secret)
    assert value.reveal() == "canary-file-9f0a"
    assert value == resolver.resolve(
        f"${{file:{tmp_path / 'secrets' / 'zoho'}}}", secret=False, location=WHERE
    )


def test_unset_references_are_problems_at_the_spec_location(tmp_path: Path) -> None:
    resolver = Resolver(environ={}, base=tmp_path)

    with pytest.raises(ReferenceProblem) as caught:
        resolver.resolve("${env:ZOHO_CLIENT_ID}/${file:absent}", secret=False, location=WHERE)

    assert [str(p) for p in caught.value.problems] == [
        "spec.yaml:7:18: environment variable ZOHO_CLIENT_ID is not set",
        "spec.yaml:7:18: secret file absent is not set",
    ]
    assert resolver.missing("${env:ZOHO_CLIENT_ID} ${env:HOME}") == [
        ("env", "ZOHO_CLIENT_ID"),
        ("env", "HOME"),
    ]


def test_double_dollar_escapes_a_reference() -> None:
    resolver = Resolver(environ={"A": "value-a"})

    value = resolver.resolve("price $${env:A} is ${env:A}", secret=False, location=WHERE)

    assert value == "price ${env:A} is value-a"
    assert references("$${env:UNSET} ${env:A}") == [("env", "A")]
    assert resolver.missing("$${env:UNSET}") == []


def test_references_lists_every_kind_and_name() -> None:
    assert references("${env:A}-${file:/run/secrets/b}-${vault:c}") == [
        ("env", "A"),
        ("file", "/run/secrets/b"),
    ]
