"""Adverse events: overview, incidence by SOC/PT with drill-down to subjects, the AE explorer (risk
differences; unblinded only), severity, relatedness, SAEs, time to first event and timelines."""

import streamlit as st

from dashboard.analyses import adverse_events as ae
from dashboard.charts.adverse_events import ae_explorer_chart
from dashboard.tables import NotInExtract
from pages._layout import page_header, show_chart, show_subjects_behind, show_table, subject_picker

SERIOUS = {"All": None, "Serious only": "Y", "Non-serious only": "N"}
RELATED = {"All": None, "Related only": "related", "Not related only": "not related"}
WINDOWS = {"Any time": None, "Within 24 h after an infusion (onset <= 1 day)": 1,
           "Within 7 days after an infusion": 7}
SORTS = {"Total incidence": "total", "Risk difference": "rd"}

ctx = page_header("Adverse events", "adverse_events")
try:
    choices = ae.ae_filter_choices(ctx.con, ctx.spec)
except NotInExtract as exc:
    st.info(f"Not in this extract: {exc}")
    st.stop()

with st.expander("Adverse-event filters (apply to every table and chart on this page)", expanded=True):
    c1, c2, c3 = st.columns(3)
    serious = c1.selectbox("Seriousness", list(SERIOUS), key="ae_serious")
    related = c2.selectbox("Relationship to study drug", list(RELATED), key="ae_related")
    window = c3.selectbox("Onset relative to an infusion", list(WINDOWS), key="ae_window",
                          disabled=not choices["has_infusions"],
                          help=None if choices["has_infusions"] else "No infusion dates (ADEX) in this extract.")
    c4, c5 = st.columns([1, 2])
    severities = c4.multiselect("Severity", choices["severities"], key="ae_severity", placeholder="All")
    socs = c5.multiselect("System organ class", choices["socs"], key="ae_soc", placeholder="All")
    min_pct = st.slider("Show preferred terms with incidence of at least (% of subjects, in any arm)", 0.0, 50.0,
                        0.0, 0.5, key="ae_threshold")

spec = ctx.spec.with_options(ae_serious=SERIOUS[serious], ae_related=RELATED[related],
                             ae_infusion_window=WINDOWS[window] if choices["has_infusions"] else None,
                             ae_severities=tuple(severities), ae_socs=tuple(socs), min_pct=float(min_pct))
st.caption(ae.teae_rule(ctx.con) + " " + ae.AE_COMMON_NOTE)
active = ae.describe_ae_filters(spec)
if active or min_pct:
    st.info("AE filters in use: " + "; ".join(active + ([f"PT threshold {min_pct:g}%"] if min_pct else [])))

names = ["Overview", "SOC / PT", *([] if ctx.blinded else ["Arm comparison"]), "Severity", "Serious AEs",
         "Timeline"]
tabs = dict(zip(names, st.tabs(names)))
common = ae.AE_COMMON

with tabs["Overview"]:
    overview, chosen = show_table(ctx, "ae_overview", spec, selectable=True, common=common)
    category = ae.overview_category(chosen)
    if category:
        show_subjects_behind(ctx, "ae_overview", {"category": category}, spec, key="ae_overview_subjects",
                             what=f"“{chosen.iloc[0, 0]}”")

with tabs["SOC / PT"]:
    result = show_table(ctx, "ae_by_soc_pt", spec, selectable=True, charts=ctx.blinded, common=common)
    frame, selected = result if result else (None, None)
    term = ae.selected_term(selected)
    if frame is not None and term is None:
        st.caption("Choose a row (SOC or preferred term) to list its subjects.")
    if term:
        soc, pt = term
        show_subjects_behind(ctx, "ae_by_soc_pt", {"soc": soc, "pt": pt}, spec, key="ae",
                             what=f"“{pt or soc}”")
        show_table(ctx, "ae_listing", spec.with_options(listing_soc=soc, listing_pt=pt or None),
                   key="ae_term_listing", common=common)

if not ctx.blinded:
    with tabs["Arm comparison"]:
        sort = st.radio("Sort the AE explorer by", list(SORTS), horizontal=True, key="ae_sort")
        rd = show_table(ctx, "ae_risk_difference", spec, charts=False, common=common)
        if rd is not None:
            show_chart(ae_explorer_chart(rd, sort=SORTS[sort]), key="ae_explorer")
        show_table(ctx, "ae_exposure_adjusted", spec, common=common)

with tabs["Severity"]:
    show_table(ctx, "ae_by_severity", spec, common=common)
    show_table(ctx, "ae_related_by_soc_pt", spec, common=common)

with tabs["Serious AEs"]:
    sae = show_table(ctx, "ae_serious_listing", spec, common=common)
    subject_picker(ctx, ae.listing_subjects(sae), key="ae_sae")

with tabs["Timeline"]:
    show_table(ctx, "ae_cumulative_incidence", spec, common=common)
    show_table(ctx, "ae_timeline", spec, common=common)
