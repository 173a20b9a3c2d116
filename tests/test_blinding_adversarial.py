"""Blinding tried as an adversary would: tricky extracts built here from the synthetic sample trial.

Each extract is the sample's unblinded files plus a few innocent-looking columns that carry the
arm, or files sorted by arm, or product words in free text. For each, either the blinded load
refuses (exit code 2, naming the columns, no score), or nothing it writes predicts the arm: the
blinded DuckDB file, every export, the HTML packet and every page are scanned per column by a
checker written here, independently of ``dashboard.blinding``: a leave-one-out majority vote over
each subject's set of values, and a search of every value group and one-sided cut-off of each
subject's mean/min/max (and of the subject's position in the table's row order).
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from dashboard.blinding import TEXT_MASK, TreatmentTerms, blinded_keeps, column_blinding_rule, normalise_text
from dashboard.load import load_extract

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "nct04562025_unblinded"
SAMPLE_PREVIOUS = ROOT / "sample_data" / "previous" / "nct04562025_unblinded"
PLACEBO, ACTIVE = "Placebo", "UC-MSC 1x10^6 cells/kg"
TITLE = "SYNTHETIC data modelled on NCT04562025: UC-MSC vs placebo in diabetic nephropathy"
#: Texts that would name an arm anywhere a blinded user looks.
ARM_TEXTS = ("UC-MSC", "UCMSC", "PLACEBO", "PBO", "SALINE", "ALBUMIN BAG", "CELLS/KG")
#: The published limits of rule R4, restated: a leak is anything at or beyond them.
ACCURACY, MIN_GROUP, ARM_SHARE, PURITY = 0.85, 5, 0.5, 0.95


# -- the independent checker -------------------------------------------------------------------

def loo_accuracy(signature: dict, arm: dict) -> float:
    """Leave-one-out majority vote: each subject gets the commonest arm among the *other*
    subjects with its signature (among all others when none share it)."""
    subjects = sorted(arm)
    by_sig: dict[object, Counter] = {}
    for s in subjects:
        by_sig.setdefault(signature.get(s, "<none>"), Counter())[arm[s]] += 1
    everyone = Counter(arm.values())
    right = 0
    for s in subjects:
        votes = by_sig[signature.get(s, "<none>")].copy()
        votes[arm[s]] -= 1
        if sum(votes.values()) == 0:
            votes = everyone.copy()
            votes[arm[s]] -= 1
        best = max(votes.values())
        right += min(k for k, v in votes.items() if v == best) == arm[s]
    return right / len(subjects)


def pure_group(members: set, arm: dict) -> bool:
    """>= 5 subjects, >= half of one arm, >= 95% of them in that arm."""
    inside = Counter(arm[s] for s in members if s in arm)
    total = sum(inside.values())
    sizes = Counter(arm.values())
    return any(total >= MIN_GROUP and n >= ARM_SHARE * sizes[a] and n / total >= PURITY for a, n in inside.items())


def cutoff_leak(number: dict, arm: dict) -> bool:
    """Some one-sided cut-off of the subjects' numbers is a pure group, or classifies >= 85%."""
    pairs = sorted((v, s) for s, v in number.items() if s in arm and v == v)
    if len(pairs) < 4:
        return False
    values = sorted({v for v, _ in pairs})
    for t in values:
        below = {s for v, s in pairs if v <= t}
        above = {s for v, s in pairs if v >= t}
        if pure_group(below, arm) or pure_group(above, arm):
            return True
    return False


def _as_number(value):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value)
    if hasattr(value, "toordinal"):
        return float(value.toordinal())
    try:
        return float(str(value))
    except ValueError:
        return None


