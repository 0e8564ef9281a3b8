"""One place that opens snapshots and hands out DuckDB cursors.

A snapshot's Parquet files are loaded once into a DuckDB database file, sorted by
``patient_id`` and keyed by the manifest's checksums (rebuilt when they change). Each server
process opens it read-only through an in-memory connection that ATTACHes it, so that
materialized cohorts (small tables) can live in memory while the snapshot stays read-only.
Connections are opened lazily, so after the server forks, and each thread gets its own cursor.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from queries.schema import TABLES

ATTACHED_NAME = "snap"


def database_key(manifest: dict) -> str:
    """Key of the built database: changes when any table's checksum or the schema changes."""
    payload = {
        "id": manifest.get("id"),
        "schema_version": manifest.get("schema_version"),
        "tables": {name: spec.get("sha256") for name, spec in sorted(manifest["tables"].items())},
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def _file_stem(manifest: dict) -> str:
    """A file name from the snapshot id that cannot leave the cache folder."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", str(manifest["id"]))[:64] or "snapshot"


def build_database(snapshot_dir: Path, manifest: dict, cache_dir: Path) -> Path:
    """Load the snapshot's Parquet files into a DuckDB file sorted by patient_id (once).

    Builds into a private temporary file renamed into place at the end, so concurrent
    builders (threads or processes) never see a half-built file; on failure the partial
    file is removed and the error propagates.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / f"{_file_stem(manifest)}-{database_key(manifest)}.duckdb"
    if target.exists():
        return target
    partial = cache_dir / f"{target.stem}.{os.getpid()}-{threading.get_ident()}.building"
    _remove(partial)
    try:
        con = duckdb.connect(str(partial))
        try:
            con.execute("SET enable_progress_bar = false")  # no progress noise in server logs
            for table, columns in TABLES.items():
                parquet = snapshot_dir / manifest["tables"][table]["file"]
                select = ", ".join(f"CAST({col} AS {typ}) AS {col}" for col, typ in columns.items())
                order = "patient_id" if "patient_id" in columns else "1"
                con.execute(
                    f"CREATE TABLE {table} AS SELECT {select} FROM read_parquet(?) ORDER BY {order}",  # noqa: S608 - identifiers from the fixed schema
                    [str(parquet)],
                )
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(partial, target)
    finally:
        _remove(partial)
    return target


def _remove(partial: Path) -> None:
    for path in (partial, partial.with_name(partial.name + ".wal")):
        path.unlink(missing_ok=True)


@dataclass
class SnapshotDatabase:
    """A built snapshot database; hands out one read-only cursor per thread and process."""

    snapshot_id: str
    path: Path
    memory_limit: str | None = None
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _local: threading.local = field(default_factory=threading.local, repr=False)
    _con: duckdb.DuckDBPyConnection | None = field(default=None, repr=False)
    _pid: int | None = field(default=None, repr=False)

    def _connection(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._con is None or self._pid != os.getpid():
                config = {"memory_limit": self.memory_limit} if self.memory_limit else {}
                con = duckdb.connect(":memory:", config=config)
                con.execute("SET enable_progress_bar = false")
                con.execute(f"ATTACH ? AS {ATTACHED_NAME} (READ_ONLY)", [str(self.path)])
                for table in TABLES:
                    con.execute(
                        f"CREATE VIEW {table} AS SELECT * FROM {ATTACHED_NAME}.{table}"  # noqa: S608 - fixed schema
                    )
                self._con, self._pid = con, os.getpid()
                self._local = threading.local()
            return self._con

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor; tables created through it are visible to every cursor."""
        con = self._connection()
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = con.cursor()
            self._local.cursor = cur
        return cur

    @property
    def lock(self) -> threading.RLock:
        """Serializes DDL such as materializing a cohort table."""
        return self._lock

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
            self._con = None
