"""What changed since the previous extract (named in extract.toml), pooled over arms.

The loader puts the previous extract's domain tables, loaded in the same role, beside the
current ones as ``prev_<domain>``. Records are matched on the domain contract's record key
(the key columns both extracts carry; all shared columns when there is no key).
"""

from __future__ import annotations

import pandas as pd

from dashboard import db
from dashboard.filters import FilterSpec
from dashboard.labels import label_columns
from dashboard.tables import NotInExtract
from data_contracts import CONTRACTS

_TRACE = {"SRC_FILE", "SRC_ROW"}
#: The date that places a record before or after a data cut, per domain.
RECORD_DATE = {"ADSL": "RANDDT", "ADAE": "ASTDT", "ADLB": "ADT", "ADVS": "ADT", "ADEX": "ASTDT"}
#: ADSL columns that move forward as a trial runs (disposition, follow-up dates): an update of
#: these is progress, not an edit (disposition changes are listed by ``changes_since_previous_cut``).
ADSL_EVOLVING = {"EOSSTT", "EOSDT", "DCSREAS", "DCDECOD", "DTHFL", "DTHDT", "LSTALVDT", "TRTEDT", "TRTDURD",
                 "EOSDY", "DTHDY"}
#: ADAE columns that may change while an event is open (no end date at the previous cut).
ADAE_OPEN_EVOLVING = {"AENDT", "AENDY", "AEOUT", "AESEV", "AETOXGR", "AESER", "AESDTH", "AEACN", "ADURN", "ADURU"}
SEVERITY_RANK = {"MILD": 1, "MODERATE": 2, "SEVERE": 3}


def _require_previous(con) -> None:
    if not db.table_exists(con, "prev_study"):
        raise NotInExtract("extract.toml names no previous extract ([extract] previous = '...'), "
                           "or it could not be loaded (see the load notes).")


def _match_key(con, domain: str) -> list[str]:
    """Record-key columns present and non-empty in both the current and the previous table."""
    table = domain.lower()
    cur, prev = set(db.table_columns(con, table)), set(db.table_columns(con, f"prev_{table}"))
    shared = [c for c in db.table_columns(con, table) if c in prev and c not in _TRACE]
    key = []
    for c in CONTRACTS[domain].record_key:
        if c in shared and con.execute(f'SELECT count("{c}") > 0 FROM "{table}"').fetchone()[0]:
            key.append(c)
    if domain != "ADSL" and not (set(key) - {"USUBJID"}):
        key = [c for c in shared if c != "PARAMTYP"]
    return key


def _on(key: list[str], cur: str = "c", prev: str = "p") -> str:
    """The join condition matching a current and a previous record on ``key`` (missing = missing)."""
    return " AND ".join(f'{cur}."{k}" IS NOT DISTINCT FROM {prev}."{k}"' for k in key)


def _compared_domains(con):
    """(domain, table, record key) for every domain both the current and the previous extract hold."""
    for domain in CONTRACTS:
        table = domain.lower()
        if db.table_exists(con, table) and db.table_exists(con, f"prev_{table}"):
            yield domain, table, _match_key(con, domain)


def _key_sql(key: list[str], alias: str) -> str:
    return ", ".join(f'{alias}."{c}"' for c in key)


def _randomized_sql(con, table: str) -> str:
    """Condition for a randomized ADSL row, from RANDFL, else RANDDT, else ITTFL (as the
    ``subjects`` view derives it); TRUE when the table has none of them."""
    cols = set(db.table_columns(con, table))
    if "RANDFL" in cols:
        return "upper(coalesce(RANDFL, '')) = 'Y'"
    if "RANDDT" in cols:
        return "RANDDT IS NOT NULL"
    if "ITTFL" in cols:
        return "upper(coalesce(ITTFL, '')) = 'Y'"
    return "TRUE"


