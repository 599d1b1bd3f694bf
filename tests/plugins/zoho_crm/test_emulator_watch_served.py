"""End to end on real sockets and the real clock: the connector subscribes a channel on a
served emulator, a record changes, the emulator's own delivery thread POSTs the callback to a
loopback receiver (retrying a failure after a short, configured delay), and the connector's
`notice()` reads what arrived; a renewed channel carries its new token, an ended one nothing."""

from __future__ import annotations

import dataclasses
import hashlib
import time

from integrate import Channel, ConnectorContext, Notice
from integrate.oauth import MemoryTokenCache
from integrate_zoho_crm import ZohoCrmConnector
from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.plugins.zoho_crm.watch_receiver import Receiver


def test_a_subscribed_channel_gets_real_posts_that_notice_reads() -> None:
    token, rotated = "a" * 40, "b" * 40
    with (
        ZohoCrmEmulator(accounts=2, callback_retries=(0.05,), callback_timeout=1) as emulator,
        Receiver(statuses=[500, 200]) as receiver,
    ):
        emulator.serve()
        context = ConnectorContext(connection="crm", tokens=MemoryTokenCache())
        connector = ZohoCrmConnector(emulator.connection_config(), context)
        url = f"{receiver.url}/webhooks/zoho-to-files/accounts"
        channel = Channel("1000000068001", ("Accounts", "Deals"), url, token, time.time() + 600)

        granted = connector.subscribe(channel)
        account = emulator.records("Accounts")[0]["id"]
        emulator.change("Accounts", account, {"Phone": "+44 1"})
        [first] = receiver.wait(1)

        assert granted == int(channel.expires)
        assert first.path == "/webhooks/zoho-to-files/accounts"
        assert len(receiver.attempts) == 2  # answered 500 first, delivered on the retry
        assert ZohoCrmConnector.notice(first.raw, first.content_type) == Notice(
            channel_id="1000000068001",
            token=token,
            object="Accounts",
            operation="updated",
            ids=(account,),
            key=hashlib.sha256(first.raw).hexdigest(),
        )

        renewed = dataclasses.replace(channel, token=rotated, expires=channel.expires + 3600)
        connector.subscribe(renewed, renew=True)
        emulator.seed(
            "Deals",
            [{"Deal_Name": "New", "Stage": "Qualification", "Account_Name": {"id": account}}],
        )
        _, deal, parent = receiver.wait(3)
        deal_notice = ZohoCrmConnector.notice(deal.raw, deal.content_type)
        parent_notice = ZohoCrmConnector.notice(parent.raw, parent.content_type)

        assert (deal_notice.object, deal_notice.operation, deal_notice.token) == (
            "Deals",
            "created",
            rotated,
        )
        assert (parent_notice.object, parent_notice.operation, parent_notice.ids) == (
            "Accounts",
            "updated",
            (account,),
        )

        # the receiver has the parent's POST before the emulator has its answer: wait
        # (bounded) for that delivery to be booked, so only the change below can be waiting
        booked = time.monotonic() + 3
        while emulator.callbacks_waiting() and time.monotonic() < booked:
            time.sleep(0.01)
        connector.unsubscribe(["1000000068001"])
        emulator.change("Accounts", account, {"Phone": "+44 2"})
        assert emulator.callbacks_waiting() == 0
        assert len(receiver.got) == 3
