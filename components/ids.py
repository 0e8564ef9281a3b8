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

# --- analyses page (survival, response, safety, characteristics) ------------------------
ANALYSIS_COHORT_INFO = "analysis-cohort-info"
ANALYSIS_TABS = "analysis-tabs"
SURVIVAL_ENDPOINT = "analysis-survival-endpoint"
SURVIVAL_STRATA = "analysis-survival-strata"
SURVIVAL_GRAPH = "analysis-survival-graph"
SURVIVAL_CAPTION = "analysis-survival-caption"
SURVIVAL_MEDIANS = "analysis-survival-medians"
SURVIVAL_CSV_BUTTON = "analysis-survival-csv-button"
SURVIVAL_DOWNLOAD = "analysis-survival-download"
RESPONSE_STRATA = "analysis-response-strata"
RESPONSE_RATE_GRAPH = "analysis-response-rate-graph"
RESPONSE_BOR_GRAPH = "analysis-response-bor-graph"
RESPONSE_CAPTION = "analysis-response-caption"
RESPONSE_TABLE = "analysis-response-table"
RESPONSE_CSV_BUTTON = "analysis-response-csv-button"
RESPONSE_DOWNLOAD = "analysis-response-download"
SAFETY_LEVEL = "analysis-safety-level"
SAFETY_GRADE = "analysis-safety-grade"
SAFETY_IMMUNE = "analysis-safety-immune"
SAFETY_GRAPH = "analysis-safety-graph"
SAFETY_CAPTION = "analysis-safety-caption"
SAFETY_TABLE = "analysis-safety-table"
SAFETY_CSV_BUTTON = "analysis-safety-csv-button"
SAFETY_DOWNLOAD = "analysis-safety-download"
CHARACTERISTICS_TABLE = "analysis-characteristics-table"
CHARACTERISTICS_CSV_BUTTON = "analysis-characteristics-csv-button"
CHARACTERISTICS_DOWNLOAD = "analysis-characteristics-download"

# --- compare page ------------------------------------------------------------------------
COMPARE_LEFT = "compare-left-cohort"
COMPARE_RIGHT = "compare-right-cohort"
COMPARE_SUMMARY = "compare-summary"
COMPARE_ENDPOINT = "compare-endpoint"
COMPARE_SURVIVAL_GRAPH = "compare-survival-graph"
COMPARE_SURVIVAL_CAPTION = "compare-survival-caption"
COMPARE_RESPONSE_STRATA = "compare-response-strata"
COMPARE_RESPONSE_GRAPH = "compare-response-graph"
COMPARE_SAFETY_GRADE = "compare-safety-grade"
COMPARE_SAFETY_GRAPH = "compare-safety-graph"
COMPARE_TABLE1 = "compare-table1"
COMPARE_CSV_BUTTON = "compare-csv-button"
COMPARE_DOWNLOAD = "compare-download"

# --- feasibility page ----------------------------------------------------------------------
FEASIBILITY_COHORT = "feasibility-cohort"
FEASIBILITY_TOTAL = "feasibility-total"
FEASIBILITY_POLICY = "feasibility-policy"
FEASIBILITY_SITE_GRAPH = "feasibility-site-graph"
FEASIBILITY_SITE_TABLE = "feasibility-site-table"
FEASIBILITY_YEAR_GRAPH = "feasibility-year-graph"
FEASIBILITY_YEAR_TABLE = "feasibility-year-table"

# --- summaries page (advisory board; clinicians publish) -----------------------------------
SUMMARIES_LIST = "summaries-list"
SUMMARIES_VERSION = "summaries-version"
PUBLISH_INIT = "summaries-publish-init"
PUBLISH_SOURCE = "summaries-publish-source"
PUBLISH_TITLE = "summaries-publish-title"
PUBLISH_DESCRIPTION = "summaries-publish-description"
PUBLISH_BUTTON = "summaries-publish-button"
PUBLISH_MESSAGE = "summaries-publish-message"
UNPUBLISH = "summaries-unpublish"


def unpublish_button(publication_id: int) -> dict:
    """The unpublish button of one published summary (matched with ALL)."""
    return {"type": UNPUBLISH, "publication": publication_id}


# --- admin pages: audit log and users ------------------------------------------------------
AUDIT_USERNAME = "audit-username"
AUDIT_ROLE = "audit-role"
AUDIT_ACTION = "audit-action"
AUDIT_SINCE = "audit-since"
AUDIT_TABLE = "audit-table"
AUDIT_COUNT = "audit-count"
AUDIT_PAGER = "audit-pager"
USERS_TABLE = "users-table"
USERS_REFRESH = "users-refresh"
