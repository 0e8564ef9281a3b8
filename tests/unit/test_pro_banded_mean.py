"""The Patient-reported panel's mean score as released to protected roles: computed only from
released counts of patients per score band (bands merged until each holds the policy's
small-count threshold, each count rounded), never from the exact mean or SD; clinicians keep
the exact mean and CI."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from components import analysis_page, exports
from queries.analyses import pro
from queries.analyses.pro import BAND_COLUMNS, SCORE_BANDS, ProOptions, ProResult
from queries.disclosure.adapters import (
    ReleasedBand,
    banded_mean,
    protect_pro,
    released_score_bands,
)
from queries.disclosure.policy import policy_for
from queries.i18n import translator
from queries.snapshot.schema import PRO_CTCAE, PRO_INSTRUMENTS, PRO_SCORE_RANGE, QLQ_C30

PARTNER = policy_for("partner")


def _bands(week: int, counts: dict[int, int], width: float = 10.0) -> pd.DataFrame:
    """A bin's histogram: ``counts`` maps a band index to its patients."""
    return pd.DataFrame([[week, band, width * band, width * band + width, n]
                         for band, n in counts.items()], columns=BAND_COLUMNS)


def _per_patient(scores_by_week: dict[int, list[float]]) -> pd.DataFrame:
    """Rows as ``pro._questionnaires`` reads them: one per patient and bin, one questionnaire."""
    rows = [{"patient_id": f"p{i}", "item": "Global health status/QoL", "week": week,
             "followed_days": 400, "questionnaires": 1, "score": score, "worst": score}
            for week, scores in scores_by_week.items() for i, score in enumerate(scores)]
    return pd.DataFrame(rows)


def _engine_result(monkeypatch, scores_by_week: dict[int, list[float]]) -> ProResult:
    """``patient_reported`` over the given per-patient bin means (no PRO-CTCAE answers)."""
    rows = _per_patient(scores_by_week)
    monkeypatch.setattr(pro, "_questionnaires",
                        lambda _c, _o, instrument, _i: rows if instrument == QLQ_C30
                        else rows.iloc[0:0])
    return pro.patient_reported(SimpleNamespace(size=200, db=SimpleNamespace(local_rows=True)),
                                ProOptions())


def test_hand_worked_example_mean_and_ci_from_released_band_counts():
    # exact patients per 10-point band: [30,40) 6, [40,50) 9, [50,60) 24, [60,70) 13, [70,80) 4
    exact = _bands(6, {3: 6, 4: 9, 5: 24, 6: 13, 7: 4})
    # merged from the low end to >= 10 patients: [30,50) 15, [50,60) 24, [60,70) 13; the short
    # last band [70,80) 4 joins the one before: [60,80) 17. Rounded to 5: 15, 25, 15 (N = 55).
    released = released_score_bands(exact, PARTNER)
    assert released == [ReleasedBand(30, 50, 15), ReleasedBand(50, 60, 25),
                        ReleasedBand(60, 80, 15)]
    # mean = (15*40 + 25*55 + 15*70) / 55 = 3025 / 55 = 55.0
    # variance = (15*((40-55)^2 + 20^2/12) + 25*(0 + 10^2/12) + 15*((70-55)^2 + 20^2/12)) / 54
    #          = (15*258.333 + 25*8.333 + 15*258.333) / 54 = 7958.333 / 54 = 147.377
    # half-width = 1.96 * sqrt(147.377) / sqrt(55) = 1.96 * 12.140 / 7.416 = 3.208
    mean, half, n = banded_mean(released)
    assert n == 55 and mean == pytest.approx(55.0)
    assert half == pytest.approx(1.959963984540054 * math.sqrt(7958.333333 / 54) / math.sqrt(55))
    assert round(half, 3) == 3.208
    # the bin's exact mean 54.37 (SD 11) is what today's release rounded: it must not show
    scores = pd.DataFrame([[6, 60, 56, 54.37, 51.49, 57.25]], columns=pro.SCORE_COLUMNS)
    result = ProResult(ProOptions(), 200, 56, scores, pd.DataFrame(columns=pro.COMPLETION_COLUMNS),
                       pd.DataFrame(columns=pro.SEVERITY_COLUMNS), exact)
    [row] = protect_pro(result, PARTNER).result.scores.to_dict("records")
    assert row == {"week": 6, "questionnaires": 60, "patients": 55, "mean_score": 55.0,
                   "ci_lower": 51.8, "ci_upper": 58.2}


def test_partner_mean_does_not_move_when_a_score_moves_within_its_band(monkeypatch):
    # 30 patients in [40,50), 30 in [50,60), 25 in [70,80): exact mean 55.2, band mean 57.4
    scores = [42.0] * 30 + [52.0] * 30 + [75.0] * 25
    before = _engine_result(monkeypatch, {6: scores})
    moved = list(scores)
    moved[0] = 49.5  # same band [40,50)
    after = _engine_result(monkeypatch, {6: moved})
    exact_before, exact_after = (r.scores["mean_score"].iloc[0] for r in (before, after))
    assert exact_before != pytest.approx(exact_after)  # the clinician sees it move
    released_before, released_after = (protect_pro(r, PARTNER).result.scores.iloc[0]
                                       for r in (before, after))
    assert released_before["mean_score"] == released_after["mean_score"] == 57.4
    assert released_before["ci_lower"] == released_after["ci_lower"]
    # reproducible from the released band counts (30, 30, 25 at midpoints 45, 55, 75) ...
    assert released_before["mean_score"] == round((30 * 45 + 30 * 55 + 25 * 75) / 85, 1)
    # ... and not the exact mean rounded
    assert released_before["mean_score"] != round(exact_before, 1)


