"""Exports built from the registry: tidy CSVs per table, and the meeting packet.

``export_tables`` writes every registered table the role may see as ``<name>.csv`` (tidy, full
precision) plus ``manifest.json`` naming each table's query, filter and the extract's
fingerprint. The packet is one self-contained HTML file with the display tables.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from pathlib import Path

import pandas as pd

from dashboard import registry
from dashboard.blinding import Role
from dashboard.downloads import session_label
from dashboard.filters import FilterSpec
from dashboard.load import load_extract

#: Listings longer than this are cut in the packet (the export has every row).
PACKET_MAX_ROWS = 300


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


def _chart_images(entry, frame) -> list[str]:
    """The entry's charts as embedded PNG images (rendered offline with vl-convert)."""
    import base64

    import vl_convert

    out = []
    for chart_fn in entry.charts:
        try:
            chart = chart_fn(frame)
            spec = chart.to_dict()
            if spec.get("width") == "container":
                spec["width"] = 900
            png = vl_convert.vegalite_to_png(spec, scale=1.5)
        except Exception as exc:  # noqa: BLE001 - a chart that cannot render is named, not fatal
            out.append(f"<p><i>Chart not rendered: {html.escape(type(exc).__name__)}</i></p>")
            continue
        out.append(f"<img alt='{html.escape(entry.title)}' style='max-width:100%' "
                   f"src='data:image/png;base64,{base64.b64encode(png).decode()}'/>")
    return out


def write_meeting_packet(extract: Path, role: Role | str, out: Path, spec: FilterSpec | None = None,
                         charts: bool = True) -> Path:
    """One self-contained HTML file: cover (study, data cut, report date, fingerprint, confidentiality
    label), then every registered display table and chart the role may see, by page."""
    role = Role.parse(role)
    spec = (spec or FilterSpec()).for_role(role)
    con, report = load_extract(extract, role)
    study = report.study
    label = session_label(role)
    parts = [f"<h1>DSMB meeting packet: {html.escape(str(study.get('study_id')))}</h1>",
             f"<p class='label {role.value}'>{label}</p>",
             "<table class='cover'>" + "".join(f"<tr><th>{k}</th><td>{html.escape(str(v))}</td></tr>" for k, v in [
                 ("Title", study.get("title")), ("Data cut", study.get("data_cut")),
                 ("Report date", dt.date.today().isoformat()), ("Extract fingerprint", report.fingerprint),
                 ("Role", role.value), ("Filter", "; ".join(spec.describe()))]) + "</table>"]
    try:
        for page, title in registry.PAGES.items():
            entries = [e for e in registry.tables_for(page, role) if e.packet]
            if not entries:
                continue
            parts.append(f"<h2>{html.escape(title)}</h2>")
            for entry in entries:
                parts.append(f"<h3>{html.escape(entry.title)}</h3>")
                try:
                    frame = registry.compute(entry.name, con, spec, role)
                    shown = registry.display(entry.name, frame)
                except registry.NotInExtract as exc:
                    parts.append(f"<p><i>Not in this extract: {html.escape(str(exc))}</i></p>")
                    continue
                if entry.definition:
                    parts.append(f"<p class='def'>{html.escape(entry.definition)}</p>")
                parts.extend(f"<p class='def'>{html.escape(n)}</p>" for n in registry.notes(frame, shown))
                if len(shown) > PACKET_MAX_ROWS:
                    parts.append(f"<p class='def'>First {PACKET_MAX_ROWS} of {len(shown)} rows; the full table is "
                                 f"<code>{entry.name}.csv</code> in <code>python -m dashboard export</code>.</p>")
                    shown = shown.head(PACKET_MAX_ROWS)
                parts.append(shown.to_html(index=False, na_rep="", border=0, classes="t") if len(shown)
                             else "<p>No rows.</p>")
                if charts:
                    parts.extend(_chart_images(entry, frame))
    finally:
        con.close()
    style = ("<style>body{font-family:sans-serif;font-size:14px;margin:2em} table.t{border-collapse:collapse}"
             "table.t td,table.t th{border-bottom:1px solid #ccc;padding:3px 8px;text-align:left}"
             ".label{font-weight:bold;padding:6px;color:white}.label.unblinded{background:#B00020}"
             ".label.blinded{background:#0072B2}.def{color:#555;font-size:12px}</style>")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>DSMB packet</title>{style}</head>"
                   f"<body>{''.join(parts)}</body></html>", encoding="utf-8")
    return out
