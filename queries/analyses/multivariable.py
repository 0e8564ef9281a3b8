"""Multivariable Cox model of an endpoint with a proportional-hazards check per covariate.

Covariates are ``age`` (continuous, per 10 years) and any stratification key (categorical, e.g.
sex, ecog, ecog_level, stage, pdl1_tps, cancer_type): each level but the reference (the first in
display order) gets its own hazard ratio "level vs reference". A complete-case analysis:
patients with an unknown/untested value of any covariate are left out and counted. Fitted with
lifelines' ``CoxPHFitter`` (Efron ties); ``robust=True`` gives sandwich standard errors. The
proportional-hazards check is the scaled Schoenfeld residual test against rank of time
(lifelines ``proportional_hazard_test``), one per model term.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter
from lifelines.statistics import proportional_hazard_test

from queries.analyses.endpoints import Endpoint, EndpointOptions, definition, endpoint_sql
from queries.analyses.strata import (
    OTHER_RESULT,
    UNKNOWN,
    UNTESTED,
    base_table,
    get,
    jsonable_dict,
    order_levels,
)
from queries.cohort.kept_tables import Cohort
from queries.i18n import N_, Text

AGE_UNIT_YEARS = 10
MISSING_LEVELS = (UNKNOWN, UNTESTED, OTHER_RESULT)
TERM_COLUMNS = ["covariate", "term", "reference", "hr", "ci_lower", "ci_upper", "p_value",
                "coef", "se", "ph_statistic", "ph_p_value"]
MIN_EVENTS_PER_TERM = 10


@dataclass
class CoxModel:
    """Hazard ratios of every term with the PH check; ``terms`` as TERM_COLUMNS."""

    endpoint: str
    covariates: list[str]
    terms: pd.DataFrame
    n: int
    events: int
    left_out: int
    robust: bool
    method: str
    definition: str
    notes: list[str] = field(default_factory=list)
    empty_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return jsonable_dict({k: getattr(self, k) for k in (
            "endpoint", "covariates", "terms", "n", "events", "left_out", "robust", "method",
            "definition", "notes", "empty_reason")})


def _frame(cohort: Cohort, endpoint: Endpoint, covariates: list[str],
           options: EndpointOptions | None) -> tuple[pd.DataFrame, dict[str, int]]:
    parts = endpoint_sql(endpoint, options)
    columns = ["age" if key == "age" else f"s_{get(key).key} AS {key}" for key in covariates]
    sql = (f"SELECT CAST({parts.time_days} AS INTEGER) AS time_days, "  # noqa: S608
           f"CAST({parts.event} AS INTEGER) AS event, {', '.join(columns)} "
           f"FROM {base_table(cohort)} WHERE {parts.population}")
    used = {k: v for k, v in parts.params.items() if f"${k}" in sql}
    return cohort.db.cursor().execute(sql, used).df(), used


def _design(frame: pd.DataFrame, covariates: list[str]
            ) -> tuple[pd.DataFrame, list[tuple[str, str, str]]]:
    """Dummy-coded design matrix and (column, covariate, term label, reference) per column."""
    design = frame[["time_days", "event"]].copy()
    labels: list[tuple[str, str, str]] = []
    for key in covariates:
        if key == "age":
            design["age"] = frame["age"] / AGE_UNIT_YEARS
            labels.append(("age", f"age (per {AGE_UNIT_YEARS} years)", ""))
            continue
        levels = order_levels(key, set(frame[key].astype(str)))
        for i, level in enumerate(levels[1:], start=1):
            column = f"{key}__{i}"
            design[column] = (frame[key].astype(str) == level).astype(float)
            labels.append((column, f"{get(key).label}: {level}", levels[0]))
    return design, labels


def _complete_cases(frame: pd.DataFrame, covariates: list[str]) -> pd.DataFrame:
    keep = frame["time_days"].notna() & (frame["time_days"] >= 0)
    for key in covariates:
        keep &= frame[key].notna() if key == "age" else ~frame[key].isin(MISSING_LEVELS)
    return frame[keep]


def multivariable_cox(cohort: Cohort, endpoint: Endpoint | str, covariates: list[str],
                      options: EndpointOptions | None = None, robust: bool = False) -> CoxModel:
    """Cox model of the endpoint on the covariates (see the module docstring)."""
    ep = Endpoint(endpoint)
    for key in covariates:
        if key != "age":
            get(key)  # ValueError naming the valid keys
    words = definition(ep, options).text()
    method = Text(N_("Cox proportional hazards (lifelines CoxPHFitter, Efron ties), Wald 95% "
                     "CI{robust}; PH check: scaled Schoenfeld residuals vs rank of time"),
                  robust=Text(N_(", robust (sandwich) standard errors")) if robust else "")
    model = CoxModel(ep.value, list(covariates), pd.DataFrame(columns=TERM_COLUMNS), 0, 0, 0,
                     robust, method, words)
    if not covariates:
        model.empty_reason = Text(N_("choose at least one covariate"))
        return model
    frame, _ = _frame(cohort, ep, list(covariates), options)
    complete = _complete_cases(frame, list(covariates))
    model.left_out = int(cohort.size - len(complete))
    if model.left_out:
        model.notes.append(Text(N_("{n} patients left out: outside the endpoint's population, "
                                   "or an unknown/untested value of a covariate"),
                                n=model.left_out))
    design, labels = _design(complete, list(covariates))
    constant = [c for c, _, _ in labels if design[c].nunique() < 2]
    if constant:
        model.notes.append(Text(N_("left out of the model (no variation): {terms}"),
                                terms=", ".join(label for c, label, _ in labels
                                                if c in constant)))
        labels = [t for t in labels if t[0] not in constant]
        design = design.drop(columns=constant)
    model.n, model.events = len(design), int(design["event"].sum())
    if not labels or model.events == 0:
        model.empty_reason = Text(N_("no events, or no covariate varies among the patients "
                                     "analysed"))
        return model
    if model.events < MIN_EVENTS_PER_TERM * len(labels):
        model.notes.append(Text(N_("fewer than {n} events per model term: the estimates may "
                                   "be unstable"), n=MIN_EVENTS_PER_TERM))
    fitter = CoxPHFitter().fit(design, "time_days", "event", robust=robust)
    summary = fitter.summary
    ph = proportional_hazard_test(fitter, design, time_transform="rank").summary
    rows = []
    for column, label, reference in labels:
        row = summary.loc[column]
        rows.append({"covariate": column.split("__")[0], "term": label, "reference": reference,
                     "hr": float(row["exp(coef)"]),
                     "ci_lower": float(row["exp(coef) lower 95%"]),
                     "ci_upper": float(row["exp(coef) upper 95%"]),
                     "p_value": float(row["p"]), "coef": float(row["coef"]),
                     "se": float(row["se(coef)"]),
                     "ph_statistic": float(ph.loc[column, "test_statistic"]),
                     "ph_p_value": float(ph.loc[column, "p"])})
    model.terms = pd.DataFrame(rows, columns=TERM_COLUMNS)
    flagged = model.terms.loc[model.terms["ph_p_value"] < 0.05, "term"].tolist()
    if flagged:
        model.notes.append(Text(N_("proportional hazards doubtful (Schoenfeld test p < 0.05) "
                                   "for: {terms}; read their hazard ratios as averages over "
                                   "time"), terms=", ".join(flagged)))
    if not np.isfinite(model.terms[["hr", "ci_lower", "ci_upper"]].to_numpy()).all():
        model.notes.append(Text(N_("some estimates are not finite (a level without "
                                   "events?)")))
    return model
