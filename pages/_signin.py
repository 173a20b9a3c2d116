"""The sign-in gate, sign-out and the audit calls of the app (layout and session state only).

Modes, decided by the deployment:

- **OpenID Connect** when ``.streamlit/secrets.toml`` has an ``[auth]`` section (``st.login``);
  the product role comes from an ID-token claim mapped in ``DSMB_AUTH_CONFIG``.
- **Local accounts** when ``DSMB_ACCOUNTS`` names an accounts file (both can be configured).
- **Local demo mode** otherwise: no sign-in, the role is ``DSMB_ROLE`` as before, and every page
  says so.

When sign-in is configured, ``DSMB_ROLE`` is refused and ``DSMB_AUDIT`` is required; nothing from
the extract is read before a user has signed in (the extract is not even loaded).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Callable
from pathlib import Path

import streamlit as st

from dashboard import accounts, audit, auth, cached
from dashboard.blinding import Role

IDENTITY = "dsmb_identity"
LAST_ACTIVITY = "dsmb_last_activity"
NOTICE = "dsmb_signin_notice"


@dataclass(frozen=True)
class Session:
    """This browser session: who, in which product role, reading which loader role."""

    identity: auth.Identity
    product_role: str | None  # the active data role; None in demo mode or for an admin-only user
    data_role: Role | None  # None: this session may read no trial data
    audit_path: Path | None
    demo: bool

    @property
    def role_label(self) -> str:
        return self.product_role or ("admin" if self.identity.is_admin else "demo")


def _oidc_providers() -> list[str | None]:
    """Providers in ``[auth]`` of secrets.toml: None for the default one, names for ``[auth.NAME]``."""
    try:
        section = st.secrets.get("auth") if "auth" in st.secrets else None
    except Exception:  # noqa: BLE001 - no secrets file: OIDC is simply not configured
        return []
    if not section:
        return []
    providers: list[str | None] = [None] if "client_id" in section else []
    providers += [k for k, v in section.items() if hasattr(v, "keys") and "client_id" in v]
    return providers


def sign_in_configured() -> bool:
    return bool(_oidc_providers()) or accounts.configured_path() is not None


def _stop_with(message: str) -> None:
    st.error(message)
    st.stop()


AUDIT_FAILED = "dsmb_audit_failed"


def _append(path: Path, event: str, user: str, role: str | None, fingerprint: str | None, **detail) -> bool:
    """Append an audit event; on failure remember why (the next run stops: fail closed) and return False.

    Callbacks (downloads, sign-out) cannot stop the script themselves, so the gate checks the flag."""
    try:
        audit.append(path, event, user, role, fingerprint, **detail)
        return True
    except (OSError, ValueError) as exc:
        st.session_state[AUDIT_FAILED] = str(exc)
        return False


def _stop_if_audit_failed() -> None:
    failure = st.session_state.get(AUDIT_FAILED)
    if failure:
        _stop_with(f"The audit trail cannot be written ({failure}). Nothing is shown until it can be: "
                   "fix the audit log and restart the server.")


def record(event: str, stop: bool = True, **detail) -> None:
    """Append an audit event for this session (no-op in demo mode without ``DSMB_AUDIT``); when it
    cannot be written, stop here (``stop``) or, in a callback, on the next run."""
    session: Session | None = st.session_state.get("dsmb_session")
    path = session.audit_path if session else audit.configured_path()
    if path is None:
        return
    written = _append(path, event, session.identity.user if session else "",
                      session.role_label if session else None, st.session_state.get("dsmb_fingerprint"), **detail)
    if not written and stop:
        _stop_if_audit_failed()


def gate() -> Session:
    """The signed-in session, or the sign-in page (and stop). Called first by the router."""
    _stop_if_audit_failed()
    audit_path = audit.configured_path()
    if not sign_in_configured():
        try:
            role = cached.configured_role()
        except ValueError as exc:
            _stop_with(f"DSMB_ROLE cannot be used: {exc}")
        session = Session(auth.Identity(auth.DEMO_USER, (), "demo"), None, role, audit_path, True)
        st.session_state["dsmb_session"] = session
        return session
    if os.environ.get("DSMB_ROLE"):
        _stop_with("DSMB_ROLE is set, but sign-in is configured: the role comes from the signed-in account. "
                   "Unset DSMB_ROLE and restart the server.")
    if audit_path is None:
        _stop_with("Sign-in is configured but DSMB_AUDIT is not set: set it to the audit log file "
                   "(JSON Lines) and restart the server.")
    try:
        config = auth.load_config()
    except auth.AuthConfigError as exc:
        _stop_with(f"The sign-in configuration cannot be used: {exc}")
    identity = _current_identity(config, audit_path)
    if identity is None:
        st.session_state["dsmb_signin_config"] = (config, audit_path)
        st.navigation([st.Page(_sign_in_page, title="Sign in", icon=":material/login:")],
                      position="hidden").run()
        st.stop()
    st.session_state[LAST_ACTIVITY] = time.time()
    data_roles = identity.data_roles
    product_role = None
    if len(data_roles) > 1:
        product_role = st.sidebar.selectbox("Session role", data_roles, format_func=auth.ROLES.get,
                                            key="dsmb_session_role")
    elif data_roles:
        product_role = data_roles[0]
    data_role = auth.data_access(product_role) if product_role else None
    session = Session(identity, product_role, data_role, audit_path, False)
    previous = st.session_state.get("dsmb_session")
    if previous is not None and previous.product_role != product_role:
        st.session_state.pop("dsmb_last_page", None)
    st.session_state["dsmb_session"] = session
    return session


def require() -> None:
    """Pages call this (through the layout helper): a session whose sign-in ended goes back to the
    router, which shows the sign-in page. Defense in depth: the router has already checked."""
    if not sign_in_configured():
        return
    try:
        config = auth.load_config()
    except auth.AuthConfigError:
        st.stop()
    if audit.configured_path() is None or _current_identity(config, audit.configured_path()) is None:
        st.switch_page("streamlit_app.py")


def _current_identity(config: auth.AuthConfig, audit_path: Path) -> auth.Identity | None:
    identity: auth.Identity | None = st.session_state.get(IDENTITY)
    oidc_user = st.user.to_dict() if st.user.get("is_logged_in") else None
    if identity is not None:
        reason = None
        if auth.idle_expired(st.session_state.get(LAST_ACTIVITY), time.time(), config.idle_timeout_s):
            reason = f"idle for {config.idle_timeout_s / 60:g} minutes"
        elif identity.method == "local" and not accounts.is_enabled(accounts.configured_path(), identity.user):
            reason = "account disabled"
        elif identity.method == "oidc" and oidc_user is None:
            reason = "signed out at the provider"
        if reason:
            sign_out(f"Signed out: {reason}.", reason=reason)
            return None
        return identity
    if oidc_user is not None:
        user = str(oidc_user.get("email") or oidc_user.get("sub") or "unknown")
        identity = auth.Identity(user, config.roles_from_claims(oidc_user), "oidc")
        _start(identity, audit_path, claim=config.role_claim)
        return identity
    return None


def _start(identity: auth.Identity, audit_path: Path, **detail) -> None:
    if not _append(audit_path, "sign_in", identity.user, ",".join(identity.roles) or "(no role)", None,
                   method=identity.method, **detail):
        _stop_if_audit_failed()  # nobody signs in unrecorded
    st.session_state[IDENTITY] = identity
    st.session_state[LAST_ACTIVITY] = time.time()


def _sign_in_page() -> None:
    config, audit_path = st.session_state["dsmb_signin_config"]
    st.title("Sign in")
    st.write("DSMB safety review. Sign in to continue; every sign-in, page view and download is recorded.")
    notice = st.session_state.pop(NOTICE, None)
    if notice:
        st.info(notice)
    for provider in _oidc_providers():
        label = "Sign in with single sign-on" + (f" ({provider})" if provider else "")
        if st.button(label, key=f"signin_oidc_{provider or 'default'}", type="primary", icon=":material/key:"):
            st.login(provider) if provider else st.login()
    path = accounts.configured_path()
    if path is None:
        return
    with st.form("signin_local", border=True, width=520):
        name = st.text_input("User name", key="signin_user", autocomplete="username")
        password = st.text_input("Password", type="password", key="signin_password",
                                 autocomplete="current-password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        _local_sign_in(path, name.strip(), password, config, audit_path)


def _local_sign_in(path: Path, name: str, password: str, config: auth.AuthConfig, audit_path: Path) -> None:
    lockout = cached.lockout(config.max_failures, config.lockout_s)
    until = lockout.locked_until(name)
    if until is not None:
        _append(audit_path, "sign_in_failed", name, None, None, method="local", reason="locked")
        st.error(f"Too many failed sign-ins for this user name: try again after "
                 f"{time.strftime('%H:%M', time.gmtime(until))} UTC.")
        return
    try:
        identity, reason = accounts.authenticate(path, name, password)
    except accounts.AccountsError as exc:
        st.error(f"Sign-in is not possible: {exc}")
        return
    if identity is None:
        _append(audit_path, "sign_in_failed", name, None, None, method="local", reason=reason)
        if lockout.failure(name):
            _append(audit_path, "lockout", name, None, None, failures=config.max_failures,
                    minutes=round(config.lockout_s / 60, 2))
        st.error("Sign-in failed: unknown user name or wrong password.")
        return
    lockout.success(name)
    _start(identity, audit_path)
    st.rerun()


def sign_out(notice: str = "Signed out.", reason: str = "signed out") -> None:
    """End this session: audit, forget the identity, and end the provider session (OIDC)."""
    identity: auth.Identity | None = st.session_state.get(IDENTITY)
    session: Session | None = st.session_state.get("dsmb_session")
    path = audit.configured_path()
    if identity is not None and path is not None:
        _append(path, "sign_out", identity.user, session.role_label if session else None,
                st.session_state.get("dsmb_fingerprint"), reason=reason)
    for key in (IDENTITY, LAST_ACTIVITY, "dsmb_session", "dsmb_last_page", "dsmb_spec_logged", "dsmb_fingerprint",
                "dsmb_role", "dsmb_spec"):
        st.session_state.pop(key, None)
    st.session_state[NOTICE] = notice
    if identity is not None and identity.method == "oidc":
        st.logout()


def sidebar(session: Session) -> None:
    """Who is signed in and the sign-out button (every page), or the demo-mode note."""
    with st.sidebar:
        if session.demo:
            st.caption("Local demo mode, no sign-in.")
            return
        st.caption(f"Signed in: **{session.identity.user}** · {session.role_label}")
        st.button("Sign out", key="dsmb_sign_out", icon=":material/logout:", on_click=sign_out)


def demo_banner() -> None:
    """On every page in local demo mode (called by the page header)."""
    session: Session | None = st.session_state.get("dsmb_session")
    if session is None or session.demo:
        st.markdown('<div class="dsmb-banner dsmb-demo">LOCAL DEMO MODE, NO SIGN-IN &middot; the role is set by '
                    "DSMB_ROLE; configure accounts or OpenID Connect before real use</div>", unsafe_allow_html=True)


def page_viewed(page: str) -> None:
    """Record a page view once per visit (not on every rerun of the same page)."""
    if st.session_state.get("dsmb_last_page") != page:
        st.session_state["dsmb_last_page"] = page
        record("page_view", page=page)


def filters_changed(spec) -> None:
    """Record the filter when it differs from the last one recorded in this session.

    Arm selections are recorded as a count, never by label: the admin page shows the log."""
    from dataclasses import replace

    parts = replace(spec, arms=()).describe() + ([f"Arm filter: {len(spec.arms)} arm(s)"] if spec.arms else [])
    text = "; ".join(parts)
    if st.session_state.get("dsmb_spec_logged") not in (None, text):
        record("filter_change", filter=text)
    st.session_state["dsmb_spec_logged"] = text


def audited_download(table: str, fmt: str, build: Callable[[], bytes]) -> Callable[[], bytes]:
    """The deferred data of a download button: builds the file and writes the "download" audit
    event (table, format) at the moment the user clicks.

    The button then needs no rerun (``on_click="ignore"``). With a rerun, the run started by the
    click can replace the button's deferred file before the browser fetches it ("Deferred file ...
    not found" in the server log) and the download never arrives; seen under load with three
    concurrent sessions. The session's user, role and extract are read here, in the script
    thread; the returned callable runs on the server's event loop, outside the session. When the
    audit trail cannot be written the file is refused (fail closed)."""
    session: Session | None = st.session_state.get("dsmb_session")
    path = session.audit_path if session else audit.configured_path()
    user = session.identity.user if session else ""
    role = session.role_label if session else None
    fingerprint = st.session_state.get("dsmb_fingerprint")

    def data() -> bytes:
        if path is not None:
            try:
                audit.append(path, "download", user, role, fingerprint, table=table, format=fmt)
            except (OSError, ValueError) as exc:
                raise RuntimeError(f"download refused: the audit trail cannot be written ({exc})") from None
        return build()

    return data


def sees_source_refs() -> bool:
    session: Session | None = st.session_state.get("dsmb_session")
    return session is None or auth.sees_source_refs(session.product_role)


def sees_record_refs() -> bool:
    """Whether this session lists the source file and row behind an attention item: a data
    manager, in the data-manager or the unblinded view (demo mode too)."""
    session: Session | None = st.session_state.get("dsmb_session")
    return session is None or session.demo or auth.sees_record_refs(session.identity.roles)
