"""The generator's figures land in plausible ranges around published anchors (issue 16).

Measured on a 200,000-patient snapshot, generated once per generator version and kept in
``var/test-cache`` (a later run with unchanged generator code reuses
it). Each test names the figure, its anchor and the range it must fall in. Set
IOCOHORT_REALISM_SNAPSHOT to a generated snapshot folder to check that one instead (the counts
asserted assume about 200,000 patients).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from queries.snapshot.schema import STAGE_GROUPS, stage_group
from synthetic import generator

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "var" / "test-cache"
PATIENTS = 200_000
SEED = 20261031
ICI = ("anti-PD-1", "anti-PD-L1", "anti-CTLA-4")
DAYS_PER_MONTH = 30.4375


def _generator_key() -> str:
    """Changes whenever the generator or the schema it writes changes."""
    digest = hashlib.sha256()
    for path in sorted([*(ROOT / "synthetic").glob("*.py"),
                        ROOT / "queries" / "snapshot" / "schema.py",
                        ROOT / "queries" / "snapshot" / "files.py"]):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@pytest.fixture(scope="session")
def big_snapshot() -> Path:
    given = os.environ.get("IOCOHORT_REALISM_SNAPSHOT")
    if given:
        return Path(given)
    folder = CACHE / f"realism-{PATIENTS}-{SEED}-{_generator_key()}"
    if not (folder / "manifest.json").exists():
        partial = folder.with_name(folder.name + f".building-{os.getpid()}")
        shutil.rmtree(partial, ignore_errors=True)
        generator.generate_snapshot(PATIENTS, SEED, partial, progress=False)
        os.replace(partial, folder)
        for old in CACHE.glob(f"realism-{PATIENTS}-{SEED}-*"):
            if old != folder and not old.name.count(".building-"):
                shutil.rmtree(old, ignore_errors=True)
    return folder


class Big:
    """Tables of the big snapshot (dates as timestamps) and the first-ICI index."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._tables: dict[str, pd.DataFrame] = {}

    def table(self, name: str) -> pd.DataFrame:
        if name not in self._tables:
            frame = pd.read_parquet(self.folder / f"{name}.parquet")
            for column in frame.columns:
                if column.endswith("_date"):
                    frame[column] = pd.to_datetime(frame[column])
            self._tables[name] = frame
        return self._tables[name]

    def index(self) -> pd.DataFrame:
        if "index" not in self._tables:
            tr = self.table("treatments")
            ici = tr[tr["drug_class"].isin(ICI)].sort_values(
                ["patient_id", "start_date", "line_number"])
            idx = ici.groupby("patient_id", as_index=False).first()[
                ["patient_id", "start_date", "line_number"]]
            idx.columns = ["patient_id", "index_date", "index_line"]
            line = tr.merge(idx)
            line = line[line["line_number"] == line["index_line"]].groupby("patient_id").agg(
                regimen=("regimen", "first"), classes=("drug_class", frozenset))
            idx = (idx.merge(self.table("diagnoses"), on="patient_id")
                   .merge(self.table("patients"), on="patient_id")
                   .merge(line, left_on="patient_id", right_index=True))
            idx["year"] = idx["index_date"].dt.year
            self._tables["index"] = idx
        return self._tables["index"]

    def orr(self, cohort: pd.DataFrame) -> tuple[float, int]:
        """Share with CR/PR among patients with an assessment of the index line."""
        ta = self.table("tumor_assessments").merge(cohort[["patient_id", "index_line"]])
        ta = ta[ta["line_number"] == ta["index_line"]]
        responded = ta.groupby("patient_id")["response"].agg(lambda r: r.isin(["CR", "PR"]).any())
        return float(responded.mean()), len(responded)


@pytest.fixture(scope="module")
def big(big_snapshot) -> Big:
    return Big(big_snapshot)


def _median(months: pd.Series, event: pd.Series) -> float:
    return float(KaplanMeierFitter().fit(months.clip(lower=0), event).median_survival_time_)


