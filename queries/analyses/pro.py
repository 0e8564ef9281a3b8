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
  worst answer in the first ``ctcae_weeks`` weeks after index, out of patients who answered it;
  each item with its own levels (``pro_ctcae_levels``: none .. very severe, or no/yes).

Scoring follows the instruments: QLQ-C30 scales 0-100 (higher is better for the global health
status and functional scales, worse for symptom scales), PRO-CTCAE items 0-4 (higher is worse)
except yes/no items such as rash presence (0 no, 1 yes). For a yes/no item a patient's bin
value is whether they answered yes at least once in the bin, so the bin's mean is the share of
patients who reported it (two bands, no and yes, give that share back exactly from counts).
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
    QLQ_C30,
    QLQ_C30_GLOBAL,
    higher_is_better,
    is_presence_item,
    pro_ctcae_levels,
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
PRESENCE_DEFINITION = N_(
    "Share answering yes: questionnaires from {baseline} days before index (baseline) to week "
    "{weeks}, in bins of {bin} weeks; a patient counts once per bin, as yes if they answered "
    "yes at least once in it; the bin's value is the share of patients, with a normal 95% CI.")
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
# A yes/no item's patient value is 0 or 1 (see ``patient_reported``): one band each, so the
# mean from released band counts is the released share answering yes.
PRESENCE_BANDS = ScoreBands(-0.5, 1.0, 2, N_("two bands, no (0) and yes (1)"))


def score_bands(instrument: str, item: str) -> ScoreBands:
    """The score bands of one scale or item (a yes/no item has its own)."""
    return PRESENCE_BANDS if is_presence_item(instrument, item) else SCORE_BANDS[instrument]


def score_digits(instrument: str, item: str) -> int:
    """Decimals a mean score is shown and released with: 2 for a 0-1 share, else 1."""
    return 2 if is_presence_item(instrument, item) else 1


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
    # out (``BAND_COLUMNS``; the bands are ``score_bands(options.instrument, options.item)``)
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


def _per_patient_sql(cohort: Cohort, item: str | None, yes_at_least_once: bool = False) -> str:
    """Per patient and bin: questionnaires and mean score of one item (all items if None),
    with the patient's days from index to death or last follow-up (``followed_days``). For a
    yes/no item (``yes_at_least_once``) the score is the highest answer instead of the mean:
    1 if the patient answered yes at least once in the bin, so the bin's mean is the share
    reporting it."""
    score = "max(score)" if yes_at_least_once else "avg(score)"
    item_filter = "AND o.item = $item" if item is not None else ""
    # GROUP BY positions, not GROUP BY ALL: the same SQL runs on every engine (queries/engine)
    return f"""
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
               count(*) AS questionnaires, {score} AS score, max(score) AS worst
        FROM rows
        WHERE days >= -$baseline AND days <= 7 * $max_weeks
        GROUP BY 1, 2, 3, 4
    """  # noqa: S608 - the cohort table name comes from a hash, values are bound


def _params(options: ProOptions, instrument: str, item: str | None) -> dict[str, object]:
    params: dict[str, object] = {"instrument": instrument, "baseline": options.baseline_days,
                                 "bin": options.bin_weeks, "max_weeks": options.max_weeks}
    if item is not None:
        params["item"] = item
    return params


def _questionnaires(cohort: Cohort, options: ProOptions, instrument: str,
                    item: str | None) -> pd.DataFrame:
    """The rows of ``_per_patient_sql``, read into this process (engines with local rows)."""
    presence = item is not None and is_presence_item(instrument, item)
    return cohort.db.cursor().execute(_per_patient_sql(cohort, item, presence),
                                      _params(options, instrument, item)).df()


def scale_scores(per_patient: pd.DataFrame) -> pd.DataFrame:
    """Mean over patients per bin with a normal 95 % CI (patients' bin means as the data)."""
    if per_patient.empty:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    grouped = per_patient.groupby("week")
    return _with_ci(pd.DataFrame({
        "questionnaires": grouped["questionnaires"].sum(),
        "patients": grouped["patient_id"].nunique(),
        "mean_score": grouped["score"].mean(),
        "sd": grouped["score"].std(ddof=1),
    }).reset_index())


def _with_ci(out: pd.DataFrame) -> pd.DataFrame:
    """``SCORE_COLUMNS`` from per-bin patients, mean and SD."""
    if out.empty:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    half = Z95 * out["sd"].astype(float) / out["patients"].map(math.sqrt)
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
    return _with_edges(banded.groupby(["week", "band"]).size().rename("patients").reset_index(),
                       bands)


