"""The app store: one SQLite file for users, sessions, sign-in attempts and the audit log.

It is the only mutable state of the app (snapshots are read-only) and is shared by every
server process, so throttling and sign-out hold across workers.

Other modules add their own tables by registering idempotent DDL at import time::

    from access import store

    store.register_schema(
        "cohorts",
        "CREATE TABLE IF NOT EXISTS saved_cohorts (id INTEGER PRIMARY KEY, ...)",
        "CREATE INDEX IF NOT EXISTS saved_cohorts_owner ON saved_cohorts (owner)",
    )

and then use ``connect(path)`` (or the ``transaction(path)`` context manager), which runs
every registered statement once per process and path. Statements must be idempotent
(``IF NOT EXISTS``); a changed table is a new table or an ``ALTER`` guarded by the caller.
"""

from __future__ import annotations

import argparse
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import current_app, has_app_context

from config import settings_from_env

# owner -> statements, in registration order; the core tables come first.
_SCHEMAS: dict[str, tuple[str, ...]] = {}
_MIGRATED: set[str] = set()
_LOCK = threading.Lock()

CORE_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS users (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        username TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('clinician', 'partner', 'advisory', 'admin')),
        is_demo INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        password_changed_at TEXT NOT NULL
    )""",
    # token_hash is a SHA-256 of the session id held in the signed cookie, so a copy of
    # the store does not hand out live sessions.
    """CREATE TABLE IF NOT EXISTS sessions (
        token_hash TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at REAL NOT NULL,
        last_seen REAL NOT NULL,
        expires_at REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id)",
    """CREATE TABLE IF NOT EXISTS login_attempts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        username TEXT NOT NULL,
        client_ip TEXT NOT NULL,
        at REAL NOT NULL,
        success INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS login_attempts_user ON login_attempts (username, at)",
    "CREATE INDEX IF NOT EXISTS login_attempts_ip ON login_attempts (client_ip, at)",
)


def register_schema(owner: str, *statements: str) -> None:
    """Add (or replace) the idempotent DDL statements of one module; run by ``migrate``."""
    with _LOCK:
        _SCHEMAS[owner] = tuple(statements)
        _MIGRATED.clear()


register_schema("core", *CORE_SCHEMA)


def migrate(con: sqlite3.Connection) -> None:
    """Run every registered statement (core first, then in registration order)."""
    with _LOCK:
        statements = [sql for stmts in _SCHEMAS.values() for sql in stmts]
    with con:
        for sql in statements:
            con.execute(sql)


def connect(store_path: str | Path) -> sqlite3.Connection:
    """Open the store (creating folder and tables on first use) with rows as ``sqlite3.Row``.

    WAL journal and a busy timeout let several server processes write without
    ``database is locked`` errors; foreign keys cascade user removal to sessions.
    The caller closes the connection (or uses ``transaction``).
    """
    path = Path(store_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Password hashes and the audit log live here: readable by the app's user only
        # (SQLite gives its -wal/-shm files the same mode).
        path.touch(mode=0o600)
    con = sqlite3.connect(path, timeout=10.0)
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA foreign_keys = ON")
    con.execute("PRAGMA busy_timeout = 10000")
    key = str(path.resolve())
    with _LOCK:
        done = key in _MIGRATED
    if not done:
        con.execute("PRAGMA journal_mode = WAL")
        migrate(con)
        with _LOCK:
            _MIGRATED.add(key)
    return con


@contextmanager
def transaction(store_path: str | Path) -> Iterator[sqlite3.Connection]:
    """A connection whose work is committed on success, rolled back on error, then closed."""
    con = connect(store_path)
    try:
        with con:
            yield con
    finally:
        con.close()


STORE_CONFIG_KEY = "IOCOHORT_STORE"


def app_store_path() -> Path:
    """The store path of the running Flask app (set by ``access.auth.init_auth``)."""
    if not has_app_context() or STORE_CONFIG_KEY not in current_app.config:
        raise RuntimeError("no app store configured: call access.auth.init_auth(server, settings)")
    return Path(current_app.config[STORE_CONFIG_KEY])


def store_path_for_cli(args: argparse.Namespace) -> Path:
    """The store a command-line task works on: ``--store``, else the app's setting."""
    if getattr(args, "store", None):
        return Path(args.store)
    return settings_from_env().store_path
