"""One place that opens snapshots and hands out DuckDB cursors.

A snapshot's Parquet files are loaded once into a DuckDB database file, sorted by
``patient_id`` and keyed by the manifest's checksums (rebuilt when they change). Each server
process opens it read-only through an in-memory connection that ATTACHes it, so that
materialized cohorts (small tables) can live in memory while the snapshot stays read-only.
Connections are opened lazily, so after the server forks, and each thread gets its own cursor.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from queries.snapshot.schema import TABLES, typed_columns

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


Progress = Callable[[float], None]
# Connections building a database file now, so that a stopping server can interrupt them.
_ACTIVE_BUILDS: set[duckdb.DuckDBPyConnection] = set()
_ACTIVE_LOCK = threading.Lock()


def interrupt_builds() -> None:
    """Interrupt every database build of this process (its partial file is removed); for a
    server that is shutting down while a background build runs."""
    with _ACTIVE_LOCK:
        for con in _ACTIVE_BUILDS:
            con.interrupt()


def database_path(manifest: dict, cache_dir: Path) -> Path:
    """Where the built database of ``manifest`` lives in ``cache_dir``."""
    return cache_dir / f"{_file_stem(manifest)}-{database_key(manifest)}.duckdb"


def build_database(snapshot_dir: Path, manifest: dict, cache_dir: Path,
                   progress: Progress | None = None) -> Path:
    """Load the snapshot's Parquet files into a DuckDB file sorted by patient_id (once).

    Builds into a private temporary file renamed into place at the end, so concurrent
    builders never see a half-built file; on failure the partial file is removed and the
    error propagates. Processes sharing the cache folder take turns through a lock on it, so
    a second server worker waits for the first one's build (reading its progress) instead of
    building the same file again. ``progress`` is called with the fraction done (0 to 1).
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = database_path(manifest, cache_dir)
    if target.exists():
        return target
    report = progress or (lambda fraction: None)
    progress_file = target.with_name(target.name + ".progress")
    with _build_lock(target, lambda: report(_read_progress(progress_file))):
        if target.exists():  # another process built it while this one waited
            return target
        try:
            _build_into(target, snapshot_dir, manifest, _progress_writer(progress_file, report))
        finally:
            progress_file.unlink(missing_ok=True)
    _remove_superseded(target)
    return target


def _build_into(target: Path, snapshot_dir: Path, manifest: dict, report: Progress) -> None:
    partial = target.with_name(f"{target.stem}.{os.getpid()}-{threading.get_ident()}.building")
    _remove(partial)
    rows = {t: max(1, int(manifest["tables"].get(t, {}).get("rows") or 0)) for t in TABLES}
    total, done = float(sum(rows.values())), 0
    try:
        con = duckdb.connect(str(partial))
        with _ACTIVE_LOCK:
            _ACTIVE_BUILDS.add(con)
        try:
            con.execute("SET enable_progress_bar = false")  # no progress noise in server logs
            report(0.0)
            for table, columns in TABLES.items():
                parquet = snapshot_dir / manifest["tables"][table]["file"]
                order = "patient_id" if "patient_id" in columns else "1"
                con.execute(
                    f"CREATE TABLE {table} AS SELECT {typed_columns(table)} FROM read_parquet(?) ORDER BY {order}",  # noqa: S608 - identifiers from the fixed schema
                    [str(parquet)],
                )
                done += rows[table]
                report(0.99 * done / total)
            con.execute("CHECKPOINT")
        finally:
            with _ACTIVE_LOCK:
                _ACTIVE_BUILDS.discard(con)
            con.close()
        os.replace(partial, target)
        report(1.0)
    finally:
        _remove(partial)


@contextmanager
def _build_lock(target: Path, waiting: Callable[[], None]) -> Iterator[None]:
    """An exclusive lock across processes on the cache folder itself (no lock file is left
    behind); ``waiting`` runs about twice a second while another process holds it."""
    fd = os.open(target.parent, os.O_RDONLY)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waiting()
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _progress_writer(progress_file: Path, report: Progress) -> Progress:
    def write(fraction: float) -> None:
        progress_file.write_text(f"{fraction:.4f}")
        report(fraction)

    return write


def _read_progress(progress_file: Path) -> float:
    try:
        return min(1.0, max(0.0, float(progress_file.read_text() or 0)))
    except (OSError, ValueError):
        return 0.0


def _remove_superseded(target: Path) -> None:
    """Delete builds of the same snapshot id with another key (its files have changed since).

    A process that still has an old file open keeps reading it: on POSIX an unlinked file
    lives on until its last handle closes.
    """
    stem = target.stem.rsplit("-", 1)[0]
    for old in target.parent.glob(f"{stem}-*.duckdb"):
        if old != target and re.fullmatch(rf"{re.escape(stem)}-[0-9a-f]{{16}}", old.stem):
            _remove(old)


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
    max_cached_rows: int = 20_000_000
    max_cached_tables: int = 512
    _tables: OrderedDict[str, int] = field(default_factory=OrderedDict, repr=False)

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
                self._tables = OrderedDict()
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

    def cached_table(self, table: str, sql: str, params: list | dict) -> int:
        """Create ``table`` from ``sql`` unless this process already has it; returns its rows.

        Derived tables (materialized cohorts, attrition counts) live in memory, so the least
        recently used are dropped once more than ``max_cached_rows`` rows or
        ``max_cached_tables`` tables are held. ``table`` must come from a hash, never from input.
        """
        with self._lock:
            cur = self.cursor()
            if table in self._tables:
                self._tables.move_to_end(table)
                return self._tables[table]
            cur.execute(f"CREATE OR REPLACE TABLE {table} AS {sql}", params)  # noqa: S608
            rows = int(cur.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])  # noqa: S608
            self._tables[table] = rows
            self._evict(keep=table)
            return rows

    def cached_rows(self, table: str) -> int | None:
        """Rows of ``table`` if this process holds it (marked as just used), else None."""
        with self._lock:
            if table not in self._tables:
                return None
            self._tables.move_to_end(table)
            return self._tables[table]

    def _evict(self, keep: str) -> None:
        cur = self.cursor()
        while len(self._tables) > 1 and (
            len(self._tables) > self.max_cached_tables
            or sum(self._tables.values()) > self.max_cached_rows
        ):
            oldest = next(iter(self._tables))
            if oldest == keep:
                break
            self._tables.pop(oldest)
            cur.execute(f"DROP TABLE IF EXISTS {oldest}")

    @property
    def lock(self) -> threading.RLock:
        """Serializes DDL such as materializing a cohort table."""
        return self._lock

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
            self._con = None
