"""Lab charts: shift heat map, shift plot, box plots by visit, eDISH.

Every chart takes a frame from ``dashboard.analyses.labs`` (one parameter where the chart is
per parameter) and returns an ``alt.Chart`` in the projector style. Subject-level charts carry a
point selection named :data:`SUBJECT_SELECTION` on ``usubjid`` so the page can open the subject
profile on a click. In the blinded role frames hold only the pooled arm, so nothing leaks.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from dashboard.charts.common import FONT_SIZE, NEUTRAL, TITLE_SIZE, arm_color, empty_chart, projector
from dashboard.charts.visits import dodged, placed, visit_axis
from dashboard.filters import TOTAL_ARM

#: Name of the click selection on subject-level charts (the page reads it).
SUBJECT_SELECTION = "lab_subject"
LIMIT_COLOR = "#D55E00"
RANGE_FILL = "#009E73"
CATEGORY_ORDER = ["LOW", "NORMAL", "HIGH", "MISSING"]
HYS, TEMPLE = "possible Hy's law", "Temple's corollary"


def _one_param(frame: pd.DataFrame, what: str) -> str | None:
    """Why the chart cannot be drawn (None when the frame holds exactly one parameter)."""
    if frame is None or frame.empty:
        return f"No {what} for this selection"
    if frame["paramcd"].nunique() > 1:
        return "Pick one parameter to draw this chart"
    return None


def _subject_selection() -> alt.Parameter:
    return alt.selection_point(name=SUBJECT_SELECTION, fields=["usubjid"], on="click", clear="dblclick")


def _configure(chart) -> alt.Chart:
    """The projector configuration for charts that set their own cell sizes (facets, concat)."""
    return (chart.configure_axis(labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE, labelLimit=400, grid=True,
                                 gridOpacity=0.4)
            .configure_legend(labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE, symbolSize=200)
            .configure_title(fontSize=TITLE_SIZE, anchor="start")
            .configure_header(labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE)
            .configure_view(strokeWidth=0))


# -- shift heat map (lab_shift) --------------------------------------------------------------

def lab_shift_heatmap(frame: pd.DataFrame) -> alt.Chart:
    """Baseline (rows) x worst post-baseline (columns) category, one panel per arm and direction.

    Cells show n and % of N; only shifts (off-diagonal cells) are coloured, worsening (NORMAL to
    LOW/HIGH, or across the range) in oranges and improvement (LOW/HIGH to NORMAL) in blues, so a
    drift in one arm stands out and the two never look alike. A shift from or to MISSING stays
    uncoloured. The MISSING row and column are drawn only when they hold subjects.
    """
    reason = _one_param(frame, "shift data")
    if reason:
        return empty_chart(reason)
    data = frame[frame["visit"] == frame["visit"].iloc[0]].copy()
    levels = [c for c in CATEGORY_ORDER if c != "MISSING" or
              data.loc[(data["baseline"] == c) | (data["post_baseline"] == c), "n"].sum() > 0]
    data = data[data["baseline"].isin(levels) & data["post_baseline"].isin(levels)]
    data["direction"] = data["direction"].map({"high": "Worst high", "low": "Worst low"})
    data["label"] = [f"{n}" if n == 0 else f"{n}\n{p:.1f}%" for n, p in zip(data["n"], data["pct"].fillna(0))]
    data["shift_pct"] = data["pct"].where(data["baseline"] != data["post_baseline"])
    known = data["baseline"].ne("MISSING") & data["post_baseline"].ne("MISSING")
    # One diverging scale: worsening positive (orange), improvement negative (blue).
    data["signed_pct"] = data["shift_pct"].where(known & data["post_baseline"].ne("NORMAL"),
                                                 -data["shift_pct"].where(known & data["post_baseline"].eq("NORMAL")))
    top = float(np.nanmax([data["shift_pct"].max(), 10.0]))
    arms = list(dict.fromkeys(data["arm"]))
    base = alt.Chart(data).encode(
        x=alt.X("post_baseline:N", sort=levels, title="Worst post-baseline", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("baseline:N", sort=levels, title="Baseline"))
    tips = [alt.Tooltip("arm:N", title="Arm"), alt.Tooltip("direction:N", title="Direction"),
            alt.Tooltip("baseline:N", title="Baseline"), alt.Tooltip("post_baseline:N", title="Post-baseline"),
            alt.Tooltip("n:Q"), alt.Tooltip("N:Q"), alt.Tooltip("pct:Q", format=".1f", title="%")]
    blank = base.mark_rect(color="white", stroke="#DDDDDD", strokeWidth=1).encode(tooltip=tips)
    same = base.transform_filter("datum.baseline == datum.post_baseline").mark_rect(
        color="#EEEEEE", stroke="white", strokeWidth=2).encode(tooltip=tips)
    shifted = base.transform_filter("isValid(datum.signed_pct) && datum.n > 0").mark_rect(
        stroke="white", strokeWidth=2).encode(
        color=alt.Color("signed_pct:Q", title="% of N (orange: worse, blue: better)",
                        scale=alt.Scale(scheme="blueorange", domain=[-top, top], domainMid=0),
                        legend=alt.Legend(labelExpr="abs(datum.value) + '%'", orient="bottom", direction="horizontal",
                                          titleLimit=0, gradientLength=260)),
        tooltip=tips)
    text = base.mark_text(fontSize=FONT_SIZE, lineBreak="\n").encode(
        text="label:N", color=alt.condition(f"abs(datum.signed_pct) > {top * 0.6}", alt.value("white"), alt.value("black")))
    # One panel per arm x direction, wrapped two to a row (an arm's high and low side by side), so
    # three arms and a Total still fit a 1280 px projector screen (one column per arm did not).
    data["panel"] = data["arm"] + ": " + data["direction"]
    panels = [f"{a}: {d}" for a in arms for d in ("Worst high", "Worst low")]
    chart = alt.layer(blank, same, shifted, text, data=data).properties(
        width=80 * len(levels), height=62 * len(levels)).facet(
        facet=alt.Facet("panel:N", title=None, sort=panels, header=alt.Header(labelFontSize=FONT_SIZE)), columns=2)
    return _configure(chart.properties(title=f"{data['param'].iloc[0]}: shift from baseline (n, % of N)"))


# -- shift plot (lab_shift_subjects) -----------------------------------------------------------

def lab_shift_plot(frame: pd.DataFrame, direction: str = "high") -> alt.Chart:
    """Per subject: baseline vs highest (``direction="high"``) or lowest post-baseline value.

    Fold of ULN (high) or of LLN (low) when the range exists, with reference lines at 1 (the
    limit) and the identity line (no change); raw values otherwise.
    """
    reason = _one_param(frame, "subjects with baseline and post-baseline values")
    if reason:
        return empty_chart(reason)
    if direction not in ("high", "low"):
        raise ValueError(f"direction must be 'high' or 'low'; got {direction!r}.")
    x, y, fold = (("baseline_x_uln", "max_post_x_uln", "ULN") if direction == "high"
                  else ("baseline_x_lln", "min_post_x_lln", "LLN"))
    raw_y = "max_post" if direction == "high" else "min_post"
    data = frame.copy()
    use_fold = data[x].notna().any() and data[y].notna().any()
    unit = data["unit"].iloc[0] or ""
    if use_fold:
        data = data[data[x].notna() & data[y].notna()]
        x_title, y_title = f"Baseline (x {fold})", f"{'Highest' if direction == 'high' else 'Lowest'} post-baseline (x {fold})"
        limits = [1.0]
    else:
        x, y = "baseline", raw_y
        x_title, y_title = f"Baseline ({unit})", f"{'Highest' if direction == 'high' else 'Lowest'} post-baseline ({unit})"
        limits = [v for v in (data["anrlo"].median(), data["anrhi"].median()) if pd.notna(v)]
    lo = float(min(data[x].min(), data[y].min(), *limits)) if len(data) else 0.0
    hi = float(max(data[x].max(), data[y].max(), *limits)) if len(data) else 1.0
    pad = 0.05 * (hi - lo or 1.0)
    dom = [max(lo - pad, 0.0) if lo >= 0 else lo - pad, hi + pad]
    sel = _subject_selection()
    points = alt.Chart(data).mark_circle(size=110, opacity=0.75).encode(
        x=alt.X(f"{x}:Q", title=x_title, scale=alt.Scale(domain=dom, zero=False)),
        y=alt.Y(f"{y}:Q", title=y_title, scale=alt.Scale(domain=dom, zero=False)),
        color=arm_color(data),
        opacity=alt.condition(sel, alt.value(0.85), alt.value(0.3)),
        tooltip=[alt.Tooltip("usubjid:N", title="Subject"), alt.Tooltip("arm:N", title="Arm"),
                 alt.Tooltip("baseline:Q", title=f"Baseline ({unit})"),
                 alt.Tooltip(f"{raw_y}:Q", title=f"Post-baseline ({unit})"),
                 alt.Tooltip(f"{x}:Q", format=".2f", title=x_title), alt.Tooltip(f"{y}:Q", format=".2f", title=y_title),
                 alt.Tooltip("baseline_category:N", title="Baseline category"),
                 alt.Tooltip("worst_high:N" if direction == "high" else "worst_low:N", title="Worst post-baseline")],
    ).add_params(sel)
    identity = alt.Chart(pd.DataFrame({"a": dom, "b": dom})).mark_line(color=NEUTRAL, strokeDash=[4, 4]).encode(
        x="a:Q", y="b:Q")
    refs = pd.DataFrame({"v": limits})
    vline = alt.Chart(refs).mark_rule(color=LIMIT_COLOR, strokeWidth=2).encode(x="v:Q")
    hline = alt.Chart(refs).mark_rule(color=LIMIT_COLOR, strokeWidth=2).encode(y="v:Q")
    title = f"{data['param'].iloc[0] if len(data) else ''}: baseline vs {'highest' if direction == 'high' else 'lowest'} post-baseline"
    return projector(alt.layer(identity, vline, hline, points).properties(title=title), height=580)


# -- box plots by visit (lab_values_by_visit) --------------------------------------------------

def _box_stats(data: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Quartiles (type 7), Tukey whiskers (most extreme value within 1.5 IQR) and outliers per visit x arm."""
    rows, outliers = [], []
    for (visit, arm), sub in data.groupby(["visit", "arm"], sort=False):
        v = sub["aval"].to_numpy(float)
        q1, med, q3 = np.quantile(v, [0.25, 0.5, 0.75])
        iqr = q3 - q1
        inside = v[(v >= q1 - 1.5 * iqr) & (v <= q3 + 1.5 * iqr)]
        rows.append({"visit": visit, "arm": arm, "visit_order": sub["visit_order"].iloc[0], "n": len(v), "q1": q1,
                     "median": med, "q3": q3, "lo": inside.min(), "hi": inside.max()})
        outliers.append(sub[(sub["aval"] < q1 - 1.5 * iqr) | (sub["aval"] > q3 + 1.5 * iqr)])
    return pd.DataFrame(rows), (pd.concat(outliers) if outliers else data.iloc[0:0])


