"""The synthetic generator: determinism, integrity, value ranges and clinical plausibility."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from queries.snapshot.schema import (
    DRUG_CLASSES,
    RECIST_RESPONSES,
    STAGE_VALUES,
    STOP_REASONS,
    TABLES,
)
from queries.snapshot.validation import validate_snapshot
from synthetic import generator

PATIENTS = 3000
SEED = 11
DATE_COLUMNS = {
    "biomarkers": ["test_date"],
    "treatments": ["start_date", "end_date"],
    "performance_status": ["assessment_date"],
    "tumor_assessments": ["assessment_date"],
    "adverse_events": ["onset_date", "resolved_date"],
    "patient_reported_outcomes": ["assessment_date"],
}


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("gen") / "snap"
    manifest = generator.generate_snapshot(PATIENTS, SEED, out, progress=False)
    return out, manifest


@pytest.fixture(scope="module")
def tables(snapshot) -> dict[str, pd.DataFrame]:
    out, _ = snapshot
    frames = {t: pd.read_parquet(out / f"{t}.parquet") for t in TABLES}
    for table, columns in DATE_COLUMNS.items():
        for col in columns:
            frames[table][col] = pd.to_datetime(frames[table][col])
    for col in ("death_date", "last_followup_date"):
        frames["patients"][col] = pd.to_datetime(frames["patients"][col])
    frames["diagnoses"]["diagnosis_date"] = pd.to_datetime(frames["diagnoses"]["diagnosis_date"])
    return frames


def test_same_seed_gives_byte_identical_snapshot(tmp_path, snapshot):
    _, first = snapshot
    second = generator.generate_snapshot(PATIENTS, SEED, tmp_path / "again", progress=False)
    assert second == first
    assert (tmp_path / "again" / "ground_truth.json").read_text() == \
        (snapshot[0] / "ground_truth.json").read_text()


def test_different_seed_gives_different_data(tmp_path, snapshot):
    _, first = snapshot
    other = generator.generate_snapshot(PATIENTS, SEED + 1, tmp_path / "other", progress=False)
    for table in TABLES:
        assert other["tables"][table]["sha256"] != first["tables"][table]["sha256"], table


def test_manifest_has_default_id_fixed_created_date_and_row_counts(snapshot):
    out, manifest = snapshot
    assert manifest["id"] == f"synthetic-io-s{SEED}-n{PATIENTS}"
    assert manifest["created"] == generator.DATA_CUTOFF
    assert manifest["tables"]["patients"]["rows"] == PATIENTS
    assert json.loads((out / "manifest.json").read_text()) == manifest
    truth = json.loads((out / "ground_truth.json").read_text())
    assert set(truth["planted_effects"]) == {
        "orr_by_pdl1_tps", "os_hr_pdl1_tps", "os_hr_ecog", "os_hr_melanoma_combination",
        "treatment_discontinuation_by_regimen", "duration_of_response",
        "pro_diarrhoea_around_colitis", "pro_rash_around_skin_irae",
        "pro_global_health_before_progression",
        "pro_completion", "severe_irae_by_regimen"}


def test_generated_snapshot_validates_without_problems(snapshot):
    report = validate_snapshot(snapshot[0])
    assert report.usable
    assert not report.errors and not report.warnings, report.summary()


def test_several_chunks_give_unique_patients(tmp_path, monkeypatch):
    monkeypatch.setattr(generator, "CHUNK_SIZE", 400)
    tables = generator.generate_tables(1000, 3, progress=False)
    ids = tables["patients"].column("patient_id").to_pylist()
    assert len(ids) == len(set(ids)) == 1000
    assert set(tables["treatments"].column("patient_id").to_pylist()) <= set(ids)


def test_every_row_belongs_to_a_patient_and_patients_are_unique(tables):
    ids = tables["patients"]["patient_id"]
    assert ids.is_unique
    assert tables["diagnoses"]["patient_id"].is_unique
    for table in TABLES:
        assert tables[table]["patient_id"].isin(ids).all(), table


def test_no_event_after_last_followup_or_before_diagnosis(tables):
    pat = tables["patients"].merge(tables["diagnoses"], on="patient_id")
    dead = pat["death_date"].notna()
    assert (pat.loc[dead, "death_date"] == pat.loc[dead, "last_followup_date"]).all()
    assert (pat["last_followup_date"] >= pat["diagnosis_date"]).all()
    assert pat["diagnosis_date"].between(generator.FIRST_DIAGNOSIS, generator.LAST_DIAGNOSIS).all()
    assert (pat["last_followup_date"] <= pd.Timestamp(generator.DATA_CUTOFF)).all()
    limits = pat.set_index("patient_id")
    for table, columns in DATE_COLUMNS.items():
        frame = tables[table]
        fu = frame["patient_id"].map(limits["last_followup_date"])
        dx = frame["patient_id"].map(limits["diagnosis_date"])
        for col in columns:
            value = frame[col]
            assert not (value > fu).any(), f"{table}.{col} after last follow-up"
            assert not (value < dx).any(), f"{table}.{col} before diagnosis"


def test_end_and_resolution_never_precede_start(tables):
    tr, ae = tables["treatments"], tables["adverse_events"]
    assert not (tr["end_date"] < tr["start_date"]).any()
    assert (tr["end_date"].isna() == tr["stop_reason"].isna()).all()
    assert not (ae["resolved_date"] < ae["onset_date"]).any()


def test_values_are_in_their_domains(tables):
    pat, dx = tables["patients"], tables["diagnoses"]
    assert set(pat["sex"]) <= {"F", "M"}
    assert set(pat["smoking_status"].dropna()) <= {"never", "former", "current"}
    age = pd.to_datetime(dx["diagnosis_date"]).dt.year - pat["birth_year"]
    assert age.between(18, 100).all()
    assert set(dx["stage"].dropna()) <= set(STAGE_VALUES)
    assert dx["stage"].dropna().str.len().gt(2).any()  # AJCC substages such as IIIB
    assert dx["icd10"].str.fullmatch(r"C\d{2}(\.\d)?").all()
    assert dx["histology_icdo3"].str.fullmatch(r"\d{4}/3").all()
    tr = tables["treatments"]
    assert set(tr["drug_class"]) <= set(DRUG_CLASSES)
    assert set(tr["stop_reason"].dropna()) <= set(STOP_REASONS)
    assert tr["atc_code"].str.fullmatch(r"[LV]\d{2}[A-Z]{2}\d{2}").all()
    assert set(tables["tumor_assessments"]["response"]) <= set(RECIST_RESPONSES)
    assert tables["performance_status"]["ecog"].between(0, 4).all()
    assert tables["adverse_events"]["grade"].between(1, 5).all()
    bm = tables["biomarkers"]
    pdl1 = bm[bm["biomarker"].str.startswith("PD-L1")]["value_numeric"]
    assert pdl1.between(0, 100).all()


def test_combination_regimens_share_line_and_start(tables):
    tr = tables["treatments"]
    per_line = tr.groupby(["patient_id", "line_number"]).agg(
        regimens=("regimen", "nunique"), starts=("start_date", "nunique"))
    assert (per_line["regimens"] == 1).all() and (per_line["starts"] == 1).all()
    nivo_ipi = tr[tr["regimen"] == "nivolumab + ipilimumab"]
    assert set(nivo_ipi["atc_code"]) == {"L01FF01", "L01FX04"}


def test_lines_are_numbered_in_time_order(tables):
    lines = tables["treatments"].groupby(["patient_id", "line_number"], as_index=False)[
        "start_date"].first().sort_values(["patient_id", "line_number"])
    first = lines.groupby("patient_id")["line_number"].transform("min")
    assert (first == 1).all()
    step = lines.groupby("patient_id")["line_number"].diff().dropna()
    assert (step == 1).all()
    assert (lines.groupby("patient_id")["start_date"].diff().dropna() > pd.Timedelta(0)).all()


def test_progression_ends_the_scans_of_a_line(tables):
    ta = tables["tumor_assessments"].sort_values(["patient_id", "line_number", "assessment_date"])
    last = ta.groupby(["patient_id", "line_number"])["response"].transform("last")
    assert (last[ta["response"] == "PD"] == "PD").all()
    assert ta.groupby(["patient_id", "line_number"])["response"].apply(
        lambda r: (r == "PD").sum() <= 1).all()
    early = ta[ta.groupby(["patient_id", "line_number"]).cumcount() < 8]
    gaps = early.groupby(["patient_id", "line_number"])["assessment_date"].diff().dt.days.dropna()
    assert gaps.between(34, 71).mean() > 0.9  # RECIST scans every 6-9 weeks, a few missing
    assert 42 <= gaps.median() <= 63


def test_grade_5_events_are_deaths(tables):
    ae = tables["adverse_events"]
    g5 = ae[ae["grade"] == 5].merge(tables["patients"], on="patient_id")
    assert g5["death_date"].notna().all()
    assert ((g5["death_date"] - g5["onset_date"]).dt.days.between(0, 10)).all()
    assert g5["resolved_date"].isna().all()


def test_case_mix_is_clinically_plausible(tables):
    pat = tables["patients"].merge(tables["diagnoses"], on="patient_id")
    share = pat["cancer_type"].value_counts(normalize=True)
    assert share.index[0] == "NSCLC" and 0.33 < share["NSCLC"] < 0.47
    assert (pat.loc[pat["cancer_type"] == "Triple-negative breast cancer", "sex"] == "F").all()
    sites = pat["site"].value_counts()
    # university hospitals differ in size, central hospitals are smaller, but not 24-fold
    assert 3 * sites.iloc[-1] < sites.iloc[0] < 9 * sites.iloc[-1]
    tr = tables["treatments"]
    ici = set(tr.loc[tr["drug_class"].isin(["anti-PD-1", "anti-PD-L1", "anti-CTLA-4"]),
                     "patient_id"])
    assert 0.12 < 1 - len(ici) / len(pat) < 0.32  # patients never given an ICI


def test_biomarker_prevalence_is_realistic(tables):
    bm = tables["biomarkers"].merge(tables["diagnoses"], on="patient_id")

    def positive(cancer: str, marker: str) -> float:
        rows = bm[(bm["cancer_type"] == cancer) & (bm["biomarker"] == marker)]
        if cancer == "NSCLC":
            rows = rows[rows["histology_icdo3"] == "8140/3"]
        return (rows["value_category"] == "positive").mean()

    assert 0.07 < positive("NSCLC", "EGFR") < 0.18
    assert 0.37 < positive("Melanoma", "BRAF") < 0.53
    nsclc = tables["diagnoses"]["cancer_type"] == "NSCLC"
    tested = bm[(bm["biomarker"] == "PD-L1 TPS")]["patient_id"].nunique() / nsclc.sum()
    assert 0.7 < tested < 0.97  # some NSCLC patients are never PD-L1 tested


def test_egfr_positive_nsclc_gets_targeted_first_line(tables):
    bm = tables["biomarkers"]
    egfr = set(bm[(bm["biomarker"] == "EGFR") & (bm["value_category"] == "positive")]["patient_id"])
    first = tables["treatments"][tables["treatments"]["line_number"] == 1]
    first = first[first["patient_id"].isin(egfr)]
    assert (first["drug_class"] == "targeted").mean() > 0.9


def test_cli_generate_writes_a_snapshot(tmp_path, capsys):
    import cli

    assert cli.main(["generate", "--patients", "200", "--seed", "5", "--out",
                     str(tmp_path / "s"), "--id", "tiny", "--no-progress"]) == 0
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["id"] == "tiny"
    assert "wrote snapshot tiny" in capsys.readouterr().out


def test_pdl1_scores_never_round_across_a_cut_off():
    rng = generator.np.random.default_rng(0)
    bands = ((0, 0), (1, 49), (50, 100))
    values, band = generator._pdl1_values(rng, 20000, (0.3, 0.4, 0.3), bands)
    lows = generator.np.array([b[0] for b in bands])[band]
    highs = generator.np.array([b[1] for b in bands])[band]
    assert ((values >= lows) & (values <= highs)).all()
    assert {0.0, 49.0, 50.0, 100.0} <= set(values.tolist())


def test_checkpoint_inhibitors_follow_pdl1_label_cut_offs(tables):
    bm = tables["biomarkers"]
    cps = bm[bm["biomarker"] == "PD-L1 CPS"].set_index("patient_id")["value_numeric"]
    tr = tables["treatments"].merge(tables["diagnoses"][["patient_id", "cancer_type"]])
    first = tr[tr["line_number"] == 1].drop_duplicates("patient_id")
    for cancer, regimen, cut in (("Head and neck SCC", "pembrolizumab", 1),
                                 ("Gastro-oesophageal adenocarcinoma", "nivolumab + FOLFOX", 5),
                                 ("Triple-negative breast cancer", "pembrolizumab + paclitaxel",
                                  10)):
        ids = first[(first["cancer_type"] == cancer) & (first["regimen"] == regimen)]["patient_id"]
        assert len(ids) > 0, regimen
        assert (ids.map(cps) >= cut).all(), regimen


def test_stratified_uniforms_cover_each_cell_evenly():
    rng = generator.np.random.default_rng(1)
    cells = generator.np.repeat([3, 1, 2], [1000, 10, 500])
    u = generator._stratified_uniform(rng, cells)
    assert ((u >= 0) & (u < 1)).all()
    for cell, n in ((3, 1000), (1, 10), (2, 500)):
        slices = generator.np.sort(generator.np.floor(u[cells == cell] * n))
        assert (slices == generator.np.arange(n)).all()  # exactly one draw per 1/n slice


def test_cli_generate_rejects_zero_patients(tmp_path, capsys):
    import cli

    assert cli.main(["generate", "--patients", "0", "--out", str(tmp_path / "s"),
                     "--no-progress"]) == 2
    assert "at least 1" in capsys.readouterr().err