def test_pdl1_testing_of_nsclc_starting_io_rises_from_rare_2015_to_routine_2017(big):
    # anchor: ~3 % in 2015 rising to ~70 % in 2017 (Flatiron advanced NSCLC, Khozin 2019)
    idx = big.index()
    nsclc = idx[idx["cancer_type"] == "NSCLC"]
    tps = big.table("biomarkers")
    tps = tps[tps["biomarker"] == "PD-L1 TPS"].merge(nsclc[["patient_id", "index_date"]])
    tested = set(tps.loc[tps["test_date"] <= tps["index_date"], "patient_id"])
    rate = nsclc.groupby("year")["patient_id"].agg(lambda ids: ids.isin(tested).mean())
    assert rate[2015] < 0.20, rate.to_dict()
    assert rate[2015] < rate[2016] < rate[2017], rate.to_dict()
    assert 0.50 < rate[2017] < 0.85, rate.to_dict()


def _stage4_nsclc_first_pd1_2015_17(big: Big) -> pd.DataFrame:
    idx = big.index()
    anti_pd1 = idx["classes"].apply(lambda c: c <= {"anti-PD-1", "anti-PD-L1"})
    stage4 = idx["stage"].map(stage_group) == "IV"
    return idx[(idx["cancer_type"] == "NSCLC") & stage4 & idx["year"].between(2015, 2017)
               & anti_pd1]


def test_stage_4_nsclc_on_first_pd1_2015_17_has_real_world_overall_survival(big):
    # anchor: median OS 9.3 months (Khozin 2019); plausible 7.5-11.5
    cohort = _stage4_nsclc_first_pd1_2015_17(big)
    end = cohort["death_date"].fillna(cohort["last_followup_date"])
    months = (end - cohort["index_date"]).dt.days / DAYS_PER_MONTH
    median = _median(months, cohort["death_date"].notna())
    assert len(cohort) > 2000
    assert 7.5 <= median <= 11.5, median


def test_stage_4_nsclc_on_first_pd1_2015_17_has_real_world_pfs(big):
    # anchor: median rwPFS 3.2 months (Khozin 2019); plausible 2.5-4.5. Event: first PD of
    # the index line or death; censored at the next line's start or the last follow-up.
    cohort = _stage4_nsclc_first_pd1_2015_17(big).set_index("patient_id")
    ta = big.table("tumor_assessments").merge(cohort["index_line"].reset_index())
    ta = ta[(ta["line_number"] == ta["index_line"]) & (ta["response"] == "PD")]
    first_pd = ta.groupby("patient_id")["assessment_date"].min()
    tr = big.table("treatments").merge(cohort["index_line"].reset_index())
    next_line = tr[tr["line_number"] == tr["index_line"] + 1].groupby("patient_id")[
        "start_date"].min()
    ids = cohort.index.to_series()
    event_day = pd.concat([ids.map(first_pd), cohort["death_date"]], axis=1).min(axis=1)
    censor_day = pd.concat([ids.map(next_line), cohort["last_followup_date"]], axis=1).min(axis=1)
    event = event_day.notna() & (event_day <= censor_day)
    stop = event_day.where(event, censor_day)
    median = _median((stop - cohort["index_date"]).dt.days / DAYS_PER_MONTH, event)
    assert 2.5 <= median <= 4.5, median


def test_msi_high_colorectal_responds_to_pembrolizumab_as_in_keynote_177(big):
    # anchor: ORR ~44 % (KEYNOTE-177); plausible 36-52 %
    idx = big.index()
    orr, n = big.orr(idx[(idx["cancer_type"] == "Colorectal MSI-H")
                         & (idx["regimen"] == "pembrolizumab")])
    assert n > 500
    assert 0.36 <= orr <= 0.52, orr


@pytest.mark.parametrize(("regimen", "low", "high"), [
    ("nivolumab", 0.33, 0.48),  # CheckMate 067: 45 %, real-world lower but not half
    ("pembrolizumab", 0.33, 0.48),
    ("nivolumab + ipilimumab", 0.45, 0.65),  # CheckMate 067: 58 %
    ("ipilimumab", 0.08, 0.22),  # CheckMate 067: 19 %
])
def test_melanoma_orr_by_first_checkpoint_regimen_is_plausible(big, regimen, low, high):
    idx = big.index()
    orr, n = big.orr(idx[(idx["cancer_type"] == "Melanoma") & (idx["regimen"] == regimen)])
    assert n > 200, (regimen, n)
    assert low <= orr <= high, (regimen, orr)


