"""The DSMB meeting packet: HTML laid out for print, typeset to PDF by WeasyPrint.

The blinded role gets the **open report** (pooled over arms), the unblinded role the **closed
report** (by arm, CONFIDENTIAL). Every number comes from ``registry.compute`` and
``registry.display``, the same calls the pages make, and every chart is the registered Altair
spec rendered to SVG by vl-convert (vector in the PDF).

Layout (see README "Meeting packet"):

- title page: study, data cut in use, report date, software version, extract fingerprint, role,
  preparer line, OPEN/CLOSED label (CONFIDENTIAL for the closed report);
- table of contents (page numbers from WeasyPrint's ``target-counter``);
- section 1, executive summary: the Overview page's tables (key numbers, items needing
  attention, what changed since the previous cut);
- sections 2.. : every other page's registered tables and charts, in page and registry order;
- appendix: the subject-level listings (:data:`APPENDIX`: SAEs, all TEAEs, kidney endpoints,
  Hy's law, infusion deviations, abnormal labs, ...) in full, never capped; the body names the
  appendix table. Per-record chart data (:data:`CHART_DATA_ONLY`) is drawn, and its row count and
  export file are named. Lab tables cover :data:`PACKET_LAB_PARAMS` (the shift scan covers all);
- notes on the data: load notes and derivations.

Numbering: ``Table s.k`` and ``Figure s.k``, s the section number, k counting tables (figures)
within the section in order; appendix tables are ``Table A.k``. Every page carries the
confidentiality label in its running header and ``Page x of y`` in its footer; table headers
repeat on each printed page and no row is split across pages.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

import dashboard
from dashboard import db, registry
from dashboard.analyses.changes import mark_new, new_since_previous
from dashboard.blinding import Role
from dashboard.filters import FilterSpec
from dashboard.labels import label_columns

#: Lab parameters the packet's lab tables and single-parameter charts cover (the shift scan and
#: the parameter catalogue cover every parameter; the export has all of them).
PACKET_LAB_PARAMS = ("ALT", "AST", "BILI", "CREAT")
_ALL_LAB_PARAMS = {"lab_shift_summary", "lab_parameters"}
#: Subject-level listings: printed in full in the appendix, the body points there.
APPENDIX = ("ae_serious_listing", "ae_listing", "kidney_events_by_subject", "hys_law_candidates",
            "infusion_deviations", "egfr_slope", "edish_subjects", "lab_abnormal_listing")
#: Per-record data behind charts: the charts are printed, the rows are in the export (named, not cut).
CHART_DATA_ONLY = ("renal_values_by_subject", "renal_change_to_last", "lab_values_by_visit", "lab_shift_subjects",
                   "ae_timeline")
FORMATS = (".pdf", ".html")

OPEN_LABEL = "OPEN REPORT - BLINDED - pooled data only"
CLOSED_LABEL = "CLOSED REPORT - UNBLINDED - CONFIDENTIAL: DSMB members and the independent statistician only"


def confidentiality_label(role: Role | str) -> str:
    return CLOSED_LABEL if Role.parse(role) is Role.UNBLINDED else OPEN_LABEL


@dataclass
class _Numbering:
    """Counts tables and figures within a section (``Table 3.2``)."""

    section: str = "0"
    tables: int = 0
    figures: int = 0
    toc: list = field(default_factory=list)

    def start(self, section: str, title: str, anchor: str) -> None:
        self.section, self.tables, self.figures = section, 0, 0
        text = {"A": f"Appendix: {title}", "N": title[:1].upper() + title[1:]}.get(section, f"{section}. {title}")
        self.toc.append((0, text, anchor))

    def table(self, title: str) -> tuple[str, str]:
        self.tables += 1
        return self._add(f"Table {self.section}.{self.tables}", title)

    def figure(self, title: str) -> tuple[str, str]:
        self.figures += 1
        return self._add(f"Figure {self.section}.{self.figures}", title)

    def _add(self, label: str, title: str) -> tuple[str, str]:
        self.toc.append((1, f"{label}. {title}", _anchor(label)))
        return label, _anchor(label)


def _anchor(label: str) -> str:
    return label.lower().replace(" ", "-").replace(".", "-")


def _esc(text) -> str:
    return html.escape("" if text is None else str(text))


def _table_html(frame: pd.DataFrame) -> str:
    shown = label_columns(frame)
    for col in shown.columns:
        if pd.api.types.is_float_dtype(shown[col]):
            shown[col] = shown[col].map(lambda v: "" if pd.isna(v) else f"{v:g}")
    return shown.to_html(index=False, na_rep="", border=0, classes="t", escape=True)


def _chart_svgs(chart_fn, frame: pd.DataFrame) -> list[tuple[str, str]]:
    """(caption suffix, SVG) for one registered chart; lab charts drawn per packet parameter."""
    import vl_convert

    frames = [("", frame)]
    if "paramcd" in frame.columns and frame["paramcd"].nunique() > 1:
        wanted = [p for p in PACKET_LAB_PARAMS if p in set(frame["paramcd"])]
        frames = [(f" ({p})", frame[frame["paramcd"] == p]) for p in wanted]
    out = []
    for suffix, part in frames:
        chart = chart_fn(part)
        spec = chart.to_dict()
        if _is_message_chart(spec):
            continue
        if spec.get("width") == "container":
            spec["width"] = 860
        out.append((suffix, vl_convert.vegalite_to_svg(spec)))
    return out


def _is_message_chart(spec: dict) -> bool:
    """A chart that only says why there is nothing to draw (``charts.common.empty_chart``)."""
    mark = spec.get("mark")
    mark = mark.get("type") if isinstance(mark, dict) else mark
    enc = spec.get("encoding", {})
    return mark == "text" and set(enc) == {"text"} and enc["text"].get("field") == "t"


def _footnote(entry, spec: FilterSpec, cut: str, notes: list[str] = ()) -> str:
    parts = []
    if entry.definition:
        parts.append(_esc(entry.definition))
    parts.extend(_esc(n) for n in notes)
    parts.append(_esc("; ".join(spec.describe())) + f"; data cut {_esc(cut)}.")
    parts.append(f"Source: <code>{_esc(entry.name)}</code> ({_esc(entry.compute.__module__)}."
                 f"{_esc(entry.compute.__name__)}).")
    return "<p class='foot'>" + " ".join(parts) + "</p>"


def build_packet_html(con, report, role: Role | str, spec: FilterSpec | None = None, charts: bool = True,
                      report_date: dt.date | None = None) -> str:
    """The packet as one HTML document (print CSS for WeasyPrint) for a loaded extract."""
    role = Role.parse(role)
    spec = (spec or FilterSpec()).for_role(role)
    study = report.study
    cut = spec.data_cut.isoformat() if spec.data_cut else str(study.get("data_cut", ""))
    label = confidentiality_label(role)
    numbering = _Numbering()
    body: list[str] = []
    appendix: list[tuple[object, pd.DataFrame, str]] = []  # (entry, display frame, body table label)
    sections = [(page, title) for page, title in registry.PAGES.items()
                if any(e.packet for e in registry.tables_for(page, role))]
    for number, (page, title) in enumerate(sections, start=1):
        heading = "Executive summary" if page == "overview" else title
        anchor = f"section-{number}"
        numbering.start(str(number), heading, anchor)
        body.append(f"<h2 id='{anchor}'>{number}. {_esc(heading)}</h2>")
        if page == "overview":
            body.append(_summary_intro(study, spec, cut, role))
        for entry in (e for e in registry.tables_for(page, role) if e.packet):
            body.append(_entry_html(entry, con, spec, role, cut, numbering, appendix, charts))
    if appendix:
        numbering.start("A", "full listings", "appendix")
        body.append("<h2 id='appendix' class='newpage'>Appendix: full listings</h2>")
        for entry, shown, ref in appendix:
            tlabel, tanchor = numbering.table(entry.title)
            body.append(f"<h3 id='{tanchor}'>{tlabel}. {_esc(entry.title)}</h3>"
                        f"<p class='foot'>All {len(shown)} rows (referred to from {ref}).</p>")
            body.append(_table_html(shown))
            body.append(_footnote(entry, spec, cut))
    body.append(_data_notes(con, report, numbering))
    cover = _cover(study, report, role, spec, cut, label, report_date or dt.date.today())
    toc = _toc(numbering.toc)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>DSMB meeting packet "
            f"{_esc(study.get('study_id'))}</title><style>{_css(label, role)}</style></head><body>"
            f"{cover}{toc}{''.join(body)}</body></html>")


def _entry_html(entry, con, spec, role, cut, numbering, appendix, charts) -> str:
    parts = []
    if entry.page == "labs" and entry.name not in _ALL_LAB_PARAMS:
        spec = spec.with_options(lab_params=_packet_lab_params(con))
    try:
        frame = registry.compute(entry.name, con, spec, role)
        shown = registry.display(entry.name, frame)
    except registry.NotInExtract as exc:
        tlabel, tanchor = numbering.table(entry.title)
        return (f"<h3 id='{tanchor}'>{tlabel}. {_esc(entry.title)}</h3>"
                f"<p class='na'>Not available in this extract: {_esc(exc)}</p>")
    if entry.name in CHART_DATA_ONLY or not entry.exportable:
        if not (charts and entry.charts and len(frame)):
            return ""
        where = f"<code>{_esc(entry.name)}.csv</code> in <code>python -m dashboard export</code>" \
            if entry.exportable else "the dashboard page"
        parts.append(f"<h3>{_esc(entry.title)}</h3><p class='foot'>The {len(frame)} records behind the "
                     f"figures below are not printed; they are in {where}.</p>")
    else:
        tlabel, tanchor = numbering.table(entry.title)
        parts.append(f"<h3 id='{tanchor}'>{tlabel}. {_esc(entry.title)}</h3>")
        if shown.empty:
            parts.append("<p>None: no rows for this data cut and population.</p>")
        elif entry.name in APPENDIX:
            flags = new_since_previous(con, frame) if len(frame) == len(shown) else None
            if flags is not None and flags.any():
                shown = mark_new(shown, flags)
            appendix.append((entry, shown, tlabel))
            parts.append(f"<p>{len(shown)} rows, listed in full in the <a href='#appendix'>appendix</a>.</p>")
        else:
            parts.append(_table_html(shown))
        parts.append(_footnote(entry, spec, cut, registry.notes(frame, shown)))
    if charts and not frame.empty:
        for chart_fn in entry.charts:
            try:
                svgs = _chart_svgs(chart_fn, frame)
            except Exception as exc:  # noqa: BLE001 - a chart that cannot render is named, not fatal
                flabel, fanchor = numbering.figure(entry.title)
                parts.append(f"<h4 id='{fanchor}'>{flabel}. {_esc(entry.title)}</h4>"
                             f"<p class='na'>Chart not rendered: {_esc(type(exc).__name__)}</p>")
                continue
            for suffix, svg in svgs:
                flabel, fanchor = numbering.figure(entry.title + suffix)
                data = base64.b64encode(svg.encode("utf-8")).decode()
                parts.append(f"<figure id='{fanchor}'><figcaption>{flabel}. {_esc(entry.title)}{_esc(suffix)}"
                             f"</figcaption><img alt='{_esc(entry.title)}' src='data:image/svg+xml;base64,{data}'/>"
                             "</figure>")
    return "".join(parts)


def _packet_lab_params(con) -> tuple[str, ...]:
    if not db.table_exists(con, "adlb"):
        return PACKET_LAB_PARAMS
    present = set(db.run(con, "SELECT DISTINCT PARAMCD FROM adlb")["PARAMCD"].astype(str))
    return tuple(p for p in PACKET_LAB_PARAMS if p in present) or PACKET_LAB_PARAMS


def _summary_intro(study: dict, spec: FilterSpec, cut: str, role: Role) -> str:
    session = "closed (by arm)" if role is Role.UNBLINDED else "open (pooled over arms; no arm is shown)"
    return ("<p>This packet reports the safety data of "
            f"<b>{_esc(study.get('study_id'))}</b> up to the data cut <b>{_esc(cut)}</b> for the {session} "
            "session. The key numbers, the items that need the board's attention and what changed since the "
            "previous data cut follow; every later section is one page of the review dashboard, in the same "
            "order, computed by the same functions.</p>")


def _cover(study, report, role, spec, cut, label, report_date) -> str:
    rows = [("Study", study.get("study_id")), ("Title", study.get("title")), ("Data cut", cut),
            ("Extract data cut", study.get("data_cut")), ("Report date", report_date.isoformat()),
            ("Software version", f"dashboard {dashboard.__version__}"),
            ("Extract fingerprint", report.fingerprint), ("Role", role.value),
            ("Filters", "; ".join(spec.describe()))]
    if str(study.get("synthetic")) == "True":
        rows.append(("Data", "SYNTHETIC (generated; no patient data)"))
    kind = "CLOSED REPORT" if role is Role.UNBLINDED else "OPEN REPORT"
    conf = "<p class='conf'>CONFIDENTIAL</p>" if role is Role.UNBLINDED else ""
    table = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in rows)
    return (f"<section class='cover'><p class='kind {role.value}'>{kind}</p>{conf}"
            f"<h1>Data Safety Monitoring Board meeting packet</h1><table class='cover'>{table}</table>"
            "<p class='prep'>Prepared by: ______________________________ (independent statistician)"
            "&nbsp;&nbsp; Date: ______________</p>"
            f"<p class='foot'>Generated by <code>python -m dashboard report</code>. {_esc(label)}.</p></section>")


def _toc(items) -> str:
    lines = []
    for level, text, anchor in items:
        lines.append(f"<li class='l{level}'><a href='#{anchor}'>{_esc(text)}</a></li>")
    return f"<section class='toc'><h2>Contents</h2><ul>{''.join(lines)}</ul></section>"


def _data_notes(con, report, numbering) -> str:
    numbering.start("N", "notes on the data", "notes")
    notes = list(report.notes)
    parts = ["<h2 id='notes' class='newpage'>Notes on the data</h2>"]
    parts.append("<ul>" + "".join(f"<li>{_esc(n)}</li>" for n in notes) + "</ul>" if notes else "<p>None.</p>")
    if db.table_exists(con, "derivations"):
        frame = db.run(con, "SELECT * FROM derivations")
        parts.append("<h3>Derived variables</h3>" + (_table_html(frame) if len(frame) else "<p>None.</p>"))
    return "".join(parts)


def _css(label: str, role: Role) -> str:
    colour = "#B00020" if role is Role.UNBLINDED else "#0072B2"
    quoted = json.dumps(label)
    return f"""
