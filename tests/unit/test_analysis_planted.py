"""Every planted effect of data/sample (ground_truth.json) is recovered within its 95 % CI.

The cohort follows the ground truth's index: first start of an immune checkpoint inhibitor,
its line_number the index line. The sample is seeded, so these are deterministic checks of
estimates against true parameters, each with the estimate's own confidence interval.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from queries.analyses import response, safety, survival
from queries.analyses.panels import AnalysisOptions, analyze
from queries.analyses.strata import strata_table
from queries.cohort.kept_tables import materialize_sql

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
FIRST_ICI = (
    "SELECT patient_id, min(start_date) AS index_date, "
    "arg_min(line_number, start_date) AS index_line FROM treatments "
    "WHERE drug_class IN ('anti-PD-1', 'anti-PD-L1', 'anti-CTLA-4') GROUP BY patient_id"
)
TPS = {"<1": "TPS < 1%", "1-49": "TPS 1-49%", ">=50": "TPS ≥ 50%", "untested": "Untested"}

pytestmark = pytest.mark.skipif(not (SAMPLE / "manifest.json").exists(),
                                reason="data/sample has not been generated yet")


@pytest.fixture(scope="module")
def truth():
    return json.loads((SAMPLE / "ground_truth.json").read_text())["planted_effects"]


@pytest.fixture(scope="module")
def cohorts(sample):
    db = sample.db
    ici = materialize_sql(db, "planted_ici", FIRST_ICI, [])
    types = strata_table(ici, "cancer_type")
    nsclc = materialize_sql(
        db, "planted_nsclc",
        f"SELECT c.* FROM {ici.table} c JOIN {types} s USING (patient_id) "  # noqa: S608
        "WHERE s.stratum = 'NSCLC'", [])
    return ici, nsclc


def test_orr_by_pdl1_tps_contains_true_orr(cohorts, truth):
    _, nsclc = cohorts
    # the ground truth's definition: unconfirmed CR/PR over response-evaluable patients
    result = response.best_overall_response(nsclc, "pdl1_tps", "evaluable", "unconfirmed")
    rates = result.rates.set_index("stratum")
    for group, true_orr in truth["orr_by_pdl1_tps"]["true_orr"].items():
        row = rates.loc[TPS[group]]
        assert row["denominator"] >= 100
        assert row["orr_ci_lower"] <= true_orr <= row["orr_ci_upper"], (group, row["orr"])
    assert rates.loc["TPS ≥ 50%", "orr"] > rates.loc["TPS < 1%", "orr"]
    assert result.test.p_value < 0.001


def test_os_hazard_ratio_tps_high_vs_negative_contains_truth(cohorts, truth):
    _, nsclc = cohorts
    result = survival.kaplan_meier(nsclc, "os", "pdl1_tps", hr_groups=("TPS ≥ 50%", "TPS < 1%"))
    hr = result.hazard_ratio
    assert hr.ci_lower <= truth["os_hr_pdl1_tps"]["true_hr"] <= hr.ci_upper, hr
    medians = result.summary.set_index("stratum")["median_months"]
    assert medians["TPS ≥ 50%"] > medians["TPS < 1%"]


def test_os_hazard_ratio_ecog_adjusted_as_ground_truth_says_contains_truth(cohorts, truth):
    ici, _ = cohorts
    # adjust_for: cancer type (strata), stage, PD-L1 TPS stratum, age at index >= 75 (the age
    # group's levels split at 75) -> stratified Cox model
    result = survival.kaplan_meier(ici, "os", "ecog",
                                   hr_adjust=("cancer_type", "stage", "pdl1_tps", "age_group"))
    hr = result.hazard_ratio
    assert (hr.group, hr.reference) == ("ECOG ≥ 2", "ECOG 0-1")
    assert hr.ci_lower <= truth["os_hr_ecog"]["true_hr"] <= hr.ci_upper, hr
    assert result.logrank.p_value < 1e-6


def test_severe_irae_rate_by_regimen_classes_contains_truth(cohorts, truth):
    ici, _ = cohorts
    options = safety.SafetyOptions(immune_only=True, index_line_only=True)
    rows = safety.adverse_events(ici, options).by_drug_classes.set_index("drug_classes")
    true_rate = truth["severe_irae_by_regimen"]["true_rate"]
    for group, label in (("anti-PD-1 + anti-CTLA-4", "anti-CTLA-4 + anti-PD-1"),
                         ("anti-PD-1 alone", "anti-PD-1")):
        row = rows.loc[label]
        lower, upper = response.clopper_pearson(int(row["patients_grade3plus"]),
                                                int(row["patients"]))
        assert lower <= true_rate[group] <= upper, (group, row["pct_grade3plus"])
    assert rows.loc["anti-CTLA-4 + anti-PD-1", "pct_grade3plus"] > 2 * rows.loc[
        "anti-PD-1", "pct_grade3plus"]


def test_severe_irae_cumulative_incidence_is_higher_with_anti_ctla4(cohorts, truth):
    ici, _ = cohorts
    result = safety.severe_irae_incidence(ici, by="drug_classes", milestone_months=(24.0,))
    marks = result.milestones.set_index("group")
    combo, mono = marks.loc["anti-CTLA-4 + anti-PD-1"], marks.loc["anti-PD-1"]
    # the planted rates (40 % vs 12 %, every event within follow-up) are what the incidence
    # approaches; death before the event competes, so it can only be lower than the rate
    assert combo["ci_lower"] > mono["ci_upper"]
    assert combo["ci_lower"] <= truth["severe_irae_by_regimen"]["true_rate"][
        "anti-PD-1 + anti-CTLA-4"]


def test_full_analysis_bundle_of_the_sample_is_json(cohorts):
    ici, _ = cohorts
    bundle = analyze(ici, AnalysisOptions(survival_strata="pdl1_tps",
                                          response_strata="pdl1_tps"))
    data = json.loads(json.dumps(bundle.to_dict()))
    assert data["n"] == ici.size
    assert set(data["survival"]) == {"os", "pfs"}
    assert data["survival"]["pfs"]["empty_reason"] is None
    assert data["characteristics"]["n"] == ici.size
    assert analyze(ici, AnalysisOptions(survival_strata="pdl1_tps",
                                        response_strata="pdl1_tps")) is bundle  # cached


def test_iocohort_analyze_prints_every_panel_as_json(cohorts, tmp_path, capsys):
    import cli

    ici, _ = cohorts
    definition = tmp_path / "first_ici.json"
    definition.write_text(json.dumps({"schema_version": 1,
                                      "metadata": {"name": "first checkpoint inhibitor"}}))
    code = cli.main(["analyze", "--snapshot", str(SAMPLE), str(definition), "--json",
                     "--cache-dir", str(tmp_path / "cache")])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["n"] == ici.size  # the compiled definition finds the same patients
    assert data["survival"]["os"]["summary"][0]["n"] == ici.size
    assert {"response", "safety", "characteristics"} <= set(data)


def test_every_stratification_labels_every_patient_with_its_levels(cohorts):
    from queries.analyses import strata

    ici, _ = cohorts
    cur = ici.db.cursor()
    for item in strata.list_stratifications():
        strat = strata.get(item["key"])
        rows = cur.execute(f"SELECT stratum, count(*) FROM ({strata.stratum_sql(ici, strat.key)}) "  # noqa: S608
                           "GROUP BY ALL").fetchall()
        assert sum(n for _, n in rows) == ici.size, strat.key
        labels = {label for label, _ in rows}
        if strat.levels:
            assert labels <= set(strat.levels) | {strata.OTHER_RESULT}, (strat.key, labels)
        assert len(labels) >= 2 or strat.key in ("msi", "tmb"), (strat.key, labels)
