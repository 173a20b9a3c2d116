"""The visit axis of the by-visit charts: visits at their planned study day, labelled by name.

Equally spaced visits (weeks 1-4, then 8 ... 48) distort time, so a by-visit chart puts each visit on
a quantitative axis at its planned day (:func:`dashboard.bds.visit_target_day`: Baseline 1, Week N
7N+1, Day N, Month N). A visit without a planned day (End of Treatment, unscheduled-type labels)
has no place on a time axis: it is left out of the chart and named in a note (its values stay in
the table).
"""

from __future__ import annotations

import json

import altair as alt
import numpy as np
import pandas as pd

from dashboard.bds import visit_target_day


def planned_days(visits) -> dict:
    """Visit name -> planned study day (float), for the visits that have one."""
    out = {}
    for v in dict.fromkeys(visits):
        day = visit_target_day(v)
        if day is not None:
            out[v] = float(day)
    return out


def placed(frame: pd.DataFrame, visit_col: str = "visit") -> tuple[pd.DataFrame, dict, str]:
    """(rows of visits with a planned day, with ``visit_day``; visit -> day; a note naming the
    visits left out, empty when none)."""
    days = planned_days(frame[visit_col])
    left_out = [str(v) for v in dict.fromkeys(frame[visit_col]) if v not in days]
    note = (f"Not drawn (no planned day on the time axis; in the table): {', '.join(left_out)}"
            if left_out else "")
    kept = frame[frame[visit_col].isin(list(days))]
    return kept.assign(visit_day=kept[visit_col].map(days).astype(float)), days, note


def dodged(days: pd.Series, arms: pd.Series, order: list, span: float, share: float = 0.012) -> np.ndarray:
    """Each arm's x position: the visit day moved by a small fraction of the axis ``span`` per arm,
    so the arms' marks at one visit sit side by side around the visit's day."""
    k = len(order)
    index = arms.map({a: i for i, a in enumerate(order)}).to_numpy(float)
    return days.to_numpy(float) + (index - (k - 1) / 2.0) * share * span


def visit_axis(days: dict, title: str | None = "Study day (visits at their planned day)") -> alt.X:
    """A quantitative x encoding of ``visit_x`` with one tick per visit day, labelled by visit name."""
    by_day: dict[float, str] = {}
    for visit, day in sorted(days.items(), key=lambda kv: kv[1]):
        by_day.setdefault(day, str(visit))
    label = "''"
    for day, name in reversed(list(by_day.items())):
        label = f"datum.value == {day:g} ? {json.dumps(name)} : {label}"
    lo, hi = min(by_day, default=0.0), max(by_day, default=1.0)
    pad = max(7.0, 0.04 * (hi - lo))
    return alt.X("visit_x:Q", title=title, scale=alt.Scale(domain=[lo - pad, hi + pad], nice=False, zero=False),
                 axis=alt.Axis(values=list(by_day), labelExpr=label, labelAngle=-45 if len(by_day) > 6 else 0,
                               labelOverlap=False, grid=False))
