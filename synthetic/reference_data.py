"""Reference data of the synthetic generator: sites, cancer types, drugs, regimens, pathways.

Codes are real (ICD-10, ICD-O-3, ATC, CTCAE v5 terms with their MedDRA SOC); frequencies are
plausible for Finnish immuno-oncology practice 2015-2026, not estimates from any real data set.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Hospital sites: five university hospitals and two much smaller central hospitals.
# Shares follow the catchment populations of the specific catchment areas (HUS about 1.7 M,
# the other university hospitals 0.7-0.9 M, the central hospitals 0.2-0.25 M): about 6-fold.
SITES: tuple[tuple[str, float], ...] = (
    ("HUS Helsinki", 0.30),
    ("TAYS Tampere", 0.17),
    ("TYKS Turku", 0.15),
    ("KYS Kuopio", 0.13),
    ("OYS Oulu", 0.12),
    ("Keski-Suomi CH Jyväskylä", 0.075),
    ("Päijät-Häme CH Lahti", 0.055),
)

# Relative rate of molecular (NGS) testing by site: the central hospitals send out fewer panels.
SITE_NGS_FACTOR: tuple[tuple[str, float], ...] = tuple(
    (name, 0.72 if "CH" in name else 1.0) for name, _ in SITES)

# Share of NSCLC patients with a PD-L1 TPS result by calendar time of diagnosis (year, share):
# hardly tested before pembrolizumab's first-line label (2017), routine from 2018 (Flatiron
# advanced NSCLC: ~3 % in 2015 rising to ~70 % in 2017; Khozin et al. 2019).
PDL1_TPS_TESTING_BY_YEAR: tuple[tuple[float, float], ...] = (
    (2015.0, 0.02), (2015.75, 0.10), (2016.25, 0.40), (2016.75, 0.72), (2017.5, 0.84),
    (2018.5, 0.91), (2027.0, 0.95))

# Calendar eras decide which regimens were reimbursed and in use.
ERAS = ("early", "modern", "recent")
# Diagnosis dates from which the "modern" and "recent" regimens of a cancer type were in use
# (EU approvals and Finnish reimbursement, minus the usual time from diagnosis to treatment).
ERA_STARTS: dict[str, tuple[str, str]] = {
    "NSCLC": ("2018-07-01", "2024-01-01"),
    "Melanoma": ("2018-06-01", "2024-01-01"),
    "Renal cell carcinoma": ("2019-01-01", "2021-10-01"),
    "Urothelial carcinoma": ("2020-12-01", "2024-07-01"),
    "Head and neck SCC": ("2019-10-01", "2024-01-01"),
    "Colorectal MSI-H": ("2020-12-01", "2024-01-01"),
    "Hepatocellular carcinoma": ("2020-10-01", "2023-02-01"),
    "Gastro-oesophageal adenocarcinoma": ("2021-09-01", "2023-11-01"),
    "Triple-negative breast cancer": ("2019-08-01", "2022-05-01"),
}


@dataclass(frozen=True)
class CancerSpec:
    """One cancer type: case mix weight and the distributions that depend on the type."""

    weight: float
    male: float
    age_mean: float
    age_sd: float
    smoking: tuple[float, float, float, float]  # never, former, current, unknown
    icd10: dict[str, float]
    histology: dict[str, float]
    stage: tuple[float, float, float, float, float]  # I, II, III, IV, unknown
    io_median_months: float  # OS median from first ICI at the model's reference covariates
    nonio_median_months: float  # OS median from diagnosis for patients never given an ICI
    p_io: float  # probability of ever receiving an ICI (ECOG 0-1, no driver)


CANCERS: dict[str, CancerSpec] = {
    "NSCLC": CancerSpec(
        0.40, 0.56, 69, 8.5, (0.10, 0.50, 0.33, 0.07),
        {"C34.1": 0.52, "C34.3": 0.28, "C34.2": 0.05, "C34.0": 0.04, "C34.9": 0.11},
        {"8140/3": 0.58, "8070/3": 0.30, "8046/3": 0.08, "8012/3": 0.04},
        (0.04, 0.06, 0.26, 0.61, 0.03), 11.0, 9.0, 0.93),
    "Melanoma": CancerSpec(
        0.165, 0.57, 66, 13, (0.52, 0.28, 0.10, 0.10),
        {"C43.5": 0.34, "C43.7": 0.19, "C43.6": 0.14, "C43.3": 0.10, "C43.4": 0.09,
         "C43.9": 0.14},
        {"8720/3": 0.62, "8743/3": 0.22, "8721/3": 0.16},
        (0.0, 0.03, 0.40, 0.54, 0.03), 30.0, 12.0, 0.92),
    "Renal cell carcinoma": CancerSpec(
        0.08, 0.66, 65, 10, (0.42, 0.38, 0.14, 0.06),
        {"C64": 1.0},
        {"8310/3": 0.72, "8260/3": 0.12, "8312/3": 0.10, "8317/3": 0.06},
        (0.05, 0.04, 0.23, 0.65, 0.03), 36.0, 22.0, 0.88),
    "Urothelial carcinoma": CancerSpec(
        0.07, 0.77, 72, 9, (0.24, 0.50, 0.19, 0.07),
        {"C67.9": 0.55, "C67.2": 0.15, "C67.4": 0.08, "C67.0": 0.07, "C65": 0.10, "C66": 0.05},
        {"8120/3": 0.94, "8130/3": 0.06},
        (0.02, 0.10, 0.25, 0.58, 0.05), 12.0, 8.0, 0.84),
    "Head and neck SCC": CancerSpec(
        0.09, 0.73, 64, 9.5, (0.20, 0.44, 0.29, 0.07),
        {"C32.9": 0.24, "C10.9": 0.18, "C01": 0.14, "C02.9": 0.14, "C09.9": 0.12,
         "C13.9": 0.08, "C04.9": 0.10},
        {"8070/3": 0.86, "8071/3": 0.09, "8072/3": 0.05},
        (0.03, 0.07, 0.30, 0.55, 0.05), 11.0, 8.0, 0.82),
    "Colorectal MSI-H": CancerSpec(
        0.03, 0.45, 63, 13, (0.52, 0.32, 0.09, 0.07),
        {"C18.0": 0.16, "C18.2": 0.30, "C18.4": 0.10, "C18.7": 0.12, "C18.9": 0.10,
         "C20": 0.22},
        {"8140/3": 0.78, "8480/3": 0.22},
        (0.0, 0.06, 0.20, 0.70, 0.04), 48.0, 24.0, 0.88),
    "Hepatocellular carcinoma": CancerSpec(
        0.05, 0.79, 69, 9, (0.30, 0.45, 0.17, 0.08),
        {"C22.0": 1.0},
        {"8170/3": 0.96, "8171/3": 0.04},
        (0.04, 0.10, 0.30, 0.36, 0.20), 16.0, 10.0, 0.76),
    "Gastro-oesophageal adenocarcinoma": CancerSpec(
        0.065, 0.70, 67, 10, (0.30, 0.45, 0.18, 0.07),
        {"C16.0": 0.26, "C15.5": 0.18, "C16.2": 0.16, "C16.3": 0.12, "C16.9": 0.28},
        {"8140/3": 0.80, "8144/3": 0.08, "8490/3": 0.12},
        (0.02, 0.08, 0.25, 0.61, 0.04), 13.0, 8.0, 0.78),
    "Triple-negative breast cancer": CancerSpec(
        0.05, 0.0, 56, 12, (0.60, 0.25, 0.10, 0.05),
        {"C50.4": 0.33, "C50.9": 0.24, "C50.8": 0.15, "C50.2": 0.16, "C50.5": 0.12},
        {"8500/3": 0.90, "8575/3": 0.06, "8520/3": 0.04},
        (0.04, 0.30, 0.24, 0.40, 0.02), 18.0, 14.0, 0.85),
}

# AJCC 8th edition substages per stage group (I..IV) and cancer type, with their shares; a
# group missing here is recorded as the group itself. A share of diagnoses is recorded at the
# group level only (registry data, older records).
_SUB_I = {"IA": 0.55, "IB": 0.45}
_SUB_II = {"IIA": 0.5, "IIB": 0.5}
_SUB_III = {"IIIA": 0.45, "IIIB": 0.35, "IIIC": 0.20}
_SUB_IV = {"IVA": 0.6, "IVB": 0.4}
SUBSTAGES: dict[str, tuple[dict[str, float], ...]] = {
    "NSCLC": ({"IA1": 0.15, "IA2": 0.3, "IA3": 0.25, "IB": 0.3}, _SUB_II, _SUB_III,
              {"IVA": 0.55, "IVB": 0.45}),
    "Melanoma": (_SUB_I, {"IIA": 0.35, "IIB": 0.35, "IIC": 0.3},
                 {"IIIA": 0.15, "IIIB": 0.3, "IIIC": 0.5, "IIID": 0.05}, {}),
    "Renal cell carcinoma": ({}, {}, {}, {}),
    "Urothelial carcinoma": ({}, {}, {"IIIA": 0.6, "IIIB": 0.4}, _SUB_IV),
    "Head and neck SCC": ({}, {}, {}, {"IVA": 0.6, "IVB": 0.15, "IVC": 0.25}),
    "Colorectal MSI-H": ({}, {"IIA": 0.7, "IIB": 0.2, "IIC": 0.1}, _SUB_III,
                         {"IVA": 0.45, "IVB": 0.35, "IVC": 0.2}),
    "Hepatocellular carcinoma": (_SUB_I, {}, {"IIIA": 0.6, "IIIB": 0.4}, _SUB_IV),
    "Gastro-oesophageal adenocarcinoma": (_SUB_I, _SUB_II, _SUB_III, {}),
    "Triple-negative breast cancer": (_SUB_I, _SUB_II, _SUB_III, {}),
}
STAGE_GROUP_ONLY_SHARE = 0.2

# ECOG of a patient at the decision about systemic therapy (for ICI patients: at first ICI).
# Worse with age: bands below 65, 65-74, 75 and over.
ECOG_PROBS_BY_AGE = ((0.38, 0.46, 0.12, 0.04), (0.30, 0.48, 0.16, 0.06),
                     (0.20, 0.48, 0.23, 0.09))
# Share of never-ICI patients is higher for the frail and for driver-positive NSCLC.
NEVER_IO_ECOG2_FACTOR = 1.9
NSCLC_DRIVER_P_IO = 0.22

# Drug -> (ATC code, drug_class)
DRUGS: dict[str, tuple[str, str]] = {
    "pembrolizumab": ("L01FF02", "anti-PD-1"),
    "nivolumab": ("L01FF01", "anti-PD-1"),
    "cemiplimab": ("L01FF06", "anti-PD-1"),
    "atezolizumab": ("L01FF05", "anti-PD-L1"),
    "durvalumab": ("L01FF03", "anti-PD-L1"),
    "avelumab": ("L01FF04", "anti-PD-L1"),
    "ipilimumab": ("L01FX04", "anti-CTLA-4"),
    "tremelimumab": ("L01FX20", "anti-CTLA-4"),
    "carboplatin": ("L01XA02", "chemotherapy"),
    "cisplatin": ("L01XA01", "chemotherapy"),
    "oxaliplatin": ("L01XA03", "chemotherapy"),
    "pemetrexed": ("L01BA04", "chemotherapy"),
    "methotrexate": ("L01BA01", "chemotherapy"),
    "fluorouracil": ("L01BC02", "chemotherapy"),
    "capecitabine": ("L01BC06", "chemotherapy"),
    "gemcitabine": ("L01BC05", "chemotherapy"),
    "paclitaxel": ("L01CD01", "chemotherapy"),
    "nab-paclitaxel": ("L01CD01", "chemotherapy"),
    "docetaxel": ("L01CD02", "chemotherapy"),
    "vinorelbine": ("L01CA04", "chemotherapy"),
    "vinflunine": ("L01CA05", "chemotherapy"),
    "etoposide": ("L01CB01", "chemotherapy"),
    "irinotecan": ("L01CE02", "chemotherapy"),
    "dacarbazine": ("L01AX04", "chemotherapy"),
    "eribulin": ("L01XX41", "chemotherapy"),
    "osimertinib": ("L01EB04", "targeted"),
    "erlotinib": ("L01EB02", "targeted"),
    "alectinib": ("L01ED03", "targeted"),
    "lorlatinib": ("L01ED05", "targeted"),
    "crizotinib": ("L01ED01", "targeted"),
    "dabrafenib": ("L01EC02", "targeted"),
    "trametinib": ("L01EE01", "targeted"),
    "encorafenib": ("L01EC03", "targeted"),
    "binimetinib": ("L01EE03", "targeted"),
    "sunitinib": ("L01EX01", "targeted"),
    "pazopanib": ("L01EX03", "targeted"),
    "axitinib": ("L01EK01", "targeted"),
    "cabozantinib": ("L01EX07", "targeted"),
    "lenvatinib": ("L01EX08", "targeted"),
    "sorafenib": ("L01EX02", "targeted"),
    "regorafenib": ("L01EX05", "targeted"),
    "bevacizumab": ("L01FG01", "targeted"),
    "ramucirumab": ("L01FG02", "targeted"),
    "cetuximab": ("L01FE01", "targeted"),
    "enfortumab vedotin": ("L01FX13", "other"),
    "sacituzumab govitecan": ("L01FX17", "other"),
    "calcium folinate": ("V03AF03", "other"),
}

# Drugs given for a fixed number of cycles inside a longer regimen (days of treatment).
INDUCTION_DAYS: dict[str, int] = {
    "carboplatin": 84, "cisplatin": 84, "oxaliplatin": 126, "paclitaxel": 84,
    "nab-paclitaxel": 126, "etoposide": 63, "ipilimumab": 84, "tremelimumab": 1,
    "fluorouracil": 126, "calcium folinate": 126, "capecitabine": 126,
}


@dataclass(frozen=True)
class Regimen:
    """A line of therapy: its drugs and how such a line behaves.

    ``kind`` chooses the adverse-event catalogue; ``orr`` is the objective response rate;
    ``resp_months``/``sd_months`` the median time to progression after response/stable disease;
    ``max_days`` stops the line as completed (e.g. two years of anti-PD-1); ``fixed_days`` marks
    a line of fixed length after which the next line follows without progression (chemoradio-
    therapy before consolidation, platinum before maintenance); ``recist`` False for curative
    settings without measurable disease (adjuvant, neoadjuvant) where the next line follows a
    recurrence.
    """

    drugs: tuple[str, ...]
    kind: str
    orr: float
    resp_months: float
    sd_months: float
    max_days: int | None = None
    fixed_days: int | None = None
    recist: bool = True
    severe_irae: float = 0.0  # P(>= 1 grade >= 3 immune-related AE) on this line
    primary_pd: float = 0.4  # share of non-responders progressing at the first scan
    # P(stopping for a grade 2 immune-related AE that does not settle), besides the stops
    # after grade >= 3 events: high for anti-CTLA-4 combinations (CheckMate 067: ~40 % of
    # nivolumab + ipilimumab patients discontinued for toxicity, mostly in the first months).
    moderate_tox_stop: float = 0.0
    per_drug_days: dict[str, int] = field(default_factory=dict)


def _io(drugs: tuple[str, ...], kind: str, orr: float, sev: float, **kw) -> Regimen:
    kw.setdefault("max_days", 730)
    kw.setdefault("primary_pd", 0.25)
    kw.setdefault("moderate_tox_stop", MODERATE_TOX_STOP_CTLA4 if "ipilimumab" in drugs
                  or "tremelimumab" in drugs else MODERATE_TOX_STOP_MONO)
    return Regimen(drugs, kind, orr, kw.pop("resp", 30.0), kw.pop("sd", 10.0),
                   severe_irae=sev, **kw)


def _chemo(drugs: tuple[str, ...], orr: float, resp: float = 7.0, sd: float = 4.5,
           **kw) -> Regimen:
    return Regimen(drugs, "chemo", orr, resp, sd, **kw)


def _tki(drugs: tuple[str, ...], kind: str, orr: float, resp: float, sd: float,
         **kw) -> Regimen:
    return Regimen(drugs, kind, orr, resp, sd, primary_pd=0.3, **kw)


# ORR of a regimen in one cancer type where it differs from the regimen's default:
# KEYNOTE-177 (MSI-H colorectal, pembrolizumab 44 %), CheckMate 142 (nivolumab + ipilimumab
# ~60 %), CheckMate 067 (melanoma: nivolumab 45 %, ipilimumab 19 %, combination 58 %; real-world
# use somewhat lower).
ORR_BY_CANCER_AND_REGIMEN: dict[tuple[str, str], float] = {
    ("Colorectal MSI-H", "pembrolizumab"): 0.44,
    ("Colorectal MSI-H", "nivolumab + ipilimumab"): 0.60,
    ("Colorectal MSI-H", "nivolumab"): 0.35,
    ("Melanoma", "nivolumab"): 0.40,
    ("Melanoma", "pembrolizumab"): 0.40,
    ("Melanoma", "nivolumab + ipilimumab"): 0.55,
    ("Melanoma", "ipilimumab"): 0.14,
}
# NSCLC on anti-PD-(L)1 alone: about half progress at the first scan and stable disease lasts
# about 6 months (real-world rwPFS ~3 months; Khozin et al. 2019): (primary PD share, months).
NSCLC_IO_MONO_PROGRESSION: dict[str, tuple[float, float]] = {
    "pembrolizumab": (0.5, 6.0), "nivolumab": (0.5, 6.0), "atezolizumab": (0.5, 6.0)}

# Melanoma first-line ipilimumab alone before anti-PD-1 was reimbursed.
MELANOMA_IPILIMUMAB_ERA_END = "2016-06-01"
MELANOMA_EARLY_IPILIMUMAB_SHARE = 0.6

# Severe immune-related AE probabilities of the planted effect (see ground truth).
SEVERE_IRAE_PD1_MONO = 0.12
SEVERE_IRAE_PD1_CTLA4 = 0.40
# Stops for a grade 2 immune-related AE (see Regimen.moderate_tox_stop).
MODERATE_TOX_STOP_MONO = 0.03
MODERATE_TOX_STOP_CTLA4 = 0.22

# Melanoma first-line checkpoint choice (confounding by indication): the share given
# nivolumab + ipilimumab rather than anti-PD-1 alone, by age at diagnosis band (< 60, 60-69,
# 70-74, >= 75) for ECOG 0-1; ECOG >= 2 multiplies it by the factor below.
MELANOMA_COMBO_SHARE_BY_AGE = (0.68, 0.52, 0.30, 0.12)
MELANOMA_COMBO_AGE_BANDS = (60, 70, 75)
MELANOMA_COMBO_ECOG2_FACTOR = 0.2
MELANOMA_COMBO_EARLY_ERA_FACTOR = 0.6

REGIMENS: dict[str, Regimen] = {
    # checkpoint inhibitors
    "pembrolizumab": _io(("pembrolizumab",), "io", 0.30, SEVERE_IRAE_PD1_MONO),
    "nivolumab": _io(("nivolumab",), "io", 0.25, SEVERE_IRAE_PD1_MONO),
    "cemiplimab": _io(("cemiplimab",), "io", 0.30, SEVERE_IRAE_PD1_MONO),
    "atezolizumab": _io(("atezolizumab",), "io", 0.15, 0.08),
    "nivolumab + ipilimumab": _io(("nivolumab", "ipilimumab"), "io_ctla4", 0.55,
                                  SEVERE_IRAE_PD1_CTLA4, resp=30.0),
    "ipilimumab": _io(("ipilimumab",), "io_ctla4", 0.11, 0.25, max_days=84),
    "pembrolizumab (adjuvant)": _io(("pembrolizumab",), "io", 0.0, SEVERE_IRAE_PD1_MONO,
                                    max_days=365, recist=False, resp=60.0, sd=60.0),
    "nivolumab (adjuvant)": _io(("nivolumab",), "io", 0.0, SEVERE_IRAE_PD1_MONO,
                                max_days=365, recist=False, resp=60.0, sd=60.0),
    "durvalumab (consolidation)": _io(("durvalumab",), "io", 0.28, 0.07, max_days=365,
                                      resp=28.0, sd=14.0, primary_pd=0.3),
    "avelumab (maintenance)": _io(("avelumab",), "io", 0.10, 0.07, resp=20.0, sd=5.0),
    "durvalumab + tremelimumab": _io(("durvalumab", "tremelimumab"), "io_ctla4", 0.20, 0.25),
    # chemo-immunotherapy and IO combinations
    "pembrolizumab + carboplatin + pemetrexed": _io(
        ("pembrolizumab", "carboplatin", "pemetrexed"), "chemo_io", 0.45, 0.14, sd=9.5),
    "pembrolizumab + carboplatin + paclitaxel": _io(
        ("pembrolizumab", "carboplatin", "paclitaxel"), "chemo_io", 0.55, 0.14, sd=9.0),
    "nivolumab + ipilimumab + carboplatin + pemetrexed": _io(
        ("nivolumab", "ipilimumab", "carboplatin", "pemetrexed"), "chemo_io", 0.38, 0.30,
        per_drug_days={"carboplatin": 42, "pemetrexed": 42, "ipilimumab": 730}),
    "atezolizumab + bevacizumab + carboplatin + paclitaxel": _io(
        ("atezolizumab", "bevacizumab", "carboplatin", "paclitaxel"), "chemo_io", 0.55, 0.10),
    "pembrolizumab + carboplatin + fluorouracil": _io(
        ("pembrolizumab", "carboplatin", "fluorouracil"), "chemo_io", 0.36, 0.14),
    "nivolumab + FOLFOX": _io(
        ("nivolumab", "oxaliplatin", "fluorouracil", "calcium folinate"), "chemo_io", 0.50, 0.14,
        resp=12.0, sd=6.0),
    "pembrolizumab + CAPOX": _io(
        ("pembrolizumab", "oxaliplatin", "capecitabine"), "chemo_io", 0.50, 0.14,
        resp=12.0, sd=6.0),
    "pembrolizumab + paclitaxel": _io(("pembrolizumab", "paclitaxel"), "chemo_io", 0.50, 0.14,
                                      per_drug_days={"paclitaxel": 168}),
    "atezolizumab + nab-paclitaxel": _io(("atezolizumab", "nab-paclitaxel"), "chemo_io", 0.52,
                                         0.10),
    "pembrolizumab + carboplatin + paclitaxel (neoadjuvant)": _io(
        ("pembrolizumab", "carboplatin", "paclitaxel"), "chemo_io", 0.0, 0.14, max_days=365,
        recist=False, resp=70.0, sd=70.0),
    "pembrolizumab + axitinib": _io(("pembrolizumab", "axitinib"), "io_tki", 0.55, 0.15,
                                    resp=26.0, sd=12.0, max_days=None),
    "nivolumab + cabozantinib": _io(("nivolumab", "cabozantinib"), "io_tki", 0.52, 0.15,
                                    resp=24.0, sd=11.0, max_days=None),
    "pembrolizumab + lenvatinib": _io(("pembrolizumab", "lenvatinib"), "io_tki", 0.62, 0.15,
                                      resp=26.0, sd=12.0, max_days=None),
    "atezolizumab + bevacizumab": _io(("atezolizumab", "bevacizumab"), "io_bev", 0.28, 0.09,
                                      resp=18.0, sd=7.0, max_days=None),
    "enfortumab vedotin + pembrolizumab": _io(("enfortumab vedotin", "pembrolizumab"),
                                              "chemo_io", 0.65, 0.12, resp=18.0, sd=10.0),
    # chemotherapy
    "cisplatin + etoposide (chemoradiotherapy)": _chemo(
        ("cisplatin", "etoposide"), 0.0, fixed_days=49, recist=False),
    "carboplatin + paclitaxel (chemoradiotherapy)": _chemo(
        ("carboplatin", "paclitaxel"), 0.0, fixed_days=49, recist=False),
    "carboplatin + pemetrexed": _chemo(("carboplatin", "pemetrexed"), 0.30),
    "cisplatin + pemetrexed": _chemo(("cisplatin", "pemetrexed"), 0.32),
    "carboplatin + paclitaxel": _chemo(("carboplatin", "paclitaxel"), 0.30, max_days=84),
    "cisplatin + vinorelbine": _chemo(("cisplatin", "vinorelbine"), 0.28, max_days=84),
    "carboplatin + gemcitabine": _chemo(("carboplatin", "gemcitabine"), 0.36, max_days=126),
    "cisplatin + gemcitabine": _chemo(("cisplatin", "gemcitabine"), 0.45, max_days=126),
    "cisplatin + gemcitabine (before maintenance)": _chemo(
        ("cisplatin", "gemcitabine"), 0.45, fixed_days=126),
    "carboplatin + gemcitabine (before maintenance)": _chemo(
        ("carboplatin", "gemcitabine"), 0.38, fixed_days=126),
    "docetaxel": _chemo(("docetaxel",), 0.10, resp=6.0, sd=3.5, max_days=180),
    "gemcitabine": _chemo(("gemcitabine",), 0.08, resp=5.0, sd=3.0),
    "pemetrexed": _chemo(("pemetrexed",), 0.08, resp=6.0, sd=3.5),
    "vinflunine": _chemo(("vinflunine",), 0.09, resp=5.0, sd=3.0),
    "dacarbazine": _chemo(("dacarbazine",), 0.08, resp=6.0, sd=3.0),
    "paclitaxel": _chemo(("paclitaxel",), 0.30, resp=6.0, sd=4.0),
    "capecitabine": _chemo(("capecitabine",), 0.15, resp=6.0, sd=4.0),
    "eribulin": _chemo(("eribulin",), 0.12, resp=5.0, sd=3.5),
    "methotrexate": _chemo(("methotrexate",), 0.06, resp=4.0, sd=2.5),
    "cisplatin + fluorouracil + cetuximab": _chemo(
        ("cisplatin", "fluorouracil", "cetuximab"), 0.36, resp=7.0, sd=5.0),
    "FOLFOX": _chemo(("oxaliplatin", "fluorouracil", "calcium folinate"), 0.40, resp=10.0),
    "FOLFIRI + bevacizumab": _chemo(
        ("irinotecan", "fluorouracil", "calcium folinate", "bevacizumab"), 0.30, resp=9.0),
    "ramucirumab + paclitaxel": _chemo(("ramucirumab", "paclitaxel"), 0.28, resp=6.0, sd=4.0),
    # targeted and other
    "osimertinib": _tki(("osimertinib",), "tki_egfr", 0.75, 20.0, 10.0),
    "erlotinib": _tki(("erlotinib",), "tki_egfr", 0.65, 12.0, 7.0),
    "alectinib": _tki(("alectinib",), "tki_alk", 0.80, 36.0, 14.0),
    "crizotinib": _tki(("crizotinib",), "tki_alk", 0.70, 12.0, 7.0),
    "lorlatinib": _tki(("lorlatinib",), "tki_alk", 0.45, 14.0, 7.0),
    "dabrafenib + trametinib": _tki(("dabrafenib", "trametinib"), "tki_braf", 0.66, 13.0, 6.0),
    "encorafenib + binimetinib": _tki(("encorafenib", "binimetinib"), "tki_braf", 0.63, 15.0,
                                      6.0),
    "sunitinib": _tki(("sunitinib",), "tki_vegf", 0.30, 14.0, 9.0),
    "pazopanib": _tki(("pazopanib",), "tki_vegf", 0.30, 14.0, 9.0),
    "cabozantinib": _tki(("cabozantinib",), "tki_vegf", 0.20, 10.0, 7.0),
    "axitinib": _tki(("axitinib",), "tki_vegf", 0.20, 9.0, 6.0),
    "sorafenib": _tki(("sorafenib",), "tki_vegf", 0.06, 8.0, 5.0),
    "lenvatinib": _tki(("lenvatinib",), "tki_vegf", 0.24, 9.0, 6.0),
    "regorafenib": _tki(("regorafenib",), "tki_vegf", 0.07, 6.0, 4.0),
    "cetuximab": _tki(("cetuximab",), "tki_egfr", 0.10, 5.0, 3.0),
    "enfortumab vedotin": Regimen(("enfortumab vedotin",), "adc", 0.40, 7.0, 4.5),
    "sacituzumab govitecan": Regimen(("sacituzumab govitecan",), "adc", 0.31, 7.0, 4.0),
}


@dataclass(frozen=True)
class Pathway:
    """A sequence of regimens (line 1, 2, ...) chosen for (cancer type, group, era)."""

    weight: float
    groups: str  # space-separated group names or "*"
    eras: str  # space-separated eras or "*"
    lines: tuple[str, ...]

    def applies(self, group: str, era: str) -> bool:
        return (self.groups == "*" or group in self.groups.split()) and (
            self.eras == "*" or era in self.eras.split())


def _p(weight: float, groups: str, eras: str, *lines: str) -> Pathway:
    return Pathway(weight, groups, eras, tuple(lines))


MODERN = "modern recent"
# NSCLC groups: egfr, alk (tested positive), st3 (unresectable stage III), ns50/ns (non-
# squamous TPS >= 50 / other), sq50/sq (squamous).
PATHWAYS: dict[str, tuple[Pathway, ...]] = {
    "NSCLC": (
        _p(0.62, "ns50 sq50", MODERN, "pembrolizumab", "carboplatin + pemetrexed", "docetaxel"),
        _p(0.30, "ns50", MODERN, "pembrolizumab + carboplatin + pemetrexed", "docetaxel",
           "gemcitabine"),
        _p(0.30, "sq50", MODERN, "pembrolizumab + carboplatin + paclitaxel", "docetaxel"),
        _p(0.78, "ns", MODERN, "pembrolizumab + carboplatin + pemetrexed", "docetaxel",
           "gemcitabine"),
        _p(0.08, "ns", MODERN, "nivolumab + ipilimumab + carboplatin + pemetrexed", "docetaxel"),
        _p(0.14, "ns sq", MODERN, "carboplatin + pemetrexed", "atezolizumab", "docetaxel"),
        _p(0.80, "sq", MODERN, "pembrolizumab + carboplatin + paclitaxel", "docetaxel",
           "gemcitabine"),
        _p(0.55, "ns50 sq50", "early", "pembrolizumab", "carboplatin + pemetrexed", "docetaxel"),
        _p(0.45, "ns50 ns", "early", "cisplatin + pemetrexed", "nivolumab", "docetaxel"),
        _p(0.45, "ns", "early", "carboplatin + pemetrexed", "pembrolizumab", "docetaxel"),
        _p(0.10, "ns", "early", "carboplatin + pemetrexed", "atezolizumab", "docetaxel"),
        _p(0.45, "sq50 sq", "early", "carboplatin + paclitaxel", "nivolumab", "docetaxel"),
        _p(0.55, "sq", "early", "cisplatin + vinorelbine", "pembrolizumab", "docetaxel"),
        _p(0.85, "st3", MODERN, "cisplatin + etoposide (chemoradiotherapy)",
           "durvalumab (consolidation)", "carboplatin + pemetrexed", "docetaxel"),
        _p(0.15, "st3", MODERN, "carboplatin + paclitaxel (chemoradiotherapy)",
           "durvalumab (consolidation)", "docetaxel"),
        _p(1.0, "st3", "early", "cisplatin + vinorelbine", "nivolumab", "docetaxel"),
        _p(0.85, "egfr", MODERN, "osimertinib", "carboplatin + pemetrexed", "docetaxel"),
        _p(0.15, "egfr", MODERN, "osimertinib",
           "atezolizumab + bevacizumab + carboplatin + paclitaxel", "docetaxel"),
        _p(1.0, "egfr", "early", "erlotinib", "osimertinib", "carboplatin + pemetrexed"),
        _p(0.10, "egfr", "early", "erlotinib", "carboplatin + pemetrexed", "nivolumab"),
        _p(1.0, "alk", MODERN, "alectinib", "lorlatinib", "carboplatin + pemetrexed"),
        _p(1.0, "alk", "early", "crizotinib", "alectinib", "carboplatin + pemetrexed"),
        _p(0.06, "alk", "*", "alectinib", "carboplatin + pemetrexed", "pembrolizumab"),
        _p(0.70, "ns ns50 st3", "*", "carboplatin + pemetrexed", "docetaxel"),
        _p(0.70, "sq sq50", "*", "carboplatin + gemcitabine", "docetaxel"),
        _p(0.30, "ns ns50 sq sq50 st3", "*"),
    ),
    "Melanoma": (
        _p(0.45, "wt", MODERN, "nivolumab + ipilimumab", "dacarbazine", "paclitaxel"),
        _p(0.40, "wt", MODERN, "pembrolizumab", "dacarbazine"),
        _p(0.15, "wt", MODERN, "pembrolizumab", "ipilimumab", "dacarbazine"),
        _p(0.20, "wt", "early", "nivolumab + ipilimumab", "dacarbazine"),
        _p(0.35, "wt", "early", "pembrolizumab", "dacarbazine"),
        _p(0.15, "wt", "early", "pembrolizumab", "ipilimumab", "dacarbazine"),
        _p(0.30, "wt", "early", "nivolumab", "dacarbazine"),
        _p(0.40, "braf", MODERN, "nivolumab + ipilimumab", "dabrafenib + trametinib",
           "dacarbazine"),
        _p(0.25, "braf", MODERN, "pembrolizumab", "encorafenib + binimetinib", "dacarbazine"),
        _p(0.35, "braf", "*", "dabrafenib + trametinib", "nivolumab", "dacarbazine"),
        _p(0.20, "braf", "early", "dabrafenib + trametinib", "pembrolizumab", "dacarbazine"),
        _p(0.60, "adj_wt", MODERN, "nivolumab (adjuvant)", "nivolumab + ipilimumab",
           "dacarbazine"),
        _p(0.40, "adj_wt", MODERN, "pembrolizumab (adjuvant)", "nivolumab + ipilimumab",
           "dacarbazine"),
        _p(1.0, "adj_braf", MODERN, "nivolumab (adjuvant)", "dabrafenib + trametinib",
           "dacarbazine"),
        _p(1.0, "adj_wt adj_braf", "early", "pembrolizumab", "dacarbazine"),
        _p(1.0, "braf adj_braf", "*", "dabrafenib + trametinib", "dacarbazine"),
        _p(0.6, "wt adj_wt", "*", "dacarbazine"),
        _p(0.4, "wt adj_wt", "*"),
    ),
    "Renal cell carcinoma": (
        _p(0.40, "*", MODERN, "nivolumab + ipilimumab", "cabozantinib", "axitinib"),
        _p(0.35, "*", MODERN, "pembrolizumab + axitinib", "cabozantinib", "axitinib"),
        _p(0.15, "*", MODERN, "nivolumab + cabozantinib", "axitinib"),
        _p(0.10, "*", "recent", "pembrolizumab + lenvatinib", "cabozantinib"),
        _p(0.25, "*", "modern", "sunitinib", "nivolumab", "cabozantinib"),
        _p(0.55, "*", "early", "sunitinib", "nivolumab", "cabozantinib", "axitinib"),
        _p(0.45, "*", "early", "pazopanib", "nivolumab", "cabozantinib"),
        _p(0.30, "st3", "recent", "pembrolizumab (adjuvant)", "cabozantinib", "axitinib"),
        _p(0.6, "*", "*", "sunitinib", "cabozantinib"),
        _p(0.4, "*", "*", "pazopanib", "axitinib"),
    ),
    "Urothelial carcinoma": (
        _p(0.40, "*", "modern", "cisplatin + gemcitabine (before maintenance)",
           "avelumab (maintenance)", "enfortumab vedotin"),
        _p(0.25, "*", "modern", "carboplatin + gemcitabine (before maintenance)",
           "avelumab (maintenance)", "vinflunine"),
        _p(0.25, "*", "modern", "carboplatin + gemcitabine", "pembrolizumab", "vinflunine"),
        _p(0.10, "*", "modern", "pembrolizumab", "carboplatin + gemcitabine"),
        _p(0.70, "*", "recent", "enfortumab vedotin + pembrolizumab", "cisplatin + gemcitabine"),
        _p(0.30, "*", "recent", "cisplatin + gemcitabine (before maintenance)",
           "avelumab (maintenance)", "enfortumab vedotin"),
        _p(0.65, "*", "early", "cisplatin + gemcitabine", "pembrolizumab", "vinflunine"),
        _p(0.35, "*", "early", "carboplatin + gemcitabine", "atezolizumab", "vinflunine"),
        _p(0.6, "*", "*", "carboplatin + gemcitabine", "vinflunine"),
        _p(0.4, "*", "*"),
    ),
    "Head and neck SCC": (
        _p(0.55, "cps_pos", MODERN, "pembrolizumab", "cisplatin + fluorouracil + cetuximab",
           "methotrexate"),
        _p(0.35, "cps_pos", MODERN, "pembrolizumab + carboplatin + fluorouracil", "cetuximab",
           "methotrexate"),
        _p(0.10, "*", MODERN, "cisplatin + fluorouracil + cetuximab", "nivolumab",
           "methotrexate"),
        _p(0.75, "*", "early", "cisplatin + fluorouracil + cetuximab", "nivolumab",
           "methotrexate"),
        _p(0.25, "*", "early", "cisplatin + fluorouracil + cetuximab", "pembrolizumab"),
        _p(0.6, "*", "*", "cisplatin + fluorouracil + cetuximab", "methotrexate"),
        _p(0.4, "*", "*"),
    ),
    "Colorectal MSI-H": (
        _p(0.60, "*", MODERN, "pembrolizumab", "FOLFOX", "FOLFIRI + bevacizumab"),
        _p(0.25, "*", MODERN, "nivolumab + ipilimumab", "FOLFOX", "FOLFIRI + bevacizumab"),
        _p(0.15, "*", MODERN, "FOLFOX", "pembrolizumab", "FOLFIRI + bevacizumab"),
        _p(0.70, "*", "early", "FOLFOX", "pembrolizumab", "FOLFIRI + bevacizumab"),
        _p(0.30, "*", "early", "FOLFOX", "FOLFIRI + bevacizumab", "nivolumab"),
        _p(0.8, "*", "*", "FOLFOX", "FOLFIRI + bevacizumab"),
        _p(0.2, "*", "*"),
    ),
    "Hepatocellular carcinoma": (
        _p(0.75, "*", MODERN, "atezolizumab + bevacizumab", "lenvatinib", "cabozantinib"),
        _p(0.25, "*", "recent", "durvalumab + tremelimumab", "lenvatinib", "cabozantinib"),
        _p(0.70, "*", "early", "sorafenib", "nivolumab", "regorafenib"),
        _p(0.30, "*", "early", "sorafenib", "regorafenib", "nivolumab"),
        _p(0.5, "*", "*", "sorafenib", "regorafenib"),
        _p(0.3, "*", "*", "lenvatinib", "cabozantinib"),
        _p(0.2, "*", "*"),
    ),
    "Gastro-oesophageal adenocarcinoma": (
        _p(0.70, "cps5", MODERN, "nivolumab + FOLFOX", "ramucirumab + paclitaxel"),
        _p(0.30, "cps5", "recent", "pembrolizumab + CAPOX", "ramucirumab + paclitaxel"),
        _p(1.0, "cps1", "recent", "pembrolizumab + CAPOX", "ramucirumab + paclitaxel"),
        _p(0.25, "st3", MODERN, "nivolumab (adjuvant)", "FOLFOX", "ramucirumab + paclitaxel"),
        _p(1.0, "cps5 cps1 st3", "early", "FOLFOX", "ramucirumab + paclitaxel",
           "pembrolizumab"),
        _p(0.7, "*", "*", "FOLFOX", "ramucirumab + paclitaxel"),
        _p(0.3, "*", "*"),
    ),
    "Triple-negative breast cancer": (
        _p(1.0, "met10", "recent", "pembrolizumab + paclitaxel", "sacituzumab govitecan",
           "eribulin"),
        _p(1.0, "met10 met early", "modern", "atezolizumab + nab-paclitaxel",
           "sacituzumab govitecan", "capecitabine"),
        _p(1.0, "met10 met early", "early", "paclitaxel", "atezolizumab + nab-paclitaxel",
           "capecitabine"),
        _p(1.0, "early", "recent", "pembrolizumab + carboplatin + paclitaxel (neoadjuvant)",
           "sacituzumab govitecan", "eribulin"),
        _p(0.6, "*", "*", "paclitaxel", "capecitabine", "eribulin"),
        _p(0.4, "*", "*", "carboplatin + gemcitabine", "capecitabine"),
    ),
}

# CTCAE v5 term -> (MedDRA SOC, immune-related, grade probabilities 1..4, median onset days,
# median days to resolution, share never resolving).
SOC_ENDO = "Endocrine disorders"
SOC_GI = "Gastrointestinal disorders"
SOC_RESP = "Respiratory, thoracic and mediastinal disorders"
SOC_SKIN = "Skin and subcutaneous tissue disorders"
SOC_INV = "Investigations"
SOC_GEN = "General disorders and administration site conditions"
SOC_BLOOD = "Blood and lymphatic system disorders"
SOC_MSK = "Musculoskeletal and connective tissue disorders"
SOC_METAB = "Metabolism and nutrition disorders"
SOC_NERV = "Nervous system disorders"
SOC_VASC = "Vascular disorders"
SOC_CARD = "Cardiac disorders"
SOC_RENAL = "Renal and urinary disorders"
SOC_INF = "Infections and infestations"
SOC_INJ = "Injury, poisoning and procedural complications"


@dataclass(frozen=True)
class AETerm:
    soc: str
    immune: bool
    grades: tuple[float, float, float, float]
    onset_days: float
    resolve_days: float
    chronic: float = 0.0


AE_TERMS: dict[str, AETerm] = {
    "Hypothyroidism": AETerm(SOC_ENDO, True, (0.35, 0.62, 0.03, 0.0), 80, 60, 0.8),
    "Hyperthyroidism": AETerm(SOC_ENDO, True, (0.60, 0.37, 0.03, 0.0), 45, 40, 0.1),
    "Adrenal insufficiency": AETerm(SOC_ENDO, True, (0.10, 0.55, 0.30, 0.05), 120, 90, 0.8),
    "Hypophysitis": AETerm(SOC_ENDO, True, (0.10, 0.55, 0.30, 0.05), 70, 90, 0.7),
    "Pneumonitis": AETerm(SOC_RESP, True, (0.35, 0.45, 0.17, 0.03), 85, 45),
    "Colitis": AETerm(SOC_GI, True, (0.25, 0.45, 0.27, 0.03), 50, 30),
    # immune-related when it occurs on a line with a checkpoint inhibitor
    "Diarrhea": AETerm(SOC_GI, True, (0.65, 0.27, 0.08, 0.0), 40, 14),
    "Alanine aminotransferase increased": AETerm(SOC_INV, True, (0.55, 0.25, 0.16, 0.04), 45,
                                                 35),
    "Aspartate aminotransferase increased": AETerm(SOC_INV, True, (0.60, 0.25, 0.12, 0.03),
                                                   45, 35),
    "Rash maculo-papular": AETerm(SOC_SKIN, True, (0.60, 0.32, 0.08, 0.0), 30, 40),
    "Pruritus": AETerm(SOC_SKIN, True, (0.70, 0.28, 0.02, 0.0), 30, 50),
    "Skin hypopigmentation": AETerm(SOC_SKIN, True, (0.85, 0.15, 0.0, 0.0), 120, 200, 0.9),
    "Arthralgia": AETerm(SOC_MSK, True, (0.60, 0.35, 0.05, 0.0), 60, 60),
    "Myositis": AETerm(SOC_MSK, True, (0.20, 0.40, 0.30, 0.10), 35, 60),
    "Myocarditis": AETerm(SOC_CARD, True, (0.10, 0.30, 0.35, 0.25), 30, 60),
    "Acute kidney injury": AETerm(SOC_RENAL, True, (0.40, 0.40, 0.15, 0.05), 90, 40),
    "Hyperglycemia": AETerm(SOC_METAB, True, (0.30, 0.35, 0.30, 0.05), 110, 60, 0.8),
    "Fatigue": AETerm(SOC_GEN, False, (0.62, 0.33, 0.05, 0.0), 30, 45),
    "Decreased appetite": AETerm(SOC_METAB, False, (0.60, 0.35, 0.05, 0.0), 35, 30),
    "Nausea": AETerm(SOC_GI, False, (0.65, 0.30, 0.05, 0.0), 7, 10),
    "Vomiting": AETerm(SOC_GI, False, (0.65, 0.28, 0.07, 0.0), 7, 5),
    "Infusion related reaction": AETerm(SOC_INJ, False, (0.55, 0.40, 0.05, 0.0), 1, 1),
    "Neutrophil count decreased": AETerm(SOC_INV, False, (0.15, 0.30, 0.38, 0.17), 12, 8),
    "Febrile neutropenia": AETerm(SOC_BLOOD, False, (0.0, 0.0, 0.88, 0.12), 12, 7),
    "Anemia": AETerm(SOC_BLOOD, False, (0.35, 0.45, 0.19, 0.01), 30, 40),
    "Platelet count decreased": AETerm(SOC_INV, False, (0.50, 0.28, 0.17, 0.05), 14, 10),
    "Peripheral sensory neuropathy": AETerm(SOC_NERV, False, (0.55, 0.38, 0.07, 0.0), 70,
                                            150, 0.3),
    "Creatinine increased": AETerm(SOC_INV, False, (0.65, 0.30, 0.05, 0.0), 21, 30),
    "Alopecia": AETerm(SOC_SKIN, False, (0.45, 0.55, 0.0, 0.0), 21, 120),
    "Hypertension": AETerm(SOC_VASC, False, (0.25, 0.45, 0.28, 0.02), 21, 90, 0.5),
    "Palmar-plantar erythrodysesthesia syndrome": AETerm(SOC_SKIN, False, (0.50, 0.38, 0.12,
                                                                           0.0), 30, 40),
    "Mucositis oral": AETerm(SOC_GI, False, (0.55, 0.35, 0.10, 0.0), 14, 14),
    "Rash acneiform": AETerm(SOC_SKIN, False, (0.70, 0.27, 0.03, 0.0), 14, 60),
    "Paronychia": AETerm(SOC_INF, False, (0.60, 0.38, 0.02, 0.0), 45, 60),
    "Pyrexia": AETerm(SOC_GEN, False, (0.55, 0.35, 0.10, 0.0), 20, 5),
    "Edema limbs": AETerm(SOC_GEN, False, (0.65, 0.32, 0.03, 0.0), 60, 90),
    "Proteinuria": AETerm(SOC_RENAL, False, (0.50, 0.40, 0.10, 0.0), 45, 90, 0.4),
}

# Adverse-event catalogue by regimen kind: term -> relative weight.
_IRAE = {"Hypothyroidism": 10, "Hyperthyroidism": 5, "Adrenal insufficiency": 1.2,
         "Hypophysitis": 0.6, "Pneumonitis": 6.5, "Colitis": 6.0, "Diarrhea": 9.0,
         "Alanine aminotransferase increased": 4, "Aspartate aminotransferase increased": 3,
         "Rash maculo-papular": 9, "Pruritus": 10, "Arthralgia": 6, "Myositis": 0.4,
         "Myocarditis": 0.2, "Acute kidney injury": 1, "Hyperglycemia": 0.4}
_GENERAL = {"Fatigue": 16, "Decreased appetite": 5, "Nausea": 4,
            "Infusion related reaction": 1.5}
_CHEMO = {"Neutrophil count decreased": 12, "Anemia": 12, "Febrile neutropenia": 2,
          "Platelet count decreased": 5, "Nausea": 12, "Vomiting": 5, "Fatigue": 14,
          "Peripheral sensory neuropathy": 6, "Creatinine increased": 2, "Alopecia": 4,
          "Diarrhea": 5, "Mucositis oral": 3, "Decreased appetite": 6}
_VEGF = {"Hypertension": 12, "Palmar-plantar erythrodysesthesia syndrome": 8, "Diarrhea": 12,
         "Fatigue": 12, "Proteinuria": 4, "Mucositis oral": 5, "Decreased appetite": 6,
         "Platelet count decreased": 2}


def _mix(*parts: tuple[dict[str, float], float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for catalogue, scale in parts:
        total = sum(catalogue.values())
        for term, weight in catalogue.items():
            out[term] = out.get(term, 0.0) + scale * weight / total
    return out


AE_CATALOGUES: dict[str, dict[str, float]] = {
    "io": _mix((_IRAE, 0.6), (_GENERAL, 0.4)),
    "io_ctla4": _mix((_IRAE, 0.6), ({"Colitis": 3, "Hypophysitis": 2}, 0.1), (_GENERAL, 0.3)),
    "chemo_io": _mix((_IRAE, 0.35), (_CHEMO, 0.55), (_GENERAL, 0.1)),
    "io_tki": _mix((_IRAE, 0.35), (_VEGF, 0.55), (_GENERAL, 0.1)),
    "io_bev": _mix((_IRAE, 0.45), ({"Hypertension": 5, "Proteinuria": 3}, 0.3),
                   (_GENERAL, 0.25)),
    "chemo": _mix((_CHEMO, 0.9), (_GENERAL, 0.1)),
    "tki_vegf": _mix((_VEGF, 0.9), (_GENERAL, 0.1)),
    "tki_egfr": _mix(({"Rash acneiform": 10, "Diarrhea": 9, "Paronychia": 5,
                       "Mucositis oral": 3, "Fatigue": 3}, 1.0),),
    "tki_alk": _mix(({"Edema limbs": 6, "Fatigue": 8, "Alanine aminotransferase increased": 4,
                      "Anemia": 4, "Nausea": 4}, 1.0),),
    "tki_braf": _mix(({"Pyrexia": 12, "Fatigue": 8, "Rash maculo-papular": 5, "Diarrhea": 5,
                       "Arthralgia": 4, "Nausea": 4}, 1.0),),
    "adc": _mix(({"Peripheral sensory neuropathy": 8, "Alopecia": 6, "Rash maculo-papular": 5,
                  "Neutrophil count decreased": 6, "Fatigue": 6, "Hyperglycemia": 2,
                  "Diarrhea": 5}, 1.0),),
}
# Expected number of (any-grade, recorded) adverse events per line by regimen kind.
AE_RATE: dict[str, float] = {
    "io": 0.8, "io_ctla4": 1.8, "chemo_io": 2.2, "io_tki": 2.3, "io_bev": 1.4, "chemo": 1.6,
    "tki_vegf": 2.0, "tki_egfr": 1.4, "tki_alk": 1.0, "tki_braf": 1.8, "adc": 1.8,
}
# Terms of the grade 2 immune-related events that stop a line (Regimen.moderate_tox_stop).
MODERATE_IRAE_TERMS: dict[str, dict[str, float]] = {
    "mono": {"Pneumonitis": 3, "Colitis": 2, "Diarrhea": 2, "Arthralgia": 2,
             "Rash maculo-papular": 2, "Alanine aminotransferase increased": 2},
    "ctla4": {"Colitis": 5, "Diarrhea": 4, "Alanine aminotransferase increased": 3,
              "Hypophysitis": 1.5, "Rash maculo-papular": 2, "Pneumonitis": 1},
}
# Terms of the planted grade >= 3 immune-related events, by ICI combination.
SEVERE_IRAE_TERMS: dict[str, dict[str, float]] = {
    "mono": {"Pneumonitis": 2, "Colitis": 1.5, "Diarrhea": 1,
             "Alanine aminotransferase increased": 3,
             "Adrenal insufficiency": 1.5, "Rash maculo-papular": 1.5, "Hypophysitis": 0.5,
             "Myositis": 0.4, "Myocarditis": 0.4, "Acute kidney injury": 1,
             "Hyperglycemia": 0.6},
    "ctla4": {"Colitis": 7, "Diarrhea": 4, "Alanine aminotransferase increased": 6,
              "Hypophysitis": 3,
              "Pneumonitis": 2, "Rash maculo-papular": 2, "Adrenal insufficiency": 1.5,
              "Myocarditis": 0.5, "Myositis": 0.5, "Acute kidney injury": 1},
}