def test_melanoma_ipilimumab_alone_is_given_before_2016_and_in_later_lines(big):
    tr = big.table("treatments").merge(big.table("diagnoses")[["patient_id", "cancer_type"]])
    ipi = tr[(tr["regimen"] == "ipilimumab") & (tr["cancer_type"] == "Melanoma")]
    assert (ipi["line_number"] == 1).any() and (ipi["line_number"] > 1).any()
    assert ipi.loc[ipi["line_number"] == 1, "start_date"].min() < pd.Timestamp("2016-07-01")


def test_hospital_sizes_differ_but_not_24_fold(big):
    sites = big.table("patients")["site"].value_counts()
    ratio = sites.iloc[0] / sites.iloc[-1]
    assert 3 <= ratio <= 9, sites.to_dict()
    assert all("CH" in name for name in sites.index[-2:])  # central hospitals are smallest


def test_follow_up_is_real_world_short_with_heavy_censoring(big):
    # was 42.8 months (reverse KM) with 35 % censored; real-world data lose patients
    idx = big.index()
    alive = idx["death_date"].isna()
    end = idx["death_date"].fillna(idx["last_followup_date"])
    months = (end - idx["index_date"]).dt.days / DAYS_PER_MONTH
    median_follow_up = _median(months, alive)
    assert 15 <= median_follow_up <= 36, median_follow_up
    assert 0.40 <= alive.mean() <= 0.65, alive.mean()
    lost = (pd.Timestamp(generator.DATA_CUTOFF) - idx.loc[alive, "last_followup_date"]).dt.days
    assert 0.2 <= (lost > 180).mean() <= 0.7  # censored well before the cut-off


def test_immune_related_diarrhoea_colitis_and_pneumonitis_are_mostly_grade_1_2(big):
    idx = big.index()
    ae = big.table("adverse_events").merge(idx[["patient_id", "index_line"]])
    ae = ae[ae["line_number"] == ae["index_line"]]
    diarrhoea = ae[ae["term"] == "Diarrhea"]
    assert diarrhoea["immune_related"].mean() > 0.5
    for term in ("Diarrhea", "Colitis", "Pneumonitis"):
        rows = ae[(ae["term"] == term) & ae["immune_related"]]
        any_grade = rows["patient_id"].nunique() / len(idx)
        severe = rows.loc[rows["grade"] >= 3, "patient_id"].nunique() / len(idx)
        assert 0.02 <= any_grade <= 0.15, (term, any_grade)
        assert severe / any_grade < 0.35, (term, severe, any_grade)


def test_stages_are_recorded_as_ajcc_substages_mostly(big):
    stage = big.table("diagnoses")["stage"].dropna()
    substage = ~stage.isin(STAGE_GROUPS)
    assert 0.5 <= substage.mean() <= 0.85, substage.mean()  # RCC and melanoma IV: groups
    assert stage.map(stage_group).notna().all()
    nsclc = big.table("diagnoses")
    lung_iv = nsclc.loc[(nsclc["cancer_type"] == "NSCLC")
                        & (nsclc["stage"].map(stage_group) == "IV"), "stage"]
    assert set(lung_iv) == {"IV", "IVA", "IVB"}


def test_questionnaire_completion_falls_over_time(big):
    pro = big.table("patient_reported_outcomes")
    qlq = pro[pro["item"] == "Global health status/QoL"].merge(
        big.index()[["patient_id", "index_date"]])
    week = ((qlq["assessment_date"] - qlq["index_date"]).dt.days / 7).round()
    baseline = int((week <= 0).sum())
    late = int(week.between(46, 50).sum())
    assert baseline > 0 and late < 0.5 * baseline
    steps = qlq["score"].to_numpy() * 12 / 100  # two 7-point items: steps of 100/12
    assert np.allclose(steps, np.round(steps), atol=0.02)
    assert qlq["score"].between(0, 100).all()


