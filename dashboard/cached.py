"""Streamlit caches: the only ``dashboard`` module that imports streamlit.

The connection is cached per (extract, role, extract fingerprint); frames per (fingerprint,
role, table, filter). With the role in every key, a frame computed unblinded can never be
served to a blinded session.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import registry
from dashboard.auth import Lockout
from dashboard.blinding import Role
from dashboard.filters import FilterSpec

DEFAULT_EXTRACT = Path(__file__).resolve().parents[1] / "sample_data" / "nct04562025_unblinded"


def configured_extract() -> Path:
    """``DSMB_EXTRACT`` (path of the extract), default the bundled sample trial."""
    return Path(os.environ.get("DSMB_EXTRACT") or DEFAULT_EXTRACT)


def configured_role() -> Role:
    """``DSMB_ROLE``: ``blinded`` (default) or ``unblinded``."""
    return Role.parse(os.environ.get("DSMB_ROLE") or "blinded")


def _stat_key(path: Path) -> str:
    """Cheap change detector for the cache key: names, sizes and mtimes of the extract's files."""
    if path.is_file():
        s = path.stat()
        return f"{path.name}:{s.st_size}:{s.st_mtime_ns}"
    parts = []
    for p in sorted(path.iterdir()) if path.exists() else []:
        if p.is_file():
            s = p.stat()
            parts.append(f"{p.name}:{s.st_size}:{s.st_mtime_ns}")
    return "|".join(parts)


@st.cache_resource(max_entries=4, show_spinner="Loading and validating the extract...")
def _load(extract: str, role: str, stat_key: str):
    from dashboard.load import load_extract

    return load_extract(Path(extract), role)


def loaded(extract: Path, role: Role):
    """``(con, report)`` for an extract and role, loaded once per server process."""
    return _load(str(extract), role.value, _stat_key(extract))


@st.cache_data(max_entries=512, show_spinner=False)
def _table(_con, fingerprint: str, role: str, name: str, spec: FilterSpec) -> pd.DataFrame:
    return registry.compute(name, _con.cursor(), spec, role)


def table(con, fingerprint: str, role: Role, name: str, spec: FilterSpec) -> pd.DataFrame:
    """A registered table's tidy frame, cached per extract fingerprint, role and filter."""
    return _table(con, fingerprint, role.value, name, spec)


@st.cache_data(max_entries=256, show_spinner=False)
def _subjects(_con, fingerprint: str, role: str, name: str, spec: FilterSpec, row: tuple) -> pd.DataFrame:
    return registry.subjects_behind(_con.cursor(), spec, name, dict(row), role)


def subjects_behind(con, fingerprint: str, role: Role, name: str, spec: FilterSpec, row: dict) -> pd.DataFrame:
    """``registry.subjects_behind`` for one row of a registered table, cached like :func:`table`."""
    return _subjects(con, fingerprint, role.value, name, spec, tuple(sorted(row.items())))


@st.cache_data(max_entries=256, show_spinner=False)
def _records(_con, fingerprint: str, role: str, name: str, spec: FilterSpec, row: tuple) -> pd.DataFrame | None:
    return registry.records_behind(_con.cursor(), spec, name, dict(row), role)


def records_behind(con, fingerprint: str, role: Role, name: str, spec: FilterSpec, row: dict) -> pd.DataFrame | None:
    """``registry.records_behind`` for one row of a registered table, cached like :func:`table`."""
    return _records(con, fingerprint, role.value, name, spec, tuple(sorted(row.items())))


@st.cache_data(max_entries=8, show_spinner=False)
def _subject_ids(_con, fingerprint: str, role: str) -> list[str]:
    return registry.subject_ids(_con.cursor())


def subject_ids(con, fingerprint: str, role: Role) -> list[str]:
    """Every subject id of the extract, cached per extract fingerprint and role."""
    return _subject_ids(con, fingerprint, role.value)


@st.cache_data(max_entries=256, show_spinner=False)
def _subject_view(_con, fingerprint: str, role: str, name: str, usubjid: str):
    return registry.subject_view(name, _con.cursor(), usubjid, role)


def subject_view(con, fingerprint: str, role: Role, name: str, usubjid: str):
    """``registry.subject_view`` (one view of one subject's record), cached per extract
    fingerprint, role, view and subject."""
    return _subject_view(con, fingerprint, role.value, name, usubjid)


@st.cache_resource(max_entries=4)
def lockout(max_failures: int, lockout_s: float) -> Lockout:
    """The failed sign-in counter shared by every session of this server."""
    return Lockout(max_failures, lockout_s)


@st.cache_data(max_entries=512, show_spinner=False)
def _display(_con, fingerprint: str, role: str, name: str, spec: FilterSpec) -> pd.DataFrame:
    return registry.display(name, _table(_con, fingerprint, role, name, spec))


def display(con, fingerprint: str, role: Role, name: str, spec: FilterSpec) -> pd.DataFrame:
    """A registered table's display frame (``registry.display``), cached like :func:`table`, so a
    widget that changes only a chart reruns the page without reformatting any table."""
    return _display(con, fingerprint, role.value, name, spec)


@st.cache_data(max_entries=8, show_spinner="Typesetting the meeting packet...")
def _packet(_con, _report, fingerprint: str, role: str, spec: FilterSpec) -> bytes:
    from dashboard import packet

    return packet.render(packet.build_packet_html(_con.cursor(), _report, role, spec), ".pdf")


def packet_pdf(con, report, role: Role, spec: FilterSpec) -> bytes:
    """The meeting packet PDF (open report when blinded, closed when unblinded) for the active
    filter, cached per extract fingerprint, role and filter."""
    return _packet(con, report, report.fingerprint, role.value, spec)


@st.cache_data(max_entries=256, show_spinner=False)
def _new_flags(_con, _frame, fingerprint: str, role: str, name: str, spec: FilterSpec):
    from dashboard.analyses.changes import new_since_previous

    return new_since_previous(_con.cursor(), _frame)


def new_flags(con, frame, fingerprint: str, role: Role, name: str, spec: FilterSpec):
    """``changes.new_since_previous`` for a registered listing, cached like its frame."""
    return _new_flags(con, frame, fingerprint, role.value, name, spec)
