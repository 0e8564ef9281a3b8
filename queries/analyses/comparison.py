"""Compare two cohorts like a study: overlap rule, propensity score, matching or weighting,
balance before and after, crude and adjusted outcomes, subgroups.

Every contrast reads "A vs B" (group A is the first cohort or level). Patient rows stay in
this module; results hold aggregates only.

Definitions (shown with the results):

- Overlap: a patient in both cohorts is left out of both (default), or kept in A only / B
  only. Two cohorts with the same patients are reported as identical and not tested.
- Propensity score: logistic regression of "in A" on the chosen covariates at index.
- Matching: 1:1 greedy nearest neighbour on the logit of the score, without replacement,
  within a caliper of ``caliper_sd`` standard deviations of the logit (default 0.2), A patients
  taken in a random order fixed by the seed. Unmatched patients leave the adjusted analysis.
- Weighting: stabilised inverse-probability weights; patients with a score outside
  [trim, 1 - trim] are trimmed (weight 0).
- Outcomes: OS (death; alive censored at last follow-up) and PFS (the analysis base's
  definition, see queries.analyses.survival) from the index date; the hazard ratio is a Cox
  model of group alone, with a robust (sandwich) CI clustered on matched pairs or with the
  weights. ORR: CR or PR as best overall response, denominator all patients (not evaluable
  counts as no response). Grade >= 3 irAE: any immune-related adverse event of grade 3-5 with
  onset on or after the index date, denominator all patients.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter
from scipy import stats

from queries.analyses import propensity
from queries.analyses.comparison_options import (
    BINARY,
    COVARIATES,
    ENDPOINTS,
    SPLIT_FIELDS,
    ComparisonError,
    ComparisonOptions,
    Covariate,
)
from queries.analyses.endpoints import Endpoint, endpoint_columns
from queries.analyses.strata import base_table, jsonable
from queries.analyses.survival import SAME_PATIENTS
from queries.cohort.kept_tables import Cohort
from queries.i18n import N_, Text, TextList
from queries.snapshot.schema import DAYS_PER_MONTH, RESPONDERS

Z95 = float(stats.norm.ppf(0.975))
SMD_LIMIT = 0.1
MIN_GROUP = 10
PS_BINS = 20
PS_COLUMNS = ["stage", "arm", "bin_lower", "bin_upper", "weight"]
BALANCE_COLUMNS = ["key", "covariate", "kind", "smd_before", "smd_after"]

_FRAME_SQL = """
SELECT b.patient_id, b.index_date, b.age, year(b.index_date) AS index_year,
       b.index_line - 1 AS prior_lines, b.s_sex AS sex, b.s_ecog AS ecog, b.s_stage AS stage,
       b.s_histology AS histology, b.s_cancer_type AS cancer_type, b.s_pdl1_tps AS pdl1,
       b.s_site AS site, b.s_smoking_status AS smoking, b.s_regimen AS regimen,
       {endpoints}, b.bor_confirmed AS bor,
       coalesce(ae.severe_irae, false) AS severe_irae
