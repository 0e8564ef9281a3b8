"""Value inputs of a criterion row, chosen from the catalog field's type and operator.

Each kind of value has one widget layout (``value_widgets``) and one reader (``read_value``)
that turns the widgets' current values back into the definition's ``value``; keeping both
here means a new field type needs changes in this module only. The field itself comes from
the catalog, so a new field of a known type needs no UI code at all.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from dash import dcc, html

from components import ids
from components.i18n import N_, _, fmt_int
from queries.cohort.catalog import (
    OPERATOR_LABELS,
    TABLE_LABELS,
    CatalogField,
    display_label,
    is_stage_group,
)
from queries.cohort.model import EVENT_TABLES, LIST_OPS, NULL_OPS
from queries.cohort.vocabulary import histology_name, value_text

CountText = Callable[[int | None], str]
GROUP_LABELS = {"patient": N_("Patient"), **TABLE_LABELS}

# Window choices for event criteria; N is the number of days typed next to the choice.
WINDOW_KINDS = {
    "any": N_("at any time"),
    "within_before": N_("within N days before index"),
    "within_after": N_("within N days after index"),
    "around": N_("within N days of index"),
    "before": N_("on or before the index date"),
    "after": N_("on or after the index date"),
    "custom": N_("from day … to day … of index"),
}
OCCURRENCE_DEFAULT = "1-"
OCCURRENCE_NONE = "0-0"


def plain_count(count: int | None) -> str:
    return "" if count is None else fmt_int(count)


# ---------------------------------------------------------------------------- field choice

def field_options(catalog) -> list[dict]:
    """Every catalog field, grouped by table under a disabled heading, searchable by label."""
    groups: dict[str, list[CatalogField]] = {}
    for f in catalog.fields.values():
        groups.setdefault(f.group, []).append(f)
    order = ["patient", *EVENT_TABLES]
    options: list[dict] = []
    for group in sorted(groups, key=lambda g: order.index(g) if g in order else len(order)):
        heading = _(GROUP_LABELS.get(group, group))
        title = _("Patient, at the index date") if group == "patient" \
            else _("{table} (events)", table=heading)
        options.append({"label": f"— {title} —", "value": f"group:{group}", "disabled": True})
        fields = sorted(groups[group], key=lambda f: (f.measure is None, _field_label(f).casefold()))
        options += [{"label": f"{heading} › {_field_label(f)}", "value": f.key} for f in fields]
    return options


def _field_label(f: CatalogField) -> str:
    label = display_label(f, _)
    return f"{label} ({_(f.unit)})" if f.unit else label


def operator_options(f: CatalogField) -> list[dict]:
    return [{"label": _(OPERATOR_LABELS.get(op, op)), "value": op} for op in f.operators]


def default_operator(f: CatalogField) -> str:
    """The operator a new row starts with: the one people want most often for the type."""
    preferred = {"categorical": "in", "code": "starts_with", "boolean": "=", "date": "between",
                 "numeric": ">=" if f.measure else "between"}.get(f.type, f.operators[0])
    return preferred if preferred in f.operators else f.operators[0]


def has_window(f: CatalogField) -> bool:
    return f.kind == "event" or f.allows_window


# --------------------------------------------------------------------------- value widgets

def value_kind(f: CatalogField, op: str | None) -> str:
    """Which widget a (field, operator) pair needs."""
    if op is None or op in NULL_OPS:
        return "none"
    if f.type == "numeric":
        return {"between": "range"}.get(op, "numbers" if op in LIST_OPS else "number")
    if f.type == "date":
        return "dates" if op == "between" else "date"
    if f.type == "boolean":
        return "boolean"
    if op == "starts_with":
        return "text"
    if op in LIST_OPS:
        return "multi" if f.values else "texts"
    return "single" if f.values else "text"


def spec_of(field_key: str | None, op: str | None) -> str:
    """Which (field, operator) a value widget was drawn for (part of its ID)."""
    return f"{field_key or ''}|{op or ''}"


WidgetId = Callable[[str], dict]


def _number_input(vid: WidgetId, kind: str, value: Any, placeholder: str) -> dcc.Input:
    return dcc.Input(
        id=vid(kind), type="number", value=value, debounce=0.4,
        placeholder=placeholder, step="any", className="form-control form-control-sm",
        style={"width": "6.5rem"},
    )


def category_options(f: CatalogField | None, count_text: CountText,
                     extra: list = ()) -> list[dict]:
    """Options of a categorical field, each labelled with its count in the snapshot."""
    if f is None:
        return []
    options = []
    for value, count in f.values:
        text = count_text(count)
        options.append({"label": f"{_value_label(f, value)} ({text})" if text
                        else _value_label(f, value), "value": value})
    known = f.value_set()
    # Values of a loaded definition that the snapshot does not have stay selectable.
    options += [{"label": _("{value} (not in snapshot)", value=v), "value": v}
                for v in extra if v not in known]
    return options


def _pair(value: Any) -> tuple[Any, Any]:
    return tuple(value) if isinstance(value, list) and len(value) == 2 else (None, None)


def _unit(f: CatalogField) -> html.Span | None:
    return html.Span(_(f.unit), className="ms-1 small text-muted") if f.unit else None


def _hint(f: CatalogField) -> html.Span:
    return html.Span(_range_hint(f), className="ms-2 small text-muted")


def _number_widgets(f, op, value, vid, count_text) -> list:
    return [_number_input(vid, ids.CRITERION_MIN, value, _("value")), _unit(f), _hint(f)]


def _range_widgets(f, op, value, vid, count_text) -> list:
    low, high = _pair(value)
    return [_number_input(vid, ids.CRITERION_MIN, low, _("from")),
            html.Span(_("and"), className="mx-1 small"),
            _number_input(vid, ids.CRITERION_MAX, high, _("to")), _unit(f), _hint(f)]


def _text_widgets(f, op, value, vid, count_text) -> list:
    text = ", ".join(str(v) for v in value) if isinstance(value, list) else (value or "")
    kind = value_kind(f, op)
    hint = {"numbers": _("e.g. 0, 1"), "texts": _("values, comma separated"),
            "text": _("prefix, e.g. C34") if op == "starts_with" else _("value")}[kind]
    return [dcc.Input(id=vid(ids.CRITERION_TEXT), type="text", value=str(text), debounce=0.4,
                      placeholder=hint, className="form-control form-control-sm",
                      style={"width": "14rem"})]


def _dates_widgets(f, op, value, vid, count_text) -> list:
    start, end = _pair(value)
    return [dcc.DatePickerRange(id=vid(ids.CRITERION_DATES), start_date=start, end_date=end,
                                display_format="YYYY-MM-DD", clearable=True,
                                min_date_allowed=_iso(f.min), max_date_allowed=_iso(f.max))]


def _date_widgets(f, op, value, vid, count_text) -> list:
    return [dcc.DatePickerSingle(id=vid(ids.CRITERION_DATE), date=value,
                                 display_format="YYYY-MM-DD", clearable=True)]


def _boolean_widgets(f, op, value, vid, count_text) -> list:
    options = [{"label": "yes", "value": "true"}, {"label": "no", "value": "false"}]
    chosen = None if value is None else ("true" if value else "false")
    return [_dropdown(vid, options, chosen, False, _("yes / no"))]


def _category_widgets(f, op, value, vid, count_text) -> list:
    extra = value if isinstance(value, list) else ([] if value is None else [value])
    options = category_options(f, count_text, extra)
    return [_dropdown(vid, options, value, value_kind(f, op) == "multi",
                      _("choose values (count in snapshot)"))]


_WIDGETS = {
    "none": lambda *_args: [], "number": _number_widgets, "range": _range_widgets,
    "numbers": _text_widgets, "texts": _text_widgets, "text": _text_widgets,
    "dates": _dates_widgets, "date": _date_widgets, "boolean": _boolean_widgets,
    "multi": _category_widgets, "single": _category_widgets,
}


def value_widgets(f: CatalogField, op: str | None, value: Any, rule: str, row: str,
                  count_text: CountText = plain_count) -> list:
    """The inputs for the value of one criterion row, pre-filled with ``value``.

    Their IDs carry the field and operator they were drawn for (``spec_of``), so a reader
    never takes a value left over from the row's previous field.
    """
    spec = spec_of(f.key, op)

    def vid(kind: str) -> dict:
        return ids.criterion_value_id(kind, rule, row, spec)

    parts = _WIDGETS[value_kind(f, op)](f, op, value, vid, count_text)
    return [part for part in parts if part is not None]


def _dropdown(vid: WidgetId, options: list, value: Any, multi: bool,
              placeholder: str) -> dcc.Dropdown:
    return dcc.Dropdown(id=vid(ids.CRITERION_VALUES), options=options, value=value,
                        multi=multi, placeholder=placeholder, closeOnSelect=not multi,
                        className="builder-values", style={"minWidth": "16rem"})


def _range_hint(f: CatalogField) -> str:
    if f.min is None or f.max is None or isinstance(f.min, date):
        return ""
    return _("{low}–{high} in snapshot", low=_num(f.min), high=_num(f.max))


def _value_label(f: CatalogField, value: Any) -> str:
    """A value as shown: histology codes with their name ("8140/3 Adenocarcinoma"), a stage
    group as meaning any of its substages ("III (any substage)"), named values (CTCAE terms,
    cancer types, ...) in the user's language."""
    if is_stage_group(f, value):
        return _("{stage} (any substage)", stage=value)
    name = histology_name(value) if f.column == "histology_icdo3" else None
    return f"{value} {_(name)}" if name else value_text(f.column, value, _)


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, date) else None


