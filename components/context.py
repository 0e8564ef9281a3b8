"""Per-app services reached from callbacks through Flask's ``current_app`` (no globals)."""

from __future__ import annotations

from dataclasses import dataclass

import flask

from config import Settings
from queries.snapshot.registry import SnapshotRegistry

EXTENSION_KEY = "iocohort"


@dataclass
class AppContext:
    """What callbacks need besides their inputs: settings and the snapshot registry."""

    settings: Settings
    registry: SnapshotRegistry


def install(server: flask.Flask, context: AppContext) -> None:
    server.extensions[EXTENSION_KEY] = context


def app_context() -> AppContext:
    """The running app's context (valid inside a request)."""
    return flask.current_app.extensions[EXTENSION_KEY]