def changes_since_previous(con, spec: FilterSpec) -> pd.DataFrame:
    """Counts that changed between the previous and the current extract, per domain.

    Population: every record of each domain (filters do not apply: this describes the data
    flow, not an analysis). Returns ``domain``, ``measure``, ``previous``, ``current``,
    ``change``: subjects (ADSL), records, records added (key not in the previous extract),
    records removed; for ADAE also serious AEs; for ADSL also deaths (DTHFL='Y') and
    discontinuations of randomized subjects (EOSSTT='DISCONTINUED').
    """
    _require_previous(con)
    rows = []
    for domain, table, key in _compared_domains(con):
        on = _on(key)
        counts = con.execute(f"""
            SELECT (SELECT count(*) FROM "prev_{table}"), (SELECT count(*) FROM "{table}"),
                   (SELECT count(*) FROM "{table}" c WHERE NOT EXISTS (SELECT 1 FROM "prev_{table}" p WHERE {on})),
                   (SELECT count(*) FROM "prev_{table}" p WHERE NOT EXISTS (SELECT 1 FROM "{table}" c WHERE {on}))
        """).fetchone()
        label = "subjects" if domain == "ADSL" else "records"
        rows += [(domain, label, counts[0], counts[1]),
                 (domain, f"{label} added", None, counts[2]),
                 (domain, f"{label} no longer present", None, counts[3])]
        for column, value, measure in (("AESER", "Y", "serious adverse events"),
                                       ("DTHFL", "Y", "deaths"),
                                       ("EOSSTT", "DISCONTINUED", "discontinued subjects (randomized)")):
            if column in db.table_columns(con, table) and column in db.table_columns(con, f"prev_{table}"):
                # Discontinuations count randomized subjects only, as Key numbers and the subject
                # flow do: a screen failure's EOSSTT is DISCONTINUED too.
                only = _randomized_sql(con, table) if column == "EOSSTT" else "TRUE"
                prev_n, cur_n = con.execute(
                    f"""SELECT (SELECT count(*) FROM "prev_{table}" WHERE upper("{column}") = $v
                                  AND {_randomized_sql(con, f"prev_{table}") if column == "EOSSTT" else "TRUE"}),
                               (SELECT count(*) FROM "{table}" WHERE upper("{column}") = $v AND {only})""",
                    {"v": value}).fetchone()
                rows.append((domain, measure, prev_n, cur_n))
    out = pd.DataFrame(rows, columns=["domain", "measure", "previous", "current"])
    out["change"] = out["current"] - out["previous"].fillna(0)
    out.loc[out["previous"].isna(), "change"] = out["current"]
    return out.astype({"previous": "Int64", "current": "Int64", "change": "Int64"})


def new_serious_adverse_events(con, spec: FilterSpec) -> pd.DataFrame:
    """Serious adverse events in the current extract that the previous extract did not have.

    Pooled listing (no arm): ``usubjid``, ``pt``, ``soc``, ``astdt``, ``aesev``, ``aeout``,
    ``SRC_FILE``, ``SRC_ROW``.
    """
    _require_previous(con)
    if not (db.table_exists(con, "adae") and db.table_exists(con, "prev_adae")):
        raise NotInExtract("ADAE is missing from the current or the previous extract.")
    key = _match_key(con, "ADAE")
    on = _on(key)
    return db.run(con, f"""
        SELECT c.USUBJID AS usubjid, c.AEDECOD AS pt, c.AEBODSYS AS soc, c.ASTDT AS astdt, c.AESEV AS aesev,
               c.AEOUT AS aeout, c.SRC_FILE, c.SRC_ROW
        FROM adae c WHERE upper(c.AESER) = 'Y'
          AND NOT EXISTS (SELECT 1 FROM prev_adae p WHERE {on})
        ORDER BY c.ASTDT, c.USUBJID""")


def _new_display(frame: pd.DataFrame) -> pd.DataFrame:
    shown = frame.assign(date=[("" if d is None or pd.isna(d) else str(d)) for d in frame["date"]],
                         category=frame["category"].str.capitalize())
    return label_columns(shown)


def _record_changes_display(frame: pd.DataFrame) -> pd.DataFrame:
    shown = frame.assign(date=[("" if d is None or pd.isna(d) else str(d)) for d in frame["date"]])
    return label_columns(shown.rename(columns={"change": "kind", "record": "key"}))


def _changes_display(frame: pd.DataFrame) -> pd.DataFrame:
    shown = frame.astype({"previous": "object"})
    shown["previous"] = [("" if pd.isna(v) else str(int(v))) for v in frame["previous"]]
    return shown.rename(columns={"domain": "Domain", "measure": "Measure", "previous": "Previous extract",
                                 "current": "This extract", "change": "Change"})


