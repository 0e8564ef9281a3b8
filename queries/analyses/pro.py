"""Patient-reported outcomes of a cohort (snapshot schema version 2).

Three plain results, each with its definition in words:

- **Scale score over time**: for one QLQ-C30 scale (or PRO-CTCAE item), questionnaires are put
  in bins of ``bin_weeks`` since index (baseline: ``baseline_days`` before index up to the index
  day; then weeks 1-6, 7-12, ...). A patient with several questionnaires in a bin counts once,
  with their mean; the bin's mean is over patients, with a normal 95 % CI, and the number of
  questionnaires and patients behind it. Beside it, each bin's histogram of the patients' bin
  means in the instrument's score bands (``SCORE_BANDS``), from which ``queries.disclosure``
  recomputes the mean for roles that may see released counts only.
- **Completion**: among patients who answered the scale at least once in the score's window
  (participants), the share who answered in each bin, out of those alive and followed at the
  bin's start (the denominator falls with deaths and loss to follow-up).
- **PRO-CTCAE severity**: for each PRO-CTCAE item, the share of patients at each level of their
  worst answer in the first ``ctcae_weeks`` weeks after index, out of patients who answered it.

Scoring follows the instruments: QLQ-C30 scales 0-100 (higher is better for the global health
status and functional scales, worse for symptom scales), PRO-CTCAE items 0-4 (higher is worse).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from queries.analyses.strata import jsonable_dict
from queries.cohort.kept_tables import Cohort
from queries.i18n import N_, Text
from queries.snapshot.schema import (
    PRO_CTCAE,
    PRO_CTCAE_LEVELS,
    QLQ_C30,
    QLQ_C30_GLOBAL,
    higher_is_better,
)

Z95 = 1.959963984540054
SCORE_COLUMNS = ["week", "questionnaires", "patients", "mean_score", "ci_lower", "ci_upper"]
COMPLETION_COLUMNS = ["week", "patients_followed", "patients_answered", "completion"]
SEVERITY_COLUMNS = ["item", "level", "severity", "patients", "denominator", "share"]
BAND_COLUMNS = ["week", "band", "band_lower", "band_upper", "patients"]
# Each result in words, shown beside the panel and in its download (``ProResult.definitions``).
SCORE_DEFINITION = N_(
    "Score ({direction}): questionnaires from {baseline} days before index (baseline) to week "
    "{weeks}, in bins of {bin} weeks; a patient counts once per bin with their mean; the bin's "
    "mean is over patients, with a normal 95% CI.")
COMPLETION_DEFINITION = N_(
    "Completion: patients who answered in the bin / patients who answered the scale at least "
    "once in the score's window and were alive and followed at the bin's start.")
SEVERITY_DEFINITION = N_(
    "PRO-CTCAE: each patient's worst answer in weeks 1–{weeks}; patients at each level / "
    "patients who answered the item.")


@dataclass(frozen=True)
class ScoreBands:
    """Equal-width bands of an instrument's scores: band ``i`` covers ``[lower + i * width,
    lower + (i + 1) * width)``, the last band closed (a score at the top of the range goes in
    it); ``words`` names them for the panel's definition (a catalogue message)."""

    lower: float
    width: float
    count: int
    words: str

    def band_of(self, scores: np.ndarray) -> np.ndarray:
        """Band index of each score (scores outside the bands go in the nearest end band)."""
        # rounded first, so a mean such as 29.999999999999996 (= 30 in float error) is band 3
        position = np.round((scores - self.lower) / self.width, 9)
        return np.clip(np.floor(position), 0, self.count - 1).astype(int)

    def edges(self, band: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper edge of each band index."""
        lower = self.lower + band * self.width
        return lower, lower + self.width


# One place for the bands of each instrument's scale. QLQ-C30 scales are 0-100: 10-point bands
# [0, 10) .. [90, 100]. PRO-CTCAE answers are whole levels 0-4: half-level bands centred on
# 0, 0.5, .., 4, so that a patient's single answer sits at the midpoint of its band.
SCORE_BANDS: dict[str, ScoreBands] = {
    QLQ_C30: ScoreBands(0.0, 10.0, 10, N_("10-point bands (0–10, 10–20, …, 90–100)")),
    PRO_CTCAE: ScoreBands(-0.25, 0.5, 9, N_("half-level bands centred on 0, 0.5, 1, …, 4")),
}


@dataclass(frozen=True)
class ProOptions:
    """Which scale to follow and how to bin time since index."""

    instrument: str = QLQ_C30
    item: str = QLQ_C30_GLOBAL
    bin_weeks: int = 6
    max_weeks: int = 48
    baseline_days: int = 14
    ctcae_weeks: int = 12


@dataclass
class ProResult:
    """Scale scores over time, completion and PRO-CTCAE severity shares of one cohort."""

    options: ProOptions
    n: int | None  # None: withheld for the role (``n_display`` says how, e.g. "< 10")
    participants: int | None
    scores: pd.DataFrame
    completion: pd.DataFrame
    severity: pd.DataFrame
    # patients per (week, score band) with a patient's bin mean in the band; empty bands left
    # out (``BAND_COLUMNS``; the bands are ``SCORE_BANDS[options.instrument]``)
    score_bands: pd.DataFrame
    definitions: dict[str, str] = field(default_factory=dict)  # scores, completion, severity
    empty_reason: str | None = None
    n_display: str | None = None
    participants_display: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return jsonable_dict({
            "options": asdict(self.options), "n": self.n, "n_display": self.n_display,
            "participants": self.participants,
            "participants_display": self.participants_display,
            "scores": self.scores, "completion": self.completion, "severity": self.severity,
            "score_bands": self.score_bands, "definitions": self.definitions,
            "empty_reason": self.empty_reason})


def _bins_sql() -> str:
    """Week bin of a questionnaire: 0 for baseline, else the bin's last week."""
    return ("CASE WHEN days BETWEEN -$baseline AND 0 THEN 0 "
            "ELSE CAST(ceil(days / (7.0 * $bin)) AS INTEGER) * $bin END")


def _questionnaires(cohort: Cohort, options: ProOptions, instrument: str,
                    item: str | None) -> pd.DataFrame:
    """Per patient and bin: questionnaires and mean score of one item (all items if None),
    with the patient's days from index to death or last follow-up (``followed_days``)."""
    item_filter = "AND o.item = $item" if item is not None else ""
    # GROUP BY positions, not GROUP BY ALL: the same SQL runs on every engine (queries/engine)
    sql = f"""
        WITH rows AS (
            SELECT o.patient_id, o.item, o.score,
                   date_diff('day', c.index_date, o.assessment_date) AS days,
                   date_diff('day', c.index_date,
                             coalesce(p.death_date, p.last_followup_date)) AS followed_days
            FROM {cohort.table} c
            JOIN patients p ON p.patient_id = c.patient_id
            JOIN patient_reported_outcomes o ON o.patient_id = c.patient_id
            WHERE o.instrument = $instrument AND o.score IS NOT NULL {item_filter}
        )
        SELECT patient_id, item, {_bins_sql()} AS week, followed_days,
               count(*) AS questionnaires, avg(score) AS score, max(score) AS worst
        FROM rows
        WHERE days >= -$baseline AND days <= 7 * $max_weeks
        GROUP BY 1, 2, 3, 4
    """  # noqa: S608 - the cohort table name comes from a hash, values are bound
    params: dict[str, object] = {"instrument": instrument, "baseline": options.baseline_days,
                                 "bin": options.bin_weeks, "max_weeks": options.max_weeks}
    if item is not None:
        params["item"] = item
    return cohort.db.cursor().execute(sql, params).df()


def scale_scores(per_patient: pd.DataFrame) -> pd.DataFrame:
    """Mean over patients per bin with a normal 95 % CI (patients' bin means as the data)."""
    if per_patient.empty:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    grouped = per_patient.groupby("week")
    out = pd.DataFrame({
        "questionnaires": grouped["questionnaires"].sum(),
        "patients": grouped["patient_id"].nunique(),
        "mean_score": grouped["score"].mean(),
        "sd": grouped["score"].std(ddof=1),
    }).reset_index()
    half = Z95 * out["sd"] / out["patients"].map(math.sqrt)
    out["ci_lower"] = out["mean_score"] - half
    out["ci_upper"] = out["mean_score"] + half
    return out[SCORE_COLUMNS].sort_values("week").reset_index(drop=True)


def score_band_counts(per_patient: pd.DataFrame, bands: ScoreBands) -> pd.DataFrame:
    """Patients per bin and score band of their bin mean (the rows behind ``scale_scores``).

    Counted from the per-patient rows the panel reads anyway (for the exact means and the
    completion), not by a second query over the same questionnaires.
    """
    if per_patient.empty:
        return pd.DataFrame(columns=BAND_COLUMNS)
    banded = pd.DataFrame({"week": per_patient["week"].to_numpy(),
                           "band": bands.band_of(per_patient["score"].to_numpy(float))})
    out = banded.groupby(["week", "band"]).size().rename("patients").reset_index()
    out["band_lower"], out["band_upper"] = bands.edges(out["band"].to_numpy())
    return out[BAND_COLUMNS].sort_values(["week", "band"]).reset_index(drop=True)


def _followed(per_patient: pd.DataFrame, weeks: list[int], options: ProOptions
              ) -> dict[int, int]:
    """Participants alive and followed at each bin's start (baseline: all participants).

    Read from the questionnaire rows' ``followed_days``, not by a second query over a list of
    patient ids: no engine-specific list parameter, and no patient ids sent back to the engine.
    """
    days = per_patient.drop_duplicates("patient_id")["followed_days"]
    out: dict[int, int] = {}
    for week in weeks:
        start = 0 if week == 0 else 7 * (week - options.bin_weeks) + 1
        out[week] = int((days >= start).sum())
    return out


def _completion(per_patient: pd.DataFrame, options: ProOptions) -> pd.DataFrame:
    weeks = list(range(0, options.max_weeks + 1, options.bin_weeks))
    followed = _followed(per_patient, weeks, options)
    answered = per_patient.groupby("week")["patient_id"].nunique()
    rows = []
    for week in weeks:
        n_followed = followed[week]
        n_answered = int(answered.get(week, 0))
        rows.append({"week": week, "patients_followed": n_followed,
                     "patients_answered": n_answered,
                     "completion": n_answered / n_followed if n_followed else float("nan")})
    return pd.DataFrame(rows, columns=COMPLETION_COLUMNS)


def ctcae_severity(per_patient: pd.DataFrame, options: ProOptions) -> pd.DataFrame:
    """Share of patients at each level of their worst answer per item (first weeks)."""
    early = per_patient[(per_patient["week"] > 0) & (per_patient["week"] <= options.ctcae_weeks)]
    if early.empty:
        return pd.DataFrame(columns=SEVERITY_COLUMNS)
    worst = early.groupby(["item", "patient_id"])["worst"].max().round().astype(int)
    rows = []
    for item, levels in worst.groupby(level="item"):
        denominator = int(levels.size)
        counts = levels.value_counts()
        for level, label in enumerate(PRO_CTCAE_LEVELS):
            patients = int(counts.get(level, 0))
            rows.append({"item": item, "level": level, "severity": label, "patients": patients,
                         "denominator": denominator, "share": patients / denominator})
    return pd.DataFrame(rows, columns=SEVERITY_COLUMNS)


def patient_reported(cohort: Cohort, options: ProOptions | None = None) -> ProResult:
    """Scale score over time, completion and PRO-CTCAE severity of the cohort."""
    options = options or ProOptions()
    per_patient = _questionnaires(cohort, options, options.instrument, options.item)
    ctcae = _questionnaires(cohort, options, PRO_CTCAE, None)
    direction = (N_("higher is better") if higher_is_better(options.instrument, options.item)
                 else N_("higher is worse"))
    definitions: dict[str, str] = {
        "scores": Text(SCORE_DEFINITION, direction=Text(direction),
                       baseline=options.baseline_days, weeks=options.max_weeks,
                       bin=options.bin_weeks),
        "completion": Text(COMPLETION_DEFINITION),
        "severity": Text(SEVERITY_DEFINITION, weeks=options.ctcae_weeks),
    }
    reason = None
    if cohort.size == 0:
        reason = Text(N_("the cohort is empty"))
    elif per_patient.empty and ctcae.empty:
        reason = Text(N_("no patient of the cohort has patient-reported outcomes in the window"))
    return ProResult(
        options=options, n=cohort.size,
        participants=int(per_patient["patient_id"].nunique()) if not per_patient.empty else 0,
        scores=scale_scores(per_patient),
        completion=(_completion(per_patient, options) if not per_patient.empty
                    else pd.DataFrame(columns=COMPLETION_COLUMNS)),
        severity=ctcae_severity(ctcae, options),
        score_bands=score_band_counts(per_patient, SCORE_BANDS[options.instrument]),
        definitions=definitions, empty_reason=reason)
