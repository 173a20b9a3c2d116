"""Adverse events (issue 5): derivations, counts against hand computations, arm comparisons,
blinding, the CDISC pilot and the synthetic 38-subject trial.

The tiny extract is in tests/fixtures_ae.py (Placebo N=2, Drug 10 mg N=3, plus a never-dosed
subject); every expected number below is worked out by hand from its rows.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from dashboard import registry
from dashboard.analyses import adverse_events as ae
from dashboard.charts import adverse_events as charts
from tests.page_checks import displayed_tables
from dashboard.filters import FilterSpec
from dashboard.load import load_extract
from tests.fixtures_ae import (
    ADAE, CUT, DRUG, GI, INF, INJ, NERV, PLACEBO, SKIN, two_arm_extract, write_ae_extract,
)

CUT_SPEC = FilterSpec(data_cut=dt.date.fromisoformat(CUT))
AE_TABLES = ["ae_overview", "ae_by_soc_pt", "ae_by_severity", "ae_related_by_soc_pt", "ae_serious_listing",
             "ae_listing", "ae_risk_difference", "ae_exposure_adjusted", "ae_cumulative_incidence", "ae_timeline"]
UNBLINDED_TABLES = {"ae_risk_difference", "ae_exposure_adjusted"}


# -- fixtures -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory) -> Path:
    return write_ae_extract(tmp_path_factory.mktemp("ae") / "tiny")


@pytest.fixture(scope="module")
def tiny(tiny_folder):
    con, _ = load_extract(tiny_folder, "unblinded")
    yield con
    con.close()


@pytest.fixture(scope="module")
def tiny_blinded(tiny_folder):
    con, _ = load_extract(tiny_folder, "blinded")
    yield con
    con.close()


def _load(folder: Path, role: str = "unblinded"):
    con, _ = load_extract(folder, role)
    return con


def _key(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.sort_values(keys).reset_index(drop=True)


# -- derivations (lowest level) ------------------------------------------------------------------

def test_derive_related_vocabularies():
    table = pd.DataFrame(columns=["aerel", "related"], data=[
        # sponsor 5-point scale
        ["NOT RELATED", False], ["UNLIKELY RELATED", False], ["POSSIBLY RELATED", True],
        ["PROBABLY RELATED", True], ["RELATED", True],
        # CDISC pilot scale
        ["NONE", False], ["REMOTE", False], ["POSSIBLE", True], ["PROBABLE", True],
        # Y/N flag, case and blanks
        ["Y", True], ["N", False], ["not related", False], [" Possibly  related ", True],
        # missing -> related (conservative); unknown vocabulary -> related
        [None, True], ["", True], ["ASSESSMENT PENDING", True],
    ])
    got = ae.derive_related(table["aerel"])
    assert got.tolist() == table["related"].tolist()


def test_derive_severity_grade_fallback_and_missing():
    table = pd.DataFrame(columns=["aesev", "aetoxgr", "severity"], data=[
        # AESEV wins when present
        ["MILD", "3", "MILD"], ["moderate", None, "MODERATE"], ["SEVERE", "1", "SEVERE"],
        # AETOXGR when AESEV is missing
        [None, "1", "MILD"], ["", "2", "MODERATE"], [None, "3", "SEVERE"], [None, "4", "SEVERE"], [None, "5", "SEVERE"],
        # neither
        [None, None, "Missing"], ["UNKNOWN", None, "Missing"],
    ])
    got = ae.derive_severity(table["aesev"], table["aetoxgr"])
    assert got.tolist() == table["severity"].tolist()


def test_derive_trtemfl_cases_in_order():
    table = pd.DataFrame(columns=["astdt", "trtsdt", "trtemfl"], data=[
        # missing onset -> treatment-emergent
        [None, "2023-01-02", "Y"],
        # never dosed
        ["2023-01-05", None, "N"],
        # on / after / before the first dose
        ["2023-01-02", "2023-01-02", "Y"], ["2023-01-03", "2023-01-02", "Y"], ["2023-01-01", "2023-01-02", "N"],
    ])
    got = ae.derive_trtemfl(table["astdt"], table["trtsdt"])
    assert got.tolist() == table["trtemfl"].tolist()


def test_is_discontinuation_action_values():
    values = pd.Series(["DRUG WITHDRAWN", "drug interrupted", "DOSE REDUCED", "DOSE RATE REDUCED", "DOSE NOT CHANGED",
                        "NOT APPLICABLE", None, "DOSE INCREASED"])
    assert ae.is_discontinuation_action(values).tolist() == [True, True, True, True, False, False, False, False]


def test_is_aesi_default_and_configured_terms():
    pt = pd.Series(["Infusion related reaction", "Infusion-related reaction", "Headache", "Pyrexia"])
    flag = pd.Series(["N", "N", "Y", "N"])
    assert ae.is_aesi(pt, flag, None).tolist() == [True, True, True, False]
    assert ae.is_aesi(pt, flag, ("pyrexia",)).tolist() == [False, False, False, True]


def test_control_arm_rule():
    assert ae.control_arm(["Drug A", "Matching placebo"]) == "Matching placebo"
    assert ae.control_arm(["Arm A", "Arm B"]) == "Arm A"
    assert ae.control_arm(["Drug A", "Placebo"], requested="Drug A") == "Drug A"
    assert ae.control_arm(["Drug A", "Placebo"], requested="Not an arm") == "Placebo"


def test_kaplan_meier_cumulative_incidence_hand_values():
    got = ae.kaplan_meier_cumulative_incidence([2, 5, 5, 8, 10], [1, 1, 0, 1, 0])
    expected = pd.DataFrame({"day": [2.0, 5.0, 8.0, 10.0], "n_at_risk": [5, 4, 2, 1], "n_events": [1, 1, 1, 0],
                             "n_censored": [0, 1, 0, 1], "cum_inc": [20.0, 40.0, 70.0, 70.0]})
    assert_frame_equal(got, expected, check_dtype=False)


# -- overview ------------------------------------------------------------------------------------

def test_ae_overview_hand_counts(tiny):
    got = ae.ae_overview(tiny, CUT_SPEC)
    P, D, T = PLACEBO, DRUG, "Total"
    expected = pd.DataFrame(columns=["category", "arm", "n", "N", "events"], data=[
        # 01-001 (4 TEAEs: 2 headache, nausea) + 01-004 (sepsis); Drug: 01-002 (3), 01-003 (rash, diarrhoea);
        # the pre-treatment headache, the AE after the cut and 01-006 (not SAFFL) do not count
        ["any_teae", P, 2, 2, 4], ["any_teae", D, 2, 3, 5], ["any_teae", T, 4, 5, 9],
        # missing AEREL (01-001 nausea) = related; POSSIBLE, PROBABLE, Y related; NONE, UNLIKELY not
        ["related_teae", P, 1, 2, 1], ["related_teae", D, 2, 3, 3], ["related_teae", T, 3, 5, 4],
        ["severe_teae", P, 2, 2, 2], ["severe_teae", D, 0, 3, 0], ["severe_teae", T, 2, 5, 2],
        ["serious_teae", P, 2, 2, 2], ["serious_teae", D, 0, 3, 0], ["serious_teae", T, 2, 5, 2],
        # DRUG INTERRUPTED (01-001), DRUG WITHDRAWN (01-002)
        ["teae_leading_to_discontinuation", P, 1, 2, 1], ["teae_leading_to_discontinuation", D, 1, 3, 1],
        ["teae_leading_to_discontinuation", T, 2, 5, 2],
        ["aesi", P, 0, 2, 0], ["aesi", D, 1, 3, 1], ["aesi", T, 1, 5, 1],
        ["fatal_teae", P, 1, 2, 1], ["fatal_teae", D, 0, 3, 0], ["fatal_teae", T, 1, 5, 1],
        ["deaths", P, 1, 2, 1], ["deaths", D, 0, 3, 0], ["deaths", T, 1, 5, 1],
    ])
    assert_frame_equal(got[["category", "arm", "n", "N", "events"]], expected, check_dtype=False)
    assert got["pct"].tolist()[:3] == pytest.approx([100.0, 200 / 3, 80.0])
    assert list(got.columns[:6]) == ["category", "arm", "n", "N", "pct", "events"]


def test_ae_overview_without_data_cut_counts_later_events(tiny):
    got = ae.ae_overview(tiny, FilterSpec())
    row = got[(got["category"] == "any_teae") & (got["arm"] == DRUG)].iloc[0]
    assert (row["n"], row["events"]) == (2, 6)


def test_ae_overview_derives_trtemfl_when_absent(tmp_path):
    con = _load(write_ae_extract(tmp_path / "x", adae=ADAE.drop(columns=["TRTEMFL"])))
    got = ae.ae_overview(con, CUT_SPEC)
    any_teae = got[got["category"] == "any_teae"]
    # same as the supplied flags: the pre-treatment headache is excluded, the undated rash included
    assert any_teae[["n", "events"]].values.tolist() == [[2, 4], [2, 5], [4, 9]]
    assert "DERIVED" in any_teae["note"].iloc[0] and "DERIVED" in ae.teae_rule(con)


def test_ae_overview_trtemfl_supplied_is_honoured(tmp_path):
    adae = ADAE.copy()
    adae.loc[adae["AEDECOD"] == "Diarrhoea", "TRTEMFL"] = "N"  # dated after dosing, flagged not emergent
    con = _load(write_ae_extract(tmp_path / "x", adae=adae))
    got = ae.ae_overview(con, CUT_SPEC)
    row = got[(got["category"] == "any_teae") & (got["arm"] == DRUG)].iloc[0]
    assert (row["n"], row["events"]) == (2, 4)


def test_ae_overview_aesi_terms_option(tiny):
    got = ae.ae_overview(tiny, CUT_SPEC.with_options(aesi_terms=("Headache", "Vomiting")))
    aesi = got[got["category"] == "aesi"]
    assert aesi[["arm", "n", "events"]].values.tolist() == [[PLACEBO, 1, 2], [DRUG, 1, 1], ["Total", 2, 3]]


# -- SOC / PT ------------------------------------------------------------------------------------

def test_ae_incidence_by_soc_pt_hand_counts_and_order(tiny):
    got = ae.ae_incidence_by_soc_pt(tiny, CUT_SPEC)
    rows = got[got["arm"] == "Total"][["soc", "pt", "n", "N", "events"]].reset_index(drop=True)
    expected = pd.DataFrame(columns=["soc", "pt", "n", "N", "events"], data=[
        # SOC by total n (GI 3), then ties alphabetical; PT by total n, ties alphabetical
        [GI, "", 3, 5, 4], [GI, "Nausea", 2, 5, 2], [GI, "Diarrhoea", 1, 5, 1], [GI, "Vomiting", 1, 5, 1],
        [INF, "", 1, 5, 1], [INF, "Sepsis", 1, 5, 1],
        [INJ, "", 1, 5, 1], [INJ, "Infusion related reaction", 1, 5, 1],
        [NERV, "", 1, 5, 2], [NERV, "Headache", 1, 5, 2],
        [SKIN, "", 1, 5, 1], [SKIN, "Rash", 1, 5, 1],
    ])
    assert_frame_equal(rows, expected, check_dtype=False)
    by_arm = got[got["pt"] == "Nausea"][["arm", "n", "N"]].values.tolist()
    assert by_arm == [[PLACEBO, 1, 2], [DRUG, 1, 3], ["Total", 2, 5]]
    assert list(got.columns[:6]) == ["soc", "pt", "arm", "n", "N", "pct"]


def test_ae_incidence_by_soc_pt_threshold_any_arm(tiny):
    # 50%: Nausea (Placebo 1/2), Sepsis (1/2), Headache (1/2) stay; Drug-only PTs at 33.3% go;
    # the GI SOC row keeps its full count (3 subjects).
    got = ae.ae_incidence_by_soc_pt(tiny, CUT_SPEC.with_options(min_pct=50))
    total = got[got["arm"] == "Total"][["soc", "pt", "n"]].values.tolist()
    assert total == [[GI, "", 3], [GI, "Nausea", 2], [INF, "", 1], [INF, "Sepsis", 1], [NERV, "", 1],
                     [NERV, "Headache", 1]]


def test_ae_by_severity_worst_per_subject(tiny):
    got = ae.ae_by_severity(tiny, CUT_SPEC)
    total = got[(got["arm"] == "Total") & (got["n"] > 0)][["soc", "pt", "severity", "n"]].values.tolist()
    assert total == [
        # GI: 01-002 MILD (two mild events), 01-003 MODERATE (grade 2, no AESEV), 01-001 SEVERE
        [GI, "", "MILD", 1], [GI, "", "MODERATE", 1], [GI, "", "SEVERE", 1],
        [GI, "Nausea", "MILD", 1], [GI, "Nausea", "SEVERE", 1],
        [GI, "Diarrhoea", "MODERATE", 1], [GI, "Vomiting", "MILD", 1],
        [INF, "", "SEVERE", 1], [INF, "Sepsis", "SEVERE", 1],
        [INJ, "", "MODERATE", 1], [INJ, "Infusion related reaction", "MODERATE", 1],
        # 01-001: headache MILD then MODERATE -> counted once, MODERATE
        [NERV, "", "MODERATE", 1], [NERV, "Headache", "MODERATE", 1],
        [SKIN, "", "MILD", 1], [SKIN, "Rash", "MILD", 1],
    ]
    # every SOC/PT x severity x arm row is present (zeros included): 12 rows x 3 severities x 3 arms
    assert len(got) == 12 * 3 * 3


def test_ae_related_by_soc_pt_hand_counts(tiny):
    got = ae.ae_related_by_soc_pt(tiny, CUT_SPEC)
    total = got[got["arm"] == "Total"][["soc", "pt", "n"]].values.tolist()
    assert total == [[GI, "", 3], [GI, "Nausea", 2], [GI, "Diarrhoea", 1], [INJ, "", 1],
                     [INJ, "Infusion related reaction", 1]]


# -- AE filters ----------------------------------------------------------------------------------

def test_ae_filters_infusion_window_ignores_missed_infusion(tiny):
    one_day = ae.ae_overview(tiny, CUT_SPEC.with_options(ae_infusion_window=1))
    seven = ae.ae_overview(tiny, CUT_SPEC.with_options(ae_infusion_window=7))
    pick = lambda f: f[f["category"] == "any_teae"][["n", "events"]].values.tolist()  # noqa: E731
    # <= 1 day: 01-001 nausea (1 d) and headache (1 d after infusion 2); 01-002 nausea (1 d), reaction (0 d).
    # 01-003 diarrhoea is 2 days after the last GIVEN infusion (the EXOCCUR=N one the day before is ignored).
    assert pick(one_day) == [[1, 2], [1, 2], [2, 4]]
    assert pick(seven) == [[1, 2], [2, 3], [3, 5]]


def test_ae_filters_serious_severity_related_soc(tiny):
    spec = CUT_SPEC.with_options(ae_serious="Y")
    assert ae.ae_overview(tiny, spec).query("category == 'any_teae'")["n"].tolist() == [2, 0, 2]
    spec = CUT_SPEC.with_options(ae_severities=("MILD",))
    assert ae.ae_overview(tiny, spec).query("category == 'any_teae'")["events"].tolist() == [1, 3, 4]
    spec = CUT_SPEC.with_options(ae_related="not related")
    assert ae.ae_overview(tiny, spec).query("category == 'any_teae'")["events"].tolist() == [3, 2, 5]
    spec = CUT_SPEC.with_options(ae_socs=(GI,))
    assert ae.ae_incidence_by_soc_pt(tiny, spec)["soc"].unique().tolist() == [GI]


def test_infusion_window_without_adex_is_not_in_extract(tmp_path):
    con = _load(write_ae_extract(tmp_path / "x", adex=None))
    with pytest.raises(registry.NotInExtract):
        ae.ae_overview(con, CUT_SPEC.with_options(ae_infusion_window=1))
    assert ae.ae_serious_listing(con, CUT_SPEC)["days_since_last_infusion"].isna().all()


# -- listings ------------------------------------------------------------------------------------

def test_ae_serious_listing_rows(tiny):
    got = ae.ae_serious_listing(tiny, CUT_SPEC)
    expected = pd.DataFrame(columns=["usubjid", "arm", "pt", "astdy", "days_since_last_infusion", "severity",
                                     "related", "aeacn", "aeout", "teae"], data=[
        ["01-001", PLACEBO, "Nausea", 2.0, 1.0, "SEVERE", "Y", "DRUG INTERRUPTED", "RECOVERED/RESOLVED", "Y"],
        # onset 2023-03-01: study day 56 from 2023-01-05, 41 days after the infusion of 2023-01-19
        ["01-004", PLACEBO, "Sepsis", 56.0, 41.0, "SEVERE", "N", "NOT APPLICABLE", "FATAL", "Y"],
    ])
    assert_frame_equal(got[expected.columns], expected, check_dtype=False)
    assert list(got.columns) == ae.LISTING_COLUMNS


def test_ae_listing_of_one_pt(tiny):
    got = ae.ae_listing(tiny, CUT_SPEC.with_options(listing_soc=GI, listing_pt="Nausea"))
    assert got["usubjid"].tolist() == ["01-001", "01-002"]
    assert ae.listing_subjects(got) == ["01-001", "01-002"]


def test_selected_term_from_display_row(tiny):
    shown = registry.display("ae_by_soc_pt", ae.ae_incidence_by_soc_pt(tiny, CUT_SPEC))
    assert ae.selected_term(shown.iloc[[1]]) == (GI, "Nausea")
    assert ae.selected_term(shown.iloc[[0]]) == (GI, "")
    assert ae.selected_term(shown.iloc[[]]) is None


# -- arm comparisons -----------------------------------------------------------------------------

def test_ae_risk_difference_miettinen_nurminen_anchor(tmp_path):
    # clinical_reference §7 example 1: 8/19 vs 3/19, d = 26.32%, MN -3.02 to 52.10.
    con = _load(two_arm_extract(tmp_path / "rd", 19, {"Nausea": (8, 3)}))
    got = ae.ae_risk_difference(con, FilterSpec())
    assert len(got) == 1
    row = got.iloc[0]
    assert (row["arm"], row["control_arm"], row["n"], row["N"], row["n_control"], row["N_control"]) == \
        (DRUG, PLACEBO, 8, 19, 3, 19)
    assert row["rd"] == pytest.approx(26.3158, abs=1e-4)
    assert (round(row["rd_lower"], 2), round(row["rd_upper"], 2)) == (-3.02, 52.10)
    # RR 8/3 with the log interval (hand: exp(ln 2.667 -/+ 1.96 * 0.5942))
    assert (row["rr"], row["rr_lower"], row["rr_upper"]) == pytest.approx((2.6667, 0.8321, 8.5458), abs=1e-4)
    assert "Miettinen-Nurminen" in row["method"]


def test_ae_risk_difference_tiny_rows(tiny):
    got = ae.ae_risk_difference(tiny, CUT_SPEC)
    assert set(got["control_arm"]) == {PLACEBO} and set(got["arm"]) == {DRUG}
    nausea = got[got["pt"] == "Nausea"].iloc[0]
    assert nausea["rd"] == pytest.approx(100 * (1 / 3 - 1 / 2))
    # same order as the incidence table (by total n), one row per PT x active arm
    assert got["pt"].tolist() == ["Nausea", "Diarrhoea", "Vomiting", "Sepsis", "Infusion related reaction",
                                  "Headache", "Rash"]
    # non-serious only: Nausea 1/3 vs 0/2 -> RR with 0.5 added to each cell: (1.5/4) / (0.5/3) = 2.25
    nonserious = ae.ae_risk_difference(tiny, CUT_SPEC.with_options(ae_serious="N"))
    nausea = nonserious[nonserious["pt"] == "Nausea"].iloc[0]
    assert bool(nausea["rr_corrected"]) and nausea["rr"] == pytest.approx(2.25)


def test_ae_risk_difference_needs_two_arms(tiny):
    with pytest.raises(registry.NotInExtract):
        ae.ae_risk_difference(tiny, FilterSpec(arms=(DRUG,), data_cut=CUT_SPEC.data_cut))


def test_ae_exposure_adjusted_hand_values(tiny):
    got = ae.ae_exposure_adjusted(tiny, CUT_SPEC)
    nausea = got[got["pt"] == "Nausea"].set_index("arm")
    # Placebo: 01-001 to its nausea (day 2) + 01-004 observed 60 days (to EOSDT 2023-03-05) = 62 days.
    # Drug: 01-002 to its nausea (day 2) + 01-003 43 days (last date in the data, 2023-02-15)
    #       + 01-005 146 days (LSTALVDT 2023-05-31) = 191 days.
    assert nausea.loc[PLACEBO, "py"] == pytest.approx(62 / 365.25)
    assert nausea.loc[DRUG, "py"] == pytest.approx(191 / 365.25)
    assert nausea.loc["Total", "py"] == pytest.approx(253 / 365.25)
    assert nausea.loc[PLACEBO, "eair"] == pytest.approx(589.1129, abs=1e-3)
    # exact Poisson for x = 1: chi2(0.025, 2)/2 = 0.025318, chi2(0.975, 4)/2 = 5.571643
    assert nausea.loc[PLACEBO, ["eair_lower", "eair_upper"]].tolist() == pytest.approx([14.9150, 3282.327], abs=1e-3)
    # a PT no Placebo subject had: full observation 165 + 60 days, rate 0
    rash = got[got["pt"] == "Rash"].set_index("arm")
    assert rash.loc[PLACEBO, "py"] == pytest.approx(225 / 365.25) and rash.loc[PLACEBO, "eair"] == 0


def test_ae_cumulative_incidence_first_sae(tiny):
    got = ae.ae_cumulative_incidence(tiny, CUT_SPEC)
    sae = got[(got["endpoint"] == "first_sae") & (got["arm"] == PLACEBO)]
    # 01-001 SAE on day 2, 01-004 SAE on day 56 -> 50% then 100%
    assert sae[["day", "n_at_risk", "n_events", "cum_inc"]].values.tolist() == [[0, 2, 0, 0], [2, 2, 1, 50],
                                                                              [56, 1, 1, 100]]
    drug = got[(got["endpoint"] == "first_sae") & (got["arm"] == DRUG)]
    # no SAE: censored at 43 (01-003), 146 (01-005), 149 (01-002, LSTALVDT)
    assert drug["day"].tolist() == [0, 43, 146, 149] and (drug["cum_inc"] == 0).all()


def test_ae_cumulative_incidence_zero_subjects_is_not_estimable(tiny):
    # a data cut before anyone was dosed leaves no subject: one day-0 row per endpoint x arm, N 0,
    # and the incidence missing (not 0 %); before the fix this raised TypeError (str vs ndarray)
    got = ae.ae_cumulative_incidence(tiny, FilterSpec(data_cut=dt.date(2000, 1, 1)))
    assert got[["day", "n_at_risk", "n", "N"]].drop_duplicates().values.tolist() == [[0, 0, 0, 0]]
    assert len(got) == 6 and got["cum_inc"].isna().all()


def test_ae_timeline_days_since_first_infusion(tiny):
    got = ae.ae_timeline(tiny, CUT_SPEC)
    s1 = got[got["usubjid"] == "01-001"]
    assert s1.loc[s1["kind"] == "Infusion", "start_day"].tolist() == [0, 7, 14]
    assert s1.loc[s1["kind"] == "AE", "start_day"].tolist() == [1, 8, 39]
    vomit = got[got["pt"] == "Vomiting"].iloc[0]
    # ongoing: ends at the data cut, 178 days after the first infusion 2023-01-03
    assert bool(vomit["ongoing"]) and vomit["end_day"] == 178
    pre = got[(got["usubjid"] == "01-003") & (got["pt"] == "Headache")].iloc[0]
    assert pre["start_day"] == -5 and pre["teae"] == "N"
    # the missed infusion is not a tick
    assert got[(got["usubjid"] == "01-003") & (got["kind"] == "Infusion")]["start_day"].tolist() == [0, 14]


# -- registry, charts, blinding ------------------------------------------------------------------

@pytest.mark.parametrize("name", AE_TABLES)
def test_registered_tables_and_charts_render(tiny, name):
    frame = registry.compute(name, tiny, CUT_SPEC, "unblinded")
    shown = registry.display(name, frame)
    assert isinstance(shown, pd.DataFrame) and len(shown)
    for chart in registry.TABLES[name].charts:
        chart(frame).to_json()


def test_ae_explorer_chart_sorts(tiny):
    frame = ae.ae_risk_difference(tiny, CUT_SPEC)
    for sort in ("total", "rd"):
        spec = charts.ae_explorer_chart(frame, sort=sort).to_dict()
        assert spec["hconcat"][0]["encoding"]["y"]["sort"][0] == ("Nausea" if sort == "total" else "Diarrhoea")


@pytest.mark.parametrize("name", sorted(UNBLINDED_TABLES))
def test_unblinded_only_tables_refused_in_blinded_role(tiny_blinded, name):
    assert name not in {t.name for t in registry.tables_for("adverse_events", "blinded")}
    with pytest.raises(PermissionError):
        registry.compute(name, tiny_blinded, CUT_SPEC, "blinded")


@pytest.mark.parametrize("name", sorted(set(AE_TABLES) - UNBLINDED_TABLES))
def test_blinded_exports_contain_no_arm(tiny_blinded, name):
    frame = registry.compute(name, tiny_blinded, CUT_SPEC, "blinded")
    assert set(frame["arm"].dropna()) <= {"All subjects"}
    text = frame.to_csv() + registry.display(name, frame).to_csv()
    for chart in registry.TABLES[name].charts:
        text += chart(frame).to_json()
    assert PLACEBO not in text and DRUG not in text


def test_blinded_overview_equals_unblinded_total(tiny, tiny_blinded):
    unblinded = ae.ae_overview(tiny, CUT_SPEC)
    blinded = ae.ae_overview(tiny_blinded, CUT_SPEC)
    total = unblinded[unblinded["arm"] == "Total"].reset_index(drop=True)
    assert blinded[["category", "n", "N", "events"]].equals(total[["category", "n", "N", "events"]])


def test_no_adverse_events_gives_zero_rows(tmp_path):
    # the only AE belongs to 01-006, who is outside the safety population
    con = _load(write_ae_extract(tmp_path / "x", adae=ADAE[ADAE["USUBJID"] == "01-006"]))
    overview = ae.ae_overview(con, CUT_SPEC)
    assert len(overview) == 8 * 3
    assert (overview.loc[overview["category"] != "deaths", "n"] == 0).all()
    # deaths come from ADSL, not from ADAE
    assert overview.loc[overview["category"] == "deaths", "n"].tolist() == [1, 0, 1]
    assert ae.ae_incidence_by_soc_pt(con, CUT_SPEC).empty
    charts.ae_dot_plot_chart(ae.ae_incidence_by_soc_pt(con, CUT_SPEC)).to_json()


# -- the CDISC pilot -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pilot_adae(pilot) -> pd.DataFrame:
    import pyreadstat

    frame, _ = pyreadstat.read_xport(str(pilot / "adae.xpt"))
    return frame


@pytest.mark.needs_pilot
def test_pilot_safety_population_n(pilot_unblinded):
    con, _ = pilot_unblinded
    got = ae.ae_overview(con, FilterSpec())
    n = got[got["category"] == "any_teae"].set_index("arm")["N"].to_dict()
    assert n == {"Placebo": 86, "Xanomeline Low Dose": 84, "Xanomeline High Dose": 84, "Total": 254}


@pytest.mark.needs_pilot
def test_pilot_any_teae_equals_raw_adae(pilot_unblinded, pilot_adae):
    con, _ = pilot_unblinded
    got = ae.ae_overview(con, FilterSpec())
    got = got[got["category"] == "any_teae"].set_index("arm")
    raw = pilot_adae[(pilot_adae["TRTEMFL"] == "Y") & (pilot_adae["SAFFL"] == "Y")]
    independent = raw.groupby("TRTA")["USUBJID"].nunique().to_dict()
    events = raw.groupby("TRTA").size().to_dict()
    # published pilot table 14-5.01: 65 (75.6%), 77 (91.7%), 76 (90.5%)
    assert independent == {"Placebo": 65, "Xanomeline Low Dose": 77, "Xanomeline High Dose": 76}
    for arm, n in independent.items():
        assert got.loc[arm, "n"] == n and got.loc[arm, "events"] == events[arm]
    assert got.loc["Total", "n"] == raw["USUBJID"].nunique()


@pytest.mark.needs_pilot
def test_pilot_soc_pt_counts_equal_raw_adae(pilot_unblinded, pilot_adae):
    con, _ = pilot_unblinded
    got = ae.ae_incidence_by_soc_pt(con, FilterSpec())
    raw = pilot_adae[pilot_adae["TRTEMFL"] == "Y"]
    pt = raw.groupby(["AEBODSYS", "AEDECOD", "TRTA"])["USUBJID"].nunique().rename("raw").reset_index()
    mine = got[(got["pt"] != "") & (got["arm"] != "Total")].merge(
        pt, left_on=["soc", "pt", "arm"], right_on=["AEBODSYS", "AEDECOD", "TRTA"], how="left")
    assert (mine["raw"].fillna(0) == mine["n"]).all()
    assert mine["n"].sum() == pt["raw"].sum()
    soc = raw.groupby("AEBODSYS")["USUBJID"].nunique()
    top = got[(got["pt"] == "") & (got["arm"] == "Total")]
    assert top["n"].tolist() == sorted(soc.tolist(), reverse=True)
    assert top["n"].iloc[0] == soc.max()


@pytest.mark.needs_pilot
def test_pilot_serious_and_risk_difference(pilot_unblinded, pilot_adae):
    con, _ = pilot_unblinded
    sae = ae.ae_serious_listing(con, FilterSpec())
    assert len(sae) == int((pilot_adae["AESER"] == "Y").sum())
    rd = ae.ae_risk_difference(con, FilterSpec().with_options(min_pct=5))
    assert set(rd["control_arm"]) == {"Placebo"}
    assert set(rd["arm"]) == {"Xanomeline Low Dose", "Xanomeline High Dose"}
    assert ((rd["rd_lower"] <= rd["rd"]) & (rd["rd"] <= rd["rd_upper"])).all()


@pytest.mark.needs_pilot
def test_pilot_blinded_exports_contain_no_arm(pilot_blinded):
    con = pilot_blinded[0] if isinstance(pilot_blinded, tuple) else pilot_blinded
    for name in sorted(set(AE_TABLES) - UNBLINDED_TABLES - {"ae_listing", "ae_timeline"}):
        frame = registry.compute(name, con, FilterSpec(), "blinded")
        text = frame.to_csv() + registry.display(name, frame).to_csv()
        assert "Placebo" not in text and "Xanomeline" not in text, name


# -- the synthetic 38-subject trial --------------------------------------------------------------

@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    from dashboard.generate import generate_extract

    folder = tmp_path_factory.mktemp("syn") / "trial"
    generate_extract(folder, seed=2025, subjects=38)
    return folder


def test_synthetic_trial_counts_equal_raw_files(synthetic):
    con = _load(synthetic)
    adsl = pd.read_csv(synthetic / "adsl.csv")
    adae = pd.read_csv(synthetic / "adae.csv")
    safety = adsl[adsl["SAFFL"] == "Y"]
    te = adae[(adae["TRTEMFL"] == "Y") & adae["USUBJID"].isin(safety["USUBJID"])]
    te = te.merge(safety[["USUBJID", "TRT01A"]], on="USUBJID")
    got = ae.ae_overview(con, FilterSpec())
    any_teae = got[got["category"] == "any_teae"].set_index("arm")
    assert any_teae["N"].drop("Total").to_dict() == safety.groupby("TRT01A").size().to_dict()
    assert any_teae["n"].drop("Total").to_dict() == te.groupby("TRT01A")["USUBJID"].nunique().to_dict()
    aesi = got[got["category"] == "aesi"].set_index("arm")
    assert aesi.loc["Total", "n"] == te.loc[te["AESIFL"] == "Y", "USUBJID"].nunique()
    for name in AE_TABLES:
        frame = registry.compute(name, con, FilterSpec(), "unblinded")
        for chart in registry.TABLES[name].charts:
            chart(frame).to_json()
    con.close()


def test_synthetic_trial_blinded_role(synthetic):
    con = _load(synthetic, "blinded")
    adsl = pd.read_csv(synthetic / "adsl.csv")
    labels = set(adsl["TRT01A"].dropna())
    for name in sorted(set(AE_TABLES) - UNBLINDED_TABLES):
        frame = registry.compute(name, con, FilterSpec(), "blinded")
        text = frame.to_csv() + registry.display(name, frame).to_csv()
        assert not any(label in text for label in labels), name
    np.testing.assert_equal(ae.ae_overview(con, FilterSpec())["arm"].unique(), ["All subjects"])
    con.close()


# -- the page (AppTest) --------------------------------------------------------------------------

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


def _page(monkeypatch, folder: Path, role: str):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("DSMB_EXTRACT", str(folder))
    monkeypatch.setenv("DSMB_ROLE", role)
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("pages/adverse_events.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_page_pt_selection_lists_subjects_and_opens_profile(monkeypatch, tiny_folder):
    at = _page(monkeypatch, tiny_folder, "unblinded")
    titles = [s.value for s in at.subheader]
    assert "Risk difference vs control by preferred term" in titles
    # select the "Nausea" row of the SOC/PT table (row 1, under its SOC row)
    at.selectbox(key="tbl_ae_by_soc_pt_row").set_value(1).run()
    assert "Listing of treatment-emergent adverse events" in [s.value for s in at.subheader]
    assert [b.label for b in at.button if b.key and b.key.startswith("ae_open_")] == ["01-001", "01-002"]
    at.button(key="ae_open_01-002").click().run()
    assert at.session_state["profile_usubjid"] == "01-002"


def test_page_blinded_has_no_risk_difference_views(monkeypatch, tiny_folder):
    at = _page(monkeypatch, tiny_folder, "blinded")
    titles = [s.value for s in at.subheader]
    assert "Risk difference vs control by preferred term" not in titles
    assert "Exposure-adjusted incidence rate per 100 patient-years" not in titles
    assert not [r for r in at.radio if r.key == "ae_sort"]
    text = "".join(df.to_csv() for df in displayed_tables(at))
    assert PLACEBO not in text and DRUG not in text


# -- the AE record table in DuckDB (issue 12) -----------------------------------------------------

def _record_tables(con) -> list[str]:
    return [r[0] for r in con.cursor().execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'ae_cache' AND table_name LIKE 'ae_records_%'"
    ).fetchall()]


def test_ae_records_table_built_once_per_filter_and_read_by_every_table(tiny_folder):
    con = _load(tiny_folder)
    for name in AE_TABLES:                      # every AE table, AE filters and options included
        registry.compute(name, con, CUT_SPEC.with_options(min_pct=10, ae_serious="N"), "unblinded")
    assert len(_record_tables(con)) == 1        # AE filters and table options do not rebuild it
    registry.compute("ae_overview", con, CUT_SPEC.with_options(ae_related="related"), "unblinded")
    assert len(_record_tables(con)) == 1
    registry.compute("ae_overview", con, FilterSpec(), "unblinded")             # another data cut
    registry.compute("ae_overview", con, CUT_SPEC.with_options(aesi_terms=("Nausea",)), "unblinded")
    assert len(_record_tables(con)) == 3
    con.close()


def test_ae_records_table_equals_the_frame_and_is_shared_by_cursors(tiny):
    name = ae.ae_records_table(tiny, CUT_SPEC)
    again = ae.ae_records_table(tiny.cursor(), CUT_SPEC)           # another cursor finds it
    assert again == name
    frame = ae.ae_records(tiny, CUT_SPEC)
    stored = tiny.cursor().sql(f"SELECT * EXCLUDE (_ord) FROM {name} ORDER BY _ord").to_df()
    assert len(stored) == len(frame) > 0
    assert stored["usubjid"].tolist() == frame["usubjid"].tolist()


def test_ae_records_concurrent_sessions_get_the_same_records(tiny_folder):
    from concurrent.futures import ThreadPoolExecutor

    con = _load(tiny_folder)
    spec = CUT_SPEC.with_options(aesi_terms=("Headache",))
    with ThreadPoolExecutor(max_workers=4) as pool:
        frames = list(pool.map(lambda _: ae.ae_overview(con.cursor(), spec), range(8)))
    for frame in frames[1:]:
        assert_frame_equal(frame, frames[0])
    assert len(_record_tables(con)) == 1
    con.close()


def test_ae_records_follow_a_table_changed_in_place(tiny_folder):
    con = _load(tiny_folder)
    before = ae.ae_overview(con, CUT_SPEC)
    con.cursor().execute("UPDATE adae SET AESER = 'N'")
    after = ae.ae_overview(con, CUT_SPEC)
    serious = lambda f: f.loc[f["category"] == "serious_teae", "n"].tolist()  # noqa: E731
    assert sum(serious(before)) > 0 and sum(serious(after)) == 0
    con.close()


def test_ae_records_on_a_read_only_database(tiny_folder, tmp_path):
    import duckdb

    path = tmp_path / "tiny.duckdb"
    con, _ = load_extract(tiny_folder, "unblinded", db_path=path)
    expected = ae.ae_overview(con, CUT_SPEC)
    con.close()
    ro = duckdb.connect(str(path), read_only=True)
    assert_frame_equal(ae.ae_overview(ro, CUT_SPEC), expected)
    ro.close()
