"""The audit trail: an append-only JSON Lines file whose entries are chained by SHA-256.

Each line is one event::

    {"seq": 7, "time": "2026-12-01T21:30:00.123Z", "user": "alice", "role": "dsmb_open",
     "event": "download", "fingerprint": "3f9c...", "detail": {"table": "ae_overview", "format": "csv"},
     "prev": "<hash of entry 6>", "hash": "<sha256>"}

``hash`` is SHA-256 of the canonical entry (every field but ``hash``, keys sorted, compact JSON,
UTF-8), which includes ``prev``, the hash of the entry before (64 zeros for the first). Editing,
removing or reordering any entry breaks the chain at that line. A head file beside the log
(``<log>.head``: entry count and last hash) is rewritten with every append, so removing
entries from the end (truncation) is detected too.

Appends are atomic under concurrent sessions and processes: an exclusive ``flock`` on the log,
then one ``write`` on an ``O_APPEND`` descriptor and ``fsync``, then the head is replaced.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

GENESIS = "0" * 64
EVENTS = ("sign_in", "sign_in_failed", "lockout", "sign_out", "page_view", "filter_change", "download",
          "export", "report_build")
FIELDS = ("seq", "time", "user", "role", "event", "fingerprint", "detail", "prev", "hash")
EXIT_INTACT, EXIT_BROKEN, EXIT_UNUSABLE = 0, 1, 2


class AuditError(OSError):
    """The audit log cannot be written (message names the file)."""


def configured_path() -> Path | None:
    """``DSMB_AUDIT``, or None when no audit log is configured."""
    value = os.environ.get("DSMB_AUDIT")
    return Path(value) if value else None


def canonical(entry: dict) -> bytes:
    """The bytes an entry's hash covers: every field but ``hash``, sorted keys, compact JSON."""
    body = {k: v for k, v in entry.items() if k != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def entry_hash(entry: dict) -> str:
    """SHA-256 (hex) of the canonical entry (which carries ``prev``)."""
    return hashlib.sha256(canonical(entry)).hexdigest()


def head_path(path: Path) -> Path:
    return Path(path).with_name(Path(path).name + ".head")


def _tail(fd: int, path: Path) -> tuple[int, str]:
    """``(seq, hash)`` of the last entry of the log open at ``fd``; (0, GENESIS) when empty."""
    size = os.fstat(fd).st_size
    if size == 0:
        return 0, GENESIS
    chunk = 1 << 16
    start = max(0, size - chunk)
    while True:
        data = os.pread(fd, size - start, start)
        lines = data.rstrip(b"\n").split(b"\n")
        if len(lines) > 1 or start == 0:
            break
        start = max(0, start - chunk * 4)
    try:
        last = json.loads(lines[-1])
        return int(last["seq"]), str(last["hash"])
    except (ValueError, KeyError, TypeError):
        raise AuditError(f"{path}: the last line is not an audit entry; run `python -m dashboard audit verify`.") from None


def append(path: Path, event: str, user: str, role: str | None, fingerprint: str | None = None,
           **detail) -> dict:
    """Append one event (see module docstring) and return the entry written."""
    if event not in EVENTS:
        raise ValueError(f"audit event {event!r} is not known; expected one of {', '.join(EVENTS)}.")
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError as exc:
        raise AuditError(f"{path}: the audit log cannot be opened ({exc.strerror or exc}).") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        seq, prev = _tail(fd, path)
        now = dt.datetime.now(dt.timezone.utc)
        entry = {"seq": seq + 1, "time": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
                 "user": str(user), "role": role, "event": event, "fingerprint": fingerprint,
                 "detail": {k: v for k, v in detail.items() if v is not None}, "prev": prev}
        entry["hash"] = entry_hash(entry)
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
        written = os.write(fd, line)
        if written != len(line):
            raise AuditError(f"{path}: short write to the audit log ({written} of {len(line)} bytes).")
        os.fsync(fd)
        _write_head(path, entry["seq"], entry["hash"])
        return entry
    finally:
        os.close(fd)  # closing releases the lock


def _write_head(path: Path, count: int, last_hash: str) -> None:
    head = head_path(path)
    tmp = head.with_name(head.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump({"entries": count, "hash": last_hash}, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, head)


@dataclass(frozen=True)
class Verification:
    """The result of :func:`verify`: exit code, entries checked, first bad line (1-based) and why."""

    code: int
    entries: int
    bad_line: int | None
    message: str

    @property
    def intact(self) -> bool:
        return self.code == EXIT_INTACT


def verify(path: Path) -> Verification:
    """Check the chain and the head: 0 intact, 1 an entry edited/removed/reordered, 2 unusable.

    Checked per line, in order (the first that fails is reported): the line is a JSON object
    with every field; ``seq`` is the line's position; ``prev`` is the previous entry's hash
    (64 zeros on line 1); ``hash`` is the SHA-256 of the canonical entry. Then the head file
    must record the same entry count and last hash.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        return Verification(EXIT_UNUSABLE, 0, None, f"{path}: is a folder, not an audit log.")
    except OSError as exc:
        return Verification(EXIT_UNUSABLE, 0, None, f"{path}: cannot be read ({exc.strerror or exc}).")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Verification(EXIT_UNUSABLE, 0, None, f"{path}: not a text file (byte {exc.start} is not UTF-8).")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        return _check_head(path, 0, GENESIS)
    prev, parsed_any = GENESIS, False
    for number, line in enumerate(lines, start=1):
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if not isinstance(entry, dict) or any(f not in entry for f in FIELDS):
            if not parsed_any and number == len(lines):
                return Verification(EXIT_UNUSABLE, 0, None,
                                    f"{path}: not an audit log (line 1 is not an audit entry).")
            return Verification(EXIT_BROKEN, number - 1, number,
                                f"{path}: line {number} is not a complete audit entry (edited or truncated).")
        parsed_any = True
        if entry["prev"] != prev:
            what = "the first entry does not start the chain" if number == 1 else \
                "its prev does not match the hash of line %d" % (number - 1)
            return Verification(EXIT_BROKEN, number - 1, number,
                                f"{path}: line {number}: {what} (an entry was removed or reordered).")
        if entry_hash(entry) != entry["hash"]:
            return Verification(EXIT_BROKEN, number - 1, number,
                                f"{path}: line {number}: the hash does not match the entry (it was edited).")
        if entry["seq"] != number:
            return Verification(EXIT_BROKEN, number - 1, number,
                                f"{path}: line {number}: seq is {entry['seq']} (entries were removed or reordered).")
        prev = entry["hash"]
    return _check_head(path, len(lines), prev)


def _check_head(path: Path, count: int, last_hash: str) -> Verification:
    head = head_path(path)
    try:
        recorded = json.loads(head.read_text(encoding="utf-8"))
        entries, head_hash = int(recorded["entries"]), str(recorded["hash"])
    except FileNotFoundError:
        if count == 0:
            return Verification(EXIT_INTACT, 0, None, f"{path}: empty, no entries.")
        return Verification(EXIT_BROKEN, count, count + 1,
                            f"{path}: the head file {head.name} is missing, so removal of entries from the end "
                            "cannot be ruled out.")
    except (OSError, ValueError, KeyError, TypeError):
        return Verification(EXIT_BROKEN, count, count + 1, f"{path}: the head file {head.name} is not readable.")
    if entries != count or head_hash != last_hash:
        return Verification(EXIT_BROKEN, count, min(count, entries) + 1,
                            f"{path}: the head records {entries} entries but the log has {count} "
                            "(entries were removed from the end, or the log was replaced).")
    return Verification(EXIT_INTACT, count, None, f"{path}: intact, {count} entries, last hash {last_hash[:12]}.")


def read_entries(path: Path) -> list[dict]:
    """Every parseable entry of the log, in file order (for the admin page; verify separately)."""
    out = []
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if isinstance(entry, dict):
                    out.append(entry)
    except FileNotFoundError:
        return []
    return out


def users_in(entries: list[dict]) -> list[str]:
    """The distinct user names of a list of entries, sorted."""
    return sorted({str(e.get("user")) for e in entries if e.get("user") is not None})


def log_table(entries: list[dict], users=(), events=(), text: str = ""):
    """The admin page's view: newest first, filtered by user, event and a detail substring.

    Returns one row per entry: seq, time, user, role, event, fingerprint, detail (``k=v; ...``), hash.
    """
    import pandas as pd

    rows = [{"seq": e.get("seq"), "time": e.get("time"), "user": e.get("user"), "role": e.get("role"),
             "event": e.get("event"), "fingerprint": e.get("fingerprint"),
             "detail": "; ".join(f"{k}={v}" for k, v in (e.get("detail") or {}).items()), "hash": e.get("hash")}
            for e in reversed(entries)
            if (not users or e.get("user") in users) and (not events or e.get("event") in events)]
    frame = pd.DataFrame(rows, columns=["seq", "time", "user", "role", "event", "fingerprint", "detail", "hash"])
    if text:
        frame = frame[frame["detail"].str.contains(text, case=False, regex=False)]
    return frame.reset_index(drop=True)
