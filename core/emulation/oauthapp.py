"""`OAuthEmulator`: the base of HTTP emulators whose vendor's API takes OAuth 2 tokens. It
holds the vendor's `AuthorisationServer` as `oauth` and hands out its registered client: the
credentials a connection needs, and the means to make every token expire."""

from __future__ import annotations

from integrate.emulation.app import HttpEmulator
from integrate.emulation.oauth import AuthorisationServer


class OAuthEmulator(HttpEmulator):
    """An `HttpEmulator` with an authorisation server. The subclass makes `self.oauth` in
    its constructor and routes its accounts paths to it."""

    oauth: AuthorisationServer

    @property
    def client_id(self) -> str:
        return self.oauth.client_id

    @property
    def client_secret(self) -> str:
        return self.oauth.client_secret

    @property
    def refresh_token(self) -> str:
        return self.oauth.refresh_token

    def credentials(self) -> dict[str, str]:
        """The registered client for a connection's config: client id, secret and refresh
        token, and, once served, `accounts_url` (served at the emulator's own address)."""
        found = {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
        }
        if self.served_url:
            found["accounts_url"] = self.served_url
        return found

    def expire_tokens(self) -> None:
        """Every access token issued so far stops working now."""
        with self.lock:
            self.oauth.expire_all()