def lab_box_chart(frame: pd.DataFrame) -> alt.Chart:
    """Box plots of the value by visit and arm, normal range shaded, outliers clickable (usubjid)."""
    reason = _one_param(frame, "values")
    if reason:
        return empty_chart(reason)
    data = frame[frame["arm"] != TOTAL_ARM].copy()
    data["date"] = pd.to_datetime(data["adt"]).dt.strftime("%Y-%m-%d")
    # Visits at their planned study day (equal spacing would distort time); a visit without one
    # (End of Treatment, unscheduled-type labels) is left out and named in the subtitle.
    data, days, visit_note = placed(data)
    if data.empty:
        return empty_chart("no visit with a planned study day")
    stats, outliers = _box_stats(data)
    arms = list(dict.fromkeys(data["arm"]))
    unit = data["unit"].iloc[0] or ""
    span = (max(days.values()) - min(days.values())) or 1.0
    stats["visit_day"] = stats["visit"].map(days)
    stats["visit_x"] = dodged(stats["visit_day"], stats["arm"], arms, span, share=0.018)
    if len(outliers):
        outliers = outliers.assign(visit_x=dodged(outliers["visit_day"], outliers["arm"], arms, span, share=0.018))
    x = visit_axis(days, title="Visit (at its planned study day)")
    color = arm_color(data)
    layers = []
    ranges = data[["anrlo", "anrhi"]].dropna(how="all")
    range_note = ""
    distinct = ranges.drop_duplicates()
    if len(distinct) == 1:
        lo, hi = distinct.iloc[0]
        band = pd.DataFrame({"lo": [lo if pd.notna(lo) else data["aval"].min()],
                             "hi": [hi if pd.notna(hi) else data["aval"].max()]})
        layers.append(alt.Chart(band).mark_rect(color=RANGE_FILL, opacity=0.12).encode(y="lo:Q", y2="hi:Q"))
        range_note = f" (shaded: normal range {'' if pd.isna(lo) else f'{lo:g}'} to {'' if pd.isna(hi) else f'{hi:g}'})"
    elif len(distinct) > 1:
        # Ranges differ between subjects (e.g. sex-specific): one shaded band would be wrong for
        # some of them, so none is drawn and the spread of limits is named instead.
        def span(col):
            v = distinct[col].dropna()
            return "" if v.empty else (f"{v.min():g}" if v.min() == v.max() else f"{v.min():g}-{v.max():g}")
        range_note = (f" (normal ranges differ between subjects, e.g. by sex: lower limit {span('anrlo')}, "
                      f"upper limit {span('anrhi')}; not shaded)")
    tips = [alt.Tooltip("visit:N", title="Visit"), alt.Tooltip("arm:N", title="Arm"), alt.Tooltip("n:Q"),
            alt.Tooltip("median:Q", format=".2f", title="Median"), alt.Tooltip("q1:Q", format=".2f", title="Q1"),
            alt.Tooltip("q3:Q", format=".2f", title="Q3")]
    layers.append(alt.Chart(stats).mark_rule(strokeWidth=2).encode(
        x=x, y=alt.Y("lo:Q", title=f"{data['param'].iloc[0]}", scale=alt.Scale(zero=False)),
        y2="hi:Q", color=color, tooltip=tips))
    layers.append(alt.Chart(stats).mark_bar(opacity=0.55, stroke="black", strokeWidth=1, size=10).encode(
        x=x, y="q1:Q", y2="q3:Q", color=color, tooltip=tips))
    layers.append(alt.Chart(stats).mark_tick(color="black", thickness=3, size=14, orient="horizontal").encode(
        x=x, y="median:Q", tooltip=tips))
    sel = _subject_selection()
    layers.append(alt.Chart(outliers if len(outliers) else data.iloc[0:0].assign(visit_x=[])).mark_point(
        filled=True, size=90, opacity=0.9).encode(
        x=x, y="aval:Q", color=color,
        tooltip=[alt.Tooltip("usubjid:N", title="Subject"), alt.Tooltip("arm:N", title="Arm"),
                 alt.Tooltip("visit:N", title="Visit"), alt.Tooltip("date:N", title="Date"),
                 alt.Tooltip("aval:Q", title=f"Value ({unit})")]).add_params(sel))
    notes = [n for n in (range_note.strip(" ()"), visit_note) if n]
    title = alt.TitleParams(f"{data['param'].iloc[0]} by visit; points: outliers (click to open the subject)",
                            subtitle=notes or alt.Undefined, subtitleFontSize=FONT_SIZE)
    return projector(alt.layer(*layers).properties(title=title), height=560)


