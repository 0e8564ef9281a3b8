"""Survival curves under disclosure control, computed from released counts only.

The method of OpenSAFELY's Kaplan-Meier action: per stratum, event and censoring times are
put on the policy's time grid, the *cumulative* numbers of events and of censorings are
rounded (to the nearest multiple of ``survival_min_step``, the midpoint of the bucket of exact
counts that give it), and the number at risk is derived from the stratum's released size.
Survival, its CI, the median and its CI, numbers at risk, and the log-rank test and hazard
ratio (queries/disclosure/adapters.py) are then computed from those released counts alone, so
nothing a protected role sees can be solved back to an exact count: any other exact history
with the same released counts gives exactly the same output
(tests/unit/test_disclosure_attack.py runs that inversion attack).

A curve is cut before the first step after which fewer than ``min_count`` patients would
remain at risk; its last row says so in ``cut_reason``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from queries.disclosure.policy import Policy, Protected, protect_count, round_estimate
from queries.i18n import N_, Text
from queries.snapshot.schema import DAYS_PER_MONTH

Z95 = float(stats.norm.ppf(0.975))
CURVE_COLUMNS = ["stratum", "time_days", "time_months", "survival", "ci_lower", "ci_upper",
                 "at_risk", "events", "censored", "at_risk_display", "cut_reason"]


def ceil_grid(t: float, grid: int) -> float:
    """``t`` rounded up to the time grid (0 stays 0; grid 0 leaves it as is)."""
    return float(math.ceil(t / grid) * grid) if grid > 0 and t > 0 else float(t)


def round_half_up(values: np.ndarray, base: int) -> np.ndarray:
    """Counts rounded half up to multiples of ``base`` (vectorized ``policy.round_to``)."""
    if base <= 1:
        return values.astype("int64")
    return ((values.astype("int64") + base // 2) // base) * base


@dataclass(frozen=True)
class ReleasedCounts:
    """Everything a protected curve of one stratum is computed from, all of it released.

    ``times``: grid times (days) at which a rounded cumulative count changes, ascending;
    ``cumulative_events`` / ``cumulative_censored``: rounded counts up to and including each
    time; ``size``: the stratum's released size (the number at risk at time 0). Derived:
    ``at_risk`` just before each time, ``events`` and ``censored`` at each time.
    """

    stratum: str
    size: int
    times: np.ndarray
    cumulative_events: np.ndarray
    cumulative_censored: np.ndarray
    at_risk: np.ndarray = field(init=False)
    events: np.ndarray = field(init=False)
    censored: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        removed = self.cumulative_events + self.cumulative_censored
        at_risk = self.size - np.concatenate([[0], removed[:-1]]).astype("int64")
        object.__setattr__(self, "at_risk", at_risk)
        object.__setattr__(self, "events", np.diff(self.cumulative_events, prepend=0))
        object.__setattr__(self, "censored", np.diff(self.cumulative_censored, prepend=0))


def released_counts(stratum: str, times: np.ndarray, events: np.ndarray, censored: np.ndarray,
                    policy: Policy) -> ReleasedCounts:
    """Round one stratum's exact counts per time (days) as released to ``policy``."""
    grid = policy.survival_time_grid_days
    base = max(policy.survival_min_step, policy.rounding, 1)
    size = protect_count(int(events.sum() + censored.sum()), policy).value
    order = np.argsort(times, kind="stable")
    on_grid = times[order].astype(float)
    if grid > 0:
        on_grid = np.where(on_grid > 0, np.ceil(on_grid / grid) * grid, on_grid)
    grid_times, first = np.unique(on_grid, return_index=True)
    last = np.append(first[1:], len(on_grid)) - 1
    cum_events = round_half_up(np.cumsum(events[order])[last], base)
    cum_censored = round_half_up(np.cumsum(censored[order])[last], base)
    changed = np.diff(cum_events, prepend=0) + np.diff(cum_censored, prepend=0) != 0
    return ReleasedCounts(str(stratum), int(size or 0), grid_times[changed],
                          cum_events[changed], cum_censored[changed])


