"""The inversion attack on survival curves released to a protected role (issue #11, part 1).

The attacker knows the code and receives everything the role receives about a cohort's curve:
the protected ``SurvivalResult`` (curve, CI, at risk, events, censored, medians, milestone
rates, restricted mean, warnings, tests), the
CSV frame made from it, and the cohort size in the page header. They enumerate exact
histories near the true one -- the cohort size ``n`` (patients censored at the end of
follow-up added or removed), and the number of events ``d`` at the first event day (patients
moved between an event there and censoring at the end) -- run each through the same release
code, and keep those whose release is identical to what they received.

The released *counts* (header, stratum sizes and events, every curve row's time, at risk,
events and censored, the numbers at risk) already say something: a history whose counts
differ is ruled out by them alone. The attack *narrows* when the rest of the release
(survival, CI, medians, tests) rules out a history whose released counts are the same. That
must never happen: every other number is computed from the released counts only.

Histories are released in batches, each history as one stratum of one fit: a protected
curve, its summary row and its numbers at risk depend on that stratum's counts alone
(checked by ``test_a_batched_history_is_released_as_on_its_own``), which keeps 150 cohorts and
100 near-twin pairs fast. Cohorts are random subsets of the sample's index population (every
patient at their first anti-PD-(L)1 start), with their per-patient endpoints read once from
the app's analysis base; a near twin is a cohort minus the patients of one age at index
(``not age_at_index between [a, a]``), removing 1-9 patients.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from components import exports
from queries import disclosure as d
from queries.analyses import survival
from queries.analyses.strata import base_table

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "data" / "sample"
POLICIES = (d.policy_for("partner"), d.policy_for("advisory"))
RANDOM_COHORTS = 150
TWIN_PAIRS = 100
STRATIFIED_COHORTS = 12
MOVES = (-2, -1, 1, 2)  # patients moved between an early event and late censoring
COUNT_COLUMNS = {"curve": ["time_days", "at_risk", "events", "censored"],
                 "summary": ["n", "events"], "at_risk": ["time_months", "at_risk"],
                 "milestones": ["time_months", "at_risk"], "rmst": []}


@pytest.fixture(scope="module")
def population(tmp_path_factory):
    """Per-patient endpoints, age and sex of the sample's index population."""
    if not (SAMPLE_DIR / "manifest.json").exists():
        pytest.skip("data/sample is not generated yet")
    from queries.cohort.kept_tables import materialize_frame
    from queries.snapshot.files import open_snapshot

    db = open_snapshot(SAMPLE_DIR, tmp_path_factory.mktemp("cache"))
    sql = ("SELECT patient_id, min(start_date) AS index_date, min(line_number) AS index_line "
           "FROM treatments WHERE drug_class IN ('anti-PD-1', 'anti-PD-L1') GROUP BY 1 "
           "ORDER BY 1")
    candidates = db.cursor().execute(sql).df()
    cohort = materialize_frame(db, "attack_population", candidates)
    sql = f"SELECT patient_id, age, s_sex AS sex FROM {base_table(cohort)}"  # noqa: S608
    patients = db.cursor().execute(sql).df()
    for endpoint in ("os", "pfs"):
        times = pd.DataFrame(survival.patient_times(cohort, endpoint),
                             columns=["patient_id", f"{endpoint}_days", f"{endpoint}_event"])
        patients = patients.merge(times, on="patient_id", how="left")
    patients = patients.sort_values("patient_id", ignore_index=True)
    yield db, candidates, patients
    db.close()


# --- histories ---------------------------------------------------------------------------


def day_counts(patients: pd.DataFrame, endpoint: str) -> pd.DataFrame:
    """(time_days, n_event, n_censored) of one group, as the app aggregates it."""
    usable = patients[patients[f"{endpoint}_days"].notna()]
    agg = survival.aggregate_patients(usable[f"{endpoint}_days"].to_numpy(),
                                      usable[f"{endpoint}_event"].astype(bool).to_numpy())
    return agg.drop(columns="stratum")


def _take_late_censored(counts: pd.DataFrame, k: int) -> pd.DataFrame | None:
    """``counts`` with ``k`` censored patients removed from the latest days, keeping the last
    day (so the follow-up, hence the at-risk months, stays the same); None if impossible."""
    out = counts.copy()
    censored = out["n_censored"].to_numpy().copy()
    last = len(out) - 1
    for i in range(last, -1, -1):
        keep = 1 if i == last and out["n_event"].iloc[i] == 0 else 0
        take = min(k, max(int(censored[i]) - keep, 0))
        censored[i] -= take
        k -= take
        if k == 0:
            out["n_censored"] = censored
            return out
    return None


