"""Notification channels for `integrate serve`: one per event flow whose `triggers` name
`webhook` and whose source plugin sends notifications. Subscribed on start (or renewed, the
one kept in the state), renewed when a tenth of its lifetime is left, its token rotated at
each renewal (the previous token stays valid for a short grace: calls already on their way)."""

from __future__ import annotations

import dataclasses
import hmac
import logging
import secrets
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from integrate.clock import Clock, utc_iso
from integrate.connector import Channel, Connector
from integrate.engine.runner import RunOptions, open_connector
from integrate.errors import IntegrateError
from integrate.ledger import EventLedger, KeptChannel
from integrate.metacache import MetadataCache, StateEntries
from integrate.model import EventFlow, Spec
from integrate.plugins import Plugins
from integrate.secrets import Resolver
from integrate.state import StateStore
from integrate.tokencache import StateTokenCache

log = logging.getLogger("integrate.serve")

DEFAULT_LIFETIME = 24 * 3600.0  # a channel's life unless `--channel-lifetime` says otherwise
RENEW_LEFT = 0.1  # renewed when this share of its lifetime is left
RETRY = 60.0  # seconds before a channel that could not be made is tried again
GRACE = 300.0  # seconds the token before a rotation is still accepted
TOKEN_LENGTH = 40  # ≥ 32 random characters (RELIABILITY §3.3), ≤ 50 (Zoho's limit)
_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Hook:
    """An event flow that takes webhooks: its spec, name, source connection and objects."""

    spec: Spec
    flow: str
    connection: str
    objects: tuple[str, ...]
    plugin: type[Connector]

    @property
    def path(self) -> str:
        """The receiver's path for this flow's calls (no secret in it)."""
        return f"/webhooks/{self.spec.name}/{self.flow}"


def hooks(spec: Spec, plugins: Plugins) -> list[Hook]:
    """The spec's enabled event flows with `webhook` among their `triggers` whose source
    plugin sends notifications (a `channel_lifetime`); the others only poll."""
    out = []
    for name, flow in spec.flows.items():
        if (
            isinstance(flow, EventFlow)
            and flow.common.enabled
            and "webhook" in flow.common.triggers
        ):
            plugin = plugins.connector(spec.connections[flow.source.connection].plugin)
            if plugin.channel_lifetime:
                out.append(Hook(spec, name, flow.source.connection, flow.source.objects, plugin))
    return out


def new_token() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(TOKEN_LENGTH))


def new_channel_id() -> str:
    """A random decimal id (vendors such as Zoho take a long integer)."""
    return str(10**17 + secrets.randbelow(9 * 10**17))


def accepts(kept: KeptChannel, token: str, at: float) -> bool:
    """Whether a call's token is the channel's (or, within the grace after a rotation, the
    one before), compared in constant time."""
    ok = hmac.compare_digest(token.encode(), kept.channel.token.encode())
    if kept.previous_token and kept.rotated_at is not None and at <= kept.rotated_at + GRACE:
        ok |= hmac.compare_digest(token.encode(), kept.previous_token.encode())
    return bool(token) and ok


