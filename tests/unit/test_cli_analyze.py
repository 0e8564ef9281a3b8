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
