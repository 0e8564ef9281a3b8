"""Adverse-event frequencies on a hand-made snapshot: patients with >= 1 event / cohort size."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from queries.analyses import safety
from queries.cohort.kept_tables import materialize_frame
from queries.snapshot.files import snapshot_database

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


# --- the sample snapshot against a plain pandas reference ---------------------------------

@pytest.fixture(scope="module")
def ae_sample(sample):
    """The sample, its ICI index population and all its adverse events."""
    db = sample.db
    index = db.cursor().execute(
        "SELECT patient_id, min(start_date) AS index_date, arg_min(line_number, start_date) "
        "AS index_line FROM treatments WHERE drug_class IN ('anti-PD-1', 'anti-PD-L1', "
        "'anti-CTLA-4') GROUP BY 1 ORDER BY 1").df()
    events = db.cursor().execute("SELECT * FROM adverse_events").df()
    return db, index, events


def _reference(cohort_rows: pd.DataFrame, events: pd.DataFrame, options) -> dict:
    """Patients with >= 1 event, the obvious way: filter rows, then count distinct patients."""
    e = events.merge(cohort_rows, on="patient_id")
    e["onset_days"] = (pd.to_datetime(e["onset_date"]) - pd.to_datetime(e["index_date"])).dt.days
    e = e[e["onset_days"] >= 0]
    if options.window_days is not None:
        e = e[e["onset_days"] <= options.window_days]
    if options.immune_only:
        e = e[e["immune_related"].fillna(False).astype(bool)]
    if options.index_line_only:
        e = e[e["line_number"] == e["index_line"]]

    def table(keys):
        first = e.groupby(["patient_id", *keys])["onset_days"].min().reset_index()
        worst = e.groupby(["patient_id", *keys])["grade"].max().reset_index()
        per = first.merge(worst, on=["patient_id", *keys])
        return per.groupby(keys).agg(patients_any_grade=("patient_id", "size"),
                                     patients_grade3plus=("grade", lambda g: int((g >= 3).sum())),
                                     median_onset_days=("onset_days", "median"))

    per_patient = e.groupby("patient_id").agg(onset=("onset_days", "min"), grade=("grade", "max"))
    return {"term": table(["organ_class", "term"]), "organ": table(["organ_class"]),
            "overall": (len(per_patient), int((per_patient["grade"] >= 3).sum()),
                        float(per_patient["onset"].median()) if len(per_patient) else None),
            "per_patient": per_patient}


@pytest.mark.parametrize("options", [
    safety.SafetyOptions(),
    safety.SafetyOptions(immune_only=True),
    safety.SafetyOptions(window_days=90),
    safety.SafetyOptions(immune_only=True, window_days=180, index_line_only=True),
    safety.SafetyOptions(index_line_only=True),
])
@pytest.mark.parametrize("subset", [None, 0.3])
def test_sample_frequencies_equal_a_plain_pandas_count(ae_sample, options, subset):
    db, index, events = ae_sample
    rows = index if subset is None else index.sample(frac=subset, random_state=7)
    cohort = materialize_frame(db, "ae_ref_all" if subset is None else "ae_ref_part", rows)
    result = safety.adverse_events(cohort, options)
    expected = _reference(rows, events, options)
    for name, frame, keys in (("term", result.by_term, ["organ_class", "term"]),
                              ("organ", result.by_organ_class, ["organ_class"])):
        got = frame.set_index(keys)[["patients_any_grade", "patients_grade3plus",
                                     "median_onset_days"]].sort_index()
        want = expected[name].sort_index().astype(got.dtypes.to_dict())
        pd.testing.assert_frame_equal(got, want, check_names=False)
        top = frame["patients_any_grade"].tolist()
        assert top == sorted(top, reverse=True)
        assert frame["pct_any_grade"].tolist() == pytest.approx(
            [n / len(rows) for n in frame["patients_any_grade"]])
    overall = result.overall
    assert (overall["patients_any_grade"], overall["patients_grade3plus"],
            overall["median_onset_days"]) == expected["overall"]
    # per regimen at index, over the patients on that regimen
    from queries.analyses.strata import base_table

    regimens = db.cursor().execute(
        f"SELECT patient_id, s_regimen AS regimen FROM {base_table(cohort)}").df()  # noqa: S608
    per = expected["per_patient"].reset_index().merge(regimens, on="patient_id", how="right")
    want = per.groupby("regimen").agg(
        patients=("patient_id", "size"), patients_any_grade=("onset", "count"),
        patients_grade3plus=("grade", lambda g: int((g >= 3).sum())),
        median_onset_days=("onset", "median")).sort_index()
    got = result.by_regimen.set_index("regimen")[list(want.columns)].sort_index()
    pd.testing.assert_frame_equal(got, want.astype(got.dtypes.to_dict()), check_names=False)
    assert result.by_regimen["patients"].tolist() == sorted(result.by_regimen["patients"],
                                                            reverse=True)
