"""Overview: the headline numbers a board reads first, and what needs attention.

Built from other registered tables (never recomputed here), so the overview cannot disagree
with the page a number comes from.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dashboard import db
from dashboard.analyses.adverse_events import OVERVIEW_CATEGORIES, ae_overview, ae_overview_subjects, ae_serious_listing
from dashboard.analyses.enrollment import FLOW_SUBJECT_STAGES, subject_flow, subject_flow_subjects
from dashboard.analyses.exposure import infusion_deviations
from dashboard.analyses.labs import hys_law_candidates
from dashboard.analyses.renal import kidney_events, kidney_events_by_subject
from dashboard.blinding import POOLED_ARM
from dashboard.filters import TOTAL_ARM, FilterSpec
from dashboard.tables import NotInExtract, TableSpec


def _table(compute, con, spec: FilterSpec) -> pd.DataFrame | None:
    """The registered analysis ``compute`` on this filter (None when not in this extract)."""
    try:
        return compute(con, spec)
    except NotInExtract:
        return None


#: The kidney endpoints among the key numbers, with their labels.
_KIDNEY_LABELS = {"egfr_decline_30": "eGFR decline >= 30%", "egfr_decline_40_confirmed": "Confirmed eGFR decline >= 40%",
                  "aki_stage_1": "AKI (KDIGO, any stage)"}


def key_numbers(con, spec: FilterSpec) -> pd.DataFrame:
    """Headline counts by arm: randomized, treated, completed, discontinued (subject_flow); subjects
    with any TEAE, serious TEAE and AESI (ae_overview); eGFR decline >= 30% (kidney_events).

    Returns ``metric`` (stable key), ``label``, ``arm``, ``n``, ``N``, ``pct``, ``source`` (the
    registered table the number comes from).
    """
    parts = []
    flow = _table(subject_flow, con, spec)
    if flow is not None:
        keep = flow[flow["stage"].isin(["randomized", "treated", "completed", "ongoing", "discontinued"])]
        parts.append(keep.rename(columns={"stage": "metric"}).assign(source="subject_flow"))
    ae = _table(ae_overview, con, spec)
    if ae is not None:
        keep = ae[ae["category"].isin(["any_teae", "serious_teae", "aesi", "fatal_teae"])]
        labels = {"any_teae": "Any TEAE", "serious_teae": "Serious TEAE", "aesi": "AE of special interest",
                  "fatal_teae": "Fatal TEAE"}
        parts.append(keep.rename(columns={"category": "metric"}).assign(label=lambda f: f["metric"].map(labels),
                                                                          source="ae_overview"))
    kid = _table(kidney_events, con, spec)
    if kid is not None:
        keep = kid[kid["event"].isin(list(_KIDNEY_LABELS))]
        parts.append(keep.rename(columns={"event": "metric"}).assign(label=lambda f: f["metric"].map(_KIDNEY_LABELS),
                                                                      source="kidney_events"))
    if not parts:
        return pd.DataFrame(columns=["metric", "label", "arm", "n", "N", "pct", "source"])
    out = pd.concat(parts, ignore_index=True)
    return out[["metric", "label", "arm", "n", "N", "pct", "source"]]


def key_number_subjects(con, spec: FilterSpec, metric: str) -> pd.DataFrame:
    """The subjects counted in one row of :func:`key_numbers` (every arm), one row each:
    ``usubjid``, ``arm``, sorted by subject id. Each metric's subjects come from the same analysis
    as its count (subject flow, AE overview, kidney events). Raises NotInExtract when the number
    is not available in this extract."""
    if metric in FLOW_SUBJECT_STAGES:
        rows = subject_flow_subjects(con, spec, metric)
    elif metric in dict(OVERVIEW_CATEGORIES):
        rows = ae_overview_subjects(con, spec, metric)
    elif metric in _KIDNEY_LABELS:
        events = kidney_events_by_subject(con, spec)
        rows = events.loc[events["event"] == metric, ["usubjid", "arm"]]
    else:
        raise ValueError(f"{metric!r} is not a key number.")
    out = rows[["usubjid", "arm"]].drop_duplicates("usubjid")
    return out.sort_values("usubjid", kind="stable").reset_index(drop=True)


def key_number_metric(frame: pd.DataFrame | None, chosen: pd.DataFrame | None) -> str | None:
    """The metric (stable key) of the row chosen in the displayed Key numbers (column "Subjects")."""
    if frame is None or chosen is None or chosen.empty or "Subjects" not in chosen:
        return None
    hits = frame.loc[frame["label"] == chosen["Subjects"].iloc[0], "metric"]
    return str(hits.iloc[0]) if len(hits) else None


def key_number_sources(frame: pd.DataFrame | None, chosen: pd.DataFrame) -> list[str]:
    """The registered tables behind the chosen rows of the displayed Key numbers (column "Subjects")."""
    if frame is None or chosen is None or chosen.empty or "Subjects" not in chosen:
        return []
    wanted = set(chosen["Subjects"])
    return list(dict.fromkeys(frame.loc[frame["label"].isin(wanted), "source"]))


def _by_arm(frame: pd.DataFrame | None, subjects: bool = True) -> str:
    """``"Placebo 1 · UC-MSC 2"``: subjects (or rows) per arm of a by-arm frame; empty when the
    frame is pooled (the blinded role) or has no ``arm``."""
    if frame is None or frame.empty or "arm" not in frame:
        return ""
    arms = [a for a in dict.fromkeys(frame["arm"].dropna().astype(str)) if a not in (POOLED_ARM, TOTAL_ARM)]
    if not arms:
        return ""
    count = (lambda sub: sub["usubjid"].nunique()) if subjects and "usubjid" in frame else len
    return " · ".join(f"{arm} {int(count(frame[frame['arm'] == arm]))}" for arm in arms)


#: What an attention row's count counts: subjects, records (of the source files; findings for the
#: data-quality rows) or events (SAEs, missed or delayed infusions).
SUBJECTS, RECORDS, EVENTS = "subjects", "records", "events"


@dataclass(frozen=True)
class AttentionRow:
    """One row of :func:`attention_items` with what is behind its count."""

    topic: str
    item: str
    count: int | None
    page: str
    by_arm: str = ""
    #: what ``count`` counts (:data:`SUBJECTS`, :data:`RECORDS` or :data:`EVENTS`); None: not available
    counts: str | None = None
    #: the subjects behind the count (``usubjid``, ``arm``), ADSL subjects only (each has a profile)
    subjects: pd.DataFrame | None = None
    #: for a row about source records: one row per record counted (``usubjid``, ``file``, ``row``,
    #: ``detail``), so its length is the count
    records: pd.DataFrame | None = None
    #: why some records have no subject to open (missing USUBJID, not in ADSL); "" otherwise
    note: str = ""


def attention_rows(con, spec: FilterSpec) -> list[AttentionRow]:
    """What needs the board's or data manager's attention, each row with the subjects (and, for
    rows about records, the source records) behind its count.

    Rows, in order: data quality (rows quarantined, records flagged, records contradicting another
    domain: counts of findings' records; one row per quarantined safety record; variables not
    available: no count), serious adverse events (events), subjects with a fatal TEAE or a TEAE
    leading to discontinuation, kidney events, potential Hy's law and other ALT/AST + bilirubin
    elevations (subjects), missed or delayed infusions (events).
    """
    items: list[AttentionRow] = []
    q = db.run(con, "SELECT sum(rows_quarantined) AS q FROM domain_counts")["q"].iloc[0] or 0
    from dashboard.consistency import CHECKS

    flagged = _flagged_records(con, list(CHECKS), consistency=False)
    contradictions = _flagged_records(con, list(CHECKS), consistency=True)
    if q:
        records = _quarantined_records(con)
        items.append(_records_row(con, spec, "Data quality", "Rows quarantined (not loaded)", int(q), "Data quality",
                                  records))
    if len(flagged):
        items.append(_records_row(con, spec, "Data quality", "Records flagged (loaded; a value mapped or missing, or "
                                  "a visit missing or out of window)", len(flagged), "Data quality", flagged))
    if len(contradictions):
        items.append(_records_row(con, spec, "Data quality", "Records contradicting another domain (e.g. fatal AE, "
                                  "ADSL alive)", len(contradictions), "Data quality", contradictions))
    items += _quarantined_safety_records(con, spec)
    items += _not_available(con)
    sae = _table(ae_serious_listing, con, spec)
    if sae is not None and len(sae):
        records = pd.DataFrame({"usubjid": sae["usubjid"], "file": sae["SRC_FILE"], "row": sae["SRC_ROW"],
                                "detail": sae["pt"]})
        items.append(AttentionRow("Safety", "Serious adverse events", int(len(sae)), "Adverse events",
                                  _by_arm(sae, subjects=False), EVENTS, _subjects_of(sae), records))
    ae = _table(ae_overview, con, spec)
    if ae is not None:
        total = ae[ae["arm"] == ae["arm"].iloc[-1]] if len(ae) else ae
        for key, text in (("fatal_teae", "Subjects with a fatal TEAE"),
                          ("teae_leading_to_discontinuation", "Subjects with a TEAE leading to discontinuation")):
            n = int(total.loc[total["category"] == key, "n"].sum())
            if n:
                rows = ae[(ae["category"] == key) & (ae["n"] > 0)]
                by_arm = " · ".join(f"{a} {int(k)}" for a, k in zip(rows["arm"], rows["n"])
                                    if a not in (POOLED_ARM, TOTAL_ARM))
                items.append(AttentionRow("Safety", text, n, "Adverse events", by_arm, SUBJECTS,
                                          _subjects_of(ae_overview_subjects(con, spec, key))))
    kid = _table(kidney_events_by_subject, con, spec)
    if kid is not None and len(kid):
        for event, text in (("egfr_decline_40_confirmed", "Subjects with a confirmed eGFR decline >= 40%"),
                            ("egfr_decline_30", "Subjects with an eGFR decline >= 30%"),
                            ("aki_stage_1", "Subjects with AKI (KDIGO)")):
            rows = kid[kid["event"] == event]
            n = int(rows["usubjid"].nunique())
            if n:
                items.append(AttentionRow("Renal", text, n, "Renal function", _by_arm(rows), SUBJECTS,
                                          _subjects_of(rows)))
    hy = _table(hys_law_candidates, con, spec)
    if hy is not None and len(hy):
        # Only the cases the table classifies as potential Hy's law are counted as such; ALT/AST
        # with bilirubin elevated for another reason (cholestatic, no ALP) is its own line.
        potential = hy[hy["potential_hys_law"].fillna(False).astype(bool)]
        other = hy[~hy["usubjid"].isin(potential["usubjid"])]
        if len(potential):
            items.append(AttentionRow("Liver", "Potential Hy's law cases", int(potential["usubjid"].nunique()),
                                      "Lab shifts & liver", _by_arm(potential), SUBJECTS, _subjects_of(potential)))
        if len(other):
            items.append(AttentionRow("Liver", "ALT/AST and bilirubin elevated, not potential Hy's law (e.g. "
                                      "cholestatic)", int(other["usubjid"].nunique()), "Lab shifts & liver",
                                      _by_arm(other), SUBJECTS, _subjects_of(other)))
    dev = _table(infusion_deviations, con, spec)
    if dev is not None and len(dev):
        items.append(AttentionRow("Exposure", "Missed or delayed infusions", int(len(dev)), "Exposure",
                                  _by_arm(dev, subjects=False), EVENTS, _subjects_of(dev)))
    return items


def attention_items(con, spec: FilterSpec) -> pd.DataFrame:
    """What needs the board's or data manager's attention (:func:`attention_rows`).

    Returns ``topic``, ``item``, ``count``, ``page`` (where to look) and ``by_arm`` (the count per
    arm, e.g. "Placebo 1 · UC-MSC 2"; empty in the blinded role, where results are pooled, and for
    data-quality items, which are not by arm).
    """
    rows = [(r.topic, r.item, r.count, r.page, r.by_arm) for r in attention_rows(con, spec)]
    return pd.DataFrame(rows, columns=["topic", "item", "count", "page", "by_arm"])


def attention_row(con, spec: FilterSpec, item: str) -> AttentionRow:
    """The attention row whose ``item`` text is ``item``. Raises NotInExtract for a row whose
    count is not available (its text says what it needs), ValueError for an unknown item."""
    for row in attention_rows(con, spec):
        if row.item == item:
            if row.counts is None:
                raise NotInExtract(row.item)
            return row
    raise ValueError(f"{item!r} is not an attention item for this extract and filter.")


def attention_subjects(con, spec: FilterSpec, item: str) -> pd.DataFrame:
    """The subjects behind one attention row (``usubjid``, ``arm``; sorted by subject id); the
    frame's ``attrs["note"]`` says why a record behind it has no subject to open, if one has none."""
    row = attention_row(con, spec, item)
    out = row.subjects.copy()
    out.attrs["note"] = row.note
    return out


