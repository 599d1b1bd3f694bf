"""`integrate run --sandbox`: the spec runs against its plugins' emulators instead of the
real systems, seeded with the spec's `sandbox` demo data. The emulated systems and the
sandbox's own state store live in one folder, so consecutive sandbox commands (run, pending
resolve, run again) see one consistent world; `--fresh` starts it over."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from integrate.emulator import Emulator
from integrate.engine.runner import RunOptions, state_dir
from integrate.errors import Location, PluginError, SpecError
from integrate.model import Spec
from integrate.permissions import private_folder, tighten, tighten_tree
from integrate.plugins import Plugins
from integrate.spectest import emulated_options, plain_config, seed

READY = "sandbox.json"


def sandbox_dir(spec: Spec) -> Path:
    return state_dir() / "sandbox" / spec.name


def sandbox_state(spec: Spec) -> Path:
    return sandbox_dir(spec) / "state.db"


@contextmanager
def opened(
    spec: Spec, plugins: Plugins, *, fresh: bool = False, demo: bool = True
) -> Iterator[dict[str, Emulator]]:
    """The sandbox's emulated systems, by connection alias, to look at or change between
    sandbox commands; whatever changed is kept when the block ends. A new sandbox (or one
    started over with `fresh`) is seeded with the spec's demo data unless `demo` is False
    (tests seed their own)."""
    folder = sandbox_dir(spec)
    if fresh and folder.exists():
        shutil.rmtree(folder)
    private_folder(folder)
    known = (folder / READY).exists()
    emulators: dict[str, Emulator] = {}
    try:
        for alias, connection in spec.connections.items():
            cls = plugins.emulators.get(connection.plugin)
            if cls is None:
                raise PluginError(
                    f"plugin '{connection.plugin}' has no emulator, so connection '{alias}' cannot run in a sandbox"
                )
            config = plain_config(connection.config)
            if known:
                emulators[alias] = cls.restore(folder / alias, config)
            else:
                options = dict(spec.sandbox.options.get(alias, {})) if spec.sandbox else {}
                emulators[alias] = cls.for_connection(config, **options)
        if not known:
            if spec.sandbox is not None and demo:
                seed(
                    emulators,
                    {ref: _records(data) for ref, data in spec.sandbox.seed.items()},
                    "sandbox",
                )
            _save(folder, emulators)
            (folder / READY).write_bytes(orjson.dumps({"spec": spec.name}))
            tighten(folder / READY)
        yield emulators
        _save(folder, emulators)
    finally:
        for emulator in emulators.values():
            emulator.close()


@contextmanager
def sandboxed(
    spec: Spec, plugins: Plugins, *, fresh: bool = False, **run: Any
) -> Iterator[RunOptions]:
    """Run options that point the spec at its sandbox; the emulators keep their data in the
    sandbox folder when the block ends."""
    with opened(spec, plugins, fresh=fresh) as emulators:
        yield emulated_options(
            spec,
            emulators,
            state_path=sandbox_state(spec),
            failures_path=sandbox_dir(spec) / "failed-records.jsonl",
            **run,
        )


def _save(folder: Path, emulators: dict[str, Emulator]) -> None:
    for alias, emulator in emulators.items():
        target = folder / alias
        target.mkdir(mode=0o700, parents=True, exist_ok=True)
        emulator.save(target)
    # what the plugins' emulators wrote (with their own modes) is the user's alone too
    tighten_tree(folder)


def _records(data: tuple[dict[str, Any], ...] | Path) -> list[dict[str, Any]]:
    if isinstance(data, Path):
        return _seed_file(data)
    return [dict(r) for r in data]


def _seed_file(path: Path) -> list[dict[str, Any]]:
    """A seed file's records; a line that is not one JSON object is a spec error at its line."""
    records = []
    for number, line in enumerate(path.read_bytes().splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            where = Location(str(path), number, min(exc.pos, len(line)) + 1)
            raise SpecError.single(where, f"sandbox seed: not valid JSON ({exc.msg})") from exc
        if not isinstance(record, dict):
            raise SpecError.single(
                Location(str(path), number, 1),
                "sandbox seed: each line must hold one JSON object {...} (one record)",
            )
        records.append(record)
    return records
