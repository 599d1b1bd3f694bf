"""Zoho CRM → ServiceDesk Plus MSP against emulators served on loopback HTTP, the way the
spec runs against real systems (`${env:...}` settings, no sandbox): two specs writing one SDP,
and runs killed at random points (the emulated systems keep what they received)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from integrate_servicedesk_msp.emulator import ServiceDeskMspEmulator
from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.e2e.emulate import emulate
from tests.e2e.sdp import edited_copy

# The spec as shipped points the CRM connection at the served emulator's accounts server
# when ZOHO_ACCOUNTS_URL says where it is.

BOOKS = """\
integrate: 1
name: zoho-books-to-servicedesk-msp
connections:
  books: {plugin: files, config: {path: ./books}}
  sdp:
    plugin: servicedesk_msp
    config: {url: "${env:SDP_URL}", technician_key: "${env:SDP_TECHNICIAN_KEY}"}
flows:
  customers:
    from: books.customers
    to: sdp.accounts
    match: [[company_name, name]]
    fields: {name: company_name, city: billing_city}
"""


class Served:
    def __init__(self, crm: ZohoCrmEmulator, sdp: ServiceDeskMspEmulator):
        self.crm, self.sdp = crm, sdp
        crm_url, sdp_url = crm.serve(), sdp.serve()
        self.env = {
            "ZOHO_ACCOUNTS_URL": crm_url,
            "ZOHO_CLIENT_ID": crm.client_id,
            "ZOHO_CLIENT_SECRET": crm.client_secret,
            "ZOHO_REFRESH_TOKEN": crm.refresh_token,
            "SDP_URL": sdp_url,
            "SDP_TECHNICIAN_KEY": sdp.technician_key,
        }

    def close(self) -> None:
        self.crm.close()
        self.sdp.close()


@pytest.fixture
def served() -> Iterator[Served]:
    world = Served(ZohoCrmEmulator(seed=18), ServiceDeskMspEmulator(seed=18))
    yield world
    world.close()


def city(sdp: ServiceDeskMspEmulator, name: str) -> str:
    [account] = [a for a in sdp.records("accounts") if a["name"] == name]
    return str(account["city"])


def test_sdp_18_the_later_writer_stands_and_the_log_names_the_spec(
    cli: Any, workdir: Path, served: Served
) -> None:
    # SDP-18: the Zoho CRM spec and a Zoho Books spec both write SDP's accounts.
    served.sdp.seed("accounts", [{"name": "Acme Ltd", "city": "York"}])
    [acme] = served.crm.seed("Accounts", [{"Account_Name": "Acme Ltd", "Billing_City": "Leeds"}])
    crm_spec = edited_copy(workdir)
    (workdir / "books").mkdir()
    (workdir / "books/customers.jsonl").write_text(
        '{"id": "B1", "company_name": "Acme Ltd", "billing_city": "Bradford"}\n'
    )
    (workdir / "books.yaml").write_text(BOOKS)

    crm_run = cli("-v", "run", str(crm_spec), "--state", "crm.db", env=served.env)
    assert crm_run.exit_code == 0, crm_run.output
    assert city(served.sdp, "Acme Ltd") == "Leeds"
    books_run = cli("-v", "run", "books.yaml", "--state", "books.db", env=served.env)
    assert books_run.exit_code == 0, books_run.output
    assert city(served.sdp, "Acme Ltd") == "Bradford"  # the later run's data stands

    sdp_id = next(a["id"] for a in served.sdp.records("accounts") if a["name"] == "Acme Ltd")
    assert (
        f"zoho-crm-to-servicedesk-msp run 1 wrote: update sdp.accounts:{sdp_id} "
        f"from crm:{acme['id']} (flow accounts)" in crm_run.stderr
    )
    assert (
        f"zoho-books-to-servicedesk-msp run 1 wrote: update sdp.accounts:{sdp_id} "
        "from books:B1 (flow customers)" in books_run.stderr
    )

    served.crm.change("Accounts", acme["id"], {"Billing_City": "Halifax"})
    again = cli("-v", "run", str(crm_spec), "--state", "crm.db", env=served.env)
    assert again.exit_code == 0, again.output
    assert city(served.sdp, "Acme Ltd") == "Halifax"
    assert "zoho-crm-to-servicedesk-msp run 2 wrote: update" in again.stderr
    for secret in (served.crm.client_secret, served.sdp.technician_key):
        assert secret not in crm_run.output + books_run.output + again.output


# ---- killed at random points (ALL-6, SDP-10) --------------------------------------------

SEED = 20261122
KILLS = 10


def make_world() -> Served:
    """40 CRM accounts (30 already in SDP by name, 10 new: queued on the first run) with 3
    contacts each: a first run writes 30 account updates and 90 requesters."""
    rnd = random.Random(SEED)
    crm = ZohoCrmEmulator(seed=1, refresh_limit=100)
    sdp = ServiceDeskMspEmulator(seed=1)
    names = [f"Company {i:03d}" for i in range(40)]
    sdp.seed("accounts", [{"name": n, "city": "old"} for n in names[:30]])
    accounts = crm.seed(
        "Accounts",
        [{"Account_Name": n, "Billing_City": rnd.choice(["Leeds", "York", "Bath"])} for n in names],
    )
    crm.seed(
        "Contacts",
        [
            {
                "Last_Name": f"Person {a_i}-{c}",
                "Email": f"p{a_i}.{c}@example.com",
                "Department": rnd.choice(["Finance", "Legal", None]),
                "Account_Name": {"id": account["id"]},
            }
            for a_i, account in enumerate(accounts)
            for c in range(3)
        ],
    )
    return Served(crm, sdp)


def start(root: Path, spec: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "integrate", "run", str(spec), "--state", "state.db"],
        cwd=root,
        env={**os.environ, **env, "INTEGRATE_HOME": str(root / ".integrate")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def run_to_end(root: Path, spec: Path, env: dict[str, str]) -> None:
    process = start(root, spec, env)
    _out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err.decode()


def sdp_writes(sdp: ServiceDeskMspEmulator) -> int:
    return sum(n for kind, n in sdp.calls().items() if kind.split(":")[0] in ("create", "update"))


def sdp_data(sdp: ServiceDeskMspEmulator) -> dict[str, Any]:
    """What SDP holds, without ids and times (they differ between two worlds)."""
    accounts = sorted((a["name"], a["city"], a.get("description")) for a in sdp.records("accounts"))
    requesters = sorted(
        (
            r["email_id"],
            r["account"]["name"],
            r["site"]["name"],
            r["department"]["name"],
            r["is_vipuser"],
        )
        for r in sdp.records("requesters")
    )
    return {"accounts": accounts, "requesters": requesters}


@pytest.mark.slow
def test_sdp_10_runs_killed_at_random_points_end_with_the_data_of_an_uninterrupted_run(
    tmp_path: Path,
) -> None:
    # ALL-6, SDP-10
    clean_dir, killed_dir = tmp_path / "clean", tmp_path / "killed"
    clean_dir.mkdir()
    killed_dir.mkdir()
    clean, killed = make_world(), make_world()
    try:
        clean_spec = edited_copy(clean_dir)
        killed_spec = edited_copy(killed_dir)
        run_to_end(clean_dir, clean_spec, clean.env)
        expected = sdp_data(clean.sdp)
        assert len(expected["requesters"]) == 90

        # Kill points: after a seeded number of SDP writes (of the 120 a clean run makes),
        # spread over the whole sync; a kill can land mid-call or between a write and its
        # state commit.
        points = sorted(random.Random(SEED).sample(range(1, 110), KILLS))
        kills = 0
        for point in points:
            process = start(killed_dir, killed_spec, killed.env)
            while process.poll() is None and sdp_writes(killed.sdp) < point:
                time.sleep(0.001)
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                kills += 1
            process.wait(timeout=60)
        run_to_end(killed_dir, killed_spec, killed.env)

        assert kills == KILLS, f"only {kills} of {KILLS} runs were still running when killed"
        assert sdp_data(killed.sdp) == expected
    finally:
        clean.close()
        killed.close()


def test_emulate_serves_sdp_and_a_spec_runs_against_it(cli: Any, workdir: Path) -> None:
    with emulate("servicedesk_msp", "accounts=3", home=workdir / ".integrate") as served:
        assert served.url.startswith("http://127.0.0.1:")
        config = {"url": served.exports["SDP_URL"], "key": served.exports["SDP_TECHNICIAN_KEY"]}
        (workdir / "books").mkdir()
        (workdir / "books/customers.jsonl").write_text(
            '{"id": "B1", "company_name": "Emulated Ltd", "billing_city": "Leeds"}\n'
        )
        (workdir / "books.yaml").write_text(BOOKS)
        env = {"SDP_URL": config["url"], "SDP_TECHNICIAN_KEY": config["key"]}

        result = cli("run", "books.yaml", "--json", env=env)

        assert result.exit_code == 0, result.output
        assert '"created": 1' in result.stdout
        listing = httpx.get(
            f"{config['url']}/api/v3/accounts",
            params={"input_data": '{"list_info": {"row_count": 10}}'},
            headers={
                "Accept": "application/vnd.manageengine.sdp.v3+json",
                "authtoken": config["key"],
            },
        ).json()
        assert "Emulated Ltd" in [a["name"] for a in listing["accounts"]]
        assert len(listing["accounts"]) == 4
