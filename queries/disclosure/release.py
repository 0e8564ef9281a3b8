"""What a role receives: the one path from an exact result to what is shown or printed.

The app's callbacks (components/analysis_page.py, compare and feasibility pages) and the
command line (``iocohort analyze --role``) both call ``release_result`` and
``released_size``, so protected output can be reviewed and tested without a browser.

Vocabulary used everywhere a count is withheld (``Policy.small_display`` and
``Policy.mask_display``):

- "< 10" (advisory "< 20"): a count on its own that is between 1 and the threshold minus 1;
- "suppressed": a table cell hidden either because it is small or to stop a small cell being
  worked out from totals (secondary suppression); the two are not told apart, so that the
  hidden cells of a table cannot be ranked;
- "—": a number not computed for this role (for example a percentage over a withheld count).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from queries.disclosure.adapters import protect_result
from queries.disclosure.policy import Policy, Protected, Released, policy_for, protect_count
from queries.i18n import N_, Translator, translator

NOTICE = N_(
    "Protected view for the {role} role: counts under {k} are shown as '{small}'; other counts "
    "are rounded to the nearest {r}; table cells hidden so that a small count cannot be worked "
    "out from totals read '{mask}'; percentages, confidence intervals and tests are computed "
    "from the rounded counts; survival curves are computed from rounded cumulative counts on "
    "a {grid}-day grid, each drawn step stands for at least {step} events, and a curve ends "
    "where fewer than {k} patients remain at risk."
)


def notice(policy: Policy, language: Translator | None = None) -> str:
    """A short statement of what is rounded and hidden for a protected role ('' if exact), in
    ``language`` (English by default)."""
    if policy.exact:
        return ""
    return (language or translator()).gettext(
        NOTICE, role=policy.role, k=policy.min_count, small=policy.small_display,
        r=policy.rounding, mask=policy.mask_display, grid=policy.survival_time_grid_days,
        step=policy.survival_min_step)


def release_result(result: object, role: str) -> Protected[Any]:
    """``result`` as ``role`` may see it, with what was withheld (for the audit log).

    Raises TypeError when the result type has no disclosure adapter (fail closed).
    """
    policy = policy_for(role)
    if policy.exact:
        return Protected(result)
    return protect_result(result, policy)


def released_size(n: int, role: str) -> Released:
    """The one released size of a cohort of ``n`` patients, for the header and every table."""
    return protect_count(n, policy_for(role))


def released_levels(counts: Sequence[tuple[str, int]], role: str) -> list[str]:
    """The levels (of ``(level, patients)`` pairs) that ``role`` may be offered: those whose
    count is released, so a level's mere presence never reveals a small group."""
    policy = policy_for(role)
    return [level for level, n in counts if protect_count(n, policy).value is not None]
