"""Writing snapshot folders: Parquet files with the schema's types, and the manifest.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from queries.snapshot.database import SnapshotDatabase, build_database
from queries.snapshot.schema import (
    SCHEMA_VERSION,
    TABLES,
    tables_of,
)

MANIFEST = "manifest.json"

_ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "INTEGER": pa.int32(),
    "DOUBLE": pa.float64(),
    "DATE": pa.date32(),
    "BOOLEAN": pa.bool_(),
}


def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema of a table (its columns are the same in every schema version)."""
    return pa.schema([(col, _ARROW_TYPES[typ]) for col, typ in TABLES[table].items()])


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_table(frame: pd.DataFrame | pa.Table, path: Path, table: str) -> int:
    """Write one table as Parquet with the schema's types; returns the row count."""
    schema = arrow_schema(table)
    if isinstance(frame, pd.DataFrame):
        data = pa.Table.from_pandas(frame.loc[:, list(TABLES[table])], schema=schema,
                                    preserve_index=False)
    else:
        data = frame.select(list(TABLES[table])).cast(schema)
    pq.write_table(data, path, compression="zstd")
    rows: int = data.num_rows
    return rows


def write_manifest(out: Path, snapshot_id: str, source: str, created: str | None = None,
                   schema_version: int = SCHEMA_VERSION) -> dict[str, Any]:
    """Write manifest.json for the table files of ``schema_version`` already in ``out``."""
    manifest: dict[str, Any] = {
        "id": snapshot_id,
        "created": created or date.today().isoformat(),
        "source": source,
        "schema_version": schema_version,
        "tables": {},
    }
    for table in tables_of(schema_version):
        path = out / f"{table}.parquet"
        manifest["tables"][table] = {
            "file": path.name,
            "rows": pq.ParquetFile(path).metadata.num_rows,
            "sha256": file_sha256(path),
        }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def write_snapshot(
    tables: dict[str, pd.DataFrame | pa.Table],
    out: Path,
    snapshot_id: str,
    source: str,
    created: str | None = None,
    schema_version: int = SCHEMA_VERSION,
) -> dict[str, Any]:
    """Write a complete snapshot folder of ``schema_version`` (tests write version 1 too);
    tables missing from ``tables`` are written empty."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for table in tables_of(schema_version):
        frame = tables.get(table)
        if frame is None:
            frame = arrow_schema(table).empty_table()
        write_table(frame, out / f"{table}.parquet", table)
    return write_manifest(out, snapshot_id, source, created, schema_version)


def open_snapshot(snapshot_dir: Path, cache_dir: Path) -> SnapshotDatabase:
    """Build (once, into ``cache_dir``: never inside the read-only snapshot folder) and open
    the DuckDB database of a snapshot folder, without validating it first."""
    snapshot_dir = Path(snapshot_dir)
    manifest = json.loads((snapshot_dir / "manifest.json").read_text())
    cache_dir = Path(cache_dir)
    path = build_database(snapshot_dir, manifest, cache_dir)
    return SnapshotDatabase(manifest["id"], path)


def snapshot_database(tables: dict[str, Any], folder: Path, snapshot_id: str,
                      source: str = "hand-made") -> SnapshotDatabase:
    """Write DataFrames as a snapshot folder and open it (tests, published reference data)."""
    folder = Path(folder)
    write_snapshot(tables, folder / "snapshot", snapshot_id, source)
    return open_snapshot(folder / "snapshot", folder / "cache")
