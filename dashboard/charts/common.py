"""Shared chart conventions: the arm palette and a theme readable on a projector.

Okabe-Ito colours (colour-blind safe). Arms take colours in display order, so an arm has the
same colour on every chart of a session; the pooled "All subjects" series and "Total" are grey.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from dashboard.blinding import POOLED_ARM
from dashboard.filters import TOTAL_ARM

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
NEUTRAL = "#4D4D4D"
#: Severity: light blue, orange, dark wine (Tol), grey: distinct in hue and in lightness, so
#: MODERATE and SEVERE stay apart for colour-blind readers and in greyscale.
SEVERITY_COLORS = {"MILD": "#56B4E9", "MODERATE": "#E69F00", "SEVERE": "#882255", "Missing": "#999999"}
FONT_SIZE = 16
TITLE_SIZE = 20


def arm_colors(arms: list[str]) -> dict[str, str]:
    """Colour per arm label, in the order given."""
    out, i = {}, 0
    for arm in arms:
        if arm in (POOLED_ARM, TOTAL_ARM):
            out[arm] = NEUTRAL
        else:
            out[arm] = OKABE_ITO[i % len(OKABE_ITO)]
            i += 1
    return out


def arm_color(frame: pd.DataFrame, field: str = "arm", title: str = "Arm", legend: bool = True) -> alt.Color:
    """An Altair colour encoding for the arms present in ``frame`` (frame order)."""
    arms = list(dict.fromkeys(frame[field].astype(str))) if field in frame else []
    colors = arm_colors(arms)
    return alt.Color(f"{field}:N", title=title, sort=arms,
                     scale=alt.Scale(domain=arms, range=[colors[a] for a in arms]),
                     legend=alt.Legend(orient="top", labelLimit=400) if legend else None)


def projector(chart: alt.Chart, width: int | str = "container", height: int = 380) -> alt.Chart:
    """Large type and no chart junk: the projector defaults for every chart."""
    return (chart.properties(width=width, height=height)
            .configure_axis(labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE, labelLimit=400, grid=True,
                            gridOpacity=0.4)
            .configure_legend(labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE, symbolSize=200)
            .configure_title(fontSize=TITLE_SIZE, anchor="start")
            .configure_header(labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE)
            .configure_view(strokeWidth=0))


def empty_chart(message: str) -> alt.Chart:
    """A chart that says why there is nothing to draw (never a blank box)."""
    return alt.Chart(pd.DataFrame({"t": [message]})).mark_text(size=FONT_SIZE).encode(text="t:N")
