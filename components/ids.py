"""Every component ID of the app, defined once.

Constants for single widgets; small factories returning dicts for repeated ones
(matched with MATCH/ALL in pattern-matching callbacks). Each page has its own section.
"""

from __future__ import annotations

# --- shell -----------------------------------------------------------------------------
URL = "shell-url"
PAGE_CONTENT = "shell-page-content"
SHELL_NOTICE = "shell-notice"
DISCLOSURE_NOTICE = "disclosure-notice"
NAVBAR_SNAPSHOT = "shell-navbar-snapshot"
NAV_LINKS = "shell-nav-links"
SNAPSHOT_STORE = "shell-snapshot-store"
SNAPSHOT_SELECT = "shell-snapshot-select"
COHORT_STORE = "shell-cohort-store"
SIGN_OUT = "shell-sign-out"
LANGUAGE_SWITCH = "shell-language-switch"
LANGUAGE_CHOSEN = "shell-language-chosen"



def language_button(language: str) -> dict:
    """The navbar button that switches to ``language`` (matched with ALL)."""
    return {"type": LANGUAGE_SWITCH, "language": language}


# --- snapshots page --------------------------------------------------------------------
SNAPSHOTS_TABLE = "snapshots-table"
SNAPSHOTS_REFRESH = "snapshots-refresh"

# --- analyses page (survival, response, safety, characteristics) ------------------------
ANALYSIS_COHORT_INFO = "analysis-cohort-info"
ANALYSIS_TABS = "analysis-tabs"
SURVIVAL_ENDPOINT = "analysis-survival-endpoint"
SURVIVAL_STRATA = "analysis-survival-strata"
SURVIVAL_HR_GROUP = "analysis-survival-hr-group"
SURVIVAL_HR_REFERENCE = "analysis-survival-hr-reference"
SURVIVAL_COX = "analysis-survival-cox"
SURVIVAL_LANDMARK = "analysis-survival-landmark"
SURVIVAL_MIN_AT_RISK = "analysis-survival-min-at-risk"
ANALYSIS_LOOKAHEAD = "analysis-look-ahead"
ANALYSIS_LANDMARK_BUTTON = "analysis-landmark-button"
SURVIVAL_COX_GRAPH = "analysis-survival-cox-graph"
SURVIVAL_COX_CAPTION = "analysis-survival-cox-caption"
SURVIVAL_GRAPH = "analysis-survival-graph"
SURVIVAL_CAPTION = "analysis-survival-caption"
SURVIVAL_MEDIANS = "analysis-survival-medians"
SURVIVAL_CSV_BUTTON = "analysis-survival-csv-button"
SURVIVAL_DOWNLOAD = "analysis-survival-download"
RESPONSE_STRATA = "analysis-response-strata"
RESPONSE_RULE = "analysis-response-rule"
RESPONSE_DENOMINATOR = "analysis-response-denominator"
RESPONSE_RATE_GRAPH = "analysis-response-rate-graph"
RESPONSE_BOR_GRAPH = "analysis-response-bor-graph"
RESPONSE_CAPTION = "analysis-response-caption"
RESPONSE_TABLE = "analysis-response-table"
RESPONSE_CSV_BUTTON = "analysis-response-csv-button"
RESPONSE_DOWNLOAD = "analysis-response-download"
SAFETY_LEVEL = "analysis-safety-level"
SAFETY_GRADE = "analysis-safety-grade"
SAFETY_IMMUNE = "analysis-safety-immune"
SAFETY_WINDOW = "analysis-safety-window"
SAFETY_INCIDENCE_GRAPH = "analysis-safety-incidence-graph"
SAFETY_INCIDENCE_CAPTION = "analysis-safety-incidence-caption"
SAFETY_GRAPH = "analysis-safety-graph"
SAFETY_CAPTION = "analysis-safety-caption"
SAFETY_TABLE = "analysis-safety-table"
SAFETY_CSV_BUTTON = "analysis-safety-csv-button"
SAFETY_DOWNLOAD = "analysis-safety-download"
CHARACTERISTICS_TABLE = "analysis-characteristics-table"
CHARACTERISTICS_CSV_BUTTON = "analysis-characteristics-csv-button"
CHARACTERISTICS_DOWNLOAD = "analysis-characteristics-download"
PRO_SCALE = "analysis-pro-scale"
PRO_SCORE_GRAPH = "analysis-pro-score-graph"
PRO_COMPLETION_GRAPH = "analysis-pro-completion-graph"
PRO_SEVERITY_GRAPH = "analysis-pro-severity-graph"
PRO_CAPTION = "analysis-pro-caption"
PRO_CSV_BUTTON = "analysis-pro-csv-button"
PRO_DOWNLOAD = "analysis-pro-download"

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
COMPARE_SURVIVAL_CSV_BUTTON = "compare-survival-csv-button"
COMPARE_SURVIVAL_DOWNLOAD = "compare-survival-download"
COMPARE_RESPONSE_CSV_BUTTON = "compare-response-csv-button"
COMPARE_RESPONSE_DOWNLOAD = "compare-response-download"
COMPARE_SAFETY_CSV_BUTTON = "compare-safety-csv-button"
COMPARE_SAFETY_DOWNLOAD = "compare-safety-download"
COMPARE_TABLE1_CSV_BUTTON = "compare-table1-csv-button"
COMPARE_TABLE1_DOWNLOAD = "compare-table1-download"
COMPARE_PRO_SCALE = "compare-pro-scale"
COMPARE_PRO_GRAPH = "compare-pro-graph"
COMPARE_PRO_CSV_BUTTON = "compare-pro-csv-button"
COMPARE_PRO_DOWNLOAD = "compare-pro-download"
STUDY_MODE = "study-mode"
STUDY_FIELD = "study-field"
STUDY_LEVEL_A = "study-level-a"
STUDY_LEVEL_B = "study-level-b"
STUDY_COVARIATES = "study-covariates"
STUDY_METHOD = "study-method"
STUDY_CALIPER = "study-caliper"
STUDY_TRIM = "study-trim"
STUDY_OVERLAP = "study-overlap"
STUDY_SUBGROUPS = "study-subgroups"
STUDY_RUN = "study-run"
STUDY_RESULTS = "study-results"
STUDY_CSV_BUTTON = "study-csv-button"
STUDY_DOWNLOAD = "study-download"

