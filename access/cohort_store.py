"""Saved cohort definitions, per signed-in user, in the app's SQLite store.

Each user sees and changes only their own saved cohorts: every function takes the owner and
every statement filters on it, so an id guessed from another user's link opens nothing.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from access import store

NAME_MAX = 200
store.register_schema(
    "saved_cohorts",
    """CREATE TABLE IF NOT EXISTS saved_cohorts (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        name TEXT NOT NULL,
        definition TEXT NOT NULL,
        definition_hash TEXT NOT NULL,
        created TEXT NOT NULL,
        updated TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS saved_cohorts_owner ON saved_cohorts (owner, updated)",
)
_COLUMNS = "id, owner, name, definition, definition_hash, created, updated"
# Statements over the fixed column list above (no user input in the SQL text).
_INSERT = f"INSERT INTO saved_cohorts ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"  # noqa: S608
_SELECT = f"SELECT {_COLUMNS} FROM saved_cohorts WHERE owner = ?"  # noqa: S608


class SavedCohortNotFound(LookupError):
    """No saved cohort with this id belongs to this user."""


@dataclass(frozen=True)
class SavedCohort:
    """One saved definition (the JSON dict as saved, plus its content hash)."""

    id: str
    owner: str
    name: str
    definition: dict[str, Any]
    definition_hash: str
    created: str
    updated: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _clean_name(name: str) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise ValueError("a saved cohort needs a name")
    return cleaned[:NAME_MAX]


def _row(row: sqlite3.Row | tuple[Any, ...]) -> SavedCohort:
    cid, owner, name, definition, digest, created, updated = row
    return SavedCohort(cid, owner, name, json.loads(definition), digest, created, updated)


@dataclass(frozen=True)
class CohortStore:
    """Saved cohorts in the SQLite file at ``path`` (table created on first use)."""

    path: Path

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return store.transaction(self.path)

    def save(self, owner: str, name: str, definition: dict[str, Any], definition_hash: str) -> SavedCohort:
        """Save a new entry (names need not be unique; the id is)."""
        now = _now()
        saved = SavedCohort(secrets.token_urlsafe(9), owner, _clean_name(name), definition,
                            definition_hash, now, now)
        with self._connect() as con:
            con.execute(
                _INSERT,
                (saved.id, owner, saved.name, json.dumps(definition, sort_keys=True),
                 definition_hash, now, now),
            )
        return saved

    def list(self, owner: str) -> list[SavedCohort]:
        """The user's saved cohorts, most recently changed first."""
        with self._connect() as con:
            rows = con.execute(_SELECT + " ORDER BY updated DESC, name", (owner,)).fetchall()
        return [_row(r) for r in rows]

    def open(self, owner: str, cohort_id: str) -> SavedCohort:
        with self._connect() as con:
            row = con.execute(_SELECT + " AND id = ?", (owner, cohort_id)).fetchone()
        if row is None:
            raise SavedCohortNotFound(cohort_id)
        return _row(row)

    def update(self, owner: str, cohort_id: str, definition: dict[str, Any],
               definition_hash: str) -> SavedCohort:
        """Overwrite the saved definition (keeps id and name)."""
        self._change(owner, cohort_id, "definition = ?, definition_hash = ?",
                     (json.dumps(definition, sort_keys=True), definition_hash))
        return self.open(owner, cohort_id)

    def rename(self, owner: str, cohort_id: str, name: str) -> SavedCohort:
        self._change(owner, cohort_id, "name = ?", (_clean_name(name),))
        return self.open(owner, cohort_id)

    def duplicate(self, owner: str, cohort_id: str, name: str | None = None) -> SavedCohort:
        original = self.open(owner, cohort_id)
        return self.save(owner, name or f"{original.name} (copy)", original.definition,
                         original.definition_hash)

    def delete(self, owner: str, cohort_id: str) -> None:
        with self._connect() as con:
            deleted = con.execute(
                "DELETE FROM saved_cohorts WHERE owner = ? AND id = ?", (owner, cohort_id)
            ).rowcount
        if not deleted:
            raise SavedCohortNotFound(cohort_id)

    def _change(self, owner: str, cohort_id: str, assignments: str, values: tuple[Any, ...]) -> None:
        # ``assignments`` is one of the fixed strings above, never user input.
        with self._connect() as con:
            changed = con.execute(
                f"UPDATE saved_cohorts SET {assignments}, updated = ? "  # noqa: S608 - fixed
                "WHERE owner = ? AND id = ?",
                (*values, _now(), owner, cohort_id),
            ).rowcount
        if not changed:
            raise SavedCohortNotFound(cohort_id)
