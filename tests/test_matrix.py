"""The matrix: every registered table computes, and every page renders, on every kind of extract.

A table may say "not in this extract" (:class:`~dashboard.registry.NotInExtract`) or come back
empty; it may not raise anything else. Rows of the matrix:

- extracts: the sample trial, its ``generate --with-problems`` variant, the CDISC pilot as XPT,
  the pilot written to CSV and to Parquet with pandas (converted once per session), and
  pharmaverseadam; each in both roles, for tables (compute, display, charts);
- filters: a zero-subject filter (Sex F + age >= 65 + eGFR G5) and a data cut before the first
  randomization, on the sample and the pilot;
- pages (AppTest, unblinded) for the extracts ``test_pages.py`` does not already render (the
  with-problems sample, pharmaverseadam) and for the sample under the zero-subject filter; the
  pilot as CSV and Parquet gets the table rows only (its pages are the XPT pilot's, rendered by
  ``test_pages.py``; CPU time is the CI budget's limit);
- the sample with each optional contract column removed in turn: ``test_matrix_columns.py`` (its
  own file, so pytest-xdist runs it beside this one).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from pathlib import Path

import pytest

from dashboard import db, registry
from dashboard.filters import FilterSpec

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SAMPLE = ROOT / "sample_data" / "nct04562025_unblinded"
PILOT = SHARED / "cdiscpilot01"
PHARMAVERSE = SHARED / "pharmaverseadam"
APP = str(ROOT / "streamlit_app.py")
PAGES = sorted(p.name for p in (ROOT / "pages").glob("[!_]*.py"))

ZERO_SUBJECTS = FilterSpec(sexes=("F",), age_groups=(">=65",), egfr_categories=("G5",))
BEFORE_FIRST_RANDOMIZATION = FilterSpec(data_cut=dt.date(1990, 1, 1))


def _needs(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} not found (../shared is absent)")


@pytest.fixture(scope="session")
def with_problems(tmp_path_factory) -> Path:
    """``python -m dashboard generate --seed 7 --with-problems`` (in-process)."""
    from dashboard.cli import main

    out = tmp_path_factory.mktemp("problems") / "extract"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["generate", "--out", str(out), "--seed", "7", "--with-problems"]) == 0
    return out


def _convert_pilot(tmp_path_factory, suffix: str) -> Path:
    """The pilot's XPT files written with pandas (ISO dates in CSV, date64 in Parquet)."""
    import pyreadstat

    _needs(PILOT)
    out = tmp_path_factory.mktemp(f"pilot_{suffix}")
    for xpt in sorted(PILOT.glob("*.xpt")):
        frame, _ = pyreadstat.read_xport(str(xpt), dates_as_pandas_datetime=True)
        target = out / f"{xpt.stem}.{suffix}"
        frame.to_csv(target, index=False) if suffix == "csv" else frame.to_parquet(target, index=False)
    return out


@pytest.fixture(scope="session")
def pilot_csv(tmp_path_factory) -> Path:
    return _convert_pilot(tmp_path_factory, "csv")


@pytest.fixture(scope="session")
def pilot_parquet(tmp_path_factory) -> Path:
    return _convert_pilot(tmp_path_factory, "parquet")


@pytest.fixture(scope="session")
def extract_path(request, with_problems, tmp_path_factory):
    """``extract_path(name) -> folder`` for the named matrix extracts (skips when absent)."""
    paths = {"sample": lambda: SAMPLE, "with_problems": lambda: with_problems, "pilot_xpt": lambda: PILOT,
             "pilot_csv": lambda: request.getfixturevalue("pilot_csv"),
             "pilot_parquet": lambda: request.getfixturevalue("pilot_parquet"),
             "pharmaverseadam": lambda: PHARMAVERSE}

    def get(name: str) -> Path:
        path = paths[name]()
        _needs(path)
        return path

    return get


_LOADED: dict = {}


@pytest.fixture(scope="session")
def loaded(extract_path):
    """``loaded(name, role) -> con``: each matrix extract loaded once per role per session."""
    from dashboard.load import load_extract

    def get(name: str, role: str):
        if (name, role) not in _LOADED:
            _LOADED[(name, role)] = load_extract(extract_path(name), role)[0]
        return _LOADED[(name, role)]

    yield get
    for con in _LOADED.values():
        con.close()
    _LOADED.clear()


def table_failures(con, role: str, spec: FilterSpec, names=None) -> list[str]:
    """Every registered table (or ``names``) computed, displayed and charted; the exceptions as text."""
    failures = []
    for entry in registry.tables_for(None, role):
        if names is not None and entry.name not in names:
            continue
        try:
            frame = registry.compute(entry.name, con, spec, role)
            registry.display(entry.name, frame)
            for chart in entry.charts:
                chart(frame)
        except registry.NotInExtract:
            continue
        except Exception as exc:  # noqa: BLE001 - the point of the matrix is to catch anything
            failures.append(f"{entry.name}: {type(exc).__name__}: {exc}")
    return failures


EXTRACTS = ["sample", "with_problems", "pilot_xpt", "pilot_csv", "pilot_parquet", "pharmaverseadam"]
# The blinded load differs from the unblinded one by the columns it removes, not by file format, so it
# runs on one extract of each origin (the CSV/Parquet pilot are the XPT pilot's rows).
ROLES = [(name, "unblinded") for name in EXTRACTS] + [(name, "blinded") for name in
                                                      ("sample", "with_problems", "pilot_xpt", "pharmaverseadam")]


@pytest.mark.slow
@pytest.mark.parametrize("name,role", ROLES)
def test_every_table_computes_on_each_extract(loaded, name, role):
    assert table_failures(loaded(name, role), role, FilterSpec()) == []


@pytest.mark.slow
@pytest.mark.parametrize("name,spec", [("sample", ZERO_SUBJECTS), ("sample", BEFORE_FIRST_RANDOMIZATION),
                                       ("pilot_xpt", ZERO_SUBJECTS)],
                         ids=["sample-sex_age_egfr", "sample-cut_before_first", "pilot_xpt-sex_age_egfr"])
def test_every_table_computes_for_zero_subjects(loaded, name, spec):
    con = loaded(name, "unblinded")
    assert db.run(con, "SELECT count(*) AS n FROM population($population, $sexes, $age_groups, $egfr_categories, "
                  "$arms, $data_cut)", spec.params())["n"].iloc[0] == 0
    assert table_failures(con, "unblinded", spec) == []


# -- pages ----------------------------------------------------------------------------------

def _page_exceptions(monkeypatch, extract: Path, spec: FilterSpec | None = None) -> dict[str, list[str]]:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("DSMB_EXTRACT", str(extract))
    monkeypatch.setenv("DSMB_ROLE", "unblinded")
    at = AppTest.from_file(APP, default_timeout=180).run()
    failures = {"streamlit_app.py": [e.value for e in at.exception]}
    if spec is not None:
        # AppTest reruns a page without the router, so the filter the sidebar would build is set directly.
        at.session_state["dsmb_spec"] = spec
    for page in PAGES:
        at.switch_page(f"pages/{page}").run()
        failures[page] = [e.value for e in at.exception]
    return {page: errs for page, errs in failures.items() if errs}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["with_problems", "pharmaverseadam"])
def test_every_page_renders_on_each_extract(monkeypatch, extract_path, name):
    assert _page_exceptions(monkeypatch, extract_path(name)) == {}


@pytest.mark.slow
def test_every_page_renders_for_zero_subjects(monkeypatch):
    assert _page_exceptions(monkeypatch, SAMPLE, ZERO_SUBJECTS) == {}
