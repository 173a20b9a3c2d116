"""Exports built from the registry: tidy CSVs per table, and the meeting packet.

``export_tables`` writes every registered table the role may see as ``<name>.csv`` (tidy, full
precision) plus ``manifest.json`` naming each table's query, filter and the extract's
fingerprint. The meeting packet (PDF or HTML) is built by :mod:`dashboard.packet`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from dashboard import registry
from dashboard.blinding import Role
from dashboard.downloads import session_label
from dashboard.filters import FilterSpec
from dashboard.load import load_extract

def export_tables(extract: Path, role: Role | str, out: Path, spec: FilterSpec | None = None) -> list[Path]:
    """Write every registered table for ``role`` as CSV into ``out``; returns the files written."""
    role = Role.parse(role)
    spec = (spec or FilterSpec()).for_role(role)
    con, report = load_extract(extract, role)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written, index = [], []
    try:
        for entry in registry.tables_for(None, role):
            if not entry.exportable:
                continue
            try:
                frame = registry.compute(entry.name, con, spec, role)
            except registry.NotInExtract as exc:
                index.append({"table": entry.name, "status": f"not in this extract: {exc}"})
                continue
            path = out / f"{entry.name}.csv"
            frame.to_csv(path, index=False)
            written.append(path)
            index.append({"table": entry.name, "title": entry.title, "rows": len(frame), "file": path.name,
                          "function": f"{entry.compute.__module__}.{entry.compute.__name__}"})
    finally:
        con.close()
    (out / "manifest.json").write_text(json.dumps({
        "study_id": report.study.get("study_id"), "data_cut": report.study.get("data_cut"),
        "role": role.value, "extract_fingerprint": report.fingerprint, "filter": spec.describe(),
        "tables": index}, indent=2), encoding="utf-8")
    return written


def write_meeting_packet(extract: Path, role: Role | str, out: Path, spec: FilterSpec | None = None,
                         charts: bool = True) -> Path:
    """The meeting packet (open report when blinded, closed report when unblinded) as PDF or HTML
    by ``out``'s suffix; see :mod:`dashboard.packet`."""
    from dashboard.packet import write_packet

    return write_packet(extract, role, out, spec, charts=charts)
