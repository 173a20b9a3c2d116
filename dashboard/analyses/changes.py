"""What changed since the previous extract (named in extract.toml), pooled over arms.

The loader puts the previous extract's domain tables, loaded in the same role, beside the
current ones as ``prev_<domain>``. Records are matched on the domain contract's record key
(the key columns both extracts carry; all shared columns when there is no key).
"""

from __future__ import annotations

import pandas as pd

from dashboard import db
from dashboard.filters import FilterSpec
from dashboard.tables import NotInExtract
from data_contracts import CONTRACTS

_TRACE = {"SRC_FILE", "SRC_ROW"}


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
    for domain in CONTRACTS:
        table = domain.lower()
        if not (db.table_exists(con, table) and db.table_exists(con, f"prev_{table}")):
            continue
        key = _match_key(con, domain)
        on = " AND ".join(f'c."{k}" IS NOT DISTINCT FROM p."{k}"' for k in key)
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
    on = " AND ".join(f'c."{k}" IS NOT DISTINCT FROM p."{k}"' for k in key)
    return db.run(con, f"""
        SELECT c.USUBJID AS usubjid, c.AEDECOD AS pt, c.AEBODSYS AS soc, c.ASTDT AS astdt, c.AESEV AS aesev,
               c.AEOUT AS aeout, c.SRC_FILE, c.SRC_ROW
        FROM adae c WHERE upper(c.AESER) = 'Y'
          AND NOT EXISTS (SELECT 1 FROM prev_adae p WHERE {on})
        ORDER BY c.ASTDT, c.USUBJID""")


def _changes_display(frame: pd.DataFrame) -> pd.DataFrame:
    shown = frame.astype({"previous": "object"})
    shown["previous"] = [("" if pd.isna(v) else str(int(v))) for v in frame["previous"]]
    return shown.rename(columns={"domain": "Domain", "measure": "Measure", "previous": "Previous extract",
                                 "current": "This extract", "change": "Change"})


def register(add) -> None:
    from dashboard.tables import TableSpec

    add(TableSpec("changes_since_previous", "Changes since the previous extract", "overview", changes_since_previous,
                  display=_changes_display, order=30, definition="Records matched on each domain's record key; the previous extract is the "
                  "one named in extract.toml ([extract] previous), loaded in the same role. Filters do not apply."))
    add(TableSpec("new_serious_adverse_events", "Serious adverse events new since the previous extract", "overview",
                  new_serious_adverse_events, order=35,
                  definition="AESER='Y' records whose record key the previous extract did not have (pooled)."))