def _with_edges(out: pd.DataFrame, bands: ScoreBands) -> pd.DataFrame:
    if out.empty:
        return pd.DataFrame(columns=BAND_COLUMNS)
    out["band_lower"], out["band_upper"] = bands.edges(out["band"].to_numpy())
    return out[BAND_COLUMNS].sort_values(["week", "band"]).reset_index(drop=True)


def _followed(followed_days: pd.DataFrame, weeks: list[int], options: ProOptions
              ) -> dict[int, int]:
    """Participants alive and followed at each bin's start (baseline: all participants), from
    the participants per ``followed_days`` (columns ``followed_days``, ``patients``).

    Read from the questionnaire rows' ``followed_days``, not by a second query over a list of
    patient ids: no engine-specific list parameter, and no patient ids sent back to the engine.
    """
    out: dict[int, int] = {}
    for week in weeks:
        start = 0 if week == 0 else 7 * (week - options.bin_weeks) + 1
        out[week] = int(followed_days.loc[followed_days["followed_days"] >= start,
                                          "patients"].sum())
    return out


def _followed_days(per_patient: pd.DataFrame) -> pd.DataFrame:
    """Participants per ``followed_days`` from the per-patient rows."""
    days = per_patient.drop_duplicates("patient_id")["followed_days"]
    return days.value_counts(dropna=False).rename("patients").rename_axis(
        "followed_days").reset_index()


def _completion(followed_days: pd.DataFrame, scores: pd.DataFrame,
                options: ProOptions) -> pd.DataFrame:
    """Per bin: participants who answered (``scores``' patients) / participants followed."""
    if followed_days.empty:
        return pd.DataFrame(columns=COMPLETION_COLUMNS)
    weeks = list(range(0, options.max_weeks + 1, options.bin_weeks))
    followed = _followed(followed_days, weeks, options)
    answered = dict(zip(scores["week"].astype(int), scores["patients"].astype(int), strict=True))
    rows = []
    for week in weeks:
        n_followed = followed[week]
        n_answered = answered.get(week, 0)
        rows.append({"week": week, "patients_followed": n_followed,
                     "patients_answered": n_answered,
                     "completion": n_answered / n_followed if n_followed else float("nan")})
    return pd.DataFrame(rows, columns=COMPLETION_COLUMNS)


def ctcae_severity(per_patient: pd.DataFrame, options: ProOptions) -> pd.DataFrame:
    """Share of patients at each level of their worst answer per item (first weeks), each
    item with its own levels (``pro_ctcae_levels``)."""
    early = per_patient[(per_patient["week"] > 0) & (per_patient["week"] <= options.ctcae_weeks)]
    if early.empty:
        return pd.DataFrame(columns=SEVERITY_COLUMNS)
    worst = early.groupby(["item", "patient_id"])["worst"].max().round().astype(int)
    counts = worst.rename("level").reset_index().groupby(["item", "level"]).size()
    return _severity_table(counts.rename("patients").reset_index())


def _severity_table(worst_levels: pd.DataFrame) -> pd.DataFrame:
    """``SEVERITY_COLUMNS`` from patients per item and worst level (``item``, ``level``,
    ``patients``); the denominator is every patient who answered the item."""
    rows = []
    for item, levels in worst_levels.groupby("item", sort=True):
        denominator = int(levels["patients"].sum())
        counts = dict(zip(levels["level"].astype(int), levels["patients"].astype(int),
                          strict=True))
        for level, label in enumerate(pro_ctcae_levels(str(item))):
            patients = counts.get(level, 0)
            rows.append({"item": item, "level": level, "severity": label, "patients": patients,
                         "denominator": denominator, "share": patients / denominator})
    return pd.DataFrame(rows, columns=SEVERITY_COLUMNS)


# --- in the engine: aggregates only (engines without local rows, e.g. Spark) -------------------


@dataclass(frozen=True)
class _Aggregates:
    """What the panel needs of a cohort's questionnaires, without per-patient rows."""

    scores: pd.DataFrame
    bands: pd.DataFrame
    followed_days: pd.DataFrame
    severity: pd.DataFrame


