"""``iocohort analyze`` takes every analysis option and reports bad ones by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli import build_parser
from cli.cohorts import analysis_options
from tests.unit.snapshot_factory import write_tiny_snapshot

DEFINITION = Path(__file__).resolve().parents[1] / "cohorts" / "nsclc_stage4_pdl1_high_ecog01.json"


def _args(*extra: str):
    return build_parser().parse_args(["analyze", "--snapshot", "x", "c.json", *extra])


def test_every_analysis_option_reaches_the_analysis_options():
    options = analysis_options(_args(
        "--endpoints", "os,pfs,dor", "--strata", "ecog", "--hr", "ECOG ≥ 2,ECOG 0-1",
        "--adjust", "stage,cancer_type", "--ci-method", "log", "--milestones", "3,6",
        "--horizon-months", "18", "--pfs-death-window-days", "90", "--no-next-line-censoring",
        "--response", "unconfirmed", "--response-denominator", "evaluable",
        "--response-strata", "none", "--ae-window", "100", "--ae-index-line-only",
        "--ae-immune-only", "--ae-treatment-emergent-days", "30"))
    assert options.endpoints == ("os", "pfs", "dor")
    assert options.hr_groups == ("ECOG ≥ 2", "ECOG 0-1")
    assert options.hr_adjust == ("stage", "cancer_type")
    assert (options.ci_method, options.milestone_months, options.horizon_months) == (
        "log", (3.0, 6.0), 18.0)
    assert options.endpoint_options.pfs_death_window_days == 90
    assert not options.endpoint_options.censor_at_next_line
    assert (options.response, options.response_denominator) == ("unconfirmed", "evaluable")
    assert options.response_strata is None
    assert (options.ae_window_days, options.ae_index_line_only, options.ae_immune_only) == (
        100, True, True)
    assert options.ae_treatment_emergent_days == 30
    assert analysis_options(_args("--ae-all-lines")).ae_treatment_emergent_days is None


@pytest.mark.parametrize(("extra", "message"), [
    (["--endpoints", "os,xyz"], "--endpoints: unknown xyz"),
    (["--strata", "nonsense"], "--strata: unknown stratification"),
    (["--hr", "A"], "--hr needs two groups"),
    (["--milestones", "six"], "--milestones"),
])
def test_bad_options_are_named(extra, message):
    with pytest.raises(ValueError, match=message):
        analysis_options(_args(*extra))


def test_analyze_json_carries_definitions_and_new_statistics(tmp_path, capsys):
    from cli import main

    write_tiny_snapshot(tmp_path / "snap")
    code = main(["analyze", "--snapshot", str(tmp_path / "snap"), str(DEFINITION), "--json",
                 "--cache-dir", str(tmp_path / "cache"), "--endpoints", "os,ttd"])
    out = capsys.readouterr().out
    assert code == 0
    data = json.loads(out)
    assert set(data["survival"]) == {"os", "ttd"}
    assert data["options"]["response"] == "confirmed"
    assert "definition" in data["response"]


def test_cox_covariates_reach_the_options_and_bad_ones_are_named():
    options = analysis_options(_args("--cox", "age,sex,ecog_level", "--robust"))
    assert options.cox_covariates == ("age", "sex", "ecog_level") and options.cox_robust
    with pytest.raises(ValueError, match="--cox: unknown stratification"):
        analysis_options(_args("--cox", "age,nonsense"))


def test_analyze_as_partner_prints_released_numbers_only(tmp_path, capsys):
    from cli import main

    write_tiny_snapshot(tmp_path / "snap")
    code = main(["analyze", "--snapshot", str(tmp_path / "snap"), str(DEFINITION), "--json",
                 "--cache-dir", str(tmp_path / "cache"), "--endpoints", "os", "--role",
                 "partner"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["irae_incidence"]["empty_reason"] == "shown to clinicians only for now"
    assert data["survival"]["os"]["follow_up"] == []


def test_analyze_prints_what_a_partner_or_the_advisory_board_receives(tmp_path, capsys):
    """``--role`` goes through the app's release path: the partner JSON is the released
    bundle (with the notice and the one released cohort size), the advisory output the
    plain summary of the Summaries page."""
    from cli import main
    from queries.analyses.panels import analyze
    from queries.cohort.catalog import build_catalog
    from queries.cohort.importing import import_definition
    from queries.cohort.materialize import materialize_definition
    from queries.disclosure.policy import policy_for
    from queries.disclosure.release import notice, release_result, released_size
    from queries.disclosure.summary import plain_summary
    from queries.snapshot.files import open_snapshot

    write_tiny_snapshot(tmp_path / "snap")
    args = ["analyze", "--snapshot", str(tmp_path / "snap"), str(DEFINITION), "--json",
            "--cache-dir", str(tmp_path / "cache"), "--endpoints", "os"]
    assert main([*args, "--role", "partner"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert main([*args, "--role", "advisory"]) == 0
    advisory = json.loads(capsys.readouterr().out)

    db = open_snapshot(tmp_path / "snap", tmp_path / "cache2")
    try:
        catalog = build_catalog(db)
        definition = import_definition(DEFINITION.read_text(), catalog).definition
        cohort = materialize_definition(db, definition, catalog)
        bundle = analyze(cohort, analysis_options(build_parser().parse_args(args)))
        expected = json.loads(json.dumps(release_result(bundle, "partner").result.to_dict()))
        summary = plain_summary(cohort).to_dict()
        size = released_size(bundle.n, "partner").display
    finally:
        db.close()
    assert printed["role"] == "partner" and printed["notice"] == notice(policy_for("partner"))
    assert printed["cohort_size"] == size
    for key in ("n", "survival", "response", "safety", "characteristics"):
        assert printed[key] == expected[key], key
    assert advisory == {"role": "advisory", "summary": summary}


def test_pro_option_names_a_scale_of_either_instrument_and_adds_the_panel():
    fatigue = analysis_options(_args("--pro", "fatigue"))
    assert (fatigue.pro.instrument, fatigue.pro.item) == ("EORTC QLQ-C30", "Fatigue")
    assert "pro" in fatigue.panels
    item = analysis_options(_args("--pro", "Diarrhea frequency")).pro
    assert (item.instrument, item.item) == ("PRO-CTCAE", "Diarrhea frequency")
    assert analysis_options(_args("--pro")).pro.item == "Global health status/QoL"
    assert "pro" not in analysis_options(_args()).panels
    with pytest.raises(ValueError, match="--pro: unknown scale 'tiredness'; choose from"):
        analysis_options(_args("--pro", "tiredness"))


def test_analyze_prints_the_patient_reported_panel_for_each_role(tmp_path, capsys):
    from cli import main

    sample = Path(__file__).resolve().parents[2] / "data" / "sample"
    definition = DEFINITION.parent / "melanoma_first_ici.json"
    args = ["analyze", "--snapshot", str(sample), str(definition), "--json", "--cache-dir",
            str(tmp_path / "cache"), "--endpoints", "os", "--pro"]
    assert main(args) == 0
    exact = json.loads(capsys.readouterr().out)["pro"]
    assert exact["options"]["item"] == "Global health status/QoL"
    assert exact["participants"] > 0 and exact["scores"] and exact["score_bands"]
    assert {row["severity"] for row in exact["severity"]} >= {"none", "moderate"}

    assert main([*args, "--role", "partner"]) == 0
    released = json.loads(capsys.readouterr().out)["pro"]
    assert released["scores"] and released["score_bands"] == []  # the histogram stays inside
    assert all(row["patients"] % 5 == 0 for row in released["scores"])
    assert "10-point bands" in " ".join(released["definitions"].values())

    assert main(["analyze", "--snapshot", str(sample), str(definition), "--endpoints", "os",
                 "--cache-dir", str(tmp_path / "cache"), "--pro", "fatigue"]) == 0
    assert "PRO EORTC QLQ-C30 Fatigue week 0: mean" in capsys.readouterr().out
