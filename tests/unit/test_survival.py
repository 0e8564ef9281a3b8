"""Survival: the aggregated fast path equals lifelines' per-patient fits; hand-worked KM; PFS."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test
from lifelines.utils import median_survival_times

from queries.analyses import survival
from queries.cohort.kept_tables import materialize_frame
from queries.snapshot.files import snapshot_database
from queries.snapshot.schema import DAYS_PER_MONTH

INDEX = date(2020, 1, 1)


def _random_patients(n: int, seed: int) -> pd.DataFrame:
    """Three groups with different hazards, heavy ties (whole days) and censoring."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["A", "B", "C"], size=n, p=[0.5, 0.3, 0.2])
    scale = pd.Series(group).map({"A": 300.0, "B": 200.0, "C": 420.0}).to_numpy()
    event_time = np.ceil(rng.exponential(scale)).astype(int)
    censor_time = rng.integers(30, 900, size=n)
    return pd.DataFrame({"group": group, "time": np.minimum(event_time, censor_time),
                         "event": event_time <= censor_time})


def test_hand_worked_kaplan_meier_example():
    # times 1,2,2+,3,4+,5 : S = 5/6, 4/6, 4/9 (at 3), 4/9 (4 censored), 0 (at 5)
    agg = survival.aggregate_patients([1, 2, 2, 3, 4, 5], [1, 1, 0, 1, 0, 1])
    result = survival.fit(agg)
    curve = result.curve.set_index("time_days")
    assert curve.loc[0, "survival"] == 1.0
    assert curve.loc[1, "survival"] == pytest.approx(5 / 6)
    assert curve.loc[2, "survival"] == pytest.approx(4 / 6)
    assert curve.loc[3, "survival"] == pytest.approx(4 / 9)
    assert curve.loc[4, "survival"] == pytest.approx(4 / 9)
    assert curve.loc[5, "survival"] == pytest.approx(0.0)
    assert curve["at_risk"].tolist() == [6, 6, 5, 3, 2, 1]
    assert curve.loc[2, "events"] == 1 and curve.loc[2, "censored"] == 1
    summary = result.summary.iloc[0]
    assert summary["n"] == 6 and summary["events"] == 4
    assert summary["median_days"] == 3
    assert summary["median_months"] == pytest.approx(3 / DAYS_PER_MONTH)


def test_aggregated_fit_equals_lifelines_per_patient_fit():
    data = _random_patients(3000, seed=7)
    agg = survival.aggregate_patients(data["time"], data["event"], data["group"])
    assert len(agg) < len(data)  # the fast path really is smaller
    result = survival.fit(agg, "os", None)
    for group, part in data.groupby("group"):
        kmf = KaplanMeierFitter().fit(part["time"], part["event"])
        mine = result.curve[result.curve["stratum"] == group].set_index("time_days")
        times = mine.index.to_numpy()
        ref_s = kmf.survival_function_.iloc[:, 0].reindex(times).to_numpy()
        ref_ci = kmf.confidence_interval_.reindex(times)
        np.testing.assert_allclose(mine["survival"], ref_s, rtol=1e-10)
        np.testing.assert_allclose(mine["ci_lower"].iloc[1:], ref_ci.iloc[1:, 0], rtol=1e-8)
        np.testing.assert_allclose(mine["ci_upper"].iloc[1:], ref_ci.iloc[1:, 1], rtol=1e-8)
        ref_at_risk = kmf.event_table["at_risk"].reindex(times[1:]).to_numpy()
        np.testing.assert_array_equal(mine["at_risk"].iloc[1:], ref_at_risk)
        row = result.summary.set_index("stratum").loc[group]
        assert row["median_days"] == kmf.median_survival_time_
        ref_median_ci = median_survival_times(kmf.confidence_interval_)
        assert row["median_ci_lower_days"] == ref_median_ci.iloc[0, 0]
        assert row["median_ci_upper_days"] == ref_median_ci.iloc[0, 1]


def test_logrank_equals_lifelines_per_patient_test():
    data = _random_patients(2000, seed=11)
    agg = survival.aggregate_patients(data["time"], data["event"], data["group"])
    mine = survival.logrank(agg, ["A", "B", "C"])
    ref = multivariate_logrank_test(data["time"], data["group"], data["event"])
    assert mine.df == 2
    assert mine.statistic == pytest.approx(ref.test_statistic, rel=1e-9)
    assert mine.p_value == pytest.approx(ref.p_value, rel=1e-7)


