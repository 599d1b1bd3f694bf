"""T9: eight `integrate run` processes (eight specs, one Zoho connection's credentials, one
state file) and the access token expires mid-run: exactly one refresh call, 0 failed
records. Zoho mints at most 10 access tokens per refresh token in 10 minutes (the emulator
enforces it), so runs that each refresh alone fail. Real processes, one loopback emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.conftest import read_jsonl
from tests.plugins.zoho_crm.emulator_kit import accounts_to_files, zoho_variables

RUNS = 8


class ExpiringMidRun(ZohoCrmEmulator):
    """The emulator, with the test's hand on the clock of its tokens: every run's first API
    call (the module list) waits until all runs have made it, then every access token
    issued so far expires, and the calls go on: each run holds an expired token mid-run."""

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.tokens_at_expiry = -1
        self.gate = threading.Barrier(RUNS, action=self._expire, timeout=60)

    def _expire(self) -> None:
        self.tokens_at_expiry = self.counts["token"]
        self.expire_tokens()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.tokens_at_expiry < 0 and environ.get("PATH_INFO", "").endswith("/modules"):
            self.gate.wait()  # once: the retries after the expiry go straight through
        return super().__call__(environ, start_response)


def test_T9_eight_processes_share_one_refresh_when_the_token_expires_mid_run(
    workdir: Path,
) -> None:
    emulator = ExpiringMidRun(accounts=12, seed=9)
    url = emulator.serve()
    env = {
        **os.environ,
        "INTEGRATE_HOME": str(workdir / ".integrate"),  # one state file for all eight
        **zoho_variables(emulator.connection_config()),
    }
    for n in range(RUNS):
        spec = accounts_to_files(
            "{name: Account_Name}", name=f"crm-to-files-{n}", out=f"./out{n}", accounts_url=url
        )
        (workdir / f"spec{n}.yaml").write_text(spec)
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "integrate", "run", f"spec{n}.yaml", "--json"],
            cwd=workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(RUNS)
    ]
    try:
        outputs = [run.communicate(timeout=60) for run in runs]
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
                run.wait()
        emulator.close()

    for run, (stdout, stderr) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, stderr
        report = json.loads(stdout)
        assert report["status"] == "succeeded"
        assert sum(f["totals"]["failed"] for f in report["flows"]) == 0
    for n in range(RUNS):
        assert len(read_jsonl(workdir / f"out{n}/accounts.jsonl")) == 12
    assert emulator.tokens_at_expiry == 1  # the first run's token served all eight
    assert emulator.counts["token"] == 2  # and exactly one refresh after it expired
    lock = workdir / ".integrate/state.db.tokens.lock"
    assert oct(lock.stat().st_mode & 0o777) == "0o600"
