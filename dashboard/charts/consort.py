"""CONSORT-style flow diagram as Graphviz DOT (rendered by st.graphviz_chart in the browser)."""

from __future__ import annotations

import pandas as pd


def consort_dot(flow: pd.DataFrame) -> str:
    """DOT text for the subject_flow table: screened -> randomized -> per arm treated/completed/...

    Pure function of the tidy ``subject_flow`` frame (stage, arm, n).
    """
    def n(stage, arm=None):
        sub = flow[flow["stage"] == stage]
        if arm is not None:
            sub = sub[sub["arm"] == arm]
        return int(sub["n"].max()) if len(sub) else 0

    arms = [a for a in dict.fromkeys(flow.loc[flow["stage"] == "randomized", "arm"]) if a != "Total"]
    total_rand = n("randomized", "Total") if (flow["arm"] == "Total").any() else n("randomized")
    lines = ['digraph G {', 'rankdir=TB; node [shape=box, fontsize=16, fontname="Helvetica", style=rounded];',
             f'screened [label="Screened\\nn={n("screened")}"];',
             f'sf [label="Screen failure\\nn={n("screen_failure")}"];',
             f'rand [label="Randomized\\nn={total_rand}"];',
             "screened -> rand; screened -> sf;"]
    for i, arm in enumerate(arms):
        label = arm.replace('"', "'")
        lines.append(f'arm{i} [label="{label}\\nrandomized n={n("randomized", arm)}\\n'
                     f'treated n={n("treated", arm)}"];')
        lines.append(f'out{i} [label="Completed n={n("completed", arm)}\\nOngoing n={n("ongoing", arm)}\\n'
                     f'Discontinued n={n("discontinued", arm)}"];')
        lines.append(f"rand -> arm{i}; arm{i} -> out{i};")
    lines.append("}")
    return "\n".join(lines)