def leaking_columns(frame: pd.DataFrame, subject_col: str, arm: dict) -> list[str]:
    """Columns of ``frame`` (plus ``<row order>``) whose per-subject summary predicts ``arm``."""
    frame = frame.assign(**{"<row order>": np.arange(len(frame))})
    subjects = frame[subject_col].astype(str)
    out = []
    for col in frame.columns:
        if col == subject_col:
            continue
        values: dict[str, list] = {}
        for s, v in zip(subjects, frame[col]):
            values.setdefault(s, []).append(v)
        sig = {s: tuple(sorted({str(x) for x in v})) for s, v in values.items()}
        groups: dict[str, set] = {}
        for s, v in values.items():
            for x in {str(x) for x in v}:
                groups.setdefault(x, set()).add(s)
        numbers = {s: [n for n in map(_as_number, v) if n is not None] for s, v in values.items()}
        summaries = [{s: f(n) for s, n in numbers.items() if n} for f in (np.mean, min, max)]
        if (loo_accuracy(sig, arm) >= ACCURACY or any(pure_group(m, arm) for m in groups.values())
                or pure_group(set(arm) - set(values), arm) or any(cutoff_leak(x, arm) for x in summaries)):
            out.append(col)
    return out


def subject_column(frame: pd.DataFrame) -> str | None:
    return next((c for c in frame.columns if str(c).lower() in ("usubjid", "subject")), None)


def texts_naming_arm(text: str) -> list[str]:
    text = normalise_text(text.replace(TITLE, ""))
    return [t for t in ARM_TEXTS if re.search(r"(?<![A-Z0-9])" + re.escape(t) + r"(?![A-Z0-9])", text)]


def db_leaks(con, arm: dict, tables: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """Leaking columns of every table (and view) of the database, or of ``tables``."""
    out = {}
    every = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()]
    for table in tables or every:
        frame = con.sql(f'SELECT * FROM "{table}"').to_arrow_table().to_pandas()
        col = subject_column(frame)
        if col and len(frame):
            leaks = leaking_columns(frame, col, arm)
            if leaks:
                out[table] = leaks
    return out


# -- the tricky extracts -----------------------------------------------------------------------

def _read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)


def source_arms(folder: Path = SAMPLE) -> dict[str, str]:
    adsl = _read(folder, "adsl")
    return {s: a for s, a in zip(adsl["USUBJID"], adsl["ARM"]) if a in (PLACEBO, ACTIVE)}


ARM = source_arms()