def with_size(counts: pd.DataFrame, delta: int) -> pd.DataFrame | None:
    """``delta`` more (or fewer) patients, censored at the end of follow-up."""
    if delta >= 0:
        out = counts.copy()
        out.loc[out.index[-1], "n_censored"] += delta
        return out
    return _take_late_censored(counts, -delta)


def with_first_events(counts: pd.DataFrame, delta: int) -> pd.DataFrame | None:
    """``delta`` patients moved from censoring at the end to an event on the first event day
    (or back, for a negative ``delta``); the cohort size stays the same."""
    events = counts.index[counts["n_event"] > 0]
    if len(events) == 0:
        return None
    first = events[0]
    if delta > 0:
        out = _take_late_censored(counts, delta)
        if out is not None:
            out.loc[first, "n_event"] += delta
        return out
    if counts.loc[first, "n_event"] < -delta:
        return None
    out = counts.copy()
    out.loc[first, "n_event"] += delta
    out.loc[out.index[-1], "n_censored"] -= delta
    return out


# --- what the role receives --------------------------------------------------------------


def _rows(frame: pd.DataFrame) -> dict[str, tuple]:
    """Rows of a protected frame per stratum (NA as None), without the stratum column."""
    values = frame.drop(columns="stratum").to_numpy(dtype=object)
    values[pd.isna(values)] = None
    out: dict[str, list] = {}
    for stratum, row in zip(frame["stratum"].astype(str), values, strict=True):
        out.setdefault(stratum, []).append(tuple(row))
    return {k: tuple(v) for k, v in out.items()}


@dataclasses.dataclass(frozen=True)
class Release:
    counts: tuple  # every released count, with the grid time it belongs to
    everything: tuple  # everything else as well


def _count_positions(frame: pd.DataFrame, name: str) -> list[int]:
    columns = [c for c in frame.columns if c != "stratum"]
    return [columns.index(c) for c in COUNT_COLUMNS[name] if c in columns]


def _releases(result: survival.SurvivalResult, headers: dict[str, str]) -> dict[str, Release]:
    """What the role receives about each stratum of a protected result."""
    frames = {name: getattr(result, name) for name in COUNT_COLUMNS}
    rows = {name: _rows(frame) for name, frame in frames.items()}
    positions = {name: _count_positions(frame, name) for name, frame in frames.items()}
    out = {}
    for stratum, header in headers.items():
        parts = {name: rows[name].get(stratum, ()) for name in COUNT_COLUMNS}
        counts = (header,) + tuple(tuple(tuple(row[i] for i in positions[name]) for row in part)
                                   for name, part in parts.items())
        warnings = tuple(w.removeprefix(f"{stratum}:") for w in result.warnings
                         if w.startswith(f"{stratum}:"))
        out[stratum] = Release(counts, counts + tuple(parts.values()) + (warnings,))
    return out


def release_batch(histories: list[pd.DataFrame], sizes: list[int],
                  policies: tuple[d.Policy, ...] = POLICIES) -> dict[str, list[Release]]:
    """Release each history as the curve of a cohort of ``sizes[i]`` patients, per role."""
    labels = [f"h{i:03d}" for i in range(len(histories))]
    agg = pd.concat([h.assign(stratum=s) for h, s in zip(histories, labels, strict=True)],
                    ignore_index=True)
    # the batch's strata are separate cohorts: tests across them are not part of any release
    exact = dataclasses.replace(survival.fit(agg, "os"), logrank=None, hazard_ratio=None)
    out = {}
    for policy in policies:
        headers = {label: d.protect_count(size, policy).display
                   for label, size in zip(labels, sizes, strict=True)}
        released = _releases(d.protect_survival(exact, policy).result, headers)
        out[policy.role] = [released[label] for label in labels]
    return out


def _bucket(n: int, policy: d.Policy) -> list[int]:
    """Sizes whose released count equals that of ``n`` (what the header already says)."""
    released = d.protect_count(n, policy).value
    return [n + k for k in range(-2 * policy.rounding, 2 * policy.rounding + 1)
            if n + k > 0 and d.protect_count(n + k, policy).value == released]


@dataclasses.dataclass
class Attack:
    """What the attacker can tell about one count: the values consistent with the released
    counts alone, and with the whole release."""

    by_counts: set[int]
    by_release: set[int]

    @property
    def narrowed(self) -> bool:
        return self.by_release != self.by_counts


