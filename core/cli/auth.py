"""`integrate auth` (the one-time OAuth authorisation-code grant) and `integrate emulate`
(a plugin's emulator on a loopback port)."""

from __future__ import annotations

import json
import os
import secrets
import shlex
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import click

from integrate.cli import _guard, _plugins, _spec, main
from integrate.errors import IntegrateError, UsageError
from integrate.secrets import REFERENCE, split_default

DEFAULT_REDIRECT = "https://localhost/integrate/oauth/callback"


@main.command()
@click.argument("spec_path", metavar="SPEC", type=click.Path(exists=True, dir_okay=False))
@click.argument("connection")
@click.option(
    "--code", help="The authorisation code, if you have it already (a Zoho self-client code)."
)
@click.option(
    "--redirect-uri",
    default=DEFAULT_REDIRECT,
    show_default=True,
    help="Registered with the OAuth client.",
)
@click.option(
    "--print-token",
    is_flag=True,
    help="Print the refresh token instead of storing it (when its reference is ${env:...}).",
)
@_guard
def auth(
    spec_path: str, connection: str, code: str | None, redirect_uri: str, print_token: bool
) -> None:
    """Authorise a connection once (OAuth authorisation-code grant), without hand-made HTTP.

    Prints the consent URL, takes the code (from --code or the prompt), exchanges it for a
    refresh token and stores that where the spec's reference points: a ${file:PATH} reference
    gets the file written (mode 0600); for ${env:NAME}, --print-token prints it for you to
    store.
    """
    from integrate.build import resolve_config
    from integrate.connector import ConnectorContext
    from integrate.oauth import MemoryTokenCache
    from integrate.secrets import Resolver

    plugins = _plugins()
    spec = _spec(spec_path, plugins, strict_env=False)
    if connection not in spec.connections:
        raise UsageError(
            f"no connection named {connection} (connections: {', '.join(spec.connections)})"
        )
    model = spec.connections[connection]
    cls = plugins.connector(model.plugin)
    field = cls.oauth_refresh_field
    if field is None:
        raise UsageError(f"plugin {model.plugin} does not authorise with OAuth")
    reference = str(model.config.get(field, ""))
    config = resolve_config(model, Resolver(base=spec.path.parent), strict=False)
    context = ConnectorContext(
        connection=connection, tokens=MemoryTokenCache(), base_dir=str(spec.path.parent)
    )
    connector = cls(config, context)
    try:
        state = secrets.token_urlsafe(16)
        if code is None:
            click.echo(
                "Open this URL, sign in as the user the integration acts as, and allow access:"
            )
            click.echo(f"\n  {connector.consent_url(redirect_uri, state)}\n")
            click.echo(
                f"You are sent to {redirect_uri}?code=...; paste the code (or the whole URL)."
            )
            code = _code_from(click.prompt("code", hide_input=True))
        answer = connector.exchange_code(code, redirect_uri)
    finally:
        connector.close()
    token = answer.get("refresh_token")
    if not token:
        raise IntegrateError(
            "the token answer had no refresh token: ask for offline access (access_type=offline)"
        )
    _store(connection, field, reference, str(token), print_token)


def _code_from(text: str) -> str:
    """A code pasted alone or inside the redirect URL."""
    if "code=" in text:
        from urllib.parse import parse_qs, urlparse

        values = parse_qs(urlparse(text.strip()).query).get("code")
        if values:
            return values[0]
    return text.strip()


def _store(connection: str, field: str, reference: str, token: str, print_token: bool) -> None:
    refs = REFERENCE.findall(reference)
    if len(refs) == 1 and refs[0][0] == "file" and not print_token:
        path = Path(refs[0][1]).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".integrate-token-")
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, token.encode() + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        click.echo(f"stored the refresh token of {connection} in {path} (mode 0600)")
        return
    if print_token:
        name = (
            split_default(*refs[0])[0] if len(refs) == 1 and refs[0][0] == "env" else field.upper()
        )
        click.echo(
            "Store this refresh token where the spec's reference points; it is shown once:",
            err=True,
        )
        click.echo(f"{name}={token}")
        return
    raise UsageError(
        f"{connection}.{field} is {reference or 'not set'}: integrate can write a ${{file:PATH}} reference itself; "
        "for ${env:NAME}, run again with --print-token and store the printed value"
    )


