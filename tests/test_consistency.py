"""Cross-domain consistency findings (dashboard.consistency): flagged, with file, row and subject.

Each test loads the tiny extract of conftest.py with one contradiction planted, and compares the
consistency findings with a literal table. The contradicting records stay loaded.
"""

from __future__ import annotations

import pandas as pd
from pandas.testing import assert_frame_equal

from dashboard import db
from dashboard.analyses.overview import attention_items
from dashboard.consistency import CHECKS
from dashboard.filters import FilterSpec
from dashboard.load import load_extract
from tests.conftest import ADAE, ADSL
COLUMNS = ["domain", "file", "row", "usubjid", "column", "check", "value", "action"]


def _adsl(**columns) -> pd.DataFrame:
    """The tiny ADSL with extra columns, given as {column: [value of 01-001, ..., 01-004]}."""
    out = ADSL.copy()
    for name, values in columns.items():
        out[name] = values
    return out


def _adae(**columns) -> pd.DataFrame:
    """The tiny ADAE (rows: 01-001 headache, 01-002 nausea, 01-002 rash) with extra or changed columns."""
    out = ADAE.copy()
    for name, values in columns.items():
        out[name] = values
    return out


def _findings(folder) -> tuple[pd.DataFrame, object]:
    con, _ = load_extract(folder, "blinded")
    found = db.run(con, "SELECT * FROM findings WHERE \"check\" IN (SELECT unnest($c))", {"c": list(CHECKS)})
    found = found[COLUMNS].sort_values(["check", "file", "row"], na_position="first").reset_index(drop=True)
    found["row"] = found["row"].astype("Int64")
    return found, con


def _expected(rows: list[list]) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=COLUMNS)
    out = out.sort_values(["check", "file", "row"], na_position="first").reset_index(drop=True)
    out["row"] = out["row"].astype("Int64")
    return out


