"""Passwords, lockout, idle timeout, role mapping and the auth configuration (dashboard.auth,
dashboard.accounts), with literal inputs and an injected clock."""

from __future__ import annotations

import pytest

from dashboard import accounts, auth
from dashboard.blinding import Role

PASSWORD = "correct horse battery"


# -- hashing ----------------------------------------------------------------------------------

def test_hash_password_is_salted_argon2id_never_plaintext():
    first, second = accounts.hash_password(PASSWORD), accounts.hash_password(PASSWORD)
    assert first.startswith("$argon2id$") and second.startswith("$argon2id$")
    assert first != second  # a fresh salt each time
    assert PASSWORD not in first


@pytest.mark.parametrize("password,expected", [(PASSWORD, True), ("correct horse batterY", False), ("", False)])
def test_password_matches(password, expected):
    stored = accounts.hash_password(PASSWORD)
    assert accounts.password_matches(stored, password) is expected


def test_password_matches_malformed_hash_is_false():
    assert accounts.password_matches("plaintext-in-the-file", PASSWORD) is False


def test_accounts_file_holds_hashes_only(tmp_path):
    path = tmp_path / "accounts.json"
    accounts.add_user(path, "alice", ["dsmb_open", "admin"], PASSWORD)
    text = path.read_text()
    assert PASSWORD not in text and "$argon2id$" in text
    assert (path.stat().st_mode & 0o777) == 0o600
    assert accounts.list_users(path) == [
        {"user": "alice", "roles": "admin,dsmb_open", "disabled": False, "created": accounts.load(path)["alice"]["created"]}]


@pytest.mark.parametrize("name,password,reason", [
    ("alice", PASSWORD, ""),
    ("alice", "wrong password!!", "wrong password"),
    ("mallory", PASSWORD, "unknown user"),
])
def test_authenticate(tmp_path, name, password, reason):
    path = tmp_path / "accounts.json"
    accounts.add_user(path, "alice", ["investigator"], PASSWORD)
    identity, why = accounts.authenticate(path, name, password)
    assert why == reason
    assert identity == (auth.Identity("alice", ("investigator",), "local") if not reason else None)


def test_disabled_user_cannot_sign_in(tmp_path):
    path = tmp_path / "accounts.json"
    accounts.add_user(path, "alice", ["investigator"], PASSWORD)
    accounts.disable_user(path, "alice")
    assert accounts.authenticate(path, "alice", PASSWORD) == (None, "disabled")
    assert accounts.is_enabled(path, "alice") is False


@pytest.mark.parametrize("name,roles,password,message", [
    ("al ice", ["investigator"], PASSWORD, "user name 'al ice' is not allowed"),
    ("alice", ["statistician"], PASSWORD, "role 'statistician' is not known"),
    ("alice", ["investigator"], "short", "the password has 5 characters; expected at least 12"),
])
def test_add_user_refuses_bad_input(tmp_path, name, roles, password, message):
    with pytest.raises(ValueError, match=message):
        accounts.add_user(tmp_path / "accounts.json", name, roles, password)
    assert not (tmp_path / "accounts.json").exists()


def test_load_accounts_not_json_names_the_file(tmp_path):
    path = tmp_path / "accounts.json"
    path.write_text("alice:secret\n")
    with pytest.raises(accounts.AccountsError, match=r"accounts.json: not an accounts file \(invalid JSON"):
        accounts.load(path)


# -- lockout ----------------------------------------------------------------------------------

