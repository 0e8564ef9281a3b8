"""One disclosure adapter per analysis result type, found by type (functools.singledispatch).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from queries.analyses.characteristics import POSITIVE_LEVEL, Comparison, Table1, compare
from queries.analyses.feasibility import Feasibility
from queries.analyses.multivariable import CoxModel
from queries.analyses.panels import AnalysisBundle
from queries.analyses.pro import BAND_COLUMNS, Z95, ProResult, score_bands, score_digits
from queries.analyses.response import (
    ResponseResult,
    clopper_pearson,
    difference_test,
    trend_test,
)
from queries.analyses.safety import CumulativeIncidence, SafetyResult
from queries.analyses.strata import UNTESTED
from queries.analyses.survival import (
    MILESTONE_COLUMNS,
    RMST_COLUMNS,
    HazardRatio,
    LogRankResult,
    RmstDifference,
    SurvivalResult,
    cox_two_groups,
    logrank,
    logrank_trend,
    milestones,
    rmst_difference,
    rmst_table,
)
from queries.cohort.attrition import Attrition
from queries.disclosure.attrition import protect_attrition_result
from queries.disclosure.curves import (
    ReleasedCounts,
    at_risk_frame,
    curve_frame,
    curve_rows,
    first_at_or_below_half,
    released_agg,
    stratum_counts,
)
from queries.disclosure.policy import (
    Policy,
    Protected,
    Released,
    percent_of,
    protect_count,
    protect_fraction,
    round_estimate,
)
from queries.disclosure.tables import (
    ProtectedTable,
    _Cells,
    _table_groups,
    int_array,
    protect_cells,
    protect_parts,
    protect_table,
)
from queries.i18n import N_, Text
from queries.snapshot.schema import (
    BOR_CATEGORIES,
    DAYS_PER_MONTH,
    DISEASE_CONTROL,
    NOT_EVALUABLE,
    RECIST_RESPONSES,
    RESPONDERS,
    is_presence_item,
)

_HAS_DIGIT = re.compile(r"\d")


def clean_notes(notes: Sequence[str], policy: Policy) -> list[str]:
    """Notes without numbers (they may hold exact counts) for non-exact policies."""
    if policy.exact:
        return list(notes)
    return [n for n in notes if not _HAS_DIGIT.search(n)]




def _release_column(frame: pd.DataFrame, column: str, policy: Policy) -> list[Released]:
    return [protect_count(v, policy) for v in frame[column]]


def _set_released(frame: pd.DataFrame, column: str, released: list[Released]) -> None:
    frame[column] = int_array(released)
    frame[f"{column}_display"] = [r.display for r in released]


def _p_value(p: Any, policy: Policy) -> Any:
    return round_estimate(p, policy.p_value_decimals)


def _require_known_tables(result: Any, handled: set[str]) -> None:
    """Fail closed: a result table this module does not know would pass through unprotected."""
    unknown = [f.name for f in fields(result)
               if isinstance(getattr(result, f.name), pd.DataFrame) and f.name not in handled]
    if unknown:
        raise TypeError(f"no disclosure rule for {type(result).__name__}.{', '.join(unknown)}")


# --- adapters for the analyses' result types -------------------------------------------------
# Duck-typed on the result classes of queries.feasibility / survival / response / safety /
# characteristics / attrition (imported lazily where needed, to keep this module light).


@dataclass(frozen=True)
class ProtectedFeasibility:
    """Per-site and per-year counts as released (``queries.feasibility.Feasibility``)."""

    snapshot_id: str
    total: Released
    by_site: ProtectedTable  # columns: site, patients
    by_year: ProtectedTable  # columns: year, patients


def protect_feasibility(feasibility: Feasibility, policy: Policy) -> Protected[ProtectedFeasibility]:
    """Protect a Feasibility: each table with secondary suppression and recomputed totals."""
    sites = protect_table(feasibility.by_site, ["patients"], policy, label_column="site")
    years = protect_table(feasibility.by_year, ["patients"], policy, label_column="year")
    total = protect_count(feasibility.total, policy)
    suppressed = ([f"site {s}" for s in sites.suppressed]
                  + [f"year {s}" for s in years.suppressed]
                  + (["total: under threshold"] if total.suppressed else []))
    result = ProtectedFeasibility(feasibility.snapshot_id, total, sites.result, years.result)
    return Protected(result, suppressed)


# survival ---------------------------------------------------------------------------------


def _survival_summary(summary: pd.DataFrame, counts: dict[str, ReleasedCounts],
                      rows: dict[str, list[dict[str, Any]]], policy: Policy) -> pd.DataFrame:
    """Shown strata: released size and events; medians (with CI) read off the released curve."""
    out = []
    exact = dict(zip(summary["stratum"].astype(str), summary["events"], strict=True))
    for stratum, released in counts.items():
        events = protect_count(exact[stratum], policy, structural_zero=True)
        times = np.array([r["time_days"] for r in rows[stratum]], dtype=float)
        row: dict[str, Any] = {"stratum": stratum, "n": released.size,
                               "events": events.value}
        for prefix, column in (("median", "survival"), ("median_ci_lower", "ci_lower"),
                               ("median_ci_upper", "ci_upper")):
            values = np.array([r[column] for r in rows[stratum]], dtype=float)
            days = first_at_or_below_half(times, values)
            row[f"{prefix}_days"] = days
            row[f"{prefix}_months"] = None if days is None else days / DAYS_PER_MONTH
        row["n_display"] = f"{released.size:,}"
        row["events_display"] = events.display
        out.append(row)
    columns = [*summary.columns, *[c for c in ("n_display", "events_display")
                                   if c not in summary.columns]]
    frame = pd.DataFrame(out, columns=columns)
    for col in ("n", "events"):
        frame[col] = pd.array(frame[col].tolist(), dtype="Int64")
    return frame


TESTS_FROM_RELEASED = Text(N_("tests, hazard ratio, milestone rates and restricted mean "
                             "survival are computed from the released (rounded) counts, up to "
                             "where each curve ends"))
CLINICIANS_ONLY = Text(N_("shown to clinicians only for now"))
FOLLOW_UP_WITHHELD = Text(N_("median follow-up is shown to clinicians only"))
# Why a test is withheld, per test (a whole sentence each, so that each reads well translated).
_NO_TEST_SMALL_GROUP = {"log-rank test": N_("no log-rank test: a group has fewer than {k} "
                                            "patients"),
                        "trend test": N_("no trend test: a group has fewer than {k} patients")}
_NO_TEST_FEW_EVENTS = {"log-rank test": N_("no log-rank test: too few released events"),
                       "trend test": N_("no trend test: too few released events")}


@dataclass(frozen=True)
class _ReleasedStatistics:
    """The panel's tests and summaries recomputed from released counts only."""

    logrank: LogRankResult | None
    trend: LogRankResult | None
    hazard_ratio: HazardRatio | None
    milestones: pd.DataFrame
    rmst: pd.DataFrame
    rmst_difference: RmstDifference | None


