"""Pure figure builders: an analysis result (from ``queries``) -> ``go.Figure``.

Nothing here queries data or fits a model; every number drawn is read from the result.
Colours are the Okabe-Ito palette (distinguishable with the common colour-vision
deficiencies); times are shown in months; every figure has a title, axis labels with units and
a legend that does not cover the data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from components.i18n import (
    N_,
    _,
    fmt_int,
    fmt_number,
    fmt_percent,
    localize_released,
    plotly_separators,
    tr,
)
from queries.analyses.pro import score_digits
from queries.analyses.survival import SAME_PATIENTS
from queries.cohort.catalog import PRO_INSTRUMENT_SHORT, PRO_ITEM_LABELS
from queries.cohort.vocabulary import histology_name, value_text
from queries.snapshot.schema import (
    PRO_CTCAE,
    PRO_CTCAE_FREQUENCY_LEVELS,
    PRO_CTCAE_LEVELS,
    higher_is_better,
    is_presence_item,
    pro_score_range,
)

# Okabe & Ito (2008); yellow last because it is faint on white.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000",
           "#F0E442")
# Best overall response: green for response, yellow for stable, vermillion for progression.
BOR_COLOURS = {"CR": "#009E73", "PR": "#56B4E9", "SD": "#F0E442", "PD": "#D55E00",
               "NE": "#999999", "Not evaluable": "#DDDDDD"}
BOR_LABELS = {"CR": "CR", "PR": "PR", "SD": "SD", "PD": "PD", "NE": N_("NE (assessed)"),
              "Not evaluable": N_("No assessment")}
ENDPOINT_LABELS = {"os": N_("Overall survival"),
                   "pfs": N_("Real-world progression-free survival"),
                   "ttd": N_("Time to treatment discontinuation"),
                   "ttnt": N_("Time to next treatment"),
                   "dor": N_("Duration of response"), "ttr": N_("Time to response")}
Y_TITLES = {"os": N_("Proportion alive"), "pfs": N_("Proportion progression-free"),
            "ttd": N_("Proportion still on treatment"), "ttnt": N_("Proportion without a next line"),
            "dor": N_("Proportion still responding"), "ttr": N_("Proportion not yet responded")}
FONT = dict(family="system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif",  # i18n: CSS
            size=13)
EMPTY = "—"
SUPPRESSED = "suppressed"  # a withheld share or category (queries/disclosure/release.py)


# --- formatting (shared with components/tables.py) ----------------------------------------


def is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def fmt_months(value: object, digits: int = 1) -> str:
    """A duration in months, or "not reached" when the curve never falls to 50 %."""
    if is_missing(value):
        return _("not reached")
    if isinstance(value, str):
        return value
    return fmt_number(float(value), digits)


def fmt_pct(value: object, digits: int = 1) -> str:
    """A fraction (0-1) as a percentage; protected or missing values as given or a dash."""
    if is_missing(value):
        return EMPTY
    if isinstance(value, str):
        return value
    return fmt_percent(100 * float(value), digits)


def fmt_count(value: object) -> str:
    if is_missing(value):
        return EMPTY
    if isinstance(value, str):
        return value
    return fmt_int(int(value))


def shown(row, column: str) -> str:
    """A count as released: the disclosure ``<column>_display`` text when the protected result
    carries one (e.g. "< 10"), else the exact count."""
    display = row.get(f"{column}_display") if hasattr(row, "get") else None
    if isinstance(display, str) and display:
        return localize_released(display)
    return fmt_count(row[column])


def data_text(column: str, value: object) -> str:
    """A data value of ``column`` in the user's language: a CTCAE term, an organ class, a
    cancer type ... by its name ("Väsymys" for "Fatigue"); other values as they are."""
    return value_text(column, value, _)


def level_text(key: object, level: object) -> str:
    """A Table 1 / stratum level as shown: a histology code with its ICD-O-3 name
    ("Adenocarcinoma (8140/3)"), the index line's drug classes class by class, a regimen's
    setting ("(adjuvant)"), other levels in the user's language where the catalogue has them
    ("Unknown", "Melanoma")."""
    if key == "histology":
        name = histology_name(level)
        return _("{name} ({code})", name=_(name), code=level) if name else str(level)
    if key in ("drug_classes", "regimen"):
        return data_text(str(key), level)
    return _(str(level)) if level else ""


def groups_shown(groups: Sequence[str], stratification: object) -> str:
    """Tested groups listed as the page names them ("Nainen, Mies")."""
    return ", ".join(level_text(stratification, group) for group in groups)


def fmt_p(p: object) -> str:
    if is_missing(p):
        return EMPTY
    p = float(p)
    return f"p < {fmt_number(0.001, 3)}" if p < 0.001 else f"p = {fmt_number(p, 3)}"


def fmt_ratio(value: object) -> str:
    return EMPTY if is_missing(value) else fmt_number(float(value), 2)


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


# plotly.js 3 shows a "Share chart" button (sendChartToCloud) by default: it offers to upload
# the chart, data included, to an outside service. Nothing here may leave the server that way.
NO_UPLOAD_BUTTONS = ("sendChartToCloud", "sendDataToCloud", "editInChartStudio")


# An exported PNG is drawn this wide whatever the panel's width on screen, so a long title or
# caption is never clipped (a half-width graph cut "...by stratum (95% CI)" off, #17).
EXPORT_WIDTH = 1200
CAPTION_LINE = 110  # characters per caption line before it wraps
CAPTION_LINE_PX = 17


def graph_config(filename: str | None = None, *, mode_bar: bool = True,
                 export_height: int | None = None, **extra: object) -> dict:
    """dcc.Graph config for every graph of the app: never a button that uploads the chart.

    With ``filename`` the toolbar exports a PNG under that name (``export_height``: drawn
    EXPORT_WIDTH wide and this tall); ``mode_bar=False`` hides the toolbar; ``extra`` adds
    plotly config keys (e.g. ``staticPlot=True``).
    """
    config: dict = {
        "displaylogo": False,
        "showSendToCloud": False,
        "showEditInChartStudio": False,
        "showLink": False,
        "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d", *NO_UPLOAD_BUTTONS],
        "displayModeBar": mode_bar,
    }
    if filename:
        image: dict = {"format": "png", "filename": filename, "scale": 2}
        if export_height:
            image.update(width=EXPORT_WIDTH, height=int(export_height))
        config["toImageButtonOptions"] = image
    config.update(extra)
    return config


def _figure_dict(figure: go.Figure | dict) -> dict:
    return figure.to_plotly_json() if isinstance(figure, go.Figure) else figure


def figure_height(figure: go.Figure | dict) -> int:
    """The figure's layout height in pixels (plotly's default when it sets none)."""
    return int((_figure_dict(figure).get("layout") or {}).get("height") or 450)


def caption_lines(text: str, width: int = CAPTION_LINE) -> list[str]:
    """``text`` broken at spaces into lines of at most ``width`` characters."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def with_caption(figure: go.Figure | dict, caption: str) -> dict:
    """The figure (as plotly JSON) with ``caption`` as its title's subtitle, so an exported
    image names what it shows; the top margin and height grow by the caption's lines so that
    nothing moves onto the title. The input (possibly a cached figure) is not changed."""
    fig = _figure_dict(figure)
    layout = dict(fig.get("layout") or {})
    lines = caption_lines(caption)
    extra = CAPTION_LINE_PX * len(lines) + 4
    title = dict(layout.get("title") or {})
    title["subtitle"] = {"text": "<br>".join(lines), "font": {"size": 12, "color": "#444"}}
    layout["title"] = title
    margin = dict(layout.get("margin") or {})
    margin["t"] = int(margin.get("t", 80)) + extra
    layout["margin"] = margin
    layout["height"] = figure_height(fig) + extra
    return {**fig, "layout": layout}


