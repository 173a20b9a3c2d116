"""Subject profile chart: one subject's lab values over study days, one panel per parameter,
with the subject's adverse-event onsets and study-drug administrations marked on every panel."""

from __future__ import annotations

import altair as alt
import pandas as pd

from dashboard.charts.common import FONT_SIZE, SEVERITY_COLORS, empty_chart

DOSE_COLOR = "#009E73"


def subject_lab_chart(labs: pd.DataFrame, params: list[str], adverse_events: pd.DataFrame | None = None,
                      dosing: pd.DataFrame | None = None) -> list[alt.Chart]:
    """One full-width panel per chosen PARAMCD: AVAL over ADY, the normal range as a shaded band;
    AE onsets as dashed rules coloured by severity (``start_study_day``, ``AEDECOD``, ``AESEV``)
    and administrations as green triangles along the bottom (``ADY``). Every panel has the same
    study-day axis."""
    data = labs[labs["PARAMCD"].isin(params)].copy()
    if data.empty:
        return [empty_chart("Choose lab parameters to plot")]
    data["label"] = data["PARAMCD"] + " (" + data["AVALU"].fillna("") + ")"
    aes = _ae_markers(adverse_events)
    doses = dosing if dosing is not None and len(dosing) else pd.DataFrame({"ADY": []})
    days = pd.concat([data["ADY"], aes["day"], doses["ADY"]]).dropna()
    x_scale = alt.Scale(domain=[float(days.min()), float(days.max())], nice=False) if len(days) else alt.Scale()
    panels = []
    for label, sub in data.groupby("label", sort=False):
        layers = [
            alt.Chart(sub).mark_area(opacity=0.15, color="#56B4E9").encode(x="ADY:Q", y="ANRLO:Q", y2="ANRHI:Q"),
            alt.Chart(sub).mark_line(point=alt.OverlayMarkDef(size=80), strokeWidth=2.5, color="#0072B2").encode(
                x=alt.X("ADY:Q", title="Study day (day 1 = first dose)", scale=x_scale),
                y=alt.Y("AVAL:Q", title=label, scale=alt.Scale(zero=False)),
                tooltip=[alt.Tooltip("PARAM:N", title="Parameter"), alt.Tooltip("AVISIT:N", title="Visit"),
                         alt.Tooltip("ADT:T", title="Date"), alt.Tooltip("ADY:Q", title="Study day"),
                         alt.Tooltip("AVAL:Q", title="Value"), alt.Tooltip("AVALU:N", title="Unit"),
                         alt.Tooltip("ANRLO:Q", title="Lower limit"), alt.Tooltip("ANRHI:Q", title="Upper limit")]),
        ]
        if len(aes):
            layers.append(alt.Chart(aes).mark_rule(strokeDash=[6, 4], strokeWidth=2).encode(
                x="day:Q", color=alt.Color("severity:N", title="AE onset (severity)",
                                           scale=alt.Scale(domain=list(SEVERITY_COLORS),
                                                           range=list(SEVERITY_COLORS.values()))),
                tooltip=[alt.Tooltip("term:N", title="Adverse event"), alt.Tooltip("severity:N", title="Severity"),
                         alt.Tooltip("day:Q", title="Onset study day")]))
        if len(doses):
            layers.append(alt.Chart(doses).mark_point(shape="triangle-up", size=160, filled=True, color=DOSE_COLOR,
                                                      yOffset=0).encode(
                x="ADY:Q", y=alt.value(195), tooltip=[alt.Tooltip("ADY:Q", title="Study drug given on day")]))
        panels.append(alt.layer(*layers).properties(width="container", height=200)
                      .configure_axis(labelFontSize=FONT_SIZE - 2, titleFontSize=FONT_SIZE - 2)
                      .configure_legend(labelFontSize=FONT_SIZE - 2, titleFontSize=FONT_SIZE - 2, orient="top"))
    return panels


def _ae_markers(adverse_events: pd.DataFrame | None) -> pd.DataFrame:
    cols = {"start_study_day", "AEDECOD"}
    if adverse_events is None or adverse_events.empty or not cols <= set(adverse_events.columns):
        return pd.DataFrame({"day": [], "term": [], "severity": []})
    sev = adverse_events["AESEV"] if "AESEV" in adverse_events else pd.Series("Missing", index=adverse_events.index)
    out = pd.DataFrame({"day": adverse_events["start_study_day"], "term": adverse_events["AEDECOD"],
                        "severity": sev.fillna("Missing").astype(str).str.upper().where(
                            lambda v: v.isin(list(SEVERITY_COLORS)), "Missing")})
    return out.dropna(subset=["day"]).reset_index(drop=True)