def _released_statistics(result: SurvivalResult, counts: dict[str, ReleasedCounts],
                         curve: pd.DataFrame, policy: Policy) -> _ReleasedStatistics:
    """Tests on ``released_agg``; milestones and RMST read off the released curve."""
    agg = released_agg(counts, policy)
    shown = set(counts)

    def tested(test: LogRankResult | None) -> list[str] | None:
        strata = [str(s) for s in test.strata] if test is not None else []
        return strata if strata and set(strata) <= shown else None

    hr = result.hazard_ratio
    pair = (str(hr.group), str(hr.reference)) if hr is not None else None
    pair = pair if pair is not None and set(pair) <= shown else None
    logrank_strata, trend_strata = tested(result.logrank), tested(result.trend)
    months = sorted({float(m) for m in result.milestones["time_months"]})
    horizon = result.rmst["horizon_months"].dropna()
    rmst = rmst_table(curve, float(horizon.iloc[0])) if len(horizon) else \
        pd.DataFrame(columns=RMST_COLUMNS)
    return _ReleasedStatistics(
        logrank=logrank(agg, logrank_strata) if logrank_strata else None,
        trend=logrank_trend(agg, trend_strata) if trend_strata else None,
        hazard_ratio=cox_two_groups(agg, *pair) if pair else None,
        milestones=milestones(curve, months) if len(curve) else
        pd.DataFrame(columns=MILESTONE_COLUMNS),
        rmst=rmst, rmst_difference=rmst_difference(rmst, *pair) if pair else None)


def _protect_test(exact: LogRankResult | None, released: LogRankResult | None,
                  shown: set[str], name: str, policy: Policy
                  ) -> tuple[LogRankResult | None, str | None]:
    if exact is None:
        return None, None
    if not {str(s) for s in exact.strata} <= shown:
        return None, Text(_NO_TEST_SMALL_GROUP[name], k=policy.survival_min_stratum)
    if released is None:
        return None, Text(_NO_TEST_FEW_EVENTS[name])
    return replace(released, statistic=round_estimate(released.statistic, 1),
                   p_value=_p_value(released.p_value, policy)), None


def _protect_hazard_ratio(exact: HazardRatio | None, released: HazardRatio | None,
                          shown: set[str], policy: Policy
                          ) -> tuple[HazardRatio | None, str | None]:
    if exact is None:
        return None, None
    if "stratified" in exact.method:
        return None, Text(N_("no adjusted hazard ratio: it would need counts per adjustment "
                             "group, which are not released"))
    if not {str(exact.group), str(exact.reference)} <= shown:
        return None, Text(N_("no hazard ratio: a group has fewer than {k} patients"),
                          k=policy.survival_min_stratum)
    if released is None:
        return None, Text(N_("no hazard ratio: too few released events in a group"))
    digits = policy.estimate_decimals
    return replace(released, hr=round_estimate(released.hr, digits),
                   ci_lower=round_estimate(released.ci_lower, digits),
                   ci_upper=round_estimate(released.ci_upper, digits),
                   coef=round_estimate(released.coef, digits),
                   se=round_estimate(released.se, digits),
                   p_value=_p_value(released.p_value, policy),
                   method=f"{released.method}, from released counts"), None


def _rounded(frame: pd.DataFrame, columns: Sequence[str], decimals: int | None) -> pd.DataFrame:
    out = frame.copy()
    for col in columns:
        out[col] = [round_estimate(v, decimals) for v in out[col]]
    return out