def attention_records(con, spec: FilterSpec, item: str) -> pd.DataFrame | None:
    """The source records behind one attention row about records (``usubjid``, ``file``, ``row``,
    ``detail``, ``arm``: one per record counted); None for a row about subjects."""
    row = attention_row(con, spec, item)
    if row.records is None:
        return None
    arms = row.subjects.drop_duplicates("usubjid").set_index("usubjid")["arm"]
    out = row.records.assign(arm=row.records["usubjid"].map(arms))
    # file order (in the blinded role the row numbers are in subject order): never arm order
    return out.sort_values(["file", "row", "usubjid"], kind="stable", na_position="last").reset_index(drop=True)


def attention_item(frame: pd.DataFrame | None, chosen: pd.DataFrame | None) -> str | None:
    """The item text of the row chosen in the displayed attention list (column "What needs attention")."""
    column = "What needs attention"
    if frame is None or chosen is None or chosen.empty or column not in chosen:
        return None
    item = str(chosen[column].iloc[0])
    return item if item in set(frame["item"]) else None


def _subjects_of(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per subject of a by-subject frame (``usubjid``, ``arm``), sorted by subject id."""
    out = frame[["usubjid", "arm"]].drop_duplicates("usubjid")
    return out.sort_values("usubjid", kind="stable").reset_index(drop=True)


def _flagged_records(con, checks: list[str], consistency: bool) -> pd.DataFrame:
    """Flagged findings behind an attention count, one per finding (``usubjid``, ``file``, ``row``,
    ``detail``: the check), in file order: the cross-domain ``checks`` (``consistency``) or the others."""
    return db.run(con, """SELECT usubjid, file, row, "check" AS detail FROM findings
                          WHERE action = 'flagged' AND list_contains($c, "check") = $x
                          ORDER BY file, row NULLS LAST, usubjid, "check" """, {"c": checks, "x": consistency})


def _quarantined_records(con) -> pd.DataFrame:
    """One row per quarantined source row (file and row; its checks), as ``domain_counts`` counts them."""
    return db.run(con, """SELECT any_value(usubjid) AS usubjid, file, row,
                                 string_agg(DISTINCT "check", ', ' ORDER BY "check") AS detail
                          FROM findings WHERE action = 'quarantined' AND row IS NOT NULL
                          GROUP BY file, row ORDER BY file, row""")


def _records_row(con, spec: FilterSpec, topic: str, item: str, count: int, page: str,
                 records: pd.DataFrame) -> AttentionRow:
    """An attention row about source records: its subjects are the records' subjects found in
    ADSL; a record with no USUBJID, or one ADSL lacks, is named in the note."""
    subjects, note = _record_subjects(con, spec, records)
    return AttentionRow(topic, item, count, page, "", RECORDS, subjects, records.reset_index(drop=True), note)


def _record_subjects(con, spec: FilterSpec, records: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The ADSL subjects of some records (``usubjid``, ``arm``) and a note on the records without one."""
    known = db.run(con, "SELECT usubjid, arm FROM subjects WHERE list_contains($ids, usubjid)",
                   {"ids": [str(u) for u in records["usubjid"].dropna().unique()]})
    missing = int(records["usubjid"].isna().sum())
    unknown = sorted(set(records["usubjid"].dropna().astype(str)) - set(known["usubjid"]))
    notes = []
    if missing:
        notes.append(f"{missing} record{'s' if missing != 1 else ''} with no USUBJID (a file-level or subject-less "
                     "finding)")
    if unknown:
        notes.append(f"{len(unknown)} subject{'s' if len(unknown) != 1 else ''} not in ADSL ({', '.join(unknown)})")
    note = ("No subject profile for " + " and ".join(notes) + ".") if notes else ""
    return _subjects_of(known), note


def _attention_display(frame: pd.DataFrame) -> pd.DataFrame:
    """The attention list as read: the by-arm column only when there is something by arm."""
    shown = frame.rename(columns={"by_arm": "By arm"})
    return shown.drop(columns="By arm") if (shown["By arm"] == "").all() else shown


#: Domains whose records are safety records (an AE, a death, a lab value).
SAFETY_DOMAINS = {"ADSL": "subject record", "ADAE": "adverse event", "ADLB": "lab record"}


def _quarantined_safety_records(con, spec: FilterSpec) -> list[AttentionRow]:
    """One attention item per quarantined safety record (file, row, subject and why), so no
    dropped AE, death or lab value is visible only on the Data quality page."""
    rows = db.run(con, """
        SELECT domain, file, row, any_value(usubjid) AS usubjid,
               string_agg(DISTINCT "check", ', ' ORDER BY "check") AS checks
        FROM findings WHERE action = 'quarantined' AND domain IN (SELECT unnest($domains))
        GROUP BY domain, file, row ORDER BY domain, file, row""", {"domains": list(SAFETY_DOMAINS)})
    out = []
    for r in rows.itertuples(index=False):
        usubjid = r.usubjid if isinstance(r.usubjid, str) and r.usubjid.strip() else None
        where = f"row {int(r.row)}" if pd.notna(r.row) else "(no row)"
        text = (f"Quarantined {SAFETY_DOMAINS[r.domain]}: {r.file} {where} "
                f"(USUBJID {usubjid or 'missing'}): {r.checks}")
        record = pd.DataFrame({"usubjid": [usubjid], "file": [r.file], "row": [r.row], "detail": [r.checks]})
        out.append(_records_row(con, spec, "Data quality", text, 1, "Data quality", record))
    return out


def _not_available(con) -> list[tuple]:
    """Subject-level variables no source in the extract could give (derivations table)."""
    if not db.table_exists(con, "derivations"):
        return []
    rows = db.run(con, "SELECT message FROM derivations WHERE status = 'not available' ORDER BY domain, variable")
    return [AttentionRow("Data quality", m, None, "Data quality") for m in rows["message"]]


def register(add) -> None:
    from dashboard.formatting import n_pct_table

    add(TableSpec("key_numbers", "Key numbers", "overview", key_numbers, display=n_pct_table("label", "Subjects"), order=10,
                  subjects=lambda con, spec, row: key_number_subjects(con, spec, row["metric"]),
                  definition="The same numbers as Enrollment & disposition, Adverse events and Renal function. Subject "
                  "counts are % of the arm's randomized subjects; AE and renal rows show n/N (%) of the arm's safety "
                  "population (N can differ from the header's randomized N)."))
    add(TableSpec("attention_items", "What needs attention", "overview", attention_items, order=20,
                  display=_attention_display,
                  subjects=lambda con, spec, row: attention_subjects(con, spec, row["item"]),
                  records=lambda con, spec, row: attention_records(con, spec, row["item"]),
                  definition="Choose a row for the subjects behind its count; the named page has the detail."))
