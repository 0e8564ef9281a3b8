"""One snapshot's cohorts, attrition and catalog behind one object (the app's entry point)."""

from __future__ import annotations

from dataclasses import dataclass, field

from queries.cohort.attrition import Attrition, compute_attrition
from queries.cohort.catalog import Catalog, build_catalog
from queries.cohort.kept_tables import Cohort
from queries.cohort.materialize import materialize_definition
from queries.cohort.model import Definition
from queries.snapshot.database import SnapshotDatabase


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

    def attrition(self, definition: Definition) -> Attrition:
        return compute_attrition(self.db, definition, self.catalog)
