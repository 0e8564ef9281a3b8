"""Patient-reported outcomes panel data: scale scores over time, completion, PRO-CTCAE severity,
checked against a plain pandas computation on data/sample."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from queries.analyses.pro import ProOptions, patient_reported
from queries.cohort.kept_tables import materialize_sql
from queries.i18n import translator

FIRST_ICI = (
    "SELECT patient_id, min(start_date) AS index_date, "
    "arg_min(line_number, start_date) AS index_line FROM treatments "
    "WHERE drug_class IN ('anti-PD-1', 'anti-PD-L1', 'anti-CTLA-4') GROUP BY patient_id"
)


@pytest.fixture(scope="module")
def cohort(sample):
    return materialize_sql(sample.db, "pro_first_ici", FIRST_ICI, [])


@pytest.fixture(scope="module")
def reported(sample, cohort) -> pd.DataFrame:
    cur = sample.db.cursor()
    frame = cur.execute(
        f"SELECT o.*, c.index_date FROM {cohort.table} c "  # noqa: S608 - hashed name
        "JOIN patient_reported_outcomes o USING (patient_id)").df()
    frame["days"] = (pd.to_datetime(frame["assessment_date"])
                     - pd.to_datetime(frame["index_date"])).dt.days
    return frame


def _week(days: pd.Series, bin_weeks: int = 6) -> pd.Series:
    return days.where(days <= 0, (days / (7 * bin_weeks)).apply(math.ceil) * bin_weeks).clip(
        lower=0)


def test_global_health_status_over_time_equals_pandas_per_patient_means(cohort, reported):
    result = patient_reported(cohort, ProOptions())
    ghs = reported[(reported["item"] == "Global health status/QoL")
                   & reported["days"].between(-14, 48 * 7)].copy()
    ghs["week"] = _week(ghs["days"])
    per_patient = ghs.groupby(["week", "patient_id"])["score"].mean()
    expected = per_patient.groupby(level="week").agg(["mean", "std", "size"])
    scores = result.scores.set_index("week")
    assert list(scores.index) == list(expected.index)
    pd.testing.assert_series_equal(scores["mean_score"], expected["mean"], check_names=False, check_index_type=False)
    assert (scores["patients"] == expected["size"]).all()
    assert (scores["questionnaires"] == ghs.groupby("week").size()).all()
    half = 1.959963984540054 * expected["std"] / expected["size"] ** 0.5
    pd.testing.assert_series_equal(scores["ci_upper"] - scores["mean_score"], half,
                                   check_names=False, check_index_type=False)
    assert "higher is better" in result.definitions["scores"]
    assert result.empty_reason is None


def test_participants_are_the_patients_who_answered_the_scale_in_the_scores_window(cohort,
                                                                                  reported):
    result = patient_reported(cohort, ProOptions())
    ghs = reported[reported["item"] == "Global health status/QoL"]
    in_window = ghs[ghs["days"].between(-14, 48 * 7)]
    assert result.participants == in_window["patient_id"].nunique()
    assert "in the score's window" in result.definitions["completion"]


def test_questionnaire_completion_falls_over_time_since_index(cohort):
    completion = patient_reported(cohort).completion.set_index("week")["completion"]
    assert completion[0] > 0.7
    assert completion[48] < completion[6] < 1.0


def test_pro_ctcae_severity_shares_sum_to_one_per_item(cohort):
    severity = patient_reported(cohort).severity
    assert set(severity["item"]) >= {"Diarrhea frequency", "Fatigue severity"}
    shares = severity.groupby("item")["share"].sum()
    assert ((shares - 1).abs() < 1e-9).all()
    for item, rows in severity.groupby("item"):
        # each item answered on its own PRO-CTCAE scale, levels in score order
        assert list(rows["severity"]) == {
            "Rash presence": ["no", "yes"],
            "Diarrhea frequency": ["never", "rarely", "occasionally", "frequently",
                                   "almost constantly"],
            "Nausea frequency": ["never", "rarely", "occasionally", "frequently",
                                 "almost constantly"],
        }.get(item, ["none", "mild", "moderate", "severe", "very severe"]), item


def test_rash_presence_severity_has_exactly_the_levels_no_and_yes(cohort, reported):
    severity = patient_reported(cohort).severity
    rash = severity[severity["item"] == "Rash presence"]
    assert list(rash["severity"]) == ["no", "yes"]
    assert list(rash["level"]) == [0, 1]
    answers = reported[(reported["item"] == "Rash presence") & reported["days"].between(1, 84)]
    yes = answers.groupby("patient_id")["score"].max() == 1
    assert list(rash["patients"]) == [int((~yes).sum()), int(yes.sum())]
    assert (rash["denominator"] == len(yes)).all() and len(yes) > 500
    itching = severity[severity["item"] == "Itching severity"]
    assert list(itching["severity"]) == ["none", "mild", "moderate", "severe", "very severe"]


def test_rash_presence_over_time_is_the_share_of_patients_answering_yes_in_the_bin(cohort,
                                                                                   reported):
    result = patient_reported(cohort, ProOptions(instrument="PRO-CTCAE", item="Rash presence"))
    rash = reported[(reported["item"] == "Rash presence")
                    & reported["days"].between(-14, 48 * 7)].copy()
    rash["week"] = _week(rash["days"])
    yes = rash.groupby(["week", "patient_id"])["score"].max()
    expected = yes.groupby(level="week").mean()
    scores = result.scores.set_index("week")["mean_score"]
    pd.testing.assert_series_equal(scores, expected, check_names=False, check_index_type=False)
    assert scores.between(0, 1).all() and (scores > 0).all()
    bands = result.score_bands
    assert set(bands["band"]) == {0, 1}  # no and yes, one band each
    assert "answered yes at least once" in result.definitions["scores"]


def test_cohort_without_questionnaires_says_why(sample):
    empty = materialize_sql(sample.db, "pro_none",
                            "SELECT patient_id, diagnosis_date AS index_date, "
                            "NULL::INTEGER AS index_line FROM diagnoses "
                            "WHERE diagnosis_date < DATE '2016-01-01'", [])
    result = patient_reported(empty)
    assert result.empty_reason and "patient-reported" in result.empty_reason
    assert result.scores.empty
    finnish = translator("fi").text(result.empty_reason)  # shown in the user's language
    assert finnish != result.empty_reason and "potilaan ilmoittamia" in finnish


def test_partner_and_advisory_see_pro_counts_rounded_and_rates_from_released_counts(cohort):
    from queries.disclosure.adapters import protect_result
    from queries.disclosure.policy import Policy

    exact = patient_reported(cohort)
    for policy in (Policy("partner", min_count=10, rounding=5),
                   Policy("advisory", min_count=20, rounding=10)):
        released = protect_result(exact, policy).result
        scores = released.scores
        assert (scores["patients"] >= policy.min_count).all()
        assert (scores["patients"] % policy.rounding == 0).all()
        assert (scores["questionnaires"].dropna() % policy.rounding == 0).all()
        completion = released.completion.dropna(subset=["completion"])
        from_released = completion["patients_answered"] / completion["patients_followed"]
        assert ((completion["completion"] - from_released).abs() < 0.006).all()
        severity = released.severity
        assert severity["patients"].dropna().ge(policy.min_count).all()
        assert released.n % policy.rounding == 0


def test_score_bands_count_each_patients_bin_mean_in_its_10_point_band(cohort, reported):
    result = patient_reported(cohort, ProOptions())
    ghs = reported[(reported["item"] == "Global health status/QoL")
                   & reported["days"].between(-14, 48 * 7)].copy()
    ghs["week"] = _week(ghs["days"])
    means = ghs.groupby(["week", "patient_id"])["score"].mean().rename("score").reset_index()
    means["band"] = (means["score"].round(9) // 10).clip(upper=9).astype(int)
    expected = means.groupby(["week", "band"]).size()
    bands = result.score_bands.set_index(["week", "band"])["patients"]
    assert bands.to_dict() == expected.to_dict()


def test_partner_mean_from_released_bands_stays_close_to_the_exact_mean(cohort):
    from queries.disclosure.adapters import protect_result
    from queries.disclosure.policy import policy_for

    exact = patient_reported(cohort, ProOptions()).scores.set_index("week")
    released = protect_result(patient_reported(cohort, ProOptions()),
                              policy_for("partner")).result.scores.set_index("week")
    shift = (released["mean_score"] - exact.loc[released.index, "mean_score"]).abs()
    # 10-point bands move a patient at most 5 points; over a bin the shifts mostly cancel
    assert len(released) >= 5 and shift.max() < 2.0
    assert (released["mean_score"] != exact.loc[released.index, "mean_score"].round(1)).any()


@pytest.mark.parametrize("options", [ProOptions(), ProOptions(instrument="PRO-CTCAE",
                                                               item="Fatigue severity"),
                                     ProOptions(instrument="PRO-CTCAE", item="Rash presence")],
                         ids=["global-health", "pro-ctcae-item", "yes-no-item"])
def test_aggregates_made_in_the_engine_equal_those_made_from_patient_rows(cohort, options):
    """An engine without local rows (Spark) gets each table from SQL aggregates; on DuckDB the
    same SQL gives what pandas makes of the per-patient rows."""
    from queries.analyses import pro

    in_engine = pro._aggregates_in_engine(cohort, options)
    in_process = pro._aggregates_in_process(cohort, options)
    assert not in_process.scores.empty and not in_process.severity.empty
    for name in ("scores", "bands", "severity"):
        left, right = getattr(in_engine, name), getattr(in_process, name)
        pd.testing.assert_frame_equal(left, right, check_dtype=False, rtol=1e-9, obj=name)
    followed = [frame.sort_values("followed_days", ignore_index=True)
                for frame in (in_engine.followed_days, in_process.followed_days)]
    pd.testing.assert_frame_equal(*followed, check_dtype=False)

def test_partner_rash_share_is_released_yes_over_released_answering(cohort):
    from queries.disclosure.adapters import protect_result
    from queries.disclosure.policy import policy_for, protect_count

    options = ProOptions(instrument="PRO-CTCAE", item="Rash presence")
    exact = patient_reported(cohort, options)
    partner = policy_for("partner")
    released = protect_result(exact, partner).result
    bands = exact.score_bands.pivot(index="week", columns="band", values="patients")
    shown = released.scores.set_index("week")
    assert len(shown) >= 1
    for week, row in shown.iterrows():
        no, yes = (protect_count(int(bands.loc[week, b]), partner).value for b in (0, 1))
        assert row["mean_score"] == round(yes / (no + yes), 2)
    # a bin whose yes count is under the threshold is hidden, not given a merged band's midpoint
    few_yes = bands[bands[1].fillna(0) < partner.min_count].index
    assert not set(few_yes) & set(shown.index)
    assert "share answering yes" in released.definitions["scores_release"]
