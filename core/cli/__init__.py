"""The `integrate` command: parse, call the library, render. Exit codes belong to exception
types (see docs/cli.md). One module per group of commands; this one holds the group itself
and what every command shares."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from integrate.errors import IntegrateError
from integrate.secrets import REDACTOR, RedactingFilter

F = TypeVar("F", bound=Callable[..., Any])

STATE_HELP = (
    "State: a file (default: the spec's `state`, else $INTEGRATE_HOME/state.db, else "
    ".integrate/state.db), or a PostgreSQL database's postgresql:// URL (docs/scaling-out.md); "
    "from $INTEGRATE_STATE when not given (a URL holds a password: keep it in the environment)."
)


class _StateLocation(click.Path):
    """A postgresql:// URL as it is; anything else a file's path, checked as before URLs were
    taken (a folder is a usage error). A URL of another scheme is refused, never made a file
    (folders named after it, its password in their names)."""

    name = "state"

    def __init__(self) -> None:
        super().__init__(dir_okay=False)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from integrate.statedb import is_url

        if is_url(value):
            return value
        scheme, sep, _ = str(value).partition("://")
        if sep and scheme and "/" not in scheme:
            self.fail(
                f"a {scheme}:// URL is not a state: give a file's path or a PostgreSQL "
                "database's postgresql:// URL",
                param,
                ctx,
            )
        return super().convert(value, param, ctx)


STATE_URL_HELP = (
    "The PostgreSQL database of the state and the queue: postgresql://user:password@host:port/db."
)


def state_option(name: str = "state", *, url_only: bool = False) -> Callable[[F], F]:
    """The `--state` option: a file's path or a postgresql:// URL, else $INTEGRATE_STATE.
    `url_only`: the workers' commands, which check it is a URL themselves."""
    if url_only:
        return click.option(
            "--state",
            name,
            envvar="INTEGRATE_STATE",
            show_envvar=True,
            metavar="URL",
            help=STATE_URL_HELP,
        )
    return click.option(
        "--state",
        name,
        type=_StateLocation(),
        envvar="INTEGRATE_STATE",
        metavar="FILE|URL",
        help=STATE_HELP,
    )


def state_options(state: str | None) -> dict[str, Any]:
    """RunOptions' keywords for a `--state` value: a file's path or a database's URL."""
    from integrate.statedb import is_url

    if is_url(state):
        return {"state_url": state}
    return {"state_path": Path(state) if state else None}


def _fail(exc: IntegrateError) -> NoReturn:
    click.echo(REDACTOR.redact(str(exc)), err=True)
    sys.exit(exc.exit_code)


def _guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn IntegrateError into a clean message and its exit code; anything else is a bug."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except IntegrateError as exc:
            _fail(exc)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs whole URLs (query strings included) at INFO: our HTTP layer logs method,
    # host and path instead, so theirs stays quiet.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="integrate-sync", prog_name="integrate")
@click.option("-v", "--verbose", count=True, help="More detail on stderr (-v info, -vv debug).")
def main(verbose: int) -> None:
    """integrate: declarative, testable, two-way record sync between systems.

    A spec (YAML) says which systems, which records, how they match and map; plugins speak
    each system's API. Start with `integrate validate spec.yaml`, then `integrate run
    spec.yaml --dry-run`.
    """
    _setup_logging(verbose)


# ---- loading helpers -------------------------------------------------------------------


def _plugins() -> Any:
    from integrate.plugins import make_plugins

    plugins = make_plugins()
    for warning in plugins.warnings:
        click.echo(f"warning: {warning}", err=True)
    return plugins


def _spec(path: str, plugins: Any, *, strict_env: bool) -> Any:
    from integrate.build import load_spec

    return load_spec(path, plugins, strict_env=strict_env)


def _state_spec(path: str) -> Any:
    """A spec loaded for its name and paths only (no plugins, no secrets needed)."""
    return _spec(path, None, strict_env=False)


def _open_state(spec: Any, state: str | None, sandbox: bool = False) -> Any:
    from integrate.engine.runner import state_path_for
    from integrate.sandbox import sandbox_state
    from integrate.state import StateStore
    from integrate.statedb import is_url

    if not sandbox and is_url(state):
        return StateStore(state, spec.name)
    path = sandbox_state(spec) if sandbox else state_path_for(spec, Path(state) if state else None)
    if not path.exists():
        how = f"integrate run {spec.path}" + (" --sandbox" if sandbox else "")
        raise IntegrateError(f"no state yet at {path}: `{how}` makes it")
    return StateStore(path, spec.name)


SANDBOX_HELP = "The sandbox's state (what `integrate run --sandbox` made), not the real one."


# ---- validate ----------------------------------------------------------------------------


# The commands register themselves on `main` when their modules are imported.
from integrate.cli import auth as _auth  # noqa: E402, F401
from integrate.cli import records as _records  # noqa: E402, F401
from integrate.cli import running as _running  # noqa: E402, F401
from integrate.cli import scheduling as _scheduling  # noqa: E402, F401
from integrate.cli import serving as _serving  # noqa: E402, F401
from integrate.cli import workers as _workers  # noqa: E402, F401
