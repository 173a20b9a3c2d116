"""Overview: the headline numbers a board reads first, and what needs attention.

Built from other registered tables (never recomputed here), so the overview cannot disagree
with the page a number comes from.
"""

from __future__ import annotations

import pandas as pd

from dashboard import db
from dashboard.filters import FilterSpec


#: The analyses the overview reads, by registered name: (module, function).
_SOURCES = {
    "subject_flow": ("enrollment", "subject_flow"),
    "infusion_deviations": ("exposure", "infusion_deviations"),
    "ae_overview": ("adverse_events", "ae_overview"),
    "ae_serious_listing": ("adverse_events", "ae_serious_listing"),
    "kidney_events": ("renal", "kidney_events"),
    "kidney_events_by_subject": ("renal", "kidney_events_by_subject"),
    "hys_law_candidates": ("labs", "hys_law_candidates"),
}


def _table(name: str, con, spec: FilterSpec) -> pd.DataFrame | None:
    """The same analysis function the registry runs for ``name`` (None when not in this extract)."""
    import importlib

    from dashboard.tables import NotInExtract

    module, function = _SOURCES[name]
    try:
        compute = getattr(importlib.import_module(f"dashboard.analyses.{module}"), function)
    except (ModuleNotFoundError, AttributeError):
        return None
    try:
        return compute(con, spec)
    except NotInExtract:
        return None


def key_numbers(con, spec: FilterSpec) -> pd.DataFrame:
    """Headline counts by arm: randomized, treated, completed, discontinued (subject_flow); subjects
    with any TEAE, serious TEAE and AESI (ae_overview); eGFR decline >= 30% (kidney_events).

    Returns ``metric`` (stable key), ``label``, ``arm``, ``n``, ``N``, ``pct``, ``source`` (the
    registered table the number comes from).
    """
    parts = []
    flow = _table("subject_flow", con, spec)
    if flow is not None:
        keep = flow[flow["stage"].isin(["randomized", "treated", "completed", "ongoing", "discontinued"])]
        parts.append(keep.rename(columns={"stage": "metric"}).assign(source="subject_flow"))
    ae = _table("ae_overview", con, spec)
    if ae is not None:
        keep = ae[ae["category"].isin(["any_teae", "serious_teae", "aesi", "fatal_teae"])]
        labels = {"any_teae": "Any TEAE", "serious_teae": "Serious TEAE", "aesi": "AE of special interest",
                  "fatal_teae": "Fatal TEAE"}
        parts.append(keep.rename(columns={"category": "metric"}).assign(label=lambda f: f["metric"].map(labels),
                                                                          source="ae_overview"))
    kid = _table("kidney_events", con, spec)
    if kid is not None:
        keep = kid[kid["event"].isin(["egfr_decline_30", "egfr_decline_40_confirmed", "aki_stage_1"])]
        labels = {"egfr_decline_30": "eGFR decline >= 30%", "egfr_decline_40_confirmed": "Confirmed eGFR decline >= 40%",
                  "aki_stage_1": "AKI (KDIGO, any stage)"}
        parts.append(keep.rename(columns={"event": "metric"}).assign(label=lambda f: f["metric"].map(labels),
                                                                      source="kidney_events"))
    if not parts:
        return pd.DataFrame(columns=["metric", "label", "arm", "n", "N", "pct", "source"])
    out = pd.concat(parts, ignore_index=True)
    return out[["metric", "label", "arm", "n", "N", "pct", "source"]]