def _same(found: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert_frame_equal(found.astype(object).where(found.notna(), None),
                       expected.astype(object).where(expected.notna(), None), check_dtype=False)


def test_consistency_findings_fatal_ae_with_adsl_alive(tmp_path, make_extract):
    adsl = _adsl(DTHFL=["N", "N", "N", "N"], DTHDT=["", "", "", ""])
    # 01-002's rash is fatal (AEOUT) and serious; ADSL says 01-002 is alive.
    adae = _adae(AEOUT=["RECOVERED/RESOLVED", "RECOVERED/RESOLVED", "FATAL"], AESER=["N", "N", "Y"])
    found, con = _findings(make_extract(tmp_path, adsl=adsl, adae=adae))
    _same(found, _expected([
        ["ADAE", "adae.csv", 3, "01-002", "AEOUT", "fatal_ae_subject_alive", "FATAL", "flagged"],
    ]))
    message = db.run(con, "SELECT message FROM findings WHERE \"check\" = 'fatal_ae_subject_alive'")["message"].iloc[0]
    assert message == ('adae.csv: column AEOUT, row 3 (USUBJID=01-002): value "FATAL"; expected a subject recorded '
                       "as dead in ADSL for a fatal AE (ADSL DTHFL is N, DTHDT missing).")
    # flagged, not dropped: the fatal AE is still loaded, and the Overview lists the contradiction
    assert db.run(con, "SELECT count(*) AS n FROM adae")["n"].iloc[0] == 3
    items = attention_items(con, FilterSpec())
    assert items.loc[items["item"].str.startswith("Records contradicting"), "count"].tolist() == [1]


def test_consistency_findings_grade_5_and_aesdth_count_as_fatal(tmp_path, make_extract):
    adsl = _adsl(DTHFL=["N", "N", "N", "N"])
    adae = _adae(AETOXGR=["5", "1", "1"], AESDTH=["", "Y", ""], AESER=["Y", "Y", "N"])
    found, _ = _findings(make_extract(tmp_path, adsl=adsl, adae=adae))
    _same(found, _expected([
        ["ADAE", "adae.csv", 1, "01-001", "AETOXGR", "fatal_ae_subject_alive", "5", "flagged"],
        ["ADAE", "adae.csv", 2, "01-002", "AESDTH", "fatal_ae_subject_alive", "Y", "flagged"],
    ]))


def test_consistency_findings_death_date_before_ae_and_lab(tmp_path, make_extract):
    # 01-002 died on 2023-01-15: the rash (onset 2023-02-01) and the Week 2 labs (2023-01-17)
    # come after; the nausea (2023-01-11) and the baseline labs (2023-01-03) do not.
    adsl = _adsl(DTHFL=["", "Y", "", ""], DTHDT=["", "2023-01-15", "", ""])
    found, con = _findings(make_extract(tmp_path, adsl=adsl))
    _same(found, _expected([
        ["ADAE", "adae.csv", 3, "01-002", "ASTDT", "ae_after_death", "2023-02-01", "flagged"],
        ["ADLB", "adlb.csv", 6, "01-002", "ADT", "lab_after_death", "2023-01-17", "flagged"],
        ["ADLB", "adlb.csv", 8, "01-002", "ADT", "lab_after_death", "2023-01-17", "flagged"],
    ]))
    message = db.run(con, "SELECT message FROM findings WHERE \"check\" = 'ae_after_death'")["message"].iloc[0]
    assert message == ('adae.csv: column ASTDT, row 3 (USUBJID=01-002): value "2023-02-01"; expected an onset on '
                       "or before the ADSL death date DTHDT 2023-01-15.")
    # the derived eGFR of the creatinine record is not reported a second time
    assert db.run(con, "SELECT count(*) AS n FROM adlb WHERE PARAMCD = 'EGFR' AND USUBJID = '01-002'")["n"].iloc[0] == 2


def test_consistency_findings_ae_after_study_exit(tmp_path, make_extract):
    adsl = _adsl(EOSDT=["2023-03-01", "2023-01-31", "", "2023-03-04"])
    found, _ = _findings(make_extract(tmp_path, adsl=adsl))
    _same(found, _expected([
        ["ADAE", "adae.csv", 3, "01-002", "ASTDT", "ae_after_study_exit", "2023-02-01", "flagged"],
    ]))


def test_consistency_findings_trtemfl_contradicts_dates(tmp_path, make_extract):
    # row 1: TRTEMFL Y, onset 2023-01-01 before TRTSDT 2023-01-02;
    # row 2: TRTEMFL N, onset 2023-01-11 inside treatment (2023-01-03 .. 2023-03-02);
    # row 3: TRTEMFL N, onset on TRTSDT itself (could precede the dose): not flagged.
    adae = _adae(ASTDT=["2023-01-01", "2023-01-11", "2023-01-03"], AENDT=["2023-01-12", "2023-01-15", ""],
                 TRTEMFL=["Y", "N", "N"])
    found, _ = _findings(make_extract(tmp_path, adae=adae))
    _same(found, _expected([
        ["ADAE", "adae.csv", 1, "01-001", "TRTEMFL", "trtemfl_contradicts_dates", "Y", "flagged"],
        ["ADAE", "adae.csv", 2, "01-002", "TRTEMFL", "trtemfl_contradicts_dates", "N", "flagged"],
    ]))


def test_consistency_findings_more_fatal_than_serious(tmp_path, make_extract):
    adsl = _adsl(DTHFL=["", "Y", "", ""], DTHDT=["", "2023-02-01", "", ""])
    # the fatal rash is marked not serious; no AE is serious
    adae = _adae(AEOUT=["", "", "FATAL"])
    found, con = _findings(make_extract(tmp_path, adsl=adsl, adae=adae))
    _same(found, _expected([
        ["ADAE", "adae.csv", None, None, "AESER", "more_fatal_than_serious", "0", "flagged"],
        ["ADAE", "adae.csv", 3, "01-002", "AESER", "fatal_ae_not_serious", "N", "flagged"],
    ]))
    message = db.run(con, "SELECT message FROM findings WHERE \"check\" = 'more_fatal_than_serious'")["message"].iloc[0]
    assert message == ("adae.csv: 1 subjects have a fatal TEAE but only 0 a serious TEAE; expected every fatal "
                       "TEAE to be serious (ICH E2A).")


def test_consistency_findings_fatal_ae_without_adsl_death_variables_is_a_derived_death(tmp_path, make_extract):
    # ADSL has no DTHFL/DTHDT: the loader derives the death from the fatal AE (docs/definitions.md,
    # "Variable resolution"), so there is nothing to contradict
    adae = _adae(AEOUT=["", "", "FATAL"], AESER=["N", "N", "Y"])
    found, _ = _findings(make_extract(tmp_path, adae=adae))
    assert found.empty


def test_consistency_findings_none_on_a_consistent_extract(tmp_path, make_extract):
    found, _ = _findings(make_extract(tmp_path))
    assert found.empty