# PRO-CTCAE: share of first-ICI patients answering an item whose worst answer in weeks 1-12
# after index is moderate or worse (level >= 2). Anchors: clinician-reported any-grade rates of
# anti-PD-1 monotherapy (CheckMate 067, KEYNOTE-006/-024: fatigue ~20-35 %, diarrhoea ~15-20 %
# of which grade >= 2 a third, nausea ~10-15 %, decreased appetite ~10-15 %) and PRO-CTCAE
# cohorts on checkpoint inhibitors, where moderate-or-worse reports are of the same order; about
# 3 in 10 report moderate or worse fatigue. Shortness of breath is higher: two in five have NSCLC.
PRO_CTCAE_MODERATE_OR_WORSE = {
    "Fatigue severity": (0.25, 0.35),
    "Diarrhea frequency": (0.05, 0.15),
    "Nausea frequency": (0.05, 0.15),
    "Decreased appetite severity": (0.10, 0.25),
    "Shortness of breath severity": (0.15, 0.30),
    # clinician-reported pruritus ~15-20 % on anti-PD-1 (30-35 % with ipilimumab), mostly grade
    # 1; moderate or worse patient-reported itching a few % to ~10 %
    "Itching severity": (0.03, 0.12),
}
# Rash presence is yes/no: share of first-ICI patients answering yes at least once in weeks
# 1-12. Anchor: clinician-reported rash ~15-20 % on anti-PD-1 (CheckMate 067, KEYNOTE-006),
# 25-30 % with ipilimumab; patients report a rash about as often, some of it not an irAE.
RASH_PRESENCE_YES = (0.12, 0.30)


def _moderate_or_worse_in_first_3_months(big: Big) -> pd.Series:
    pro = big.table("patient_reported_outcomes")
    ctcae = pro[pro["instrument"] == "PRO-CTCAE"].merge(big.index()[["patient_id", "index_date"]])
    days = (ctcae["assessment_date"] - ctcae["index_date"]).dt.days
    worst = ctcae[days.between(1, 84)].groupby(["item", "patient_id"])["score"].max()
    return (worst >= 2).groupby(level="item").mean()


def test_about_3_in_10_report_moderate_or_worse_fatigue_in_the_first_3_months(big):
    share = _moderate_or_worse_in_first_3_months(big)["Fatigue severity"]
    low, high = PRO_CTCAE_MODERATE_OR_WORSE["Fatigue severity"]
    assert low <= share <= high, share


def test_every_pro_ctcae_item_has_a_plausible_moderate_or_worse_share(big):
    shares = _moderate_or_worse_in_first_3_months(big)
    assert set(shares.index) >= set(PRO_CTCAE_MODERATE_OR_WORSE)
    for item, (low, high) in PRO_CTCAE_MODERATE_OR_WORSE.items():
        assert low <= shares[item] <= high, (item, shares[item])


def test_about_1_in_5_report_a_rash_in_the_first_3_months_answering_only_yes_or_no(big):
    pro = big.table("patient_reported_outcomes")
    rash = pro[pro["item"] == "Rash presence"]
    assert set(rash["score"].unique()) == {0.0, 1.0}
    assert (rash["instrument"] == "PRO-CTCAE").all()
    rash = rash.merge(big.index()[["patient_id", "index_date"]])
    days = (rash["assessment_date"] - rash["index_date"]).dt.days
    yes = rash[days.between(1, 84)].groupby("patient_id")["score"].max() == 1
    low, high = RASH_PRESENCE_YES
    assert len(yes) > 10_000
    assert low <= yes.mean() <= high, yes.mean()


def test_skin_items_are_asked_at_every_pro_ctcae_visit(big):
    pro = big.table("patient_reported_outcomes")
    ctcae = pro[pro["instrument"] == "PRO-CTCAE"]
    visits = ctcae.groupby(["patient_id", "assessment_date"])["item"].agg(frozenset)
    assert (visits.map(lambda items: {"Itching severity", "Rash presence"} <= items)).all()
    assert len(visits) > 100_000


def test_itching_is_worse_around_an_immune_related_pruritus(big):
    # planted: within -7..+42 days of an immune-related pruritus onset the answer is at least
    # the pruritus grade; outside any skin irAE window it is 0-2 (mostly 0)
    pro = big.table("patient_reported_outcomes")
    itching = pro[pro["item"] == "Itching severity"]
    ae = big.table("adverse_events")
    pruritus = ae[(ae["term"] == "Pruritus") & ae["immune_related"]][["patient_id", "onset_date"]]
    near = itching.merge(pruritus)
    offset = (near["assessment_date"] - near["onset_date"]).dt.days
    inside = near[offset.between(-7, 42)].drop_duplicates(["patient_id", "assessment_date"])
    skin = ae[ae["term"].isin(["Pruritus", "Rash maculo-papular"])]["patient_id"]
    outside = itching[~itching["patient_id"].isin(skin)]
    assert len(inside) > 500
    assert inside["score"].mean() > outside["score"].mean() + 0.8
    assert (inside["score"] >= 1).all()
