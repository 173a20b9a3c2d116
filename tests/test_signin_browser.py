"""Sign-in in a real browser (headless Debian Chromium): a real OpenID provider through the real
``st.login`` flow, a local account through the form, and nothing of the trial before sign-in
(rendered text, websocket messages, HTTP responses).

The provider is panva's ``oidc-provider@9`` (OpenID-certified) under Debian's nodejs, installed
by npm into a cache folder outside the repository (benchmarks/serving.py). Without nodejs/npm, or
when npm cannot reach its registry, the OIDC test skips with the reason (fails under CI).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from benchmarks.serving import SCRIPT_IDLE_JS, Unavailable, launch_chromium, oidc_provider, oidc_secrets, serve
from dashboard import accounts, audit

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "signin"
SAMPLE = ROOT / "sample_data" / "nct04562025_unblinded"
ARMS = ["UC-MSC 1x10^6 cells/kg", "Placebo"]
TRIAL_TEXT = ARMS + ["NCT04562025", "USUBJID", "UC-MSC"]
PASSWORD = "correct horse battery"

pytestmark = pytest.mark.browser


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture
def browser(playwright):
    try:
        b = launch_chromium(playwright)
    except Unavailable as exc:
        _unavailable(str(exc))
    yield b
    b.close()


def _watch(page) -> list[str]:
    """Every websocket frame and app HTTP response body the page receives, as text."""
    seen: list[str] = []

    def on_ws(ws):
        ws.on("framereceived", lambda payload: seen.append(payload.decode("utf-8", "replace")
                                                           if isinstance(payload, bytes) else str(payload)))

    def on_response(resp):
        if "/static/" in resp.url:  # Streamlit's own JavaScript bundle
            return
        try:
            seen.append(resp.text())
        except Exception:  # noqa: BLE001 - redirects and aborted requests have no body
            pass

    page.on("websocket", on_ws)
    page.on("response", on_response)
    return seen


def _settle(page, heading: str, timeout: float = 90000) -> None:
    page.get_by_role("heading", name=heading).first.wait_for(timeout=timeout)
    page.wait_for_function(SCRIPT_IDLE_JS, timeout=timeout)
    time.sleep(1.0)


def _assert_no_trial_data(texts: list[str], where: str) -> None:
    for text in texts:
        for secret in TRIAL_TEXT:
            assert secret not in text, f"{secret!r} reached the browser {where}: {text[:200]!r}"


def _signed_in_env(tmp_path: Path, **extra) -> dict:
    return {"DSMB_EXTRACT": str(SAMPLE), "DSMB_AUDIT": str(tmp_path / "audit.jsonl"), "DSMB_ROLE": None,
            "DSMB_ACCOUNTS": None, "DSMB_AUTH_CONFIG": None, **extra}


def test_local_account_sign_in_in_the_browser(tmp_path, browser):
    path = tmp_path / "accounts.json"
    accounts.add_user(path, "olive", ["dsmb_open"], PASSWORD)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with serve(_signed_in_env(tmp_path, DSMB_ACCOUNTS=str(path)), ARTIFACTS / "streamlit-local.log") as url:
        for width, height in [(1920, 1080), (1280, 800)]:
            page = browser.new_page(viewport={"width": width, "height": height})
            seen = _watch(page)
            page.goto(url + "/renal")  # a deep link still lands on the sign-in page
            _settle(page, "Sign in")
            page.screenshot(path=str(ARTIFACTS / f"signin_local_{width}x{height}.png"))
            _assert_no_trial_data(seen + [page.inner_text("body"), page.content()], "before sign-in")
            page.close()
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        seen = _watch(page)
        page.goto(url)
        _settle(page, "Sign in")
        page.get_by_role("textbox", name="User name").fill("olive")
        page.get_by_role("textbox", name="Password").fill("wrong password here")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("Sign-in failed: unknown user name or wrong password.").wait_for(timeout=30000)
        _assert_no_trial_data(seen + [page.inner_text("body")], "after a failed sign-in")
        page.get_by_role("textbox", name="Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        _settle(page, "Overview")
        body = page.inner_text("body")
        assert "BLINDED" in body and "olive" in body and all(arm not in body for arm in ARMS)
        page.get_by_role("button", name="Sign out").click()
        _settle(page, "Sign in")
        page.close()
    events = [(e["user"], e["event"]) for e in audit.read_entries(tmp_path / "audit.jsonl")]
    assert events[0] == ("olive", "sign_in_failed") and ("olive", "sign_in") in events
    assert events[-1] == ("olive", "sign_out") and ("olive", "page_view") in events
    assert audit.verify(tmp_path / "audit.jsonl").code == 0


def _oidc_sign_in(page, issuer: str, login: str) -> None:
    page.get_by_role("button", name="Sign in with single sign-on").click()
    page.wait_for_url(re.compile(re.escape(issuer) + "/interaction/"), timeout=30000)
    page.fill('input[name="login"]', login)
    page.fill('input[name="password"]', "any")
    page.locator('button[type="submit"]').click()
    page.get_by_role("button", name="Continue").click()  # the provider's consent page


def _oidc_session(browser, url: str, issuer: str, login: str, viewport: tuple[int, int]):
    """A fresh browser context: the sign-in page (screenshot; nothing of the trial received), the
    provider's login, then the Adverse events page. Returns ``(context, page, seen)``."""
    width, height = viewport
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    seen = _watch(page)
    page.goto(url)
    _settle(page, "Sign in")
    page.screenshot(path=str(ARTIFACTS / f"signin_oidc_{width}x{height}.png"))
    _assert_no_trial_data(seen + [page.inner_text("body")], "before sign-in")
    _oidc_sign_in(page, issuer, login)
    _settle(page, "Overview")
    page.get_by_role("link", name="Adverse events", exact=True).click()
    _settle(page, "Adverse events")
    return context, page, seen


