"""Disclosure control: the per-role policy applied to every result before it reaches a role.

Pure Python/pandas (no Flask, no Dash). Defaults follow DESIGN.md "Disclosure control":

============  =====================  ==============  =================================  ==================
role          small counts           other counts    percentages                        survival curves
============  =====================  ==============  =================================  ==================
clinician     exact                  exact           exact                              exact
partner       1-9 -> "< 10"          nearest 5       from released numbers only         strata < 10 hidden,
              (0 only if structural)                 (numerator and denominator shown)  >= 10 events a step,
                                                                                        at risk to 5
advisory      under 20 hidden        nearest 10      whole percent, groups >= 20        same, with 20 / 10
============  =====================  ==============  =================================  ==================

Every ``protect_*`` function takes exact numbers and returns released ones. Counts become
``Released`` values (``value`` is None when withheld, ``display`` is what to show). Results
come wrapped in ``Protected(result, suppressed)``; ``suppressed`` lists what was withheld and
goes to the audit log (``access.audit.record_query``).

Attacks this resists (tests/unit/test_disclosure.py):

- differencing a total against its parts (per-site / per-year tables, Table 1 levels, BOR
  categories): secondary suppression makes every group hide either nothing or at least two
  cells that together hold at least the threshold, and a group's total is recomputed from
  released numbers (visible cells + the rounded hidden block), never the exact total;
- differencing attrition steps: a step that removes fewer than the threshold is merged with
  the previous one (shown with the same released count);
- percentages revealing small numbers: computed only from released numerator and denominator;
- step heights of a Kaplan-Meier curve: each drawn step covers >= threshold events, times are
  coarsened to a grid, numbers at risk are rounded, small strata are dropped;
- averaging repeated answers: there is no noise; rounding is deterministic, so asking again
  returns exactly the same numbers.

Adapters for the analyses' result types: ``protect_feasibility``, ``protect_attrition_result``,
``protect_survival``, ``protect_response``, ``protect_safety``, ``protect_table_one``; and one
entry point ``protect_result(result, policy)`` that dispatches on the type.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Generic, TypeVar

import numpy as np
import pandas as pd

from queries.schema import (
    BOR_CATEGORIES,
    DAYS_PER_MONTH,
    DISEASE_CONTROL,
    NOT_EVALUABLE,
    RECIST_RESPONSES,
    RESPONDERS,
)

T = TypeVar("T")

# Per-role configuration (keys are Policy fields). Deployments may override any key through
# ``policy_for(role, config)``.
DEFAULT_POLICY_CONFIG: dict[str, dict[str, Any]] = {
    "clinician": {},
    "partner": {
        "min_count": 10,
        "rounding": 5,
        "small_display": "< 10",
        "percent_decimals": 1,
        "percent_min_group": 10,
        "survival_min_stratum": 10,
        "survival_min_step": 10,
        "survival_time_grid_days": 7,
        "at_risk_rounding": 5,
        "estimate_decimals": 3,
        "p_value_decimals": 3,
    },
    "advisory": {
        "min_count": 20,
        "rounding": 10,
        "small_display": "< 20",
        "percent_decimals": 0,
        "percent_min_group": 20,
        "survival_min_stratum": 20,
        "survival_min_step": 20,
        "survival_time_grid_days": 30,
        "at_risk_rounding": 10,
        "estimate_decimals": 2,
        "p_value_decimals": 2,
    },
}
# Admins manage the platform and see no cohort results; should one reach them, the
# strictest policy applies (fail closed).
DEFAULT_POLICY_CONFIG["admin"] = dict(DEFAULT_POLICY_CONFIG["advisory"])

NOT_SHOWN = "—"
TABLE_NOTE = (
    "'{mask}' marks counts under {k} and counts hidden so that a small count cannot be worked "
    "out from totals; other counts are rounded to the nearest {r}."
)


@dataclass(frozen=True)
class Policy:
    """What one role may see. ``min_count`` 0 and ``rounding`` 1 mean exact numbers."""

    role: str
    min_count: int = 0  # counts 1..min_count-1 (and non-structural zeros) are withheld
    rounding: int = 1  # released counts are rounded (half up) to a multiple of this
    small_display: str = "< 10"  # how a withheld stand-alone count reads
    mask_display: str = "suppressed"  # how any withheld table cell reads (primary or secondary)
    percent_decimals: int = 1
    percent_min_group: int = 0  # no percentage over a released denominator below this
    survival_min_stratum: int = 0  # strata with fewer patients are not drawn
    survival_min_step: int = 0  # events each drawn step of a curve must cover
    survival_time_grid_days: int = 0  # step times rounded up to this grid (0: exact)
    at_risk_rounding: int = 1
    estimate_decimals: int | None = None  # survival, CI bounds, hazard ratios (None: as is)
    p_value_decimals: int | None = None

    @property
    def exact(self) -> bool:
        return self.min_count <= 1 and self.rounding <= 1

    @property
    def table_note(self) -> str:
        if self.exact:
            return ""
        return TABLE_NOTE.format(mask=self.mask_display, k=self.min_count, r=self.rounding)


def policy_from_config(role: str, config: Mapping[str, Any]) -> Policy:
    """A Policy from a config mapping of Policy fields; unknown keys are an error."""
    known = {f.name for f in fields(Policy)} - {"role"}
    unknown = set(config) - known
    if unknown:
        raise ValueError(f"unknown disclosure policy keys for {role!r}: {sorted(unknown)}")
    policy = Policy(role=role, **dict(config))
    if policy.rounding < 1 or policy.min_count < 0 or policy.at_risk_rounding < 1:
        raise ValueError(f"invalid disclosure policy for {role!r}: {policy}")
    return policy


def policy_for(role: str, config: Mapping[str, Mapping[str, Any]] | None = None) -> Policy:
    """The policy of a role: DESIGN.md defaults, updated by ``config[role]`` if given."""
    if role not in DEFAULT_POLICY_CONFIG:
        raise ValueError(f"no disclosure policy for role {role!r}")
    merged = {**DEFAULT_POLICY_CONFIG[role], **dict((config or {}).get(role, {}))}
    return policy_from_config(role, merged)


@dataclass(frozen=True)
class Released:
    """A number as released to a role: ``value`` None when withheld; ``display`` to show."""

    value: int | float | None
    display: str
    suppressed: bool = False

    def __str__(self) -> str:
        return self.display


@dataclass(frozen=True)
class Protected(Generic[T]):
    """A protected result and what was withheld (for the audit log)."""

    result: T
    suppressed: list[str] = field(default_factory=list)


# --- counts and percentages ---------------------------------------------------------------


def round_to(n: int, base: int) -> int:
    """``n`` rounded half up to a multiple of ``base``."""
    if base <= 1:
        return int(n)
    return (int(n) + base // 2) // base * base


def _fmt(n: int | float) -> str:
    return f"{int(n):,}"


def _exact_int(n: Any) -> int | None:
    if n is None or (isinstance(n, float) and math.isnan(n)) or n is pd.NA:
        return None
    value = int(n)
    if value < 0:
        raise ValueError(f"a count cannot be negative: {n!r}")
    return value


def protect_count(
    n: int | None, policy: Policy, structural_zero: bool = False, *, rounding: int | None = None
) -> Released:
    """Release one count: exact for exact policies; else small ones withheld, others rounded.

    A zero is shown only when ``structural_zero`` (zero by construction, e.g. an empty
    filter); any other zero is withheld like a small count, so "none of them" is never
    disclosed by accident. ``rounding`` overrides the policy's base (numbers at risk).
    """
    value = _exact_int(n)
    if value is None:
        return Released(None, NOT_SHOWN, True)
    if policy.exact:
        return Released(value, _fmt(value))
    if value == 0 and structural_zero:
        return Released(0, "0")
    if value < max(policy.min_count, 1):
        return Released(None, policy.small_display, True)
    base = rounding or policy.rounding
    # Never release a rounded value below the threshold (a custom threshold may not be a
    # multiple of the base).
    floor = -(-policy.min_count // base) * base
    released = max(round_to(value, base), floor)
    return Released(released, _fmt(released))


def percent_of(num: Released, den: Released, policy: Policy) -> Released:
    """A percentage from already released numbers; withheld unless both are shown."""
    if num.suppressed or den.suppressed or num.value is None or den.value is None:
        return Released(None, NOT_SHOWN, True)
    if den.value <= 0 or den.value < policy.percent_min_group:
        return Released(None, NOT_SHOWN, True)
    digits = policy.percent_decimals
    value = round(100.0 * num.value / den.value, digits)
    if digits == 0:
        value = int(value)
    return Released(value, f"{value:.{digits}f}%")


def protect_percent(
    num: int, den: int, policy: Policy, structural_zero: bool = False
) -> Released:
    """Percentage ``num / den``, computed from the released (rounded) numbers."""
    return percent_of(
        protect_count(num, policy, structural_zero), protect_count(den, policy), policy
    )


def protect_fraction(num: Released, den: Released, policy: Policy) -> float | None:
    """A 0-1 proportion from released numbers (None when either is withheld)."""
    pct = percent_of(num, den, policy)
    if pct.value is None:
        return None
    return num.value / den.value if policy.exact else round(pct.value / 100.0, 4)


def round_estimate(value: Any, decimals: int | None) -> Any:
    """Round a float estimate to the policy's decimals (None/NaN pass through)."""
    if decimals is None or value is None:
        return value
    try:
        if math.isnan(float(value)):
            return value
        return round(float(value), decimals)
    except (TypeError, ValueError):
        return value


