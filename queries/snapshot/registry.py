"""Snapshot discovery: the registry of usable snapshots, each built once into a DuckDB file.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb

from queries.snapshot.database import SnapshotDatabase, build_database, database_key
from queries.snapshot.files import MANIFEST
from queries.snapshot.schema import (
    TABLES,
)
from queries.snapshot.validation import (
    ERROR,
    Problem,
    ValidationReport,
    _first_line,
    validate_snapshot,
)


class SnapshotUnavailable(LookupError):
    """The snapshot cannot be served; ``problems`` says why."""

    def __init__(self, snapshot_id: str, problems: list[Problem]):
        self.snapshot_id = snapshot_id
        self.problems = problems
        reasons = "; ".join(str(p) for p in problems if p.severity == ERROR) or "unknown"
        super().__init__(f"snapshot {snapshot_id} is not usable: {reasons}")


def open_snapshot_folder(path: Path, cache_dir: Path, memory_limit: str | None = None
                         ) -> SnapshotDatabase:
    """Validate one snapshot folder, then build (once) and open its database.

    For command-line tasks; raises SnapshotUnavailable listing every problem instead.
    """
    report = validate_snapshot(path)
    if not report.usable:
        raise SnapshotUnavailable(report.snapshot_id, report.problems)
    try:
        db_path = build_checked(Path(path), report.manifest, Path(cache_dir))
    except Exception as exc:  # DuckDB, OS and pyarrow errors all mean "cannot serve it"
        problem = Problem(ERROR, message=f"could not build the snapshot database: "
                          f"{_first_line(exc)}")
        raise SnapshotUnavailable(report.snapshot_id, [problem]) from exc
    return SnapshotDatabase(report.snapshot_id, db_path, memory_limit=memory_limit)


@dataclass(frozen=True)
class SnapshotStatus:
    """One candidate folder of the snapshots directory and what is wrong with it."""

    snapshot_id: str
    path: Path
    manifest: dict | None
    problems: tuple[Problem, ...]

    @property
    def usable(self) -> bool:
        return not any(p.severity == ERROR for p in self.problems)

    @property
    def created(self) -> str:
        created = (self.manifest or {}).get("created")
        return created if isinstance(created, str) else ""


def folder_fingerprint(path: Path) -> tuple:
    """Cheap identity of a folder's contents (names, sizes, mtimes) to reuse a validation."""
    try:
        stats = []
        for entry in sorted(path.iterdir()) if path.is_dir() else []:
            stat = entry.stat()
            stats.append((entry.name, stat.st_size, stat.st_mtime_ns))
        return (path.stat().st_mtime_ns, tuple(stats))
    except OSError:
        return ("unreadable", time.monotonic_ns())  # never equal, so it is re-validated