def test_small_bands_merge_until_each_holds_the_policys_threshold():
    exact = _bands(0, {0: 2, 1: 3, 2: 5, 3: 12, 5: 11, 8: 30, 9: 1})
    # [0,30) 2+3+5 = 10, [30,40) 12, [50,60) 11, [80,90) 30 + the short last [90,100) 1 = 31;
    # rounded to 5
    assert released_score_bands(exact, PARTNER) == [
        ReleasedBand(0, 30, 10), ReleasedBand(30, 40, 10), ReleasedBand(50, 60, 10),
        ReleasedBand(80, 100, 30)]
    # a deployment's threshold, not a hard-coded 10: 15 per band: [0,40) 22, [50,100) 42
    strict = policy_for("partner", {"partner": {"min_count": 15, "small_display": "< 15"}})
    assert released_score_bands(exact, strict) == [ReleasedBand(0, 40, 20),
                                                   ReleasedBand(50, 100, 40)]
    advisory = policy_for("advisory")  # 20 per band, rounded to 10
    assert released_score_bands(exact, advisory) == [ReleasedBand(0, 40, 20),
                                                     ReleasedBand(50, 100, 40)]
    # one band short of the threshold on its own: the whole bin is one band
    assert released_score_bands(_bands(0, {4: 12, 9: 3}), PARTNER) == [ReleasedBand(40, 100, 15)]


def test_a_bin_with_too_few_patients_is_hidden(monkeypatch):
    result = _engine_result(monkeypatch, {0: [50.0] * 7, 6: [60.0] * 30})
    assert list(result.scores["patients"]) == [7, 30]
    released = protect_pro(result, PARTNER)
    assert list(released.result.scores["week"]) == [6]
    assert "pro scores: 1 bin(s) with few patients hidden" in released.suppressed
    # a bin without its band histogram cannot be released: hidden, not the exact mean
    blind = protect_pro(ProResult(result.options, 200, 37, result.scores, result.completion,
                                  result.severity, result.score_bands.iloc[0:0]), PARTNER)
    assert blind.result.scores.empty


def test_clinicians_keep_the_exact_mean_and_ci(monkeypatch):
    result = _engine_result(monkeypatch, {6: [42.0] * 30 + [52.0] * 30 + [75.0] * 20})
    released = protect_pro(result, policy_for("clinician")).result
    assert released is result
    [row] = released.scores.to_dict("records")
    scores = np.array([42.0] * 30 + [52.0] * 30 + [75.0] * 20)
    half = 1.959963984540054 * scores.std(ddof=1) / math.sqrt(80)
    assert row["mean_score"] == pytest.approx(scores.mean())
    assert row["ci_upper"] - row["mean_score"] == pytest.approx(half)
    assert "scores_release" not in released.definitions


def test_the_band_histogram_counts_each_patients_bin_mean_once(monkeypatch):
    result = _engine_result(monkeypatch, {0: [0.0, 9.99, 10.0, 29.999999999999996, 100.0],
                                          6: [55.0, 55.0]})
    bands = result.score_bands
    assert bands[["week", "band", "patients"]].values.tolist() == [
        [0, 0, 2], [0, 1, 1], [0, 3, 1], [0, 9, 1], [6, 5, 2]]
    assert (bands.groupby("week")["patients"].sum()
            == result.scores.set_index("week")["patients"]).all()
    assert list(bands.loc[bands["band"] == 9, "band_upper"]) == [100.0]


def test_every_instruments_bands_cover_its_score_range():
    assert set(SCORE_BANDS) == set(PRO_INSTRUMENTS)
    for instrument, bands in SCORE_BANDS.items():
        low, high = PRO_SCORE_RANGE[instrument]
        assert bands.lower <= low and bands.lower + bands.count * bands.width >= high
    # PRO-CTCAE answers are whole levels: each sits at the midpoint of its band
    ctcae = SCORE_BANDS[PRO_CTCAE]
    levels = np.arange(5.0)
    lower, upper = ctcae.edges(ctcae.band_of(levels))
    assert list((lower + upper) / 2) == list(levels)


def test_protected_release_keeps_no_histogram_and_says_how_the_mean_was_made(monkeypatch):
    result = _engine_result(monkeypatch, {6: [42.0] * 30 + [52.0] * 30 + [75.0] * 20})
    released = protect_pro(result, PARTNER).result
    assert released.score_bands.empty and list(released.score_bands.columns) == BAND_COLUMNS
    assert list(released.definitions) == ["scores", "scores_release", "completion", "severity"]
    note = released.definitions["scores_release"]
    assert "10-point bands" in note and "fewer than 10 patients" in note
    assert "nearest 5" in note
    finnish = translator("fi").text(note)
    assert "10 pisteen luokkiin" in finnish and "alle 10 potilaan" in finnish
    caption = [div.children for div in analysis_page._show_pro(released, None)[3]]
    assert str(note) in caption
    assert str(note) in exports.pro_export(released).about
