"""Finding and reading an extract: its domain files, its manifest, and their rows in chunks.

An extract is a folder (or a ``.zip`` of one) of ADaM files (``.csv``, ``.parquet``, ``.xpt``,
``.sas7bdat``; names case-insensitive) and an optional ``extract.toml``. Nothing here validates
values: that is the contracts' job. Problems with the files themselves raise
:class:`ExtractError` with one line that names the file and what was expected.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import shutil
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pandas as pd

from data_contracts import CONTRACTS

FORMATS = {".csv": "csv", ".parquet": "parquet", ".xpt": "xpt", ".sas7bdat": "sas7bdat"}
MANIFEST_NAME = "extract.toml"
DEFAULT_CHUNK_ROWS = 250_000


class ExtractError(Exception):
    """A problem that makes the extract unusable (exit code 2); the message is one line."""


@dataclass(frozen=True)
class Manifest:
    """What ``extract.toml`` says; ``derived`` lists the fields that were not given there."""

    study_id: str | None = None
    title: str | None = None
    sponsor: str | None = None
    data_cut: dt.date | None = None
    target_enrollment: int | None = None
    arm_order: tuple[str, ...] = ()
    previous_extract: Path | None = None
    randomization_file: Path | None = None
    blind_columns: tuple[str, ...] = ()
    blind_allow: tuple[str, ...] = ()
    blind_terms: tuple[str, ...] = ()
    blind_reviewed: tuple[str, ...] = ()
    encoding: str = "utf-8"
    synthetic: bool = False
    path: Path | None = None
    derived: tuple[str, ...] = field(default=("study_id", "title", "data_cut", "target_enrollment"))


@dataclass(frozen=True)
class SourceFile:
    """One domain file of the extract."""

    domain: str
    path: Path
    format: str

    @property
    def name(self) -> str:
        return self.path.name


def open_extract(path: Path, workdir: Path | None = None) -> Path:
    """The folder holding the extract's files; a ``.zip`` is unpacked into ``workdir`` first."""
    path = Path(path)
    if not path.exists():
        raise ExtractError(f"{path}: no such file or folder; expected an extract folder or a .zip of one.")
    if path.is_dir():
        return path
    if path.suffix.lower() != ".zip":
        raise ExtractError(f"{path}: not a folder or a .zip file; expected an extract folder or a .zip of one.")
    target = Path(workdir or tempfile.mkdtemp(prefix="dsmb-extract-"))
    try:
        with zipfile.ZipFile(path) as zf:
            for member in zf.infolist():
                dest = (target / member.filename).resolve()
                if not dest.is_relative_to(target.resolve()):  # a string prefix test lets ../<target>2/ out
                    raise ExtractError(f"{path}: member {member.filename!r} would unpack outside the extract folder.")
            zf.extractall(target)
    except zipfile.BadZipFile as exc:
        raise ExtractError(f"{path}: not a readable zip file ({exc}).") from None
    # A zip of a folder holds the folder: descend while there is a single subfolder and no files.
    while True:
        entries = [p for p in target.iterdir() if not p.name.startswith(("__MACOSX", "."))]
        if len(entries) == 1 and entries[0].is_dir():
            target = entries[0]
            continue
        return target


def discover_files(folder: Path) -> tuple[dict[str, list[SourceFile]], list[Path]]:
    """Domain files by domain (ADLB may have two), and the files that are not domain files."""
    by_domain: dict[str, list[SourceFile]] = {name: [] for name in CONTRACTS}
    ignored: list[Path] = []
    stems = {stem: c.name for c in CONTRACTS.values() for stem in c.file_stems}
    for p in sorted(folder.iterdir()):
        if not p.is_file():
            continue
        fmt = FORMATS.get(p.suffix.lower())
        domain = stems.get(p.stem.lower())
        if fmt and domain:
            by_domain[domain].append(SourceFile(domain, p, fmt))
        elif p.name.lower() != MANIFEST_NAME:
            ignored.append(p)
    for domain, files in by_domain.items():
        stems_seen = [f.path.stem.lower() for f in files]
        dupes = {s for s in stems_seen if stems_seen.count(s) > 1}
        if dupes:
            names = ", ".join(f.name for f in files if f.path.stem.lower() in dupes)
            raise ExtractError(f"{folder}: {domain} is given more than once ({names}); expected one file per domain.")
        if domain == "ADLB" and "adlb" in stems_seen and len(files) > 1:
            names = ", ".join(f.name for f in files)
            raise ExtractError(f"{folder}: ADLB is given both whole and split ({names}); expected adlb or adlbc+adlbh.")
    for contract in CONTRACTS.values():
        if contract.required_file and not by_domain[contract.name]:
            wanted = " or ".join(f"{s}.csv/.parquet/.xpt/.sas7bdat" for s in contract.file_stems[:1])
            if contract.name == "ADLB":
                wanted = "adlb (or adlbc + adlbh) as .csv/.parquet/.xpt/.sas7bdat"
            raise ExtractError(f"{folder}: required file for {contract.name} is missing; expected {wanted}.")
    return by_domain, ignored


