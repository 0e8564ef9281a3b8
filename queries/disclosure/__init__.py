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
- solving a Kaplan-Meier curve (its steps, estimate and CI) for n and d: every number about a
  curve is computed from released counts only (rounded cumulative events and censorings on a
  time grid, at risk derived from the released size; OpenSAFELY's method), and the curve
  stops where fewer than the threshold remain at risk;
- averaging repeated answers: there is no noise; rounding is deterministic, so asking again
  returns exactly the same numbers.

Adapters for the analyses' result types: ``protect_feasibility``, ``protect_attrition_result``,
``protect_survival``, ``protect_response``, ``protect_safety``, ``protect_table_one``; and one
entry point ``protect_result(result, policy)`` that dispatches on the type
(``functools.singledispatch``). Modules: ``policy`` (roles, released counts), ``tables``
(secondary suppression), ``attrition``, ``curves``, ``adapters`` (one per result type) and
``summary`` (the advisory board's plain-language summaries).
"""

from queries.disclosure import release
from queries.disclosure.adapters import (
    ProtectedFeasibility,
    clean_notes,
    protect_bundle,
    protect_comparison,
    protect_feasibility,
    protect_response,
    protect_result,
    protect_safety,
    protect_survival,
    protect_table_one,
)
from queries.disclosure.attrition import (
    ProtectedAttritionStep,
    ReleasedStep,
    attrition_frame,
    protect_attrition,
    protect_attrition_result,
)
from queries.disclosure.comparison import protect_study
from queries.disclosure.curves import ReleasedCounts, protect_survival_curve, released_counts
from queries.disclosure.policy import (
    DEFAULT_POLICY_CONFIG,
    NOT_SHOWN,
    TABLE_NOTE,
    Policy,
    Protected,
    Released,
    percent_of,
    policy_for,
    policy_from_config,
    protect_count,
    protect_fraction,
    protect_percent,
    round_estimate,
    round_to,
)
from queries.disclosure.tables import (
    ProtectedTable,
    protect_parts,
    protect_table,
    secondary_suppression,
)

__all__ = [
    "DEFAULT_POLICY_CONFIG", "NOT_SHOWN", "ReleasedCounts", "release", "released_counts", "TABLE_NOTE", "Policy", "Protected",
    "ProtectedAttritionStep", "ProtectedFeasibility", "ProtectedTable", "Released",
    "ReleasedStep", "attrition_frame", "clean_notes", "percent_of", "policy_for",
    "policy_from_config", "protect_attrition", "protect_attrition_result",
    "protect_bundle", "protect_comparison", "protect_count", "protect_feasibility",
    "protect_fraction", "protect_parts", "protect_percent", "protect_response", "protect_result",
    "protect_safety", "protect_study", "protect_survival", "protect_survival_curve", "protect_table",
    "protect_table_one", "round_estimate", "round_to", "secondary_suppression",
]
