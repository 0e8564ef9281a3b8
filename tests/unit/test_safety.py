"""Adverse-event frequencies on a hand-made snapshot: patients with >= 1 event / cohort size."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from queries import safety
from queries.analysis import snapshot_database
from queries.cohort import materialize_frame

INDEX = date(2022, 6, 1)
GI = "Gastrointestinal disorders"
SKIN = "Skin and subcutaneous tissue disorders"


def _d(days: int) -> date:
    return INDEX + timedelta(days=days)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    ids = [f"A{i}" for i in range(10)]
    patients = pd.DataFrame({"patient_id": ids, "site": "S", "sex": "M", "birth_year": 1955,
                             "death_date": None, "last_followup_date": _d(365),
                             "smoking_status": None})
    events = [  # patient, term, organ class, grade, onset day, immune-related
        ("A0", "Colitis", GI, 3, 30, True),
        ("A0", "Colitis", GI, 1, 60, True),      # same term again: counted once, worst grade 3
        ("A0", "Diarrhoea", GI, 2, 10, False),   # same organ class: A0 counted once there
        ("A1", "Colitis", GI, 2, 50, True),
        ("A2", "Rash", SKIN, 1, 20, True),
        ("A2", "Colitis", GI, 4, -5, True),      # before index: outside the window
        ("A3", "Rash", SKIN, 3, 90, True),
        ("A4", "Diarrhoea", GI, 1, 400, False),  # outside a 365-day window, inside the default
    ]
    adverse = pd.DataFrame(events, columns=["patient_id", "term", "organ_class", "grade",
                                            "onset_date", "immune_related"])
    adverse["onset_date"] = adverse["onset_date"].map(_d)
    adverse["line_number"] = 1
    adverse["resolved_date"] = None
    treatments = pd.DataFrame({
        "patient_id": ids, "line_number": 1,
        "regimen": ["nivolumab + ipilimumab"] * 4 + ["pembrolizumab"] * 6,
        "drug": "x", "atc_code": "L01FF", "drug_class": "anti-PD-1",
        "start_date": INDEX, "end_date": None, "stop_reason": None,
    })
    db = snapshot_database({"patients": patients, "adverse_events": adverse,
                            "treatments": treatments}, tmp_path_factory.mktemp("ae"), "ae-test")
    yield materialize_frame(db, "ae", pd.DataFrame(
        {"patient_id": ids, "index_date": INDEX, "index_line": 1}))
    db.close()


def test_patients_with_event_by_term_any_grade_and_grade3(cohort):
    result = safety.adverse_events(cohort)
    terms = result.by_term.set_index("term")
    assert terms.loc["Colitis", ["patients_any_grade", "patients_grade3plus"]].tolist() == [2, 1]
    assert terms.loc["Colitis", "pct_any_grade"] == pytest.approx(0.2)  # of the cohort of 10
    assert terms.loc["Colitis", "median_onset_days"] == 40  # A0 first at 30, A1 at 50
    assert terms.loc["Rash", ["patients_any_grade", "patients_grade3plus"]].tolist() == [2, 1]
    assert terms.loc["Diarrhoea", "patients_any_grade"] == 2
    assert result.by_term.iloc[0]["patients_any_grade"] >= result.by_term.iloc[-1][
        "patients_any_grade"]


def test_organ_class_counts_each_patient_once(cohort):
    organs = safety.adverse_events(cohort).by_organ_class.set_index("organ_class")
    assert organs.loc[GI, ["patients_any_grade", "patients_grade3plus"]].tolist() == [3, 1]
    assert organs.loc[GI, "median_onset_days"] == 50  # A0 10, A1 50, A4 400
    assert organs.loc[SKIN, "patients_any_grade"] == 2


def test_overall_immune_only_and_window(cohort):
    result = safety.adverse_events(cohort)
    assert result.overall["patients_any_grade"] == 5
    assert result.overall["patients_grade3plus"] == 2
    assert result.overall["pct_any_grade"] == pytest.approx(0.5)
    immune = safety.adverse_events(cohort, safety.SafetyOptions(immune_only=True))
    assert set(immune.by_term["term"]) == {"Colitis", "Rash"}
    assert immune.overall["patients_any_grade"] == 4
    year = safety.adverse_events(cohort, safety.SafetyOptions(window_days=365))
    assert year.overall["patients_any_grade"] == 4
    assert "365 days" in year.window


def test_by_regimen_uses_patients_on_that_regimen_as_denominator(cohort):
    regimens = safety.adverse_events(cohort).by_regimen.set_index("regimen")
    combo = regimens.loc["nivolumab + ipilimumab"]
    assert (combo["patients"], combo["patients_any_grade"], combo["patients_grade3plus"]) == (
        4, 4, 2)
    assert combo["pct_grade3plus"] == pytest.approx(0.5)
    mono = regimens.loc["pembrolizumab"]
    assert (mono["patients"], mono["patients_any_grade"], mono["pct_grade3plus"]) == (6, 1, 0.0)


def test_cohort_without_events_says_why(cohort):
    empty = materialize_frame(cohort.db, "ae_none", pd.DataFrame(
        {"patient_id": ["A9"], "index_date": INDEX, "index_line": 1}))
    result = safety.adverse_events(empty)
    assert result.overall["patients_any_grade"] == 0
    assert "no patient" in result.empty_reason
    assert result.by_term.empty