# --- cohort builder page -------------------------------------------------------------------
BUILDER_INIT = "builder-init"
BUILDER_STRUCTURE = "builder-structure"
BUILDER_LOADED = "builder-loaded"
BUILDER_NAME = "builder-name"
BUILDER_INDEX_KIND = "builder-index-kind"
BUILDER_INDEX_CLASSES = "builder-index-classes"
BUILDER_INDEX_LINE = "builder-index-line"
BUILDER_INDEX_CANCERS = "builder-index-cancers"
BUILDER_INDEX_DATES = "builder-index-dates"
BUILDER_INDEX_GRACE = "builder-index-grace"
BUILDER_INDEX_CLASSES_BOX = "builder-index-classes-box"
BUILDER_INDEX_LINE_BOX = "builder-index-line-box"
BUILDER_INDEX_CANCERS_BOX = "builder-index-cancers-box"
BUILDER_INDEX_MESSAGE = "builder-index-message"
BUILDER_RULES = "builder-rules"
BUILDER_ADD_RULE = "builder-add-rule"
BUILDER_STATUS = "builder-status"
BUILDER_COUNT = "builder-count"
BUILDER_COUNT_NOTE = "builder-count-note"
BUILDER_FUNNEL = "builder-funnel"
BUILDER_ATTRITION_TABLE = "builder-attrition-table"
BUILDER_DESCRIPTION = "builder-description"
BUILDER_HASH = "builder-hash"
BUILDER_SAVE_NAME = "builder-save-name"
BUILDER_SAVE = "builder-save"
BUILDER_SAVE_MESSAGE = "builder-save-message"
BUILDER_SAVED_LIST = "builder-saved-list"
BUILDER_SAVED_VERSION = "builder-saved-version"
BUILDER_SHARE = "builder-share"
BUILDER_SHARE_URL = "builder-share-url"
BUILDER_DOWNLOAD_JSON = "builder-download-json"
BUILDER_DOWNLOAD_SQL = "builder-download-sql"
BUILDER_DOWNLOAD_TEXT = "builder-download-text"
BUILDER_DOWNLOAD = "builder-download"
BUILDER_UPLOAD = "builder-upload"
BUILDER_UPLOAD_PROBLEMS = "builder-upload-problems"
BUILDER_LOAD_MESSAGE = "builder-load-message"
BUILDER_UNDO = "builder-undo"
BUILDER_HISTORY = "builder-history"
BUILDER_LINK_SEEN = "builder-link-seen"
BUILDER_ADDRESS = "builder-address"
BUILDER_SHARE_COPY = "builder-share-copy"
BUILDER_NEW = "builder-new"

