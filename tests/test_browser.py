"""One real-browser smoke test: every page in headless Chromium, both roles (datasette style).

Starts ``streamlit run`` on a free port, waits for health, opens each page, fails on any
Streamlit exception box, and saves a screenshot per page under ``test-artifacts/``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PAGES = ["", "enrollment", "exposure", "baseline", "adverse_events", "renal", "labs", "data_quality",
         "subject_profile"]

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(params=["blinded", "unblinded"])
def server(request):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Debian chromium is not installed (.ci/run installs it)")
        pytest.skip("Debian chromium is not installed: apt-get install chromium")
    port = _free_port()
    log = ROOT / "test-artifacts" / f"streamlit-{request.param}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DSMB_ROLE": request.param}
    with open(log, "w") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"),
                                 "--server.headless", "true", "--server.port", str(port),
                                 "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env, stdout=fh, stderr=fh)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("streamlit did not become healthy:\n" + log.read_text())
        yield request.param, port, log
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_every_page_renders_in_chromium(server):
    from playwright.sync_api import sync_playwright

    role, port, log = server
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    failures = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        for name in PAGES:
            for attempt in range(3):  # a loaded CI machine can refuse a connection once
                try:
                    page.goto(f"http://127.0.0.1:{port}/{name}", wait_until="domcontentloaded")
                    break
                except Exception:  # noqa: BLE001
                    if attempt == 2:
                        raise
                    time.sleep(2)
            page.wait_for_selector('[data-testid="stApp"]')
            try:
                page.wait_for_selector("h1", timeout=45000)
                page.wait_for_function(
                    "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=45000)
            except Exception:  # noqa: BLE001 - recorded below with the screenshot
                failures.append(f"{name or 'overview'}: page did not finish rendering")
            time.sleep(1.5)
            page.screenshot(path=str(ARTIFACTS / f"{role}_{name or 'overview'}.png"), full_page=True)
            if page.locator('[data-testid="stException"]').count():
                failures.append(f"{name or 'overview'}: {page.locator('[data-testid=stException]').first.inner_text()[:300]}")
            body = page.inner_text("body")
            if role == "blinded":
                for label in ("UC-MSC 1x10^6", "Placebo"):
                    if label in body:
                        failures.append(f"{name or 'overview'}: arm label {label!r} visible in the blinded role")
        browser.close()
    assert not failures, "\n".join(failures) + "\n--- server log ---\n" + log.read_text()[-3000:]
