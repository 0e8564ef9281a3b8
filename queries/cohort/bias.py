"""Look-ahead (immortal time) guard: which enabled rules look at events after the index date.

A rule that selects patients by something after index (a grade >= 3 irAE within 180 days, a
biomarker "at any time") admits only patients who lived long enough to have it, so their
survival from index is biased upwards. The remedy offered is a landmark analysis: time counted
from day L, among patients alive and in follow-up at L, with L at least the last day the rules
look at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from queries.cohort.model import (
    AllGroup,
    AnyGroup,
    AttributeCriterion,
    Definition,
    EventCriterion,
    NotGroup,
)

OPEN_ENDED_LANDMARK_DAYS = 180  # suggested when a rule looks after index without an end


@dataclass(frozen=True)
class LookAhead:
    """An enabled rule that uses data after index; ``last_day`` None: no end (any time)."""

    rule: str
    last_day: int | None

    def text(self) -> str:
        when = ("at any time after index" if self.last_day is None
                else f"up to day {self.last_day} after index")
        return f"rule '{self.rule}' uses events {when}"


def _last_day(node: Any) -> tuple[bool, int | None]:
    """(looks after index, the last day it looks at: None = open-ended) for a criteria node."""
    if isinstance(node, AllGroup | AnyGroup):
        children = [_last_day(child) for child in (node.all if isinstance(node, AllGroup)
                                                   else node.any)]
        return _combine(children)
    if isinstance(node, NotGroup):
        return _last_day(node.not_)
    if isinstance(node, EventCriterion | AttributeCriterion):
        window = node.window
        if window is None:
            # an event at any time looks after index; an attribute without a window is a
            # value at index (or fixed, such as sex)
            return (True, None) if isinstance(node, EventCriterion) else (False, 0)
        if window.end_days is None:
            return True, None
        return window.end_days > 0, window.end_days
    return False, 0


def _combine(children: list[tuple[bool, int | None]]) -> tuple[bool, int | None]:
    after = [last for looks, last in children if looks]
    if not after:
        return False, 0
    return True, None if any(last is None for last in after) else max(
        last for last in after if last is not None)


def look_ahead_rules(definition: Definition) -> list[LookAhead]:
    """The enabled rules that use data after index, in rule order."""
    found = []
    for rule in definition.inclusion_rules:
        if rule.enabled:
            looks, last = _last_day(rule.criteria)
            if looks:
                found.append(LookAhead(rule.name, last))
    return found


def suggested_landmark_days(found: list[LookAhead]) -> int | None:
    """The landmark that covers every look-ahead rule (None when there is none)."""
    if not found:
        return None
    days = [f.last_day if f.last_day is not None else OPEN_ENDED_LANDMARK_DAYS for f in found]
    return max(days)


def look_ahead_warning(found: list[LookAhead]) -> str | None:
    """The warning in words, with the landmark that would remove the bias."""
    if not found:
        return None
    landmark = suggested_landmark_days(found)
    return ("Immortal-time bias: " + "; ".join(f.text() for f in found) + ". Patients had to "
            "survive to have these events, so survival from index looks better than it is. "
            f"A landmark analysis at day {landmark} (patients alive and in follow-up then, "
            "time counted from that day) removes this; make the rules look only up to that "
            "day.")