def _base_layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(
        # The title sits at the very top and the legend just above the plot, so a legend of
        # several rows never covers the title (#17).
        title=dict(text=title, x=0.0, xanchor="left", y=0.99, yref="container", yanchor="top",
                   font=dict(size=16)),
        separators=plotly_separators(),
        template="plotly_white",
        font=FONT,
        height=height,
        margin=dict(l=10, r=20, t=90, b=50),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0.0,
                    traceorder="normal"),
        hoverlabel=dict(font_size=13),
    )
    return fig


def empty_figure(message: str, title: str = "") -> go.Figure:
    """A blank figure that says why there is nothing to draw."""
    fig = go.Figure()
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper",
                       showarrow=False, font=dict(size=15, color="#555"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _base_layout(fig, title, 320)


# --- what an exported image states: the statistical test --------------------------------


def survival_method(result) -> str:
    """The tests behind a survival figure, in words with their numbers (for its caption)."""
    parts = []
    if result.logrank is not None:
        lr = result.logrank
        parts.append(_("log-rank test χ² = {chi2}, {df} df, {p}", chi2=fmt_number(lr.statistic, 2),
                       df=lr.df, p=fmt_p(lr.p_value)))
    if result.trend is not None:
        parts.append(_("log-rank test for trend {p}", p=fmt_p(result.trend.p_value)))
    if result.hazard_ratio is not None:
        hr = result.hazard_ratio
        parts.append(_("Cox hazard ratio {group} vs {reference} {hr} (95% CI {low}–{high})",
                       group=hr.group, reference=hr.reference, hr=fmt_ratio(hr.hr),
                       low=fmt_ratio(hr.ci_lower), high=fmt_ratio(hr.ci_upper)))
    if not parts:
        strata = getattr(result, "summary", None)
        if strata is None or len(strata) <= 1:
            parts.append(_("no test (one group)"))
        elif SAME_PATIENTS in getattr(result, "notes", ()):
            parts.append(_("no test (same patients)"))
        else:  # e.g. tests withheld for the role, or one tested group besides Unknown
            parts.append(_("no test"))
    return _("Kaplan-Meier with 95% CI; {tests}", tests="; ".join(parts))


def response_method(result) -> str:
    """The exact CI and the test across strata of a response figure (for its caption)."""
    text = _("exact Clopper-Pearson 95% CI")
    for test in (result.test, result.trend):
        if test is not None:
            text += "; " + _("{outcome}: {test}, {p}", outcome=test.outcome, test=_(test.test),
                             p=fmt_p(test.p_value))
    return text


def safety_method(_result=None) -> str:
    return _("exact Clopper-Pearson 95% CI; no test")


def incidence_method(_result=None) -> str:
    return _("Aalen-Johansen cumulative incidence with death as a competing risk; no test")


def cox_method(_result=None) -> str:
    return _("multivariable Cox model, Wald 95% CI; Schoenfeld proportional-hazards check")


# --- survival -----------------------------------------------------------------------------


def _step_xy(times: Sequence[float], values: Sequence[float]) -> tuple[list, list]:
    """Corner points of a right-continuous step function (for filled CI bands)."""
    xs, ys = [], []
    for i, (t, v) in enumerate(zip(times, values, strict=True)):
        if i:
            xs.append(t)
            ys.append(ys[-1])
        xs.append(t)
        ys.append(v)
    return xs, ys


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _legend_name(stratum: str, summary: pd.DataFrame, key: str | None = None) -> str:
    row = summary[summary["stratum"] == stratum]
    label = level_text(key, stratum)
    if row.empty:
        return label
    row = row.iloc[0]
    if is_missing(row["median_months"]):
        return _("{stratum} (n={n}, median not reached)", stratum=label, n=shown(row, "n"))
    return _("{stratum} (n={n}, median {months} mo)", stratum=label, n=shown(row, "n"),
             months=fmt_months(row["median_months"]))


# Pixel columns of a survival plot's time axis (wider than any panel draws it): steps closer
# than one column are drawn as one.
PLOT_STEPS = 800
CENSOR_TICKS_MAX = 400  # ticks would hide the curve on big cohorts


def at_plot_resolution(part: pd.DataFrame, x_max: float, steps: int = PLOT_STEPS
                       ) -> pd.DataFrame:
    """One stratum's curve rows as a plot ``steps`` pixels wide can show them.

    Within each pixel column only the last row is kept: its survival, CI and number at risk
    are exact at its time, so the drawn curve is exact at every kept time and a merged step
    moves by less than a pixel. The first row is kept, and so are censored rows while few
    enough to be drawn as ticks. The CSV download keeps every step.
    """
    if len(part) <= steps or x_max <= 0:
        return part
    part = part.sort_values("time_months")
    column = np.floor(part["time_months"].to_numpy(dtype=float) / x_max * steps)
    keep = np.append(column[1:] != column[:-1], True)
    keep[0] = True
    censored = pd.to_numeric(part.get("censored", 0), errors="coerce").fillna(0).to_numpy() > 0
    if censored.sum() <= CENSOR_TICKS_MAX:
        keep |= censored
    return part[keep]


def _curve_traces(part: pd.DataFrame, name: str, col: str, group: str) -> list[go.Scatter]:
    part = part.sort_values("time_months")
    x = part["time_months"].astype(float).tolist()
    lower = part["ci_lower"].astype(float).ffill().fillna(part["survival"]).tolist()
    upper = part["ci_upper"].astype(float).ffill().fillna(part["survival"]).tolist()
    ux, uy = _step_xy(x, upper)
    lx, ly = _step_xy(x, lower)
    band = go.Scatter(x=ux + lx[::-1], y=uy + ly[::-1], fill="toself", mode="lines",
                      line=dict(width=0), fillcolor=_rgba(col, 0.15), hoverinfo="skip",
                      showlegend=False, legendgroup=group, name=_("{name} 95% CI", name=name))
    line = go.Scatter(
        x=x, y=part["survival"].astype(float).tolist(), mode="lines", line_shape="hv",
        line=dict(color=col, width=2.2), name=name, legendgroup=group,
        customdata=part[["at_risk"]].to_numpy() if "at_risk" in part else None,
        hovertemplate=_("%{x:.1f} months: %{y:.1%}<br>at risk %{customdata[0]}<extra>")
                      + group + "</extra>",
    )
    traces = [band, line]
    cut = part[part["cut_reason"].notna()] if "cut_reason" in part else part.iloc[0:0]
    if len(cut):
        traces.append(go.Scatter(
            x=cut["time_months"], y=cut["survival"], mode="markers",
            marker=dict(symbol="line-ns-open", size=16, color=col, line=dict(width=3)),
            legendgroup=group, showlegend=False, name=name,
            hovertemplate="%{x:.1f} " + _("months") + ": " + tr().text(cut["cut_reason"].iloc[0])
                          + "<extra>" + group + "</extra>"))
    censored = part[pd.to_numeric(part.get("censored", 0), errors="coerce").fillna(0) > 0]
    if len(censored) and len(censored) <= CENSOR_TICKS_MAX:
        traces.append(go.Scatter(
            x=censored["time_months"], y=censored["survival"], mode="markers",
            marker=dict(symbol="line-ns-open", size=7, color=col), legendgroup=group,
            showlegend=False, hoverinfo="skip", name=_("{name} censored", name=name)))
    return traces


def _at_risk_traces(at_risk: pd.DataFrame, strata: list[str]) -> list[go.Scatter]:
    traces = []
    for i, stratum in enumerate(strata):
        part = at_risk[at_risk["stratum"] == stratum]
        traces.append(go.Scatter(
            x=part["time_months"], y=[stratum] * len(part), mode="text",
            text=[shown(row, "at_risk") for _i, row in part.iterrows()], textfont=dict(color=colour(i), size=12),
            showlegend=False, hoverinfo="skip", name=_("{stratum} at risk", stratum=stratum),
            cliponaxis=False))
    return traces


def _short(label: str, limit: int = 24) -> str:
    return label if len(label) <= limit else label[:limit - 1] + "…"


def survival_figure(result, title: str | None = None) -> go.Figure:
    """Kaplan-Meier curves with 95 % CI bands and a numbers-at-risk table on the same time axis.

    ``result`` is a ``queries.survival.SurvivalResult``.
    """
    endpoint = _(ENDPOINT_LABELS.get(result.endpoint, str(result.endpoint)))
    title = title or _("{endpoint} (Kaplan-Meier, 95% CI)", endpoint=endpoint)
    if result.empty_reason:
        return empty_figure(_("No curve: {reason}.", reason=result.empty_reason), title)
    curve, summary, at_risk = result.curve, result.summary, result.at_risk
    strata = [s for s in summary["stratum"].tolist() if (curve["stratum"] == s).any()]
    table_frac = min(0.42, 0.07 * (len(strata) + 1))
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.17,
                        row_heights=[1 - table_frac, table_frac])
    last = float(curve["time_months"].max()) if len(curve) else 1.0
    for i, stratum in enumerate(strata):
        name = _legend_name(stratum, summary, result.stratification)
        part = at_plot_resolution(curve[curve["stratum"] == stratum], last)
        for trace in _curve_traces(part, name, colour(i), stratum):
            fig.add_trace(trace, row=1, col=1)
    for trace in _at_risk_traces(at_risk, strata):
        fig.add_trace(trace, row=2, col=1)
    ticks = sorted({float(m) for m in at_risk["time_months"]}) if len(at_risk) else None
    fig.update_xaxes(range=[-0.03 * last, last * 1.03], tickvals=ticks)
    fig.update_xaxes(title_text=_("Months since index"), title_standoff=6, showticklabels=True,
                     row=1, col=1)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, row=2, col=1)
    fig.update_yaxes(title_text=_(Y_TITLES.get(result.endpoint, N_("Probability"))), range=[0, 1.02],
                     tickformat=".0%", row=1, col=1)
    fig.update_yaxes(categoryorder="array", categoryarray=strata[::-1], showgrid=False,
                     range=[-0.6, len(strata) - 0.4], tickvals=strata,
                     ticktext=[_short(level_text(result.stratification, s)) for s in strata],
                     row=2, col=1,
                     tickfont=dict(size=11))
    fig.add_annotation(text=_("Number at risk"), xref="paper", yref="y2 domain", x=0, y=1.04,
                       xanchor="left", yanchor="bottom", showarrow=False,
                       font=dict(size=12, color="#333"))
    cut = curve["cut_reason"].dropna() if "cut_reason" in curve else []
    if len(cut):
        fig.add_annotation(text=f"| {tr().text(cut.iloc[0])}",
                           xref="paper", yref="y domain", x=0.0, y=0.0, xanchor="left",
                           yanchor="bottom", showarrow=False, font=dict(size=11, color="#555"),
                           name="curve-cut-note")
    _base_layout(fig, title, 380 + 30 * len(strata))
    fig.update_layout(legend=dict(orientation="v", yanchor="top", y=1.0, xanchor="right", x=1.0,
                                  bgcolor="rgba(255,255,255,0.85)", bordercolor="#ccc",
                                  borderwidth=1), margin=dict(t=50, b=20))
    return fig


