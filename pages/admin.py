"""Administration: users (never their hashes) and the audit trail, with the chain verification.

Shows no trial data: an admin-only account has no extract loaded at all.
"""

import streamlit as st

from dashboard import accounts, audit
from pages import _signin as signin

session = st.session_state.get("dsmb_session")
if session is None or not (session.demo or session.identity.is_admin):
    st.error("This page is for administrators.")
    st.stop()
signin.require()
signin.page_viewed("admin")
signin.demo_banner()
st.title("Users & audit trail")

st.subheader("Users")
path = accounts.configured_path()
if path is None:
    st.write("No local accounts are configured (DSMB_ACCOUNTS is not set).")
else:
    try:
        users = accounts.list_users(path)
    except accounts.AccountsError as exc:
        st.error(str(exc))
    else:
        st.dataframe(users, hide_index=True, width="stretch")
        st.caption("Add or disable users with `python -m dashboard users add NAME --role ROLE` and "
                   "`python -m dashboard users disable NAME`.")

st.subheader("Audit trail")
log = session.audit_path
if log is None:
    st.write("No audit log is configured (DSMB_AUDIT is not set).")
    st.stop()
if st.button("Verify the hash chain", icon=":material/verified:", key="admin_verify") or "admin_verified" not in st.session_state:
    st.session_state["admin_verified"] = audit.verify(log)
result = st.session_state["admin_verified"]
(st.success if result.intact else st.error)(f"Exit {result.code}: {result.message}")

entries = audit.read_entries(log)
c1, c2, c3 = st.columns(3)
users_filter = c1.multiselect("User", audit.users_in(entries), key="admin_user", placeholder="All")
events_filter = c2.multiselect("Event", list(audit.EVENTS), key="admin_event", placeholder="All")
text = c3.text_input("Detail contains", key="admin_text")
shown = audit.log_table(entries, users=users_filter, events=events_filter, text=text)
st.caption(f"{len(shown)} of {len(entries)} entries, newest first.")
st.dataframe(shown, hide_index=True, width="stretch", height=480)
