"""Synthetic immuno-oncology real-world data with planted effects (``ground_truth.json``).

Vectorised with numpy, in chunks of patients: a million patients take about 20 s and 2 GB.
Every patient gets a cancer type, a treatment pathway (a sequence of regimens chosen by type,
biomarker group and calendar era) and a timeline that is simulated line by line: RECIST scans
every 6-9 weeks, progression, next line, adverse events, ECOG, death or censoring. Overall
survival after the first immune checkpoint inhibitor (ICI) follows a Weibull proportional
hazards model whose coefficients are the planted hazard ratios; see ``ground_truth()``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
from scipy.special import ndtr, ndtri
from tqdm import tqdm

from queries.snapshot.files import write_snapshot
from queries.snapshot.schema import DAYS_PER_MONTH
from synthetic import pro
from synthetic import reference_data as ref

CHUNK_SIZE = 100_000
MAX_LINES = 4
DATA_CUTOFF = "2026-10-31"
FIRST_DIAGNOSIS = "2015-01-01"
LAST_DIAGNOSIS = "2026-08-31"
SOURCE = "synthetic IO real-world data (iocohort generate); not real patients"
GROUND_TRUTH = "ground_truth.json"

# Planted effects (the true parameters; see ground_truth()).
ORR_BY_TPS = {"<1": 0.20, "1-49": 0.32, ">=50": 0.48, "untested": 0.30}
HR_TPS = {"<1": 1.0, "1-49": 0.80, ">=50": 0.60, "untested": 0.85}
HR_ECOG2 = 1.8
HR_STAGE_I_III = 0.55
HR_ECOG2_NON_IO = 1.8
HR_AGE75 = 1.3  # age at the first ICI (year of index - birth_year) >= 75
HR_MELANOMA_COMBO = 0.80  # melanoma, first ICI nivolumab + ipilimumab vs anti-PD-1 alone
HR_MELANOMA_IPILIMUMAB = 1.45  # melanoma, first ICI ipilimumab alone vs anti-PD-1 alone
HR_NSCLC_BEFORE_2018 = 1.1  # NSCLC whose first ICI started before 2018 (second line, sicker)
NSCLC_EARLY_ICI_END = "2018-01-01"
WEIBULL_SHAPE = 0.85
# Responders to the first ICI live longer: a Gaussian copula (correlation below) ties the
# response draw to the survival time among patients alive at the landmark; earlier deaths keep
# an independent response, so the ORR among the response-evaluable stays the planted one.
RESPONSE_SURVIVAL_CORRELATION = 0.6
RESPONSE_LANDMARK_DAYS = 70
TPS_GROUPS = ("<1", "1-49", ">=50", "untested")

CR_SHARE = 0.15  # of responders
NE_SHARE = 0.025  # of non-final scans
MISSING_SCAN = 0.05  # of non-first, non-final scans
LINE_WITHOUT_RECIST = 0.04
SCAN_INTERVALS = (np.array([42, 49, 56, 63]), np.array([0.30, 0.15, 0.40, 0.15]))
LTFU_MEAN_YEARS = 4.5
TOX_STOP_AFTER_SEVERE = 0.7
PROGRESSION_BEFORE_DEATH = 0.85
GRADE5_SHARE = 0.3
FRAIL_NO_IPILIMUMAB = 0.8  # ECOG >= 2 or age >= 78  # of severe irAEs followed by death within 150 days of the line's start

_EPOCH = np.datetime64("1970-01-01", "D")


def _day(iso: str) -> int:
    return int((np.datetime64(iso, "D") - _EPOCH).astype(int))


CUTOFF_DAY = _day(DATA_CUTOFF)
TYPES = tuple(ref.CANCERS)
REGIMEN_NAMES = tuple(ref.REGIMENS)
REG_INDEX = {name: i for i, name in enumerate(REGIMEN_NAMES)}
AE_TERM_NAMES = tuple(ref.AE_TERMS)
AE_INDEX = {name: i for i, name in enumerate(AE_TERM_NAMES)}
KINDS = tuple(ref.AE_CATALOGUES)
ICI_CLASSES = ("anti-PD-1", "anti-PD-L1", "anti-CTLA-4")


@dataclass(frozen=True)
class _RegimenArrays:
    """Regimen attributes as arrays indexed by regimen number (vectorised look-ups)."""

    orr: np.ndarray
    resp_days: np.ndarray
    sd_days: np.ndarray
    max_days: np.ndarray
    fixed_days: np.ndarray
    recist: np.ndarray
    severe: np.ndarray
    moderate_stop: np.ndarray
    primary_pd: np.ndarray
    has_ici: np.ndarray
    has_ctla4: np.ndarray
    kind: np.ndarray


def _regimen_arrays() -> _RegimenArrays:
    regs = [ref.REGIMENS[n] for n in REGIMEN_NAMES]

    def classes(r: ref.Regimen) -> set[str]:
        return {ref.DRUGS[d][1] for d in r.drugs}

    return _RegimenArrays(
        orr=np.array([r.orr for r in regs]),
        resp_days=np.array([r.resp_months * DAYS_PER_MONTH for r in regs]),
        sd_days=np.array([r.sd_months * DAYS_PER_MONTH for r in regs]),
        max_days=np.array([r.max_days or 10**6 for r in regs], dtype=np.int64),
        fixed_days=np.array([r.fixed_days or 0 for r in regs], dtype=np.int64),
        recist=np.array([r.recist for r in regs]),
        severe=np.array([r.severe_irae for r in regs]),
        moderate_stop=np.array([r.moderate_tox_stop for r in regs]),
        primary_pd=np.array([r.primary_pd for r in regs]),
        has_ici=np.array([bool(classes(r) & set(ICI_CLASSES)) for r in regs]),
        has_ctla4=np.array(["anti-CTLA-4" in classes(r) for r in regs]),
        kind=np.array([KINDS.index(r.kind) for r in regs]),
    )


REG = _regimen_arrays()


def _orr_by_type() -> np.ndarray:
    """ORR per (cancer type, regimen): the regimen's, or the type-specific one in reference."""
    table = np.tile(REG.orr, (len(TYPES), 1))
    for (cancer, regimen), orr in ref.ORR_BY_CANCER_AND_REGIMEN.items():
        table[TYPES.index(cancer), REG_INDEX[regimen]] = orr
    return table


ORR_BY_TYPE = _orr_by_type()


def _progression_by_type() -> tuple[np.ndarray, np.ndarray]:
    """Primary PD share and stable-disease days per (cancer type, regimen)."""
    primary = np.tile(REG.primary_pd, (len(TYPES), 1))
    sd_days = np.tile(REG.sd_days, (len(TYPES), 1))
    for regimen, (share, months) in ref.NSCLC_IO_MONO_PROGRESSION.items():
        primary[TYPES.index("NSCLC"), REG_INDEX[regimen]] = share
        sd_days[TYPES.index("NSCLC"), REG_INDEX[regimen]] = months * DAYS_PER_MONTH
    return primary, sd_days


PRIMARY_PD_BY_TYPE, SD_DAYS_BY_TYPE = _progression_by_type()


# ----------------------------------------------------------------------------- helpers


def _categorical(rng: np.random.Generator, probs, n: int) -> np.ndarray:
    """Draw n indices from one probability vector (normalised here)."""
    p = np.asarray(probs, dtype=float)
    cum = np.cumsum(p / p.sum())
    return np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(p) - 1)


def _by_type(rng: np.random.Generator, ctype: np.ndarray, table: dict[str, list],
             out: np.ndarray) -> np.ndarray:
    """Per cancer type, draw an index from that type's probability vector into ``out``."""
    for t, probs in table.items():
        mask = ctype == TYPES.index(t)
        out[mask] = _categorical(rng, probs, int(mask.sum()))
    return out


def _stratified_uniform(rng: np.random.Generator, cells: np.ndarray) -> np.ndarray:
    """Uniform(0, 1) draws that are stratified within each cell (one per 1/n slice).

    Each value is still uniform on its own, but within a cell the draws cover [0, 1) evenly,
    so planted rates and hazard ratios are realised closer to their true values than with
    independent draws (variance reduction; confidence intervals stay conservative).
    """
    n = len(cells)
    order = np.lexsort((rng.random(n), cells))
    sorted_cells = cells[order]
    first = np.r_[0, np.flatnonzero(sorted_cells[1:] != sorted_cells[:-1]) + 1]
    sizes = np.diff(np.r_[first, n])
    rank = np.arange(n) - np.repeat(first, sizes)
    out = np.empty(n)
    out[order] = (rank + rng.random(n)) / np.repeat(sizes, sizes)
    return out


def _weibull_days(median_months: np.ndarray, log_hr: np.ndarray,
                  u: np.ndarray) -> np.ndarray:
    """Survival times (days) of a Weibull PH model with the given reference medians."""
    lam = math.log(2.0) / np.power(median_months, WEIBULL_SHAPE)
    e = -np.log1p(-u)
    months = np.power(e / (lam * np.exp(log_hr)), 1.0 / WEIBULL_SHAPE)
    return np.maximum(1, np.ceil(months * DAYS_PER_MONTH)).astype(np.int64)


def _year_fraction(days: np.ndarray) -> np.ndarray:
    """Calendar time in years (2016.5 = about 1 July 2016)."""
    return 1970.0 + days / 365.2425


def _year(days: np.ndarray) -> np.ndarray:
    return (days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970)


# ----------------------------------------------------------------------------- patients


@dataclass
class _Patients:
    """Patient-level arrays of one chunk."""

    n: int
    ctype: np.ndarray
    site: np.ndarray
    male: np.ndarray
    birth_year: np.ndarray
    dx: np.ndarray
    era: np.ndarray
    smoking: np.ndarray  # index into (never, former, current, None)
    icd10: np.ndarray  # object array of codes
    histology: np.ndarray
    stage: np.ndarray  # 0..3 = I..IV, 4 = unknown
    substage: np.ndarray  # the recorded AJCC stage: a substage or the group (object, None)
    ecog: np.ndarray  # ECOG at the decision on systemic therapy (first ICI for ICI patients)


def _codes(rng: np.random.Generator, ctype: np.ndarray, attr: str) -> np.ndarray:
    out = np.empty(len(ctype), dtype=object)
    for t, spec in ref.CANCERS.items():
        mask = ctype == TYPES.index(t)
        table = getattr(spec, attr)
        labels = np.array(list(table), dtype=object)
        out[mask] = labels[_categorical(rng, list(table.values()), int(mask.sum()))]
    return out


def _diagnosis_days(rng: np.random.Generator, n: int) -> np.ndarray:
    """Diagnosis dates, more in later years as ICI use grew."""
    start, end = _day(FIRST_DIAGNOSIS), _day(LAST_DIAGNOSIS)
    u = rng.random(n)
    frac = np.where(rng.random(n) < 0.45, u, np.sqrt(u))
    return (start + np.floor(frac * (end - start))).astype(np.int64)