# ---------------------------------------------------------------------------- value reading

def read_value(f: CatalogField, op: str | None, widgets: dict[str, Any]) -> tuple[Any, str | None]:
    """The definition value from the row's widgets: (value, problem or None).

    ``widgets`` maps a widget type of ``ids`` (CRITERION_MIN, ...) to its current value;
    the date range's ends come as ``CRITERION_DATES + ":start"`` / ``":end"``.
    """
    kind = value_kind(f, op)
    reader = _READERS[kind]
    return reader(widgets)


def _missing(value: Any) -> bool:
    return value is None or value == "" or value == []


def _read_none(_widgets: dict) -> tuple[Any, str | None]:
    return None, None


def _read_number(widgets: dict) -> tuple[Any, str | None]:
    value = widgets.get(ids.CRITERION_MIN)
    return (None, _("enter a number")) if _missing(value) else (value, None)


def _read_range(widgets: dict) -> tuple[Any, str | None]:
    low, high = widgets.get(ids.CRITERION_MIN), widgets.get(ids.CRITERION_MAX)
    if _missing(low) or _missing(high):
        return None, _("enter both ends of the range")
    if low > high:
        return None, _("the first number must not be above the second")
    return [low, high], None


def _split(text: Any) -> list[str]:
    return [part.strip() for part in str(text or "").split(",") if part.strip()]


