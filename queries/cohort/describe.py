"""A plain-language description of a cohort definition, as a clinician would write it."""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from queries.cohort.catalog import ECOG_DEFAULT_WINDOW, Catalog, CatalogField, base_catalog
from queries.cohort.model import (
    AllGroup,
    AnyGroup,
    AttributeCriterion,
    Definition,
    EventCriterion,
    Filter,
    IndexEvent,
    NotGroup,
    Occurrence,
    Window,
)

_OPS = {"=": "", "!=": "not", "<": "<", "<=": "≤", ">": ">", ">=": "≥"}
_TABLE_NOUN = {
    "diagnoses": "a diagnosis", "biomarkers": "a biomarker test", "treatments": "a treatment",
    "performance_status": "an ECOG assessment", "tumor_assessments": "a tumour assessment",
    "adverse_events": "an adverse event",
}
_TABLE_PLURAL = {
    "diagnoses": "diagnoses", "biomarkers": "biomarker tests", "treatments": "treatments",
    "performance_status": "ECOG assessments", "tumor_assessments": "tumour assessments",
    "adverse_events": "adverse events",
}


def _date(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, date):
        return f"{value.day} {value.strftime('%B')} {value.year}"
    return str(value)


def _one(value: Any, f: CatalogField | None) -> str:
    if f is not None and f.type == "date":
        return _date(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    if f is not None and f.unit and isinstance(value, int | float):
        return f"{text} {f.unit}" if f.unit != "%" else f"{text} %"
    return text


def _join(items: list[str], word: str = "or") -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {word} " + items[-1]


def comparison_text(label: str, op: str, value: Any, f: CatalogField | None) -> str:
    """``PD-L1 TPS ≥ 50 %``, ``drug class anti-CTLA-4``, ``stage III or IV``..."""
    if op == "is_null":
        return f"{label} unknown"
    if op == "is_not_null":
        return f"{label} recorded"
    if op == "between":
        low, high = value
        unit = f" {f.unit}" if f and f.unit and f.type == "numeric" else ""
        if f is not None and f.type == "date":
            return f"{label} between {_date(low)} and {_date(high)}"
        return f"{label} {low}–{high}{unit}"
    if op in ("in", "not_in"):
        words = _join([_one(v, f) for v in value])
        return f"{label} {words}" if op == "in" else f"{label} other than {words}"
    if op == "starts_with":
        prefixes = value if isinstance(value, list) else [value]
        return f"{label} starting with {_join(prefixes)}"
    if f is not None and f.type == "boolean" and op == "=":
        return label if value else f"not {label}"
    symbol = _OPS.get(op, op)
    return f"{label} {symbol} {_one(value, f)}".replace("  ", " ")


def _age_text(op: str, value: Any) -> str:
    phrases = {
        "between": lambda v: f"aged {v[0]}–{v[1]}", ">=": lambda v: f"aged {v} or older",
        ">": lambda v: f"older than {v}", "<=": lambda v: f"aged {v} or younger",
        "<": lambda v: f"younger than {v}", "=": lambda v: f"aged {v}",
    }
    if op in phrases:
        return phrases[op](value)
    return "with " + comparison_text("age", op, value, None)


def window_text(window: Window | None, default: str = "at any time") -> str:
    if window is None:
        return default
    start, end = window.start_days, window.end_days
    if start is None:
        return default if end is None else _open_start(end)
    if end is None:
        return _open_end(start)
    if end == 0 and start < 0:
        return f"within {-start} days before the index date"
    if start == 0 and end > 0:
        return f"within {end} days after the index date"
    if start == end:
        return f"{_offset(start)}"
    return f"between {_offset(start)} and {_offset(end)}"


def _offset(days: int) -> str:
    if days == 0:
        return "the index date"
    return f"{abs(days)} days {'before' if days < 0 else 'after'} the index date"


def _open_start(end: int) -> str:
    if end == 0:
        return "on or before the index date"
    if end == -1:
        return "before the index date"
    return f"up to {_offset(end)}"


def _open_end(start: int) -> str:
    if start == 0:
        return "on or after the index date"
    if start == 1:
        return "after the index date"
    return f"from {_offset(start)} on"


class _Describer:
    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    def field(self, key: str) -> CatalogField | None:
        return self.catalog.get(key) or base_catalog().get(key)

    def node(self, node: Any) -> str:
        if isinstance(node, AllGroup):
            return _join([self.node(child) for child in node.all], "and")
        if isinstance(node, AnyGroup):
            parts = [self.node(child) for child in node.any]
            return parts[0] if len(parts) == 1 else "either " + _join(parts, "or")
        if isinstance(node, NotGroup):
            child = node.not_
            if isinstance(child, EventCriterion) and child.occurrence.max is None \
                    and (child.occurrence.min or 0) == 1:
                return self.event(child.model_copy(update={"occurrence": Occurrence(max=0)}))
            return f"not ({self.node(child)})"
        if isinstance(node, EventCriterion):
            return self.event(node)
        if isinstance(node, AttributeCriterion):
            return self.attribute(node)
        return str(node)

    def attribute(self, crit: AttributeCriterion) -> str:
        f = self.field(crit.field)
        label = f.label if f else crit.field
        if crit.field == "age_at_index":
            return _age_text(crit.op, crit.value) + " at the index date"
        if crit.field == "cancer_type" and crit.op == "in":
            return "with " + _join([str(v) for v in cast(list[Any], crit.value)])
        if crit.field == "stage" and crit.op in ("in", "="):
            values = crit.value if isinstance(crit.value, list) else [crit.value]
            return "stage " + _join([str(v) for v in values])
        if crit.field == "sex" and crit.op in ("in", "=") and crit.value in (["F"], "F", ["M"], "M"):
            return "women" if "F" in crit.value else "men"
        if crit.field == "ecog":
            window = window_text(crit.window or Window(start_days=ECOG_DEFAULT_WINDOW[0],
                                                            end_days=ECOG_DEFAULT_WINDOW[1]))
            return f"with {comparison_text('ECOG', crit.op, crit.value, f)} (latest {window})"
        return "with " + comparison_text(label.lower() if f else label, crit.op, crit.value, f)

    def filters(self, where: list[Filter]) -> list[str]:
        out = []
        for item in where:
            f = self.field(item.field)
            label = f.label if f else item.field
            if f is not None and not f.biomarker:
                label = label[0].lower() + label[1:] if label[:2] != label[:2].upper() else label
            elif f is not None and f.type == "categorical":
                label = f"{label} result"
            out.append(comparison_text(label, item.op, item.value, f))
        return out

    def event(self, crit: EventCriterion) -> str:
        where = self.filters(crit.where)
        when = window_text(crit.window)
        biomarker = (len(crit.where) == 1 and (f := self.field(crit.where[0].field)) is not None
                     and f.biomarker)
        low, high = crit.occurrence.min or 0, crit.occurrence.max
        if crit.table == "biomarkers" and where and biomarker:
            thing = f"{where[0]} measured {when}"
            return f"without {thing}" if high == 0 else f"with {self._count(low, high)}{thing}"
        noun = _TABLE_NOUN[crit.table]
        if low == 0 and high is None:
            return f"any number of {_TABLE_PLURAL[crit.table]} (no condition)"
        detail = f" with {_join(where, 'and')}" if where else ""
        if high == 0:
            return f"no {noun.split(' ', 1)[1]}{detail} {when}"
        if low <= 1 and high is None:
            return f"with {noun}{detail} {when}"
        return f"with {self._count(low, high)}{_TABLE_PLURAL[crit.table]}{detail} {when}"

    @staticmethod
    def _count(low: int, high: int | None) -> str:
        if high is None:
            return "" if low <= 1 else f"at least {low} "
        if low == high:
            return f"exactly {low} "
        return f"at most {high} " if low == 0 else f"{low} to {high} "


def index_text(event: IndexEvent) -> str:
    """``Patients whose first immune checkpoint inhibitor started between ...``."""
    what = _index_what(event)
    dates = ""
    if event.date_from and event.date_to:
        dates = f" between {_date(event.date_from)} and {_date(event.date_to)}"
    elif event.date_from:
        dates = f" on or after {_date(event.date_from)}"
    elif event.date_to:
        dates = f" on or before {_date(event.date_to)}"
    verb = "was made" if event.kind == "diagnosis" else "started"
    return f"Patients whose {what} {verb}{dates}"


def index_label(event: IndexEvent) -> str:
    """A short name of the index event for tables: ``First ICI, 2018-01-01 to 2024-12-31``."""
    what = _index_what(event)
    what = what.replace(" (anti-PD-1, anti-PD-L1 or anti-CTLA-4)", "")
    text = what[0].upper() + what[1:]
    if event.date_from or event.date_to:
        low = event.date_from.isoformat() if event.date_from else "…"
        high = event.date_to.isoformat() if event.date_to else "…"
        text += f", {low} to {high}"
    return text


def _index_what(event: IndexEvent) -> str:
    filters = []
    if event.drug_classes:
        filters.append(_join(event.drug_classes))
    if event.regimens:
        filters.append("regimen " + _join(event.regimens))
    if event.drugs:
        filters.append(_join(event.drugs))
    spec = f" with {_join(filters, 'and')}" if filters else ""
    if event.kind == "first_checkpoint_inhibitor":
        return "first immune checkpoint inhibitor (anti-PD-1, anti-PD-L1 or anti-CTLA-4)"
    if event.kind == "first_drug_class":
        return f"first treatment{spec}"
    if event.kind == "line_start":
        return f"line {event.line} of therapy{spec}"
    cancers = f" of {_join(event.cancer_types)}" if event.cancer_types else ""
    return f"first diagnosis{cancers}"


def rule_text(rule_criteria: Any, catalog: Catalog | None = None) -> str:
    return _Describer(catalog or base_catalog()).node(rule_criteria)


def describe(definition: Definition, catalog: Catalog | None = None) -> str:
    """A summary sentence, then the rules in order (switched-off rules marked)."""
    describer = _Describer(catalog or base_catalog())
    enabled = [describer.node(rule.criteria) for rule in definition.enabled_rules()]
    sentence = index_text(definition.index_event)
    if enabled:
        sentence += ", " + ", ".join(enabled)
    lines = [definition.metadata.name, "", sentence + ".", "",
             "The index date (time zero) is the date of that event."]
    if definition.inclusion_rules:
        lines += ["", "Inclusion rules, applied in order:"]
    for i, rule in enumerate(definition.inclusion_rules, start=1):
        off = " (switched off; not applied)" if not rule.enabled else ""
        lines.append(f"{i}. {rule.name}{off}: {describer.node(rule.criteria)}.")
    if definition.metadata.description:
        lines += ["", definition.metadata.description]
    return "\n".join(lines) + "\n"


__all__ = ["describe", "index_text", "rule_text", "window_text", "comparison_text"]
