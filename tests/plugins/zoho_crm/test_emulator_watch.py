"""The emulator's watch callbacks really reach a notify_url (zoho_crm.md §9): Zoho's body,
retries on a failing receiver, nothing past a channel's expiry or after it is disabled,
loopback receivers only, each channel in order, and the related-record actions. On a fake
clock the test pumps deliveries with `deliver_due()`; the receiver is a real loopback
server."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.plugins.zoho_crm.emulator_kit import Crm
from tests.plugins.zoho_crm.watch_receiver import Receiver

TOKEN = "k" * 40
CHANNEL = "1000000068001"


@pytest.fixture
def crm() -> Crm:
    return Crm(accounts=3, deals_per_account=1, callback_retries=(1, 5, 30, 120))


@pytest.fixture
def receiver(crm: Crm) -> Iterator[Receiver]:
    with Receiver(crm.clock.now) as running:
        yield running


def subscribe(crm: Crm, url: str, **overrides: Any) -> httpx.Response:
    channel = {
        "channel_id": CHANNEL,
        "events": ["Accounts.all", "Deals.all"],
        "notify_url": url,
        "token": TOKEN,
        **overrides,
    }
    return crm.post("/actions/watch", json={"watch": [channel]})


def test_a_change_is_posted_to_the_notify_url_with_zohos_body(crm: Crm, receiver: Receiver) -> None:
    assert (
        subscribe(
            crm, f"{receiver.url}/zoho/hook?tenant=42", return_affected_field_values=True
        ).status_code
        == 201
    )
    account = crm.ids("Accounts")[0]
    crm.put(f"/Accounts/{account}", json={"data": [{"Phone": "+44 20 7946 0001"}]})
    assert receiver.got == []  # the API call is answered before anything is sent

    assert crm.emulator.deliver_due() == 1

    [got] = receiver.got
    assert got.path == "/zoho/hook?tenant=42"
    assert got.content_type == "application/json"
    assert got.body == {
        "server_time": int(crm.clock.now() * 1000),
        "query_params": {"tenant": "42"},
        "module": "Accounts",
        "resource_uri": "https://www.zohoapis.com/crm/v2/Accounts",
        "ids": [account],
        "operation": "update",
        "affected_fields": [{account: ["Phone"]}],
        "affected_values": [{"record_id": account, "values": {"Phone": "+44 20 7946 0001"}}],
        "channel_id": CHANNEL,
        "token": TOKEN,
    }
    assert crm.emulator.callbacks_waiting() == 0
    assert crm.emulator.deliver_due() == 0


def test_a_failing_receiver_is_retried_after_1_5_30_120_s_then_dropped(
    crm: Crm, caplog: pytest.LogCaptureFixture
) -> None:
    with Receiver(crm.clock.now, statuses=[503]) as failing:
        subscribe(crm, f"{failing.url}/hook")
        start = crm.clock.now()
        crm.emulator.change("Accounts", crm.ids("Accounts")[0], {"Phone": "1"})
        with caplog.at_level(logging.WARNING):
            for _ in range(200):  # 200 s of fake time, a second at a time
                crm.emulator.deliver_due()
                crm.clock.advance(1)

    assert [at - start for at in failing.attempts] == [0, 1, 6, 36, 156]
    assert failing.got == []
    assert crm.emulator.callbacks_waiting() == 0
    [dropped] = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert "5 attempts failed, the last: HTTP 503" in dropped
    assert f"channel {CHANNEL}" in dropped
    assert TOKEN not in caplog.text


def test_a_receiver_that_recovers_gets_the_callbacks_in_order(crm: Crm) -> None:
    with Receiver(crm.clock.now, statuses=[500, 200]) as flaky:
        subscribe(crm, flaky.url)
        first, second = crm.ids("Accounts")[:2]
        crm.emulator.change("Accounts", first, {"Phone": "1"})
        crm.emulator.change("Accounts", second, {"Phone": "2"})
        crm.emulator.change("Accounts", first, {"Phone": "3"})

        assert crm.emulator.deliver_due() == 0  # the first failed: the others wait behind it
        assert crm.emulator.callbacks_waiting() == 3
        crm.clock.advance(1)
        assert crm.emulator.deliver_due() == 3

    assert [(g.body["ids"], g.body["affected_fields"]) for g in flaky.got] == [
        ([first], [{first: ["Phone"]}]),
        ([second], [{second: ["Phone"]}]),
        ([first], [{first: ["Phone"]}]),
    ]
    assert len(flaky.attempts) == 4


def test_a_refused_connection_and_a_timeout_are_retried() -> None:
    crm = Crm(accounts=1, callback_retries=(1,), callback_timeout=0.2)
    with socket.socket() as spare:  # a loopback port nobody listens on
        spare.bind(("127.0.0.1", 0))
        closed = spare.getsockname()[1]
    subscribe(crm, f"http://127.0.0.1:{closed}/hook")
    crm.emulator.change("Accounts", crm.ids("Accounts")[0], {"Phone": "1"})
    assert crm.emulator.deliver_due() == 0
    assert crm.emulator.callbacks_waiting() == 1  # to be tried again in a second
    crm.clock.advance(1)
    assert crm.emulator.deliver_due() == 0
    assert crm.emulator.callbacks_waiting() == 0  # two attempts: dropped

    with Receiver(crm.clock.now, hang=0.6) as slow:
        patched = crm.patch(
            "/actions/watch", json={"watch": [{"channel_id": CHANNEL, "notify_url": slow.url}]}
        )
        assert patched.status_code == 200
        crm.emulator.change("Accounts", crm.ids("Accounts")[0], {"Phone": "2"})
        assert crm.emulator.deliver_due() == 0  # no answer within 0.2 s
        crm.clock.advance(1)
        assert crm.emulator.deliver_due() == 1
        assert len(slow.wait(2)) == 2  # the late first answer counted for nothing
        assert len(slow.attempts) == 2


def test_nothing_is_delivered_past_the_channels_expiry(crm: Crm, receiver: Receiver) -> None:
    soon = "2026-09-21T14:15:00+00:00"  # 100 s after the fake clock's start
    subscribe(crm, receiver.url, channel_expiry=soon)
    crm.emulator.change("Accounts", crm.ids("Accounts")[0], {"Phone": "1"})
    crm.clock.advance(100)
    crm.emulator.change("Accounts", crm.ids("Accounts")[0], {"Phone": "2"})

    assert crm.emulator.deliver_due() == 0
    assert receiver.attempts == []
    assert crm.emulator.callbacks_waiting() == 0


def test_a_callback_waiting_for_a_retry_dies_with_its_channel(crm: Crm) -> None:
    with Receiver(crm.clock.now, statuses=[503]) as failing:
        subscribe(crm, failing.url, channel_expiry="2026-09-21T14:13:50+00:00")  # 30 s
        crm.emulator.change("Accounts", crm.ids("Accounts")[0], {"Phone": "1"})
        for _ in range(40):
            crm.emulator.deliver_due()
            crm.clock.advance(1)
    assert len(failing.attempts) == 3  # at 0, 1 and 6 s; the one due at 36 s never went
    assert failing.got == []


def test_a_renewed_channel_keeps_delivering_and_a_disabled_one_stops(
    crm: Crm, receiver: Receiver
) -> None:
    subscribe(crm, receiver.url, channel_expiry="2026-09-21T14:15:00+00:00")
    renewed = crm.put(
        "/actions/watch",
        json={
            "watch": [
                {
                    "channel_id": CHANNEL,
                    "events": ["Accounts.all"],
                    "notify_url": receiver.url,
                    "token": TOKEN,
                    "channel_expiry": "2026-09-28T14:13:20+00:00",  # a week: the most
                }
            ]
        },
    )
    assert renewed.status_code == 200
    crm.clock.advance(3 * 86_400)
    crm.token = crm.refresh()["access_token"]
    crm.emulator.change("Accounts", crm.ids("Accounts")[0], {"Phone": "1"})
    assert crm.emulator.deliver_due() == 1

    crm.emulator.change("Accounts", crm.ids("Accounts")[0], {"Phone": "2"})
    assert crm.delete("/actions/watch", params={"channel_ids": CHANNEL}).status_code == 200
    crm.emulator.change("Accounts", crm.ids("Accounts")[0], {"Phone": "3"})
    assert crm.emulator.deliver_due() == 0
    assert [g.body["affected_fields"] for g in receiver.got] == [
        [{crm.ids("Accounts")[0]: ["Phone"]}]
    ]


def test_the_default_expiry_is_an_hour_and_a_week_is_the_most(crm: Crm, receiver: Receiver) -> None:
    subscribe(crm, receiver.url)
    listed = crm.get("/actions/watch").json()["watch"][0]
    assert listed["channel_expiry"] == "2026-09-21T15:13:20+00:00"
    longer = subscribe(crm, receiver.url, channel_expiry="2026-09-28T14:13:21+00:00")
    assert longer.json()["watch"][0]["details"]["api_name"] == "channel_expiry"
    crm.clock.advance(3600)
    crm.emulator.change("Accounts", crm.ids("Accounts")[0], {"Phone": "1"})
    assert crm.emulator.deliver_due() == 0
    assert receiver.attempts == []


@pytest.mark.parametrize(
    "url",
    [
        "http://192.0.2.1/hook",  # documentation address: refused before any connection
        "https://sync.example.test/zoho/hook",
        "http://127.0.0.1.example.test/",
        "http://[2001:db8::1]:8080/",
        "http://0.0.0.0:8000/",
    ],
)
def test_a_notify_url_off_loopback_is_refused_at_subscribe(crm: Crm, url: str) -> None:
    answer = subscribe(crm, url)

    assert answer.status_code == 400
    [refused] = answer.json()["watch"]
    assert refused["code"] == "INVALID_DATA"
    assert refused["details"] == {"api_name": "notify_url", "json_path": "$.watch[0].notify_url"}
    assert crm.get("/actions/watch").status_code == 204


@pytest.mark.parametrize(
    "url", ["http://localhost:8000/hook", "http://127.45.6.7/", "http://[::1]:9000/x"]
)
def test_loopback_notify_urls_are_taken(crm: Crm, url: str) -> None:
    assert subscribe(crm, url).status_code == 201


# ---- related records (§9 notify_on_related_action, §5 related lists) ----------------------


def test_a_deal_created_for_an_account_notifies_the_deal_and_the_account(
    crm: Crm, receiver: Receiver
) -> None:
    subscribe(crm, receiver.url, return_affected_field_values=True)
    account = crm.ids("Accounts")[0]
    made = crm.post(
        "/Deals",
        json={
            "data": [
                {"Deal_Name": "Renewal", "Stage": "Qualification", "Account_Name": {"id": account}}
            ]
        },
    )
    deal = made.json()["data"][0]["details"]["id"]

    assert crm.emulator.deliver_due() == 2
    assert [g.body for g in receiver.got] == [
        {
            "server_time": int(crm.clock.now() * 1000),
            "query_params": {},
            "module": "Deals",
            "resource_uri": "https://www.zohoapis.com/crm/v2/Deals",
            "ids": [deal],
            "operation": "insert",
            "channel_id": CHANNEL,
            "token": TOKEN,
        },
        {
            "server_time": int(crm.clock.now() * 1000),
            "query_params": {},
            "module": "Accounts",
            "resource_uri": "https://www.zohoapis.com/crm/v2/Accounts",
            "ids": [account],
            "operation": "update",
            "affected_fields": [{account: []}],
            "affected_values": [{"record_id": account, "values": {}}],
            "channel_id": CHANNEL,
            "token": TOKEN,
        },
    ]


def test_without_related_actions_the_account_hears_nothing_of_its_deal(crm: Crm) -> None:
    subscribe(crm, "http://127.0.0.1:9/hook", notify_on_related_action=False)
    account = crm.ids("Accounts")[0]
    crm.post(
        "/Deals",
        json={
            "data": [
                {"Deal_Name": "Renewal", "Stage": "Qualification", "Account_Name": {"id": account}}
            ]
        },
    )

    assert [(c["module"], c["operation"]) for c in crm.emulator.notifications()] == [
        ("Deals", "insert")
    ]


def test_a_meeting_added_to_an_account_notifies_the_account_only(crm: Crm) -> None:
    subscribe(crm, "http://127.0.0.1:9/hook", events=["Accounts.edit"])
    account = crm.ids("Accounts")[0]
    meeting = {
        "Event_Title": "Kick-off",
        "Start_DateTime": "2026-09-22T10:00:00+00:00",
        "End_DateTime": "2026-09-22T11:00:00+00:00",
        "What_Id": {"id": account},
        "$se_module": "Accounts",
    }
    assert crm.post("/Events", json={"data": [meeting]}).status_code == 201
    [callback] = crm.emulator.notifications()
    assert (callback["module"], callback["operation"], callback["ids"]) == (
        "Accounts",
        "update",
        [account],
    )
    assert callback["affected_fields"] == [{account: []}]


def test_moving_a_deal_to_another_account_notifies_both_and_deleting_it_the_last(
    crm: Crm,
) -> None:
    subscribe(crm, "http://127.0.0.1:9/hook", events=["Accounts.all"])
    first, second = crm.ids("Accounts")[:2]
    made = crm.post(
        "/Deals",
        json={
            "data": [{"Deal_Name": "Move", "Stage": "Qualification", "Account_Name": {"id": first}}]
        },
    )
    deal = made.json()["data"][0]["details"]["id"]
    crm.put(f"/Deals/{deal}", json={"data": [{"Account_Name": {"id": second}}]})
    crm.delete("/Deals", params={"ids": deal})

    assert [c["ids"] for c in crm.emulator.notifications()] == [[first], [first, second], [second]]


def test_a_channel_watching_only_account_creations_hears_nothing_of_related_records(
    crm: Crm,
) -> None:
    subscribe(crm, "http://127.0.0.1:9/hook", events=["Accounts.create"])
    crm.post(
        "/Deals",
        json={
            "data": [
                {
                    "Deal_Name": "R",
                    "Stage": "Qualification",
                    "Account_Name": {"id": crm.ids("Accounts")[0]},
                }
            ]
        },
    )
    assert crm.emulator.notifications() == []
