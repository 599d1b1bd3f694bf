"""A real browser on the operator's page: Debian's Chromium driven by Selenium through
Debian's chromedriver (no browser download), and `integrate serve SPEC --sandbox` in its
own process on a loopback port with the page's token. Used by the browser test and by
`make screenshots`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
INSTALL = "Debian's chromium and chromium-driver are needed: `make browser` installs them"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1200,900",
)
TOKEN = "operator-page-token-for-tests-0123456789"
START = 20.0  # seconds serve may take to say where its page is


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium with a fresh profile, quit at the end."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        raise AssertionError(f"{', '.join(missing)} missing: {INSTALL}")
    profile = tempfile.mkdtemp(prefix="integrate-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@contextmanager
def serving(spec: Path, home: Path, token: str = TOKEN) -> Iterator[str]:
    """`integrate serve SPEC --sandbox --port 0` with the page's token: the page's URL;
    the process is stopped (by its pid) at the end."""
    env = {**os.environ, "INTEGRATE_HOME": str(home), "INTEGRATE_UI_TOKEN": token}
    log = home.parent / "serve.log"
    with log.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "integrate", "serve", str(spec), "--sandbox", "--port", "0"],
            cwd=home.parent,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
        )
    try:
        yield _page_url(process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _page_url(process: subprocess.Popen[str], log: Path) -> str:
    deadline = time.monotonic() + START
    while time.monotonic() < deadline and process.poll() is None:
        for line in log.read_text().splitlines():
            if line.startswith("operator page on "):
                return line.split(" on ", 1)[1].strip()
        time.sleep(0.05)
    raise AssertionError(f"serve did not say where its page is within {START}s: {log.read_text()}")


def click(driver: Any, element: Any) -> None:
    """Click a link or a form's button, and wait for the page it leads to (the one shown is
    gone)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    shown = driver.find_element(By.TAG_NAME, "html")
    element.click()

    def gone(_driver: Any) -> bool:
        try:
            shown.is_enabled()
        except WebDriverException:
            # stale, or (chromedriver, mid-navigation) "Node with given id does not belong
            # to the document": either way the page shown before is gone
            return True
        return False

    WebDriverWait(driver, 15).until(gone)


def log_in(driver: Any, url: str, token: str = TOKEN) -> None:
    """The login form, filled and sent as a person would."""
    from selenium.webdriver.common.by import By

    driver.get(url)
    driver.find_element(By.NAME, "token").send_keys(token)
    click(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/ui/login'] button"))