# Pattern-matching types (one per repeated widget); the factories below build their IDs.
RULE_CARD = "builder-rule-card"
RULE_NAME = "builder-rule-name"
RULE_ENABLED = "builder-rule-enabled"
RULE_GROUP = "builder-rule-group"
RULE_ACTION = "builder-rule-action"
RULE_ROWS = "builder-rule-rows"
RULE_MESSAGE = "builder-rule-message"
GROUP_BOX = "builder-group-box"
GROUP_KIND = "builder-group-kind"
GROUP_ACTION = "builder-group-action"
GROUP_MESSAGE = "builder-group-message"
CRITERION_ROW = "builder-criterion-row"
CRITERION_FIELD = "builder-criterion-field"
CRITERION_OPERATOR = "builder-criterion-operator"
CRITERION_VALUE_AREA = "builder-criterion-value-area"
CRITERION_VALUES = "builder-criterion-values"
CRITERION_MIN = "builder-criterion-min"
CRITERION_MAX = "builder-criterion-max"
CRITERION_TEXT = "builder-criterion-text"
CRITERION_DATES = "builder-criterion-dates"
CRITERION_DATE = "builder-criterion-date"
CRITERION_WINDOW = "builder-criterion-window"
CRITERION_WINDOW_DAYS = "builder-criterion-window-days"
CRITERION_WINDOW_START = "builder-criterion-window-start"
CRITERION_WINDOW_END = "builder-criterion-window-end"
CRITERION_WINDOW_AREA = "builder-criterion-window-area"
CRITERION_WINDOW_DAYS_BOX = "builder-criterion-window-days-box"
CRITERION_WINDOW_CUSTOM_BOX = "builder-criterion-window-custom-box"
CRITERION_OCCURRENCE = "builder-criterion-occurrence"
CRITERION_REMOVE = "builder-criterion-remove"
CRITERION_MESSAGE = "builder-criterion-message"
SNAPSHOT_WATCH = "builder-snapshot-watch"
SAVED_ACTION = "builder-saved-action"
SAVED_NAME = "builder-saved-name"


def rule_id(kind: str, rule: str) -> dict:
    """A per-rule widget: ``kind`` is one of RULE_CARD, RULE_NAME, ... above."""
    return {"type": kind, "rule": rule}


def rule_action(rule: str, action: str) -> dict:
    """A rule's button: action is "up", "down", "remove", "add-row" or "add-group"."""
    return {"type": RULE_ACTION, "rule": rule, "action": action}


def group_id(kind: str, rule: str, group: str) -> dict:
    """A widget of a sub-group nested anywhere in a rule: ``kind`` is GROUP_BOX, GROUP_KIND or
    GROUP_MESSAGE. The group's key is unique in the draft, so it addresses the group at any
    depth; its place in the rule's tree (the path) is kept in the draft."""
    return {"type": kind, "rule": rule, "group": group}


def group_action(rule: str, group: str, action: str) -> dict:
    """A sub-group's button: action is "add-row", "add-group" or "remove"."""
    return {"type": GROUP_ACTION, "rule": rule, "group": group, "action": action}


def criterion_id(kind: str, rule: str, row: str) -> dict:
    """A per-criterion-row widget: ``kind`` is one of CRITERION_ROW, CRITERION_FIELD, ..."""
    return {"type": kind, "rule": rule, "row": row}


def criterion_value_id(kind: str, rule: str, row: str, spec: str) -> dict:
    """A value widget of a criterion row; ``spec`` ("field|operator") tells which field and
    operator it was drawn for, so a widget left over from the previous field is never read."""
    return {"type": kind, "rule": rule, "row": row, "spec": spec}


def saved_action(saved: str, action: str) -> dict:
    """A saved cohort's button: action is "open", "rename", "duplicate" or "delete"."""
    return {"type": SAVED_ACTION, "saved": saved, "action": action}


def snapshot_watch(page: str) -> dict:
    """A page's copy of the active snapshot: a pattern ID, so that the shell's store can feed
    it without an error on pages that do not have it."""
    return {"type": SNAPSHOT_WATCH, "page": page}


def saved_name(saved: str) -> dict:
    return {"type": SAVED_NAME, "saved": saved}

# --- feasibility page ----------------------------------------------------------------------
FEASIBILITY_COHORT = "feasibility-cohort"
FEASIBILITY_TOTAL = "feasibility-total"
FEASIBILITY_TOTAL_VALUE = "feasibility-total-value"
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
PUBLISH_PREVIEW_BUTTON = "summaries-publish-preview-button"
PUBLISH_PREVIEW = "summaries-publish-preview"
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
SIGN_IN_FAILURES = "audit-sign-in-failures"
SIGN_IN_FAILURES_REFRESH = "audit-sign-in-failures-refresh"
USERS_TABLE = "users-table"
USERS_REFRESH = "users-refresh"
USERS_VERSION = "users-version"
USERS_MESSAGE = "users-message"
USER_NEW_NAME = "users-new-name"
USER_NEW_ROLE = "users-new-role"
USER_NEW_PASSWORD = "users-new-password"
USER_CREATE = "users-create"
USER_ACTION = "users-action"
USER_ROLE = "users-role"


def user_action(username: str, action: str) -> dict:
    """A user's button in the users table: action is "reset", "disable" or "enable"."""
    return {"type": USER_ACTION, "user": username, "action": action}


def user_role(username: str) -> dict:
    """A user's role chooser in the users table."""
    return {"type": USER_ROLE, "user": username}
