"""Disclosure control: policies, counts, percentages, tables with secondary suppression,
attrition, survival curves, and the adapters over real analysis results.

The differencing tests play the attacker: they know the algorithm and the released output,
and look for another input that gives exactly the same output but a different hidden value.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from queries import disclosure as d

CLINICIAN = d.policy_for("clinician")
PARTNER = d.policy_for("partner")
ADVISORY = d.policy_for("advisory")
PROTECTED_POLICIES = (PARTNER, ADVISORY)
_HYPO = dict(deadline=None, derandomize=True,
             suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def assert_released_count(r: d.Released, policy: d.Policy, structural_zero: bool = False):
    """A released count is withheld, a structural zero, or >= threshold and rounded."""
    if r.suppressed:
        assert r.value is None
        assert not any(ch.isdigit() for ch in r.display.replace(str(policy.min_count), ""))
        return
    if r.value == 0 and structural_zero:
        return
    assert r.value >= policy.min_count, r
    assert r.value % policy.rounding == 0, r


# --- policies --------------------------------------------------------------------------------


def test_default_policies_follow_the_design_table():
    assert CLINICIAN.exact
    assert (PARTNER.min_count, PARTNER.rounding, PARTNER.small_display) == (10, 5, "< 10")
    assert (ADVISORY.min_count, ADVISORY.rounding, ADVISORY.percent_decimals) == (20, 10, 0)
    assert PARTNER.survival_min_stratum == 10 and PARTNER.at_risk_rounding == 5
    assert d.policy_for("admin").min_count == ADVISORY.min_count  # fails closed


def test_policy_config_overrides_and_rejects_unknown_roles_and_keys():
    stricter = d.policy_for("partner", {"partner": {"min_count": 15}})
    assert stricter.min_count == 15 and stricter.rounding == 5
    with pytest.raises(ValueError):
        d.policy_for("visitor")
    with pytest.raises(ValueError):
        d.policy_for("partner", {"partner": {"min_cnt": 15}})


# --- counts and percentages --------------------------------------------------------------------


@pytest.mark.parametrize(("n", "partner", "advisory"), [
    (0, "< 10", "< 20"), (1, "< 10", "< 20"), (9, "< 10", "< 20"), (10, "10", "< 20"),
    (12, "10", "< 20"), (13, "15", "< 20"), (19, "20", "< 20"), (20, "20", "20"),
    (24, "25", "20"), (25, "25", "30"), (1234, "1,235", "1,230"),
])
def test_counts_are_withheld_below_threshold_and_rounded_above(n, partner, advisory):
    assert d.protect_count(n, PARTNER).display == partner
    assert d.protect_count(n, ADVISORY).display == advisory
    assert d.protect_count(n, CLINICIAN).value == n


def test_zero_is_shown_only_when_structural():
    assert d.protect_count(0, PARTNER).suppressed
    assert d.protect_count(0, PARTNER, structural_zero=True).display == "0"


def test_custom_threshold_never_releases_a_value_below_it():
    odd = d.policy_for("partner", {"partner": {"min_count": 11}})
    assert d.protect_count(11, odd).value == 15


def test_percentages_come_from_released_numbers_and_need_both_shown():
    assert d.protect_percent(13, 47, PARTNER).display == "33.3%"  # 15 / 45
    assert d.protect_percent(5, 47, PARTNER).suppressed
    assert d.protect_percent(5, 8, PARTNER).suppressed
    assert d.protect_percent(25, 47, ADVISORY).display == "60%"  # 30 / 50, whole percent
    assert d.protect_percent(25, 19, ADVISORY).suppressed  # group under 20
    assert d.protect_percent(13, 47, CLINICIAN).value == round(100 * 13 / 47, 1)


@settings(max_examples=300, **_HYPO)
@given(n=st.integers(0, 100_000), structural=st.booleans())
def test_property_no_released_count_is_small_or_unrounded(n, structural):
    for policy in PROTECTED_POLICIES:
        assert_released_count(d.protect_count(n, policy, structural), policy, structural)


@settings(max_examples=300, **_HYPO)
@given(num=st.integers(0, 5000), extra=st.integers(0, 5000))
def test_property_percentages_only_over_released_numbers(num, extra):
    den = num + extra
    for policy in PROTECTED_POLICIES:
        pct = d.protect_percent(num, den, policy)
        rn, rd = d.protect_count(num, policy), d.protect_count(den, policy)
        if rn.suppressed or rd.suppressed:
            assert pct.suppressed and pct.value is None
        elif not pct.suppressed:
            assert rd.value >= policy.percent_min_group
            assert pct.value == pytest.approx(100 * rn.value / rd.value,
                                              abs=0.5 * 10 ** -policy.percent_decimals + 1e-9)


# --- tables ------------------------------------------------------------------------------------


def _site_table(counts: list[int]) -> pd.DataFrame:
    return pd.DataFrame({"site": [f"S{i}" for i in range(len(counts))], "patients": counts})


def test_secondary_suppression_hides_the_next_smallest_cell_and_total_uses_released_cells():
    out = d.protect_table(_site_table([120, 37, 3, 50]), ["patients"], PARTNER,
                          label_column="site")
    table = out.result
    assert table.display["patients"].tolist() == ["120", "suppressed", "suppressed", "50"]
    # 120 + 50 + round5(37 + 3): the total cannot be split back into 37 and 3
    assert table.grand_total.value == 210
    assert out.suppressed == ["S1 / patients: hidden to protect a small count",
                              "S2 / patients: under 10"]


def test_a_group_of_only_small_cells_withholds_its_total():
    table = d.protect_table(_site_table([3, 4]), ["patients"], PARTNER).result
    assert table.values["patients"].isna().all()
    assert table.grand_total.suppressed


def test_two_dimensional_table_protects_rows_and_columns():
    wide = pd.DataFrame({"2020": [30, 4, 22], "2021": [41, 15, 0], "2022": [12, 60, 33]},
                        index=["A", "B", "C"])
    table = d.protect_table(wide, list(wide.columns), PARTNER).result
    hidden = table.values[list(wide.columns)].isna().to_numpy()
    for axis in (0, 1):
        per_group = hidden.sum(axis=axis)
        assert all(h == 0 or h >= 2 for h in per_group)
    assert hidden[1, 0] and hidden[2, 1]  # the primary cells 4 and 0


def test_clinician_tables_are_exact():
    table = d.protect_table(_site_table([120, 37, 3]), ["patients"], CLINICIAN).result
    assert table.values["patients"].tolist() == [120, 37, 3]
    assert table.grand_total.value == 160


def _released_view(df: pd.DataFrame, columns: list[str], policy: d.Policy):
    table = d.protect_table(df, columns, policy).result
    return (tuple(map(tuple, table.display[columns].to_numpy())),
            tuple(r.display for r in table.column_totals.values()),
            tuple(r.display for r in table.row_totals or ()), table.grand_total.display)


def _block_sums(values: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """Hidden-cell sums per column, per row and overall (what released totals depend on)."""
    masked = np.where(hidden, values, 0)
    rows, cols = hidden.shape
    parts = [masked.sum(axis=(-2, -1))[..., None]]
    if rows >= 2 or cols == 1:
        parts.append(masked.sum(axis=-2))
    if cols >= 2:
        parts.append(masked.sum(axis=-1))
    return np.concatenate(parts, axis=-1)


def _alternatives(values: np.ndarray, hidden: np.ndarray, cell, reach: int = 2):
    """Inputs the attacker cannot rule out cheaply: ``cell`` changed and up to five other
    hidden cells (all of them in tables hiding <= 6) moved by up to ``reach``, keeping each hidden block on the same side of the
    threshold and in the same rounding bucket (the caller compares the released output)."""
    others = sorted((tuple(c) for c in np.argwhere(hidden) if tuple(c) != tuple(cell)),
                    key=lambda c: -values[c])  # cells with room to move first
    cells = np.array([tuple(cell), *others[:5]])
    steps = [d for d in range(-reach, reach + 1) if d]
    deltas = np.array(list(itertools.product(steps, *[range(-reach, reach + 1)] * len(others[:5]))))
    alts = np.repeat(values[None, :, :], len(deltas), axis=0)
    alts[:, cells[:, 0], cells[:, 1]] += deltas
    ok = (alts >= 0).all(axis=(1, 2))
    before, after = _block_sums(values, hidden), _block_sums(alts, hidden)
    k, base = PARTNER.min_count, PARTNER.rounding
    ok &= ((after >= k) == (before >= k)).all(axis=1)
    ok &= ((after + base // 2) // base == (before + base // 2) // base).all(axis=1)
    yield from alts[ok]


def _indistinguishable(values: np.ndarray, policy: d.Policy, cell, extra=None) -> bool:
    """Is there another input, differing in ``cell``, with the same released output(s)?"""
    columns = [f"c{j}" for j in range(values.shape[1])]
    frame = lambda v: pd.DataFrame(v, columns=columns)  # noqa: E731
    view = _released_view(frame(values), columns, policy)
    second = None if extra is None else _released_view(frame(values + extra), columns, policy)
    hidden = _released_hidden(values, policy)
    for alt in _alternatives(values, hidden, cell):
        if _released_view(frame(alt), columns, policy) != view:
            continue
        if extra is None or _released_view(frame(alt + extra), columns, policy) == second:
            return True
    return False


def _released_hidden(values: np.ndarray, policy: d.Policy) -> np.ndarray:
    columns = [f"c{j}" for j in range(values.shape[1])]
    table = d.protect_table(pd.DataFrame(values, columns=columns), columns, policy).result
    return table.values[columns].isna().to_numpy()


tables_1d = st.lists(st.integers(0, 80), min_size=2, max_size=6).map(
    lambda xs: np.array(xs, dtype=np.int64).reshape(-1, 1))
tables_2d = st.tuples(st.integers(2, 4), st.integers(2, 4)).flatmap(
    lambda shape: st.lists(st.integers(0, 60), min_size=shape[0] * shape[1],
                           max_size=shape[0] * shape[1]).map(
        lambda xs: np.array(xs, dtype=np.int64).reshape(shape)))


def _check_table_invariants(values: np.ndarray, policy: d.Policy) -> None:
    columns = [f"c{j}" for j in range(values.shape[1])]
    table = d.protect_table(pd.DataFrame(values, columns=columns), columns, policy).result
    hidden = table.values[columns].isna().to_numpy()
    shown = table.values[columns].to_numpy()[~hidden]
    assert all(v >= policy.min_count and v % policy.rounding == 0 for v in shown)
    groups = [hidden[:, j] for j in range(hidden.shape[1])]
    sums = [values[:, j][hidden[:, j]].sum() for j in range(hidden.shape[1])]
    if values.shape[1] >= 2:
        groups += [hidden[i, :] for i in range(hidden.shape[0])]
        sums += [values[i, :][hidden[i, :]].sum() for i in range(hidden.shape[0])]
    for mask, block in zip(groups, sums, strict=True):
        # every group hides nothing, or >= 2 cells holding >= the threshold, or everything
        assert mask.sum() == 0 or (mask.sum() >= 2 and block >= policy.min_count) or mask.all()
    totals = [*table.column_totals.values(), *(table.row_totals or []), table.grand_total]
    for total in totals:
        assert total.suppressed or total.value % policy.rounding == 0


@settings(max_examples=150, **_HYPO)
@given(values=st.one_of(tables_1d, tables_2d))
def test_property_tables_release_no_small_or_unrounded_cell_and_safe_groups(values):
    for policy in PROTECTED_POLICIES:
        _check_table_invariants(values, policy)


@settings(max_examples=120, **_HYPO)
@given(values=tables_1d)
def test_property_a_small_cell_of_a_site_table_cannot_be_recovered(values):
    hidden = _released_hidden(values, PARTNER)
    for cell in zip(*np.nonzero(hidden & (values < PARTNER.min_count)), strict=True):
        assert _indistinguishable(values, PARTNER, cell), (values.ravel(), cell)


@settings(max_examples=80, **_HYPO)
@given(values=tables_2d)
def test_property_a_small_cell_of_a_site_by_year_table_cannot_be_recovered(values):
    hidden = _released_hidden(values, PARTNER)
    assume(hidden.sum() <= 6)  # the attacker's search below is complete up to six cells
    for cell in zip(*np.nonzero(hidden & (values < PARTNER.min_count)), strict=True):
        assert _indistinguishable(values, PARTNER, cell), (values.tolist(), cell)


@settings(max_examples=120, **_HYPO)
@given(values=tables_1d, pick=st.integers(0, 5))
def test_property_two_site_tables_differing_by_one_patient_reveal_nothing(values, pick):
    """The attacker sees table A and A + one patient at a small site, and knows which site."""
    small = np.nonzero((values.ravel() > 0) & (values.ravel() < PARTNER.min_count - 1))[0]
    if not len(small):
        return
    cell = (int(small[pick % len(small)]), 0)
    extra = np.zeros_like(values)
    extra[cell] = 1
    assert _indistinguishable(values, PARTNER, cell, extra), (values.ravel(), cell)


def test_two_cohorts_differing_by_one_patient_give_the_same_site_table():
    first = _site_table([120, 37, 3, 50])
    second = _site_table([120, 37, 4, 50])
    view = lambda t: _released_view(t.drop(columns="site"), ["patients"], PARTNER)  # noqa: E731
    assert view(first) == view(second)


def test_parts_of_a_released_total_protect_the_unknown_remainder():
    # 100 patients: 60 F, 37 M, 3 unknown sex -> the remainder is small, so a part goes too
    parts = d.protect_parts([60, 37], 100, PARTNER, labels=["F", "M"])
    assert [r.display for r in parts.result] == ["60", "suppressed"]
    assert "remainder: under 10" in parts.suppressed


# --- attrition ---------------------------------------------------------------------------------


def test_attrition_merges_steps_that_remove_fewer_than_the_threshold():
    steps = d.protect_attrition([1000, 995, 990, 960, 958, 500, 5], PARTNER).result
    assert [s.remaining.display for s in steps] == ["1,000", "1,000", "990", "960", "960",
                                                    "500", "< 10"]
    assert [s.merged for s in steps] == [False, True, False, False, True, False, False]
    assert steps[2].excluded.value == 10  # 1000 -> 990 against the last shown step
    assert steps[6].excluded.suppressed  # 500 -> <10: the exclusion would give the rest


@pytest.mark.parametrize("removed", range(1, 10))
def test_attrition_steps_differing_by_1_to_9_reveal_nothing(removed):
    """A rule removing 1-9 patients looks exactly like one removing none."""
    view = lambda steps: [(s.remaining.display, s.excluded.display)  # noqa: E731
                          for s in d.protect_attrition(steps, PARTNER).result]
    assert view([437, 437 - removed, 300]) == view([437, 437, 300])
    assert view([437, 437 - removed]) == view([437, 437])


@settings(max_examples=300, **_HYPO)
@given(start=st.integers(0, 3000),
       drops=st.lists(st.integers(0, 400), min_size=1, max_size=8))
def test_property_attrition_never_shows_a_small_step_or_count(start, drops):
    counts = [start]
    for drop in drops:
        counts.append(max(0, counts[-1] - drop))
    for policy in PROTECTED_POLICIES:
        steps = d.protect_attrition(counts, policy).result
        shown = [s.remaining.value for s in steps if not s.remaining.suppressed]
        for s in steps:
            assert_released_count(s.remaining, policy)
            if not s.excluded.suppressed and s.excluded.value:
                assert s.excluded.value >= policy.min_count
        for a, b in itertools.pairwise(shown):
            assert a - b == 0 or a - b >= policy.min_count


def test_attrition_is_exact_for_clinicians():
    steps = d.protect_attrition([100, 97, 50], CLINICIAN).result
    assert [s.remaining.value for s in steps] == [100, 97, 50]
    assert [s.excluded.value for s in steps] == [0, 3, 47]


# --- survival curves ---------------------------------------------------------------------------


def _km_frame(seed: int = 3, sizes: dict | None = None) -> pd.DataFrame:
    from queries.analyses import survival

    rng = np.random.default_rng(seed)
    rows = []
    for stratum, n in (sizes or {"big": 200, "small": 8}).items():
        for _ in range(n):
            rows.append((stratum, float(round(rng.exponential(300))), int(rng.random() < 0.7)))
    frame = pd.DataFrame(rows, columns=["group", "time", "event"])
    agg = survival.aggregate_patients(frame["time"].to_numpy(), frame["event"].to_numpy(),
                                      frame["group"].to_numpy())
    return survival.fit(agg, "os").curve


def test_survival_hides_small_strata_and_coarsens_steps():
    curve = _km_frame()
    protected = d.protect_survival_curve(curve, PARTNER)
    out = protected.result
    assert set(out["stratum"]) == {"big"}
    assert protected.suppressed == ["stratum small: fewer than 10 patients"]
    steps = out[out["events"].fillna(0) > 0]
    assert len(steps) >= 5
    assert (steps["events"] >= 10).all()
    assert (out["time_days"] % 7 == 0).all()
    at_risk = out["at_risk"].dropna()
    assert ((at_risk % 5 == 0) & (at_risk >= 10)).all()
    # censorings are released too: rounded cumulative counts, so in multiples of the step
    assert (out["censored"] % 10 == 0).all()
    assert out["survival"].is_monotonic_decreasing


def test_protected_curve_follows_the_exact_one_and_stops_before_fewer_than_10_remain():
    curve = _km_frame(sizes={"big": 200})
    out = d.protect_survival_curve(curve, PARTNER).result
    exact = curve.set_index("time_days")["survival"]
    for t, s in zip(out["time_days"], out["survival"], strict=True):
        assert s == pytest.approx(exact[exact.index <= t].iloc[-1], abs=0.05)
    last = out.iloc[-1]
    assert last["at_risk"] - last["events"] >= 10
    assert "fewer than 10" in last["cut_reason"]
    assert out["cut_reason"].iloc[:-1].isna().all()
    assert last["time_days"] < curve["time_days"].max()


def test_protected_curve_is_the_kaplan_meier_estimate_of_its_released_counts():
    from lifelines import KaplanMeierFitter

    curve = _km_frame(sizes={"big": 200})
    out = d.protect_survival_curve(curve, PARTNER).result
    steps = out.iloc[1:]
    # one pseudo-patient per released event or censoring, at the released time
    times = np.repeat(steps["time_days"].to_numpy(float), (steps["events"]
                                                           + steps["censored"]).to_numpy(int))
    events = np.concatenate([[1] * int(e) + [0] * int(c) for e, c in
                             zip(steps["events"], steps["censored"], strict=True)])
    remaining = int(out["at_risk"].iloc[0]) - len(times)
    times = np.append(times, [times.max() + 1] * remaining)
    events = np.append(events, [0] * remaining)
    fitted = KaplanMeierFitter().fit(times, events)
    expected = fitted.survival_function_at_times(steps["time_days"]).to_numpy()
    assert steps["survival"].to_numpy(float) == pytest.approx(expected, abs=1e-3)
    ci = fitted.confidence_interval_.loc[steps["time_days"]]
    assert steps["ci_lower"].to_numpy(float) == pytest.approx(ci.iloc[:, 0].to_numpy(), abs=1e-3)
    assert steps["ci_upper"].to_numpy(float) == pytest.approx(ci.iloc[:, 1].to_numpy(), abs=1e-3)


def test_survival_is_exact_for_clinicians():
    curve = _km_frame()
    pd.testing.assert_frame_equal(d.protect_survival_curve(curve, CLINICIAN).result, curve)


# --- adapters on real analyses -------------------------------------------------------------------

# Columns that hold patient counts, wherever they appear in a result's tables.
COUNT_NAMES = {"n", "events", "at_risk", "patients", "patients_any_grade",
               "patients_grade3plus", "denominator", "responders", "disease_control",
               "not_evaluable", "tested", "positive"}


def _frames(bundle):
    """Every DataFrame of every panel (a new table is checked without editing this test)."""
    panels = [(f"survival.{k}", v) for k, v in bundle.survival.items()]
    panels += [(name, getattr(bundle, name)) for name in ("response", "safety",
                                                            "characteristics")]
    for name, result in panels:
        for f in dataclasses.fields(result):
            value = getattr(result, f.name)
            if isinstance(value, pd.DataFrame):
                yield f"{name}.{f.name}", value


def _check_bundle(bundle, policy: d.Policy) -> None:
    names = [name for name, _ in _frames(bundle)]
    assert any(n.endswith("by_term") for n in names) and any("at_risk" in n for n in names)
    for name, frame in _frames(bundle):
        for col in COUNT_NAMES & set(frame.columns):
            values = pd.to_numeric(frame[col], errors="coerce").dropna()
            zero_ok = name.startswith("survival.") and col in ("at_risk", "events")
            bad = values[~(((values >= policy.min_count) & (values % policy.rounding == 0))
                           | ((values == 0) & zero_ok))]
            assert bad.empty, (name, col, bad.tolist())
    rates = bundle.response.rates
    for num, pct in (("responders", "orr"), ("disease_control", "dcr")):
        assert rates.loc[rates[num].isna() | rates["denominator"].isna(), pct].isna().all()
    overall = bundle.safety.overall
    if overall["patients_any_grade"] is None:
        assert overall["pct_any_grade"] is None


@pytest.fixture(scope="module")
def ici_sample(sample):
    """The sample and its patients with an anti-PD-(L)1 (first start, first line)."""
    db = sample.db
    sql = ("SELECT patient_id, min(start_date) AS index_date, min(line_number) AS index_line "
           "FROM treatments WHERE drug_class IN ('anti-PD-1', 'anti-PD-L1') GROUP BY 1 "
           "ORDER BY 1")
    candidates = db.cursor().execute(sql).df()
    return db, candidates


@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(size=st.integers(1, 400), seed=st.integers(0, 10_000),
       strata=st.sampled_from(["pdl1_tps", "sex", "ecog", None]))
def test_property_random_cohorts_release_nothing_small_to_partner_or_advisory(
        ici_sample, size, seed, strata):
    from queries.analyses.panels import AnalysisOptions, compute
    from queries.cohort.kept_tables import materialize_frame

    db, candidates = ici_sample
    rows = candidates.sample(min(size, len(candidates)), random_state=seed)
    cohort = materialize_frame(db, f"disclosure_{size}_{seed}", rows)
    bundle = compute(cohort, AnalysisOptions(survival_strata=strata, response_strata=strata))
    for policy in PROTECTED_POLICIES:
        protected = d.protect_result(bundle, policy)
        _check_bundle(protected.result, policy)
        assert protected.result.n is None or protected.result.n % policy.rounding == 0
    exact = d.protect_result(bundle, CLINICIAN).result
    assert exact.n == bundle.n


def test_feasibility_adapter_protects_sites_and_years(ici_sample):
    from queries.analyses import feasibility
    from queries.cohort.kept_tables import materialize_frame

    db, candidates = ici_sample
    cohort = materialize_frame(db, "disclosure_feasibility", candidates.head(90))
    exact = feasibility.feasibility(cohort)
    protected = d.protect_result(exact, PARTNER)
    for table in (protected.result.by_site, protected.result.by_year):
        shown = table.values["patients"].dropna()
        assert ((shown >= 10) & (shown % 5 == 0)).all()
    assert protected.result.total.value == d.round_to(exact.total, 5)
    hidden = exact.by_site["patients"] < 10
    if hidden.any():
        assert protected.suppressed


def test_attrition_adapter_releases_alone_counts_as_one_step_attrition():
    from queries.cohort.attrition import Attrition, AttritionStep

    steps = [AttritionStep(0, "index", True, 500, 0, 500),
             AttritionStep(1, "adults", True, 496, 4, 496),
             AttritionStep(2, "NSCLC", True, 200, 296, 203)]
    protected = d.protect_result(Attrition("snap", "hash", steps), PARTNER)
    out = protected.result
    assert [s.remaining.display for s in out] == ["500", "500", "200"]
    assert [s.alone.display for s in out] == ["500", "500", "205"]
    assert d.attrition_frame(out)["excluded"].tolist() == ["0", "< 10", "300"]


def test_unknown_result_types_are_refused():
    with pytest.raises(TypeError):
        d.protect_result(object(), PARTNER)


def test_notes_with_numbers_are_dropped_for_protected_roles():
    notes = ["3 patients left out", "PFS uses RECIST"]
    assert d.clean_notes(notes, PARTNER) == ["PFS uses RECIST"]
    assert d.clean_notes(notes, CLINICIAN) == notes


def test_rounding_is_deterministic_so_repeated_answers_cannot_be_averaged():
    answers = {d.protect_count(123, PARTNER).value for _ in range(50)}
    assert answers == {125}
    assert math.isclose(d.protect_percent(13, 47, PARTNER).value,
                        d.protect_percent(13, 47, PARTNER).value)


@pytest.mark.parametrize("size", [0, 3, 11])
def test_tiny_cohorts_release_nothing_small(ici_sample, size):
    from queries.analyses.panels import AnalysisOptions, compute
    from queries.cohort.kept_tables import materialize_frame

    db, candidates = ici_sample
    cohort = materialize_frame(db, f"disclosure_tiny_{size}", candidates.head(size))
    bundle = compute(cohort, AnalysisOptions(survival_strata="sex", response_strata="sex"))
    for policy in PROTECTED_POLICIES:
        protected = d.protect_result(bundle, policy)
        _check_bundle(protected.result, policy)
        assert (protected.result.n is None) == (size < policy.min_count)


def test_response_rates_use_released_groups_so_a_small_category_is_not_recoverable():
    from queries.analyses import response

    bor = {"CR": 3, "PR": 40, "SD": 30, "PD": 50, "NE": 2, "Not evaluable": 25}
    long = pd.DataFrame({"stratum": "All", "bor": list(bor), "n": list(bor.values())})
    counts, rates = response.rates_from_counts(long, None, "evaluable")
    result = response.ResponseResult(None, counts, rates, None, "evaluable")
    out = d.protect_response(result, PARTNER)
    shown = out.result.counts.set_index("bor")["n"]
    assert shown.isna()["CR"] and shown.isna()["PR"]  # CR is small, so PR goes too
    row = out.result.rates.iloc[0]
    assert row["responders"] == 45  # round5(3 + 40): CR cannot be split back out
    assert row["denominator"] == 125  # 30 + 50 + round5(3 + 40 + 2)
    assert row["orr"] == pytest.approx(round(45 / 125, 3), abs=1e-3)
    low, high = response.clopper_pearson(45, 125)
    assert (row["orr_ci_lower"], row["orr_ci_upper"]) == (round(low, 3), round(high, 3))
    assert any("CR: under 10" in s for s in out.suppressed)


def test_the_bundle_check_catches_unprotected_results(ici_sample):
    from queries.analyses.panels import AnalysisOptions, compute
    from queries.cohort.kept_tables import materialize_frame

    db, candidates = ici_sample
    cohort = materialize_frame(db, "disclosure_unprotected", candidates.head(137))
    bundle = compute(cohort, AnalysisOptions(survival_strata="sex", response_strata="sex"))
    assert len({name for name, _ in _frames(bundle)}) >= 8
    with pytest.raises(AssertionError):
        _check_bundle(bundle, PARTNER)


def test_a_result_with_an_unknown_table_is_refused_not_passed_through():
    from queries.analyses import survival

    @dataclasses.dataclass
    class WithExtra(survival.SurvivalResult):
        per_patient: pd.DataFrame | None = None

    result = WithExtra(endpoint="os", stratification=None, curve=_km_frame(), summary=None,
                       at_risk=None, per_patient=pd.DataFrame({"patient_id": ["P1"]}))
    with pytest.raises(TypeError, match="per_patient"):
        d.protect_survival(result, PARTNER)


@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(sizes=st.tuples(st.integers(1, 300), st.integers(1, 300)), seed=st.integers(0, 10_000))
def test_property_two_cohort_table1_releases_only_protected_counts_and_smds(ici_sample, sizes,
                                                                           seed):
    from queries.analyses import characteristics
    from queries.cohort.kept_tables import materialize_frame

    db, candidates = ici_sample
    tables = [characteristics.table_one(materialize_frame(
        db, f"disclosure_cmp_{i}_{size}_{seed}",
        candidates.sample(min(size, len(candidates)), random_state=seed + i)))
        for i, size in enumerate(sizes)]
    exact = characteristics.compare(*tables)
    assert d.protect_result(exact, CLINICIAN).result is exact
    for policy in PROTECTED_POLICIES:
        protected = d.protect_result(exact, policy)
        comparison = protected.result
        for side, table in (("1", comparison.first), ("2", comparison.second)):
            counts = comparison.rows.loc[comparison.rows["key"] != "age", f"n_{side}"]
            shown = counts.dropna()
            # a level only the other cohort has is a true 0; every other count is protected
            assert ((shown == 0) | ((shown >= policy.min_count)
                                    & (shown % policy.rounding == 0))).all(), shown.tolist()
            withheld = comparison.rows.loc[counts.index[counts.isna()], f"pct_{side}"]
            assert withheld.isna().all()
            assert table.n is None or table.n % policy.rounding == 0
        # the SMD of a variable with a withheld level is withheld: it could be solved for it
        rows = comparison.rows
        for key, part in rows[~rows["key"].isin(["n", "age"])].groupby("key"):
            smd = comparison.variables.set_index("key").loc[key, "smd"]
            if part[["n_1", "n_2"]].isna().any().any():
                assert pd.isna(smd), key
        assert rows.loc[rows[["n_1", "n_2"]].isna().any(axis=1), "smd"].isna().all()
        assert comparison.to_dict()


def test_compare_table1_smds_for_partners_come_from_released_counts(ici_sample):
    from queries.analyses import characteristics
    from queries.cohort.kept_tables import materialize_frame

    db, candidates = ici_sample
    first = characteristics.table_one(materialize_frame(db, "cmp_release_a", candidates.head(400)))
    second = characteristics.table_one(materialize_frame(db, "cmp_release_b",
                                                         candidates.tail(300)))
    protected = d.protect_result(characteristics.compare(first, second), PARTNER).result
    sex = protected.rows[protected.rows["key"] == "sex"]
    assert not sex[["n_1", "n_2"]].isna().any().any()  # both cohorts have many of each sex
    p1 = sex["n_1"].to_numpy(float) / sex["n_1"].sum()
    p2 = sex["n_2"].to_numpy(float) / sex["n_2"].sum()
    smd = protected.variables.set_index("key").loc["sex", "smd"]
    assert smd == pytest.approx(characteristics.smd_multicategory(p1, p2))
    assert protected.n == (400, 300)


@pytest.mark.parametrize("size", [57, 143, 318])
def test_one_released_size_per_cohort_in_the_header_and_every_table(ici_sample, size):
    """The header's count, the unstratified response table, Table 1 and the safety panel all
    show the cohort's one released size (each stratum its own released size), never a sum of
    rounded cells."""
    from queries.analyses.panels import AnalysisOptions, compute
    from queries.cohort.kept_tables import materialize_frame
    from queries.disclosure.release import released_size

    db, candidates = ici_sample
    cohort = materialize_frame(db, f"disclosure_size_{size}", candidates.sample(
        size, random_state=size))
    bundle = compute(cohort, AnalysisOptions(endpoints=("os",), response_strata=None))
    for role in ("partner", "advisory"):
        header = released_size(cohort.size, role)
        released = d.release.release_result(bundle, role).result
        assert released.n == header.value
        assert released.characteristics.n == header.value
        assert released.safety.cohort_size == header.value
        rates = released.response.rates
        assert rates["n"].tolist() == [header.value]
        assert rates["n_display"].tolist() == [header.display]


def test_what_a_partner_is_told_about_withheld_survival_numbers_is_in_finnish_on_a_finnish_page():
    from queries.analyses import survival
    from queries.i18n import translator

    rng = np.random.default_rng(5)
    groups = np.array(["A"] * 200 + ["B"] * 9 + ["C"] * 60)
    agg = survival.aggregate_patients(np.round(rng.exponential(300, len(groups))),
                                      (rng.random(len(groups)) < 0.7).astype(int), groups)
    exact = survival.fit(agg, "os", stratification="ecog", hr_groups=("B", "A"))
    exact.excluded = 3
    released = d.protect_result(exact, PARTNER).result
    said = [*released.notes, *released.warnings]
    assert any("no hazard ratio" in str(note) for note in said)
    assert any("clinicians only" in str(note) for note in said)
    finnish = translator("fi")
    untranslated = [str(note) for note in said if finnish.text(note) == str(note)]
    assert not untranslated
