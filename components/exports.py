"""Downloads of the analyses and compare panels: a zip of tidy CSV tables with a README.txt.

One table per file (curve, medians, milestones, tests, ...), one column per variable, one row
per observation; numbers rounded to what they can support (months to 2 decimals, proportions
to 4, ratios to 3, p-values to 3 significant digits). The README names the cohort, the snapshot
and the role's disclosure rules, defines the endpoint (event, censoring, denominator) and every
column. Column headers and the README are in the user's language; the numbers keep a decimal
point so that any tool reads them. Every value comes from the released result the panel shows
(``components.panels`` releases it for the role before it gets here).
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
from dash import dcc

from components.figures import BOR_LABELS, PRO_LEVEL_LABELS, data_text, groups_shown, level_text
from components.i18n import N_, _, fmt_date, tr
from components.tables import study_frame
from queries.analyses.response import response_definition
from queries.cohort.catalog import PRO_ITEM_LABELS
from queries.disclosure.policy import policy_for
from queries.disclosure.release import notice

if TYPE_CHECKING:
    from components.panels import Shown

DATA_TABLE = N_("The numbers behind the panel")

# column key -> (header, definition); headers and definitions are shown in the user's language
COLUMNS: dict[str, tuple[str, str]] = {
    "cohort": (N_("Cohort"), N_("the cohort the row belongs to (A or B and its name)")),
    "stratum": (N_("Group"), N_("the group of the chosen stratification ('All patients' "
                                "without one)")),
    "time_months": (N_("Months since index"),
                    N_("time since the index date, in months of 30.44 days")),
    "survival": (N_("Survival probability"),
                 N_("Kaplan-Meier estimate of the share still without the event at this time")),
    "ci_lower": (N_("95% CI lower"),
                 N_("lower bound of the 95% confidence interval of the row's estimate")),
    "ci_upper": (N_("95% CI upper"),
                 N_("upper bound of the 95% confidence interval of the row's estimate")),
    "at_risk": (N_("At risk"), N_("patients still followed and without the event just before "
                                  "this time (the denominator of the step)")),
    "events": (N_("Events"), N_("patients with the event (at this time, or in total)")),
    "censored": (N_("Censored"), N_("patients censored at this time")),
    "patients": (N_("Patients"), N_("patients in the group: the denominator")),
    "median_months": (N_("Median, months"), N_("time at which the estimate first falls to 50 % "
                                               "or below; empty: not reached")),
    "median_ci_lower_months": (N_("Median 95% CI lower, months"),
                               N_("lower bound of the median's 95% confidence interval")),
    "median_ci_upper_months": (N_("Median 95% CI upper, months"),
                               N_("upper bound of the median's 95% confidence interval; empty: "
                                  "not reached")),
    "horizon_months": (N_("Horizon, months"), N_("the time up to which the mean is restricted")),
    "rmst_months": (N_("RMST, months"),
                    N_("restricted mean survival time: the area under the curve up to the "
                       "horizon")),
    "follow_up_months": (N_("Median follow-up, months"),
                         N_("median follow-up by the reverse Kaplan-Meier method")),
    "test": (N_("Test"), N_("the statistical test or estimate of the row")),
    "groups": (N_("Groups compared"), N_("the groups the test compares (the reference last)")),
    "statistic": (N_("Statistic"), N_("the test statistic (chi-squared for log-rank tests)")),
    "df": (N_("Degrees of freedom"), N_("degrees of freedom of the test statistic")),
    "estimate": (N_("Estimate"), N_("hazard ratio (group vs reference) or difference in "
                                    "months")),
    "p_value": (N_("p-value"), N_("two-sided p-value")),
    "method": (N_("Method"), N_("how the row was computed")),
    "not_evaluable": (N_("No assessment"),
                      N_("patients without a tumour assessment of the index line")),
    "evaluable": (N_("Denominator"), N_("patients the rates are computed over (see the "
                                        "definition)")),
    "responders": (N_("Responders"), N_("patients with a best overall response of CR or PR")),
    "disease_control": (N_("Disease control"), N_("patients with CR, PR or SD")),
    "orr": (N_("ORR"), N_("objective response rate: responders / denominator (0-1)")),
    "orr_ci_lower": (N_("ORR 95% CI lower"), N_("exact Clopper-Pearson lower bound")),
    "orr_ci_upper": (N_("ORR 95% CI upper"), N_("exact Clopper-Pearson upper bound")),
    "dcr": (N_("DCR"), N_("disease control rate: disease control / denominator (0-1)")),
    "dcr_ci_lower": (N_("DCR 95% CI lower"), N_("exact Clopper-Pearson lower bound")),
    "dcr_ci_upper": (N_("DCR 95% CI upper"), N_("exact Clopper-Pearson upper bound")),
    "best_response": (N_("Best overall response"),
                      N_("RECIST 1.1 best overall response of the index line; 'Not "
                         "evaluable': no assessment")),
    "share": (N_("Share"), N_("patients / the row's denominator (0-1)")),
    "term": (N_("AE term"), N_("CTCAE term")),
    "organ_class": (N_("Organ class"), N_("MedDRA system organ class")),
    "patients_any_grade": (N_("Patients, any grade"),
                           N_("patients with at least one such event of any grade")),
    "pct_any_grade": (N_("Share, any grade"), N_("patients, any grade / cohort size (0-1)")),
    "pct_any_grade_ci_lower": (N_("Any grade 95% CI lower"),
                               N_("exact Clopper-Pearson lower bound")),
    "pct_any_grade_ci_upper": (N_("Any grade 95% CI upper"),
                               N_("exact Clopper-Pearson upper bound")),
    "patients_grade3plus": (N_("Patients, grade ≥ 3"),
                            N_("patients with at least one such event of grade 3 or higher")),
    "pct_grade3plus": (N_("Share, grade ≥ 3"), N_("patients, grade ≥ 3 / cohort size (0-1)")),
    "pct_grade3plus_ci_lower": (N_("Grade ≥ 3 95% CI lower"),
                                N_("exact Clopper-Pearson lower bound")),
    "pct_grade3plus_ci_upper": (N_("Grade ≥ 3 95% CI upper"),
                                N_("exact Clopper-Pearson upper bound")),
    "median_onset_months": (N_("Median onset, months"),
                            N_("median time from index to the first such event")),
    "cohort_size": (N_("Cohort size"), N_("patients in the cohort: the denominator")),
    "section": (N_("Section"), N_("the part of Table 1")),
    "variable": (N_("Characteristic"), N_("the characteristic at index")),
    "level": (N_("Level"), N_("the level of the characteristic (empty on a continuous row)")),
    "median": (N_("Median"), N_("median (continuous rows)")),
    "q1": (N_("Lower quartile"), N_("25th percentile (continuous rows)")),
    "q3": (N_("Upper quartile"), N_("75th percentile (continuous rows)")),
    "mean": (N_("Mean"), N_("mean (continuous rows)")),
    "sd": (N_("SD"), N_("standard deviation (continuous rows)")),
    "denominator": (N_("Denominator"), N_("patients the share is computed over")),
    "biomarker": (N_("Biomarker"), N_("the biomarker")),
    "tested": (N_("Tested"), N_("patients with a result at index")),
    "share_tested": (N_("Share tested"), N_("tested / cohort size (0-1)")),
    "positive_level": (N_("Level counted"), N_("the result counted as positive / high")),
    "positive": (N_("Positive"), N_("tested patients with that result")),
    "share_positive": (N_("Share positive of tested"), N_("positive / tested (0-1)")),
    "patients_a": (N_("Patients, A"), N_("patients of cohort A in the level")),
    "share_a": (N_("Share, A"), N_("patients of cohort A in the level / the row's denominator "
                                   "(0-1)")),
    "patients_b": (N_("Patients, B"), N_("patients of cohort B in the level")),
    "share_b": (N_("Share, B"), N_("patients of cohort B in the level / the row's denominator "
                                   "(0-1)")),
    "smd": (N_("SMD"), N_("standardized mean difference of the level (A vs B)")),
    "variable_smd": (N_("SMD of the characteristic"),
                     N_("standardized mean difference of the whole characteristic (A vs B)")),
}

MONTHS_DECIMALS = 2
SHARE_DECIMALS = 4
RATIO_DECIMALS = 3
P_DIGITS = 3


def _decimals(key: str) -> int:
    if key.endswith("months"):
        return MONTHS_DECIMALS
    if key in ("statistic", "estimate", "smd", "variable_smd"):
        return RATIO_DECIMALS
    if key in ("median", "q1", "q3", "mean", "sd"):
        return 1
    return SHARE_DECIMALS


def rounded(value: Any, key: str) -> Any:
    """A number as the export writes it: counts whole, p-values to 3 significant digits,
    months to 2 decimals, proportions to 4, ratios to 3; text (a withheld "< 10") as is."""
    if value is None or value is pd.NA or isinstance(value, str | bool):
        return value
    if isinstance(value, int):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    if math.isnan(number):
        return None
    if math.isinf(number):
        return value
    if number.is_integer() and key in ("at_risk", "events", "censored", "patients", "df"):
        return int(number)
    if key == "p_value":
        return float(f"{number:.{P_DIGITS}g}")
    return round(number, _decimals(key))


@dataclass(frozen=True)
class Table:
    """One CSV file of a download: ``name`` (file stem), what it holds, and its rows with
    columns named by COLUMNS keys."""

    name: str
    title: str
    frame: pd.DataFrame


@dataclass(frozen=True)
class Export:
    """A download: its tables and paragraphs for the README (definitions in words, notes)."""

    tables: tuple[Table, ...]
    about: tuple[str, ...] = ()


def released_counts(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Counts as released: a withheld count is written as its disclosure text ("< 10")."""
    out = frame.copy()
    for column in columns:
        display = f"{column}_display"
        if column in out and display in out:
            withheld = out[column].isna() & out[display].notna()
            if withheld.any():
                out[column] = out[column].astype(object)
                out.loc[withheld, column] = out.loc[withheld, display]
    return out


