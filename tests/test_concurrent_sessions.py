"""The short version of benchmarks/concurrent_sessions.py: three concurrent signed-in browser
sessions (two blinded roles, one closed-session member) against one server, one round over three
pages each with a download. No errors, no arm label in any blinded session's websocket frames or
page text, and an intact audit chain holding every download. (The 20-session, 60 s run is the
benchmark; its figures go in the issue note.)"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks import concurrent_sessions
from benchmarks.serving import CHROMIUM

pytestmark = pytest.mark.browser


def test_three_concurrent_sessions_mixed_roles(tmp_path):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Debian chromium is not installed (.ci/run installs it)")
        pytest.skip("Debian chromium is not installed: apt-get install chromium")
    summary = concurrent_sessions.run(sessions=3, seconds=0, workdir=tmp_path, timeout_s=120,
                                      pages=("Overview", "Adverse events", "Data quality"),
                                      roles=("dsmb_open", "dsmb_unblinded", "investigator"), warm=False)
    report = "\n".join(summary.lines()) + "\n--- server log ---\n" + (tmp_path / "streamlit.log").read_text()[-2000:]
    assert summary.errors == [], report
    assert summary.arm_leaks == [], report
    assert (summary.blinded_sessions, summary.page_views, summary.downloads) == (2, 9, 3), report
    assert summary.audit.code == 0 and summary.audit_downloads == 3, report
