"""Who may sign in and what they see: product roles, role mapping, lockout and idle timeout.

Pure logic (no streamlit): the sign-in gate in ``pages/_signin.py`` calls it, and the tests
drive it with an injected clock.

Product roles (docs/definitions.md "Access roles"; deployment in the README):

- ``dsmb_unblinded``: the closed session of the board; data by arm.
- ``dsmb_open`` and ``investigator``: blinded; the connection holds no treatment data at all.
- ``data_manager``: blinded, plus data-quality detail with source file/row references.
- ``admin``: users and the audit trail; no trial data unless also given a data role.

Configuration file ``DSMB_AUTH_CONFIG`` (TOML, every key optional)::

    [oidc]
    role_claim = "groups"                 # the ID-token claim that carries the user's groups
    [oidc.role_map]                       # claim value -> product role; unmapped values give no role
    "trial-dsmb-closed" = "dsmb_unblinded"
    [session]
    idle_timeout_minutes = 30
    [lockout]
    max_failures = 5
    minutes = 15
"""

from __future__ import annotations

import os
import threading
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from dashboard.blinding import Role

ROLES = {
    "dsmb_unblinded": "DSMB closed session (unblinded, by arm)",
    "dsmb_open": "DSMB open session (blinded)",
    "investigator": "Investigator (blinded)",
    "data_manager": "Data manager (blinded, data-quality detail)",
    "admin": "Administrator (users and audit trail)",
}
#: Data roles in the order a multi-role user is offered them: blinded first (default-deny).
DATA_ROLES = ("dsmb_open", "investigator", "data_manager", "dsmb_unblinded")
#: Tables that carry source file and row references: shown to data managers only.
SOURCE_REF_TABLES = frozenset({"validation_findings"})
DEMO_USER = "demo"


class AuthConfigError(ValueError):
    """The auth configuration file or an account's roles cannot be used (message says why)."""


def parse_role(value: str) -> str:
    """A product role name, checked."""
    name = str(value).strip().lower()
    if name not in ROLES:
        raise AuthConfigError(f"role {value!r} is not known; expected one of {', '.join(ROLES)}.")
    return name


def data_access(role: str) -> Role | None:
    """The loader role a product role reads: unblinded only for the closed session; None for admin."""
    role = parse_role(role)
    if role == "admin":
        return None
    return Role.UNBLINDED if role == "dsmb_unblinded" else Role.BLINDED


@dataclass(frozen=True)
class Identity:
    """A signed-in user: name, product roles, how they signed in (local, oidc or demo)."""

    user: str
    roles: tuple[str, ...]
    method: str = "local"

    @property
    def data_roles(self) -> tuple[str, ...]:
        """The user's data roles, blinded ones first."""
        return tuple(r for r in DATA_ROLES if r in self.roles)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


def sees_source_refs(session_role: str | None) -> bool:
    """Whether a session in this product role sees source file/row references (data manager; demo)."""
    return session_role in ("data_manager", None)


def sees_record_refs(roles) -> bool:
    """Whether a user with these roles sees the source file/row of the records behind an attention
    item: a data manager, whichever data view (data-manager or unblinded) is active."""
    return "data_manager" in set(roles)


@dataclass(frozen=True)
class AuthConfig:
    role_claim: str = "groups"
    role_map: dict = field(default_factory=dict)
    idle_timeout_s: float = 30 * 60
    max_failures: int = 5
    lockout_s: float = 15 * 60

    def roles_from_claims(self, claims: dict) -> tuple[str, ...]:
        """Product roles from an ID token's claims (see :func:`map_claim_roles`)."""
        return map_claim_roles(claims.get(self.role_claim), self.role_map)


def map_claim_roles(value, role_map: dict) -> tuple[str, ...]:
    """Product roles for a role-claim value (a list, or one string of comma/space-separated groups).

    With a ``role_map`` only mapped values count; without one a value counts when it is a
    role name itself. Anything else is ignored (default-deny). Returns roles in ``ROLES`` order.
    """
    if value is None:
        return ()
    values = value if isinstance(value, (list, tuple)) else str(value).replace(",", " ").split()
    found = set()
    for v in values:
        v = str(v).strip()
        if role_map:
            mapped = role_map.get(v)
            if mapped:
                found.update([mapped] if isinstance(mapped, str) else mapped)
        elif v.lower() in ROLES:
            found.add(v.lower())
    return tuple(r for r in ROLES if r in found)


def load_config(path: Path | str | None = None) -> AuthConfig:
    """The auth configuration from ``path`` (default ``DSMB_AUTH_CONFIG``); defaults when unset."""
    path = path or os.environ.get("DSMB_AUTH_CONFIG")
    if not path:
        return AuthConfig()
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AuthConfigError(f"{path}: cannot be read ({exc.strerror or exc}).") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise AuthConfigError(f"{path}: not valid TOML ({exc}).") from None
    oidc, session, lockout = data.get("oidc", {}), data.get("session", {}), data.get("lockout", {})
    role_map = {}
    for claim_value, roles in (oidc.get("role_map") or {}).items():
        roles = [roles] if isinstance(roles, str) else list(roles)
        try:
            role_map[str(claim_value)] = tuple(parse_role(r) for r in roles)
        except AuthConfigError as exc:
            raise AuthConfigError(f"{path}: [oidc.role_map] {claim_value!r}: {exc}") from None

    def number(section: dict, key: str, default: float, name: str) -> float:
        value = section.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise AuthConfigError(f"{path}: {name} = {value!r}; expected a positive number.")
        return value

    return AuthConfig(
        role_claim=str(oidc.get("role_claim", "groups")),
        role_map=role_map,
        idle_timeout_s=60 * number(session, "idle_timeout_minutes", 30, "[session] idle_timeout_minutes"),
        max_failures=int(number(lockout, "max_failures", 5, "[lockout] max_failures")),
        lockout_s=60 * number(lockout, "minutes", 15, "[lockout] minutes"),
    )


def idle_expired(last_activity: float | None, now: float, timeout_s: float) -> bool:
    """Whether a session idle since ``last_activity`` (epoch seconds) has timed out at ``now``."""
    return last_activity is not None and now - last_activity >= timeout_s


class Lockout:
    """Failed sign-ins per user name: ``max_failures`` in a row lock the name for ``lockout_s``.

    Shared by every session of one server (thread-safe). Unknown names are counted too, so a
    lockout message reveals nothing about which accounts exist.
    """

    def __init__(self, max_failures: int = 5, lockout_s: float = 15 * 60, clock=time.time):
        self.max_failures, self.lockout_s, self.clock = max_failures, lockout_s, clock
        self._failures: dict[str, int] = {}
        self._locked_until: dict[str, float] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(user: str) -> str:
        return str(user).strip().lower()

    def locked_until(self, user: str) -> float | None:
        """Epoch seconds the name stays locked until, or None when it may try."""
        key = self._key(user)
        with self._lock:
            until = self._locked_until.get(key)
            if until is None:
                return None
            if self.clock() >= until:
                del self._locked_until[key]
                self._failures.pop(key, None)
                return None
            return until

    def failure(self, user: str) -> bool:
        """Record a failed sign-in; True when this failure locked the name."""
        key = self._key(user)
        with self._lock:
            count = self._failures.get(key, 0) + 1
            self._failures[key] = count
            if count >= self.max_failures:
                self._locked_until[key] = self.clock() + self.lockout_s
                return True
            return False

    def success(self, user: str) -> None:
        """A successful sign-in clears the count."""
        key = self._key(user)
        with self._lock:
            self._failures.pop(key, None)
            self._locked_until.pop(key, None)
