"""WSGI entry point for gunicorn (``gunicorn -c gunicorn.conf.py wsgi:app``).

Each gunicorn worker imports this module after the fork (the config does not preload the
app), so every worker builds its own app and opens the snapshot databases read-only itself;
the app store (SQLite, WAL) is shared by all of them.
"""

from __future__ import annotations

import logging

from access.auth import InsecureSettingsError, check_production_settings
from app import create_app, start_preparing_snapshots
from config import settings_from_env

logging.basicConfig(level=logging.INFO, format="%(asctime)s [%(process)d] %(levelname)s "
                    "%(name)s: %(message)s")

try:
    _settings = settings_from_env()
    check_production_settings(_settings)
except (InsecureSettingsError, ValueError) as exc:
    raise SystemExit(f"iocohort: {exc}") from None

_dash_app = create_app(_settings)
start_preparing_snapshots(_dash_app)
app = _dash_app.server