def attention_items(con, spec: FilterSpec) -> pd.DataFrame:
    """What needs the board's or data manager's attention, pooled over arms.

    Returns ``topic``, ``item``, ``count``, ``page`` (where to look). Counts only, never by arm.
    """
    items = []
    q = db.run(con, "SELECT sum(rows_quarantined) AS q FROM domain_counts")["q"].iloc[0] or 0
    flagged = db.run(con, "SELECT count(*) AS n FROM findings WHERE action = 'flagged'")["n"].iloc[0]
    if q:
        items.append(("Data quality", "Rows quarantined (not loaded)", int(q), "Data quality"))
    if flagged:
        items.append(("Data quality", "Records flagged (loaded; a value mapped or missing, or a visit missing or "
                      "out of window)", int(flagged), "Data quality"))
    items += _quarantined_safety_records(con)
    items += _not_available(con)
    sae = _table("ae_serious_listing", con, spec)
    if sae is not None and len(sae):
        items.append(("Safety", "Serious adverse events", int(len(sae)), "Adverse events"))
    ae = _table("ae_overview", con, spec)
    if ae is not None:
        total = ae[ae["arm"] == ae["arm"].iloc[-1]] if len(ae) else ae
        for key, text in (("fatal_teae", "Subjects with a fatal TEAE"),
                          ("teae_leading_to_discontinuation", "Subjects with a TEAE leading to discontinuation")):
            n = int(total.loc[total["category"] == key, "n"].sum())
            if n:
                items.append(("Safety", text, n, "Adverse events"))
    kid = _table("kidney_events_by_subject", con, spec)
    if kid is not None and len(kid):
        for event, text in (("egfr_decline_40_confirmed", "Subjects with a confirmed eGFR decline >= 40%"),
                            ("egfr_decline_30", "Subjects with an eGFR decline >= 30%"),
                            ("aki_stage_1", "Subjects with AKI (KDIGO)")):
            n = int(kid.loc[kid["event"] == event, "usubjid"].nunique())
            if n:
                items.append(("Renal", text, n, "Renal function"))
    hy = _table("hys_law_candidates", con, spec)
    if hy is not None and len(hy):
        items.append(("Liver", "Potential Hy's law cases", int(hy["usubjid"].nunique()), "Lab shifts & liver"))
    dev = _table("infusion_deviations", con, spec)
    if dev is not None and len(dev):
        items.append(("Exposure", "Missed or delayed infusions", int(len(dev)), "Exposure"))
    return pd.DataFrame(items, columns=["topic", "item", "count", "page"])


#: Domains whose records are safety records (an AE, a death, a lab value).
SAFETY_DOMAINS = {"ADSL": "subject record", "ADAE": "adverse event", "ADLB": "lab record"}


def _quarantined_safety_records(con) -> list[tuple]:
    """One attention item per quarantined safety record (file, row, subject and why), so no
    dropped AE, death or lab value is visible only on the Data quality page."""
    rows = db.run(con, """
        SELECT domain, file, row, usubjid, string_agg(DISTINCT "check", ', ' ORDER BY "check") AS checks
        FROM findings WHERE action = 'quarantined' AND domain IN (SELECT unnest($domains))
        GROUP BY ALL ORDER BY domain, file, row""", {"domains": list(SAFETY_DOMAINS)})
    def subject(u) -> str:
        return u if isinstance(u, str) and u not in ("", "nan", "None") else "missing"

    return [("Data quality", f"Quarantined {SAFETY_DOMAINS[r.domain]}: {r.file} row {r.row} "
             f"(USUBJID {subject(r.usubjid)}): {r.checks}", 1, "Data quality") for r in rows.itertuples(index=False)]


def _not_available(con) -> list[tuple]:
    """Subject-level variables no source in the extract could give (derivations table)."""
    if not db.table_exists(con, "derivations"):
        return []
    rows = db.run(con, "SELECT message FROM derivations WHERE status = 'not available' ORDER BY domain, variable")
    return [("Data quality", m, None, "Data quality") for m in rows["message"]]


def register(add) -> None:
    from dashboard.formatting import n_pct_table
    from dashboard.tables import TableSpec

    add(TableSpec("key_numbers", "Key numbers", "overview", key_numbers, display=n_pct_table("label", "Subjects"), order=10,
                  definition="From the registered tables subject_flow, ae_overview and kidney_events; "
                  "% of the arm's randomized (flow) or safety (AE, renal) subjects."))
    add(TableSpec("attention_items", "What needs attention", "overview", attention_items, order=20,
                  definition="Pooled counts; open the named page for details."))
