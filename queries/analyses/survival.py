"""Kaplan-Meier survival, log-rank test, Cox hazard ratio, milestones, RMST and follow-up.

Endpoints (OS, rwPFS, rwTTD, rwTTNT, DoR, time to response) and their definitions in words are
in ``queries/analyses/endpoints.py``; every result carries its definition.

Fast path: DuckDB reduces the cohort to ``(stratum, time_days, n_event, n_censored)`` and the
Kaplan-Meier estimator, log-rank test and Cox model are computed from those counts with
lifelines' formulas in vectorized numpy (lifelines itself, with the counts as weights, spends
most of its time in pandas bookkeeping). tests/unit/test_survival.py shows each one equal to
lifelines' per-patient ``KaplanMeierFitter``, ``multivariate_logrank_test`` and ``CoxPHFitter``
(Efron ties, optionally stratified).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from queries.analyses.endpoints import (
    Endpoint,
    EndpointDefinition,
    EndpointOptions,
    definition,
    endpoint_sql,
)
from queries.analyses.strata import (
    UNKNOWN,
    UNTESTED,
    base_table,
    get,
    jsonable_dict,
    order_levels,
    stratum_column,
)
from queries.cohort.kept_tables import Cohort
from queries.engine.base import Cursor
from queries.i18n import N_, Text, Translator, translator
from queries.snapshot.schema import DAYS_PER_MONTH

Z95 = stats.norm.ppf(0.975)
NOT_TESTED_LEVELS = (UNKNOWN, UNTESTED)
NO_FOLLOW_UP = Text(N_("no patient has a usable follow-up time"))
SAME_PATIENTS = Text(N_("A and B hold the same patients: there is nothing to compare, so no "
                        "test is made."))
CI_METHODS = ("log-log", "log", "plain")
# stratifications whose fixed level order is not a clinical ordering (no trend test)
UNORDERED = frozenset({"sex", "smoking_status", "egfr", "alk", "kras", "braf", "msi"})
SMALL_GROUP_PATIENTS = 10
SMALL_GROUP_EVENTS = 5
DEFAULT_MILESTONE_MONTHS = (6.0, 12.0, 24.0)
DEFAULT_HORIZON_MONTHS = 12.0


@dataclass
class LogRankResult:
    statistic: float
    df: int
    p_value: float
    strata: list[str]


@dataclass
class HazardRatio:
    """Hazard of ``group`` relative to ``reference`` (HR > 1: ``group`` has events sooner)."""

    group: str
    reference: str
    hr: float
    ci_lower: float
    ci_upper: float
    p_value: float
    coef: float
    se: float
    method: str = N_("Cox proportional hazards, Efron ties, Wald 95% CI")

    @property
    def direction(self) -> str:
        return f"{self.group} vs {self.reference}"


MILESTONE_COLUMNS = ["stratum", "time_months", "survival", "ci_lower", "ci_upper", "at_risk"]
RMST_COLUMNS = ["stratum", "horizon_months", "rmst_months", "se_months", "ci_lower_months",
                "ci_upper_months"]
FOLLOW_UP_COLUMNS = ["stratum", "median_months", "ci_lower_months", "ci_upper_months"]


@dataclass
class RmstDifference:
    """RMST of ``group`` minus that of ``reference`` up to the horizon, in months."""

    group: str
    reference: str
    horizon_months: float
    difference_months: float
    ci_lower_months: float
    ci_upper_months: float
    p_value: float
    method: str = N_("difference of Kaplan-Meier areas, Greenwood-type variance, Wald 95% CI")


@dataclass
class SurvivalResult:
    """Everything a survival panel shows; times in days, *_months for display.

    ``milestones``: survival at fixed months with its CI (None past a group's follow-up);
    ``rmst``: restricted mean survival time to the horizon per group; ``follow_up``: median
    follow-up by reverse Kaplan-Meier (censoring as the event); ``warnings``: groups too small
    for the tests to be trusted.
    """

    endpoint: str
    stratification: str | None
    curve: pd.DataFrame
    summary: pd.DataFrame
    at_risk: pd.DataFrame
    logrank: LogRankResult | None = None
    hazard_ratio: HazardRatio | None = None
    empty_reason: str | None = None
    # log-rank test for trend across ordered strata (more than two, in their fixed order)
    trend: LogRankResult | None = None
    excluded: int | None = 0  # None in a protected copy where it is withheld
    ci_method: str = "log-log"
    notes: list[str] = field(default_factory=list)
    definition: EndpointDefinition | None = None
    milestones: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=MILESTONE_COLUMNS))
    rmst: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=RMST_COLUMNS))
    rmst_difference: RmstDifference | None = None
    follow_up: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=FOLLOW_UP_COLUMNS))
    warnings: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return self.empty_reason is not None

    def to_dict(self) -> dict[str, Any]:
        hr = None
        if self.hazard_ratio:
            hr = {**vars(self.hazard_ratio), "direction": self.hazard_ratio.direction}
        return jsonable_dict({
            "endpoint": self.endpoint, "stratification": self.stratification,
            "definition": ({**{k: v for k, v in vars(self.definition).items()
                                if k != "options"}, "text": self.definition.text()}
                           if self.definition else None),
            "curve": self.curve, "summary": self.summary, "at_risk": self.at_risk,
            "milestones": self.milestones, "rmst": self.rmst,
            "rmst_difference": vars(self.rmst_difference) if self.rmst_difference else None,
            "follow_up": self.follow_up,
            "logrank": vars(self.logrank) if self.logrank else None,
            "trend": vars(self.trend) if self.trend else None,
            "hazard_ratio": hr,
            "empty_reason": self.empty_reason, "excluded": self.excluded,
            "ci_method": self.ci_method, "notes": self.notes, "warnings": self.warnings,
        })


# --- data: DuckDB aggregation -------------------------------------------------------------


def patient_times_sql(cohort: Cohort, endpoint: Endpoint | str,
                      options: EndpointOptions | None = None) -> tuple[str, dict[str, int]]:
    """SQL (and its parameters) of ``(patient_id, time_days, event)`` for the endpoint's
    population (see queries/analyses/endpoints.py); times before index are left out."""
    parts = endpoint_sql(endpoint, options)
    sql = (f"SELECT patient_id, time_days, event FROM (SELECT patient_id, "  # noqa: S608
           f"CAST({parts.time_days} AS INTEGER) AS time_days, {parts.event} AS event "
           f"FROM {base_table(cohort)} WHERE {parts.population}) WHERE time_days >= 0")
    return sql, parts.params


def patient_times(cohort: Cohort, endpoint: Endpoint | str,
                  options: EndpointOptions | None = None) -> list[tuple[str, int, bool]]:
    """``(patient_id, time_days, event)`` of every patient in the endpoint's analysis, sorted."""
    sql, params = patient_times_sql(cohort, endpoint, options)
    rows = _execute(cohort, sql + " ORDER BY patient_id", params).fetchall()
    return [(str(pid), int(time), bool(event)) for pid, time, event in rows]


def aggregate(cohort: Cohort, endpoint: Endpoint | str, strata: str | None = None,
              within: str | Sequence[str] | None = None,
              options: EndpointOptions | None = None) -> pd.DataFrame:
    """Counts of events and censorings per (stratum, day): the whole input of every fit.

    Read from the cohort's analysis base (queries/analyses/strata.py). ``within`` adds the combined
    levels of one or more other stratifications as column ``within`` (the strata of a
    stratified Cox model).
    """
    parts = endpoint_sql(endpoint, options)
    keys = [within] if isinstance(within, str) else list(within or [])
    extra = ""
    if keys:
        extra = ", " + " || ' | ' || ".join(stratum_column(key) for key in keys) + " AS within"
    # positions, not GROUP BY ALL: the same SQL runs on every engine (queries/engine)
    keys_list = "1, 2, 3" if keys else "1, 2"
    sql = (
        f"SELECT stratum{', within' if keys else ''}, time_days, "  # noqa: S608 - fixed names
        "sum(CAST(event AS INTEGER)) AS n_event, sum(CAST(NOT event AS INTEGER)) AS n_censored "
        f"FROM (SELECT {stratum_column(strata)} AS stratum{extra}, "
        f"CAST({parts.time_days} AS INTEGER) AS time_days, {parts.event} AS event "
        f"FROM {base_table(cohort)} WHERE {parts.population}) "
        f"WHERE time_days >= 0 GROUP BY {keys_list} ORDER BY {keys_list}"
    )
    frame = _execute(cohort, sql, parts.params).df()
    return frame.astype({"stratum": str, "time_days": "int64", "n_event": "int64",
                         "n_censored": "int64"})


def population_size(cohort: Cohort, endpoint: Endpoint | str,
                    options: EndpointOptions | None = None) -> int:
    """Cohort patients the endpoint applies to (before dropping times before index)."""
    parts = endpoint_sql(endpoint, options)
    sql = f"SELECT count(*) FROM {base_table(cohort)} WHERE {parts.population}"  # noqa: S608
    return int(_execute(cohort, sql, parts.params).fetchall()[0][0])


def _execute(cohort: Cohort, sql: str, params: dict[str, int]) -> Cursor:
    """Run with the named parameters the statement uses (DuckDB rejects unused ones)."""
    used = {name: value for name, value in params.items() if f"${name}" in sql}
    return cohort.db.cursor().execute(sql, used)


def aggregate_patients(durations: ArrayLike, events: ArrayLike,
                       groups: ArrayLike | None = None) -> pd.DataFrame:
    """The same counts from per-patient arrays (tests, the pandas comparison in the bench)."""
    frame = pd.DataFrame({
        "stratum": "All patients" if groups is None else pd.Series(groups).astype(str).values,
        "time_days": np.asarray(durations, dtype="int64"),
        "event": np.asarray(events, dtype=bool),
    })
    frame["n_event"] = frame["event"].astype("int64")
    frame["n_censored"] = (~frame["event"]).astype("int64")
    return (frame.groupby(["stratum", "time_days"], as_index=False)[["n_event", "n_censored"]]
            .sum().sort_values(["stratum", "time_days"], ignore_index=True))


# --- statistics on the counts -------------------------------------------------------------


def _counts_matrix(agg: pd.DataFrame, strata: list[str]) -> tuple[np.ndarray, ...]:
    """Distinct times and per-stratum event/censor counts at each, as dense arrays [G, T]."""
    part = agg[agg["stratum"].isin(strata)]
    times, t_idx = np.unique(part["time_days"].to_numpy(), return_inverse=True)
    g_idx = pd.Categorical(part["stratum"], categories=strata).codes
    d = np.zeros((len(strata), len(times)))
    c = np.zeros((len(strata), len(times)))
    np.add.at(d, (g_idx, t_idx), part["n_event"].to_numpy())
    np.add.at(c, (g_idx, t_idx), part["n_censored"].to_numpy())
    return times, d, c


def _at_risk(d: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Numbers at risk just before each time (last axis = time)."""
    removed = np.cumsum(d + c, axis=-1)
    at_risk: np.ndarray = removed[..., -1:] - removed + d + c
    return at_risk


def _fit_stratum(times: np.ndarray, d: np.ndarray, c: np.ndarray,
                 ci_method: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """KM curve and median of one stratum from its counts at each distinct time.

    The same formulas as lifelines' KaplanMeierFitter (product-limit estimate, Greenwood
    variance, exponential Greenwood "log-log" CI), so it equals lifelines' per-patient fit;
    ``ci_method="log"`` gives R survfit's default CI instead.
    """
    keep = (d + c) > 0
    times, d, c = times[keep], d[keep], c[keep]
    n = _at_risk(d, c)
    n_total = int(n[0]) if len(n) else 0
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.exp(np.cumsum(np.log(n - d) - np.log(n)))
        var_terms = d / (n * (n - d))
        var = np.cumsum(np.where(np.isinf(var_terms), 0.0, var_terms))
        if ci_method == "log":
            lower, upper = _log_ci(surv, var)
        elif ci_method == "plain":  # R survfit conf.type = "plain", clipped to [0, 1]
            half = Z95 * surv * np.sqrt(var)
            lower, upper = np.clip(surv - half, 0.0, 1.0), np.clip(surv + half, 0.0, 1.0)
        else:
            v = np.log(surv)
            lower = np.exp(-np.exp(np.log(-v) - Z95 * np.sqrt(var) / v))
            upper = np.exp(-np.exp(np.log(-v) + Z95 * np.sqrt(var) / v))
            lower, upper = np.nan_to_num(lower, nan=1.0), np.nan_to_num(upper, nan=1.0)
    if len(times) == 0 or times[0] != 0:
        times, surv, lower, upper = (np.concatenate([[x0], arr]) for x0, arr in
                                     ((0, times), (1.0, surv), (1.0, lower), (1.0, upper)))
        n, d, c = (np.concatenate([[x0], arr]) for x0, arr in ((n_total, n), (0, d), (0, c)))
    curve = pd.DataFrame({"time_days": times.astype("int64"), "survival": surv,
                          "ci_lower": lower, "ci_upper": upper, "at_risk": n.astype("int64"),
                          "events": d.astype("int64"), "censored": c.astype("int64")})
    # Where the estimate is 0 its CI is undefined (R's survfit gives NA there), so a
    # median CI bound reached only there is NA, not a point (a group of one patient).
    undefined = surv <= 0
    summary = {"n": n_total, "events": int(d.sum()),
               "median_days": _first_below_half(times, surv),
               "median_ci_lower_days": _first_below_half(times, np.where(undefined, np.nan,
                                                                         lower)),
               "median_ci_upper_days": _first_below_half(times, np.where(undefined, np.nan,
                                                                         upper))}
    return curve, summary


def _log_ci(surv: np.ndarray, var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Greenwood 95% CI on the log scale (R survfit's default conf.type = "log")."""
    se = np.sqrt(var)
    lower = np.where(surv > 0, surv * np.exp(-Z95 * se), np.nan)
    upper = np.where(surv > 0, np.minimum(1.0, surv * np.exp(Z95 * se)), np.nan)
    return lower, upper


def _first_below_half(times: np.ndarray, values: np.ndarray) -> float | None:
    """First time a curve is at or below 0.5 (None when it never is); NaN carries forward."""
    values = pd.Series(values).ffill().to_numpy()
    hits = np.flatnonzero(values <= 0.5)
    return float(times[hits[0]]) if len(hits) else None


def _logrank_terms(agg: pd.DataFrame, strata: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Observed minus expected events per stratum and their covariance matrix."""
    _, d, c = _counts_matrix(agg, strata)
    n = _at_risk(d, c)
    big_n, big_d = n.sum(axis=0), d.sum(axis=0)
    use = (big_d > 0) & (big_n > 1)
    n, d, big_n, big_d = n[:, use], d[:, use], big_n[use], big_d[use]
    share = n / big_n
    observed_minus_expected = (d - big_d * share).sum(axis=1)
    factor = big_d * (big_n - big_d) / (big_n - 1)
    cov = np.einsum("t,gt,ht->gh", factor, share, share)
    return observed_minus_expected, np.diag((factor * share).sum(axis=1)) - cov


def logrank(agg: pd.DataFrame, strata: list[str]) -> LogRankResult | None:
    """Log-rank test across the given strata from the counts (equal to lifelines')."""
    strata = [s for s in strata if (agg["stratum"] == s).any()]
    if len(strata) < 2:
        return None
    observed_minus_expected, var = _logrank_terms(agg, strata)
    u, v = observed_minus_expected[:-1], var[:-1, :-1]
    statistic = float(u @ np.linalg.pinv(v) @ u)
    df = len(strata) - 1
    return LogRankResult(statistic, df, float(stats.chi2.sf(statistic, df)), list(strata))


def logrank_trend(agg: pd.DataFrame, strata: list[str]) -> LogRankResult | None:
    """Log-rank test for trend across ordered strata (scores 0, 1, 2, ... in this order):
    (w'(O - E))^2 / w'Vw on 1 df. With two strata it is the log-rank test."""
    strata = [s for s in strata if (agg["stratum"] == s).any()]
    if len(strata) < 2:
        return None
    observed_minus_expected, var = _logrank_terms(agg, strata)
    scores = np.arange(len(strata), dtype=float)
    denominator = float(scores @ var @ scores)
    if denominator <= 0:
        return None
    statistic = float((scores @ observed_minus_expected) ** 2 / denominator)
    return LogRankResult(statistic, 1, float(stats.chi2.sf(statistic, 1)), list(strata))


def cox_two_groups(agg: pd.DataFrame, group: str, reference: str) -> HazardRatio | None:
    """Hazard ratio of ``group`` vs ``reference`` (Efron ties) from the aggregated counts.

    When ``agg`` has a ``within`` column the model is stratified by it: each level keeps its
    own baseline hazard (like ``CoxPHFitter(strata=...)``), the hazard ratio is shared.
    """
    part = agg[agg["stratum"].isin([group, reference])]
    if part.empty or part["n_event"].sum() == 0:
        return None
    blocks = [b for _, b in part.groupby("within")] if "within" in part else [part]
    arrays = [_risk_arrays(block, group, reference) for block in blocks]
    d1, d0, n1, n0 = (np.concatenate(column) for column in zip(*arrays, strict=True))
    fitted = _efron_newton(d1, d0, n1, n0)
    if fitted is None:
        return None
    beta, se = fitted
    z = beta / se
    method = "Cox proportional hazards, Efron ties, Wald 95% CI"
    if "within" in part:
        method += f", stratified ({len(blocks)} strata)"
    return HazardRatio(group=group, reference=reference, hr=math.exp(beta),
                       ci_lower=math.exp(beta - Z95 * se), ci_upper=math.exp(beta + Z95 * se),
                       p_value=float(2 * stats.norm.sf(abs(z))), coef=beta, se=se,
                       method=method)


def _risk_arrays(part: pd.DataFrame, group: str, reference: str) -> tuple[np.ndarray, ...]:
    """Events (d) and numbers at risk (n) of each group at every time of one stratum."""
    _, d, c = _counts_matrix(part, [group, reference])
    n = _at_risk(d, c)
    return d[0], d[1], n[0], n[1]


def _efron_newton(d1: np.ndarray, d0: np.ndarray, n1: np.ndarray,
                  n0: np.ndarray) -> tuple[float, float] | None:
    """Maximize Efron's partial likelihood for one binary covariate; (beta, se) or None."""
    keep = (d1 + d0) > 0
    d1, d0, n1, n0 = (np.asarray(a, dtype=float)[keep] for a in (d1, d0, n1, n0))
    d = (d1 + d0).astype(int)
    if d1.sum() == 0 or d0.sum() == 0:
        return None  # the estimate is infinite: one group has no events
    idx = np.repeat(np.arange(len(d)), d)
    frac = (np.arange(idx.size) - np.repeat(np.cumsum(d) - d, d)) / d[idx]
    beta = 0.0
    for _ in range(100):
        q, info = _efron_terms(beta, d1, d0, n1, n0, idx, frac)
        if not info > 0:
            return None
        step = (d1.sum() - q.sum()) / info
        beta += max(-5.0, min(5.0, step))  # bounded steps; the MLE exists (both have events)
        if abs(beta) > 30:
            return None  # monotone likelihood: no finite estimate
        if abs(step) < 1e-10:
            break
    _, info = _efron_terms(beta, d1, d0, n1, n0, idx, frac)
    return (float(beta), 1.0 / math.sqrt(info)) if info > 0 else None


def _efron_terms(beta: float, d1: np.ndarray, d0: np.ndarray, n1: np.ndarray, n0: np.ndarray,
                 idx: np.ndarray, frac: np.ndarray) -> tuple[np.ndarray, float]:
    eb = math.exp(beta)
    risk1, event1 = n1 * eb, d1 * eb
    den = (n0 + risk1)[idx] - frac * (d0 + event1)[idx]
    q = (risk1[idx] - frac * event1[idx]) / den
    return q, float((q - q * q).sum())


# --- the panel ----------------------------------------------------------------------------


def default_at_risk_months(max_days: float, every: int = 6) -> list[float]:
    """Every ``every`` months up to the longest follow-up."""
    last = int(max_days // (every * DAYS_PER_MONTH))
    return [float(every * k) for k in range(last + 1)]


def at_risk_table(curves: pd.DataFrame, months: list[float]) -> pd.DataFrame:
    """Numbers at risk (time >= t) per stratum at the given months."""
    frames = []
    days = np.asarray(months, dtype=float) * DAYS_PER_MONTH
    for stratum, part in curves.groupby("stratum", sort=False):
        times = part["time_days"].to_numpy()
        at_risk = np.append(part["at_risk"].to_numpy(), 0)
        # the first curve row at or after t holds the number still followed at t
        first = np.searchsorted(times, days, side="left")
        values = at_risk[first]
        values[days <= 0] = at_risk[0]
        frames.append(pd.DataFrame({"stratum": stratum, "time_months": list(months),
                                    "at_risk": values.astype("int64")}))
    if not frames:
        return pd.DataFrame(columns=["stratum", "time_months", "at_risk"])
    return pd.concat(frames, ignore_index=True)


# --- milestones, restricted mean, follow-up -----------------------------------------------


def milestones(curve: pd.DataFrame, months: Sequence[float]) -> pd.DataFrame:
    """Survival and its CI at each month per stratum, read off the Kaplan-Meier steps.

    None past a stratum's last observed time (nobody is followed there), unless the curve
    already reached 0.
    """
    rows = []
    for stratum, part in curve.groupby("stratum", sort=False):
        times = part["time_days"].to_numpy()
        surv, lower, upper = (part[col].to_numpy(dtype=float)
                              for col in ("survival", "ci_lower", "ci_upper"))
        at_risk = np.append(part["at_risk"].to_numpy(), 0)
        for month in months:
            day = float(month) * DAYS_PER_MONTH
            i = int(np.searchsorted(times, day, side="right")) - 1
            known = day <= times[-1] or surv[-1] <= 0
            rows.append({"stratum": stratum, "time_months": float(month),
                         "survival": float(surv[i]) if known else None,
                         "ci_lower": float(lower[i]) if known else None,
                         "ci_upper": float(upper[i]) if known else None,
                         "at_risk": int(at_risk[np.searchsorted(times, day, side="left")])})
    return pd.DataFrame(rows, columns=MILESTONE_COLUMNS)


def restricted_mean(times: np.ndarray, surv: np.ndarray, events: np.ndarray,
                    at_risk: np.ndarray, horizon_days: float) -> tuple[float, float] | None:
    """RMST (area under the KM step curve up to the horizon) and its variance, in days.

    Variance: sum over event times t <= horizon of A(t)^2 d / (n (n - d)), with A(t) the area
    from t to the horizon (Klein & Moeschberger 4.5; R survRM2). None when the horizon lies
    past the last observed time and the curve has not reached 0.
    """
    if horizon_days > times[-1] and surv[-1] > 0:
        return None
    inside = times < horizon_days
    edges = np.append(times[inside], horizon_days)
    pieces = surv[inside] * np.diff(edges)
    rmst = float(pieces.sum())
    area_after = np.cumsum(pieces[::-1])[::-1]  # area from each time to the horizon
    d, n = events[inside].astype(float), at_risk[inside].astype(float)
    use = (d > 0) & (n > d)
    variance = float((area_after[use] ** 2 * d[use] / (n[use] * (n[use] - d[use]))).sum())
    return rmst, variance


def rmst_table(curve: pd.DataFrame, horizon_months: float) -> pd.DataFrame:
    """RMST to the horizon per stratum with its 95% CI, in months."""
    rows = []
    for stratum, part in curve.groupby("stratum", sort=False):
        fitted = restricted_mean(part["time_days"].to_numpy(), part["survival"].to_numpy(),
                                 part["events"].to_numpy(), part["at_risk"].to_numpy(),
                                 horizon_months * DAYS_PER_MONTH)
        if fitted is None:
            rows.append({"stratum": stratum, "horizon_months": horizon_months})
            continue
        rmst, se = fitted[0] / DAYS_PER_MONTH, math.sqrt(fitted[1]) / DAYS_PER_MONTH
        rows.append({"stratum": stratum, "horizon_months": horizon_months, "rmst_months": rmst,
                     "se_months": se, "ci_lower_months": rmst - Z95 * se,
                     "ci_upper_months": rmst + Z95 * se})
    return pd.DataFrame(rows, columns=RMST_COLUMNS)


def rmst_difference(rmst: pd.DataFrame, group: str, reference: str) -> RmstDifference | None:
    """RMST of ``group`` minus ``reference`` with a Wald CI (independent groups)."""
    rows = rmst.set_index("stratum")
    if group not in rows.index or reference not in rows.index:
        return None
    a, b = rows.loc[group], rows.loc[reference]
    if pd.isna(a["rmst_months"]) or pd.isna(b["rmst_months"]):
        return None
    diff = float(a["rmst_months"] - b["rmst_months"])
    se = math.sqrt(float(a["se_months"]) ** 2 + float(b["se_months"]) ** 2)
    p = float(2 * stats.norm.sf(abs(diff / se))) if se > 0 else float("nan")
    return RmstDifference(group, reference, float(a["horizon_months"]), diff,
                          diff - Z95 * se, diff + Z95 * se, p)


def follow_up_table(times: np.ndarray, d: np.ndarray, c: np.ndarray, levels: list[str],
                    ci_method: str) -> pd.DataFrame:
    """Median follow-up per stratum by reverse Kaplan-Meier: censoring is the event."""
    rows = []
    for i, level in enumerate(levels):
        _, summary = _fit_stratum(times, c[i], d[i], ci_method)
        rows.append({"stratum": level, **{
            key: None if summary[f"{src}_days"] is None
            else summary[f"{src}_days"] / DAYS_PER_MONTH
            for key, src in (("median_months", "median"), ("ci_lower_months", "median_ci_lower"),
                             ("ci_upper_months", "median_ci_upper"))}})
    return pd.DataFrame(rows, columns=FOLLOW_UP_COLUMNS)


def small_group_warnings(summary: pd.DataFrame) -> list[str]:
    """Groups too small for their estimates and tests to be trusted, in words."""
    small = summary[(summary["n"] < SMALL_GROUP_PATIENTS)
                    | (summary["events"] < SMALL_GROUP_EVENTS)]
    return [Text(N_("{group} has only {n} patients and {events} events (fewer than {min_n} "
                    "patients or {min_events} events): its estimates and any test involving it "
                    "are unreliable"), group=row.stratum, n=row.n, events=row.events,
                 min_n=SMALL_GROUP_PATIENTS, min_events=SMALL_GROUP_EVENTS)
            for row in small.itertuples()]


# --- the panel ----------------------------------------------------------------------------


def fit(agg: pd.DataFrame, endpoint: Endpoint | str = Endpoint.OS,
        stratification: str | None = None, at_risk_months: list[float] | None = None,
        hr_groups: tuple[str, str] | None = None, ci_method: str = "log-log",
        milestone_months: Sequence[float] = DEFAULT_MILESTONE_MONTHS,
        horizon_months: float = DEFAULT_HORIZON_MONTHS, *,
        at_risk_columns: int | None = None, hr_ordered_extremes: bool = False) -> SurvivalResult:
    """Every survival statistic from the aggregated counts (pure; no database).

    ``hr_groups`` = (group, reference); by default the hazard ratio is given when exactly two
    known strata exist (the second vs the first in display order). Unknown/untested strata are
    drawn but left out of the log-rank test and the default hazard ratio.
    ``at_risk_columns``: numbers at risk every 6 months, or every 12 when 6 would give more
    columns than this. ``hr_ordered_extremes``: with more than two known strata of a
    stratification whose levels have an order and no ``hr_groups``, the hazard ratio of the
    last level vs the first (e.g. PD-L1 TPS >= 50 % vs < 1 %).
    """
    endpoint = Endpoint(endpoint)
    levels = order_levels(stratification, set(agg["stratum"]))
    curves, summaries = [], []
    times, d, c = _counts_matrix(agg, levels)
    for i, level in enumerate(levels):
        curve, stratum_summary = _fit_stratum(times, d[i], c[i], ci_method)
        curves.append(curve.assign(stratum=level))
        summaries.append({"stratum": level, **stratum_summary})
    curve = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(
        columns=["stratum", "time_days", "survival", "ci_lower", "ci_upper", "at_risk",
                 "events", "censored"])
    curve["time_months"] = curve["time_days"] / DAYS_PER_MONTH
    curve = curve[["stratum", "time_days", "time_months", "survival", "ci_lower", "ci_upper",
                   "at_risk", "events", "censored"]]
    summary = _summary_frame(summaries)
    if at_risk_months is None:
        longest = float(agg["time_days"].max() or 0)
        at_risk_months = default_at_risk_months(longest)
        if at_risk_columns is not None and len(at_risk_months) > at_risk_columns:
            at_risk_months = default_at_risk_months(longest, every=12)
    tested = [s for s in levels if s not in NOT_TESTED_LEVELS]
    tested = tested if len(tested) >= 2 else levels
    notes: list[str] = []
    if hr_groups is not None:
        missing = [g for g in hr_groups if g not in levels]
        if missing:
            notes.append(Text(N_("no hazard ratio: {missing} is not a group of this analysis "
                                 "(groups: {groups})"), missing=", ".join(missing),
                              groups=", ".join(levels)))
            hr_groups = None
    elif len(tested) == 2:
        hr_groups = (tested[1], tested[0])
    elif len(tested) > 2 and hr_ordered_extremes and stratification is not None \
            and bool(get(stratification).levels):
        hr_groups = (tested[-1], tested[0])
    elif len(tested) > 2:
        notes.append(Text(N_("no single hazard ratio: there are {n} groups; the log-rank test "
                             "compares them all, and a hazard ratio needs a chosen pair "
                             "(A vs B)"), n=len(tested)))
    rmst = rmst_table(curve, horizon_months)
    beyond = rmst.loc[rmst["rmst_months"].isna(), "stratum"].tolist()
    if beyond:
        notes.append(Text(N_("no RMST to {months} months for {groups}: follow-up ends before "
                             "the horizon"), months=f"{horizon_months:g}",
                          groups=", ".join(beyond)))
    return SurvivalResult(
        endpoint=endpoint.value, stratification=stratification, curve=curve, summary=summary,
        at_risk=at_risk_table(curve, list(at_risk_months)),
        logrank=logrank(agg, tested) if len(tested) >= 2 else None,
        trend=logrank_trend(agg, tested) if len(tested) > 2 and _ordered(stratification)
        else None,
        hazard_ratio=cox_two_groups(agg, *hr_groups) if hr_groups else None,
        ci_method=ci_method, notes=notes,
        milestones=milestones(curve, milestone_months), rmst=rmst,
        rmst_difference=rmst_difference(rmst, *hr_groups) if hr_groups else None,
        follow_up=follow_up_table(times, d, c, levels, ci_method),
        warnings=small_group_warnings(summary),
    )


def _ordered(stratification: str | None) -> bool:
    """Whether the stratification's levels have a clinical order (a trend makes sense)."""
    return stratification is not None and bool(get(stratification).levels) and \
        get(stratification).key not in UNORDERED


def _summary_frame(summaries: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(summaries, columns=["stratum", "n", "events", "median_days",
                                             "median_ci_lower_days", "median_ci_upper_days"])
    for col in ("median", "median_ci_lower", "median_ci_upper"):
        frame[f"{col}_months"] = frame[f"{col}_days"].map(
            lambda v: None if v is None or pd.isna(v) else v / DAYS_PER_MONTH)
    return frame


def empty_result(endpoint: Endpoint | str, stratification: str | None, reason: str,
                 options: EndpointOptions | None = None) -> SurvivalResult:
    endpoint = Endpoint(endpoint)
    return SurvivalResult(
        endpoint=endpoint.value, stratification=stratification,
        curve=pd.DataFrame(columns=["stratum", "time_days", "time_months", "survival",
                                    "ci_lower", "ci_upper", "at_risk", "events", "censored"]),
        summary=_summary_frame([]), at_risk=pd.DataFrame(columns=["stratum", "time_months",
                                                                   "at_risk"]),
        empty_reason=reason, definition=definition(endpoint, options))


def kaplan_meier(cohort: Cohort, endpoint: Endpoint | str = Endpoint.OS,
                 strata: str | None = None, at_risk_months: list[float] | None = None,
                 hr_groups: tuple[str, str] | None = None,
                 ci_method: str = "log-log",
                 hr_adjust: str | Sequence[str] | None = None,
                 options: EndpointOptions | None = None,
                 milestone_months: Sequence[float] = DEFAULT_MILESTONE_MONTHS,
                 horizon_months: float = DEFAULT_HORIZON_MONTHS, *,
                 at_risk_columns: int | None = None,
                 hr_ordered_extremes: bool = False) -> SurvivalResult:
    """Kaplan-Meier analysis of the cohort for an endpoint, optionally stratified.

    ``hr_adjust``: stratifications whose combined levels get their own baseline hazard in the
    Cox model (e.g. ``("cancer_type", "stage")``): the hazard ratio is adjusted for them.
    Curves, medians and the log-rank test are not affected. ``options``: the choices inside
    the endpoint's definition (queries/analyses/endpoints.py). ``at_risk_columns`` and
    ``hr_ordered_extremes``: see ``fit``.
    """
    endpoint = Endpoint(endpoint)
    if ci_method not in CI_METHODS:
        raise ValueError(f"ci_method must be one of {CI_METHODS}, not {ci_method!r}")
    words = definition(endpoint, options)
    if cohort.size == 0:
        return empty_result(endpoint, strata, Text(N_("the cohort is empty")), options)
    in_population = population_size(cohort, endpoint, options)
    if in_population == 0:
        return empty_result(endpoint, strata, Text(N_("no patient in this cohort has "
                                                       "{left_out}"), left_out=words.left_out),
                            options)
    agg = aggregate(cohort, endpoint, strata, within=hr_adjust, options=options)
    if agg.empty:
        return empty_result(endpoint, strata, NO_FOLLOW_UP, options)
    result = fit(agg, endpoint, strata, at_risk_months, hr_groups, ci_method, milestone_months,
                 horizon_months, at_risk_columns=at_risk_columns,
                 hr_ordered_extremes=hr_ordered_extremes)
    result.definition = words
    analysed = int(agg[["n_event", "n_censored"]].to_numpy().sum())
    result.excluded = cohort.size - analysed
    if cohort.size > in_population:
        result.notes.insert(0, Text(N_("{n} patients without {left_out} were left out"),
                                    n=cohort.size - in_population, left_out=words.left_out))
    if in_population > analysed:
        result.notes.insert(0, Text(N_("{n} patients whose time ends before index (data "
                                       "errors) were left out"), n=in_population - analysed))
    return result


def _unusable_reason(cohort: Cohort, endpoint: Endpoint,
                     options: EndpointOptions | None = None) -> str | None:
    """Why the cohort has no curve for the endpoint, before aggregating (None: it may)."""
    if cohort.size == 0:
        return Text(N_("the cohort is empty"))
    if population_size(cohort, endpoint, options) == 0:
        return Text(N_("no patient in this cohort has {left_out}"),
                    left_out=definition(endpoint, options).left_out)
    return None


def compare_cohorts(cohorts: list[tuple[Cohort, str]], endpoint: str,
                    notes: list[str] | None = None) -> SurvivalResult:
    """KM of several cohorts as the strata of one fit; HR of the second vs the first of two.

    Patients in more than one cohort count in each, so the tests assume independent groups.
    A cohort without a curve for the endpoint is left out, with a note ("label: why");
    ``notes`` are carried into the result too.
    """
    notes = list(notes or [])
    parts, labels = [], []
    for cohort, label in cohorts:
        reason = _unusable_reason(cohort, Endpoint(endpoint))
        part = None if reason else aggregate(cohort, endpoint, None)
        if part is not None and part.empty:
            reason = NO_FOLLOW_UP
        if reason:
            notes.append(Text(N_("{label}: {reason}"), label=label, reason=reason))
        elif part is not None:
            parts.append(part.assign(stratum=label))
            labels.append(label)
    if not parts:
        return empty_result(Endpoint(endpoint), None, "; ".join(notes))
    agg = pd.concat(parts, ignore_index=True)
    longest = float(agg["time_days"].max())
    every = 6 if longest <= 48 * DAYS_PER_MONTH else 12
    hr_groups = (labels[1], labels[0]) if len(labels) == 2 else None
    result = fit(agg, endpoint, None, default_at_risk_months(longest, every), hr_groups)
    result.definition = definition(endpoint)
    if len(cohorts) == 2:
        shared, identical = cohort_overlap(cohorts[0][0], cohorts[1][0])
        if identical:
            result.logrank, result.hazard_ratio = None, None
            result.trend = None
            notes.append(SAME_PATIENTS)
        elif shared:
            notes.append(Text(N_("{n} patients are in both cohorts and count in each; the "
                                 "log-rank test and hazard ratio assume independent groups (the "
                                 "adjusted comparison below can leave them out)."), n=shared))
    result.notes.extend(notes)
    return result


def cohort_overlap(first: Cohort, second: Cohort) -> tuple[int, bool]:
    """Patients in both cohorts, and whether the two hold the same patients with the same
    index dates."""
    if first.table == second.table:
        return first.size, True
    both = "a.patient_id IS NOT NULL AND b.patient_id IS NOT NULL"
    sql = (f"SELECT count(*) FILTER (WHERE {both}), count(*) FILTER (WHERE {both} AND "  # noqa: S608
           f"a.index_date = b.index_date) FROM {first.table} a FULL OUTER JOIN {second.table} b "
           "USING (patient_id)")  # validated table names
    with first.db.hold():  # both tables stay (or are made again) until the query has run
        first.db.ensure(first.table)
        first.db.ensure(second.table)
        row = first.db.cursor().execute(sql).fetchone()
    shared, same_index = (int(row[0]), int(row[1])) if row else (0, 0)
    return shared, same_index == first.size == second.size


CUT_REASON = N_("curve cut: fewer than {n} patients at risk after this time")
CUT_NOTE = N_("Curves are drawn while at least {n} patients remain at risk (chosen cut); "
              "medians, milestones and tests use every patient")


def cut_at_risk(result: SurvivalResult, min_at_risk: int | None,
                language: Translator | None = None) -> SurvivalResult:
    """``result`` with each curve (and its numbers at risk) ending where fewer than
    ``min_at_risk`` patients remain at risk, so that a long flat tail over one or two
    patients is not read as a result; the estimates themselves are unchanged. The last drawn
    row says so in ``cut_reason`` (in ``language``). None or 0: the result as it is."""
    if not min_at_risk or result.curve.empty or "at_risk" not in result.curve:
        return result
    words = language or translator()
    reason = words.gettext(CUT_REASON, n=words.integer(min_at_risk))
    parts, ends = [], {}
    for stratum, part in result.curve.groupby("stratum", sort=False):
        at_risk = pd.to_numeric(part["at_risk"], errors="coerce").fillna(0).to_numpy()
        keep = np.minimum.accumulate(at_risk >= min_at_risk)
        keep[0] = True  # the start of every curve stays, so no group disappears
        if keep.all():
            parts.append(part)
            continue
        kept = part[keep].copy()
        if "cut_reason" not in kept:
            kept["cut_reason"] = None
        reasons = kept["cut_reason"].astype(object).tolist()
        reasons[-1] = reason
        kept["cut_reason"] = reasons
        parts.append(kept)
        ends[stratum] = float(kept["time_months"].iloc[-1])
    if not ends:
        return result
    curve = pd.concat(parts, ignore_index=True)
    at_risk_table = result.at_risk
    if not at_risk_table.empty:
        limit = at_risk_table["stratum"].map(ends).fillna(np.inf)
        at_risk_table = at_risk_table[at_risk_table["time_months"] <= limit + 1e-9]
    note = words.gettext(CUT_NOTE, n=words.integer(min_at_risk))
    return replace(result, curve=curve, at_risk=at_risk_table.reset_index(drop=True),
                   notes=[*result.notes, note])
