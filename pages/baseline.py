"""Baseline characteristics (Table 1) by arm and total, in the intention-to-treat population by default."""

import streamlit as st

from dashboard.filters import POPULATIONS
from pages._layout import page_header, show_table

TABLE1_POPULATIONS = ["ITTFL", "RANDFL", "SAFFL"]

ctx = page_header("Baseline characteristics", "baseline")
population = st.radio("Population for this table", TABLE1_POPULATIONS, format_func=POPULATIONS.get, horizontal=True,
                      key="baseline_population",
                      help="Baseline characteristics describe the subjects as randomized (ICH E3 section 11.2), so "
                           "the intention-to-treat population is the default here; the sidebar's population applies "
                           "to the other pages.")
show_table(ctx, "baseline_characteristics", ctx.spec.with_population(population))
