"""Renal function: eGFR, creatinine, UACR and 24-h protein over time, slopes, kidney endpoints, KDIGO.

Layout only: every number comes from the registered tables of ``dashboard.analyses.renal``.
"""

import streamlit as st

from dashboard import registry
from dashboard.analyses import renal
from pages._layout import get_table, open_subject, page_header, show_chart, show_table, subject_picker

ctx = page_header("Renal function", "renal")
sources = get_table(ctx, "renal_parameters")
if sources is None:
    st.stop()
st.markdown("\n".join(renal.source_notes(sources)))


def open_button(usubjid: str | None, key: str) -> None:
    """A button that opens the profile of the subject selected in a chart or a listing."""
    if usubjid and st.button(f"Open the profile of {usubjid}", key=key, type="primary"):
        open_subject(usubjid)


sections = st.tabs(["Trajectories by visit", "eGFR slope", "Kidney endpoints", "KDIGO categories", "Listings"])

# -- trajectories, one tab per parameter -------------------------------------------------------
with sections[0]:
    summary = get_table(ctx, "renal_summary_by_visit")
    values = get_table(ctx, "renal_values_by_subject")
    change = get_table(ctx, "renal_change_to_last")
    tabs = st.tabs([meta.label for meta in renal.RENAL_PARAMS.values()])
    for tab, (code, meta) in zip(tabs, renal.RENAL_PARAMS.items()):
        with tab:
            if not renal.parameter_present(sources, code):
                st.info(f"{meta.label}: not in this extract.")
                continue
            if summary is None:  # nothing in the current selection (get_table said so above)
                continue
            # Every chart is the registry's (TableSpec.charts), so the page and the packet draw the same ones.
            for i, chart in enumerate(renal.param_charts(registry.TABLES["renal_summary_by_visit"].charts, code)):
                show_chart(chart(summary), key=f"renal_mean_{code}_{i}")
            if values is not None:
                highlight = st.multiselect("Highlight subjects", renal.subject_ids(values, code), key=f"renal_hl_{code}",
                                           placeholder="Choose subjects to highlight")
                for i, chart in enumerate(renal.param_charts(registry.TABLES["renal_values_by_subject"].charts, code)):
                    event = show_chart(chart(values, highlight=highlight), key=f"renal_spaghetti_{code}_{i}",
                                       on_select=True)
                    open_button(renal.selected_subject(event), key=f"renal_open_spaghetti_{code}_{i}")
            if change is not None:
                for i, chart in enumerate(renal.param_charts(registry.TABLES["renal_change_to_last"].charts, code)):
                    event = show_chart(chart(change), key=f"renal_waterfall_{code}_{i}", on_select=True)
                    open_button(renal.selected_subject(event), key=f"renal_open_waterfall_{code}_{i}")

    show_table(ctx, "renal_summary_by_visit", charts=False, height=420)

# -- eGFR slope ----------------------------------------------------------------------------------
with sections[1]:
    slope_choice = st.radio("Slope", list(renal.SLOPE_CHOICES), horizontal=True, key="renal_slope")
    slope_spec = ctx.spec.with_options(egfr_slope_start_day=renal.SLOPE_CHOICES[slope_choice])
    st.caption(f"In use: {slope_choice}; t = days since the first dose / 365.25.")
    show_table(ctx, "egfr_slope_summary", slope_spec)
    show_table(ctx, "egfr_slope_difference", slope_spec)
    result = show_table(ctx, "egfr_slope", slope_spec, selectable=True, height=300)
    if result and result[0] is not None:
        open_button(renal.selected_row_subject(result[1]), key="renal_open_slope")

# -- kidney endpoints ----------------------------------------------------------------------------
with sections[2]:
    gap = st.number_input("Days between a decline and its confirmation (sustained decline)", min_value=1,
                          max_value=365, value=renal.CONFIRM_GAP_DAYS, step=1, key="renal_confirm_gap")
    events_spec = ctx.spec.with_options(renal_confirm_gap_days=int(gap))
    show_table(ctx, "kidney_events", events_spec)
    st.caption(f"Confirmation rule in use: a later value at least {int(gap)} days after the first, with no value "
               "in between failing the threshold; an unconfirmed last value is not an event.")
    result = show_table(ctx, "kidney_events_by_subject", events_spec, selectable=True, height=300)
    if result and result[0] is not None:
        open_button(renal.selected_row_subject(result[1]), key="renal_open_events")

# -- KDIGO ---------------------------------------------------------------------------------------
with sections[3]:
    show_table(ctx, "kdigo_grid")
    show_table(ctx, "kdigo_shift", height=420)
    show_table(ctx, "kdigo_risk_shift", height=420)

# -- listings ------------------------------------------------------------------------------------
with sections[4]:
    result = show_table(ctx, "renal_change_to_last", charts=False, selectable=True, height=320)
    if result and result[0] is not None:
        open_button(renal.selected_row_subject(result[1]), key="renal_open_change")
    with st.expander("Every renal value by subject", expanded=False):
        show_table(ctx, "renal_values_by_subject", charts=False, height=420)
        subject_picker(ctx, renal.subject_ids(values, "EGFR") or renal.subject_ids(values, "CREAT"), key="renal_values")