def _ecog_by_age(rng: np.random.Generator, age: np.ndarray) -> np.ndarray:
    band = (age >= 65).astype(np.int64) + (age >= 75)
    cum = np.cumsum(np.asarray(ref.ECOG_PROBS_BY_AGE), axis=1)[band]
    return (rng.random(len(age))[:, None] > cum[:, :-1]).sum(axis=1)


def _patients(rng: np.random.Generator, n: int) -> _Patients:
    types = ref.CANCERS
    ctype = _categorical(rng, [s.weight for s in types.values()], n)
    male_p = np.array([s.male for s in types.values()])[ctype]
    age = np.array([s.age_mean for s in types.values()])[ctype] + rng.standard_normal(n) * \
        np.array([s.age_sd for s in types.values()])[ctype]
    age = np.clip(np.round(age), 23, 94).astype(np.int64)
    dx = _diagnosis_days(rng, n)
    starts = np.array([[_day(d) for d in ref.ERA_STARTS[t]] for t in TYPES])[ctype]
    era = (dx >= starts[:, 0]).astype(np.int64) + (dx >= starts[:, 1])
    zeros = np.zeros(n, dtype=np.int64)
    return _Patients(
        n=n, ctype=ctype,
        site=_categorical(rng, [w for _, w in ref.SITES], n),
        male=rng.random(n) < male_p,
        birth_year=_year(dx) - age - (rng.random(n) < 0.5),
        dx=dx, era=era,
        smoking=_by_type(rng, ctype, {t: s.smoking for t, s in types.items()}, zeros.copy()),
        icd10=_codes(rng, ctype, "icd10"),
        histology=_codes(rng, ctype, "histology"),
        stage=(stage := _by_type(rng, ctype, {t: s.stage for t, s in types.items()},
                                 zeros.copy())),
        substage=_substages(rng, ctype, stage),
        ecog=_ecog_by_age(rng, age),
    )


def _substages(rng: np.random.Generator, ctype: np.ndarray, stage: np.ndarray) -> np.ndarray:
    """The recorded stage: an AJCC substage of the group, or the group alone for some."""
    out = np.full(len(stage), None, dtype=object)
    known = stage < 4
    out[known] = np.array(STAGE_LABELS, dtype=object)[stage[known]]
    group_only = rng.random(len(stage)) < ref.STAGE_GROUP_ONLY_SHARE
    for t, groups in ref.SUBSTAGES.items():
        for g, table in enumerate(groups):
            mask = (ctype == TYPES.index(t)) & (stage == g) & ~group_only
            if table and mask.any():
                labels = np.array(list(table), dtype=object)
                out[mask] = labels[_categorical(rng, list(table.values()), int(mask.sum()))]
    return out


# ----------------------------------------------------------------------------- biomarkers


@dataclass
class _Biomarkers:
    """Biomarker rows of a chunk (as column lists) and the groups that steer treatment."""

    rows: dict[str, list] = field(default_factory=lambda: {
        "pid": [], "name": [], "num": [], "cat": [], "unit": [], "date": []})
    tps_group: np.ndarray | None = None  # index into TPS_GROUPS (NSCLC; others untested)
    egfr: np.ndarray | None = None
    alk: np.ndarray | None = None
    braf: np.ndarray | None = None
    cps_band: np.ndarray | None = None  # PD-L1 CPS band by cancer type, -1 untested

    def add(self, pid, name: str, num, cat, unit: str | None, date) -> None:
        k = len(pid)
        self.rows["pid"].append(pid)
        self.rows["name"].append(np.full(k, name, dtype=object))
        self.rows["num"].append(np.full(k, np.nan) if num is None else num.astype(float))
        self.rows["cat"].append(np.full(k, None, dtype=object) if cat is None else cat)
        self.rows["unit"].append(np.full(k, unit, dtype=object))
        self.rows["date"].append(date)


def _type_mask(p: _Patients, name: str) -> np.ndarray:
    return p.ctype == TYPES.index(name)


def _tested(rng: np.random.Generator, p: _Patients, mask: np.ndarray,
            rates: tuple[float, float, float], molecular: bool = False) -> np.ndarray:
    """Tested among ``mask`` with a testing rate per era (early, modern, recent).

    Molecular (NGS) tests are sent out less often by the small central hospitals.
    """
    rate = np.asarray(rates)[p.era]
    if molecular:
        rate = rate * np.array([f for _, f in ref.SITE_NGS_FACTOR])[p.site]
    return mask & (rng.random(p.n) < rate)


def _category(rng, positive_p: float, mask: np.ndarray, labels=("positive", "negative")):
    pos = rng.random(int(mask.sum())) < positive_p
    return pos, np.where(pos, labels[0], labels[1]).astype(object)


def _pdl1_values(rng: np.random.Generator, k: int, probs, bands) -> tuple[np.ndarray, np.ndarray]:
    """PD-L1 scores as pathologists report them: 0 below 1, integers, 5-steps when high."""
    band = _categorical(rng, probs, k)
    lo = np.array([b[0] for b in bands])[band]
    hi = np.array([b[1] for b in bands])[band]
    val = lo + np.floor(rng.random(k) * (hi - lo + 1))
    val = np.where(val >= 20, np.round(val / 5) * 5, val)
    return np.clip(val, lo, np.minimum(hi, 100.0)), band  # rounding never crosses a cut-off


def _nsclc_markers(rng: np.random.Generator, p: _Patients, bm: _Biomarkers, days) -> None:
    day, mol_day = days
    nsclc = _type_mask(p, "NSCLC")
    squamous = p.histology == "8070/3"
    years, shares = np.array(ref.PDL1_TPS_TESTING_BY_YEAR).T
    tps_rate = np.interp(_year_fraction(p.dx), years, shares)
    tps_tested = nsclc & (rng.random(p.n) < tps_rate)
    k = int(tps_tested.sum())
    val, band = _pdl1_values(rng, k, (0.33, 0.37, 0.30), ((0, 0), (1, 49), (50, 100)))
    bm.add(np.flatnonzero(tps_tested), "PD-L1 TPS", val, None, "%", day[tps_tested])
    bm.tps_group = np.full(p.n, 3, dtype=np.int64)
    bm.tps_group[tps_tested] = band
    # EGFR/ALK: about 12 % / 4 % of adenocarcinomas overall, enriched in never-smokers and
    # women; KRAS mostly in smokers.
    never = p.smoking == 0
    enrich = np.where(never, 3.6, np.where(p.smoking == 3, 1.0, 0.62)) * np.where(p.male, .8, 1.25)
    driver_rate = np.where(squamous, 0.02, 0.12) * enrich
    u = rng.random(p.n)
    egfr_true = nsclc & (u < driver_rate)
    alk_true = nsclc & ~egfr_true & (u < driver_rate * 1.35)
    kras_rate = np.where(squamous, .05, .36) * np.where(never, 0.3, 1.0)
    kras_true = nsclc & ~egfr_true & ~alk_true & (rng.random(p.n) < kras_rate)
    braf_true = nsclc & ~egfr_true & ~alk_true & ~kras_true & (rng.random(p.n) < 0.03)
    bm.egfr = bm.alk = np.zeros(p.n, dtype=bool)
    for name, truth, rates_ns, rates_sq in (
            ("EGFR", egfr_true, (0.85, 0.93, 0.96), (0.15, 0.20, 0.30)),
            ("ALK", alk_true, (0.80, 0.92, 0.95), (0.10, 0.15, 0.25)),
            ("KRAS", kras_true, (0.25, 0.70, 0.90), (0.05, 0.20, 0.40)),
            ("BRAF", braf_true, (0.20, 0.65, 0.85), (0.05, 0.15, 0.35))):
        rate = np.where(squamous, np.asarray(rates_sq)[p.era], np.asarray(rates_ns)[p.era])
        if name in ("KRAS", "BRAF"):
            rate = rate * np.array([f for _, f in ref.SITE_NGS_FACTOR])[p.site]
        tested = nsclc & (rng.random(p.n) < rate)
        cat = np.where(truth[tested], "positive", "negative").astype(object)
        bm.add(np.flatnonzero(tested), name, None, cat, None, mol_day[tested])
        if name == "EGFR":
            bm.egfr = tested & truth
        elif name == "ALK":
            bm.alk = tested & truth
    tmb = _tested(rng, p, nsclc, (0.02, 0.06, 0.12), molecular=True)
    tmb_median = np.where(never, 3.0, 8.5)[tmb]  # smoking signature
    bm.add(np.flatnonzero(tmb), "TMB", _tmb(rng, int(tmb.sum()), tmb_median), None, "mut/Mb",
           mol_day[tmb])


def _tmb(rng: np.random.Generator, k: int, median) -> np.ndarray:
    return np.round(np.exp(np.log(median) + 0.8 * rng.standard_normal(k)), 1)


def _cps(rng, bm: _Biomarkers, p: _Patients, mask, rates, probs, bands, day) -> None:
    """PD-L1 CPS (22C3); its band (index into ``bands``) is kept for the treatment choice."""
    tested = _tested(rng, p, mask, rates)
    val, band = _pdl1_values(rng, int(tested.sum()), probs, bands)
    bm.add(np.flatnonzero(tested), "PD-L1 CPS", val, None, None, day[tested])
    bm.cps_band[tested] = band


def _mutation(rng, bm: _Biomarkers, p: _Patients, mask, name: str, rates, positive: float,
              day, labels=("positive", "negative")) -> np.ndarray:
    tested = _tested(rng, p, mask, rates, molecular=name in ("KRAS", "NRAS"))
    pos, cat = _category(rng, positive, tested, labels)
    bm.add(np.flatnonzero(tested), name, None, cat, None, day[tested])
    out = np.zeros(p.n, dtype=bool)
    out[np.flatnonzero(tested)[pos]] = True
    return out


