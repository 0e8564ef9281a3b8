"""Users of the app store: argon2id password hashes, one role each, and the ``iocohort users`` CLI.

Roles (see DESIGN.md "Who uses it"): ``clinician``, ``partner``, ``advisory``, ``admin``.
Passwords are hashed with argon2id (argon2-cffi's RFC 9106 defaults); plaintext is never
stored or logged. Resetting a password or removing a user ends that user's sessions.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sqlite3
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from access import store
from queries.i18n import N_

ROLES = ("clinician", "partner", "advisory", "admin")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # hashing cost grows with length; longer input is refused unhashed
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
_HASHER = PasswordHasher()  # argon2id, t=3, m=64 MiB, p=4
# Verified against when the username is unknown, so a wrong name costs as long as a
# wrong password and response time does not reveal which usernames exist.
_DUMMY_HASH = _HASHER.hash("not-a-password-of-anyone")

# Documented demo accounts (README), created only by access.auth.seed_demo_users in demo
# mode bound to localhost; check_production_settings refuses to start while they exist.
DEMO_USERS: dict[str, tuple[str, str]] = {
    "clinician": ("clinician", "clinician-demo"),
    "partner": ("partner", "partner-demo"),
    "advisory": ("advisory", "advisory-demo"),
    "admin": ("admin", "admin-demo"),
}


class UserError(ValueError):
    """A user operation that cannot be done; the message is safe to show.

    ``template`` is the English message id (``{name}`` placeholders filled from ``values``),
    so the app can show it translated: ``_(err.template, **err.values)``.
    """

    def __init__(self, template: str, **values: object) -> None:
        super().__init__(template.format(**values) if values else template)
        self.template = template
        self.values = values


# Disabled accounts: kept (their audit trail names them) but unable to sign in; disabling
# ends their sessions. A table of its own, so existing stores need no ALTER.
store.register_schema(
    "users-disabled",
    """CREATE TABLE IF NOT EXISTS disabled_users (
        user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
        disabled_at TEXT NOT NULL
    )""",
)


@dataclass(frozen=True)
class UserRecord:
    """A user as stored, without the password hash."""

    id: int
    username: str
    role: str
    is_demo: bool
    created_at: str
    disabled: bool = False


# Users with their disabled mark (a user is disabled when listed in disabled_users).
_SELECT = ("SELECT users.*, disabled_users.user_id IS NOT NULL AS disabled FROM users "
           "LEFT JOIN disabled_users ON disabled_users.user_id = users.id")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def normalize_username(username: str) -> str:
    """Lower-cased, stripped username; raises UserError when it has other characters."""
    name = (username or "").strip().lower()
    if not _USERNAME.match(name):
        raise UserError(
            N_("username must be 2-64 characters: letters, digits, '.', '_', '@' or '-'")
        )
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(N_("unknown role {role}; choose one of {roles}"), role=repr(role),
                        roles=", ".join(ROLES))
    return role


def check_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise UserError(N_("password must have at least {n} characters"),
                        n=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(N_("password must have at most {n} characters"), n=MAX_PASSWORD_LENGTH)
    return password


def hash_password(password: str) -> str:
    """An argon2id PHC string (``$argon2id$v=19$...``) for the password."""
    return _HASHER.hash(password)


def _record(row: sqlite3.Row) -> UserRecord:
    return UserRecord(
        id=row["id"],
        username=row["username"],
        role=row["role"],
        is_demo=bool(row["is_demo"]),
        created_at=row["created_at"],
        disabled=bool(row["disabled"]) if "disabled" in row.keys() else False,
    )


def add_user(
    store_path: str | Path, username: str, role: str, password: str, *, demo: bool = False
) -> UserRecord:
    """Create a user; raises UserError for a taken name, unknown role or short password."""
    name = normalize_username(username)
    check_role(role)
    check_password(password)
    digest = hash_password(password)
    now = _now()
    with store.transaction(store_path) as con:
        if con.execute("SELECT 1 FROM users WHERE username = ?", [name]).fetchone():
            raise UserError(N_("user {name} already exists"), name=repr(name))
        con.execute(
            "INSERT INTO users (username, password_hash, role, is_demo, created_at, "
            "password_changed_at) VALUES (?, ?, ?, ?, ?, ?)",
            [name, digest, role, int(demo), now, now],
        )
    return _require(store_path, name)


def get_user(store_path: str | Path, username: str) -> UserRecord | None:
    """The user with this name, or None."""
    try:
        name = normalize_username(username)
    except UserError:
        return None
    with store.transaction(store_path) as con:
        row = con.execute(f"{_SELECT} WHERE username = ?", [name]).fetchone()
    return _record(row) if row else None


def _require(store_path: str | Path, username: str) -> UserRecord:
    user = get_user(store_path, username)
    if user is None:
        raise UserError(N_("no user {name}"), name=repr(username))
    return user


def list_users(store_path: str | Path) -> list[UserRecord]:
    """Every user, by username."""
    with store.transaction(store_path) as con:
        rows = con.execute(f"{_SELECT} ORDER BY username").fetchall()
    return [_record(r) for r in rows]


def set_disabled(store_path: str | Path, username: str, disabled: bool) -> UserRecord:
    """Disable (no sign-in; every session ended at once) or enable a user again."""
    user = _require(store_path, username)
    with store.transaction(store_path) as con:
        if disabled:
            con.execute("INSERT OR IGNORE INTO disabled_users (user_id, disabled_at) "
                        "VALUES (?, ?)", [user.id, _now()])
            con.execute("DELETE FROM sessions WHERE user_id = ?", [user.id])
        else:
            con.execute("DELETE FROM disabled_users WHERE user_id = ?", [user.id])
    return _require(store_path, user.username)


def remove_user(store_path: str | Path, username: str) -> None:
    """Delete a user; their sessions go with them (foreign key cascade)."""
    user = _require(store_path, username)
    with store.transaction(store_path) as con:
        con.execute("DELETE FROM users WHERE id = ?", [user.id])


def set_role(store_path: str | Path, username: str, role: str) -> UserRecord:
    """Change a user's role; it applies from their next request (roles are read per request)."""
    user = _require(store_path, username)
    check_role(role)
    with store.transaction(store_path) as con:
        con.execute("UPDATE users SET role = ? WHERE id = ?", [role, user.id])
    return _require(store_path, user.username)


