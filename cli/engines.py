"""Opening a snapshot on the engine a command asked for (``--engine duckdb|spark``).

The Spark master and the driver's memory come from the settings (``IOCOHORT_SPARK_MASTER``,
default ``local[*]``; ``IOCOHORT_SPARK_DRIVER_MEMORY``, default ``4g``): ``queries`` never
reads the environment, so this is where the engine is set up.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from config import Settings, settings_from_env
from queries.engine.base import Database, EngineUnavailable
from queries.snapshot.registry import SnapshotUnavailable, open_snapshot_folder
from queries.snapshot.validation import validate_snapshot


def open_snapshot_dir(snapshot_dir: Path, cache_dir: Path | None = None) -> Any:
    """Validate a snapshot folder, then build (once, into the cache) and open its database.

    Raises ``SnapshotUnavailable`` listing every problem of a broken snapshot.
    """
    if cache_dir is None:
        cache_dir = settings_from_env().cache_dir
    return open_snapshot_folder(Path(snapshot_dir), Path(cache_dir))


def _check_java() -> None:
    """Spark runs in a JVM: say so in one line when there is none, before starting it."""
    java_home = os.environ.get("JAVA_HOME", "")
    if java_home and Path(java_home, "bin", "java").exists():
        return
    if shutil.which("java") is None:
        raise EngineUnavailable("Spark needs Java, and no java was found (install a Java "
                                "runtime, e.g. Debian's default-jre-headless, or set JAVA_HOME)")


@contextmanager
def open_spark(snapshot: Path | str, settings: Settings | None = None) -> Iterator[Database]:
    """A snapshot on Spark for the length of a command; the session is stopped afterwards.

    Raises ``SettingError`` for a Spark setting that cannot be used, before anything starts.
    """
    settings = settings or settings_from_env()
    try:  # imported only when Spark is asked for (importing pyspark takes a while)
        from queries.engine.spark import SPARK_ERRORS, SparkSnapshot, active_session, spark_session
    except ImportError as exc:
        raise EngineUnavailable(f"pyspark cannot be imported ({exc})") from None

    location = str(snapshot)
    manifest = None
    if "://" not in location:  # a local folder: checked as for DuckDB (the files must exist)
        report = validate_snapshot(Path(location))
        if not report.usable:
            raise SnapshotUnavailable(report.snapshot_id, report.problems)
        manifest = report.manifest
    _check_java()
    running = active_session()  # a caller's session (tests) is used, and left running
    session = running or spark_session(settings.spark_master,
                                       driver_memory=settings.spark_driver_memory)
    try:
        db = SparkSnapshot.open(session, location, manifest)
        yield db
        db.close()
    except SPARK_ERRORS as exc:
        text = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise EngineUnavailable(f"Spark failed: {text}") from None
    finally:
        if running is None:
            session.stop()


@contextmanager
def open_engine(args: Any) -> Iterator[Database]:
    """The snapshot of ``args.snapshot`` on ``args.engine`` (DuckDB by default)."""
    if getattr(args, "engine", "duckdb") == "spark":
        with open_spark(args.snapshot) as db:
            yield db
        return
    db = open_snapshot_dir(args.snapshot, getattr(args, "cache_dir", None))
    try:
        yield db
    finally:
        db.close()
