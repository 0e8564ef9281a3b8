"""Every planted effect of the generator is recovered from the tables within its 95 % CI.

Computed directly with pandas and lifelines on the committed sample (``data/sample``), following
the definitions written in its ``ground_truth.json``. Set ``IOCOHORT_PLANTED_SNAPSHOT`` to check
another generated snapshot (for example one of 1,000,000 patients).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter

from queries.snapshot.schema import stage_group

SAMPLE = Path(os.environ.get("IOCOHORT_PLANTED_SNAPSHOT")
              or Path(__file__).resolve().parents[2] / "data" / "sample")
ICI = ("anti-PD-1", "anti-PD-L1", "anti-CTLA-4")
Z95 = 1.959964


def _read(name: str) -> pd.DataFrame:
    return pd.read_parquet(SAMPLE / f"{name}.parquet")


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads((SAMPLE / "ground_truth.json").read_text())["planted_effects"]


@pytest.fixture(scope="module")
def index() -> pd.DataFrame:
    return index_frame()


def index_frame() -> pd.DataFrame:
    """One row per patient with an ICI: index date and line, cancer type, stage, TPS, ECOG."""
    tr = _read("treatments")
    ici = tr[tr["drug_class"].isin(ICI)].sort_values(["patient_id", "start_date", "line_number"])
    idx = ici.groupby("patient_id", as_index=False).first()[["patient_id", "start_date",
                                                             "line_number"]]
    idx = idx.rename(columns={"start_date": "index_date", "line_number": "index_line"})
    dx = _read("diagnoses")[["patient_id", "cancer_type", "stage"]]
    idx = idx.merge(dx, on="patient_id")
    idx["tps"] = _tps_stratum(idx)
    idx["ecog"] = _ecog_at_index(idx)
    return idx.merge(_read("patients"), on="patient_id")


def _tps_stratum(idx: pd.DataFrame) -> pd.Series:
    bm = _read("biomarkers")
    tps = bm[bm["biomarker"] == "PD-L1 TPS"].merge(idx[["patient_id", "index_date"]])
    tps = tps[tps["test_date"] <= tps["index_date"]].sort_values("test_date")
    last = tps.groupby("patient_id")["value_numeric"].last()
    value = idx["patient_id"].map(last)
    return pd.Series(np.select([value.isna(), value < 1, value < 50],
                               ["untested", "<1", "1-49"], ">=50"), index=idx.index)


def _ecog_at_index(idx: pd.DataFrame) -> pd.Series:
    ps = _read("performance_status").merge(idx[["patient_id", "index_date"]])
    ps = ps[ps["assessment_date"] <= ps["index_date"]].sort_values("assessment_date")
    return idx["patient_id"].map(ps.groupby("patient_id")["ecog"].last())


def _wilson(k: int, n: int) -> tuple[float, float]:
    p = k / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / (1 + Z95**2 / n)
    return centre - half, centre + half


def _os_frame(idx: pd.DataFrame) -> pd.DataFrame:
    end = idx["death_date"].fillna(idx["last_followup_date"])
    out = pd.DataFrame({
        "time": (pd.to_datetime(end) - pd.to_datetime(idx["index_date"])).dt.days / 30.4375,
        "event": idx["death_date"].notna().astype(int),
        "ecog2": (idx["ecog"] >= 2).astype(int),
        "stage_early": idx["stage"].map(stage_group).isin(["I", "II", "III"]).astype(int),
        "age75": (pd.to_datetime(idx["index_date"]).dt.year - idx["birth_year"] >= 75).astype(int),
        "cancer_type": idx["cancer_type"],
    })
    nsclc = idx["cancer_type"] == "NSCLC"
    for stratum, col in (("1-49", "tps_1_49"), (">=50", "tps_50"), ("untested", "tps_na")):
        out[col] = (nsclc & (idx["tps"] == stratum)).astype(int)
    return out


def test_pdl1_tps_strata_respond_at_planted_rates(index, truth):
    nsclc = index[index["cancer_type"] == "NSCLC"]
    ta = _read("tumor_assessments").merge(nsclc[["patient_id", "index_line", "index_date"]])
    ta = ta[(ta["line_number"] == ta["index_line"]) & (ta["assessment_date"] >= ta["index_date"])]
    responder = ta.groupby("patient_id")["response"].agg(lambda r: r.isin(["CR", "PR"]).any())
    evaluable = nsclc[nsclc["patient_id"].isin(responder.index)]
    for stratum, planted in truth["orr_by_pdl1_tps"]["true_orr"].items():
        ids = evaluable.loc[evaluable["tps"] == stratum, "patient_id"]
        k, n = int(responder[ids].sum()), len(ids)
        lo, hi = _wilson(k, n)
        assert n >= 100, stratum
        assert lo <= planted <= hi, f"TPS {stratum}: ORR {k}/{n} CI {lo:.3f}-{hi:.3f} vs {planted}"


def test_high_pdl1_tps_lives_longer_with_planted_hazard_ratio(index, truth):
    data = _os_frame(index[index["cancer_type"] == "NSCLC"]).drop(columns="cancer_type")
    cph = CoxPHFitter().fit(data, "time", "event")
    lo, hi = np.exp(cph.confidence_intervals_.loc["tps_50"])
    planted = truth["os_hr_pdl1_tps"]["true_hr"]
    assert lo <= planted <= hi, f"HR TPS>=50 vs <1 CI {lo:.3f}-{hi:.3f} vs {planted}"
    assert hi < 1.0


def test_ecog_2_or_more_has_planted_hazard_ratio(index, truth):
    data = _os_frame(index)  # adjusted as the ground truth says: stage, TPS and age >= 75
    cph = CoxPHFitter().fit(data, "time", "event", strata=["cancer_type"])
    lo, hi = np.exp(cph.confidence_intervals_.loc["ecog2"])
    planted = truth["os_hr_ecog"]["true_hr"]
    assert lo <= planted <= hi, f"HR ECOG>=2 CI {lo:.3f}-{hi:.3f} vs {planted}"
    assert lo > 1.0


def test_pd1_plus_ctla4_has_more_severe_immune_events_at_planted_rates(index, truth):
    tr = _read("treatments").merge(index[["patient_id", "index_line"]])
    tr = tr[tr["line_number"] == tr["index_line"]]
    classes = tr.groupby("patient_id")["drug_class"].agg(lambda c: frozenset(c))
    ae = _read("adverse_events").merge(index[["patient_id", "index_line"]])
    severe = ae[ae["immune_related"] & (ae["grade"] >= 3) & (ae["line_number"] == ae["index_line"])]
    has_severe = set(severe["patient_id"])
    groups = {"anti-PD-1 + anti-CTLA-4": frozenset({"anti-PD-1", "anti-CTLA-4"}),
              "anti-PD-1 alone": frozenset({"anti-PD-1"})}
    rates = {}
    for name, planted in truth["severe_irae_by_regimen"]["true_rate"].items():
        ids = classes.index[classes == groups[name]]
        k, n = sum(i in has_severe for i in ids), len(ids)
        lo, hi = _wilson(k, n)
        assert lo <= planted <= hi, f"{name}: {k}/{n} CI {lo:.3f}-{hi:.3f} vs {planted}"
        rates[name] = k / n
    assert rates["anti-PD-1 + anti-CTLA-4"] > 2 * rates["anti-PD-1 alone"]


def _index_line_rows(index: pd.DataFrame) -> pd.DataFrame:
    """Per index patient: regimen, latest end, whether ongoing and the stop reason of the line."""
    tr = _read("treatments").merge(index[["patient_id", "index_line"]])
    tr = tr[tr["line_number"] == tr["index_line"]]
    tr["end_date"] = pd.to_datetime(tr["end_date"])
    return tr.groupby("patient_id").agg(
        regimen=("regimen", "first"), end=("end_date", "max"),
        ongoing=("end_date", lambda e: e.isna().any()),
        toxicity=("stop_reason", lambda r: (r == "toxicity").any()))


@pytest.fixture(scope="module")
def melanoma(index) -> pd.DataFrame:
    """Melanoma patients whose first ICI is nivolumab + ipilimumab or anti-PD-1 alone."""
    lines = _index_line_rows(index)
    mel = index[index["cancer_type"] == "Melanoma"].merge(lines, left_on="patient_id",
                                                          right_index=True)
    mel = mel[mel["regimen"].isin(["nivolumab + ipilimumab", "nivolumab", "pembrolizumab"])]
    frame = _os_frame(mel).drop(columns=["cancer_type", "tps_1_49", "tps_50", "tps_na"])
    frame["combination"] = (mel["regimen"] == "nivolumab + ipilimumab").astype(int).to_numpy()
    return pd.concat([frame.reset_index(drop=True),
                      mel[["index_date", "end", "ongoing", "toxicity",
                           "last_followup_date"]].reset_index(drop=True)], axis=1)


def _hr(data: pd.DataFrame, columns: list[str]) -> tuple[float, float, float]:
    cph = CoxPHFitter().fit(data[["time", "event", *columns]], "time", "event")
    lo, hi = np.exp(cph.confidence_intervals_.loc[columns[0]])
    return float(np.exp(cph.params_[columns[0]])), float(lo), float(hi)


def test_melanoma_combination_hazard_ratio_is_confounded_by_age_and_ecog(melanoma, truth):
    planted = truth["os_hr_melanoma_combination"]["true_hr"]
    adjusted, lo, hi = _hr(melanoma, ["combination", "ecog2", "age75", "stage_early"])
    assert lo <= planted <= hi, f"adjusted HR {adjusted:.3f} CI {lo:.3f}-{hi:.3f} vs {planted}"
    crude, _, _ = _hr(melanoma, ["combination"])
    assert crude < adjusted  # confounding by indication flatters the combination
    combo = melanoma["combination"] == 1
    assert melanoma.loc[combo, "ecog2"].mean() < melanoma.loc[~combo, "ecog2"].mean()
    assert melanoma.loc[combo, "age75"].mean() < melanoma.loc[~combo, "age75"].mean()


def test_melanoma_combination_stops_sooner_for_toxicity(melanoma):
    combo = melanoma["combination"] == 1
    k1, n1 = int(melanoma.loc[combo, "toxicity"].sum()), int(combo.sum())
    k0, n0 = int(melanoma.loc[~combo, "toxicity"].sum()), int((~combo).sum())
    assert _wilson(k1, n1)[0] > _wilson(k0, n0)[1], (k1, n1, k0, n0)
    end = pd.to_datetime(melanoma["end"].where(~melanoma["ongoing"],
                                               melanoma["last_followup_date"]))
    data = pd.DataFrame({"time": (end - pd.to_datetime(melanoma["index_date"])).dt.days + 0.5,
                         "event": (~melanoma["ongoing"]).astype(int),
                         "combination": melanoma["combination"]})
    medians = {}
    for flag, group in data.groupby("combination"):
        fitted = KaplanMeierFitter().fit(group["time"], group["event"])
        medians[flag] = fitted.median_survival_time_ / 30.4375
    # the curves cross (responders to the combination stay on it), so compare medians
    assert medians[1] < 0.8 * medians[0], medians


def test_responders_to_the_first_ici_respond_durably(index, truth):
    ta = _read("tumor_assessments").merge(index[["patient_id", "index_line", "death_date",
                                                 "last_followup_date"]])
    ta = ta[ta["line_number"] == ta["index_line"]].sort_values("assessment_date")
    responded = ta[ta["response"].isin(["CR", "PR"])].groupby("patient_id")["assessment_date"]
    first = responded.first()
    progressed = ta[ta["response"] == "PD"].groupby("patient_id")["assessment_date"].first()
    people = index.set_index("patient_id").loc[first.index]
    end = pd.concat([pd.to_datetime(first.index.to_series().map(progressed)),
                     pd.to_datetime(people["death_date"])], axis=1).min(axis=1)
    stop = pd.to_datetime(end.fillna(people["last_followup_date"]))
    months = (stop - pd.to_datetime(first)).dt.days.clip(lower=0) / 30.4375
    fitted = KaplanMeierFitter().fit(months, end.notna())
    assert len(first) >= 300
    assert fitted.median_survival_time_ > 12, fitted.median_survival_time_
    assert "median_dor_months_approx" in truth["duration_of_response"]


def _dated(name: str) -> pd.DataFrame:
    frame = _read(name)
    for column in frame.columns:
        if column.endswith("_date"):
            frame[column] = pd.to_datetime(frame[column])
    return frame


def test_pro_ctcae_diarrhoea_is_worse_around_immune_colitis(truth):
    planted = truth["pro_diarrhoea_around_colitis"]
    ae = _dated("adverse_events")
    colitis = ae[(ae["term"] == "Colitis") & ae["immune_related"] & (ae["grade"] >= 2)]
    pro = _dated("patient_reported_outcomes")
    scores = pro[pro["item"] == "Diarrhea frequency"].merge(
        colitis[["patient_id", "onset_date"]], on="patient_id")
    days = (scores["assessment_date"] - scores["onset_date"]).dt.days
    scores["inside"] = days.between(-7, 21)
    per_questionnaire = scores.groupby(["patient_id", "assessment_date", "score"],
                                       as_index=False)["inside"].any()
    inside = per_questionnaire.loc[per_questionnaire["inside"], "score"]
    outside = per_questionnaire.loc[~per_questionnaire["inside"], "score"]
    difference = inside.mean() - outside.mean()
    half = Z95 * math.sqrt(inside.var() / len(inside) + outside.var() / len(outside))
    assert len(inside) >= 20 and len(outside) >= 100
    true = planted["true_difference"]
    assert difference - half <= true <= difference + half, (difference, half, true)


def test_pro_ctcae_rash_is_reported_around_an_immune_related_rash(truth):
    planted = truth["pro_rash_around_skin_irae"]
    ae = _dated("adverse_events")
    rash_ae = ae[(ae["term"] == "Rash maculo-papular") & ae["immune_related"]]
    pro = _dated("patient_reported_outcomes")
    answers = pro[pro["item"] == "Rash presence"].merge(
        rash_ae[["patient_id", "onset_date"]], on="patient_id")
    days = (answers["assessment_date"] - answers["onset_date"]).dt.days
    answers = answers[days.between(-7, 42)].drop_duplicates(["patient_id", "assessment_date"])
    share = answers["score"].mean()
    half = Z95 * math.sqrt(share * (1 - share) / len(answers))
    assert len(answers) >= 40
    assert share - half <= planted["true_share_yes"] <= share + half, (share, half)
    skin = ae.loc[ae["term"].isin(["Rash maculo-papular", "Pruritus"]), "patient_id"]
    elsewhere = pro[(pro["item"] == "Rash presence") & ~pro["patient_id"].isin(skin)]
    assert elsewhere["score"].mean() < 0.1


def test_global_health_status_falls_before_progression(index, truth):
    planted = truth["pro_global_health_before_progression"]
    ta = _dated("tumor_assessments").merge(index[["patient_id", "index_line"]])
    progression = ta[(ta["line_number"] == ta["index_line"]) & (ta["response"] == "PD")]
    first_pd = progression.groupby("patient_id")["assessment_date"].min().rename("pd")
    pro = _dated("patient_reported_outcomes")
    ghs = pro[pro["item"] == "Global health status/QoL"].merge(first_pd.reset_index())
    before = (ghs["pd"] - ghs["assessment_date"]).dt.days
    pre = ghs[before.between(1, 60)].groupby("patient_id")["score"].mean()
    reference = ghs[before >= 90].groupby("patient_id")["score"].mean()
    paired = (pre - reference).dropna()
    half = Z95 * paired.std() / math.sqrt(len(paired))
    assert len(paired) >= 50
    true = planted["true_difference"]
    assert paired.mean() - half <= true <= paired.mean() + half, (paired.mean(), half, true)