# --- response -----------------------------------------------------------------------------


def _stratum_ticks(strata: Sequence[str], counts: Sequence[object], key: str | None = None
                   ) -> list[str]:
    return [f"{level_text(key, s)}<br>n={fmt_count(n)}" for s, n in zip(strata, counts,
                                                                         strict=True)]


def _num(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce")


def _rate_trace(rates: pd.DataFrame, measure: str, label: str, col: str, x: list[str],
                offsetgroup: str | None = None) -> go.Bar:
    value = _num(rates[measure])
    lower, upper = _num(rates[f"{measure}_ci_lower"]), _num(rates[f"{measure}_ci_upper"])
    return go.Bar(
        x=x, y=100 * value, name=label, marker_color=col, offsetgroup=offsetgroup,
        error_y=dict(type="data", symmetric=False, array=(100 * (upper - value)).tolist(),
                     arrayminus=(100 * (value - lower)).tolist(), thickness=1.4, width=5,
                     color="#333"),
        text=[fmt_pct(v, 0) for v in value], textposition="inside", insidetextanchor="start",
        customdata=pd.DataFrame({"lo": 100 * lower, "hi": 100 * upper}).to_numpy(),
        hovertemplate="%{x}<br>" + label + _(" %{y:.1f}% (95% CI %{customdata[0]:.1f}-"
                      "%{customdata[1]:.1f})<extra></extra>"),
    )


def response_rates_figure(result, title: str | None = None) -> go.Figure:
    """ORR and DCR per stratum with exact 95 % CI error bars; n (denominator) under each bar."""
    title = title or _("Objective response and disease control by stratum (95% CI)")
    if result.empty_reason or result.rates.empty:
        return empty_figure(_("No response data: {reason}.",
                              reason=result.empty_reason or _("no patients")), title)
    rates = result.rates
    x = _stratum_ticks(rates["stratum"].tolist(),
                       [shown(row, "denominator") for _i, row in rates.iterrows()],
                       result.stratification)
    fig = go.Figure([
        _rate_trace(rates, "orr", _("ORR (CR+PR)"), PALETTE[0], x),
        _rate_trace(rates, "dcr", _("DCR (CR+PR+SD)"), PALETTE[1], x),
    ])
    fig.update_layout(barmode="group", bargap=0.25)
    if getattr(result, "denominator", "evaluable") == "evaluable":
        y_title = _("Patients, % of evaluable")
        x_title = _("Stratum (n = patients with a response assessment)")
    else:  # the rates are of every patient of the stratum (not evaluable counted as no response)
        y_title = _("Patients, % of all patients of the stratum")
        x_title = _("Stratum (n = all patients of the stratum)")
    fig.update_yaxes(title_text=y_title, range=[0, 100], ticksuffix="%")
    fig.update_xaxes(title_text=x_title)
    return _base_layout(fig, title, 430)


def bor_figure(result, title: str | None = None) -> go.Figure:
    """Stacked bars of best overall response (% of each stratum's patients), n under each bar."""
    title = title or _("Best overall response by stratum (RECIST 1.1)")
    if result.empty_reason or result.counts.empty:
        return empty_figure(_("No response data: {reason}.",
                              reason=result.empty_reason or _("no patients")), title)
    counts, rates = result.counts, result.rates
    x = _stratum_ticks(rates["stratum"].tolist(), [shown(row, "n") for _i, row in rates.iterrows()],
                       result.stratification)
    by_stratum = dict(zip(rates["stratum"], x, strict=True))
    fig = go.Figure()
    for bor, col in BOR_COLOURS.items():
        part = counts[counts["bor"] == bor]
        if part.empty:
            continue
        pct = 100 * _num(part["pct"])
        fig.add_trace(go.Bar(
            x=[by_stratum.get(s, s) for s in part["stratum"]], y=pct, name=_(BOR_LABELS[bor]),
            marker=dict(color=col, line=dict(color="#666", width=0.5)),
            text=[f"{v:.0f}%" if v >= 6 else "" for v in pct.fillna(0)],
            textposition="inside",
            customdata=[[shown(row, "n")] for _i, row in part.iterrows()],
            hovertemplate="%{x}<br>" + _(BOR_LABELS[bor])
                          + _(": %{y:.1f}% (%{customdata[0]} patients)<extra></extra>")))
    suppressed = _suppressed_bor(counts)
    if suppressed is not None:
        strata, share, names = suppressed
        fig.add_trace(go.Bar(
            x=[by_stratum.get(s, s) for s in strata], y=share, name=_(SUPPRESSED),
            marker=dict(color="#FFFFFF", pattern=dict(shape="/", fgcolor="#888"),
                        line=dict(color="#666", width=0.5)),
            text=[_(SUPPRESSED) if v > 0 else "" for v in share], textposition="inside",
            customdata=[[n] for n in names],
            hovertemplate="%{x}<br>" + _(SUPPRESSED) + ": %{customdata[0]} " + _("together")
                          + " %{y:.1f}%"
                          "<extra></extra>"))
    fig.update_layout(barmode="stack", bargap=0.3)
    fig.update_yaxes(title_text=_("Patients, % of stratum"), range=[0, 100.5], ticksuffix="%")
    fig.update_xaxes(title_text=_("Stratum (n = all patients)"))
    return _base_layout(fig, title, 430)


def _suppressed_bor(counts: pd.DataFrame) -> tuple[list[str], list[float], list[str]] | None:
    """Per stratum, the share of the categories withheld by disclosure control (100 % minus
    the shown ones, all from released numbers) and their names; None when nothing is."""
    hidden = counts[counts["n"].isna()]
    if hidden.empty:
        return None
    strata, share, names = [], [], []
    for stratum, part in counts.groupby("stratum", sort=False):
        withheld = part[part["n"].isna()]
        if withheld.empty:
            continue
        strata.append(stratum)
        share.append(max(0.0, 100.0 - float(100 * _num(part["pct"]).fillna(0).sum())))
        names.append(", ".join(BOR_LABELS.get(b, b) for b in withheld["bor"]))
    return strata, share, names


# --- safety -------------------------------------------------------------------------------


def _label_column(level: str) -> str:
    return "term" if level == "term" else "organ_class"


def safety_rows(result, level: str, grade: str, top: int = 15) -> pd.DataFrame:
    """The rows a safety chart shows: the most frequent terms/classes for the grade filter."""
    frame = result.by_term if level == "term" else result.by_organ_class
    column = "pct_grade3plus" if grade == "grade3" else "pct_any_grade"
    frame = frame.assign(_sort=_num(frame[column]).fillna(0))
    if grade == "grade3":
        frame = frame[_num(frame["patients_grade3plus"]).fillna(1) != 0]
    return frame.sort_values(["_sort", _label_column(level)], ascending=[False, True]) \
        .head(top).drop(columns="_sort")


def _safety_bar(rows: pd.DataFrame, level: str, column: str, name: str, col: str,
                sign: float = 1.0, base_name: str = "") -> go.Bar:
    labels = [data_text(_label_column(level), v) for v in rows[_label_column(level)]]
    count_col = "patients_grade3plus" if column == "pct_grade3plus" else "patients_any_grade"
    pct = (100 * _num(rows[column])).fillna(0)  # a withheld count: no bar, its mark as text
    text = [f"{fmt_pct(row[column])} ({shown(row, count_col)})" if not is_missing(row[column])
            else shown(row, count_col) for _i, row in rows.iterrows()]
    return go.Bar(
        y=labels, x=sign * pct, orientation="h", name=name, marker_color=col, text=text,
        textposition="outside", cliponaxis=False, textfont=dict(size=11),
        hovertemplate="%{y}<br>" + (base_name or name) + ": %{text}<extra></extra>")


def safety_figure(result, level: str = "term", grade: str = "any", top: int = 15,
                  title: str | None = None) -> go.Figure:
    """Horizontal bars of patients with >= 1 event (% of the cohort), most frequent first."""
    what = _("term") if level == "term" else _("organ class")
    scope = _("immune-related AEs") if result.options.immune_only else _("all AEs")
    title = title or _("Adverse events by {what} ({scope}, % of patients)", what=what,
                       scope=scope)
    if result.empty_reason:
        return empty_figure(_("No adverse events: {reason}.", reason=result.empty_reason), title)
    rows = safety_rows(result, level, grade, top)
    if rows.empty:
        return empty_figure(_("No grade ≥ 3 event in this cohort."), title)
    rows = rows.iloc[::-1]  # plotly draws the first row at the bottom
    if grade == "grade3":
        bars = [_safety_bar(rows, level, "pct_grade3plus", _("Grade ≥ 3"), PALETTE[5])]
    else:
        bars = [_safety_bar(rows, level, "pct_any_grade", _("Any grade"), PALETTE[4]),
                _safety_bar(rows, level, "pct_grade3plus", _("Grade ≥ 3"), PALETTE[5])]
        bars[1].text = None  # the any-grade label already sits at the end of the bar
    fig = go.Figure(bars)
    fig.update_layout(barmode="overlay" if grade != "grade3" else "relative", bargap=0.25)
    top_pct = float(_num(rows["pct_any_grade" if grade != "grade3" else "pct_grade3plus"])
                    .max() or 0)
    fig.update_xaxes(title_text=_("Patients with ≥ 1 event, % of cohort (n={n})",
                                  n=fmt_count(result.cohort_size)),
                     ticksuffix="%", range=[0, max(5.0, 100 * top_pct * 1.3)])
    fig.update_yaxes(automargin=True, tickfont=dict(size=12))
    return _base_layout(fig, title, 150 + 26 * len(rows))


# --- comparison ---------------------------------------------------------------------------


def compare_response_figure(left, right, names: tuple[str, str],
                            title: str | None = None) -> go.Figure:
    """ORR per stratum of two cohorts side by side (n under each stratum, per cohort)."""
    title = title or _("Objective response rate by stratum, two cohorts (95% CI)")
    usable = [r for r in (left, right) if not r.empty_reason and not r.rates.empty]
    if not usable:
        return empty_figure(_("Neither cohort has a tumour assessment of the index line."), title)
    strata = list(dict.fromkeys(list(left.rates["stratum"]) + list(right.rates["stratum"])))
    fig = go.Figure()
    for i, (result, name) in enumerate(zip((left, right), names, strict=True)):
        rates = result.rates.set_index("stratum").reindex(strata).reset_index()
        x = [f"{s}<br>n={fmt_count(a)} / {fmt_count(b)}" for s, a, b in zip(
            strata, _aligned(left, strata), _aligned(right, strata), strict=True)]
        fig.add_trace(_rate_trace(rates, "orr", name, colour(i), x, offsetgroup=str(i)))
    fig.update_layout(barmode="group", bargap=0.25)
    fig.update_yaxes(title_text=_("ORR, % of evaluable"), range=[0, 100], ticksuffix="%")
    fig.update_xaxes(title_text=_("Stratum (n = evaluable patients: {a} / {b})", a=names[0],
                                  b=names[1]))
    return _base_layout(fig, title, 430)


def _aligned(result, strata: list[str]) -> list[object]:
    denominators = {row["stratum"]: shown(row, "denominator")
                    for _i, row in result.rates.iterrows()}
    return [denominators.get(s, 0) for s in strata]


def butterfly_figure(left, right, names: tuple[str, str], grade: str = "any", top: int = 15,
                     title: str | None = None) -> go.Figure:
    """AE frequencies of two cohorts back to back (left cohort to the left), by term."""
    label = _("grade ≥ 3") if grade == "grade3" else _("any grade")
    title = title or _("Adverse events by term, {grade} (% of patients)", grade=label)
    if left.empty_reason and right.empty_reason:
        return empty_figure(_("Neither cohort has an adverse event after index."), title)
    column = "pct_grade3plus" if grade == "grade3" else "pct_any_grade"
    terms = list(dict.fromkeys(
        list(safety_rows(left, "term", grade, top)["term"])
        + list(safety_rows(right, "term", grade, top)["term"])))[:top]
    if not terms:
        return empty_figure(_("No grade ≥ 3 event in either cohort."), title)
    frames = [r.by_term.set_index("term").reindex(terms).reset_index() for r in (left, right)]
    order = (_num(frames[0][column]).fillna(0) + _num(frames[1][column]).fillna(0)).argsort()
    frames = [f.iloc[order.to_numpy()] for f in frames]
    fig = go.Figure([
        _safety_bar(frames[0], "term", column, names[0], PALETTE[0], sign=-1.0),
        _safety_bar(frames[1], "term", column, names[1], PALETTE[1]),
    ])
    peak = max(float(_num(f[column]).max() or 0) for f in frames) * 100
    peak = max(5.0, peak * 1.45)
    ticks = _symmetric_ticks(peak)
    fig.update_layout(barmode="relative", bargap=0.25)
    fig.update_xaxes(title_text=_("Patients with ≥ 1 event, % of each cohort ({grade})",
                                  grade=label),
                     range=[-peak, peak], tickvals=ticks, ticktext=[f"{abs(t):g}%" for t in ticks],
                     zeroline=True, zerolinecolor="#444")
    fig.update_yaxes(automargin=True, tickfont=dict(size=12))
    return _base_layout(fig, title, 170 + 26 * len(terms))


def _symmetric_ticks(peak: float) -> list[float]:
    step = next(s for s in (1, 2, 5, 10, 20, 25, 50) if peak / s <= 4)
    n = int(peak // step)
    return [float(k * step) for k in range(-n, n + 1)]


def cox_forest_figure(model, title: str | None = None) -> go.Figure:
    """Hazard ratios of a multivariable Cox model with 95% CI on a log axis (one row a term);
    terms whose proportional-hazards check fails (p < 0.05) are marked."""
    label = _(ENDPOINT_LABELS.get(model.endpoint, str(model.endpoint)))
    title = title or _("{endpoint}: multivariable Cox model (hazard ratio, 95% CI)",
                       endpoint=label)
    if model.empty_reason or model.terms.empty:
        return empty_figure(tr().text(model.empty_reason or _("no model terms")), title)
    terms = model.terms.iloc[::-1]
    names = [_("{a} vs {b}", a=t, b=r) if r else t for t, r in zip(terms["term"], terms["reference"],
                                                        strict=True)]
    # PH: the proportional-hazards check failed (a statistics term, the same in Finnish).
    names = [f"{n} ⚠ PH" if p < 0.05 else n  # i18n: statistics abbreviation
             for n, p in zip(names, terms["ph_p_value"], strict=True)]
    fig = go.Figure(go.Scatter(
        x=terms["hr"], y=names, mode="markers", marker={"size": 9, "color": colour(0)},
        error_x={"type": "data", "symmetric": False, "array": terms["ci_upper"] - terms["hr"],
                 "arrayminus": terms["hr"] - terms["ci_lower"]},
        hovertemplate=_("%{y}: HR %{x:.2f}<extra></extra>"), name=_("hazard ratio")))
    fig.add_vline(x=1.0, line_dash="dot", line_color="#888")
    _base_layout(fig, title, 140 + 34 * len(terms))
    fig.update_xaxes(type="log", title_text=_("Hazard ratio (log scale; above 1: events sooner)"))
    return fig
# --- study comparison (propensity score, balance, adjusted outcomes, subgroups) -----------

STAGE_LABELS = {"crude": "crude", "adjusted": "adjusted"}


def _legend_above_subplots(fig: go.Figure) -> go.Figure:
    """Side-by-side panels have their own titles: the legend goes above them, not over."""
    fig.update_layout(legend=dict(orientation="h", yanchor="bottom", y=1.12, xanchor="left",
                                  x=0.0), margin=dict(t=120))
    return fig


def propensity_figure(result, names: tuple[str, str]) -> go.Figure:
    """Propensity-score distributions of A and B before and after adjustment (mirrored bars:
    A up, B down); ``result`` is a ``queries.analyses.comparison.StudyComparison``."""
    title = _("Propensity score, before and after adjustment")
    hist = result.propensity
    if hist is None or hist.empty:
        return empty_figure(_("No propensity score: see the warnings above."), title)
    stages = [s for s in ("before", "after") if (hist["stage"] == s).any()]
    fig = make_subplots(rows=1, cols=len(stages), shared_yaxes=True,
                        subplot_titles=[_("Before adjustment") if s == "before"
                                        else _("After adjustment") for s in stages])
    for col, stage in enumerate(stages, start=1):
        for i, (arm, sign) in enumerate((("A", 1), ("B", -1))):
            part = hist[(hist["stage"] == stage) & (hist["arm"] == arm)]
            mid = (part["bin_lower"] + part["bin_upper"]) / 2
            fig.add_trace(go.Bar(x=mid, y=sign * _num(part["weight"]), name=names[i],
                                 marker_color=colour(i), legendgroup=arm, showlegend=col == 1,
                                 width=(part["bin_upper"] - part["bin_lower"]) * 0.95,
                                 customdata=_num(part["weight"]),
                                 hovertemplate=_("score %{x:.2f}: %{customdata:.0f}"
                                               "<extra>") + names[i] + "</extra>"), row=1, col=col)
        fig.update_xaxes(title_text=_("Propensity score (probability of A)"), range=[0, 1],
                         row=1, col=col)
    fig.update_yaxes(title_text=_("Patients (A up, B down)"), row=1, col=1)
    fig.update_layout(barmode="overlay", bargap=0)
    return _legend_above_subplots(_base_layout(fig, title, 400))


def love_plot(result) -> go.Figure:
    """Absolute standardized mean difference of every covariate before and after adjustment,
    with the 0.1 line."""
    title = _("Covariate balance (absolute standardized mean difference)")
    balance = result.balance
    if balance is None or balance.empty:
        return empty_figure(_("No balance table: see the warnings above."), title)
    labels = [_(covariate) for covariate in balance["covariate"]][::-1]  # catalogue messages
    fig = go.Figure()
    for i, (column, name, symbol) in enumerate((("smd_before", _("Before"), "circle-open"),
                                                ("smd_after", _("After"), "circle"))):
        values = _num(balance[column]).abs().tolist()[::-1]
        shown_values = [min(v, 2.0) if not math.isnan(v) else None for v in values]
        text = ["∞" if math.isinf(v) else (_("withheld") if math.isnan(v) else fmt_number(v, 2))
                for v in values]
        fig.add_trace(go.Scatter(x=shown_values, y=labels, mode="markers", name=name,
                                 marker=dict(symbol=symbol, size=11, color=colour(i * 5)),
                                 text=text, hovertemplate="%{y}: %{text}<extra>" + name
                                 + "</extra>"))
    fig.add_vline(x=0.1, line_dash="dash", line_color="#888",
                  annotation_text="0.1", annotation_position="top")
    fig.update_xaxes(title_text=_("|SMD| (values above 2 drawn at 2)"), rangemode="tozero")
    return _base_layout(fig, title, 160 + 32 * len(labels))


def study_survival_figure(outcome, names: tuple[str, str]) -> go.Figure:
    """Kaplan-Meier curves of A and B, crude (left) and adjusted (right)."""
    title = _("{outcome}: {a} vs {b}", outcome=outcome.label, a=names[0], b=names[1])
    curves = outcome.curves
    if curves is None or curves.empty:
        return empty_figure(_("No curve to draw."), title)
    stages = [s for s in ("crude", "adjusted") if (curves["stage"] == s).any()]
    fig = make_subplots(rows=1, cols=len(stages), shared_yaxes=True,
                        subplot_titles=[s.capitalize() for s in stages])
    for col, stage in enumerate(stages, start=1):
        for i, arm in enumerate(("A", "B")):
            part = curves[(curves["stage"] == stage) & (curves["arm"] == arm)]
            if part.empty:
                continue
            x, y = _step_xy([0.0, *part["time_months"]], [1.0, *_num(part["survival"])])
            fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=names[i], legendgroup=arm,
                                     showlegend=col == 1, line=dict(color=colour(i), width=2),
                                     hovertemplate=_("%{x:.1f} mo: %{y:.1%}<extra>") + names[i]
                                     + "</extra>"), row=1, col=col)
        fig.update_xaxes(title_text=_("Months since index"), row=1, col=col)
    fig.update_yaxes(title_text=_("Probability"), range=[0, 1.02], tickformat=".0%", row=1, col=1)
    return _legend_above_subplots(_base_layout(fig, title, 420))