def _log_log_ci(surv: np.ndarray, var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.log(surv)
        half = Z95 * np.sqrt(var) / v
        lower = np.exp(-np.exp(np.log(-v) - half))
        upper = np.exp(-np.exp(np.log(-v) + half))
    flat = surv >= 1.0
    return (np.where(flat, 1.0, np.nan_to_num(lower, nan=0.0)),
            np.where(flat, 1.0, np.nan_to_num(upper, nan=0.0)))


def _log_ci(surv: np.ndarray, var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    se = np.sqrt(var)
    return surv * np.exp(-Z95 * se), np.minimum(1.0, surv * np.exp(Z95 * se))


def drawn_rows(counts: ReleasedCounts, policy: Policy) -> int:
    """How many released times are drawn: up to the first after which fewer than
    ``min_count`` patients would remain at risk (a function of released counts only)."""
    remaining = counts.at_risk - counts.events
    below = remaining < policy.min_count
    return int(np.argmax(below)) if below.any() else len(remaining)


def kaplan_meier_rows(counts: ReleasedCounts, policy: Policy,
                      ci_method: str = "log-log") -> list[dict[str, object]]:
    """The protected curve of one stratum: a start row, then one row per drawn released time
    (product-limit estimate, Greenwood variance; ``drawn_rows``)."""
    keep = drawn_rows(counts, policy)
    at_risk, events = counts.at_risk[:keep].astype(float), counts.events[:keep].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - events / at_risk)
        var = np.cumsum(events / (at_risk * (at_risk - events)))
    lower, upper = (_log_ci if ci_method == "log" else _log_log_ci)(surv, var)
    rows: list[dict[str, object]] = []
    if keep == 0 or counts.times[0] > 0:
        rows.append({"time_days": 0.0, "survival": 1.0, "ci_lower": 1.0, "ci_upper": 1.0,
                     "at_risk": counts.size, "events": 0, "censored": 0})
    censored = counts.censored
    for i in range(keep):
        rows.append({"time_days": float(counts.times[i]), "survival": float(surv[i]),
                     "ci_lower": float(lower[i]), "ci_upper": float(upper[i]),
                     "at_risk": int(at_risk[i]), "events": int(events[i]),
                     "censored": int(censored[i])})
    for row in rows:
        row["cut_reason"] = None
    if len(rows) > 1:
        rows[-1]["cut_reason"] = Text(N_("curve ends: fewer than {k} patients remain at risk "
                                         "after this time"), k=policy.min_count)
    return rows


def _release_rows(stratum: str, rows: list[dict[str, object]], policy: Policy
                  ) -> list[dict[str, object]]:
    out = []
    for row in rows:
        out.append({"stratum": stratum, **row,
                    "time_months": float(row["time_days"]) / DAYS_PER_MONTH,  # type: ignore[arg-type]
                    "at_risk_display": f"{int(row['at_risk']):,}",  # type: ignore[call-overload]
                    **{c: round_estimate(row[c], policy.estimate_decimals)
                       for c in ("survival", "ci_lower", "ci_upper")}})
    return out


def stratum_counts(frame: pd.DataFrame, policy: Policy, time_column: str = "time_days"
                   ) -> tuple[dict[str, ReleasedCounts], list[str]]:
    """Released counts of every stratum of an exact curve frame (one row per distinct time,
    with ``events`` and ``censored``), in the frame's order, and the strata left out because
    they have fewer than ``survival_min_stratum`` patients."""
    out: dict[str, ReleasedCounts] = {}
    hidden: list[str] = []
    if frame.empty:
        return out, hidden
    labels = frame["stratum"].astype(str).to_numpy()
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    ends = np.r_[starts[1:], len(labels)]
    times = frame[time_column].to_numpy(float)
    events = frame["events"].to_numpy(dtype="int64")
    censored = frame["censored"].to_numpy(dtype="int64")
    for start, end in zip(starts, ends, strict=True):
        stratum = str(labels[start])
        part = slice(int(start), int(end))
        if int(events[part].sum() + censored[part].sum()) < max(policy.survival_min_stratum, 1):
            hidden.append(stratum)
            continue
        out[stratum] = released_counts(stratum, times[part], events[part], censored[part],
                                       policy)
    return out, hidden


def curve_rows(counts: dict[str, ReleasedCounts], policy: Policy,
               ci_method: str = "log-log") -> dict[str, list[dict[str, object]]]:
    """The protected rows of each released stratum (``kaplan_meier_rows``, rounded)."""
    return {stratum: _release_rows(stratum, kaplan_meier_rows(released, policy, ci_method),
                                   policy)
            for stratum, released in counts.items()}


def curve_frame(rows: dict[str, list[dict[str, object]]]) -> pd.DataFrame:
    """The protected curves of released strata, one frame (``CURVE_COLUMNS``)."""
    out = pd.DataFrame([row for part in rows.values() for row in part], columns=CURVE_COLUMNS)
    for col in ("at_risk", "events", "censored"):
        out[col] = pd.array(out[col].tolist(), dtype="Int64")
    return out


def protect_survival_curve(
    frame: pd.DataFrame, policy: Policy, time_column: str = "time_days",
    ci_method: str = "log-log",
) -> Protected[pd.DataFrame]:
    """Protect Kaplan-Meier curves (stratum, time_days, survival, ci_lower, ci_upper, at_risk,
    events, censored; one row per distinct time).

    Strata under ``survival_min_stratum`` patients are dropped; every other is recomputed
    from its released counts (module docstring): a start row, then one row per grid time at
    which a rounded cumulative count changes, until fewer than ``min_count`` remain at risk.
    """
    if policy.exact:
        return Protected(frame.copy())
    counts, hidden = stratum_counts(frame, policy, time_column)
    suppressed = [f"stratum {s}: fewer than {policy.survival_min_stratum} patients"
                  for s in hidden]
    return Protected(curve_frame(curve_rows(counts, policy, ci_method)), suppressed)


def at_risk_at(counts: ReleasedCounts, days: float, policy: Policy,
               keep: int | None = None) -> tuple[int | None, str]:
    """Released number at risk at ``days`` and its display, read off the drawn curve.

    After the last drawn time it is withheld: "< 10" when fewer than the threshold remained
    after that time (the number at risk only falls), else the mask for a hidden count.
    """
    keep = drawn_rows(counts, policy) if keep is None else keep
    at_risk = counts.at_risk
    last = float(counts.times[keep - 1]) if keep else 0.0
    if days <= 0:
        return counts.size, f"{counts.size:,}"
    if days <= last:
        value = int(at_risk[int(np.searchsorted(counts.times[:keep], days, side="left"))])
        return value, f"{value:,}"
    after = counts.size if keep == 0 else int(
        at_risk[keep - 1] - counts.events[keep - 1] - counts.censored[keep - 1])
    return None, policy.small_display if after < policy.min_count else policy.mask_display


def at_risk_frame(counts: dict[str, ReleasedCounts], months: Sequence[float],
                  policy: Policy) -> pd.DataFrame:
    """Numbers at risk per stratum at the given months, from released counts only."""
    rows = []
    for stratum, released in counts.items():
        keep = drawn_rows(released, policy)
        for month in months:
            value, display = at_risk_at(released, float(month) * DAYS_PER_MONTH, policy, keep)
            rows.append({"stratum": stratum, "time_months": float(month), "at_risk": value,
                         "at_risk_display": display})
    out = pd.DataFrame(rows, columns=["stratum", "time_months", "at_risk", "at_risk_display"])
    out["at_risk"] = pd.array(out["at_risk"].tolist(), dtype="Int64")
    return out


def first_at_or_below_half(times: np.ndarray, values: np.ndarray) -> float | None:
    """First time a released curve (or CI bound) is at or below 0.5; None when never."""
    hits = np.flatnonzero(np.asarray(values, dtype=float) <= 0.5)
    return float(times[hits[0]]) if len(hits) else None


def released_agg(counts: dict[str, ReleasedCounts], policy: Policy) -> pd.DataFrame:
    """Released counts as the (stratum, time_days, n_event, n_censored) input of the tests.

    Only the drawn part of each curve is used: after the cut, the patients still at risk are
    censored one day after the last drawn time.
    """
    rows = []
    for stratum, released in counts.items():
        keep = drawn_rows(released, policy)
        at_risk = released.at_risk[:keep]
        events = released.events[:keep]
        censored = np.minimum(released.censored[:keep], at_risk - events)
        for t, e, c in zip(released.times[:keep], events, censored, strict=True):
            rows.append((stratum, int(t), int(e), int(c)))
        remaining = released.size - int(events.sum() + censored.sum())
        if remaining > 0:
            end = int(released.times[keep - 1]) + 1 if keep else 1
            rows.append((stratum, end, 0, remaining))
    return pd.DataFrame(rows, columns=["stratum", "time_days", "n_event", "n_censored"])