def read_manifest(folder: Path) -> Manifest:
    """Parse ``extract.toml`` if present; otherwise every field is marked as derived."""
    path = folder / MANIFEST_NAME
    if not path.exists():
        candidates = [p for p in folder.iterdir() if p.name.lower() == MANIFEST_NAME]
        if not candidates:
            return Manifest()
        path = candidates[0]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ExtractError(f"{path.name}: not valid TOML ({exc}).") from None
    study = data.get("study", {})
    extract = data.get("extract", {})
    blinding = data.get("blinding", {})
    given = set()

    def _get(section: dict, key: str, kind, what: str):
        if key not in section:
            return None
        value = section[key]
        if not isinstance(value, kind):
            raise ExtractError(f"{path.name}: key {key} = {value!r}; expected {what}.")
        given.add(key)
        return value

    cut = _get(study, "data_cut", (str, dt.date), "a date YYYY-MM-DD")
    if isinstance(cut, str):
        try:
            cut = dt.date.fromisoformat(cut)
        except ValueError:
            raise ExtractError(f"{path.name}: key data_cut = {cut!r}; expected a date YYYY-MM-DD.") from None
    target = _get(study, "target_enrollment", int, "a whole number of subjects")
    arm_order = _get(study, "arm_order", list, "a list of arm labels") or []

    def _path(section: dict, key: str) -> Path | None:
        value = _get(section, key, str, "a path (relative to the extract folder)")
        return (folder / value).resolve() if value else None

    # Read id and title before ``derived`` is worked out: it depends on what ``given`` holds.
    study_id = _get(study, "id", str, "a study identifier")
    title = _get(study, "title", str, "text")
    derived = tuple(k for k in ("study_id", "title", "data_cut", "target_enrollment")
                    if {"study_id": "id"}.get(k, k) not in given)
    return Manifest(
        study_id=study_id,
        title=title,
        sponsor=_get(study, "sponsor", str, "text"),
        data_cut=cut,
        target_enrollment=target,
        arm_order=tuple(str(a) for a in arm_order),
        previous_extract=_path(extract, "previous") or _path(study, "previous_extract"),
        randomization_file=_path(blinding, "randomization_file") or _path(extract, "randomization_file"),
        blind_columns=tuple(str(c).upper() for c in (_get(blinding, "columns", list, "a list of column names") or [])),
        blind_allow=tuple(str(c).strip().upper() for c in (
            _get(blinding, "allow", list, 'a list of reviewed column names ("COL" or "DOMAIN.COL")') or [])),
        blind_terms=tuple(str(t) for t in (_get(blinding, "terms", list, "a list of product terms") or [])),
        blind_reviewed=tuple(str(c).strip().upper() for c in (
            _get(blinding, "reviewed", list, 'a list of reviewed column names ("COL" or "DOMAIN.COL")') or [])),
        encoding=_get(extract, "encoding", str, "an encoding name such as utf-8 or latin-1") or "utf-8",
        synthetic=bool(study.get("synthetic", False)),
        path=path,
        derived=derived,
    )


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_columns(src: SourceFile, encoding: str = "utf-8") -> list[str]:
    """The column names of a file, read without its rows.

    A CSV header that names a column twice is refused: pandas would rename the second ``ARM``
    to ``ARM.1``, a name no blinding rule recognises.
    """
    columns = list(next(iter_chunks(src, encoding, chunk_rows=5))[1].columns)
    if src.format == "csv":
        with open(src.path, newline="", encoding=encoding) as fh:
            header = next(csv.reader(fh), [])
        repeated = sorted({c for c in header if header.count(c) > 1})
        if repeated:
            raise ExtractError(f"{src.name}: column {repeated[0]} appears {header.count(repeated[0])} times in the "
                               "header; expected each column once.")
    return columns