def forest_figure(subgroups: pd.DataFrame, names: tuple[str, str], overall=None) -> go.Figure:
    """Hazard ratio (A vs B) with 95 % CI per subgroup level, log scale, with the interaction
    p-value of each field in its label."""
    title = _("Subgroups: hazard ratio, {a} vs {b}", a=names[0], b=names[1])
    if subgroups is None or subgroups.empty:
        return empty_figure(_("Choose subgroup fields to draw a forest plot."), title)
    rows = subgroups.iloc[::-1]
    labels = [_("{field}: {level} (p interaction {p})", field=r.field, level=r.level,
                p=fmt_p(r.interaction_p))
              for r in rows.itertuples()]
    hr = _num(rows["hr"])
    fig = go.Figure(go.Scatter(
        x=hr, y=labels, mode="markers", marker=dict(symbol="square", size=10, color=colour(0)),
        name=_("HR (95% CI)"),
        error_x=dict(type="data", symmetric=False, array=_num(rows["ci_upper"]) - hr,
                     arrayminus=hr - _num(rows["ci_lower"])),
        hovertemplate=_("%{y}: HR %{x:.2f}<extra></extra>")))
    if overall is not None:
        fig.add_vline(x=overall.hr, line_dash="dot", line_color=colour(1),
                      annotation_text=_("overall {hr}", hr=fmt_number(overall.hr, 2)),
                      annotation_position="top")
    fig.add_vline(x=1.0, line_color="#444")
    fig.update_xaxes(type="log", title_text=_("Hazard ratio (< 1 favours {a})", a=names[0]))
    return _base_layout(fig, title, 160 + 34 * len(labels))