def _other_markers(rng: np.random.Generator, p: _Patients, bm: _Biomarkers, days) -> None:
    day, mol_day = days
    mel = _type_mask(p, "Melanoma")
    bm.braf = _mutation(rng, bm, p, mel, "BRAF", (0.92, 0.96, 0.97), 0.45, mol_day)
    tmb_mel = _tested(rng, p, mel, (0.01, 0.05, 0.08), molecular=True)
    bm.add(np.flatnonzero(tmb_mel), "TMB", _tmb(rng, int(tmb_mel.sum()), 12.0), None, "mut/Mb",
           mol_day[tmb_mel])
    _mutation(rng, bm, p, mel & ~bm.braf, "NRAS", (0.30, 0.70, 0.85), 0.25, mol_day)
    hn = _type_mask(p, "Head and neck SCC")
    oropharynx = hn & np.isin(p.icd10, ["C01", "C09.9", "C10.9", "C02.9"])
    _mutation(rng, bm, p, oropharynx, "p16", (0.90, 0.95, 0.97), 0.55, day)
    _cps(rng, bm, p, hn, (0.25, 0.85, 0.92), (0.15, 0.45, 0.40), ((0, 0), (1, 19), (20, 100)),
         day)
    uro = _type_mask(p, "Urothelial carcinoma")
    _cps(rng, bm, p, uro, (0.50, 0.35, 0.25), (0.60, 0.40), ((0, 9), (10, 100)), day)
    ge = _type_mask(p, "Gastro-oesophageal adenocarcinoma")
    _cps(rng, bm, p, ge, (0.20, 0.75, 0.90), (0.20, 0.22, 0.58), ((0, 0), (1, 4), (5, 100)), day)
    _mutation(rng, bm, p, ge, "MSI", (0.30, 0.60, 0.80), 0.06, day, ("MSI-H", "MSS"))
    tn = _type_mask(p, "Triple-negative breast cancer")
    _cps(rng, bm, p, tn, (0.30, 0.85, 0.92), (0.60, 0.40), ((0, 9), (10, 100)), day)
    for name in ("ER", "PR", "HER2"):
        _mutation(rng, bm, p, tn, name, (1.0, 1.0, 1.0), 0.0, day)
    crc = _type_mask(p, "Colorectal MSI-H")
    _mutation(rng, bm, p, crc, "MSI", (1.0, 1.0, 1.0), 1.0, day, ("MSI-H", "MSS"))
    _mutation(rng, bm, p, crc, "KRAS", (0.85, 0.92, 0.95), 0.25, mol_day)
    _mutation(rng, bm, p, crc, "NRAS", (0.80, 0.92, 0.95), 0.04, mol_day)
    _mutation(rng, bm, p, crc, "BRAF", (0.80, 0.92, 0.95), 0.35, mol_day)
    tmb_crc = _tested(rng, p, crc, (0.05, 0.15, 0.25), molecular=True)
    bm.add(np.flatnonzero(tmb_crc), "TMB", _tmb(rng, int(tmb_crc.sum()), 38.0), None, "mut/Mb",
           mol_day[tmb_crc])


def _biomarkers(rng: np.random.Generator, p: _Patients) -> _Biomarkers:
    bm = _Biomarkers(cps_band=np.full(p.n, -1, dtype=np.int64))
    # On the diagnostic sample, before any treatment: immunohistochemistry within days,
    # molecular results (PCR/NGS) a little later.
    days = (p.dx + rng.integers(2, 10, p.n), p.dx + rng.integers(5, 14, p.n))
    _nsclc_markers(rng, p, bm, days)
    _other_markers(rng, p, bm, days)
    return bm


# ----------------------------------------------------------------------------- pathways


def _groups(rng: np.random.Generator, p: _Patients, bm: _Biomarkers) -> np.ndarray:
    """Treatment group per patient (the pathway tables in reference_data are keyed by it)."""
    group = np.full(p.n, "*", dtype=object)
    nsclc = _type_mask(p, "NSCLC")
    squamous = p.histology == "8070/3"
    high = bm.tps_group == 2
    group[nsclc] = np.where(squamous, np.where(high, "sq50", "sq"),
                            np.where(high, "ns50", "ns"))[nsclc]
    st3 = nsclc & (p.stage == 2) & (rng.random(p.n) < 0.6)
    group[st3] = "st3"
    group[nsclc & bm.alk] = "alk"
    group[nsclc & bm.egfr] = "egfr"
    mel = _type_mask(p, "Melanoma")
    adj = p.stage == 2
    group[mel] = np.where(adj, np.where(bm.braf, "adj_braf", "adj_wt"),
                          np.where(bm.braf, "braf", "wt"))[mel]
    # PD-L1 CPS cut-offs of the EU labels: HNSCC pembrolizumab CPS >= 1, gastro-oesophageal
    # nivolumab + chemotherapy CPS >= 5 (pembrolizumab CPS >= 1), TNBC pembrolizumab CPS >= 10.
    hn = _type_mask(p, "Head and neck SCC") & (bm.cps_band >= 1)
    group[hn] = "cps_pos"
    ge = _type_mask(p, "Gastro-oesophageal adenocarcinoma")
    group[ge & (bm.cps_band == 2)] = "cps5"
    group[ge & (bm.cps_band == 1)] = "cps1"
    for name in ("Renal cell carcinoma", "Gastro-oesophageal adenocarcinoma"):
        mask = _type_mask(p, name) & (p.stage == 2) & (rng.random(p.n) < 0.4)
        group[mask] = "st3"
    tn = _type_mask(p, "Triple-negative breast cancer")
    group[tn] = np.where(p.stage <= 2, "early", np.where(bm.cps_band == 1, "met10", "met"))[tn]
    return group


def _io_decision(rng: np.random.Generator, p: _Patients, group: np.ndarray) -> np.ndarray:
    """Whether a patient is meant to receive an ICI (depends on type, ECOG and drivers only)."""
    p_io = np.array([s.p_io for s in ref.CANCERS.values()])[p.ctype]
    driver = np.isin(group, ["egfr", "alk"])
    p_io = np.where(driver, ref.NSCLC_DRIVER_P_IO, p_io)
    p_never = np.minimum(1.0, (1 - p_io) * np.where(p.ecog >= 2, ref.NEVER_IO_ECOG2_FACTOR, 1))
    return rng.random(p.n) >= p_never


def _pathway_table() -> dict[tuple[int, str, int], tuple[list, list]]:
    """(type, group, era) -> (IO pathways, non-IO pathways) as (weights, regimen rows)."""
    table: dict[tuple[int, str, int], tuple[list, list]] = {}
    for t, paths in ref.PATHWAYS.items():
        groups = sorted({g for path in paths for g in path.groups.split()} | {"*"})
        for g in groups:
            for e, era in enumerate(ref.ERAS):
                io, non = ([], []), ([], [])
                for path in paths:
                    if path.applies(g, era):
                        row = [REG_INDEX[r] for r in path.lines] + [-1] * MAX_LINES
                        target = io if any(REG.has_ici[REG_INDEX[r]] for r in path.lines) else non
                        target[0].append(path.weight)
                        target[1].append(row[:MAX_LINES])
                table[(TYPES.index(t), g, e)] = (io, non)
    return table


PATHWAY_TABLE = _pathway_table()


def _pathways(rng: np.random.Generator, p: _Patients, group: np.ndarray,
              wants_io: np.ndarray) -> np.ndarray:
    """Regimen index per (patient, line), -1 where there is no such line."""
    lines = np.full((p.n, MAX_LINES), -1, dtype=np.int64)
    keys = np.stack([p.ctype, p.era]).T
    for (t, g, e), (io, non) in PATHWAY_TABLE.items():
        in_key = (keys[:, 0] == t) & (keys[:, 1] == e) & (group == g)
        if not in_key.any():
            continue
        for choice, fallback, mask in ((io, non, wants_io), (non, io, ~wants_io)):
            sel = in_key & mask
            k = int(sel.sum())
            options = choice if choice[0] else fallback
            if k and options[0]:
                rows = np.asarray(options[1])
                lines[sel] = rows[_categorical(rng, options[0], k)]
    return _spare_the_frail(rng, p, lines)


def _spare_the_frail(rng: np.random.Generator, p: _Patients, lines: np.ndarray) -> np.ndarray:
    """Frail or very old patients mostly get anti-PD-1 alone instead of adding ipilimumab.

    In melanoma the choice of the first checkpoint inhibitor follows ``_melanoma_first_ici``.
    """
    age = _year(p.dx) - p.birth_year
    frail = ((p.ecog >= 2) | (age >= 78)) & (rng.random(p.n) < FRAIL_NO_IPILIMUMAB)
    combo = lines == REG_INDEX["nivolumab + ipilimumab"]
    mono = np.where(p.ctype == TYPES.index("Renal cell carcinoma"), REG_INDEX["nivolumab"],
                    REG_INDEX["pembrolizumab"])
    mel = _type_mask(p, "Melanoma")
    lines = np.where(combo & (frail & ~mel)[:, None], mono[:, None], lines)
    return _melanoma_first_ici(rng, p, lines)


def melanoma_combo_share(age: np.ndarray, ecog: np.ndarray, era: np.ndarray) -> np.ndarray:
    """P(nivolumab + ipilimumab rather than anti-PD-1 alone) as the first melanoma ICI."""
    band = np.searchsorted(np.asarray(ref.MELANOMA_COMBO_AGE_BANDS), age, side="right")
    share = np.asarray(ref.MELANOMA_COMBO_SHARE_BY_AGE)[band]
    share = share * np.where(ecog >= 2, ref.MELANOMA_COMBO_ECOG2_FACTOR, 1.0)
    return share * np.where(era == 0, ref.MELANOMA_COMBO_EARLY_ERA_FACTOR, 1.0)


def _melanoma_first_ici(rng: np.random.Generator, p: _Patients, lines: np.ndarray) -> np.ndarray:
    """Confounding by indication: younger, fitter melanoma patients get the combination.

    Where the first checkpoint inhibitor line of a melanoma patient is nivolumab + ipilimumab,
    nivolumab or pembrolizumab (not adjuvant), the choice between the combination and anti-PD-1
    alone is redrawn from ``melanoma_combo_share`` (age at diagnosis, ECOG, era). Age >= 75 and
    ECOG >= 2 also shorten survival, so the crude hazard ratio of the combination is further
    from 1 than the planted conditional one.
    """
    choices = np.array([REG_INDEX[r] for r in MELANOMA_ICI_CHOICES])
    has_ici = (lines >= 0) & REG.has_ici[np.maximum(lines, 0)]
    first = np.where(has_ici.any(axis=1), has_ici.argmax(axis=1), -1)
    rows = np.flatnonzero(_type_mask(p, "Melanoma") & (first >= 0))
    rows = rows[np.isin(lines[rows, first[rows]], choices)]
    age = (_year(p.dx) - p.birth_year)[rows]
    combo = rng.random(len(rows)) < melanoma_combo_share(age, p.ecog[rows], p.era[rows])
    mono = np.where(rng.random(len(rows)) < 0.5, REG_INDEX["nivolumab"],
                    REG_INDEX["pembrolizumab"])
    # Before anti-PD-1 was reimbursed (mid-2016) ipilimumab alone was the first-line standard.
    early = (p.dx[rows] < _day(ref.MELANOMA_IPILIMUMAB_ERA_END)) & (
        rng.random(len(rows)) < ref.MELANOMA_EARLY_IPILIMUMAB_SHARE)
    mono = np.where(early, REG_INDEX["ipilimumab"], mono)
    lines = lines.copy()
    lines[rows, first[rows]] = np.where(combo & ~early, REG_INDEX["nivolumab + ipilimumab"],
                                        mono)
    return lines


