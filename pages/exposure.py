"""Exposure: infusions received, missed or delayed infusions, dose, time on study."""

from pages._layout import page_header, show_table, subject_picker

ctx = page_header("Exposure", "exposure")
show_table(ctx, "infusions_per_subject")
dev = show_table(ctx, "infusion_deviations")
if dev is not None:
    subject_picker(ctx, list(dict.fromkeys(dev["usubjid"])), key="exp_dev")
show_table(ctx, "dose_received")
show_table(ctx, "time_on_study")