def _read_numbers(widgets: dict) -> tuple[Any, str | None]:
    parts = _split(widgets.get(ids.CRITERION_TEXT))
    if not parts:
        return None, _("enter one or more numbers, comma separated")
    try:
        return [float(p) if any(c in p for c in ".eE") else int(p) for p in parts], None
    except ValueError:
        return None, _("only numbers, separated by commas")


def _read_texts(widgets: dict) -> tuple[Any, str | None]:
    parts = _split(widgets.get(ids.CRITERION_TEXT))
    return (parts, None) if parts else (None, _("enter one or more values, comma separated"))


def _read_text(widgets: dict) -> tuple[Any, str | None]:
    parts = _split(widgets.get(ids.CRITERION_TEXT))
    if not parts:
        return None, _("enter a value")
    return (parts[0] if len(parts) == 1 else parts), None


def _read_dates(widgets: dict) -> tuple[Any, str | None]:
    start = widgets.get(ids.CRITERION_DATES + ":start")
    end = widgets.get(ids.CRITERION_DATES + ":end")
    if _missing(start) or _missing(end):
        return None, _("choose both dates")
    return [str(start)[:10], str(end)[:10]], None


def _read_date(widgets: dict) -> tuple[Any, str | None]:
    value = widgets.get(ids.CRITERION_DATE)
    return (None, _("choose a date")) if _missing(value) else (str(value)[:10], None)


