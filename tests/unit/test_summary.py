"""Plain-language summaries: exact numbers from the analyses engine, advisory protection,
and the publications store that advisory users read."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from access import publications
from queries.cohort.kept_tables import materialize_frame
from queries.disclosure.policy import policy_for
from queries.disclosure.summary import (
    CohortSummary,
    PlainSummary,
    plain_summary,
    protect_summary,
    summarize,
)
from queries.snapshot.database import SnapshotDatabase, build_database
from queries.snapshot.files import write_snapshot
from queries.snapshot.schema import DAYS_PER_MONTH

RULES = policy_for("advisory")
INDEX = date(2022, 1, 1)


def _summary(**changes) -> CohortSummary:
    base = dict(patients=213, evaluable=180, responders=81, os_patients=210, os_events=120,
                median_os_months=14.2, max_followup_months=40.0)
    base.update(changes)
    return CohortSummary(**base)


# --- protection (hand-worked) -------------------------------------------------------------


def test_advisory_policy_is_the_one_of_design_md():
    assert (RULES.min_count, RULES.rounding, RULES.percent_decimals) == (20, 10, 0)


def test_protected_summary_releases_only_rounded_counts_and_whole_percent():
    plain = protect_summary(_summary(), RULES)
    assert plain.group_size == 210
    assert plain.evaluated_about == 180
    # 81 responders -> 80 released; 80 / 180 -> 44 per 100 (from released numbers only)
    assert plain.responded_per_100 == 44
    assert plain.median_os_months == 14 and plain.survival_reached
    text = " ".join(plain.sentences)
    assert "about 210 people" in text
    assert "About 44 in 100 people in this group responded" in text
    assert "Half of the people were alive after 14 months." in text
    assert "213" not in text and "81" not in text and "14.2" not in text
    assert plain.hidden == ()


def test_group_under_twenty_is_hidden_entirely():
    plain = protect_summary(_summary(patients=19, evaluable=19, responders=10, os_patients=19),
                            RULES)
    assert plain.group_size is None and plain.responded_per_100 is None
    assert plain.median_os_months is None
    assert "too small" in plain.sentences[0]
    assert not any(ch.isdigit() for ch in " ".join(plain.sentences))


@pytest.mark.parametrize("responders", [0, 5, 19, 161, 175, 180])
def test_response_share_hidden_when_responders_or_non_responders_under_twenty(responders):
    plain = protect_summary(_summary(responders=responders), RULES)
    assert plain.responded_per_100 is None
    assert any(h.startswith("response") for h in plain.hidden)
    assert "responded" not in " ".join(plain.sentences)


def test_median_hidden_with_few_deaths_and_said_plainly_when_not_reached():
    few = protect_summary(_summary(os_events=12, median_os_months=30.0), RULES)
    assert few.median_os_months is None and "survival" in few.hidden[0]
    not_reached = protect_summary(_summary(median_os_months=None, os_events=40), RULES)
    assert not_reached.median_os_months is None
    assert any("still alive" in s for s in not_reached.sentences)


def test_plain_summary_round_trips_through_a_dict():
    plain = protect_summary(_summary(), RULES)
    assert PlainSummary.from_dict(plain.to_dict()) == plain


# --- exact numbers from the analyses engine ----------------------------------------------


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> SnapshotDatabase:
    """80 patients with planted responses and survival times (seeded)."""
    rng = np.random.default_rng(2026)
    n = 80
    ids = [f"S{i:03d}" for i in range(n)]
    days = rng.integers(30, 1500, size=n)
    dead = rng.random(n) < 0.7
    end = [INDEX + timedelta(days=int(d)) for d in days]
    patients = pd.DataFrame({
        "patient_id": ids, "site": ["HUS"] * n, "sex": ["F"] * n,
        "birth_year": [1960] * n,
        "death_date": [e if d else None for e, d in zip(end, dead, strict=True)],
        "last_followup_date": end, "smoking_status": [None] * n,
    })
    # Best responses of line 1: 8 CR, 30 PR, 22 SD, 12 PD; the last 8 patients are not measured.
    bor = ["CR"] * 8 + ["PR"] * 30 + ["SD"] * 22 + ["PD"] * 12
    assessments = pd.DataFrame({
        "patient_id": ids[:72] + ids[:72],
        "line_number": [1] * 144,
        "assessment_date": [INDEX + timedelta(days=20)] * 72 + [INDEX + timedelta(days=25)] * 72,
        # a worse first assessment must not hide the best one
        "response": ["SD" if b in ("CR", "PR") else b for b in bor] + bor,
    })
    out = tmp_path_factory.mktemp("snap")
    manifest = write_snapshot({"patients": patients, "tumor_assessments": assessments}, out,
                              "summary-test", "unit test")
    database = SnapshotDatabase("summary-test", build_database(out, manifest,
                                                               tmp_path_factory.mktemp("c")))
    database.truth = {"days": days, "dead": dead}
    yield database
    database.close()


@pytest.fixture(scope="module")
def cohort(db):
    frame = pd.DataFrame({"patient_id": [f"S{i:03d}" for i in range(80)],
                          "index_date": [INDEX] * 80, "index_line": [1] * 80})
    return materialize_frame(db, "summary_all", frame)


def test_summarize_counts_responders_among_measured_patients(cohort):
    exact = summarize(cohort)
    assert exact.patients == 80
    assert exact.evaluable == 72
    assert exact.responders == 38


def test_summarize_median_equals_a_per_patient_lifelines_fit(db, cohort):
    exact = summarize(cohort)
    kmf = KaplanMeierFitter().fit(db.truth["days"], db.truth["dead"])
    assert exact.os_patients == 80
    assert exact.os_events == int(db.truth["dead"].sum())
    assert exact.median_os_months == pytest.approx(kmf.median_survival_time_ / DAYS_PER_MONTH)


def test_plain_summary_of_a_cohort_releases_rounded_numbers(cohort):
    plain = plain_summary(cohort, RULES)
    assert plain.group_size == 80
    assert plain.evaluated_about == 70
    assert plain.responded_per_100 == round(100 * 40 / 70)
    assert plain.median_os_months is not None


def test_plain_summary_of_a_small_cohort_says_nothing_numeric(db):
    frame = pd.DataFrame({"patient_id": [f"S{i:03d}" for i in range(12)],
                          "index_date": [INDEX] * 12, "index_line": [1] * 12})
    plain = plain_summary(materialize_frame(db, "summary_small", frame), RULES)
    assert plain.group_size is None
    assert not any(ch.isdigit() for ch in " ".join(plain.sentences))


# --- publications store ------------------------------------------------------------------


def test_publish_list_and_unpublish_keep_only_the_protected_summary(tmp_path):
    path = tmp_path / "app.sqlite"
    plain = protect_summary(_summary(), RULES)
    pub = publications.publish(path, title="  NSCLC,  PD-L1 high ", summary=plain.to_dict(),
                               definition_hash="abc", snapshot_id="snap-1",
                               published_by="clinician", saved_cohort_id="xyz")
    assert pub.title == "NSCLC, PD-L1 high"
    listed = publications.list_publications(path)
    assert [p.id for p in listed] == [pub.id]
    assert PlainSummary.from_dict(listed[0].summary) == plain
    assert "213" not in str(listed[0].summary)
    with pytest.raises(publications.NotThePublisher):
        publications.unpublish(path, pub.id, by="another-clinician")
    assert [p.id for p in publications.list_publications(path)] == [pub.id]
    publications.unpublish(path, pub.id, by="clinician")
    assert publications.list_publications(path) == []
    with pytest.raises(publications.PublicationNotFound):
        publications.unpublish(path, pub.id, by="clinician")


def test_iocohort_summaries_lists_and_withdraws_any_summary(tmp_path, capsys):
    import cli

    path = tmp_path / "app.sqlite"
    pub = publications.publish(path, title="Group A", summary={}, definition_hash="abc",
                               snapshot_id="snap-1", published_by="clinician")
    assert cli.main(["summaries", "--store", str(path), "list"]) == 0
    assert "Group A" in capsys.readouterr().out
    assert cli.main(["summaries", "--store", str(path), "unpublish", str(pub.id)]) == 0
    assert publications.list_publications(path) == []
    assert cli.main(["summaries", "--store", str(path), "unpublish", str(pub.id)]) == 1
    assert "no published summary" in capsys.readouterr().err


def test_publish_needs_a_title(tmp_path):
    with pytest.raises(ValueError):
        publications.publish(tmp_path / "a.sqlite", title="   ", summary={}, definition_hash="h",
                             snapshot_id="s", published_by="c")


def test_summary_is_written_in_finnish_from_the_same_released_numbers():
    plain = protect_summary(_summary(patients=1234, evaluable=180), RULES)
    finnish = plain.sentences_in("fi")
    assert finnish[0] == "Ryhmässä on noin 1\u00a0230 ihmistä."
    assert "Noin 44 ihmisellä sadasta" in finnish[1] and "noin 180 ihmisestä" in finnish[1]
    assert finnish[2] == "Puolet ihmisistä oli elossa vielä 14 kuukauden kuluttua."
    assert plain.sentences_in("en") == plain.sentences
    too_small = protect_summary(_summary(patients=19), RULES)
    assert too_small.sentences_in("fi") == (
        "Ryhmä on liian pieni kuvattavaksi: joku sen jäsenistä voitaisiin tunnistaa.",)
