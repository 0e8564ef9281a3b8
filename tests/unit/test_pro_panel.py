"""The "Patient-reported" panel of the analyses and compare pages: one Panel declaration each,
the scale chosen from the schema's scales only, the result computed once through
``queries.analyses.panels``, released for partners from released counts, and drawn as pure
figures (mean score with CI and questionnaires per bin, completion, PRO-CTCAE severity)."""

from __future__ import annotations

import pandas as pd
import pytest
from dash.exceptions import PreventUpdate

from components import analysis_page, compare_page, exports, figures
from queries.analyses import panels as analysis
from queries.analyses.pro import (
    BAND_COLUMNS,
    COMPLETION_COLUMNS,
    SCORE_COLUMNS,
    SEVERITY_COLUMNS,
    ProOptions,
    ProResult,
)
from queries.cohort.importing import load_definition
from queries.cohort.materialize import materialize_definition
from queries.disclosure.adapters import protect_bundle
from queries.disclosure.policy import policy_for

GLOBAL = ("EORTC QLQ-C30", "Global health status/QoL")


def _result(empty: bool = False) -> ProResult:
    scores = pd.DataFrame([[0, 120, 100, 61.0, 58.0, 64.0], [6, 90, 80, 58.5, 55.0, 62.0],
                           [12, 70, 60, 55.0, 51.0, 59.0]], columns=SCORE_COLUMNS)
    completion = pd.DataFrame([[0, 100, 100, 1.0], [6, 95, 80, 80 / 95], [12, 90, 60, 60 / 90]],
                              columns=COMPLETION_COLUMNS)
    severity = pd.DataFrame(
        [["Fatigue severity", level, name, n, 100, n / 100] for level, (name, n) in
         enumerate([("none", 10), ("mild", 40), ("moderate", 30), ("severe", 15),
                    ("very severe", 5)])], columns=SEVERITY_COLUMNS)
    # each bin's patients by the 10-point band of their mean score (totals 100, 80, 60)
    bands = pd.DataFrame([[week, band, 10.0 * band, 10.0 * band + 10, n]
                          for week, counts in ((0, {5: 40, 6: 60}), (6, {5: 50, 6: 30}),
                                               (12, {5: 40, 6: 20}))
                          for band, n in counts.items()], columns=BAND_COLUMNS)
    if empty:
        scores, completion, severity, bands = (f.iloc[0:0] for f in (scores, completion,
                                                                     severity, bands))
    return ProResult(ProOptions(), 150, 0 if empty else 110, scores, completion, severity,
                     bands, empty_reason="no patient of the cohort has patient-reported outcomes"
                     if empty else None)


def test_both_pages_declare_a_pro_panel_for_their_roles():
    assert analysis_page.PRO.roles == analysis_page.ROLES
    assert compare_page.PRO.roles == compare_page.ROLES
    assert analysis_page.PRO.csv is not None and compare_page.PRO.csv is not None


def test_scale_choice_takes_only_the_schemas_scales():
    assert analysis_page.pro_scale_choice("PRO-CTCAE|Fatigue severity") == {
        "instrument": "PRO-CTCAE", "item": "Fatigue severity"}
    for forged in ("EORTC QLQ-C30|Global health'; DROP", "Fatigue", None, ["x"],
                   "PRO-CTCAE|Fatigue"):
        with pytest.raises(PreventUpdate):
            analysis_page.pro_scale_choice(forged)
    values = [o["value"] for o in analysis_page.pro_scale_options()]
    assert analysis_page.PRO_DEFAULT == values[0] and len(values) == 22


def test_score_figure_draws_the_mean_with_its_ci_and_the_questionnaires_per_bin():
    fig = figures.pro_scores_figure(_result())
    mean, questionnaires = fig.data
    assert list(mean.y) == [61.0, 58.5, 55.0]
    assert list(mean.error_y.array) == [3.0, 3.5, 4.0]
    assert list(mean.error_y.arrayminus) == [3.0, 3.5, 4.0]
    assert list(mean.x) == ["Baseline", "wk 6", "wk 12"]
    assert list(questionnaires.y) == [120, 90, 70] and questionnaires.type == "bar"
    assert "higher is better" in fig.layout.yaxis.title.text
    assert "Global health status/QoL" in fig.layout.title.text


