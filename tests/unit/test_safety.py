"""Adverse-event frequencies on a hand-made snapshot: patients with >= 1 event / cohort size."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from queries.analyses import safety
from queries.cohort.kept_tables import materialize_frame
from queries.i18n import translator
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
    treatments = db.cursor().execute("SELECT * FROM treatments").df()
    return db, index, events.merge(_window_ends(index, treatments), on="patient_id", how="left")


def _window_ends(index: pd.DataFrame, treatments: pd.DataFrame) -> pd.DataFrame:
    """Days from index to the index line's end (NaN while a drug of it is ongoing) or the next
    line's start, whichever is earlier: the end of the treatment-emergent window."""
    t = treatments.merge(index, on="patient_id")
    days = lambda col: (pd.to_datetime(t[col]) - pd.to_datetime(t["index_date"])).dt.days  # noqa: E731
    t["start_days"], t["end_days"] = days("start_date"), days("end_date")
    line = t[t["line_number"] == t["index_line"]].groupby("patient_id")["end_days"].agg(
        lambda v: float("nan") if v.isna().any() else v.max())
    later = t[(t["line_number"] > t["index_line"]) & (t["start_days"] > 0)]
    nxt = later.groupby("patient_id")["start_days"].min()
    ends = pd.concat([line.rename("line_end"), nxt.rename("next_start")], axis=1)
    return ends.min(axis=1).rename("window_end").reset_index()


def _reference(cohort_rows: pd.DataFrame, events: pd.DataFrame, options) -> dict:
    """Patients with >= 1 event, the obvious way: filter rows, then count distinct patients."""
    e = events.merge(cohort_rows, on="patient_id")
    e["onset_days"] = (pd.to_datetime(e["onset_date"]) - pd.to_datetime(e["index_date"])).dt.days
    e = e[e["onset_days"] >= 0]
    if options.treatment_emergent_days is not None:
        e = e[e["window_end"].isna()
              | (e["onset_days"] <= e["window_end"] + options.treatment_emergent_days)]
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
    safety.SafetyOptions(treatment_emergent_days=None),
    safety.SafetyOptions(immune_only=True, treatment_emergent_days=30),
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


def test_treatment_emergent_window_ends_days_after_the_index_line(tmp_path):
    patients = pd.DataFrame({"patient_id": ["T1", "T2"], "site": "S", "sex": "F",
                             "birth_year": 1960, "death_date": None,
                             "last_followup_date": _d(700), "smoking_status": None})
    treatments = pd.DataFrame({
        "patient_id": ["T1", "T2", "T2"], "line_number": [1, 1, 2],
        "regimen": "pembrolizumab", "drug": "x", "atc_code": "L01FF", "drug_class": "anti-PD-1",
        "start_date": [INDEX, INDEX, _d(50)], "end_date": [_d(100), _d(200), None],
        "stop_reason": None})
    adverse = pd.DataFrame({
        "patient_id": ["T1", "T1", "T2"], "line_number": 1, "term": "Colitis",
        "organ_class": GI, "grade": 3, "onset_date": [_d(150), _d(250), _d(120)],
        "resolved_date": None, "immune_related": True})
    db = snapshot_database({"patients": patients, "treatments": treatments,
                            "adverse_events": adverse}, tmp_path, "te-test")
    cohort = materialize_frame(db, "te", pd.DataFrame(
        {"patient_id": ["T1", "T2"], "index_date": INDEX, "index_line": 1}))
    # T1: line ends at 100, window to 190: the event at 150 counts, 250 does not;
    # T2: line 2 starts at 50 (before its line-1 end at 200), window to 140: 120 counts
    default = safety.adverse_events(cohort)
    assert default.overall["patients_any_grade"] == 2
    assert "+ 90 days" in default.window
    short = safety.adverse_events(cohort, safety.SafetyOptions(treatment_emergent_days=30))
    assert short.overall["patients_any_grade"] == 0  # 130 and 80: neither event counts
    every = safety.adverse_events(cohort, safety.SafetyOptions(treatment_emergent_days=None))
    assert every.overall["patients_any_grade"] == 2 and "any treatment line" in every.window
    row = default.by_term.iloc[0]
    assert (row["pct_any_grade_ci_lower"], row["pct_any_grade_ci_upper"]) == pytest.approx(
        (0.1581, 1.0), abs=1e-4)  # 2 of 2, Clopper-Pearson
    db.close()


