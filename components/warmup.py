"""What a server worker does for a snapshot before it reports ready (see app.py).

Besides the database build, the first request of a process pays one-time costs: the field
catalog, the default index event's population tables, Dash's set-up at its first request and
plotly's at its first figure (~1.5 s). They are paid here, and the default cohort's analysis
(what the analysis page shows before a cohort is built) is computed and cached.
"""

from __future__ import annotations

import flask

from components import figures
from components.analysis_page import DEFAULT_DEFINITION
from components.cohort_access import service_for
from queries.analyses import panels as analysis
from queries.analyses.panels import prepare_index_population
from queries.cohort.importing import load_definition
from queries.snapshot.database import SnapshotDatabase


def warm_snapshot(server: flask.Flask, db: SnapshotDatabase) -> None:
    """Read the catalog, build the default index population's tables, analyse the default
    cohort and draw each kind of figure once (run by the registry's background preparation)."""
    service = service_for(server, db)
    catalog = service.catalog
    prepare_index_population(db)
    cohort = service.cohort(load_definition(DEFAULT_DEFINITION, catalog))
    bundle = analysis.analyze(cohort, analysis.AnalysisOptions())
    for result in bundle.survival.values():
        figures.survival_figure(result)
    if bundle.response is not None:
        figures.response_rates_figure(bundle.response)
        figures.bor_figure(bundle.response)
    if bundle.safety is not None:
        figures.safety_figure(bundle.safety)
    server.test_client().get("/healthz/live")  # Dash sets itself up at its first request
