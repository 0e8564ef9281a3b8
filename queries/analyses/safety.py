"""Adverse events of a cohort: patients with >= 1 event by term, organ class and regimen.

Window (default treatment-emergent): events with onset from index to the end of the index-line
regimen (or the next line's start, if earlier) plus ``treatment_emergent_days`` (default 90);
while the regimen is ongoing, or without an index line, every event after index.
``treatment_emergent_days=None`` counts every event after index on any line. Optionally also
only up to ``window_days`` after index, or only events recorded against the index line.
Frequencies are patients with at least one event (any grade, and grade >= 3) over the cohort
size (by regimen: over the cohort patients on that regimen), with exact Clopper-Pearson 95 %
CIs. Time to onset is the median over affected patients of days from index to their first event
(by term and by organ class).

``severe_irae_incidence``: cumulative incidence of the first grade >= 3 immune-related AE after
index, death a competing risk, censored at last follow-up (Aalen-Johansen), by regimen.

The cohort's events are kept once as an integer-keyed table sorted by patient and term
(queries/sql/ae_events.sql). A filter change reads the matching rows as numpy arrays and
aggregates runs of equal keys (patient x term, patient x organ class, patient), which is several
times faster than hash aggregation for large cohorts. Regimens are integer codes per patient,
also built once per cohort.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd
from scipy import stats

from queries.analyses.response import clopper_pearson, clopper_pearson_arrays
from queries.analyses.strata import (
    base_table,
    cached_table,
    from_source,
    jsonable_dict,
    load_sql,
    stratum_column,
)
from queries.cohort.kept_tables import Cohort
from queries.engine.base import Cursor
from queries.i18n import N_, Text
from queries.snapshot.schema import DAYS_PER_MONTH

Z95 = float(stats.norm.ppf(0.975))

TERMS_TABLE = "ae_terms_dim"
COUNT_COLUMNS = ["patients_any_grade", "pct_any_grade", "pct_any_grade_ci_lower",
                 "pct_any_grade_ci_upper", "patients_grade3plus", "pct_grade3plus",
                 "pct_grade3plus_ci_lower", "pct_grade3plus_ci_upper", "median_onset_days",
                 "median_onset_months"]


DEFAULT_TREATMENT_EMERGENT_DAYS = 90


@dataclass(frozen=True)
class SafetyOptions:
    immune_only: bool = False
    window_days: int | None = None
    index_line_only: bool = False
    treatment_emergent_days: int | None = DEFAULT_TREATMENT_EMERGENT_DAYS  # None: all lines


@dataclass
class SafetyResult:
    """AE frequencies; pct_* are fractions of the denominator (0-1)."""

    cohort_size: int | None  # None in a protected copy where it is withheld
    options: SafetyOptions
    overall: dict[str, Any]
    by_term: pd.DataFrame
    by_organ_class: pd.DataFrame
    by_regimen: pd.DataFrame
    by_drug_classes: pd.DataFrame
    window: str
    empty_reason: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return jsonable_dict({
            "cohort_size": self.cohort_size, "options": vars(self.options),
            "overall": self.overall, "by_term": self.by_term,
            "by_organ_class": self.by_organ_class, "by_regimen": self.by_regimen,
            "by_drug_classes": self.by_drug_classes,
            "window": self.window, "empty_reason": self.empty_reason, "notes": self.notes,
        })


def _window_text(options: SafetyOptions) -> Text:
    if options.treatment_emergent_days is None:
        onset = Text(N_("onset on or after index, any treatment line"))
    else:
        onset = Text(N_("treatment-emergent: onset from index to the end of the index-line "
                        "regimen (or the next line's start) + {days} days; to last follow-up "
                        "while it is ongoing"), days=options.treatment_emergent_days)
    limits = [onset]
    if options.window_days is not None:
        limits.append(Text(N_("up to {days} days after index"), days=options.window_days))
    if options.index_line_only:
        limits.append(Text(N_("recorded against the index line")))
    events = Text(N_("immune-related events only") if options.immune_only
                  else N_("all events"))
    if len(limits) == 1:
        return Text(N_("{onset}; {events}"), onset=onset, events=events)
    if len(limits) == 2:
        return Text(N_("{onset}, {limit}; {events}"), onset=onset, limit=limits[1],
                    events=events)
    return Text(N_("{onset}, {limit}, {other}; {events}"), onset=onset, limit=limits[1],
                other=limits[2], events=events)


def events_table(cohort: Cohort) -> tuple[str, str]:
    """The cohort's AE events table and the snapshot's term table (both built once).

    A cohort with a source (its index population) takes its rows from the source's events
    table: they depend only on the patient and the index date and line, as the base does.
    """
    terms = cached_table(cohort, TERMS_TABLE, load_sql("ae_terms"))
    name = f"{cohort.table}__ae"
    if cohort.source is None:
        sql = load_sql("ae_events").replace("{base}", base_table(cohort)).replace("{terms}",
                                                                                   terms)
        return cached_table(cohort, name, sql), terms
    with cohort.db.hold():  # the source's tables must outlive the query that filters them
        return from_source(cohort, name, lambda whole: events_table(whole)[0],
                           f"rid IN (SELECT rid FROM {base_table(cohort)})",  # noqa: S608 - names from hashes
                           "rid, term_id, onset_days"), terms


def _finish(frame: pd.DataFrame,
            denominator: int | pd.Series[int] | np.ndarray) -> pd.DataFrame:
    frame["pct_any_grade"] = frame["patients_any_grade"] / denominator
    frame["pct_grade3plus"] = frame["patients_grade3plus"] / denominator
    for kind in ("any_grade", "grade3plus"):
        totals = np.broadcast_to(np.asarray(denominator, dtype=float), len(frame))
        lower, upper = clopper_pearson_arrays(frame[f"patients_{kind}"].to_numpy(), totals)
        frame[f"pct_{kind}_ci_lower"], frame[f"pct_{kind}_ci_upper"] = lower, upper
    frame["median_onset_days"] = frame["median_onset_days"].astype(float)
    frame["median_onset_months"] = frame["median_onset_days"] / DAYS_PER_MONTH
    keys = [c for c in frame.columns if c not in COUNT_COLUMNS]
    return frame[keys + COUNT_COLUMNS]


@dataclass
class _Runs:
    """Rows aggregated over runs of equal keys: worst grade and earliest onset per run."""

    rid: np.ndarray
    key: np.ndarray  # the run's term id or organ id (or rid, per patient)
    max_grade: np.ndarray
    onset_days: np.ndarray

    def collapse(self, key: np.ndarray) -> _Runs:
        """Merge adjacent runs of the same (rid, key); callers keep them adjacent."""
        if len(self.rid) == 0:
            return _Runs(self.rid, key, self.max_grade, self.onset_days)
        starts = np.flatnonzero(np.r_[True, (self.rid[1:] != self.rid[:-1])
                                      | (key[1:] != key[:-1])])
        return _Runs(self.rid[starts], key[starts],
                     np.maximum.reduceat(self.max_grade, starts),
                     np.minimum.reduceat(self.onset_days, starts))


def _read_events(cur: Cursor, events: str,
                 options: SafetyOptions) -> tuple[_Runs, np.ndarray]:
    """Patient x term runs of the events the options keep, and each run's organ id."""
    # integer columns without NULLs: plain numpy arrays
    arrays = cast(dict[str, np.ndarray], cur.execute(
        f"SELECT rid, term_id, organ_id, coalesce(grade, 0) AS grade, onset_days "  # noqa: S608
        f"FROM {events} WHERE ($window_days IS NULL OR onset_days <= $window_days) "
        "AND (NOT $immune_only OR immune) AND (NOT $index_line_only OR on_index_line) "
        "AND ($te_days IS NULL OR window_end_days IS NULL "
        "OR onset_days <= window_end_days + $te_days)",
        {"window_days": options.window_days, "immune_only": options.immune_only,
         "index_line_only": options.index_line_only,
         "te_days": options.treatment_emergent_days}).fetchnumpy())
    rid, term = arrays["rid"].astype(np.int64), arrays["term_id"].astype(np.int64)
    organ = arrays["organ_id"].astype(np.int64)
    grade, onset = arrays["grade"].astype(np.int64), arrays["onset_days"].astype(np.int64)
    order_key = rid * (int(term.max(initial=0)) + 1) + term
    if len(order_key) > 1 and not (order_key[1:] >= order_key[:-1]).all():
        order = np.argsort(order_key, kind="stable")  # a scan that lost the stored order
        rid, term, organ, grade, onset = (a[order] for a in (rid, term, organ, grade, onset))
    runs = _Runs(rid, term, grade, onset).collapse(term)
    organ_of_term = np.zeros(int(term.max(initial=0)) + 1, dtype=np.int64)
    organ_of_term[term] = organ
    return runs, organ_of_term[runs.key]