def _aggregates_in_engine(cohort: Cohort, options: ProOptions) -> _Aggregates:
    """Per-bin means and SDs, band counts, participants per follow-up day and worst PRO-CTCAE
    levels, each aggregated by the engine: no patient's row leaves it."""
    cur = cohort.db.cursor()
    scale = _per_patient_sql(cohort, options.item,
                             is_presence_item(options.instrument, options.item))
    params = _params(options, options.instrument, options.item)
    scores = cur.execute(f"""
        SELECT week, sum(questionnaires) AS questionnaires, count(*) AS patients,
               avg(score) AS mean_score, stddev_samp(score) AS sd
        FROM ({scale}) bins GROUP BY 1
    """, params).df()  # noqa: S608 - composed of this module's SQL, values are bound
    bands = score_bands(options.instrument, options.item)
    # as ScoreBands.band_of: rounded to 9 decimals, floored, clipped to the end bands
    band_sql = f"""
        SELECT week, least(greatest(CAST(floor(round((score - $band_lower) / $band_width, 9))
                                         AS INTEGER), 0), $band_last) AS band,
               count(*) AS patients
        FROM ({scale}) bins GROUP BY 1, 2
    """  # noqa: S608 - as above
    band_counts = cur.execute(band_sql, {**params, "band_lower": bands.lower,
                                         "band_width": bands.width,
                                         "band_last": bands.count - 1}).df()
    followed = cur.execute(f"""
        SELECT followed_days, count(*) AS patients
        FROM (SELECT DISTINCT patient_id, followed_days FROM ({scale}) bins) d GROUP BY 1
    """, params).df()  # noqa: S608 - as above
    worst_sql = f"""
        SELECT item, level, count(*) AS patients
        FROM (SELECT item, patient_id, CAST(round(max(worst)) AS INTEGER) AS level
              FROM ({_per_patient_sql(cohort, None)}) bins
              WHERE week > 0 AND week <= $ctcae_weeks GROUP BY 1, 2) w
        GROUP BY 1, 2
    """  # noqa: S608 - as above
    worst = cur.execute(worst_sql, {**_params(options, PRO_CTCAE, None),
                                    "ctcae_weeks": options.ctcae_weeks}).df()
    return _Aggregates(
        scores=_with_ci(scores), bands=_with_edges(band_counts, bands), followed_days=followed,
        severity=_severity_table(worst))


def _aggregates_in_process(cohort: Cohort, options: ProOptions) -> _Aggregates:
    """The same aggregates from per-patient rows read into this process (in-process DuckDB:
    one scan, and pandas groups them faster than four more queries)."""
    per_patient = _questionnaires(cohort, options, options.instrument, options.item)
    ctcae = _questionnaires(cohort, options, PRO_CTCAE, None)
    return _Aggregates(
        scores=scale_scores(per_patient),
        bands=score_band_counts(per_patient, score_bands(options.instrument, options.item)),
        followed_days=_followed_days(per_patient),
        severity=ctcae_severity(ctcae, options))


def patient_reported(cohort: Cohort, options: ProOptions | None = None) -> ProResult:
    """Scale score over time, completion and PRO-CTCAE severity of the cohort."""
    options = options or ProOptions()
    in_engine = not cohort.db.local_rows
    parts = (_aggregates_in_engine if in_engine else _aggregates_in_process)(cohort, options)
    direction = (N_("higher is better") if higher_is_better(options.instrument, options.item)
                 else N_("higher is worse"))
    scores_words = (Text(PRESENCE_DEFINITION, baseline=options.baseline_days,
                         weeks=options.max_weeks, bin=options.bin_weeks)
                    if is_presence_item(options.instrument, options.item)
                    else Text(SCORE_DEFINITION, direction=Text(direction),
                              baseline=options.baseline_days, weeks=options.max_weeks,
                              bin=options.bin_weeks))
    definitions: dict[str, str] = {
        "scores": scores_words,
        "completion": Text(COMPLETION_DEFINITION),
        "severity": Text(SEVERITY_DEFINITION, weeks=options.ctcae_weeks),
    }
    reason = None
    if cohort.size == 0:
        reason = Text(N_("the cohort is empty"))
    elif parts.scores.empty and parts.severity.empty:
        reason = Text(N_("no patient of the cohort has patient-reported outcomes in the window"))
    return ProResult(
        options=options, n=cohort.size,
        participants=int(parts.followed_days["patients"].sum()),
        scores=parts.scores,
        completion=_completion(parts.followed_days, parts.scores, options),
        severity=parts.severity,
        score_bands=parts.bands,
        definitions=definitions, empty_reason=reason)
