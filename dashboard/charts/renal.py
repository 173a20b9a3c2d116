"""Renal charts: mean trajectories with the n behind each point, spaghetti, waterfall, KDIGO heat map, endpoints, slopes.

Each function takes the tidy frame of one registered table (``dashboard.analyses.renal``) and
returns an Altair chart sized and lettered for a projector. Column names are read from the
frames documented there; the blinded role's frames carry only the pooled arm, so nothing here
can show an arm it was not given.
"""

from __future__ import annotations

from collections.abc import Iterable

import altair as alt
import numpy as np
import pandas as pd

from dashboard.charts.common import FONT_SIZE, TITLE_SIZE, arm_color, empty_chart, projector
from dashboard.charts.visits import dodged, placed, visit_axis
from dashboard.filters import TOTAL_ARM

#: KDIGO heat-map colours in risk order: one sequential ramp (light yellow to dark red, ColorBrewer
#: YlOrRd) whose lightness falls with risk, so it reads for colour-blind viewers and in greyscale
#: (the KDIGO chart's own green-to-red cannot be told apart by red-green colour-blind readers).
KDIGO_RISK_COLORS = {"low": "#FFFFCC", "moderately increased": "#FECC5C", "high": "#F03B20", "very high": "#7A0016"}
LOG_PARAMS = ("UACR", "UPROT24")
PARAM_LABELS = {"EGFR": "eGFR", "CREAT": "Serum creatinine", "UACR": "UACR", "UPROT24": "24-h urine protein"}
#: eGFR decline thresholds drawn on the eGFR waterfall (clinical_reference §3).
EGFR_DECLINE_LINES = (-30.0, -40.0)


def _configure(chart):
    """The projector theme for a concatenated or faceted chart (``projector`` sizes single views)."""
    return (chart.configure_axis(labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE, labelLimit=400, grid=True,
                                 gridOpacity=0.4)
            .configure_legend(labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE, symbolSize=200, labelLimit=400)
            .configure_title(fontSize=TITLE_SIZE, anchor="start")
            .configure_header(labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE)
            .configure_view(strokeWidth=0))


def _fit_x(chart):
    """Fit the page width only: Streamlit's default "fit" autosize would take the legends and the
    rows under the axis out of the plot's height and squeeze it."""
    return chart.properties(autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))