def _medians(keys: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Median of ``values`` per key 0..size-1 (NaN where a key has none), as DuckDB's median."""
    counts = np.bincount(keys, minlength=size)
    low_value = int(values.min(initial=0))
    span = int(values.max(initial=0)) - low_value + 1
    # one sort of (key, value) pairs packed in an integer; each key's values are then a slice
    ordered = np.sort(keys * span + (values - low_value)) % span + low_value
    first = np.r_[0, np.cumsum(counts)[:-1]]
    out = np.full(size, np.nan)
    has = counts > 0
    low = ordered[first[has] + (counts[has] - 1) // 2]
    high = ordered[first[has] + counts[has] // 2]
    out[has] = (low + high) / 2
    return out


def _frequencies(runs: _Runs) -> pd.DataFrame:
    """Patients (runs), patients with grade >= 3 and median onset per key id."""
    keys = runs.key
    n_keys = int(keys.max(initial=-1)) + 1
    frame = pd.DataFrame({
        "key_id": np.arange(n_keys),
        "patients_any_grade": np.bincount(keys, minlength=n_keys),
        "patients_grade3plus": np.bincount(keys[runs.max_grade >= 3], minlength=n_keys),
        "median_onset_days": _medians(keys, runs.onset_days, n_keys),
    })
    return frame[frame["patients_any_grade"] > 0]


def _ranked(frame: pd.DataFrame, labels: list[str], size: int) -> pd.DataFrame:
    frame = frame.sort_values(["patients_any_grade", *labels],
                              ascending=[False] + [True] * len(labels))
    return _finish(frame[[*labels, "patients_any_grade", "patients_grade3plus",
                          "median_onset_days"]].reset_index(drop=True), size)


def _by_term(frequencies: pd.DataFrame, terms: pd.DataFrame, size: int) -> pd.DataFrame:
    counts = frequencies.merge(terms, left_on="key_id", right_on="term_id")
    return _ranked(counts, ["organ_class", "term"], size)


def _by_organ(frequencies: pd.DataFrame, terms: pd.DataFrame, size: int) -> pd.DataFrame:
    organs = terms[["organ_id", "organ_class"]].drop_duplicates()
    counts = frequencies.merge(organs, left_on="key_id", right_on="organ_id")
    return _ranked(counts, ["organ_class"], size)


def _group_codes(cohort: Cohort, key: str) -> tuple[np.ndarray, np.ndarray]:
    """Each cohort patient's group (by rid) as an integer code, and the codes' labels."""
    col = stratum_column(key)
    table = cached_table(cohort, f"{cohort.table}__codes_{key}", (
        f"SELECT rid, CAST(dense_rank() OVER (ORDER BY {col}) - 1 AS INTEGER) AS code, "  # noqa: S608
        f"{col} AS label FROM {base_table(cohort)} ORDER BY rid"))
    cur = cohort.db.cursor()
    codes = cast(dict[str, np.ndarray],
                 cur.execute(f"SELECT rid, code FROM {table}").fetchnumpy())  # noqa: S608
    labels = cur.execute(f"SELECT DISTINCT code, label FROM {table} ORDER BY code").fetchall()  # noqa: S608
    rid, code = codes["rid"].astype(np.int64), codes["code"].astype(np.int64)
    by_rid = np.full(int(rid.max(initial=-1)) + 1, -1, dtype=np.int64)
    by_rid[rid] = code
    return by_rid, np.array([label for _, label in labels], dtype=object)


def _by_groups(cohort: Cohort, patients: _Runs,
               keys: tuple[str, ...] = ("regimen", "drug_classes")) -> dict[str, pd.DataFrame]:
    """Per regimen and per drug-class combination at index, over the patients of each group."""
    out = {}
    for key in keys:
        by_rid, labels = _group_codes(cohort, key)
        affected = _Runs(patients.rid, by_rid[patients.rid], patients.max_grade,
                         patients.onset_days)
        counts = _frequencies(affected).set_index("key_id")
        frame = pd.DataFrame({key: labels, "patients": np.bincount(
            by_rid[by_rid >= 0], minlength=len(labels))})
        frame = frame.join(counts).fillna({"patients_any_grade": 0, "patients_grade3plus": 0})
        frame = frame[frame["patients"] > 0].astype(
            {"patients_any_grade": "int64", "patients_grade3plus": "int64"})
        frame = frame.sort_values(["patients", key], ascending=[False, True])
        out[key] = _finish(frame.reset_index(drop=True), frame["patients"].to_numpy())
    return out


def _overall(patients: _Runs, size: int) -> dict[str, Any]:
    n_any, n_3 = len(patients.rid), int((patients.max_grade >= 3).sum())
    median = float(np.median(patients.onset_days)) if n_any else None
    return _overall_row(n_any, n_3, median, size)


def _overall_row(n_any: int, n_3: int, median: float | None, size: int) -> dict[str, Any]:
    any_ci, g3_ci = clopper_pearson(n_any, size), clopper_pearson(n_3, size)
    return {"patients_any_grade": n_any, "pct_any_grade": n_any / size,
            "pct_any_grade_ci_lower": any_ci[0], "pct_any_grade_ci_upper": any_ci[1],
            "patients_grade3plus": n_3, "pct_grade3plus": n_3 / size,
            "pct_grade3plus_ci_lower": g3_ci[0], "pct_grade3plus_ci_upper": g3_ci[1],
            "median_onset_days": median,
            "median_onset_months": None if median is None else median / DAYS_PER_MONTH}


# --- the same counts aggregated in the engine (Spark: no per-patient rows leave it) --------


def _event_filter(options: SafetyOptions) -> tuple[str, list[int]]:
    conds, params = ["TRUE"], []
    if options.window_days is not None:
        conds.append("onset_days <= ?")
        params.append(options.window_days)
    if options.immune_only:
        conds.append("immune")
    if options.index_line_only:
        conds.append("on_index_line")
    if options.treatment_emergent_days is not None:
        conds.append("(window_end_days IS NULL OR onset_days <= window_end_days + ?)")
        params.append(options.treatment_emergent_days)
    return " AND ".join(conds), params


def _patient_runs_sql(events: str, options: SafetyOptions,
                      key: str | None) -> tuple[str, list[int]]:
    """Per patient (and term or organ id as ``key_id``): worst grade and first onset."""
    where, params = _event_filter(options)
    key_col = f", {key} AS key_id" if key else ""
    group = f", {key}" if key else ""
    return (f"SELECT rid{key_col}, max(coalesce(grade, 0)) AS max_grade, "  # noqa: S608 - names
            f"min(onset_days) AS onset_days FROM {events} WHERE {where} GROUP BY rid{group}",
            params)


_FREQUENCIES = ("count(*) AS patients_any_grade, "
                "coalesce(sum(CASE WHEN max_grade >= 3 THEN 1 ELSE 0 END), 0) "
                "AS patients_grade3plus, median(onset_days) AS median_onset_days")


def _engine_frequencies(cur: Cursor, events: str, options: SafetyOptions,
                        key: str) -> pd.DataFrame:
    runs, params = _patient_runs_sql(events, options, key)
    frame = cur.execute(f"SELECT key_id, {_FREQUENCIES} FROM ({runs}) AS runs "  # noqa: S608
                        "GROUP BY key_id ORDER BY key_id", params).df()
    frame = frame.astype({"key_id": "int64", "patients_any_grade": "int64",
                          "patients_grade3plus": "int64", "median_onset_days": float})
    return frame


def _engine_overall(cur: Cursor, events: str, options: SafetyOptions,
                    size: int) -> dict[str, Any]:
    runs, params = _patient_runs_sql(events, options, None)
    n_any, n_3, median = cur.execute(f"SELECT {_FREQUENCIES} FROM ({runs}) AS runs",  # noqa: S608
                                     params).fetchone()
    return _overall_row(int(n_any), int(n_3), None if median is None else float(median), size)


def _engine_groups(cohort: Cohort, events: str, options: SafetyOptions,
                   keys: tuple[str, ...] = ("regimen", "drug_classes")) -> dict[str, pd.DataFrame]:
    runs, params = _patient_runs_sql(events, options, None)
    out: dict[str, pd.DataFrame] = {}
    for key in keys:
        frame = cohort.db.cursor().execute(
            f"SELECT {stratum_column(key)} AS {key}, count(*) AS patients, "  # noqa: S608
            "count(r.rid) AS patients_any_grade, "
            "coalesce(sum(CASE WHEN r.max_grade >= 3 THEN 1 ELSE 0 END), 0) "
            "AS patients_grade3plus, median(r.onset_days) AS median_onset_days "
            f"FROM {base_table(cohort)} b LEFT JOIN ({runs}) AS r ON r.rid = b.rid GROUP BY 1",
            params).df()
        frame = frame.astype({key: object, "patients": "int64", "patients_any_grade": "int64",
                              "patients_grade3plus": "int64", "median_onset_days": float})
        frame = frame.sort_values(["patients", key], ascending=[False, True])
        out[key] = _finish(frame.reset_index(drop=True), frame["patients"].to_numpy())
    return out


# overall row, by term, by organ class, by regimen and drug classes
_Tables = tuple[dict[str, Any], pd.DataFrame, pd.DataFrame, dict[str, pd.DataFrame]]


def _tables_in_engine(cohort: Cohort, events: str, terms: pd.DataFrame,
                      options: SafetyOptions, size: int) -> _Tables:
    cur = cohort.db.cursor()
    return (_engine_overall(cur, events, options, size),
            _by_term(_engine_frequencies(cur, events, options, "term_id"), terms, size),
            _by_organ(_engine_frequencies(cur, events, options, "organ_id"), terms, size),
            _engine_groups(cohort, events, options))


def _tables_in_numpy(cohort: Cohort, events: str, terms: pd.DataFrame,
                     options: SafetyOptions, size: int) -> _Tables:
    runs, organ = _read_events(cohort.db.cursor(), events, options)
    patients = runs.collapse(runs.rid)
    # term ids follow organ classes, so a patient's organ classes are adjacent runs already
    return (_overall(patients, size), _by_term(_frequencies(runs), terms, size),
            _by_organ(_frequencies(runs.collapse(organ)), terms, size),
            _by_groups(cohort, patients))


def adverse_events(cohort: Cohort, options: SafetyOptions | None = None) -> SafetyResult:
    """AE frequency tables for the cohort (see the module docstring for the window).

    On an in-process engine (DuckDB) the events are read as arrays and aggregated in numpy;
    elsewhere (Spark) the same counts are aggregated in the engine and only they are read.
    """
    options = options or SafetyOptions()
    window = _window_text(options)
    events, terms_table = events_table(cohort)
    terms = cohort.db.cursor().execute(
        f"SELECT term_id, organ_id, organ_class, term FROM {terms_table}").df()  # noqa: S608
    size = max(cohort.size, 1)
    tables = _tables_in_numpy if cohort.db.local_rows else _tables_in_engine
    overall_row, by_term, by_organ, groups = tables(cohort, events, terms, options, size)
    by_regimen, by_classes = groups["regimen"], groups["drug_classes"]
    reason = None
    if cohort.size == 0:
        reason = Text(N_("the cohort is empty"))
    elif overall_row["patients_any_grade"] == 0:
        reason = Text(N_("no patient in this cohort has an adverse event in the window "
                         "({window})"), window=window)
    return SafetyResult(cohort.size, options, overall_row, by_term, by_organ, by_regimen,
                        by_classes, window, reason)


# --- cumulative incidence of the first severe immune-related AE -------------------------------

CIF_COLUMNS = ["group", "time_days", "time_months", "cumulative_incidence", "ci_lower",
               "ci_upper", "at_risk"]
CIF_GROUP_COLUMNS = ["group", "patients", "events", "competing_deaths", "censored"]
CIF_DEFINITION = Text(N_(
    "Cumulative incidence of the first grade >= 3 immune-related adverse event after index "
    "(any line), by regimen at index; death before it is a competing risk; patients with "
    "neither are censored at last follow-up. Aalen-Johansen estimator, 95% CI by the delta "
    "method on the log(-log) scale (as lifelines' AalenJohansenFitter)."))


@dataclass
class CumulativeIncidence:
    """Aalen-Johansen cumulative incidence per group; times in days (``time_months`` too)."""

    stratification: str
    groups: pd.DataFrame  # CIF_GROUP_COLUMNS
    curve: pd.DataFrame  # CIF_COLUMNS
    milestones: pd.DataFrame  # group, time_months, cumulative_incidence, ci_lower, ci_upper
    definition: str = CIF_DEFINITION
    empty_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return jsonable_dict({
            "stratification": self.stratification, "groups": self.groups, "curve": self.curve,
            "milestones": self.milestones, "definition": self.definition,
            "empty_reason": self.empty_reason})


def aalen_johansen(times: np.ndarray, d_event: np.ndarray, d_competing: np.ndarray,
                   censored: np.ndarray) -> pd.DataFrame:
    """Cumulative incidence of the event of interest from counts at sorted distinct times.

    CIF(t) = sum over event times s <= t of S(s-) d1(s) / n(s), S the all-cause Kaplan-Meier;
    variance as lifelines (Collett, Greenwood-type), CI on the log(-log) scale.
    """
    d1, d2, c = (np.asarray(a, dtype=float) for a in (d_event, d_competing, censored))
    d = d1 + d2
    removed = np.cumsum(d + c)
    n = removed[-1] - removed + d + c
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(np.where(n > 0, 1 - d / n, 1.0))
        lag = np.r_[1.0, surv[:-1]]
        cif = np.cumsum(np.where(n > 0, lag * d1 / n, 0.0))
        # undefined once every patient at risk has an event (lifelines: NaN from there on)
        a = np.where(n > d, d / (n * (n - d)), np.where(d > 0, np.inf, 0.0))
        second = np.cumsum(np.where(n > 0, lag ** 2 * d1 * (n - d1) / n ** 3, 0.0))
        b = np.where(n > 0, lag * d1 / n ** 2, 0.0)
        first = (cif ** 2 * np.cumsum(a) - 2 * cif * np.cumsum(a * cif)
                 + np.cumsum(a * cif ** 2))
        third = cif * np.cumsum(b) - np.cumsum(b * cif)
        variance = first + second - 2 * third
        transformed = np.log(-np.log(cif))
        se = np.sqrt(variance) / (cif * np.abs(np.log(cif)))
        one = np.exp(-np.exp(transformed + Z95 * se))
        two = np.exp(-np.exp(transformed - Z95 * se))
    return pd.DataFrame({"time_days": np.asarray(times), "cumulative_incidence": cif,
                         "ci_lower": np.fmin(one, two), "ci_upper": np.fmax(one, two),
                         "at_risk": n.astype("int64")})


def _cif_counts(cohort: Cohort, by: str) -> pd.DataFrame:
    """Per (group, day): first severe irAEs, deaths before one, and censorings (one scan)."""
    events, _ = events_table(cohort)
    sql = (
        f"WITH first AS (SELECT rid, min(onset_days) AS irae_d FROM {events} "  # noqa: S608
        "WHERE immune AND grade >= 3 GROUP BY rid), "
        f"per AS (SELECT {stratum_column(by)} AS grp, b.death_d, b.fu_d, f.irae_d, "
        "f.irae_d IS NOT NULL AND f.irae_d <= b.fu_d AS irae "
        f"FROM {base_table(cohort)} b LEFT JOIN first f USING (rid) WHERE b.fu_d >= 0) "
        "SELECT grp, CAST(CASE WHEN irae THEN irae_d ELSE fu_d END AS INTEGER) AS time_days, "
        "count(*) FILTER (WHERE irae) AS d_event, "
        "count(*) FILTER (WHERE NOT irae AND death_d IS NOT NULL) AS d_competing, "
        "count(*) FILTER (WHERE NOT irae AND death_d IS NULL) AS censored "
        "FROM per GROUP BY 1, 2 ORDER BY grp, time_days")  # positions: portable (queries/engine)
    return cohort.db.cursor().execute(sql).df()


def _cif_milestones(curve: pd.DataFrame, group: str,
                    months: tuple[float, ...]) -> list[dict[str, Any]]:
    """The incidence (with CI) at each month; None past the group's last observed time."""
    rows = []
    for month in months:
        day = month * DAYS_PER_MONTH
        upto = curve[curve["time_days"] <= day]
        row: dict[str, Any] = {"group": group, "time_months": month,
                               "cumulative_incidence": None, "ci_lower": None,
                               "ci_upper": None}
        if day <= curve["time_days"].max():
            if len(upto):
                last = upto.iloc[-1]
                row.update(cumulative_incidence=float(last["cumulative_incidence"]),
                           ci_lower=last["ci_lower"], ci_upper=last["ci_upper"])
            else:
                row["cumulative_incidence"] = 0.0
        rows.append(row)
    return rows


def severe_irae_incidence(cohort: Cohort, by: str = "regimen",
                          milestone_months: tuple[float, ...] = (3.0, 6.0, 12.0)
                          ) -> CumulativeIncidence:
    """Cumulative incidence of the first grade >= 3 irAE with death competing, per group."""
    empty = CumulativeIncidence(by, pd.DataFrame(columns=CIF_GROUP_COLUMNS),
                                pd.DataFrame(columns=CIF_COLUMNS),
                                pd.DataFrame(columns=["group", "time_months",
                                                      "cumulative_incidence", "ci_lower",
                                                      "ci_upper"]))
    if cohort.size == 0:
        empty.empty_reason = Text(N_("the cohort is empty"))
        return empty
    counts = _cif_counts(cohort, by)
    if counts.empty:
        empty.empty_reason = Text(N_("no patient has follow-up after index"))
        return empty
    curves, groups, marks = [], [], []
    grp = counts["grp"].astype(str).to_numpy()
    starts = np.flatnonzero(np.r_[True, grp[1:] != grp[:-1]])
    ends = np.r_[starts[1:], len(grp)]
    arrays = {c: counts[c].to_numpy() for c in ("time_days", "d_event", "d_competing",
                                                 "censored")}
    for first, last in zip(starts, ends, strict=True):
        group = grp[first]
        part = {c: a[first:last] for c, a in arrays.items()}
        curve = aalen_johansen(part["time_days"], part["d_event"], part["d_competing"],
                               part["censored"])
        curve.insert(0, "group", group)
        curves.append(curve)
        groups.append({"group": group, "patients": int(sum(int(part[c].sum()) for c in (
            "d_event", "d_competing", "censored"))), "events": int(part["d_event"].sum()),
            "competing_deaths": int(part["d_competing"].sum()),
            "censored": int(part["censored"].sum())})
        marks.extend(_cif_milestones(curve, str(group), milestone_months))
    curve = pd.concat(curves, ignore_index=True)
    curve["time_months"] = curve["time_days"] / DAYS_PER_MONTH
    groups_frame = pd.DataFrame(groups, columns=CIF_GROUP_COLUMNS).sort_values(
        ["patients", "group"], ascending=[False, True], ignore_index=True)
    return CumulativeIncidence(by, groups_frame, curve[CIF_COLUMNS], pd.DataFrame(marks))
