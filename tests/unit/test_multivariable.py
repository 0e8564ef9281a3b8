"""Multivariable Cox: the same model as lifelines on a hand-coded design, complete cases,
each level's hazard ratio against the first level, and a PH check per term."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.statistics import proportional_hazard_test

from queries.analyses.multivariable import multivariable_cox
from queries.cohort.kept_tables import materialize_frame
from queries.snapshot.files import snapshot_database

INDEX = date(2021, 1, 1)


def _data(n: int = 800, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], size=n)
    ecog = rng.choice([0, 1, 2, -1], size=n, p=[0.4, 0.35, 0.2, 0.05])  # -1: not assessed
    birth = rng.integers(1940, 1975, size=n)
    hazard = (np.where(sex == "M", 1.5, 1.0) * np.choose(np.maximum(ecog, 0), [1.0, 1.4, 2.5])
              * np.exp(0.02 * (INDEX.year - birth - 60)))
    event_time = np.ceil(rng.exponential(400 / hazard)).astype(int)
    censor = rng.integers(100, 1200, size=n)
    return pd.DataFrame({"patient_id": [f"Q{i:04d}" for i in range(n)], "sex": sex,
                         "ecog": ecog, "birth_year": birth,
                         "time": np.minimum(event_time, censor), "event": event_time <= censor})


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    data = _data()
    dates = [INDEX + timedelta(days=int(t)) for t in data["time"]]
    patients = pd.DataFrame({
        "patient_id": data["patient_id"], "site": "S1", "sex": data["sex"],
        "birth_year": data["birth_year"],
        "death_date": [d if e else None for d, e in zip(dates, data["event"], strict=True)],
        "last_followup_date": dates, "smoking_status": None})
    assessed = data[data["ecog"] >= 0]
    performance = pd.DataFrame({"patient_id": assessed["patient_id"], "assessment_date": INDEX,
                                "ecog": assessed["ecog"]})
    db = snapshot_database({"patients": patients, "performance_status": performance},
                           tmp_path_factory.mktemp("cox"), "cox-test")
    cohort = materialize_frame(db, "cox", pd.DataFrame(
        {"patient_id": data["patient_id"], "index_date": INDEX, "index_line": None}))
    yield data, multivariable_cox(cohort, "os", ["age", "sex", "ecog_level"]), cohort
    db.close()


def _reference_design(data: pd.DataFrame) -> pd.DataFrame:
    known = data[data["ecog"] >= 0]
    return pd.DataFrame({
        "t": known["time"], "e": known["event"].astype(int),
        "age": (INDEX.year - known["birth_year"]) / 10,
        "male": (known["sex"] == "M").astype(float),
        "ecog1": (known["ecog"] == 1).astype(float), "ecog2": (known["ecog"] == 2).astype(float)})


def test_hazard_ratios_equal_lifelines_on_a_hand_coded_design(fitted):
    data, model, _ = fitted
    design = _reference_design(data)
    ref = CoxPHFitter().fit(design, "t", "e")
    terms = model.terms.set_index("term")
    pairs = {"age (per 10 years)": "age", "Sex: Male": "male", "ECOG at index (each level): "
             "ECOG 1": "ecog1", "ECOG at index (each level): ECOG 2": "ecog2"}
    assert set(terms.index) == set(pairs)
    for term, column in pairs.items():
        assert terms.loc[term, "hr"] == pytest.approx(ref.summary.loc[column, "exp(coef)"],
                                                      rel=1e-6)
        assert terms.loc[term, "ci_lower"] == pytest.approx(
            ref.summary.loc[column, "exp(coef) lower 95%"], rel=1e-6)
    assert terms.loc["Sex: Male", "reference"] == "Female"
    assert terms.loc["ECOG at index (each level): ECOG 2", "reference"] == "ECOG 0"
    assert 1.2 < terms.loc["Sex: Male", "hr"] < 1.9  # planted 1.5
    ph = proportional_hazard_test(ref, design, time_transform="rank").summary
    assert terms.loc["Sex: Male", "ph_p_value"] == pytest.approx(ph.loc["male", "p"], rel=1e-6)


def test_unknown_covariates_are_left_out_and_counted(fitted):
    data, model, _ = fitted
    assert model.n == int((data["ecog"] >= 0).sum())
    assert model.left_out == int((data["ecog"] < 0).sum())
    assert any("left out" in note for note in model.notes)
    assert "Efron" in model.method and "Schoenfeld" in model.method


def test_robust_standard_errors_equal_lifelines_sandwich_fit(fitted):
    data, model, cohort = fitted
    robust = multivariable_cox(cohort, "os", ["age", "sex", "ecog_level"], robust=True)
    ref = CoxPHFitter().fit(_reference_design(data), "t", "e", robust=True)
    row = robust.terms.set_index("covariate").loc["sex"]
    assert row["se"] == pytest.approx(ref.summary.loc["male", "se(coef)"], rel=1e-6)
    assert row["hr"] == pytest.approx(model.terms.set_index("covariate").loc["sex", "hr"])
    assert "robust" in robust.method


def test_forest_plot_draws_every_term_against_its_reference(fitted):
    from components.figures import cox_forest_figure

    _, model, _ = fitted
    fig = cox_forest_figure(model)
    trace = fig.data[0]
    assert len(trace.x) == len(model.terms)
    assert "Sex: Male vs Female" in "".join(trace.y)
    assert fig.layout.xaxis.type == "log"
