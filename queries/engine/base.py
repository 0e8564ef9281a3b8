"""The small interface every engine implements (structural: nothing needs to inherit it)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol

import pandas as pd

Params = list[Any] | dict[str, Any]


class EngineUnavailable(RuntimeError):
    """The engine cannot run here (no Java, no Spark, an unreachable master); one line why."""


class Cursor(Protocol):
    """Runs one statement at a time; results are aggregates or a few rows."""

    def execute(self, query: str, parameters: object = None) -> Cursor: ...

    def fetchall(self) -> list[Any]: ...

    def fetchone(self) -> Any: ...

    def df(self) -> pd.DataFrame: ...

    def fetchnumpy(self) -> Any:
        """Columns as numpy arrays (engines with ``local_rows`` only)."""


class Database(Protocol):
    """One snapshot on one engine.

    ``local_rows`` tells whether per-patient rows may be read into this process cheaply (an
    in-process DuckDB); where not (Spark), analyses aggregate in the engine and read only the
    aggregates.
    """

    snapshot_id: str
    local_rows: bool

    @property
    def path(self) -> object:
        """Where the engine reads the snapshot (a database file, a folder or a URI)."""

    def hold(self) -> AbstractContextManager[None]:
        """Within the block, the derived tables in use are not evicted."""

    @property
    def lock(self) -> AbstractContextManager[None]: ...

    def cursor(self) -> Cursor: ...

    def cached_table(self, table: str, sql: str, params: Params) -> int: ...

    def cached_rows(self, table: str) -> int | None: ...

    def ensure(self, table: str) -> int | None:
        """Rows of ``table``, made again from its SQL if it was evicted; None if never made."""

    def close(self) -> None: ...
