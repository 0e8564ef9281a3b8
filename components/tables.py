"""HTML tables of analysis results (Table 1, medians, response, AE counts) and CSV downloads.

Pure rendering: every number is read from a ``queries`` result (already protected for the
user's role); nothing is computed here beyond formatting.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import dash_bootstrap_components as dbc
import pandas as pd
from dash import html

from components.figures import (
    EMPTY,
    data_text,
    fmt_count,
    fmt_months,
    fmt_p,
    fmt_pct,
    fmt_ratio,
    groups_shown,
    is_missing,
    level_text,
    shown,
)
from components.i18n import _, fmt_number, tr
from queries.analyses.response import response_definition


def _table(header: Sequence[str], rows: list[html.Tr], numeric_from: int = 1,
           **props) -> dbc.Table:
    head = html.Thead(html.Tr([
        html.Th(h, className="text-end" if i >= numeric_from else None)
        for i, h in enumerate(header)
    ]))
    return dbc.Table([head, html.Tbody(rows)], bordered=False, hover=True, size="sm",
                     responsive=True, className="small mb-0", **props)


def _cells(values: Sequence[object], numeric_from: int = 1) -> list[html.Td]:
    return [html.Td(v, className="text-end text-nowrap" if i >= numeric_from else None)
            for i, v in enumerate(values)]


def n_pct(n: object, pct: object, display: object = None) -> str:
    """'123 (45.6%)'; a withheld count reads as its disclosure ``display`` ("< 10")."""
    if isinstance(display, str) and display and (is_missing(n) or is_missing(pct)):
        return display if is_missing(n) else f"{fmt_count(n)}"
    if is_missing(n):
        return EMPTY
    if is_missing(pct):
        return fmt_count(n)
    return f"{fmt_count(n)} ({fmt_pct(pct)})"


def months_ci(median: object, lower: object, upper: object) -> str:
    """'12.3 (9.8-15.0)' months; unreached bounds read 'NR'."""
    if is_missing(median):
        return _("not reached")
    bounds = [fmt_months(b) if not is_missing(b) else "NR" for b in (lower, upper)]
    return f"{fmt_months(median)} ({bounds[0]}–{bounds[1]})"


# --- survival -----------------------------------------------------------------------------


def median_table(result, table_id: str | None = None) -> dbc.Table:
    """Per stratum: patients, events, median with 95 % CI (months)."""
    rows = [
        html.Tr(_cells([level_text(result.stratification, row["stratum"]), shown(row, "n"),
                        shown(row, "events"),
                        months_ci(row["median_months"], row["median_ci_lower_months"],
                                  row["median_ci_upper_months"])]),
                **{"data-stratum": str(row["stratum"])})
        for _i, row in result.summary.iterrows()
    ]
    props = {"id": table_id} if table_id else {}
    return _table([_("Stratum"), _("Patients"), _("Events"), _("Median, months (95% CI)")], rows, **props)


def milestone_table(result) -> dbc.Table | None:
    """Per stratum: survival at each milestone, RMST to the horizon and median follow-up."""
    if result.milestones.empty and result.rmst.empty and result.follow_up.empty:
        return None
    months = sorted(result.milestones["time_months"].unique())
    marks = result.milestones.set_index(["stratum", "time_months"])
    rmst = result.rmst.set_index("stratum")
    follow = result.follow_up.set_index("stratum")
    horizon = result.rmst["horizon_months"].iloc[0] if len(result.rmst) else None
    rows = []
    for stratum in result.summary["stratum"]:
        cells = [level_text(result.stratification, stratum)]
        for month in months:
            row = marks.loc[(stratum, month)] if (stratum, month) in marks.index else None
            cells.append("–" if row is None or pd.isna(row["survival"]) else
                         f"{row['survival']:.0%} ({row['ci_lower']:.0%}–{row['ci_upper']:.0%})")
        r = rmst.loc[stratum] if stratum in rmst.index else None
        if r is None or pd.isna(r["rmst_months"]):
            cells.append("–")
        elif pd.isna(r["ci_lower_months"]):  # released from the drawn curve: no CI
            cells.append(_("{months} (CI not shown)", months=fmt_months(r["rmst_months"])))
        else:
            cells.append(months_ci(r["rmst_months"], r["ci_lower_months"],
                                   r["ci_upper_months"]))
        f = follow.loc[stratum] if stratum in follow.index else None
        cells.append("–" if f is None else months_ci(f["median_months"], f["ci_lower_months"],
                                                     f["ci_upper_months"]))
        rows.append(html.Tr(_cells(cells)))
    header = ([_("Stratum")] + [_("{months} months (95% CI)", months=f"{m:g}") for m in months]
              + [_("RMST to {months} months (95% CI)", months=f"{horizon:g}") if horizon
                 else "RMST",
                 _("Median follow-up, months (reverse KM)")])
    return _table(header, rows, id="survival-milestones")


def survival_caption(result) -> list:
    """The endpoint's definition, log-rank test and hazard ratio in words, and notes."""
    parts: list = []
    if result.definition is not None:
        parts.append(html.Div(result.definition.text(tr()), className="endpoint-definition mb-1"))
    for warning in result.warnings:
        parts.append(html.Div(f"⚠ {tr().text(warning)}.",
                              className="survival-warning text-warning"))
    if result.rmst_difference is not None:
        diff = result.rmst_difference
        parts.append(html.Span(
            _("RMST difference {group} vs {reference} to {horizon} months: {difference} months "
              "(95% CI {low} to {high}), {p}. ",
              group=level_text(result.stratification, diff.group),
              reference=level_text(result.stratification, diff.reference),
              horizon=f"{diff.horizon_months:g}", difference=f"{diff.difference_months:+.1f}",
              low=f"{diff.ci_lower_months:+.1f}", high=f"{diff.ci_upper_months:+.1f}",
              p=fmt_p(diff.p_value)),
            className="survival-rmst-difference"))
    if result.logrank is not None:
        lr = result.logrank
        parts.append(html.Span(
            _("Log-rank test across {strata}: χ² = {chi2}, {df} df, {p}. ",
              strata=groups_shown(lr.strata, result.stratification), chi2=fmt_number(lr.statistic, 2), df=lr.df,
              p=fmt_p(lr.p_value)), className="survival-logrank"))
    if result.trend is not None:
        trend = result.trend
        parts.append(html.Span(
            _("Log-rank test for trend across {strata} (in this order): χ² = {chi2}, 1 df, {p}. ",
              strata=groups_shown(trend.strata, result.stratification),
              chi2=fmt_number(trend.statistic, 2),
              p=fmt_p(trend.p_value)),
            className="survival-trend"))
    if result.hazard_ratio is not None:
        hr = result.hazard_ratio
        parts.append(html.Span(
            _("Hazard ratio {group} vs {reference} (reference; above 1: events sooner in "
              "{group}): {hr} (95% CI {low}–{high}), {p}; {method}. ",
              group=level_text(result.stratification, hr.group),
              reference=level_text(result.stratification, hr.reference), hr=fmt_ratio(hr.hr), low=fmt_ratio(hr.ci_lower),
              high=fmt_ratio(hr.ci_upper), p=fmt_p(hr.p_value), method=_(hr.method)),
            className="survival-hr"))
    if not parts and not result.empty_reason:
        parts.append(_("Choose a stratification to compare groups (log-rank test, hazard ratio). "))
    if result.stratification and result.logrank is not None:
        parts.append(_("Unknown / untested groups are drawn but left out of the tests. "))
    for note in result.notes:
        parts.append(f"{tr().text(note)}. ")
    return parts


