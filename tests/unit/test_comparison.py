"""Study comparisons: SMD formulas, matching, weighting, outcomes against lifelines, and a
planted confounder that adjustment removes."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter

import cli
from queries.analyses import characteristics, propensity
from queries.analyses import panels as analysis_panels
from queries.analyses.comparison import (
    ComparisonError,
    ComparisonOptions,
    compare_groups,
    compare_levels,
    cox_group,
    patient_frame,
    risk_contrast,
    split_level_counts,
    weighted_km,
)
from queries.cohort.importing import load_definition
from queries.cohort.materialize import materialize_definition
from queries.disclosure import policy_for, protect_result
from queries.disclosure.release import released_levels
from queries.snapshot.files import open_snapshot

# --- SMD, hand-worked ---------------------------------------------------------------------


def test_smd_of_complete_separation_is_infinite_not_zero():
    assert propensity.smd_binary(1.0, 0.0) == math.inf
    assert propensity.smd_binary(0.0, 1.0) == -math.inf
    assert characteristics.smd_proportion(1.0, 0.0) == math.inf
    assert propensity.smd_categorical([1, 0, 0], [0, 1, 0]) == math.inf
    assert characteristics.smd_multicategory(np.array([0.0, 1.0]), np.array([1.0, 0.0])) \
        == math.inf


def test_smd_without_difference_and_variation_is_zero():
    assert propensity.smd_binary(1.0, 1.0) == 0.0
    assert propensity.smd_categorical([0, 1, 0], [0, 1, 0]) == 0.0


def test_smd_binary_hand_worked():
    # (0.6 - 0.4) / sqrt((0.24 + 0.24) / 2)
    assert propensity.smd_binary(0.6, 0.4) == pytest.approx(0.2 / math.sqrt(0.24))


def test_smd_continuous_hand_worked_with_and_without_weights():
    # means 2 and 3, variances (divisor n) 2/3 each: -1 / sqrt(2/3)
    a, b = np.array([1.0, 2.0, 3.0]), np.array([2.0, 3.0, 4.0])
    assert propensity.smd_continuous(a, b) == pytest.approx(-1 / math.sqrt(2 / 3))
    # weight 2 on the value 3 in A: mean 2.25, var 0.6875
    w = np.array([1.0, 1.0, 2.0])
    expected = (2.25 - 3) / math.sqrt((0.6875 + 2 / 3) / 2)
    assert propensity.smd_continuous(a, b, w, np.ones(3)) == pytest.approx(expected)


def test_smd_categorical_of_two_levels_equals_binary():
    assert propensity.smd_categorical([0.3, 0.7], [0.5, 0.5]) == pytest.approx(
        abs(propensity.smd_binary(0.7, 0.5)))


# --- matching and weighting ---------------------------------------------------------------


def test_matching_is_one_to_one_within_caliper_and_repeatable():
    rng = np.random.default_rng(4)
    a, b = rng.normal(0.5, 1, 300), rng.normal(0, 1, 500)
    pairs = propensity.match_nearest(a, b, 0.05, seed=11)
    assert len({i for i, _ in pairs}) == len(pairs) == len({j for _, j in pairs})
    assert all(abs(a[i] - b[j]) <= 0.05 for i, j in pairs)
    assert pairs == propensity.match_nearest(a, b, 0.05, seed=11)
    assert len(pairs) > 250


def test_matching_takes_the_nearest_free_control():
    pairs = propensity.match_nearest(np.array([0.0, 0.1]), np.array([0.05, 1.0, -0.5]), 0.6,
                                     seed=0)
    # whoever goes first takes 0.05; the other takes -0.5 (1.0 is outside the caliper)
    assert sorted(pairs) in ([(0, 0), (1, 2)], [(0, 2), (1, 0)])


def test_stabilised_weights_and_trimming():
    score = np.array([0.5, 0.25, 0.02, 0.5])
    group = np.array([1.0, 0.0, 1.0, 0.0])
    w = propensity.stabilised_weights(score, group, trim=0.05)
    assert w[0] == pytest.approx(0.5 / 0.5)
    assert w[1] == pytest.approx(0.5 / 0.75)
    assert w[2] == 0.0  # trimmed: outside [0.05, 0.95]


def test_risk_contrast_hand_worked():
    out = risk_contrast(0.5, 100, 0.25, 100)
    se = math.sqrt(0.25 / 100 + 0.1875 / 100)
    assert out["difference"] == pytest.approx(0.25)
    assert out["diff_ci_lower"] == pytest.approx(0.25 - 1.959964 * se, rel=1e-5)
    assert out["ratio"] == pytest.approx(2.0)


# --- outcomes against lifelines -----------------------------------------------------------


def _survival_frame(n: int, seed: int, days: bool = True) -> pd.DataFrame:
    """Two groups, exponential times; whole days (with ties) or continuous (no ties)."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 2, n).astype(float)
    time = rng.exponential(300 * np.where(group == 1, 1.4, 1.0))
    censor = rng.uniform(50, 900, n)
    if days:
        time, censor = np.ceil(time), np.ceil(censor)
    return pd.DataFrame({"T": np.minimum(time, censor), "E": time <= censor, "_group": group,
                         "_weight": rng.uniform(0.3, 3.0, n), "_pair": np.arange(n) // 2})


def test_weighted_km_equals_lifelines():
    frame = _survival_frame(400, 1)
    curve = weighted_km(frame["T"].to_numpy(), frame["E"].to_numpy(), frame["_weight"].to_numpy())
    kmf = KaplanMeierFitter().fit(frame["T"], frame["E"], weights=frame["_weight"])
    expected = kmf.survival_function_.iloc[:, 0]
    got = curve.set_index("time_days")["survival"]
    common = expected.index.intersection(got.index)
    assert len(common) > 100
    np.testing.assert_allclose(got.loc[common], expected.loc[common], rtol=1e-9)


def _lifelines(frame: pd.DataFrame, weights: bool, cluster: bool):
    columns = ["T", "E", "_group"] + (["_weight"] if weights else []) + (
        ["_pair"] if cluster else [])
    model = CoxPHFitter().fit(frame[columns], "T", "E", weights_col="_weight" if weights
                              else None, cluster_col="_pair" if cluster else None,
                              robust=weights or cluster)
    lower, upper = np.exp(model.confidence_intervals_.loc["_group"].to_numpy())
    return math.exp(model.params_["_group"]), lower, upper


@pytest.mark.parametrize(("weighted", "cluster"), [(False, False), (True, False), (True, True)])
def test_cox_equals_lifelines_robust_with_the_same_weights_and_clusters(weighted, cluster):
    frame = _survival_frame(600, 2, days=False)  # no tied times: Breslow = lifelines' Efron
    effect = cox_group(frame, "T", "E", weighted=weighted, cluster=cluster)
    hr, lower, upper = _lifelines(frame, weighted, cluster)
    assert effect is not None
    assert effect.hr == pytest.approx(hr, rel=1e-7)
    assert effect.ci_lower == pytest.approx(lower, rel=1e-6)
    assert effect.ci_upper == pytest.approx(upper, rel=1e-6)


def test_cox_with_tied_days_stays_close_to_lifelines_efron():
    frame = _survival_frame(600, 3)
    effect = cox_group(frame, "T", "E", weighted=True, cluster=True)
    hr, lower, upper = _lifelines(frame, True, True)
    assert effect.hr == pytest.approx(hr, rel=0.01)
    assert effect.ci_upper / effect.ci_lower == pytest.approx(upper / lower, rel=0.01)


# --- the whole comparison -----------------------------------------------------------------

PLANTED_HR = 0.7


def _confounded(n: int, seed: int) -> pd.DataFrame:
    """Younger, fitter patients get A more often and live longer; A's own hazard ratio given
    age and ECOG is PLANTED_HR."""
    rng = np.random.default_rng(seed)
    age = rng.normal(65, 10, n)
    ecog = rng.choice(["ECOG 0-1", "ECOG ≥ 2"], n, p=[0.75, 0.25])
    frail = (ecog == "ECOG ≥ 2").astype(float)
    p_a = 1 / (1 + np.exp(-(-0.08 * (age - 65) - 1.5 * frail)))
    in_a = rng.uniform(size=n) < p_a
    log_hazard = np.log(PLANTED_HR) * in_a + 0.04 * (age - 65) + 0.9 * frail
    time = np.ceil(rng.exponential(400 * np.exp(-log_hazard)))
    censor = np.ceil(rng.uniform(100, 2000, n))
    frame = pd.DataFrame({
        "patient_id": [f"p{i}" for i in range(n)], "index_date": pd.Timestamp("2020-01-01"),
        "age": age, "sex": rng.choice(["Female", "Male"], n), "ecog": ecog,
        "os_days": np.minimum(time, censor), "os_event": time <= censor,
        "pfs_days": np.minimum(time, censor) / 2, "pfs_event": time <= censor,
        "bor": rng.choice(["PR", "SD", "PD"], n), "severe_irae": rng.uniform(size=n) < 0.1})
    frame["responder"] = frame["bor"] == "PR"
    return frame[in_a].reset_index(drop=True), frame[~in_a].reset_index(drop=True)


@pytest.mark.parametrize("method", ["match", "iptw"])
def test_adjustment_recovers_the_planted_effect_that_the_crude_hr_misses(method):
    a, b = _confounded(6000, 7)
    options = ComparisonOptions(covariates=("age", "sex", "ecog"), method=method,
                                endpoints=("os",))
    result = compare_groups(a, b, "A", "B", options)
    os_ = result.outcomes[0]
    assert os_.crude.hr < os_.adjusted.hr  # confounding makes A look better than it is
    assert os_.crude.ci_upper < PLANTED_HR  # the crude CI misses the planted effect
    assert os_.adjusted.ci_lower <= PLANTED_HR <= os_.adjusted.ci_upper
    assert (result.balance["smd_before"].abs() > 0.1).any()
    assert (result.balance["smd_after"].abs() <= 0.1).all()
    arms = result.arms.set_index("arm")
    assert arms.loc["A", "analysed"] + arms.loc["A", "unmatched"] == len(a)


def test_comparing_a_cohort_with_itself_says_so_and_does_not_test():
    a, _ = _confounded(400, 3)
    result = compare_groups(a, a.copy(), "A", "A again")
    assert result.identical
    assert result.outcomes == [] and result.binary == []
    assert "same patients" in result.warnings[0]


def test_patients_in_both_cohorts_follow_the_stated_rule():
    a, b = _confounded(2000, 5)
    shared = a.iloc[:30]
    b2 = pd.concat([b, shared], ignore_index=True)
    options = ComparisonOptions(covariates=("age", "ecog"), endpoints=("os",))
    excluded = compare_groups(a, b2, "A", "B", options)
    assert excluded.overlap == 30
    arms = excluded.arms.set_index("arm")
    assert arms.loc["A", "after_overlap"] == len(a) - 30
    assert arms.loc["B", "after_overlap"] == len(b)
    kept_in_a = compare_groups(a, b2, "A", "B", ComparisonOptions(
        covariates=("age", "ecog"), endpoints=("os",), overlap="a")).arms.set_index("arm")
    assert kept_in_a.loc["A", "after_overlap"] == len(a)
    assert any("30 patients are in both" in w for w in excluded.warnings)


def test_a_partner_is_told_where_the_patients_in_both_cohorts_went():
    a, b = _confounded(2000, 5)
    b2 = pd.concat([b, a.iloc[:30]], ignore_index=True)
    exact = compare_groups(a, b2, "A: first", "B: second", ComparisonOptions(
        covariates=("age", "ecog"), endpoints=("os",), overlap="b"))
    released = protect_result(exact, policy_for("partner")).result
    assert "30 patients are in both cohorts; they are kept in B: second only." in exact.warnings
    assert "30 patients are in both cohorts; they are kept in B: second only." in \
        released.warnings  # released: 30 is a multiple of 5 (it read "the overlap rule 'b'")


def test_matching_gives_the_same_result_twice():
    a, b = _confounded(1500, 9)
    options = ComparisonOptions(covariates=("age", "ecog"), endpoints=("os",), seed=3)
    first = compare_groups(a, b, "A", "B", options)
    second = compare_groups(a, b, "A", "B", options)
    assert first.outcomes[0].adjusted == second.outcomes[0].adjusted
    pd.testing.assert_frame_equal(first.balance, second.balance)


def test_subgroups_have_interaction_p_and_a_multiplicity_note():
    a, b = _confounded(3000, 12)
    result = compare_groups(a, b, "A", "B", ComparisonOptions(
        covariates=("age", "ecog"), endpoints=("os",), subgroups=("sex",)))
    assert set(result.subgroups["level"]) == {"Female", "Male"}
    assert result.subgroups["interaction_p"].between(0, 1).all()
    assert any("multiple comparisons" in w for w in result.warnings)


def test_unknown_covariate_is_a_clear_error():
    a, b = _confounded(200, 1)
    with pytest.raises(ComparisonError, match="unknown covariate"):
        compare_groups(a, b, "A", "B", ComparisonOptions(covariates=("shoe_size",)))


# --- protected roles and the command line -------------------------------------------------

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
MELANOMA = Path(__file__).resolve().parents[1] / "cohorts" / "melanoma_first_ici.json"
LEVELS = "nivolumab + ipilimumab,nivolumab"


@pytest.fixture(scope="module")
def melanoma(sample):
    return materialize_definition(sample.db, load_definition(json.loads(MELANOMA.read_text())))


@pytest.mark.parametrize("method", ["match", "iptw"])
def test_partner_gets_released_counts_and_no_model_based_estimate(melanoma, method):
    options = ComparisonOptions(method=method, endpoints=("os",), subgroups=("sex",))
    exact = compare_levels(melanoma, "regimen", *LEVELS.split(","), options)
    released = protect_result(exact, policy_for("partner")).result
    counts = [*released.arms[["cohort", "after_overlap", "analysed"]].to_numpy().ravel(),
              *released.levels["n"], *released.propensity["weight"],
              *released.subgroups[["n_a", "n_b"]].to_numpy().ravel()]
    assert all(math.isnan(c) or (c % 5 == 0 and c >= 10) for c in counts)
    assert all(o.crude is None and o.adjusted is None for o in released.outcomes)
    assert released.outcomes[0].aggregates.empty
    assert released.balance.loc[released.balance["kind"] == "continuous",
                                ["smd_before", "smd_after"]].isna().all().all()
    assert released.subgroups["hr"].isna().all()
    if method == "iptw":
        assert (released.propensity["stage"] == "before").all()
        adjusted = released.binary[0].table.set_index("stage").loc["adjusted"]
        assert math.isnan(adjusted["risk_a"])
    orr = released.binary[0].table.set_index("stage").loc["crude"]
    assert orr["risk_a"] == pytest.approx(orr["events_a"] / orr["n_a"])
    assert any("not released to your role" in w for w in released.warnings)


@pytest.mark.parametrize("field", ["regimen", "ecog", "pdl1", "stage"])
def test_split_levels_are_counted_in_the_engine_as_the_split_compares_them(melanoma, field):
    frame = patient_frame(melanoma)
    expected = frame[field].astype("string").value_counts()
    counts = split_level_counts(melanoma, field)
    assert dict(counts) == {str(k): int(v) for k, v in expected.items()}
    assert [n for _level, n in counts] == sorted((n for _level, n in counts), reverse=True)
    # every level offered can be compared: a missing value is no level ("Unknown" was offered
    # and then refused as "not a level")
    known = {str(v) for v in frame[field].dropna().astype("string")}
    assert {level for level, _n in counts} == known


def test_a_partner_is_offered_only_the_levels_whose_count_is_released(melanoma):
    counts = [("big", 120), ("small", 4), ("ten", 10)]
    assert released_levels(counts, "clinician") == ["big", "small", "ten"]
    assert released_levels(counts, "partner") == ["big", "ten"]
    regimens = split_level_counts(melanoma, "regimen")
    assert released_levels(regimens, "partner") == [level for level, n in regimens if n >= 10]


def test_the_study_panel_is_computed_once_for_its_view_and_its_download(melanoma):
    options = ComparisonOptions(covariates=("age", "sex"), endpoints=("os",))
    first = analysis_panels.study_levels_panel(melanoma, "regimen", *LEVELS.split(","), options)
    assert analysis_panels.study_levels_panel(melanoma, "regimen", *LEVELS.split(","),
                                              options) is first
    other = analysis_panels.study_levels_panel(melanoma, "regimen", *LEVELS.split(","),
                                               replace(options, method="iptw"))
    assert other is not first and other.options.method == "iptw"


def test_partner_categorical_smd_is_recomputed_from_released_level_counts(melanoma):
    exact = compare_levels(melanoma, "regimen", *LEVELS.split(","),
                           ComparisonOptions(endpoints=("os",)))
    released = protect_result(exact, policy_for("partner")).result
    levels = released.levels
    ecog = levels[(levels["key"] == "ecog") & (levels["stage"] == "before")]
    table = ecog.pivot_table(index="level", columns="arm", values="n", aggfunc="sum")
    if table.isna().to_numpy().any():
        pytest.skip("a withheld ECOG level in this sample")
    p_a = table["A"] / table["A"].sum()
    p_b = table["B"] / table["B"].sum()
    expected = (propensity.smd_binary(p_a.iloc[1], p_b.iloc[1]) if len(p_a) == 2
                else propensity.smd_categorical(list(p_a), list(p_b)))
    got = released.balance.set_index("key").loc["ecog", "smd_before"]
    assert got == pytest.approx(expected)


def test_cli_compare_prints_every_section_as_json(capsys, tmp_path):
    code = cli.main(["compare", "--snapshot", str(SAMPLE), str(MELANOMA), "--split", "regimen",
                     "--levels", LEVELS, "--covariates", "age,sex,ecog,stage",
                     "--method", "match", "--json", "--cache-dir", str(tmp_path)])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["contrast"] == "nivolumab + ipilimumab vs nivolumab"
    assert {"arms", "balance", "propensity", "outcomes", "binary", "definitions"} <= set(data)
    assert "robust (sandwich)" in data["outcomes"][0]["adjusted"]["method"]


def test_cli_compare_names_a_wrong_level(capsys, tmp_path):
    code = cli.main(["compare", "--snapshot", str(SAMPLE), str(MELANOMA), "--split", "regimen",
                     "--levels", "Nivolumab,nivolumab", "--cache-dir", str(tmp_path)])
    assert code == 2
    assert "'Nivolumab' is not a level of regimen" in capsys.readouterr().err


def test_cli_compare_of_a_cohort_with_itself_reports_it(capsys, tmp_path):
    code = cli.main(["compare", "--snapshot", str(SAMPLE), str(MELANOMA), str(MELANOMA),
                     "--cache-dir", str(tmp_path)])
    assert code == 0
    assert "same patients" in capsys.readouterr().out


def test_side_by_side_survival_of_a_cohort_with_itself_makes_no_test(melanoma):
    from queries.analyses import survival

    result = survival.compare_cohorts([(melanoma, "A"), (melanoma, "B")], "os")
    assert result.logrank is None and result.hazard_ratio is None
    assert any("same patients" in note for note in result.notes)


def test_side_by_side_survival_states_how_many_patients_are_in_both(melanoma):
    from queries.analyses import survival

    women = materialize_definition(melanoma.db, load_definition({
        "schema_version": 1, "metadata": {"name": "women"},
        "index_event": {"kind": "first_checkpoint_inhibitor"},
        "inclusion_rules": [{"name": "women", "criteria": {"field": "sex", "op": "in",
                                                           "value": ["F"]}}]}))
    shared, identical = survival.cohort_overlap(melanoma, women)
    expected = len(set(melanoma.frame()["patient_id"]) & set(women.frame()["patient_id"]))
    assert (shared, identical) == (expected, False)
    result = survival.compare_cohorts([(melanoma, "A"), (women, "B")], "os")
    assert result.hazard_ratio is not None
    assert any(f"{expected} patients are in both" in note for note in result.notes)


# --- the confounding planted by the generator ---------------------------------------------

CONFOUNDERS = ("age", "ecog", "stage")


def _planted(snapshot: Path) -> float:
    truth = json.loads((snapshot / "ground_truth.json").read_text())
    return float(truth["planted_effects"]["os_hr_melanoma_combination"]["true_hr"])


def _combination_vs_anti_pd1(cohort, method: str):
    """The planted comparison: nivolumab + ipilimumab vs anti-PD-1 alone at the index line."""
    frame = patient_frame(cohort)
    combination = frame[frame["regimen"] == "nivolumab + ipilimumab"]
    anti_pd1 = frame[frame["regimen"].isin(["nivolumab", "pembrolizumab"])]
    return compare_groups(combination, anti_pd1, "nivolumab + ipilimumab", "anti-PD-1 alone",
                          ComparisonOptions(covariates=CONFOUNDERS, method=method,
                                            endpoints=("os",)))


def test_matching_on_the_sample_covers_the_planted_conditional_hr(melanoma):
    result = _combination_vs_anti_pd1(melanoma, "match")
    adjusted = result.outcomes[0].adjusted
    assert adjusted.ci_lower <= _planted(SAMPLE) <= adjusted.ci_upper
    assert (result.balance["smd_before"].abs() > 0.1).any()
    assert (result.balance["smd_after"].abs() <= 0.1).all()


@pytest.fixture(scope="module")
def melanoma_100k(tmp_path_factory):
    """Melanoma at first ICI on a generated 100,000-patient snapshot (the sample is too small
    to tell the crude from the adjusted hazard ratio)."""
    from synthetic.generator import generate_snapshot

    folder = tmp_path_factory.mktemp("snapshot-100k")
    generate_snapshot(100_000, 20261031, folder / "snap", progress=False)
    db = open_snapshot(folder / "snap", folder / "cache")
    yield folder / "snap", materialize_definition(
        db, load_definition(json.loads(MELANOMA.read_text())))
    db.close()


@pytest.mark.parametrize("method", ["match", "iptw"])
def test_adjustment_removes_the_planted_confounding_by_indication(melanoma_100k, method):
    snapshot, cohort = melanoma_100k
    planted = _planted(snapshot)
    result = _combination_vs_anti_pd1(cohort, method)
    crude, adjusted = result.outcomes[0].crude, result.outcomes[0].adjusted
    assert crude.ci_upper < planted  # the crude HR is clearly further from 1 than the truth
    assert adjusted.ci_lower <= planted <= adjusted.ci_upper
    assert adjusted.hr > crude.hr
    assert (result.balance["smd_after"].abs() <= 0.1).all()


@pytest.mark.parametrize("role", ["clinician", "partner"])
def test_the_comparisons_warnings_and_definitions_read_in_finnish(melanoma, role):
    from queries.i18n import translator

    options = ComparisonOptions(covariates=("age", "sex", "ecog"), endpoints=("os",),
                                subgroups=("sex",), overlap="a")
    exact = compare_levels(melanoma, "regimen", *LEVELS.split(","), options)
    released = protect_result(exact, policy_for(role)).result
    fi = translator("fi")
    said = [*released.warnings, *released.definitions]
    assert len(released.definitions) >= 6 and released.warnings
    assert [str(text) for text in said if fi.text(text) == str(text)] == []
    propensity_words = fi.text(released.definitions[0])
    assert "Ikä indeksipäivänä" in propensity_words and "Sukupuoli" in propensity_words


def test_a_comparison_that_cannot_be_made_says_why_in_the_users_language(melanoma):
    from queries.i18n import translator

    level = LEVELS.split(",")[0]
    for ask in (lambda: compare_levels(melanoma, "regimen", level, level),
                lambda: compare_levels(melanoma, "regimen", level, "Nivolumab"),
                lambda: compare_levels(melanoma, "regimen", *LEVELS.split(","),
                                       ComparisonOptions(caliper_sd=9.0))):
        with pytest.raises(ComparisonError) as raised:
            ask()
        message = raised.value.args[0]
        assert translator("fi").text(message) != str(message)


def test_the_level_chooser_opens_cohort_a_only_and_audits_levels_not_offered(monkeypatch):
    from types import SimpleNamespace

    from components import compare_study

    user = SimpleNamespace(username="pia", role="partner")
    opened = SimpleNamespace(cohort="cohort A")
    audited: list = []
    monkeypatch.setattr(compare_study, "require_role", lambda *roles: user)
    monkeypatch.setattr(compare_study, "open_current", lambda definition, snapshot:
                        (opened, True))
    monkeypatch.setattr(compare_study.comparison, "split_level_counts",
                        lambda cohort, key: [("nivolumab", 40), ("rare", 3)])
    monkeypatch.setattr(compare_study, "audit_query",
                        lambda _user, action, what, suppressed, detail: audited.append(
                            (action, what, suppressed, detail)))
    # cohort B is a saved cohort that no longer exists: the levels of A are still offered
    options, _same, first, second = compare_study.update_study_levels(
        "regimen", "current", None, None, "saved:gone")
    assert [o["value"] for o in options] == ["nivolumab"] and (first, second) == ("nivolumab",
                                                                                 None)
    assert audited == [("compare.study.levels", opened,
                        ["levels of regimen: 1 with few patients not offered"],
                        "cohort A; field=regimen")]


def test_the_level_chooser_names_levels_in_the_users_language(monkeypatch):
    """A level is offered by its shown name ("Nainen") with the data value kept as the value."""
    from types import SimpleNamespace

    from components import compare_study, i18n

    monkeypatch.setattr(i18n, "current_locale", lambda: "fi")
    monkeypatch.setattr(compare_study, "require_role",
                        lambda *roles: SimpleNamespace(username="cleo", role="clinician"))
    monkeypatch.setattr(compare_study, "open_current", lambda definition, snapshot:
                        (SimpleNamespace(cohort="cohort A"), True))
    monkeypatch.setattr(compare_study.comparison, "split_level_counts",
                        lambda cohort, key: [("Female", 60), ("Male", 50)])
    monkeypatch.setattr(compare_study, "audit_query", lambda *args: None)
    options, _same, first, _second = compare_study.update_study_levels(
        "sex", "current", None, None, None)
    assert options == [{"label": "Nainen", "value": "Female"}, {"label": "Mies", "value": "Male"}]
    assert first == "Female"
