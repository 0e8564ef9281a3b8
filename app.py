"""Composition root: builds the Flask server, sign-in, the Dash app, and registers pages."""

from __future__ import annotations

import importlib
import logging

import dash
import flask

from config import ROOT, Settings, settings_from_env
from queries.snapshot.registry import SnapshotRegistry

# Page modules: importing one registers its layout and callbacks (global dash.callback).
PAGE_MODULES = (
    "components.shell",
    "components.snapshots_page",
    "components.builder.page",
    "components.analysis_page",
    "components.compare_page",
    "components.feasibility_page",
    "components.summaries_page",
    "components.admin_page",
)

log = logging.getLogger("iocohort")

# Dash hands callbacks registered with the global ``dash.callback`` to the first app only (it
# pops them at its first request), so they are kept here and given to every app this process
# builds (tests build one app per test).
_PAGE_CALLBACKS: tuple[dict, list] = ({}, [])


def _attach_page_callbacks(app: dash.Dash) -> None:
    from dash import _callback

    callback_map, callback_list = _PAGE_CALLBACKS
    callback_map.update(_callback.GLOBAL_CALLBACK_MAP)
    callback_list.extend(_callback.GLOBAL_CALLBACK_LIST)
    _callback.GLOBAL_CALLBACK_MAP.clear()
    _callback.GLOBAL_CALLBACK_LIST.clear()
    app.callback_map.update(callback_map)
    app._callback_list.extend(callback_list)


def _register_health(server: flask.Flask, registry: SnapshotRegistry) -> None:
    @server.get("/healthz")
    def healthz():
        default = registry.default()
        return flask.jsonify(
            status="ok" if default else "degraded",
            snapshot=default.snapshot_id if default else None,
        )


def create_app(settings: Settings | None = None) -> dash.Dash:
    """Build the app for ``settings`` (from the environment when omitted)."""
    from access.auth import init_auth, seed_demo_users
    from components import shell
    from components.context import AppContext, install

    settings = settings or settings_from_env()
    server = flask.Flask(__name__)
    server.config["SECRET_KEY"] = settings.secret_key
    registry = SnapshotRegistry(settings.snapshots_dir, settings.cache_dir)
    registry.refresh()
    install(server, AppContext(settings=settings, registry=registry))
    init_auth(server, settings)
    seed_demo_users(settings)  # only in demo mode bound to localhost
    _register_health(server, registry)

    for module in PAGE_MODULES:
        importlib.import_module(module)
    app = dash.Dash(
        __name__,
        server=server,
        title="IO Cohort Explorer",
        assets_folder=str(ROOT / "assets"),
        suppress_callback_exceptions=True,
        update_title=None,
    )
    app.layout = shell.layout
    _attach_page_callbacks(app)
    return app


def main() -> None:
    from access.auth import InsecureSettingsError, check_production_settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = settings_from_env()
        check_production_settings(settings)
    except (InsecureSettingsError, ValueError) as exc:
        raise SystemExit(f"iocohort: {exc}") from None
    app = create_app(settings)
    log.info("serving on http://%s:%s", settings.host, settings.port)
    app.run(host=settings.host, port=settings.port, debug=settings.debug)


if __name__ == "__main__":
    main()