def _read_boolean(widgets: dict) -> tuple[Any, str | None]:
    value = widgets.get(ids.CRITERION_VALUES)
    return (None, _("choose yes or no")) if _missing(value) else (value == "true", None)


def _read_multi(widgets: dict) -> tuple[Any, str | None]:
    value = widgets.get(ids.CRITERION_VALUES)
    if _missing(value):
        return None, _("choose at least one value")
    return (list(value) if isinstance(value, list | tuple) else [value]), None


def _read_single(widgets: dict) -> tuple[Any, str | None]:
    value = widgets.get(ids.CRITERION_VALUES)
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else None
    return (None, _("choose a value")) if _missing(value) else (value, None)


_READERS = {
    "none": _read_none, "number": _read_number, "range": _read_range, "numbers": _read_numbers,
    "texts": _read_texts, "text": _read_text, "dates": _read_dates, "date": _read_date,
    "boolean": _read_boolean, "multi": _read_multi, "single": _read_single,
}


# ------------------------------------------------------------------ window and occurrence

def window_choice(window: list | tuple | None,
                  default: tuple | None = None) -> tuple[str, int | None, int | None, int | None]:
    """(kind, N days, start, end) of the window widgets for a window [start_days, end_days].

    ``default``: the field's own default window (ECOG), chosen when no window is given.
    """
    if window is None:
        return ("default" if default else "any"), None, None, None
    start, end = window
    if start is None and end is None:
        return "any", None, None, None
    if start is None and end == 0:
        return "before", None, None, None
    if start == 0 and end is None:
        return "after", None, None, None
    if start is not None and end == 0 and start < 0:
        return "within_before", -start, None, None
    if start == 0 and end is not None and end > 0:
        return "within_after", end, None, None
    if start is not None and end is not None and start == -end and end > 0:
        return "around", end, None, None
    return "custom", None, start, end


def read_window(widgets: dict, has_default: bool = False) -> tuple[list | None, str | None]:
    """[start_days, end_days] (None: any time, or the field's default) or a problem."""
    kind = widgets.get(ids.CRITERION_WINDOW) or ("default" if has_default else "any")
    if kind == "default":
        return None, None
    if kind == "any":
        # A field with a default window needs an explicit open window to mean "any time".
        return ([None, None] if has_default else None), None
    if kind == "before":
        return [None, 0], None
    if kind == "after":
        return [0, None], None
    if kind == "custom":
        start, end = widgets.get(ids.CRITERION_WINDOW_START), widgets.get(ids.CRITERION_WINDOW_END)
        if _missing(start) and _missing(end):
            return None, _("enter the first and/or last day relative to index")
        if not _missing(start) and not _missing(end) and start > end:
            return None, _("the window's first day must not be after its last day")
        return [None if _missing(start) else int(start), None if _missing(end) else int(end)], None
    days = widgets.get(ids.CRITERION_WINDOW_DAYS)
    if _missing(days) or days < 0:
        return None, _("enter the number of days of the time window")
    days = int(days)
    return {"within_before": [-days, 0], "within_after": [0, days],
            "around": [-days, days]}[kind], None


