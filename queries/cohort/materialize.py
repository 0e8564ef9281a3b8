"""Materialize a cohort definition once per (definition, snapshot) and hand out the Cohort."""

from __future__ import annotations

import hashlib

from queries.cohort.catalog import Catalog
from queries.cohort.compiler import compile_cohort, index_population_sql
from queries.cohort.kept_tables import Cohort, KeptSource, cached_cohort, materialize_sql
from queries.cohort.model import Definition
from queries.engine.base import Database


def snapshot_hash(snapshot_id: str) -> str:
    return hashlib.sha256(snapshot_id.encode("utf-8")).hexdigest()[:12]


def cohort_key(definition: Definition, snapshot_id: str) -> str:
    """Table key: what decides the patients (index event, enabled rules) plus the snapshot."""
    return f"{definition.logic_hash()[:32]}_{snapshot_hash(snapshot_id)}"


def index_source(db: Database, definition: Definition) -> KeptSource:
    """The kept table of a definition's index-event population (see :func:`index_table`)."""
    query = index_population_sql(definition.index_event)
    return KeptSource(f"index_{definition.index_hash()[:32]}_{snapshot_hash(db.snapshot_id)}",
                      query.sql, tuple(query.params),
                      definition.index_event.at_index_grace_days or 0)


def index_table(db: Database, definition: Definition) -> str:
    """The index-event population of a definition, kept as a table per (index event,
    snapshot), so that editing rules in the builder never recomputes it.

    Call inside ``db.hold()`` until the query using the name has run, so that no other
    request's table evicts it meanwhile.
    """
    return index_source(db, definition).cohort(db).table


def materialize_definition(db: Database, definition: Definition,
                           catalog: Catalog | None = None) -> Cohort:
    """The cohort table of a definition; built on first use, then reused by every query.

    The cohort remembers its index population (``Cohort.source``), so its analysis tables
    are filtered from those of the whole population instead of being computed again.
    """
    key = cohort_key(definition, db.snapshot_id)
    source = index_source(db, definition)
    with db.hold():
        cached = cached_cohort(db, key, source)
        if cached is not None:
            return cached
        query = compile_cohort(definition, catalog, source.cohort(db).table)
        return materialize_sql(db, key, query.sql, query.params, source)
