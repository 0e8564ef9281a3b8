"""Snapshot schema versions 1 and 2: the contract with the platform's ETL (see DESIGN.md).

Version 2 adds the table ``patient_reported_outcomes`` and AJCC substages in
``diagnoses.stage``. Version-1 snapshots keep loading: their missing table is empty.
"""

from __future__ import annotations

import re

SCHEMA_VERSION = 2  # the version this code writes
SUPPORTED_SCHEMA_VERSIONS = (1, 2)

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
    "patient_reported_outcomes": {
        "patient_id": "VARCHAR",
        "assessment_date": "DATE",
        "instrument": "VARCHAR",
        "item": "VARCHAR",
        "score": "DOUBLE",
        "line_number": "INTEGER",
    },
}
# The schema version that introduced each table added after version 1.
TABLE_SINCE: dict[str, int] = {"patient_reported_outcomes": 2}


def tables_of(version: int) -> tuple[str, ...]:
    """The tables of a schema version, in canonical order."""
    return tuple(t for t in TABLES if TABLE_SINCE.get(t, 1) <= version)


def versions_text() -> str:
    """'1 and 2': the supported versions for messages."""
    *first, last = (str(v) for v in SUPPORTED_SCHEMA_VERSIONS)
    return f"{', '.join(first)} and {last}" if first else last

# The date column that places each event table's rows in time.
EVENT_DATE_COLUMN: dict[str, str] = {
    "diagnoses": "diagnosis_date",
    "biomarkers": "test_date",
    "treatments": "start_date",
    "performance_status": "assessment_date",
    "tumor_assessments": "assessment_date",
    "adverse_events": "onset_date",
    "patient_reported_outcomes": "assessment_date",
}

SEX_VALUES = ("F", "M")
SMOKING_VALUES = ("never", "former", "current")
# Stage: the AJCC group (version 1) or, from version 2, also an AJCC 8th edition substage.
STAGE_GROUPS = ("I", "II", "III", "IV")
STAGE_SUBSTAGES = ("IA", "IA1", "IA2", "IA3", "IB", "IC", "IIA", "IIB", "IIC", "IIIA", "IIIB",
                   "IIIC", "IIID", "IVA", "IVB", "IVC")
STAGE_VALUES_BY_VERSION: dict[int, tuple[str, ...]] = {
    1: STAGE_GROUPS,
    2: STAGE_GROUPS + STAGE_SUBSTAGES,
}
STAGE_VALUES = STAGE_VALUES_BY_VERSION[SCHEMA_VERSION]
_STAGE_GROUP = re.compile(r"^(IV|III|II|I)")
# SQL expression of the stage group of a stage column (``{column}`` filled from the catalog).
STAGE_GROUP_SQL = "regexp_extract({column}, '^(IV|III|II|I)', 1)"


def stage_group(stage: str | None) -> str | None:
    """'IIIB' -> 'III'; a group stays itself; None or an unknown value -> None."""
    if stage is None:
        return None
    match = _STAGE_GROUP.match(stage)
    return match.group(1) if match else None


# Patient-reported outcomes (version 2). EORTC QLQ-C30 scales are scored 0-100 by the EORTC
# scoring manual: for the global health status and the functional scales higher is better,
# for the symptom scales higher is worse. PRO-CTCAE items are scored 0-4 (none/never ..
# very severe/almost constantly), higher is worse, except presence items, which are yes/no
# (0 no, 1 yes): ``PRO_CTCAE_ITEM_LEVELS`` holds each item's levels, scored by position.
QLQ_C30 = "EORTC QLQ-C30"
PRO_CTCAE = "PRO-CTCAE"
PRO_INSTRUMENTS = (QLQ_C30, PRO_CTCAE)
PRO_SCORE_RANGE: dict[str, tuple[float, float]] = {QLQ_C30: (0.0, 100.0), PRO_CTCAE: (0.0, 4.0)}
QLQ_C30_GLOBAL = "Global health status/QoL"
QLQ_C30_FUNCTIONAL = ("Physical functioning", "Role functioning", "Emotional functioning",
                      "Cognitive functioning", "Social functioning")
QLQ_C30_SYMPTOMS = ("Fatigue", "Nausea and vomiting", "Pain", "Dyspnoea", "Insomnia",
                    "Appetite loss", "Constipation", "Diarrhoea", "Financial difficulties")
QLQ_C30_SCALES = (QLQ_C30_GLOBAL, *QLQ_C30_FUNCTIONAL, *QLQ_C30_SYMPTOMS)
PRO_CTCAE_ITEMS = ("Diarrhea frequency", "Fatigue severity", "Nausea frequency",
                   "Decreased appetite severity", "Shortness of breath severity",
                   "Itching severity", "Rash presence")
PRO_CTCAE_LEVELS = ("none", "mild", "moderate", "severe", "very severe")
# frequency items (diarrhoea, nausea) are answered never .. almost constantly, scored 0-4 too
PRO_CTCAE_FREQUENCY_LEVELS = ("never", "rarely", "occasionally", "frequently",
                              "almost constantly")
PRO_CTCAE_PRESENCE_LEVELS = ("no", "yes")
PRO_CTCAE_RASH = "Rash presence"
PRO_CTCAE_ITEM_LEVELS: dict[str, tuple[str, ...]] = {
    item: (PRO_CTCAE_PRESENCE_LEVELS if item == PRO_CTCAE_RASH
           else PRO_CTCAE_FREQUENCY_LEVELS if item.endswith(" frequency")
           else PRO_CTCAE_LEVELS)
    for item in PRO_CTCAE_ITEMS}
PRO_ITEMS: dict[str, tuple[str, ...]] = {QLQ_C30: QLQ_C30_SCALES, PRO_CTCAE: PRO_CTCAE_ITEMS}


def pro_ctcae_levels(item: str) -> tuple[str, ...]:
    """The answer levels of a PRO-CTCAE item, scored 0, 1, ... in order (an item this code
    does not know: the 0-4 levels)."""
    return PRO_CTCAE_ITEM_LEVELS.get(item, PRO_CTCAE_LEVELS)


def is_presence_item(instrument: str, item: str) -> bool:
    """Whether an item is answered yes/no (scored 0/1), such as PRO-CTCAE rash presence."""
    return instrument == PRO_CTCAE and pro_ctcae_levels(item) == PRO_CTCAE_PRESENCE_LEVELS


def pro_score_range(instrument: str, item: str) -> tuple[float, float]:
    """The score range of one item: its instrument's, or 0-1 for a presence item."""
    if is_presence_item(instrument, item):
        return 0.0, float(len(PRO_CTCAE_PRESENCE_LEVELS) - 1)
    return PRO_SCORE_RANGE.get(instrument, (0.0, 100.0))


def higher_is_better(instrument: str, item: str) -> bool:
    """Scoring direction: QLQ-C30 global health status and functional scales only."""
    return instrument == QLQ_C30 and (item == QLQ_C30_GLOBAL or item in QLQ_C30_FUNCTIONAL)
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


def empty_columns(table: str) -> str:
    """``col type, ...``: the column list of an empty table (one a snapshot's version lacks)."""
    return ", ".join(f"{col} {typ}" for col, typ in TABLES[table].items())