def test_cox_hazard_ratio_equals_lifelines_efron_per_patient_fit():
    data = _random_patients(2500, seed=3)
    two = data[data["group"].isin(["A", "B"])]
    agg = survival.aggregate_patients(two["time"], two["event"], two["group"])
    mine = survival.cox_two_groups(agg, group="B", reference="A")
    frame = pd.DataFrame({"t": two["time"], "e": two["event"].astype(int),
                          "x": (two["group"] == "B").astype(int)})
    ref = CoxPHFitter().fit(frame, "t", "e").summary.loc["x"]
    assert mine.coef == pytest.approx(ref["coef"], abs=1e-6)
    assert mine.se == pytest.approx(ref["se(coef)"], rel=1e-5)
    assert mine.hr == pytest.approx(ref["exp(coef)"], rel=1e-6)
    assert mine.ci_lower == pytest.approx(ref["exp(coef) lower 95%"], rel=1e-5)
    assert mine.ci_upper == pytest.approx(ref["exp(coef) upper 95%"], rel=1e-5)
    assert mine.p_value == pytest.approx(ref["p"], rel=1e-4)
    assert mine.hr > 1.2  # B has the shorter scale: a real effect the test can miss


def test_cox_without_events_in_one_group_gives_no_estimate():
    agg = survival.aggregate_patients([5, 6, 7, 8], [1, 1, 0, 0], ["A", "A", "B", "B"])
    assert survival.cox_two_groups(agg, "B", "A") is None


def test_at_risk_table_counts_patients_still_followed():
    agg = survival.aggregate_patients([10, 100, 200, 400], [1, 0, 1, 0])
    table = survival.fit(agg, at_risk_months=[0, 3, 6, 12]).at_risk
    assert table["at_risk"].tolist() == [4, 3, 2, 1]  # 3 months = 91.3 days


def _survival_db(tmp_path, data: pd.DataFrame):
    ids = [f"P{i:05d}" for i in range(len(data))]
    dates = [INDEX + timedelta(days=int(t)) for t in data["time"]]
    patients = pd.DataFrame({
        "patient_id": ids, "site": "S1",
        "sex": np.where(data["group"] == "A", "F", "M"), "birth_year": 1950,
        "death_date": [d if e else None for d, e in zip(dates, data["event"], strict=True)],
        "last_followup_date": dates, "smoking_status": None,
    })
    db = snapshot_database({"patients": patients}, tmp_path, "surv-test")
    frame = pd.DataFrame({"patient_id": ids, "index_date": INDEX, "index_line": None})
    return db, materialize_frame(db, "all", frame)


def test_kaplan_meier_on_a_snapshot_equals_per_patient_fit(tmp_path):
    data = _random_patients(1500, seed=5)
    data["group"] = np.where(data["group"] == "A", "A", "B")
    db, cohort = _survival_db(tmp_path, data)
    result = survival.kaplan_meier(cohort, "os", "sex")
    assert result.summary["stratum"].tolist() == ["Female", "Male"]
    for group, label in (("A", "Female"), ("B", "Male")):
        part = data[data["group"] == group]
        kmf = KaplanMeierFitter().fit(part["time"], part["event"])
        row = result.summary.set_index("stratum").loc[label]
        assert row["n"] == len(part) and row["events"] == part["event"].sum()
        assert row["median_days"] == kmf.median_survival_time_
    ref = multivariate_logrank_test(data["time"], data["group"], data["event"])
    assert result.logrank.p_value == pytest.approx(ref.p_value, rel=1e-7)
    assert result.hazard_ratio.group == "Male" and result.hazard_ratio.reference == "Female"
    db.close()