def incidence_figure(result, top: int = 6) -> go.Figure:
    """Cumulative incidence curves (Aalen-Johansen, 95% CI band) of the largest groups."""
    title = _("Grade ≥ 3 immune-related AE: cumulative incidence by regimen (death competing)")
    if result.empty_reason or result.curve.empty:
        return empty_figure(tr().text(result.empty_reason or _("no data")), title)
    groups = result.groups.head(top)["group"].tolist()
    fig = go.Figure()
    for i, group in enumerate(groups):
        part = result.curve[result.curve["group"] == group]
        x, y = _step_xy(part["time_months"].tolist(), part["cumulative_incidence"].tolist())
        n = int(result.groups.set_index("group").loc[group, "patients"])
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=f"{_short(str(group))} (n={n})",
                                 line={"color": colour(i)}))
    _base_layout(fig, title, 420)
    fig.update_xaxes(title_text=_("Months since index"))
    fig.update_yaxes(title_text=_("Cumulative incidence"), rangemode="tozero")
    return fig


# --- cohort builder: attrition ------------------------------------------------------------

FUNNEL_COLORS = {"after": "#2c3e50", "alone": "#95a5a6"}


def blank_figure() -> go.Figure:
    """No axes, no data: the attrition chart before the first count."""
    fig = go.Figure()
    fig.update_layout(margin={"l": 10, "r": 10, "t": 10, "b": 10}, xaxis={"visible": False},
                      yaxis={"visible": False}, plot_bgcolor="white", paper_bgcolor="white")
    return fig