# --- secondary suppression -----------------------------------------------------------------


def _group_safe(values: list[int], hidden: list[bool], group: list[int], k: int) -> bool:
    cells = [i for i in group if hidden[i]]
    return not cells or (len(cells) >= 2 and sum(values[i] for i in cells) >= k)


def _protect_group(values: list[int], hidden: list[bool], group: list[int], k: int) -> bool:
    """Hide the next smallest cells until the group's hidden block is safe; True if changed."""
    changed = False
    while not _group_safe(values, hidden, group, k):
        candidates = [i for i in group if not hidden[i] and values[i] > 0]
        if not candidates:
            break  # nothing left to hide; the group's total is withheld instead
        hidden[min(candidates, key=lambda i: (values[i], i))] = True
        changed = True
    return changed


def secondary_suppression(
    values: Sequence[int], hidden: Sequence[bool], groups: Sequence[Sequence[int]], k: int
) -> list[bool]:
    """Extend ``hidden`` so every group hides no cell or >= 2 cells summing to >= ``k``.

    ``groups`` are lists of cell indices whose total is (or can be) released, e.g. the rows
    and the columns of a table. Runs to a fixed point, so a cell hidden for a row is then
    protected in its column too.
    """
    values, hidden = [int(v) for v in values], list(hidden)
    groups = [list(g) for g in groups]
    changed = True
    while changed:
        changed = False
        for group in groups:
            changed |= _protect_group(values, hidden, group, k)
    return hidden


