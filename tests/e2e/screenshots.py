"""`make screenshots`: a PNG of each page of the operator's page, taken in headless Chromium
from `integrate serve` on the SDP sandbox, into docs/img/ (python -m tests.e2e.screenshots)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.e2e.browser import chromium, click, log_in, serving
from tests.e2e.sdp import SPEC

NAME = "zoho-crm-to-servicedesk-msp"


def main(out: Path) -> None:
    from selenium.webdriver.common.by import By

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="integrate-screens-") as folder:
        home = Path(folder) / ".integrate"
        env = {**os.environ, "INTEGRATE_HOME": str(home)}
        integrate = [sys.executable, "-m", "integrate"]
        run = [*integrate, "run", str(SPEC), "--sandbox"]
        subprocess.run([*run, "--fresh"], env=env, check=True, capture_output=True)
        with serving(SPEC, home) as url, chromium() as browser:
            browser.set_window_size(1200, 1000)

            def shot(name: str) -> None:
                browser.set_window_size(1200, 600)
                height = browser.execute_script("return document.documentElement.scrollHeight")
                browser.set_window_size(1200, max(600, min(int(height) + 40, 4000)))
                browser.save_screenshot(str(out / f"operator-{name}.png"))
                print(f"wrote {out / f'operator-{name}.png'}")

            browser.get(url)
            shot("login")
            log_in(browser, url)
            shot("index")
            base = f"{url}s/{NAME}"
            browser.get(f"{base}/pending")
            umbrella = browser.find_element(By.XPATH, "//section[contains(., 'Umbrella Corp')]")
            umbrella.find_element(By.NAME, "q").send_keys("Umbrella")
            click(browser, umbrella.find_element(By.XPATH, ".//button[text()='Search']"))
            shot("pending")
            initech = browser.find_element(By.XPATH, "//section[contains(., \"'Initech'\")]")
            click(browser, initech.find_element(By.XPATH, ".//button[text()='Create as new']"))
            shot("pending-decided")
            subprocess.run(run, env=env, check=True, capture_output=True)
            browser.get(f"{base}/pending")
            shot("pending-done")
            browser.get(f"{base}/runs")
            shot("runs")
            click(browser, browser.find_element(By.LINK_TEXT, "#1"))
            shot("run")
            browser.get(f"{base}/failures")
            shot("failures")
            browser.get(f"{base}/plan")
            click(browser, browser.find_element(By.XPATH, "//button[text()='Plan (dry run)']"))
            shot("plan")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img"))
