"""Subject profile: one subject's summary, adverse events, study drug, labs and findings."""

import streamlit as st

from dashboard.analyses import subject
from dashboard.charts.subject import subject_lab_chart
from pages._layout import page_header, show_chart, show_frame

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
st.markdown(f"**{subject.subject_summary(ctx.con, choice, ctx.blinded)}**")

st.markdown("**Adverse events**")
ae = subject.subject_adverse_events(ctx.con, choice)
show_frame(ae, "No adverse events recorded for this subject.")
st.markdown("**Study-drug administrations**")
show_frame(subject.subject_exposure(ctx.con, choice),
           "No study-drug administrations: ADEX is not in this extract or has no records for this subject.")

labs = subject.subject_labs(ctx.con, choice)
if len(labs):
    st.markdown("**Laboratory values over time** (dashed lines: adverse-event onsets; triangles: study drug given)")
    params = list(dict.fromkeys(labs["PARAMCD"]))
    default = [p for p in ("EGFR", "CREAT", "UACR", "ALT") if p in params] or params[:3]
    chosen = st.multiselect("Lab parameters", params, default=default, key="profile_params")
    for i, panel in enumerate(subject_lab_chart(labs, chosen, ae, subject.subject_dosing_days(ctx.con, choice))):
        show_chart(panel, key=f"profile_labs_{i}")
    with st.expander("All lab records"):
        show_frame(labs, "No lab records.")
findings = subject.subject_findings(ctx.con, choice)
if len(findings):
    st.markdown("**Data-quality findings for this subject**")
    show_frame(findings, "No findings.")
with st.expander("Subject-level record (ADSL)"):
    show_frame(subject.subject_demographics(ctx.con, choice), "Not in ADSL.")
