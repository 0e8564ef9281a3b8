"""Patient-reported outcomes of the synthetic generator (snapshot schema version 2).

Patients whose first immune checkpoint inhibitor (ICI) starts after their hospital adopted
electronic patient communication answer EORTC QLQ-C30 at baseline, at 6 and 12 weeks and then
every 12 weeks to a year, and PRO-CTCAE items every 3 weeks for 3 months, then every 6 weeks to
half a year. Some
questionnaires are missed, more as time goes on and in the weeks before death. Scores follow
the instruments' scoring: QLQ-C30 scales 0-100 in the steps their item counts allow (higher is
better for the global health status and functional scales, worse for symptom scales);
PRO-CTCAE items 0-4 (higher is worse), rash presence 0 no / 1 yes.

Two effects are planted (see ``ground_truth()``): global health status drops by
``GHS_DROP_BEFORE_PROGRESSION`` points in the ``PRE_PROGRESSION_DAYS`` before progression (and
before death), and PRO-CTCAE diarrhoea frequency rises by ``DIARRHOEA_RISE_AROUND_COLITIS`` in a
window around the onset of a grade >= 2 immune-related colitis. Itching and rash are reported
more in a window around an immune-related pruritus or maculo-papular rash (``SKIN_WINDOW``).

The skin items (``SKIN_ITEMS``) were added after the others and are drawn from a random stream
of their own (``SKIN_STREAM``), so every other row of every table is what it was before them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from queries.snapshot.schema import PRO_CTCAE, QLQ_C30, QLQ_C30_GLOBAL

EPRO_START = "2018-01-01"  # first ICI start from which questionnaires exist
# Share of first-ICI patients who use electronic questionnaires, by site kind.
PARTICIPATION_UNIVERSITY = 0.3
PARTICIPATION_CENTRAL = 0.15
QLQ_DAYS = (-7, 42, 84, 168, 252, 336)
CTCAE_DAYS = (-7, 21, 42, 63, 84, 126, 168)
COMPLETION_START = 0.88  # P(a scheduled questionnaire is answered) at baseline
COMPLETION_HALF_LIFE_MONTHS = 14.0  # completion halves over this time
COMPLETION_NEAR_DEATH = 0.45  # multiplier in the DEATH_WINDOW_DAYS before death
DEATH_WINDOW_DAYS = 45

GHS_DROP_BEFORE_PROGRESSION = 15.0
PRE_PROGRESSION_DAYS = 60
DIARRHOEA_RISE_AROUND_COLITIS = 2
COLITIS_WINDOW = (-7, 21)  # days relative to the colitis onset

# QLQ-C30 scales written: (name, step of the scale in points, higher is better, mean at ECOG 0,
# loading on the patient's latent health deviation). Steps follow the item counts and ranges
# of the EORTC scoring manual (e.g. 2 items of 7 points: 100/12).
QLQ_SCALES: tuple[tuple[str, float, bool, float, float], ...] = (
    (QLQ_C30_GLOBAL, 100 / 12, True, 72.0, 1.0),
    ("Physical functioning", 100 / 15, True, 80.0, 0.9),
    ("Role functioning", 100 / 6, True, 72.0, 1.0),
    ("Emotional functioning", 100 / 12, True, 74.0, 0.6),
    ("Cognitive functioning", 100 / 6, True, 84.0, 0.4),
    ("Social functioning", 100 / 6, True, 76.0, 0.7),
    ("Fatigue", 100 / 9, False, 32.0, 0.9),
    ("Nausea and vomiting", 100 / 6, False, 8.0, 0.3),
    ("Pain", 100 / 6, False, 24.0, 0.7),
    ("Dyspnoea", 100 / 3, False, 22.0, 0.6),
    ("Insomnia", 100 / 3, False, 28.0, 0.4),
    ("Appetite loss", 100 / 3, False, 18.0, 0.7),
    ("Constipation", 100 / 3, False, 14.0, 0.3),
    ("Diarrhoea", 100 / 3, False, 8.0, 0.2),
    ("Financial difficulties", 100 / 3, False, 12.0, 0.2),
)
# PRO-CTCAE items: (name, mean level at a typical state, loading on the latent deviation).
# The means set the share of first-ICI patients whose worst answer in weeks 1-12 is moderate
# or worse (level >= 2); on 100,000 patients (17,399 answering) they give the shares after
# "->", each inside a range around published checkpoint-inhibitor figures (clinician-reported
# any-grade rates of anti-PD-1 monotherapy, e.g. CheckMate 067 and KEYNOTE-006/-024, and
# PRO-CTCAE cohorts, where moderate-or-worse patient reports are of the same order):
#   fatigue 25-35 % -> 31 %; diarrhoea 5-15 % -> 12 % (DIARRHOEA_BASE_PROBS, colitis included);
#   nausea 5-15 % -> 10 %; decreased appetite 10-25 % -> 17 %;
#   shortness of breath 15-30 % (two in five answering have NSCLC) -> 20 %.
# The mean latent deviation is negative (ECOG, the drop before progression), which raises
# every item above its mean, hence means at or below 0.
CTCAE_ITEMS: tuple[tuple[str, float, float], ...] = (
    ("Diarrhea frequency", 0.0, 0.0),  # drawn separately (planted effect)
    ("Fatigue severity", 0.0, 0.04),
    ("Nausea frequency", -0.15, 0.015),
    ("Decreased appetite severity", -0.2, 0.03),
    ("Shortness of breath severity", 0.0, 0.025),
)
DIARRHOEA_BASE_PROBS = (0.80, 0.17, 0.03)  # levels 0, 1, 2 outside colitis windows

# PRO-CTCAE skin items, written at every PRO-CTCAE visit after the items above. Anchors (from
# memory, not looked up again): anti-PD-1 monotherapy has clinician-reported pruritus and rash
# in about 15-20 % of patients each (CheckMate 067/-066, KEYNOTE-006: mostly grade 1-2, grade
# >= 3 about 1-2 %), ipilimumab + nivolumab 30-35 %; PRO-CTCAE cohorts on checkpoint inhibitors
# report itching about as often, moderate or worse in a few % to ~10 %, and a rash (a yes/no
# item) in about a fifth in the first months, some of it unrelated to the treatment. Shares of
# first-ICI patients answering the item, worst answer in weeks 1-12 (test_generator_realism),
# on 200,000 patients (34,835 answering) after "->":
#   itching moderate or worse 3-12 % -> 6.9 % (any itching 33 %); rash yes 12-30 % -> 18 %.
SKIN_ITEMS = ("Itching severity", "Rash presence")
SKIN_STREAM = 1  # SeedSequence([seed, chunk, SKIN_STREAM]): the skin items' own random stream
SKIN_WINDOW = (-7, 42)  # days around a skin irAE onset (median resolution 40-50 days)
ITCHING_BASE_PROBS = (0.90, 0.085, 0.015)  # levels 0, 1, 2 outside skin irAE windows
# Itching in a window: at least the pruritus grade (1 mild .. 3 severe), or the rash grade
# minus one (a grade 2 maculo-papular rash itches mildly).
RASH_BASE_YES = 0.035  # P(yes) per questionnaire outside skin irAE windows
RASH_YES_AROUND_RASH = 0.9
RASH_YES_AROUND_PRURITUS = 0.3
ECOG_GHS_SHIFT = (0.0, -8.0, -18.0, -26.0, -32.0)
PATIENT_SD = 12.0
VISIT_SD = 9.0


@dataclass(frozen=True)
class SkinIrae:
    """Immune-related pruritus and maculo-papular rash rows of a chunk (any line)."""

    patient: np.ndarray
    onset: np.ndarray
    grade: np.ndarray
    pruritus: np.ndarray  # bool: pruritus, else maculo-papular rash


@dataclass(frozen=True)
class IndexCourse:
    """Per patient of a chunk: what the PRO schedule needs (days; -1 / large where none)."""

    index_day: np.ndarray  # first ICI start, -1 without one
    index_line: np.ndarray  # line number of the first ICI line
    line_end: np.ndarray  # end of the first ICI line
    progression_day: np.ndarray  # progression detected on that line (large if none)
    death: np.ndarray
    last_fu: np.ndarray
    ecog: np.ndarray
    central_site: np.ndarray  # bool: a central (not university) hospital
    dx: np.ndarray


def _date(days: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(days, dtype=np.int32), type=pa.int32()).cast(pa.date32())


def _visits(rng: np.random.Generator, c: IndexCourse) -> tuple[np.ndarray, ...]:
    """(patient, day, instrument 0 = QLQ-C30 / 1 = PRO-CTCAE) of answered questionnaires."""
    epro = np.datetime64(EPRO_START, "D").astype(np.int64)
    rate = np.where(c.central_site, PARTICIPATION_CENTRAL, PARTICIPATION_UNIVERSITY)
    takes_part = (c.index_day >= epro) & (rng.random(len(c.index_day)) < rate)
    who = np.flatnonzero(takes_part)
    offsets = np.array(QLQ_DAYS + CTCAE_DAYS)
    kind = np.r_[np.zeros(len(QLQ_DAYS), dtype=np.int64), np.ones(len(CTCAE_DAYS), dtype=np.int64)]
    patient = np.repeat(who, len(offsets))
    offset = np.tile(offsets, len(who))
    instrument = np.tile(kind, len(who))
    jitter = rng.integers(-3, 4, len(patient))
    day = c.index_day[patient] + offset + np.where(offset < 0, 0, jitter)
    alive = day < np.minimum(c.death[patient], c.last_fu[patient] + 1)
    day = np.maximum(day, c.dx[patient])
    months = np.maximum(offset, 0) / 30.4375
    p_answer = COMPLETION_START * np.power(0.5, months / COMPLETION_HALF_LIFE_MONTHS)
    near_death = (c.death[patient] - day) <= DEATH_WINDOW_DAYS
    p_answer = p_answer * np.where(near_death, COMPLETION_NEAR_DEATH, 1.0)
    answered = alive & (rng.random(len(patient)) < p_answer)
    return patient[answered], day[answered], instrument[answered]


def _worse_before_progression(c: IndexCourse, patient: np.ndarray, day: np.ndarray) -> np.ndarray:
    """True for questionnaires within PRE_PROGRESSION_DAYS before progression or death, or
    after progression."""
    to_progression = c.progression_day[patient] - day
    to_death = c.death[patient] - day
    return ((to_progression <= PRE_PROGRESSION_DAYS)
            | ((to_death <= PRE_PROGRESSION_DAYS) & (to_death > 0)))


def _qlq_rows(rng: np.random.Generator, patient: np.ndarray, latent: np.ndarray) -> tuple:
    """Rows (visit index, scale, score) of the QLQ-C30 visits ``patient`` (visit indices)."""
    k = len(QLQ_SCALES)
    p = np.repeat(patient, k)
    deviation = np.repeat(latent, k)
    scale = np.tile(np.arange(k), len(patient))
    step = np.array([s[1] for s in QLQ_SCALES])[scale]
    better = np.array([s[2] for s in QLQ_SCALES])[scale]
    mean = np.array([s[3] for s in QLQ_SCALES])[scale]
    loading = np.array([s[4] for s in QLQ_SCALES])[scale]
    noise = rng.standard_normal(len(p)) * np.where(scale == 0, VISIT_SD, VISIT_SD * 1.3)
    value = mean + np.where(better, 1.0, -1.0) * loading * deviation + np.where(scale == 0, 0,
                                                                                   noise)
    value = np.where(scale == 0, mean + deviation + noise, value)
    score = np.clip(np.round(value / step) * step, 0.0, 100.0)
    return p, scale, np.round(score, 1) + 0.0  # no -0.0


def _ctcae_rows(rng: np.random.Generator, visits: np.ndarray, patient: np.ndarray,
                day: np.ndarray, latent: np.ndarray, colitis: tuple[np.ndarray, np.ndarray]
                ) -> tuple:
    """Rows (visit index, item, level) of the PRO-CTCAE visits ``visits``."""
    k = len(CTCAE_ITEMS)
    p = np.repeat(visits, k)
    item = np.tile(np.arange(k), len(visits))
    deviation = np.repeat(latent, k)
    mean = np.array([c[1] for c in CTCAE_ITEMS])[item]
    loading = np.array([c[2] for c in CTCAE_ITEMS])[item]
    level = np.clip(np.round(mean - loading * deviation + 0.8 * rng.standard_normal(len(p))),
                    0, 4)
    diarrhoea = item == 0
    base = np.searchsorted(np.cumsum(DIARRHOEA_BASE_PROBS), rng.random(len(p)), side="right")
    rise = (_near_onset(patient[p], day[p], colitis, COLITIS_WINDOW)
            * DIARRHOEA_RISE_AROUND_COLITIS)
    level = np.where(diarrhoea, np.minimum(base, 2) + rise, level)
    return p, item, level.astype(float) + 0.0  # no -0.0


def _skin_rows(skin_rng: np.random.Generator, visits: np.ndarray, patient: np.ndarray,
               day: np.ndarray, skin: SkinIrae) -> tuple:
    """Rows (visit index, item 0 itching / 1 rash, level) of the PRO-CTCAE visits ``visits``,
    drawn from the skin items' own stream only."""
    who, when = patient[visits], day[visits]
    n = len(visits)

    def near(pruritus: bool, grade: int) -> np.ndarray:
        chosen = (skin.pruritus == pruritus) & (skin.grade == grade)
        return _near_onset(who, when, (skin.patient[chosen], skin.onset[chosen]), SKIN_WINDOW)

    from_irae = np.zeros(n, dtype=np.int64)
    around_pruritus = np.zeros(n, dtype=bool)
    around_rash = np.zeros(n, dtype=bool)
    for grade in (1, 2, 3, 4):
        pruritus, rash_ae = near(True, grade), near(False, grade)
        from_irae = np.maximum(from_irae, np.maximum(grade * pruritus, (grade - 1) * rash_ae))
        around_pruritus |= pruritus
        around_rash |= rash_ae
    base = np.searchsorted(np.cumsum(ITCHING_BASE_PROBS), skin_rng.random(n), side="right")
    itching = np.minimum(np.maximum(np.minimum(base, 2), from_irae), 4)
    p_yes = np.where(around_rash, RASH_YES_AROUND_RASH,
                     np.where(around_pruritus, RASH_YES_AROUND_PRURITUS, RASH_BASE_YES))
    rash = skin_rng.random(n) < p_yes
    visit = np.r_[visits, visits]
    item = np.r_[np.zeros(n, dtype=np.int64), np.ones(n, dtype=np.int64)]
    level = np.r_[itching, rash.astype(np.int64)]
    return visit, item, level.astype(float)