def _step_label(step) -> str:
    if step.step == 0:
        return _("Index event")
    name = step.rule_name if len(step.rule_name) <= 28 else step.rule_name[:27] + "…"
    return f"{step.step}. {name}" + ("" if step.enabled else " " + _("(off)"))


def funnel_figure(steps: list) -> go.Figure:
    """Horizontal bars: patients left after each rule, and patients meeting each rule alone."""
    labels = [_step_label(s) for s in steps]
    after = [s.remaining.value or 0 for s in steps]
    alone = [s.alone.value or 0 for s in steps]
    fig = go.Figure([
        go.Bar(y=labels, x=after, name=_("left after rule"), orientation="h",
               marker_color=FUNNEL_COLORS["after"], text=[localize_released(s.remaining.display) for s in steps],
               textposition="auto", hovertemplate=_("%{y}: %{text} left<extra></extra>")),
        go.Bar(y=labels, x=alone, name=_("meeting rule alone"), orientation="h",
               marker_color=FUNNEL_COLORS["alone"], text=[localize_released(s.alone.display) for s in steps],
               textposition="auto", hovertemplate=_("%{y}: %{text} alone<extra></extra>")),
    ])
    fig.update_layout(
        barmode="group", bargap=0.25, margin={"l": 10, "r": 10, "t": 4, "b": 24},
        yaxis={"autorange": "reversed", "automargin": True}, xaxis={"title": None},
        legend={"orientation": "h", "y": -0.12, "x": 0}, plot_bgcolor="white",
        paper_bgcolor="white", font={"size": 11}, uniformtext={"minsize": 9, "mode": "hide"},
        separators=plotly_separators(),
    )
    return fig


