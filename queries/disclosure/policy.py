"""Disclosure policy per role, released counts and percentages.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Generic, TypeVar

import pandas as pd

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

    @property
    def count(self) -> int | None:
        """The released value of a count (None when withheld)."""
        return None if self.value is None else int(self.value)


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
    if pct.value is None or num.value is None or den.value is None:
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