def _arms_only(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop the Total rows when there are real arms to compare (Total would only add clutter)."""
    if "arm" in frame and (frame["arm"] != TOTAL_ARM).any():
        return frame[frame["arm"] != TOTAL_ARM]
    return frame


def _label(frame: pd.DataFrame, param: str) -> str:
    label = frame["label"].iloc[0] if "label" in frame and len(frame) else PARAM_LABELS.get(param, param)
    unit = frame["unit"].dropna().iloc[0] if "unit" in frame and frame["unit"].notna().any() else ""
    return f"{label} ({unit})" if unit else str(label)


# ---------------------------------------------------------------------------------------------
# mean +/- 95% CI over visits, with the n behind each point under the x-axis
# ---------------------------------------------------------------------------------------------
def mean_over_visits(frame: pd.DataFrame, param: str = "EGFR", measure: str = "absolute",
                     width: int | str = "container") -> alt.Chart:
    """Mean (geometric mean for UACR/24-h protein, log axis) +/- 95% CI by visit and arm.

    ``measure``: "absolute" (the value) or "change" (change from baseline; the geometric-mean
    ratio to baseline on a log axis for log-scale parameters). Frame: ``renal_summary_by_visit``.
    A text row under the x-axis gives the number of subjects behind each point.
    """
    if measure not in ("absolute", "change"):
        raise ValueError(f"measure must be 'absolute' or 'change'; got {measure!r}.")
    data = _arms_only(frame[frame["param"] == param]) if "param" in frame else frame.iloc[0:0]
    name = PARAM_LABELS.get(param, param)
    if data.empty:
        return empty_chart(f"{name}: not in this extract")
    log = param in LOG_PARAMS
    label = _label(data, param)
    if measure == "absolute":
        y, lo, hi, n_col = ("gmean", "gmean_lower", "gmean_upper", "n_log") if log else ("mean", "lower", "upper", "n")
        title = f"{label}: {'geometric mean' if log else 'mean'} (95% CI)"
        y_title = f"{'Geometric mean' if log else 'Mean'} {name}"
        ref = None
    else:
        data = data[data["visit"] != "Baseline"]
        y, lo, hi, n_col = ("gmr", "gmr_lower", "gmr_upper", "n_chg") if log else ("chg_mean", "chg_lower",
                                                                                   "chg_upper", "n_chg")
        title = f"{name}: {'ratio to baseline (geometric mean)' if log else 'change from baseline, mean'} (95% CI)"
        y_title = "Ratio to baseline" if log else f"Change from baseline ({data['unit'].iloc[0] if len(data) else ''})"
        ref = 1.0 if log else 0.0
    data = data[[c for c in ("visit", "visitn", "arm", "N", y, lo, hi, n_col) if c in data]].copy()
    data["n_at_risk"] = data[n_col].astype("float64").fillna(0).astype(int)
    if data.empty or data[y].notna().sum() == 0:
        return empty_chart(f"{name}: no post-baseline values yet")
    # Visits at their planned study day (equal spacing would distort time); a visit without one is
    # left out and named in the subtitle.
    data, days, note = placed(data)
    if data.empty:
        return empty_chart(f"{name}: no visit with a planned study day")
    visits = sorted(days, key=days.get)
    arms = list(dict.fromkeys(data["arm"]))
    color = arm_color(data)
    span = (max(days.values()) - min(days.values())) or 1.0
    data["visit_x"] = dodged(data["visit_day"], data["arm"], arms, span)
    x = visit_axis(days)
    rotated = len(days) > 6
    # log axes fitted to the data (a "nice" log domain would stretch to whole powers of ten)
    scale = alt.Scale(type="log", nice=False, padding=12) if log else alt.Scale(zero=False)
    base = alt.Chart(data).encode(x=x, color=color)
    tooltip = [alt.Tooltip("visit:N", title="Visit"), alt.Tooltip("arm:N", title="Arm"),
               alt.Tooltip("n_at_risk:Q", title="n"), alt.Tooltip(f"{y}:Q", title="Estimate", format=".2f"),
               alt.Tooltip(f"{lo}:Q", title="95% CI lower", format=".2f"),
               alt.Tooltip(f"{hi}:Q", title="95% CI upper", format=".2f")]
    valid = base.transform_filter(f"isValid(datum['{y}'])")
    layers = [
        valid.mark_rule(strokeWidth=3).encode(y=alt.Y(f"{lo}:Q", scale=scale, title=y_title), y2=f"{hi}:Q"),
        valid.mark_line(strokeWidth=3).encode(y=alt.Y(f"{y}:Q", scale=scale)),
        valid.mark_point(filled=True, size=160).encode(y=alt.Y(f"{y}:Q", scale=scale), tooltip=tooltip),
    ]
    if ref is not None:
        layers.insert(0, alt.Chart(pd.DataFrame({"ref": [ref]})).mark_rule(color="#555555", strokeDash=[6, 4])
                      .encode(y="ref:Q"))
    # n with a value: one text row per arm under the x-axis labels, in the same view so the
    # numbers sit exactly under their visit (a concatenated chart cannot stretch to the page
    # width). Rotated labels reach down by about half their length ("End of Treatment").
    height = 340
    longest = max((len(str(v)) for v in visits), default=0)
    first_row = height + (52 + max(26, int(longest * FONT_SIZE * 0.4)) if rotated else 52)
    # the n row sits at each visit's own day (not dodged), one line per arm
    rows = data.assign(y_px=data["arm"].map({a: first_row + 24 * i for i, a in enumerate(arms)}),
                       visit_x=data["visit_day"])
    at_risk = alt.Chart(rows).mark_text(fontSize=FONT_SIZE - 1, fontWeight="bold").encode(
        x=x, y=alt.Y("y_px:Q", scale=None, axis=None), text="n_at_risk:Q", color=color,
        tooltip=[alt.Tooltip("arm:N", title="Arm"), alt.Tooltip("visit:N", title="Visit"),
                 alt.Tooltip("n_at_risk:Q", title="n")])
    names = pd.DataFrame({"arm": arms, "y_px": [first_row + 24 * i for i in range(len(arms))]})
    arm_names = alt.Chart(names).mark_text(align="right", dx=-10, fontSize=FONT_SIZE - 2).encode(
        x=alt.value(0), y=alt.Y("y_px:Q", scale=None, axis=None), text="arm:N")
    caption = alt.Chart(pd.DataFrame({"t": ["n with a value"], "y_px": [first_row - 22]})).mark_text(
        align="right", dx=-10, fontSize=FONT_SIZE - 2, fontStyle="italic", color="#555555").encode(
        x=alt.value(0), y=alt.Y("y_px:Q", scale=None, axis=None), text="t:N")
    title = alt.TitleParams(title, subtitle=note, subtitleFontSize=FONT_SIZE - 2) if note else title
    return _fit_x(projector(alt.layer(*layers, at_risk, arm_names, caption).properties(title=title), width=width,
                            height=height))


# ---------------------------------------------------------------------------------------------
# spaghetti plot
# ---------------------------------------------------------------------------------------------
def spaghetti(frame: pd.DataFrame, param: str = "EGFR", highlight: Iterable[str] = (),
              width: int | str = "container") -> alt.Chart:
    """Each subject's values over study weeks (baseline and after), one line per subject.

    Frame: ``renal_values_by_subject``. Subjects in ``highlight`` are drawn thick and labelled
    at their last value; outliers are labelled at their most extreme value (``outlier_point``);
    out-of-window values are diamonds.
    Clicking a line selects the subject (selection ``subject``, field ``usubjid``) so the page
    can open the profile. Log axis for UACR and 24-h protein.
    """
    name = PARAM_LABELS.get(param, param)
    if "param" not in frame or not (frame["param"] == param).any():
        return empty_chart(f"{name}: not in this extract")
    data = frame[(frame["param"] == param) & frame["phase"].isin(["baseline", "post-baseline"])]
    if data.empty:
        return empty_chart(f"{name}: no baseline or post-baseline values")
    highlight = {str(h) for h in highlight}
    data = data.assign(week=data["study_day"].astype(float) / 7.0, highlighted=data["usubjid"].isin(highlight),
                       oow=np.where(data["out_of_window"].astype(bool), "out of window", "in window"),
                       date=data["adt"].astype("string"))
    data = data[["usubjid", "arm", "week", "visit", "date", "aval", "chg", "pchg", "highlighted", "oow",
                 "outlier_point"]]
    unit = frame.loc[frame["param"] == param, "unit"].dropna()
    y_title = f"{name} ({unit.iloc[0]})" if len(unit) else name
    log = param in LOG_PARAMS
    scale = alt.Scale(type="log") if log else alt.Scale(zero=False)
    sel = alt.selection_point(fields=["usubjid"], on="click", name="subject", empty=False)
    color = arm_color(data)
    x = alt.X("week:Q", title="Weeks since first dose")
    y = alt.Y("aval:Q", title=y_title, scale=scale)
    tooltip = [alt.Tooltip("usubjid:N", title="Subject"), alt.Tooltip("arm:N", title="Arm"),
               alt.Tooltip("visit:N", title="Visit"), alt.Tooltip("date:N", title="Date"),
               alt.Tooltip("aval:Q", title="Value", format=".1f"),
               alt.Tooltip("pchg:Q", title="% change", format=".1f"),
               alt.Tooltip("oow:N", title="Visit window")]
    emphasis = alt.datum.highlighted
    faint = 0.35 if data["usubjid"].nunique() <= 60 else 0.15  # many subjects: fainter lines
    lines = alt.Chart(data).mark_line().encode(
        x=x, y=y, detail="usubjid:N", color=color, tooltip=tooltip,
        strokeWidth=alt.when(sel).then(alt.value(5)).when(emphasis).then(alt.value(4.5)).otherwise(alt.value(1.5)),
        opacity=alt.when(sel).then(alt.value(1.0)).when(emphasis).then(alt.value(1.0)).otherwise(alt.value(faint)),
    ).add_params(sel)
    points = alt.Chart(data).mark_point(filled=True).encode(
        x=x, y=y, color=color, tooltip=tooltip,
        shape=alt.Shape("oow:N", title="Visit window", scale=alt.Scale(domain=["in window", "out of window"],
                                                                       range=["circle", "diamond"]),
                        legend=alt.Legend(orient="top")),
        size=alt.when(emphasis).then(alt.value(120)).otherwise(alt.value(35)),
        opacity=alt.when(emphasis).then(alt.value(1.0)).otherwise(alt.value(min(0.5, 2 * faint))),
    )
    # Outliers are labelled where their extreme change happened; highlighted subjects at their last value.
    last = data.sort_values("week").groupby("usubjid").tail(1)
    labelled = pd.concat([data[data["outlier_point"].astype(bool)], last[last["highlighted"]]])
    labelled = labelled.drop_duplicates("usubjid")
    layers = [lines, points]
    if len(labelled):
        layers.append(alt.Chart(labelled).mark_text(align="left", dx=8, fontSize=FONT_SIZE - 2, fontWeight="bold")
                      .encode(x=x, y=y, text="usubjid:N", color=color))
    title = f"{name}: individual trajectories (click a line to select a subject)"
    return _fit_x(projector(alt.layer(*layers).properties(title=title), width=width, height=420))


# ---------------------------------------------------------------------------------------------
# waterfall
# ---------------------------------------------------------------------------------------------
def waterfall(frame: pd.DataFrame, param: str = "EGFR", width: int | str = "container") -> alt.Chart:
    """Percent change from baseline to the last value, one bar per subject, largest rise first.

    Frame: ``renal_change_to_last``. Bars are coloured by arm (grey when pooled); dashed
    lines mark the 30% and 40% eGFR declines. Clicking a bar selects the subject.
    """
    name = PARAM_LABELS.get(param, param)
    if "param" not in frame or not (frame["param"] == param).any():
        return empty_chart(f"{name}: not in this extract")
    data = frame[(frame["param"] == param) & frame["pct_change"].notna()]
    if data.empty:
        return empty_chart(f"{name}: no subject has a baseline and a later value")
    color = arm_color(data)  # before sorting by % change: colours follow the arms' display order
    data = data.sort_values(["pct_change", "usubjid"], ascending=[False, True]).reset_index(drop=True)
    data = data.assign(rank=np.arange(1, len(data) + 1), last_date=data["last_date"].astype("string"))
    data = data[["usubjid", "arm", "rank", "baseline", "last_value", "last_visit", "last_date", "pct_change"]]
    sel = alt.selection_point(fields=["usubjid"], on="click", name="subject", empty=False)
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X("rank:O", title=f"Subjects (n = {len(data)}), ordered by % change", axis=alt.Axis(labels=False,
                                                                                               ticks=False)),
        y=alt.Y("pct_change:Q", title=f"% change in {name}, baseline to last value"),
        color=color,
        opacity=alt.when(sel).then(alt.value(1.0)).otherwise(alt.value(0.85)),
        stroke=alt.when(sel).then(alt.value("black")).otherwise(alt.value(None)),
        tooltip=[alt.Tooltip("usubjid:N", title="Subject"), alt.Tooltip("arm:N", title="Arm"),
                 alt.Tooltip("baseline:Q", title="Baseline", format=".1f"),
                 alt.Tooltip("last_value:Q", title="Last value", format=".1f"),
                 alt.Tooltip("last_visit:N", title="Last visit"), alt.Tooltip("last_date:N", title="Date"),
                 alt.Tooltip("pct_change:Q", title="% change", format=".1f")],
    ).add_params(sel)
    rules = pd.DataFrame({"y": [0.0] + (list(EGFR_DECLINE_LINES) if param == "EGFR" else [])})
    rules["label"] = ["" if v == 0 else f"{v:.0f}%" for v in rules["y"]]
    ref = alt.Chart(rules).mark_rule(color="#555555", strokeDash=[6, 4]).encode(y="y:Q")
    text = alt.Chart(rules[rules["y"] != 0]).mark_text(align="left", dx=4, dy=-8, fontSize=FONT_SIZE - 2,
                                                       color="#555555").encode(y="y:Q", x=alt.value(0), text="label:N")
    title = f"{name}: % change from baseline to the last value on study"
    return _fit_x(projector(alt.layer(bars, ref, text).properties(title=title), width=width, height=380))


# ---------------------------------------------------------------------------------------------
# KDIGO heat map
# ---------------------------------------------------------------------------------------------
def kdigo_heatmap(frame: pd.DataFrame, cell: int = 90) -> alt.Chart:
    """KDIGO G x A grid at baseline and at the last visit (columns), one row of grids per arm.

    Frame: ``kdigo_grid``. Cells are coloured by KDIGO risk (light yellow to dark red)
    and show the number of subjects.
    """
    if frame.empty:
        return empty_chart("No subject has both eGFR and UACR")
    data = _arms_only(frame).copy()
    data["label"] = [str(int(n)) if n else "" for n in data["n"]]
    data["dark"] = data["risk"].isin(["high", "very high"])  # white numbers on the two dark reds
    g_order = ["G1", "G2", "G3a", "G3b", "G4", "G5"]
    a_order = ["A1", "A2", "A3"]
    risk = alt.Color("risk:N", title="KDIGO risk", sort=list(KDIGO_RISK_COLORS),
                     scale=alt.Scale(domain=list(KDIGO_RISK_COLORS), range=list(KDIGO_RISK_COLORS.values())),
                     legend=alt.Legend(orient="top"))
    base = alt.Chart(data).encode(
        x=alt.X("a:N", sort=a_order, title="Albuminuria (UACR)", axis=alt.Axis(orient="top", labelAngle=0, grid=False)),
        y=alt.Y("g:N", sort=g_order, title="GFR category", axis=alt.Axis(grid=False)))
    rect = base.mark_rect(stroke="white", strokeWidth=2).encode(
        color=risk, tooltip=[alt.Tooltip("timepoint:N", title="Timepoint"), alt.Tooltip("arm:N", title="Arm"),
                             alt.Tooltip("g:N", title="G"), alt.Tooltip("a:N", title="A"),
                             alt.Tooltip("risk:N", title="Risk"), alt.Tooltip("n:Q", title="n"),
                             alt.Tooltip("N:Q", title="N"), alt.Tooltip("pct:Q", title="%", format=".1f")])
    text = base.mark_text(fontSize=FONT_SIZE + 4, fontWeight="bold").encode(
        text="label:N", color=alt.when(alt.datum.dark).then(alt.value("white")).otherwise(alt.value("black")))
    grid = alt.layer(rect, text).properties(width=3 * cell, height=6 * cell * 0.6)
    arms = list(dict.fromkeys(data["arm"]))
    chart = grid.facet(
        column=alt.Column("timepoint:N", sort=["Baseline", "Last on study"], title=None),
        row=alt.Row("arm:N", sort=arms, title=None, header=alt.Header(labelAngle=0, labelAlign="left")),
        spacing=24)
    return _configure(chart.properties(title="KDIGO categories: subjects per G x A cell"))


# ---------------------------------------------------------------------------------------------
# kidney endpoints and slopes
# ---------------------------------------------------------------------------------------------
def kidney_events_chart(frame: pd.DataFrame, width: int | str = "container") -> alt.Chart:
    """% of evaluable subjects with each kidney endpoint, one bar per arm (frame: ``kidney_events``)."""
    data = _arms_only(frame)
    if data.empty:
        return empty_chart("No kidney endpoint data")
    data = data.assign(text=[f"{int(n)}/{int(N)}" for n, N in zip(data["n"], data["N"])],
                       pct=data["pct"].fillna(0.0))
    labels = list(dict.fromkeys(data["label"]))
    arms = list(dict.fromkeys(data["arm"]))
    top = max(10.0, float(data["pct"].max()) * 1.25)
    base = alt.Chart(data).encode(
        y=alt.Y("label:N", sort=labels, title=None, axis=alt.Axis(labelLimit=480)),
        yOffset=alt.YOffset("arm:N", sort=arms),
        x=alt.X("pct:Q", title="% of subjects with baseline and follow-up", scale=alt.Scale(domain=[0, top]),
                axis=alt.Axis(tickCount=5)))
    bars = base.mark_bar().encode(color=arm_color(data), tooltip=[
        alt.Tooltip("label:N", title="Endpoint"), alt.Tooltip("arm:N", title="Arm"), alt.Tooltip("n:Q", title="n"),
        alt.Tooltip("N:Q", title="N"), alt.Tooltip("pct:Q", title="%", format=".1f"),
        alt.Tooltip("median_study_day:Q", title="Median first day", format=".0f")])
    text = base.mark_text(align="left", dx=4, fontSize=FONT_SIZE - 2).encode(text="text:N")
    height = max(260, 22 * len(labels) * max(1, len(arms)))
    return _fit_x(projector(alt.layer(bars, text).properties(title="Kidney endpoints"), width=width, height=height))


def slope_distribution(frame: pd.DataFrame, width: int | str = "container") -> alt.Chart:
    """Per-subject eGFR slopes by arm: box plot with every subject as a point (frame: ``egfr_slope``)."""
    data = frame[frame["slope_per_year"].notna()] if "slope_per_year" in frame else frame.iloc[0:0]
    if data.empty:
        return empty_chart("No subject has a baseline and a later eGFR")
    data = data[["usubjid", "arm", "n_values", "slope_per_year"]]
    arms = list(dict.fromkeys(data["arm"]))
    x = alt.X("arm:N", sort=arms, title=None, axis=alt.Axis(labelAngle=0, labelLimit=300))
    y = alt.Y("slope_per_year:Q", title="eGFR slope (mL/min/1.73 m² per year)")
    box = alt.Chart(data).mark_boxplot(size=60, opacity=0.35, outliers=False).encode(
        x=x, y=y, color=arm_color(data, legend=False))
    dots = alt.Chart(data).mark_circle(size=90, opacity=0.85).encode(
        x=x, y=y, xOffset=alt.XOffset("jitter:Q", scale=alt.Scale(domain=[-50, 50])),
        color=arm_color(data, legend=False),
        tooltip=[alt.Tooltip("usubjid:N", title="Subject"), alt.Tooltip("arm:N", title="Arm"),
                 alt.Tooltip("n_values:Q", title="Values in fit"),
                 alt.Tooltip("slope_per_year:Q", title="Slope per year", format=".2f")],
    ).transform_calculate(jitter="(random() - 0.5) * 36")
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color="#555555", strokeDash=[6, 4]).encode(y="y:Q")
    chart = alt.layer(zero, box, dots).properties(title="eGFR slope per subject")
    return _fit_x(projector(chart, width=width, height=380))