@dataclass
class _Cells:
    """Cells of one protection problem: exact values, what is hidden, released values."""

    values: list[int]
    primary: list[bool]
    hidden: list[bool]
    released: list[int | None]
    policy: Policy

    def cell(self, i: int) -> Released:
        if self.hidden[i]:
            return Released(None, self.policy.mask_display, True)
        value = int(self.released[i] or 0)
        return Released(value, _fmt(value))

    def total(self, group: Sequence[int]) -> Released:
        """A group's total from released numbers: visible cells plus the rounded hidden block."""
        group = list(group)
        if not group and not self.policy.exact:
            return Released(None, self.policy.mask_display, True)  # an unstructured zero
        visible = sum(self.released[i] or 0 for i in group if not self.hidden[i])
        block = [i for i in group if self.hidden[i]]
        if not block:
            return Released(visible, _fmt(visible))
        block_sum = sum(self.values[i] for i in block)
        if len(block) >= 2 and block_sum >= self.policy.min_count:
            total = visible + round_to(block_sum, self.policy.rounding)
            return Released(total, _fmt(total))
        return Released(None, self.policy.mask_display, True)

    def describe(self, labels: Sequence[str]) -> list[str]:
        out = []
        for i, hidden in enumerate(self.hidden):
            if hidden:
                why = (f"under {self.policy.min_count}" if self.primary[i]
                       else "hidden to protect a small count")
                out.append(f"{labels[i]}: {why}")
        return out


def _primary(values: list[int], policy: Policy, structural_zero: bool) -> list[bool]:
    if policy.exact:
        return [False] * len(values)
    return [v < policy.min_count and not (v == 0 and structural_zero) for v in values]


def protect_cells(
    values: Sequence[int],
    groups: Sequence[Sequence[int]],
    policy: Policy,
    structural_zero: bool = False,
) -> _Cells:
    """Primary and secondary suppression of ``values`` whose ``groups`` have released totals.

    Returns an object with ``cell(i)`` and ``total(group)`` as ``Released`` values and
    ``describe(labels)`` for the audit log.
    """
    exact = [int(v) for v in values]
    primary = _primary(exact, policy, structural_zero)
    hidden = primary if policy.exact else secondary_suppression(
        exact, primary, groups, policy.min_count)
    released = [None if h else protect_count(v, policy, structural_zero=True).value
                for v, h in zip(exact, hidden, strict=True)]
    return _Cells(exact, primary, hidden, released, policy)


@dataclass(frozen=True)
class ProtectedTable:
    """A count table as released.

    ``values``: the input frame with count columns as nullable ``Int64`` (NA = withheld);
    ``display``: the same frame with count columns as strings; totals recomputed from
    released numbers (``row_totals`` only with >= 2 count columns).
    """

    values: pd.DataFrame
    display: pd.DataFrame
    column_totals: dict[str, Released]
    row_totals: list[Released] | None
    grand_total: Released
    note: str = ""


def _table_groups(rows: int, cols: int) -> list[list[int]]:
    groups = []
    if rows >= 2 or cols == 1:
        groups += [[i * cols + j for i in range(rows)] for j in range(cols)]
    if cols >= 2:
        groups += [[i * cols + j for j in range(cols)] for i in range(rows)]
    return groups


def _labels(df: pd.DataFrame, label_column: str | None, columns: list[str]) -> list[str]:
    source = df[label_column] if label_column else df.index
    return [f"{row} / {col}" for row in source for col in columns]


def protect_table(
    df: pd.DataFrame,
    count_columns: Sequence[str],
    policy: Policy,
    *,
    structural_zero: bool = False,
    label_column: str | None = None,
    extra_groups: Sequence[Sequence[int]] = (),
) -> Protected[ProtectedTable]:
    """Protect a table of counts (rows x ``count_columns``) with secondary suppression.

    Cells under the threshold are withheld (primary); then, per column and (with >= 2 count
    columns) per row, more cells are withheld until each group hides none or >= 2 cells that
    together hold >= the threshold, so that no hidden cell can be recovered from a total.
    Totals are recomputed from released numbers. ``label_column`` names rows in
    ``suppressed`` (default: the index). ``extra_groups`` are further groups of flat cell
    indices (``row * n_columns + column``) with a released total.
    """
    columns = list(count_columns)
    matrix = df[columns].fillna(0).astype("int64").to_numpy()
    rows, cols = matrix.shape
    groups = _table_groups(rows, cols) + [list(g) for g in extra_groups]
    cells = protect_cells(matrix.reshape(-1).tolist(), groups, policy, structural_zero)

    out_values, out_display = df.copy(), df.copy()
    for j, col in enumerate(columns):
        released = [cells.cell(i * cols + j) for i in range(rows)]
        out_values[col] = _int_array(released)
        out_display[col] = [r.display for r in released]
    column_totals = {col: cells.total([i * cols + j for i in range(rows)])
                     for j, col in enumerate(columns)}
    row_totals = None
    if cols >= 2:
        row_totals = [cells.total([i * cols + j for j in range(cols)]) for i in range(rows)]
    table = ProtectedTable(out_values, out_display, column_totals, row_totals,
                           cells.total(range(rows * cols)), policy.table_note)
    return Protected(table, cells.describe(_labels(df, label_column, columns)))


def protect_parts(
    parts: Sequence[int],
    total: int,
    policy: Policy,
    *,
    structural_zero: bool = False,
    labels: Sequence[str] | None = None,
) -> Protected[list[Released]]:
    """Protect the parts of a whole whose total is released elsewhere (Table 1 levels).

    The remainder ``total - sum(parts)`` (e.g. patients with an unknown value) can be worked
    out from the released total, so it takes part in secondary suppression as an unshown cell.
    """
    values = [int(p) for p in parts]
    remainder = int(total) - sum(values)
    if remainder < 0:
        raise ValueError("parts add up to more than the total")
    # A zero remainder is left out: a hidden zero would force hiding a part for nothing.
    cells_in = values + ([remainder] if remainder > 0 else [])
    cells = protect_cells(cells_in, [list(range(len(cells_in)))], policy, structural_zero)
    names = list(labels or [str(i) for i in range(len(values))]) + ["remainder"]
    return Protected([cells.cell(i) for i in range(len(values))], cells.describe(names))


# --- attrition -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReleasedStep:
    """One attrition step as released; ``merged`` when its change was under the threshold."""

    remaining: Released
    excluded: Released
    merged: bool = False


