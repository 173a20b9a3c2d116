"""Layout helpers shared by the pages: header, banner, table blocks, downloads.

Layout only: every number comes from ``dashboard.registry`` through ``dashboard.cached``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from dashboard import auth, cached, downloads, registry
from dashboard.analyses import changes
from dashboard.blinding import Role
from dashboard.filters import POPULATIONS, FilterSpec
from dashboard.formatting import blank_missing, number_style
from dashboard.labels import label_columns, table_title, without_source
from dashboard.population import shown_vs_total
from pages import _signin as signin


@dataclass
class PageContext:
    con: object
    report: object
    spec: FilterSpec
    role: Role
    study: dict

    @property
    def blinded(self) -> bool:
        return self.role is Role.BLINDED

    @property
    def fingerprint(self) -> str:
        return self.report.fingerprint


def current() -> PageContext:
    """The loaded extract, role and active filter (set up by streamlit_app.py)."""
    role = st.session_state.get("dsmb_role")
    if role is None:  # no signed-in data role in this session (the router sets it): show nothing
        st.stop()
    con, report = cached.loaded(cached.configured_extract(), role)
    spec = st.session_state.get("dsmb_spec") or FilterSpec()
    return PageContext(con, report, spec.for_role(role), role, report.study)


def role_banner(ctx: PageContext) -> None:
    if ctx.blinded:
        st.markdown(
            '<div class="dsmb-banner dsmb-blinded">BLINDED &middot; pooled data only &middot; no treatment '
            "assignment is loaded</div>", unsafe_allow_html=True)
    else:
        st.markdown(
            '<div class="dsmb-banner dsmb-unblinded">UNBLINDED &middot; CLOSED SESSION &middot; '
            "CONFIDENTIAL: for DSMB members and the independent statistician only</div>", unsafe_allow_html=True)


def page_header(title: str, page_key: str) -> PageContext:
    """Render the persistent header (study, data cut, fingerprint, role banner); return the context."""
    if not st.session_state.get("dsmb_router"):
        # A deep link opened before the router ran in this session: Streamlit ran the page file
        # on its own (no sidebar filters, no theme). Go through the router, then come back here.
        st.session_state["dsmb_deep_link"] = f"pages/{page_key}.py"
        st.switch_page("streamlit_app.py")
    signin.require()
    ctx = current()
    signin.page_viewed(page_key)
    study = ctx.study
    signin.demo_banner()
    role_banner(ctx)
    st.title(title)
    cut, cut_note = data_cut_in_use(ctx)
    synthetic = " &middot; SYNTHETIC DATA" if str(study.get("synthetic")) == "True" else ""
    st.markdown(
        f'<div class="dsmb-header"><b>{_esc(study.get("study_id", ""))}</b> &middot; data cut <b>{_esc(cut)}</b>'
        f"{_esc(cut_note)} &middot; extract <code>{_esc(ctx.fingerprint)}</code>{synthetic}</div>",
        unsafe_allow_html=True)
    if ctx.spec.is_restricted:
        counts = shown_vs_total(ctx.con.cursor(), ctx.spec)
        shown = ", ".join(f"{a} {s} / {t}" for a, s, t in zip(counts["arm"], counts["shown"], counts["total"]))
        population = POPULATIONS[ctx.spec.population].split(" (")[0].lower()
        st.info("Filters in use: " + "; ".join(ctx.spec.describe()) + f". Subjects shown / total: {shown} "
                f"({population} population).")
    return ctx


def data_cut_in_use(ctx: PageContext) -> tuple[str, str]:
    """The data cut every table on the page is computed at, and a note on where it comes from."""
    study = ctx.study
    if ctx.spec.data_cut:
        return ctx.spec.data_cut.isoformat(), f" (interim view; the extract is cut {study.get('data_cut', '')})"
    derived = str(study.get("data_cut_derived")) == "True"
    return str(study.get("data_cut", "")), " (derived: latest date in the data)" if derived else ""


def _esc(text) -> str:
    import html

    return html.escape(str(text))


def get_table(ctx: PageContext, name: str, spec: FilterSpec | None = None) -> pd.DataFrame | None:
    """A registered table's tidy frame, or None when the extract lacks its data (message shown)."""
    try:
        return cached.table(ctx.con, ctx.fingerprint, ctx.role, name, spec or ctx.spec)
    except registry.NotInExtract as exc:
        st.info(f"Not in this extract: {exc}")
        return None


#: Tables with at most this many rows are shown whole (no inner scroll); longer ones scroll.
FIT_ROWS = 30
LONG_TABLE_PX = 560


def table_height(rows: int, height: int | None = None):
    """Height of a table: its content (every row) when it has at most ``FIT_ROWS`` rows; else
    ``height`` pixels or a long-table default."""
    if rows <= FIT_ROWS:
        return "content"
    return height or LONG_TABLE_PX


