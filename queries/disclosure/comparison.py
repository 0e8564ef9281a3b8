"""A study comparison under disclosure control.

A protected role receives counts (rounded, small ones withheld) and only the statistics that
can be recomputed from those released counts:

- arms, overlap, the propensity-score histogram (patients per bin) and the covariate level
  counts: released counts;
- categorical SMDs: recomputed from the released level counts (withheld when a level is);
  continuous SMDs (means and SDs of patient values) are withheld;
- Kaplan-Meier curves of the crude and the matched samples: recomputed from their released
  cumulative counts by the survival adapter, like every other curve;
- ORR and grade >= 3 irAE proportions, differences and ratios: from released counts;
- model-based estimates (the robust hazard ratio, weighted curves and proportions, subgroup
  hazard ratios, milestone differences) are withheld, with the reason in the warnings.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from queries.analyses import propensity, survival
from queries.analyses.comparison import (
    SMD_LIMIT,
    BinaryContrast,
    OutcomeContrast,
    StudyComparison,
    overlap_warning,
    risk_contrast,
)
from queries.disclosure.adapters import clean_notes, protect_result, protect_survival
from queries.disclosure.policy import Policy, Protected, protect_count
from queries.i18n import N_, Text, TextList

MODEL_BASED = Text(N_("Model-based estimates (robust hazard ratios, weighted results, "
                      "milestone differences, subgroup hazard ratios, SMDs of continuous "
                      "covariates) are not released to your role: they cannot be computed from "
                      "released counts."))


def _released(value: Any, policy: Policy) -> float:
    """A count as released (NaN when withheld)."""
    number = None if value is None or (isinstance(value, float) and math.isnan(value)) \
        else int(round(float(value)))
    released = protect_count(number, policy).value
    return math.nan if released is None else float(released)


def _release_frame(frame: pd.DataFrame, columns: list[str], policy: Policy) -> pd.DataFrame:
    out = frame.copy()
    for column in columns:
        out[column] = [_released(v, policy) for v in out[column]]
    return out


def protect_study(result: StudyComparison, policy: Policy) -> Protected[StudyComparison]:
    """Release a study comparison to a role (see the module docstring)."""
    if policy.exact:
        return Protected(result, [])
    weighted = result.options.method == "iptw"
    suppressed = ["comparison.model_based"]
    arms = _release_frame(result.arms, ["cohort", "after_overlap", "analysed", "unmatched"],
                          policy)
    histogram = result.propensity
    if weighted and not histogram.empty:
        histogram = histogram[histogram["stage"] == "before"]
    histogram = _release_frame(histogram, ["weight"], policy) if not histogram.empty \
        else histogram
    levels = result.levels
    if weighted and not levels.empty:
        levels = levels[levels["stage"] == "before"]
    levels = _release_frame(levels, ["n"], policy) if not levels.empty else levels
    balance = _released_balance(result.balance, levels, weighted)
    outcomes = [_protect_outcome(o, policy, result.label_a, result.label_b)
                for o in result.outcomes]
    binary = [_protect_binary(b, policy, weighted) for b in result.binary]
    subgroups = result.subgroups
    if not subgroups.empty:
        subgroups = _release_frame(subgroups, ["n_a", "n_b"], policy)
        for column in ("hr", "ci_lower", "ci_upper", "orr_difference", "interaction_p"):
            subgroups[column] = math.nan
    warnings = [*clean_notes(result.warnings, policy), *_released_warnings(result, balance,
                                                                            policy), MODEL_BASED]
    released = replace(result, overlap=int(np.nan_to_num(_released(result.overlap, policy)))
                       if result.overlap else 0,
                       arms=arms, propensity=histogram, levels=levels, balance=balance,
                       outcomes=outcomes, binary=binary, subgroups=subgroups, warnings=warnings)
    return Protected(released, suppressed)


def _released_warnings(result: StudyComparison, balance: pd.DataFrame,
                       policy: Policy) -> list[str]:
    """The warnings whose numbers came from exact data, remade from released numbers."""
    out: list[str] = []
    if result.overlap:
        shown = protect_count(result.overlap, policy).display
        out.append(overlap_warning(shown, result.options.overlap, result.label_a,
                                   result.label_b))
    if not balance.empty:
        high = balance[balance["smd_after"].abs() > SMD_LIMIT]
        if len(high):
            out.append(Text(N_("Imbalance remains after adjustment (|SMD| > 0.1): "
                               "{covariates}."), covariates=TextList(high["covariate"])))
    if not result.subgroups.empty:
        out.append(Text(N_("Subgroup results are exploratory: no correction for multiple "
                           "comparisons.")))
    return out


def _released_balance(balance: pd.DataFrame, levels: pd.DataFrame,
                      weighted: bool) -> pd.DataFrame:
    out = balance.copy()
    if out.empty:
        return out
    before, after = [], []
    for row in out.itertuples():
        if row.kind != "categorical":
            before.append(math.nan)
            after.append(math.nan)
            continue
        before.append(_smd_from_counts(levels, str(row.key), "before"))
        after.append(math.nan if weighted else _smd_from_counts(levels, str(row.key), "after"))
    out["smd_before"] = before
    out["smd_after"] = after
    return out


def _smd_from_counts(levels: pd.DataFrame, key: str, stage: str) -> float:
    part = levels[(levels["key"] == key) & (levels["stage"] == stage)]
    table = part.pivot_table(index="level", columns="arm", values="n", aggfunc="sum",
                             dropna=False)
    if table.isna().to_numpy().any() or set(table.columns) != {"A", "B"}:
        return math.nan
    a, b = table["A"].to_numpy(float), table["B"].to_numpy(float)
    if a.sum() == 0 or b.sum() == 0:
        return math.nan
    p_a, p_b = a / a.sum(), b / b.sum()
    if len(p_a) == 2:
        return propensity.smd_binary(float(p_a[1]), float(p_b[1]))
    return propensity.smd_categorical(list(p_a), list(p_b))


def _protect_outcome(outcome: OutcomeContrast, policy: Policy, label_a: str,
                     label_b: str) -> OutcomeContrast:
    curves = []
    events: dict[str, dict[str, int]] = {}
    for stage, part in outcome.aggregates.groupby("stage", sort=False):
        agg = part.assign(stratum=part["arm"].map({"A": label_a, "B": label_b}))[
            ["stratum", "time_days", "n_event", "n_censored"]]
        fitted = survival.fit(agg, outcome.endpoint, None, None, None)
        released = protect_survival(fitted, policy).result
        curve = released.curve.assign(stage=stage, arm=released.curve["stratum"].map(
            {label_a: "A", label_b: "B"}))
        curves.append(curve)
        summary = released.summary.set_index("stratum")
        events[str(stage)] = {arm: _int_or_none(summary["events"].get(label))
                              for arm, label in (("A", label_a), ("B", label_b))}
    frame = pd.concat(curves, ignore_index=True) if curves else outcome.curves.iloc[0:0]
    milestones = outcome.milestones.copy()
    for column in ("survival_a", "survival_b", "difference", "ci_lower", "ci_upper"):
        if column in milestones:
            milestones[column] = math.nan
    return replace(outcome, curves=frame, aggregates=outcome.aggregates.iloc[0:0],
                   milestones=milestones, crude=None, adjusted=None,
                   events=events)


def _int_or_none(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return None
    return int(value)


def _protect_binary(contrast: BinaryContrast, policy: Policy, weighted: bool) -> BinaryContrast:
    rows = []
    for row in contrast.table.to_dict("records"):
        out: dict[str, Any] = {"stage": row["stage"]}
        withheld = weighted and row["stage"] == "adjusted"
        for arm in ("a", "b"):
            n = math.nan if withheld else _released(row[f"n_{arm}"], policy)
            events = math.nan if withheld else _released(row[f"events_{arm}"], policy)
            out[f"n_{arm}"] = n
            out[f"events_{arm}"] = events
            out[f"risk_{arm}"] = events / n if n and not math.isnan(n) and not math.isnan(
                events) else math.nan
        out.update(risk_contrast(out["risk_a"], out["n_a"], out["risk_b"], out["n_b"])
                   if not any(math.isnan(out[k]) for k in ("risk_a", "risk_b"))
                   else risk_contrast(math.nan, 0, math.nan, 0))
        rows.append(out)
    return replace(contrast, table=pd.DataFrame(rows, columns=contrast.table.columns))


protect_result.register(StudyComparison, protect_study)