def test_completion_and_severity_figures_show_shares_with_their_counts():
    completion = figures.pro_completion_figure(_result())
    assert [round(v) for v in completion.data[0].y] == [100, 84, 67]
    assert list(completion.data[0].text) == ["100/100", "80/95", "60/90"]
    severity = figures.pro_severity_figure(_result())
    assert [t.name for t in severity.data] == ["none", "mild", "moderate", "severe",
                                               "very severe"]
    assert [float(t.x[0]) for t in severity.data] == [10, 40, 30, 15, 5]
    assert severity.data[0].y[0] == "Fatigue severity (n=100)"


def test_empty_result_figures_say_why():
    for draw in (figures.pro_scores_figure, figures.pro_completion_figure):
        fig = draw(_result(empty=True))
        assert not fig.data and "no patient" in fig.layout.annotations[0].text
    assert "No PRO-CTCAE" in figures.pro_severity_figure(_result(empty=True)).layout.annotations[
        0].text


def test_compare_figure_has_one_line_per_cohort():
    fig = figures.compare_pro_figure(_result(), _result(), ("A: one", "B: two"))
    assert [t.name for t in fig.data] == ["A: one", "B: two"]
    assert "Neither" in figures.compare_pro_figure(
        _result(True), _result(True), ("A", "B")).layout.annotations[0].text


def test_download_holds_scores_with_completion_and_the_severity_table():
    export = exports.pro_export(_result())
    scores, severity = export.tables
    assert scores.name == "pro_scores" and len(scores.frame) == 3
    assert list(scores.frame.columns) == ["week", "questionnaires", "patients", "mean_score",
                                          "ci_lower", "ci_upper", "patients_followed",
                                          "patients_answered", "completion"]
    assert severity.name == "pro_ctcae_severity" and len(severity.frame) == 5
    assert "Global health status/QoL" in export.about[0]


@pytest.fixture(scope="module")
def everyone(sample):
    definition = load_definition({"schema_version": 1, "metadata": {"name": "all"}})
    return materialize_definition(sample.db, definition)


def test_panel_result_is_computed_once_per_cohort_and_scale(everyone):
    first = analysis.pro_panel(everyone, *GLOBAL)
    assert analysis.pro_panel(everyone, *GLOBAL) is first
    assert first.options.item == GLOBAL[1] and first.participants > 0
    fatigue = analysis.pro_panel(everyone, "EORTC QLQ-C30", "Fatigue")
    assert fatigue is not first and fatigue.options.item == "Fatigue"


def test_partner_gets_the_panel_from_released_counts_through_the_bundle(everyone):
    bundle = analysis.analyze(everyone, analysis.AnalysisOptions(panels=("pro",)))
    released = protect_bundle(bundle, policy_for("partner")).result
    assert released.pro is not bundle.pro
    assert (released.pro.scores["patients"] % 5 == 0).all()
    shares = released.pro.severity
    hidden = shares["patients"].isna()
    assert hidden.any() and shares.loc[hidden, "share"].isna().all()  # "< 10": no share
    shown = shares[~hidden]
    expected = (shown["patients"] / shown["denominator"]).round(3)
    assert ((shown["share"] - expected).abs() < 0.0006).all()


def test_a_small_severity_level_is_hidden_with_a_second_one_so_the_total_cannot_give_it_back():
    from queries.disclosure.adapters import protect_pro

    exact = _result()
    exact.severity.loc[exact.severity["severity"] == "very severe", "patients"] = 4
    exact.severity.loc[exact.severity["severity"] == "none", "patients"] = 11
    released = protect_pro(exact, policy_for("partner"))
    levels = released.result.severity
    hidden = levels["patients"].isna()
    assert hidden.sum() >= 2 and levels.loc[hidden, "share"].isna().all()
    assert any("pro severity Fatigue severity" in s for s in released.suppressed)
    shown = levels[~hidden]
    assert ((shown["patients"] / shown["denominator"]).round(3) == shown["share"].astype(float)
            ).all()