def show_table(ctx: PageContext, name: str, spec: FilterSpec | None = None, charts: bool = True,
               height: int | None = None, key: str | None = None, selectable: bool = False,
               empty: str = "No rows for the current selection.", caption: bool = True, common: str = ""):
    """Title, definition, the display table with CSV/Excel downloads, and the registered charts.

    Returns the tidy frame (None when not in this extract). With ``selectable`` the return
    value is ``(frame, selected)``: the selected rows of the displayed table. ``height`` applies
    only to tables longer than ``FIT_ROWS`` rows; shorter ones always show every row. ``common``:
    a definition preamble the page already shows once, left out of this table's caption.
    """
    entry = registry.TABLES[name]
    if not entry.allowed(ctx.role):
        return (None, None) if selectable else None
    st.subheader(table_title(entry.title, ctx.blinded))
    if name in auth.SOURCE_REF_TABLES and not signin.sees_source_refs():
        st.info("Source file and row references are shown to the data-manager role only.")
        return (None, None) if selectable else None
    frame = get_table(ctx, name, spec)
    if frame is None:
        return (None, None) if selectable else None
    shown = cached.display(ctx.con, ctx.fingerprint, ctx.role, name, spec or ctx.spec)
    definition = entry.definition
    if common and definition.startswith(common):
        definition = definition[len(common):].strip()
    if definition and caption:
        st.caption(definition)
    for note in registry.notes(frame, shown):
        st.caption(note)
    key = key or f"tbl_{name}"
    shown = _new_since_previous(ctx, name, spec or ctx.spec, frame, shown, key)
    selection = []
    if shown.empty:
        st.write(empty)
    else:
        if selectable and len(shown) <= FIT_ROWS:
            # A short table is shown whole (wrapped to the page); its rows are picked by name.
            show_frame(shown, empty, labelled=True)
            choice = st.selectbox("Drill down into a row", range(len(shown)), index=None, key=f"{key}_row",
                                  format_func=lambda i: row_label(shown.iloc[i]), placeholder="Choose a row")
            selection = [] if choice is None else [choice]
        elif selectable:
            event = st.dataframe(shown, on_select="rerun", selection_mode="single-row", hide_index=True,
                                 width="stretch", key=key, height=table_height(len(shown), height))
            selection = list(event.selection.rows) if event and hasattr(event, "selection") else []
        else:
            show_frame(shown, empty, height, labelled=True)
        download_buttons(ctx, name, shown, key, spec or ctx.spec)
    if charts:
        for i, chart_fn in enumerate(entry.charts):
            show_chart(chart_fn(frame), key=f"{key}_chart{i}")
    return (frame, shown.iloc[selection]) if selectable else frame


def _new_since_previous(ctx: PageContext, name: str, spec: FilterSpec, frame, shown, key: str):
    """For a record listing when a previous extract is loaded: a toggle that marks the records new
    since the previous cut, and one that shows only those."""
    if len(shown) != len(frame):
        return shown
    flags = cached.new_flags(ctx.con, frame, ctx.fingerprint, ctx.role, name, spec)
    if flags is None or not flags.any():
        return shown
    with st.container(horizontal=True):
        mark = st.toggle(f"Mark new since the previous cut ({int(flags.sum())})", key=f"{key}_mark_new")
        only = st.toggle("Only new", key=f"{key}_only_new", disabled=not mark)
    return changes.mark_new(shown, flags, only) if mark else shown


def packet_download(ctx: PageContext) -> None:
    """Prepare (on request) and download the meeting packet PDF for the role and active filter."""
    from dashboard.packet import packet_filename

    kind = "closed report (by arm)" if not ctx.blinded else "open report (pooled)"
    if st.button(f"Prepare the meeting packet: {kind}, PDF", key="packet_prepare", icon=":material/picture_as_pdf:"):
        st.session_state["packet_ready"] = True
    if st.session_state.get("packet_ready"):
        data = cached.packet_pdf(ctx.con, ctx.report, ctx.role, ctx.spec)
        st.download_button("Download the meeting packet (PDF)", data, packet_filename(ctx.study, ctx.role),
                           "application/pdf", key="packet_download", icon=":material/download:")


def row_label(row: pd.Series, parts: int = 3) -> str:
    """A displayed row named by its first few non-empty text cells ("SOC · PT", "Subject · Arm · ...")."""
    cells = [str(v) for v in row.tolist() if isinstance(v, str) and v.strip()]
    return " · ".join(cells[:parts]) or f"Row {row.name + 1 if isinstance(row.name, int) else row.name}"


def show_frame(frame: pd.DataFrame, empty: str, height: int | None = None, labelled: bool = False) -> None:
    """A table read on a projector: up to ``FIT_ROWS`` rows as a static table that wraps its text
    to the page width (every row and column visible); longer ones as a scrolling grid.

    Headers go through ``labels.column_label`` and missing cells are empty (already so when
    ``labelled``: a registered table's display frame). ``empty`` is said when there are no rows.
    """
    if frame is None or frame.empty:
        st.write(empty)
        return
    shown = frame if labelled else blank_missing(label_columns(without_source(frame)))
    if len(shown) <= FIT_ROWS:
        st.table(number_style(shown), hide_index=True)
    else:
        st.dataframe(shown, hide_index=True, width="stretch", height=table_height(len(shown), height))