def register(add) -> None:
    from dashboard.tables import TableSpec

    add(TableSpec("changes_since_previous_cut", "What is new since the previous data cut, by subject", "overview",
                  changes_since_previous_cut, display=_new_display, order=32,
                  definition="New subjects; new and worsened AEs and SAEs matched on USUBJID and AESEQ (not row order); "
                  "changed disposition; new kidney events, newly abnormal and newly graded labs: in the registered "
                  "analysis now but not when it is run at the previous extract's data cut. Pooled; no arm."))
    add(TableSpec("record_changes", "Records added, changed or removed since the previous extract", "overview",
                  record_changes, display=_record_changes_display, order=37,
                  definition="Records matched on each domain's record key. A late entry is a new record dated on or "
                  "before the previous cut; a changed value is an edit of a record the previous extract held (the "
                  "expected progress of disposition, follow-up dates and open AEs is not an edit); 'no longer "
                  "present' is a previous record missing now. Filters do not apply."))

    add(TableSpec("changes_since_previous", "Changes since the previous extract", "overview", changes_since_previous,
                  display=_changes_display, order=30, definition="Records matched on each domain's record key; the previous extract is the "
                  "one named in extract.toml ([extract] previous), loaded in the same role. Filters do not apply."))
    add(TableSpec("new_serious_adverse_events", "Serious adverse events new since the previous extract", "overview",
                  new_serious_adverse_events, order=35,
                  definition="AESER='Y' records whose record key the previous extract did not have (pooled)."))


def previous_cut(con):
    """The previous extract's data cut (a date), or None when it has none."""
    _require_previous(con)
    value = db.run(con, "SELECT data_cut FROM prev_study")["data_cut"].iloc[0]
    return pd.to_datetime(value).date() if value else None


def _value_changes(con, domain: str, key: list[str]) -> pd.DataFrame:
    """One row per (record, column) whose value differs between the extracts: key columns,
    ``record_date`` (the current record's :data:`RECORD_DATE`), ``column``, ``previous``,
    ``current`` (as text)."""
    table = domain.lower()
    date_col = RECORD_DATE.get(domain)
    date_sql = f'CAST(c."{date_col}" AS DATE)' if date_col in db.table_columns(con, table) else "NULL::DATE"
    prev_cols = set(db.table_columns(con, f"prev_{table}"))
    compared = [c for c in db.table_columns(con, table) if c in prev_cols and c not in key and c not in _TRACE]
    if not compared:
        return pd.DataFrame(columns=[*key, "record_date", "column", "previous", "current"])
    on = _on(key)
    keys = ", ".join(f'c."{k}"' for k in key)
    parts = [f"""SELECT {keys}, {date_sql} AS record_date, '{c}' AS "column", CAST(p."{c}" AS VARCHAR) AS previous,
                        CAST(c."{c}" AS VARCHAR) AS current
                 FROM "{table}" c JOIN "prev_{table}" p ON {on}
                 WHERE CAST(c."{c}" AS VARCHAR) IS DISTINCT FROM CAST(p."{c}" AS VARCHAR)""" for c in compared]
    return db.run(con, " UNION ALL ".join(parts))


def _record_text(row, key: list[str]) -> str:
    """The record key beyond USUBJID as text: ``AESEQ=3`` or ``PARAMCD=K, ADT=2021-02-09, AVISIT=Week 3``."""
    return ", ".join(f"{k}={_show(row[k])}" for k in key if k != "USUBJID" and pd.notna(row[k]))


