"""The advisory summary's sentence about what patients reported (PRO-CTCAE): the share with a
moderate or worse symptom in the first 3 months, from released (rounded) counts only, hidden
when a group is under the advisory threshold, written in English and in Finnish."""

from __future__ import annotations

import pytest

from queries.cohort.importing import load_definition
from queries.cohort.materialize import materialize_definition
from queries.disclosure.policy import policy_for
from queries.disclosure.summary import CohortSummary, PlainSummary, protect_summary, summarize

RULES = policy_for("advisory")


def _summary(symptoms: dict) -> CohortSummary:
    return CohortSummary(patients=213, evaluable=180, responders=81, os_patients=210,
                         os_events=120, median_os_months=14.2, max_followup_months=40.0,
                         symptoms=symptoms)


def test_symptom_sentence_uses_released_counts_only():
    plain = protect_summary(_summary({"Fatigue severity": (213, 64)}), RULES)
    # 213 answered -> 210, 64 reported -> 60; 60 / 210 = 29 % -> about 3 in 10
    assert (plain.symptom, plain.symptom_per_10, plain.symptom_answered_about) == (
        "Fatigue severity", 3, 210)
    assert plain.sentences[-1] == (
        "About 3 in 10 of the about 210 people who filled in the symptom questionnaire "
        "reported moderate or worse tiredness (fatigue) in the first 3 months.")
    assert "213" not in plain.sentences[-1] and "64" not in plain.sentences[-1]


def test_symptom_too_rare_or_too_common_to_release_falls_back_to_the_next_or_is_hidden():
    rare_fatigue = {"Fatigue severity": (213, 12), "Shortness of breath severity": (150, 45)}
    plain = protect_summary(_summary(rare_fatigue), RULES)
    assert plain.symptom == "Shortness of breath severity" and plain.symptom_per_10 == 3
    assert "shortness of breath" in plain.sentences[-1]
    # 200 of 213 reported: the 13 others are under 20, so nothing is said
    nearly_all = protect_summary(_summary({"Fatigue severity": (213, 200)}), RULES)
    assert nearly_all.symptom is None and "symptoms: groups under the threshold" in \
        nearly_all.hidden
    assert not any("questionnaire" in s for s in nearly_all.sentences)


def test_no_questionnaires_means_no_sentence_and_nothing_hidden():
    plain = protect_summary(_summary({}), RULES)
    assert plain.symptom is None and plain.hidden == () and len(plain.sentences) == 3


def test_a_share_under_one_in_ten_says_fewer_than_one_in_ten():
    plain = protect_summary(_summary({"Fatigue severity": (900, 30)}), RULES)
    assert plain.symptom_per_10 == 0
    assert plain.sentences[-1].startswith("Fewer than 1 in 10 of the about 900 people")


def test_symptom_sentence_is_plain_finnish_from_the_same_numbers():
    plain = protect_summary(_summary({"Fatigue severity": (213, 64)}), RULES)
    assert plain.sentences_in("fi")[-1] == (
        "Oirekyselyyn vastasi noin 210 ihmistä. Heistä noin 3 kymmenestä kertoi "
        "kohtalaisesta tai vaikeammasta väsymyksestä kolmen ensimmäisen kuukauden aikana.")


def test_published_summary_keeps_its_symptom_and_older_publications_still_load():
    plain = protect_summary(_summary({"Fatigue severity": (213, 64)}), RULES)
    assert PlainSummary.from_dict(plain.to_dict()) == plain
    older = {k: v for k, v in plain.to_dict().items() if not k.startswith("symptom")}
    assert PlainSummary.from_dict(older).sentences_in("en")[-1].startswith("Half of")


@pytest.fixture(scope="module")
def everyone(sample):
    return materialize_definition(sample.db, load_definition(
        {"schema_version": 1, "metadata": {"name": "all"}}))


def test_summarize_counts_moderate_or_worse_answers_of_the_first_twelve_weeks(sample, everyone):
    exact = summarize(everyone).symptoms
    answered, worse = sample.db.cursor().execute(
        "WITH worst AS (SELECT o.patient_id, max(o.score) AS worst "  # noqa: S608 - test SQL
        f"FROM {everyone.table} c JOIN patient_reported_outcomes o USING (patient_id) "
        "WHERE o.item = 'Fatigue severity' AND o.score IS NOT NULL "
        "AND o.assessment_date - c.index_date BETWEEN 1 AND 84 GROUP BY 1) "
        "SELECT count(*), count(*) FILTER (WHERE round(worst) >= 2) FROM worst").fetchone()
    assert exact["Fatigue severity"] == (answered, worse) and answered > 0


def test_summary_symptoms_are_severity_items_with_a_moderate_level():
    from queries.disclosure.summary import MODERATE, SUMMARY_SYMPTOMS
    from queries.snapshot.schema import PRO_CTCAE_ITEMS, pro_ctcae_levels

    for item in SUMMARY_SYMPTOMS:
        assert item in PRO_CTCAE_ITEMS
        assert pro_ctcae_levels(item)[MODERATE] == "moderate", item
    assert "Rash presence" not in SUMMARY_SYMPTOMS  # yes/no: no "moderate or worse"
