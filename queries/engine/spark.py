"""A snapshot on Spark: its Parquet files as temporary views, DuckDB SQL transpiled to Spark.

The views are named like the tables, so the compiler's SQL (bare table names) runs unchanged
after :func:`~queries.engine.transpile.transpile`. Files are read where the manifest says they
are, relative to the snapshot's location: a local folder, or a URI Spark can read
(``hdfs://``, ``s3a://``, ...). Derived tables (cohorts, analysis bases) are DataFrames
computed once and locally checkpointed on the executors (their lineage cut, so a query over
one plans against a small leaf), registered as temporary views; only aggregates (and the few
rows of small answers) are collected into this process.
"""

from __future__ import annotations

import json
import socket
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pandas as pd
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession

from queries.engine.base import EngineUnavailable, Params
from queries.engine.transpile import transpile
from queries.snapshot.schema import TABLES

LOCAL_MASTER = "local[*]"
# Rows in memory are about ten times their Parquet file (dictionary-encoded, compressed).
PARQUET_EXPANSION = 10
# Small answers and small cached tables: a few shuffle partitions beat Spark's default 200.
DEFAULT_CONFIG: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "8",
    # Spark sizes a Parquet scan by its compressed file size, a tenth of the rows in memory here:
    # a 7 MB patients file (1M rows) passed as "small" and was broadcast (a 1 GB driver failed,
    # 4 GB ran out of heap on the analysis base). Scaled, only files under ~1 MB are broadcast
    # by the plan; adaptive execution still broadcasts a shuffled side it measured under 10 MB.
    "spark.sql.sources.fileCompressionFactor": str(PARQUET_EXPANSION),
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.driver.extraJavaOptions": "-Dlog4j2.configurationFile="
    + (Path(__file__).resolve().parent / "log4j2.properties").as_uri(),
}
MASTER_PROBE_SECONDS = 5.0
# What a running Spark raises (a failed job, a lost executor or master).
SPARK_ERRORS: tuple[type[Exception], ...] = (PySparkException, ConnectionError)


def check_master(master: str, timeout: float = MASTER_PROBE_SECONDS) -> None:
    """Fail fast when a standalone master (``spark://host:port[,host:port]``) is unreachable;
    Spark itself would retry for a minute before giving up."""
    if not master.startswith("spark://"):
        return
    errors = []
    for address in master.removeprefix("spark://").split(","):
        host, _, port = address.partition(":")
        try:
            with socket.create_connection((host, int(port or 7077)), timeout=timeout):
                return
        except (OSError, ValueError) as exc:
            errors.append(f"{address}: {exc}")
    raise EngineUnavailable(f"the Spark master {master} cannot be reached ({'; '.join(errors)})")


def spark_session(master: str = LOCAL_MASTER, app_name: str = "iocohort",
                  config: Mapping[str, str] | None = None,
                  driver_memory: str | None = None) -> SparkSession:
    """A SparkSession on ``master`` (``local[*]``, ``spark://...``, ``yarn``, ``k8s://...``).

    ``driver_memory`` (a JVM size, ``4g``) is the driver's heap: in local mode all of Spark.
    It takes effect only when this starts the JVM (a running session keeps its own).
    Raises EngineUnavailable with one line when pyspark, Java or the master is missing.
    """
    check_master(master)
    builder = SparkSession.builder.master(master).appName(app_name)
    memory = {"spark.driver.memory": driver_memory} if driver_memory else {}
    for key, value in {**DEFAULT_CONFIG, **memory, **(config or {})}.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # py4j/pyspark raise many types; all mean "no Spark here"
        raise EngineUnavailable(f"Spark could not start on {master}: {_first_line(exc)}") from None
    session.sparkContext.setLogLevel("ERROR")
    return session


def active_session() -> SparkSession | None:
    """The SparkSession this process already runs, if any."""
    return SparkSession.getActiveSession()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def _join(root: str, name: str) -> str:
    """``name`` inside the snapshot location (a folder path or a URI)."""
    return f"{root.rstrip('/')}/{name}"


def _is_uri(location: str) -> bool:
    scheme = urlparse(location).scheme
    return len(scheme) > 1 and scheme != "file"


def read_manifest(session: SparkSession, location: str) -> dict[str, Any]:
    """The manifest of a snapshot: from the local folder, or read through Spark for a URI."""
    if not _is_uri(location):
        return dict(json.loads((Path(location) / "manifest.json").read_text()))
    lines = session.sparkContext.wholeTextFiles(_join(location, "manifest.json")).collect()
    if not lines:
        raise FileNotFoundError(f"{location}: no manifest.json")
    return dict(json.loads(lines[0][1]))


def _spark_args(parameters: Params | None) -> list[Any] | dict[str, Any] | None:
    if parameters is None:
        return None
    if isinstance(parameters, Mapping):
        return dict(parameters) or None
    return list(parameters) or None


