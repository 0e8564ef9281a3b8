"""Downloads of the analysis panels (components/exports.py): a zip of tidy tables, one per
file, with a README defining the endpoint and every column; numbers rounded; headers in the
user's language; protected roles get the released numbers only."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import pytest

from components import exports, i18n
from components.panels import Shown
from queries.analyses import survival
from queries.analyses.endpoints import definition
from queries.analyses.strata import get
from queries.disclosure.release import release_result

TPS = get("pdl1_tps").levels[:3]


def _result(n: int = 300, seed: int = 3) -> survival.SurvivalResult:
    rng = np.random.default_rng(seed)
    groups = [TPS[i % 3] for i in range(n)]
    agg = survival.aggregate_patients(rng.integers(1, 900, size=n), rng.random(n) < 0.7, groups)
    result = survival.fit(agg, "os", "pdl1_tps", hr_ordered_extremes=True)
    result.definition = definition("os")
    return result


def _unzip(export: exports.Export, shown: Shown) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(exports.zip_bytes(export, shown))) as archive:
        return {name: archive.read(name).decode("utf-8") for name in archive.namelist()}


SHOWN = Shown({}, ("Women at first ICI",), "synthetic-io-1", "clinician")


def test_survival_download_is_one_tidy_table_per_file_with_a_readme():
    files = _unzip(exports.survival_export(_result()), SHOWN)
    assert set(files) == {"README.txt", "curve.csv", "medians.csv", "milestones.csv",
                          "rmst.csv", "follow_up.csv", "at_risk.csv", "tests.csv"}
    curve = pd.read_csv(io.StringIO(files["curve.csv"]))
    assert list(curve.columns) == ["Group", "Months since index", "Survival probability",
                                   "95% CI lower", "95% CI upper", "At risk", "Events",
                                   "Censored"]
    medians = pd.read_csv(io.StringIO(files["medians.csv"]))
    assert list(medians["Group"]) == list(TPS) and "Months since index" not in medians


def test_survival_download_has_the_log_rank_test_and_the_hazard_ratio_with_its_ci():
    result = _result()
    tests = pd.read_csv(io.StringIO(_unzip(exports.survival_export(result), SHOWN)["tests.csv"]))
    logrank = tests[tests["Test"] == "Log-rank test"].iloc[0]
    assert logrank["Statistic"] == round(result.logrank.statistic, 3)
    assert logrank["Degrees of freedom"] == 2
    hr = tests[tests["Test"] == "Hazard ratio"].iloc[0]
    assert hr["Groups compared"] == f"{TPS[2]} vs {TPS[0]}"
    assert (hr["Estimate"], hr["95% CI lower"], hr["95% CI upper"]) == (
        round(result.hazard_ratio.hr, 3), round(result.hazard_ratio.ci_lower, 4),
        round(result.hazard_ratio.ci_upper, 4))
    assert "Log-rank test for trend" in set(tests["Test"])


def test_numbers_are_rounded_not_printed_with_fifteen_decimals():
    text = _unzip(exports.survival_export(_result()), SHOWN)["curve.csv"]
    decimals = [len(cell.split(".")[1]) for line in text.splitlines()[1:]
                for cell in line.split(",") if "." in cell and cell.replace(".", "").isdigit()]
    assert decimals and max(decimals) <= 4
    assert exports.rounded(0.000123456, "p_value") == 0.000123
    assert exports.rounded(12.3456, "median_months") == 12.35


def test_readme_defines_the_endpoint_and_every_column():
    readme = " ".join(_unzip(exports.survival_export(_result()), SHOWN)["README.txt"].split())
    assert "Women at first ICI" in readme and "synthetic-io-1" in readme
    assert "Event: death from any cause" in readme
    assert "Censored:" in readme and "Denominator:" in readme
    for header in ("Survival probability", "At risk", "Groups compared", "p-value"):
        assert f" {header}: " in readme


def test_headers_and_readme_are_finnish_when_the_ui_is(monkeypatch):
    monkeypatch.setattr(i18n, "current_locale", lambda: "fi")
    files = _unzip(exports.survival_export(_result()), SHOWN)
    header = files["curve.csv"].splitlines()[0]
    assert "Group" not in header and "Months since index" not in header
    assert header.split(",")[0] == i18n.tr().gettext("Group")
    assert "Kohortti" in files["README.txt"]


def test_a_partner_download_holds_only_released_numbers():
    exact = _result(n=95, seed=5)
    released = release_result(exact, "partner").result
    files = _unzip(exports.survival_export(released), Shown({}, ("A",), "s", "partner"))
    medians = pd.read_csv(io.StringIO(files["medians.csv"]))
    assert set(medians["Patients"].astype(str)) <= {
        str(v) for v in released.summary["n"]} | set(released.summary.get("n_display", []))
    assert all(int(n) % 5 == 0 for n in medians["Patients"] if str(n).isdigit())
    curve = pd.read_csv(io.StringIO(files["curve.csv"]))
    assert len(curve) == len(released.curve) < len(exact.curve)
    assert "rounded to the nearest 5" in files["README.txt"]


@pytest.mark.parametrize("labels, expected", [
    (("Women at first ICI",), "Women-at-first-ICI_snap_survival_os"),
    (("A: ../../etc", "B: x"), "A-etc_vs_B-x_snap_survival_os"),
])
def test_export_names_carry_cohort_snapshot_and_panel_and_no_path(labels, expected):
    assert exports.export_name(labels, "snap", "survival", "os") == expected


def test_histology_levels_show_the_icd_o_3_name_with_the_code(monkeypatch):
    from components import figures as tables

    assert tables.level_text("histology", "8140/3") == "Adenocarcinoma (8140/3)"
    assert tables.level_text("histology", "9999/3") == "9999/3"  # unknown code: bare
    assert tables.level_text("sex", "Female") == "Female"
    monkeypatch.setattr(i18n, "current_locale", lambda: "fi")
    assert tables.level_text("histology", "8140/3") == "Adenokarsinooma (8140/3)"


def test_a_cut_survival_download_says_where_the_curves_end():
    result = survival.cut_at_risk(_result(), 25)
    files = _unzip(exports.survival_export(result), SHOWN)
    curve = pd.read_csv(io.StringIO(files["curve.csv"]))
    assert curve["At risk"].min() >= 25
    assert "fewer than 25 patients at risk" in files["README.txt"]


def test_endpoint_and_response_definitions_are_written_in_the_users_language():
    from queries.analyses.endpoints import EndpointOptions
    from queries.analyses.response import response_definition
    from queries.i18n import translator

    fi = translator("fi")
    pfs = definition("pfs", EndpointOptions(pfs_death_window_days=90, landmark_days=30))
    english, finnish = pfs.text(), pfs.text(fi)
    assert "within 90 days" in english and "day 30" in english
    assert "90 päivän" in finnish and "päivänä 30" in finnish and "Time zero" not in finnish
    assert pfs.text(translator("en")) == english
    assert "Denominator: all patients" in response_definition("confirmed", "all")
    assert "Nimittäjä: kaikki potilaat" in response_definition("confirmed", "all", fi)


def test_a_finnish_survival_download_defines_the_endpoint_in_finnish(monkeypatch):
    monkeypatch.setattr(i18n, "current_locale", lambda: "fi")
    readme = " ".join(_unzip(exports.survival_export(_result()), SHOWN)["README.txt"].split())
    assert "kuolema mistä tahansa syystä" in readme and "death from any cause" not in readme


def test_notes_and_reasons_from_queries_are_shown_in_the_users_language():
    import pickle

    from queries.analyses.safety import SafetyOptions, _window_text
    from queries.i18n import Text, translator

    fi = translator("fi")
    three = survival.aggregate_patients([10, 20, 30], [1, 0, 1], ["a", "b", "c"])
    note = next(n for n in survival.fit(three, "os", "site").notes
                if "no single hazard ratio" in n)
    assert isinstance(note, Text) and note.startswith("no single hazard ratio: there are 3")
    assert fi.text(note).startswith("ei yhtä riskisuhdetta: ryhmiä on 3")
    assert pickle.loads(pickle.dumps(note)).msgid == note.msgid
    window = _window_text(SafetyOptions(immune_only=True))
    assert window.endswith("immune-related events only")
    assert fi.text(window).endswith("vain immuunivälitteiset tapahtumat")
    # a Text placed in a translated message is translated with it
    assert fi.gettext("Endpoint: {definition}", definition=Text("death from any cause")) == \
        "Päätetapahtuma: kuolema mistä tahansa syystä"


def test_the_adjusted_comparison_download_has_arms_balance_and_hazard_ratios():
    from queries.analyses.comparison import compare_groups
    from queries.analyses.comparison_options import ComparisonOptions
    from tests.unit.test_comparison import _confounded

    a, b = _confounded(1500, 7)
    result = compare_groups(a, b, "A: young", "B: old",
                            ComparisonOptions(covariates=("age", "ecog"), endpoints=("os",)))
    files = _unzip(exports.study_export(result), Shown({}, ("A: young", "B: old"), "s",
                                                       "clinician"))
    assert set(files) == {"README.txt", "arms.csv", "balance.csv", "hazard_ratios.csv",
                          "all_estimates.csv"}
    hrs = pd.read_csv(io.StringIO(files["hazard_ratios.csv"]))
    adjusted = result.outcomes[0].adjusted
    row = hrs[hrs["Analysis"] == "adjusted"].iloc[0]
    assert row["Estimate"] == round(adjusted.hr, 3) and row["p-value"] > 0
    assert "A: young vs B: old" in files["README.txt"]


def test_a_protected_curve_end_is_said_in_the_users_language():
    from queries.i18n import translator

    released = release_result(_result(n=400, seed=5), "partner").result
    reason = released.curve["cut_reason"].dropna().iloc[0]
    assert reason.startswith("curve ends: fewer than 10 patients")
    assert translator("fi").text(reason).startswith("käyrä päättyy: tämän jälkeen riskissä on "
                                                     "alle 10 potilasta")


def test_the_cox_model_method_and_endpoint_definition_can_be_shown_in_finnish():
    from queries.i18n import Text, translator

    fi = translator("fi")
    words = definition("os").text()
    assert isinstance(words, Text) and words.startswith("Overall survival. Time zero")
    assert fi.text(words).startswith("Kokonaiselinaika. Aika alkaa: indeksipäivä")


def test_the_biomarker_testing_table_names_the_positive_level_in_finnish(monkeypatch):
    from types import SimpleNamespace

    from components import tables

    monkeypatch.setattr(i18n, "current_locale", lambda: "fi")
    table1 = SimpleNamespace(biomarkers=pd.DataFrame([{
        "key": "egfr", "biomarker": "EGFR", "tested": 100, "pct_tested": 50.0,
        "positive_level": "Positive", "positive": 20, "pct_positive_of_tested": 20.0}]))
    text = str(tables.testing_table(table1).to_plotly_json())
    assert "Positiiviset" in text and "'Positive'" not in text
