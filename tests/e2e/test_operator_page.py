"""The operator's page of `integrate serve` over the SDP sandbox, driven in process as a
browser would drive it (werkzeug's test client: forms, cookies, redirects), asserting on the
page and on what the emulated systems hold: map to a candidate (a promised record is not
offered again), the search over the target, failures retried, a plan, a run's "why", the
token's rules and secrets kept off the page. The real browser's test is beside it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from integrate.build import load_spec
from integrate.cli.page import Pages, ui_token
from integrate.errors import UsageError
from integrate.plugins import make_plugins
from tests.e2e.sdp import SPEC, Sdp, fresh_sandbox

TOKEN = "page-token-in-process-0123456789"
BASE = "/ui/s/zoho-crm-to-servicedesk-msp"


class Operator:
    """A logged-in person on the page (a session cookie and its CSRF token)."""

    def __init__(self) -> None:
        plugins = make_plugins()
        spec = load_spec(SPEC, plugins, strict_env=False)
        token = ui_token({"INTEGRATE_UI_TOKEN": TOKEN})
        assert token == TOKEN
        self.client = Client(Pages([spec], plugins, token, sandbox=True))
        answer = self.client.post("/ui/login", data={"token": TOKEN})
        assert answer.status_code == 303

    def get(self, path: str, **query: str) -> str:
        answer = self.client.get(path, query_string=query, follow_redirects=True)
        assert answer.status_code == 200, answer.text
        return answer.text

    def post(self, path: str, **form: str) -> str:
        page = self.get(f"{BASE}/pending")
        [csrf] = set(re.findall(r'name="csrf" value="([^"]+)"', page))
        answer = self.client.post(path, data={**form, "csrf": csrf}, follow_redirects=True)
        assert answer.status_code == 200, answer.text
        return answer.text


def section(page: str, source_id: str) -> str:
    """The pending page's part about one queued record."""
    start = page.index(f'id="held-{source_id}"')
    return page[start : page.index("</section>", start)]


@pytest.fixture
def sdp(cli: Any, workdir: Path) -> Sdp:
    sandbox = fresh_sandbox(cli)
    sandbox.run()  # four CRM accounts queued for an operator
    return sandbox


def test_mapping_to_a_candidate_promises_it_and_the_next_run_links_them(sdp: Sdp) -> None:
    person = Operator()
    corp, labs = sdp.queued("Umbrella Corp"), sdp.queued("Umbrella Labs")
    health = sdp.accounts()["Umbrella Health"]
    before = person.get(f"{BASE}/pending")
    assert "0.64" in section(before, corp["source_id"])  # the candidate's score
    assert f'name="target" value="{health["id"]}"' in section(before, labs["source_id"])

    after = person.post(
        f"{BASE}/resolve",
        flow="accounts",
        record=corp["source_id"],
        action="map",
        target=str(health["id"]),
    )

    assert f"accounts Umbrella Corp: will map to {health['id']}. The next run" in after
    assert "Decided: map to" in section(after, corp["source_id"])
    assert str(health["id"]) not in section(after, labs["source_id"])  # promised: not offered
    sdp.run()
    done = person.get(f"{BASE}/pending")
    assert f"done: linked to {health['id']}" in done
    mapped = {a["id"]: a for a in sdp.records("sdp", "accounts")}[health["id"]]
    assert (mapped["name"], mapped["city"]) == ("Umbrella Corp", "Raccoon City")  # from CRM
    assert len(sdp.accounts()) == 4  # mapped, not created


def test_the_search_finds_target_records_and_offers_only_free_ones(sdp: Sdp) -> None:
    person = Operator()
    stark = sdp.queued("Stark Industries")
    acme = sdp.accounts()["Acme Ltd"]  # linked by the first run (an exact name match)

    page = person.get(f"{BASE}/pending", flow="accounts", record=stark["source_id"], q="ltd")
    found = section(page, stark["source_id"])

    assert "Acme Ltd" in found
    assert "linked to " in found
    assert f'name="target" value="{acme["id"]}"' not in found
    nothing = person.get(f"{BASE}/pending", flow="accounts", record=stark["source_id"], q="zzz")
    assert "No target record matches zzz." in section(nothing, stark["source_id"])


