"""Local accounts: a JSON file of argon2id password hashes (argon2-cffi), never plaintext.

The file is ``DSMB_ACCOUNTS`` (or ``--accounts``)::

    {"version": 1, "users": {"alice": {"hash": "$argon2id$...", "roles": ["dsmb_open"],
                                        "disabled": false, "created": "2026-12-01T21:00:00Z"}}}

Writes take an exclusive lock on a ``.lock`` file beside it and replace the file atomically,
so two ``users add`` never lose each other's account. The file is created mode 0600.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
from contextlib import contextmanager
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from dashboard.auth import Identity, parse_role

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD = 12
_HASHER = PasswordHasher()  # argon2id, the library's current recommended parameters
# Verified against when the user name is unknown, so an unknown name costs the same time.
_DUMMY_HASH = _HASHER.hash("not a password of anyone")


class AccountsError(ValueError):
    """The accounts file or a request on it cannot be used (message names the file and the fix)."""


def configured_path() -> Path | None:
    """``DSMB_ACCOUNTS``, or None when local accounts are not configured."""
    value = os.environ.get("DSMB_ACCOUNTS")
    return Path(value) if value else None


def hash_password(password: str) -> str:
    """An argon2id hash (salted, parameters inside the hash string)."""
    return _HASHER.hash(password)


def password_matches(stored_hash: str, password: str) -> bool:
    """Whether ``password`` matches an argon2 hash; False for a malformed hash."""
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_name(name: str) -> str:
    if not NAME.match(name or ""):
        raise AccountsError(f"user name {name!r} is not allowed; expected 1-64 letters, digits or . _ @ - "
                            "(starting with a letter or digit).")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountsError(f"the password has {len(password)} characters; expected at least {MIN_PASSWORD}.")
    return password


def load(path: Path) -> dict:
    """The users of an accounts file (``{name: record}``); an absent file has none."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AccountsError(f"{path}: cannot be read ({exc.strerror or exc}).") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise AccountsError(f"{path}: not an accounts file (invalid JSON: {exc}).") from None
    if not isinstance(data, dict) or not isinstance(data.get("users"), dict):
        raise AccountsError(f'{path}: not an accounts file (expected a JSON object with "users").')
    return data["users"]


@contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _write(path: Path, users: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"version": 1, "users": users}, fh, indent=2, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def add_user(path: Path, name: str, roles: list[str], password: str) -> dict:
    """Add (or re-enable with a new password and roles) a user; returns the stored record."""
    path = Path(path)
    check_name(name)
    roles = sorted({parse_role(r) for r in roles})
    if not roles:
        raise AccountsError("no role given; expected at least one --role.")
    check_password(password)
    with _locked(path):
        users = load(path)
        record = {"hash": hash_password(password), "roles": roles, "disabled": False,
                  "created": users.get(name, {}).get("created") or _now()}
        users[name] = record
        _write(path, users)
    return record


def disable_user(path: Path, name: str) -> None:
    """Disable a user (kept in the file, can no longer sign in)."""
    path = Path(path)
    with _locked(path):
        users = load(path)
        if name not in users:
            raise AccountsError(f"{path}: no user {name!r}.")
        users[name]["disabled"] = True
        users[name]["disabled_at"] = _now()
        _write(path, users)


def list_users(path: Path) -> list[dict]:
    """One row per user: name, roles, disabled, created (never the hash)."""
    return [{"user": n, "roles": ",".join(r.get("roles", [])), "disabled": bool(r.get("disabled")),
             "created": r.get("created", "")} for n, r in sorted(load(Path(path)).items())]


def authenticate(path: Path, name: str, password: str) -> tuple[Identity | None, str]:
    """``(identity, "")`` for a right password of an enabled user, else ``(None, reason)``.

    The reason (``unknown user``, ``wrong password``, ``disabled``) goes to the audit trail only;
    the person signing in is told the same thing in every case.
    """
    users = load(Path(path))
    record = users.get(name)
    if record is None:
        password_matches(_DUMMY_HASH, password)
        return None, "unknown user"
    if not password_matches(record.get("hash", ""), password):
        return None, "wrong password"
    if record.get("disabled"):
        return None, "disabled"
    return Identity(name, tuple(record.get("roles", ())), "local"), ""


def is_enabled(path: Path, name: str) -> bool:
    """Whether ``name`` is still an enabled account (checked on every rerun of a local session)."""
    record = load(Path(path)).get(name)
    return bool(record) and not record.get("disabled")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
