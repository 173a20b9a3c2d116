"""Concurrent sessions: N signed-in browser sessions of mixed roles against one server on loopback.

Each session (its own Chromium browser context, so its own cookies and websocket) signs in with a
local account, then browses every page in the sidebar and downloads a table (the first table of
the page it is on) at the start of each round: at least one full round, then more rounds until
the given time, counted from its sign-in, is up. Prints errors (must be 0), page-time p50/p95,
downloads, and whether any blinded session received an arm label in any websocket frame or page
text; then verifies the audit chain.

    .venv/bin/python benchmarks/concurrent_sessions.py --sessions 20 --seconds 60

Page time is from the click on a sidebar link to the page's heading being shown with no script
running. The numbers depend on the machine's load; the 2-core CI machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.serving import CHROMIUM, CHROMIUM_ARGS, ROOT, SCRIPT_IDLE_JS, serve  # noqa: E402
from dashboard import accounts, audit  # noqa: E402

SAMPLE = ROOT / "sample_data" / "nct04562025_unblinded"
ARMS = ("UC-MSC 1x10^6 cells/kg", "Placebo")
PASSWORD = "correct horse battery"
#: Roles cycled over the sessions: one closed-session member for every three blinded sessions.
ROLE_CYCLE = ("dsmb_open", "investigator", "dsmb_unblinded", "data_manager")
BLINDED_ROLES = {"dsmb_open", "investigator", "data_manager"}


@dataclass
class SessionResult:
    user: str
    role: str
    page_times: list[float] = field(default_factory=list)
    sign_in_time: float | None = None
    downloads: int = 0
    errors: list[str] = field(default_factory=list)
    arm_seen: list[str] = field(default_factory=list)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def _settled(page, title: str | None, timeout_ms: float) -> None:
    if title:
        await page.get_by_role("heading", level=1, name=title).first.wait_for(timeout=timeout_ms)
    else:
        await page.locator("h1").first.wait_for(timeout=timeout_ms)
    # The script run is over (the app's own run state, not the "Running..." widget, which appears
    # only after a delay). A button clicked while the page still runs may be one of the previous
    # run's elements, whose deferred file the run has already replaced.
    await page.wait_for_function(SCRIPT_IDLE_JS, timeout=timeout_ms)


async def _session(browser, url: str, user: str, role: str, seconds: float, timeout_ms: float,
                   only: tuple[str, ...] = (), delay: float = 0.0) -> SessionResult:
    result = SessionResult(user, role)
    blinded = role in BLINDED_ROLES
    await asyncio.sleep(delay)  # sessions arrive over a few seconds, as people do
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    context.set_default_timeout(timeout_ms)
    context.set_default_navigation_timeout(timeout_ms)
    page = await context.new_page()

    def frame(payload):
        if blinded:
            text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload)
            result.arm_seen.extend(f"websocket frame has {a!r}" for a in ARMS if a in text)

    page.on("websocket", lambda ws: ws.on("framereceived", frame))
    try:
        opened = time.monotonic()
        for attempt in range(3):  # a loaded machine can refuse a connection once
            try:
                await page.goto(url, wait_until="domcontentloaded")
                break
            except Exception:  # noqa: BLE001
                if attempt == 2:
                    raise
                await asyncio.sleep(2)
        await _settled(page, "Sign in", timeout_ms)
        await page.get_by_role("textbox", name="User name").fill(user)
        await page.get_by_role("textbox", name="Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await _settled(page, "Overview", timeout_ms)
        result.sign_in_time = time.monotonic() - opened
        deadline = time.monotonic() + seconds  # browsing time, after sign-in
        links = page.locator('[data-testid="stSidebarNav"] a')
        titles = [t.strip() for t in await links.all_inner_texts()]
        titles = [t.splitlines()[-1].strip() for t in titles if t]
        titles = [t for t in titles if not only or t in only]
        if not titles:
            result.errors.append(f"{user}: no pages in the sidebar")
        rounds = 0
        while rounds == 0 or time.monotonic() < deadline:  # at least one full round, then until time is up
            downloaded = False
            for title in titles:
                if rounds and time.monotonic() >= deadline:
                    break
                start = time.monotonic()
                try:
                    await page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
                    await _settled(page, title, timeout_ms)
                except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
                    result.errors.append(f"{user} {title}: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
                    continue
                result.page_times.append(time.monotonic() - start)
                if await page.locator('[data-testid="stException"]').count():
                    result.errors.append(f"{user} {title}: exception box shown")
                if blinded:
                    body = await page.inner_text("body")
                    result.arm_seen.extend(f"{title} page text has {a!r}" for a in ARMS if a in body)
                if not downloaded:
                    downloaded = await _download(page, user, result, timeout_ms)
            rounds += 1
    except Exception as exc:  # noqa: BLE001
        result.errors.append(f"{user} sign-in: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
    finally:
        await context.close()
    return result


async def _download(page, user: str, result: SessionResult, timeout_ms: float) -> bool:
    """Download the first table of the current page (its CSV button); False when it has none."""
    # a table's CSV button, never the meeting-packet button (a PDF built on demand is not a table download)
    buttons = page.locator('[data-testid="stDownloadButton"] button', has_text="CSV")
    if not await buttons.count():
        return False
    try:
        async with page.expect_download(timeout=timeout_ms) as info:
            await buttons.first.click()
        download = await info.value
        if not download.suggested_filename.endswith((".csv", ".xlsx")):
            result.errors.append(f"{user}: unexpected download {download.suggested_filename}")
        result.downloads += 1
    except Exception as exc:  # noqa: BLE001
        result.errors.append(f"{user} download: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
    return True


async def _run_all(url: str, users: list[tuple[str, str]], seconds: float, timeout_ms: float,
                   only: tuple[str, ...], warm_up: list[tuple[str, str]]) -> list[SessionResult]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            if warm_up:  # one session over every page first: the timed sessions meet warm caches
                started = time.monotonic()
                warm = await asyncio.gather(*[_session(browser, url, u, r, 0, timeout_ms, only) for u, r in warm_up])
                print(f"warm-up sessions {', '.join(r for _, r in warm_up)} (cold caches): "
                      f"{time.monotonic() - started:.1f} s, errors {sum(len(w.errors) for w in warm)}", flush=True)
            return await asyncio.gather(*[_session(browser, url, u, r, seconds, timeout_ms, only, 0.5 * i)
                                          for i, (u, r) in enumerate(users)])
        finally:
            await browser.close()


@dataclass
class Summary:
    sessions: int
    seconds: float
    page_views: int
    downloads: int
    errors: list[str]
    p50: float
    p95: float
    sign_in_p50: float
    sign_in_max: float
    blinded_sessions: int
    arm_leaks: list[str]
    audit: audit.Verification
    audit_downloads: int

    def lines(self) -> list[str]:
        return [
            f"sessions: {self.sessions} ({self.blinded_sessions} blinded) for {self.seconds:.0f} s",
            f"page views: {self.page_views}, downloads: {self.downloads}",
            f"errors: {len(self.errors)}",
            *[f"  {e}" for e in self.errors[:20]],
            f"page time p50: {self.p50:.2f} s, p95: {self.p95:.2f} s",
            f"open + sign in + first page: p50 {self.sign_in_p50:.1f} s, max {self.sign_in_max:.1f} s",
            f"blinded sessions that received an arm label: {len({x.split()[0] for x in self.arm_leaks})}",
            *[f"  {x}" for x in self.arm_leaks[:10]],
            f"audit: exit {self.audit.code}: {self.audit.message}; download events {self.audit_downloads}",
        ]


def run(sessions: int = 20, seconds: float = 60, workdir: Path | None = None, timeout_s: float = 90,
        pages: tuple[str, ...] = (), roles: tuple[str, ...] = ROLE_CYCLE, warm: bool = True) -> Summary:
    """Start a server with ``sessions`` local accounts, run the sessions, return the summary.

    ``pages`` limits the sidebar pages browsed (by title; all when empty); ``roles`` are cycled
    over the sessions. With ``warm`` two extra sessions (one per loader role) browse every page
    first, not counted in the figures (their downloads are in the audit count), so the figures are
    for warm caches: the first sign-in after a start loads the extract once per role."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="dsmb-sessions-"))
    path, log = workdir / "accounts.json", workdir / "audit.jsonl"
    users = [(f"user{i:02d}", roles[i % len(roles)]) for i in range(sessions)]
    warm_up = [("warmup1", "dsmb_unblinded"), ("warmup2", "dsmb_open")] if warm else []
    for name, role in users + warm_up:
        accounts.add_user(path, name, [role], PASSWORD)
    env = {"DSMB_EXTRACT": str(SAMPLE), "DSMB_ACCOUNTS": str(path), "DSMB_AUDIT": str(log), "DSMB_ROLE": None,
           "DSMB_AUTH_CONFIG": None}
    with serve(env, workdir / "streamlit.log") as url:
        results = asyncio.run(_run_all(url, users, seconds, timeout_s * 1000, tuple(pages),
                                       warm_up))
    times = [t for r in results for t in r.page_times]
    sign_ins = [r.sign_in_time for r in results if r.sign_in_time is not None]
    entries = audit.read_entries(log)
    return Summary(
        sessions=sessions, seconds=seconds, page_views=len(times), downloads=sum(r.downloads for r in results),
        errors=[e for r in results for e in r.errors], p50=_percentile(times, 0.5), p95=_percentile(times, 0.95),
        sign_in_p50=_percentile(sign_ins, 0.5), sign_in_max=max(sign_ins, default=float("nan")),
        blinded_sessions=sum(r.role in BLINDED_ROLES for r in results),
        arm_leaks=[f"{r.user} {x}" for r in results for x in r.arm_seen],
        audit=audit.verify(log), audit_downloads=sum(e["event"] == "download" for e in entries))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workdir", type=Path, default=None, help="keep accounts, audit log and server log here")
    parser.add_argument("--cold", action="store_true", help="no warm-up session: time a cold start too")
    parser.add_argument("--timeout", type=float, default=180, help="seconds one step may take before it is an error")
    args = parser.parse_args(argv)
    summary = run(args.sessions, args.seconds, args.workdir, args.timeout, warm=not args.cold)
    print("\n".join(summary.lines()))
    return 0 if not summary.errors and not summary.arm_leaks and summary.audit.intact else 1


if __name__ == "__main__":
    sys.exit(main())
