"""Baseline characteristics (Table 1) by arm and total."""

from pages._layout import page_header, show_table

ctx = page_header("Baseline characteristics", "baseline")
show_table(ctx, "baseline_characteristics", height=900)
