"""Figures and tables draw exactly the numbers of the analysis results they are given.

Results are built with the analyses' own pure functions (``survival.fit``,
``response.rates_from_counts``) from small hand-made inputs, so no database is needed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from dash import html

from components import exports, figures, tables
from queries.analyses import response, survival
from queries.analyses.safety import SafetyOptions, SafetyResult

DAYS = survival.DAYS_PER_MONTH


def _survival_result(strata: str | None = "ecog"):
    rng = np.random.default_rng(7)
    n = 120
    groups = np.where(np.arange(n) % 2 == 0, "ECOG 0-1", "ECOG ≥ 2")
    scale = np.where(groups == "ECOG 0-1", 400, 200)
    durations = np.ceil(rng.exponential(scale)).astype(int)
    events = rng.random(n) < 0.8
    agg = survival.aggregate_patients(durations, events, groups if strata else None)
    return survival.fit(agg, "os", strata, [0, 6, 12, 18])


def _response_result():
    long = pd.DataFrame({
        "stratum": ["TPS < 1%"] * 4 + ["TPS ≥ 50%"] * 4,
        "bor": ["PR", "SD", "PD", "Not evaluable", "CR", "PR", "SD", "PD"],
        "n": [2, 5, 10, 3, 4, 8, 3, 5],
    })
    counts, rates = response.rates_from_counts(long, "pdl1_tps", "evaluable")
    return response.ResponseResult("pdl1_tps", counts, rates, denominator="evaluable")


def _safety_result(immune_only: bool = False, size: int = 100):
    by_term = pd.DataFrame({
        "organ_class": ["General", "Gastrointestinal", "Respiratory"],
        "term": ["Fatigue", "Colitis", "Pneumonitis"],
        "patients_any_grade": [40, 20, 10],
        "patients_grade3plus": [2, 8, 6],
    })
    for col in ("any_grade", "grade3plus"):
        by_term[f"pct_{col}"] = by_term[f"patients_{col}"] / size
    by_term["median_onset_days"] = [30.0, 60.0, 90.0]
    by_term["median_onset_months"] = by_term["median_onset_days"] / DAYS
    by_organ = by_term.drop(columns="term")
    overall = {"patients_any_grade": 55, "pct_any_grade": 0.55, "patients_grade3plus": 14,
               "pct_grade3plus": 0.14, "median_onset_days": 45.0, "median_onset_months": 1.5}
    by_regimen = pd.DataFrame({"regimen": ["pembrolizumab"], "patients": [size],
                               "patients_any_grade": [55], "pct_any_grade": [55 / size],
                               "patients_grade3plus": [14], "pct_grade3plus": [14 / size],
                               "median_onset_days": [45.0], "median_onset_months": [1.5]})
    return SafetyResult(cohort_size=size, options=SafetyOptions(immune_only), overall=overall,
                        by_term=by_term, by_organ_class=by_organ, by_regimen=by_regimen,
                        by_drug_classes=pd.DataFrame(), window="onset on or after index")


def _text(component) -> str:
    """All text inside a Dash component tree."""
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(_text(c) for c in component)
    return _text(getattr(component, "children", None))


# --- survival -----------------------------------------------------------------------------


def test_survival_figure_draws_every_stratum_with_its_median_in_the_legend():
    result = _survival_result()
    fig = figures.survival_figure(result)
    lines = [t for t in fig.data if t.mode == "lines" and t.showlegend is not False]
    assert [t.name.split(" (")[0] for t in lines] == ["ECOG 0-1", "ECOG ≥ 2"]
    for trace, (_, row) in zip(lines, result.summary.iterrows(), strict=True):
        assert f"median {figures.fmt_months(row['median_months'])} mo" in trace.name
        assert f"n={row['n']}" in trace.name
        part = result.curve[result.curve["stratum"] == row["stratum"]]
        assert list(trace.y) == pytest.approx(part["survival"].tolist())
        assert list(trace.x) == pytest.approx((part["time_days"] / DAYS).tolist())
        assert trace.line.shape == "hv"


def test_survival_figure_numbers_at_risk_sit_under_the_curve_at_the_same_months():
    result = _survival_result()
    fig = figures.survival_figure(result)
    texts = [t for t in fig.data if t.mode == "text"]
    assert len(texts) == 2
    for trace in texts:
        stratum = trace.y[0]
        expected = result.at_risk[result.at_risk["stratum"] == stratum]
        assert list(trace.x) == expected["time_months"].tolist()
        assert list(trace.text) == [str(v) for v in expected["at_risk"]]
        assert trace.xaxis == "x2" and trace.yaxis == "y2"
    assert fig.layout.xaxis2.matches == "x" or fig.layout.xaxis.matches == "x2"
    assert list(fig.layout.xaxis.tickvals) == [0, 6, 12, 18]
    assert "Months" in fig.layout.xaxis.title.text


def test_survival_ci_band_is_a_closed_step_polygon_between_the_bounds():
    result = _survival_result(strata=None)
    band = next(t for t in figures.survival_figure(result).data if t.fill == "toself")
    part = result.curve
    assert max(band.y) == pytest.approx(part["ci_upper"].max())
    assert min(band.y) == pytest.approx(part["ci_lower"].min())
    xs, ys = figures._step_xy([0, 1, 3], [1.0, 0.8, 0.5])
    assert xs == [0, 1, 1, 3, 3] and ys == [1.0, 1.0, 0.8, 0.8, 0.5]


def test_empty_survival_result_gives_a_figure_that_says_why():
    result = survival.empty_result(survival.Endpoint.PFS, None, "no patient in this cohort has "
                                   "a tumour assessment after index")
    fig = figures.survival_figure(result)
    assert not fig.data
    assert "tumour assessment" in fig.layout.annotations[0].text
    assert "progression-free survival" in fig.layout.title.text


def test_survival_caption_and_median_table_state_the_results():
    result = _survival_result()
    caption = _text(tables.survival_caption(result))
    assert figures.fmt_p(result.logrank.p_value) in caption
    hr = result.hazard_ratio
    assert f"{hr.hr:.2f} (95% CI {hr.ci_lower:.2f}–{hr.ci_upper:.2f})" in caption
    table = _text(tables.median_table(result))
    for _, row in result.summary.iterrows():
        assert tables.months_ci(row["median_months"], row["median_ci_lower_months"],
                                row["median_ci_upper_months"]) in table


def test_months_ci_reads_not_reached_for_missing_bounds():
    assert tables.months_ci(None, None, None) == "not reached"
    assert tables.months_ci(12.34, 10.0, float("nan")) == "12.3 (10.0–NR)"


# --- response -----------------------------------------------------------------------------


def test_response_rates_figure_draws_orr_and_dcr_with_exact_ci_and_n():
    result = _response_result()
    fig = figures.response_rates_figure(result)
    orr, dcr = fig.data
    rates = result.rates
    assert list(orr.y) == pytest.approx((100 * rates["orr"]).tolist())
    assert list(orr.error_y.array) == pytest.approx(
        (100 * (rates["orr_ci_upper"] - rates["orr"])).tolist())
    assert list(orr.error_y.arrayminus) == pytest.approx(
        (100 * (rates["orr"] - rates["orr_ci_lower"])).tolist())
    assert list(dcr.y) == pytest.approx((100 * rates["dcr"]).tolist())
    # n behind each bar: the evaluable patients (17 = 20 minus 3 without assessment)
    assert list(orr.x) == ["TPS < 1%<br>n=17", "TPS ≥ 50%<br>n=20"]


def test_best_response_bars_stack_to_the_whole_stratum():
    result = _response_result()
    fig = figures.bor_figure(result)
    totals: dict[str, float] = {}
    for trace in fig.data:
        for x, y in zip(trace.x, trace.y, strict=True):
            totals[x] = totals.get(x, 0) + y
    assert totals == pytest.approx({"TPS < 1%<br>n=20": 100.0, "TPS ≥ 50%<br>n=20": 100.0})
    assert fig.layout.barmode == "stack"
    assert [t.marker.color for t in fig.data] == [figures.BOR_COLOURS[b] for b in
                                                  response.BOR_CATEGORIES]


def test_response_table_shows_orr_with_ci_per_stratum():
    result = _response_result()
    text = _text(tables.response_table(result))
    assert "60.0% (36.1%–80.9%)" in text and "11.8% (1.5%–36.4%)" in text  # 12/20, 2/17


# --- safety -------------------------------------------------------------------------------


def test_safety_figure_any_grade_overlays_grade3_most_frequent_on_top():
    fig = figures.safety_figure(_safety_result(), "term", "any")
    any_grade, grade3 = fig.data
    assert any_grade.name == "Any grade" and grade3.name == "Grade ≥ 3"
    assert list(any_grade.y) == ["Pneumonitis", "Colitis", "Fatigue"]  # drawn bottom-up
    assert list(any_grade.x) == pytest.approx([10, 20, 40])
    assert list(grade3.x) == pytest.approx([6, 8, 2])


def test_safety_figure_grade3_filter_ranks_by_grade3_frequency():
    fig = figures.safety_figure(_safety_result(), "term", "grade3")
    (bars,) = fig.data
    assert list(bars.y) == ["Fatigue", "Pneumonitis", "Colitis"]
    assert list(bars.x) == pytest.approx([2, 6, 8])
    assert bars.text[-1] == "8.0% (8)"


def test_safety_title_says_immune_related_only():
    fig = figures.safety_figure(_safety_result(immune_only=True), "organ_class")
    assert "immune-related" in fig.layout.title.text
    assert "organ class" in fig.layout.title.text


def test_butterfly_puts_cohort_a_to_the_left_and_b_to_the_right():
    fig = figures.butterfly_figure(_safety_result(size=100), _safety_result(size=200),
                                   ("A: one", "B: two"))
    left, right = fig.data
    assert left.name == "A: one" and all(x <= 0 for x in left.x)
    assert right.name == "B: two" and all(x >= 0 for x in right.x)
    assert sorted(-x for x in left.x) == pytest.approx([10, 20, 40])
    assert sorted(right.x) == pytest.approx([5, 10, 20])
    assert all(text.endswith("%") for text in fig.layout.xaxis.ticktext)


def test_safety_table_lists_counts_and_percentages():
    result = _safety_result()
    rows = figures.safety_rows(result, "term", "any", top=100)
    text = _text(tables.safety_table(rows, "term"))
    assert "40 (40.0%)" in text and "8 (8.0%)" in text


# --- conventions --------------------------------------------------------------------------


def test_every_data_colour_comes_from_the_colour_blind_safe_palettes():
    allowed = set(figures.PALETTE) | set(figures.BOR_COLOURS.values())
    figs = [figures.survival_figure(_survival_result()),
            figures.response_rates_figure(_response_result()),
            figures.bor_figure(_response_result()),
            figures.safety_figure(_safety_result())]
    for fig in figs:
        for trace in fig.data:
            colour = (trace.line.color if trace.type == "scatter" and trace.mode == "lines"
                      else trace.marker.color if trace.type == "bar" else None)
            if colour is not None:
                assert colour in allowed, (trace.name, colour)


def test_every_figure_has_a_title_and_labelled_axes():
    figs = [figures.survival_figure(_survival_result()),
            figures.response_rates_figure(_response_result()),
            figures.bor_figure(_response_result()),
            figures.safety_figure(_safety_result())]
    for fig in figs:
        assert fig.layout.title.text
        assert fig.layout.xaxis.title.text and (fig.layout.yaxis.title.text or
                                                fig.layout.yaxis.automargin)


def test_graph_config_exports_png_from_the_toolbar():
    config = figures.graph_config("survival")
    assert config["toImageButtonOptions"]["format"] == "png"
    assert config["toImageButtonOptions"]["filename"] == "survival"


def test_download_names_never_carry_a_path():
    name = exports.export_name(("../../etc/passwd",), "snap", "os", "ab12")
    assert "/" not in name and ".." not in name


def test_formatters_pass_protected_strings_through():
    assert figures.fmt_count("< 10") == "< 10"
    assert figures.fmt_pct(None) == figures.EMPTY
    assert tables.n_pct("< 10", None) == "< 10"
    assert figures.fmt_p(0.0004) == "p < 0.001"


def test_table_one_keeps_sections_together():
    from queries.analyses.characteristics import Table1

    rows = pd.DataFrame([
        {"section": "Demographics", "variable": "Sex", "key": "sex", "level": "Female",
         "n": 3, "pct": 0.3},
        {"section": "Disease", "variable": "Stage", "key": "stage", "level": "Stage IV",
         "n": 5, "pct": 0.5},
        {"section": "Demographics", "variable": "Smoking", "key": "smoking_status",
         "level": "Never", "n": 4, "pct": 0.4},
    ]).reindex(columns=["section", "variable", "key", "level", "n", "pct", "median", "q1", "q3",
                        "mean", "sd"])
    table = tables.table_one(Table1(10, rows, pd.DataFrame()))
    body = table.children[1].children
    headers = [r.children.children for r in body if isinstance(r.children, html.Th)]
    assert headers == ["Demographics", "Disease"]


# --- protected results (partner policy) ---------------------------------------------------


def test_partner_protected_results_render_with_their_released_displays():
    from queries import disclosure

    policy = disclosure.policy_for("partner")
    surv = disclosure.protect_result(_survival_result(), policy).result
    resp = disclosure.protect_result(_response_result(), policy).result
    safe = disclosure.protect_result(_safety_result(), policy).result
    fig = figures.survival_figure(surv)
    at_risk_text = [v for t in fig.data if t.mode == "text" for v in t.text]
    assert at_risk_text and all(v in set(surv.at_risk["at_risk_display"]) for v in at_risk_text)
    assert "suppressed" in _text(tables.response_table(resp))  # 2 responders of 17 withheld
    assert figures.response_rates_figure(resp).data
    assert figures.bor_figure(resp).data
    rows = figures.safety_rows(safe, "term", "any", top=100)
    assert figures.safety_figure(safe, "term", "grade3").data
    table = _text(tables.safety_table(rows, "term"))
    assert "40 (40.0%)" in table  # 40 of 100 is released as is (rounded to 5)
    assert "(8)" not in table and "(6)" not in table  # grade >= 3 counts under 10 withheld


def test_response_without_assessments_says_so_in_both_charts():
    long = pd.DataFrame({"stratum": ["All patients"], "bor": ["Not evaluable"], "n": [12]})
    counts, rates = response.rates_from_counts(long, None)
    reason = "no patient in this cohort has a tumour assessment of the index line"
    result = response.ResponseResult(None, counts, rates, empty_reason=reason)
    for fig in (figures.response_rates_figure(result), figures.bor_figure(result)):
        assert not fig.data
        assert reason in fig.layout.annotations[0].text


def test_comparison_table_aligns_levels_and_shows_smd_per_variable():
    from queries.analyses.characteristics import Table1, compare

    def table(n, sites):
        rows = [{"section": "Cohort", "variable": "Patients", "key": "n", "level": "", "n": n,
                 "pct": 1.0}]
        rows += [{"section": "Demographics", "variable": "Site", "key": "site", "level": s,
                  "n": k, "pct": k / n} for s, k in sites.items()]
        frame = pd.DataFrame(rows).reindex(columns=["section", "variable", "key", "level", "n",
                                                    "pct", "median", "q1", "q3", "mean", "sd"])
        age = {"section": "Demographics", "variable": "Age at index, years", "key": "age",
               "level": "", "n": n, "pct": 1.0, "median": 60.0, "q1": 50.0, "q3": 70.0,
               "mean": 60.0, "sd": 10.0}
        frame = pd.concat([frame.iloc[:1], pd.DataFrame([age]), frame.iloc[1:]],
                          ignore_index=True)
        return Table1(n, frame, pd.DataFrame())

    first, second = table(10, {"HUS": 6, "TAYS": 4}), table(8, {"HUS": 4, "OYS": 4})
    comparison = compare(first, second)
    rendered = tables.comparison_table(comparison, first, second, ("A", "B"))
    body = rendered.children[1].children
    keys = [r.to_plotly_json()["props"].get("data-key") for r in body]
    assert keys.index("site:TAYS") < keys.index("site:OYS")  # B's extra level after A's
    oys = _text(body[keys.index("site:OYS")])
    assert "0 (0.0%)" in oys and "4 (50.0%)" in oys
    site_smd = comparison.variables.set_index("key").loc["site", "smd"]
    assert f"{site_smd:.2f}" in _text(body[keys.index("site")])


# --- plot resolution and figures kept with their result ----------------------------------


def _large_survival_result():
    rng = np.random.default_rng(11)
    n = 60_000
    durations = np.ceil(rng.exponential(700, n)).astype(int) + 1
    events = rng.random(n) < 0.7
    agg = survival.aggregate_patients(durations, events, None)
    return survival.fit(agg, "os", None, [0, 12, 24, 36])


def test_survival_curve_is_drawn_at_plot_resolution_with_exact_values_at_every_kept_step():
    result = _large_survival_result()
    full = result.curve.sort_values("time_months").reset_index(drop=True)
    assert len(full) > 3 * figures.PLOT_STEPS  # a curve with many more steps than pixels
    line = next(t for t in figures.survival_figure(result).data
                if t.mode == "lines" and t.line.shape == "hv")
    assert len(line.x) <= figures.PLOT_STEPS + 1
    exact = full.set_index("time_months")
    for x, y, at_risk in zip(line.x, line.y, line.customdata[:, 0], strict=True):
        assert y == pytest.approx(float(exact.loc[x, "survival"]))
        assert at_risk == exact.loc[x, "at_risk"]
    assert line.x[0] == full["time_months"].iloc[0] and line.x[-1] == full["time_months"].iloc[-1]
    # merged steps move by less than one pixel column of the time axis
    pixel = full["time_months"].max() / figures.PLOT_STEPS
    kept = np.asarray(line.x)
    assert np.all(np.diff(kept) > 0) and np.max(np.diff(kept)) < full["time_months"].max()
    every = full["time_months"].to_numpy()
    nearest_kept_after = kept[np.searchsorted(kept, every)]
    assert np.all(nearest_kept_after - every < pixel)


def test_the_ci_band_keeps_the_exact_bounds_at_every_kept_step():
    result = _large_survival_result()
    full = result.curve.sort_values("time_months")
    exact_upper = full["ci_upper"].ffill().fillna(full["survival"])
    exact = dict(zip(full["time_months"], exact_upper, strict=True))
    band = next(t for t in figures.survival_figure(result).data if t.fill == "toself")
    half = len(band.x) // 2
    drawn = dict(zip(band.x[:half], band.y[:half], strict=True))  # the level after each corner
    assert len(drawn) <= figures.PLOT_STEPS + 1
    for x, y in drawn.items():
        assert y == pytest.approx(float(exact[x]))


def test_the_survival_download_keeps_every_step():
    result = _large_survival_result()
    curve = exports.survival_export(result).tables[0]
    assert curve.name == "curve" and len(curve.frame) == len(result.curve)


def test_a_figure_is_built_once_per_result_and_dropped_with_it():
    import gc

    from components.derived import derived, derived_count

    results, builds = [_survival_result()], []

    def build() -> dict:
        builds.append(1)
        return figures.survival_figure(results[0]).to_plotly_json()

    before = derived_count()
    first = derived(results[0], ("figure", "survival"), build)
    assert derived(results[0], ("figure", "survival"), build) is first and len(builds) == 1
    assert derived_count() == before + 1
    results.clear()  # the result leaves the cache and is collected
    gc.collect()
    assert derived_count() == before


# --- graph config: nothing may offer to upload a chart ------------------------------------


def _graph_calls() -> list[tuple[str, int, object]]:
    """Every ``dcc.Graph(...)`` call in components/ with its ``config=`` expression (or None)."""
    import ast
    from pathlib import Path

    import components

    found = []
    for path in sorted(Path(components.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "Graph"):
                config = next((k.value for k in node.keywords if k.arg == "config"), None)
                found.append((path.name, node.lineno, config))
    return found


def test_every_graph_is_made_with_the_shared_config_that_has_no_share_chart_button():
    calls = _graph_calls()
    assert len(calls) >= 6
    for name, line, config in calls:
        func = getattr(config, "func", None)
        called = getattr(func, "attr", None) or getattr(func, "id", None)
        assert called == "graph_config", f"{name}:{line} makes a dcc.Graph without graph_config"
    for config in (figures.graph_config("x"), figures.graph_config(mode_bar=False),
                   figures.graph_config(staticPlot=True)):
        assert config["showSendToCloud"] is False  # plotly.js 3 defaults it to true
        assert config["displaylogo"] is False
        assert {"sendChartToCloud", "sendDataToCloud"} <= set(config["modeBarButtonsToRemove"])


def test_a_cached_figure_is_kept_per_language():
    import flask

    from access.preferences import _G_KEY
    from components.analysis_page import cached_figure

    result, builds = _survival_result(), []

    def build():
        builds.append(1)
        return figures.survival_figure(result)

    app = flask.Flask(__name__)
    for locale in ("en", "fi", "en", "fi"):
        with app.test_request_context():
            flask.g.setdefault(_G_KEY, locale)
            cached_figure(result, "survival", build)
    assert len(builds) == 2


def test_response_axis_names_the_denominator_the_rates_use():
    from queries.analyses.response import ResponseResult

    rates = pd.DataFrame([{"stratum": "All patients", "n": 10, "not_evaluable": 2,
                           "denominator": 10, "responders": 3, "orr": 0.3, "orr_ci_lower": 0.1,
                           "orr_ci_upper": 0.6, "disease_control": 5, "dcr": 0.5,
                           "dcr_ci_lower": 0.2, "dcr_ci_upper": 0.8}])
    counts = pd.DataFrame(columns=["stratum", "bor", "n", "pct"])
    every = figures.response_rates_figure(ResponseResult(None, counts, rates, denominator="all"))
    assert "evaluable" not in every.layout.yaxis.title.text
    assert "all patients" in every.layout.xaxis.title.text
    evaluable = figures.response_rates_figure(ResponseResult(None, counts, rates,
                                                             denominator="evaluable"))
    assert "evaluable" in evaluable.layout.yaxis.title.text


def test_a_survival_caption_without_a_test_says_why():
    """Two strata with no test are two cohorts of the same patients (the result's note says
    so), not one group; two strata whose tests are withheld are neither."""
    from types import SimpleNamespace

    from queries.analyses.survival import SAME_PATIENTS

    def result(strata: int, notes=(SAME_PATIENTS,)):
        return SimpleNamespace(logrank=None, trend=None, hazard_ratio=None, notes=list(notes),
                               summary=pd.DataFrame({"stratum": list("AB")[:strata]}))

    assert "no test (same patients)" in figures.survival_method(result(2))
    assert "no test (one group)" in figures.survival_method(result(1))
    withheld = figures.survival_method(result(2, notes=["log-rank test: withheld"]))
    assert "same patients" not in withheld and "one group" not in withheld


def test_the_adjusted_comparison_shows_names_and_numbers_in_finnish(monkeypatch):
    from types import SimpleNamespace

    from components import i18n

    monkeypatch.setattr(i18n, "current_locale", lambda: "fi")
    balance = pd.DataFrame({"key": ["age", "sex"], "covariate": ["Age at index, years", "Sex"],
                            "kind": ["continuous", "categorical"], "smd_before": [0.31, 0.12],
                            "smd_after": [0.04, float("nan")]})
    fig = figures.love_plot(SimpleNamespace(balance=balance))
    assert list(fig.data[0].y) == ["Sukupuoli", "Ikä indeksipäivänä, vuotta"]
    assert list(fig.data[0].text) == ["0,12", "0,31"]
    assert list(fig.data[1].text) == ["ei julkaistu", "0,04"]
    assert tables.fmt_smd(0.25) == "0,25"


def test_the_survival_caption_names_the_tested_groups_as_the_page_does(monkeypatch):
    """The log-rank and hazard-ratio sentences name the groups in the user's language, as the
    legend and the exported tests table do ("Nainen", not "Female")."""
    from components import i18n

    monkeypatch.setattr(i18n, "current_locale", lambda: "fi")
    rng = np.random.default_rng(3)
    groups = np.where(np.arange(100) % 2 == 0, "Female", "Male")
    agg = survival.aggregate_patients(np.ceil(rng.exponential(300, 100)).astype(int),
                                      rng.random(100) < 0.8, groups)
    caption = _text(tables.survival_caption(survival.fit(agg, "os", "sex", [0, 6, 12])))
    assert "Nainen" in caption and "Mies" in caption
    assert "Female" not in caption and "Male" not in caption
