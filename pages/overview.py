"""Overview: data cut, provenance and validation status, headline numbers, what needs attention."""

import streamlit as st

from dashboard.analyses.overview import attention_item, key_number_metric, key_number_sources
from pages._layout import (data_cut_in_use, packet_download, page_header, page_links, show_subjects_behind, show_table,
                           study_notes, table_page)

ctx = page_header("Overview", "overview")
study = ctx.study
c1, c2, c3, c4 = st.columns(4)
c1.metric("Data cut", data_cut_in_use(ctx)[0], help=data_cut_in_use(ctx)[1].strip(" ()") or None)
c2.metric("Target enrollment", study.get("target_enrollment") or "not given")
c3.metric("Rows quarantined", ctx.report.rows_quarantined)
c4.metric("Validation status", ctx.report.status)
if study.get("title"):
    st.markdown(f"**{study['title']}**")

packet_download(ctx)
numbers, chosen = show_table(ctx, "key_numbers", selectable=True)
metric = key_number_metric(numbers, chosen)
if metric:
    # Drill down: the subjects counted in the chosen number, and the page the number comes from.
    show_subjects_behind(ctx, "key_numbers", {"metric": metric}, key="overview_subjects",
                         what=f"“{chosen['Subjects'].iloc[0]}”")
    page_links([table_page(s) for s in key_number_sources(numbers, chosen)], label="Open {title}")
attention, picked = show_table(ctx, "attention_items", selectable=True)
item = attention_item(attention, picked)
if item:
    # Drill down: the subjects (and, for a data manager, the source records) behind the chosen row.
    show_subjects_behind(ctx, "attention_items", {"item": item}, key="attention_subjects", what="this item",
                         records=True)
if attention is not None and len(attention):
    page_links(attention["page"], label="Open {title}")
with st.expander("Since the previous interim extract", expanded=True):
    show_table(ctx, "changes_since_previous")
    show_table(ctx, "new_serious_adverse_events")
    show_table(ctx, "changes_since_previous_cut")
    show_table(ctx, "record_changes")
st.page_link("pages/data_quality.py", label="Open data quality: findings traced to file, row and subject",
             icon=":material/rule:")
show_table(ctx, "validation_summary")
with st.expander("Extract provenance and load notes"):
    show_table(ctx, "extract_provenance")
    for note in study_notes(ctx):
        st.write("- " + note)
