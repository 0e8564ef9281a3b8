"""Adverse events of a cohort: patients with >= 1 event by term, organ class and regimen.

Window: events with onset on or after the index date (any treatment line), optionally only
up to ``window_days`` after index, or only events recorded against the index line.
Frequencies are patients with at least one event (any grade, and grade >= 3) over the cohort
size (by regimen: over the cohort patients on that regimen). Time to onset is the median over
affected patients of days from index to their first event.

The cohort's events are kept once as an integer-keyed table (queries/sql/ae_events.sql), so
changing a filter re-aggregates integers instead of re-joining the adverse-event table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from queries.cohort import Cohort
from queries.schema import DAYS_PER_MONTH
from queries.strata import base_table, cached_table, jsonable, load_sql, stratum_column

TERMS_TABLE = "ae_terms_dim"
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


def events_table(cohort: Cohort) -> tuple[str, str]:
    """The cohort's AE events table and the snapshot's term table (both built once)."""
    terms = cached_table(cohort, TERMS_TABLE, load_sql("ae_terms"))
    sql = load_sql("ae_events").replace("{base}", base_table(cohort)).replace("{terms}", terms)
    return cached_table(cohort, f"{cohort.table}__ae", sql), terms


def _finish(frame: pd.DataFrame, denominator: int | pd.Series) -> pd.DataFrame:
    frame["pct_any_grade"] = frame["patients_any_grade"] / denominator
    frame["pct_grade3plus"] = frame["patients_grade3plus"] / denominator
    frame["median_onset_days"] = frame["median_onset_days"].astype(float)
    frame["median_onset_months"] = frame["median_onset_days"] / DAYS_PER_MONTH
    keys = [c for c in frame.columns if c not in COUNT_COLUMNS]
    return frame[keys + COUNT_COLUMNS]


_COUNTS = ("count(*) AS patients_any_grade, "
           "count(*) FILTER (WHERE max_grade >= 3) AS patients_grade3plus, "
           "median(onset_days) AS median_onset_days")


def _by_term(cur, per: str, terms: str, size: int) -> pd.DataFrame:
    sql = (f"SELECT t.organ_class, t.term, x.* EXCLUDE (term_id) FROM ("  # noqa: S608 - fixed names
           f"SELECT term_id, {_COUNTS} FROM {per} GROUP BY term_id) x "
           f"JOIN {terms} t USING (term_id) ORDER BY patients_any_grade DESC, 1, 2")
    return _finish(cur.execute(sql).df(), size)


def _by_organ(cur, per: str, terms: str, size: int) -> pd.DataFrame:
    organs = f"(SELECT DISTINCT organ_id, organ_class FROM {terms})"  # noqa: S608
    sql = (f"SELECT o.organ_class, x.* EXCLUDE (organ_id) FROM ("  # noqa: S608 - fixed names
           f"SELECT organ_id, {_COUNTS} FROM (SELECT rid, organ_id, max(max_grade) AS max_grade, "
           f"min(onset_days) AS onset_days FROM {per} GROUP BY rid, organ_id) GROUP BY organ_id) x "
           f"JOIN {organs} o USING (organ_id) ORDER BY patients_any_grade DESC, 1")
    return _finish(cur.execute(sql).df(), size)


def _by_groups(cohort: Cohort, cur, per_patient: str,
               keys: tuple[str, ...] = ("regimen", "drug_classes")) -> dict[str, pd.DataFrame]:
    """Per regimen and per drug-class combination at index, in one join (GROUPING SETS)."""
    cols = [stratum_column(key) for key in keys]
    sql = (
        f"SELECT {', '.join(cols)}, count(*) AS patients, "  # noqa: S608 - fixed names
        "count(pp.rid) AS patients_any_grade, "
        "count(*) FILTER (WHERE pp.max_grade >= 3) AS patients_grade3plus, "
        "median(pp.onset_days) AS median_onset_days "
        f"FROM {base_table(cohort)} b LEFT JOIN {per_patient} pp USING (rid) "
        f"GROUP BY GROUPING SETS ({', '.join(f'({c})' for c in cols)})"
    )
    frame = cur.execute(sql).df()
    out = {}
    for key, col in zip(keys, cols, strict=True):
        part = frame[frame[col].notna()].drop(columns=[c for c in cols if c != col])
        part = part.rename(columns={col: key}).sort_values(["patients", key],
                                                           ascending=[False, True])
        out[key] = _finish(part.reset_index(drop=True), part["patients"].to_numpy())
    return out


def _overall(cur, per_patient: str, size: int) -> dict:
    sql = f"SELECT {_COUNTS} FROM {per_patient}"  # noqa: S608 - fixed names
    n_any, n_3, median = cur.execute(sql).fetchall()[0]
    median = None if median is None else float(median)
    return {"patients_any_grade": int(n_any), "pct_any_grade": n_any / size,
            "patients_grade3plus": int(n_3), "pct_grade3plus": n_3 / size,
            "median_onset_days": median,
            "median_onset_months": None if median is None else median / DAYS_PER_MONTH}


def adverse_events(cohort: Cohort, options: SafetyOptions | None = None) -> SafetyResult:
    """AE frequency tables for the cohort (see the module docstring for the window)."""
    options = options or SafetyOptions()
    window = _window_text(options)
    events, terms = events_table(cohort)
    cur = cohort.db.cursor()
    # temp tables belong to this thread's cursor (connection), so names cannot collide
    per, pp = "_ae_patient_term", "_ae_patient"
    cur.execute(
        f"CREATE OR REPLACE TEMP TABLE {per} AS SELECT rid, organ_id, term_id, "  # noqa: S608
        "max(grade) AS max_grade, min(onset_days) AS onset_days "
        f"FROM {events} WHERE ($window_days IS NULL OR onset_days <= $window_days) "
        "AND (NOT $immune_only OR immune) AND (NOT $index_line_only OR on_index_line) "
        "GROUP BY rid, organ_id, term_id",
        {"window_days": options.window_days, "immune_only": options.immune_only,
         "index_line_only": options.index_line_only}).fetchall()
    try:
        cur.execute(f"CREATE OR REPLACE TEMP TABLE {pp} AS SELECT rid, "  # noqa: S608
                    "max(max_grade) AS max_grade, min(onset_days) AS onset_days "
                    f"FROM {per} GROUP BY rid").fetchall()
        size = max(cohort.size, 1)
        overall_row = _overall(cur, pp, size)
        by_term = _by_term(cur, per, terms, size)
        by_organ = _by_organ(cur, per, terms, size)
        groups = _by_groups(cohort, cur, pp)
        by_regimen, by_classes = groups["regimen"], groups["drug_classes"]
    finally:
        for name in (pp, per):
            cur.execute(f"DROP TABLE IF EXISTS {name}").fetchall()
    reason = None
    if cohort.size == 0:
        reason = "the cohort is empty"
    elif overall_row["patients_any_grade"] == 0:
        reason = "no patient in this cohort has an adverse event in the window (" + window + ")"
    return SafetyResult(cohort.size, options, overall_row, by_term, by_organ, by_regimen,
                        by_classes, window, reason)
