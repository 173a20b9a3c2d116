"""Entry point: the router (``st.navigation``), the role, and the shared sidebar filter panel.

Run: ``streamlit run streamlit_app.py``. Configuration: ``DSMB_EXTRACT`` (extract folder or
zip; default the bundled synthetic trial). Sign-in (``pages/_signin.py``) comes first: with
OpenID Connect (``.streamlit/secrets.toml`` ``[auth]``) or local accounts (``DSMB_ACCOUNTS``)
the role is the signed-in user's, and ``DSMB_AUDIT`` records every event. Without either the app
runs in local demo mode: ``DSMB_ROLE`` (``blinded`` default, or ``unblinded``) fixes the role.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import cached
from dashboard.filters import AGE_GROUPS, EGFR_CATEGORIES, POPULATIONS, FilterSpec
from dashboard.population import study_arms

HERE = Path(__file__).parent

st.set_page_config(page_title="DSMB safety review", page_icon=":material/monitor_heart:", layout="wide")
st.markdown("""
<style>
html, body, [class*="css"] { font-size: 18px; }
.dsmb-banner { padding: 0.45rem 1rem; font-weight: 800; font-size: 1.15rem; letter-spacing: 0.04em;
               border-radius: 0.3rem; margin-bottom: 0.4rem; }
.dsmb-blinded { background: #0072B2; color: white; }
.dsmb-unblinded { background: #B00020; color: white; }
.dsmb-demo { background: #FFE08A; color: #111; font-size: 1.0rem; }
.dsmb-header { font-size: 1.05rem; color: #333; margin-bottom: 0.6rem; }
[data-testid="stDataFrame"] { font-size: 1.0rem; }
[data-testid="stMetricValue"] { font-size: 1.9rem; }
[data-testid="stTable"] td, [data-testid="stTable"] th { white-space: normal; overflow-wrap: break-word; word-break: normal; }
[data-testid="stTable"] td *, [data-testid="stTable"] th * { white-space: inherit !important; overflow-wrap: inherit !important; }
[data-testid="stTab"] p { font-size: 1.1rem; font-weight: 600; }
[data-testid="stMainBlockContainer"] { padding-left: 2.5rem; padding-right: 2.5rem; }
</style>""", unsafe_allow_html=True)

from pages import _signin as signin  # noqa: E402 - after the page config, as Streamlit requires

session = signin.gate()  # the sign-in page (and stop) until a user has signed in
signin.sidebar(session)
role = session.data_role
st.session_state["dsmb_role"] = role
extract = cached.configured_extract()


def _page(file: str, title: str, icon: str, **kw):
    return st.Page(str(HERE / "pages" / file), title=title, icon=icon, **kw)


ADMIN_PAGE = _page("admin.py", "Users & audit trail", ":material/admin_panel_settings:")
if role is None:  # an admin-only account (or no role at all): no trial data is loaded
    if session.identity.is_admin:
        st.navigation({"Administration": [ADMIN_PAGE]}).run()
    else:
        st.navigation([st.Page(lambda: st.warning(
            f"You are signed in as {session.identity.user}, but your account has no role in this product. "
            "Ask an administrator for one."), title="No role")]).run()
    st.stop()

try:
    con, report = cached.loaded(extract, role)
except Exception as exc:  # noqa: BLE001 - shown as one clear line, never a traceback
    from dashboard.extract import ExtractError

    if isinstance(exc, ExtractError):
        st.error(f"The extract cannot be opened: {exc}")
    else:
        st.error(f"The extract cannot be opened: {type(exc).__name__}: {exc}")
    st.stop()

with st.sidebar:
    st.markdown(f"**{report.study.get('study_id', '')}** · {'UNBLINDED' if role.value == 'unblinded' else 'BLINDED'}")
    st.header("Filters")
    population = st.selectbox("Population", list(POPULATIONS), format_func=POPULATIONS.get, key="flt_population")
    sexes = st.multiselect("Sex", ["F", "M"], key="flt_sex", placeholder="All")
    ages = st.multiselect("Age group", list(AGE_GROUPS), key="flt_age", placeholder="All")
    egfr = st.multiselect("Baseline eGFR category (KDIGO)", list(EGFR_CATEGORIES), key="flt_egfr", placeholder="All")
    arms: list[str] = []
    if role.value == "unblinded":
        arms = st.multiselect("Arm", study_arms(con), key="flt_arm", placeholder="All arms")
    study_cut = report.study.get("data_cut_date")
    cut = st.date_input("Data up to (interim view)", value=study_cut, max_value=study_cut, key="flt_cut",
                        help="Restrict every table to subjects entered and records dated on or before this date.")
    spec = FilterSpec(population=population, sexes=tuple(sexes), age_groups=tuple(ages),
                      egfr_categories=tuple(egfr), arms=tuple(arms),
                      data_cut=cut if cut and study_cut and cut < study_cut else None)
    st.session_state["dsmb_spec"] = spec
    st.caption("Active: " + "; ".join(spec.describe()))
st.session_state["dsmb_fingerprint"] = report.fingerprint
signin.filters_changed(spec)


sections = {
    "Overview": [_page("overview.py", "Overview", ":material/dashboard:", default=True)],
    "Enrollment": [_page("enrollment.py", "Enrollment & disposition", ":material/group_add:"),
                   _page("exposure.py", "Exposure", ":material/vaccines:"),
                   _page("baseline.py", "Baseline characteristics", ":material/table_chart:")],
    "Safety": [_page("adverse_events.py", "Adverse events", ":material/warning:"),
               _page("subject_profile.py", "Subject profile", ":material/person:")],
    "Renal": [_page("renal.py", "Renal function", ":material/water_drop:")],
    "Labs": [_page("labs.py", "Lab shifts & liver", ":material/biotech:")],
    "Data quality": [_page("data_quality.py", "Data quality", ":material/rule:")],
    "Administration": [ADMIN_PAGE] if session.demo or session.identity.is_admin else [],
}
navigation = st.navigation({k: v for k, v in sections.items() if v})
st.session_state["dsmb_router"] = True
deep_link = st.session_state.pop("dsmb_deep_link", None)
if deep_link:
    st.switch_page(deep_link)
navigation.run()
