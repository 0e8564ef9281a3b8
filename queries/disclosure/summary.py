"""Plain-language summary of a cohort for the patient advisory board.

Two steps, kept apart so that the exact numbers never leave the server:

1. ``summarize(cohort)`` reads the analyses engine (Kaplan-Meier overall survival and best
   overall response) and returns the exact ``CohortSummary``.
2. ``protect_summary(summary, policy)`` applies the advisory disclosure policy
   (``queries.disclosure``: groups under 20 hidden, counts rounded to 10, whole percent
   computed from the released, rounded numbers) and
   returns a ``PlainSummary`` holding only released numbers and sentences such as
   "About 45 in 100 people in this group responded to treatment." or, from the patients'
   own PRO-CTCAE answers, "About 3 in 10 ... reported moderate or worse tiredness (fatigue)
   in the first 3 months."

The sentences are written for each language from the released numbers
(``PlainSummary.sentences_in(locale)``): Finnish readers get plain Finnish, not English
translated word by word. ``sentences`` keeps the English text stored with a publication.

Only the protected summary is stored when a clinician publishes (``access.publications``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import pandas as pd

from queries import disclosure
from queries.analyses import response, survival
from queries.analyses.endpoints import Endpoint
from queries.analyses.pro import ProOptions, patient_reported
from queries.cohort.kept_tables import Cohort
from queries.disclosure.policy import Policy, percent_of, protect_count
from queries.i18n import N_, translator
from queries.snapshot.schema import PRO_CTCAE_LEVELS

# PRO-CTCAE severity items a summary may speak of, in order of preference (fatigue is the
# commonest symptom on immunotherapy), each as the phrase the sentence needs in each language.
SUMMARY_SYMPTOMS: dict[str, str] = {
    "Fatigue severity": N_("moderate or worse tiredness (fatigue)"),
    "Shortness of breath severity": N_("moderate or worse shortness of breath"),
    "Decreased appetite severity": N_("a moderate or worse loss of appetite"),
    "Itching severity": N_("moderate or worse itching"),
}
# of the 0-4 levels none .. very severe: SUMMARY_SYMPTOMS holds severity items only (a yes/no
# item such as rash presence has no "moderate or worse")
MODERATE = PRO_CTCAE_LEVELS.index("moderate")
SUMMARY_WEEKS = 12  # "the first 3 months"


@dataclass(frozen=True)
class CohortSummary:
    """Exact numbers behind a plain summary: server-side only, never sent to a browser."""

    patients: int
    evaluable: int  # patients with a response assessment of the index line
    responders: int  # complete or partial response
    os_patients: int  # patients with a usable follow-up time
    os_events: int  # deaths
    median_os_months: float | None  # None when not reached
    max_followup_months: float | None
    # PRO-CTCAE severity item -> (patients who answered it in the first 12 weeks after index,
    # of them with a worst answer of moderate or worse)
    symptoms: dict[str, tuple[int, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class PlainSummary:
    """What the advisory board may see: released numbers and the sentences built from them."""

    group_size: int | None  # rounded; None when the group is too small to describe
    responded_per_100: int | None
    evaluated_about: int | None
    median_os_months: int | None
    survival_reached: bool  # False: more than half were alive at the last follow-up
    sentences: tuple[str, ...]  # in English
    hidden: tuple[str, ...] = field(default=())  # what was withheld, for the audit log
    symptom: str | None = None  # the PRO-CTCAE item the symptom sentence speaks of
    symptom_per_10: int | None = None  # of 10 who answered, reported moderate or worse (0: < 1)
    symptom_answered_about: int | None = None

    @property
    def survival_known(self) -> bool:
        """Whether survival may be described at all (not withheld for small numbers)."""
        return not any(h.startswith("survival") for h in self.hidden)

    def sentences_in(self, locale: str) -> tuple[str, ...]:
        """The plain-language sentences in ``locale`` ("en" or "fi")."""
        if self.group_size is None:
            return (_too_small(locale),)
        return _sentences(self.group_size, self.responded_per_100, self.evaluated_about,
                          self.median_os_months, self.survival_reached, self.survival_known,
                          locale, self._symptom())

    def _symptom(self) -> tuple[str, int, int] | None:
        if self.symptom is None or self.symptom_per_10 is None \
                or self.symptom_answered_about is None:
            return None
        return self.symptom, self.symptom_per_10, self.symptom_answered_about

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["sentences"] = list(self.sentences)
        data["hidden"] = list(self.hidden)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlainSummary:
        return cls(
            group_size=data.get("group_size"),
            responded_per_100=data.get("responded_per_100"),
            evaluated_about=data.get("evaluated_about"),
            median_os_months=data.get("median_os_months"),
            survival_reached=bool(data.get("survival_reached")),
            sentences=tuple(data.get("sentences") or ()),
            hidden=tuple(data.get("hidden") or ()),
            symptom=data.get("symptom"),
            symptom_per_10=data.get("symptom_per_10"),
            symptom_answered_about=data.get("symptom_answered_about"),
        )


# --- exact --------------------------------------------------------------------------------


def _survival_numbers(cohort: Cohort) -> tuple[int, int, float | None, float | None]:
    result = survival.kaplan_meier(cohort, Endpoint.OS)
    if result.is_empty or result.summary.empty:
        return 0, 0, None, None
    row = result.summary.iloc[0]
    median = row["median_months"]
    median = None if median is None or (isinstance(median, float) and math.isnan(median)) \
        else float(median)
    longest = result.curve["time_months"].max() if len(result.curve) else None
    return int(row["n"]), int(row["events"]), median, \
        (float(longest) if longest is not None else None)


def _response_numbers(cohort: Cohort) -> tuple[int, int]:
    # "of the people whose tumour was measured": evaluable patients, every CR/PR counted
    result = response.best_overall_response(cohort, denominator="evaluable",
                                            response="unconfirmed")
    if result.rates.empty:
        return 0, 0
    rates = result.rates
    return int(rates["denominator"].sum()), int(rates["responders"].sum())


def _symptom_numbers(cohort: Cohort) -> dict[str, tuple[int, int]]:
    """Per PRO-CTCAE severity item: patients who answered it in weeks 1-12 after index, and
    those whose worst answer was moderate or worse."""
    severity = patient_reported(cohort, ProOptions(ctcae_weeks=SUMMARY_WEEKS)).severity
    out: dict[str, tuple[int, int]] = {}
    for item, rows in severity.groupby("item"):
        if item in SUMMARY_SYMPTOMS:
            worse = int(rows.loc[rows["level"] >= MODERATE, "patients"].sum())
            out[str(item)] = (int(rows["denominator"].iloc[0]), worse)
    return out


def summarize(cohort: Cohort) -> CohortSummary:
    """Exact size, response and overall survival of the cohort, from the analyses engine."""
    os_patients, os_events, median, longest = _survival_numbers(cohort)
    evaluable, responders = _response_numbers(cohort) if cohort.size else (0, 0)
    return CohortSummary(
        patients=int(cohort.size),
        evaluable=evaluable,
        responders=responders,
        os_patients=os_patients,
        os_events=os_events,
        median_os_months=median,
        max_followup_months=longest,
        symptoms=_symptom_numbers(cohort) if cohort.size else {},
    )


# --- protected ----------------------------------------------------------------------------


def _released(value: int, policy: Policy) -> int | None:
    """The rounded count, or None when it is withheld (under the threshold, or zero)."""
    released = protect_count(value, policy).value
    return None if released is None else int(released)


def _response_part(s: CohortSummary, policy: Policy) -> tuple[int | None, int | None, str]:
    """(per 100, evaluated about, "") — or Nones and the reason it is hidden."""
    evaluated = protect_count(s.evaluable, policy)
    responders = protect_count(s.responders, policy)
    # Non-responders are checked as well: "100 in 100" would reveal that none failed.
    others = protect_count(s.evaluable - s.responders, policy)
    per_100 = percent_of(responders, evaluated, policy)
    if others.suppressed or per_100.value is None or evaluated.value is None:
        return None, None, "response: a group under the threshold"
    return int(round(per_100.value)), int(evaluated.value), ""


def _survival_part(s: CohortSummary, policy: Policy) -> tuple[int | None, bool, str]:
    if _released(s.os_patients, policy) is None:
        return None, False, "survival: too few people with follow-up"
    if s.median_os_months is None:
        return None, False, ""
    if s.os_events < policy.min_count:
        return None, False, "survival: too few deaths to give a median"
    return max(1, round(s.median_os_months)), True, ""


def _symptom_part(s: CohortSummary, policy: Policy) -> tuple[tuple[str, int, int] | None, str]:
    """The first symptom (in SUMMARY_SYMPTOMS order) whose numbers can all be released:
    (item, per 10 from the released counts, answered about), or None and why."""
    if not s.symptoms:
        return None, ""
    for item in SUMMARY_SYMPTOMS:
        if item not in s.symptoms:
            continue
        answered, worse = s.symptoms[item]
        released_answered = protect_count(answered, policy)
        released_worse = protect_count(worse, policy)
        # the others are checked as well: "10 in 10" would reveal that nobody else answered
        others = protect_count(answered - worse, policy)
        share = percent_of(released_worse, released_answered, policy)
        if others.suppressed or share.value is None or released_answered.value is None:
            continue
        return (item, int(round(float(share.value) / 10)), int(released_answered.value)), ""
    return None, "symptoms: groups under the threshold"


def _too_small(locale: str) -> str:
    return translator(locale).gettext(
        "This group is too small to describe without risking that someone in it could be "
        "recognised.")


def _symptom_sentence(symptom: tuple[str, int, int], locale: str) -> str:
    t = translator(locale)
    item, per_10, answered = symptom
    what = t.gettext(SUMMARY_SYMPTOMS[item])
    if per_10 == 0:
        return t.gettext(
            "Fewer than 1 in 10 of the about {answered} people who filled in the symptom "
            "questionnaire reported {symptom} in the first 3 months.",
            answered=t.integer(answered), symptom=what)
    return t.gettext(
        "About {per_10} in 10 of the about {answered} people who filled in the symptom "
        "questionnaire reported {symptom} in the first 3 months.",
        per_10=per_10, answered=t.integer(answered), symptom=what)


def _sentences(size: int, per_100: int | None, evaluated: int | None, median: int | None,
               reached: bool, survival_known: bool, locale: str = "en",
               symptom: tuple[str, int, int] | None = None) -> tuple[str, ...]:
    t = translator(locale)
    out = [t.gettext("This group has about {size} people.", size=t.integer(size))]
    if per_100 is not None and evaluated is not None:
        out.append(t.gettext(
            "About {per_100} in 100 people in this group responded to treatment (their "
            "tumours shrank), counting the about {evaluated} people whose tumours were "
            "measured.", per_100=per_100, evaluated=t.integer(evaluated)))
    if median is not None:
        out.append(t.ngettext("Half of the people were alive after {n} month.",
                              "Half of the people were alive after {n} months.", median))
    elif survival_known and not reached:
        out.append(t.gettext(
            "More than half of the people were still alive at their last check-up."))
    if symptom is not None:
        out.append(_symptom_sentence(symptom, locale))
    return tuple(out)


def protect_summary(summary: CohortSummary, policy: Policy | None = None) -> PlainSummary:
    """Apply the advisory policy: only released numbers, and sentences built from them."""
    policy = policy or disclosure.policy_for("advisory")
    size = _released(summary.patients, policy)
    if size is None:
        return PlainSummary(None, None, None, None, False, (_too_small("en"),),
                            ("group: under the threshold",))
    per_100, evaluated, response_hidden = _response_part(summary, policy)
    median, reached, survival_hidden = _survival_part(summary, policy)
    symptom, symptom_hidden = _symptom_part(summary, policy)
    survival_known = not survival_hidden
    hidden = tuple(h for h in (response_hidden, survival_hidden, symptom_hidden) if h)
    return PlainSummary(
        group_size=size,
        responded_per_100=per_100,
        evaluated_about=evaluated,
        median_os_months=median,
        survival_reached=reached,
        sentences=_sentences(size, per_100, evaluated, median, reached, survival_known,
                             symptom=symptom),
        hidden=hidden,
        symptom=symptom[0] if symptom else None,
        symptom_per_10=symptom[1] if symptom else None,
        symptom_answered_about=symptom[2] if symptom else None,
    )


def released_median_os_months(cohort: Cohort, policy: Policy) -> float | None:
    """Median overall survival read off the curve the policy releases (computed from rounded
    counts only, queries/disclosure/curves.py); None when not reached or not drawn."""
    result = survival.kaplan_meier(cohort, Endpoint.OS)
    if result.is_empty:
        return None
    summary = disclosure.protect_survival(result, policy).result.summary
    if summary.empty:
        return None
    median = summary["median_months"].iloc[0]
    return None if median is None or pd.isna(median) else float(median)


def plain_summary(cohort: Cohort, policy: Policy | None = None) -> PlainSummary:
    """The protected plain-language summary of a cohort (what gets published); its median
    survival is that of the protected curve, not the exact one rounded."""
    policy = policy or disclosure.policy_for("advisory")
    exact = summarize(cohort)
    released = replace(exact, median_os_months=released_median_os_months(cohort, policy))
    return protect_summary(released, policy)