def test_aalen_johansen_equals_lifelines_without_ties():
    import numpy as np
    from lifelines import AalenJohansenFitter

    rng = np.random.default_rng(5)
    n = 400
    times = rng.permutation(np.arange(1, n + 1)).astype(float)  # distinct: lifelines jitters ties
    kind = rng.choice([0, 1, 2], size=n, p=[0.4, 0.35, 0.25])
    order = np.argsort(times)
    t, k = times[order], kind[order]
    mine = safety.aalen_johansen(t, (k == 1).astype(int), (k == 2).astype(int),
                                 (k == 0).astype(int)).set_index("time_days")
    ref = AalenJohansenFitter(calculate_variance=True).fit(times, kind, event_of_interest=1)
    cif = ref.cumulative_density_.iloc[:, 0]
    np.testing.assert_allclose(mine["cumulative_incidence"], cif.reindex(mine.index), rtol=1e-10)
    ci = ref.confidence_interval_.reindex(mine.index)
    lower, upper = ci.min(axis=1), ci.max(axis=1)
    has = mine["cumulative_incidence"] > 0
    np.testing.assert_allclose(mine.loc[has, "ci_lower"], lower[has], rtol=1e-7)
    np.testing.assert_allclose(mine.loc[has, "ci_upper"], upper[has], rtol=1e-7)


def test_severe_irae_incidence_by_regimen_treats_death_as_competing(tmp_path):
    patients = pd.DataFrame({
        "patient_id": ["C1", "C2", "C3", "C4"], "site": "S", "sex": "F", "birth_year": 1960,
        "death_date": [None, _d(50), _d(300), None],
        "last_followup_date": [_d(400), _d(50), _d(300), _d(200)], "smoking_status": None})
    treatments = pd.DataFrame({
        "patient_id": ["C1", "C2", "C3", "C4"], "line_number": 1,
        "regimen": ["combo", "combo", "mono", "mono"], "drug": "x", "atc_code": "L01FF",
        "drug_class": "anti-PD-1", "start_date": INDEX, "end_date": None, "stop_reason": None})
    adverse = pd.DataFrame({
        "patient_id": ["C1", "C3", "C4"], "line_number": 1, "term": "Colitis", "organ_class": GI,
        "grade": [3, 2, 4], "onset_date": [_d(30), _d(20), _d(100)], "resolved_date": None,
        "immune_related": True})
    db = snapshot_database({"patients": patients, "treatments": treatments,
                            "adverse_events": adverse}, tmp_path, "cif-test")
    cohort = materialize_frame(db, "cif", pd.DataFrame(
        {"patient_id": ["C1", "C2", "C3", "C4"], "index_date": INDEX, "index_line": 1}))
    result = safety.severe_irae_incidence(cohort, milestone_months=(1.0, 3.0, 12.0))
    groups = result.groups.set_index("group")
    # combo: C1 event at 30, C2 death at 50 (competing); mono: C3 grade 2 only, dies at 300;
    # C4 event at 100
    assert groups.loc["combo", ["events", "competing_deaths", "censored"]].tolist() == [1, 1, 0]
    assert groups.loc["mono", ["events", "competing_deaths", "censored"]].tolist() == [1, 1, 0]
    marks = result.milestones.set_index(["group", "time_months"])["cumulative_incidence"]
    assert marks[("combo", 1.0)] == pytest.approx(0.5)  # day 30.4: C1's event at 30, of 2
    assert pd.isna(marks[("combo", 3.0)])  # day 91 is past combo's follow-up (50)
    assert marks[("mono", 3.0)] == 0.0  # C4's event comes at 100
    curve = result.curve[result.curve["group"] == "mono"].set_index("time_days")
    assert curve.loc[100, "cumulative_incidence"] == pytest.approx(0.5)
    assert curve.loc[300, "cumulative_incidence"] == pytest.approx(0.5)  # death: no change
    assert pd.isna(marks[("mono", 12.0)])  # day 365 is past mono's follow-up (300)
    assert "competing risk" in result.definition
    assert "kilpaileva riski" in translator("fi").text(result.definition)  # shown in Finnish
    from components.figures import incidence_figure

    fig = incidence_figure(result)
    assert len(fig.data) == 2 and fig.data[0].name.endswith("(n=2)")
    db.close()