def _write(folder: Path, frames: dict[str, pd.DataFrame], manifest: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    (folder / "extract.toml").write_text('[study]\nid = "NCT04562025"\ndata_cut = "2022-08-23"\n' + manifest)
    return folder


def _sample(folder: Path = SAMPLE) -> dict[str, pd.DataFrame]:
    return {n: _read(folder, n) for n in ("adsl", "adae", "adlb", "adex", "advs")}


def _arm_of(frame: pd.DataFrame) -> pd.Series:
    return frame["USUBJID"].map(ARM).fillna("")


def _by_arm(frame: pd.DataFrame, placebo, active, other=""):
    arm = _arm_of(frame)
    return np.where(arm == PLACEBO, placebo, np.where(arm == ACTIVE, active, other))


def _sorted_by_arm(frame: pd.DataFrame) -> pd.DataFrame:
    """Placebo subjects first, as a SAS extract sorted by TRT01P is."""
    return frame.assign(_a=_arm_of(frame)).sort_values("_a", kind="stable", key=lambda s: s != PLACEBO).drop(columns="_a")


def _tricky(frames: dict[str, pd.DataFrame], rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """Every leak of the issue that the allow-list, the text scan and the renumbering must stop."""
    adsl, adae, adlb, adex, advs = (frames[n].copy() for n in ("adsl", "adae", "adlb", "adex", "advs"))
    active = _arm_of(adsl) == ACTIVE
    # subject-level columns no name rule knows (continuous separator, nearly-the-arm cohort, partial flag)
    adsl["INFVOLML"] = np.where(active, rng.normal(100, 3, len(adsl)).round(1), rng.normal(50, 3, len(adsl)).round(1))
    cohort = np.where(active, "C2", "C1")
    cohort[:5] = np.where(cohort[:5] == "C1", "C2", "C1")
    adsl["COHORT2"] = cohort
    adsl["HALFFL"] = np.where(active & (np.cumsum(active) <= 10), "Y", "")
    # record-level columns: labels, a look-alike name (Cyrillic A), codes, amounts, free text
    post = adlb["ABLFL"] != "Y"
    adlb["TRTGRP"] = np.where(post, _by_arm(adlb, PLACEBO, ACTIVE), "")
    adlb["TRT\u0410"] = _by_arm(adlb, "P", "A")
    adex["EXVOL"] = _by_arm(adex, "50", "100")
    adex["EXCELLCT"] = _by_arm(adex, "0", "70")
    adex["EXCOMM"] = _by_arm(adex, "Saline + 1% human albumin bag", "Cell suspension bag")
    advs["VSGRPID"] = _by_arm(advs, "PBO-3", "ACT-7")
    adae["AETRTEM"] = _by_arm(adae, "onset after saline infusion", "onset after cell infusion")
    # product words in free text, on a few subjects of each arm (masked, too few to form a group)
    few_active = adae.index[_arm_of(adae) == ACTIVE][:3]
    few_placebo = adae.index[_arm_of(adae) == PLACEBO][:3]
    adae.loc[few_active, "AETERM"] = "INFUSION REACTION TO UC-MSC CELLS"
    adae.loc[few_placebo, "AEACN"] = "SALINE INFUSION NOT CHANGED"
    adae.loc[adae.index[_arm_of(adae) == ACTIVE][3:4], "AETERM"] = "RASH AFTER UC\u2013MSC"   # en dash
    adae.loc[adae.index[_arm_of(adae) == ACTIVE][4:5], "AETERM"] = "FEVER AFTER \u0421ELLS PLACEB\u041e"  # Cyrillic
    out = {"adsl": adsl, "adae": adae, "adlb": adlb, "adex": adex, "advs": advs}
    return {n: _sorted_by_arm(f) for n, f in out.items()}


@pytest.fixture(scope="module")
def tricky_extract(tmp_path_factory) -> Path:
    """The tricky current extract, and a tricky previous extract (sorted by arm, with TRTGRP)."""
    root = tmp_path_factory.mktemp("tricky")
    rng = np.random.default_rng(11)
    _write(root / "previous", _tricky(_sample(SAMPLE_PREVIOUS), rng))
    return _write(root / "current", _tricky(_sample(), rng),
                  '[extract]\nprevious = "../previous"\n[blinding]\ncolumns = ["AESIFL"]\n')


@pytest.fixture(scope="module")
def tricky_blinded(tricky_extract, tmp_path_factory):
    db_path = tmp_path_factory.mktemp("tricky_db") / "blinded.duckdb"
    con, report = load_extract(tricky_extract, "blinded", db_path=db_path)
    con.close()
    con = duckdb.connect(str(db_path), read_only=True)
    yield con, report, db_path
    con.close()


# -- the tricky extract loads, and nothing in it predicts the arm --------------------------------

def test_tricky_extract_positive_control(tricky_extract):
    """The checker finds every planted leak in the unblinded load (so it can find them at all)."""
    con, _report = load_extract(tricky_extract, "unblinded")
    try:
        leaks = db_leaks(con, ARM, ("adsl", "adae", "adlb", "adex", "advs", "prev_adlb"))
    finally:
        con.close()
    assert {"INFVOLML", "COHORT2", "HALFFL", "ANLARM", "SRC_ROW", "<row order>"} <= set(leaks["adsl"])
    assert {"TRTGRP", "TRT\u0410", "SRC_ROW"} <= set(leaks["adlb"])
    assert {"EXVOL", "EXCELLCT", "EXCOMM"} <= set(leaks["adex"])
    assert {"VSGRPID"} <= set(leaks["advs"])
    assert {"AETRTEM"} <= set(leaks["adae"])
    assert {"TRTGRP"} <= set(leaks["prev_adlb"])


def test_tricky_blinded_db_has_no_column_predicting_arm(tricky_blinded):
    con, _report, _path = tricky_blinded
    assert db_leaks(con, ARM) == {}


def test_tricky_blinded_db_keeps_no_planted_column_and_names_none(tricky_blinded):
    con, report, _path = tricky_blinded
    planted = {"INFVOLML", "COHORT2", "HALFFL", "TRTGRP", "TRT\u0410", "TRTA", "EXVOL", "EXCELLCT", "EXCOMM",
               "VSGRPID", "AETRTEM", "ARM", "TRT01P", "EXDOSE", "EXTRT", "AESIFL"}
    columns = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns").fetchall()}
    assert planted & columns == set()
    # the blinding log counts, per domain, and names no column
    log = con.execute('SELECT domain, "column", rule, detail FROM blinding_log ORDER BY domain, rule').fetchall()
    assert log == [
        ("ADAE", "(not named)", "R1", "3 columns not on the allow-list were not loaded"),
        ("ADAE", "(not named)", "R2", "8 text values naming a treatment were masked"),
        ("ADEX", "(not named)", "R1", "8 columns not on the allow-list were not loaded"),
        ("ADLB", "(not named)", "R1", "4 columns not on the allow-list were not loaded"),
        ("ADSL", "(not named)", "R1", "12 columns not on the allow-list were not loaded"),
        ("ADVS", "(not named)", "R1", "2 columns not on the allow-list were not loaded"),
    ]
    text = " ".join(str(v) for t in ("blinding_log", "findings", "study", "provenance")
                    for row in con.execute(f'SELECT * FROM "{t}"').fetchall() for v in row)
    assert [c for c in planted - {"ARM", "TRTA"} if re.search(rf"\b{c}\b", text)] == []


def test_tricky_blinded_previous_extract_has_current_kept_columns(tricky_blinded):
    """Rule R5: the previous cut is blinded with the current cut's kept-column set."""
    con, _report, _path = tricky_blinded
    for domain in ("adsl", "adae", "adlb", "adex", "advs"):
        current = {r[0] for r in con.execute(f"DESCRIBE {domain}").fetchall()}
        previous = {r[0] for r in con.execute(f"DESCRIBE prev_{domain}").fetchall()}
        assert previous <= current | {"PARAMTYP"}, domain
    assert "AESIFL" not in {r[0] for r in con.execute("DESCRIBE prev_adae").fetchall()}


def test_tricky_blinded_free_text_is_masked(tricky_blinded):
    con, _report, _path = tricky_blinded
    masked = con.execute(f"""SELECT count(*) FILTER (WHERE AETERM = '{TEXT_MASK}'),
                                    count(*) FILTER (WHERE AEACN = '{TEXT_MASK}') FROM adae""").fetchone()
    assert masked == (5, 3)
    text = " ".join(str(v) for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
                    for row in con.execute(f'SELECT * FROM "{t}"').fetchall() for v in row)
    assert texts_naming_arm(text) == []


def test_tricky_blinded_rows_in_subject_order_and_renumbered(tricky_blinded):
    con, _report, _path = tricky_blinded
    rows = con.execute("SELECT USUBJID, SRC_ROW FROM adsl").fetchall()
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    assert [r[1] for r in rows] == list(range(1, len(rows) + 1))
    ae = con.execute("SELECT USUBJID, ASTDT FROM adae").fetchall()
    assert ae == sorted(ae, key=lambda r: (r[0], r[1] is None, r[1]))


def test_tricky_blinded_db_file_bytes_hold_no_arm_label(tricky_blinded):
    _con, _report, path = tricky_blinded
    data = path.read_bytes()
    for label in (b"UC-MSC", b"UCMSC", b"Placebo", b"PLACEBO", b"PBO-3", b"ACT-7", b"Saline", b"SALINE"):
        assert label not in data, label


def test_tricky_blinded_exports_and_packet_predict_no_arm(tricky_blinded, tmp_path, monkeypatch):
    """Every export and the packet (without its chart images), computed from the blinded DuckDB file."""
    from dashboard import export

    _con, report, path = tricky_blinded
    from dashboard import load

    def blinded_file(*a, **k):
        return duckdb.connect(str(path), read_only=True), report

    monkeypatch.setattr(export, "load_extract", blinded_file)
    monkeypatch.setattr(load, "load_extract", blinded_file)  # the packet loads through dashboard.load
    export.export_tables(Path("unused"), "blinded", tmp_path / "exports")
    files = sorted((tmp_path / "exports").glob("*.csv"))
    assert len(files) > 20
    leaks, named = {}, {}
    for f in files:
        frame = pd.read_csv(f, dtype=str, keep_default_na=False)
        col = subject_column(frame)
        if col and len(frame):
            found = leaking_columns(frame, col, ARM)
            if found:
                leaks[f.name] = found
        hits = texts_naming_arm(f.read_text())
        if hits:
            named[f.name] = hits
    assert (leaks, named) == ({}, {})
    html = export.write_meeting_packet(Path("unused"), "blinded", tmp_path / "packet.html", charts=False).read_text()
    assert texts_naming_arm(html) == []
    # the order subjects first appear in the packet is no cut-off on the arm
    first = {}
    for m in re.finditer(r"NCT04562025-\d\d-\d\d\d", html):
        first.setdefault(m.group(0), m.start())
    assert len(first) > 10 and not cutoff_leak({s: float(p) for s, p in first.items()}, ARM)


@pytest.mark.slow
def test_tricky_blinded_pages_predict_no_arm(tricky_extract, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("DSMB_EXTRACT", str(tricky_extract))
    monkeypatch.setenv("DSMB_ROLE", "blinded")
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180).run()
    assert not at.exception
    problems = {}
    for page in sorted(p.name for p in (ROOT / "pages").glob("[!_]*.py")):
        at.switch_page(f"pages/{page}").run()
        assert not at.exception, (page, at.exception)
        text = " ".join(str(getattr(e, "value", "")) for kind in ("markdown", "caption", "info", "metric", "text")
                        for e in getattr(at, kind, []))
        for df in at.dataframe:
            frame = df.value.reset_index()
            text += frame.to_csv()
            col = subject_column(frame)
            if col and len(frame):
                found = leaking_columns(frame, col, ARM)
                if found:
                    problems[(page, tuple(frame.columns[:3]))] = found
        if texts_naming_arm(text):
            problems[page] = texts_naming_arm(text)
    assert problems == {}


# -- the loads that must refuse ----------------------------------------------------------------

def _refused(folder: Path, run_cli) -> str:
    code, out, err = run_cli("load", folder, "--db", folder.parent / "refused.duckdb", "--role", "blinded")
    assert (code, out) == (2, ""), err
    assert "Traceback" not in err and not (folder.parent / "refused.duckdb").exists()
    assert not re.search(r"\d\.\d|%|kappa|accuracy|purity|\bscore\b", err), err  # never the score
    return err


def _loads_unblinded(folder: Path, run_cli) -> None:
    code, _out, err = run_cli("load", folder, "--db", folder.parent / "u.duckdb", "--role", "unblinded")
    assert (code, err) == (0, "")


def test_refuses_partial_flag_on_allowed_column(tmp_path, run_cli):
    """EFFFL (allow-listed) set on 10 of the 19 active subjects only: every "Y" is on cells."""
    frames = _sample()
    active = _arm_of(frames["adsl"]) == ACTIVE
    frames["adsl"]["EFFFL"] = np.where(active & (np.cumsum(active) <= 10), "Y", "N")
    folder = _write(tmp_path / "x", frames)
    err = _refused(folder, run_cli)
    assert "ADSL.EFFFL" in err and "[blinding] columns" in err and "[blinding] reviewed" in err
    _loads_unblinded(folder, run_cli)


def test_refuses_allowed_continuous_separator_and_near_arm_cohort(tmp_path, run_cli):
    """Allowing a column loads it but does not vouch for it: INFVOLML (about 100 vs 50 mL) and
    COHORT2 (the arm with 5 of 38 subjects flipped) are scored and refused."""
    frames = _sample()
    rng = np.random.default_rng(3)
    adsl = frames["adsl"]
    active = _arm_of(adsl) == ACTIVE
    adsl["INFVOLML"] = np.where(active, rng.normal(100, 8, len(adsl)), rng.normal(50, 8, len(adsl))).round(1)
    randomized = np.flatnonzero(_arm_of(adsl) != "")
    cohort = np.where(active, "C2", "C1").astype(object)
    cohort[randomized[:5]] = np.where(cohort[randomized[:5]] == "C1", "C2", "C1")
    adsl["COHORT2"] = cohort
    err = _refused(_write(tmp_path / "x", frames, '[blinding]\nallow = ["INFVOLML", "ADSL.COHORT2"]\n'), run_cli)
    assert "ADSL.INFVOLML" in err and "ADSL.COHORT2" in err


def test_refuses_record_level_code_in_allowed_column(tmp_path, run_cli):
    """An ADLB LBCAT holding a group code on post-baseline rows only."""
    frames = _sample()
    adlb = frames["adlb"]
    adlb["LBCAT"] = np.where(adlb["ABLFL"] != "Y", _by_arm(adlb, "GRP-1", "GRP-2"), "")
    err = _refused(_write(tmp_path / "x", frames), run_cli)
    assert "ADLB.LBCAT" in err


def test_refuses_product_words_on_most_of_one_arm(tmp_path, run_cli):
    """Masking hides the word, but a mask on one arm's records only would still point at the arm."""
    frames = _sample()
    adae = frames["adae"]
    adae["AEACN"] = np.where(_arm_of(adae) == PLACEBO, "SALINE INFUSION NOT CHANGED", "DOSE NOT CHANGED")
    frames["adae"] = adae
    err = _refused(_write(tmp_path / "x", frames), run_cli)
    assert "ADAE.AEACN" in err


def test_refuses_column_blank_in_current_cut_that_carries_arm_in_previous(tmp_path, run_cli):
    """VSPOS blank in the current cut, by arm in the previous one: both cuts are scored together."""
    current, previous = _sample(), _sample(SAMPLE_PREVIOUS)
    current["advs"]["VSPOS"] = ""
    previous["advs"]["VSPOS"] = _by_arm(previous["advs"], "SITTING", "SUPINE")
    _write(tmp_path / "previous", previous)
    folder = _write(tmp_path / "current", current, '[extract]\nprevious = "../previous"\n')
    err = _refused(folder, run_cli)
    assert "ADVS.VSPOS" in err


def test_reviewed_column_loads(tmp_path):
    """The statistician's way out for a clinical effect: ``[blinding] reviewed``."""
    frames = _sample()
    adlb = frames["adlb"]
    adlb["LBCAT"] = np.where(adlb["ABLFL"] != "Y", _by_arm(adlb, "GRP-1", "GRP-2"), "")
    folder = _write(tmp_path / "x", frames, '[blinding]\nreviewed = ["ADLB.LBCAT"]\n')
    con, _report = load_extract(folder, "blinded", with_previous=False)
    try:
        assert con.execute("SELECT count(DISTINCT LBCAT) FROM adlb").fetchone()[0] == 2
    finally:
        con.close()


# -- the rules, literally ----------------------------------------------------------------------

def test_normalise_text_look_alikes():
    assert normalise_text("TRT\u0410") == "TRTA"                    # Cyrillic A
    assert normalise_text("\u0420\u0412\u041e-3") == "PBO-3"         # Cyrillic P, B (Ve), O
    assert normalise_text("\u03a1\u0392\u039f") == "PBO"             # Greek Rho, Beta, Omicron
    assert normalise_text("ＵＣ－ＭＳＣ") == "UC-MSC"                  # full-width (NFKC)
    assert normalise_text("pla\u200bcebo") == "PLACEBO"              # zero-width space


def test_column_blinding_rule_look_alike_name():
    assert column_blinding_rule("ADLB", "TRT\u0410") == "B1"         # normalised, then a treatment name
    assert column_blinding_rule("ADSL", "\u0410GE") == "B5"          # AGE with a Cyrillic A: not ASCII
    assert column_blinding_rule("ADSL", "AGE") is None


BLINDED_KEEPS = pd.DataFrame(columns=["domain", "column", "allow", "drop", "kept"], data=[
    # on the allow-list
    ("ADSL", "AGE", (), (), True),
    ("ADLB", "AVAL", (), (), True),
    ("ADAE", "AETERM", (), (), True),
    ("ADEX", "EXADJ", (), (), True),
    ("ADEX", "ASTDT", (), (), True),
    # not on it
    ("ADSL", "INFVOLML", (), (), False),
    ("ADLB", "TRTGRP", (), (), False),
    ("ADVS", "VSGRPID", (), (), False),
    ("ADAE", "AETRTEM", (), (), False),
    # ADEX: schedule only, whatever the sponsor allows
    ("ADEX", "AVAL", ("AVAL",), (), False),
    ("ADEX", "EXVOL", ("ADEX.EXVOL",), (), False),
    ("ADEX", "EXROUTE", (), (), False),
    ("ADEX", "EXDOSE", (), (), False),
    # the sponsor's lists
    ("ADSL", "STRAT1", ("STRAT1",), (), True),
    ("ADSL", "STRAT1", ("ADSL.STRAT1",), (), True),
    ("ADSL", "STRAT1", ("ADAE.STRAT1",), (), False),
    ("ADSL", "AGE", (), ("AGE",), False),
    ("ADSL", "AGE", (), ("ADSL.AGE",), False),
    ("ADSL", "TRT01P", ("TRT01P",), (), False),
])


def test_blinded_keeps_table():
    got = BLINDED_KEEPS.assign(kept=[blinded_keeps(d, c, a, x) for d, c, a, x in BLINDED_KEEPS.iloc[:, :4].itertuples(index=False)])
    pd.testing.assert_frame_equal(got, BLINDED_KEEPS)


def test_treatment_terms_from_sample_arms():
    terms = TreatmentTerms.build([PLACEBO, ACTIVE, "Screen Failure"], ["PBO", "UCMSC", "SCRNFAIL"], ["human albumin"])
    # whole labels, distinctive words (not CELLS, KG or 1x10^6), codes of 3+ letters, built-in and sponsor terms
    assert terms.terms == ("UC-MSC 1X10^6 CELLS/KG", "HUMAN ALBUMIN", "PLACEBO", "VEHICLE", "SALINE", "UC-MSC",
                           "UCMSC", "SHAM", "MSC", "PBO")
    values = pd.Series(["INFUSION REACTION TO UC-MSC CELLS", "Headache", "PBO-3", "dose not changed",
                        "White blood cells decreased", "Albumin (g/L)", None, "SCREEN FAILURE",
                        "Saline + 1% human albumin bag"], dtype="string")
    masked, n = terms.mask(values)
    assert n == 3
    assert masked.fillna("<missing>").tolist() == [
        TEXT_MASK, "Headache", TEXT_MASK, "dose not changed", "White blood cells decreased", "Albumin (g/L)",
        "<missing>", "SCREEN FAILURE", TEXT_MASK]
    # generic words of a label are no treatment name: "Drug 10 mg" must not mask AEACN "DRUG WITHDRAWN"
    terms = TreatmentTerms.build(["Placebo", "Drug 10 mg"])
    assert terms.terms == ("DRUG 10 MG", "PLACEBO", "VEHICLE", "SALINE", "SHAM")
    assert terms.mask(pd.Series(["DRUG WITHDRAWN", "DRUG INTERRUPTED"], dtype="string"))[1] == 0


# -- the allow-list covers every column the product reads ----------------------------------------

def _names_the_code_reads() -> set[str]:
    """Upper-case identifiers in the product's code (pages, analyses, charts, loader, exports)."""
    files = [p for p in (ROOT / "dashboard").rglob("*.py") if p.name not in ("generate.py", "blinding.py")]
    files += list((ROOT / "pages").glob("*.py")) + [ROOT / "streamlit_app.py"]
    return set(re.findall(r"\b[A-Z][A-Z0-9]{2,}\b", " ".join(p.read_text() for p in files)))


def _lost_columns(unblinded, blinded) -> dict[str, list[str]]:
    """Columns the code reads that the unblinded load has and the blinded one lacks (treatment,
    dose and ADEX amounts excepted: never loaded by design)."""
    used = _names_the_code_reads()
    lost = {}
    for domain in ("adsl", "adae", "adlb", "adex", "advs"):
        have = {r[0] for r in unblinded.execute(f"DESCRIBE {domain}").fetchall()} if _has(unblinded, domain) else set()
        kept = {r[0] for r in blinded.execute(f"DESCRIBE {domain}").fetchall()} if _has(blinded, domain) else set()
        missing = sorted(c for c in (have & used) - kept if not column_blinding_rule(domain.upper(), c))
        if missing:
            lost[domain] = missing
    return lost


def _has(con, table: str) -> bool:
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = $t", {"t": table}).fetchone()[0] > 0


def test_allow_list_keeps_what_the_code_reads_sample_trial():
    unblinded, _ = load_extract(SAMPLE, "unblinded", with_previous=False)
    blinded, _ = load_extract(SAMPLE, "blinded", with_previous=False)
    try:
        assert _lost_columns(unblinded, blinded) == {}
    finally:
        unblinded.close()
        blinded.close()


@pytest.mark.needs_pilot
def test_allow_list_keeps_what_the_code_reads_cdisc_pilot(pilot_unblinded, pilot_blinded):
    assert _lost_columns(pilot_unblinded[0].cursor(), pilot_blinded) == {}