def test_a_withheld_number_of_participants_reads_as_released_not_as_zero():
    from queries.disclosure.adapters import protect_pro

    exact = _result()
    exact = ProResult(exact.options, 150, 7, exact.scores, exact.completion, exact.severity,
                      exact.score_bands)
    released = protect_pro(exact, policy_for("partner")).result
    assert released.participants is None and released.participants_display == "< 10"
    assert released.n == 150 and released.n_display == "150"
    caption = analysis_page._show_pro(released, None)[3]
    assert caption[0].children.startswith("< 10 of 150 patients answered this scale")




def test_the_caption_and_the_readme_state_the_definitions_queries_gives(monkeypatch):
    from types import SimpleNamespace

    from queries.analyses import pro

    # the definitions of an (empty) result of a symptom scale, as queries words them
    no_rows = pd.DataFrame(columns=["patient_id", "item", "week", "followed_days",
                                    "questionnaires", "score", "worst"])
    monkeypatch.setattr(pro, "_questionnaires", lambda *_args: no_rows)
    options = ProOptions(instrument="EORTC QLQ-C30", item="Fatigue")
    local = SimpleNamespace(size=0, db=SimpleNamespace(local_rows=True))
    definitions = pro.patient_reported(local, options).definitions
    assert "higher is worse" in definitions["scores"]
    result = ProResult(options, 150, 110, _result().scores, _result().completion,
                       _result().severity, _result().score_bands, definitions=definitions)
    caption = [div.children for div in analysis_page._show_pro(result, None)[3]]
    readme = exports.pro_export(result).about
    for words in definitions.values():
        assert str(words) in caption and str(words) in readme


def test_rash_presence_panel_shows_the_share_answering_yes_and_its_own_levels(everyone,
                                                                              monkeypatch):
    from components import i18n

    rash = analysis.pro_panel(everyone, "PRO-CTCAE", "Rash presence")
    scores = figures.pro_scores_figure(rash)
    assert scores.data[0].name == "Share answering yes"
    assert "Share answering yes (0–1)" == scores.layout.yaxis.title.text
    assert list(scores.layout.yaxis.range) == [0.0, 1.0]
    assert all(0 <= y <= 1 for y in scores.data[0].y)
    assert "%{y:.2f}" in scores.data[0].hovertemplate
    severity = figures.pro_severity_figure(rash)
    # levels 0-4 shared by severity and frequency items, then rash presence's own no/yes
    assert [t.name for t in severity.data] == [
        "none / never", "mild / rarely", "moderate / occasionally", "severe / frequently",
        "very severe / almost constantly", "no", "yes"]
    mild = severity.data[1]
    words = dict(zip(mild.y, mild.customdata, strict=True))
    assert [w for tick, w in words.items() if tick.startswith("Diarrhea frequency")] == ["rarely"]
    assert [w for tick, w in words.items() if tick.startswith("Fatigue severity")] == ["mild"]
    assert [w for tick, w in words.items() if tick.startswith("Rash presence")] == [""]
    monkeypatch.setattr(i18n, "current_locale", lambda: "fi")
    table = dict((t.name, t.frame) for t in exports.pro_export(rash).tables)
    levels = table["pro_ctcae_severity"]
    rash_rows = levels[levels.iloc[:, 0] == "Ihottuman esiintyminen"]
    assert list(rash_rows.iloc[:, 1]) == ["ei", "kyllä"]
    nausea = levels[levels.iloc[:, 0] == figures._(figures.PRO_ITEM_LABELS["Nausea frequency"])]
    assert list(nausea.iloc[:, 1]) == ["ei koskaan", "harvoin", "joskus", "usein",
                                       "lähes jatkuvasti"]
    itching = levels[levels.iloc[:, 0] == "Kutinan vaikeus"]
    assert list(itching.iloc[:, 1]) == ["ei lainkaan", "lievä", "kohtalainen", "vaikea",
                                        "erittäin vaikea"]