def download_buttons(ctx: PageContext, name: str, shown: pd.DataFrame, key: str, spec: FilterSpec | None = None) -> None:
    """CSV and Excel downloads of exactly the table shown, headed by study, data cut, role and the
    confidentiality line (``dashboard.downloads``). Files are built only when a button is clicked."""
    stem = f"{ctx.study.get('study_id', 'study')}_{name}_{ctx.role.value}"
    lines = downloads.provenance_lines(registry.TABLES[name].title, ctx.study, ctx.role, ctx.fingerprint,
                                       (spec or ctx.spec).describe())
    with st.container(horizontal=True):
        st.download_button("CSV", signin.audited_download(name, "csv", lambda: downloads.csv_bytes(shown, lines)),
                           f"{stem}.csv", "text/csv", key=f"{key}_csv", icon=":material/download:",
                           help="Download this table as CSV", on_click="ignore")
        st.download_button("Excel", signin.audited_download(name, "xlsx", lambda: downloads.xlsx_bytes(shown, name, lines)),
                           f"{stem}.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                           key=f"{key}_xlsx", icon=":material/download:", help="Download this table as an Excel workbook",
                           on_click="ignore")


def show_chart(chart, key: str | None = None, on_select: bool = False):
    """Render an Altair chart full width; with ``on_select`` returns the selection event."""
    if on_select:
        return st.altair_chart(chart, width="stretch", key=key, on_select="rerun", theme=None)
    st.altair_chart(chart, width="stretch", key=key, theme=None)
    return None


def page_links(titles, label: str = "Open {title}") -> None:
    """One link per page title (``dashboard.tables.PAGES`` values), in the order given."""
    files = {title: key for key, title in registry.PAGES.items()}
    with st.container(horizontal=True):
        for title in dict.fromkeys(titles):
            if title in files:
                st.page_link(f"pages/{files[title]}.py", label=label.format(title=title), icon=":material/arrow_forward:")


def table_page(name: str) -> str:
    """The title of the page that shows registered table ``name``."""
    return registry.PAGES[registry.TABLES[name].page]


def open_subject(usubjid: str) -> None:
    """Go to the subject profile page for ``usubjid``."""
    st.session_state["profile_usubjid"] = str(usubjid)
    st.switch_page("pages/subject_profile.py")


def subject_picker(ctx: PageContext, subjects: list[str], key: str, label: str = "Open subject profile") -> None:
    """A select box + button that opens the profile of a subject from a list."""
    if not subjects:
        return
    c1, c2 = st.columns([3, 1])
    choice = c1.selectbox(label, subjects, key=f"{key}_pick", index=None, placeholder="Choose a subject")
    if c2.button("Open profile", key=f"{key}_open", disabled=choice is None):
        open_subject(choice)


def study_notes(ctx: PageContext) -> list[str]:
    try:
        return json.loads(ctx.study.get("notes") or "[]")
    except ValueError:
        return []


def show_subjects_behind(ctx: PageContext, name: str, row: dict, spec: FilterSpec | None = None,
                         key: str = "subjects", what: str = "", records: bool = False) -> None:
    """The subjects counted in one row of a registered table (``registry.subjects_behind``: subject
    id, and arm in the unblinded role only, sorted by subject id), each opening its profile: a
    button per subject up to ``SUBJECT_BUTTONS`` subjects, a picker beyond. With ``records``, a row
    about source records also lists them (file and row) to a data manager (``sees_record_refs``)."""
    try:
        subjects = cached.subjects_behind(ctx.con, ctx.fingerprint, ctx.role, name, spec or ctx.spec, row)
    except registry.NotInExtract as exc:
        st.info(f"Not in this extract: {exc}")
        return
    if records and signin.sees_record_refs():
        listed = cached.records_behind(ctx.con, ctx.fingerprint, ctx.role, name, spec or ctx.spec, row)
        if listed is not None:
            k = len(listed)
            st.markdown(f"**Source records behind {what or 'this row'}**: {k} record{'s' if k != 1 else ''}")
            show_frame(listed, "")
    n = len(subjects)
    st.markdown(f"**Subjects behind {what or 'this row'}**: {n} subject{'s' if n != 1 else ''}")
    if subjects.attrs.get("note"):
        st.caption(subjects.attrs["note"])
    if not n:
        return
    show_frame(subjects, "")
    ids = subjects["usubjid"].astype(str).tolist()
    if n > SUBJECT_BUTTONS:
        subject_picker(ctx, ids, key=key)
        return
    st.caption("Open a subject profile:")
    cols = st.columns(6)
    for i, usubjid in enumerate(ids):
        if cols[i % 6].button(usubjid, key=f"{key}_open_{usubjid}"):
            open_subject(usubjid)


#: Up to this many subjects behind a number get one button each; more get a picker.
SUBJECT_BUTTONS = 36