# --- response -----------------------------------------------------------------------------


def response_table(result) -> dbc.Table:
    """Per stratum: patients, not evaluable, evaluable, ORR and DCR with 95 % CI."""
    def rate(value, lower, upper) -> str:
        if is_missing(value):
            return EMPTY
        return f"{fmt_pct(value)} ({fmt_pct(lower)}–{fmt_pct(upper)})"

    rows = [
        html.Tr(_cells([level_text(result.stratification, row["stratum"]), shown(row, "n"),
                        shown(row, "not_evaluable"),
                        shown(row, "denominator"), shown(row, "responders"),
                        rate(row["orr"], row["orr_ci_lower"], row["orr_ci_upper"]),
                        rate(row["dcr"], row["dcr_ci_lower"], row["dcr_ci_upper"])]),
                **{"data-stratum": str(row["stratum"])})
        for _i, row in result.rates.iterrows()
    ]
    return _table([_("Stratum"), _("Patients"), _("No assessment"), _("Denominator"), _("Responders"),
                   _("ORR (95% CI)"), _("DCR (95% CI)")], rows)


def response_caption(result) -> list:
    parts = [_("ORR = complete + partial response, DCR = ORR + stable disease, best overall "
             "response of the index line (RECIST 1.1); exact Clopper-Pearson 95% CI. ")]
    parts.append(html.Div(response_definition(result.response, result.denominator, tr()),
                          className="response-definition mb-1"))
    if result.test is not None:
        parts.append(html.Span(_("{outcome} difference across {strata}: {test}, {p}. ",
                                 outcome=result.test.outcome,
                                 strata=", ".join(result.test.strata), test=_(result.test.test),
                                 p=fmt_p(result.test.p_value)), className="response-test"))
    if result.trend is not None:
        parts.append(html.Span(_("{outcome} trend across {strata} (in this order): {test}, {p}. ",
                                 outcome=result.trend.outcome,
                                 strata=", ".join(result.trend.strata), test=_(result.trend.test),
                                 p=fmt_p(result.trend.p_value)), className="response-trend"))
    parts.extend(f"{tr().text(note)}. " for note in result.notes)
    return parts