class SnapshotRegistry:
    """The snapshots of a directory: validated, newest valid first, databases built on demand.

    Thread-safe. A broken snapshot, or one whose database cannot be built, becomes a status
    with problems; it is skipped and never raises out of ``refresh``/``statuses``/``default``.
    """

    def __init__(self, snapshots_dir: Path, cache_dir: Path, memory_limit: str | None = None):
        self.snapshots_dir = Path(snapshots_dir)
        self.cache_dir = Path(cache_dir)
        self.memory_limit = memory_limit
        self._lock = threading.RLock()
        self._refresh_lock = threading.Lock()
        self._validated: dict[Path, tuple[tuple, ValidationReport]] = {}
        self._statuses: list[SnapshotStatus] | None = None
        self._build_problems: dict[tuple[Path, str], Problem] = {}
        self._databases: dict[tuple[Path, str], SnapshotDatabase] = {}
        self._build_locks: dict[Path, threading.Lock] = {}

    def candidates(self) -> list[Path]:
        """Folders that may be snapshots: the directory itself if it has a manifest, else
        every sub-folder (hidden ones and the cache folder excluded)."""
        root = self.snapshots_dir
        if (root / MANIFEST).is_file():
            return [root]
        try:
            folders = [p for p in root.iterdir() if p.is_dir()]
        except OSError:
            return []
        cache = self.cache_dir.resolve()
        return sorted(p for p in folders
                      if not p.name.startswith((".", "__")) and p.resolve() != cache)

    def refresh(self) -> list[SnapshotStatus]:
        """Re-validate changed folders and return every status, newest valid first."""
        with self._refresh_lock:
            reports = [self._validate(path) for path in self.candidates()]
            with self._lock:
                self._statuses = self._order(self._with_registry_problems(reports))
                return list(self._statuses)

    def statuses(self) -> list[SnapshotStatus]:
        with self._lock:
            if self._statuses is not None:
                return list(self._statuses)
        return self.refresh()

    def default(self) -> SnapshotStatus | None:
        """The newest usable snapshot (by manifest ``created``, then id), or None."""
        return next((s for s in self.statuses() if s.usable), None)

    def get(self, snapshot_id: str) -> SnapshotStatus:
        """The status of a snapshot id (a usable one first); KeyError when unknown."""
        matches = [s for s in self.statuses() if s.snapshot_id == snapshot_id]
        if not matches:
            raise KeyError(snapshot_id)
        return next((s for s in matches if s.usable), matches[0])

    def database(self, snapshot_id: str) -> SnapshotDatabase:
        """The built database of a usable snapshot, built once and cached.

        Raises KeyError for an unknown id and SnapshotUnavailable for a broken one; a
        failed build is recorded as a problem of that snapshot.
        """
        status = self.get(snapshot_id)
        if not status.usable:
            raise SnapshotUnavailable(snapshot_id, list(status.problems))
        key = (status.path, database_key(status.manifest))
        with self._lock:
            if key in self._databases:
                return self._databases[key]
            build_lock = self._build_locks.setdefault(status.path, threading.Lock())
        with build_lock:
            with self._lock:
                if key in self._databases:
                    return self._databases[key]
            path = self._build(status, key)
            db = SnapshotDatabase(status.snapshot_id, path, memory_limit=self.memory_limit)
            with self._lock:
                self._databases[key] = db
            return db

    def open_default(self) -> tuple[SnapshotStatus, SnapshotDatabase] | None:
        """The newest snapshot whose database opens, skipping any that fail to build."""
        for status in self.statuses():
            if status.usable:
                try:
                    return status, self.database(status.snapshot_id)
                except SnapshotUnavailable:
                    continue
        return None

    def _validate(self, path: Path) -> ValidationReport:
        fingerprint = folder_fingerprint(path)
        cached = self._validated.get(path)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        try:
            report = validate_snapshot(path)
        except Exception as exc:  # a bug in a check must not take the registry down
            report = ValidationReport(path=path, snapshot_id=path.name)
            report.add(ERROR, f"validation failed unexpectedly: {type(exc).__name__}: {exc}")
        self._validated[path] = (fingerprint, report)
        return report

    def _with_registry_problems(self, reports: list[ValidationReport]) -> list[SnapshotStatus]:
        """Statuses with build failures and duplicate ids added to the validation problems."""
        seen: dict[str, Path] = {}
        statuses = []
        for report in sorted(reports, key=lambda r: (not r.usable, str(r.path))):
            problems = list(report.problems)
            if report.usable:
                build = self._build_problems.get((report.path, database_key(report.manifest)))
                problems += [build] if build else []
            if report.snapshot_id in seen and report.usable:
                problems.append(Problem(ERROR, MANIFEST, None, None,
                                        f"snapshot id {report.snapshot_id} is also used by "
                                        f"{seen[report.snapshot_id]}; this copy is skipped"))
            seen.setdefault(report.snapshot_id, report.path)
            statuses.append(SnapshotStatus(report.snapshot_id, report.path, report.manifest,
                                           tuple(problems)))
        return statuses

    @staticmethod
    def _order(statuses: list[SnapshotStatus]) -> list[SnapshotStatus]:
        usable = sorted((s for s in statuses if s.usable),
                        key=lambda s: (s.created, s.snapshot_id), reverse=True)
        broken = sorted((s for s in statuses if not s.usable), key=lambda s: s.path.name)
        return usable + broken

    def _build(self, status: SnapshotStatus, key: tuple[Path, str]) -> Path:
        try:
            return build_checked(status.path, status.manifest, self.cache_dir)
        except Exception as exc:  # DuckDB, OS and pyarrow errors all mean "cannot serve it"
            problem = Problem(ERROR, None, None, None,
                              f"could not build the snapshot database: {_first_line(exc)}")
            with self._lock:
                self._build_problems[key] = problem
                self._replace_status(status, problem)
            raise SnapshotUnavailable(status.snapshot_id, [problem]) from exc

    def _replace_status(self, status: SnapshotStatus, problem: Problem) -> None:
        if self._statuses is None:
            return
        updated = [replace(s, problems=s.problems + (problem,)) if s.path == status.path else s
                   for s in self._statuses]
        self._statuses = self._order(updated)


def build_checked(folder: Path, manifest: dict, cache_dir: Path) -> Path:
    """Build (once) and probe a snapshot's database; a corrupt cached file is rebuilt once."""
    path = build_database(folder, manifest, cache_dir)
    try:
        _probe(path)
    except duckdb.Error:
        path.unlink(missing_ok=True)
        path = build_database(folder, manifest, cache_dir)
        _probe(path)
    return path


def _probe(path: Path) -> None:
    """Open a built database read-only and check every table is there (then close it)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    finally:
        con.close()
    missing = sorted(set(TABLES) - names)
    if missing:
        raise duckdb.IOException(f"built database lacks tables {', '.join(missing)}")
