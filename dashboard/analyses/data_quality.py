"""Data quality: validation status per domain, findings traced to file and row, provenance.

Nothing here carries an arm: findings are made after blinding, so in the blinded role they
cannot hold a treatment value.
"""

from __future__ import annotations

import pandas as pd

from dashboard import db
from dashboard.filters import FilterSpec


def validation_summary(con, spec: FilterSpec) -> pd.DataFrame:
    """Rows read, accepted and quarantined, and rows flagged, per domain.

    Returns ``domain``, ``rows_read``, ``rows_accepted``, ``rows_quarantined``, ``findings_quarantined``
    (findings behind the quarantined rows; a row can have several), ``findings_flagged``.
    """
    return db.run(con, """
        SELECT c.domain, c.rows_read, c.rows_accepted, c.rows_quarantined,
               count(f.check) FILTER (WHERE f.action = 'quarantined') AS findings_quarantined,
               count(f.check) FILTER (WHERE f.action = 'flagged') AS findings_flagged
        FROM domain_counts c LEFT JOIN findings f ON f.domain = c.domain
        GROUP BY ALL ORDER BY c.domain""")


def validation_findings(con, spec: FilterSpec) -> pd.DataFrame:
    """Every finding: ``domain``, ``file``, ``row``, ``usubjid``, ``column``, ``check``, ``value``,
    ``message``, ``action`` (quarantined: row not loaded; flagged: row loaded, needs review)."""
    return db.run(con, "SELECT * FROM findings ORDER BY action DESC, domain, file, row")


def findings_by_check(con, spec: FilterSpec) -> pd.DataFrame:
    """Findings counted per domain, check and action (``domain``, ``check``, ``action``, ``findings``, ``subjects``)."""
    return db.run(con, """SELECT domain, "check", action, count(*) AS findings, count(DISTINCT usubjid) AS subjects
                          FROM findings GROUP BY ALL ORDER BY domain, findings DESC""")


def extract_provenance(con, spec: FilterSpec) -> pd.DataFrame:
    """One row per source file: format, sha256, row accounting, data cut, role, load time."""
    return db.run(con, "SELECT * FROM provenance ORDER BY domain, file")


def variable_derivations(con, spec: FilterSpec) -> pd.DataFrame:
    """How each analysis variable the extract lacks (or carries empty) was resolved at load.

    Definition: docs/definitions.md "Variable resolution" (``data_contracts.resolution``).
    Returns one row per domain x variable x rule: ``domain``, ``variable``, ``rule``, ``source``
    (the columns read), ``rows_affected``, ``status`` (derived / not available), ``message``.
    """
    if not db.table_exists(con, "derivations"):
        return pd.DataFrame(columns=["domain", "variable", "rule", "source", "rows_affected", "status", "message"])
    return db.run(con, """SELECT * FROM derivations
                          ORDER BY status DESC, CASE domain WHEN 'ADSL' THEN 0 ELSE 1 END, domain, variable, source""")


def blinding_decisions(con, spec: FilterSpec) -> pd.DataFrame:
    """Columns removed by the blinded role and the rule that removed each (empty when unblinded)."""
    return db.run(con, "SELECT * FROM blinding_log ORDER BY domain, rule, \"column\"")


def register(add) -> None:
    from dashboard.tables import TableSpec

    add(TableSpec("validation_summary", "Validation status by domain", "data_quality", validation_summary, order=10,
                  definition="Every input row is either loaded (accepted) or quarantined with its reason: "
                  "rows read = rows accepted + rows quarantined."))
    add(TableSpec("findings_by_check", "Findings by check", "data_quality", findings_by_check, order=20))
    add(TableSpec("validation_findings", "All findings (traced to file, row and subject)", "data_quality",
                  validation_findings, order=30,
                  definition="quarantined: the row is not loaded; flagged: the row is loaded and needs review "
                  "(missing or out-of-window visits)."))
    add(TableSpec("variable_derivations", "Variables derived at load", "data_quality", variable_derivations,
                  order=35, definition="Resolution order per domain (data_contracts/resolution.py): the ADaM variable, "
                  "its alias, the date part of its datetime twin, or a derivation from standard variables; a column "
                  "that exists but is empty counts as absent. 'not available': no source in this extract."))
    add(TableSpec("extract_provenance", "Extract provenance", "data_quality", extract_provenance, order=40))
    add(TableSpec("blinding_decisions", "Columns removed for blinding", "data_quality", blinding_decisions, order=50,
                  definition="Rules B1-B4 of dashboard/blinding.py: treatment, dose/product, manifest-listed and "
                  "arm-identifying columns never reach the blinded database."))
