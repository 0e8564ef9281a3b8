"""Snapshot discovery: the registry of usable snapshots, each built once into a DuckDB file.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import duckdb

from queries.snapshot.database import (
    DEFAULT_CACHE_BYTES,
    SnapshotDatabase,
    build_database,
    database_key,
    interrupt_builds,
)
from queries.snapshot.files import MANIFEST
from queries.snapshot.schema import (
    TABLES,
)
from queries.snapshot.validation import (
    ERROR,
    WARNING,
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
        db_path = build_checked(Path(path), _manifest(report), Path(cache_dir))
    except Exception as exc:  # DuckDB, OS and pyarrow errors all mean "cannot serve it"
        problem = Problem(ERROR, message=f"could not build the snapshot database: "
                          f"{_first_line(exc)}")
        raise SnapshotUnavailable(report.snapshot_id, [problem]) from exc
    return SnapshotDatabase(report.snapshot_id, db_path, memory_limit=memory_limit)


class SnapshotPreparing(LookupError):
    """The snapshot's database is still being built or warmed in the background."""

    def __init__(self, snapshot_id: str, percent: int):
        self.snapshot_id = snapshot_id
        self.percent = percent
        super().__init__(f"preparing snapshot {snapshot_id} ({percent} %); "
                         "try again in a moment")


# Share of the preparation taken by the database build; the rest is warming (see prepare).
BUILD_SHARE = 0.85
WAITING, BUILDING, WARMING, READY, FAILED = "waiting", "building", "warming", "ready", "failed"


@dataclass(frozen=True)
class Preparation:
    """How far the background preparation of one snapshot has come."""

    snapshot_id: str
    state: str
    fraction: float = 0.0
    message: str = ""

    @property
    def percent(self) -> int:
        return int(self.fraction * 100)

    @property
    def settled(self) -> bool:
        """Requests may use the snapshot (ready), or get its problems (failed)."""
        return self.state in (READY, FAILED)

    def to_dict(self) -> dict[str, object]:
        return {"snapshot": self.snapshot_id, "state": self.state, "percent": self.percent,
                "message": self.message}


Warm = Callable[[SnapshotDatabase], None]
Report = Callable[[str], None]


@dataclass(frozen=True)
class SnapshotStatus:
    """One candidate folder of the snapshots directory and what is wrong with it."""

    snapshot_id: str
    path: Path
    manifest: dict[str, Any] | None
    problems: tuple[Problem, ...]

    @property
    def usable(self) -> bool:
        return not any(p.severity == ERROR for p in self.problems)

    @property
    def created(self) -> str:
        created = (self.manifest or {}).get("created")
        return created if isinstance(created, str) else ""


def _manifest(item: ValidationReport | SnapshotStatus) -> dict[str, Any]:
    """The manifest of a usable snapshot (a snapshot without a readable manifest is not)."""
    assert item.manifest is not None, item.path
    return item.manifest


