"""Composition root: builds the Flask server, sign-in, the Dash app, and registers pages."""

from __future__ import annotations

import atexit
import importlib
import logging
import os
import sys
from pathlib import Path

import dash
import flask

from config import ROOT, Settings, settings_from_env
from queries.analyses.panels import configure_result_cache
from queries.snapshot.registry import SnapshotRegistry

# Page modules: importing one adds its page to components.pages; its ``register(app)`` gives
# its callbacks to ``app`` through Dash's public ``app.callback``, for every app this process
# builds (tests build one app per test).
PAGE_MODULES = (
    "components.shell",
    "components.snapshots_page",
    "components.builder.page",
    "components.analysis_page",
    "components.compare_page",
    "components.compare_study",
    "components.feasibility_page",
    "components.summaries_page",
    "components.admin_page",
)

log = logging.getLogger("iocohort")

def _register_health(server: flask.Flask, registry: SnapshotRegistry) -> None:
    """Liveness (the process answers) apart from readiness (the default snapshot is open).

    ``/healthz/live`` is 200 whenever the worker answers; ``/healthz/ready`` is 200 once the
    default snapshot's database is ready and 503 (with the progress) before; ``/healthz``
    reports both as JSON with status 200. None of them touches the app store or DuckDB.
    """

    def report() -> dict[str, object]:
        default = registry.default()
        preparing = registry.preparing()
        ready = default is not None and registry.is_ready(default.snapshot_id)
        return {
            "status": "ok" if default else "degraded",
            "snapshot": default.snapshot_id if default else None,
            "live": True,
            "ready": ready,
            "preparing": preparing,
        }

    @server.get("/healthz")
    def healthz() -> flask.Response:
        return flask.jsonify(report())

    @server.get("/healthz/live")
    def healthz_live() -> flask.Response:
        return flask.jsonify(live=True)

    @server.get("/healthz/ready")
    def healthz_ready() -> tuple[flask.Response, int]:
        body = report()
        return flask.jsonify(body), 200 if body["ready"] else 503


def create_app(settings: Settings | None = None) -> dash.Dash:
    """Build the app for ``settings`` (from the environment when omitted)."""
    from access.auth import init_auth, seed_demo_users
    from components import request_checks, shell
    from components.context import AppContext, install
    from components.i18n import install_html_lang

    settings = settings or settings_from_env()
    server = flask.Flask(__name__)
    server.config["SECRET_KEY"] = settings.secret_key
    registry = SnapshotRegistry(settings.snapshots_dir, settings.cache_dir,
                                memory_limit=f"{settings.duckdb_memory_mb}MB",
                                max_cached_bytes=settings.cache_mb * 1024**2)
    configure_result_cache(settings.results_mb * 1024**2)
    registry.refresh()
    install(server, AppContext(settings=settings, registry=registry))
    init_auth(server, settings)
    seed_demo_users(settings)  # only in demo mode bound to localhost
    _register_health(server, registry)

    page_modules = [importlib.import_module(module) for module in PAGE_MODULES]
    app = dash.Dash(
        __name__,
        server=server,
        title="IO Cohort Explorer",
        assets_folder=str(ROOT / "assets"),
        suppress_callback_exceptions=True,
        update_title=None,
        on_error=shell.on_callback_error,
    )
    app.layout = shell.layout
    install_html_lang(app)
    for module in page_modules:
        module.register(app)
    request_checks.install(app)
    return app


def start_preparing_snapshots(app: dash.Dash) -> None:
    """Build or verify every snapshot's database and its default index population in the
    background, logging progress; requests meanwhile see "preparing snapshot X (n %)"."""
    from components.context import EXTENSION_KEY
    from components.warmup import warm_snapshot

    server = app.server
    registry = server.extensions[EXTENSION_KEY].registry
    registry.start_preparing(warm=lambda db: warm_snapshot(server, db), report=log.info)
    # A worker that stops mid-build interrupts it rather than abort inside DuckDB at exit.
    atexit.register(registry.stop_preparing)


def main() -> None:
    """``python -m app``: serve with gunicorn and ``gunicorn.conf.py``, as ``make run`` does."""
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [str(gunicorn) if gunicorn.exists() else "gunicorn",
               "--config", str(ROOT / "gunicorn.conf.py"), "--chdir", str(ROOT), "wsgi:app"]
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