FROM {base} b
LEFT JOIN (
    SELECT c.patient_id, true AS severe_irae
    FROM {cohort} c JOIN adverse_events a ON a.patient_id = c.patient_id
    WHERE a.immune_related AND a.grade >= 3 AND a.onset_date >= c.index_date
    GROUP BY c.patient_id
) ae ON ae.patient_id = b.patient_id
"""

@dataclass
class Effect:
    """A hazard ratio (A vs B) with its 95 % CI."""

    hr: float
    ci_lower: float
    ci_upper: float
    p_value: float
    method: str


@dataclass
class OutcomeContrast:
    """One time-to-event outcome, crude and adjusted, side by side."""

    endpoint: str
    label: str
    definition: str
    events: dict[str, dict[str, int]]  # stage -> arm -> events
    crude: Effect | None
    adjusted: Effect | None
    curves: pd.DataFrame  # stage, arm, time_days, time_months, survival, ci_lower, ci_upper
    # (stage, arm, time_days, n_event, n_censored) of the unweighted samples: crude, and the
    # matched sample; what a protected role's curves are recomputed from
    aggregates: pd.DataFrame
    milestones: pd.DataFrame  # stage, months, survival_a, survival_b, difference, ci


@dataclass
class BinaryContrast:
    """A proportion per arm, its difference (A - B) and ratio (A / B), crude and adjusted."""

    key: str
    label: str
    definition: str
    table: pd.DataFrame  # stage, n_a, events_a, risk_a, n_b, events_b, risk_b, diff, ci, rr, ci


@dataclass
class StudyComparison:
    label_a: str
    label_b: str
    options: ComparisonOptions
    identical: bool
    overlap: int
    arms: pd.DataFrame  # arm, label, cohort, after_overlap, analysed, unmatched
    propensity: pd.DataFrame  # stage, arm, bin_lower, bin_upper, weight
    balance: pd.DataFrame  # key, covariate, kind, smd_before, smd_after
    levels: pd.DataFrame = field(default_factory=pd.DataFrame)  # stage, key, level, arm, n
    outcomes: list[OutcomeContrast] = field(default_factory=list)
    binary: list[BinaryContrast] = field(default_factory=list)
    subgroups: pd.DataFrame = field(default_factory=pd.DataFrame)
    warnings: list[str] = field(default_factory=list)
    definitions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return jsonable({
            "a": self.label_a, "b": self.label_b, "contrast": f"{self.label_a} vs {self.label_b}",
            "options": vars(self.options), "identical": self.identical, "overlap": self.overlap,
            "arms": self.arms, "propensity": self.propensity, "balance": self.balance,
            "levels": self.levels,
            "outcomes": [{**{k: v for k, v in vars(o).items() if k != "aggregates"}, "crude": vars(o.crude) if o.crude else None,
                          "adjusted": vars(o.adjusted) if o.adjusted else None}
                         for o in self.outcomes],
            "binary": [vars(b) for b in self.binary], "subgroups": self.subgroups,
            "warnings": self.warnings, "definitions": self.definitions,
        })  # type: ignore[return-value]


# --- patient frames (server only) ---------------------------------------------------------


def patient_frame(cohort: Cohort) -> pd.DataFrame:
    """One row per cohort patient: covariates at index and outcomes."""
    if cohort.size == 0:
        outcomes = [column for _, time, event, _ in ENDPOINTS.values() for column in (time, event)]
        return pd.DataFrame(columns=["patient_id", *COVARIATES, "regimen", *outcomes, "bor",
                                     "severe_irae", "responder"])
    # the endpoints and best response by their default definitions (queries/analyses/endpoints.py)
    columns, params = endpoint_columns(tuple(Endpoint(key) for key in ENDPOINTS))
    with cohort.db.hold():  # the cohort and its base stay (or are made again) for the query
        base = base_table(cohort)
        cohort.db.ensure(cohort.table)
        cohort.db.ensure(base)
        sql = _FRAME_SQL.format(base=base, cohort=cohort.table, endpoints=columns)
        frame = cohort.db.cursor().execute(sql, params).df()
    frame["responder"] = frame["bor"].isin(RESPONDERS)
    return frame


def split_by_field(frame: pd.DataFrame, field_key: str, level_a: str,
                   level_b: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two groups of one cohort: the patients at ``level_a`` and at ``level_b`` of a field."""
    if field_key not in SPLIT_FIELDS:
        raise ComparisonError(f"cannot split by {field_key!r}; choose from "
                              f"{', '.join(SPLIT_FIELDS)}")
    if level_a == level_b:
        raise ComparisonError(Text(N_("choose two different levels to compare")))
    column = frame[field_key].astype("string")
    return frame[column == level_a].copy(), frame[column == level_b].copy()


def field_levels(frame: pd.DataFrame, field_key: str) -> list[str]:
    """The levels of a split field in a cohort, most frequent first."""
    return [str(v) for v in frame[field_key].astype("string").value_counts().index]


# the analysis-base column behind each split field (as _FRAME_SQL names them)
_SPLIT_COLUMNS = {"regimen": "s_regimen", "sex": "s_sex", "ecog": "s_ecog", "stage": "s_stage",
                  "cancer_type": "s_cancer_type", "pdl1": "s_pdl1_tps", "site": "s_site",
                  "smoking": "s_smoking_status"}


def split_level_counts(cohort: Cohort, field_key: str) -> list[tuple[str, int]]:
    """Patients at each level of a split field in the cohort, most frequent first: the levels
    ``compare_levels`` accepts (a missing value is no level), counted in the engine, so no
    patient row is read for the choice."""
    if field_key not in SPLIT_FIELDS:
        raise ComparisonError(f"cannot split by {field_key!r}; choose from "
                              f"{', '.join(SPLIT_FIELDS)}")
    if cohort.size == 0:
        return []
    with cohort.db.hold():  # the cohort and its base stay (or are made again) for the query
        base = base_table(cohort)
        cohort.db.ensure(cohort.table)
        cohort.db.ensure(base)
        frame = cohort.db.cursor().execute(
            f"SELECT {_SPLIT_COLUMNS[field_key]} AS level, count(*) AS n "  # noqa: S608 - names
            f"FROM {base} GROUP BY 1").df()
    # the same text of a level as split_by_field compares
    levels = frame.assign(level=frame["level"].astype("string")).dropna(subset=["level"])
    counts = levels.groupby("level")["n"].sum()
    return sorted(((str(level), int(n)) for level, n in counts.items()),
                  key=lambda pair: (-pair[1], pair[0]))


