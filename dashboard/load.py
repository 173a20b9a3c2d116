"""Load an extract into DuckDB: read each domain in chunks, blind, validate, account for every row.

Order of work, per domain (ADSL first, since the others are checked against its subjects):

1. the file's columns are mapped to the contract (aliases) and required columns checked;
2. in the blinded role only allow-listed columns are read, text naming a treatment is masked
   and source rows are renumbered in subject/date order (``dashboard.blinding`` R1-R3); after
   all domains (and the previous extract) are in, the R4 gate refuses a blinded load in which
   a kept column still predicts the arm;
3. each chunk's values are parsed (numbers, ISO/SAS dates; R's unquoted ``NA`` is missing),
   missing dates are taken from their datetime twins (``data_contracts.resolution``), and the
   rows are validated with the pandera contract, lazily. Every problem is a ``findings`` row;
   the safety-record policy decides its action: a row that cannot be used (no subject,
   unparseable key) is ``quarantined``, any other row is ``flagged`` and loaded with the value
   mapped by a stated rule or missing (docs/definitions.md, "Safety-record policy");
4. cross-row checks run in SQL on the staged rows: duplicate records and subjects missing from
   ADSL (quarantined), more than one unit per lab parameter, more than one baseline per
   subject/parameter (flagged);
5. variable resolution: ADSL flags the extract lacks are derived (``dashboard.resolution``) and
   every alias, date part and derivation is recorded in the ``derivations`` table;
6. derived lab parameters (eGFR CKD-EPI 2021) are added, and visit checks flag missing and
   out-of-window visits (action ``flagged``: the rows stay loaded).

For every file, ``rows_read = rows_accepted + rows_quarantined`` (the ``provenance`` table).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pandera.pandas as pa

from dashboard import db
from dashboard.bds import normalize_unit, visit_target_day  # noqa: F401 (visit_target_day: public name)
from dashboard.blinding import (
    ANALYSIS_ARM, ANALYSIS_ARM_ORDER, NON_ARM_VALUES, POOLED_ARM, BlindingDecision, Role, TreatmentTerms,
    arm_predicting_columns, blinded_keeps, blinded_row_numbers, column_blinding_rule,
)
from dashboard.extract import (
    DEFAULT_CHUNK_ROWS, ExtractError, Manifest, SourceFile, discover_files, iter_chunks, open_extract,
    parse_dates, read_columns, read_manifest, remove_workdir, sha256_of,
)
from dashboard.consistency import consistency_findings
from dashboard.population import create_population_objects
from dashboard.resolution import (
    DERIVED, Derivation, date_part_derivations, exposure_derivation, fill_date_parts, resolve_subject_variables,
    write_derivations,
)
from dashboard.renal import creatinine_umol_to_mg_dl, egfr_ckd_epi_2021
from data_contracts import CONTRACTS, DomainContract
from data_contracts.adlb import PLAUSIBLE_RANGES, canonical_lab_code, unit_from_param
from data_contracts.adsl import ARM_SOURCE_COLUMNS
from data_contracts.base import allowed_values, map_coded_value, map_distinct
from data_contracts.findings import (
    FINDING_COLUMNS, FLAGGED, QUARANTINE_CHECKS, QUARANTINED, Finding, finding_message, findings_from_schema_errors,
    format_value,
)

SRC_FILE, SRC_ROW = "SRC_FILE", "SRC_ROW"
EGFR_PARAM = "eGFR CKD-EPI 2021 (mL/min/1.73m2)"
EGFR_UNIT = "mL/min/1.73m2"


@dataclass(frozen=True)
class DomainCount:
    rows_read: int
    rows_accepted: int
    rows_quarantined: int


@dataclass
class LoadReport:
    """What a load did: counts, findings, provenance, blinding decisions and study facts."""

    extract: Path
    role: Role
    manifest: Manifest
    study: dict
    domains: dict[str, DomainCount]
    findings: pd.DataFrame
    provenance: pd.DataFrame
    blinding: list[BlindingDecision]
    notes: list[str] = field(default_factory=list)
    fingerprint: str = ""

    @property
    def rows_quarantined(self) -> int:
        return sum(d.rows_quarantined for d in self.domains.values())

    @property
    def status(self) -> str:
        if self.rows_quarantined:
            return "quarantined"
        if len(self.findings):
            return "flagged"
        return "clean"

    @property
    def exit_code(self) -> int:
        return 1 if self.rows_quarantined else 0


@dataclass
class _Context:
    folder: Path
    role: Role
    manifest: Manifest
    con: duckdb.DuckDBPyConnection
    chunk_rows: int
    findings: list[Finding] = field(default_factory=list)
    blinding: list[BlindingDecision] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    provenance: list[dict] = field(default_factory=list)
    arm_by_subject: pd.Series | None = None
    arm_codes: dict[str, float] = field(default_factory=dict)
    arm_code_texts: set[str] = field(default_factory=set)
    staged: dict[str, list[str]] = field(default_factory=dict)
    terms: TreatmentTerms | None = None
    kept: dict[str, set[str]] = field(default_factory=dict)
    dropped: dict[str, set[str]] = field(default_factory=dict)
    not_loaded: dict[str, int] = field(default_factory=dict)
    masked: dict[str, int] = field(default_factory=dict)
    inherit: "_Inherited | None" = None
    prev_arms: pd.Series | None = None
    derivations: list[Derivation] = field(default_factory=list)
    #: (domain, variable) -> rows whose date came from its datetime twin
    date_fills: dict[tuple[str, str], int] = field(default_factory=dict)
    #: domain -> rows whose unit came from PARAM
    unit_fills: dict[str, int] = field(default_factory=dict)
    absent: dict[str, list[str]] = field(default_factory=dict)
    had_columns: dict[str, set[str]] = field(default_factory=dict)


@dataclass
class _Inherited:
    """What a blinded previous extract takes from the current one (rule R5), and gives back."""

    kept: dict[str, set[str]]
    dropped: dict[str, set[str]]
    terms: TreatmentTerms | None
    arms: pd.Series | None = None


def load_extract(extract: Path | str, role: Role | str = Role.BLINDED, db_path: Path | str | None = None,
                 chunk_rows: int = DEFAULT_CHUNK_ROWS, require_arm: bool = True, with_previous: bool = True,
                 _inherit: _Inherited | None = None) -> tuple[duckdb.DuckDBPyConnection, LoadReport]:
    """Load an extract folder or zip into DuckDB (a file at ``db_path``, else in memory).

    ``role`` decides what may reach DuckDB (see ``dashboard.blinding``). The unblinded role
    needs the treatment assignment (in ADSL or a randomization file named in extract.toml);
    ``require_arm=False`` loads without it (used by ``validate``). When extract.toml names a
    previous extract (and ``with_previous``), its domain tables are loaded in the same role as
    ``prev_<domain>`` for the "changes since the previous extract" view (a blinded previous
    extract is loaded with this one's kept columns and text terms, ``_inherit``). Raises
    :class:`ExtractError` when the extract cannot be used at all, and in the blinded role when
    a kept column predicts the arm (rule R4 of ``dashboard.blinding``).
    """
    role = Role.parse(role)
    extract = Path(extract)
    folder = open_extract(extract)
    if db_path:
        db_path = Path(db_path)
        for p in (db_path, Path(str(db_path) + ".wal")):
            if p.exists():
                p.unlink()
    con = db.connect(db_path)
    try:
        manifest = read_manifest(folder)
        files, ignored = discover_files(folder)
        ctx = _Context(folder, role, manifest, con, chunk_rows, inherit=_inherit)
        if ignored:
            ctx.notes.append("Ignored files (not an ADaM domain): " + ", ".join(p.name for p in ignored))
        _prepare_arm(ctx, files["ADSL"][0], require_arm)
        if role is Role.BLINDED:
            ctx.terms = _inherit.terms if _inherit else TreatmentTerms.build(
                () if ctx.arm_by_subject is None else pd.unique(ctx.arm_by_subject.dropna()),
                ctx.arm_code_texts, manifest.blind_terms)
        for name, contract in CONTRACTS.items():
            if files[name]:
                _load_domain(ctx, contract, files[name])
            else:
                ctx.notes.append(f"{name}: not in this extract.")
        _resolve(ctx)
        _check_studies(ctx)
        _derive_egfr(ctx)
        _flag_visits(ctx, "ADLB")
        ctx.findings += consistency_findings(con)
        if with_previous:
            _load_previous(ctx)
        if role is Role.BLINDED:
            _refuse_arm_predicting_columns(ctx)
            _order_blinded_tables(ctx)
        study = _write_metadata(ctx, extract, files)
        create_population_objects(con)
        report = _report(ctx, extract, study)
        return con, report
    except BaseException:
        con.close()
        if db_path:
            Path(db_path).unlink(missing_ok=True)
        raise
    finally:
        remove_workdir(folder, extract)


# -- arm ------------------------------------------------------------------------------------

def _prepare_arm(ctx: _Context, adsl: SourceFile, require_arm: bool) -> None:
    """Read the treatment assignment into memory (never into DuckDB in the blinded role)."""
    contract = CONTRACTS["ADSL"]
    raw_cols = read_columns(adsl, ctx.manifest.encoding)
    rename = contract.canonical_columns(raw_cols)
    # Checked here, before the arm is read: two columns mapping to one name (ARM and " arm ")
    # would make the arm a frame, not a column.
    _check_columns(contract, adsl, raw_cols, rename)
    cols = set(rename.values())
    arm_col = next((c for c in ARM_SOURCE_COLUMNS if c in cols), None)
    arms = None
    if arm_col:
        # Actual treatment first; a randomized subject never dosed has no actual arm, so the
        # next source (ACTARM, planned TRT01P, ARM) that has a value is used.
        sources = [c for c in ARM_SOURCE_COLUMNS if c in cols]
        code_cols = [c for c in ("ARMCD", "ACTARMCD") if c in cols]
        parts = []
        for _, chunk in iter_chunks(adsl, ctx.manifest.encoding, ctx.chunk_rows):
            chunk = chunk.rename(columns=rename)
            parts.append(chunk[["USUBJID", *sources, *code_cols]].astype("string"))
        frame = pd.concat(parts)
        for c in code_cols:  # arm codes (PBO, UCMSC) are looked for in free text (rule R2)
            ctx.arm_code_texts |= set(frame[c].dropna().str.strip())
        arm = pd.Series(pd.NA, index=frame.index, dtype="string")
        for c in sources:
            value = frame[c].str.strip()
            arm = arm.fillna(value.mask(value.str.upper().isin(NON_ARM_VALUES)))
        first = frame[sources[0]].str.strip()
        arm = arm.fillna(first.mask(first == ""))  # e.g. "Screen Failure" when no source names an arm
        frame = frame.assign(USUBJID=frame["USUBJID"].str.strip(), arm=arm)
        arms = frame.drop_duplicates("USUBJID").set_index("USUBJID")["arm"]
        if f"{arm_col}N" in cols:
            ctx.arm_codes = _arm_codes(adsl, ctx, rename, arm_col)
    elif ctx.manifest.randomization_file:
        arms = _read_randomization(ctx.manifest.randomization_file, ctx.manifest.encoding)
    if arms is None and ctx.role is Role.UNBLINDED and require_arm:
        raise ExtractError(
            f"{adsl.name}: the unblinded role needs the treatment assignment, but ADSL has none of "
            f"{', '.join(ARM_SOURCE_COLUMNS)} and extract.toml names no [blinding] randomization_file; "
            "load it in the blinded role or supply the assignment."
        )
    ctx.arm_by_subject = arms
    if arms is None:
        ctx.notes.append("Treatment assignment: not in this extract (blinded extract).")


def _arm_codes(adsl: SourceFile, ctx: _Context, rename: dict, arm_col: str) -> dict[str, float]:
    """The numeric twin of each arm label (TRT01AN for TRT01A), used only to order the arms."""
    codes: dict[str, float] = {}
    for _, chunk in iter_chunks(adsl, ctx.manifest.encoding, ctx.chunk_rows):
        chunk = chunk.rename(columns=rename)
        pairs = chunk[[arm_col, f"{arm_col}N"]].dropna()
        for label, code in zip(pairs[arm_col].astype("string").str.strip(), pd.to_numeric(pairs[f"{arm_col}N"], errors="coerce")):
            codes.setdefault(label, code)
    return codes


def _read_randomization(path: Path, encoding: str) -> pd.Series:
    if not path.exists():
        raise ExtractError(f"{path.name}: the randomization file named in extract.toml does not exist.")
    fmt = {".csv": "csv", ".parquet": "parquet", ".xpt": "xpt", ".sas7bdat": "sas7bdat"}.get(path.suffix.lower())
    if not fmt:
        raise ExtractError(f"{path.name}: randomization file must be .csv, .parquet, .xpt or .sas7bdat.")
    frame = pd.concat(c for _, c in iter_chunks(SourceFile("ADSL", path, fmt), encoding))
    frame.columns = [str(c).upper() for c in frame.columns]
    arm_col = next((c for c in ARM_SOURCE_COLUMNS if c in frame.columns), None)
    if "USUBJID" not in frame.columns or not arm_col:
        raise ExtractError(f"{path.name}: expected columns USUBJID and one of {', '.join(ARM_SOURCE_COLUMNS)}.")
    frame = frame.astype({"USUBJID": "string", arm_col: "string"})
    return frame.drop_duplicates("USUBJID").set_index(frame["USUBJID"].str.strip())[arm_col].str.strip()


def _arm_order(ctx: _Context) -> list[str]:
    arms = ctx.arm_by_subject
    if ctx.role is Role.BLINDED or arms is None:
        return [POOLED_ARM]
    present = [a for a in pd.unique(arms.dropna()) if a.upper() not in NON_ARM_VALUES]
    given = [a for a in ctx.manifest.arm_order if a in present]
    # Without a manifest order: placebo first (the usual reading order), then by the arm's
    # numeric code (TRT01AN: dose order), then by label.
    rest = sorted((a for a in present if a not in given),
                  key=lambda a: (0 if "PLACEBO" in a.upper() else 1, ctx.arm_codes.get(a, np.inf), a))
    return given + rest + sorted(a for a in pd.unique(arms.dropna()) if a.upper() in NON_ARM_VALUES)


# -- one domain -----------------------------------------------------------------------------

def _load_domain(ctx: _Context, contract: DomainContract, files: list[SourceFile]) -> None:
    enc = ctx.manifest.encoding
    plans = []
    raw_cols_of: dict[str, list[str]] = {}
    for src in files:
        raw_cols = read_columns(src, enc)
        raw_cols_of[src.name] = raw_cols
        rename = contract.canonical_columns(raw_cols)
        ctx.had_columns.setdefault(contract.name, set()).update(rename.values())
        _check_columns(contract, src, raw_cols, rename)
        plans.append((src, rename))
    dropped = _blinding_plan(ctx, contract, plans) if ctx.role is Role.BLINDED else {}
    ctx.staged[contract.name] = []
    for src, rename in plans:
        read = accepted = 0
        quarantined_rows: set[int] = set()
        rows = _blinded_rows(ctx, contract, src, rename) if ctx.role is Role.BLINDED else None
        dates = {raw for raw, canon in rename.items() if canon in contract.columns_of_kind("date")}
        for start, chunk in iter_chunks(src, enc, ctx.chunk_rows, dates):
            frame = _prepare_chunk(ctx, contract, src, rename, dropped, start, chunk, rows)
            bad = _validate_chunk(ctx, contract, src, frame)
            read += len(frame)
            good = frame[~frame[SRC_ROW].isin(bad)]
            quarantined_rows |= bad
            accepted += len(good)
            _stage(ctx, contract.name, good)
        _record_aliases(ctx, contract, src, raw_cols_of[src.name], rename, read, dropped)
        ctx.provenance.append({"domain": contract.name, "file": src.name, "format": src.format,
                               "sha256": sha256_of(src.path), "rows_read": read,
                               "rows_quarantined_row_checks": len(quarantined_rows)})
    _finalise_table(ctx, contract)
    _cross_row_checks(ctx, contract)


def _record_aliases(ctx: _Context, contract: DomainContract, src: SourceFile, raw_cols: list[str],
                    rename: dict[str, str], rows: int, dropped: dict) -> None:
    """A derivation row for each contract column read from an alias (AESOC as AEBODSYS); none
    for a column the blinded role removes."""
    for raw in raw_cols:
        canon = rename.get(raw, raw)
        if str(raw).strip().upper() != canon and canon not in dropped:
            ctx.derivations.append(Derivation(
                contract.name, canon, "alias", str(raw), rows, DERIVED,
                f"{canon}: read from {raw} in {src.name} ({contract.name} has no {canon})."))


def _check_columns(contract: DomainContract, src: SourceFile, raw_cols: list[str], rename: dict[str, str]) -> None:
    canon = list(rename.values())
    dupes = sorted({c for c in canon if canon.count(c) > 1})
    if dupes:
        sources = [s for s, c in rename.items() if c == dupes[0]]
        raise ExtractError(f"{src.name}: columns {', '.join(map(str, sources))} all map to {dupes[0]}; expected one.")
    for col in contract.required_columns:
        if col not in canon:
            alts = contract.aliases.get(col, ())
            also = f" (or {', '.join(alts)})" if alts else ""
            raise ExtractError(
                f"{src.name}: required column {col}{also} is missing; expected it in {contract.name} "
                f"(columns found: {', '.join(map(str, raw_cols[:12]))}{', ...' if len(raw_cols) > 12 else ''})."
            )


def _blinding_plan(ctx: _Context, contract: DomainContract, plans) -> set[str]:
    """Columns the blinded role does not load (rule R1): every column not on the allow-list.

    A previous extract keeps only what the current one kept (rule R5). Only the count is
    recorded: naming a dropped column would tell the reader which column encodes the arm.
    """
    m = ctx.manifest
    columns = list(dict.fromkeys(c for _src, rename in plans for c in rename.values()))
    inherited = ctx.inherit.kept.get(contract.name) if ctx.inherit else None
    dropped = {c for c in columns if not blinded_keeps(contract.name, c, m.blind_allow, m.blind_columns)
               or (inherited is not None and c not in inherited)}
    ctx.kept[contract.name] = {c for c in columns if c not in dropped}
    ctx.dropped[contract.name] = dropped | (ctx.inherit.dropped.get(contract.name, set()) if ctx.inherit else set())
    ctx.not_loaded[contract.name] = len(dropped)
    return dropped


def _blinded_rows(ctx: _Context, contract: DomainContract, src: SourceFile, rename: dict) -> np.ndarray:
    """New 1-based row numbers of a file's records in subject order, file order within a subject
    (rule R3): a file sorted by arm is renumbered, one already in subject order keeps its true rows."""
    parts = [chunk.rename(columns=rename)["USUBJID"].astype("string").str.strip()
             for _, chunk in iter_chunks(src, ctx.manifest.encoding, ctx.chunk_rows)]
    subjects = pd.concat(parts, ignore_index=True)
    return blinded_row_numbers(subjects.mask(subjects == "").to_frame("USUBJID"))  # no subject: last


def _prepare_chunk(ctx: _Context, contract: DomainContract, src: SourceFile, rename: dict, dropped: set,
                   start: int, chunk: pd.DataFrame, rows: np.ndarray | None = None) -> pd.DataFrame:
    frame = chunk.rename(columns=rename)
    frame = frame.drop(columns=[c for c in frame.columns if c in dropped])
    numbers = np.arange(start, start + len(frame), dtype="int64")
    # Blinded: the row a record has in subject/date order, not its place in the file (R3).
    frame.insert(0, SRC_ROW, numbers if rows is None else rows[numbers - 1])
    frame.insert(0, SRC_FILE, src.name)
    for col in frame.columns:
        s = frame[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            first = s.dropna().head(1)
            if len(first) and isinstance(first.iloc[0], (dt.date, dt.datetime)):
                continue  # date objects from a reader (XPT DATE formats): parsed below
            s = s.astype("string").str.strip()
            s = s.mask(s == "")
            if ctx.terms is not None and col not in ("USUBJID", "STUDYID"):
                s, n = ctx.terms.mask(s)  # R2: free text that names a treatment
                ctx.masked[contract.name] = ctx.masked.get(contract.name, 0) + n
            frame[col] = s.astype("str")
    if contract.name == "ADLB" or contract.name == "ADVS":
        if "AVALU" not in frame.columns and "PARAM" in frame.columns:
            frame["AVALU"] = map_distinct(frame["PARAM"], unit_from_param).astype("str")
            ctx.unit_fills[contract.name] = ctx.unit_fills.get(contract.name, 0) + int(frame["AVALU"].notna().sum())
        if "AVALU" in frame.columns:
            frame["AVALU"] = map_distinct(frame["AVALU"], normalize_unit).astype("str")
    if contract.name == "ADSL":
        frame[ANALYSIS_ARM] = _analysis_arm(ctx, frame["USUBJID"])
    return frame


def _analysis_arm(ctx: _Context, usubjid: pd.Series) -> pd.Series:
    if ctx.role is Role.BLINDED or ctx.arm_by_subject is None:
        return pd.Series(POOLED_ARM, index=usubjid.index, dtype="str")
    return usubjid.astype("string").map(ctx.arm_by_subject).astype("str")


def _validate_chunk(ctx: _Context, contract: DomainContract, src: SourceFile, frame: pd.DataFrame) -> set[int]:
    """Parse and check a chunk in place; returns the SRC_ROW numbers to quarantine."""
    found: list[Finding] = []
    for col in _r_missing_columns(contract):
        if col in frame.columns and not pd.api.types.is_numeric_dtype(frame[col]) \
                and not pd.api.types.is_datetime64_any_dtype(frame[col]):
            frame[col] = frame[col].mask(frame[col].eq(R_MISSING).fillna(False))
    for col in contract.columns_of_kind("number"):
        if col in frame.columns and not pd.api.types.is_numeric_dtype(frame[col]):
            parsed = pd.to_numeric(frame[col], errors="coerce")
            bad = parsed.isna() & frame[col].notna()
            found += _value_findings(contract, src, frame, col, bad, "not_a_number", "a number")
            frame[col] = parsed.astype("float64")
        elif col in frame.columns:
            frame[col] = frame[col].astype("float64")
    for col in contract.columns_of_kind("date"):
        if col in frame.columns:
            parsed, bad = parse_dates(frame[col])
            found += _value_findings(contract, src, frame, col, bad, "not_a_date",
                                     "a date (YYYY-MM-DD, DDMONYYYY or a SAS date number)")
            frame[col] = parsed
    for var, n in fill_date_parts(contract.name, frame, parse_dates).items():
        ctx.date_fills[(contract.name, var)] = ctx.date_fills.get((contract.name, var), 0) + n
    try:
        contract.model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        found += findings_from_schema_errors(err, frame, contract.name, src.name)
    if contract.name == "ADLB":
        found += _implausible_labs(src, frame)
    found = _apply_policy(contract, frame, found)
    ctx.findings += found
    return {f.row for f in found if f.action == QUARANTINED}


#: Row-level checks whose failure leaves the value as it is (the row is flagged, not changed).
_KEEP_VALUE_CHECKS = {"end_before_start"}
#: Dataframe-wide checks: the columns set missing when the row is flagged.
_CLEARED_BY_CHECK = {"range_inverted": ("ANRLO", "ANRHI"), "negative_value": ("AVAL",),
                     "implausible_value": ("AVAL",)}


def _apply_policy(contract: DomainContract, frame: pd.DataFrame, found: list[Finding]) -> list[Finding]:
    """Decide quarantine vs flag for each finding (data_contracts.findings, "Safety-record policy")
    and, for a flagged row, load the mapped value or missing in place of the bad one.

    A row is quarantined when a finding is about one of the contract's ``identity_columns``
    (no subject, unparseable key); every finding of that row is then "quarantined". Otherwise
    the row is loaded and each finding is "flagged" with ``loaded_as``.
    """
    if not found:
        return found
    index_of = dict(zip(frame[SRC_ROW].tolist(), frame.index.tolist()))
    bad_rows = {f.row for f in found if f.column in contract.identity_columns or f.check in QUARANTINE_CHECKS}
    out = []
    for f in found:
        if f.row in bad_rows:
            out.append(dataclasses.replace(f, action=QUARANTINED))
            continue
        loaded = _repair(contract, frame, index_of[f.row], f)
        cleared = [c for c in _CLEARED_BY_CHECK.get(f.check, ()) if (f.column,) != _CLEARED_BY_CHECK[f.check]]
        note = ("" if loaded is None else f' Loaded as "{loaded}".' if loaded else
                f" Loaded with {' and '.join(cleared)} missing." if cleared else " Loaded with the value missing.")
        out.append(dataclasses.replace(f, action=FLAGGED, loaded_as=loaded, message=f.message + note))
    return out


def _repair(contract: DomainContract, frame: pd.DataFrame, idx, f: Finding) -> str | None:
    """Replace the failing value of one flagged row; returns what was loaded ("" = missing, None = unchanged)."""
    if f.check in _KEEP_VALUE_CHECKS:
        return None
    if f.check in _CLEARED_BY_CHECK:
        for col in _CLEARED_BY_CHECK[f.check]:
            if col in frame.columns:
                frame.loc[idx, col] = None
        return ""
    if f.column is None or f.column not in frame.columns:
        return None
    if f.check == "not_in_value_set":
        allowed = allowed_values(contract, f.column) or []
        mapped, companions = map_coded_value(contract, f.column, frame.at[idx, f.column], allowed)
        frame.loc[idx, f.column] = mapped
        for col, value in companions.items():
            if col in frame.columns and pd.isna(frame.at[idx, col]):
                frame.loc[idx, col] = value
        return mapped or ""
    frame.loc[idx, f.column] = None   # not a number / date (already missing), out of range
    return ""


#: How R's write.csv / readr::write_csv write a missing value (unquoted). Read as missing in
#: number, date and coded (closed value set) columns; free text keeps "NA" (North America).
R_MISSING = "NA"


def _r_missing_columns(contract: DomainContract) -> list[str]:
    coded = [name for name, col in contract.schema.columns.items()
             if any(str(getattr(c, "name", "")) == "isin" for c in col.checks)]
    return contract.columns_of_kind("number") + contract.columns_of_kind("date") + coded


def _value_findings(contract, src, frame, col, bad_mask, check, expected) -> list[Finding]:
    out = []
    for idx in frame.index[bad_mask.to_numpy()]:
        row = int(frame.at[idx, SRC_ROW])
        subj = format_value(frame.at[idx, "USUBJID"]) if "USUBJID" in frame else None
        value = format_value(frame.at[idx, col])
        out.append(Finding(contract.name, src.name, row, subj, col, check, value,
                           finding_message(src.name, col, row, subj, value, expected)))
    return out


def _implausible_labs(src: SourceFile, frame: pd.DataFrame) -> list[Finding]:
    """Lab values no correctly entered result can have in their unit (e.g. creatinine 1.1 umol/L)."""
    if "AVALU" not in frame.columns:
        return []
    out = []
    codes = map_distinct(frame["PARAMCD"], canonical_lab_code)
    for (code, unit), (lo, hi) in PLAUSIBLE_RANGES.items():
        mask = (codes == code) & (frame["AVALU"] == unit) & ((frame["AVAL"] < lo) | (frame["AVAL"] > hi))
        for idx in frame.index[mask.fillna(False).to_numpy()]:
            row = int(frame.at[idx, SRC_ROW])
            subj = format_value(frame.at[idx, "USUBJID"])
            value = format_value(frame.at[idx, "AVAL"])
            hint = ""
            if code == "CREAT" and unit == "umol/L" and frame.at[idx, "AVAL"] < lo:
                hint = f" (as mg/dL it would be {frame.at[idx, 'AVAL'] * 88.42:.0f} umol/L: entered in the wrong unit?)"
            out.append(Finding("ADLB", src.name, row, subj, "AVAL", "implausible_value", value,
                               finding_message(src.name, "AVAL", row, subj, value,
                                               f"a {code} result in {unit} between {lo:g} and {hi:g}{hint}")))
    return out


def _stage(ctx: _Context, domain: str, frame: pd.DataFrame) -> None:
    name = f"_stage_{domain.lower()}_{len(ctx.staged[domain])}"
    # Blinded: staged in memory (TEMP) and in the renumbered order, so no freed block of the
    # DuckDB file keeps the source file's row order (R3).
    if ctx.role is Role.BLINDED:  # TEMP tables belong to one connection: not through a cursor
        _chunk = frame  # noqa: F841 - read by DuckDB's replacement scan
        ctx.con.execute(f'CREATE TEMP TABLE "{name}" AS SELECT * FROM _chunk ORDER BY {SRC_ROW}')
    else:
        with db.frame_as(ctx.con, "_chunk", frame) as cur:
            cur.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _chunk')
    ctx.staged[domain].append(name)


def _finalise_table(ctx: _Context, contract: DomainContract) -> None:
    """Stack the staged chunks into the domain table, with dates as DATE."""
    table = contract.name.lower()
    parts = " UNION ALL BY NAME ".join(f'SELECT * FROM "{n}"' for n in ctx.staged[contract.name])
    ctx.con.execute(f"CREATE OR REPLACE TEMP VIEW _stacked AS {parts}")
    cols = [r[0] for r in ctx.con.execute("DESCRIBE _stacked").fetchall()]  # a TEMP view: this connection's own
    dates = [c for c in contract.columns_of_kind("date") if c in cols]
    replace = ", ".join(f'CAST("{c}" AS DATE) AS "{c}"' for c in dates)
    select = f"SELECT * REPLACE ({replace}) FROM _stacked" if replace else "SELECT * FROM _stacked"
    ctx.con.execute(f'CREATE TABLE "{table}" AS {select} ORDER BY {SRC_FILE}, {SRC_ROW}')
    ctx.con.execute("DROP VIEW _stacked")
    # Optional contract columns the extract lacks are added empty, so every query runs on every
    # extract; the note lets pages say "not in this extract" instead of failing.
    # In the blinded role never add a column whose name blinding removes (ADEX EXDOSE, AVAL):
    # a treatment variable must not exist there, even empty. (A B4 column such as SEX comes
    # back empty: its name reveals nothing.)
    absent = [c for c in contract.columns if c not in cols and not (
        ctx.role is Role.BLINDED and (column_blinding_rule(contract.name, c, ctx.manifest.blind_columns)
                                      or c in ctx.dropped.get(contract.name, ())))]
    sql_type = {"date": "DATE", "number": "DOUBLE", "text": "VARCHAR"}
    for kind in ("date", "number", "text"):
        for c in contract.columns_of_kind(kind):
            if c in absent:
                ctx.con.execute(f'ALTER TABLE "{table}" ADD COLUMN "{c}" {sql_type[kind]}')
    ctx.absent[contract.name] = absent
    if absent:
        ctx.notes.append(f"{contract.name}: not in this extract: {', '.join(absent)} (added as empty columns).")
    for n in ctx.staged[contract.name]:
        ctx.con.execute(f'DROP TABLE "{n}"')


# -- cross-row checks (SQL on the loaded table) ---------------------------------------------

def _cross_row_checks(ctx: _Context, contract: DomainContract) -> None:
    table = contract.name.lower()
    cols = db.table_columns(ctx.con, table)
    # Key columns the file actually has (optional columns it lacks were added empty). USUBJID
    # always counts: when every row was quarantined the table is empty, and an empty key is no SQL.
    key = [c for c in contract.record_key if c in cols and (
        c == "USUBJID" or ctx.con.execute(f'SELECT count("{c}") > 0 FROM "{table}"').fetchone()[0])]
    if contract.name != "ADSL" and not (set(key) - {"USUBJID"}):
        key = [c for c in cols if c not in (SRC_FILE, SRC_ROW)]  # no record key: exact duplicates
    key_sql = ", ".join(f'"{c}"' for c in key)
    what = f"one {contract.row_label} per {', '.join(key)}"
    shown = [c for c in key if c != "USUBJID"] or key
    value_sql = "concat_ws(' / ', " + ", ".join(f'CAST(t."{c}" AS VARCHAR)' for c in shown) + ")"
    _quarantine_sql(ctx, contract, f"""
        SELECT t.{SRC_FILE}, t.{SRC_ROW}, t.USUBJID, 'duplicate_record' AS check_key, '{"+".join(shown)}' AS col,
               {value_sql} AS value,
               'duplicate of ' || first_file || ' row ' || first_row AS detail
        FROM (SELECT *, row_number() OVER w AS k,
                     first_value({SRC_FILE}) OVER w AS first_file, first_value({SRC_ROW}) OVER w AS first_row
              FROM "{table}" WINDOW w AS (PARTITION BY {key_sql} ORDER BY {SRC_FILE}, {SRC_ROW})) t
        WHERE k > 1""", f"{what} ({{detail}})")
    if contract.name != "ADSL":
        _quarantine_sql(ctx, contract, f"""
            SELECT t.{SRC_FILE}, t.{SRC_ROW}, t.USUBJID, 'unknown_subject' AS check_key, 'USUBJID' AS col,
                   t.USUBJID AS value,
                   CASE WHEN q.usubjid IS NULL THEN 'not in ADSL' ELSE 'its ADSL row was quarantined' END AS detail
            FROM "{table}" t
            LEFT JOIN (SELECT DISTINCT usubjid FROM _quarantined_subjects) q ON q.usubjid = t.USUBJID
            WHERE t.USUBJID NOT IN (SELECT USUBJID FROM adsl)""",
            "a subject in ADSL ({detail})")
    if contract.name == "ADLB" and "AVALU" in cols:
        _quarantine_sql(ctx, contract, f"""
            WITH units AS (SELECT PARAMCD, AVALU, count(*) AS n FROM adlb WHERE AVALU IS NOT NULL GROUP BY ALL),
                 main AS (SELECT PARAMCD, arg_max(AVALU, n) AS unit, max(n) AS n FROM units GROUP BY PARAMCD)
            SELECT t.{SRC_FILE}, t.{SRC_ROW}, t.USUBJID, 'multiple_units' AS check_key, 'AVALU' AS col,
                   t.AVALU AS value, m.unit || ' (the unit of ' || m.n || ' other ' || t.PARAMCD || ' records)' AS detail
            FROM adlb t JOIN main m USING (PARAMCD) WHERE t.AVALU IS NOT NULL AND t.AVALU <> m.unit""",
            "{detail}", flag_clearing="AVAL")
    if contract.name in ("ADLB", "ADVS") and "ABLFL" in cols:
        part = ", ".join(f'"{c}"' for c in ("USUBJID", "PARAMCD", "BASETYPE") if c in cols)
        _quarantine_sql(ctx, contract, f"""
            SELECT {SRC_FILE}, {SRC_ROW}, USUBJID, 'multiple_baselines' AS check_key, 'ABLFL' AS col, ABLFL AS value,
                   first_file || ' row ' || first_row || ' is already the baseline of ' || PARAMCD AS detail
            FROM (SELECT *, row_number() OVER w AS k,
                         first_value({SRC_FILE}) OVER w AS first_file, first_value({SRC_ROW}) OVER w AS first_row
                  FROM "{table}" WHERE ABLFL = 'Y' WINDOW w AS (PARTITION BY {part} ORDER BY {SRC_FILE}, {SRC_ROW}))
            WHERE k > 1""", "at most one baseline record per subject and parameter ({detail})", flag_clearing="ABLFL")
    if contract.name == "ADSL":
        ctx.con.execute("CREATE TABLE IF NOT EXISTS _quarantined_subjects (usubjid VARCHAR)")
        for f in ctx.findings:
            if f.domain == "ADSL" and f.action == QUARANTINED and f.usubjid:
                ctx.con.execute("INSERT INTO _quarantined_subjects VALUES ($u)", {"u": f.usubjid})


def _quarantine_sql(ctx: _Context, contract: DomainContract, sql: str, expected: str,
                    flag_clearing: str | None = None) -> None:
    """Move the rows the query returns from the domain table to findings (quarantined), or, with
    ``flag_clearing`` (a column), keep them flagged with that column set missing."""
    table = contract.name.lower()
    hits = db.run(ctx.con, sql)
    if hits.empty:
        return
    # In file order: a parallel query returns its rows in any order, and findings must not vary by run.
    hits = hits.sort_values([SRC_FILE, SRC_ROW], kind="stable").reset_index(drop=True)
    for h in hits.itertuples(index=False):
        row = int(h.SRC_ROW)
        subj = format_value(h.USUBJID)
        value = format_value(h.value)
        message = finding_message(h.SRC_FILE, h.col, row, subj, value, expected.format(detail=h.detail))
        if flag_clearing:
            ctx.findings.append(Finding(contract.name, h.SRC_FILE, row, subj, h.col, h.check_key, value,
                                        f"{message} Loaded with {flag_clearing} missing.", FLAGGED, ""))
        else:
            ctx.findings.append(Finding(contract.name, h.SRC_FILE, row, subj, h.col, h.check_key, value, message))
    with db.frame_as(ctx.con, "_hits", hits[[SRC_FILE, SRC_ROW]]) as cur:
        match = f"t.{SRC_FILE} = h.{SRC_FILE} AND t.{SRC_ROW} = h.{SRC_ROW}"
        if flag_clearing:
            cur.execute(f'UPDATE "{table}" t SET "{flag_clearing}" = NULL FROM _hits h WHERE {match}')
        else:
            cur.execute(f'DELETE FROM "{table}" t USING _hits h WHERE {match}')


# -- whole-extract checks and derivations ---------------------------------------------------

def _resolve(ctx: _Context) -> None:
    """Variable resolution (data_contracts.resolution): record the dates taken from datetime twins
    and units from PARAM, then derive the ADSL flags the extract lacks or carries empty."""
    for domain in CONTRACTS:
        counts = {v: n for (d, v), n in ctx.date_fills.items() if d == domain}
        ctx.derivations += date_part_derivations(domain, counts, ctx.had_columns.get(domain, set()))
        if ctx.unit_fills.get(domain):
            n = ctx.unit_fills[domain]
            ctx.derivations.append(Derivation(domain, "AVALU", "unit_from_param", "PARAM", n, DERIVED,
                                              f"Unit (AVALU): the unit in PARAM's last parentheses for {n} rows "
                                              f"({domain} has no AVALU)."))
    ctx.derivations += exposure_derivation(ctx.con)
    if db.table_exists(ctx.con, "adsl"):
        ctx.derivations += resolve_subject_variables(ctx.con, ctx.arm_by_subject, set(ctx.absent.get("ADSL", [])))


def _check_studies(ctx: _Context) -> None:
    """Every domain belongs to the same study, and to the manifest's study when it names one."""
    seen: dict[str, list[str]] = {}  # STUDYID -> the files that carry it (messages name files)
    for name in CONTRACTS:
        t = name.lower()
        if db.table_exists(ctx.con, t) and "STUDYID" in db.table_columns(ctx.con, t):
            for sid, file in ctx.con.execute(
                    f'SELECT DISTINCT STUDYID, {SRC_FILE} FROM "{t}" WHERE STUDYID IS NOT NULL ORDER BY ALL').fetchall():
                seen.setdefault(sid, []).append(file)
    expected = ctx.manifest.study_id
    for sid, files in seen.items():
        if expected and sid != expected:
            raise ExtractError(f"{files[0]}: column STUDYID, value \"{sid}\"; expected \"{expected}\" "
                               "(extract.toml study.id): the file belongs to another study.")
    if not expected and len(seen) > 1:
        listing = "; ".join(f"{sid} in {', '.join(d)}" for sid, d in seen.items())
        raise ExtractError(f"column STUDYID: the extract mixes studies ({listing}); expected one study.")


def _derive_egfr(ctx: _Context) -> None:
    """Add eGFR (CKD-EPI 2021) lab rows from creatinine unless the extract supplies eGFR.

    Definition: clinical_reference §1; creatinine in umol/L is divided by 88.42. Age and sex
    come from ADSL. Derived rows carry PARAMTYP = 'DERIVED' and the creatinine row's date,
    visit and baseline flag; SRC_FILE/SRC_ROW point at that creatinine record.
    """
    if not db.table_exists(ctx.con, "adlb"):
        return
    codes = db.run(ctx.con, "SELECT DISTINCT PARAMCD FROM adlb")["PARAMCD"].tolist()
    if any(canonical_lab_code(c) == "EGFR" for c in codes):
        ctx.notes.append("eGFR: supplied by the extract (not recomputed).")
        return
    creat = [c for c in codes if canonical_lab_code(c) == "CREAT"]
    if not creat:
        ctx.notes.append("eGFR: not derived (no creatinine in ADLB).")
        return
    cols = db.table_columns(ctx.con, "adlb")
    rows = db.run(ctx.con, """
        SELECT l.*, s.AGE AS _AGE, s.SEX AS _SEX FROM adlb l JOIN adsl s USING (USUBJID)
        WHERE l.PARAMCD IN (SELECT unnest($codes)) AND l.AVAL IS NOT NULL""", {"codes": creat})
    unit = rows["AVALU"] if "AVALU" in rows else pd.Series(None, index=rows.index)
    mg_dl = np.where(unit.eq("mg/dL").fillna(False), rows["AVAL"], creatinine_umol_to_mg_dl(rows["AVAL"]))
    unknown_unit = ~unit.isin(["mg/dL", "umol/L"]).fillna(False)
    egfr = egfr_ckd_epi_2021(mg_dl, rows["_AGE"], rows["_SEX"])
    out = rows.drop(columns=["_AGE", "_SEX"]).copy()
    out["PARAMCD"] = "EGFR"
    out["PARAM"] = EGFR_PARAM
    out["AVALU"] = EGFR_UNIT
    out["AVAL"] = np.where(unknown_unit, np.nan, egfr)
    out["PARAMTYP"] = "DERIVED"
    for c in ("ANRLO", "ANRHI", "ANRIND", "BNRIND", "LBNRIND", "PARAMN", "LBSEQ", "LBSTRESN", "LBSTRESC",
              "R2A1LO", "R2A1HI", "BR2A1LO", "BR2A1HI", "ALBTRVAL", "LBTESTCD", "LBTEST", "LBORRES", "LBORRESU"):
        if c in out:
            out[c] = None
    out = out[[c for c in cols if c in out.columns] + (["PARAMTYP"] if "PARAMTYP" not in cols else [])]
    if "PARAMTYP" not in cols:
        ctx.con.execute("ALTER TABLE adlb ADD COLUMN PARAMTYP VARCHAR")
    with db.frame_as(ctx.con, "_egfr", out) as cur:
        cur.execute("INSERT INTO adlb BY NAME SELECT * FROM _egfr")
    _rebase(ctx, "EGFR")
    ctx.notes.append(f"eGFR: derived by CKD-EPI 2021 from {len(out)} creatinine records "
                     f"({int(np.isnan(out['AVAL']).sum())} without a usable value, unit or age/sex).")


def _rebase(ctx: _Context, paramcd: str) -> None:
    """Set BASE/CHG of a derived parameter from its own baseline record."""
    cols = db.table_columns(ctx.con, "adlb")
    if "ABLFL" not in cols:
        return
    sets = ["BASE = b.AVAL"] if "BASE" in cols else []
    if "CHG" in cols:
        sets.append("CHG = CASE WHEN t.ABLFL = 'Y' THEN NULL ELSE t.AVAL - b.AVAL END")
    if not sets:
        return
    ctx.con.execute(f"""
        UPDATE adlb t SET {', '.join(sets)}
        FROM (SELECT USUBJID, AVAL FROM adlb WHERE PARAMCD = $p AND ABLFL = 'Y') b
        WHERE t.PARAMCD = $p AND t.USUBJID = b.USUBJID""", {"p": paramcd})


def _flag_visits(ctx: _Context, domain: str) -> None:
    """Flag (keep, do not quarantine) missed scheduled visits and visits outside their window.

    Scheduled visits are the named visits (Baseline, Week N, Day N, Month N) that at least half
    of the subjects with data attended. A visit is *missing* for a subject who attended an
    earlier and a later scheduled visit but not this one. Windows are contiguous around each
    target day (clinical_reference §7): from the midpoint with the previous target to the
    midpoint with the next; the last extends as far after its target as the one before.
    """
    table = domain.lower()
    if not db.table_exists(ctx.con, table) or not {"AVISIT", "ADY"} <= set(db.table_columns(ctx.con, table)):
        return
    visits = db.run(ctx.con, f"""
        SELECT AVISIT, count(DISTINCT USUBJID) AS n FROM "{table}" WHERE AVISIT IS NOT NULL GROUP BY AVISIT""")
    n_subj = db.run(ctx.con, f'SELECT count(DISTINCT USUBJID) AS n FROM "{table}"')["n"].iloc[0]
    visits["target"] = visits["AVISIT"].map(visit_target_day)
    sched = visits[(visits["target"].notna()) & (visits["n"] >= 0.5 * n_subj)].sort_values("target")
    if len(sched) < 2:
        return
    t = sched["target"].to_numpy(float)
    lo = np.r_[-np.inf, (t[:-1] + t[1:]) / 2]
    hi = np.r_[(t[:-1] + t[1:]) / 2, t[-1] + (t[-1] - t[-2]) / 2]
    windows = pd.DataFrame({"AVISIT": sched["AVISIT"].to_numpy(), "ord": np.arange(len(t)), "target": t,
                            "lo": lo, "hi": hi})
    # Derived rows (eGFR) repeat their creatinine record's visit: flag the source record only.
    measured = ("coalesce(t.PARAMTYP, '') <> 'DERIVED'" if "PARAMTYP" in db.table_columns(ctx.con, table)
                else "TRUE")
    with db.frame_as(ctx.con, "_windows", windows) as cur:
        oow = cur.sql(f"""
            SELECT t.USUBJID, t.AVISIT, min(t.ADY) AS ADY, arg_min(t.{SRC_ROW}, t.ADY) AS SRC_ROW,
                   arg_min(t.{SRC_FILE}, t.ADY) AS SRC_FILE, any_value(w.lo) AS lo, any_value(w.hi) AS hi,
                   any_value(w.target) AS target
            FROM "{table}" t JOIN _windows w USING (AVISIT)
            WHERE t.ADY IS NOT NULL AND (t.ADY < w.lo OR t.ADY >= w.hi) AND {measured}
            GROUP BY ALL ORDER BY t.USUBJID, any_value(w.ord)""").to_arrow_table().to_pandas()
        missing = cur.sql(f"""
            WITH seen AS (SELECT DISTINCT t.USUBJID, w.ord FROM "{table}" t JOIN _windows w USING (AVISIT)),
                 span AS (SELECT USUBJID, min(ord) AS first, max(ord) AS last FROM seen GROUP BY USUBJID)
            SELECT s.USUBJID, w.AVISIT, w.ord FROM span s JOIN _windows w ON w.ord > s.first AND w.ord < s.last
            ANTI JOIN seen x ON x.USUBJID = s.USUBJID AND x.ord = w.ord
            ORDER BY s.USUBJID, w.ord""").to_arrow_table().to_pandas()
    for r in oow.itertuples(index=False):
        lo_txt = "-inf" if np.isinf(r.lo) else f"{r.lo:g}"
        ctx.findings.append(Finding(
            domain, r.SRC_FILE, int(r.SRC_ROW), r.USUBJID, "ADY", "out_of_window", format_value(r.ADY),
            finding_message(r.SRC_FILE, "ADY", int(r.SRC_ROW), r.USUBJID, format_value(r.ADY),
                            f"study day {lo_txt} to <{r.hi:g} for visit {r.AVISIT} (target day {r.target:g})"),
            FLAGGED))
    for r in missing.itertuples(index=False):
        ctx.findings.append(Finding(
            domain, table, None, r.USUBJID, "AVISIT", "missing_visit", r.AVISIT,
            f"{table}: subject {r.USUBJID} has no {domain} records at scheduled visit {r.AVISIT}, "
            "although earlier and later visits are present; expected a record or a documented missed visit.",
            FLAGGED))


def _load_previous(ctx: _Context) -> None:
    """Load the previous extract named in extract.toml, in this load's role, as ``prev_*`` tables.

    A missing or unusable previous extract is a note, not an error: the current extract is
    still reviewable without the comparison.
    """
    prev = ctx.manifest.previous_extract
    if prev is None:
        return
    if not prev.exists():
        ctx.notes.append(f"Previous extract {prev} (extract.toml) was not found: no comparison.")
        return
    try:
        inherit = _Inherited(ctx.kept, ctx.dropped, ctx.terms) if ctx.role is Role.BLINDED else None
        pcon, preport = load_extract(prev, ctx.role, chunk_rows=ctx.chunk_rows, require_arm=False,
                                     with_previous=False, _inherit=inherit)
        ctx.prev_arms = inherit.arms if inherit else None
    except ExtractError as exc:
        ctx.notes.append(f"Previous extract cannot be compared: {exc}")
        return
    try:
        for name in CONTRACTS:
            table = name.lower()
            if db.table_exists(pcon, table):
                _write_frame(ctx.con, f"prev_{table}", pcon.sql(f'SELECT * FROM "{table}"').to_arrow_table())
        _write_frame(ctx.con, "prev_study", pd.DataFrame([{"data_cut": preport.study.get("data_cut", ""),
                                                            "fingerprint": preport.fingerprint,
                                                            "path": str(prev)}]))
    finally:
        pcon.close()
    ctx.notes.append(f"Previous extract loaded for comparison: {prev.name} (data cut {preport.study.get('data_cut')}).")


# -- blinding after the load ----------------------------------------------------------------

def _refuse_arm_predicting_columns(ctx: _Context) -> None:
    """Rule R4: refuse the blinded load when a kept column still predicts the arm."""
    if ctx.inherit is not None:  # a previous extract: its parent scores both cuts together
        ctx.inherit.arms = ctx.arm_by_subject
        return
    arms = ctx.arm_by_subject
    prev_arms = ctx.prev_arms
    if prev_arms is not None:
        arms = prev_arms if arms is None else pd.concat([arms, prev_arms[~prev_arms.index.isin(arms.index)]])
    if arms is None:
        return
    domains = {name: [name.lower(), f"prev_{name.lower()}"] for name in CONTRACTS}
    found = arm_predicting_columns(ctx.con, domains, arms, ctx.manifest.blind_reviewed)
    if found:
        raise ExtractError(
            "blinded load refused: in this extract's source (current and previous extract together) these "
            f"columns predict the treatment arm far beyond a clinical effect: {', '.join(found)}. The unblinded "
            "statistician should review them and list each in extract.toml under [blinding] columns (not loaded) "
            "or, once reviewed as a clinical effect, under [blinding] reviewed (loaded, not scored).")


def _order_blinded_tables(ctx: _Context) -> None:
    """Rule R3: every domain table (and its previous-extract twin) in subject/date order."""
    for name in CONTRACTS:
        for table in (name.lower(), f"prev_{name.lower()}"):
            if not db.table_exists(ctx.con, table):
                continue
            cols = db.table_columns(ctx.con, table)
            keys = ["USUBJID"] + [c for c in ("ASTDT", "ADT", "PARAMCD", "AVISITN", SRC_FILE, SRC_ROW) if c in cols]
            order = ", ".join(f'"{c}" NULLS LAST' for c in keys)
            ctx.con.execute(f'CREATE OR REPLACE TABLE "{table}" AS SELECT * FROM "{table}" ORDER BY {order}')


def _blinding_summary(ctx: _Context) -> list[BlindingDecision]:
    """What the blinded role did, per domain, in counts (no column is named: rule R1)."""
    out = []
    for name in CONTRACTS:
        n = ctx.not_loaded.get(name, 0)
        if n:
            out.append(BlindingDecision(name, "(not named)", "R1",
                                        f"{n} column{'s' if n != 1 else ''} not on the allow-list {'were' if n != 1 else 'was'} not loaded"))
        m = ctx.masked.get(name, 0)
        if m:
            out.append(BlindingDecision(name, "(not named)", "R2",
                                        f"{m} text value{'s' if m != 1 else ''} naming a treatment {'were' if m != 1 else 'was'} masked"))
    return out


# -- metadata -------------------------------------------------------------------------------

def _write_metadata(ctx: _Context, extract: Path, files: dict[str, list[SourceFile]]) -> dict:
    con = ctx.con
    cut = ctx.manifest.data_cut
    cut_derived = cut is None
    if cut is None:
        cut = _latest_date(con)
    arm_order = _arm_order(ctx)
    if db.table_exists(con, "adsl"):
        order = pd.DataFrame({ANALYSIS_ARM: arm_order, ANALYSIS_ARM_ORDER: np.arange(1, len(arm_order) + 1)})
        with db.frame_as(con, "_order", order) as cur:
            cur.execute(f"ALTER TABLE adsl ADD COLUMN {ANALYSIS_ARM_ORDER} INTEGER")
            cur.execute(f"UPDATE adsl SET {ANALYSIS_ARM_ORDER} = o.{ANALYSIS_ARM_ORDER} FROM _order o "
                        f"WHERE adsl.{ANALYSIS_ARM} = o.{ANALYSIS_ARM}")
    counts = _domain_counts(ctx)
    prov = pd.DataFrame(ctx.provenance)
    q_by_file = pd.Series(
        {k: len(v) for k, v in _quarantined_rows_by_file(ctx).items()}, dtype="int64")
    prov["rows_quarantined"] = prov["file"].map(q_by_file).fillna(0).astype("int64")
    prov["rows_accepted"] = prov["rows_read"] - prov["rows_quarantined"]
    prov["data_cut"] = cut
    prov["role"] = ctx.role.value
    prov["load_time"] = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    prov = prov[["domain", "file", "format", "sha256", "rows_read", "rows_accepted", "rows_quarantined",
                 "data_cut", "role", "load_time"]]
    fingerprint = _fingerprint(prov)
    first_dose = None
    if db.table_exists(con, "adsl") and "TRTSDT" in db.table_columns(con, "adsl"):
        first_dose = con.execute("SELECT min(TRTSDT) FROM adsl").fetchone()[0]
    study_ids = []
    if "STUDYID" in db.table_columns(con, "adsl"):
        study_ids = [r[0] for r in con.execute("SELECT DISTINCT STUDYID FROM adsl WHERE STUDYID IS NOT NULL").fetchall()]
    study = {
        "study_id": ctx.manifest.study_id or (study_ids[0] if study_ids else extract.stem),
        "title": ctx.manifest.title or "",
        "sponsor": ctx.manifest.sponsor or "",
        "data_cut": cut.isoformat() if cut else "",
        "data_cut_derived": cut_derived,
        "target_enrollment": ctx.manifest.target_enrollment,
        "role": ctx.role.value,
        "arm_order": json.dumps(arm_order),
        "fingerprint": fingerprint,
        "synthetic": ctx.manifest.synthetic,
        "manifest": ctx.manifest.path.name if ctx.manifest.path else "",
        "derived_fields": json.dumps(list(ctx.manifest.derived)),
        "previous_extract": str(ctx.manifest.previous_extract or ""),
        "first_dose_date": first_dose.isoformat() if first_dose else "",
        "domains": json.dumps([n for n in CONTRACTS if files[n]]),
        "notes": json.dumps(ctx.notes),
    }
    _write_frame(con, "study", pd.DataFrame([{k: ("" if v is None else str(v)) for k, v in study.items()}]))
    _write_frame(con, "provenance", prov)
    write_derivations(con, ctx.derivations)
    findings = _findings_frame(ctx)
    _write_frame(con, "findings", findings)
    con.execute("CREATE OR REPLACE VIEW quarantine AS SELECT * FROM findings WHERE action = 'quarantined'")
    ctx.blinding = _blinding_summary(ctx)
    blind = pd.DataFrame([b.__dict__ for b in ctx.blinding], columns=["domain", "column", "rule", "detail"])
    _write_frame(con, "blinding_log", blind.astype("str") if len(blind) else blind)
    _write_frame(con, "domain_counts", pd.DataFrame(
        [{"domain": k, **v.__dict__} for k, v in counts.items()],
        columns=["domain", "rows_read", "rows_accepted", "rows_quarantined"]))
    con.execute("DROP TABLE IF EXISTS _quarantined_subjects")
    con.execute("CHECKPOINT")
    study["data_cut_date"] = cut
    return study


def _write_frame(con, name: str, frame: pd.DataFrame) -> None:
    with db.frame_as(con, "_f", frame) as cur:
        cur.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _f')


def _latest_date(con) -> dt.date | None:
    latest = None
    for name, contract in CONTRACTS.items():
        t = name.lower()
        if not db.table_exists(con, t):
            continue
        for c in contract.columns_of_kind("date"):
            if c in db.table_columns(con, t):
                v = con.execute(f'SELECT max("{c}") FROM "{t}"').fetchone()[0]
                if v is not None and (latest is None or v > latest):
                    latest = v
    return latest


def _quarantined_rows_by_file(ctx: _Context) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for f in ctx.findings:
        if f.action == QUARANTINED and f.row is not None:
            out.setdefault(f.file, set()).add(f.row)
    return out


def _domain_counts(ctx: _Context) -> dict[str, DomainCount]:
    by_file = _quarantined_rows_by_file(ctx)
    counts: dict[str, DomainCount] = {}
    for p in ctx.provenance:
        q = len(by_file.get(p["file"], ()))
        prev = counts.get(p["domain"], DomainCount(0, 0, 0))
        counts[p["domain"]] = DomainCount(prev.rows_read + p["rows_read"], prev.rows_accepted + p["rows_read"] - q,
                                          prev.rows_quarantined + q)
    return counts


def _findings_frame(ctx: _Context) -> pd.DataFrame:
    frame = pd.DataFrame([f.as_dict() for f in ctx.findings], columns=FINDING_COLUMNS)
    frame["row"] = frame["row"].astype("Int64")
    if ctx.role is Role.BLINDED:  # in file order the findings would replay a file sorted by arm (R3)
        frame = frame.sort_values(["domain", "file", "usubjid", "row", "check"], na_position="last",
                                  kind="stable").reset_index(drop=True)
    return frame.astype({c: "str" for c in FINDING_COLUMNS if c != "row"})


def _fingerprint(prov: pd.DataFrame) -> str:
    import hashlib

    h = hashlib.sha256()
    for r in prov.sort_values("file").itertuples(index=False):
        h.update(f"{r.file}:{r.sha256}\n".encode())
    return h.hexdigest()[:12]


def _report(ctx: _Context, extract: Path, study: dict) -> LoadReport:
    return LoadReport(
        extract=extract, role=ctx.role, manifest=ctx.manifest, study=study, domains=_domain_counts(ctx),
        findings=_findings_frame(ctx), provenance=db.run(ctx.con, "SELECT * FROM provenance"),
        blinding=ctx.blinding, notes=ctx.notes, fingerprint=study["fingerprint"],
    )
