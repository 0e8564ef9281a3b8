"""What the survival panel shows is decided in queries (not in the page): the hazard ratio of
an ordered stratification's last level vs its first, and readable numbers at risk."""

from __future__ import annotations

import numpy as np

from queries.analyses import survival
from queries.analyses.strata import get
from queries.snapshot.schema import DAYS_PER_MONTH

TPS = get("pdl1_tps").levels[:3]  # < 1 %, 1-49 %, >= 50 %


def _agg(groups: list[str], longest_days: int, seed: int = 3):
    rng = np.random.default_rng(seed)
    n = len(groups)
    durations = rng.integers(1, longest_days, size=n)
    durations[0] = longest_days
    return survival.aggregate_patients(durations, rng.random(n) < 0.7, groups)


def test_ordered_stratification_of_three_groups_gets_the_hazard_ratio_of_last_vs_first():
    agg = _agg([TPS[i % 3] for i in range(300)], 900)
    shown = survival.fit(agg, "os", "pdl1_tps", hr_ordered_extremes=True)
    assert (shown.hazard_ratio.group, shown.hazard_ratio.reference) == (TPS[2], TPS[0])
    assert not any("no single hazard ratio" in note for note in shown.notes)
    plain = survival.fit(agg, "os", "pdl1_tps")
    assert plain.hazard_ratio is None
    assert any("no single hazard ratio" in note for note in plain.notes)


def test_a_chosen_pair_wins_over_the_ordered_default():
    agg = _agg([TPS[i % 3] for i in range(300)], 900)
    shown = survival.fit(agg, "os", "pdl1_tps", hr_groups=(TPS[1], TPS[0]),
                         hr_ordered_extremes=True)
    assert (shown.hazard_ratio.group, shown.hazard_ratio.reference) == (TPS[1], TPS[0])


def test_unordered_stratification_of_three_groups_gets_the_log_rank_test_only():
    agg = _agg([("HUS", "TAYS", "OYS")[i % 3] for i in range(300)], 900)
    shown = survival.fit(agg, "os", "site", hr_ordered_extremes=True)
    assert shown.hazard_ratio is None and shown.logrank is not None


def test_numbers_at_risk_every_12_months_when_every_6_would_give_more_than_the_columns():
    long = _agg(["All patients"] * 200, int(8 * 12 * DAYS_PER_MONTH))
    assert survival.fit(long, "os").at_risk["time_months"].nunique() == 17
    readable = survival.fit(long, "os", at_risk_columns=9).at_risk["time_months"].unique()
    assert list(readable) == [0.0, 12.0, 24.0, 36.0, 48.0, 60.0, 72.0, 84.0, 96.0]
    short = _agg(["All patients"] * 200, int(37 * DAYS_PER_MONTH))
    assert list(survival.fit(short, "os", at_risk_columns=9).at_risk["time_months"].unique()) \
        == [0.0, 6.0, 12.0, 18.0, 24.0, 30.0, 36.0]


def test_cutting_at_a_number_at_risk_ends_each_curve_there_and_keeps_the_estimates():
    agg = _agg([TPS[i % 3] for i in range(300)], 900)
    full = survival.fit(agg, "os", "pdl1_tps")
    cut = survival.cut_at_risk(full, 20)
    for stratum, part in cut.curve.groupby("stratum"):
        whole = full.curve[full.curve["stratum"] == stratum]
        assert part["at_risk"].min() >= 20
        assert len(part) == (whole["at_risk"] >= 20).sum() < len(whole)
        assert part["cut_reason"].iloc[-1] == ("curve cut: fewer than 20 patients at risk "
                                               "after this time")
        assert part["cut_reason"].iloc[:-1].isna().all()
        drawn = cut.at_risk[cut.at_risk["stratum"] == stratum]["time_months"]
        assert drawn.max() <= part["time_months"].max()
    assert cut.summary.equals(full.summary) and cut.logrank == full.logrank
    assert any("at least 20 patients" in note for note in cut.notes)
    assert survival.cut_at_risk(full, None) is full
    assert survival.cut_at_risk(full, 1) is full  # every step has at least one at risk