class Clock:
    def __init__(self, t: float = 1000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_lockout_after_five_failures_for_fifteen_minutes():
    clock = Clock()
    lock = auth.Lockout(5, 15 * 60, clock)
    assert [lock.failure("alice") for _ in range(5)] == [False, False, False, False, True]
    assert lock.locked_until("alice") == 1000.0 + 900
    assert lock.locked_until("ALICE ") == 1900.0  # the same name, however typed
    clock.t = 1899.0
    assert lock.locked_until("alice") == 1900.0
    clock.t = 1900.0
    assert lock.locked_until("alice") is None
    assert lock.failure("alice") is False  # the count started again


def test_lockout_four_failures_then_success_clears_the_count():
    lock = auth.Lockout(5, 900, Clock())
    for _ in range(4):
        lock.failure("bob")
    lock.success("bob")
    assert [lock.failure("bob") for _ in range(4)] == [False] * 4
    assert lock.locked_until("bob") is None


def test_lockout_is_per_name():
    lock = auth.Lockout(5, 900, Clock())
    for _ in range(5):
        lock.failure("alice")
    assert lock.locked_until("alice") == 1900.0
    assert lock.locked_until("bob") is None


# -- idle timeout -----------------------------------------------------------------------------

@pytest.mark.parametrize("last,now,expected", [
    (None, 5000.0, False),          # a session that has not started
    (1000.0, 1000.0 + 1799, False),  # 29:59 idle
    (1000.0, 1000.0 + 1800, True),   # 30:00 idle
    (1000.0, 1000.0 + 7200, True),
])
def test_idle_expired_thirty_minutes(last, now, expected):
    assert auth.idle_expired(last, now, 30 * 60) is expected


# -- role mapping -----------------------------------------------------------------------------

MAP = {"trial-dsmb-closed": ("dsmb_unblinded",), "trial-dsmb-open": ("dsmb_open",),
       "trial-admins": ("admin", "data_manager")}


@pytest.mark.parametrize("claim,role_map,expected", [
    # mapped groups
    (["trial-dsmb-closed"], MAP, ("dsmb_unblinded",)),
    (["trial-dsmb-open", "staff"], MAP, ("dsmb_open",)),
    (["trial-admins"], MAP, ("data_manager", "admin")),
    ("trial-dsmb-open, trial-admins", MAP, ("dsmb_open", "data_manager", "admin")),
    # with a map, a bare role name is not enough (default-deny)
    (["dsmb_unblinded"], MAP, ()),
    # without a map, role names count as themselves
    (["dsmb_unblinded", "everyone"], {}, ("dsmb_unblinded",)),
    ("investigator", {}, ("investigator",)),
    # no claim
    (None, MAP, ()),
    ([], {}, ()),
])
def test_map_claim_roles(claim, role_map, expected):
    assert auth.map_claim_roles(claim, role_map) == expected


@pytest.mark.parametrize("role,expected", [
    ("dsmb_unblinded", Role.UNBLINDED), ("dsmb_open", Role.BLINDED), ("investigator", Role.BLINDED),
    ("data_manager", Role.BLINDED), ("admin", None)])
def test_data_access(role, expected):
    assert auth.data_access(role) is expected


def test_identity_data_roles_blinded_first():
    identity = auth.Identity("x", ("dsmb_unblinded", "admin", "dsmb_open"))
    assert identity.data_roles == ("dsmb_open", "dsmb_unblinded") and identity.is_admin


def test_load_config(tmp_path):
    path = tmp_path / "auth.toml"
    path.write_text('[oidc]\nrole_claim = "roles"\n[oidc.role_map]\n"closed" = "dsmb_unblinded"\n'
                    '"ops" = ["admin", "data_manager"]\n[session]\nidle_timeout_minutes = 10\n'
                    '[lockout]\nmax_failures = 3\nminutes = 5\n')
    config = auth.load_config(path)
    assert config == auth.AuthConfig("roles", {"closed": ("dsmb_unblinded",), "ops": ("admin", "data_manager")},
                                     600, 3, 300)
    assert config.roles_from_claims({"roles": ["ops"], "groups": ["closed"]}) == ("data_manager", "admin")


def test_load_config_defaults_without_a_file(monkeypatch):
    monkeypatch.delenv("DSMB_AUTH_CONFIG", raising=False)
    assert auth.load_config() == auth.AuthConfig("groups", {}, 1800, 5, 900)


@pytest.mark.parametrize("text,message", [
    ('[oidc.role_map]\n"x" = "superuser"\n', r"\[oidc.role_map\] 'x': role 'superuser' is not known"),
    ("[session]\nidle_timeout_minutes = 0\n", r"\[session\] idle_timeout_minutes = 0; expected a positive number"),
    ("[session\n", "not valid TOML"),
])
def test_load_config_errors_name_file_and_key(tmp_path, text, message):
    path = tmp_path / "auth.toml"
    path.write_text(text)
    with pytest.raises(auth.AuthConfigError, match=message):
        auth.load_config(path)


# -- the command line: users add / list / disable ---------------------------------------------

def test_cli_users_add_list_disable(tmp_path, run_cli, monkeypatch):
    import io

    path = tmp_path / "accounts.json"
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    code, out, err = run_cli("users", "add", "alice", "--role", "dsmb_open", "--role", "admin", "--accounts", path)
    assert (code, out, err) == (0, f"added alice (admin, dsmb_open) to {path}\n", "")
    assert accounts.authenticate(path, "alice", PASSWORD)[0] == auth.Identity("alice", ("admin", "dsmb_open"))
    monkeypatch.setenv("DSMB_ACCOUNTS", str(path))
    code, out, err = run_cli("users", "list")
    assert code == 0 and out.splitlines()[1].split()[:3] == ["alice", "admin,dsmb_open", "enabled"]
    assert run_cli("users", "disable", "alice")[0] == 0
    assert run_cli("users", "list")[1].splitlines()[1].split()[:3] == ["alice", "admin,dsmb_open", "disabled"]


@pytest.mark.parametrize("args,stdin,message", [
    (["users", "add", "bob", "--role", "statistician"], PASSWORD, "invalid choice: 'statistician'"),
    (["users", "add", "bob", "--role", "investigator"], "", "no password on standard input"),
    (["users", "add", "bob", "--role", "investigator"], "short\n", "expected at least 12"),
    (["users", "disable", "carl"], "", "no user 'carl'"),
])
def test_cli_users_errors_exit_2(tmp_path, run_cli, monkeypatch, args, stdin, message):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code, out, err = run_cli(*args, "--accounts", tmp_path / "accounts.json")
    assert code == 2 and message in err and "Traceback" not in err


def test_cli_users_without_accounts_file_exit_2(run_cli, monkeypatch):
    monkeypatch.delenv("DSMB_ACCOUNTS", raising=False)
    code, out, err = run_cli("users", "list")
    assert code == 2 and "give --accounts FILE or set DSMB_ACCOUNTS" in err
