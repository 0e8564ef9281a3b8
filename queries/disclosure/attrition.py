"""Attrition under disclosure control: steps that remove too few patients are merged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from queries.disclosure.policy import NOT_SHOWN, Policy, Protected, Released, _fmt, protect_count


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
    assert last.value is not None and remaining.value is not None  # both released above
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


def protect_attrition_result(attrition: Any, policy: Policy) -> Protected[list[Any]]:
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