def iter_chunks(src: SourceFile, encoding: str = "utf-8", chunk_rows: int = DEFAULT_CHUNK_ROWS,
                date_columns: frozenset[str] | set[str] = frozenset()) -> Iterator[tuple[int, pd.DataFrame]]:
    """Yield ``(first_record_number, frame)`` chunks; record numbers are 1-based, header excluded.

    CSV cells are read as text ("NA" stays the text "NA": it is North America in some ADSLs).
    Parquet/XPT DATE columns named in ``date_columns`` come as datetime64 (not one Python date
    object per cell); others as the reader gives them. An unreadable, empty or wrongly encoded
    file raises :class:`ExtractError`.
    """
    start = 1
    try:
        for frame in _raw_chunks(src, encoding, chunk_rows, date_columns):
            if frame.columns.empty:
                break
            yield start, frame
            start += len(frame)
    except ExtractError:
        raise
    except UnicodeDecodeError as exc:
        # exc.start is an offset into the reader's buffer, not the file: find the line ourselves.
        line, byte = _first_undecodable_line(src.path, encoding) or (None, exc.object[exc.start:exc.start + 1])
        where = f" on line {line}" if line else ""
        raise ExtractError(
            f"{src.name}: cannot be read as {encoding} (byte {byte!r}{where}); "
            f"expected {encoding} text, or set [extract] encoding in extract.toml."
        ) from None
    except Exception as exc:  # every reader's own error becomes one line naming the file
        raise ExtractError(f"{src.name}: cannot be read as {src.format.upper()} ({type(exc).__name__}: {exc}).") from None
    if start == 1:
        raise ExtractError(f"{src.name}: the file has no records; expected at least one {src.domain} row.")


def _first_undecodable_line(path: Path, encoding: str) -> tuple[int, bytes] | None:
    """1-based line number (the header is line 1) and first bytes that do not decode, or None."""
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                raw.decode(encoding)
            except UnicodeDecodeError as exc:
                return number, raw[exc.start:exc.start + 1]
    return None


def _raw_chunks(src: SourceFile, encoding: str, chunk_rows: int,
                date_columns: frozenset[str] | set[str] = frozenset()) -> Iterator[pd.DataFrame]:
    if src.path.stat().st_size == 0:
        raise ExtractError(f"{src.name}: the file is empty; expected a header and at least one {src.domain} row.")
    if src.format == "csv":
        done = 0
        try:
            for frame in _arrow_csv_chunks(src, encoding, chunk_rows):
                done += len(frame)
                yield frame
            return
        except _NotForArrow:
            pass
        # pandas' reader: any other encoding, and every file Arrow's reader refuses (ragged rows,
        # undecodable bytes), so the messages stay pandas' and the decode error names its line;
        # the records Arrow already gave are skipped.
        for frame in _pandas_csv_chunks(src, encoding, chunk_rows):
            if done >= len(frame):
                done -= len(frame)
                continue
            yield frame.iloc[done:]
            done = 0
    elif src.format == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(src.path)
        for batch in pf.iter_batches(batch_size=chunk_rows):
            for name in date_columns:
                i = batch.schema.get_field_index(name)
                if i >= 0 and pa.types.is_date(batch.schema.field(i).type):
                    batch = batch.set_column(i, name, batch.column(i).cast(pa.timestamp("us")))
            yield batch.to_pandas()
    else:
        import pyreadstat

        reader = pyreadstat.read_xport if src.format == "xpt" else pyreadstat.read_sas7bdat
        kwargs = {"encoding": encoding} if src.format == "xpt" else {}
        for frame, _meta in pyreadstat.read_file_in_chunks(reader, str(src.path), chunksize=chunk_rows, **kwargs):
            yield frame


class _NotForArrow(Exception):
    """Arrow's CSV reader cannot read this file as pandas would: read it with pandas."""


