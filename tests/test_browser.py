"""The real-browser check (datasette style): every page, both roles, two projector sizes, two datasets.

One ``streamlit run`` server per dataset and role (the role is fixed by the deployment, so a
blinded server cannot switch), a dataset's two started at once; one test class per dataset, so
the two datasets run on different pytest-xdist workers (``--dist loadscope``); one Chromium per worker. Each page is opened once and shot at 1920x1080 and at 1280x800 (the viewport
is resized, the page is not reloaded). A page fails on:

- a Streamlit exception box or a help box (``st.help`` output, e.g. "magic" echoing an object);
- a table with at most 30 rows that shows fewer rows than it has (a fixed height hiding rows) or
  is cut on the right (scrolls sideways);
- text wider than the viewport (runs off the right edge) or cut with an ellipsis in a metric tile;
- in the blinded role, an arm label anywhere in the page text.

Screenshots go to ``test-artifacts/screenshots/<dataset>_<role>_<page>_<width>.png`` (a tab
with a problem adds ``_tab<k>``), the server logs beside them. ``DSMB_SHOTS_DIR=<folder>`` shoots
every tab into that folder instead (for before/after comparisons).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from benchmarks.serving import SCRIPT_IDLE_JS

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("DSMB_SHOTS_DIR") or ROOT / "test-artifacts" / "screenshots")
#: Every tab of every page is shot when DSMB_SHOTS_DIR is given (to look at); otherwise each page
#: once per viewport, and a tab only when it shows a problem.
ALL_SHOTS = bool(os.environ.get("DSMB_SHOTS_DIR"))
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PAGES = ["", "enrollment", "exposure", "baseline", "adverse_events", "renal", "labs", "data_quality",
         "subject_profile"]
VIEWPORTS = [(1920, 1080), (1280, 800)]
DATASETS = {"sample": ROOT / "sample_data" / "nct04562025_unblinded",
            "pilot": ROOT.parent / "shared" / "cdiscpilot01"}
ARM_LABELS = {"sample": ["UC-MSC 1x10^6", "Placebo"], "pilot": ["Xanomeline", "Placebo"]}
ROLES = ["blinded", "unblinded"]
MAX_CHECKED_ROWS = 30
MAX_SHOT_PX = 16000

pytestmark = pytest.mark.browser

# True once the script is not running and no element is a skeleton for ten polls in a row.
QUIET_JS = """(polls) => {
  const busy = !(""" + SCRIPT_IDLE_JS + """)()
    || document.querySelector('[data-testid="stSkeleton"], [data-testid="stAppSkeleton"]');
  window.__dsmbQuiet = busy ? 0 : (window.__dsmbQuiet || 0) + 1;
  return window.__dsmbQuiet >= polls;
}"""

# The first tab group of the page (its own tabs, not those nested in a panel): (-1) how many
# tabs it has, (i) click tab i.
TABS_JS = """(i) => {
  const group = document.querySelector('[data-testid="stMain"] [data-testid="stTabs"]');
  if (!group) return 0;
  const tabs = [...group.querySelectorAll('[data-testid="stTab"]')].filter(t => t.closest('[data-testid="stTabs"]') === group);
  if (i < 0) return tabs.length;
  tabs[i].click();
  return tabs.length;
}"""

# Every st.dataframe on the page: its row count and its scroller's size.
TABLES_JS = """() => [...document.querySelectorAll('[data-testid="stDataFrame"]')].map((el) => {
  // Streamlit draws rows of 2.1875rem (35 px at 16 px); the grid has no accessible row count,
  // so rows = content height / row height - the header row.
  const rowPx = Math.round(2.1875 * parseFloat(getComputedStyle(document.documentElement).fontSize));
  const sc = el.querySelector('.dvn-scroller');
  let title = '';
  for (let c = el.closest('[data-testid="stElementContainer"]'); c && !title; c = c.previousElementSibling) {
    const h = c.querySelector('h1,h2,h3,h4,[data-testid="stCaptionContainer"],[data-testid="stMarkdownContainer"]');
    if (h) title = h.innerText.slice(0, 80);
  }
  const r = el.getBoundingClientRect();
  return {rows: sc ? Math.round(sc.scrollHeight / rowPx) - 1 : -1, title,
          visible: r.width > 0 && r.height > 0,
          sh: sc ? sc.scrollHeight : 0, ch: sc ? sc.clientHeight : 0,
          sw: sc ? sc.scrollWidth : 0, cw: sc ? sc.clientWidth : 0};
})"""

# Visible text that runs past the right edge of the viewport, and metric values cut with an ellipsis.
OVERFLOW_JS = """() => {
  // Cut text is text past the right edge of the page's content column (a table scrolling
  // sideways inside it) or past the viewport.
  const block = document.querySelector('[data-testid="stMainBlockContainer"]');
  const W = Math.min(document.documentElement.clientWidth, block ? block.getBoundingClientRect().right : 1e9);
  const out = [];
  const root = document.querySelector('[data-testid="stMain"]') || document.body;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n && out.length < 5; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || el.closest('[data-testid="stDataFrame"]')
        || !el.checkVisibility({visibilityProperty: true, opacityProperty: true})) continue;
    const range = document.createRange(); range.selectNodeContents(n);
    for (const rect of range.getClientRects()) {
      if (rect.width > 0 && rect.right > W + 1) { out.push('runs off screen: ' + n.textContent.trim().slice(0, 60)); break; }
    }
  }
  for (const el of document.querySelectorAll('[data-testid="stMetricValue"] *, [data-testid="stMetricValue"]')) {
    if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).textOverflow === 'ellipsis')
      out.push('metric cut: ' + el.innerText.slice(0, 40));
  }
  return out;
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(port: int) -> bool:
    try:
        return urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok"
    except OSError:
        return False


