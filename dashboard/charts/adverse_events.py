"""Adverse-event charts: the AE explorer (incidence dot plot + risk-difference forest plot), the
per-subject AE timeline around infusions, and cumulative incidence of first events.

Each function takes the tidy frame of one registered table (``dashboard.analyses.adverse_events``)
and returns an Altair chart. In the blinded role those frames carry only the pooled arm, so
nothing here can show an arm that the data do not hold.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from dashboard.blinding import POOLED_ARM
from dashboard.charts.common import FONT_SIZE, SEVERITY_COLORS, TITLE_SIZE, arm_color, empty_chart, projector
from dashboard.filters import TOTAL_ARM

#: How many preferred terms the explorer shows at most (top by the sort key).
MAX_TERMS = 30
_ROW_PX = 32  # one readable row per term at 16 px labels (projector)


def _term_label(frame: pd.DataFrame) -> pd.Series:
    return frame["pt"].astype(str)


def _ranking_arm(frame: pd.DataFrame) -> str:
    arms = list(dict.fromkeys(frame["arm"]))
    return TOTAL_ARM if TOTAL_ARM in arms else arms[0]


def _limit_note(shown: int, total: int) -> str:
    return f"top {shown} of {total} preferred terms" if total > shown else f"{total} preferred terms"


def ae_dot_plot_chart(frame: pd.DataFrame, max_terms: int = MAX_TERMS) -> alt.Chart:
    """Incidence (% of subjects) per PT, one dot per arm (the pooled arm when blinded), PTs sorted
    by total incidence; tooltips give n/N. Input: ``ae_by_soc_pt``."""
    if frame.empty or not (frame["pt"] != "").any():
        return empty_chart("No treatment-emergent adverse events in this selection")
    pts = frame[frame["pt"] != ""].copy()
    rank_arm = _ranking_arm(pts)
    ranking = (pts[pts["arm"] == rank_arm].sort_values(["n", "pt"], ascending=[False, True]))
    order = list(dict.fromkeys(_term_label(ranking)))
    top = order[:max_terms]
    arms = [a for a in dict.fromkeys(pts["arm"]) if a != TOTAL_ARM] or [rank_arm]
    data = pts[pts["pt"].isin(top) & pts["arm"].isin(arms)].assign(term=lambda f: _term_label(f))
    chart = alt.Chart(data).mark_point(filled=True, size=140, opacity=0.9).encode(
        y=alt.Y("term:N", sort=top, title=None, axis=alt.Axis(labelLimit=320, labelOverlap=False)),
        x=alt.X("pct:Q", title="Subjects with the event (%)", scale=alt.Scale(zero=True)),
        color=arm_color(data),
        shape=alt.Shape("arm:N", sort=arms, legend=None),
        tooltip=[alt.Tooltip("soc:N", title="SOC"), alt.Tooltip("pt:N", title="Preferred term"),
                 alt.Tooltip("arm:N", title="Arm"), alt.Tooltip("n:Q", title="n"), alt.Tooltip("N:Q", title="N"),
                 alt.Tooltip("pct:Q", format=".1f", title="%"), alt.Tooltip("events:Q", title="Events")],
    ).properties(title=f"TEAE incidence by preferred term ({_limit_note(len(top), len(order))})")
    return projector(chart, height=max(160, _ROW_PX * len(top)))


def _explorer_long(frame: pd.DataFrame) -> pd.DataFrame:
    """Per PT one row per arm (control + active arms) for the dot plot."""
    active = frame[["soc", "pt", "arm", "n", "N", "pct"]]
    control = frame[["soc", "pt", "control_arm", "n_control", "N_control", "pct_control"]].drop_duplicates(
        ["soc", "pt"]).rename(columns={"control_arm": "arm", "n_control": "n", "N_control": "N",
                                        "pct_control": "pct"})
    return pd.concat([control, active], ignore_index=True)


def ae_explorer_chart(frame: pd.DataFrame, sort: str = "total", max_terms: int = MAX_TERMS) -> alt.Chart:
    """The AE explorer: incidence dot plot by arm beside a forest plot of the risk difference
    (active − control, Miettinen–Nurminen 95% CI) per PT. ``sort``: "total" (incidence over all
    arms, descending) or "rd" (largest risk difference of any active arm first). Input:
    ``ae_risk_difference`` (unblinded only)."""
    if frame.empty:
        return empty_chart("No treatment-emergent adverse events in this selection")
    if sort not in ("total", "rd"):
        raise ValueError(f"sort must be 'total' or 'rd'; got {sort!r}.")
    long = _explorer_long(frame)
    per_term = long.groupby(["soc", "pt"], as_index=False).agg(n=("n", "sum"), N=("N", "sum"))
    per_term["pct"] = 100.0 * per_term["n"] / per_term["N"]
    if sort == "rd":
        key = frame.groupby(["soc", "pt"], as_index=False)["rd"].max().rename(columns={"rd": "key"})
    else:
        key = per_term.rename(columns={"pct": "key"})[["soc", "pt", "key"]]
    key = key.sort_values(["key", "pt"], ascending=[False, True])
    order = list(dict.fromkeys(_term_label(key)))
    top = order[:max_terms]
    long = long[long["pt"].isin(top)].assign(term=lambda f: _term_label(f))
    rd = frame[frame["pt"].isin(top)].assign(term=lambda f: _term_label(f))
    arms = list(dict.fromkeys(long["arm"]))
    color = arm_color(long)
    y = alt.Y("term:N", sort=top, title=None, axis=alt.Axis(labelLimit=320, labelOverlap=False))
    y_forest = alt.Y("term:N", sort=top, title=None, axis=alt.Axis(labels=False, ticks=False, domain=False))
    height = max(160, _ROW_PX * len(top))
    dots = alt.Chart(long).mark_point(filled=True, size=140, opacity=0.9).encode(
        y=y, x=alt.X("pct:Q", title="Subjects with the event (%)", scale=alt.Scale(zero=True)),
        color=color, shape=alt.Shape("arm:N", sort=arms, legend=None),
        tooltip=[alt.Tooltip("pt:N", title="Preferred term"), alt.Tooltip("arm:N", title="Arm"),
                 alt.Tooltip("n:Q", title="n"), alt.Tooltip("N:Q", title="N"),
                 alt.Tooltip("pct:Q", format=".1f", title="%")],
    ).properties(width=EXPLORER_PANEL_PX, height=height, title="Incidence")
    tooltip = [alt.Tooltip("pt:N", title="Preferred term"), alt.Tooltip("arm:N", title="Arm"),
               alt.Tooltip("n:Q", title="n (arm)"), alt.Tooltip("N:Q", title="N (arm)"),
               alt.Tooltip("control_arm:N", title="Control"), alt.Tooltip("n_control:Q", title="n (control)"),
               alt.Tooltip("N_control:Q", title="N (control)"), alt.Tooltip("rd:Q", format=".1f", title="RD (% points)"),
               alt.Tooltip("rd_lower:Q", format=".1f", title="95% CI lower"),
               alt.Tooltip("rd_upper:Q", format=".1f", title="95% CI upper")]
    active_arms = list(dict.fromkeys(rd["arm"]))
    offset = alt.YOffset("arm:N", sort=active_arms) if len(active_arms) > 1 else alt.Undefined
    base = alt.Chart(rd).encode(y=y_forest, yOffset=offset, color=color)
    bars = base.mark_rule(strokeWidth=3).encode(x=alt.X("rd_lower:Q", title="Risk difference vs "
                                                        + str(rd["control_arm"].iloc[0]) + " (% points)"),
                                                x2="rd_upper:Q", tooltip=tooltip)
    points = base.mark_point(filled=True, size=120, shape="diamond").encode(x="rd:Q", tooltip=tooltip)
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(strokeDash=[6, 4], color="#4D4D4D").encode(x="x:Q")
    forest = alt.layer(zero, bars, points).properties(
        width=EXPLORER_PANEL_PX, height=height, title=alt.TitleParams(["Risk difference", "(Miettinen-Nurminen 95% CI)"]))
    chart = alt.hconcat(dots, forest).resolve_scale(y="shared").properties(
        title=f"AE explorer ({_limit_note(len(top), len(order))}, sorted by "
              f"{'total incidence' if sort == 'total' else 'risk difference'})")
    return _configure(chart)


#: Width of each AE-explorer panel: both panels and the term labels fit a 1280-px screen.
EXPLORER_PANEL_PX = 250


def _configure(chart):
    """The projector theme for a compound (concatenated) chart, whose size is set per panel."""
    return (chart.configure_axis(labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE, labelLimit=400, grid=True,
                                 gridOpacity=0.4)
            .configure_legend(labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE, symbolSize=200)
            .configure_title(fontSize=TITLE_SIZE, anchor="start")
            .configure_view(strokeWidth=0))


#: The timeline starts at most this many days before the first dose; earlier onsets are drawn at
#: the left edge (and counted in the title), so one old pre-treatment AE cannot squash the axis.
TIMELINE_EARLIEST_DAY = -30
TIMELINE_ROW_PX = 24
#: Plot width of each arm's panel (a faceted chart cannot take the container's width); with the
#: subject labels it fits a 1280-px screen.
TIMELINE_FACET_PX = 600


def ae_timeline_chart(frame: pd.DataFrame) -> alt.Chart:
    """One row per subject: AE bars from onset to end (ongoing to the data cut) coloured by
    severity, SAEs marked with a red triangle, study-drug administrations as black ticks; x = days
    since the first dose. Unblinded, one panel per arm, labelled. Input: ``ae_timeline``."""
    if frame.empty:
        return empty_chart("No adverse events in this selection")
    subjects = list(dict.fromkeys(frame["usubjid"]))
    data = frame.assign(astdt=frame["astdt"].astype(str), aendt=frame["aendt"].astype(str))  # dates -> JSON text
    data["end_plot"] = data["end_day"].fillna(data["start_day"]) + 0.9  # a one-day AE still shows as a bar
    for col in data.columns:  # missing text as empty text (an infusion row has no severity), never NaN
        if not (pd.api.types.is_numeric_dtype(data[col]) or pd.api.types.is_bool_dtype(data[col])):
            data[col] = data[col].astype(object).where(data[col].notna(), "").astype(str)
    ae = data[(data["kind"] == "AE") & data["start_day"].notna()]
    levels = [s for s in SEVERITY_COLORS if s in set(ae["severity"])] or list(SEVERITY_COLORS)
    by_arm = bool(set(data["arm"].dropna()) - {POOLED_ARM})
    tooltip = [alt.Tooltip("usubjid:N", title="Subject"), alt.Tooltip("pt:N", title="Preferred term"),
               alt.Tooltip("severity:N", title="Severity"), alt.Tooltip("serious:N", title="Serious"),
               alt.Tooltip("start_day:Q", title="Start (day)"), alt.Tooltip("end_day:Q", title="End (day)"),
               alt.Tooltip("ongoing:N", title="Ongoing")]
    if by_arm:
        tooltip.insert(1, alt.Tooltip("arm:N", title="Arm"))
    lo = max(float(data["start_day"].min()), TIMELINE_EARLIEST_DAY)
    early = int((ae["start_day"] < TIMELINE_EARLIEST_DAY).sum())
    x_scale = alt.Scale(domainMin=lo, clamp=True, nice=False)
    y = alt.Y("usubjid:N", sort=subjects, title=None, axis=alt.Axis(labelLimit=240))
    base = alt.Chart(data)
    bars = base.transform_filter("datum.kind == 'AE' && isValid(datum.start_day)").mark_bar(
        height=TIMELINE_ROW_PX - 8, opacity=0.9).encode(
        y=y, x=alt.X("start_day:Q", title="Days since first dose (day 1)", scale=x_scale), x2="end_plot:Q",
        color=alt.Color("severity:N", title="Severity", sort=levels,
                        scale=alt.Scale(domain=levels, range=[SEVERITY_COLORS[s] for s in levels]),
                        legend=alt.Legend(orient="top")),
        tooltip=tooltip)
    sae = base.transform_filter("datum.kind == 'AE' && datum.serious == 'Y' && isValid(datum.start_day)").mark_point(
        shape="triangle-down", filled=True, size=180, color="#B00020").encode(y=y, x="start_day:Q", tooltip=tooltip)
    ticks = base.transform_filter("datum.kind == 'Infusion'").mark_tick(color="black", thickness=2,
                                                                         size=TIMELINE_ROW_PX - 4).encode(
        y=y, x="start_day:Q", tooltip=[alt.Tooltip("usubjid:N", title="Subject"),
                                       alt.Tooltip("start_day:Q", title="Study drug given (day)"),
                                       alt.Tooltip("astdt:N", title="Date")])
    undated = int(((data["kind"] == "AE") & data["start_day"].isna()).sum())
    notes = [f"{undated} AE{'s' if undated != 1 else ''} without onset date not drawn"] if undated else []
    if early:
        notes.append(f"{early} AE{'s' if early != 1 else ''} starting before day {TIMELINE_EARLIEST_DAY} drawn at "
                     "the left edge")
    title = alt.TitleParams("AE timeline (bars: AEs by severity; red triangle: SAE; black tick: study drug given)",
                            subtitle=notes or alt.Undefined, subtitleFontSize=FONT_SIZE)
    layer = alt.layer(bars, ticks, sae)
    if not by_arm:
        return projector(layer.properties(title=title), height=alt.Step(TIMELINE_ROW_PX))
    layer = layer.properties(width=TIMELINE_FACET_PX, height=alt.Step(TIMELINE_ROW_PX))
    arms = list(dict.fromkeys(data.sort_values("arm_order")["arm"])) if "arm_order" in data else \
        list(dict.fromkeys(data["arm"]))
    chart = layer.facet(row=alt.Row("arm:N", sort=arms, title=None,
                                    header=alt.Header(labelAngle=0, labelAlign="left", labelAnchor="start",
                                                      labelOrient="top", labelFontSize=FONT_SIZE + 2,
                                                      labelFontWeight="bold"))
                        ).resolve_scale(y="independent").properties(title=title)
    return _configure(chart)


def ae_cumulative_incidence_chart(frame: pd.DataFrame, endpoint: str = "first_sae") -> alt.Chart:
    """Step curve of cumulative incidence (1 − KM, %) over days since first dose, one line per arm
    (pooled when blinded; Total hidden when arms are shown). Input: ``ae_cumulative_incidence``."""
    data = frame[frame["endpoint"] == endpoint]
    if data.empty:
        return empty_chart("No subjects in this selection")
    if set(data["arm"]) - {TOTAL_ARM}:
        data = data[data["arm"] != TOTAL_ARM]
    label = str(data["label"].iloc[0])
    line = alt.Chart(data).mark_line(interpolate="step-after", strokeWidth=3).encode(
        x=alt.X("day:Q", title="Days since first dose"),
        y=alt.Y("cum_inc:Q", title="Cumulative incidence (%)"),
        color=arm_color(data),
        tooltip=[alt.Tooltip("arm:N", title="Arm"), alt.Tooltip("day:Q", title="Day"),
                 alt.Tooltip("n:Q", title="Subjects with event"), alt.Tooltip("n_at_risk:Q", title="At risk"),
                 alt.Tooltip("N:Q", title="Subjects followed"),
                 alt.Tooltip("cum_inc:Q", format=".1f", title="Cumulative incidence %")])
    return projector(line.properties(title=f"{label}: cumulative incidence (1 - Kaplan-Meier)"), height=300)
