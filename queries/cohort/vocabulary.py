"""Names of coded values shown next to their codes (ICD-O-3 morphology), in English ids.

The codes are the data; a name is only for reading, so an unknown code is shown bare.
Names are catalogue messages (``N_``): the app shows them in the reader's language.
"""

from __future__ import annotations

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
