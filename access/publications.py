"""Published plain-language summaries for the patient advisory board, in the app store.

A clinician publishes a cohort: its summary is computed and protected with the advisory
policy *at publish time* (``queries.summary.plain_summary``) and only that protected summary
is stored. Advisory users read these rows and nothing else, so they never cause a live query.
Unpublishing keeps the row (with ``unpublished_at`` and who did it) as a record of what was
shown, but it is no longer listed.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sqlite3
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from access import store

TITLE_MAX = 200
store.register_schema(
    "publications",
    """CREATE TABLE IF NOT EXISTS publications (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        title TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        saved_cohort_id TEXT,
        definition_hash TEXT NOT NULL,
        snapshot_id TEXT NOT NULL,
        summary TEXT NOT NULL,
        published_by TEXT NOT NULL,
        published_at TEXT NOT NULL,
        unpublished_by TEXT,
        unpublished_at TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS publications_live ON publications (unpublished_at, id)",
)
_COLUMNS = ("id, title, description, saved_cohort_id, definition_hash, snapshot_id, summary, "
            "published_by, published_at")


class PublicationNotFound(LookupError):
    """No live publication has this id."""


class NotThePublisher(PermissionError):
    """Only the clinician who published a summary may withdraw it in the app."""


@dataclass(frozen=True)
class Publication:
    """One published summary; ``summary`` is the protected ``PlainSummary.to_dict()``."""

    id: int
    title: str
    description: str
    saved_cohort_id: str | None
    definition_hash: str
    snapshot_id: str
    summary: dict[str, Any]
    published_by: str
    published_at: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _clean(text: str, limit: int) -> str:
    return " ".join((text or "").split())[:limit]


def _row(row: sqlite3.Row) -> Publication:
    return Publication(
        id=int(row["id"]), title=row["title"], description=row["description"],
        saved_cohort_id=row["saved_cohort_id"], definition_hash=row["definition_hash"],
        snapshot_id=row["snapshot_id"], summary=json.loads(row["summary"]),
        published_by=row["published_by"], published_at=row["published_at"],
    )


def publish(
    store_path: str | Path,
    *,
    title: str,
    summary: dict[str, Any],
    definition_hash: str,
    snapshot_id: str,
    published_by: str,
    description: str = "",
    saved_cohort_id: str | None = None,
) -> Publication:
    """Store an already protected summary; ``summary`` must be ``PlainSummary.to_dict()``."""
    title = _clean(title, TITLE_MAX)
    if not title:
        raise ValueError("a published summary needs a title")
    with store.transaction(store_path) as con:
        cur = con.execute(
            "INSERT INTO publications (title, description, saved_cohort_id, definition_hash, "
            "snapshot_id, summary, published_by, published_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [title, _clean(description, 2000), saved_cohort_id, definition_hash, snapshot_id,
             json.dumps(summary, sort_keys=True), published_by, _now()],
        )
        assert cur.lastrowid is not None  # set by the INSERT
        new_id = int(cur.lastrowid)
    return get_publication(store_path, new_id)


def list_publications(store_path: str | Path) -> list[Publication]:
    """Live publications, newest first."""
    with store.transaction(store_path) as con:
        rows = con.execute(
            f"SELECT {_COLUMNS} FROM publications WHERE unpublished_at IS NULL "  # noqa: S608 - fixed columns
            "ORDER BY id DESC"
        ).fetchall()
    return [_row(r) for r in rows]


def get_publication(store_path: str | Path, publication_id: int) -> Publication:
    with store.transaction(store_path) as con:
        row = con.execute(
            f"SELECT {_COLUMNS} FROM publications WHERE id = ? AND unpublished_at IS NULL",  # noqa: S608 - fixed columns
            [int(publication_id)],
        ).fetchone()
    if row is None:
        raise PublicationNotFound(publication_id)
    return _row(row)


def unpublish(store_path: str | Path, publication_id: int, by: str, *,
              owner_only: bool = True) -> None:
    """Withdraw a publication (kept as a record, no longer listed).

    In the app only its publisher may withdraw it (``owner_only``); an operator with the
    store on disk can withdraw any (``iocohort summaries unpublish``).
    """
    with store.transaction(store_path) as con:
        row = con.execute("SELECT published_by FROM publications "
                          "WHERE id = ? AND unpublished_at IS NULL",
                          [int(publication_id)]).fetchone()
        if row is None:
            raise PublicationNotFound(publication_id)
        if owner_only and row["published_by"] != by:
            raise NotThePublisher(
                f"only {row['published_by']}, who published it, can withdraw this summary")
        con.execute(
            "UPDATE publications SET unpublished_at = ?, unpublished_by = ? WHERE id = ?",
            [_now(), by, int(publication_id)],
        )


def cli_summaries(args: argparse.Namespace) -> int:
    """``iocohort summaries list|unpublish ID`` (see cli.py for arguments)."""
    path = store.store_path_for_cli(args)
    if args.summaries_command == "list":
        for pub in list_publications(path):
            print(f"{pub.id}\t{pub.published_at}\t{pub.published_by}\t{pub.snapshot_id}\t"
                  f"{pub.title}")
        return 0
    try:
        unpublish(path, args.id, by=f"cli:{getpass.getuser()}", owner_only=False)
    except PublicationNotFound:
        print(f"error: no published summary has id {args.id}", file=sys.stderr)
        return 1
    print(f"summary {args.id} withdrawn")
    return 0