# --- the comparison -----------------------------------------------------------------------


def compare_groups(frame_a: pd.DataFrame, frame_b: pd.DataFrame, label_a: str, label_b: str,
                   options: ComparisonOptions | None = None) -> StudyComparison:
    """The whole study comparison of two patient frames (from :func:`patient_frame`)."""
    options = options or ComparisonOptions()
    options.check()
    covariates = [COVARIATES[c] for c in options.covariates]
    size_a, size_b = len(frame_a), len(frame_b)
    both = set(frame_a["patient_id"]) & set(frame_b["patient_id"])
    identical = bool(size_a and size_a == size_b == len(both)
                     and _same_index(frame_a, frame_b))
    frame_a, frame_b = _apply_overlap(frame_a, frame_b, both, options.overlap)
    data = pd.concat([frame_a.assign(_group=1.0), frame_b.assign(_group=0.0)],
                     ignore_index=True)
    result = StudyComparison(label_a, label_b, options, identical, len(both),
                             pd.DataFrame(), pd.DataFrame(columns=PS_COLUMNS),
                             pd.DataFrame(columns=BALANCE_COLUMNS),
                             definitions=_definitions(options))
    if identical:
        result.warnings.append(SAME_PATIENTS)
        result.arms = _arms(label_a, label_b, size_a, size_b, data, None)
        return result
    if both:
        result.warnings.append(overlap_warning(len(both), options.overlap, label_a, label_b))
    small = [lab for lab, part in ((label_a, frame_a), (label_b, frame_b))
             if len(part) < MIN_GROUP]
    if small:
        result.warnings.append(Text(N_("Too few patients to compare in {groups} (fewer than "
                                       "{k})."), groups=", ".join(small), k=MIN_GROUP))
        result.arms = _arms(label_a, label_b, size_a, size_b, data, None)
        return result
    group = data["_group"].to_numpy(float)
    score = propensity.propensity_scores(data, covariates, group)
    weights, pairs = _adjustment(data, score, group, options)
    data["_weight"] = weights
    data["_pair"] = pairs
    data["_score"] = score
    result.arms = _arms(label_a, label_b, size_a, size_b, data, weights)
    result.propensity = _score_histogram(score, group, weights)
    before = propensity.balance_table(data, covariates, group, None)
    after = propensity.balance_table(data, covariates, group, weights)
    result.balance = before.rename(columns={"smd": "smd_before"}).assign(
        smd_after=after["smd"].to_numpy())
    result.levels = _level_counts(data, covariates, group, weights)
    high = result.balance[result.balance["smd_after"].abs() > SMD_LIMIT]
    if len(high):
        result.warnings.append(Text(N_(
            "Imbalance remains after adjustment (|SMD| > 0.1): {covariates}. Adjusted "
            "estimates may still be confounded."), covariates=TextList(high["covariate"])))
    for key in options.endpoints:
        result.outcomes.append(_outcome(data, key, options))
    for key in BINARY:
        result.binary.append(_binary(data, key))
    if options.subgroups:
        result.subgroups = _subgroups(data, options)
        result.warnings.append(Text(N_(
            "{n} subgroup estimates are shown without correction for multiple comparisons: "
            "read them as exploratory; about 1 in 20 interaction tests is below 0.05 by chance "
            "alone."), n=len(result.subgroups)))
    return result


def overlap_warning(n: int | str, overlap: str, label_a: str, label_b: str) -> Text:
    """How many patients are in both cohorts (a count, or its released text) and where the
    overlap rule puts them."""
    if overlap == "exclude":
        return Text(N_("{n} patients are in both cohorts; they are left out of both."), n=n)
    return Text(N_("{n} patients are in both cohorts; they are kept in {cohort} only."), n=n,
                cohort=label_a if overlap == "a" else label_b)