def _pfs_tables():
    d = INDEX
    patients = pd.DataFrame({
        "patient_id": ["A", "B", "C", "D"], "site": "S1", "sex": "F", "birth_year": 1960,
        "death_date": [None, d + timedelta(days=300), None, d + timedelta(days=50)],
        "last_followup_date": [d + timedelta(days=500), d + timedelta(days=300),
                               d + timedelta(days=400), d + timedelta(days=50)],
        "smoking_status": None,
    })
    assessments = pd.DataFrame({
        "patient_id": ["A", "A", "A", "B", "C", "C"],
        "line_number": 1,
        "assessment_date": [d + timedelta(days=x) for x in (60, 120, 180, 60, -10, 90)],
        "response": ["SD", "PD", "PD", "PR", "PD", "SD"],
    })
    return {"patients": patients, "tumor_assessments": assessments}


def test_os_and_pfs_times_per_patient(tmp_path):
    db = snapshot_database(_pfs_tables(), tmp_path, "pfs-test")
    frame = pd.DataFrame({"patient_id": list("ABCD"), "index_date": INDEX, "index_line": 1})
    cohort = materialize_frame(db, "pfs", frame)
    # A: first PD at 120; B: death at 300 is > 60 days after the last scan (60): censored there;
    # C: PD before index ignored, censored at the last assessment (90); D: no assessment, left
    # out (tests/unit/test_endpoints.py works through every rule)
    assert survival.patient_times(cohort, "pfs") == [
        ("A", 120, True), ("B", 60, False), ("C", 90, False)]
    assert survival.patient_times(cohort, "os") == [
        ("A", 500, False), ("B", 300, True), ("C", 400, False), ("D", 50, True)]
    db.close()


def test_pfs_without_any_assessment_says_why(tmp_path):
    tables = _pfs_tables()
    tables.pop("tumor_assessments")
    db = snapshot_database(tables, tmp_path, "pfs-empty")
    frame = pd.DataFrame({"patient_id": list("ABCD"), "index_date": INDEX, "index_line": 1})
    cohort = materialize_frame(db, "pfs", frame)
    result = survival.kaplan_meier(cohort, "pfs")
    assert result.is_empty and "tumour assessment" in result.empty_reason
    assert result.curve.empty
    assert survival.kaplan_meier(cohort, "os").empty_reason is None
    db.close()


def test_stratified_cox_equals_lifelines_strata_fit():
    data = _random_patients(2500, seed=13)
    rng = np.random.default_rng(2)
    data["site"] = rng.choice(["s1", "s2", "s3"], size=len(data))
    # a site effect on the baseline hazard that the stratified model must absorb
    data["time"] = np.maximum(1, (data["time"] * data["site"].map(
        {"s1": 1.0, "s2": 0.5, "s3": 2.0})).round().astype(int))
    two = data[data["group"].isin(["A", "B"])]
    agg = survival.aggregate_patients(two["time"], two["event"], two["group"])
    parts = []
    for site, part in two.groupby("site"):
        parts.append(survival.aggregate_patients(part["time"], part["event"], part["group"])
                     .assign(within=site))
    mine = survival.cox_two_groups(pd.concat(parts, ignore_index=True), "B", "A")
    frame = pd.DataFrame({"t": two["time"], "e": two["event"].astype(int),
                          "x": (two["group"] == "B").astype(int), "site": two["site"]})
    ref = CoxPHFitter().fit(frame, "t", "e", strata=["site"]).summary.loc["x"]
    assert mine.coef == pytest.approx(ref["coef"], abs=1e-6)
    assert mine.se == pytest.approx(ref["se(coef)"], rel=1e-5)
    assert "stratified (3 strata)" in mine.method
    unstratified = survival.cox_two_groups(agg, "B", "A")
    assert abs(unstratified.coef - mine.coef) > 1e-4  # stratification really changes the fit


def test_two_cohorts_compared_as_strata_equal_lifelines_per_patient_fits(tmp_path):
    data = _random_patients(800, seed=11)
    db, everyone = _survival_db(tmp_path, data)
    group_b = everyone.frame()[data["group"].to_numpy() == "B"]
    cohort_b = materialize_frame(db, "b", group_b)
    result = survival.compare_cohorts([(everyone, "All"), (cohort_b, "B")], "os", ["note"])
    medians = result.summary.set_index("stratum")["median_days"]
    for label, part in (("All", data), ("B", data[data["group"] == "B"])):
        kmf = KaplanMeierFitter().fit(part["time"], part["event"])
        assert medians[label] == kmf.median_survival_time_
    assert result.hazard_ratio.group == "B" and result.hazard_ratio.reference == "All"
    assert "note" in result.notes
    assert survival.compare_cohorts([], "os", ["A: empty"]).empty_reason == "A: empty"
    db.close()