def record_changes(con, spec: FilterSpec) -> pd.DataFrame:
    """Record by record, what differs from the previous extract: what a data manager checks.

    Population: every record of each domain (filters do not apply). Records are matched on the
    domain's record key (:func:`_match_key`). ``change`` is one of

    - ``new subject``: an ADSL subject the previous extract did not have;
    - (new records dated after the previous cut are expected and only counted, in
      :func:`changes_since_previous`);
    - ``late entry``: a new record dated on or before the previous cut: it existed then but was not
      in the previous extract;
    - ``changed value``: a matched record with a different value, except the expected progress of a
      trial (ADSL disposition and follow-up dates, :data:`ADSL_EVOLVING`; an AE open at the previous
      cut gaining its end, outcome or a worse severity, :data:`ADAE_OPEN_EVOLVING`);
    - ``no longer present``: a previous record whose key the current extract lacks.

    Returns ``domain``, ``change``, ``usubjid``, ``record`` (the key beyond USUBJID), ``date``,
    ``detail`` (``COLUMN: previous -> current``; several columns joined by "; "), sorted by
    domain, change, subject, record.
    """
    _require_previous(con)
    cut = previous_cut(con)
    rows = []
    for domain, table, key in _compared_domains(con):
        cols = set(db.table_columns(con, table))
        date_col = RECORD_DATE.get(domain)
        date_sql = f'CAST(x."{date_col}" AS DATE)' if date_col in cols else "NULL::DATE"
        on = _on(key, "x", "y")
        keys = ", ".join(f'x."{k}"' for k in key)
        added = db.run(con, f"""SELECT {keys}, {date_sql} AS date FROM "{table}" x
                                WHERE NOT EXISTS (SELECT 1 FROM "prev_{table}" y WHERE {on})""")
        prev_date = date_sql if date_col in set(db.table_columns(con, f"prev_{table}")) else "NULL::DATE"
        removed = db.run(con, f"""SELECT {keys}, {prev_date} AS date FROM "prev_{table}" x
                                  WHERE NOT EXISTS (SELECT 1 FROM "{table}" y WHERE {on})""")
        for _, r in added.iterrows():
            if domain == "ADSL":
                kind = "new subject"
            elif cut is not None and pd.notna(r["date"]) and r["date"] <= cut:
                kind = "late entry"
            else:
                continue  # expected new data: counted in changes_since_previous
            rows.append((domain, kind, r["USUBJID"], _record_text(r, key), r["date"], ""))
        for _, r in removed.iterrows():
            rows.append((domain, "no longer present", r["USUBJID"], _record_text(r, key), r["date"], ""))
        changed = _value_changes(con, domain, key)
        if domain == "ADSL":
            changed = changed[~changed["column"].isin(ADSL_EVOLVING)]
        elif domain == "ADAE" and len(changed) and "AENDT" in db.table_columns(con, "prev_adae"):
            open_keys = db.run(con, f'SELECT {", ".join(chr(34) + k + chr(34) for k in key)} FROM prev_adae '
                                    'WHERE AENDT IS NULL')
            was_open = set(open_keys.itertuples(index=False, name=None))
            rec = pd.Series(list(changed[key].itertuples(index=False, name=None)), index=changed.index)
            changed = changed[~(rec.isin(was_open) & changed["column"].isin(ADAE_OPEN_EVOLVING))]
        if len(changed):
            for _, group in changed.groupby(key, dropna=False, sort=True):
                first = group.iloc[0]
                detail = "; ".join(f"{c}: {_show(p)} -> {_show(n)}"
                                   for c, p, n in zip(group["column"], group["previous"], group["current"]))
                date = first["record_date"]
                rows.append((domain, "changed value", first["USUBJID"], _record_text(first, key),
                             date if pd.notna(date) else None, detail))
    out = pd.DataFrame(rows, columns=["domain", "change", "usubjid", "record", "date", "detail"])
    return out.sort_values(["domain", "change", "usubjid", "record"], kind="stable").reset_index(drop=True)


NEW_COLUMN = "New since previous cut"


def new_since_previous(con, frame: pd.DataFrame) -> pd.Series | None:
    """For a record listing (rows traced by ``SRC_FILE``/``SRC_ROW``): True where the record's key
    is not in the previous extract. None when there is no previous extract or the frame is not a
    record listing. Index aligned with ``frame``."""
    cols = {c.lower(): c for c in frame.columns}
    if not ({"src_file", "src_row"} <= set(cols) and db.table_exists(con, "prev_study")) or frame.empty:
        return None
    refs = pd.DataFrame({"i": range(len(frame)), "f": frame[cols["src_file"]].astype(str).to_numpy(),
                         "r": pd.to_numeric(frame[cols["src_row"]], errors="coerce").to_numpy()})
    flags = pd.Series(False, index=frame.index)
    found = False
    for _, table, key in _compared_domains(con):
        on = _on(key)
        with db.frame_as(con, "listing_refs", refs) as cur:
            hits = cur.sql(f"""SELECT x.i, NOT EXISTS (SELECT 1 FROM "prev_{table}" p WHERE {on}) AS is_new
                               FROM listing_refs x JOIN "{table}" c
                                 ON c.SRC_FILE = x.f AND CAST(c.SRC_ROW AS DOUBLE) = x.r""").fetchall()
        for i, is_new in hits:
            found = True
            flags.iloc[int(i)] = bool(is_new)
    return flags if found else None