def _same_index(frame_a: pd.DataFrame, frame_b: pd.DataFrame) -> bool:
    a = frame_a.set_index("patient_id")["index_date"]
    b = frame_b.set_index("patient_id")["index_date"].reindex(a.index)
    return bool((a == b).all())


def _apply_overlap(frame_a: pd.DataFrame, frame_b: pd.DataFrame, both: set[Any],
                   rule: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    if not both:
        return frame_a, frame_b
    if rule in ("exclude", "b"):
        frame_a = frame_a[~frame_a["patient_id"].isin(both)]
    if rule in ("exclude", "a"):
        frame_b = frame_b[~frame_b["patient_id"].isin(both)]
    return frame_a, frame_b


def _adjustment(data: pd.DataFrame, score: np.ndarray, group: np.ndarray,
                options: ComparisonOptions) -> tuple[np.ndarray, np.ndarray]:
    """Weights (1 for matched patients, 0 otherwise; or the stabilised IPT weights) and the
    matched pair of each patient (-1: none)."""
    pairs = np.full(len(data), -1)
    if options.method == "iptw":
        return propensity.stabilised_weights(score, group, options.trim), pairs
    logits = propensity.logit(score)
    caliper = options.caliper_sd * float(np.std(logits))
    in_a = np.flatnonzero(group == 1)
    in_b = np.flatnonzero(group == 0)
    matched = propensity.match_nearest(logits[in_a], logits[in_b], caliper, options.seed)
    weights = np.zeros(len(data))
    for pair, (i, j) in enumerate(matched):
        weights[in_a[i]] = weights[in_b[j]] = 1.0
        pairs[in_a[i]] = pairs[in_b[j]] = pair
    return weights, pairs


def _arms(label_a: str, label_b: str, size_a: int, size_b: int, data: pd.DataFrame,
          weights: np.ndarray | None) -> pd.DataFrame:
    rows = []
    for arm, label, size, code in (("A", label_a, size_a, 1.0), ("B", label_b, size_b, 0.0)):
        mask = (data["_group"] == code).to_numpy()
        after = int(mask.sum())
        analysed = after if weights is None else int((weights[mask] > 0).sum())
        rows.append({"arm": arm, "label": label, "cohort": size, "after_overlap": after,
                     "analysed": analysed, "unmatched": after - analysed})
    return pd.DataFrame(rows)


def _score_histogram(score: np.ndarray, group: np.ndarray, weights: np.ndarray) -> pd.DataFrame:
    """Propensity-score distribution per arm before and after adjustment (patient counts,
    or sums of weights after weighting), in PS_BINS equal bins of [0, 1]."""
    edges = np.linspace(0, 1, PS_BINS + 1)
    rows = []
    for stage, w in (("before", np.ones_like(score)), ("after", weights)):
        for arm, code in (("A", 1.0), ("B", 0.0)):
            mask = group == code
            counts, _ = np.histogram(score[mask], bins=edges, weights=w[mask])
            rows += [{"stage": stage, "arm": arm, "bin_lower": float(lo), "bin_upper": float(hi),
                      "weight": float(c)} for lo, hi, c in zip(edges[:-1], edges[1:], counts,
                                                                 strict=True)]
    return pd.DataFrame(rows)


# --- outcomes -----------------------------------------------------------------------------


def weighted_km(time: np.ndarray, event: np.ndarray, weight: np.ndarray) -> pd.DataFrame:
    """Kaplan-Meier with case weights (lifelines' estimator) and a Greenwood-type variance
    (sum of d / (n (n - d)) over weighted counts); log-log 95 % CI."""
    keep = weight > 0
    time, event, weight = time[keep], event[keep].astype(bool), weight[keep]
    if len(time) == 0:
        return pd.DataFrame(columns=["time_days", "survival", "ci_lower", "ci_upper",
                                     "at_risk", "var"])
    times = np.unique(time)
    d = np.bincount(np.searchsorted(times, time[event]), weights=weight[event],
                    minlength=len(times))
    total = np.bincount(np.searchsorted(times, time), weights=weight, minlength=len(times))
    at_risk = total[::-1].cumsum()[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1 - d / at_risk)
        greenwood = np.cumsum(np.where(at_risk > d, d / (at_risk * (at_risk - d)), np.inf))
        log_s = np.log(surv)
        se = np.sqrt(greenwood) / np.abs(log_s)
        lower = surv ** np.exp(-Z95 * se)
        upper = surv ** np.exp(Z95 * se)
    undefined = (surv <= 0) | (surv >= 1) | ~np.isfinite(se)
    lower = np.where(undefined, np.nan, lower)
    upper = np.where(undefined, np.nan, upper)
    return pd.DataFrame({"time_days": times, "survival": surv, "ci_lower": lower,
                         "ci_upper": upper, "at_risk": at_risk,
                         "var": _variance(surv, greenwood)})


def _variance(surv: np.ndarray, greenwood: np.ndarray) -> np.ndarray:
    """S^2 * Greenwood sum; 0 once the curve has reached 0 (the sum is infinite there)."""
    with np.errstate(invalid="ignore"):
        return np.asarray(np.where(surv > 0, surv ** 2 * greenwood, 0.0), dtype=float)


def _survival_at(curve: pd.DataFrame, day: float) -> tuple[float, float]:
    """S(day) and its variance from a curve (step function; 1 and 0 before the first step)."""
    before = curve[curve["time_days"] <= day]
    if before.empty:
        return 1.0, 0.0
    if curve["time_days"].max() < day and curve["survival"].iloc[-1] > 0:
        return math.nan, math.nan  # follow-up ends before the milestone
    row = before.iloc[-1]
    return float(row["survival"]), float(row["var"])


@dataclass(frozen=True)
class CoxFit:
    """A Cox model of one binary covariate: log hazard ratio, its SE and the information."""

    coef: float
    se: float
    information: float


def cox_binary(time: np.ndarray, event: np.ndarray, x: np.ndarray, weights: np.ndarray,
               clusters: np.ndarray | None = None, robust: bool = False) -> CoxFit | None:
    """Weighted Cox model of a 0/1 covariate, Breslow ties, by Newton's method over the
    distinct event times (vectorized: O(n log n), no per-patient Python).

    ``robust``: the sandwich variance I^-1 (sum over clusters of the summed weighted score
    residuals, squared) I^-1 (Lin & Wei; each patient its own cluster without ``clusters``),
    as lifelines' ``CoxPHFitter(robust=True)`` computes it. Without ties this equals
    lifelines' fit (whose Efron ties reduce to Breslow's); with tied times the two differ
    slightly.
    """
    keep = (weights > 0) & np.isfinite(time)
    time, event, x, weights = time[keep], event[keep].astype(bool), x[keep], weights[keep]
    if clusters is not None:
        clusters = clusters[keep]
    if not event.any() or np.unique(x).size < 2:
        return None
    times, where = np.unique(time, return_inverse=True)
    k = len(times)
    at = np.bincount(where, weights=weights, minlength=k)
    at1 = np.bincount(where, weights=weights * x, minlength=k)
    risk0 = (at - at1)[::-1].cumsum()[::-1]  # weighted at risk, x = 0
    risk1 = at1[::-1].cumsum()[::-1]  # x = 1
    deaths = np.bincount(where[event], weights=weights[event], minlength=k)
    deaths1 = np.bincount(where[event], weights=(weights * x)[event], minlength=k)
    beta = 0.0
    for _ in range(50):
        share = risk1 * math.exp(beta) / (risk0 + risk1 * math.exp(beta))
        score = float((deaths1 - deaths * share).sum())
        information = float((deaths * share * (1 - share)).sum())
        if information <= 0:
            return None
        step = score / information
        beta += max(-2.0, min(2.0, step))  # a bounded step never overshoots into overflow
        if abs(step) < 1e-10:
            break
    share = risk1 * math.exp(beta) / (risk0 + risk1 * math.exp(beta))
    information = float((deaths * share * (1 - share)).sum())
    if not robust:
        return CoxFit(beta, math.sqrt(1 / information), information)
    s0 = risk0 + risk1 * math.exp(beta)
    hazard = np.where(s0 > 0, deaths / np.where(s0 > 0, s0, 1), 0.0)
    c0 = np.cumsum(hazard)
    c1 = np.cumsum(hazard * share)
    risk = np.exp(beta * x)
    residual = event * (x - share[where]) - risk * (x * c0[where] - c1[where])
    contribution = weights * residual
    if clusters is not None:
        _, group = np.unique(clusters, return_inverse=True)
        contribution = np.bincount(group, weights=contribution)
    variance = float((contribution ** 2).sum()) / information ** 2
    return CoxFit(beta, math.sqrt(variance), information)


def cox_group(data: pd.DataFrame, time_col: str, event_col: str, weighted: bool,
              cluster: bool) -> Effect | None:
    """Cox model of group alone (A vs B); robust sandwich CI when weighted or clustered."""
    time = data[time_col].to_numpy(float)
    usable = np.isfinite(time) & (time >= 0)
    weights = data["_weight"].to_numpy(float) if weighted else np.ones(len(data))
    pairs = data["_pair"].to_numpy(int) if cluster else None
    fitted = cox_binary(time[usable], data[event_col].to_numpy(bool)[usable],
                        data["_group"].to_numpy(float)[usable], weights[usable],
                        pairs[usable] if pairs is not None else None,
                        robust=weighted or cluster)
    if fitted is None:
        return None
    if cluster:
        method = N_("Cox model of group, Breslow ties, robust (sandwich) 95% CI clustered on "
                    "matched pairs")
    elif weighted:
        method = N_("Cox model of group, Breslow ties, robust (sandwich) 95% CI with the weights")
    else:
        method = N_("Cox model of group, Breslow ties, Wald 95% CI")
    coef, se = fitted.coef, fitted.se
    p_value = float(2 * stats.norm.sf(abs(coef / se))) if se > 0 else math.nan
    return Effect(math.exp(coef), math.exp(coef - Z95 * se), math.exp(coef + Z95 * se),
                  p_value, method)


def _outcome(data: pd.DataFrame, key: str, options: ComparisonOptions) -> OutcomeContrast:
    label, time_col, event_col, definition = ENDPOINTS[key]
    usable = data[data[time_col].notna() & (data[time_col] >= 0)]
    curves, milestones = [], []
    events: dict[str, dict[str, int]] = {}
    for stage in ("crude", "adjusted"):
        weights = (np.ones(len(usable)) if stage == "crude"
                   else usable["_weight"].to_numpy(float))
        per_arm = {}
        events[stage] = {}
        for arm, code in (("A", 1.0), ("B", 0.0)):
            mask = (usable["_group"] == code).to_numpy()
            curve = weighted_km(usable[time_col].to_numpy(float)[mask],
                                usable[event_col].to_numpy(bool)[mask], weights[mask])
            per_arm[arm] = curve
            events[stage][arm] = int((usable[event_col].to_numpy(bool) & mask
                                      & (weights > 0)).sum())
            curves.append(curve.assign(stage=stage, arm=arm))
        for months in options.milestone_months:
            day = months * DAYS_PER_MONTH
            s_a, v_a = _survival_at(per_arm["A"], day)
            s_b, v_b = _survival_at(per_arm["B"], day)
            diff = s_a - s_b
            se = math.sqrt(v_a + v_b) if not math.isnan(diff) else math.nan
            milestones.append({"stage": stage, "months": months, "survival_a": s_a,
                               "survival_b": s_b, "difference": diff,
                               "ci_lower": diff - Z95 * se, "ci_upper": diff + Z95 * se})
    curve_frame = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame()
    if not curve_frame.empty:
        curve_frame["time_months"] = curve_frame["time_days"] / DAYS_PER_MONTH
        curve_frame = curve_frame.drop(columns=["var"])
    crude = cox_group(usable, time_col, event_col, weighted=False, cluster=False)
    adjusted = cox_group(usable, time_col, event_col, weighted=True,
                         cluster=options.method == "match")
    return OutcomeContrast(key, label, definition, events, crude, adjusted, curve_frame,
                           _aggregates(usable, time_col, event_col, options),
                           pd.DataFrame(milestones))


def _aggregates(usable: pd.DataFrame, time_col: str, event_col: str,
                options: ComparisonOptions) -> pd.DataFrame:
    stages = [("crude", np.ones(len(usable), bool))]
    if options.method == "match":
        stages.append(("adjusted", (usable["_weight"] > 0).to_numpy()))
    parts = []
    for stage, keep in stages:
        for arm, code in (("A", 1.0), ("B", 0.0)):
            rows = usable[keep & (usable["_group"] == code).to_numpy()]
            event = rows[event_col].to_numpy(bool)
            frame = pd.DataFrame({"time_days": rows[time_col].to_numpy(float),
                                  "n_event": event.astype(int), "n_censored": (~event).astype(int)})
            grouped = frame.groupby("time_days", as_index=False).sum()
            parts.append(grouped.assign(stage=stage, arm=arm))
    columns = ["stage", "arm", "time_days", "n_event", "n_censored"]
    return pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(
        columns=columns)


def _level_counts(data: pd.DataFrame, covariates: list[Covariate], group: np.ndarray,
                  weights: np.ndarray) -> pd.DataFrame:
    """Patients (after matching: matched patients; after weighting: sums of weights) per
    level of each categorical covariate and arm."""
    rows = []
    for cov in covariates:
        if cov.kind != "categorical":
            continue
        labels = data[cov.key].astype("string").fillna("Unknown").to_numpy()
        for stage, w in (("before", np.ones(len(data))), ("after", weights)):
            for arm, code in (("A", 1.0), ("B", 0.0)):
                mask = group == code
                sums = pd.Series(w[mask]).groupby(labels[mask]).sum()
                rows += [{"stage": stage, "key": cov.key, "level": str(level), "arm": arm,
                          "n": float(n)} for level, n in sums.items()]
    return pd.DataFrame(rows, columns=["stage", "key", "level", "arm", "n"])


def _binary(data: pd.DataFrame, key: str) -> BinaryContrast:
    label, column, definition = BINARY[key]
    rows = []
    outcome = data[column].fillna(False).to_numpy(bool).astype(float)
    for stage in ("crude", "adjusted"):
        weights = np.ones(len(data)) if stage == "crude" else data["_weight"].to_numpy(float)
        row: dict[str, Any] = {"stage": stage}
        parts = {}
        for arm, code in (("a", 1.0), ("b", 0.0)):
            mask = (data["_group"] == code).to_numpy() & (weights > 0)
            w = weights[mask]
            n_eff = propensity.effective_size(w)
            risk = float(np.dot(w, outcome[mask]) / w.sum()) if w.sum() > 0 else math.nan
            row[f"n_{arm}"] = int(mask.sum())
            row[f"events_{arm}"] = int(outcome[mask].sum())
            row[f"risk_{arm}"] = risk
            parts[arm] = (risk, n_eff)
        row.update(risk_contrast(*parts["a"], *parts["b"]))
        rows.append(row)
    return BinaryContrast(key, label, definition, pd.DataFrame(rows))


def risk_contrast(risk_a: float, n_a: float, risk_b: float, n_b: float) -> dict[str, float]:
    """Risk difference (Wald 95 % CI) and risk ratio (log scale 95 % CI); ``n`` are
    (effective) sample sizes."""
    out = {"difference": math.nan, "diff_ci_lower": math.nan, "diff_ci_upper": math.nan,
           "ratio": math.nan, "ratio_ci_lower": math.nan, "ratio_ci_upper": math.nan}
    if not (n_a > 0 and n_b > 0) or math.isnan(risk_a) or math.isnan(risk_b):
        return out
    diff = risk_a - risk_b
    se = math.sqrt(risk_a * (1 - risk_a) / n_a + risk_b * (1 - risk_b) / n_b)
    out.update(difference=diff, diff_ci_lower=diff - Z95 * se, diff_ci_upper=diff + Z95 * se)
    if risk_a > 0 and risk_b > 0:
        ratio = risk_a / risk_b
        se_log = math.sqrt((1 - risk_a) / (risk_a * n_a) + (1 - risk_b) / (risk_b * n_b))
        out.update(ratio=ratio, ratio_ci_lower=ratio * math.exp(-Z95 * se_log),
                   ratio_ci_upper=ratio * math.exp(Z95 * se_log))
    return out


def _subgroups(data: pd.DataFrame, options: ComparisonOptions) -> pd.DataFrame:
    """HR (A vs B, first endpoint) and ORR difference per level of each subgroup field in the
    adjusted sample, with the interaction p-value (Wald test of group x level terms)."""
    time_col, event_col = ENDPOINTS[options.endpoints[0]][1:3] if options.endpoints else (
        "os_days", "os_event")
    adjusted = data[(data["_weight"] > 0) & data[time_col].notna() & (data[time_col] >= 0)]
    cluster = options.method == "match"
    rows = []
    for key in options.subgroups:
        labels = adjusted[key].astype("string").fillna("Unknown")
        interaction = _interaction_p(adjusted, labels, time_col, event_col, cluster)
        for level in sorted(labels.unique()):
            part = adjusted[(labels == level).to_numpy()]
            n_a = int((part["_group"] == 1).sum())
            n_b = int((part["_group"] == 0).sum())
            effect = (cox_group(part, time_col, event_col, weighted=True, cluster=cluster)
                      if min(n_a, n_b) >= MIN_GROUP else None)
            orr = _binary(part, "orr").table.iloc[1] if min(n_a, n_b) else None
            rows.append({"field": key, "level": level, "n_a": n_a, "n_b": n_b,
                         "hr": effect.hr if effect else math.nan,
                         "ci_lower": effect.ci_lower if effect else math.nan,
                         "ci_upper": effect.ci_upper if effect else math.nan,
                         "orr_difference": orr["difference"] if orr is not None else math.nan,
                         "interaction_p": interaction})
    return pd.DataFrame(rows)


def _interaction_p(data: pd.DataFrame, labels: pd.Series, time_col: str, event_col: str,
                   cluster: bool) -> float:
    """Wald test that the group effect is the same at every level (robust variance)."""
    dummies = pd.get_dummies(labels, drop_first=True, dtype=float)
    if dummies.shape[1] == 0 or data[event_col].sum() == 0:
        return math.nan
    dummies.columns = [f"lvl{i}" for i in range(dummies.shape[1])]
    group = data["_group"].to_numpy(float)
    frame = pd.DataFrame({"T": data[time_col].to_numpy(float),
                          "E": data[event_col].to_numpy(bool), "group": group,
                          "w": data["_weight"].to_numpy(float),
                          "pair": data["_pair"].to_numpy(int)})
    terms = []
    for col in dummies.columns:
        frame[col] = dummies[col].to_numpy()
        frame[f"gx_{col}"] = group * dummies[col].to_numpy()
        terms.append(f"gx_{col}")
    model = CoxPHFitter(penalizer=1e-6)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(frame if cluster else frame.drop(columns=["pair"]), "T", "E",
                      weights_col="w", cluster_col="pair" if cluster else None, robust=True)
    except Exception:  # noqa: BLE001 - a non-converging model leaves the p-value empty
        return math.nan
    beta = model.params_[terms].to_numpy()
    cov = model.variance_matrix_.loc[terms, terms].to_numpy()
    statistic = float(beta @ np.linalg.pinv(cov) @ beta)
    return float(stats.chi2.sf(statistic, len(terms)))


_OVERLAP_RULES = {"exclude": N_("Patients in both cohorts: left out of both cohorts."),
                  "a": N_("Patients in both cohorts: kept in A only."),
                  "b": N_("Patients in both cohorts: kept in B only.")}


def _definitions(options: ComparisonOptions) -> list[str]:
    """The comparison's methods in words (``Text``: shown in the reader's language)."""
    if options.method == "match":
        method = Text(N_("Adjustment: 1:1 nearest-neighbour matching on the logit of the "
                         "propensity score, without replacement, caliper {caliper} SD of the "
                         "logit, random order fixed by seed {seed}."),
                      caliper=f"{options.caliper_sd:g}", seed=options.seed)
    else:
        method = Text(N_("Adjustment: stabilised inverse-probability-of-treatment weights, "
                         "patients with a propensity score outside [{low}, {high}] trimmed."),
                      low=f"{options.trim:g}", high=f"{1 - options.trim:g}")
    return [Text(N_("Propensity score: logistic regression of being in A on {covariates}."),
                 covariates=TextList(COVARIATES[c].label for c in options.covariates)),
            method,
            Text(_OVERLAP_RULES[options.overlap]),
            Text(N_("Balance: standardized mean differences (continuous: pooled SD; binary; "
                    "categorical: Yang & Dalton); |SMD| <= 0.1 is taken as balanced.")),
            *[ENDPOINTS[e][3] for e in options.endpoints],
            *[Text(N_("{outcome}: {definition}."), outcome=Text(label), definition=Text(words))
              for label, _, words in BINARY.values()]]


def compare_cohorts(cohort_a: Cohort, cohort_b: Cohort, label_a: str, label_b: str,
                    options: ComparisonOptions | None = None) -> StudyComparison:
    """A study comparison of two materialized cohorts (A vs B)."""
    return compare_groups(patient_frame(cohort_a), patient_frame(cohort_b), label_a, label_b,
                          options)


def compare_levels(cohort: Cohort, field_key: str, level_a: str, level_b: str,
                   options: ComparisonOptions | None = None) -> StudyComparison:
    """A study comparison of two levels of one field within a cohort (e.g. regimen A vs B)."""
    frame = patient_frame(cohort)
    if field_key in SPLIT_FIELDS:
        known = set(field_levels(frame, field_key))
        missing = [lv for lv in (level_a, level_b) if lv not in known]
        if missing:
            raise ComparisonError(Text(N_("{missing} is not a level of {field} in this "
                                          "cohort; levels: {levels}"),
                                       missing=", ".join(repr(m) for m in missing),
                                       field=field_key, levels=", ".join(sorted(known))))
    frame_a, frame_b = split_by_field(frame, field_key, level_a, level_b)
    return compare_groups(frame_a, frame_b, level_a, level_b, options)