def test_failures_show_their_reason_and_record_redacted_and_are_retried(sdp: Sdp) -> None:
    with sdp.systems() as systems:
        systems["sdp"].require("requesters", ["phone"])
        acme = next(
            a for a in systems["crm"].records("Accounts") if a["Account_Name"] == "Acme Ltd"
        )
        eve = {"First_Name": "Eve", "Last_Name": "Hall", "Email": "eve@acme.example"}
        # a secret pasted into a record: the page shows it redacted
        eve |= {"Department": f"key {TOKEN}", "Account_Name": {"id": acme["id"]}}
        systems["crm"].seed("Contacts", [eve])
    result, report = sdp.run()
    assert report["flows"][1]["totals"]["failed"] >= 1, result.output

    person = Operator()
    page = person.get(f"{BASE}/failures")
    assert "Value for mandatory-field is not provided (phone)" in page
    assert "eve@acme.example" in page
    assert TOKEN not in page
    assert "key ***" in page

    with sdp.systems() as systems:
        systems["sdp"].require("requesters", [])
    retried = person.post(f"{BASE}/retry", flow="requesters")

    assert re.search(r"Retry run #\d+ succeeded: 0 record\(s\) failed again", retried)
    assert "No open failures." in retried
    assert "eve@acme.example @ Acme Ltd" in sdp.requesters()


def test_a_plan_on_demand_writes_nothing_and_a_run_says_why(sdp: Sdp) -> None:
    person = Operator()
    sdp.resolve("accounts", sdp.queued("Initech")["source_id"], "--create")
    accounts = sdp.accounts()

    plan = person.post(f"{BASE}/plan", flow="accounts")

    assert "Plan of accounts (nothing written)" in plan
    assert "accounts: create" in plan
    assert sdp.accounts() == accounts
    runs = person.get(f"{BASE}/runs")
    assert ">#1<" in runs
    assert ">#2<" not in runs  # a plan is no run
    detail = person.get(f"{BASE}/runs/1")
    assert (
        "accounts: 1 queue — no record of sdp.accounts matches Account_Name = &#x27;Initech&#x27;"
        in detail
    )
    assert "crm: 5 reads, 0 writes" in detail


def test_no_page_without_a_session_and_no_post_without_its_csrf_token(sdp: Sdp) -> None:
    person = Operator()
    stranger = Client(person.client.application)
    initech = sdp.queued("Initech")

    assert stranger.get(f"{BASE}/pending").headers["Location"] == "/ui/login"
    refused = person.client.post(
        f"{BASE}/resolve",
        data={"flow": "accounts", "record": initech["source_id"], "action": "create"},
    )
    assert refused.status_code == 403
    assert sdp.queued("Initech")["resolution"] is None
    cookie = person.client.get_cookie("integrate_ui", path="/ui")
    assert cookie is not None
    assert cookie.http_only
    assert cookie.same_site == "Strict"


def test_the_token_comes_from_the_environment_or_a_file_and_is_long_enough(
    workdir: Path,
) -> None:
    (workdir / "ui-token").write_text("from-a-file-0123456789abcdef\n")

    assert ui_token({}) is None
    assert ui_token({"INTEGRATE_UI_TOKEN": "${file:ui-token}"}) == "from-a-file-0123456789abcdef"
    with pytest.raises(UsageError, match="at least 16 characters"):
        ui_token({"INTEGRATE_UI_TOKEN": "short"})
    with pytest.raises(UsageError, match="names file missing, which is not set or not readable"):
        ui_token({"INTEGRATE_UI_TOKEN": "${file:missing}"})


def test_serve_refuses_a_short_token_before_it_starts(cli: Any, sdp: Sdp) -> None:
    served = cli("serve", str(SPEC), "--sandbox", env={"INTEGRATE_UI_TOKEN": "short"})

    assert served.exit_code == 2
    assert "INTEGRATE_UI_TOKEN must be at least 16 characters" in served.stderr