class Channels:
    """The channels of every hook that can have one, kept in each integration's ledger."""

    def __init__(
        self,
        hooks: Sequence[Hook],
        ledgers: Mapping[str, EventLedger],
        options_for: Callable[[Spec], RunOptions],
        clock: Clock,
        public_url: str,
        plugins: Plugins,
        lifetime: float = DEFAULT_LIFETIME,
    ):
        self.plugins = plugins
        self.hooks = [h for h in hooks if h.plugin.channel_lifetime]
        self.ledgers = ledgers
        self.options_for = options_for
        self.clock = clock
        self.public_url = public_url.rstrip("/")
        self.lifetime = lifetime
        # the last error of each hook, said once until it changes, and when to try again
        self.failing: dict[tuple[str, str], str] = {}
        self.retry_at: dict[tuple[str, str], float] = {}

    def span(self, hook: Hook) -> float:
        return min(self.lifetime, hook.plugin.channel_lifetime or self.lifetime)

    def next_at(self) -> float | None:
        """When the next channel needs renewing (None: no channels)."""
        moments = [self._renew_at(h) for h in self.hooks]
        return min(moments) if moments else None

    def _renew_at(self, hook: Hook) -> float:
        key = (hook.spec.name, hook.flow)
        if key in self.retry_at:
            return self.retry_at[key]
        kept = self.ledgers[hook.spec.name].channel(hook.flow)
        if kept is None:
            return self.clock.now()
        return kept.channel.expires - RENEW_LEFT * self.span(hook)

    def upkeep(self) -> list[str]:
        """Subscribe or renew every channel that needs it now; what was done, one line each
        (failures too: serving goes on, and the flow is still polled)."""
        said = []
        for hook in self.hooks:
            key = (hook.spec.name, hook.flow)
            try:
                done = self.ensure(hook)
            except IntegrateError as exc:
                message = f"{hook.spec.name}: channel of {hook.flow} not made: {exc}"
                if self.failing.get(key) != message:
                    said.append(message)
                self.failing[key] = message
                self.retry_at[key] = self.clock.now() + RETRY
                continue
            self.failing.pop(key, None)
            self.retry_at.pop(key, None)
            if done:
                said.append(done)
        return said

    def ensure(self, hook: Hook) -> str:
        """Subscribe the hook's channel, or renew it when due (or its URL or objects
        changed); "" when it needs nothing now."""
        ledger = self.ledgers[hook.spec.name]
        kept = ledger.channel(hook.flow)
        at = self.clock.now()
        url = f"{self.public_url}{hook.path}"
        span = self.span(hook)
        if (
            kept is not None
            and kept.channel.expires - at > RENEW_LEFT * span
            and kept.channel.notify_url == url
            and kept.channel.objects == hook.objects
            and kept.connection == hook.connection
        ):
            return ""
        live = kept is not None and kept.channel.expires > at and kept.connection == hook.connection
        channel = Channel(
            kept.channel.id if kept is not None else new_channel_id(),
            hook.objects,
            url,
            new_token(),
            at + span,
        )
        fresh = KeptChannel(
            hook.flow,
            hook.connection,
            channel,
            previous_token=kept.channel.token if kept is not None else None,
            rotated_at=at if kept is not None else None,
        )
        # kept first: a call with the new token may come before the vendor's answer does
        ledger.keep_channel(fresh)
        try:
            granted = self._subscribe(hook, channel, renew=live)
        except BaseException:
            if kept is not None:
                ledger.keep_channel(kept)
            raise
        ledger.keep_channel(dataclasses.replace(fresh, channel=_until(channel, granted)))
        verb = "renewed" if live else "subscribed"
        return f"{hook.spec.name}: {hook.flow}: channel {verb} until {utc_iso(granted)}"

    def _subscribe(self, hook: Hook, channel: Channel, *, renew: bool) -> float:
        spec = hook.spec
        options = self.options_for(spec)
        ledger = self.ledgers[spec.name]
        store = StateStore(ledger.path, spec.name)
        try:
            resolver = options.resolver or Resolver(base=spec.path.parent)
            tokens = StateTokenCache(store)
            metadata = MetadataCache(StateEntries(store), options.clock)
            connector = open_connector(
                spec, self.plugins, options, resolver, hook.connection, tokens, metadata
            )
            try:
                if renew:
                    try:
                        return connector.subscribe(channel, renew=True)
                    except IntegrateError as exc:  # the vendor lost it: subscribed anew
                        log.info("%s: renewal refused (%s): subscribing anew", hook.flow, exc)
                return connector.subscribe(channel)
            finally:
                connector.close()
        finally:
            store.close()


def _until(channel: Channel, expires: float) -> Channel:
    return dataclasses.replace(channel, expires=expires)


__all__ = ["DEFAULT_LIFETIME", "GRACE", "Channels", "Hook", "accepts", "hooks", "new_token"]
