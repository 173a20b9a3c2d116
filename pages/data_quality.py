"""Data quality: validation status, every finding traced to file/row/subject, provenance, blinding."""

from pages._layout import page_header, show_table, subject_picker

ctx = page_header("Data quality", "data_quality")
show_table(ctx, "validation_summary")
show_table(ctx, "findings_by_check", empty="No findings: every row passed every check.")
findings = show_table(ctx, "validation_findings", empty="No findings: every row passed every check.")
if findings is not None:
    subject_picker(ctx, sorted({s for s in findings["usubjid"] if s and s != "None"}), key="dq_subject")
show_table(ctx, "variable_derivations")
show_table(ctx, "extract_provenance")
show_table(ctx, "blinding_decisions", empty="No columns removed (the unblinded role loads every column)."
           if not ctx.blinded else "No columns needed removing: the extract carries no treatment-identifying column.")