def _exact_steps(steps: Sequence[int]) -> list[ReleasedStep]:
    out, previous = [], None
    for n in steps:
        excluded = 0 if previous is None else previous - n
        out.append(ReleasedStep(Released(n, _fmt(n)), Released(excluded, _fmt(excluded))))
        previous = n
    return out


def _next_step(
    n: int, last_true: int, last: Released, policy: Policy
) -> tuple[ReleasedStep, bool]:
    """The released step after ``last``; the flag says whether ``n`` became the new base."""
    small = Released(None, policy.small_display, True)
    if last.suppressed:
        return ReleasedStep(Released(None, policy.small_display, True),
                            Released(None, NOT_SHOWN, True)), False
    if last_true - n < policy.min_count:
        return ReleasedStep(last, small, merged=True), False
    remaining = protect_count(n, policy)
    if remaining.suppressed:
        # The exclusion is large but what is left is small: showing either would give the other.
        return ReleasedStep(remaining, Released(None, NOT_SHOWN, True)), True
    diff = int(last.value) - int(remaining.value)
    if diff < policy.min_count:
        return ReleasedStep(last, small, merged=True), False
    return ReleasedStep(remaining, Released(diff, _fmt(diff))), True


def protect_attrition(steps: Sequence[int], policy: Policy) -> Protected[list[ReleasedStep]]:
    """Release the patients left after each step (non-increasing counts, first = population).

    A step that removes fewer patients than the threshold (including none) is merged with
    the previous shown step: it shows the same count and "< 10" removed, so neither the step
    nor the difference of two released steps reveals a small number. Later steps are compared
    with the last shown step, so small removals add up until they can be shown.
    """
    counts = [int(s) for s in steps]
    if any(b > a for a, b in zip(counts, counts[1:], strict=False)):
        raise ValueError("attrition steps must not increase")
    if not counts:
        return Protected([])
    if policy.exact:
        return Protected(_exact_steps(counts))
    first = protect_count(counts[0], policy)
    out = [ReleasedStep(first, Released(0, "0"))]
    suppressed = ["step 0: under threshold"] if first.suppressed else []
    last_true, last = counts[0], first
    for k, n in enumerate(counts[1:], start=1):
        step, rebased = _next_step(n, last_true, last, policy)
        out.append(step)
        if rebased:
            last_true, last = n, step.remaining
        if step.merged:
            suppressed.append(f"step {k}: fewer than {policy.min_count} removed, merged")
        elif step.remaining.suppressed:
            suppressed.append(f"step {k}: under threshold")
    return Protected(out, suppressed)


@dataclass(frozen=True)
class ProtectedAttritionStep:
    step: int
    rule_name: str
    enabled: bool
    remaining: Released
    excluded: Released
    alone: Released
    merged: bool = False


def protect_attrition_result(attrition: Any, policy: Policy) -> Protected[list]:
    """``queries.attrition.Attrition`` -> released steps (``ProtectedAttritionStep``).

    ``alone`` (patients meeting a rule alone) is released as a one-step attrition from the
    index population, so a rule that alone removes 1-9 patients shows the population count.
    """
    steps = list(attrition.steps)
    chain = protect_attrition([s.remaining for s in steps], policy)
    suppressed = list(chain.suppressed)
    out = []
    for s, released in zip(steps, chain.result, strict=True):
        alone = protect_attrition([steps[0].remaining, s.alone], policy)
        if s.step and alone.result[1].merged:
            suppressed.append(f"rule {s.step} alone: fewer than {policy.min_count} removed")
        alone_value = alone.result[0 if s.step == 0 else 1].remaining
        out.append(ProtectedAttritionStep(s.step, s.rule_name, s.enabled, released.remaining,
                                          released.excluded, alone_value, released.merged))
    return Protected(out, suppressed)


def attrition_frame(steps: Sequence[ProtectedAttritionStep]) -> pd.DataFrame:
    """Display strings of released attrition steps, for a table component."""
    return pd.DataFrame(
        [{"step": s.step, "rule_name": s.rule_name, "enabled": s.enabled,
          "remaining": s.remaining.display, "excluded": s.excluded.display,
          "alone": s.alone.display} for s in steps],
        columns=["step", "rule_name", "enabled", "remaining", "excluded", "alone"],
    )


# --- survival curves -------------------------------------------------------------------------

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
               grid: int) -> dict:
    return {time_col: _ceil_grid(float(cols[time_col][last]), grid),
            "survival": float(cols["survival"][last]), "ci_lower": float(cols["ci_lower"][last]),
            "ci_upper": float(cols["ci_upper"][last]), "at_risk": int(cols["at_risk"][first]),
            "events": int(cols["events"][first:last + 1].sum())}


def _merge_same_time(rows: list[dict], time_col: str) -> list[dict]:
    merged: list[dict] = []
    for row in rows:
        if merged and merged[-1][time_col] == row[time_col]:
            prev = merged[-1]
            merged[-1] = {**row, "at_risk": prev["at_risk"],
                          "events": prev["events"] + row["events"]}
        else:
            merged.append(row)
    return merged


def _coarsen_stratum(part: pd.DataFrame, policy: Policy, time_col: str) -> list[dict]:
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


def _release_curve_rows(rows: list[dict], policy: Policy) -> list[dict]:
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
    rows: list[dict] = []
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

_HAS_DIGIT = re.compile(r"\d")


def clean_notes(notes: Sequence[str], policy: Policy) -> list[str]:
    """Notes without numbers (they may hold exact counts) for non-exact policies."""
    if policy.exact:
        return list(notes)
    return [n for n in notes if not _HAS_DIGIT.search(n)]


def _int_array(values: Sequence[Released]) -> pd.arrays.IntegerArray:
    return pd.array([None if r.value is None else int(r.value) for r in values], dtype="Int64")


