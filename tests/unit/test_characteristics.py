"""Table 1 on a hand-made snapshot, and standardized mean differences against hand values."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from queries.analyses import characteristics
from queries.cohort.kept_tables import materialize_frame
from queries.snapshot.files import snapshot_database

INDEX = date(2023, 1, 1)


def _d(days: int) -> date:
    return INDEX + timedelta(days=days)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    ids = ["C0", "C1", "C2", "C3", "C4"]
    patients = pd.DataFrame({
        "patient_id": ids, "site": ["HUS", "HUS", "TAYS", "OYS", "HUS"],
        "sex": ["F", "M", "M", "F", None], "birth_year": [1953, 1963, 1943, 1973, 1958],
        "death_date": None, "last_followup_date": _d(100),
        "smoking_status": ["never", "former", "former", "current", None],
    })
    diagnoses = pd.DataFrame({
        "patient_id": ["C0", "C1", "C2", "C3", "C3"],
        "icd10": ["C34.1", "C43.5", "C34.1", "C18.7", "C34.9"],
        "cancer_type": ["NSCLC", "melanoma", "NSCLC", "colorectal", "NSCLC"],
        "histology_icdo3": None,
        # C3: colorectal 2019 and NSCLC 2022 -> the latest before index (NSCLC) describes them
        "diagnosis_date": [_d(-200), _d(-100), _d(-50), _d(-1400), _d(-30)],
        "stage": ["IV", "III", None, "II", "IV"],
    })
    performance = pd.DataFrame({
        "patient_id": ["C0", "C0", "C1", "C2", "C3"],
        # C0: 0 then 2 (latest within 90 days counts); C1: only 200 days before -> unknown;
        # C3: after index -> unknown
        "assessment_date": [_d(-60), _d(-10), _d(-200), _d(0), _d(5)],
        "ecog": [0, 2, 1, 1, 0],
    })
    biomarkers = pd.DataFrame({
        "patient_id": ["C0", "C1", "C2", "C0", "C3"],
        "biomarker": ["PD-L1 TPS", "PD-L1 TPS", "PD-L1 TPS", "EGFR", "MSI"],
        "value_numeric": [70.0, 20.0, None, None, None],
        "value_category": [None, None, None, "positive", "MSI-H"],
        "unit": None,
        "test_date": [_d(-30), _d(-30), _d(-30), _d(-30), _d(10)],
    })
    database = snapshot_database({"patients": patients, "diagnoses": diagnoses,
                                  "performance_status": performance, "biomarkers": biomarkers},
                                 tmp_path_factory.mktemp("t1"), "t1-test")
    yield database
    database.close()


def _cohort(db, key, ids):
    return materialize_frame(db, key, pd.DataFrame(
        {"patient_id": ids, "index_date": INDEX, "index_line": None}))


def _row(table, key, level=""):
    rows = table.rows
    return rows[(rows["key"] == key) & (rows["level"] == level)].iloc[0]


def test_table_one_counts_and_age(db):
    table = characteristics.table_one(_cohort(db, "all5", ["C0", "C1", "C2", "C3", "C4"]))
    assert table.n == 5
    age = _row(table, "age")  # 70, 60, 80, 50, 65
    assert (age["median"], age["q1"], age["q3"]) == (65, 60, 70)
    assert age["mean"] == pytest.approx(65) and age["sd"] == pytest.approx(np.std(
        [70, 60, 80, 50, 65], ddof=1))
    assert _row(table, "sex", "Male")["n"] == 2 and _row(table, "sex", "Unknown")["n"] == 1
    assert _row(table, "site", "HUS")["pct"] == pytest.approx(0.6)
    assert _row(table, "cancer_type", "NSCLC")["n"] == 3
    assert _row(table, "stage", "Stage IV")["n"] == 2
    assert _row(table, "smoking_status", "Former")["n"] == 2


def test_table_one_ecog_and_biomarkers_at_index(db):
    table = characteristics.table_one(_cohort(db, "all5b", ["C0", "C1", "C2", "C3", "C4"]))
    assert _row(table, "ecog", "ECOG ≥ 2")["n"] == 1  # C0's latest (2)
    assert _row(table, "ecog", "ECOG 0-1")["n"] == 1  # C2 on the index day
    assert _row(table, "ecog", "Unknown")["n"] == 3
    markers = table.biomarkers.set_index("key")
    # C2's PD-L1 row has no result: untested
    assert markers.loc["pdl1_tps", ["tested", "positive"]].tolist() == [2, 1]
    assert markers.loc["pdl1_tps", "pct_tested"] == pytest.approx(0.4)
    assert markers.loc["egfr", "pct_positive_of_tested"] == 1.0
    # the MSI test 10 days after index is look-ahead: not "at index" without a grace window
    assert markers.loc["msi", "positive"] == 0
    grace = characteristics.table_one(replace(_cohort(db, "all5b", ["C0", "C1", "C2", "C3",
                                                                     "C4"]),
                                              at_index_grace_days=30))
    assert grace.biomarkers.set_index("key").loc["msi", "positive"] == 1
    assert _row(table, "pdl1_tps", "Untested")["n"] == 3
    # one denominator for every row of Table 1: the cohort (1 of 5), not the tested (1 of 2)
    assert _row(table, "pdl1_tps", "TPS 1-49%")["pct"] == pytest.approx(0.2)
    assert (_row(table, "pdl1_tps", "Untested")["denominator"]
            == _row(table, "pdl1_tps", "TPS 1-49%")["denominator"] == 5)


def test_smd_reference_values():
    assert characteristics.smd_continuous(65, 10, 60, 10) == pytest.approx(0.5)
    assert characteristics.smd_continuous(1, 2, 0, 0) == pytest.approx(1 / math.sqrt(2))
    p1, p2 = 0.4, 0.2
    expected = (p1 - p2) / math.sqrt((p1 * 0.6 + p2 * 0.8) / 2)
    assert characteristics.smd_proportion(p1, p2) == pytest.approx(expected)
    # two categories: the multi-category SMD is the absolute binary SMD
    assert characteristics.smd_multicategory([0.6, 0.4], [0.8, 0.2]) == pytest.approx(expected)
    assert characteristics.smd_multicategory([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == 0.0


def test_compare_two_cohorts(db):
    first = characteristics.table_one(_cohort(db, "cmp1", ["C0", "C1", "C2"]))
    second = characteristics.table_one(_cohort(db, "cmp2", ["C3", "C4"]))
    comp = characteristics.compare(first, second)
    assert comp.n == (3, 2)
    rows = comp.rows.set_index(["key", "level"])
    assert rows.loc[("sex", "Male"), ["n_1", "n_2"]].tolist() == [2, 0]
    variables = comp.variables.set_index("key")["smd"]
    ages1, ages2 = [70, 60, 80], [50, 65]
    expected_age = (np.mean(ages1) - np.mean(ages2)) / math.sqrt(
        (np.var(ages1, ddof=1) + np.var(ages2, ddof=1)) / 2)
    assert variables["age"] == pytest.approx(expected_age)
    assert variables["sex"] > 1.0  # clearly different cohorts
    assert comp.to_dict()["n"] == [3, 2]


def test_table_one_has_line_of_therapy_and_regimen_at_index(db):
    cohort = materialize_frame(db, "lines5", pd.DataFrame({
        "patient_id": ["C0", "C1", "C2", "C3", "C4"], "index_date": INDEX,
        "index_line": [1, 2, 4, None, 1]}))
    table = characteristics.table_one(cohort)
    assert _row(table, "line", "Line 1")["n"] == 2 and _row(table, "line", "Line 2")["n"] == 1
    assert _row(table, "line", "Line ≥ 3")["n"] == 1 and _row(table, "line", "Unknown")["n"] == 1
    assert _row(table, "regimen", "Unknown")["n"] == 5  # no treatments in this snapshot
    assert set(table.rows.loc[table.rows["key"].isin(["line", "regimen"]), "section"]) == {
        "Treatment at index"}