def window_options(default: tuple | None) -> list[dict]:
    options = [{"label": _(text), "value": key} for key, text in WINDOW_KINDS.items()]
    if default:
        start, end = default
        text = (_("latest in {days} days before index", days=-start) if end == 0 and start < 0
                else _("default window (day {start} to {end})", start=start, end=end))
        options.insert(0, {"label": text, "value": "default"})
    return options


def window_boxes_style(kind: str | None) -> tuple[dict, dict]:
    """Show the N-days input or the custom day inputs for the chosen window kind."""
    hidden = {"display": "none"}
    numbered = kind in ("within_before", "within_after", "around")
    return ({} if numbered else hidden), ({} if kind == "custom" else hidden)


def window_widgets(window: list | None, rule: str, row: str,
                   default: tuple | None = None) -> list:
    """Window choice: 'within [90] days before index', 'at any time', or a custom day range."""
    kind, days, start, end = window_choice(window, default)
    days_style, custom_style = window_boxes_style(kind)
    return [
        dcc.Dropdown(id=ids.criterion_id(ids.CRITERION_WINDOW, rule, row),
                     options=window_options(default), value=kind, clearable=False,
                     searchable=False, className="builder-window", style={"width": "19.5rem"}),
        html.Span(id=ids.criterion_id(ids.CRITERION_WINDOW_DAYS_BOX, rule, row), children=[
            html.Label("N =", className="small ms-1 me-1"),
            dcc.Input(id=ids.criterion_id(ids.CRITERION_WINDOW_DAYS, rule, row), type="number",
                      min=0, step=1, value=days if days is not None else 90, debounce=0.4,
                      className="form-control form-control-sm d-inline-block",
                      style={"width": "5.5rem"}),
            html.Span(_("days"), className="small ms-1"),
        ], style=days_style),
        html.Span(id=ids.criterion_id(ids.CRITERION_WINDOW_CUSTOM_BOX, rule, row), children=[
            html.Label(_("from day"), className="small ms-1 me-1"),
            _day_input(ids.CRITERION_WINDOW_START, rule, row, start),
            html.Label(_("to day"), className="small mx-1"),
            _day_input(ids.CRITERION_WINDOW_END, rule, row, end),
        ], style=custom_style),
    ]


def _day_input(kind: str, rule: str, row: str, value: int | None) -> dcc.Input:
    return dcc.Input(id=ids.criterion_id(kind, rule, row), type="number", step=1, value=value,
                     debounce=0.4, placeholder="open",
                     className="form-control form-control-sm d-inline-block",
                     style={"width": "5.5rem"})


def occurrence_key(occurrence: dict | None) -> str:
    if not occurrence:
        return OCCURRENCE_DEFAULT
    low, high = occurrence.get("min"), occurrence.get("max")
    low = (0 if high is not None else 1) if low is None else low
    return f"{low}-{'' if high is None else high}"


def read_occurrence(key: str | None) -> dict:
    low, _dash, high = (key or OCCURRENCE_DEFAULT).partition("-")
    return {"min": int(low), "max": int(high) if high else None}


def occurrence_label(key: str) -> str:
    occurrence = read_occurrence(key)
    low, high = occurrence["min"], occurrence["max"]
    if high == 0:
        return _("has none")
    if high is None:
        return _("has at least one") if low == 1 else _("has at least {n}", n=low)
    return _("has {low} to {high}", low=low, high=high)


def occurrence_widget(key: str, rule: str, row: str) -> dcc.Dropdown:
    keys = [OCCURRENCE_DEFAULT, OCCURRENCE_NONE, "2-"]
    if key not in keys:
        keys.append(key)
    return dcc.Dropdown(id=ids.criterion_id(ids.CRITERION_OCCURRENCE, rule, row),
                        options=[{"label": occurrence_label(k), "value": k} for k in keys],
                        value=key, clearable=False, searchable=False,
                        className="builder-occurrence", style={"minWidth": "10rem"})
