"""Layout helpers shared by the pages: header, banner, table blocks, downloads.

Layout only: every number comes from ``dashboard.registry`` through ``dashboard.cached``.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from dashboard import cached, registry
from dashboard.analyses import changes
from dashboard.blinding import Role
from dashboard.filters import FilterSpec
from dashboard.population import shown_vs_total


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
    role = st.session_state.get("dsmb_role") or cached.configured_role()
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
    ctx = current()
    study = ctx.study
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
        st.info("Filters in use: " + "; ".join(ctx.spec.describe()) + f". Subjects shown / total: {shown}.")
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


def show_table(ctx: PageContext, name: str, spec: FilterSpec | None = None, charts: bool = True,
               height: int | None = None, key: str | None = None, selectable: bool = False):
    """Title, definition, the display table with CSV/Excel downloads, and the registered charts.

    Returns the tidy frame (None when not in this extract). With ``selectable`` the return
    value is ``(frame, selected)``: the selected rows of the displayed table.
    """
    entry = registry.TABLES[name]
    if not entry.allowed(ctx.role):
        return (None, None) if selectable else None
    st.subheader(entry.title)
    frame = get_table(ctx, name, spec)
    if frame is None:
        return (None, None) if selectable else None
    shown = registry.display(name, frame)
    if entry.definition:
        st.caption(entry.definition)
    for note in registry.notes(frame, shown):
        st.caption(note)
    key = key or f"tbl_{name}"
    shown = _new_since_previous(ctx, name, spec or ctx.spec, frame, shown, key)
    selection = []
    if shown.empty:
        st.write("None: no rows for the current selection.")
    else:
        kwargs = dict(hide_index=True, width="stretch", key=key)
        if height:
            kwargs["height"] = height
        if selectable:
            event = st.dataframe(shown, on_select="rerun", selection_mode="single-row", **kwargs)
            selection = list(event.selection.rows) if event and hasattr(event, "selection") else []
        else:
            st.dataframe(shown, **kwargs)
    download_buttons(ctx, name, shown, key)
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


def download_buttons(ctx: PageContext, name: str, shown: pd.DataFrame, key: str) -> None:
    """CSV and Excel downloads of exactly the table shown."""
    stem = f"{ctx.study.get('study_id', 'study')}_{name}_{ctx.role.value}"
    with st.container(horizontal=True):
        st.download_button("CSV", shown.to_csv(index=False).encode("utf-8"), f"{stem}.csv", "text/csv",
                           key=f"{key}_csv", icon=":material/download:", help="Download this table as CSV")
        st.download_button("Excel", to_excel_bytes(shown, name), f"{stem}.xlsx",
                           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key=f"{key}_xlsx",
                           icon=":material/download:", help="Download this table as an Excel workbook")


def to_excel_bytes(frame: pd.DataFrame, sheet: str) -> bytes:
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="xlsxwriter") as xl:
        frame.to_excel(xl, sheet_name=sheet[:31], index=False)
    return buf.getvalue()


def show_chart(chart, key: str | None = None, on_select: bool = False):
    """Render an Altair chart full width; with ``on_select`` returns the selection event."""
    if on_select:
        return st.altair_chart(chart, width="stretch", key=key, on_select="rerun", theme=None)
    st.altair_chart(chart, width="stretch", key=key, theme=None)
    return None


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