def folder_fingerprint(path: Path) -> tuple[Any, ...]:
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

    def __init__(self, snapshots_dir: Path, cache_dir: Path, memory_limit: str | None = None,
                 max_cached_bytes: int = DEFAULT_CACHE_BYTES):
        self.snapshots_dir = Path(snapshots_dir)
        self.cache_dir = Path(cache_dir)
        self.memory_limit = memory_limit
        self.max_cached_bytes = max_cached_bytes
        self._lock = threading.RLock()
        self._refresh_lock = threading.Lock()
        self._validated: dict[Path, tuple[tuple[Any, ...], ValidationReport]] = {}
        self._statuses: list[SnapshotStatus] | None = None
        self._build_problems: dict[tuple[Path, str], Problem] = {}
        self._databases: dict[tuple[Path, str], SnapshotDatabase] = {}
        self._build_locks: dict[Path, threading.Lock] = {}
        self._preparations: dict[str, Preparation] = {}
        self._stopping = threading.Event()
        self._preparer: threading.Thread | None = None

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
        failed build is recorded as a problem of that snapshot. While ``start_preparing``
        is still building or warming it, raises SnapshotPreparing instead of waiting.
        """
        with self._lock:
            preparation = self._preparations.get(snapshot_id)
        if preparation is not None and not preparation.settled:
            raise SnapshotPreparing(snapshot_id, preparation.percent)
        return self._open(snapshot_id)

    def start_preparing(self, warm: Warm | None = None, report: Report | None = None
                        ) -> threading.Thread:
        """Build or verify every usable snapshot's database in a background thread (the
        default first), then ``warm`` each; until one is done, ``database`` raises
        SnapshotPreparing for it. ``report`` gets a progress line every 10 %."""
        with self._lock:
            for status in self.statuses():
                if status.usable:
                    self._preparations.setdefault(status.snapshot_id,
                                                  Preparation(status.snapshot_id, WAITING))
        thread = threading.Thread(target=self.prepare_all, args=(warm, report),
                                  name="snapshot-prepare", daemon=True)
        self._preparer = thread
        thread.start()
        return thread

    def stop_preparing(self, timeout: float = 10.0) -> None:
        """Stop the background preparation (a build in progress is interrupted and
        discarded) and wait up to ``timeout`` seconds for its thread to end."""
        self._stopping.set()
        interrupt_builds()
        if self._preparer is not None:
            self._preparer.join(timeout)

    def prepare_all(self, warm: Warm | None = None, report: Report | None = None
                    ) -> list[Preparation]:
        """Build (or verify) and warm every usable snapshot, newest first; each outcome."""
        return [self.prepare(status.snapshot_id, warm, report)
                for status in self.statuses() if status.usable and not self._stopping.is_set()]

    def prepare(self, snapshot_id: str, warm: Warm | None = None, report: Report | None = None
                ) -> Preparation:
        """Build or verify one snapshot's database, then run ``warm`` on it (e.g. build the
        tables every user needs first). A failed warm-up leaves the snapshot usable."""
        say = report or (lambda line: None)
        shown: list[tuple[str, int]] = []

        def progress(state: str, fraction: float, message: str = "") -> None:
            self._set_preparation(Preparation(snapshot_id, state, fraction, message))
            step = (state, int(fraction * 10))
            if not shown or shown[-1] != step:
                shown.append(step)
                say(f"preparing snapshot {snapshot_id}: {int(fraction * 100)} % ({state}"
                    f"{': ' + message if message else ''})")

        started = time.perf_counter()
        progress(BUILDING, 0.0)
        try:
            db = self._open(snapshot_id, lambda f: progress(BUILDING, BUILD_SHARE * f))
        except (SnapshotUnavailable, KeyError) as exc:
            progress(FAILED, 0.0, _first_line(exc))
            return self._preparation(snapshot_id)
        if warm is not None and not self._stopping.is_set():
            progress(WARMING, BUILD_SHARE)
            try:
                warm(db)
                # No request uses the database yet: compress what warming built.
                kept_mb = db.compact() / 2**20
                say(f"snapshot {snapshot_id}: {len(db.kept_tables())} tables kept, "
                    f"{kept_mb:.0f} MB compressed")
            except Exception as exc:  # the database works without the warm tables
                say(f"warming snapshot {snapshot_id} failed: {_first_line(exc)}")
        progress(READY, 1.0, f"in {time.perf_counter() - started:.1f} s")
        return self._preparation(snapshot_id)

    def preparing(self) -> list[dict[str, object]]:
        """Every background preparation (snapshot, state, percent) for health checks."""
        with self._lock:
            return [p.to_dict() for p in self._preparations.values()]

    def is_ready(self, snapshot_id: str) -> bool:
        """The snapshot's database can serve now without building anything."""
        with self._lock:
            preparation = self._preparations.get(snapshot_id)
            if preparation is not None:
                return preparation.state == READY
            return any(db.snapshot_id == snapshot_id for db in self._databases.values())

    def _set_preparation(self, preparation: Preparation) -> None:
        with self._lock:
            self._preparations[preparation.snapshot_id] = preparation

    def _preparation(self, snapshot_id: str) -> Preparation:
        with self._lock:
            return self._preparations[snapshot_id]

    def _open(self, snapshot_id: str, progress: Callable[[float], None] | None = None
              ) -> SnapshotDatabase:
        status = self.get(snapshot_id)
        if not status.usable:
            raise SnapshotUnavailable(snapshot_id, list(status.problems))
        key = (status.path, database_key(_manifest(status)))
        with self._lock:
            if key in self._databases:
                return self._databases[key]
            build_lock = self._build_locks.setdefault(status.path, threading.Lock())
        with build_lock:
            with self._lock:
                if key in self._databases:
                    return self._databases[key]
            path = self._build(status, key, progress)
            db = SnapshotDatabase(status.snapshot_id, path, memory_limit=self.memory_limit,
                                  max_cached_bytes=self.max_cached_bytes)
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
        """Statuses with build failures and duplicate ids added to the validation problems.

        Two folders with one id: the first usable one in folder-name order is served (the
        same choice on every start and in every worker); both are named in a problem of each.
        """
        served: dict[str, ValidationReport] = {}
        for report in sorted(reports, key=lambda r: (not r.usable, str(r.path))):
            served.setdefault(report.snapshot_id, report)
        statuses = []
        for report in sorted(reports, key=lambda r: (not r.usable, str(r.path))):
            problems = list(report.problems)
            if report.usable:
                build = self._build_problems.get((report.path, database_key(_manifest(report))))
                problems += [build] if build else []
            others = [r for r in reports
                      if r.snapshot_id == report.snapshot_id and r.path != report.path]
            if others:
                problems.append(self._duplicate_problem(report, served[report.snapshot_id],
                                                        others))
            statuses.append(SnapshotStatus(report.snapshot_id, report.path, report.manifest,
                                           tuple(problems)))
        return statuses

    def _folder(self, path: Path) -> str:
        """A folder named relative to the snapshots directory (no absolute server path)."""
        try:
            return str(path.relative_to(self.snapshots_dir))
        except ValueError:
            return path.name

    def _duplicate_problem(self, report: ValidationReport, served: ValidationReport,
                           others: list[ValidationReport]) -> Problem:
        names = ", ".join(f"'{self._folder(r.path)}'" for r in others)
        this = f"'{self._folder(report.path)}'"
        if not served.usable:
            return Problem(WARNING, MANIFEST, None, None,
                           f"snapshot id {report.snapshot_id} is also used by folder {names}; "
                           "none of these folders is usable")
        if report is served:
            return Problem(WARNING, MANIFEST, None, None,
                           f"snapshot id {report.snapshot_id} is also used by folder {names}; "
                           f"this folder {this} is served (first usable in folder-name order), "
                           "the other skipped")
        severity = ERROR if report.usable else WARNING
        return Problem(severity, MANIFEST, None, None,
                       f"snapshot id {report.snapshot_id} is also used by folder {names}; "
                       f"folder '{self._folder(served.path)}' is served (first usable in "
                       f"folder-name order), this folder {this} is skipped")

    @staticmethod
    def _order(statuses: list[SnapshotStatus]) -> list[SnapshotStatus]:
        usable = sorted((s for s in statuses if s.usable),
                        key=lambda s: (s.created, s.snapshot_id), reverse=True)
        broken = sorted((s for s in statuses if not s.usable), key=lambda s: s.path.name)
        return usable + broken

    def _build(self, status: SnapshotStatus, key: tuple[Path, str],
               progress: Callable[[float], None] | None = None) -> Path:
        try:
            return build_checked(status.path, _manifest(status), self.cache_dir, progress)
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


def build_checked(folder: Path, manifest: dict[str, Any], cache_dir: Path,
                  progress: Callable[[float], None] | None = None) -> Path:
    """Build (once) and probe a snapshot's database; a corrupt cached file is rebuilt once.

    ``progress`` gets the fraction built (0 to 1); a database built before reports 1 at once.
    """
    path = build_database(folder, manifest, cache_dir, progress)
    try:
        _probe(path)
    except duckdb.Error:
        path.unlink(missing_ok=True)
        path = build_database(folder, manifest, cache_dir, progress)
        _probe(path)
    if progress is not None:
        progress(1.0)
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