def mark_new(shown: pd.DataFrame, flags: pd.Series, only_new: bool = False) -> pd.DataFrame:
    """The display table with the :data:`NEW_COLUMN` marks ("new" or empty), optionally only the new rows."""
    marked = shown.assign(**{NEW_COLUMN: ["new" if f else "" for f in flags]})
    return marked[list(flags)].reset_index(drop=True) if only_new else marked


def changes_since_previous_cut(con, spec: FilterSpec) -> pd.DataFrame:
    """What is clinically new since the previous cut, subject by subject (pooled; no arm).

    ``category`` (in this order): ``new subject`` (ADSL key new); ``new adverse event`` /
    ``new serious adverse event`` (ADAE key new, AESER); ``worsened adverse event`` (same key, worse
    AESEV or AETOXGR, or became serious or fatal); ``changed disposition`` (EOSSTT, DCSREAS or DTHFL
    differs from the previous extract); ``newly abnormal lab`` (a subject x parameter with a value
    outside the reference range in ``lab_abnormal_listing`` now but not in the same analysis at the
    previous cut's date); ``newly graded lab`` (its worst CTCAE grade rose); ``new kidney event``
    (``kidney_events_by_subject`` likewise). The analyses are the registered ones, run with
    ``spec`` and with ``spec`` cut at the previous extract's data cut; late-entered records are
    listed by :func:`record_changes`.

    Returns ``category``, ``usubjid``, ``item``, ``date``, ``detail``.
    """
    import dataclasses

    from dashboard.analyses.labs import lab_abnormal_listing
    from dashboard.analyses.renal import kidney_events_by_subject

    _require_previous(con)
    cut = previous_cut(con)
    rows = []
    if db.table_exists(con, "prev_adsl"):
        key = _match_key(con, "ADSL")
        on = _on(key)
        rand = "c.RANDDT" if "RANDDT" in db.table_columns(con, "adsl") else "NULL::DATE"
        for r in db.run(con, f"""SELECT c.USUBJID, {rand} AS d FROM adsl c
                                 WHERE NOT EXISTS (SELECT 1 FROM prev_adsl p WHERE {on})""").itertuples():
            rows.append(("new subject", r.USUBJID, "entered the trial", r.d, ""))
        changed = _value_changes(con, "ADSL", key)
        changed = changed[changed["column"].isin(["EOSSTT", "DCSREAS", "DCDECOD", "DTHFL"])]
        for usubjid, group in changed.groupby("USUBJID", sort=True):
            rows.append(("changed disposition", usubjid, "end of study / death", None,
                         "; ".join(f"{c}: {_show(p)} -> {_show(n)}" for c, p, n in
                                   zip(group["column"], group["previous"], group["current"]))))
    if db.table_exists(con, "adae") and db.table_exists(con, "prev_adae"):
        rows += _ae_changes(con)
    at_cut = dataclasses.replace(spec, data_cut=cut)
    rows += _new_by_subject(con, lab_abnormal_listing, spec, at_cut, "newly abnormal lab", "newly graded lab")
    rows += _new_by_subject(con, kidney_events_by_subject, spec, at_cut, "new kidney event", None)
    out = pd.DataFrame(rows, columns=["category", "usubjid", "item", "date", "detail"])
    out["date"] = [None if d is None or pd.isna(d) else pd.Timestamp(d).date() for d in out["date"]]
    order = {c: i for i, c in enumerate(CHANGE_CATEGORIES)}
    return (out.assign(_o=out["category"].map(order)).sort_values(["_o", "usubjid", "item"], kind="stable")
            .drop(columns="_o").reset_index(drop=True))


CHANGE_CATEGORIES = ("new subject", "new serious adverse event", "new adverse event", "worsened adverse event",
                     "changed disposition", "new kidney event", "newly abnormal lab", "newly graded lab")