def test_openid_connect_role_claim_decides_the_view(tmp_path, browser):
    config = tmp_path / "auth.toml"
    config.write_text('[oidc]\nrole_claim = "groups"\n[oidc.role_map]\n"closed-board" = "dsmb_unblinded"\n'
                      '"open-board" = "dsmb_open"\n')
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    from benchmarks.serving import free_port

    port = free_port()
    try:
        provider = oidc_provider(port, {"carol": ["closed-board"], "olive": ["open-board", "staff"]},
                                 ARTIFACTS / "oidc-provider.log")
        issuer = provider.__enter__()
    except Unavailable as exc:
        _unavailable(str(exc))
    try:
        secrets = oidc_secrets(tmp_path / "secrets.toml", port, issuer)
        env = _signed_in_env(tmp_path, DSMB_AUTH_CONFIG=str(config))
        with serve(env, ARTIFACTS / "streamlit-oidc.log", port=port, secrets=secrets) as url:
            # The blinded open-session member.
            context, page, seen = _oidc_session(browser, url, issuer, "olive", (1920, 1080))
            body = page.inner_text("body")
            assert "BLINDED" in body and "UNBLINDED" not in body
            # Tables are drawn on a canvas, so the websocket frames (Arrow data) are checked too.
            for arm in ARMS:
                assert not any(arm in text for text in seen + [body]), f"{arm!r} reached a blinded OIDC user"
            context.close()
            # The closed-session member: arms visible; a download is recorded with its table name.
            context, page, seen = _oidc_session(browser, url, issuer, "carol", (1280, 800))
            body = page.inner_text("body")
            assert "UNBLINDED" in body and all(any(arm in text for text in seen) for arm in ARMS)
            with page.expect_download(timeout=30000) as download:
                page.locator("[data-testid=stDownloadButton] button").first.click()
            assert download.value.suggested_filename.endswith("_unblinded.csv")
            time.sleep(1.5)
            context.close()
    finally:
        provider.__exit__(None, None, None)
    entries = audit.read_entries(tmp_path / "audit.jsonl")
    sign_ins = [(e["user"], e["role"]) for e in entries if e["event"] == "sign_in"]
    assert sign_ins == [("olive@example.org", "dsmb_open"), ("carol@example.org", "dsmb_unblinded")]
    downloads = [(e["user"], e["detail"]["format"]) for e in entries if e["event"] == "download"]
    assert downloads == [("carol@example.org", "csv")]
    assert all(e["detail"].get("table") for e in entries if e["event"] == "download")
    assert audit.verify(tmp_path / "audit.jsonl").code == 0
