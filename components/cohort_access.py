"""Glue used by callbacks: the active snapshot, the current cohort, and the audit record.

Every callback that touches data follows the same order:
``user = require_role(...)`` -> ``open_cohort(...)`` -> analysis in ``queries`` ->
``queries.disclosure`` for ``user.role`` -> ``audit_query(...)`` -> figure.
"""

from __future__ import annotations

from dataclasses import dataclass

import flask

from access.audit import record_query
from components.context import app_context
from components.i18n import _
from queries.cohort.importing import load_definition
from queries.cohort.kept_tables import Cohort
from queries.cohort.service import CohortService
from queries.snapshot.database import SnapshotDatabase
from queries.snapshot.registry import SnapshotPreparing, SnapshotUnavailable

_SERVICES_KEY = "iocohort.cohort_services"


class NoSnapshot(LookupError):
    """No usable snapshot is available (all broken, or none configured)."""


@dataclass(frozen=True)
class OpenCohort:
    """A validated definition materialized on a snapshot."""

    definition: object  # queries.cohort.model.Definition
    definition_hash: str
    cohort: Cohort


def active_database(snapshot_id: str | None) -> SnapshotDatabase:
    """The chosen snapshot's database, or the default one when none (or an unusable) is chosen."""
    registry = app_context().registry
    usable = {s.snapshot_id for s in registry.statuses() if s.usable}
    if snapshot_id not in usable:
        default = registry.default()
        if default is None:
            raise NoSnapshot(_("no usable snapshot is available; see the Snapshots page"))
        snapshot_id = default.snapshot_id
    try:
        return registry.database(snapshot_id)
    except SnapshotPreparing as exc:  # built in the background: say so instead of waiting
        raise NoSnapshot(str(exc)) from exc
    except SnapshotUnavailable as exc:  # e.g. its database could not be built
        raise NoSnapshot(_("snapshot {snapshot} is not usable: {problem}", snapshot=snapshot_id,
                           problem=exc)) from exc


def cohort_service(snapshot_id: str | None) -> CohortService:
    """The active snapshot's CohortService (its field catalog is read once per app and snapshot)."""
    return service_for(flask.current_app, active_database(snapshot_id))


def service_for(server: flask.Flask, db: SnapshotDatabase) -> CohortService:
    """The app's CohortService of ``db`` (created on first use)."""
    services: dict = server.extensions.setdefault(_SERVICES_KEY, {})
    key = (db.snapshot_id, str(db.path))
    service = services.get(key)
    if service is None or service.db is not db:
        service = services[key] = CohortService(db)
    return service


def open_cohort(definition_data: dict, snapshot_id: str | None) -> OpenCohort:
    """Validate a definition (raises ``DefinitionError`` listing every problem) and materialize it."""
    service = cohort_service(snapshot_id)
    definition = load_definition(definition_data, service.catalog)
    cohort = service.cohort(definition)
    return OpenCohort(definition=definition, definition_hash=definition.content_hash(), cohort=cohort)


def audit_query(user, action: str, opened: OpenCohort | None, suppressed=(), detail: str = "") -> None:
    """Append the query to the audit log (who, role, definition hash, snapshot, suppressed)."""
    audit_definition(user, action, opened.definition_hash if opened else None,
                     opened.cohort.snapshot_id if opened else None, suppressed, detail)


def audit_definition(user, action: str, definition_hash: str | None, snapshot_id: str | None,
                     suppressed=(), detail: str = "") -> None:
    """Audit a query that needs no materialized cohort (e.g. attrition counts)."""
    record_query(
        user=user.username,
        role=user.role,
        action=action,
        definition_hash=definition_hash,
        snapshot_id=snapshot_id,
        suppressed=list(suppressed),
        detail=detail,
    )