def _release_column(frame: pd.DataFrame, column: str, policy: Policy) -> list[Released]:
    return [protect_count(v, policy) for v in frame[column]]


def _set_released(frame: pd.DataFrame, column: str, released: list[Released]) -> None:
    frame[column] = _int_array(released)
    frame[f"{column}_display"] = [r.display for r in released]


def _p_value(p: Any, policy: Policy) -> Any:
    return round_estimate(p, policy.p_value_decimals)


def _require_known_tables(result: Any, handled: set[str]) -> None:
    """Fail closed: a result table this module does not know would pass through unprotected."""
    unknown = [f.name for f in fields(result)
               if isinstance(getattr(result, f.name), pd.DataFrame) and f.name not in handled]
    if unknown:
        raise TypeError(f"no disclosure rule for {type(result).__name__}.{', '.join(unknown)}")


# --- adapters for the analyses' result types -------------------------------------------------
# Duck-typed on the result classes of queries.feasibility / survival / response / safety /
# characteristics / attrition (imported lazily where needed, to keep this module light).


@dataclass(frozen=True)
class ProtectedFeasibility:
    """Per-site and per-year counts as released (``queries.feasibility.Feasibility``)."""

    snapshot_id: str
    total: Released
    by_site: ProtectedTable  # columns: site, patients
    by_year: ProtectedTable  # columns: year, patients


def protect_feasibility(feasibility: Any, policy: Policy) -> Protected[ProtectedFeasibility]:
    """Protect a Feasibility: each table with secondary suppression and recomputed totals."""
    sites = protect_table(feasibility.by_site, ["patients"], policy, label_column="site")
    years = protect_table(feasibility.by_year, ["patients"], policy, label_column="year")
    total = protect_count(feasibility.total, policy)
    suppressed = ([f"site {s}" for s in sites.suppressed]
                  + [f"year {s}" for s in years.suppressed]
                  + (["total: under threshold"] if total.suppressed else []))
    result = ProtectedFeasibility(feasibility.snapshot_id, total, sites.result, years.result)
    return Protected(result, suppressed)


# survival ---------------------------------------------------------------------------------


def _survival_summary(summary: pd.DataFrame, curve: pd.DataFrame, hidden: Sequence[str],
                      policy: Policy) -> pd.DataFrame:
    out = summary[~summary["stratum"].astype(str).isin(list(hidden))].copy()
    _set_released(out, "n", _release_column(out, "n", policy))
    _set_released(out, "events", _release_column(out, "events", policy))
    # Medians (and their CI) are single patients' times: coarsened to the grid, and only
    # where the stratum has enough events for its curve to be drawn.
    drawn = set(curve.loc[curve["events"].fillna(0) > 0, "stratum"].astype(str))
    grid = policy.survival_time_grid_days
    for prefix in ("median", "median_ci_lower", "median_ci_upper"):
        days = [None if s not in drawn or v is None or pd.isna(v) else _ceil_grid(float(v), grid)
                for s, v in zip(out["stratum"].astype(str), out[f"{prefix}_days"], strict=True)]
        out[f"{prefix}_days"] = days
        if f"{prefix}_months" in out.columns:
            out[f"{prefix}_months"] = [None if d is None else d / DAYS_PER_MONTH for d in days]
    return out.reset_index(drop=True)


def _weak_strata(summary: pd.DataFrame, hidden: Sequence[str], policy: Policy) -> set[str]:
    """Strata a test or hazard ratio must not involve: hidden, or too few events to show.

    The standard error of a hazard ratio (hence its CI width) reveals the event counts.
    """
    few = summary.loc[summary["events"].astype(int) < policy.min_count, "stratum"]
    return set(hidden) | {str(s) for s in few}


def _protect_logrank(logrank: Any, hidden: set[str], policy: Policy) -> Any:
    if logrank is None or set(map(str, logrank.strata)) & hidden:
        return None
    return replace(logrank, statistic=round_estimate(logrank.statistic, 1),
                   p_value=_p_value(logrank.p_value, policy))


def _protect_hazard_ratio(hr: Any, hidden: set[str], policy: Policy) -> Any:
    if hr is None or {str(hr.group), str(hr.reference)} & hidden:
        return None
    digits = policy.estimate_decimals
    return replace(hr, hr=round_estimate(hr.hr, digits),
                   ci_lower=round_estimate(hr.ci_lower, digits),
                   ci_upper=round_estimate(hr.ci_upper, digits),
                   coef=None, se=None, p_value=_p_value(hr.p_value, policy))


def protect_survival(result: Any, policy: Policy) -> Protected[Any]:
    """Protect a ``queries.survival.SurvivalResult`` (returns a new one of the same type).

    Curves as ``protect_survival_curve``; the summary keeps shown strata with rounded ``n``
    and ``events`` (``*_display`` added) and medians (with CI) coarsened to the time grid,
    only for strata whose protected curve is drawn; numbers
    at risk rounded; log-rank and hazard ratio dropped when they involve a hidden stratum,
    else rounded; ``excluded`` released (None when withheld); notes with numbers dropped.
    """
    if policy.exact:
        return Protected(result)
    _require_known_tables(result, {"curve", "summary", "at_risk"})
    curve = protect_survival_curve(result.curve, policy)
    hidden = _hidden_strata(result.curve, policy)
    weak = _weak_strata(result.summary, hidden, policy)
    excluded = protect_count(result.excluded, policy, structural_zero=True)
    notes = clean_notes(result.notes, policy)
    if excluded.value != 0:
        notes.append(f"{excluded.display} patients with follow-up ending before index were "
                     "left out")
    protected = replace(
        result, curve=curve.result,
        summary=_survival_summary(result.summary, curve.result, hidden, policy),
        at_risk=protect_at_risk(result.at_risk, policy, hidden),
        logrank=_protect_logrank(result.logrank, weak, policy),
        hazard_ratio=_protect_hazard_ratio(result.hazard_ratio, weak, policy),
        excluded=excluded.value, notes=notes,
    )
    if protected.empty_reason is None and protected.curve.empty:
        protected = replace(protected, empty_reason=(
            f"every group has fewer than {policy.survival_min_stratum} patients, so the curve "
            "is hidden to protect their privacy"))
    return Protected(protected, [f"{result.endpoint}: {s}" for s in curve.suppressed])


