"""What `HttpClient.request` returns and a classifier receives: the core's own `HttpAnswer`
(status, headers by any case, whole body, the request as sent, JSON parsed once), driven
through httpx's transport seam with a fake clock."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from integrate import (
    OK,
    CallStats,
    FakeClock,
    HttpAnswer,
    HttpClient,
    path_segment,
    retry_after,
)

Handler = Callable[[httpx.Request], httpx.Response]


class Token:
    """Credentials that never change (a test double for the Auth protocol)."""

    def headers(self) -> dict[str, str]:
        return {"Authorization": "Bearer t1"}

    def token(self) -> str | None:
        return "t1"

    def refresh(self, stale: str | None) -> None:
        return None


def client(handler: Handler, **kwargs: Any) -> HttpClient:
    return HttpClient(
        httpx.Client(transport=httpx.MockTransport(handler)),
        connection="crm",
        stats=CallStats(),
        clock=FakeClock(),
        **kwargs,
    )


def test_request_returns_the_answer_as_received_and_the_request_as_sent() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            207,
            headers=[
                ("Content-Type", "application/json"),
                ("X-Part", "one"),
                ("x-part", "two"),
                ("Content-Encoding", "gzip"),
            ],
            content=gzip.compress(b'{"data": [1]}'),
        )

    answer = client(handle).request("PUT", "https://api.example/v8/Accounts?ids=1,2", json={})

    assert isinstance(answer, HttpAnswer)
    assert answer.status_code == 207
    assert answer.content == b'{"data": [1]}'  # decoded
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers.get("CONTENT-TYPE") == "application/json"
    assert answer.headers["X-PART"] == "one, two"
    assert "x-part" in answer.headers
    assert "X-Missing" not in answer.headers
    assert (answer.method, answer.url) == ("PUT", "https://api.example/v8/Accounts?ids=1,2")
    assert answer.path == "/v8/Accounts"
    assert answer.json() == {"data": [1]}


def test_a_classifier_receives_the_answer_and_retry_after_reads_its_header() -> None:
    received: list[Any] = []

    def classify(answer: HttpAnswer) -> str:
        received.append((type(answer), answer.status_code, retry_after(answer)))
        return OK

    http = client(lambda r: httpx.Response(429, headers={"retry-after": "7"}), classify=classify)

    assert http.request("GET", "https://api.example/x").status_code == 429
    assert received == [(HttpAnswer, 429, 7.0)]


def test_the_answer_says_whether_the_call_carried_the_connections_credentials() -> None:
    http = client(lambda r: httpx.Response(200), auth=Token())
    bare = client(lambda r: httpx.Response(200))

    assert http.request("GET", "https://api.example/x").authenticated is True
    assert http.request("GET", "https://api.example/x", authenticated=False).authenticated is False
    assert bare.request("GET", "https://api.example/x").authenticated is False


def test_the_path_is_as_sent_so_an_escaped_id_stays_one_segment() -> None:
    url = f"https://www.zohoapis.com/crm/v8/Accounts/{path_segment('a/oauth/b')}"

    answer = client(lambda r: httpx.Response(200)).request("GET", url)

    assert answer.path == "/crm/v8/Accounts/a%2Foauth%2Fb"
    assert "/oauth/" not in answer.path


def test_each_json_call_after_the_first_parses_afresh_when_nothing_was_parsed_before() -> None:
    answer = HttpAnswer(200, {}, b'{"rows": [1]}', "GET", "https://api.example/x")

    first = answer.json()
    first["rows"].append(2)

    assert answer.json() == {"rows": [1]}
    assert answer.is_json()
    assert answer.json() == {"rows": [1]}


def test_a_body_that_is_not_json_says_so() -> None:
    answer = HttpAnswer(502, {}, b"<html>Bad gateway</html>", "GET", "https://api.example/x")

    assert not answer.is_json()
    with pytest.raises(ValueError):
        answer.json()


@pytest.mark.parametrize(
    ("content_type", "content", "text"),
    [
        ("text/csv; charset=iso-8859-1", "Zoë;Müller".encode("latin-1"), "Zoë;Müller"),
        ("text/plain", "Zoë".encode(), "Zoë"),
        ("text/plain; charset=no-such-charset", b"plain", "plain"),
        ("text/plain", b"caf\xe9", "caf\ufffd"),
    ],
)
def test_text_is_the_body_in_the_charset_the_answer_names(
    content_type: str, content: bytes, text: str
) -> None:
    answer = HttpAnswer(200, {"Content-Type": content_type}, content, "GET", "https://h.example/")

    assert answer.text == text


def test_the_repr_of_an_answer_holds_no_query_credentials_header_or_body() -> None:
    answer = HttpAnswer(
        200,
        {"Set-Cookie": "session=cookie-secret"},
        b'{"access_token": "body-secret"}',
        "POST",
        "https://user:url-secret@accounts.example/oauth/v2/token?refresh_token=query-secret",
    )

    shown = f"{answer!r} {answer.headers!r}"

    assert shown.startswith("<HttpAnswer 200 POST accounts.example/oauth/v2/token>")
    assert "set-cookie" in shown
    assert "secret" not in shown


def test_an_answer_of_a_read_httpx_response_keeps_what_it_said() -> None:
    request = httpx.Request("GET", "https://api.example/files/9")
    response = httpx.Response(
        404, headers={"Content-Type": "application/json"}, json={"code": "X"}, request=request
    )

    answer = HttpAnswer.from_httpx(response)

    assert (answer.status_code, answer.json(), answer.method) == (404, {"code": "X"}, "GET")
    assert (answer.url, answer.headers["content-type"]) == (str(request.url), "application/json")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"userMessage": "Token expired", "code": 7}', "Token expired"),
        (b'{"userMessage": 42}', "42"),
        (b'{"userMessage": ""}', '{"userMessage": ""}'),
        (b'{"other": 1}', '{"other": 1}'),
        (b'["userMessage"]', '["userMessage"]'),
        (b"  <html>Bad gateway</html>\n", "<html>Bad gateway</html>"),
        (b"x" * 300, "x" * 200),
    ],
)
def test_message_is_the_named_field_or_the_text_cut_short(content: bytes, expected: str) -> None:
    answer = HttpAnswer(400, {}, content, "GET", "https://api.example/x")

    assert answer.message("userMessage") == expected