def _arrow_csv_chunks(src: SourceFile, encoding: str, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """The CSV's records as text, ``chunk_rows`` at a time, by Arrow's (multi-threaded) reader: the
    same cells as ``pandas.read_csv(dtype=str, keep_default_na=False)`` gives (empty is "")."""
    import codecs

    import pyarrow as pa
    import pyarrow.csv as pa_csv

    if codecs.lookup(encoding).name != "utf-8":
        raise _NotForArrow
    read = pa_csv.ReadOptions(block_size=8 << 20)
    try:
        names = pa_csv.open_csv(src.path, read_options=read).schema.names
    except (pa.ArrowInvalid, OSError):
        raise _NotForArrow from None
    if len(set(names)) != len(names):
        raise _NotForArrow
    convert = pa_csv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=False,
                                    quoted_strings_can_be_null=False)
    try:
        reader = pa_csv.open_csv(src.path, read_options=read, convert_options=convert)
        buffered, rows, yielded = [], 0, False
        for batch in reader:
            if batch.num_rows == 0:
                continue
            buffered.append(batch)
            rows += batch.num_rows
            while rows >= chunk_rows:
                table = pa.Table.from_batches(buffered)
                yield table.slice(0, chunk_rows).to_pandas()
                yielded = True
                rest = table.slice(chunk_rows)
                buffered, rows = rest.to_batches(), rest.num_rows
        if rows or not yielded:  # a header-only file gives its columns and no rows, as pandas does
            yield pa.Table.from_batches(buffered, schema=reader.schema).to_pandas()
    except pa.ArrowInvalid:
        raise _NotForArrow from None


def _pandas_csv_chunks(src: SourceFile, encoding: str, chunk_rows: int) -> Iterator[pd.DataFrame]:
    try:
        reader = pd.read_csv(src.path, dtype=str, keep_default_na=False, na_values=[], chunksize=chunk_rows,
                             encoding=encoding, encoding_errors="strict")
        yield from reader
    except pd.errors.EmptyDataError:
        raise ExtractError(f"{src.name}: the file is empty; expected a header and at least one {src.domain} row.") from None


SAS_EPOCH = pd.Timestamp("1960-01-01")
#: SAS day numbers read as dates: 1800-01-01 to 2199-12-31. Outside that a number is not a
#: date (``20230103`` is YYYYMMDD text, not SAS day 20,230,103 in the year 57,000).
SAS_DAY_RANGE = ((pd.Timestamp("1800-01-01") - SAS_EPOCH).days, (pd.Timestamp("2199-12-31") - SAS_EPOCH).days)


def _sas_days(numbers: pd.Series) -> tuple[pd.Series, pd.Series]:
    """SAS day numbers as datetimes, and the mask of numbers outside :data:`SAS_DAY_RANGE`."""
    numbers = numbers.astype("float64")
    usable = numbers.between(*SAS_DAY_RANGE)
    parsed = SAS_EPOCH + pd.to_timedelta(numbers.where(usable), unit="D")
    return parsed.astype("datetime64[us]").dt.floor("D"), numbers.notna() & ~usable


def parse_dates(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse a column of dates; returns ``(datetime64 series, mask of unparseable values)``.

    Accepted, first that applies wins: datetime values; ``datetime.date`` objects; numbers
    (SAS dates, days since 1960-01-01); ISO 8601 text (``2021-03-04``, date part of
    ``2021-03-04T10:00``); DATE9 text (``04MAR2021``); text holding a SAS day number.
    SAS day numbers outside :data:`SAS_DAY_RANGE` are unparseable. Missing or empty values are
    missing, not errors.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.astype("datetime64[us]"), pd.Series(False, index=values.index)
    if pd.api.types.is_numeric_dtype(values):
        return _sas_days(values)
    text = values.astype("string").str.strip()
    missing = text.isna() | (text == "")
    parsed = pd.to_datetime(text.str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    todo = parsed.isna() & ~missing
    if todo.any():
        parsed[todo] = pd.to_datetime(text[todo], format="%d%b%Y", errors="coerce")
        todo = parsed.isna() & ~missing
    if todo.any():
        numeric = pd.to_numeric(text[todo].where(text[todo].str.fullmatch(r"-?\d+(\.0+)?", na=False)), errors="coerce")
        parsed[todo] = _sas_days(numeric)[0]
    bad = parsed.isna() & ~missing
    return parsed.astype("datetime64[us]"), bad


def remove_workdir(folder: Path, original: Path) -> None:
    """Delete a folder that :func:`open_extract` unpacked (never the user's own folder)."""
    if Path(original).is_file():
        root = folder
        while root.parent != root and root.parent.name.startswith("dsmb-extract-"):
            root = root.parent
        shutil.rmtree(root if root.name.startswith("dsmb-extract-") else folder, ignore_errors=True)