MELANOMA_ICI_CHOICES = ("nivolumab + ipilimumab", "nivolumab", "pembrolizumab")


# ----------------------------------------------------------------------------- timelines


@dataclass
class _Lines:
    """One row per realised line of therapy (all arrays aligned)."""

    cols: dict[str, list] = field(default_factory=dict)

    def add(self, **arrays: np.ndarray) -> None:
        for key, value in arrays.items():
            self.cols.setdefault(key, []).append(value)

    def frame(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v) for k, v in self.cols.items()}


@dataclass
class _State:
    """Per-patient timeline state while lines are simulated."""

    start: np.ndarray  # start day of the current line (valid where active)
    active: np.ndarray
    death: np.ndarray  # death day (large until known)
    last_fu: np.ndarray
    io_line: np.ndarray  # 0-based line of the first ICI, -1 if none
    ecog_line: np.ndarray  # ECOG at the start of the current line
    interval: np.ndarray  # RECIST scan interval of the patient (days)
    os_u: np.ndarray  # stratified uniforms of the planted survival model (first ICI)
    os_median: np.ndarray  # reference median (months) of the patient's cancer type
    os_log_hr: np.ndarray  # log hazard ratio of the covariates known before the first ICI
    u_response: np.ndarray  # stratified uniforms of the planted response (first ICI line)
    u_severe: np.ndarray  # stratified uniforms of the planted severe irAE (first ICI line)
    ltfu_days: np.ndarray  # days from the anchor date until lost to follow-up


NEVER = 10**7


def _first_gap(rng: np.random.Generator, p: _Patients, lines: np.ndarray) -> np.ndarray:
    """Days from diagnosis to the first line: work-up, or a recurrence after curative care."""
    first = np.maximum(lines[:, 0], 0)
    curative = (REG.fixed_days[first] > 0) | ~REG.recist[first]
    workup = 14 + np.round(rng.gamma(2.0, 11.0, p.n))
    post_surgery = 28 + rng.integers(0, 63, p.n)
    recurrence = 120 + np.round(rng.exponential(540.0, p.n))
    late = (p.stage <= 1) | ((p.stage == 2) & (rng.random(p.n) < 0.35))
    gap = np.where(curative, post_surgery, np.where(late, recurrence, workup))
    return gap.astype(np.int64)


def _survival_io(rng: np.random.Generator, p: _Patients, tps: np.ndarray,
                 gets_ici: np.ndarray, combo: np.ndarray) -> tuple[np.ndarray, ...]:
    """(uniform, median months, log HR) of the planted Weibull PH model from the first ICI.

    Age at the first ICI enters when it starts (``_start_ici``); it is not known before.
    """
    median = np.array([s.io_median_months for s in ref.CANCERS.values()])[p.ctype]
    ecog2, early = p.ecog >= 2, p.stage <= 2
    log_hr = np.log(HR_ECOG2) * ecog2 + np.log(HR_STAGE_I_III) * early
    log_hr = log_hr + np.log(HR_MELANOMA_COMBO) * combo
    nsclc = _type_mask(p, "NSCLC")
    tps_hr = np.log(np.array([HR_TPS[g] for g in TPS_GROUPS]))[tps]
    old = (_year(p.dx) - p.birth_year) >= 74
    cells = (gets_ici * 10000 + p.ctype * 1000 + np.where(nsclc, tps, 0) * 100 + combo * 20
             + old * 8 + ecog2 * 2 + early)
    u = _stratified_uniform(rng, cells)
    return u, median, log_hr + np.where(nsclc, tps_hr, 0.0)


def _survival_non_io(rng: np.random.Generator, p: _Patients, group: np.ndarray) -> np.ndarray:
    median = np.array([s.nonio_median_months for s in ref.CANCERS.values()])[p.ctype]
    median = np.where(group == "egfr", 36.0, np.where(group == "alk", 60.0, median))
    log_hr = np.log(HR_ECOG2_NON_IO) * (p.ecog >= 2) + np.log(HR_STAGE_I_III) * (p.stage <= 2)
    return _weibull_days(median, log_hr, rng.random(p.n))


def _init_state(rng, p: _Patients, lines: np.ndarray, group, tps) -> _State:
    has_ici = (lines >= 0) & REG.has_ici[np.maximum(lines, 0)]
    io_line = np.where(has_ici.any(axis=1), has_ici.argmax(axis=1), -1)
    start = p.dx + _first_gap(rng, p, lines)
    non_io = io_line < 0
    death = np.full(p.n, NEVER, dtype=np.int64)
    death[non_io] = (p.dx + _survival_non_io(rng, p, group))[non_io]
    melanoma_ici = _type_mask(p, "Melanoma") & (io_line >= 0)
    combo = melanoma_ici & (_first_ici(lines, io_line) == REG_INDEX["nivolumab + ipilimumab"])
    ipilimumab = melanoma_ici & (_first_ici(lines, io_line) == REG_INDEX["ipilimumab"])
    os_u, os_median, os_log_hr = _survival_io(rng, p, tps, io_line >= 0, combo)
    os_log_hr = os_log_hr + np.log(HR_MELANOMA_IPILIMUMAB) * ipilimumab
    ltfu = p.dx + np.round(rng.exponential(LTFU_MEAN_YEARS * 365.25, p.n)).astype(np.int64)
    last_fu = np.where(non_io, np.minimum(np.minimum(death, CUTOFF_DAY), ltfu), CUTOFF_DAY)
    state = _State(
        start=start, active=(lines[:, 0] >= 0) & (start < death), death=death,
        last_fu=last_fu.astype(np.int64),
        io_line=io_line, ecog_line=p.ecog.copy(),
        interval=SCAN_INTERVALS[0][_categorical(rng, SCAN_INTERVALS[1], p.n)],
        os_u=os_u, os_median=os_median, os_log_hr=os_log_hr,
        ltfu_days=np.round(rng.exponential(LTFU_MEAN_YEARS * 365.25, p.n)).astype(np.int64),
        u_response=_stratified_uniform(rng, p.ctype * 10 + tps + 1000 * (io_line >= 0)),
        u_severe=_stratified_uniform(rng, np.where(io_line >= 0, _first_ici(lines, io_line), -1)),
    )
    pre_io = io_line > 0
    state.ecog_line[pre_io] = np.maximum(0, p.ecog - (rng.random(p.n) < 0.35))[pre_io]
    return state


def _first_ici(lines: np.ndarray, io_line: np.ndarray) -> np.ndarray:
    return lines[np.arange(len(lines)), np.maximum(io_line, 0)]


def _start_ici(st: _State, p: _Patients, k: int) -> None:
    """At the first ICI line: fix index date, death and last follow-up."""
    now = st.active & (st.io_line == k)
    old = (_year(st.start) - p.birth_year) >= 75
    early_nsclc = _type_mask(p, "NSCLC") & (st.start < _day(NSCLC_EARLY_ICI_END))
    st.os_log_hr[now] = (st.os_log_hr + np.log(HR_AGE75) * old
                         + np.log(HR_NSCLC_BEFORE_2018) * early_nsclc)[now]
    os_days = _weibull_days(st.os_median[now], st.os_log_hr[now], st.os_u[now])
    st.death[now] = st.start[now] + os_days
    fu = np.minimum(np.minimum(st.death, CUTOFF_DAY), st.start + st.ltfu_days)
    st.last_fu[now] = fu[now]
    st.ecog_line[now] = p.ecog[now]


def _responses(rng, reg, p: _Patients, bm: _Biomarkers, st: _State, k: int) -> np.ndarray:
    """Response kind per patient: 0 primary PD, 1 SD, 2 PR, 3 CR (planted ORR for NSCLC)."""
    orr = ORR_BY_TYPE[p.ctype, reg]
    planted = _type_mask(p, "NSCLC") & (st.io_line == k)
    orr_tps = np.array([ORR_BY_TPS[g] for g in TPS_GROUPS])[bm.tps_group]
    orr = np.where(planted, orr_tps, orr)
    u = np.where(planted, st.u_response, rng.random(p.n))
    resp = np.where(st.io_line == k, _response_tied_to_survival(u, st), u) < orr
    cr = resp & (rng.random(p.n) < CR_SHARE)
    # A fixed-length line (platinum before maintenance) ends without progression.
    ppd = ~resp & (rng.random(p.n) < PRIMARY_PD_BY_TYPE[p.ctype, reg]) & (
        REG.fixed_days[reg] == 0)
    return np.where(cr, 3, np.where(resp, 2, np.where(ppd, 0, 1)))


def _response_tied_to_survival(u: np.ndarray, st: _State) -> np.ndarray:
    """Uniforms for the first ICI's response draw, small where survival is long.

    Given survival past the landmark L, S(T)/S(L) is uniform; a Gaussian copula mixes its normal
    score into ``u``'s, so the result is uniform too (the ORR is unchanged) but responders are
    the long survivors. Deaths before L keep ``u`` (no one is response-evaluable by design of
    the first scan before then, so the evaluable ORR is unchanged as well).
    """
    lam = math.log(2.0) / np.power(st.os_median, WEIBULL_SHAPE) * np.exp(st.os_log_hr)
    days = (st.death - st.start).astype(float)
    landmark = float(RESPONSE_LANDMARK_DAYS)
    months = np.maximum(days, landmark) / DAYS_PER_MONTH
    ratio = np.exp(-lam * (np.power(months, WEIBULL_SHAPE)
                           - np.power(landmark / DAYS_PER_MONTH, WEIBULL_SHAPE)))
    rho = RESPONSE_SURVIVAL_CORRELATION
    eps = 1e-12
    mixed = ndtr(rho * ndtri(np.clip(ratio, eps, 1 - eps))
                 + math.sqrt(1 - rho * rho) * ndtri(np.clip(u, eps, 1 - eps)))
    return np.where(days > landmark, mixed, u)