# --- feasibility: released counts ---------------------------------------------------------

BAR_COLOR = "#2c7fb8"


def counts_figure(labels: list[str], values: list[float | None], texts: list[str],
                  axis_title: str, horizontal: bool = False) -> go.Figure:
    """Bars of released counts; a withheld cell has no bar, only its label ("suppressed").

    ``horizontal`` suits long category names (sites); rows keep the table's order.
    """
    heights = [v if v is not None else 0 for v in values]
    bar = go.Bar(
        x=heights if horizontal else labels,
        y=labels if horizontal else heights,
        orientation="h" if horizontal else "v",
        text=texts,
        textposition="outside",
        marker_color=BAR_COLOR,
        hovertemplate=("%{y}" if horizontal else "%{x}") + ": %{text}<extra></extra>",
        cliponaxis=False,
    )
    category = {"title": axis_title, "type": "category"}
    count = {"title": _("patients"), "rangemode": "tozero"}
    fig = go.Figure(bar)
    fig.update_layout(
        template="plotly_white",
        margin={"l": 10, "r": 40, "t": 30, "b": 40},
        xaxis=count if horizontal else category,
        yaxis={**category, "autorange": "reversed", "automargin": True} if horizontal else count,
        showlegend=False,
        separators=plotly_separators(),
    )
    if all(v is None for v in values):
        # Nothing released: no axis scale that would suggest a size.
        fig.update_layout({"xaxis" if horizontal else "yaxis": {"visible": False,
                                                                 "range": [0, 1]}})
        fig.add_annotation(text=_("Every count here is under the threshold or hidden."),
                           showarrow=False, xref="paper", yref="paper", x=0.5, y=1.08)
    return fig


# --- advisory summaries -------------------------------------------------------------------

RESPONDED_COLOR = "#1b9e77"
OTHER_COLOR = "#d9d9d9"


def icon_array_figure(per_100: int) -> go.Figure:
    """100 people in a 10 x 10 grid, the first ``per_100`` coloured: "about N in 100"."""
    per_100 = max(0, min(100, int(per_100)))
    xs = [i % 10 for i in range(100)]
    ys = [9 - i // 10 for i in range(100)]
    groups = ((_("responded (about {n} in 100)", n=per_100), range(per_100), RESPONDED_COLOR),
              (_("did not respond"), range(per_100, 100), OTHER_COLOR))
    fig = go.Figure()
    for name, members, color in groups:
        members = list(members)
        if not members:
            continue
        x = [xs[i] for i in members]
        y = [ys[i] for i in members]
        # A person: a round head above a rounded body, drawn as two markers.
        fig.add_trace(go.Scatter(x=x, y=[v + 0.25 for v in y], mode="markers", name=name,
                                 legendgroup=name, hoverinfo="skip",
                                 marker={"symbol": "circle", "size": 8, "color": color}))
        fig.add_trace(go.Scatter(x=x, y=[v - 0.12 for v in y], mode="markers", name=name,
                                 legendgroup=name, showlegend=False, hoverinfo="skip",
                                 marker={"symbol": "square", "size": 13, "color": color}))
    fig.update_layout(
        template="plotly_white", height=300, margin={"l": 5, "r": 5, "t": 5, "b": 5},
        xaxis={"visible": False, "range": [-0.7, 9.7], "fixedrange": True},
        yaxis={"visible": False, "range": [-0.7, 9.7], "fixedrange": True,
               "scaleanchor": "x"},
        legend={"orientation": "h", "y": -0.02, "x": 0.5, "xanchor": "center"},
        plot_bgcolor="white",
    )
    return fig


# --- patient-reported outcomes ------------------------------------------------------------

# Every PRO-CTCAE item's levels (schema.PRO_CTCAE_ITEM_LEVELS): none .. very severe, never ..
# almost constantly of a frequency item, and no/yes of a presence item such as rash.
PRO_LEVEL_LABELS = {"none": N_("none"), "mild": N_("mild"), "moderate": N_("moderate"),
                    "severe": N_("severe"), "very severe": N_("very severe"),
                    "never": N_("never"), "rarely": N_("rarely"),
                    "occasionally": N_("occasionally"), "frequently": N_("frequently"),
                    "almost constantly": N_("almost constantly"),
                    "no": N_("no"), "yes": N_("yes")}
# Levels 0 -> 4 (severity or frequency): light to dark (a sequential scale reads as "worse"
# without a legend); no as level 0, yes in a colour of its own (it is no severity).
_LEVEL_SHADES = ("#E8EEF4", "#A6C8E0", "#56B4E9", "#0072B2", "#D55E00")
PRO_LEVEL_COLOURS = {**dict(zip(PRO_CTCAE_LEVELS, _LEVEL_SHADES, strict=True)),
                     **dict(zip(PRO_CTCAE_FREQUENCY_LEVELS, _LEVEL_SHADES, strict=True)),
                     "no": _LEVEL_SHADES[0], "yes": "#CC79A7"}


def pro_item_label(instrument: str, item: str) -> str:
    """'QLQ-C30: Global health status/QoL' in the reader's language."""
    short = PRO_INSTRUMENT_SHORT.get(instrument, instrument)
    return f"{short}: {_(PRO_ITEM_LABELS.get(item, item))}"


def _week_ticks(weeks: Sequence[object]) -> list[str]:
    return [_("Baseline") if int(w) == 0 else _("wk {week}", week=int(w)) for w in weeks]


def _score_axis_title(instrument: str, item: str) -> str:
    if is_presence_item(instrument, item):
        return _("Share answering yes (0–1)")
    low, high = pro_score_range(instrument, item)
    better = _("higher is better") if higher_is_better(instrument, item) \
        else _("higher is worse")
    return _("Mean score ({low}–{high}, {direction})", low=f"{low:g}", high=f"{high:g}",
             direction=better)


def _score_trace(scores: pd.DataFrame, name: str, col: str, digits: int = 1) -> go.Scatter:
    mean = _num(scores["mean_score"])
    return go.Scatter(
        x=_week_ticks(scores["week"]), y=mean, mode="lines+markers", name=name,
        line={"color": col, "width": 2}, marker={"size": 7},
        error_y={"type": "data", "symmetric": False,
                 "array": (_num(scores["ci_upper"]) - mean).tolist(),
                 "arrayminus": (mean - _num(scores["ci_lower"])).tolist(),
                 "color": col, "thickness": 1.2},
        customdata=np.stack([scores["patients"].astype(object),
                             scores["questionnaires"].astype(object)], axis=-1),
        hovertemplate=_("%{x}: mean %{y:.1f}<br>%{customdata[0]} patients, "
                        "%{customdata[1]} questionnaires<extra></extra>").replace(
                            "%{y:.1f}", f"%{{y:.{digits}f}}"))


def pro_scores_figure(result, title: str | None = None) -> go.Figure:
    """Mean score of one scale by weeks since index (95% CI), questionnaires per bin below."""
    options = result.options
    label = pro_item_label(options.instrument, options.item)
    title = title or _("{scale}: mean score over time since index (95% CI)", scale=label)
    scores = result.scores
    if result.empty_reason or scores.empty:
        return empty_figure(tr().text(result.empty_reason) if result.empty_reason
                            else _("No questionnaire of this scale in the cohort."), title)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.72, 0.28],
                        vertical_spacing=0.06)
    digits = score_digits(options.instrument, options.item)
    name = (_("Share answering yes") if is_presence_item(options.instrument, options.item)
            else _("Mean score"))
    fig.add_trace(_score_trace(scores, name, PALETTE[0], digits), row=1, col=1)
    ticks = _week_ticks(scores["week"])
    fig.add_trace(go.Bar(x=ticks, y=_num(scores["questionnaires"]), name=_("Questionnaires"),
                         marker_color=PALETTE[4], text=[fmt_count(v) for v in
                                                        scores["questionnaires"]],
                         textposition="outside", cliponaxis=False), row=2, col=1)
    low, high = pro_score_range(options.instrument, options.item)
    fig.update_yaxes(title_text=_score_axis_title(options.instrument, options.item),
                     range=[low, high], row=1, col=1)
    # the bars are named in the legend; a second axis title would overlap the first
    fig.update_yaxes(rangemode="tozero", row=2, col=1)
    fig.update_xaxes(title_text=_("Weeks since index (bins of {weeks} weeks)",
                                  weeks=options.bin_weeks), row=2, col=1)
    return _base_layout(fig, title, 500)


