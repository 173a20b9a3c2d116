"""Subject profile chart: one subject's lab values over study days, one panel per parameter."""

from __future__ import annotations

import altair as alt
import pandas as pd

from dashboard.charts.common import empty_chart


def subject_lab_chart(labs: pd.DataFrame, params: list[str]) -> alt.Chart:
    """Lines of AVAL over ADY per chosen PARAMCD, normal range as a shaded band."""
    data = labs[labs["PARAMCD"].isin(params)].copy()
    if data.empty:
        return empty_chart("Choose lab parameters to plot")
    data["label"] = data["PARAMCD"] + " (" + data["AVALU"].fillna("") + ")"
    base = alt.Chart()
    band = base.mark_area(opacity=0.15, color="#009E73").encode(x="ADY:Q", y="ANRLO:Q", y2="ANRHI:Q")
    line = base.mark_line(point=alt.OverlayMarkDef(size=70), strokeWidth=2.5, color="#0072B2").encode(
        x=alt.X("ADY:Q", title="Study day"), y=alt.Y("AVAL:Q", title=None, scale=alt.Scale(zero=False)),
        tooltip=["PARAMCD", "AVISIT", alt.Tooltip("ADT:T", title="Date"), "ADY", "AVAL", "AVALU", "ANRLO", "ANRHI"])
    return (alt.layer(band, line, data=data).properties(width=380, height=200)
            .facet(facet=alt.Facet("label:N", title=None), columns=2)
            .resolve_scale(y="independent")
            .configure_axis(labelFontSize=14, titleFontSize=14).configure_header(labelFontSize=16))
