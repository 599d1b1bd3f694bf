"""The operator's page in a real browser (Debian's Chromium, headless, through Selenium):
`integrate serve` on the SDP sandbox, a person logs in, creates a queued CRM account as new
from the pending queue, the spec runs, and the account is in the SDP emulator and shown done
on the page. Without the token there is no page; a POST without the CSRF token is refused.
Chromium missing fails the test (CI installs it: `make browser`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By

from tests.e2e.browser import TOKEN, chromium, click, log_in, serving
from tests.e2e.sdp import SPEC, Sdp, fresh_sandbox

pytestmark = pytest.mark.slow


def test_an_operator_creates_a_queued_account_from_the_page_and_the_next_run_makes_it(
    cli: Any, workdir: Path
) -> None:
    sdp: Sdp = fresh_sandbox(cli)
    sdp.run()
    initech = sdp.queued("Initech")
    assert "Initech" not in sdp.accounts()

    with serving(SPEC, workdir / ".integrate") as url, chromium() as browser:
        name = "zoho-crm-to-servicedesk-msp"
        pending = f"{url}s/{name}/pending"

        # no token, no page: the browser is sent to the login form, which shows no record
        browser.get(pending)
        assert browser.current_url == f"{url}login"
        assert "Initech" not in browser.page_source

        log_in(browser, url)
        click(browser, browser.find_element(By.LINK_TEXT, name))
        section = browser.find_element(By.ID, f"held-{initech['source_id']}")
        assert "no record of sdp.accounts matches Account_Name = 'Initech'" in section.text
        click(browser, section.find_element(By.XPATH, ".//button[text()='Create as new']"))

        note = browser.find_element(By.CSS_SELECTOR, "p.note").text
        assert note == "accounts Initech: will create as new. The next run carries it out."
        section = browser.find_element(By.ID, f"held-{initech['source_id']}")
        assert "Decided: create as new. The next run carries it out." in section.text
        assert not section.find_elements(By.TAG_NAME, "button")  # not offered again

        # a forged POST carrying the session cookie but not the CSRF token is refused
        cookie = browser.get_cookie("integrate_ui")
        assert cookie is not None
        assert cookie["httpOnly"] is True
        assert cookie["sameSite"] == "Strict"
        [umbrella] = [r for r in sdp.pending() if "'Umbrella Corp'" in r["reason"]]
        forged = httpx.post(
            f"{url}s/{name}/resolve",
            cookies={"integrate_ui": cookie["value"]},
            data={"flow": "accounts", "record": umbrella["source_id"], "action": "create"},
        )
        assert forged.status_code == 403
        assert "CSRF" in forged.text
        assert sdp.queued("Umbrella Corp")["resolution"] is None

        _result, report = sdp.run()  # the next run carries the decision out

        created = sdp.accounts()["Initech"]
        assert created["city"] == "Austin"
        assert report["flows"][0]["totals"]["created"] == 1
        browser.get(pending)
        decided = browser.find_element(
            By.XPATH, "//h2[text()='Decided on this page']/following-sibling::table"
        )
        assert f"done: linked to {created['id']}" in decided.text
        assert not browser.find_elements(By.ID, f"held-{initech['source_id']}")

        # the run is on the runs page, its "why" on its own
        click(browser, browser.find_element(By.LINK_TEXT, "runs"))
        assert "created 1" in browser.find_element(By.TAG_NAME, "table").text

    assert TOKEN not in (workdir / "serve.log").read_text()


def test_without_the_token_no_page_and_no_action(cli: Any, workdir: Path) -> None:
    sdp: Sdp = fresh_sandbox(cli)
    sdp.run()
    queued = sdp.queued("Initech")
    with serving(SPEC, workdir / ".integrate") as url:
        base = f"{url}s/zoho-crm-to-servicedesk-msp"
        page = httpx.get(f"{base}/pending")
        action = httpx.post(
            f"{base}/resolve",
            data={"flow": "accounts", "record": queued["source_id"], "action": "create"},
        )
        wrong = httpx.post(f"{url}login", data={"token": "not-the-token-at-all"})
        bearer = httpx.get(f"{base}/pending", headers={"Authorization": f"Bearer {TOKEN}"})

    assert page.status_code == 303
    assert page.headers["location"] == "/ui/login"
    assert action.status_code == 401
    assert wrong.status_code == 401
    assert "set-cookie" not in wrong.headers
    assert sdp.queued("Initech")["resolution"] is None  # nothing was decided
    assert bearer.status_code == 200
    assert "Initech" in bearer.text