def reset_password(store_path: str | Path, username: str, password: str) -> None:
    """Set a new password, clear the demo mark and end every session of the user."""
    user = _require(store_path, username)
    check_password(password)
    digest = hash_password(password)
    with store.transaction(store_path) as con:
        con.execute(
            "UPDATE users SET password_hash = ?, is_demo = 0, password_changed_at = ? "
            "WHERE id = ?",
            [digest, _now(), user.id],
        )
        con.execute("DELETE FROM sessions WHERE user_id = ?", [user.id])


def _matches(digest: str, password: str) -> bool:
    try:
        return _HASHER.verify(digest, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def verify_password(store_path: str | Path, username: str, password: str) -> UserRecord | None:
    """The user if the password is right, else None; costs the same for unknown users.

    A hash made with older argon2 parameters is upgraded on a successful check.
    """
    try:
        name = normalize_username(username)
    except UserError:
        name = None
    if len(password or "") > MAX_PASSWORD_LENGTH:
        password = ""  # still costs one hash below, never matches a stored one
        name = None
    with store.transaction(store_path) as con:
        row = con.execute(f"{_SELECT} WHERE username = ?", [name]).fetchone()
    if row is None:
        _matches(_DUMMY_HASH, password or "")
        return None
    if not _matches(row["password_hash"], password or "") or row["disabled"]:
        return None
    if _HASHER.check_needs_rehash(row["password_hash"]):
        with store.transaction(store_path) as con:
            con.execute(
                "UPDATE users SET password_hash = ? WHERE id = ?",
                [hash_password(password), row["id"]],
            )
    return _record(row)


def demo_users_present(store_path: str | Path) -> list[str]:
    """Usernames that are demo accounts: marked as demo, or still using a demo password."""
    found = []
    with store.transaction(store_path) as con:
        rows = con.execute("SELECT username, password_hash, is_demo FROM users").fetchall()
    for row in rows:
        demo = DEMO_USERS.get(row["username"])
        if row["is_demo"] or (demo and _matches(row["password_hash"], demo[1])):
            found.append(row["username"])
    return found


# --- command line -------------------------------------------------------------------------


def _password(args: argparse.Namespace) -> str:
    if getattr(args, "password", None):
        return args.password
    first = getpass.getpass("password: ")
    if first != getpass.getpass("repeat password: "):
        raise UserError("passwords do not match")
    return first


def _cli_list(path: Path) -> None:
    users = list_users(path)
    if not users:
        print("no users")
        return
    print(f"{'username':<24} {'role':<10} {'created':<26} demo")
    for u in users:
        print(f"{u.username:<24} {u.role:<10} {u.created_at:<26} {'yes' if u.is_demo else ''}")


def cli_users(args: argparse.Namespace) -> int:
    """``iocohort users add|remove|set-role|reset-password|list`` (see cli.py for arguments)."""
    path = store.store_path_for_cli(args)
    command = args.users_command
    try:
        if command == "add":
            user = add_user(path, args.username, args.role, _password(args))
            print(f"added {user.username} ({user.role})")
        elif command == "remove":
            remove_user(path, args.username)
            print(f"removed {normalize_username(args.username)}")
        elif command == "set-role":
            user = set_role(path, args.username, args.role)
            print(f"{user.username} is now {user.role}")
        elif command == "reset-password":
            reset_password(path, args.username, _password(args))
            print(f"password of {normalize_username(args.username)} reset; sessions ended")
        elif command == "list":
            _cli_list(path)
        else:
            raise UserError(f"unknown users command {command!r}")
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0
