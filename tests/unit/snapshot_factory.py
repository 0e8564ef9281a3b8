"""A tiny valid snapshot (four patients) for tests that must not depend on the generator."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from queries.snapshot.files import write_snapshot
from queries.snapshot.schema import SCHEMA_VERSION

TINY_ID = "tiny-2026-01"
TINY_CREATED = "2026-01-31"
TINY_PATIENTS = 4


def _d(text: str) -> date:
    return date.fromisoformat(text)


def tiny_tables() -> dict[str, pd.DataFrame]:
    """Four consistent patients: every table non-empty, every value inside its domain."""
    patients = pd.DataFrame({
        "patient_id": ["P001", "P002", "P003", "P004"],
        "site": ["HUS", "TAYS", "HUS", "KSSHP"],
        "sex": ["F", "M", "M", "F"],
        "birth_year": [1950, 1961, 1944, 1970],
        "death_date": [_d("2024-05-01"), None, _d("2023-11-20"), None],
        "last_followup_date": [_d("2024-05-01"), _d("2025-12-31"), _d("2023-11-20"),
                               _d("2025-06-30")],
        "smoking_status": ["former", "never", "current", None],
    })
    diagnoses = pd.DataFrame({
        "patient_id": ["P001", "P002", "P003", "P004"],
        "icd10": ["C34.1", "C43.5", "C64", "C34.3"],
        "cancer_type": ["NSCLC", "melanoma", "renal cell", "NSCLC"],
        "histology_icdo3": ["8140/3", "8720/3", "8312/3", None],
        "diagnosis_date": [_d("2022-01-10"), _d("2022-03-15"), _d("2022-06-01"),
                           _d("2023-02-01")],
        "stage": ["IV", "III", "IV", None],
    })
    biomarkers = pd.DataFrame({
        "patient_id": ["P001", "P001", "P004"],
        "biomarker": ["PD-L1 TPS", "EGFR", "PD-L1 TPS"],
        "value_numeric": [60.0, None, 0.0],
        "value_category": [None, "negative", None],
        "unit": ["%", None, "%"],
        "test_date": [_d("2022-01-20"), _d("2022-01-20"), _d("2023-02-10")],
    })
    treatments = pd.DataFrame({
        "patient_id": ["P001", "P002", "P003", "P004"],
        "line_number": [1, 1, 1, 1],
        "regimen": ["pembrolizumab", "nivolumab + ipilimumab", "nivolumab", "carboplatin + pemetrexed"],
        "drug": ["pembrolizumab", "nivolumab", "nivolumab", "carboplatin"],
        "atc_code": ["L01FF02", "L01FF01", "L01FF01", "L01XA02"],
        "drug_class": ["anti-PD-1", "anti-PD-1", "anti-PD-1", "chemotherapy"],
        "start_date": [_d("2022-02-01"), _d("2022-04-01"), _d("2022-07-01"), _d("2023-03-01")],
        "end_date": [_d("2023-01-15"), None, _d("2023-06-01"), _d("2023-06-30")],
        "stop_reason": ["progression", None, "toxicity", "completed"],
    })
    performance = pd.DataFrame({
        "patient_id": ["P001", "P002", "P003", "P004"],
        "assessment_date": [_d("2022-01-25"), _d("2022-03-30"), _d("2022-06-20"),
                            _d("2023-02-20")],
        "ecog": [1, 0, 2, 1],
    })
    assessments = pd.DataFrame({
        "patient_id": ["P001", "P001", "P002", "P003"],
        "line_number": [1, 1, 1, 1],
        "assessment_date": [_d("2022-04-01"), _d("2022-12-20"), _d("2022-06-15"),
                            _d("2022-09-15")],
        "response": ["PR", "PD", "CR", "SD"],
    })
    adverse = pd.DataFrame({
        "patient_id": ["P001", "P002", "P003"],
        "line_number": [1, 1, None],
        "term": ["Pneumonitis", "Colitis", "Fatigue"],
        "organ_class": ["Respiratory, thoracic and mediastinal disorders",
                        "Gastrointestinal disorders", "General disorders"],
        "grade": [2, 3, 1],
        "onset_date": [_d("2022-06-01"), _d("2022-05-10"), _d("2022-08-01")],
        "resolved_date": [_d("2022-07-01"), _d("2022-06-20"), None],
        "immune_related": [True, True, False],
    })
    adverse["line_number"] = adverse["line_number"].astype("Int64")
    reported = pd.DataFrame({
        "patient_id": ["P001", "P001", "P002"],
        "assessment_date": [_d("2022-01-30"), _d("2022-03-01"), _d("2022-05-12")],
        "instrument": ["EORTC QLQ-C30", "EORTC QLQ-C30", "PRO-CTCAE"],
        "item": ["Global health status/QoL", "Global health status/QoL", "Diarrhea frequency"],
        "score": [58.3, 66.7, 3.0],
        "line_number": [None, 1, 1],
    })
    reported["line_number"] = reported["line_number"].astype("Int64")
    return {
        "patients": patients,
        "diagnoses": diagnoses,
        "biomarkers": biomarkers,
        "treatments": treatments,
        "performance_status": performance,
        "tumor_assessments": assessments,
        "adverse_events": adverse,
        "patient_reported_outcomes": reported,
    }


def write_tiny_snapshot(
    out: Path,
    snapshot_id: str = TINY_ID,
    created: str = TINY_CREATED,
    tables: dict[str, pd.DataFrame] | None = None,
    schema_version: int = SCHEMA_VERSION,
) -> dict:
    """Write the tiny snapshot (or ``tables`` instead) to ``out``; returns the manifest."""
    return write_snapshot(tables if tables is not None else tiny_tables(), Path(out),
                          snapshot_id, "unit-test factory", created, schema_version)