def pro_completion_figure(result, title: str | None = None) -> go.Figure:
    """Completion by bin: patients who answered / participants alive and followed."""
    title = title or _("Questionnaire completion (% of participants still followed)")
    frame = result.completion
    if result.empty_reason or frame.empty:
        return empty_figure(tr().text(result.empty_reason) if result.empty_reason
                            else _("No questionnaire in the cohort."), title)
    ticks = _week_ticks(frame["week"])
    texts = [f"{fmt_count(a)}/{fmt_count(f)}" for a, f in
             zip(frame["patients_answered"], frame["patients_followed"], strict=True)]
    fig = go.Figure(go.Bar(x=ticks, y=100 * _num(frame["completion"]), marker_color=PALETTE[2],
                           text=texts, textposition="outside", cliponaxis=False,
                           name=_("Completion"),
                           hovertemplate=_("%{x}: %{y:.0f}% (answered/followed %{text})"
                                           "<extra></extra>")))
    fig.update_yaxes(title_text=_("Completion, %"), range=[0, 110], ticksuffix="%")
    fig.update_xaxes(title_text=_("Weeks since index"))
    return _base_layout(fig, title, 360)


def pro_severity_figure(result, title: str | None = None) -> go.Figure:
    """Each PRO-CTCAE item: share of patients at each level of their worst answer."""
    title = title or _("PRO-CTCAE: worst answer in weeks 1–{weeks} (% of patients who "
                       "answered)", weeks=result.options.ctcae_weeks)
    frame = result.severity
    if frame.empty:
        return empty_figure(_("No PRO-CTCAE answers in the first weeks after index."), title)
    items = list(dict.fromkeys(frame["item"]))
    denominators = frame.drop_duplicates("item").set_index("item")["denominator"]
    ticks = [f"{_(PRO_ITEM_LABELS.get(i, i))} (n={fmt_count(denominators[i])})" for i in items]
    fig = go.Figure()
    # One trace per level 0-4 shared by severity and frequency items ("mild / rarely"), each
    # bar hovering its item's own word; a presence item's no/yes are traces of their own.
    presence = frame["item"].map(lambda item: is_presence_item(PRO_CTCAE, item))
    keys = [str(label) if yes_no else int(level) for label, level, yes_no
            in zip(frame["severity"], frame["level"], presence, strict=True)]
    frame = frame.assign(trace=keys)
    for key in dict.fromkeys(keys):
        rows = frame[frame["trace"] == key]
        words = [_(PRO_LEVEL_LABELS.get(label, label)) for label in rows["severity"]]
        part = rows.assign(word=words).set_index("item").reindex(items)
        fig.add_trace(go.Bar(
            y=ticks, x=100 * _num(part["share"]), orientation="h",
            name=" / ".join(dict.fromkeys(words)), customdata=part["word"].fillna(""),
            marker_color=PRO_LEVEL_COLOURS.get(str(rows["severity"].iloc[0]), PALETTE[0]),
            hovertemplate="%{y}: %{x:.0f}% %{customdata}<extra></extra>"))
    fig.update_layout(barmode="stack", bargap=0.3)
    fig.update_xaxes(title_text=_("Patients, % (worst answer)"), range=[0, 100], ticksuffix="%")
    fig.update_yaxes(automargin=True, autorange="reversed")
    # the level words ("very severe / almost constantly") make a legend of up to four rows:
    # room for them above the plot, so the legend never covers the first item's bar
    return _base_layout(fig, title, 230 + 34 * len(items)).update_layout(margin_t=150)


def compare_pro_figure(left, right, names: tuple[str, str],
                       title: str | None = None) -> go.Figure:
    """Mean score over time of two cohorts (95% CI), side by side in each bin."""
    options = left.options
    label = pro_item_label(options.instrument, options.item)
    title = title or _("{scale}: mean score over time, two cohorts (95% CI)", scale=label)
    if all(r.empty_reason or r.scores.empty for r in (left, right)):
        return empty_figure(_("Neither cohort has questionnaires of this scale."), title)
    digits = score_digits(options.instrument, options.item)
    fig = go.Figure([_score_trace(r.scores, name, colour(i), digits)
                     for i, (r, name) in enumerate(zip((left, right), names, strict=True))
                     if not r.scores.empty])
    weeks = sorted(set(left.scores["week"]) | set(right.scores["week"]))
    low, high = pro_score_range(options.instrument, options.item)
    fig.update_xaxes(title_text=_("Weeks since index"), categoryorder="array",
                     categoryarray=_week_ticks(weeks))
    fig.update_yaxes(title_text=_score_axis_title(options.instrument, options.item),
                     range=[low, high])
    return _base_layout(fig, title, 430)