@pytest.fixture(scope="class")
def servers(request):
    """``{(dataset, role): (port, log)}`` for the class's dataset: both roles' servers started at
    once, stopped at the end. One class per dataset, so ``--dist loadscope`` runs the sample and
    the pilot on different workers side by side."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Debian chromium is not installed (.ci/run installs it)")
        pytest.skip("Debian chromium is not installed: apt-get install chromium")
    dataset = request.cls.DATASET
    extract = DATASETS[dataset]
    if not extract.exists():
        pytest.skip(f"{extract} not found (../shared is absent)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    procs, started = [], {}
    for role in ROLES:
        port = _free_port()
        log = ARTIFACTS / f"streamlit-{dataset}-{role}.log"
        env = {**os.environ, "DSMB_ROLE": role, "DSMB_EXTRACT": str(extract)}
        with open(log, "w") as fh:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"), "--server.headless",
                 "true", "--server.port", str(port), "--browser.gatherUsageStats", "false",
                 "--server.fileWatcherType", "none"], cwd=ROOT, env=env, stdout=fh, stderr=fh))
        started[(dataset, role)] = (port, log)
    try:
        deadline = time.time() + 120
        for port, log in started.values():
            while not _healthy(port):
                if time.time() > deadline:
                    pytest.fail("streamlit did not become healthy:\n" + log.read_text())
                time.sleep(0.3)
        yield started
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _open(page, url: str) -> str | None:
    """Open ``url`` and wait until the script has finished; a problem description or None."""
    for attempt in range(3):  # a loaded CI machine can refuse a connection once
        try:
            page.goto(url, wait_until="domcontentloaded")
            break
        except Exception:  # noqa: BLE001
            if attempt == 2:
                raise
            time.sleep(2)
    try:
        page.wait_for_selector("h1", timeout=90000)
        _wait_quiet(page)
    except Exception:  # noqa: BLE001 - recorded with the screenshot
        return "page did not finish rendering"
    return None


def _wait_quiet(page, polls: int = 10) -> None:
    """Wait until the script has finished and nothing is a placeholder for ``polls`` x 100 ms."""
    page.evaluate("() => { window.__dsmbQuiet = 0; }")
    page.wait_for_function(QUIET_JS, arg=polls, polling=100, timeout=90000)


def _choose_first_subject(page) -> str | None:
    """On the subject profile, pick the first subject (every drill-down ends on this page)."""
    try:
        page.locator('[data-testid="stMain"] [data-testid="stSelectbox"]').first.click()
        page.get_by_role("option").first.click()
        page.wait_for_selector("h3", timeout=60000)
        _wait_quiet(page)
    except Exception:  # noqa: BLE001
        return "could not open a subject's profile"
    return None


def check_page(page, label: str, width: int, height: int, blinded_labels: list[str], prefix: str) -> list[str]:
    """The problems of an open page at one viewport, every tab visited; screenshots saved.

    Streamlit scrolls inside its main block and draws a grid only once it is on screen, so the
    viewport is made as tall as the content (at most ``MAX_SHOT_PX``) for the checks and the shot,
    then put back to ``width`` x ``height``.
    """
    problems = []
    count = page.evaluate(TABS_JS, -1)
    for i in range(max(count, 1)):
        page.set_viewport_size({"width": width, "height": height})
        if count:
            page.evaluate(TABS_JS, i)
        page.wait_for_timeout(300)
        tall = page.evaluate("() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
                             " return m ? m.scrollHeight : document.body.scrollHeight; }")
        page.set_viewport_size({"width": width, "height": max(height, min(int(tall), MAX_SHOT_PX))})
        _wait_quiet(page, polls=5 if i else 10)
        found = _page_problems(page, blinded_labels)
        problems += found
        if i == 0 or found or ALL_SHOTS:  # every page is shot; a tab when it has a problem (or on request)
            suffix = f"_tab{i + 1}" if i else ""
            page.screenshot(path=str(ARTIFACTS / f"{prefix}_{label}_{width}{suffix}.png"))
    page.set_viewport_size({"width": width, "height": height})
    if count:
        page.evaluate(TABS_JS, 0)
    return list(dict.fromkeys(problems))


def _page_problems(page, blinded_labels: list[str]) -> list[str]:
    problems = []
    if page.locator('[data-testid="stException"]').count():
        problems.append("exception: " + page.locator('[data-testid="stException"]').first.inner_text()[:300])
    if page.locator('[data-testid="stHelp"]').count():
        problems.append("a Streamlit help box is shown: " + page.locator('[data-testid="stHelp"]').first.inner_text()[:120])
    for t in page.evaluate(TABLES_JS):
        if not t["visible"] or t["rows"] < 0 or t["rows"] > MAX_CHECKED_ROWS:
            continue
        if t["sh"] > t["ch"] + 2:
            problems.append(f"table {t['title']!r}: {t['rows']} rows, not all visible (fixed height)")
        if t["sw"] > t["cw"] + 2:
            problems.append(f"table {t['title']!r}: cut on the right ({t['sw']} px wide in {t['cw']} px)")
    problems += page.evaluate(OVERFLOW_JS)
    if blinded_labels:
        body = page.inner_text("body")
        problems += [f"arm label {label!r} visible in the blinded role" for label in blinded_labels if label in body]
    return problems


def _check_every_page(servers, browser, dataset: str, role: str) -> None:
    port, log = servers[(dataset, role)]
    failures = []
    page = browser.new_page(viewport={"width": VIEWPORTS[0][0], "height": VIEWPORTS[0][1]})
    try:
        for name in PAGES:
            label = name or "overview"
            problem = _open(page, f"http://127.0.0.1:{port}/{name}")
            if not problem and name == "subject_profile":
                problem = _choose_first_subject(page)
            if problem:
                failures.append(f"{label}: {problem}")
            labels = ARM_LABELS[dataset] if role == "blinded" else []
            for width, height in VIEWPORTS:
                failures += [f"{label} @{width}: {p}" for p in check_page(page, label, width, height, labels,
                                                                          f"{dataset}_{role}")]
    finally:
        page.close()
    assert not failures, "\n".join(failures) + "\n--- server log ---\n" + log.read_text()[-3000:]


class TestSampleTrial:
    DATASET = "sample"

    @pytest.mark.parametrize("role", ROLES)
    def test_every_page_readable_in_chromium(self, servers, browser, role):
        _check_every_page(servers, browser, self.DATASET, role)


class TestCdiscPilot:
    DATASET = "pilot"

    @pytest.mark.parametrize("role", ROLES)
    def test_every_page_readable_in_chromium(self, servers, browser, role):
        _check_every_page(servers, browser, self.DATASET, role)
