"""The audit trail (dashboard.audit): the SHA-256 chain, each kind of tampering detected, atomic
appends under concurrency, and ``python -m dashboard audit verify`` exit codes."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from dashboard import audit

ROOT = Path(__file__).resolve().parents[1]


def _log(tmp_path, n=4) -> Path:
    path = tmp_path / "audit.jsonl"
    for i in range(n):
        audit.append(path, "page_view", f"user{i}", "dsmb_open", "abc123def456", page=f"page{i}")
    return path


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def test_append_entry_fields_and_hash(tmp_path):
    path = tmp_path / "audit.jsonl"
    first = audit.append(path, "sign_in", "alice", "dsmb_open", None, method="local")
    second = audit.append(path, "download", "alice", "dsmb_open", "abc123def456", table="ae_overview", format="csv")
    assert list(first) == ["seq", "time", "user", "role", "event", "fingerprint", "detail", "prev", "hash"]
    assert first["prev"] == "0" * 64 and second["prev"] == first["hash"]
    assert (first["seq"], second["seq"]) == (1, 2)
    assert second["detail"] == {"table": "ae_overview", "format": "csv"}
    assert second["time"].endswith("Z") and len(second["time"]) == 24
    body = {k: v for k, v in second.items() if k != "hash"}
    expected = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert second["hash"] == expected
    assert [json.loads(line) for line in _lines(path)] == [first, second]


def test_append_refuses_unknown_event(tmp_path):
    with pytest.raises(ValueError, match="audit event 'peek' is not known"):
        audit.append(tmp_path / "a.jsonl", "peek", "alice", None)


def test_verify_intact(tmp_path):
    result = audit.verify(_log(tmp_path))
    assert (result.code, result.entries, result.bad_line) == (0, 4, None)
    assert "intact, 4 entries" in result.message


def test_verify_detects_an_edited_entry(tmp_path):
    path = _log(tmp_path)
    lines = _lines(path)
    lines[1] = lines[1].replace('"user1"', '"user9"')
    path.write_text("".join(lines))
    result = audit.verify(path)
    assert (result.code, result.bad_line) == (1, 2)
    assert "line 2: the hash does not match the entry (it was edited)" in result.message


def test_verify_detects_an_edit_with_a_recomputed_hash(tmp_path):
    path = _log(tmp_path)
    lines = _lines(path)
    entry = json.loads(lines[1])
    entry["user"] = "user9"
    entry["hash"] = audit.entry_hash(entry)
    lines[1] = json.dumps(entry) + "\n"
    path.write_text("".join(lines))
    result = audit.verify(path)
    assert (result.code, result.bad_line) == (1, 3)  # line 3's prev no longer matches
    assert "line 3: its prev does not match the hash of line 2" in result.message


def test_verify_detects_a_deleted_entry(tmp_path):
    path = _log(tmp_path)
    lines = _lines(path)
    del lines[2]
    path.write_text("".join(lines))
    result = audit.verify(path)
    assert (result.code, result.bad_line) == (1, 3)
    assert "removed or reordered" in result.message


def test_verify_detects_deleting_the_first_entry(tmp_path):
    path = _log(tmp_path)
    path.write_text("".join(_lines(path)[1:]))
    result = audit.verify(path)
    assert (result.code, result.bad_line) == (1, 1)
    assert "line 1: the first entry does not start the chain" in result.message


def test_verify_detects_reordered_entries(tmp_path):
    path = _log(tmp_path)
    lines = _lines(path)
    lines[1], lines[2] = lines[2], lines[1]
    path.write_text("".join(lines))
    result = audit.verify(path)
    assert (result.code, result.bad_line) == (1, 2)


def test_verify_detects_truncation_of_whole_entries(tmp_path):
    path = _log(tmp_path)
    path.write_text("".join(_lines(path)[:2]))
    result = audit.verify(path)
    assert (result.code, result.bad_line) == (1, 3)
    assert "the head records 4 entries but the log has 2" in result.message


def test_verify_detects_truncation_mid_line(tmp_path):
    path = _log(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:-40])
    result = audit.verify(path)
    assert (result.code, result.bad_line) == (1, 4)
    assert "line 4 is not a complete audit entry" in result.message


def test_verify_detects_emptied_log(tmp_path):
    path = _log(tmp_path)
    path.write_text("")
    assert audit.verify(path).code == 1


def test_verify_missing_head_is_not_intact(tmp_path):
    path = _log(tmp_path)
    audit.head_path(path).unlink()
    result = audit.verify(path)
    assert result.code == 1 and "head file audit.jsonl.head is missing" in result.message


@pytest.mark.parametrize("content,message", [
    (None, "cannot be read (No such file or directory)"),
    (b"\xff\xfe\x00binary", "not a text file"),
    (b"USUBJID,AVAL\n", "not an audit log (line 1 is not an audit entry)"),
])
def test_verify_unusable_file(tmp_path, content, message):
    path = tmp_path / "audit.jsonl"
    if content is not None:
        path.write_bytes(content)
    result = audit.verify(path)
    assert result.code == 2 and message in result.message


def test_append_after_a_broken_last_line_refuses(tmp_path):
    path = _log(tmp_path, 1)
    with open(path, "a") as fh:
        fh.write('{"seq": 2, "trunc')
    with pytest.raises(audit.AuditError, match="the last line is not an audit entry"):
        audit.append(path, "page_view", "x", None)


def test_concurrent_appends_from_threads_and_processes_keep_the_chain(tmp_path):
    path = tmp_path / "audit.jsonl"
    script = ("import sys; from dashboard import audit\n"
              "for i in range(40): audit.append(sys.argv[1], 'page_view', 'proc', 'dsmb_open', None, i=i)\n")
    procs = [subprocess.Popen([sys.executable, "-c", script, str(path)], cwd=ROOT) for _ in range(2)]

    def worker(n):
        for i in range(40):
            audit.append(path, "download", f"thread{n}", "dsmb_open", None, table="t", i=i)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    result = audit.verify(path)
    assert (result.code, result.entries) == (0, 240), result.message


def test_log_table_filters_newest_first(tmp_path):
    path = _log(tmp_path)
    audit.append(path, "download", "user1", "dsmb_open", None, table="ae_overview", format="csv")
    entries = audit.read_entries(path)
    table = audit.log_table(entries, users=["user1"])
    assert list(table["seq"]) == [5, 2]
    assert list(table["detail"]) == ["table=ae_overview; format=csv", "page=page1"]
    assert list(audit.log_table(entries, events=["download"])["seq"]) == [5]
    assert list(audit.log_table(entries, text="PAGE3")["seq"]) == [4]
    assert audit.users_in(entries) == ["user0", "user1", "user2", "user3"]


# -- the command line ------------------------------------------------------------------------

def test_cli_audit_verify_exit_codes(tmp_path, run_cli):
    path = _log(tmp_path)
    code, out, err = run_cli("audit", "verify", "--audit", path)
    assert code == 0 and "intact, 4 entries" in out
    lines = _lines(path)
    path.write_text(lines[0] + lines[2] + lines[1] + lines[3])
    code, out, err = run_cli("audit", "verify", "--audit", path)
    assert code == 1 and "line 2" in err and "Traceback" not in err
    code, out, err = run_cli("audit", "verify", "--audit", tmp_path / "nope.jsonl")
    assert code == 2 and "nope.jsonl: cannot be read" in err


def test_cli_audit_verify_reads_dsmb_audit(tmp_path, run_cli, monkeypatch):
    monkeypatch.setenv("DSMB_AUDIT", str(_log(tmp_path, 2)))
    assert run_cli("audit", "verify")[0] == 0
    monkeypatch.delenv("DSMB_AUDIT")
    code, out, err = run_cli("audit", "verify")
    assert code == 2 and "give --audit FILE or set DSMB_AUDIT" in err
