"""Survival curves under disclosure control.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from queries.disclosure.policy import Policy, Protected, protect_count, round_estimate
from queries.snapshot.schema import (
    DAYS_PER_MONTH,
)


def _ceil_grid(t: float, grid: int) -> float:
    return float(math.ceil(t / grid) * grid) if grid > 0 and t > 0 else float(t)


def _bins(part: pd.DataFrame, k: int) -> list[tuple[int, int]]:
    """(first, last) row positions of consecutive event rows holding >= k events each."""
    bins: list[tuple[int, int]] = []
    start, acc = None, 0
    for pos, events in enumerate(part["events"].to_numpy()):
        if events <= 0:
            continue
        start = pos if start is None else start
        acc += int(events)
        if acc >= k:
            bins.append((start, pos))
            start, acc = None, 0
    if acc and bins:  # a short tail joins the last full step
        bins[-1] = (bins[-1][0], int(part["events"].to_numpy().nonzero()[0][-1]))
    return bins


def _curve_row(cols: dict[str, np.ndarray], first: int, last: int, time_col: str,
               grid: int) -> dict[str, Any]:
    return {time_col: _ceil_grid(float(cols[time_col][last]), grid),
            "survival": float(cols["survival"][last]), "ci_lower": float(cols["ci_lower"][last]),
            "ci_upper": float(cols["ci_upper"][last]), "at_risk": int(cols["at_risk"][first]),
            "events": int(cols["events"][first:last + 1].sum())}


def _merge_same_time(rows: list[dict[str, Any]], time_col: str) -> list[dict[str, Any]]:
    merged: list[dict[str, Any]] = []
    for row in rows:
        if merged and merged[-1][time_col] == row[time_col]:
            prev = merged[-1]
            merged[-1] = {**row, "at_risk": prev["at_risk"],
                          "events": prev["events"] + row["events"]}
        else:
            merged.append(row)
    return merged


def _coarsen_stratum(part: pd.DataFrame, policy: Policy, time_col: str) -> list[dict[str, Any]]:
    part = part.sort_values(time_col, kind="stable").reset_index(drop=True)
    n0 = int(part["at_risk"].max())
    start = {time_col: 0.0, "survival": 1.0, "ci_lower": 1.0, "ci_upper": 1.0,
             "at_risk": n0, "events": 0}
    grid = policy.survival_time_grid_days
    cols = {c: part[c].to_numpy(dtype=float) for c in
            (time_col, "survival", "ci_lower", "ci_upper", "at_risk", "events")}
    steps = [_curve_row(cols, a, b, time_col, grid)
             for a, b in _bins(part, max(policy.survival_min_step, 1))]
    if not steps and int(part["events"].sum()) > 0:
        return [start]  # too few events to draw any step without revealing them
    rows = _merge_same_time([start, *steps], time_col)
    last = part.iloc[-1]
    end_time = _ceil_grid(float(last[time_col]), grid)
    if end_time > rows[-1][time_col]:
        tail = rows[-1]
        rows.append({**tail, time_col: end_time, "at_risk": int(last["at_risk"]), "events": 0})
    return rows


def _release_curve_rows(rows: list[dict[str, Any]], policy: Policy) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        at_risk = protect_count(row["at_risk"], policy, structural_zero=True,
                                rounding=policy.at_risk_rounding)
        events = protect_count(row["events"], policy, structural_zero=True)
        out.append({**row, "at_risk": at_risk.value, "at_risk_display": at_risk.display,
                    "events": events.value, "censored": None,
                    **{c: round_estimate(row[c], policy.estimate_decimals)
                       for c in ("survival", "ci_lower", "ci_upper")}})
    return out


def _hidden_strata(frame: pd.DataFrame, policy: Policy) -> list[str]:
    if policy.exact or frame.empty:
        return []
    sizes = frame.groupby("stratum", sort=False)["at_risk"].max()
    return [str(s) for s, n in sizes.items() if int(n) < policy.survival_min_stratum]


def protect_survival_curve(
    frame: pd.DataFrame, policy: Policy, time_column: str = "time_days"
) -> Protected[pd.DataFrame]:
    """Protect Kaplan-Meier curves (stratum, time_days, survival, ci_lower, ci_upper, at_risk,
    events, censored; one row per distinct time).

    Strata under ``survival_min_stratum`` patients are dropped. Each remaining stratum keeps
    its start, one row per run of consecutive event times holding >= ``survival_min_step``
    events (the survival and CI at the run's end, at risk at its start), and an end row at
    the last follow-up; times are rounded up to ``survival_time_grid_days``. ``at_risk`` and
    ``events`` are rounded (Int64, NA when withheld), ``censored`` is withheld, and
    ``at_risk_display`` is added. ``time_months`` is recomputed when present.
    """
    if policy.exact:
        return Protected(frame.copy())
    hidden = _hidden_strata(frame, policy)
    suppressed = [f"stratum {s}: fewer than {policy.survival_min_stratum} patients"
                  for s in hidden]
    rows: list[dict[str, Any]] = []
    for stratum, part in frame.groupby("stratum", sort=False):
        if str(stratum) in hidden:
            continue
        released = _release_curve_rows(_coarsen_stratum(part, policy, time_column), policy)
        if len(released) == 1 and int(part["events"].sum()) > 0:
            suppressed.append(f"stratum {stratum}: fewer than {policy.survival_min_step} "
                              "events, no step drawn")
        rows += [{"stratum": stratum, **r} for r in released]
    columns = [c for c in frame.columns] + ["at_risk_display"]
    out = pd.DataFrame(rows, columns=columns)
    if "time_months" in out.columns:
        out["time_months"] = out[time_column] / DAYS_PER_MONTH
    for col in ("at_risk", "events", "censored"):
        out[col] = pd.array(out[col].tolist(), dtype="Int64")
    return Protected(out, suppressed)


def protect_at_risk(
    frame: pd.DataFrame, policy: Policy, hidden_strata: Sequence[str] = ()
) -> pd.DataFrame:
    """Numbers at risk (columns stratum, time..., at_risk): rounded, small ones withheld."""
    out = frame[~frame["stratum"].astype(str).isin(list(hidden_strata))].copy()
    released = [protect_count(n, policy, structural_zero=True, rounding=policy.at_risk_rounding)
                for n in out["at_risk"]]
    out["at_risk"] = pd.array([r.value for r in released], dtype="Int64")
    out["at_risk_display"] = [r.display for r in released]
    return out.reset_index(drop=True)


# --- helpers for the adapters --------------------------------------------------------------

