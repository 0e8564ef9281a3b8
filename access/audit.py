"""Append-only audit log of every query and sign-in: who, when, role, definition, snapshot.

Rows can only be inserted: SQLite triggers abort any UPDATE or DELETE on ``audit_log``, so
neither a bug nor a compromised callback can rewrite history through the app. (Someone with
write access to the file itself is outside what the app can defend.)

Usage inside a callback, after applying the disclosure policy::

    protected = disclosure.protect_attrition(steps, policy)
    audit.record_query(user, user.role, "attrition", definition_hash, snapshot_id,
                       protected.suppressed)

``store`` defaults to the running app's store (``access.store.app_store_path``); pass it
explicitly outside a request (CLI, tests).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from access import store as app_store

store_schema = (
    """CREATE TABLE IF NOT EXISTS audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        username TEXT NOT NULL,
        role TEXT,
        action TEXT NOT NULL,
        definition_hash TEXT,
        snapshot_id TEXT,
        suppressed TEXT NOT NULL DEFAULT '[]',
        detail TEXT NOT NULL DEFAULT ''
    )""",
    """CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
    "CREATE INDEX IF NOT EXISTS audit_log_user ON audit_log (username, id)",
    "CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at)",
)
app_store.register_schema("audit", *store_schema)

# filter name -> column; only these identifiers ever reach the SQL text.
_EXACT_FILTERS = {
    "username": "username",
    "role": "role",
    "action": "action",
    "definition_hash": "definition_hash",
    "snapshot_id": "snapshot_id",
}
_RANGE_FILTERS = {"since": "at >= ?", "until": "at < ?"}
_COLUMNS = (
    "id", "at", "username", "role", "action", "definition_hash", "snapshot_id",
    "suppressed", "detail",
)


def _path(store: str | Path | None) -> Path:
    return Path(store) if store is not None else app_store.app_store_path()


def _username(user: Any) -> str:
    if user is None:
        return "anonymous"
    return str(getattr(user, "username", user))


def record_query(
    user: Any,
    role: str | None,
    action: str,
    definition_hash: str | None,
    snapshot_id: str | None,
    suppressed: dict[str, Any] | list[Any] | None = None,
    detail: str = "",
    *,
    store: str | Path | None = None,
) -> int:
    """Append one entry and return its id.

    ``user`` is a username or any object with ``.username`` (e.g. the signed-in
    ``access.auth.User``); ``role`` falls back to ``user.role``. ``suppressed`` is what the
    disclosure policy withheld (``Protected.suppressed``), stored as JSON.
    """
    role = role if role is not None else getattr(user, "role", None)
    entry = [
        datetime.now(UTC).isoformat(timespec="milliseconds"),
        _username(user),
        role,
        action,
        definition_hash,
        snapshot_id,
        json.dumps(suppressed if suppressed is not None else [], default=str, sort_keys=True),
        detail or "",
    ]
    with app_store.transaction(_path(store)) as con:
        cur = con.execute(
            "INSERT INTO audit_log (at, username, role, action, definition_hash, snapshot_id, "
            "suppressed, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            entry,
        )
        assert cur.lastrowid is not None  # set by the INSERT
        return int(cur.lastrowid)


def record_event(
    user: Any, role: str | None, action: str, detail: str = "", *, store: str | Path | None = None
) -> int:
    """Append a non-query event (sign-in, sign-out, refused access, user management)."""
    return record_query(user, role, action, None, None, [], detail, store=store)


def _where(filters: dict[str, Any] | None) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for key, value in (filters or {}).items():
        if value is None or value == "":
            continue
        if key in _EXACT_FILTERS:
            clauses.append(f"{_EXACT_FILTERS[key]} = ?")
        elif key in _RANGE_FILTERS:
            clauses.append(_RANGE_FILTERS[key])
            value = value.isoformat() if isinstance(value, datetime) else str(value)
        else:
            raise ValueError(f"unknown audit filter {key!r}")
        params.append(value)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def read_audit(
    limit: int = 100,
    offset: int = 0,
    filters: dict[str, Any] | None = None,
    *,
    store: str | Path | None = None,
) -> list[dict[str, Any]]:
    """Entries newest first, as dicts with the columns of ``audit_log``.

    ``filters`` may hold ``username``, ``role``, ``action``, ``definition_hash``,
    ``snapshot_id`` (exact match) and ``since`` / ``until`` (ISO-8601 UTC timestamps or
    datetimes, ``since`` inclusive); empty values are ignored. ``suppressed`` is decoded.
    """
    where, params = _where(filters)
    limit = max(0, min(int(limit), 10_000))
    sql = (
        f"SELECT {', '.join(_COLUMNS)} FROM audit_log{where} "  # noqa: S608 - fixed identifiers
        "ORDER BY id DESC LIMIT ? OFFSET ?"
    )
    with app_store.transaction(_path(store)) as con:
        rows = con.execute(sql, [*params, limit, max(0, int(offset))]).fetchall()
    out = []
    for row in rows:
        entry = dict(row)
        entry["suppressed"] = json.loads(entry["suppressed"] or "[]")
        out.append(entry)
    return out


def count_audit(filters: dict[str, Any] | None = None, *, store: str | Path | None = None) -> int:
    """Number of entries matching ``filters`` (same keys as ``read_audit``), for paging."""
    where, params = _where(filters)
    with app_store.transaction(_path(store)) as con:
        sql = f"SELECT count(*) FROM audit_log{where}"  # noqa: S608 - fixed identifiers
        return int(con.execute(sql, params).fetchone()[0])
