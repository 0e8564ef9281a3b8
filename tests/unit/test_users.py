"""Users in the app store: argon2id hashes, roles, the ``iocohort users`` commands."""

from __future__ import annotations

import sqlite3

import pytest
from argon2 import PasswordHasher

from access import auth, users
from cli import main as cli_main

PASSWORD = "correct horse battery"


pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def store(tmp_path):
    return tmp_path / "app.sqlite"


def test_production_hasher_uses_argon2id_with_rfc_9106_parameters():
    digest = PasswordHasher().hash(PASSWORD)  # what users._HASHER is outside these tests
    assert digest.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert users.PasswordHasher is PasswordHasher


def test_hashes_made_with_weaker_parameters_are_upgraded_on_sign_in(store, monkeypatch):
    users.add_user(store, "alice", "clinician", PASSWORD)
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    monkeypatch.setattr(users, "_HASHER", stronger)
    assert users.verify_password(store, "alice", PASSWORD) is not None
    [(_, digest, _)] = _raw_rows(store)
    assert "m=2048,t=2" in digest


def _raw_rows(store):
    con = sqlite3.connect(store)
    try:
        return con.execute("SELECT username, password_hash, role FROM users").fetchall()
    finally:
        con.close()


def test_password_is_stored_as_an_argon2id_hash_never_in_plaintext(store):
    users.add_user(store, "Alice", "clinician", PASSWORD)
    [(name, digest, role)] = _raw_rows(store)
    assert (name, role) == ("alice", "clinician")
    assert digest.startswith("$argon2id$")
    assert PASSWORD not in digest
    assert PASSWORD.encode() not in store.read_bytes()
    assert store.stat().st_mode & 0o077 == 0  # readable by the app's user only


def test_verify_accepts_the_right_password_only(store):
    users.add_user(store, "alice", "partner", PASSWORD)
    assert users.verify_password(store, "ALICE", PASSWORD).role == "partner"
    assert users.verify_password(store, "alice", PASSWORD + "x") is None
    assert users.verify_password(store, "nobody", PASSWORD) is None
    assert users.verify_password(store, "", "") is None
    assert users.verify_password(store, "alice", PASSWORD + "x" * 5000) is None


def test_invalid_usernames_roles_passwords_and_duplicates_are_refused(store):
    users.add_user(store, "alice", "partner", PASSWORD)
    for args in (("alice", "partner", PASSWORD), ("bob", "superuser", PASSWORD),
                 ("bob", "partner", "short"), ("b o b", "partner", PASSWORD),
                 ("x", "partner", PASSWORD)):
        with pytest.raises(users.UserError):
            users.add_user(store, *args)
    assert [u.username for u in users.list_users(store)] == ["alice"]


def test_set_role_remove_and_list(store):
    users.add_user(store, "alice", "partner", PASSWORD)
    users.add_user(store, "bob", "advisory", PASSWORD)
    assert users.set_role(store, "alice", "clinician").role == "clinician"
    users.remove_user(store, "bob")
    assert [(u.username, u.role) for u in users.list_users(store)] == [("alice", "clinician")]
    with pytest.raises(users.UserError):
        users.remove_user(store, "bob")
    with pytest.raises(users.UserError):
        users.set_role(store, "alice", "root")


def test_reset_password_and_removal_end_the_users_sessions(store):
    alice = users.add_user(store, "alice", "clinician", PASSWORD)
    token = auth.create_session(store, alice.id)
    assert auth.load_session(store, token).username == "alice"
    users.reset_password(store, "alice", "another long password")
    assert auth.load_session(store, token) is None
    assert users.verify_password(store, "alice", PASSWORD) is None
    token = auth.create_session(store, alice.id)
    users.remove_user(store, "alice")
    assert auth.load_session(store, token) is None


def test_demo_users_are_found_by_mark_and_by_demo_password(store):
    users.add_user(store, "clinician", "clinician", "clinician-demo", demo=True)
    users.add_user(store, "partner", "partner", "partner-demo")  # unmarked, demo password
    users.add_user(store, "admin", "admin", "a real admin password")
    assert users.demo_users_present(store) == ["clinician", "partner"]
    users.reset_password(store, "clinician", "not the demo password")
    assert users.demo_users_present(store) == ["partner"]


def test_cli_users_commands(store, capsys, monkeypatch):
    base = ["users", "--store", str(store)]
    assert cli_main([*base, "add", "alice", "--role", "partner", "--password", PASSWORD]) == 0
    prompts = iter([PASSWORD, PASSWORD])
    monkeypatch.setattr(users.getpass, "getpass", lambda prompt="": next(prompts))
    assert cli_main([*base, "add", "bob", "--role", "advisory"]) == 0
    assert cli_main([*base, "set-role", "alice", "clinician"]) == 0
    assert cli_main([*base, "reset-password", "bob", "--password", "new long password"]) == 0
    assert cli_main([*base, "list"]) == 0
    out = capsys.readouterr().out
    assert "alice" in out and "clinician" in out and PASSWORD not in out
    assert users.verify_password(store, "bob", "new long password").role == "advisory"
    assert cli_main([*base, "add", "carol", "--role", "nurse", "--password", PASSWORD]) == 1
    assert "unknown role" in capsys.readouterr().err
    assert cli_main([*base, "remove", "alice"]) == 0
    assert [u.username for u in users.list_users(store)] == ["bob"]


def test_cli_prompt_refuses_mismatched_passwords(store, monkeypatch, capsys):
    prompts = iter([PASSWORD, PASSWORD + "!"])
    monkeypatch.setattr(users.getpass, "getpass", lambda prompt="": next(prompts))
    assert cli_main(["users", "--store", str(store), "add", "bob", "--role", "partner"]) == 1
    assert "do not match" in capsys.readouterr().err


def test_cli_store_defaults_to_the_environment(tmp_path, monkeypatch):
    store = tmp_path / "env.sqlite"
    monkeypatch.setenv("IOCOHORT_STORE", str(store))
    assert cli_main(["users", "add", "dana", "--role", "admin", "--password", PASSWORD]) == 0
    assert users.get_user(store, "dana").role == "admin"


def test_a_disabled_user_cannot_sign_in_and_loses_their_sessions_until_enabled(store):
    user = users.add_user(store, "dora", "partner", PASSWORD)
    token = auth.create_session(store, user.id)
    assert users.set_disabled(store, "dora", True).disabled
    assert users.verify_password(store, "dora", PASSWORD) is None
    assert auth.load_session(store, token) is None
    assert [u.disabled for u in users.list_users(store)] == [True]
    assert not users.set_disabled(store, "dora", False).disabled
    assert users.verify_password(store, "dora", PASSWORD) is not None


def test_user_errors_carry_a_translatable_template():
    with pytest.raises(users.UserError) as err:
        users.check_password("short")
    assert err.value.template == "password must have at least {n} characters"
    assert str(err.value) == "password must have at least 10 characters"