def _released_milestones(frame: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Survival at fixed months, read off the released curve; none past where it ends."""
    out = _rounded(frame, ("survival", "ci_lower", "ci_upper"), policy.estimate_decimals)
    out["at_risk"] = pd.array([None if pd.isna(s) else a for s, a in
                               zip(out["survival"], out["at_risk"], strict=True)], dtype="Int64")
    return out


def _released_rmst(released: _ReleasedStatistics
                   ) -> tuple[pd.DataFrame, RmstDifference | None]:
    rmst = _rounded(released.rmst, ("rmst_months", "se_months", "ci_lower_months",
                                    "ci_upper_months"), 1)
    diff = released.rmst_difference
    if diff is not None:
        diff = replace(diff, **{f.name: round_estimate(getattr(diff, f.name), 1)
                                for f in fields(diff) if f.name.endswith("_months")
                                and f.name != "horizon_months"})
    return rmst, diff


def _released_warnings(counts: dict[str, ReleasedCounts], summary: pd.DataFrame,
                       policy: Policy) -> list[str]:
    """Small-group warnings from released counts: shown groups whose events are withheld."""
    events = dict(zip(summary["stratum"].astype(str), summary["events"], strict=True))
    return [Text(N_("{group}: fewer than {k} events, so its estimates and any test involving "
                    "it are unreliable"), group=s, k=policy.min_count) for s in counts
            if protect_count(events[s], policy).value is None]


def protect_survival(result: SurvivalResult, policy: Policy) -> Protected[Any]:
    """Protect a ``queries.survival.SurvivalResult`` (returns a new one of the same type).

    Every number is computed from released counts (queries/disclosure/curves.py): curves,
    CIs, numbers at risk, medians with their CI, milestone rates, restricted mean survival,
    the log-rank and trend tests and the hazard ratio (or they are withheld, with the reason
    in ``notes``); strata under ``survival_min_stratum`` are hidden; ``excluded`` released
    (None when withheld); notes with numbers dropped. Median follow-up (reverse Kaplan-Meier)
    is withheld: the released counts stop where a curve ends.
    """
    if policy.exact:
        return Protected(result)
    _require_known_tables(result, {"curve", "summary", "at_risk", "milestones", "rmst",
                                   "follow_up"})
    counts, hidden = stratum_counts(result.curve, policy)
    rows = curve_rows(counts, policy, result.ci_method)
    curve = curve_frame(rows)
    released = _released_statistics(result, counts, curve, policy)
    shown = set(counts)
    logrank_test, logrank_note = _protect_test(
        result.logrank, released.logrank, shown, "log-rank test", policy)
    trend, trend_note = _protect_test(result.trend, released.trend, shown, "trend test", policy)
    hazard_ratio, hr_note = _protect_hazard_ratio(
        result.hazard_ratio, released.hazard_ratio, shown, policy)
    rmst, rmst_difference = _released_rmst(released)
    excluded = protect_count(result.excluded, policy, structural_zero=True)
    notes = clean_notes(result.notes, policy)
    if excluded.value != 0:
        left_out = result.definition.left_out if result.definition else "follow-up after index"
        notes.append(Text(N_("{n} patients without {left_out} (or with a time before index) "
                             "were left out"), n=excluded.display, left_out=left_out))
    notes += [n for n in (logrank_note, trend_note, hr_note) if n]
    notes.append(TESTS_FROM_RELEASED)
    notes.append(FOLLOW_UP_WITHHELD)
    months = sorted({float(m) for m in result.at_risk["time_months"]}) \
        if "time_months" in result.at_risk else []
    protected = replace(
        result, curve=curve,
        summary=_survival_summary(result.summary, counts, rows, policy),
        at_risk=at_risk_frame(counts, months, policy), logrank=logrank_test, trend=trend,
        hazard_ratio=hazard_ratio, excluded=excluded.count, notes=notes,
        milestones=_released_milestones(released.milestones, policy), rmst=rmst,
        rmst_difference=rmst_difference, follow_up=result.follow_up.iloc[0:0],
        warnings=_released_warnings(counts, result.summary, policy),
    )
    if protected.empty_reason is None and protected.curve.empty:
        protected = replace(protected, empty_reason=Text(N_(
            "every group has fewer than {k} patients, so the curve is hidden to protect their "
            "privacy"), k=policy.survival_min_stratum))
    suppressed = [f"stratum {s}: fewer than {policy.survival_min_stratum} patients"
                  for s in hidden]
    return Protected(protected, [f"{result.endpoint}: {s}" for s in suppressed])


# response -----------------------------------------------------------------------------------

_BOR = BOR_CATEGORIES
_RESPONDERS, _CONTROL, _EVALUABLE = (tuple(_BOR.index(b) for b in group) for group in (
    RESPONDERS, DISEASE_CONTROL, RECIST_RESPONSES))


def _bor_cells(counts: pd.DataFrame, strata: list[str], policy: Policy) -> _Cells:
    """Stratum x BOR cells with row, column, responder, control and evaluable groups."""
    wide = (counts.pivot_table(index="stratum", columns="bor", values="n", aggfunc="sum",
                               fill_value=0)
            .reindex(index=strata, columns=list(_BOR), fill_value=0).astype("int64"))
    cols = len(_BOR)
    groups = _table_groups(len(strata), cols)
    for i in range(len(strata)):
        for members in (_RESPONDERS, _CONTROL, _EVALUABLE):
            groups.append([i * cols + j for j in members])
    return protect_cells(wide.to_numpy().reshape(-1).tolist(), groups, policy)


def _rate(num: Released, den: Released, policy: Policy) -> tuple[Any, Any, Any]:
    fraction = protect_fraction(num, den, policy)
    if fraction is None or num.value is None or den.value is None:
        return None, None, None
    low, high = clopper_pearson(int(num.value), int(den.value))
    return (fraction, round_estimate(low, policy.estimate_decimals),
            round_estimate(high, policy.estimate_decimals))


def _in_row(i: int, members: Sequence[int]) -> list[int]:
    return [i * len(_BOR) + j for j in members]


def _rate_rows(strata: list[str], cells: _Cells, denominator: str, policy: Policy) -> list[dict[str, Any]]:
    rows = []
    for i, stratum in enumerate(strata):
        n = _stratum_size(cells, i, policy)
        den = cells.total(_in_row(i, _EVALUABLE)) if denominator == "evaluable" else n
        responders = cells.total(_in_row(i, _RESPONDERS))
        control = cells.total(_in_row(i, _CONTROL))
        orr, dcr = _rate(responders, den, policy), _rate(control, den, policy)
        not_evaluable = cells.cell(_in_row(i, [_BOR.index(NOT_EVALUABLE)])[0])
        rows.append({
            "stratum": stratum, "n": n.value, "not_evaluable": not_evaluable.value,
            "denominator": den.value, "responders": responders.value,
            "orr": orr[0], "orr_ci_lower": orr[1], "orr_ci_upper": orr[2],
            "disease_control": control.value, "dcr": dcr[0], "dcr_ci_lower": dcr[1],
            "dcr_ci_upper": dcr[2], "n_display": n.display, "denominator_display": den.display,
            "responders_display": responders.display, "disease_control_display": control.display,
        })
    return rows


def _stratum_size(cells: _Cells, i: int, policy: Policy) -> Released:
    """A stratum's released size: its exact size rounded once, like every other released size
    (so an unstratified table shows the cohort size of the page header), not the sum of its
    rounded cells."""
    return protect_count(sum(cells.values[j] for j in _in_row(i, range(len(_BOR)))), policy)


def _released_counts(strata: list[str], cells: _Cells, policy: Policy) -> pd.DataFrame:
    cols, rows = len(_BOR), []
    for i, stratum in enumerate(strata):
        total = _stratum_size(cells, i, policy)
        for j, bor in enumerate(_BOR):
            cell = cells.cell(i * cols + j)
            rows.append({"stratum": stratum, "bor": bor, "n": cell.value,
                         "pct": protect_fraction(cell, total, policy), "n_display": cell.display})
    out = pd.DataFrame(rows, columns=["stratum", "bor", "n", "pct", "n_display"])
    out["n"] = pd.array(out["n"].tolist(), dtype="Int64")
    return out


def protect_response(result: ResponseResult, policy: Policy) -> Protected[Any]:
    """Protect a ``queries.response.ResponseResult`` (returns a new one of the same type).

    The stratum x best-response table gets secondary suppression over rows, columns and the
    responder (CR+PR), disease-control (CR+PR+SD) and evaluable groups, so ORR and DCR use
    released totals; rates and their exact CIs are recomputed from released numbers; the
    test across strata is recomputed from released numbers (None if any is withheld).
    """
    if policy.exact:
        return Protected(result)
    _require_known_tables(result, {"counts", "rates"})
    if result.rates.empty:
        return Protected(result)
    strata = [str(s) for s in result.rates["stratum"]]
    counts = result.counts.assign(stratum=result.counts["stratum"].astype(str))
    cells = _bor_cells(counts, strata, policy)
    rates = pd.DataFrame(_rate_rows(strata, cells, result.denominator, policy))
    test = None
    needed = ["responders", "disease_control", "denominator"]
    if result.test is not None and rates[needed].notna().all().all():
        test = difference_test(rates.astype({c: int for c in needed}),
                               result.test.outcome.lower())
        if test is not None:
            test = replace(test, statistic=None, p_value=_p_value(test.p_value, policy))
    trend = None
    if result.trend is not None and rates[needed].notna().all().all():
        trend = trend_test(rates.astype({c: int for c in needed}), result.stratification,
                           result.trend.outcome.lower())
        if trend is not None:
            trend = replace(trend, statistic=None, p_value=_p_value(trend.p_value, policy))
    labels = [f"{s} / {b}" for s in strata for b in _BOR]
    protected = replace(result, counts=_released_counts(strata, cells, policy), rates=rates,
                        test=test, trend=trend, notes=clean_notes(result.notes, policy))
    return Protected(protected, [f"response {s}" for s in cells.describe(labels)])


# safety -------------------------------------------------------------------------------------

_AE_COUNTS = (("patients_any_grade", "pct_any_grade"), ("patients_grade3plus", "pct_grade3plus"))


def _onset(days: Any, count: Released) -> tuple[Any, Any]:
    if count.suppressed or days is None or pd.isna(days):
        return None, None
    return float(round(days)), round(float(round(days)) / DAYS_PER_MONTH, 1)


def _released_ci(num: Released, den: Released, shown: Any) -> tuple[Any, Any]:
    """Clopper-Pearson CI of released numbers, only where their proportion is shown."""
    if shown is None or num.value is None or den.value is None or int(den.value) <= 0:
        return None, None
    return clopper_pearson(int(num.value), int(den.value))


def _protect_ae_rows(frame: pd.DataFrame, denominators: list[Released],
                     policy: Policy) -> pd.DataFrame:
    out = frame.copy()
    released = {}
    for count_col, pct_col in _AE_COUNTS:
        released[count_col] = _release_column(out, count_col, policy)
        _set_released(out, count_col, released[count_col])
        out[pct_col] = [protect_fraction(r, d, policy)
                        for r, d in zip(released[count_col], denominators, strict=True)]
        if f"{pct_col}_ci_lower" in out.columns:  # exact CIs from released numbers only
            cis = [_released_ci(r, d, pct) for r, d, pct in
                   zip(released[count_col], denominators, out[pct_col], strict=True)]
            out[f"{pct_col}_ci_lower"] = [ci[0] for ci in cis]
            out[f"{pct_col}_ci_upper"] = [ci[1] for ci in cis]
    any_grade = released["patients_any_grade"]
    onset = [_onset(d, c) for d, c in zip(frame["median_onset_days"], any_grade, strict=True)]
    out["median_onset_days"] = [o[0] for o in onset]
    out["median_onset_months"] = [o[1] for o in onset]
    return out


def _protect_ae_overall(overall: dict[str, Any], size: int, cohort: Released, policy: Policy) -> dict[str, Any]:
    # Patients without any event = cohort - patients with one: protected as parts of the whole.
    any_grade = protect_parts([overall.get("patients_any_grade") or 0], size, policy).result[0]
    grade3 = protect_count(overall.get("patients_grade3plus") or 0, policy)
    if any_grade.suppressed:
        grade3 = Released(None, policy.mask_display, True)
    onset = _onset(overall.get("median_onset_days"), any_grade)
    return {"patients_any_grade": any_grade.value,
            "pct_any_grade": protect_fraction(any_grade, cohort, policy),
            "patients_grade3plus": grade3.value,
            "pct_grade3plus": protect_fraction(grade3, cohort, policy),
            "median_onset_days": onset[0], "median_onset_months": onset[1],
            "patients_any_grade_display": any_grade.display,
            "patients_grade3plus_display": grade3.display}


def _regimen_sizes(regimen: pd.DataFrame, cohort_size: int, policy: Policy) -> list[Released]:
    """Patients per regimen; as parts of the cohort when they add up to no more than it."""
    if "patients" not in regimen:
        return [Released(None, policy.mask_display, True)] * len(regimen)
    counts = [int(v) for v in regimen["patients"]]
    if sum(counts) <= int(cohort_size):
        return protect_parts(counts, int(cohort_size), policy).result
    return [protect_count(v, policy) for v in counts]


def _protect_ae_table(frame: pd.DataFrame, size: int, cohort: Released,
                      policy: Policy) -> pd.DataFrame:
    """One AE table: over the cohort, or (with a ``patients`` column) over its groups."""
    if frame.empty:
        return frame.copy()  # no rows, nothing to release
    if "patients" in frame.columns:
        sizes = _regimen_sizes(frame, size, policy)
        out = _protect_ae_rows(frame, sizes, policy)
        _set_released(out, "patients", sizes)
        return out
    if "patients_any_grade" in frame.columns:
        return _protect_ae_rows(frame, [cohort] * len(frame), policy)
    raise TypeError(f"no disclosure rule for an AE table with columns {list(frame.columns)}")


def protect_safety(result: SafetyResult, policy: Policy) -> Protected[Any]:
    """Protect a ``queries.analyses.safety.SafetyResult`` (returns a new one of the same type).

    Every DataFrame field is protected (an unknown table shape is refused, so a new table
    cannot slip through unprotected): patient counts rounded or withheld (``*_display``
    columns added), percentages from released numbers over the released cohort, or for
    tables with a ``patients`` column (regimens, drug classes) over their released group
    sizes; median onset only where the count is shown, rounded to whole days.
    """
    if policy.exact:
        return Protected(result)
    size = result.cohort_size
    assert size is not None  # None only in an already protected copy
    cohort = protect_count(size, policy)
    suppressed: list[str] = []
    tables: dict[str, Any] = {}
    for f in fields(result):
        frame = getattr(result, f.name)
        if not isinstance(frame, pd.DataFrame):
            continue
        tables[f.name] = _protect_ae_table(frame, size, cohort, policy)
        withheld = int(tables[f.name].get("patients_any_grade", pd.Series()).isna().sum())
        if withheld:
            suppressed.append(f"{f.name}: {withheld} rows under threshold")
    protected = replace(
        result, cohort_size=cohort.count,
        overall=_protect_ae_overall(result.overall, size, cohort, policy),
        notes=clean_notes(result.notes, policy), **tables,
    )
    return Protected(protected, suppressed)


# characteristics (Table 1) ------------------------------------------------------------------


def _variable_cells(part: pd.DataFrame, n: int, policy: Policy) -> tuple[_Cells, list[int]]:
    """Cells of one variable's levels (+ unknown remainder), and the 'tested' group if any."""
    values = [int(v) for v in part["n"]]
    remainder = n - sum(values)
    cells_in = values + ([remainder] if remainder > 0 else [])
    groups = [list(range(len(cells_in)))]
    tested = [i for i, level in enumerate(part["level"]) if level != UNTESTED]
    if len(tested) < len(values):
        groups.append(tested)
    return protect_cells(cells_in, groups, policy), tested


AGE_NOTE = Text(N_("age median, quartiles, mean and SD are shown to clinicians only (they "
                   "are computed from exact ages); the age groups are released"))


def _protect_age(row: dict[Hashable, Any], n: int, cohort: Released,
                 policy: Policy) -> dict[Hashable, Any]:
    known = protect_parts([int(row["n"] or 0)], n, policy).result[0]
    out = {**row, "n": known.value, "n_display": known.display, "denominator": cohort.value,
           "pct": protect_fraction(known, cohort, policy)}
    # Order statistics and means of exact ages are not functions of released counts (a near
    # twin's mean age moves with each patient removed): only the released age groups are shown.
    for stat in ("median", "q1", "q3", "mean", "sd"):
        out[stat] = None
    return out


def _protect_levels(part: pd.DataFrame, n: int, cohort: Released,
                    policy: Policy) -> tuple[list[dict[Hashable, Any]], _Cells, Released, list[str]]:
    cells, tested = _variable_cells(part, n, policy)
    tested_total = cells.total(tested) if len(tested) < len(part) else cohort
    rows = []
    for i, row in enumerate(part.to_dict("records")):
        cell = cells.cell(i)
        # one denominator for the whole of Table 1: the released cohort size
        rows.append({**row, "n": cell.value, "n_display": cell.display,
                     "denominator": cohort.value, "pct": protect_fraction(cell, cohort, policy)})
    labels = [f"{r['key']} / {r['level']}" for r in part.to_dict("records")] + ["unknown"]
    return rows, cells, tested_total, cells.describe(labels)


def _protect_biomarkers(markers: pd.DataFrame, released: dict[str, Any], cohort: Released,
                        policy: Policy) -> pd.DataFrame:
    out = []
    for row in markers.to_dict("records"):
        tested, positive = released.get(row["key"], (None, None))
        tested = tested or Released(None, policy.mask_display, True)
        positive = positive or Released(None, policy.mask_display, True)
        out.append({**row, "tested": tested.value, "pct_tested": protect_fraction(
            tested, cohort, policy), "positive": positive.value,
            "pct_positive_of_tested": protect_fraction(positive, tested, policy),
            "tested_display": tested.display, "positive_display": positive.display})
    return pd.DataFrame(out, columns=[*markers.columns, "tested_display", "positive_display"])


def protect_table_one(table: Table1, policy: Policy) -> Protected[Any]:
    """Protect a ``queries.analyses.characteristics.Table1`` (returns a new one of the same type).

    Each variable's levels (with the unknown remainder and, for biomarkers, the tested
    subtotal) get secondary suppression against the cohort size; percentages are from
    released numbers; age statistics only when >= threshold ages are known (1 decimal).
    """
    if policy.exact:
        return Protected(table)
    _require_known_tables(table, {"rows", "biomarkers"})
    assert table.n is not None  # None only in an already protected copy
    n = int(table.n)
    cohort = protect_count(n, policy)
    rows: list[dict[Hashable, Any]] = []
    suppressed: list[str] = []
    markers: dict[Any, tuple[Released, Released | None]] = {}
    for key, part in table.rows.groupby("key", sort=False):
        records = part.to_dict("records")
        if key == "n":
            rows += [{**r, "n": cohort.value, "n_display": cohort.display,
                      "denominator": cohort.value,
                      "pct": None if cohort.suppressed else r["pct"]} for r in records]
        elif key == "age":
            rows += [_protect_age(r, n, cohort, policy) for r in records]
        else:
            released, cells, tested_total, hidden = _protect_levels(part, n, cohort, policy)
            rows += released
            suppressed += hidden
            positive = [cells.cell(i) for i, r in enumerate(records)
                        if r["level"] == POSITIVE_LEVEL.get(str(key))]
            markers[key] = (tested_total, positive[0] if positive else None)
    frame = pd.DataFrame(rows, columns=[*table.rows.columns, "n_display"])
    frame["n"] = pd.array(frame["n"].tolist(), dtype="Int64")
    protected = replace(table, n=cohort.count, rows=frame,
                        biomarkers=_protect_biomarkers(table.biomarkers, markers, cohort, policy),
                        notes=[*clean_notes(table.notes, policy), AGE_NOTE])
    return Protected(protected, [f"table 1 {s}" for s in suppressed])


def protect_comparison(comparison: Comparison, policy: Policy) -> Protected[Any]:
    """Protect a ``queries.analyses.characteristics.Comparison`` of two cohorts.

    Each side's Table 1 is protected on its own; the comparison is then recomputed from the
    two protected tables, so every count, percentage and SMD comes from released numbers and
    the SMD of a variable with a withheld level is withheld.
    """
    if policy.exact:
        return Protected(comparison)
    _require_known_tables(comparison, {"rows", "variables"})
    if comparison.first is None or comparison.second is None:
        raise TypeError("a Comparison without its two Table 1s cannot be protected")
    first = protect_table_one(comparison.first, policy)
    second = protect_table_one(comparison.second, policy)
    suppressed = [f"cohort A {s}" for s in first.suppressed]
    suppressed += [f"cohort B {s}" for s in second.suppressed]
    return Protected(compare(first.result, second.result), suppressed)


# dispatch -----------------------------------------------------------------------------------

def protect_bundle(bundle: AnalysisBundle, policy: Policy) -> Protected[AnalysisBundle]:
    """Protect every panel of a ``queries.analyses.panels.AnalysisBundle``."""
    suppressed: list[str] = []
    changes: dict[str, Any] = {}
    survival = {}
    for endpoint, result in bundle.survival.items():
        protected = protect_survival(result, policy)
        survival[endpoint] = protected.result
        suppressed += protected.suppressed
    changes["survival"] = survival
    for name, adapter in (("response", protect_response), ("safety", protect_safety),
                          ("characteristics", protect_table_one)):
        if getattr(bundle, name) is not None:
            protected = adapter(getattr(bundle, name), policy)
            changes[name] = protected.result
            suppressed += protected.suppressed
    if bundle.cox:
        cox = {k: protect_cox_model(v, policy) for k, v in bundle.cox.items()}
        changes["cox"] = {k: v.result for k, v in cox.items()}
        suppressed += [s for v in cox.values() for s in v.suppressed]
    if bundle.pro is not None:
        protected_pro = protect_pro(bundle.pro, policy)
        changes["pro"] = protected_pro.result
        suppressed += protected_pro.suppressed
    if bundle.irae_incidence is not None:
        protected_cif = protect_cumulative_incidence(bundle.irae_incidence, policy)
        changes["irae_incidence"] = protected_cif.result
        suppressed += protected_cif.suppressed
    if not policy.exact:
        changes["n"] = protect_count(bundle.n, policy).value
    return Protected(replace(bundle, **changes), suppressed)


def protect_cox_model(result: CoxModel, policy: Policy) -> Protected[CoxModel]:
    """Not yet recomputed from released counts: withheld (emptied) for protected roles."""
    if policy.exact:
        return Protected(result)
    empty = replace(result, terms=result.terms.iloc[0:0], n=0, events=0, left_out=0, notes=[],
                    empty_reason=CLINICIANS_ONLY)
    return Protected(empty, [f"cox {result.endpoint}: withheld"])


def protect_cumulative_incidence(result: CumulativeIncidence,
                                 policy: Policy) -> Protected[CumulativeIncidence]:
    """Not yet recomputed from released counts: withheld (emptied) for protected roles."""
    if policy.exact:
        return Protected(result)
    empty = replace(result, groups=result.groups.iloc[0:0], curve=result.curve.iloc[0:0],
                    milestones=result.milestones.iloc[0:0],
                    empty_reason=CLINICIANS_ONLY)
    return Protected(empty, ["irae_incidence: withheld"])


# Shown beside the score definition to protected roles: how their mean was computed.
BANDED_MEAN_NOTE = N_(
    "For this role the mean and its 95% CI are computed from the patients' scores grouped in "
    "{bands}: a band with fewer than {k} patients is merged with its neighbour, each band's "
    "count is rounded to the nearest {r}, and each patient counts at the midpoint of their "
    "band, spread evenly across it.")
# The same for a yes/no item (two bands, no and yes, whose patients sit at 0 and 1 exactly).
PRESENCE_SHARE_NOTE = N_(
    "For this role the share answering yes and its 95% CI are computed from the released "
    "counts of patients answering no and yes in the bin, each rounded to the nearest {r}; a bin "
    "where either count is below {k} is not shown.")


@dataclass(frozen=True)
class ReleasedBand:
    """A merged score band of one bin with its released patient count."""

    lower: float
    upper: float
    patients: int


def released_score_bands(bands: pd.DataFrame, policy: Policy) -> list[ReleasedBand]:
    """One bin's score bands merged from the low end until each holds at least the policy's
    small-count threshold (a short last band joins the one before), each count released.

    Empty bands are not rows, so a merged band spans its outermost non-empty bands only.
    """
    threshold = max(policy.min_count, 1)  # as ``protect_count`` withholds
    ordered = bands.sort_values("band")
    merged: list[ReleasedBand] = []  # with exact counts until released below
    for lower, upper, patients in zip(ordered["band_lower"].tolist(),
                                      ordered["band_upper"].tolist(),
                                      ordered["patients"].tolist(), strict=True):
        if merged and merged[-1].patients < threshold:
            merged[-1] = replace(merged[-1], upper=float(upper),
                                 patients=merged[-1].patients + int(patients))
        else:
            merged.append(ReleasedBand(float(lower), float(upper), int(patients)))
    if len(merged) > 1 and merged[-1].patients < threshold:
        last = merged.pop()
        merged[-1] = replace(merged[-1], upper=last.upper,
                             patients=merged[-1].patients + last.patients)
    released = [replace(band, patients=protect_count(band.patients, policy).count or 0)
                for band in merged]
    return [band for band in released if band.patients]


def banded_mean(bands: Sequence[ReleasedBand], spread: bool = True
                ) -> tuple[float, float, int]:
    """Mean, 95% CI half-width and N of scores known only by their bands' released counts.

    Each patient counts at the band's midpoint and is spread uniformly within the band, so
    the variance is the midpoints' spread plus the within-band variance width² / 12; without
    ``spread`` (a yes/no item: every patient exactly at 0 or 1) the midpoints' spread only.
    """
    counts = np.array([b.patients for b in bands], dtype=float)
    midpoints = np.array([(b.lower + b.upper) / 2 for b in bands])
    widths = np.array([b.upper - b.lower for b in bands]) if spread else np.zeros(len(bands))
    n = int(counts.sum())
    mean = float((counts * midpoints).sum() / n)
    variance = float((counts * ((midpoints - mean) ** 2 + widths ** 2 / 12)).sum() / (n - 1))
    return mean, Z95 * np.sqrt(variance) / np.sqrt(n), n


def _pro_scores(scores: pd.DataFrame, bands: pd.DataFrame, policy: Policy,
                digits: int = 1, presence: bool = False) -> tuple[pd.DataFrame, int]:
    """Bins with a released patient count; counts rounded; each bin's mean and CI computed
    from its released score-band counts only (``released_score_bands``), never the exact ones,
    rounded to ``digits`` decimals. For a yes/no item (``presence``) the mean is the share
    answering yes from the released no and yes counts, and a bin where they had to be merged
    (either under the threshold) is hidden: a merged band's midpoint is no share."""
    rows, hidden = [], 0
    for row in scores.to_dict("records"):
        patients = protect_count(int(row["patients"]), policy)
        questionnaires = protect_count(int(row["questionnaires"]), policy)
        released = released_score_bands(bands[bands["week"] == row["week"]], policy)
        merged = presence and (len(released) != 2
                               or any(b.upper - b.lower > 1.0 for b in released))
        if (patients.suppressed or patients.value is None or patients.value <= 1
                or sum(b.patients for b in released) <= 1 or merged):
            hidden += 1
            continue
        mean, half, _n = banded_mean(released, spread=not presence)
        rows.append({"week": row["week"], "questionnaires": questionnaires.value,
                     "patients": patients.value, "mean_score": round(mean, digits),
                     "ci_lower": round(mean - half, digits),
                     "ci_upper": round(mean + half, digits)})
    return pd.DataFrame(rows, columns=list(scores.columns)), hidden


def _pro_share_rows(frame: pd.DataFrame, num: str, den: str, share: str,
                    policy: Policy) -> pd.DataFrame:
    """Counts released; each share from the released numerator and denominator only."""
    out = frame.copy()
    nums = [protect_count(int(v), policy) for v in frame[num]]
    dens = [protect_count(int(v), policy) for v in frame[den]]
    out[num] = [r.value for r in nums]
    out[den] = [r.value for r in dens]
    out[share] = [percent_of(n, d, policy).value for n, d in zip(nums, dens, strict=True)]
    out[share] = [None if v is None else float(v) / 100 for v in out[share]]
    return out


def _pro_severity(frame: pd.DataFrame, policy: Policy) -> tuple[pd.DataFrame, list[str]]:
    """Each item's levels as parts of its released whole: a small level is hidden with a
    second one (secondary suppression), so the item's total minus the shown levels cannot
    give it back; each share from released counts only."""
    out = frame.copy().astype({"patients": object, "denominator": object, "share": object})
    suppressed: list[str] = []
    for item, rows in frame.groupby("item", sort=False):
        total = protect_count(int(rows["denominator"].iloc[0]), policy)
        parts = protect_parts([int(v) for v in rows["patients"]],
                              int(rows["denominator"].iloc[0]), policy,
                              labels=[str(v) for v in rows["severity"]])
        out.loc[rows.index, "patients"] = [p.value for p in parts.result]
        out.loc[rows.index, "denominator"] = total.value
        out.loc[rows.index, "share"] = [
            None if (pct := percent_of(p, total, policy).value) is None else float(pct) / 100
            for p in parts.result]
        suppressed += [f"pro severity {item}: {s}" for s in parts.suppressed]
    for column in ("patients", "denominator", "share"):
        out[column] = pd.to_numeric(out[column], errors="coerce")  # withheld: NaN
    return out, suppressed


def protect_pro(result: ProResult, policy: Policy) -> Protected[ProResult]:
    """PROs for a role: small bins hidden, counts rounded, rates and mean scores from released
    counts; the score-band histogram itself is not released."""
    if policy.exact:
        return Protected(result)
    _require_known_tables(result, {"scores", "completion", "severity", "score_bands"})
    options = result.options
    presence = is_presence_item(options.instrument, options.item)
    scores, hidden = _pro_scores(result.scores, result.score_bands, policy,
                                 score_digits(options.instrument, options.item), presence)
    completion = _pro_share_rows(result.completion, "patients_answered", "patients_followed",
                                 "completion", policy)
    severity, hidden_levels = _pro_severity(result.severity, policy)
    participants = protect_count(result.participants or 0, policy)
    size = protect_count(result.n or 0, policy)
    suppressed = [f"pro scores: {hidden} bin(s) with few patients hidden"] if hidden else []
    suppressed += hidden_levels
    note = (Text(PRESENCE_SHARE_NOTE, k=max(policy.min_count, 1), r=policy.rounding)
            if presence else
            Text(BANDED_MEAN_NOTE, bands=Text(score_bands(options.instrument, options.item).words),
                 k=max(policy.min_count, 1), r=policy.rounding))
    definitions: dict[str, str] = {}
    for name, words in result.definitions.items():
        definitions[name] = words
        if name == "scores":  # how the role's mean was computed, right after what it is
            definitions["scores_release"] = note
    definitions.setdefault("scores_release", note)
    return Protected(replace(result, scores=scores, completion=completion, severity=severity,
                             score_bands=pd.DataFrame(columns=BAND_COLUMNS),
                             definitions=definitions,
                             participants=participants.count, n=size.count,
                             participants_display=participants.display,
                             n_display=size.display), suppressed)


@functools.singledispatch
def protect_result(result: object, policy: Policy) -> Protected[Any]:
    """Protect any analysis result, dispatched on its type; a type without an adapter fails
    closed rather than passing through unprotected."""
    raise TypeError(f"no disclosure adapter for {type(result).__name__}")


for _type, _adapter in ((Feasibility, protect_feasibility), (Attrition, protect_attrition_result),
                        (SurvivalResult, protect_survival), (ResponseResult, protect_response),
                        (SafetyResult, protect_safety),
                        (CumulativeIncidence, protect_cumulative_incidence),
                        (CoxModel, protect_cox_model),
                        (Table1, protect_table_one),
                        (Comparison, protect_comparison), (AnalysisBundle, protect_bundle),
                        (ProResult, protect_pro)):
    protect_result.register(_type, _adapter)