# response -----------------------------------------------------------------------------------

_BOR = BOR_CATEGORIES
_RESPONDERS, _CONTROL, _EVALUABLE = (tuple(_BOR.index(b) for b in group) for group in (
    RESPONDERS, DISEASE_CONTROL, RECIST_RESPONSES))


def _bor_cells(counts: pd.DataFrame, strata: list[str], policy: Policy) -> _Cells:
    """Stratum x BOR cells with row, column, responder, control and evaluable groups."""
    wide = (counts.pivot_table(index="stratum", columns="bor", values="n", aggfunc="sum",
                               fill_value=0)
            .reindex(index=strata, columns=list(_BOR), fill_value=0).astype("int64"))
    cols = len(_BOR)
    groups = _table_groups(len(strata), cols)
    for i in range(len(strata)):
        for members in (_RESPONDERS, _CONTROL, _EVALUABLE):
            groups.append([i * cols + j for j in members])
    return protect_cells(wide.to_numpy().reshape(-1).tolist(), groups, policy)


def _rate(num: Released, den: Released, policy: Policy) -> tuple[Any, Any, Any]:
    from queries.response import clopper_pearson

    fraction = protect_fraction(num, den, policy)
    if fraction is None:
        return None, None, None
    low, high = clopper_pearson(int(num.value), int(den.value))
    return (fraction, round_estimate(low, policy.estimate_decimals),
            round_estimate(high, policy.estimate_decimals))


def _in_row(i: int, members: Sequence[int]) -> list[int]:
    return [i * len(_BOR) + j for j in members]


def _rate_rows(strata: list[str], cells: _Cells, denominator: str, policy: Policy) -> list[dict]:
    rows = []
    for i, stratum in enumerate(strata):
        n = cells.total(_in_row(i, range(len(_BOR))))
        den = cells.total(_in_row(i, _EVALUABLE)) if denominator == "evaluable" else n
        responders = cells.total(_in_row(i, _RESPONDERS))
        control = cells.total(_in_row(i, _CONTROL))
        orr, dcr = _rate(responders, den, policy), _rate(control, den, policy)
        not_evaluable = cells.cell(_in_row(i, [_BOR.index(NOT_EVALUABLE)])[0])
        rows.append({
            "stratum": stratum, "n": n.value, "not_evaluable": not_evaluable.value,
            "denominator": den.value, "responders": responders.value,
            "orr": orr[0], "orr_ci_lower": orr[1], "orr_ci_upper": orr[2],
            "disease_control": control.value, "dcr": dcr[0], "dcr_ci_lower": dcr[1],
            "dcr_ci_upper": dcr[2], "n_display": n.display, "denominator_display": den.display,
            "responders_display": responders.display, "disease_control_display": control.display,
        })
    return rows


def _released_counts(strata: list[str], cells: _Cells, policy: Policy) -> pd.DataFrame:
    cols, rows = len(_BOR), []
    for i, stratum in enumerate(strata):
        total = cells.total([i * cols + j for j in range(cols)])
        for j, bor in enumerate(_BOR):
            cell = cells.cell(i * cols + j)
            rows.append({"stratum": stratum, "bor": bor, "n": cell.value,
                         "pct": protect_fraction(cell, total, policy), "n_display": cell.display})
    out = pd.DataFrame(rows, columns=["stratum", "bor", "n", "pct", "n_display"])
    out["n"] = pd.array(out["n"].tolist(), dtype="Int64")
    return out


def protect_response(result: Any, policy: Policy) -> Protected[Any]:
    """Protect a ``queries.response.ResponseResult`` (returns a new one of the same type).

    The stratum x best-response table gets secondary suppression over rows, columns and the
    responder (CR+PR), disease-control (CR+PR+SD) and evaluable groups, so ORR and DCR use
    released totals; rates and their exact CIs are recomputed from released numbers; the
    test across strata is recomputed from released numbers (None if any is withheld).
    """
    if policy.exact:
        return Protected(result)
    _require_known_tables(result, {"counts", "rates"})
    if result.rates.empty:
        return Protected(result)
    from queries.response import difference_test

    strata = [str(s) for s in result.rates["stratum"]]
    counts = result.counts.assign(stratum=result.counts["stratum"].astype(str))
    cells = _bor_cells(counts, strata, policy)
    rates = pd.DataFrame(_rate_rows(strata, cells, result.denominator, policy))
    test = None
    needed = ["responders", "disease_control", "denominator"]
    if result.test is not None and rates[needed].notna().all().all():
        test = difference_test(rates.astype({c: int for c in needed}),
                               result.test.outcome.lower())
        if test is not None:
            test = replace(test, statistic=None, p_value=_p_value(test.p_value, policy))
    labels = [f"{s} / {b}" for s in strata for b in _BOR]
    protected = replace(result, counts=_released_counts(strata, cells, policy), rates=rates,
                        test=test, notes=clean_notes(result.notes, policy))
    return Protected(protected, [f"response {s}" for s in cells.describe(labels)])


# safety -------------------------------------------------------------------------------------

_AE_COUNTS = (("patients_any_grade", "pct_any_grade"), ("patients_grade3plus", "pct_grade3plus"))


def _onset(days: Any, count: Released) -> tuple[Any, Any]:
    if count.suppressed or days is None or pd.isna(days):
        return None, None
    return float(round(days)), round(float(round(days)) / DAYS_PER_MONTH, 1)