class SparkCursor:
    """DB-API-like cursor over a SparkSession: ``execute`` transpiles and binds, ``df``,
    ``fetchall`` and ``fetchone`` collect the (small) answer."""

    def __init__(self, session: SparkSession) -> None:
        self._session = session
        self._frame: DataFrame | None = None
        self._rows: list[tuple[Any, ...]] | None = None
        self.description: list[tuple[str]] | None = None

    def execute(self, query: str, parameters: Params | None = None) -> SparkCursor:
        self._frame = self._session.sql(transpile(query), args=_spark_args(parameters))
        self._rows = None
        self.description = [(name,) for name in self._frame.columns]
        return self

    def _result(self) -> DataFrame:
        if self._frame is None:
            raise RuntimeError("execute a statement first")
        return self._frame

    def fetchall(self) -> list[tuple[Any, ...]]:
        if self._rows is None:
            self._rows = [tuple(row) for row in self._result().collect()]
        return self._rows

    def fetchone(self) -> tuple[Any, ...] | None:
        rows = self.fetchall()
        return rows[0] if rows else None

    def df(self) -> pd.DataFrame:
        return self._result().toPandas()

    def fetchnumpy(self) -> dict[str, Any]:
        """Columns as numpy arrays: per-patient rows leave Spark, so analyses avoid it
        (``SparkSnapshot.local_rows`` is False)."""
        frame = self.df()
        return {str(name): frame[name].to_numpy() for name in frame.columns}

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.fetchall())


_SPARK_TYPES = {"VARCHAR": "STRING", "INTEGER": "INT", "DOUBLE": "DOUBLE", "DATE": "DATE",
                "BOOLEAN": "BOOLEAN"}


def _spark_ddl(table: str) -> str:
    """The Spark DDL schema of a schema table (for an empty view of a missing table)."""
    return ", ".join(f"{col} {_SPARK_TYPES[typ]}" for col, typ in TABLES[table].items())


@dataclass
class SparkSnapshot:
    """One snapshot on Spark, with the interface of ``SnapshotDatabase`` that queries use."""

    snapshot_id: str
    location: str
    session: SparkSession
    max_cached_rows: int = 50_000_000
    max_cached_tables: int = 256
    local_rows: bool = False
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _tables: OrderedDict[str, tuple[int, DataFrame]] = field(default_factory=OrderedDict,
                                                            repr=False)
    _holds: int = field(default=0, repr=False)
    _recipes: dict[str, tuple[str, Params]] = field(default_factory=dict, repr=False)

    @property
    def path(self) -> str:
        return self.location

    @classmethod
    def open(cls, session: SparkSession, location: str | Path,
             manifest: dict[str, Any] | None = None, in_memory: bool = False) -> SparkSnapshot:
        """Register the snapshot's tables as temporary views of its Parquet files.

        ``in_memory`` caches the tables in Spark's memory when first read (small snapshots
        queried many times, as in the tests); otherwise every query scans the files.
        """
        root = str(location)
        manifest = manifest or read_manifest(session, root)
        for table in TABLES:
            spec = manifest["tables"].get(table)
            if spec is None:  # a table of a later schema version (version 1: no PROs): empty
                frame = session.createDataFrame([], schema=_spark_ddl(table))
            else:
                frame = session.read.parquet(_join(root, spec["file"])).select(*TABLES[table])
            frame.createOrReplaceTempView(table)
            if in_memory:
                session.catalog.cacheTable(table)
        return cls(str(manifest["id"]), root, session)

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Within the block no cached table is evicted (by any thread); eviction waits until
        no block holds any."""
        with self._lock:
            self._holds += 1
        try:
            yield
        finally:
            with self._lock:
                self._holds -= 1
                if not self._holds:
                    self._evict(keep=None)

    @property
    def lock(self) -> AbstractContextManager[None]:
        """Older name of ``hold()``."""
        return self.hold()

    def cursor(self) -> SparkCursor:
        return SparkCursor(self.session)

    def cached_table(self, table: str, sql: str, params: Params) -> int:
        """Cache the result of ``sql`` as temporary view ``table`` (unless held); its rows.

        Tables are built one at a time: Spark parallelizes each build itself."""
        with self._lock:
            if table in self._tables:
                self._tables.move_to_end(table)
                return self._tables[table][0]
            self._recipes[table] = (sql, params)
            # Computed once and kept on the executors with its lineage cut: a query over a kept
            # table then plans against a small leaf, not against the whole chain of SQL it was
            # made from (index population -> cohort -> analysis base), which Spark would analyze
            # and match against its cache on every query (seconds each). Checkpointed lazily:
            # the count computes and keeps it in one job (an eager checkpoint is a job of its
            # own before the count).
            frame = self.session.sql(transpile(sql), args=_spark_args(params)).localCheckpoint(
                eager=False)
            rows = frame.count()
            frame.createOrReplaceTempView(table)
            self._tables[table] = (rows, frame)
            self._evict(keep=table)
            return rows

    def ensure(self, table: str) -> int | None:
        """Rows of ``table``, made again from its SQL if it was evicted; None if never made."""
        rows = self.cached_rows(table)
        if rows is not None:
            return rows
        with self._lock:
            recipe = self._recipes.get(table)
        return None if recipe is None else self.cached_table(table, *recipe)

    def cached_rows(self, table: str) -> int | None:
        with self._lock:
            if table not in self._tables:
                return None
            self._tables.move_to_end(table)
            return self._tables[table][0]

    def _evict(self, keep: str | None) -> None:
        while not self._holds and len(self._tables) > 1 and (
            len(self._tables) > self.max_cached_tables
            or sum(rows for rows, _ in self._tables.values()) > self.max_cached_rows
        ):
            oldest = next(iter(self._tables))
            if oldest == keep:
                break
            _, frame = self._tables.pop(oldest)
            # dropped from the catalog; Spark's cleaner frees the checkpointed blocks once the
            # DataFrame is unreferenced (unpersist covers a frame that was cached instead)
            self.session.catalog.dropTempView(oldest)
            frame.unpersist()

    def close(self) -> None:
        """Drop this snapshot's cached tables (the session stays: it may serve others)."""
        with self._lock:
            for table, (_, frame) in list(self._tables.items()):
                self.session.catalog.dropTempView(table)
                frame.unpersist()
            self._tables.clear()
