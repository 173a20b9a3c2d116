"""The sign-in gate in AppTest: nothing before sign-in, roles decide the views, lockout, idle
timeout, sign-out, DSMB_ROLE refused, the admin page, and the audit events each step writes.

The real browser (OpenID provider, local form, websocket traffic) is in test_signin_browser.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import accounts, audit, cached
from test_pages import _rendered_text as _text  # every rendered string, dataframes and options included

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")
SAMPLE = ROOT / "sample_data" / "nct04562025_unblinded"
ARMS = ["UC-MSC 1x10^6 cells/kg", "Placebo"]
PASSWORD = "correct horse battery"
USERS = {"olive": ["dsmb_open"], "carol": ["dsmb_unblinded"], "ivan": ["investigator"], "dana": ["data_manager"],
         "adam": ["admin"], "mixed": ["dsmb_unblinded", "dsmb_open"]}


@pytest.fixture(scope="module")
def accounts_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("accounts") / "accounts.json"
    for name, roles in USERS.items():
        accounts.add_user(path, name, roles, PASSWORD)
    return path


@pytest.fixture
def signed_in_env(monkeypatch, tmp_path, accounts_file) -> Path:
    """Local accounts configured; returns the audit log path."""
    monkeypatch.delenv("DSMB_ROLE", raising=False)
    monkeypatch.delenv("DSMB_AUTH_CONFIG", raising=False)
    monkeypatch.setenv("DSMB_EXTRACT", str(SAMPLE))
    monkeypatch.setenv("DSMB_ACCOUNTS", str(accounts_file))
    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv("DSMB_AUDIT", str(log))
    cached.lockout.clear()
    return log


def _sign_in(at: AppTest, user: str, password: str = PASSWORD) -> AppTest:
    at.text_input(key="signin_user").input(user)
    at.text_input(key="signin_password").input(password)
    return at.button[0].click().run()


def _events(log: Path) -> list[tuple]:
    return [(e["user"], e["role"], e["event"]) for e in audit.read_entries(log)]


def test_before_sign_in_no_trial_data(signed_in_env):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in"]
    text = _text(at)
    for secret in ARMS + ["NCT04562025", "Overview", "Adverse", "UC-MSC"]:
        assert secret not in text
    assert not at.dataframe and not at.sidebar.multiselect
    assert not signed_in_env.exists()  # nothing to record yet


def test_local_sign_in_blinded_role_sees_no_arm(signed_in_env):
    at = _sign_in(AppTest.from_file(APP, default_timeout=120).run(), "olive")
    assert not at.exception
    assert at.title[0].value == "Overview"
    text = _text(at)
    assert "BLINDED" in text and "olive" in text
    for arm in ARMS:
        assert arm not in text
    at.switch_page("pages/adverse_events.py").run()
    text = _text(at)
    for arm in ARMS:
        assert arm not in text
    events = _events(signed_in_env)
    assert events[:2] == [("olive", "dsmb_open", "sign_in"), ("olive", "dsmb_open", "page_view")]
    assert ("olive", "dsmb_open", "page_view") == events[-1]
    fingerprints = {e["fingerprint"] for e in audit.read_entries(signed_in_env) if e["event"] == "page_view"}
    assert len(fingerprints) == 1 and len(next(iter(fingerprints))) == 12
    assert audit.verify(signed_in_env).code == 0


def test_local_sign_in_unblinded_role_sees_arms(signed_in_env):
    at = _sign_in(AppTest.from_file(APP, default_timeout=120).run(), "carol")
    assert not at.exception
    at.switch_page("pages/adverse_events.py").run()
    text = _text(at)
    assert "UNBLINDED" in text and all(arm in text for arm in ARMS)


def test_multi_role_user_starts_blinded(signed_in_env):
    at = _sign_in(AppTest.from_file(APP, default_timeout=120).run(), "mixed")
    assert at.sidebar.selectbox(key="dsmb_session_role").value == "dsmb_open"
    assert all(arm not in _text(at) for arm in ARMS)
    # Choosing the closed session (AppTest reruns only the page after a widget change, so the
    # choice is made before signing in; the browser test drives the real widget).
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.session_state["dsmb_session_role"] = "dsmb_unblinded"
    at = _sign_in(at, "mixed")
    assert "UNBLINDED" in _text(at) and audit.read_entries(signed_in_env)[-1]["role"] == "dsmb_unblinded"


def test_wrong_password_five_times_locks_the_name(signed_in_env):
    at = AppTest.from_file(APP, default_timeout=60).run()
    for _ in range(5):
        at = _sign_in(at, "olive", "not the password")
        assert at.error[0].value == "Sign-in failed: unknown user name or wrong password."
    at = _sign_in(at, "olive")  # the right password, but locked
    assert "Too many failed sign-ins for this user name" in at.error[0].value
    assert at.title[0].value == "Sign in"
    assert [e["event"] for e in audit.read_entries(signed_in_env)] == \
        ["sign_in_failed"] * 5 + ["lockout", "sign_in_failed"]
    assert audit.read_entries(signed_in_env)[-1]["detail"] == {"method": "local", "reason": "locked"}


def test_sign_out_and_idle_timeout(signed_in_env):
    at = _sign_in(AppTest.from_file(APP, default_timeout=120).run(), "ivan")
    at.sidebar.button(key="dsmb_sign_out").click().run()
    assert at.title[0].value == "Sign in" and "Signed out." in _text(at)
    at = _sign_in(at, "ivan")
    assert at.title[0].value == "Overview"
    at.session_state["dsmb_last_activity"] = at.session_state["dsmb_last_activity"] - 31 * 60
    at.run()
    assert at.title[0].value == "Sign in" and "Signed out: idle for 30 minutes." in _text(at)
    signouts = [e["detail"]["reason"] for e in audit.read_entries(signed_in_env) if e["event"] == "sign_out"]
    assert signouts == ["signed out", "idle for 30 minutes"]


def test_disabled_account_is_signed_out_on_next_rerun(signed_in_env, tmp_path, monkeypatch):
    path = tmp_path / "own.json"
    accounts.add_user(path, "temp", ["investigator"], PASSWORD)
    monkeypatch.setenv("DSMB_ACCOUNTS", str(path))
    at = _sign_in(AppTest.from_file(APP, default_timeout=120).run(), "temp")
    assert at.title[0].value == "Overview"
    accounts.disable_user(path, "temp")
    at.run()
    assert at.title[0].value == "Sign in" and "account disabled" in _text(at)


def test_data_manager_sees_source_references_others_do_not(signed_in_env):
    at = _sign_in(AppTest.from_file(APP, default_timeout=120).run(), "dana")
    at.switch_page("pages/data_quality.py").run()
    assert not at.exception
    assert "Source file and row references are shown" not in _text(at)
    at = _sign_in(AppTest.from_file(APP, default_timeout=120).run(), "olive")
    at.switch_page("pages/data_quality.py").run()
    assert "Source file and row references are shown to the data-manager role only." in _text(at)


def test_admin_only_sees_users_and_audit_no_trial_data(signed_in_env, monkeypatch, tmp_path):
    monkeypatch.setenv("DSMB_EXTRACT", str(tmp_path / "not-there"))  # proves the extract is never opened
    at = _sign_in(AppTest.from_file(APP, default_timeout=120).run(), "adam")
    assert not at.exception and not at.error
    assert at.title[0].value == "Users & audit trail"
    users = at.dataframe[0].value
    assert list(users["user"]) == sorted(USERS) and "hash" not in users.columns
    assert "Exit 0:" in at.success[0].value
    log = at.dataframe[1].value
    assert list(log["event"][:2]) == ["page_view", "sign_in"] and set(log["user"]) == {"adam"}
    with pytest.raises(ValueError):
        at.switch_page("pages/overview.py").run()


def test_admin_page_reports_a_broken_chain(signed_in_env):
    at = _sign_in(AppTest.from_file(APP, default_timeout=120).run(), "adam")
    lines = signed_in_env.read_text().splitlines(keepends=True)
    signed_in_env.write_text(lines[0].replace('"adam"', '"eve"') + "".join(lines[1:]))
    at.button(key="admin_verify").click().run()
    assert at.error[0].value.startswith("Exit 1:") and "line 1" in at.error[0].value


@pytest.mark.parametrize("env,message", [
    ({"DSMB_ROLE": "unblinded"}, "DSMB_ROLE is set, but sign-in is configured"),
    ({"DSMB_AUDIT": None}, "Sign-in is configured but DSMB_AUDIT is not set"),
])
def test_misconfiguration_is_one_clear_message(signed_in_env, monkeypatch, env, message):
    for k, v in env.items():
        monkeypatch.delenv(k) if v is None else monkeypatch.setenv(k, v)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception and message in at.error[0].value
    assert not at.title and not at.text_input


def test_unwritable_audit_log_fails_closed(signed_in_env, monkeypatch, tmp_path):
    monkeypatch.setenv("DSMB_AUDIT", str(tmp_path))  # a folder: cannot be appended to
    at = _sign_in(AppTest.from_file(APP, default_timeout=60).run(), "olive")
    assert not at.exception
    assert "The audit trail cannot be written" in at.error[0].value and "is a directory" in at.error[0].value.lower()
    assert [t.value for t in at.title] == ["Sign in"] and not at.dataframe and "Overview" not in _text(at)


def test_demo_mode_says_so_on_every_page(monkeypatch):
    monkeypatch.delenv("DSMB_ACCOUNTS", raising=False)
    monkeypatch.setenv("DSMB_ROLE", "blinded")
    monkeypatch.setenv("DSMB_EXTRACT", str(SAMPLE))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert "LOCAL DEMO MODE, NO SIGN-IN" in _text(at)
    at.switch_page("pages/renal.py").run()
    assert "LOCAL DEMO MODE, NO SIGN-IN" in _text(at)


def test_oidc_claim_decides_the_role(monkeypatch, tmp_path):
    """st.user as st.login leaves it: the mapped group claim gives the role (browser flow: test_signin_browser)."""
    monkeypatch.delenv("DSMB_ROLE", raising=False)
    monkeypatch.delenv("DSMB_ACCOUNTS", raising=False)
    monkeypatch.setenv("DSMB_EXTRACT", str(SAMPLE))
    config = tmp_path / "auth.toml"
    config.write_text('[oidc]\nrole_claim = "groups"\n[oidc.role_map]\n"closed-board" = "dsmb_unblinded"\n'
                      '"open-board" = "dsmb_open"\n')
    monkeypatch.setenv("DSMB_AUTH_CONFIG", str(config))
    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv("DSMB_AUDIT", str(log))
    results = {}
    for user, groups in [("carol@example.org", ["closed-board"]), ("olive@example.org", ["open-board", "x"]),
                         ("nobody@example.org", ["dsmb_unblinded"])]:
        at = AppTest.from_file(APP, default_timeout=120)
        at.secrets["auth"] = {"redirect_uri": "http://127.0.0.1:1/oauth2callback", "cookie_secret": "x" * 32,
                              "client_id": "dsmb", "client_secret": "s",
                              "server_metadata_url": "http://127.0.0.1:1/.well-known/openid-configuration"}
        at.user = {"is_logged_in": True, "email": user, "sub": user, "groups": groups}
        at.run()
        assert not at.exception
        at.switch_page("pages/adverse_events.py").run() if at.title and at.title[0].value == "Overview" else None
        text = _text(at)
        results[user] = ("UNBLINDED" in text, any(arm in text for arm in ARMS), "has no role" in text)
    assert results == {"carol@example.org": (True, True, False), "olive@example.org": (False, False, False),
                       "nobody@example.org": (False, False, True)}
    sign_ins = [(e["user"], e["role"]) for e in audit.read_entries(log) if e["event"] == "sign_in"]
    assert sign_ins == [("carol@example.org", "dsmb_unblinded"), ("olive@example.org", "dsmb_open"),
                        ("nobody@example.org", "(no role)")]
    assert json.loads(log.read_text().splitlines()[0])["detail"] == {"method": "oidc", "claim": "groups"}


def test_download_writes_its_audit_event_when_the_file_is_built_and_refuses_without_audit(monkeypatch, tmp_path):
    """A download button's data writes the "download" event itself (the button needs no rerun,
    which could drop the deferred file before the browser fetches it)."""
    import streamlit as st

    from pages import _signin as signin

    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv("DSMB_AUDIT", str(log))
    monkeypatch.setattr(st, "session_state", {"dsmb_fingerprint": "abc123def456"})
    data = signin.audited_download("ae_overview", "csv", lambda: b"a,b\n1,2\n")
    assert not log.exists()  # nothing until the user clicks
    assert data() == b"a,b\n1,2\n"
    (entry,) = audit.read_entries(log)
    assert (entry["event"], entry["detail"]) == ("download", {"table": "ae_overview", "format": "csv"})
    assert entry["fingerprint"] == "abc123def456"

    log.unlink()
    log.mkdir()  # the audit trail cannot be written: the file is refused
    refused = signin.audited_download("ae_overview", "csv", lambda: b"a,b\n1,2\n")
    with pytest.raises(RuntimeError, match="download refused: the audit trail cannot be written"):
        refused()