# --- safety -------------------------------------------------------------------------------


def safety_caption(result) -> list:
    """Patients with >= 1 event, any grade and grade >= 3, of the cohort."""
    overall = result.overall
    return [
        _("Patients with ≥ 1 event ({window}): ", window=result.window),
        html.Span(n_pct(overall["patients_any_grade"], overall["pct_any_grade"],
                        overall.get("patients_any_grade_display")),
                  className="safety-any"),
        _(" any grade, "),
        html.Span(n_pct(overall["patients_grade3plus"], overall["pct_grade3plus"],
                        overall.get("patients_grade3plus_display")),
                  className="safety-g3"),
        _(" grade ≥ 3, of {patients} patients. The chart shows the 15 most frequent; the table "
          "lists all.", patients=fmt_count(result.cohort_size)),
    ]


def safety_table(rows: pd.DataFrame, level: str, table_id: str | None = None) -> dbc.Table:
    """AE counts and % of the cohort, any grade and grade >= 3, with median time to onset."""
    label = "term" if level == "term" else "organ_class"
    header = ([_("Term"), _("Organ class")] if level == "term" else [_("Organ class")]) + [
        _("Any grade, n (%)"), _("Grade ≥ 3, n (%)"), _("Median onset, months")]
    numeric_from = 2 if level == "term" else 1
    body = []
    for _i, row in rows.iterrows():
        names = [data_text(column, row[column]) for column in
                 (("term", "organ_class") if level == "term" else ("organ_class",))]
        onset = row.get("median_onset_months")
        body.append(html.Tr(_cells(
            names + [n_pct(row["patients_any_grade"], row["pct_any_grade"],
                           row.get("patients_any_grade_display")),
                     n_pct(row["patients_grade3plus"], row["pct_grade3plus"],
                           row.get("patients_grade3plus_display")),
                     EMPTY if is_missing(onset) else fmt_months(onset)], numeric_from),
            **{"data-label": str(row[label])}))
    props = {"id": table_id} if table_id else {}
    return _table(header, body, numeric_from=numeric_from, **props)