@main.command()
@click.argument("plugin")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Loopback address to listen on."
)
@click.option("--port", default=0, type=int, help="Port (default: any free one).")
@click.option("--seed", default=0, type=int, show_default=True, help="Seed of the generated data.")
@click.option(
    "--set",
    "options",
    multiple=True,
    metavar="NAME=VALUE",
    help="An emulator option (repeatable), e.g. accounts=1000.",
)
@_guard
def emulate(plugin: str, host: str, port: int, seed: int, options: tuple[str, ...]) -> None:
    """Serve a plugin's emulator on a loopback port until interrupted (Ctrl-C).

    Prints the URL and the connection settings that point a spec at it. Emulator options
    (data size, fault rates ...) are the emulator's own; see the plugin's docs.
    """
    from integrate.emulation import HttpEmulator

    plugins = _plugins()
    cls = plugins.emulators.get(plugin)
    if cls is None:
        raise UsageError(
            f"no emulator for {plugin} (emulators: {', '.join(sorted(plugins.emulators)) or 'none'})"
        )
    kwargs: dict[str, Any] = {"seed": seed, **cls.emulate_defaults}
    for option in options:
        name, _, value = option.partition("=")
        if not name or not _:
            raise UsageError(f"--set takes NAME=VALUE, not {option!r}")
        kwargs[name.strip()] = _value(name.strip(), value.strip())
    try:
        emulator = cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{plugin} emulator: {exc} (check the --set options)") from exc
    if not isinstance(emulator, HttpEmulator):
        raise UsageError(f"the {plugin} emulator does not speak HTTP; tests use it in process")
    url = emulator.serve(host, port)
    click.echo(f"{plugin} emulator on {url}")
    for line in _seeded(emulator, plugins.connectors.get(plugin)):
        click.echo(line)
    exports, snippet = _pointers(plugin, cls.env_prefix, emulator.connection_config())
    click.echo("Point a spec at it: in your shell (the emulator's own throwaway credentials),")
    for line in exports:
        click.echo(line)
    click.echo("and in the spec:")
    for line in snippet:
        click.echo(line)
    click.echo("Ctrl-C stops it.")
    stop = threading.Event()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.close()
        click.echo("stopped", err=True)
    sys.exit(0)


def _pointers(plugin: str, prefix: str, config: dict[str, Any]) -> tuple[list[str], list[str]]:
    """`export NAME=value` lines (quoted for the shell) for the emulator's text settings, and
    the spec's connection that reads them with ${env:NAME}; other settings (lists, numbers)
    are written in the spec as they are, since a reference is always text."""
    prefix = (prefix or plugin).upper()
    exports: list[str] = []
    snippet = ["connections:", f"  {plugin}:", f"    plugin: {plugin}", "    config:"]
    for key, value in config.items():
        if isinstance(value, str):
            name = f"{prefix}_URL" if key in ("url", "base_url") else f"{prefix}_{key.upper()}"
            exports.append(f"export {name}={shlex.quote(value)}")
            snippet.append(f"      {key}: ${{env:{name}}}")
        else:
            snippet.append(f"      {key}: {json.dumps(value)}")
    return exports, snippet


def _value(name: str, text: str) -> Any:
    """A --set value: JSON for objects, lists and quoted strings (`faults={"latency": 0.1}`),
    else a number, true/false, or the text as it is."""
    if text[:1] in ("{", "[", '"'):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(
                f"--set {name}: not valid JSON ({exc.msg}, character {exc.pos + 1}); "
                "objects and lists are JSON, e.g. --set faults='{\"latency\": 0.1}'"
            ) from exc
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def _seeded(emulator: Any, connector: Any) -> list[str]:
    """What the emulator holds at start, by object (those with records), so that a size left
    at its default is seen. A connector's known object its emulator does not hold (Zoho's
    Users) is answered with KeyError, as every emulator's `records` says so, and skipped."""
    counts = []
    for name in getattr(connector, "known_objects", ()):
        try:
            count = len(emulator.records(name))
        except KeyError:
            continue
        if count:
            counts.append(f"{count:,} {name}")
    return [f"seeded: {', '.join(counts) if counts else 'no records'}"]
