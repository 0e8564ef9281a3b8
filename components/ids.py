"""Every component ID of the app, defined once.

Constants for single widgets; small factories returning dicts for repeated ones
(matched with MATCH/ALL in pattern-matching callbacks). Each page has its own section.
"""

from __future__ import annotations

# --- shell -----------------------------------------------------------------------------
URL = "shell-url"
PAGE_CONTENT = "shell-page-content"
NAVBAR_SNAPSHOT = "shell-navbar-snapshot"
NAV_LINKS = "shell-nav-links"
SNAPSHOT_STORE = "shell-snapshot-store"
SNAPSHOT_SELECT = "shell-snapshot-select"
COHORT_STORE = "shell-cohort-store"

# --- snapshots page --------------------------------------------------------------------
SNAPSHOTS_TABLE = "snapshots-table"
SNAPSHOTS_REFRESH = "snapshots-refresh"
