"""Subject profile: one subject's demographics, exposure, adverse events, labs and findings."""

import streamlit as st

from dashboard.analyses import subject
from dashboard.charts.subject import subject_lab_chart
from pages._layout import page_header, show_chart

ctx = page_header("Subject profile", "subject_profile")
ids = subject.subject_ids(ctx.con)
current = st.session_state.get("profile_usubjid")
choice = st.selectbox("Subject", ids, index=ids.index(current) if current in ids else None,
                      placeholder="Choose a subject", key="profile_select")
if choice is None:
    st.info("Choose a subject, or open one from any table's subject picker.")
    st.stop()
st.session_state["profile_usubjid"] = choice
st.subheader(f"Subject {choice}")
left, right = st.columns([1, 2])
with left:
    st.markdown("**Subject-level data (ADSL)**")
    st.dataframe(subject.subject_demographics(ctx.con, choice), hide_index=True, height=520, width="stretch")
with right:
    st.markdown("**Adverse events**")
    ae = subject.subject_adverse_events(ctx.con, choice)
    st.dataframe(ae, hide_index=True, width="stretch") if len(ae) else st.write("No adverse events recorded.")
    st.markdown("**Study-drug administrations**")
    ex = subject.subject_exposure(ctx.con, choice)
    st.dataframe(ex, hide_index=True, width="stretch") if len(ex) else st.write("ADEX: not in this extract or no records.")
labs = subject.subject_labs(ctx.con, choice)
if len(labs):
    params = list(dict.fromkeys(labs["PARAMCD"]))
    default = [p for p in ("EGFR", "CREAT", "UACR", "ALT") if p in params] or params[:3]
    chosen = st.multiselect("Lab parameters", params, default=default, key="profile_params")
    show_chart(subject_lab_chart(labs, chosen), key="profile_labs")
    with st.expander("All lab records"):
        st.dataframe(labs, hide_index=True, width="stretch")
findings = subject.subject_findings(ctx.con, choice)
if len(findings):
    st.markdown("**Data-quality findings for this subject**")
    st.dataframe(findings, hide_index=True, width="stretch")
