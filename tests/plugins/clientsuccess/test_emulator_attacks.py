"""The emulator from an attacker's point of view: oversized, broken or hostile bodies and
paths are answered 400 or 404 in ClientSuccess's words (never a 500), change nothing, and no
error quotes a secret or an attacker's megabyte back."""

from __future__ import annotations

import pytest

from tests.plugins.clientsuccess.emulator_kit import ADMIN, Cs

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def cs() -> Cs:
    return Cs(max_body_bytes=4096)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{", "Malformed JSON request"),
        (b"", "Malformed JSON request"),
        (b"\xff\xfe\x00garbage", "Malformed JSON request"),
        (b"[" * 100 + b"]" * 100, "Malformed JSON request: expected a JSON object"),
        (b"[" * 3000, "Malformed JSON request"),
        (b'["name"]', "Malformed JSON request: expected a JSON object"),
        (b'"Acme"', "Malformed JSON request: expected a JSON object"),
        (b'{"name": "' + b"x" * 5000 + b'"}', "Request body too large"),
    ],
    ids=["cut", "empty", "not-unicode", "deep-array", "too-deep", "array", "string", "too-large"],
)
def test_a_body_that_is_not_a_json_object_is_a_400_and_changes_nothing(
    cs: Cs, content: bytes, message: str
) -> None:
    made = cs.client()
    for method, path in (("POST", "/clients"), ("PUT", f"/clients/{made['id']}"),
                         ("PATCH", f"/customfield/value/client/{made['id']}"),
                         ("POST", f"/clients/{made['id']}/contacts")):  # fmt: skip
        assert cs.refused(method, path, 400, content=content, headers=JSON) == message, path

    assert cs.emulator.records("clients") == [cs.ok("GET", f"/clients/{made['id']}")]
    assert cs.emulator.records("contacts") == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("statusId", 10**30),
        ("statusId", float("nan")),
        ("statusId", True),
        ("npsScore", 1.5),
        ("crmCustomerId", float("inf")),
        ("name", ["Acme"]),
        ("name", {"$gt": ""}),
        ("active", None),
        ("customFieldValues", "Zoho Owner"),
        ("customFieldValues", [["Zoho Owner", "x"]]),
        ("customFieldValues", [{"value": "x"}]),
    ],
)
def test_values_of_the_wrong_kind_are_a_400_not_a_500(cs: Cs, field: str, value: object) -> None:
    import json

    body = json.dumps({"name": "Acme", field: value}).encode()
    answer = cs.call("POST", "/clients", content=body, headers=JSON)

    if field == "active":  # null is a value a create may send
        assert answer.status_code == 201
        return
    assert answer.status_code == 400, answer.text
    assert set(answer.json()) == {"userMessage"}


def test_an_attackers_long_value_is_quoted_back_cut_short(cs: Cs) -> None:
    answer = cs.call("POST", "/clients", json={"name": "A", "inceptionDate": "9" * 39})
    assert answer.status_code == 400
    long = cs.call(
        "POST",
        "/clients",
        json={"name": "A", "customFieldValues": [{"label": "L" * 3000, "value": "x"}]},
    )

    assert long.status_code == 400
    assert len(long.text) < 200


@pytest.mark.parametrize(
    "path",
    [
        "/clients/..%2F..%2Fauth",
        "/clients/1%3B2",
        "/clients/-1",
        "/clients/1e3",
        "/clients/99999999999999999999999",
        "/clients/%00",
    ],
)
def test_an_id_that_is_no_id_is_a_404(cs: Cs, path: str) -> None:
    cs.client()

    assert cs.refused("GET", path, 404) in ("Client not found", "Not found")


def test_no_error_echoes_a_password_or_a_token(cs: Cs) -> None:
    token = cs.login()
    answers = [
        cs.call(
            "POST", "/auth", token=None, data={"username": ADMIN[0], "password": ADMIN[1] + "x"}
        ),
        cs.call("POST", "/auth", token=None, params={"username": ADMIN[1], "password": ADMIN[1]}),
        cs.call("GET", "/clients", token=token + "x"),
        cs.call("GET", "/clients", token=f"Bearer {token}"),
        cs.call("GET", f"/nope/{token}", token=token),
        cs.call("POST", "/clients", token=token, json={"name": token * 10}),
    ]

    assert [a.status_code for a in answers] == [401, 401, 401, 401, 404, 400]
    for answer in answers:
        assert ADMIN[1] not in answer.text, answer.text
        assert token not in answer.text, answer.text


def test_a_huge_auth_body_is_refused_without_reading_it_whole(cs: Cs) -> None:
    answer = cs.call("POST", "/auth", token=None, content=b"username=" + b"a" * 10_000,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip

    assert answer.status_code == 400
    assert answer.json() == {"userMessage": "Request body too large"}


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b"username&password", "application/x-www-form-urlencoded"),
        (b"\xff\xff", "application/x-www-form-urlencoded"),
        (b'{"username": ["' + ADMIN[0].encode() + b'"], "password": ["x"]}', "application/json"),
    ],
)
def test_garbage_credentials_are_a_401(cs: Cs, content: bytes, content_type: str) -> None:
    answer = cs.call(
        "POST", "/auth", token=None, content=content, headers={"Content-Type": content_type}
    )

    assert answer.status_code == 401
    assert answer.json() == {"userMessage": "Invalid username or password"}


HOSTILE = [
    None,
    True,
    -1,
    2**70,
    1.5,
    "",
    " ",
    "x" * 300,
    "\u0000",
    "2024-13-45",
    [],
    {},
    ["a"],
    {"a": 1},
]


def test_no_value_in_any_field_of_a_client_or_contact_write_is_a_500() -> None:
    import json

    from integrate_clientsuccess.emulator.records import CLIENT_FIELDS, CONTACT_FIELDS

    cs = Cs(pace=0, rate_limit_per_second=0)
    made = cs.client()
    contact = cs.contact(made["id"])
    writes = [("POST", "/clients", {"name": "Acme"}, CLIENT_FIELDS),
              ("PUT", f"/clients/{made['id']}", {"name": "Acme"}, CLIENT_FIELDS),
              ("POST", f"/clients/{made['id']}/contacts", {"firstName": "J"}, CONTACT_FIELDS),
              ("PUT", f"/clients/{made['id']}/contacts/{contact['id']}/details", {"firstName": "J"},
               CONTACT_FIELDS)]  # fmt: skip
    statuses = set()
    for method, path, base, fields in writes:
        for field in [*(f.name for f in fields), "customFieldValues", "clientId", "activeClient"]:
            for value in HOSTILE:
                body = json.dumps({**base, field: value}).encode()
                answer = cs.call(method, path, content=body, headers=JSON)
                assert answer.status_code in (200, 201, 400, 417), (
                    method,
                    field,
                    value,
                    answer.text,
                )
                assert set(answer.json()) == {"userMessage"} or answer.status_code < 300
                statuses.add(answer.status_code)

    assert {200, 201, 400} <= statuses