def attack(counts: pd.DataFrame, moves: tuple[int, ...] = MOVES
           ) -> dict[str, tuple[Attack, Attack] | None]:
    """Per role: the size and first-event attacks on one cohort's curve (None: no curve)."""
    n = int(counts[["n_event", "n_censored"]].to_numpy().sum())
    sizes = sorted({s for p in POLICIES for s in _bucket(n, p) if s != n
                    and with_size(counts, s - n) is not None})
    moved = [k for k in moves if with_first_events(counts, k) is not None]
    histories = ([counts] + [with_size(counts, s - n) for s in sizes]
                 + [with_first_events(counts, k) for k in moved])
    released = release_batch(histories, [n, *sizes] + [n] * len(moved))
    out: dict[str, tuple[Attack, Attack] | None] = {}
    for policy in POLICIES:
        truth, *rest = released[policy.role]
        if len(truth.counts[1]) <= 1:  # no curve drawn (too small): nothing to attack
            out[policy.role] = None
            continue
        bucket = set(_bucket(n, policy))
        by_size = {s: r for s, r in zip(sizes, rest, strict=False) if s in bucket}
        by_move = dict(zip(moved, rest[len(sizes):], strict=True))
        out[policy.role] = (_narrowing(n, truth, by_size), _narrowing(0, truth, by_move))
    return out


def _narrowing(value: int, truth: Release, candidates: dict[int, Release]) -> Attack:
    same_counts = {k for k, r in candidates.items() if r.counts == truth.counts} | {value}
    same_release = {k for k, r in candidates.items() if r == truth} | {value}
    return Attack(same_counts, same_release)


