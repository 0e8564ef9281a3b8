"""Glue used by callbacks: the active snapshot, the current cohort, and the audit record.

Every callback that touches data follows the same order:
``user = require_role(...)`` -> ``open_cohort(...)`` -> analysis in ``queries`` ->
``queries.disclosure`` for ``user.role`` -> ``audit_query(...)`` -> figure.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.context import app_context
from queries.cohort import Cohort
from queries.database import SnapshotDatabase


class NoSnapshot(LookupError):
    """No usable snapshot is available (all broken, or none configured)."""


@dataclass(frozen=True)
class OpenCohort:
    """A validated definition materialized on a snapshot."""

    definition: object  # queries.definition.CohortDefinition
    definition_hash: str
    cohort: Cohort


def active_database(snapshot_id: str | None) -> SnapshotDatabase:
    """The chosen snapshot's database, or the default one when none (or an unusable) is chosen."""
    registry = app_context().registry
    usable = {s.snapshot_id for s in registry.statuses() if s.usable}
    if snapshot_id not in usable:
        default = registry.default()
        if default is None:
            raise NoSnapshot("no usable snapshot is available; see the Snapshots page")
        snapshot_id = default.snapshot_id
    return registry.database(snapshot_id)


def open_cohort(definition_data: dict, snapshot_id: str | None) -> OpenCohort:
    """Validate a definition (raises the model's validation error) and materialize it."""
    from queries.cohorts import materialize_definition
    from queries.definition import parse_definition

    definition = parse_definition(definition_data)
    db = active_database(snapshot_id)
    cohort = materialize_definition(db, definition)
    return OpenCohort(definition=definition, definition_hash=definition.content_hash(), cohort=cohort)


def audit_query(user, action: str, opened: OpenCohort | None, suppressed=(), detail: str = "") -> None:
    """Append the query to the audit log (who, role, definition hash, snapshot, suppressed)."""
    from access.audit import record_query

    record_query(
        user=user.username,
        role=user.role,
        action=action,
        definition_hash=opened.definition_hash if opened else None,
        snapshot_id=opened.cohort.snapshot_id if opened else None,
        suppressed=list(suppressed),
        detail=detail,
    )
