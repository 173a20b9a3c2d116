"""Data quality: validation status, every finding traced to file/row/subject, provenance, blinding."""

from pages._layout import page_header, show_table, subject_picker

ctx = page_header("Data quality", "data_quality")
show_table(ctx, "validation_summary")
show_table(ctx, "findings_by_check")
findings = show_table(ctx, "validation_findings", height=420)
if findings is not None:
    subject_picker(ctx, sorted({s for s in findings["usubjid"] if s and s != "None"}), key="dq_subject")
show_table(ctx, "variable_derivations")
show_table(ctx, "extract_provenance")
show_table(ctx, "blinding_decisions")
