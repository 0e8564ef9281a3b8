"""Adverse events of a cohort: patients with >= 1 event by term, organ class and regimen.

Window: events with onset on or after the index date (any treatment line), optionally only
up to ``window_days`` after index, or only events recorded against the index line. Frequencies are patients with at least one event (any grade,
and grade >= 3) over the cohort size (by regimen: over the cohort patients on that regimen).
Time to onset is the median over affected patients of days from index to their first event.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pandas as pd

from queries.cohort import Cohort
from queries.schema import DAYS_PER_MONTH
from queries.strata import base_table, cohort_sql, jsonable, stratum_column

_GROUPS = {
    "term": "organ_class, term",
    "organ_class": "organ_class",
    "overall": "'All events' AS scope",
}
COUNT_COLUMNS = ["patients_any_grade", "pct_any_grade", "patients_grade3plus",
                 "pct_grade3plus", "median_onset_days", "median_onset_months"]


@dataclass(frozen=True)
class SafetyOptions:
    immune_only: bool = False
    window_days: int | None = None
    index_line_only: bool = False


@dataclass
class SafetyResult:
    """AE frequencies; pct_* are fractions of the denominator (0-1)."""

    cohort_size: int
    options: SafetyOptions
    overall: dict
    by_term: pd.DataFrame
    by_organ_class: pd.DataFrame
    by_regimen: pd.DataFrame
    by_drug_classes: pd.DataFrame
    window: str
    empty_reason: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return jsonable({
            "cohort_size": self.cohort_size, "options": vars(self.options),
            "overall": self.overall, "by_term": self.by_term,
            "by_organ_class": self.by_organ_class, "by_regimen": self.by_regimen,
            "by_drug_classes": self.by_drug_classes,
            "window": self.window, "empty_reason": self.empty_reason, "notes": self.notes,
        })


def _window_text(options: SafetyOptions) -> str:
    text = "onset on or after index"
    if options.window_days is not None:
        text += f", up to {options.window_days} days after index"
    if options.index_line_only:
        text += ", recorded against the index line"
    return text + ("; immune-related events only" if options.immune_only else "; all events")


def _summary(cur, source: str, level: str, denominator: int) -> pd.DataFrame:
    """Patients with >= 1 event per group. ``source`` has one row per patient and group
    (term level: the per-(patient, term) table itself; organ class: re-grouped first)."""
    group = _GROUPS[level]
    keys = "scope" if level == "overall" else group
    if level == "organ_class":
        source = (f"(SELECT patient_id, {group}, max(max_grade) AS max_grade, "  # noqa: S608
                  f"min(onset_days) AS onset_days FROM {source} GROUP BY ALL)")
    sql = (
        f"SELECT {keys}, count(*) AS patients_any_grade, "  # noqa: S608 - fixed names
        "count(*) FILTER (WHERE max_grade >= 3) AS patients_grade3plus, "
        f"median(onset_days) AS median_onset_days FROM {source} GROUP BY ALL "
        "ORDER BY patients_any_grade DESC, 1"
    )
    return _finish(cur.execute(sql).df(), denominator)


def _finish(frame: pd.DataFrame, denominator: int | pd.Series) -> pd.DataFrame:
    frame["pct_any_grade"] = frame["patients_any_grade"] / denominator
    frame["pct_grade3plus"] = frame["patients_grade3plus"] / denominator
    frame["median_onset_days"] = frame["median_onset_days"].astype(float)
    frame["median_onset_months"] = frame["median_onset_days"] / DAYS_PER_MONTH
    keys = [c for c in frame.columns if c not in COUNT_COLUMNS]
    return frame[keys + COUNT_COLUMNS]


def _by_regimen(cohort: Cohort, cur, per_patient: str, key: str = "regimen") -> pd.DataFrame:
    sql = (
        f"SELECT {stratum_column(key)} AS {key}, count(*) AS patients, "  # noqa: S608 - fixed names
        "count(pp.patient_id) AS patients_any_grade, "
        "count(*) FILTER (WHERE pp.max_grade >= 3) AS patients_grade3plus, "
        "median(pp.onset_days) AS median_onset_days "
        f"FROM {base_table(cohort)} b LEFT JOIN {per_patient} pp USING (patient_id) "
        "GROUP BY ALL ORDER BY patients DESC, 1"
    )
    frame = cur.execute(sql).df()
    return _finish(frame, frame["patients"])


def adverse_events(cohort: Cohort, options: SafetyOptions | None = None) -> SafetyResult:
    """AE frequency tables for the cohort (see the module docstring for the window)."""
    options = options or SafetyOptions()
    window = _window_text(options)
    cur = cohort.db.cursor()
    # temp tables belong to this thread's cursor; the random names keep calls apart anyway
    per = f"_ae_{uuid.uuid4().hex[:12]}"
    pp = f"{per}_pp"
    cur.execute(f"CREATE TEMP TABLE {per} AS {cohort_sql('ae_patient_term', cohort)}",
                {"window_days": options.window_days, "immune_only": options.immune_only,
                 "index_line_only": options.index_line_only}).fetchall()
    try:
        cur.execute(f"CREATE TEMP TABLE {pp} AS SELECT patient_id, "  # noqa: S608
                    "'All events' AS scope, max(max_grade) AS max_grade, "
                    f"min(onset_days) AS onset_days FROM {per} GROUP BY patient_id").fetchall()
        size = max(cohort.size, 1)
        overall = _summary(cur, pp, "overall", size)
        by_term = _summary(cur, per, "term", size)
        by_organ = _summary(cur, per, "organ_class", size)
        by_regimen = _by_regimen(cohort, cur, pp)
        by_classes = _by_regimen(cohort, cur, pp, "drug_classes")
    finally:
        for name in (pp, per):
            cur.execute(f"DROP TABLE IF EXISTS {name}").fetchall()
    if overall.empty:
        overall_row = {"patients_any_grade": 0, "pct_any_grade": 0.0, "patients_grade3plus": 0,
                       "pct_grade3plus": 0.0, "median_onset_days": None,
                       "median_onset_months": None}
    else:
        first = overall.iloc[0]
        overall_row = {col: int(first[col]) if col.startswith("patients") else float(first[col])
                       for col in COUNT_COLUMNS}
    reason = None
    if cohort.size == 0:
        reason = "the cohort is empty"
    elif overall_row["patients_any_grade"] == 0:
        reason = "no patient in this cohort has an adverse event in the window (" + window + ")"
    return SafetyResult(cohort.size, options, overall_row, by_term, by_organ, by_regimen,
                        by_classes, window, reason)
