"""Exposure charts."""

from __future__ import annotations

import altair as alt
import pandas as pd

from dashboard.charts.common import arm_color, empty_chart, projector


def infusions_chart(frame: pd.DataFrame) -> alt.Chart:
    """% of subjects by number of infusions received, bars grouped by arm."""
    data = frame[frame["arm"] != "Total"]
    if data.empty:
        return empty_chart("No subjects in this selection")
    chart = alt.Chart(data).mark_bar().encode(
        x=alt.X("infusions:N", title="Infusions received", axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("arm:N", sort=list(dict.fromkeys(data["arm"]))),
        y=alt.Y("pct:Q", title="% of subjects", scale=alt.Scale(domain=[0, 100])),
        color=arm_color(data),
        tooltip=[alt.Tooltip("arm:N", title="Arm"), alt.Tooltip("infusions:N", title="Infusions"),
                 alt.Tooltip("n:Q"), alt.Tooltip("N:Q"), alt.Tooltip("pct:Q", format=".1f", title="%")])
    return projector(chart, height=300)
