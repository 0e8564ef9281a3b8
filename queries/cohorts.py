"""Materialize a cohort definition once per (definition, snapshot) and hand out the Cohort."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from queries.catalog import Catalog, build_catalog
from queries.cohort import Cohort, materialize_sql
from queries.compiler import compile_cohort
from queries.database import SnapshotDatabase
from queries.definition import Definition


def snapshot_hash(snapshot_id: str) -> str:
    return hashlib.sha256(snapshot_id.encode("utf-8")).hexdigest()[:12]


def cohort_key(definition: Definition, snapshot_id: str) -> str:
    """Table key: what decides the patients (index event, enabled rules) plus the snapshot."""
    return f"{definition.logic_hash()[:32]}_{snapshot_hash(snapshot_id)}"


def materialize_definition(db: SnapshotDatabase, definition: Definition,
                           catalog: Catalog | None = None) -> Cohort:
    """The cohort table of a definition; built on first use, then reused by every query."""
    query = compile_cohort(definition, catalog)
    return materialize_sql(db, cohort_key(definition, db.snapshot_id), query.sql, query.params)


@dataclass
class CohortService:
    """One snapshot's cohorts, attrition and catalog (the catalog is read once, lazily)."""

    db: SnapshotDatabase
    _catalog: Catalog | None = field(default=None, repr=False)

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = build_catalog(self.db)
        return self._catalog

    def cohort(self, definition: Definition) -> Cohort:
        return materialize_definition(self.db, definition, self.catalog)

    def attrition(self, definition: Definition):
        from queries.attrition import compute_attrition

        return compute_attrition(self.db, definition, self.catalog)
