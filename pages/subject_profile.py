"""Subject profile: one subject's summary, adverse events, study drug, labs and findings."""

import streamlit as st

from dashboard import cached
from dashboard.charts.subject import subject_lab_chart
from pages._layout import page_header, show_chart, show_frame

ctx = page_header("Subject profile", "subject_profile")


def view(name: str):
    """One view of the chosen subject's record, through the registry and its cache."""
    return cached.subject_view(ctx.con, ctx.fingerprint, ctx.role, name, choice)


ids = cached.subject_ids(ctx.con, ctx.fingerprint, ctx.role)
current = st.session_state.get("profile_usubjid")
choice = st.selectbox("Subject", ids, index=ids.index(current) if current in ids else None,
                      placeholder="Choose a subject", key="profile_select")
if choice is None:
    st.info("Choose a subject, or open one from any table's subject picker.")
    st.stop()
st.session_state["profile_usubjid"] = choice
st.subheader(f"Subject {choice}")
st.markdown(f"**{view('summary')}**")

st.markdown("**Adverse events**")
ae = view("adverse_events")
show_frame(ae, "No adverse events recorded for this subject.")
st.markdown("**Study-drug administrations**")
show_frame(view("exposure"),
           "No study-drug administrations: ADEX is not in this extract or has no records for this subject.")

labs = view("labs")
if len(labs):
    st.markdown("**Laboratory values over time** (dashed lines: adverse-event onsets; triangles: study drug given)")
    params = list(dict.fromkeys(labs["PARAMCD"]))
    default = [p for p in ("EGFR", "CREAT", "UACR", "ALT") if p in params] or params[:3]
    chosen = st.multiselect("Lab parameters", params, default=default, key="profile_params")
    for i, panel in enumerate(subject_lab_chart(labs, chosen, ae, view("dosing_days"))):
        show_chart(panel, key=f"profile_labs_{i}")
    with st.expander("All lab records"):
        show_frame(labs, "No lab records.")
findings = view("findings")
if len(findings):
    st.markdown("**Data-quality findings for this subject**")
    show_frame(findings, "No findings.")
with st.expander("Subject-level record (ADSL)"):
    show_frame(view("demographics"), "Not in ADSL.")
