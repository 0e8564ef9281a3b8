"""Snapshot schema version 1: the contract with the platform's ETL (see DESIGN.md)."""

from __future__ import annotations

SCHEMA_VERSION = 1

# table -> column -> DuckDB type. Order is the canonical column order.
TABLES: dict[str, dict[str, str]] = {
    "patients": {
        "patient_id": "VARCHAR",
        "site": "VARCHAR",
        "sex": "VARCHAR",
        "birth_year": "INTEGER",
        "death_date": "DATE",
        "last_followup_date": "DATE",
        "smoking_status": "VARCHAR",
    },
    "diagnoses": {
        "patient_id": "VARCHAR",
        "icd10": "VARCHAR",
        "cancer_type": "VARCHAR",
        "histology_icdo3": "VARCHAR",
        "diagnosis_date": "DATE",
        "stage": "VARCHAR",
    },
    "biomarkers": {
        "patient_id": "VARCHAR",
        "biomarker": "VARCHAR",
        "value_numeric": "DOUBLE",
        "value_category": "VARCHAR",
        "unit": "VARCHAR",
        "test_date": "DATE",
    },
    "treatments": {
        "patient_id": "VARCHAR",
        "line_number": "INTEGER",
        "regimen": "VARCHAR",
        "drug": "VARCHAR",
        "atc_code": "VARCHAR",
        "drug_class": "VARCHAR",
        "start_date": "DATE",
        "end_date": "DATE",
        "stop_reason": "VARCHAR",
    },
    "performance_status": {
        "patient_id": "VARCHAR",
        "assessment_date": "DATE",
        "ecog": "INTEGER",
    },
    "tumor_assessments": {
        "patient_id": "VARCHAR",
        "line_number": "INTEGER",
        "assessment_date": "DATE",
        "response": "VARCHAR",
    },
    "adverse_events": {
        "patient_id": "VARCHAR",
        "line_number": "INTEGER",
        "term": "VARCHAR",
        "organ_class": "VARCHAR",
        "grade": "INTEGER",
        "onset_date": "DATE",
        "resolved_date": "DATE",
        "immune_related": "BOOLEAN",
    },
}

# The date column that places each event table's rows in time.
EVENT_DATE_COLUMN: dict[str, str] = {
    "diagnoses": "diagnosis_date",
    "biomarkers": "test_date",
    "treatments": "start_date",
    "performance_status": "assessment_date",
    "tumor_assessments": "assessment_date",
    "adverse_events": "onset_date",
}

SEX_VALUES = ("F", "M")
SMOKING_VALUES = ("never", "former", "current")
STAGE_VALUES = ("I", "II", "III", "IV")
DRUG_CLASSES = ("anti-PD-1", "anti-PD-L1", "anti-CTLA-4", "chemotherapy", "targeted", "other")
CHECKPOINT_INHIBITOR_CLASSES = ("anti-PD-1", "anti-PD-L1", "anti-CTLA-4")
STOP_REASONS = ("progression", "toxicity", "completed", "death", "other")
RECIST_RESPONSES = ("CR", "PR", "SD", "PD", "NE")
# Best overall response categories of the analyses: RECIST, then no assessment at all.
NOT_EVALUABLE = "Not evaluable"
BOR_CATEGORIES = (*RECIST_RESPONSES, NOT_EVALUABLE)
RESPONDERS = ("CR", "PR")
DISEASE_CONTROL = ("CR", "PR", "SD")
ECOG_RANGE = (0, 5)
CTCAE_GRADE_RANGE = (1, 5)
DAYS_PER_MONTH = 30.4375


def typed_columns(table: str) -> str:
    """``CAST(col AS type) AS col, ...`` of a table's schema, so that Parquet files bind the
    same way whatever their physical types (int64/int32, all-null columns and so on)."""
    return ", ".join(f"CAST({col} AS {typ}) AS {col}" for col, typ in TABLES[table].items())