@page {{ size: A4 landscape; margin: 18mm 12mm 16mm 12mm;
  @top-left {{ content: {quoted}; font: bold 8pt sans-serif; color: {colour}; }}
  @bottom-right {{ content: "Page " counter(page) " of " counter(pages); font: 8pt sans-serif; }}
  @bottom-left {{ content: string(section); font: 8pt sans-serif; color: #555; }} }}
body {{ font-family: "DejaVu Sans", sans-serif; font-size: 9pt; }}
h1 {{ font-size: 20pt; }} h2 {{ font-size: 14pt; break-before: page; string-set: section content(); }}
h3 {{ font-size: 10.5pt; margin: 10pt 0 3pt; break-after: avoid; }}
h4, figcaption {{ font-size: 10pt; font-weight: bold; margin: 6pt 0 3pt; }}
table.t {{ border-collapse: collapse; width: auto; max-width: 100%; font-size: 7.5pt; }}
table.t thead {{ display: table-header-group; }}
table.t tr {{ break-inside: avoid; }}
table.t th {{ border-bottom: 1.2px solid #333; text-align: left; padding: 2px 5px; vertical-align: bottom; }}
table.t td {{ border-bottom: 0.5px solid #ccc; padding: 1.5px 5px; vertical-align: top; }}
.foot {{ color: #444; font-size: 7.5pt; margin-top: 2pt; }}
.na {{ font-style: italic; }}
figure {{ margin: 4pt 0; break-inside: avoid; }} figure img {{ max-width: 100%; max-height: 80mm; }}
.cover {{ font-size: 11pt; }} .cover th {{ text-align: left; padding: 3pt 12pt 3pt 0; }}
.kind {{ font-size: 22pt; font-weight: bold; color: white; background: {colour}; padding: 6pt 10pt; }}
.conf {{ font-size: 18pt; font-weight: bold; color: #B00020; }}
.prep {{ margin-top: 24pt; }}
.toc {{ break-before: page; }} .toc h2 {{ break-before: auto; }} .toc ul {{ list-style: none; padding: 0; }}
.toc li.l1 {{ margin-left: 14pt; font-size: 8pt; }}
.toc a {{ color: black; text-decoration: none; }}
.toc a::after {{ content: leader('.') target-counter(attr(href), page); }}
"""


def render(html_text: str, suffix: str) -> bytes:
    """The packet bytes for ``.pdf`` (WeasyPrint) or ``.html``."""
    if suffix == ".html":
        return html_text.encode("utf-8")
    from weasyprint import HTML

    return HTML(string=html_text).write_pdf()


def packet_filename(study: dict, role: Role | str, suffix: str = ".pdf") -> str:
    kind = "closed" if Role.parse(role) is Role.UNBLINDED else "open"
    return f"{study.get('study_id') or 'study'}_dsmb_{kind}_report{suffix}"


def write_packet(extract: Path, role: Role | str, out: Path, spec: FilterSpec | None = None,
                 charts: bool = True) -> Path:
    """Load ``extract`` in ``role`` and write the packet to ``out`` (.pdf or .html by suffix)."""
    from dashboard.load import load_extract

    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"--out {out.name}: the packet is written as .pdf or .html; got {out.suffix or 'no suffix'!r}.")
    con, report = load_extract(extract, role)
    try:
        extract_cut = report.study.get("data_cut_date")
        if spec is not None and spec.data_cut and extract_cut and spec.data_cut > extract_cut:
            raise ValueError(f"--data-cut {spec.data_cut.isoformat()} is after the extract's data cut "
                             f"{extract_cut.isoformat()}; give a date on or before it.")
        text = build_packet_html(con, report, role, spec, charts=charts)
    finally:
        con.close()
    data = render(text, suffix)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return out
