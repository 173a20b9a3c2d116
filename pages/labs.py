"""Lab shifts & liver: every parameter's shifts from baseline, CTCAE grades, values by visit, eDISH and
Hy's law, and the listing of abnormal values, each with a way to the subject profile.

Layout only: every number comes from the registry (``dashboard.analyses.labs``).
"""

import streamlit as st

from dashboard import registry
from dashboard.analyses import labs
from pages._layout import get_table, open_subject, page_header, show_chart, show_table

ALL_GROUPS = "All groups"
SCOPES = ("Selected parameter", "Selected group", "All parameters")
DIRECTIONS = {"Highest post-baseline (x ULN)": "high", "Lowest post-baseline (x LLN)": "low"}
EDISH_X = {"ALT": "ALT", "AST": "AST", "The higher of ALT and AST": "ALT_OR_AST"}
ALT_RULES = {">= 3 x ULN (FDA guidance)": "ge", "> 3 x ULN": "gt"}


def _open_from(selection, column: str = "usubjid") -> None:
    """Open the subject profile of a clicked point or a selected row."""
    usubjid = labs.subject_from_selection(selection, column)
    if usubjid:
        open_subject(usubjid)


ctx = page_header("Lab shifts & liver", "labs")
catalogue = get_table(ctx, "lab_parameters")
if catalogue is None:
    st.stop()

groups = labs.parameter_groups(catalogue)
c1, c2 = st.columns([1, 2])
group = c1.selectbox("Parameter group", [ALL_GROUPS, *groups], key="lab_group")
choices = labs.parameter_choices(catalogue, None if group == ALL_GROUPS else group)
code = c2.selectbox("Parameter", list(choices), format_func=choices.get, key="lab_param")
if code is None:
    st.stop()
group_codes = tuple(choices)
param_spec = ctx.spec.with_options(lab_params=(code,))
group_spec = ctx.spec.with_options(lab_params=() if group == ALL_GROUPS else group_codes)

scan, detail, ctcae, liver, listing, catalogue_tab = st.tabs(
    ["Shift scan", "Selected parameter", "CTCAE grades", "Liver: eDISH & Hy's law", "Abnormal values",
     "Parameters"])

with scan:
    show_table(ctx, "lab_shift_summary", group_spec, height=520)

with detail:
    by_visit = st.toggle("Shift table per visit (instead of worst post-baseline)", key="lab_by_visit")
    show_table(ctx, "lab_shift", param_spec.with_options(lab_shift_by_visit=by_visit), height=420,
               charts=not by_visit)
    st.subheader("Baseline against post-baseline, per subject")
    direction = st.radio("Plot", list(DIRECTIONS), horizontal=True, key="lab_shift_direction")
    subjects = get_table(ctx, "lab_shift_subjects", param_spec)
    if subjects is not None:
        st.caption("Each point is a subject; the dashed line is no change, the red lines the reference limit. "
                   "Click a point to open the subject's profile.")
        # Charts are the registry entries' (TableSpec.charts), as in the packet.
        shift_plot = registry.TABLES["lab_shift_subjects"].charts[0]
        _open_from(show_chart(shift_plot(subjects, direction=DIRECTIONS[direction]), key="lab_shift_plot",
                              on_select=True))
    st.subheader("Values by visit")
    values = get_table(ctx, "lab_values_by_visit", param_spec)
    if values is not None:
        st.caption("Boxes: quartiles and median; whiskers: 1.5 x IQR; points: outliers. Click a point to open the "
                   "subject's profile.")
        _open_from(show_chart(registry.TABLES["lab_values_by_visit"].charts[0](values), key="lab_box", on_select=True))
    show_table(ctx, "lab_summary_by_visit", param_spec, height=420)

with ctcae:
    scope = st.radio("Parameters", SCOPES, horizontal=True, key="lab_ctcae_scope")
    ctcae_spec = {SCOPES[0]: param_spec, SCOPES[1]: group_spec,
                  SCOPES[2]: ctx.spec.with_options(lab_params=())}[scope]
    show_table(ctx, "lab_ctcae_shift", ctcae_spec, height=520)

with liver:
    l1, l2, l3 = st.columns(3)
    x_axis = l1.selectbox("eDISH x axis", list(EDISH_X), key="lab_edish_x")
    rule = l2.selectbox("ALT/AST elevated when", list(ALT_RULES), key="lab_hy_rule")
    window = l3.number_input("Bilirubin within (days of the ALT/AST draw)", min_value=0, max_value=180, value=30,
                             step=1, key="lab_hy_window")
    liver_spec = ctx.spec.with_options(lab_edish_x=EDISH_X[x_axis], lab_hy_alt_rule=ALT_RULES[rule],
                                       lab_hy_window_days=int(window))
    st.caption(labs.options_in_use(liver_spec))
    edish = get_table(ctx, "edish_subjects", liver_spec)
    if edish is not None:
        st.caption("Click a point to open the subject's profile.")
        _open_from(show_chart(registry.TABLES["edish_subjects"].charts[0](edish), key="lab_edish", on_select=True))
    show_table(ctx, "edish_quadrants", liver_spec)
    result = show_table(ctx, "hys_law_candidates", liver_spec, selectable=True)
    if result and result[1] is not None:
        st.caption("Select a row to open the subject's profile.")
        _open_from(result[1], "Subject")
    with st.expander("Peak values per subject (eDISH data)"):
        result = show_table(ctx, "edish_subjects", liver_spec, charts=False, selectable=True, height=360)
        if result and result[1] is not None:
            _open_from(result[1], "Subject")

with listing:
    l1, l2 = st.columns([2, 1])
    scope = l1.radio("Parameters", SCOPES, horizontal=True, key="lab_listing_scope")
    with_baseline = l2.checkbox("Include baseline values", key="lab_listing_baseline")
    listing_spec = {SCOPES[0]: param_spec, SCOPES[1]: group_spec,
                    SCOPES[2]: ctx.spec.with_options(lab_params=())}[scope]
    result = show_table(ctx, "lab_abnormal_listing", listing_spec.with_options(lab_listing_baseline=with_baseline),
                        selectable=True, height=520)
    if result and result[1] is not None:
        st.caption("Select a row to open the subject's profile.")
        _open_from(result[1], "Subject")

with catalogue_tab:
    show_table(ctx, "lab_parameters", key="lab_catalogue")
