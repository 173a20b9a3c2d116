"""Enrollment and disposition charts."""

from __future__ import annotations

import altair as alt
import pandas as pd

from dashboard.charts.common import arm_color, empty_chart, projector


def cumulative_enrollment_chart(frame: pd.DataFrame) -> alt.Chart:
    """Cumulative randomized subjects by month, one line per arm, dashed line at the target."""
    if frame.empty:
        return empty_chart("No randomized subjects in this selection")
    # Months as ordered labels ("Sep 2020"): one tick per month, no time-zone shifts.
    data = frame.assign(label=pd.to_datetime(frame["month"] + "-01").dt.strftime("%b %Y"))
    months = list(dict.fromkeys(data["label"]))
    lines = alt.Chart(data).mark_line(point=alt.OverlayMarkDef(size=80), strokeWidth=3).encode(
        x=alt.X("label:O", sort=months, title="Month of randomization", axis=alt.Axis(labelAngle=-45)),
        y=alt.Y("cumulative:Q", title="Subjects randomized (cumulative)"),
        color=arm_color(data),
        tooltip=[alt.Tooltip("label:N", title="Month"), alt.Tooltip("arm:N", title="Arm"),
                 alt.Tooltip("n:Q", title="Randomized in month"), alt.Tooltip("cumulative:Q", title="Cumulative")],
    )
    layers = [lines]
    target = data["target"].dropna()
    if len(target):
        rule = alt.Chart(pd.DataFrame({"target": [float(target.iloc[0])], "label": [f"Target {int(target.iloc[0])}"]}))
        layers.append(rule.mark_rule(strokeDash=[8, 4], color="#D55E00", strokeWidth=2).encode(y="target:Q"))
        layers.append(rule.mark_text(align="left", dx=4, dy=-10, fontSize=16, color="#D55E00").encode(
            y="target:Q", text="label:N", x=alt.value(0)))
    return projector(alt.layer(*layers))


def disposition_chart(frame: pd.DataFrame) -> alt.Chart:
    """End-of-study status as % of randomized subjects, one bar per arm and status."""
    data = frame[(frame["reason"] == "") & (frame["arm"] != "Total")]
    if data.empty:
        return empty_chart("No randomized subjects in this selection")
    bars = alt.Chart(data).mark_bar().encode(
        y=alt.Y("status:N", title=None, sort=["Completed", "Ongoing", "Discontinued"]),
        yOffset=alt.YOffset("arm:N", sort=list(dict.fromkeys(data["arm"]))),
        x=alt.X("pct:Q", title="% of randomized subjects", scale=alt.Scale(domain=[0, 100])),
        color=arm_color(data),
        tooltip=[alt.Tooltip("arm:N", title="Arm"), alt.Tooltip("status:N", title="Status"),
                 alt.Tooltip("n:Q", title="n"), alt.Tooltip("N:Q", title="N"),
                 alt.Tooltip("pct:Q", format=".1f", title="%")],
    )
    return projector(bars, height=260)
