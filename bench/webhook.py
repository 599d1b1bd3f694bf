"""How long from a webhook's POST to the start of the run it wakes (`integrate serve`'s
receiver on a loopback port, the serve loop waiting on the wall clock, the Zoho CRM emulator
in process). By hand: `.venv/bin/python bench/webhook.py [--rounds N]`."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.plugins.zoho_crm.emulator_kit import zoho_connection, zoho_variables  # noqa: E402

from integrate.build import load_spec  # noqa: E402
from integrate.clock import SystemClock  # noqa: E402
from integrate.engine import RunOptions, run_spec  # noqa: E402
from integrate.plugins import make_plugins  # noqa: E402
from integrate.schedule import Due, serve  # noqa: E402
from integrate.serving import Serving  # noqa: E402
from integrate_zoho_crm.emulator import ZohoCrmEmulator  # noqa: E402

SPEC = f"""\
integrate: 1
name: hooks
connections:
{zoho_connection(data_center="com")}
  notes: {{plugin: files, config: {{path: ./notes}}}}
flows:
  accounts:
    from: crm.Accounts
    to: notes.notes
    backfill: false
    triggers: [webhook, poll]
    events:
      - event: created
        do: create
        fields: {{subject: "record.Account_Name"}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    folder = Path(tempfile.mkdtemp(prefix="bench-webhook-"))
    os.chdir(folder)
    os.environ["INTEGRATE_HOME"] = str(folder / ".integrate")
    clock = SystemClock()
    crm = ZohoCrmEmulator(clock=clock)
    os.environ.update(zoho_variables(crm.connection_config()))
    (folder / "spec.yaml").write_text(SPEC)
    plugins = make_plugins()
    spec = load_spec("spec.yaml", plugins)

    def options(**settings: object) -> RunOptions:
        return RunOptions(transports={"crm": crm.transport()}, **settings)  # type: ignore[arg-type]

    serving = Serving([spec], plugins, lambda _s: options(), clock, port=0)
    serving.start()
    started: list[float] = []

    def execute(due: Due) -> object:
        started.append(time.monotonic())
        return run_spec(spec, plugins, options(flows=due.flows, trigger=due.trigger or "poll"))

    def run(due: Due) -> None:
        serving.run(due, execute)

    run(Due(dt.datetime.now(dt.UTC), spec, ("accounts",), trigger="poll"))
    loop = threading.Thread(
        target=serve,
        args=([spec], run, clock),
        kwargs={"woken": serving.inbox, "max_runs": rounds},
        daemon=True,
    )
    loop.start()
    delays = []
    with httpx.Client() as http:
        for n in range(rounds):
            crm.seed("Accounts", [{"Account_Name": f"Account {n}"}])
            [body] = crm.notifications()
            before = len(started)
            sent = time.monotonic()
            answer = http.post(
                f"{serving.public_url}/webhooks/hooks/accounts",
                content=orjson.dumps(body),
                headers={"Content-Type": "application/json"},
            )
            answered = time.monotonic()
            assert answer.status_code == 200, answer.text
            while len(started) == before:
                time.sleep(0.0005)
            delays.append((answered - sent, started[before] - sent))
            time.sleep(0.2)  # the run ends before the next call
    loop.join(timeout=10)
    serving.stop()
    answers = [a * 1000 for a, _ in delays]
    starts = [s * 1000 for _, s in delays]
    print(f"{rounds} webhooks on loopback:")
    print(
        f"  POST answered 200 after: median {statistics.median(answers):.1f} ms, "
        f"max {max(answers):.1f} ms"
    )
    print(
        f"  POST to run start: median {statistics.median(starts):.1f} ms, max {max(starts):.1f} ms"
    )


if __name__ == "__main__":
    main()