def test_milestones_rmst_and_follow_up_equal_lifelines_per_patient_fits():
    from lifelines.utils import restricted_mean_survival_time

    data = _random_patients(1200, seed=17)
    agg = survival.aggregate_patients(data["time"], data["event"], data["group"])
    result = survival.fit(agg, "os", None, milestone_months=(3, 6, 12), horizon_months=12)
    for group, part in data.groupby("group"):
        kmf = KaplanMeierFitter().fit(part["time"], part["event"])
        marks = result.milestones[result.milestones["stratum"] == group].set_index("time_months")
        for month in (3, 6, 12):
            day = month * DAYS_PER_MONTH
            assert marks.loc[month, "survival"] == pytest.approx(
                kmf.survival_function_at_times(day).iloc[0], rel=1e-10)
            ci = kmf.confidence_interval_.loc[:day].iloc[-1]
            assert marks.loc[month, "ci_lower"] == pytest.approx(ci.iloc[0], rel=1e-8)
            assert marks.loc[month, "ci_upper"] == pytest.approx(ci.iloc[1], rel=1e-8)
        rmst = result.rmst.set_index("stratum").loc[group]
        ref = restricted_mean_survival_time(kmf, t=12 * DAYS_PER_MONTH)
        assert rmst["rmst_months"] * DAYS_PER_MONTH == pytest.approx(ref, rel=1e-6)
        reverse = KaplanMeierFitter().fit(part["time"], ~part["event"])
        follow = result.follow_up.set_index("stratum").loc[group]
        assert follow["median_months"] * DAYS_PER_MONTH == reverse.median_survival_time_


def test_rmst_variance_by_hand_and_difference_between_groups():
    # times 1, 2, 3+, 4 (horizon 4): S = 3/4 on [1,2), 2/4 on [2,4); area = 1 + 0.75 + 1 = 2.75
    times, surv = np.array([0, 1, 2, 3, 4]), np.array([1, 0.75, 0.5, 0.5, 0.0])
    events, at_risk = np.array([0, 1, 1, 0, 1]), np.array([4, 4, 3, 2, 1])
    rmst, variance = survival.restricted_mean(times, surv, events, at_risk, 4.0)
    assert rmst == pytest.approx(2.75)
    # event at 1: area after = 0.75 + 1 = 1.75, d/(n(n-d)) = 1/12; at 2: area 1, 1/6
    assert variance == pytest.approx(1.75 ** 2 / 12 + 1.0 / 6)
    assert survival.restricted_mean(times[:4], surv[:4], events[:4], at_risk[:4], 5.0) is None
    data = _random_patients(1500, seed=23)
    two = data[data["group"].isin(["A", "B"])]
    agg = survival.aggregate_patients(two["time"], two["event"], two["group"])
    result = survival.fit(agg, horizon_months=12)
    diff = result.rmst_difference
    assert (diff.group, diff.reference) == ("B", "A")  # the default pair: second vs first
    table = result.rmst.set_index("stratum")["rmst_months"]
    assert diff.difference_months == pytest.approx(table["B"] - table["A"])
    assert diff.ci_lower_months < diff.difference_months < diff.ci_upper_months
    assert diff.difference_months < 0 and diff.p_value < 0.05  # B has the shorter scale


def test_median_ci_of_a_single_patient_is_not_a_point():
    result = survival.fit(survival.aggregate_patients([118], [1]))
    row = result.summary.iloc[0]
    assert row["median_days"] == 118
    assert row["median_ci_lower_days"] is None and row["median_ci_upper_days"] is None


