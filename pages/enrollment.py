"""Enrollment & disposition: accrual against target, by site, CONSORT-style flow, disposition."""

import streamlit as st

from dashboard.charts.consort import consort_dot
from pages._layout import get_table, page_header, show_table

ctx = page_header("Enrollment & disposition", "enrollment")
show_table(ctx, "enrollment_by_month")
left, right = st.columns([3, 2])
with left:
    flow = show_table(ctx, "subject_flow")
with right:
    if flow is not None:
        st.graphviz_chart(consort_dot(flow))
show_table(ctx, "disposition")
show_table(ctx, "enrollment_by_site")
