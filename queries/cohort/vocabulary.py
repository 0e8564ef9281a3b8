"""Names of coded values: ICD-O-3 morphology names shown next to their codes, and the names
of text values (CTCAE terms, MedDRA organ classes, cancer types, ...) in the reader's language.

The codes and values are the data; a name is only for reading, so an unknown one is shown bare.
Names are catalogue messages (``N_``): the app shows them in the reader's language.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from queries.i18n import N_

# ICD-O-3 morphology codes (behaviour /3, malignant) of the IO indications the platform holds.
HISTOLOGY_NAMES: dict[str, str] = {
    "8012/3": N_("Large cell carcinoma"),
    "8046/3": N_("Non-small cell carcinoma"),
    "8070/3": N_("Squamous cell carcinoma"),
    "8071/3": N_("Squamous cell carcinoma, keratinizing"),
    "8072/3": N_("Squamous cell carcinoma, large cell, non-keratinizing"),
    "8120/3": N_("Transitional cell carcinoma"),
    "8130/3": N_("Papillary transitional cell carcinoma"),
    "8140/3": N_("Adenocarcinoma"),
    "8144/3": N_("Adenocarcinoma, intestinal type"),
    "8170/3": N_("Hepatocellular carcinoma"),
    "8171/3": N_("Hepatocellular carcinoma, fibrolamellar"),
    "8260/3": N_("Papillary adenocarcinoma"),
    "8310/3": N_("Clear cell adenocarcinoma"),
    "8312/3": N_("Renal cell carcinoma"),
    "8317/3": N_("Renal cell carcinoma, chromophobe type"),
    "8480/3": N_("Mucinous adenocarcinoma"),
    "8490/3": N_("Signet ring cell carcinoma"),
    "8500/3": N_("Infiltrating duct carcinoma"),
    "8520/3": N_("Lobular carcinoma"),
    "8575/3": N_("Metaplastic carcinoma"),
    "8720/3": N_("Malignant melanoma"),
    "8721/3": N_("Nodular melanoma"),
    "8743/3": N_("Superficial spreading melanoma"),
}


def histology_name(code: object) -> str | None:
    """The English name of an ICD-O-3 morphology code, or None when it is not known."""
    return HISTOLOGY_NAMES.get(str(code)) if code is not None else None


# Values of coded text columns shown to a reader by name: each name is a catalogue message whose
# id is the value itself, so English shows the data as it is and other languages translate it.
# A value not listed (another snapshot's term, a hospital's name, a regimen) is shown as it is.
CTCAE_TERMS: dict[str, str] = {
    "Acute kidney injury": N_("Acute kidney injury"),
    "Adrenal insufficiency": N_("Adrenal insufficiency"),
    "Alanine aminotransferase increased": N_("Alanine aminotransferase increased"),
    "Alopecia": N_("Alopecia"),
    "Anemia": N_("Anemia"),
    "Arthralgia": N_("Arthralgia"),
    "Aspartate aminotransferase increased": N_("Aspartate aminotransferase increased"),
    "Colitis": N_("Colitis"),
    "Creatinine increased": N_("Creatinine increased"),
    "Decreased appetite": N_("Decreased appetite"),
    "Diarrhea": N_("Diarrhea"),
    "Edema limbs": N_("Edema limbs"),
    "Fatigue": N_("Fatigue"),
    "Febrile neutropenia": N_("Febrile neutropenia"),
    "Hepatitis": N_("Hepatitis"),
    "Hyperglycemia": N_("Hyperglycemia"),
    "Hypertension": N_("Hypertension"),
    "Hyperthyroidism": N_("Hyperthyroidism"),
    "Hypophysitis": N_("Hypophysitis"),
    "Hypothyroidism": N_("Hypothyroidism"),
    "Infusion related reaction": N_("Infusion related reaction"),
    "Mucositis oral": N_("Mucositis oral"),
    "Myocarditis": N_("Myocarditis"),
    "Myositis": N_("Myositis"),
    "Nausea": N_("Nausea"),
    "Neutrophil count decreased": N_("Neutrophil count decreased"),
    "Palmar-plantar erythrodysesthesia syndrome": N_("Palmar-plantar erythrodysesthesia "
                                                     "syndrome"),
    "Paronychia": N_("Paronychia"),
    "Peripheral sensory neuropathy": N_("Peripheral sensory neuropathy"),
    "Platelet count decreased": N_("Platelet count decreased"),
    "Pneumonitis": N_("Pneumonitis"),
    "Proteinuria": N_("Proteinuria"),
    "Pruritus": N_("Pruritus"),
    "Pyrexia": N_("Pyrexia"),
    "Rash acneiform": N_("Rash acneiform"),
    "Rash maculo-papular": N_("Rash maculo-papular"),
    "Skin hypopigmentation": N_("Skin hypopigmentation"),
    "Vomiting": N_("Vomiting"),
}
# MedDRA system organ classes (their Finnish names as in Finnish product information).
ORGAN_CLASSES: dict[str, str] = {
    "Blood and lymphatic system disorders": N_("Blood and lymphatic system disorders"),
    "Cardiac disorders": N_("Cardiac disorders"),
    "Endocrine disorders": N_("Endocrine disorders"),
    "Gastrointestinal disorders": N_("Gastrointestinal disorders"),
    "General disorders and administration site conditions": N_(
        "General disorders and administration site conditions"),
    "Hepatobiliary disorders": N_("Hepatobiliary disorders"),
    "Infections and infestations": N_("Infections and infestations"),
    "Injury, poisoning and procedural complications": N_(
        "Injury, poisoning and procedural complications"),
    "Investigations": N_("Investigations"),
    "Metabolism and nutrition disorders": N_("Metabolism and nutrition disorders"),
    "Musculoskeletal and connective tissue disorders": N_(
        "Musculoskeletal and connective tissue disorders"),
    "Nervous system disorders": N_("Nervous system disorders"),
    "Renal and urinary disorders": N_("Renal and urinary disorders"),
    "Respiratory, thoracic and mediastinal disorders": N_(
        "Respiratory, thoracic and mediastinal disorders"),
    "Skin and subcutaneous tissue disorders": N_("Skin and subcutaneous tissue disorders"),
    "Vascular disorders": N_("Vascular disorders"),
}
CANCER_TYPES: dict[str, str] = {
    "Colorectal MSI-H": N_("Colorectal MSI-H"),
    "Gastro-oesophageal adenocarcinoma": N_("Gastro-oesophageal adenocarcinoma"),
    "Head and neck SCC": N_("Head and neck SCC"),
    "Hepatocellular carcinoma": N_("Hepatocellular carcinoma"),
    "Melanoma": N_("Melanoma"),
    "NSCLC": N_("NSCLC"),
    "Renal cell carcinoma": N_("Renal cell carcinoma"),
    "Triple-negative breast cancer": N_("Triple-negative breast cancer"),
    "Urothelial carcinoma": N_("Urothelial carcinoma"),
}
# Drug classes: the antibody classes (anti-PD-1, ...) read the same in Finnish.
DRUG_CLASSES: dict[str, str] = {
    "chemotherapy": N_("chemotherapy"),
    "targeted": N_("targeted"),
    "other": N_("other"),
}
STOP_REASONS: dict[str, str] = {
    "progression": N_("progression"),
    "toxicity": N_("toxicity"),
    "completed": N_("completed"),
    "death": N_("death"),
    "other": N_("other"),
}
SMOKING_STATUSES: dict[str, str] = {
    "never": N_("never"),
    "former": N_("former"),
    "current": N_("current"),
}
VALUE_NAMES: dict[str, dict[str, str]] = {
    "term": CTCAE_TERMS,
    "organ_class": ORGAN_CLASSES,
    "cancer_type": CANCER_TYPES,
    "drug_class": DRUG_CLASSES,
    "stop_reason": STOP_REASONS,
    "smoking_status": SMOKING_STATUSES,
}
# A stratum of the index line's drug classes joins its classes: 'anti-PD-1 + chemotherapy'.
DRUG_CLASS_JOINER = " + "
# A regimen's drugs read the same in Finnish; the setting in brackets is a word to translate:
# 'pembrolizumab (adjuvant)'.
REGIMEN_SETTINGS: dict[str, str] = {
    "adjuvant": N_("adjuvant"),
    "neoadjuvant": N_("neoadjuvant"),
    "maintenance": N_("maintenance"),
    "before maintenance": N_("before maintenance"),
    "consolidation": N_("consolidation"),
    "chemoradiotherapy": N_("chemoradiotherapy"),
}
_REGIMEN_SETTING = re.compile(r"^(?P<drugs>.+) \((?P<setting>[^()]+)\)$")


def value_name(column: str, value: object) -> str | None:
    """The catalogue message naming ``value`` of ``column``, or None when it is shown as it is
    (the message id is the value: translate it with the reader's translator)."""
    return VALUE_NAMES.get(column, {}).get(value) if isinstance(value, str) else None


def value_text(column: str, value: object, gettext: Callable[[str], str]) -> str:
    """``value`` of ``column`` in the reader's language (``gettext`` of their translator): a
    named value translated, the index line's drug classes class by class, a regimen's setting
    ('(adjuvant)'), anything else as it is."""
    if column == "drug_classes" and isinstance(value, str):
        return DRUG_CLASS_JOINER.join(value_text("drug_class", part, gettext)
                                      for part in value.split(DRUG_CLASS_JOINER))
    if column == "regimen" and isinstance(value, str):
        match = _REGIMEN_SETTING.match(value)
        setting = REGIMEN_SETTINGS.get(match["setting"]) if match else None
        return f"{match['drugs']} ({gettext(setting)})" if match and setting else value
    name = value_name(column, value)
    return gettext(name) if name is not None else ("" if value is None else str(value))