# -- eDISH (edish_subjects) --------------------------------------------------------------------

def edish_chart(frame: pd.DataFrame, alt_line: float = 3.0, tbl_line: float = 2.0) -> alt.Chart:
    """eDISH: peak ALT (or AST) x ULN vs peak total bilirubin x ULN, log axes, lines at 3x and 2x."""
    if frame is None or frame.empty:
        return empty_chart("No subjects with post-baseline ALT and bilirubin")
    data = frame[(frame["x_uln"] > 0) & (frame["tbl_x_uln"] > 0)].copy()
    for c in ("x_date", "tbl_date"):
        data[c] = pd.to_datetime(data[c]).dt.strftime("%Y-%m-%d")
    x_test = " or ".join(dict.fromkeys(data["x_test"])) or "ALT"
    lo = min(0.1, float(data["x_uln"].min()) / 1.5, float(data["tbl_x_uln"].min()) / 1.5)
    hi = max(30.0, float(data["x_uln"].max()) * 1.5, float(data["tbl_x_uln"].max()) * 1.5)
    dom = [lo, hi]
    sel = _subject_selection()
    points = alt.Chart(data).mark_circle(size=120).encode(
        x=alt.X("x_uln:Q", title=f"Peak {x_test} (x ULN)", scale=alt.Scale(type="log", domain=dom)),
        y=alt.Y("tbl_x_uln:Q", title="Peak total bilirubin (x ULN)", scale=alt.Scale(type="log", domain=dom)),
        color=arm_color(data),
        opacity=alt.condition(sel, alt.value(0.85), alt.value(0.3)),
        tooltip=[alt.Tooltip("usubjid:N", title="Subject"), alt.Tooltip("arm:N", title="Arm"),
                 alt.Tooltip("x_uln:Q", format=".2f", title=f"Peak {x_test} x ULN"),
                 alt.Tooltip("x_date:N", title="Date"),
                 alt.Tooltip("tbl_x_uln:Q", format=".2f", title="Peak bilirubin x ULN"),
                 alt.Tooltip("tbl_date:N", title="Bilirubin date"),
                 alt.Tooltip("alp_x_uln:Q", format=".2f", title="Peak ALP x ULN"),
                 alt.Tooltip("quadrant:N", title="Quadrant")],
    ).add_params(sel)
    vline = alt.Chart(pd.DataFrame({"v": [alt_line]})).mark_rule(color=LIMIT_COLOR, strokeWidth=2).encode(x="v:Q")
    hline = alt.Chart(pd.DataFrame({"v": [tbl_line]})).mark_rule(color=LIMIT_COLOR, strokeWidth=2).encode(y="v:Q")
    counts = data["quadrant"].value_counts()
    labels = pd.DataFrame({
        "x": [hi / 1.15, hi / 1.15, lo * 1.15, lo * 1.15], "y": [hi / 1.15, lo * 1.15, hi / 1.15, lo * 1.15],
        "align": ["right", "right", "left", "left"],
        "text": [f"Possible Hy's law: {counts.get(HYS, 0)}", f"Temple's corollary: {counts.get(TEMPLE, 0)}",
                 f"Hyperbilirubinemia: {counts.get('hyperbilirubinemia', 0)}", f"Normal: {counts.get('normal', 0)}"]})
    text = []
    for align in ("right", "left"):
        text.append(alt.Chart(labels[labels["align"] == align]).mark_text(
            align=align, fontSize=FONT_SIZE, fontWeight="bold", color=NEUTRAL).encode(x="x:Q", y="y:Q", text="text:N"))
    return projector(alt.layer(vline, hline, *text, points).properties(
        title=f"eDISH: lines at {alt_line:g}x ULN ({x_test}) and {tbl_line:g}x ULN (bilirubin)"), height=700)