def _near_onset(patient: np.ndarray, day: np.ndarray, events: tuple[np.ndarray, np.ndarray],
                window: tuple[int, int]) -> np.ndarray:
    """Whether an event (patient, onset day) of the patient began in the window around day."""
    col_patient, col_onset = events
    if len(col_patient) == 0:
        return np.zeros(len(patient), dtype=bool)
    order = np.lexsort((col_onset, col_patient))
    col_patient, col_onset = col_patient[order], col_onset[order]
    lo, hi = window
    # onset in [day - hi, day - lo]: the first onset >= day - hi of the same patient
    key_onsets = col_patient.astype(np.int64) * 10**7 + col_onset
    pos = np.searchsorted(key_onsets, patient.astype(np.int64) * 10**7 + day - hi)
    pos = np.minimum(pos, len(key_onsets) - 1)
    return (col_patient[pos] == patient) & (col_onset[pos] >= day - hi) & (
        col_onset[pos] <= day - lo)


def pro_table(rng: np.random.Generator, c: IndexCourse, colitis: tuple[np.ndarray, np.ndarray],
              pid: pa.Array, skin: SkinIrae, skin_rng: np.random.Generator) -> pa.Table:
    """The patient_reported_outcomes rows of one chunk, sorted by patient and date.

    ``skin_rng`` draws the skin items only; ``rng`` draws exactly what it drew before them.
    """
    patient, day, instrument = _visits(rng, c)
    person = rng.standard_normal(len(c.index_day)) * PATIENT_SD
    ecog_shift = np.asarray(ECOG_GHS_SHIFT)[np.minimum(c.ecog, 4)]
    latent = person[patient] + ecog_shift[patient]
    latent = latent - GHS_DROP_BEFORE_PROGRESSION * _worse_before_progression(c, patient, day)
    qlq, ctcae = instrument == 0, instrument == 1
    q_p, q_item, q_score = _qlq_rows(rng, np.flatnonzero(qlq), latent[qlq])
    c_p, c_item, c_score = _ctcae_rows(rng, np.flatnonzero(ctcae), patient, day,
                                       latent[ctcae], colitis)
    s_p, s_item, s_score = _skin_rows(skin_rng, np.flatnonzero(ctcae), patient, day, skin)
    visit = np.r_[q_p, c_p, s_p]
    names = [s[0] for s in QLQ_SCALES] + [c[0] for c in CTCAE_ITEMS] + list(SKIN_ITEMS)
    # skin items after the others: on a visit their rows follow the rows written before them
    item = np.r_[q_item, c_item + len(QLQ_SCALES), s_item + len(QLQ_SCALES) + len(CTCAE_ITEMS)]
    score = np.r_[q_score, c_score, s_score]
    who, when = patient[visit], day[visit]
    order = np.lexsort((item, when, who))
    who, when, item, score = who[order], when[order], item[order], score[order]
    during = (when >= c.index_day[who]) & (when <= c.line_end[who])
    line = pa.array(np.asarray(c.index_line[who], dtype=np.int32), type=pa.int32(),
                    mask=~during)
    instrument_label = np.where(item < len(QLQ_SCALES), 0, 1)
    return pa.table({
        "patient_id": pid.take(pa.array(who)),
        "assessment_date": _date(when),
        "instrument": pa.array([QLQ_C30, PRO_CTCAE], type=pa.string()).take(
            pa.array(instrument_label.astype(np.int32))),
        "item": pa.array(names, type=pa.string()).take(pa.array(item.astype(np.int32))),
        "score": pa.array(score, type=pa.float64()),
        "line_number": line,
    })