def pick(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """The ``columns`` (source -> key) of ``frame`` that it has, renamed to their keys."""
    present = {source: key for source, key in columns.items() if source in frame}
    return frame[list(present)].rename(columns=present).reset_index(drop=True)


def shown_values(frame: pd.DataFrame, column: str, show: Callable[[Any], str]) -> pd.DataFrame:
    """``frame`` with the data values of ``column`` as the page shows them (in the user's
    language); a missing value or a released mark stays as it is."""
    if column in frame:
        frame = frame.copy()
        frame[column] = [show(v) if isinstance(v, str) and v else v for v in frame[column]]
    return frame


def strata_shown(frame: pd.DataFrame, stratification: str | None) -> pd.DataFrame:
    """The ``stratum`` column's groups as the page names them ("Nainen", "Ei testattu")."""
    return shown_values(frame, "stratum", lambda s: level_text(stratification, s))


def tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """Rounded values under translated headers (unknown columns keep their key)."""
    out = pd.DataFrame({column: [rounded(v, column) for v in frame[column]]
                        for column in frame.columns}, columns=list(frame.columns))
    return out.rename(columns={key: _(COLUMNS[key][0]) for key in frame.columns
                               if key in COLUMNS})


def csv_text(frame: pd.DataFrame) -> str:
    return tidy(frame).to_csv(index=False, lineterminator="\n")


def _wrapped(text: str, indent: str = "", width: int = 88) -> list[str]:
    words, lines, line = text.split(), [], indent
    for word in words:
        if len(line) + len(word) + 1 > width and line.strip():
            lines.append(line.rstrip())
            line = indent
        line += word + " "
    if line.strip():
        lines.append(line.rstrip())
    return lines


def readme(export: Export, shown: Shown, created: dt.date | None = None) -> str:
    """README.txt of a download: what, whose, which snapshot, the rules, every column."""
    lines = [_("IO Cohort Explorer export"), "",
             _("Cohort: {cohort}", cohort=" / ".join(shown.labels)),
             _("Snapshot: {snapshot}", snapshot=shown.snapshot),
             _("Created: {date}", date=fmt_date(created or dt.date.today())), ""]
    if shown.role:
        protected = notice(policy_for(shown.role), tr())
        lines += _wrapped(protected or _("Exact values (role {role}).", role=shown.role))
        lines.append("")
    for paragraph in export.about:
        lines += _wrapped(paragraph)
        lines.append("")
    lines += _wrapped(_("Files are comma-separated UTF-8 with a decimal point; an empty cell is "
                        "not available (e.g. a median not reached); a count written as text "
                        "(e.g. '< 10') is withheld by disclosure control."))
    for table in export.tables:
        lines += ["", f"{table.name}.csv — {_(table.title)}"]  # i18n: file name
        for key in table.frame.columns:
            header, definition = COLUMNS.get(key, (key, ""))
            lines += _wrapped(f"{_(header)}: {_(definition)}" if definition else _(header),
                              indent="    ")
    return "\n".join(lines) + "\n"


def zip_bytes(export: Export, shown: Shown) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", readme(export, shown))
        for table in export.tables:
            archive.writestr(f"{table.name}.csv", csv_text(table.frame))
    return buffer.getvalue()


def zip_download(export: Export, shown: Shown, name: str) -> dict[str, Any]:
    """dcc.Download data: the zip of ``export`` named ``name``.zip."""
    content = zip_bytes(export, shown)
    return dcc.send_bytes(lambda out: out.write(content), f"{name}.zip")


_NOT_IN_NAME = re.compile(r"[^\w-]+")


def _slug(text: object, limit: int = 48) -> str:
    """Letters, digits, '-' and '_' only (a file name part from any text, e.g. a cohort name)."""
    return _NOT_IN_NAME.sub("-", str(text)).strip("-")[:limit].strip("-")


def export_name(labels: Sequence[str], snapshot: str, *parts: object) -> str:
    """A file name (no extension) after the cohort(s), the snapshot and the panel's parts."""
    cohorts = "_vs_".join(_slug(label, 60) for label in labels)
    pieces = [cohorts, _slug(snapshot, 40), *(_slug(p, 40) for p in parts)]
    return "_".join(p for p in pieces if p)[:180]


# --- the panels' downloads ----------------------------------------------------------------

CURVE = N_("Kaplan-Meier curve: one row per time with an event or a censoring, per group")
MEDIANS = N_("Patients, events and median time to event (95% CI) per group")
MILESTONES = N_("Survival probability (95% CI) at milestone times, per group")
RMST = N_("Restricted mean survival time (95% CI) per group")
FOLLOW_UP = N_("Median follow-up (reverse Kaplan-Meier) per group")
AT_RISK = N_("Numbers at risk under the plot")
TESTS = N_("Tests and estimates comparing the groups: log-rank, trend, hazard ratio, RMST "
           "difference")
RATES = N_("Objective response and disease control rates (exact 95% CI) per group")
BEST_RESPONSE = N_("Best overall response per group: patients and share of the group")
RESPONSE_TESTS = N_("Tests of a difference in response across the groups")
BY_TERM = N_("Patients with at least one adverse event, by CTCAE term")
BY_ORGAN_CLASS = N_("Patients with at least one adverse event, by MedDRA organ class")
TABLE_ONE = N_("Table 1: characteristics at index")
TESTING = N_("Biomarker testing at index and positivity among the tested")

COLUMNS.update({
    "ci_lower_months": (N_("95% CI lower, months"),
                        N_("lower bound of the 95% confidence interval, months")),
    "ci_upper_months": (N_("95% CI upper, months"),
                        N_("upper bound of the 95% confidence interval, months")),
})


def _rows(records: list[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame(records, columns=list(columns))


TEST_COLUMNS = ("test", "groups", "statistic", "df", "estimate", "ci_lower", "ci_upper",
                "p_value", "method")


def survival_tests(result: Any) -> pd.DataFrame:
    """Log-rank (k groups and trend), Cox hazard ratio and RMST difference, one row each."""
    rows: list[dict[str, Any]] = []
    key = result.stratification

    def group(name: str) -> str:
        return level_text(key, name)

    if result.logrank is not None:
        lr = result.logrank
        rows.append({"test": _("Log-rank test"), "groups": groups_shown(lr.strata, key),
                     "statistic": lr.statistic, "df": lr.df, "p_value": lr.p_value,
                     "method": _("chi-squared with groups - 1 degrees of freedom")})
    if result.trend is not None:
        tr_ = result.trend
        rows.append({"test": _("Log-rank test for trend"), "groups": groups_shown(tr_.strata, key),
                     "statistic": tr_.statistic, "df": tr_.df, "p_value": tr_.p_value,
                     "method": _("groups in the order listed, scores 1, 2, ...")})
    if result.hazard_ratio is not None:
        hr = result.hazard_ratio
        rows.append({"test": _("Hazard ratio"),
                     "groups": _("{group} vs {reference}", group=group(hr.group),
                                 reference=group(hr.reference)),
                     "estimate": hr.hr, "ci_lower": hr.ci_lower, "ci_upper": hr.ci_upper,
                     "p_value": hr.p_value, "method": _(hr.method)})
    if result.rmst_difference is not None:
        diff = result.rmst_difference
        rows.append({"test": _("RMST difference to {months} months, months",
                               months=f"{diff.horizon_months:g}"),
                     "groups": _("{group} vs {reference}", group=group(diff.group),
                                 reference=group(diff.reference)),
                     "estimate": diff.difference_months, "ci_lower": diff.ci_lower_months,
                     "ci_upper": diff.ci_upper_months, "p_value": diff.p_value,
                     "method": _(diff.method)})
    return _rows(rows, TEST_COLUMNS)


def survival_about(result: Any) -> tuple[str, ...]:
    about = []
    if result.definition is not None:
        about.append(_("Endpoint: {definition}", definition=result.definition.text(tr())))
    about.append(_("Denominator: the patients of each group in the medians table; a curve's "
                   "step is computed over the patients at risk at that time."))
    about += [f"{tr().text(warning)}." for warning in result.warnings]
    about += [f"{tr().text(note)}." for note in result.notes]
    if result.stratification and result.logrank is not None:
        about.append(_("Unknown / untested groups are drawn but left out of the tests."))
    cut = result.curve["cut_reason"].dropna() if "cut_reason" in result.curve else []
    if len(cut):
        about.append(_("The curves end early: {reason}.", reason=tr().text(cut.iloc[0])))
    return tuple(about)


def survival_export(result: Any, shown: Shown | None = None) -> Export:
    """Curve, medians, milestones, RMST, follow-up, numbers at risk and tests of a survival
    result, each its own table."""
    curve = pick(released_counts(result.curve, ["at_risk"]), {
        "stratum": "stratum", "time_months": "time_months", "survival": "survival",
        "ci_lower": "ci_lower", "ci_upper": "ci_upper", "at_risk": "at_risk",
        "events": "events", "censored": "censored"})
    medians = pick(released_counts(result.summary, ["n", "events"]), {
        "stratum": "stratum", "n": "patients", "events": "events",
        "median_months": "median_months", "median_ci_lower_months": "median_ci_lower_months",
        "median_ci_upper_months": "median_ci_upper_months"})
    key = result.stratification
    tables = [Table("curve", CURVE, strata_shown(curve, key)),
              Table("medians", MEDIANS, strata_shown(medians, key))]
    optional = (
        ("milestones", MILESTONES, released_counts(result.milestones, ["at_risk"]), {
            "stratum": "stratum", "time_months": "time_months", "survival": "survival",
            "ci_lower": "ci_lower", "ci_upper": "ci_upper", "at_risk": "at_risk"}),
        ("rmst", RMST, result.rmst, {
            "stratum": "stratum", "horizon_months": "horizon_months",
            "rmst_months": "rmst_months", "ci_lower_months": "ci_lower_months",
            "ci_upper_months": "ci_upper_months"}),
        ("follow_up", FOLLOW_UP, result.follow_up, {
            "stratum": "stratum", "median_months": "follow_up_months",
            "ci_lower_months": "ci_lower_months", "ci_upper_months": "ci_upper_months"}),
        ("at_risk", AT_RISK, released_counts(result.at_risk, ["at_risk"]), {
            "stratum": "stratum", "time_months": "time_months", "at_risk": "at_risk"}),
    )
    tables += [Table(name, title, strata_shown(pick(frame, columns), key))
               for name, title, frame, columns in optional if not frame.empty]
    tables.append(Table("tests", TESTS, survival_tests(result)))
    return Export(tuple(tables), survival_about(result))


RATE_COLUMNS = {"stratum": "stratum", "n": "patients", "not_evaluable": "not_evaluable",
                "denominator": "evaluable", "responders": "responders", "orr": "orr",
                "orr_ci_lower": "orr_ci_lower", "orr_ci_upper": "orr_ci_upper",
                "disease_control": "disease_control", "dcr": "dcr",
                "dcr_ci_lower": "dcr_ci_lower", "dcr_ci_upper": "dcr_ci_upper"}


def response_tests(result: Any) -> pd.DataFrame:
    rows = [{"test": _("{outcome}: {test}", outcome=test.outcome, test=_(test.test)),
             "groups": groups_shown(test.strata, result.stratification),
             "statistic": test.statistic,
             "p_value": test.p_value}
            for test in (result.test, result.trend) if test is not None]
    return _rows(rows, ("test", "groups", "statistic", "p_value"))


def response_export(result: Any, shown: Shown | None = None) -> Export:
    """ORR/DCR per group, best overall response per group, and the tests."""
    counts = [c for c in RATE_COLUMNS if c not in ("stratum",) and "orr" not in c
              and "dcr" not in c]
    rates = pick(released_counts(result.rates, counts), RATE_COLUMNS)
    best = pick(released_counts(result.counts, ["n"]), {
        "stratum": "stratum", "bor": "best_response", "n": "patients", "pct": "share"})
    best = shown_values(strata_shown(best, result.stratification), "best_response",
                        lambda bor: _(BOR_LABELS.get(bor, bor)))
    rates = strata_shown(rates, result.stratification)
    about = (_("Response: {definition}", definition=response_definition(
                 result.response, result.denominator, tr())),
             _("ORR = complete + partial response, DCR = ORR + stable disease, best overall "
               "response of the index line (RECIST 1.1); exact Clopper-Pearson 95% CI."),
             *(f"{tr().text(note)}." for note in result.notes))
    return Export((Table("rates", RATES, rates), Table("best_response", BEST_RESPONSE, best),
                   Table("tests", RESPONSE_TESTS, response_tests(result))), about)


AE_COLUMNS = {"term": "term", "organ_class": "organ_class",
              "patients_any_grade": "patients_any_grade", "pct_any_grade": "pct_any_grade",
              "pct_any_grade_ci_lower": "pct_any_grade_ci_lower",
              "pct_any_grade_ci_upper": "pct_any_grade_ci_upper",
              "patients_grade3plus": "patients_grade3plus", "pct_grade3plus": "pct_grade3plus",
              "pct_grade3plus_ci_lower": "pct_grade3plus_ci_lower",
              "pct_grade3plus_ci_upper": "pct_grade3plus_ci_upper",
              "median_onset_months": "median_onset_months"}


def _ae_table(frame: pd.DataFrame) -> pd.DataFrame:
    table = pick(released_counts(frame, ["patients_any_grade", "patients_grade3plus"]),
                 AE_COLUMNS)
    for column in ("term", "organ_class"):
        table = shown_values(table, column, lambda v, c=column: data_text(c, v))
    return table


def safety_about(result: Any) -> tuple[str, ...]:
    size = result.cohort_size
    return (_("Events: {window}; {scope}.", window=result.window,
              scope=_("immune-related adverse events only") if result.options.immune_only
              else _("all adverse events")),
            _("Denominator: every patient of the cohort ({n}), with or without an event.",
              n=size if size is not None else "—"),
            *(f"{tr().text(note)}." for note in result.notes))


def safety_export(result: Any, shown: Shown | None = None) -> Export:
    """Adverse events by term and by organ class (any grade and grade >= 3, exact CIs)."""
    return Export((Table("adverse_events_by_term", BY_TERM, _ae_table(result.by_term)),
                   Table("adverse_events_by_organ_class", BY_ORGAN_CLASS,
                         _ae_table(result.by_organ_class))), safety_about(result))


TABLE_ONE_COLUMNS = {"section": "section", "variable": "variable", "level": "level",
                     "n": "patients", "denominator": "denominator", "pct": "share",
                     "median": "median", "q1": "q1", "q3": "q3", "mean": "mean", "sd": "sd"}
TESTING_COLUMNS = {"biomarker": "biomarker", "tested": "tested", "pct_tested": "share_tested",
                   "positive_level": "positive_level", "positive": "positive",
                   "pct_positive_of_tested": "share_positive"}


def in_language(values: Sequence[Any]) -> list[Any]:
    """Texts from the catalogue (Table 1 sections, characteristics) in the user's language."""
    return [_(str(v)) if isinstance(v, str) and v else v for v in values]


def table_one_rows(table1: Any) -> pd.DataFrame:
    """Table 1's rows with translated sections and characteristics."""
    rows = pick(released_counts(table1.rows, ["n"]), TABLE_ONE_COLUMNS)
    for column in ("section", "variable"):
        rows[column] = in_language(rows[column])
    rows["level"] = [level_text(key, level) for key, level in
                     zip(table1.rows["key"], table1.rows["level"], strict=True)]
    return rows


def table_one_export(table1: Any, shown: Shown | None = None) -> Export:
    """Table 1 and the biomarker testing table."""
    testing = pick(released_counts(table1.biomarkers, ["tested", "positive"]), TESTING_COLUMNS)
    about = (_("Characteristics at index: age from the index year; diagnosis on or before "
               "index + 30 days; ECOG within 90 days before index; biomarkers the latest on or "
               "before index, else within 30 days after."),
             _("Every share in Table 1 is of the whole cohort (its denominator), biomarker "
               "levels and 'Untested' included; positivity among the tested is in the "
               "biomarker testing table."),
             *(f"{tr().text(note)}." for note in table1.notes))
    return Export((Table("table1", TABLE_ONE, table_one_rows(table1)),
                   Table("biomarker_testing", TESTING, testing)), about)


def with_cohort(frames: Sequence[pd.DataFrame], labels: Sequence[str]) -> pd.DataFrame:
    """Both cohorts' rows in one table, the cohort first."""
    frame = pd.concat([f.assign(cohort=label) for f, label in zip(frames, labels, strict=True)],
                      ignore_index=True)
    return frame[["cohort", *frame.columns.drop("cohort")]]


def paired_export(left: Export, right: Export, labels: Sequence[str]) -> Export:
    """Two cohorts' exports of one kind as one: each table holds both, the cohort first."""
    tables = tuple(Table(a.name, a.title, with_cohort((a.frame, b.frame), labels))
                   for a, b in zip(left.tables, right.tables, strict=True))
    about = tuple(dict.fromkeys((*left.about, *right.about)))
    return Export(tables, about)


COMPARISON = N_("Table 1 of cohorts A and B with standardized mean differences")


def comparison_export(comparison: Any, shown: Shown | None = None) -> Export:
    """Both Table 1s side by side with the SMD of every level and characteristic."""
    frame = comparison.rows.merge(
        comparison.variables.rename(columns={"smd": "variable_smd"}).drop(columns="variable"),
        on="key", how="left")
    rows = pick(frame, {"variable": "variable", "level": "level", "n_1": "patients_a",
                        "pct_1": "share_a", "n_2": "patients_b", "pct_2": "share_b",
                        "smd": "smd", "variable_smd": "variable_smd"})
    rows["variable"] = in_language(rows["variable"])
    rows["level"] = [level_text(key, level) for key, level in
                     zip(frame["key"], frame["level"], strict=True)]
    about = (_("SMD: standardized mean difference (age: pooled SD; categorical characteristics: "
               "Yang & Dalton's multi-category SMD; levels: SMD of the level's share). |SMD| > "
               "0.1 is a meaningful imbalance."),
             _("Every share is of its cohort's size."))
    return Export((Table("table1_comparison", COMPARISON, rows),), about)


# --- patient-reported outcomes -------------------------------------------------------------

PRO_SCORES = N_("Mean score of the chosen scale by weeks since index (95% CI), with completion")
PRO_SEVERITY = N_("PRO-CTCAE items: patients at each level of their worst answer in the first "
                  "weeks after index")
COLUMNS.update({
    "week": (N_("Week"), N_("weeks since index at the end of the bin; 0 is the baseline (days "
                            "before index up to the index date)")),
    "questionnaires": (N_("Questionnaires"), N_("questionnaires answered in the bin")),
    "mean_score": (N_("Mean score"), N_("mean over patients of each patient's mean score in "
                                        "the bin (a yes/no item: the share of patients who "
                                        "answered yes in the bin)")),
    "patients_followed": (N_("Patients followed"),
                          N_("patients who answered the scale at least once in the score's "
                             "window and were alive and followed at the bin's start")),
    "patients_answered": (N_("Patients who answered"), N_("patients with an answer in the bin")),
    "completion": (N_("Completion"), N_("patients who answered / patients followed")),
    "item": (N_("PRO-CTCAE item"), N_("the symptom item asked")),
    "severity": (N_("Level"), N_("the level of the patient's worst answer (0 none or never to 4 "
                                 "very severe or almost constantly; a yes/no item such as rash: "
                                 "0 no, 1 yes)")),
})
PRO_SCORE_COLUMNS = {"week": "week", "questionnaires": "questionnaires", "patients": "patients",
                     "mean_score": "mean_score", "ci_lower": "ci_lower", "ci_upper": "ci_upper",
                     "patients_followed": "patients_followed",
                     "patients_answered": "patients_answered", "completion": "completion"}
PRO_SEVERITY_COLUMNS = {"item": "item", "severity": "severity", "patients": "patients",
                        "denominator": "denominator", "share": "share"}


def pro_export(result: Any, shown: Shown | None = None) -> Export:
    """The chosen scale's scores and completion by week, and the PRO-CTCAE severity shares."""
    options = result.options
    scores = result.scores.merge(result.completion, on="week", how="outer")
    about = (_("Scale: {instrument}, {item}.", instrument=options.instrument,
               item=_(options.item)),
             *(tr().text(words) for words in result.definitions.values()))
    return Export((Table("pro_scores", PRO_SCORES, pick(scores, PRO_SCORE_COLUMNS)),
                   Table("pro_ctcae_severity", PRO_SEVERITY, _severity_shown(result))), about)


def _severity_shown(result: Any) -> pd.DataFrame:
    """PRO-CTCAE severity rows with the items and levels named as the panel names them."""
    severity = pick(result.severity, PRO_SEVERITY_COLUMNS)
    severity = shown_values(severity, "item", lambda i: _(PRO_ITEM_LABELS.get(i, i)))
    return shown_values(severity, "severity", lambda v: _(PRO_LEVEL_LABELS.get(v, v)))


ARMS = N_("Patients per arm: in the cohort, after the overlap rule, analysed, left out")
BALANCE = N_("Covariate balance: absolute standardized mean differences before and after "
             "adjustment")
HAZARD_RATIOS = N_("Hazard ratios A vs B of every outcome, crude and adjusted")
ALL_ESTIMATES = N_("Every estimate of the comparison in one long table")

COLUMNS.update({
    "arm": (N_("Arm"), N_("A or B")),
    "in_cohort": (N_("In the cohort"), N_("patients of the arm's cohort")),
    "after_overlap": (N_("After the overlap rule"),
                      N_("patients left after the rule for patients in both cohorts")),
    "analysed": (N_("Analysed"), N_("patients matched or weighted")),
    "unmatched": (N_("Unmatched or trimmed"), N_("patients left out by matching or trimming")),
    "covariate": (N_("Covariate"), N_("a covariate of the propensity score")),
    "smd_before": (N_("SMD before"), N_("standardized mean difference before adjustment")),
    "smd_after": (N_("SMD after"), N_("standardized mean difference after adjustment")),
    "outcome": (N_("Outcome"), N_("the endpoint or outcome compared")),
    "analysis": (N_("Analysis"), N_("crude or adjusted")),
    "part": (N_("Part"), N_("the part of the comparison")),
    "name": (N_("Name"), N_("what the row is about")),
    "statistic_name": (N_("Statistic"), N_("the statistic of the row")),
    "value": (N_("Value"), N_("its value")),
})


def study_export(result: Any, shown: Shown | None = None) -> Export:
    """The adjusted comparison: arms, balance, hazard ratios, and every estimate (long)."""
    arms = pick(result.arms, {"arm": "arm", "label": "cohort", "cohort": "in_cohort",
                              "after_overlap": "after_overlap", "analysed": "analysed",
                              "unmatched": "unmatched"})
    balance = pick(result.balance, {"covariate": "covariate", "smd_before": "smd_before",
                                    "smd_after": "smd_after"})
    effects = [{"outcome": outcome.label, "analysis": _(stage), "estimate": effect.hr,
                "ci_lower": effect.ci_lower, "ci_upper": effect.ci_upper,
                "p_value": effect.p_value, "method": _(effect.method)}
               for outcome in result.outcomes
               for stage, effect in ((N_("crude"), outcome.crude), (N_("adjusted"),
                                                                    outcome.adjusted))
               if effect is not None]
    long = pick(study_frame(result), {"section": "part", "name": "name",
                                      "analysis": "analysis", "statistic": "statistic_name",
                                      "value": "value"})
    about = (_("Contrast: {a} vs {b}; every estimate reads A vs B.", a=result.label_a,
               b=result.label_b),
             *(tr().text(d) for d in result.definitions),
             *(f"⚠ {tr().text(w)}" for w in result.warnings))
    return Export((Table("arms", ARMS, arms), Table("balance", BALANCE, balance),
                   Table("hazard_ratios", HAZARD_RATIOS,
                         _rows(effects, ("outcome", "analysis", "estimate", "ci_lower",
                                         "ci_upper", "p_value", "method"))),
                   Table("all_estimates", ALL_ESTIMATES, long)), about)
