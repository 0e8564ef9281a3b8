"""Best overall response, ORR/DCR with exact CI, strata by biomarker, test across strata."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pandas as pd
import pytest
from scipy import stats

from queries.analyses import response
from queries.cohort.kept_tables import materialize_frame
from queries.snapshot.files import snapshot_database

INDEX = date(2021, 3, 1)


def _d(days: int) -> date:
    return INDEX + timedelta(days=days)


@pytest.mark.parametrize(("x", "n", "lower", "upper"), [
    (0, 10, 0.0, 0.3085),
    (5, 10, 0.1871, 0.8129),
    (1, 10, 0.0025, 0.4450),
    (10, 10, 0.6915, 1.0),
    (30, 100, 0.2124, 0.3998),
])
def test_clopper_pearson_matches_published_values(x, n, lower, upper):
    ci = response.clopper_pearson(x, n)
    assert ci == pytest.approx((lower, upper), abs=1e-4)


def test_clopper_pearson_of_nothing_is_undefined():
    lower, upper = response.clopper_pearson(0, 0)
    assert lower != lower and upper != upper  # NaN


def _tables():
    ids = [f"R{i}" for i in range(8)]
    patients = pd.DataFrame({"patient_id": ids, "site": "S", "sex": "F", "birth_year": 1960,
                             "death_date": None, "last_followup_date": _d(400),
                             "smoking_status": None})
    rows = [
        ("R0", 1, 40, "SD"), ("R0", 1, 80, "PR"), ("R0", 1, 120, "PD"),  # BOR PR
        ("R1", 1, 40, "CR"),                                              # CR
        ("R2", 1, 50, "SD"), ("R2", 2, 200, "CR"),                        # other line ignored
        ("R3", 1, -20, "CR"), ("R3", 1, 40, "PD"),                        # before index ignored
        ("R4", 1, 40, "NE"),                                              # NE: evaluable, no
        ("R5", 2, 300, "PR"),                                             # no index-line one
        ("R6", 1, 0, "SD"), ("R6", 1, 10, "PR"),                          # index day: baseline
    ]                                                                      # R7: none at all
    assessments = pd.DataFrame(rows, columns=["patient_id", "line_number", "assessment_date",
                                              "response"])
    assessments["assessment_date"] = assessments["assessment_date"].map(_d)
    biomarkers = pd.DataFrame({
        "patient_id": ["R0", "R1", "R2", "R3", "R4", "R5", "R3"],
        "biomarker": "PD-L1 TPS",
        "value_numeric": [80.0, 55.0, 10.0, 0.0, 0.5, 49.0, 90.0],
        "value_category": None, "unit": "%",
        # R3's 90 % was tested after index + 30 days: the 0 % before index is used
        "test_date": [_d(-10), _d(-100), _d(20), _d(-5), _d(-300), _d(-1), _d(60)],
    })
    return ids, {"patients": patients, "tumor_assessments": assessments,
                 "biomarkers": biomarkers}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    ids, tables = _tables()
    db = snapshot_database(tables, tmp_path_factory.mktemp("resp"), "resp-test")
    yield materialize_frame(db, "resp", pd.DataFrame(
        {"patient_id": ids, "index_date": INDEX, "index_line": 1}))
    db.close()


def test_best_overall_response_per_patient(cohort):
    from queries.analyses.strata import base_table

    rows = dict(cohort.db.cursor().execute(
        f"SELECT patient_id, bor_unconfirmed FROM {base_table(cohort)}"  # noqa: S608
    ).fetchall())
    assert rows == {"R0": "PR", "R1": "CR", "R2": "SD", "R3": "PD", "R4": "NE", "R5": None,
                    "R6": "PR", "R7": None}


def test_orr_counts_not_evaluable_apart_and_keeps_them(cohort):
    result = response.best_overall_response(cohort, response="unconfirmed",
                                            denominator="evaluable")
    rates = result.rates.iloc[0]
    assert (rates["n"], rates["not_evaluable"], rates["denominator"]) == (8, 2, 6)
    assert (rates["responders"], rates["disease_control"]) == (3, 4)
    assert rates["orr"] == pytest.approx(3 / 6)
    assert (rates["orr_ci_lower"], rates["orr_ci_upper"]) == pytest.approx((0.1181, 0.8819),
                                                                            abs=1e-4)
    counts = result.counts.set_index("bor")["n"].to_dict()
    assert counts == {"CR": 1, "PR": 2, "SD": 1, "PD": 1, "NE": 1, "Not evaluable": 2}
    everyone = response.best_overall_response(cohort, response="unconfirmed").rates.iloc[0]
    assert everyone["denominator"] == 8 and everyone["orr"] == pytest.approx(3 / 8)


def test_orr_by_pdl1_stratum_uses_the_result_at_index(cohort):
    result = response.best_overall_response(cohort, "pdl1_tps", "evaluable", "unconfirmed")
    rates = result.rates.set_index("stratum")
    assert list(rates.index) == ["TPS < 1%", "TPS 1-49%", "TPS ≥ 50%", "Untested"]
    # <1: R3 (PD), R4 (NE); 1-49: R2 (SD), R5 (not evaluable); >=50: R0 (PR), R1 (CR)
    assert rates.loc["TPS < 1%", ["n", "responders", "denominator"]].tolist() == [2, 0, 2]
    # R2's 10 % was tested 20 days after index: no look-ahead by default, so R2 is untested
    assert rates.loc["TPS 1-49%", ["n", "not_evaluable", "denominator"]].tolist() == [1, 1, 0]
    assert rates.loc["TPS ≥ 50%", ["n", "responders", "orr"]].tolist() == [2, 2, 1.0]
    assert rates.loc["Untested", "n"] == 3  # R2, R6, R7: shown, not dropped
    assert result.test.strata == ["TPS < 1%", "TPS ≥ 50%"]
    # a 30-day grace window (the index event's at_index_grace_days) lets R2's result count
    grace = response.best_overall_response(replace(cohort, at_index_grace_days=30), "pdl1_tps",
                                           "evaluable", "unconfirmed").rates.set_index("stratum")
    assert grace.loc["TPS 1-49%", ["n", "not_evaluable", "denominator"]].tolist() == [2, 1, 1]
    assert grace.loc["Untested", "n"] == 2


def test_difference_test_two_strata_is_fisher_exact():
    rates = pd.DataFrame({"stratum": ["a", "b", "Untested"], "responders": [9, 2, 5],
                          "disease_control": [12, 5, 6], "denominator": [15, 14, 10]})
    result = response.difference_test(rates)
    expected = stats.fisher_exact([[9, 6], [2, 12]]).pvalue
    assert result.test == "Fisher exact"
    assert result.p_value == pytest.approx(expected)
    assert result.p_value < 0.05


def test_rates_from_counts_fills_missing_categories():
    long = pd.DataFrame({"stratum": ["x", "x"], "bor": ["PR", "Not evaluable"], "n": [3, 2]})
    counts, rates = response.rates_from_counts(long, None, "evaluable")
    assert len(counts) == len(response.BOR_CATEGORIES)
    assert counts.set_index("bor").loc["CR", "n"] == 0
    assert rates.iloc[0]["orr"] == 1.0 and rates.iloc[0]["dcr_ci_lower"] == pytest.approx(
        0.2924, abs=1e-4)


def test_trend_test_equals_cochran_armitage_by_formula():
    rates = pd.DataFrame({"stratum": ["TPS < 1%", "TPS 1-49%", "TPS ≥ 50%", "Untested"],
                          "responders": [5, 10, 20, 3], "disease_control": [10, 15, 25, 5],
                          "denominator": [50, 50, 50, 20]})
    result = response.trend_test(rates, "pdl1_tps")
    # statistic by hand: p = 35/150, sum s(x - n p) = (10 - 50p) + 2 (20 - 50p)
    p = 35 / 150
    u = (10 - 50 * p) + 2 * (20 - 50 * p)
    var = p * (1 - p) * (50 * (0 + 1 + 4) - (50 * 3) ** 2 / 150)
    assert result.statistic == pytest.approx(u / var ** 0.5)
    assert result.p_value == pytest.approx(2 * stats.norm.sf(abs(u / var ** 0.5)))
    assert result.strata == ["TPS < 1%", "TPS 1-49%", "TPS ≥ 50%"]
    assert response.trend_test(rates, None) is None
    assert response.trend_test(rates, "site") is None  # unordered: no trend


def test_defaults_are_confirmed_response_over_all_patients_and_say_so(cohort):
    result = response.best_overall_response(cohort)
    assert (result.response, result.denominator) == ("confirmed", "all")
    assert "Defaults: confirmed, all patients" in result.to_dict()["definition"]
    assert result.rates.iloc[0]["responders"] == 0  # no CR/PR here is confirmed