def _ae_changes(con) -> list[tuple]:
    key = _match_key(con, "ADAE")
    on = _on(key)
    cols = set(db.table_columns(con, "adae")) & set(db.table_columns(con, "prev_adae"))

    def col(alias, name):
        return f'{alias}."{name}"' if name in cols else "NULL"

    rows = []
    new = db.run(con, f"""SELECT c.USUBJID, {col('c', 'AEDECOD')} AS pt, CAST({col('c', 'ASTDT')} AS DATE) AS d,
                                 {col('c', 'AESEV')} AS sev, upper(coalesce({col('c', 'AESER')}, '')) = 'Y' AS ser
                          FROM adae c WHERE NOT EXISTS (SELECT 1 FROM prev_adae p WHERE {on})""")
    for r in new.itertuples():
        rows.append(("new serious adverse event" if r.ser else "new adverse event", r.USUBJID, r.pt, r.d,
                     _show(r.sev)))
    both = db.run(con, f"""SELECT c.USUBJID, {col('c', 'AEDECOD')} AS pt, CAST({col('c', 'ASTDT')} AS DATE) AS d,
                                  {col('p', 'AESEV')} AS sev0, {col('c', 'AESEV')} AS sev1,
                                  TRY_CAST({col('p', 'AETOXGR')} AS INTEGER) AS gr0,
                                  TRY_CAST({col('c', 'AETOXGR')} AS INTEGER) AS gr1,
                                  upper(coalesce({col('p', 'AESER')}, '')) = 'Y' AS ser0,
                                  upper(coalesce({col('c', 'AESER')}, '')) = 'Y' AS ser1,
                                  upper(coalesce({col('p', 'AESDTH')}, '')) = 'Y' AS dth0,
                                  upper(coalesce({col('c', 'AESDTH')}, '')) = 'Y' AS dth1
                           FROM adae c JOIN prev_adae p ON {on}""")
    for r in both.itertuples():
        worse = []
        if SEVERITY_RANK.get(str(r.sev1).upper(), 0) > SEVERITY_RANK.get(str(r.sev0).upper(), 0) and pd.notna(r.sev0):
            worse.append(f"severity {r.sev0} -> {r.sev1}")
        if pd.notna(r.gr0) and pd.notna(r.gr1) and r.gr1 > r.gr0:
            worse.append(f"grade {int(r.gr0)} -> {int(r.gr1)}")
        if r.ser1 and not r.ser0:
            worse.append("became serious")
        if r.dth1 and not r.dth0:
            worse.append("became fatal")
        if worse:
            rows.append(("worsened adverse event", r.USUBJID, r.pt, r.d, "; ".join(worse)))
    return rows


def _new_by_subject(con, analysis, spec, at_cut, new_label, graded_label) -> list[tuple]:
    """Subject x item pairs an analysis returns now but not at the previous cut (and, with
    ``graded_label``, pairs whose worst CTCAE grade rose)."""
    try:
        now, then = analysis(con, spec), analysis(con, at_cut)
    except NotInExtract:
        return []
    item = "param" if "param" in now.columns else "label"
    date = "adt" if "adt" in now.columns else "first_date"
    if item == "param":  # abnormal = outside the reference range
        now_abn = now[now["category"].isin(["LOW", "HIGH"])]
        then_abn = then[then["category"].isin(["LOW", "HIGH"])]
    else:
        now_abn, then_abn = now, then
    seen = set(zip(then_abn["usubjid"], then_abn[item]))
    rows = []
    firsts = now_abn.sort_values(date).drop_duplicates(["usubjid", item])
    for r in firsts.itertuples(index=False):
        if (r.usubjid, getattr(r, item)) not in seen:
            detail = f"{r.category} ({r.aval:g} {r.unit})" if item == "param" else f"value {r.value:g} {r.unit}"
            rows.append((new_label, r.usubjid, getattr(r, item), getattr(r, date), detail))
    if graded_label and "grade" in now.columns:
        worst_now = now.dropna(subset=["grade"]).groupby(["usubjid", "term"])["grade"].max()
        worst_then = then.dropna(subset=["grade"]).groupby(["usubjid", "term"])["grade"].max()
        for (usubjid, term), grade in worst_now.items():
            before = worst_then.get((usubjid, term))
            if grade >= 1 and (before is None or pd.isna(before) or grade > before):
                was = "none" if before is None or pd.isna(before) else f"{int(before)}"
                rows.append((graded_label, usubjid, term, None, f"worst CTCAE grade {was} -> {int(grade)}"))
    return rows


def _show(value) -> str:
    """A value as text: missing as "(missing)", whole numbers without ".0"."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "(missing)"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