def _protect_ae_rows(frame: pd.DataFrame, denominators: list[Released],
                     policy: Policy) -> pd.DataFrame:
    out = frame.copy()
    released = {}
    for count_col, pct_col in _AE_COUNTS:
        released[count_col] = _release_column(out, count_col, policy)
        _set_released(out, count_col, released[count_col])
        out[pct_col] = [protect_fraction(r, d, policy)
                        for r, d in zip(released[count_col], denominators, strict=True)]
    any_grade = released["patients_any_grade"]
    onset = [_onset(d, c) for d, c in zip(frame["median_onset_days"], any_grade, strict=True)]
    out["median_onset_days"] = [o[0] for o in onset]
    out["median_onset_months"] = [o[1] for o in onset]
    return out


def _protect_ae_overall(overall: dict, size: int, cohort: Released, policy: Policy) -> dict:
    # Patients without any event = cohort - patients with one: protected as parts of the whole.
    any_grade = protect_parts([overall.get("patients_any_grade") or 0], size, policy).result[0]
    grade3 = protect_count(overall.get("patients_grade3plus") or 0, policy)
    if any_grade.suppressed:
        grade3 = Released(None, policy.mask_display, True)
    onset = _onset(overall.get("median_onset_days"), any_grade)
    return {"patients_any_grade": any_grade.value,
            "pct_any_grade": protect_fraction(any_grade, cohort, policy),
            "patients_grade3plus": grade3.value,
            "pct_grade3plus": protect_fraction(grade3, cohort, policy),
            "median_onset_days": onset[0], "median_onset_months": onset[1],
            "patients_any_grade_display": any_grade.display,
            "patients_grade3plus_display": grade3.display}


def _regimen_sizes(regimen: pd.DataFrame, cohort_size: int, policy: Policy) -> list[Released]:
    """Patients per regimen; as parts of the cohort when they add up to no more than it."""
    if "patients" not in regimen:
        return [Released(None, policy.mask_display, True)] * len(regimen)
    counts = [int(v) for v in regimen["patients"]]
    if sum(counts) <= int(cohort_size):
        return protect_parts(counts, int(cohort_size), policy).result
    return [protect_count(v, policy) for v in counts]


def _protect_ae_table(frame: pd.DataFrame, size: int, cohort: Released,
                      policy: Policy) -> pd.DataFrame:
    """One AE table: over the cohort, or (with a ``patients`` column) over its groups."""
    if frame.empty:
        return frame.copy()  # no rows, nothing to release
    if "patients" in frame.columns:
        sizes = _regimen_sizes(frame, size, policy)
        out = _protect_ae_rows(frame, sizes, policy)
        _set_released(out, "patients", sizes)
        return out
    if "patients_any_grade" in frame.columns:
        return _protect_ae_rows(frame, [cohort] * len(frame), policy)
    raise TypeError(f"no disclosure rule for an AE table with columns {list(frame.columns)}")


def protect_safety(result: Any, policy: Policy) -> Protected[Any]:
    """Protect a ``queries.safety.SafetyResult`` (returns a new one of the same type).

    Every DataFrame field is protected (an unknown table shape is refused, so a new table
    cannot slip through unprotected): patient counts rounded or withheld (``*_display``
    columns added), percentages from released numbers over the released cohort, or for
    tables with a ``patients`` column (regimens, drug classes) over their released group
    sizes; median onset only where the count is shown, rounded to whole days.
    """
    if policy.exact:
        return Protected(result)
    cohort = protect_count(result.cohort_size, policy)
    suppressed, tables = [], {}
    for f in fields(result):
        frame = getattr(result, f.name)
        if not isinstance(frame, pd.DataFrame):
            continue
        tables[f.name] = _protect_ae_table(frame, result.cohort_size, cohort, policy)
        withheld = int(tables[f.name].get("patients_any_grade", pd.Series()).isna().sum())
        if withheld:
            suppressed.append(f"{f.name}: {withheld} rows under threshold")
    protected = replace(
        result, cohort_size=cohort.value,
        overall=_protect_ae_overall(result.overall, result.cohort_size, cohort, policy),
        notes=clean_notes(result.notes, policy), **tables,
    )
    return Protected(protected, suppressed)


# characteristics (Table 1) ------------------------------------------------------------------


def _variable_cells(part: pd.DataFrame, n: int, policy: Policy) -> tuple[_Cells, list[int]]:
    """Cells of one variable's levels (+ unknown remainder), and the 'tested' group if any."""
    from queries.strata import UNTESTED

    values = [int(v) for v in part["n"]]
    remainder = n - sum(values)
    cells_in = values + ([remainder] if remainder > 0 else [])
    groups = [list(range(len(cells_in)))]
    tested = [i for i, level in enumerate(part["level"]) if level != UNTESTED]
    if len(tested) < len(values):
        groups.append(tested)
    return protect_cells(cells_in, groups, policy), tested


def _protect_age(row: dict, n: int, cohort: Released, policy: Policy) -> dict:
    known = protect_parts([int(row["n"] or 0)], n, policy).result[0]
    out = {**row, "n": known.value, "n_display": known.display,
           "pct": protect_fraction(known, cohort, policy)}
    for stat in ("median", "q1", "q3", "mean", "sd"):
        out[stat] = None if known.suppressed else round_estimate(row[stat], 1)
    return out


def _protect_levels(part: pd.DataFrame, n: int, cohort: Released, policy: Policy):
    cells, tested = _variable_cells(part, n, policy)
    tested_total = cells.total(tested) if len(tested) < len(part) else cohort
    rows = []
    for i, row in enumerate(part.to_dict("records")):
        cell = cells.cell(i)
        den = tested_total if i in tested else cohort
        rows.append({**row, "n": cell.value, "n_display": cell.display,
                     "pct": protect_fraction(cell, den, policy)})
    labels = [f"{r['key']} / {r['level']}" for r in part.to_dict("records")] + ["unknown"]
    return rows, cells, tested_total, cells.describe(labels)