def test_small_groups_warn_and_many_groups_say_why_there_is_no_single_hr():
    agg = survival.aggregate_patients([5, 6, 7, 8, 9, 10] * 3, [1, 1, 0, 1, 0, 1] * 3,
                                      ["A"] * 6 + ["B"] * 6 + ["C"] * 6)
    result = survival.fit(agg)
    assert result.hazard_ratio is None
    assert any("no single hazard ratio" in note for note in result.notes)
    assert len(result.warnings) == 3 and "fewer than 10 patients" in result.warnings[0]
    picked = survival.fit(agg, hr_groups=("C", "A"))
    assert picked.hazard_ratio.direction == "C vs A"
    unknown = survival.fit(agg, hr_groups=("Z", "A"))
    assert unknown.hazard_ratio is None and "Z is not a group" in unknown.notes[0]


def test_logrank_trend_equals_logrank_for_two_groups_and_detects_an_ordered_effect():
    data = _random_patients(2000, seed=29)
    two = data[data["group"].isin(["A", "B"])]
    agg2 = survival.aggregate_patients(two["time"], two["event"], two["group"])
    trend, plain = survival.logrank_trend(agg2, ["A", "B"]), survival.logrank(agg2, ["A", "B"])
    assert trend.statistic == pytest.approx(plain.statistic, rel=1e-9) and trend.df == 1
    # scales B 200 < A 300 < C 420: ordered B, A, C the hazard falls steadily
    agg = survival.aggregate_patients(data["time"], data["event"], data["group"])
    ordered = survival.logrank_trend(agg, ["B", "A", "C"])
    assert ordered.p_value < 1e-6
    # the same groups in a non-monotone order have a much weaker trend
    assert survival.logrank_trend(agg, ["A", "B", "C"]).statistic < ordered.statistic


def test_ecog_each_level_is_its_own_stratum_with_a_trend_test(tmp_path):
    data = _random_patients(300, seed=31)
    ecog = pd.DataFrame({"patient_id": [f"P{i:05d}" for i in range(len(data))],
                         "assessment_date": INDEX, "ecog": [i % 4 for i in range(len(data))]})
    ids = [f"P{i:05d}" for i in range(len(data))]
    dates = [INDEX + timedelta(days=int(t)) for t in data["time"]]
    patients = pd.DataFrame({
        "patient_id": ids, "site": "S1", "sex": "F", "birth_year": 1950,
        "death_date": [d if e else None for d, e in zip(dates, data["event"], strict=True)],
        "last_followup_date": dates, "smoking_status": None})
    db = snapshot_database({"patients": patients, "performance_status": ecog},
                           tmp_path / "ecog", "ecog-test")
    cohort = materialize_frame(db, "all", pd.DataFrame(
        {"patient_id": ids, "index_date": INDEX, "index_line": None}))
    result = survival.kaplan_meier(cohort, "os", "ecog_level")
    assert result.summary["stratum"].tolist() == ["ECOG 0", "ECOG 1", "ECOG 2", "ECOG 3"]
    assert result.trend is not None and result.trend.df == 1
    assert result.hazard_ratio is None and any("no single hazard ratio" in n
                                               for n in result.notes)
    picked = survival.kaplan_meier(cohort, "os", "ecog_level", hr_groups=("ECOG 3", "ECOG 0"))
    assert picked.hazard_ratio.direction == "ECOG 3 vs ECOG 0"
    db.close()


def test_partner_milestones_and_rmst_are_read_off_the_released_curve():
    from queries.disclosure import policy_for, protect_result

    data = _random_patients(1500, seed=37)
    agg = survival.aggregate_patients(data["time"], data["event"], data["group"])
    exact = survival.fit(agg, milestone_months=(6, 12), horizon_months=12)
    released = protect_result(exact, policy_for("partner")).result
    curve = released.curve
    for row in released.milestones.itertuples():
        part = curve[(curve["stratum"] == row.stratum)
                     & (curve["time_days"] <= row.time_months * DAYS_PER_MONTH)]
        assert row.survival == pytest.approx(part["survival"].iloc[-1])
        # at risk from the released curve: a released count (>= 10, a multiple of 5)
        assert row.at_risk is pd.NA or (row.at_risk >= 10 and row.at_risk % 5 == 0)
    assert released.rmst["rmst_months"].notna().all()
    # the CI of the RMST comes from released (rounded) events and numbers at risk
    assert (released.rmst["ci_lower_months"] < released.rmst["rmst_months"]).all()
    assert released.follow_up.empty
    from components.tables import milestone_table

    assert "(CI not shown)" not in str(milestone_table(released))