def _progression(rng, reg, kind: np.ndarray, st: _State, ctype: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(day progression is detected, number of the detecting scan) per patient."""
    n = len(reg)
    interval = st.interval
    resp = interval + 1 + rng.exponential(1.0, n) * REG.resp_days[reg] / math.log(2)
    sd_scale = np.maximum(SD_DAYS_BY_TYPE[ctype, reg] - interval, 14) / math.log(2)
    sd = interval + 1 + rng.exponential(1.0, n) * sd_scale
    ppd = rng.uniform(7, interval)
    delay = np.where(kind >= 2, resp, np.where(kind == 1, sd, ppd))
    recurrence = 30 + rng.exponential(1.0, n) * REG.resp_days[reg] / math.log(2)
    delay = np.where(REG.recist[reg], delay, recurrence)
    # Most patients progress before they die: tie progression to the (known) death day, but
    # keep responders and stable disease past their first scan so the response is unchanged.
    left = (st.death - st.start).astype(float)
    tied = (st.death < NEVER) & (rng.random(n) < PROGRESSION_BEFORE_DEATH)
    floor = np.where(REG.recist[reg], np.where(kind >= 1, interval + 1.0, 7.0), 30.0)
    cap = np.maximum(floor, left * rng.uniform(0.55, 0.98, n))
    delay = np.where(tied, np.minimum(delay, cap), delay)
    scan = np.maximum(1, np.ceil(delay / interval)).astype(np.int64)
    detected = np.where(REG.recist[reg], st.start + scan * interval, st.start + np.round(delay))
    fixed = REG.fixed_days[reg] > 0
    detected = np.where(fixed, NEVER, detected).astype(np.int64)
    return detected, np.where(fixed, 10**6, scan)


def _severe_irae(rng, reg, st: _State, k: int) -> dict[str, np.ndarray]:
    """The planted grade >= 3 immune-related AE of an ICI line: flag, onset day, grade."""
    p_n = len(reg)
    u = np.where(st.io_line == k, st.u_severe, rng.random(p_n))
    severe = REG.has_ici[reg] & (u < REG.severe[reg])
    horizon = np.maximum(0, np.minimum(st.death, st.last_fu) - st.start)
    onset = st.start + np.minimum(np.round(rng.gamma(2.0, 26.0, p_n)),
                                  np.floor(0.9 * horizon)).astype(np.int64)
    early_death = (st.death <= st.last_fu) & (st.death - st.start <= 150)
    grade5 = severe & early_death & (rng.random(p_n) < GRADE5_SHARE)
    onset = np.where(grade5, np.maximum(st.start, st.death - rng.integers(0, 11, p_n)), onset)
    grade = np.where(grade5, 5, np.where(rng.random(p_n) < 0.82, 3, 4))
    # A grade 2 immune-related AE that does not settle stops some lines without a severe one.
    moderate = REG.has_ici[reg] & ~severe & (rng.random(p_n) < REG.moderate_stop[reg])
    mod_onset = st.start + np.minimum(np.round(14 + rng.gamma(2.0, 22.0, p_n)),
                                      np.floor(0.9 * horizon)).astype(np.int64)
    return {"flag": severe, "onset": onset, "grade": grade, "moderate": moderate,
            "mod_onset": mod_onset}


def _line_end(rng, reg, st: _State, detected: np.ndarray, sev: dict) -> tuple:
    """End day and stop reason index (0 progression .. 4 other) of each line."""
    n = len(reg)
    tox_io = sev["flag"] & (sev["grade"] < 5) & (rng.random(n) < TOX_STOP_AFTER_SEVERE)
    tox_other = ~REG.has_ici[reg] & (rng.random(n) < 0.06)
    tox_io_day = np.where(sev["flag"], sev["onset"], sev["mod_onset"]) + rng.integers(0, 8, n)
    tox_io = tox_io | sev["moderate"]
    tox = np.where(tox_io, tox_io_day,
                   np.where(tox_other, st.start + rng.integers(14, 120, n), NEVER))
    other = np.where(rng.random(n) < 0.03, st.start + rng.integers(14, 240, n), NEVER)
    fixed = REG.fixed_days[reg]
    completed = st.start + np.where(fixed > 0, fixed, REG.max_days[reg])
    progressed = np.where(detected < st.death, detected, NEVER)
    cands = np.stack([progressed, tox, completed, st.death, other])
    reason = cands.argmin(axis=0)  # same order as STOP_REASON_LABELS
    return np.maximum(cands.min(axis=0), st.start), reason


def _next_start(rng, reg, lines, st: _State, detected, k: int) -> tuple[np.ndarray, np.ndarray]:
    n = len(reg)
    fixed = REG.fixed_days[reg]
    gap = rng.integers(14, 43, n)
    nxt = np.where(fixed > 0, st.start + fixed + gap, detected + gap)
    has_next = (lines[:, k + 1] >= 0) if k + 1 < MAX_LINES else np.zeros(n, dtype=bool)
    pre_io = (st.io_line > k)
    base = np.array([0.78, 0.78, 0.5, 0.25, 0.0])[np.minimum(st.ecog_line, 4)]
    willing = rng.random(n) < base * (0.88 ** k)
    ok = st.active & has_next & (pre_io | ((nxt < st.death) & (detected < st.death) & willing))
    return nxt, ok


def _simulate_lines(rng, p: _Patients, bm: _Biomarkers, lines: np.ndarray, st: _State) -> dict:
    out = _Lines()
    for k in range(MAX_LINES):
        _start_ici(st, p, k)
        reg = np.maximum(lines[:, k], 0)
        kind = _responses(rng, reg, p, bm, st, k)
        detected, scan = _progression(rng, reg, kind, st, p.ctype)
        sev = _severe_irae(rng, reg, st, k)
        end, reason = _line_end(rng, reg, st, detected, sev)
        act = st.active
        out.add(pid=np.flatnonzero(act), line=np.full(int(act.sum()), k + 1), reg=reg[act],
                start=st.start[act], end=end[act], reason=reason[act], kind=kind[act],
                detected=detected[act], scan=scan[act], interval=st.interval[act],
                ecog=st.ecog_line[act], sev=sev["flag"][act], sev_onset=sev["onset"][act],
                sev_grade=sev["grade"][act], mod=sev["moderate"][act],
                mod_onset=sev["mod_onset"][act], fixed_end=(st.start + REG.fixed_days[reg])[act])
        nxt, ok = _next_start(rng, reg, lines, st, detected, k)
        st.start = np.where(ok, nxt, st.start)
        post = st.io_line >= 0
        worse = (rng.random(p.n) < 0.35).astype(np.int64)
        st.ecog_line = np.where(post & (st.io_line > k + 1), st.ecog_line,
                                np.minimum(4, st.ecog_line + worse))
        st.active = ok
    return out.frame()


# ----------------------------------------------------------------------------- tables

STOP_REASON_LABELS = ("progression", "toxicity", "completed", "death", "other")
RESPONSES = ("CR", "PR", "SD", "PD", "NE")
SMOKING_LABELS = ("never", "former", "current")
STAGE_LABELS = ("I", "II", "III", "IV")


def _date(days: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    arr = pa.array(np.asarray(days, dtype=np.int32), type=pa.int32(),
                   mask=None if null is None else np.asarray(null, dtype=bool))
    return arr.cast(pa.date32())


def _labels(labels, idx: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """Strings by index into a small label list (fast: a take on an Arrow array)."""
    indices = pa.array(np.asarray(idx, dtype=np.int32), type=pa.int32(),
                       mask=None if null is None else np.asarray(null, dtype=bool))
    return pa.array(list(labels), type=pa.string()).take(indices)


def _ints(values: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int32), type=pa.int32(),
                    mask=None if null is None else np.asarray(null, dtype=bool))


def _drug_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per regimen: drug indices (padded -1), number of drugs, per-drug duration cap in days."""
    width = max(len(r.drugs) for r in ref.REGIMENS.values())
    drugs = np.full((len(REGIMEN_NAMES), width), -1, dtype=np.int64)
    caps = np.full((len(REGIMEN_NAMES), width), NEVER, dtype=np.int64)
    names = list(ref.DRUGS)
    for i, name in enumerate(REGIMEN_NAMES):
        reg = ref.REGIMENS[name]
        # Induction cycles stop early only where a backbone continues (ICI, pemetrexed, cetuximab).
        backbone = REG.has_ici[i] or {"pemetrexed", "cetuximab"} & set(reg.drugs)
        for j, drug in enumerate(reg.drugs):
            drugs[i, j] = names.index(drug)
            days = reg.per_drug_days.get(drug, ref.INDUCTION_DAYS.get(drug))
            if backbone and days and len(reg.drugs) > 1 and drug != "pemetrexed" or \
                    drug in reg.per_drug_days:
                caps[i, j] = days
    return drugs, (drugs >= 0).sum(axis=1), caps


DRUG_OF_REGIMEN, N_DRUGS, DRUG_CAP = _drug_tables()
DRUG_NAMES = tuple(ref.DRUGS)


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(parent index, 0-based position) for rows repeated ``counts`` times per parent."""
    parent = np.repeat(np.arange(len(counts)), counts)
    offsets = np.cumsum(counts) - counts
    return parent, np.arange(len(parent)) - offsets[parent]


def _treatments(ln: dict, fu: np.ndarray, pid: pa.Array) -> pa.Table:
    parent, pos = _expand(N_DRUGS[ln["reg"]])
    reg = ln["reg"][parent]
    drug = DRUG_OF_REGIMEN[reg, pos]
    start = ln["start"][parent]
    line_end = ln["end"][parent]
    cap_end = start + DRUG_CAP[reg, pos]
    end = np.minimum(line_end, cap_end)
    reason = np.where(cap_end < line_end, 2, ln["reason"][parent])
    ongoing = end > fu[ln["pid"][parent]]
    atc = [ref.DRUGS[d][0] for d in DRUG_NAMES]
    cls = [ref.DRUGS[d][1] for d in DRUG_NAMES]
    return pa.table({
        "patient_id": pid.take(pa.array(ln["pid"][parent])),
        "line_number": _ints(ln["line"][parent]),
        "regimen": _labels(REGIMEN_NAMES, reg),
        "drug": _labels(DRUG_NAMES, drug),
        "atc_code": _labels(atc, drug),
        "drug_class": _labels(cls, drug),
        "start_date": _date(start),
        "end_date": _date(end, ongoing),
        "stop_reason": _labels(STOP_REASON_LABELS, reason, ongoing),
    })


def _scan_counts(ln: dict, death: np.ndarray, fu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Number of RECIST scans per line and whether the last one shows progression."""
    d, f = death[ln["pid"]], fu[ln["pid"]]
    window = np.minimum(np.minimum(d, f + 1), np.where(ln["fixed_end"] > ln["start"],
                                                      ln["fixed_end"] + 1, NEVER))
    before = np.maximum(0, (window - 1 - ln["start"]) // ln["interval"])
    seen = (ln["detected"] < d) & (ln["detected"] <= f)
    count = np.where(seen, ln["scan"], np.minimum(before, ln["scan"] - 1))
    recist = REG.recist[ln["reg"]]
    return np.where(recist, np.maximum(count, 0), 0), seen & recist


def _assessments(rng, ln: dict, death, fu, pid: pa.Array) -> pa.Table:
    count, seen = _scan_counts(ln, death, fu)
    ln = dict(ln, no_recist=rng.random(len(count)) < LINE_WITHOUT_RECIST)
    parent, pos = _expand(count)
    j = pos + 1
    interval = ln["interval"][parent]
    final = seen[parent] & (j == count[parent])
    window = np.minimum(death, fu + 1)[ln["pid"][parent]]
    jitter = np.where(final, 0, rng.integers(-4, 5, len(parent)))
    day = np.minimum(ln["start"][parent] + j * interval + jitter, window - 1)
    kind = ln["kind"][parent]
    resp = np.select([kind == 3, kind == 2, kind == 1], [np.where(j == 1, 1, 0), 1, 2], 3)
    resp = np.where(final, 3, resp)
    ne = ~final & (j >= 2) & (rng.random(len(parent)) < NE_SHARE)
    resp = np.where(ne, 4, resp)
    # Surveillance scans thin out after about two and four years of ongoing benefit.
    keep = final | (j <= 12) | ((j <= 24) & (j % 2 == 0)) | (j % 4 == 0)
    # Real-world gaps: some lines have no structured RECIST record at all, and some later
    # scans are missing (never the first or the progression scan, so responses are unbiased).
    keep &= ~(ln["no_recist"][parent] | (~final & (j >= 2) & (rng.random(len(j)) < MISSING_SCAN)))
    return pa.table({
        "patient_id": pid.take(pa.array(ln["pid"][parent][keep])),
        "line_number": _ints(ln["line"][parent][keep]),
        "assessment_date": _date(day[keep]),
        "response": _labels(RESPONSES, resp[keep]),
    })


@dataclass(frozen=True)
class _TermArrays:
    soc: tuple[str, ...]
    immune: np.ndarray
    grade_cum: np.ndarray  # (terms, 4)
    mild_cum: np.ndarray  # grades 1-2 only
    onset: np.ndarray
    resolve: np.ndarray
    chronic: np.ndarray


def _term_arrays() -> _TermArrays:
    terms = [ref.AE_TERMS[t] for t in AE_TERM_NAMES]
    grades = np.array([t.grades for t in terms])
    mild = np.where(grades[:, :2].sum(axis=1, keepdims=True) > 0, grades[:, :2], [1.0, 0.0])
    mild = mild / mild.sum(axis=1, keepdims=True)
    return _TermArrays(
        soc=tuple(t.soc for t in terms), immune=np.array([t.immune for t in terms]),
        grade_cum=np.cumsum(grades / grades.sum(axis=1, keepdims=True), axis=1),
        mild_cum=np.cumsum(mild, axis=1), onset=np.array([t.onset_days for t in terms]),
        resolve=np.array([t.resolve_days for t in terms]),
        chronic=np.array([t.chronic for t in terms]))


TERMS = _term_arrays()


def _draw_terms(rng, kinds: np.ndarray) -> np.ndarray:
    out = np.zeros(len(kinds), dtype=np.int64)
    for k, name in enumerate(KINDS):
        mask = kinds == k
        cat = ref.AE_CATALOGUES[name]
        idx = np.array([AE_INDEX[t] for t in cat])
        out[mask] = idx[_categorical(rng, list(cat.values()), int(mask.sum()))]
    return out


def _generic_aes(rng, ln: dict, death, fu) -> dict[str, np.ndarray]:
    rate = np.array([ref.AE_RATE[k] for k in KINDS])[REG.kind[ln["reg"]]]
    parent, _ = _expand(rng.poisson(rate))
    term = _draw_terms(rng, REG.kind[ln["reg"][parent]])
    ici = REG.has_ici[ln["reg"][parent]]
    immune = TERMS.immune[term] & ici
    u = rng.random(len(parent))
    full = (u[:, None] > TERMS.grade_cum[term]).sum(axis=1) + 1
    mild = (u[:, None] > TERMS.mild_cum[term]).sum(axis=1) + 1
    grade = np.minimum(np.where(immune, mild, full), 4)
    start = ln["start"][parent]
    onset = start + np.round(rng.gamma(1.5, TERMS.onset[term] / 1.18))
    p = ln["pid"][parent]
    line_end = np.minimum(ln["end"][parent], fu[p])
    keep = onset <= np.minimum(line_end + np.where(immune, 60, 21), np.minimum(death, fu)[p])
    return {"parent": parent[keep], "term": term[keep], "grade": grade[keep],
            "onset": onset[keep].astype(np.int64), "immune": immune[keep]}


def _severe_aes(rng, ln: dict) -> dict[str, np.ndarray]:
    parent = np.flatnonzero(ln["sev"])
    combo = REG.has_ctla4[ln["reg"][parent]]
    term = np.zeros(len(parent), dtype=np.int64)
    for flag, key in ((True, "ctla4"), (False, "mono")):
        mask = combo == flag
        cat = ref.SEVERE_IRAE_TERMS[key]
        idx = np.array([AE_INDEX[t] for t in cat])
        term[mask] = idx[_categorical(rng, list(cat.values()), int(mask.sum()))]
    mod = np.flatnonzero(ln["mod"])
    mod_term = np.zeros(len(mod), dtype=np.int64)
    mod_combo = REG.has_ctla4[ln["reg"][mod]]
    for flag, key in ((True, "ctla4"), (False, "mono")):
        mask = mod_combo == flag
        cat = ref.MODERATE_IRAE_TERMS[key]
        idx = np.array([AE_INDEX[t] for t in cat])
        mod_term[mask] = idx[_categorical(rng, list(cat.values()), int(mask.sum()))]
    return {"parent": np.concatenate([parent, mod]), "term": np.concatenate([term, mod_term]),
            "grade": np.concatenate([ln["sev_grade"][parent], np.full(len(mod), 2)]),
            "onset": np.concatenate([ln["sev_onset"][parent], ln["mod_onset"][mod]]),
            "immune": np.ones(len(parent) + len(mod), dtype=bool)}


def _adverse_events(rng, ln: dict, death, fu, pid: pa.Array
                    ) -> tuple[pa.Table, tuple[np.ndarray, np.ndarray], pro.SkinIrae]:
    """The adverse_events rows, (patient, onset) of grade >= 2 immune-related colitis, and the
    immune-related pruritus and maculo-papular rash rows."""
    gen, sev = _generic_aes(rng, ln, death, fu), _severe_aes(rng, ln)
    ae = {k: np.concatenate([gen[k], sev[k]]) for k in gen}
    p = ln["pid"][ae["parent"]]
    n = len(p)
    order = np.lexsort((ae["onset"], p))
    ae = {k: v[order] for k, v in ae.items()}
    p = p[order]
    duration = np.round(rng.exponential(1.0, n) * TERMS.resolve[ae["term"]]
                        * (0.6 + 0.2 * ae["grade"]))
    resolved = ae["onset"] + np.maximum(1, duration).astype(np.int64)
    open_ = (rng.random(n) < TERMS.chronic[ae["term"]]) | (ae["grade"] == 5) | (resolved > fu[p])
    no_line = (rng.random(n) < 0.02) & (ae["grade"] < 3)
    colitis = (ae["term"] == AE_INDEX["Colitis"]) & ae["immune"] & (ae["grade"] >= 2)
    pruritus = ae["term"] == AE_INDEX["Pruritus"]
    skin = ae["immune"] & (pruritus | (ae["term"] == AE_INDEX["Rash maculo-papular"]))
    return pa.table({
        "patient_id": pid.take(pa.array(p)),
        "line_number": _ints(ln["line"][ae["parent"]], no_line),
        "term": _labels(AE_TERM_NAMES, ae["term"]),
        "organ_class": _labels(TERMS.soc, ae["term"]),
        "grade": _ints(ae["grade"]),
        "onset_date": _date(ae["onset"]),
        "resolved_date": _date(resolved, open_),
        "immune_related": pa.array(ae["immune"], type=pa.bool_()),
    }), (p[colitis], ae["onset"][colitis]), pro.SkinIrae(
        patient=p[skin], onset=ae["onset"][skin], grade=ae["grade"][skin],
        pruritus=pruritus[skin])


def _performance(rng, p: _Patients, ln: dict, death, fu, pid: pa.Array) -> pa.Table:
    first = ln["line"] == 1
    ecog_dx = p.ecog.copy()
    ecog_dx[ln["pid"][first]] = np.maximum(0, ln["ecog"][first] - (rng.random(first.sum()) < .25))
    line_day = np.maximum(p.dx[ln["pid"]], ln["start"] - rng.integers(0, 8, len(ln["pid"])))
    seen = (ln["detected"] < death[ln["pid"]]) & (ln["detected"] <= fu[ln["pid"]])
    prog_ecog = np.minimum(4, ln["ecog"] + (rng.random(len(seen)) < 0.5))
    pids = np.concatenate([np.arange(p.n), ln["pid"], ln["pid"][seen]])
    days = np.concatenate([p.dx, line_day, ln["detected"][seen]])
    ecog = np.concatenate([ecog_dx, ln["ecog"], prog_ecog[seen]])
    keep = days <= fu[pids]
    order = np.lexsort((days[keep], pids[keep]))
    return pa.table({
        "patient_id": pid.take(pa.array(pids[keep][order])),
        "assessment_date": _date(days[keep][order]),
        "ecog": _ints(ecog[keep][order]),
    })


def _biomarker_table(bm: _Biomarkers, fu, pid: pa.Array) -> pa.Table:
    cols = {k: np.concatenate(v) for k, v in bm.rows.items()}
    keep = cols["date"] <= fu[cols["pid"]]
    cols = {k: v[keep] for k, v in cols.items()}
    order = np.lexsort((cols["date"], cols["pid"]))
    cols = {k: v[order] for k, v in cols.items()}
    return pa.table({
        "patient_id": pid.take(pa.array(cols["pid"])),
        "biomarker": pa.array(cols["name"], type=pa.string()),
        "value_numeric": pa.array(cols["num"], type=pa.float64(), from_pandas=True),
        "value_category": pa.array(cols["cat"], type=pa.string()),
        "unit": pa.array(cols["unit"], type=pa.string()),
        "test_date": _date(cols["date"]),
    })


def _patient_tables(p: _Patients, death, fu, pid: pa.Array) -> dict[str, pa.Table]:
    dead = death <= fu
    unknown_smoking = p.smoking == 3
    patients = pa.table({
        "patient_id": pid,
        "site": _labels([s for s, _ in ref.SITES], p.site),
        "sex": _labels(("F", "M"), p.male.astype(np.int64)),
        "birth_year": _ints(p.birth_year),
        "death_date": _date(np.minimum(death, fu), ~dead),
        "last_followup_date": _date(fu),
        "smoking_status": _labels(SMOKING_LABELS, np.minimum(p.smoking, 2), unknown_smoking),
    })
    diagnoses = pa.table({
        "patient_id": pid,
        "icd10": pa.array(p.icd10, type=pa.string()),
        "cancer_type": _labels(TYPES, p.ctype),
        "histology_icdo3": pa.array(p.histology, type=pa.string()),
        "diagnosis_date": _date(p.dx),
        "stage": pa.array(p.substage, type=pa.string()),
    })
    return {"patients": patients, "diagnoses": diagnoses}


def _patient_ids(start: int, n: int, seed: int) -> pa.Array:
    """Pseudonyms: a bijection of the running number (no collisions), seeded."""
    idx = np.arange(start, start + n, dtype=np.uint64)
    mixed = (idx * np.uint64(0x9E3779B1) + np.uint64(seed % (1 << 31)) * np.uint64(0x85EBCA6B))
    mixed = mixed & np.uint64(0xFFFFFFFF)
    return pa.array([f"P{v:08X}" for v in mixed.tolist()], type=pa.string())


# ----------------------------------------------------------------------------- chunks


def _chunk(seed: int, index: int, start: int, n: int) -> dict[str, pa.Table]:
    """All tables for patients start..start+n-1 (independent random stream per chunk)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, index]))
    p = _patients(rng, n)
    bm = _biomarkers(rng, p)
    group = _groups(rng, p, bm)
    lines = _pathways(rng, p, group, _io_decision(rng, p, group))
    st = _init_state(rng, p, lines, group, bm.tps_group)
    ln = _simulate_lines(rng, p, bm, lines, st)
    death, fu = st.death, st.last_fu
    shown = ln["start"] <= fu[ln["pid"]]
    ln = {k: v[shown] for k, v in ln.items()}
    pid = _patient_ids(start, n, seed)
    tables = _patient_tables(p, death, fu, pid)
    tables["biomarkers"] = _biomarker_table(bm, fu, pid)
    tables["treatments"] = _treatments(ln, fu, pid)
    tables["performance_status"] = _performance(rng, p, ln, death, fu, pid)
    tables["tumor_assessments"] = _assessments(rng, ln, death, fu, pid)
    tables["adverse_events"], colitis, skin = _adverse_events(rng, ln, death, fu, pid)
    skin_rng = np.random.default_rng(np.random.SeedSequence([seed, index, pro.SKIN_STREAM]))
    tables["patient_reported_outcomes"] = pro.pro_table(
        rng, _index_course(p, ln, st), colitis, pid, skin, skin_rng)
    return tables


def _index_course(p: _Patients, ln: dict, st: _State) -> pro.IndexCourse:
    """What the questionnaire schedule needs of each patient's first ICI line."""
    index = ln["line"] - 1 == st.io_line[ln["pid"]]
    who = ln["pid"][index]
    index_day = np.full(p.n, -1, dtype=np.int64)
    index_day[who] = ln["start"][index]
    line = np.zeros(p.n, dtype=np.int64)
    line[who] = ln["line"][index]
    end = np.full(p.n, -1, dtype=np.int64)
    end[who] = ln["end"][index]
    progression = np.full(p.n, NEVER, dtype=np.int64)
    seen = index & (ln["detected"] < st.death[ln["pid"]]) & REG.recist[ln["reg"]]
    progression[ln["pid"][seen]] = ln["detected"][seen]
    central = np.array(["CH" in name for name, _ in ref.SITES])[p.site]
    return pro.IndexCourse(index_day=index_day, index_line=line, line_end=end,
                           progression_day=progression, death=st.death, last_fu=st.last_fu,
                           ecog=p.ecog, central_site=central, dx=p.dx)


def default_snapshot_id(patients: int, seed: int) -> str:
    return f"synthetic-io-s{seed}-n{patients}"


def generate_tables(patients: int, seed: int, progress: bool = True) -> dict[str, pa.Table]:
    """All snapshot tables for ``patients`` patients, deterministic for ``seed``."""
    parts: dict[str, list[pa.Table]] = {}
    starts = range(0, patients, CHUNK_SIZE)
    bar = tqdm(total=patients, unit="patients", disable=not progress, desc="generating")
    for index, start in enumerate(starts):
        n = min(CHUNK_SIZE, patients - start)
        for name, table in _chunk(seed, index, start, n).items():
            parts.setdefault(name, []).append(table)
        bar.update(n)
    bar.close()
    return {name: pa.concat_tables(tables).combine_chunks() for name, tables in parts.items()}


def generate_snapshot(patients: int, seed: int, out: Path, snapshot_id: str | None = None,
                      progress: bool = True) -> dict:
    """Write a synthetic snapshot folder with ``ground_truth.json``; returns the manifest."""
    if patients < 1:
        raise ValueError("patients must be at least 1")
    out = Path(out)
    tables = generate_tables(patients, seed, progress)
    snapshot_id = snapshot_id or default_snapshot_id(patients, seed)
    manifest = write_snapshot(tables, out, snapshot_id, SOURCE, created=DATA_CUTOFF)
    truth = ground_truth(patients, seed)
    (out / GROUND_TRUTH).write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n")
    (out / "README.md").write_text(_readme(manifest, patients, seed))
    return manifest


def _readme(manifest: dict, patients: int, seed: int) -> str:
    rows = "\n".join(f"| `{t}` | {spec['rows']:,} |" for t, spec in manifest["tables"].items())
    return f"""# Snapshot `{manifest['id']}`

Synthetic immuno-oncology real-world data: {patients:,} fictional patients treated at Finnish
hospitals, diagnosed {FIRST_DIAGNOSIS} to {LAST_DIAGNOSIS}, data cut-off {DATA_CUTOFF}.
No real patient is described. Re-create it byte for byte with

    iocohort generate --patients {patients} --seed {seed} --out <folder>

| table | rows |
|---|---|
{rows}

`{GROUND_TRUTH}` lists the planted effects (ORR by PD-L1 TPS, OS hazard ratios of PD-L1 TPS
and ECOG, severe immune-related AE rates by regimen) with their exact definitions, so that
analyses can be checked against the truth.
"""


# ----------------------------------------------------------------------------- ground truth

_INDEX = ("first start of an immune checkpoint inhibitor: the earliest treatments.start_date "
          "with drug_class in anti-PD-1/anti-PD-L1/anti-CTLA-4; its line_number is the index line")
_TPS = ("PD-L1 TPS (22C3) stratum from the latest 'PD-L1 TPS' test on or before the index date: "
        "<1 (value 0), 1-49, >=50; 'untested' when there is none")
_STAGE_EARLY = ("stage group I-III vs IV/unknown (diagnoses.stage holds AJCC substages: "
                "IIIB is group III, IVA group IV)")
_AGE75 = "age at index >= 75 (year(index_date) - birth_year)"
_ECOG = ("ECOG at index: the latest performance_status on or before the index date (it is "
         "recorded 0-7 days before each line start); groups 0-1 vs >=2")


def ground_truth(patients: int, seed: int) -> dict:
    """The planted effects, their exact definitions and the generating model."""
    return {
        "generator": "synthetic.generator",
        "patients": patients,
        "seed": seed,
        "data_cutoff": DATA_CUTOFF,
        "diagnosis_dates": [FIRST_DIAGNOSIS, LAST_DIAGNOSIS],
        "index_date": _INDEX,
        "planted_effects": {
            "orr_by_pdl1_tps": {
                "population": "cancer_type NSCLC with an index line (first ICI line)",
                "stratum": _TPS,
                "outcome": ("best overall response over tumor_assessments with line_number = "
                            "index line; ORR = share with CR or PR among patients with at least "
                            "one assessment in that line (response-evaluable)"),
                "true_orr": dict(ORR_BY_TPS),
                "note": ("response is drawn independently of survival and follow-up, so the "
                         "evaluable share does not bias the ORR; responders always show PR at "
                         "their first scan"),
            },
            "os_hr_pdl1_tps": {
                "population": "cancer_type NSCLC with an index line",
                "comparison": "PD-L1 TPS >=50 vs <1 (same stratum definition as above)",
                "outcome": ("overall survival from index: death_date, else censored at "
                            "last_followup_date"),
                "true_hr": HR_TPS[">=50"] / HR_TPS["<1"],
                "true_hr_all_strata_vs_lt1": {k: v for k, v in HR_TPS.items() if k != "<1"},
                "adjust_for": ["ECOG at index >= 2", _STAGE_EARLY],
                "unadjusted_two_group_hr_approx": 0.63,
                "note": ("conditional hazard ratio of the generating model; PD-L1 is "
                         "independent of ECOG and stage, so an unadjusted two-group Cox HR is "
                         "only slightly attenuated towards 1 (non-collapsibility): about 0.63, "
                         "measured on 1,000,000 patients"),
            },
            "os_hr_ecog": {
                "population": "all patients with an index line (every cancer type)",
                "comparison": "ECOG at index >= 2 vs 0-1 (" + _ECOG + ")",
                "outcome": "overall survival from index, as above",
                "true_hr": HR_ECOG2,
                "adjust_for": ["cancer_type (strata)", _STAGE_EARLY,
                               "PD-L1 TPS stratum (NSCLC only)", _AGE75],
                "note": ("conditional HR of the generating model: recover it with a Cox model "
                         "stratified by cancer_type and adjusted for (or stratified by) stage, "
                         "PD-L1 TPS stratum and age at index >= 75. Every one is needed: "
                         "stratifying by cancer_type alone, or leaving out age (ECOG >= 2 is "
                         "commoner in the old), gives a biased HR whose CI excludes the truth "
                         "on large snapshots (200,000 patients: 1.87 without age)"),
            },
            "os_hr_melanoma_combination": {
                "population": ("cancer_type Melanoma whose index line (first ICI) regimen is "
                               "'nivolumab + ipilimumab', 'nivolumab' or 'pembrolizumab'"),
                "comparison": ("index regimen 'nivolumab + ipilimumab' vs 'nivolumab' (anti-PD-1 "
                               "alone; 'pembrolizumab' has the same planted hazard as "
                               "'nivolumab', so 'vs anti-PD-1 alone' has the same truth)"),
                "outcome": "overall survival from index, as above",
                "true_hr": HR_MELANOMA_COMBO,
                "adjust_for": ["ECOG at index >= 2", _AGE75, _STAGE_EARLY],
                "confounding_by_indication": {
                    "assignment": ("P(nivolumab + ipilimumab | first melanoma ICI of these "
                                   "three) by age at diagnosis band for ECOG 0-1; times "
                                   f"{ref.MELANOMA_COMBO_ECOG2_FACTOR} for ECOG >= 2 and "
                                   f"{ref.MELANOMA_COMBO_EARLY_ERA_FACTOR} for diagnoses "
                                   "before 2018-06 (the early era)"),
                    "share_by_age_band": dict(zip(
                        ("<60", "60-69", "70-74", ">=75"), ref.MELANOMA_COMBO_SHARE_BY_AGE,
                        strict=True)),
                    "confounders": ("ECOG >= 2 (HR 1.8) and age at index >= 75 (HR "
                                    f"{HR_AGE75}) both lower the chance of the combination and "
                                    "shorten survival; nothing else prognostic differs"),
                },
                "crude_hr_approx": 0.68,
                "note": ("the crude (unadjusted) Cox HR is about 0.68 (95 % CI 0.65-0.71 on "
                         "200,000 patients), clearly further from 1 than the conditional 0.80; "
                         "adjusting for ECOG >= 2 and age >= 75 (regression or propensity "
                         "score) recovers 0.80 (measured 0.805, CI 0.77-0.84). The combination "
                         "group is younger (mean age 60 vs 70) with fewer ECOG >= 2 (4 % vs "
                         "29 %)"),
            },
            "treatment_discontinuation_by_regimen": {
                "population": "the melanoma population of os_hr_melanoma_combination",
                "comparison": "index regimen 'nivolumab + ipilimumab' vs anti-PD-1 alone",
                "outcome": ("rwTTD: from index to the latest end_date of the index line's "
                            "treatments rows (an event), censored at last_followup_date when a "
                            "row of the line is ongoing (end_date null); stop_reason "
                            "'toxicity' share of index lines"),
                "planted": {
                    "p_severe_irae": {"anti-PD-1 + anti-CTLA-4": ref.SEVERE_IRAE_PD1_CTLA4,
                                      "anti-PD-1 alone": ref.SEVERE_IRAE_PD1_MONO},
                    "p_stop_after_severe_irae": TOX_STOP_AFTER_SEVERE,
                    "p_stop_for_grade_2_irae": {
                        "anti-PD-1 + anti-CTLA-4": ref.MODERATE_TOX_STOP_CTLA4,
                        "anti-PD-1 alone": ref.MODERATE_TOX_STOP_MONO},
                },
                "toxicity_stop_share_approx": {"anti-PD-1 + anti-CTLA-4": 0.37,
                                               "anti-PD-1 alone": 0.09},
                "median_rwttd_months_approx": {"anti-PD-1 + anti-CTLA-4": 3.2,
                                               "anti-PD-1 alone": 5.5},
                "note": ("the combination stops earlier through toxicity (a grade 2 or >= 3 "
                         "immune-related adverse_events row of the line precedes each such "
                         "stop), although it responds more often and lives longer; values "
                         "measured on 200,000 patients"),
            },
            "duration_of_response": {
                "population": ("patients with an index line and a CR or PR among its "
                               "tumor_assessments (line_number = index line)"),
                "outcome": ("DoR: from the first CR/PR of the index line to its PD assessment "
                            "or death, censored at the last assessment of the line or at "
                            "last_followup_date"),
                "planted": ("the first ICI's response draw is tied to the survival time by a "
                            f"Gaussian copula (correlation {RESPONSE_SURVIVAL_CORRELATION}) "
                            f"among patients alive {RESPONSE_LANDMARK_DAYS} days after index; "
                            "responders' progression is a median "
                            f"{ref.REGIMENS['pembrolizumab'].resp_months:g} months (anti-PD-1) "
                            "after the start unless death comes first"),
                "median_dor_months_approx": {"NSCLC": 16, "Melanoma": 21},
                "note": ("responders live longer than non-responders while the ORR among the "
                         "response-evaluable stays the planted one (deaths before the landmark "
                         "keep an independent response); medians measured on 20,000 patients"),
            },
            "pro_diarrhoea_around_colitis": {
                "population": ("patients with an adverse_events row term 'Colitis', "
                               "immune_related true, grade >= 2 (any line)"),
                "outcome": ("PRO-CTCAE item 'Diarrhea frequency' (patient_reported_outcomes, "
                            "instrument 'PRO-CTCAE'; 0 never .. 4 almost constantly)"),
                "window": (f"assessment_date from {pro.COLITIS_WINDOW[0]} to "
                           f"+{pro.COLITIS_WINDOW[1]} days around such a colitis onset_date"),
                "comparison": ("mean score of the questionnaires in a window minus the mean of "
                               "the same patients' questionnaires outside every window"),
                "true_difference": float(pro.DIARRHOEA_RISE_AROUND_COLITIS),
                "note": ("outside the windows the item is 0, 1 or 2 (probabilities "
                         f"{', '.join(f'{x:g}' for x in pro.DIARRHOEA_BASE_PROBS)}) "
                         "independently per questionnaire, inside it is that plus "
                         f"{pro.DIARRHOEA_RISE_AROUND_COLITIS}, so the difference of means is "
                         "exact (Welch CI)"),
            },
            "pro_rash_around_skin_irae": {
                "population": ("patients with an adverse_events row term 'Rash maculo-papular', "
                               "immune_related true (any grade, any line)"),
                "outcome": ("PRO-CTCAE item 'Rash presence' (a yes/no item: 0 no, 1 yes), "
                            "asked at every PRO-CTCAE questionnaire like 'Itching severity'"),
                "window": (f"assessment_date from {pro.SKIN_WINDOW[0]} to "
                           f"+{pro.SKIN_WINDOW[1]} days around such a rash onset_date"),
                "comparison": "share of questionnaires in a window answered yes",
                "true_share_yes": pro.RASH_YES_AROUND_RASH,
                "note": (f"outside every window of an immune-related rash or pruritus a "
                         f"questionnaire is yes with probability {pro.RASH_BASE_YES:g}, around "
                         f"a pruritus only {pro.RASH_YES_AROUND_PRURITUS:g}; 'Itching "
                         "severity' is at least the pruritus grade (the rash grade minus one) "
                         "in the same windows"),
            },
            "pro_global_health_before_progression": {
                "population": ("patients with a PD tumor_assessment on the index line (its "
                               "first PD) and QLQ-C30 'Global health status/QoL' scores both "
                               f"in the {pro.PRE_PROGRESSION_DAYS} days before it and 90 or "
                               "more days before it"),
                "outcome": "QLQ-C30 'Global health status/QoL' (0-100, higher is better)",
                "comparison": (f"per patient: mean score 1-{pro.PRE_PROGRESSION_DAYS} days "
                               "before the PD assessment minus mean score >= 90 days before "
                               "it; averaged over patients (paired t CI)"),
                "true_difference": -pro.GHS_DROP_BEFORE_PROGRESSION,
                "note": ("planted on the latent 0-100 scale before rounding to the scale's "
                         "steps of 100/12 and clipping to 0-100, which move the mean by well "
                         "under a point (20,000 patients: -14.8, CI -15.7 to -13.9); the same "
                         "drop precedes death"),
            },
            "pro_completion": {
                "schedule": (f"first ICI from {pro.EPRO_START}; QLQ-C30 at days "
                             f"{list(pro.QLQ_DAYS)}, PRO-CTCAE at days "
                             f"{list(pro.CTCAE_DAYS)} from index (+-3 days)"),
                "participation": {"university hospitals": pro.PARTICIPATION_UNIVERSITY,
                                  "central hospitals": pro.PARTICIPATION_CENTRAL},
                "p_answered": (f"{pro.COMPLETION_START} at baseline, halving every "
                               f"{pro.COMPLETION_HALF_LIFE_MONTHS:g} months, times "
                               f"{pro.COMPLETION_NEAR_DEATH} in the {pro.DEATH_WINDOW_DAYS} "
                               "days before death; none after death or last follow-up"),
            },
            "severe_irae_by_regimen": {
                "population": "patients with an index line, grouped by the drug classes of that "
                              "line's regimen",
                "groups": {"anti-PD-1 + anti-CTLA-4": "drug classes exactly {anti-PD-1, "
                                                      "anti-CTLA-4} (nivolumab + ipilimumab)",
                           "anti-PD-1 alone": "drug classes exactly {anti-PD-1} (pembrolizumab, "
                                              "nivolumab or cemiplimab monotherapy)"},
                "outcome": ("at least one adverse_events row with immune_related true, grade >= "
                            "3 and line_number = index line; rate = patients with such an event "
                            "/ patients in the group"),
                "true_rate": {"anti-PD-1 + anti-CTLA-4": ref.SEVERE_IRAE_PD1_CTLA4,
                              "anti-PD-1 alone": ref.SEVERE_IRAE_PD1_MONO},
                "note": ("other immune-related events of ICI lines are grade 1-2; every planted "
                         "event falls within follow-up; a few melanoma patients get a second ICI "
                         "line after adjuvant therapy, so count events of the index line only"),
            },
        },
        "model": {
            "overall_survival_after_first_ici": {
                "form": "Weibull proportional hazards, S(t) = exp(-lambda_type * t^k * exp(xb))",
                "shape_k": WEIBULL_SHAPE,
                "reference_median_months": {t: s.io_median_months
                                            for t, s in ref.CANCERS.items()},
                "reference": ("ECOG 0-1, age at index < 75, stage IV or unknown, for NSCLC PD-L1 "
                              "TPS <1, for melanoma anti-PD-1 alone"),
                "hazard_ratios": {"ECOG >= 2": HR_ECOG2, "stage I-III": HR_STAGE_I_III,
                                  "age at index >= 75": HR_AGE75,
                                  "melanoma nivolumab + ipilimumab": HR_MELANOMA_COMBO,
                                  "melanoma ipilimumab alone": HR_MELANOMA_IPILIMUMAB,
                                  "NSCLC first ICI before 2018": HR_NSCLC_BEFORE_2018,
                                  "NSCLC PD-L1 TPS": dict(HR_TPS)},
                "independence": ("ECOG, stage and PD-L1 TPS are drawn independently of each "
                                 "other and of response; ECOG worsens with age; whether a "
                                 "patient gets an ICI depends on cancer type, ECOG, calendar era "
                                 "and biomarker eligibility (EGFR/ALK, PD-L1 CPS label "
                                 "cut-offs), never on PD-L1 TPS or stage; in melanoma the "
                                 "combination goes to the young and fit (see "
                                 "os_hr_melanoma_combination)"),
            },
            "sampling": ("survival times, planted responses and planted severe events use "
                         "uniforms stratified within covariate cells, so realised values sit "
                         "closer to the truth than independent draws would; model-based "
                         "confidence intervals are therefore conservative"),
            "censoring": {"data_cutoff": DATA_CUTOFF,
                          "lost_to_follow_up": f"exponential, mean {LTFU_MEAN_YEARS} years"},
            "recist_scan_interval_days": dict(zip(SCAN_INTERVALS[0].tolist(),
                                                  SCAN_INTERVALS[1].tolist(), strict=True)),
        },
    }