# --- characteristics ----------------------------------------------------------------------


def _value_text(row: pd.Series) -> str:
    if row["key"] == "age":
        if is_missing(row["median"]):
            return EMPTY
        return (f"{row['median']:.0f} ({row['q1']:.0f}–{row['q3']:.0f})")
    return n_pct(row["n"], row["pct"], row.get("n_display"))


def _section_order(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows of one section together (in order of first appearance), otherwise as given."""
    rank = {s: i for i, s in enumerate(dict.fromkeys(rows["section"]))}
    return rows.assign(_rank=rows["section"].map(rank)).sort_values(
        "_rank", kind="stable").drop(columns="_rank")


def _label_rows(rows: pd.DataFrame, values, variable_cells: dict | None = None
                ) -> list[html.Tr]:
    """Variable header rows followed by indented level rows, sections as group headers.

    ``variable_cells`` maps a variable key to the cells of its header row (e.g. its SMD).
    """
    out: list[html.Tr] = []
    section = variable = None
    for (_i, row), cells in zip(rows.iterrows(), values, strict=True):
        if row["section"] != section:
            section = row["section"]
            out.append(html.Tr(html.Th(_(section), colSpan=1 + len(cells),
                                       className="table-light text-uppercase small")))
        if not row["level"]:
            name = row["variable"]  # a catalogue message from queries
            label = _(name) + (_(", median (IQR)") if row["key"] == "age" else "")
            out.append(html.Tr(_cells([label, *cells]),
                               **{"data-key": str(row["key"])}))
            variable = row["variable"]
            continue
        if row["variable"] != variable:
            variable = row["variable"]
            extra = (variable_cells or {}).get(row["key"])
            out.append(html.Tr(
                [html.Td(_(variable), className="fw-semibold"), *_cells([""] + extra)[1:]]
                if extra else html.Td(_(variable), colSpan=1 + len(cells),
                                      className="fw-semibold"),
                **{"data-key": str(row["key"])}))
        out.append(html.Tr(_cells([html.Span(level_text(row["key"], row["level"]),
                                             className="ps-3"), *cells]),
                           **{"data-key": f"{row['key']}:{row['level']}"}))
    return out


def table_one(table1, table_id: str | None = None) -> dbc.Table:
    """Table 1: n (%) per level, every % of the cohort (stated in the header); age median
    (IQR)."""
    rows = _section_order(table1.rows)
    values = [[_value_text(row)] for _i, row in rows.iterrows()]
    props = {"id": table_id} if table_id else {}
    return _table([_("Characteristic"),
                   _("Cohort, n (% of {n})", n=fmt_count(table1.n)) if table1.n is not None
                   else _("Cohort, n (% of the cohort)")],
                  _label_rows(rows, values), **props)


def testing_table(table1) -> dbc.Table:
    """Biomarker testing rate and positivity among the tested."""
    rows = [
        html.Tr(_cells([row["biomarker"], n_pct(row["tested"], row["pct_tested"],
                                                row.get("tested_display")),
                        level_text(row["key"], row["positive_level"]),
                        n_pct(row["positive"], row["pct_positive_of_tested"],
                              row.get("positive_display"))]))
        for _i, row in table1.biomarkers.iterrows()
    ]
    return _table([_("Biomarker"), _("Tested, n (%)"), _("Level counted"), _("n (% of tested)")], rows)


def fmt_smd(value: float) -> str:
    """An SMD to two decimals; infinite (complete separation: 100 % vs 0 %) as "∞"."""
    return ("∞" if value > 0 else "−∞") if math.isinf(value) else fmt_number(value, 2)


def comparison_table(comparison, first, second, names: tuple[str, str],
                     table_id: str | None = None) -> dbc.Table:
    """Two Table 1s side by side with the standardized mean difference of every variable."""
    smd = dict(zip(comparison.variables["key"], comparison.variables["smd"], strict=True))
    level_smd = {(k, lv): s for k, lv, s in zip(comparison.rows["key"], comparison.rows["level"],
                                                 comparison.rows["smd"], strict=True)}
    merged = _section_order(_side_by_side(first.rows, second.rows))
    values = []
    for _i, row in merged.iterrows():
        cells = [_side_text(row, "_1"), _side_text(row, "_2")]
        value = smd.get(row["key"]) if not row["level"] else level_smd.get(
            (row["key"], row["level"]))
        cells.append(EMPTY if is_missing(value) or row["key"] == "n" else fmt_smd(value))
        values.append(cells)
    header = [_("Characteristic"), f"{names[0]} (n={fmt_count(first.n)})",
              f"{names[1]} (n={fmt_count(second.n)})", "SMD"]
    props = {"id": table_id} if table_id else {}
    headers = {key: ["", "", EMPTY if is_missing(value) else fmt_smd(value)]
               for key, value in smd.items() if key != "age"}
    return _table(header, _label_rows(merged, values, headers), **props)


def _side_by_side(first: pd.DataFrame, second: pd.DataFrame) -> pd.DataFrame:
    """Rows of both Table 1s aligned on (key, level), in the first's order, then the second's
    extra levels after the last row of their variable."""
    keys = ["key", "level"]
    a, b = first.set_index(keys), second.set_index(keys)
    order = list(a.index)
    for index in b.index:
        if index not in a.index:
            same = [i for i, k in enumerate(order) if k[0] == index[0]]
            order.insert(same[-1] + 1 if same else len(order), index)
    labels = ["section", "variable"]
    merged = a.reindex(order).add_suffix("_1").join(b.reindex(order).add_suffix("_2"))
    for col in labels:
        merged[col] = merged[f"{col}_1"].fillna(merged[f"{col}_2"])
    return merged.reset_index()


def _side_text(row: pd.Series, suffix: str) -> str:
    side = pd.Series({"key": row["key"], "n": row[f"n{suffix}"], "pct": row[f"pct{suffix}"],
                      "median": row[f"median{suffix}"], "q1": row[f"q1{suffix}"],
                      "q3": row[f"q3{suffix}"], "n_display": row.get(f"n_display{suffix}")})
    withheld = isinstance(side["n_display"], str) and side["n_display"]
    if row["key"] != "age" and is_missing(side["n"]) and not withheld:
        return n_pct(0, 0.0)  # a level only the other cohort has
    return _value_text(side)


# --- study comparison ---------------------------------------------------------------------


def _num_text(value: object, digits: int = 2) -> str:
    if is_missing(value):
        return EMPTY
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "−∞"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _tr(values: Sequence[object]) -> html.Tr:
    return html.Tr(_cells(values))


def _count_text(value: object) -> str:
    return "suppressed" if is_missing(value) else fmt_count(int(value))


def study_arms_table(result) -> dbc.Table:
    """Patients per arm: cohort, after the overlap rule, analysed (matched / kept), left out."""
    rows = [_tr([f"{r.arm}: {r.label}", _count_text(r.cohort), _count_text(r.after_overlap),
                 _count_text(r.analysed), _count_text(r.unmatched)])
            for r in result.arms.itertuples()]
    return _table([_("Arm"), _("Cohort"), _("After overlap rule"), _("Analysed (matched / weighted)"),
                   _("Unmatched or trimmed")], rows)


def balance_table(result) -> dbc.Table:
    rows = [_tr([_(r.covariate), _num_text(r.smd_before), _num_text(r.smd_after)])
            for r in result.balance.itertuples()]
    return _table([_("Covariate"), _("SMD before"), _("SMD after")], rows)


def effects_table(result) -> dbc.Table:
    """Hazard ratios (A vs B) of every outcome, crude and adjusted, with their method."""
    rows = []
    for outcome in result.outcomes:
        for stage, effect in (("crude", outcome.crude), ("adjusted", outcome.adjusted)):
            if effect is None:
                rows.append(_tr([_(outcome.label), _(stage), EMPTY, EMPTY, _("not released / "
                                 "not estimable")]))
            else:
                rows.append(_tr([_(outcome.label), _(stage), f"{fmt_ratio(effect.hr)} ("
                                 f"{fmt_ratio(effect.ci_lower)}–{fmt_ratio(effect.ci_upper)})",
                                 fmt_p(effect.p_value),
                                 _(effect.method)]))
    return _table([_("Outcome ({a} vs {b})", a=result.label_a, b=result.label_b), _("Analysis"),
                   _("Hazard ratio (95% CI)"), "p", _("Method")], rows)


def _difference_ci(difference, lower, upper) -> str:
    return _("{difference} ({lower} to {upper})", difference=fmt_pct(difference),
             lower=fmt_pct(lower), upper=fmt_pct(upper))


def milestones_table(result) -> dbc.Table:
    rows = []
    for outcome in result.outcomes:
        for r in outcome.milestones.itertuples():
            rows.append(_tr([_(outcome.label), _(r.stage), _("{months} months", months=f"{r.months:g}"),
                             fmt_pct(r.survival_a), fmt_pct(r.survival_b),
                             _difference_ci(r.difference, r.ci_lower, r.ci_upper)]))
    return _table([_("Outcome"), _("Analysis"), _("Milestone"), result.label_a, result.label_b,
                   _("Difference A − B (95% CI)")], rows)


def binary_table(result) -> dbc.Table:
    rows = []
    for contrast in result.binary:
        for r in contrast.table.itertuples():
            rows.append(_tr([_(contrast.label), _(r.stage),
                             _("{share} of {patients}", share=fmt_pct(r.risk_a),
                               patients=_count_text(r.n_a)),
                             _("{share} of {patients}", share=fmt_pct(r.risk_b),
                               patients=_count_text(r.n_b)),
                             _difference_ci(r.difference, r.diff_ci_lower, r.diff_ci_upper),
                             f"{_num_text(r.ratio)} ({_num_text(r.ratio_ci_lower)}–"
                             f"{_num_text(r.ratio_ci_upper)})"]))
    return _table([_("Outcome"), _("Analysis"), result.label_a, result.label_b,
                   _("Risk difference A − B (95% CI)"), _("Risk ratio A / B (95% CI)")], rows)


def study_frame(result) -> pd.DataFrame:
    """The comparison's estimates as one tidy table (section, name, analysis, statistic,
    value) for the CSV download."""
    records: list[dict] = []

    def add(section: str, name: str, stage: str, statistic: str, value: object) -> None:
        records.append({"section": section, "name": name, "analysis": stage,
                        "statistic": statistic, "value": value})

    for r in result.arms.itertuples():
        for column in ("cohort", "after_overlap", "analysed", "unmatched"):
            add("arms", f"{r.arm}: {r.label}", "", column, getattr(r, column))
    for r in result.balance.itertuples():
        add("balance", r.covariate, "before", "smd", r.smd_before)
        add("balance", r.covariate, "after", "smd", r.smd_after)
    for outcome in result.outcomes:
        for stage, effect in (("crude", outcome.crude), ("adjusted", outcome.adjusted)):
            for statistic in ("hr", "ci_lower", "ci_upper", "p_value"):
                add(_("hazard ratio A vs B"), outcome.label, stage, statistic,
                    getattr(effect, statistic) if effect else None)
    for contrast in result.binary:
        for row in contrast.table.to_dict("records"):
            for statistic, value in row.items():
                if statistic != "stage":
                    add(contrast.label, contrast.label, row["stage"], statistic, value)
    return pd.DataFrame(records, columns=["section", "name", "analysis", "statistic", "value"])

