"""NCCTG lung cancer data (lifelines' copy of R survival's `lung`) loaded as a snapshot.

Reference values published for R's survival package on the same data:
survfit(Surv(time, status) ~ sex, data = lung):
    sex=1 (male)   n=138 events=112 median 270 (95% CI 212-310)
    sex=2 (female) n=90  events=53  median 426 (95% CI 348-550)
survdiff(Surv(time, status) ~ sex, data = lung): Chisq = 10.3 on 1 df, p = 0.00131
coxph(Surv(time, status) ~ sex, data = lung): coef -0.531, HR 0.588 (0.424-0.816), p = 0.00149
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from lifelines.datasets import load_lung

from queries.analyses import survival
from queries.cohort.kept_tables import materialize_frame
from queries.snapshot.files import snapshot_database

INDEX = date(2000, 1, 1)


@pytest.fixture(scope="module")
def lung_cohort(tmp_path_factory):
    lung = load_lung()
    # lifelines recodes R's status (1 censored, 2 dead) to 0/1
    died = lung["status"] == 1
    ids = [f"L{i:03d}" for i in range(len(lung))]
    end = [INDEX + timedelta(days=int(t)) for t in lung["time"]]
    patients = pd.DataFrame({
        "patient_id": ids, "site": "NCCTG", "sex": lung["sex"].map({1: "M", 2: "F"}),
        "birth_year": (2000 - lung["age"]).astype(int),
        "death_date": [e if d else None for e, d in zip(end, died, strict=True)],
        "last_followup_date": end, "smoking_status": None,
    })
    db = snapshot_database({"patients": patients}, tmp_path_factory.mktemp("lung"), "ncctg-lung",
                           "lifelines.datasets.load_lung (NCCTG)")
    cohort = materialize_frame(db, "lung", pd.DataFrame(
        {"patient_id": ids, "index_date": INDEX, "index_line": None}))
    yield cohort
    db.close()


def test_lung_medians_by_sex_match_r_survival(lung_cohort):
    result = survival.kaplan_meier(lung_cohort, "os", "sex", ci_method="log")
    summary = result.summary.set_index("stratum")
    male, female = summary.loc["Male"], summary.loc["Female"]
    assert (male["n"], male["events"]) == (138, 112)
    assert (female["n"], female["events"]) == (90, 53)
    assert (male["median_days"], male["median_ci_lower_days"],
            male["median_ci_upper_days"]) == (270, 212, 310)
    assert (female["median_days"], female["median_ci_lower_days"],
            female["median_ci_upper_days"]) == (426, 348, 550)


def test_lung_logrank_by_sex_matches_r_survdiff(lung_cohort):
    result = survival.kaplan_meier(lung_cohort, "os", "sex")
    assert result.logrank.df == 1
    assert round(result.logrank.statistic, 1) == 10.3
    assert result.logrank.p_value == pytest.approx(0.00131, abs=5e-6)


def test_lung_cox_hazard_ratio_matches_r_coxph(lung_cohort):
    result = survival.kaplan_meier(lung_cohort, "os", "sex", hr_groups=("Female", "Male"))
    hr = result.hazard_ratio
    assert hr.coef == pytest.approx(-0.531, abs=5e-4)
    assert (round(hr.hr, 3), round(hr.ci_lower, 3), round(hr.ci_upper, 3)) == (0.588, 0.424, 0.816)
    assert hr.p_value == pytest.approx(0.00149, abs=5e-6)
