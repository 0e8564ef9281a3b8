"""One place that opens snapshots and hands out DuckDB cursors.

A snapshot's Parquet files are loaded once into a DuckDB database file, sorted by
``patient_id`` and keyed by the manifest's checksums (rebuilt when they change). Each server
process opens it read-only through an in-memory connection that ATTACHes it, so that
materialized cohorts (small tables) can live in memory while the snapshot stays read-only.
Connections are opened lazily, so after the server forks, and each thread gets its own cursor.
"""

from __future__ import annotations

import contextlib
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
from typing import Any

import duckdb

from queries.snapshot.schema import TABLES, empty_columns, typed_columns

ATTACHED_NAME = "snap"
# Derived tables live in an in-memory database that compresses its tables at a checkpoint
# (dictionary, FSST, bit-packing): the kept index-population tables shrink several times.
KEPT_NAME = "kept"


def database_key(manifest: dict[str, Any]) -> str:
    """Key of the built database: changes when any table's checksum or the schema changes."""
    payload = {
        "id": manifest.get("id"),
        "schema_version": manifest.get("schema_version"),
        "tables": {name: spec.get("sha256") for name, spec in sorted(manifest["tables"].items())},
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def _file_stem(manifest: dict[str, Any]) -> str:
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


def database_path(manifest: dict[str, Any], cache_dir: Path) -> Path:
    """Where the built database of ``manifest`` lives in ``cache_dir``."""
    return cache_dir / f"{_file_stem(manifest)}-{database_key(manifest)}.duckdb"


def build_database(snapshot_dir: Path, manifest: dict[str, Any], cache_dir: Path,
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


def _build_into(target: Path, snapshot_dir: Path, manifest: dict[str, Any], report: Progress) -> None:
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
                spec = manifest["tables"].get(table)
                if spec is None:  # a table of a later schema version: empty
                    con.execute(f"CREATE TABLE {table} ({empty_columns(table)})")
                    continue
                parquet = snapshot_dir / spec["file"]
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


# Tables of whole index-event populations (and what is derived from them) are named with
# this prefix; every cohort with that index event reads them, so they are evicted last.
PREFERRED_PREFIX = "index_"
DEFAULT_CACHE_BYTES = 384 * 1024**2
# Bytes per value of fixed-width DuckDB types; VARCHAR is 16 plus its text beyond 12 bytes.
_TYPE_BYTES = {"BOOLEAN": 1, "TINYINT": 1, "UTINYINT": 1, "SMALLINT": 2, "USMALLINT": 2,
               "INTEGER": 4, "UINTEGER": 4, "DATE": 4, "FLOAT": 4, "BIGINT": 8, "UBIGINT": 8,
               "DOUBLE": 8, "TIMESTAMP": 8, "TIME": 8, "HUGEINT": 16, "UUID": 16, "INTERVAL": 16}
_INLINE_STRING = 12
MAX_RECIPES = 4096
_STRING_SAMPLE = 2048


@dataclass(frozen=True)
class KeptTable:
    """A derived table this process holds: its rows and estimated bytes in memory."""

    rows: int
    bytes: int
    preferred: bool


@dataclass
class SnapshotDatabase:
    """A built snapshot database; hands out one read-only cursor per thread and process.

    Derived tables (cohorts, analysis bases, attrition counts) are kept in memory within
    ``max_cached_bytes`` (estimated from column types, rows and sampled text lengths) and
    ``max_cached_tables``. Each table has its own build lock: two requests needing the same
    table build it once (the second waits for that table only), different tables build in
    parallel. ``hold()`` keeps the tables a block uses from being evicted until it ends.
    """

    snapshot_id: str
    path: Path
    memory_limit: str | None = None
    max_cached_bytes: int = DEFAULT_CACHE_BYTES
    max_cached_tables: int = 512
    # analyses may read per-patient rows into numpy (an in-process engine; see queries/engine)
    local_rows: bool = True
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _local: threading.local = field(default_factory=threading.local, repr=False)
    _con: duckdb.DuckDBPyConnection | None = field(default=None, repr=False)
    _pid: int | None = field(default=None, repr=False)
    _tables: OrderedDict[str, KeptTable] = field(default_factory=OrderedDict, repr=False)
    _building: dict[str, threading.Lock] = field(default_factory=dict, repr=False)
    _pins: dict[str, int] = field(default_factory=dict, repr=False)
    # Tables used this recently may be read by a request in flight: not evicted yet (the
    # budget is exceeded for that long under a burst rather than a table dropped mid-use).
    eviction_grace_seconds: float = 30.0
    _last_used: dict[str, float] = field(default_factory=dict, repr=False)
    # How each table was made (SQL, parameters), so that ``ensure`` can make it again.
    _recipes: OrderedDict[str, tuple[str, list[Any] | dict[str, Any]]] = field(
        default_factory=OrderedDict, repr=False)

    def _connection(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._con is None or self._pid != os.getpid():
                config: dict[str, Any] = (
                    {"memory_limit": self.memory_limit} if self.memory_limit else {})
                # Spill files go beside the database files, not into the working directory.
                config["temp_directory"] = str(self.path.parent / "duckdb-tmp")
                con = duckdb.connect(":memory:", config=config)
                con.execute("SET enable_progress_bar = false")
                con.execute(f"ATTACH ? AS {ATTACHED_NAME} (READ_ONLY)", [str(self.path)])
                con.execute(f"ATTACH ':memory:' AS {KEPT_NAME} (COMPRESS)")
                con.execute(f"USE {KEPT_NAME}")
                for table in TABLES:
                    con.execute(
                        f"CREATE VIEW {table} AS SELECT * FROM {ATTACHED_NAME}.{table}"  # noqa: S608 - fixed schema
                    )
                self._con, self._pid = con, os.getpid()
                self._tables = OrderedDict()
                self._building, self._pins, self._last_used = {}, {}, {}
                self._local = threading.local()
            return self._con

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor; tables created through it are visible to every cursor."""
        con = self._connection()
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = con.cursor()
            cur.execute(f"USE {KEPT_NAME}")  # each cursor has its own default database
            self._local.cursor = cur
        return cur

    def compact(self) -> int:
        """Compress the kept tables now (a checkpoint of their in-memory database) and
        re-measure them; returns the bytes they take. Run while no request uses the
        database (the server does after warming a snapshot, before it reports ready)."""
        cur = self.cursor()
        with self._lock:
            cur.execute(f"CHECKPOINT {KEPT_NAME}")
            measured = _kept_memory(cur)
            estimated = sum(k.bytes for k in self._tables.values())
            if measured and estimated:
                ratio = measured / estimated
                for name, kept in self._tables.items():
                    self._tables[name] = KeptTable(kept.rows, int(kept.bytes * ratio),
                                                   kept.preferred)
            return measured

    def cached_table(self, table: str, sql: str, params: list[Any] | dict[str, Any]) -> int:
        """Create ``table`` from ``sql`` unless this process already has it; returns its rows.

        Only this table's build lock is held while it is built, so other requests go on; the
        least recently used tables are then dropped while the cache is over its budget (tables
        named ``index_…`` after all others, held ones never). ``table`` must come from a hash,
        never from input.
        """
        cur = self.cursor()
        while True:
            with self._lock:
                kept = self._use(table)
                if kept is not None:
                    return kept.rows
                build_lock = self._building.setdefault(table, threading.Lock())
            with build_lock:
                with self._lock:
                    if table in self._tables:
                        continue  # built by another thread while this one waited
                try:
                    cur.execute(f"CREATE OR REPLACE TABLE {table} AS {sql}", params)  # noqa: S608
                    rows = int(cur.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])  # noqa: S608
                    size = _estimated_bytes(cur, table, rows)
                finally:
                    with self._lock:
                        self._building.pop(table, None)
                with self._lock:
                    self._tables[table] = KeptTable(rows, size, table.startswith(PREFERRED_PREFIX))
                    self._remember(table, sql, params)
                    self._use(table)
                    self._evict(keep=table)
                return rows

    def ensure(self, table: str) -> int | None:
        """Rows of ``table``, made again from its recipe if it was evicted since this process
        built it; None for a table never built here. Call inside ``hold()`` (with the tables
        it is made from ensured first) so it stays until its readers have run."""
        rows = self.cached_rows(table)
        if rows is not None:
            return rows
        with self._lock:
            recipe = self._recipes.get(table)
        return None if recipe is None else self.cached_table(table, *recipe)

    def _remember(self, table: str, sql: str, params: list[Any] | dict[str, Any]) -> None:
        self._recipes[table] = (sql, params)
        self._recipes.move_to_end(table)
        while len(self._recipes) > MAX_RECIPES:
            self._recipes.popitem(last=False)

    def cached_rows(self, table: str) -> int | None:
        """Rows of ``table`` if this process holds it (marked as just used), else None."""
        with self._lock:
            kept = self._use(table)
            return None if kept is None else kept.rows

    def kept_tables(self) -> dict[str, KeptTable]:
        """The derived tables held now, least recently used first."""
        with self._lock:
            return dict(self._tables)

    @property
    def cached_bytes(self) -> int:
        with self._lock:
            return sum(kept.bytes for kept in self._tables.values())

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Within the block, no table this thread creates or looks up through ``cached_table``
        or ``cached_rows`` is evicted (by any thread); nested blocks hold until the outermost
        ends. Hold it until the queries reading those tables have run."""
        stack: list[set[str]] = self._holds()
        stack.append(set())
        try:
            yield
        finally:
            held = stack.pop()
            if not stack:
                with self._lock:
                    for table in held:
                        self._pins[table] -= 1
                        if not self._pins[table]:
                            del self._pins[table]
                    self._evict(keep=None)
            else:
                stack[0].update(held)

    @property
    def lock(self) -> contextlib.AbstractContextManager[None]:
        """Older name of ``hold()`` (it no longer serializes anything)."""
        return self.hold()

    def _holds(self) -> list[set[str]]:
        self._connection()  # a fork resets the thread-locals with the connection
        stack = getattr(self._local, "holds", None)
        if stack is None:
            stack = self._local.holds = []
        return stack

    def _use(self, table: str) -> KeptTable | None:
        """Mark ``table`` as just used (and held, inside ``hold()``); None when not kept."""
        kept = self._tables.get(table)
        if kept is None:
            return None
        self._tables.move_to_end(table)
        self._last_used[table] = time.monotonic()
        stack = getattr(self._local, "holds", None)
        if stack and table not in stack[0]:
            stack[0].add(table)
            self._pins[table] = self._pins.get(table, 0) + 1
        return kept

    def _evict(self, keep: str | None) -> None:
        """Drop least recently used tables (others before ``index_…``) while over budget."""
        total, count = sum(k.bytes for k in self._tables.values()), len(self._tables)
        if total <= self.max_cached_bytes and count <= self.max_cached_tables:
            return
        order = sorted(self._tables, key=lambda name: self._tables[name].preferred)  # stable
        since = time.monotonic() - self.eviction_grace_seconds
        recent = {name for name in order if self._last_used.get(name, 0.0) > since}
        cur = self.cursor()
        for name in order:
            if total <= self.max_cached_bytes and count <= self.max_cached_tables:
                break
            if name == keep or name in self._pins or name in recent:
                continue
            kept = self._tables.pop(name)
            self._last_used.pop(name, None)
            # DuckDB lets queries that already read the table finish; only later ones miss it.
            cur.execute(f"DROP TABLE IF EXISTS {name}")
            total, count = total - kept.bytes, count - 1

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
            self._con = None


def _kept_memory(cur: duckdb.DuckDBPyConnection) -> int:
    """Bytes DuckDB holds for in-memory tables (all of them: only the kept ones are)."""
    rows = cur.execute("SELECT memory_usage_bytes FROM duckdb_memory() "
                       "WHERE tag = 'IN_MEMORY_TABLE'").fetchall()
    return int(rows[0][0]) if rows else 0


def _estimated_bytes(cur: duckdb.DuckDBPyConnection, table: str, rows: int) -> int:
    """Memory of an in-memory table: fixed widths per type, text measured on a sample."""
    columns = cur.execute(
        "SELECT column_name, data_type FROM duckdb_columns() "
        "WHERE table_name = ? AND database_name = current_database() AND schema_name = 'main'",
        [table]).fetchall()
    per_row: float = sum(_TYPE_BYTES.get(str(kind).split("(")[0], 16) for _, kind in columns)
    texts = [name for name, kind in columns if str(kind) == "VARCHAR"]
    if texts and rows:
        spill = " + ".join(f"coalesce(avg(CASE WHEN strlen(\"{name}\") > {_INLINE_STRING} "
                           f"THEN strlen(\"{name}\") ELSE 0 END), 0)" for name in texts)
        sample = f"(SELECT * FROM {table} LIMIT {_STRING_SAMPLE})"  # noqa: S608 - from a hash
        per_row += float(cur.execute(f"SELECT {spill} FROM {sample}").fetchall()[0][0])  # noqa: S608 - names from the catalog
    return int(rows * per_row) + 4096