def _random_cohort(patients: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    size = int(rng.integers(10, 601))
    return patients.iloc[np.sort(rng.choice(len(patients), size, replace=False))]


def _twin(cohort: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame | None:
    """The cohort without the patients of one age at index, when that removes 1-9 of them."""
    ages = cohort["age"].value_counts()
    small = ages[(ages >= 1) & (ages <= 9)].index.to_numpy()
    if len(small) == 0:
        return None
    return cohort[cohort["age"] != rng.choice(np.sort(small))]


# --- the tests -----------------------------------------------------------------------------


FIGURES = ("with_curve", "size_narrowed", "size_solved", "events_narrowed",
           "pairs_with_curves", "difference_narrowed", "difference_solved")


def run_attacks(patients: pd.DataFrame, seed: int = 11) -> dict[str, dict[str, int]]:
    """Random cohorts and near-twin pairs; per role, how often the attack narrowed a count.

    The first cohort of a pair is one of the random cohorts (with OS as the endpoint), so its
    attack is run once.
    """
    rng = np.random.default_rng(seed)
    figures = {p.role: dict.fromkeys(FIGURES, 0) for p in POLICIES}
    totals = {"cohorts": 0, "pairs": 0}
    twins = []
    for i in range(RANDOM_COHORTS):
        cohort = _random_cohort(patients, rng)
        endpoint = "pfs" if i % 3 == 2 else "os"
        totals["cohorts"] += 1
        found = attack(day_counts(cohort, endpoint))
        twin = _twin(cohort, rng) if endpoint == "os" else None
        if twin is not None:
            twins.append((found, twin))
        for role, attacks in found.items():
            if attacks is not None:
                size, events = attacks
                figures[role]["with_curve"] += 1
                figures[role]["size_narrowed"] += size.narrowed
                figures[role]["size_solved"] += size.narrowed and len(size.by_release) == 1
                figures[role]["events_narrowed"] += events.narrowed
    for first, twin in twins[:TWIN_PAIRS]:
        totals["pairs"] += 1
        second = attack(day_counts(twin, "os"), moves=())
        for role in figures:
            if first[role] is None or second[role] is None:
                continue
            a, b = first[role][0], second[role][0]  # type: ignore[index]
            by_counts = {x - y for x in a.by_counts for y in b.by_counts}
            by_release = {x - y for x in a.by_release for y in b.by_release}
            figures[role]["pairs_with_curves"] += 1
            figures[role]["difference_narrowed"] += by_release != by_counts
            figures[role]["difference_solved"] += by_release != by_counts \
                and len(by_release) == 1
    return {"totals": totals, **figures}


def test_inverting_released_curves_never_narrows_a_count_beyond_the_released_counts(
        population):
    """For the partner and the advisory policies, over 150 random cohorts (10-600 patients;
    OS or PFS) and 100 near-twin pairs."""
    _, _, patients = population
    figures = run_attacks(patients)
    assert figures["totals"] == {"cohorts": RANDOM_COHORTS, "pairs": TWIN_PAIRS}
    for policy in POLICIES:
        found = figures[policy.role]
        # nearly every cohort and pair has a curve to attack (the sizes start at 10 patients)
        assert found["with_curve"] >= 0.8 * RANDOM_COHORTS, figures
        assert found["pairs_with_curves"] >= 0.7 * TWIN_PAIRS, figures
        assert not any(v for k, v in found.items() if "narrowed" in k or "solved" in k), \
            figures


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.role)
def test_inverting_stratified_curves_and_their_tests_never_narrows_a_stratum_size(
        population, policy):
    """With strata (sex) the release also holds the log-rank test and the hazard ratio; the
    attack changes one stratum's size within what its released size says."""
    _, _, patients = population
    rng = np.random.default_rng(5)
    attacked = 0
    for _ in range(STRATIFIED_COHORTS):
        cohort = _random_cohort(patients, rng)
        usable = cohort[cohort["os_days"].notna()]
        agg = survival.aggregate_patients(usable["os_days"], usable["os_event"].astype(bool),
                                          usable["sex"])
        stratum = str(rng.choice(sorted(set(agg["stratum"]))))
        mine = agg[agg["stratum"] == stratum].drop(columns="stratum").reset_index(drop=True)
        others = agg[agg["stratum"] != stratum]
        n = int(mine[["n_event", "n_censored"]].to_numpy().sum())
        months = survival.default_at_risk_months(float(agg["time_days"].max()))
        releases = {}
        for size in _bucket(n, policy):
            history = with_size(mine, size - n)
            if history is None:
                continue
            full = pd.concat([others, history.assign(stratum=stratum)], ignore_index=True)
            result = d.protect_survival(survival.fit(full, "os", "sex", months), policy).result
            strata = {str(s): "" for s in full["stratum"].unique()}
            released = tuple(sorted(_releases(result, strata).items()))
            counts = tuple((s, r.counts) for s, r in released)
            tests = (result.logrank, result.trend, result.hazard_ratio, result.rmst_difference)
            releases[size] = (counts, (released, repr(tests)))
        truth = releases[n]
        attacked += len(truth[0][0]) > 1
        by_counts = {s for s, r in releases.items() if r[0] == truth[0]}
        by_release = {s for s, r in releases.items() if r == truth}
        assert by_release == by_counts, (stratum, n, sorted(by_counts), sorted(by_release))
    assert attacked >= STRATIFIED_COHORTS // 2


def test_a_batched_history_is_released_as_on_its_own(population):
    """The batching above is sound: a stratum's protected curve, summary and numbers at risk
    are the same when it is fitted alone (as the app does for an unstratified cohort)."""
    _, _, patients = population
    rng = np.random.default_rng(3)
    histories = [day_counts(_random_cohort(patients, rng), "os") for _ in range(4)]
    longest = max(float(h["time_days"].max()) for h in histories)
    histories = [h if float(h["time_days"].max()) == longest else
                 pd.concat([h, pd.DataFrame({"time_days": [int(longest)], "n_event": [0],
                                             "n_censored": [0]})], ignore_index=True)
                 for h in histories]
    sizes = [int(h[["n_event", "n_censored"]].to_numpy().sum()) for h in histories]
    batch = release_batch(histories, sizes)
    alone = [release_batch([h], [n]) for h, n in zip(histories, sizes, strict=True)]
    for policy in POLICIES:
        assert batch[policy.role] == [one[policy.role][0] for one in alone]


def test_the_app_path_releases_what_the_attack_models(population):
    """The cohort's curve through the app (materialized cohort -> kaplan_meier -> protect) is
    the curve the attack releases from per-patient endpoints; the CSV adds nothing to it."""
    db, candidates, patients = population
    from queries.cohort.kept_tables import materialize_frame

    rows = candidates.sample(137, random_state=4)
    cohort = materialize_frame(db, "attack_app_path", rows)
    counts = day_counts(patients[patients["patient_id"].isin(rows["patient_id"])], "os")
    for policy in POLICIES:
        app = d.protect_survival(survival.kaplan_meier(cohort, "os"), policy).result
        modelled = release_batch([counts], [cohort.size])[policy.role][0]
        header = d.protect_count(cohort.size, policy).display
        assert _releases(app, {"All patients": header})["All patients"] == modelled
        download = {t.name: t.frame for t in exports.survival_export(app).tables}
        assert download["curve"]["survival"].tolist() == app.curve["survival"].tolist()
        assert download["curve"]["at_risk"].tolist() == app.curve["at_risk"].tolist()
        assert download["medians"]["events"].tolist() == app.summary["events"].tolist()


def test_the_attack_finds_exact_counts_in_curves_computed_from_exact_counts(population):
    """The attack has teeth: a release that rounds an exact Kaplan-Meier fit (the method this
    replaced) is solved back to the exact cohort size."""
    _, _, patients = population
    rng = np.random.default_rng(8)
    policy = POLICIES[0]
    solved = 0
    for _ in range(10):
        counts = day_counts(_random_cohort(patients, rng), "os")
        n = int(counts[["n_event", "n_censored"]].to_numpy().sum())
        leaky = {}
        for size in _bucket(n, policy):
            history = with_size(counts, size - n)
            if history is None:
                continue
            curve = survival.fit(history.assign(stratum="All patients"), "os").curve
            first = curve[curve["events"] > 0].iloc[0]
            leaky[size] = round(float(first["survival"]), 3), round(float(first["ci_lower"]), 3)
        solved += [v for v in leaky.values()].count(leaky[n]) == 1 and len(leaky) > 1
    assert solved >= 2