def _protect_biomarkers(markers: pd.DataFrame, released: dict, cohort: Released,
                        policy: Policy) -> pd.DataFrame:
    out = []
    for row in markers.to_dict("records"):
        tested, positive = released.get(row["key"], (None, None))
        tested = tested or Released(None, policy.mask_display, True)
        positive = positive or Released(None, policy.mask_display, True)
        out.append({**row, "tested": tested.value, "pct_tested": protect_fraction(
            tested, cohort, policy), "positive": positive.value,
            "pct_positive_of_tested": protect_fraction(positive, tested, policy),
            "tested_display": tested.display, "positive_display": positive.display})
    return pd.DataFrame(out, columns=[*markers.columns, "tested_display", "positive_display"])


def protect_table_one(table: Any, policy: Policy) -> Protected[Any]:
    """Protect a ``queries.characteristics.Table1`` (returns a new one of the same type).

    Each variable's levels (with the unknown remainder and, for biomarkers, the tested
    subtotal) get secondary suppression against the cohort size; percentages are from
    released numbers; age statistics only when >= threshold ages are known (1 decimal).
    """
    if policy.exact:
        return Protected(table)
    _require_known_tables(table, {"rows", "biomarkers"})
    from queries.characteristics import POSITIVE_LEVEL

    n = int(table.n)
    cohort = protect_count(n, policy)
    rows, suppressed, markers = [], [], {}
    for key, part in table.rows.groupby("key", sort=False):
        records = part.to_dict("records")
        if key == "n":
            rows += [{**r, "n": cohort.value, "n_display": cohort.display,
                      "pct": None if cohort.suppressed else r["pct"]} for r in records]
        elif key == "age":
            rows += [_protect_age(r, n, cohort, policy) for r in records]
        else:
            released, cells, tested_total, hidden = _protect_levels(part, n, cohort, policy)
            rows += released
            suppressed += hidden
            positive = [cells.cell(i) for i, r in enumerate(records)
                        if r["level"] == POSITIVE_LEVEL.get(key)]
            markers[key] = (tested_total, positive[0] if positive else None)
    frame = pd.DataFrame(rows, columns=[*table.rows.columns, "n_display"])
    frame["n"] = pd.array(frame["n"].tolist(), dtype="Int64")
    protected = replace(table, n=cohort.value, rows=frame,
                        biomarkers=_protect_biomarkers(table.biomarkers, markers, cohort, policy),
                        notes=clean_notes(table.notes, policy))
    return Protected(protected, [f"table 1 {s}" for s in suppressed])


def protect_comparison(comparison: Any, policy: Policy) -> Protected[Any]:
    """Protect a ``queries.characteristics.Comparison`` of two cohorts.

    Each side's Table 1 is protected on its own; the comparison is then recomputed from the
    two protected tables, so every count, percentage and SMD comes from released numbers and
    the SMD of a variable with a withheld level is withheld.
    """
    if policy.exact:
        return Protected(comparison)
    _require_known_tables(comparison, {"rows", "variables"})
    if comparison.first is None or comparison.second is None:
        raise TypeError("a Comparison without its two Table 1s cannot be protected")
    from queries.characteristics import compare

    first = protect_table_one(comparison.first, policy)
    second = protect_table_one(comparison.second, policy)
    suppressed = [f"cohort A {s}" for s in first.suppressed]
    suppressed += [f"cohort B {s}" for s in second.suppressed]
    return Protected(compare(first.result, second.result), suppressed)


# dispatch -----------------------------------------------------------------------------------

def protect_bundle(bundle: Any, policy: Policy) -> Protected[Any]:
    """Protect every panel of a ``queries.analysis.AnalysisBundle``."""
    suppressed: list[str] = []
    changes: dict[str, Any] = {}
    survival = {}
    for endpoint, result in bundle.survival.items():
        protected = protect_survival(result, policy)
        survival[endpoint] = protected.result
        suppressed += protected.suppressed
    changes["survival"] = survival
    for name, adapter in (("response", protect_response), ("safety", protect_safety),
                          ("characteristics", protect_table_one)):
        if getattr(bundle, name) is not None:
            protected = adapter(getattr(bundle, name), policy)
            changes[name] = protected.result
            suppressed += protected.suppressed
    if not policy.exact:
        changes["n"] = protect_count(bundle.n, policy).value
    return Protected(replace(bundle, **changes), suppressed)


_ADAPTERS = {
    "Feasibility": protect_feasibility,
    "Attrition": protect_attrition_result,
    "SurvivalResult": protect_survival,
    "ResponseResult": protect_response,
    "SafetyResult": protect_safety,
    "Table1": protect_table_one,
    "Comparison": protect_comparison,
    "AnalysisBundle": protect_bundle,
}


def protect_result(result: Any, policy: Policy) -> Protected[Any]:
    """Protect any analysis result by its type name (see ``_ADAPTERS``); unknown types fail."""
    name = type(result).__name__
    if name not in _ADAPTERS:
        raise TypeError(f"no disclosure adapter for {name}")
    return _ADAPTERS[name](result, policy)


__all__ = [
    "DEFAULT_POLICY_CONFIG", "Policy", "Protected", "ProtectedAttritionStep",
    "ProtectedFeasibility", "ProtectedTable", "Released", "ReleasedStep", "attrition_frame",
    "clean_notes", "percent_of", "policy_for", "policy_from_config",
    "protect_at_risk", "protect_attrition", "protect_attrition_result", "protect_comparison",
    "protect_count", "protect_feasibility", "protect_fraction", "protect_parts", "protect_percent",
    "protect_response", "protect_result", "protect_safety", "protect_survival",
    "protect_survival_curve", "protect_table", "protect_table_one", "round_estimate",
    "round_to", "secondary_suppression",
]
