"""A plain-language description of a cohort definition, as a clinician would write it.

Written in English or Finnish (``locale``): each phrase is a catalogue message with
placeholders, so a Finnish description is built from Finnish phrases, not English word order.
"""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from queries.cohort.catalog import (
    ECOG_DEFAULT_WINDOW,
    PRO_INSTRUMENT_SHORT,
    Catalog,
    CatalogField,
    base_catalog,
    display_label,
)
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
from queries.cohort.vocabulary import value_text
from queries.i18n import N_, Translator, translator
from queries.snapshot.schema import STAGE_GROUPS

_OPS = {"=": "", "!=": N_("not"), "<": "<", "<=": "≤", ">": ">", ">=": "≥"}
_TABLE_NOUN = {
    "diagnoses": N_("a diagnosis"), "biomarkers": N_("a biomarker test"),
    "treatments": N_("a treatment"), "performance_status": N_("an ECOG assessment"),
    "tumor_assessments": N_("a tumour assessment"), "adverse_events": N_("an adverse event"),
    "patient_reported_outcomes": N_("a patient-reported answer"),
}
_TABLE_NONE = {
    "diagnoses": N_("no diagnosis"), "biomarkers": N_("no biomarker test"),
    "treatments": N_("no treatment"), "performance_status": N_("no ECOG assessment"),
    "tumor_assessments": N_("no tumour assessment"), "adverse_events": N_("no adverse event"),
    "patient_reported_outcomes": N_("no patient-reported answer"),
}
_TABLE_PLURAL = {
    "diagnoses": N_("diagnoses"), "biomarkers": N_("biomarker tests"),
    "treatments": N_("treatments"), "performance_status": N_("ECOG assessments"),
    "tumor_assessments": N_("tumour assessments"), "adverse_events": N_("adverse events"),
    "patient_reported_outcomes": N_("patient-reported answers"),
}
ENGLISH = translator("en")


def _date(value: Any, t: Translator = ENGLISH) -> str:
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, date):
        if t.locale == "en":
            return f"{value.day} {value.strftime('%B')} {value.year}"
        return t.date(value)
    return str(value)


def _one(value: Any, f: CatalogField | None, t: Translator = ENGLISH) -> str:
    if f is not None and f.type == "date":
        return _date(value, t)
    if isinstance(value, bool):
        return t.gettext("yes") if value else t.gettext("no")
    if f is not None and f.column == "stage":
        return stage_text(value, t)
    if f is not None and isinstance(value, str):
        return value_text(f.column, value, t.gettext)
    text = str(value)
    if f is not None and f.unit and isinstance(value, int | float):
        return f"{text} {t.gettext(f.unit)}" if f.unit != "%" else f"{text} %"
    return text


def _join(items: list[str], word: str = "or", t: Translator = ENGLISH) -> str:
    if len(items) <= 1:
        return "".join(items)
    conjunction = t.gettext("or") if word == "or" else t.gettext("and")
    return ", ".join(items[:-1]) + f" {conjunction} " + items[-1]


def comparison_text(label: str, op: str, value: Any, f: CatalogField | None,
                    t: Translator = ENGLISH) -> str:
    """``PD-L1 TPS ≥ 50 %``, ``drug class anti-CTLA-4``, ``stage III or IV``..."""
    if op == "is_null":
        return t.gettext("{label} unknown", label=label)
    if op == "is_not_null":
        return t.gettext("{label} recorded", label=label)
    if op == "between":
        low, high = value
        unit = f" {t.gettext(f.unit)}" if f and f.unit and f.type == "numeric" else ""
        if f is not None and f.type == "date":
            return t.gettext("{label} between {low} and {high}", label=label,
                             low=_date(low, t), high=_date(high, t))
        return f"{label} {low}–{high}{unit}"
    if op in ("in", "not_in"):
        words = _join([_one(v, f, t) for v in value], "or", t)
        return f"{label} {words}" if op == "in" else \
            t.gettext("{label} other than {values}", label=label, values=words)
    if op == "starts_with":
        prefixes = value if isinstance(value, list) else [value]
        return t.gettext("{label} starting with {prefixes}", label=label,
                         prefixes=_join(prefixes, "or", t))
    if f is not None and f.type == "boolean" and op == "=":
        return label if value else t.gettext("not {label}", label=label)
    symbol = t.gettext(_OPS[op]) if _OPS.get(op) else _OPS.get(op, op)
    return f"{label} {symbol} {_one(value, f, t)}".replace("  ", " ")


def stage_text(stage: Any, t: Translator = ENGLISH) -> str:
    """'IIIB'; a group says that it means any of its substages: 'III (any substage)'."""
    if stage in STAGE_GROUPS:
        return t.gettext("{stage} (any substage)", stage=stage)
    return str(stage)


def _age_text(op: str, value: Any, t: Translator) -> str:
    if op == "between":
        return t.gettext("aged {low}–{high}", low=value[0], high=value[1])
    phrases = {">=": N_("aged {n} or older"), ">": N_("older than {n}"),
               "<=": N_("aged {n} or younger"), "<": N_("younger than {n}"), "=": N_("aged {n}")}
    if op in phrases:
        return t.gettext(phrases[op], n=value)
    return t.gettext("with {what}", what=comparison_text(t.gettext("age"), op, value, None, t))


def window_text(window: Window | None, default: str | None = None,
                t: Translator = ENGLISH) -> str:
    default = t.gettext("at any time") if default is None else default
    if window is None:
        return default
    start, end = window.start_days, window.end_days
    if start is None:
        return default if end is None else _open_start(end, t)
    if end is None:
        return _open_end(start, t)
    if end == 0 and start < 0:
        return t.gettext("within {n} days before the index date", n=-start)
    if start == 0 and end > 0:
        return t.gettext("within {n} days after the index date", n=end)
    if start == end:
        return _offset(start, t)
    return t.gettext("between {start} and {end}", start=_offset(start, t), end=_offset(end, t))


def _offset(days: int, t: Translator = ENGLISH) -> str:
    if days == 0:
        return t.gettext("the index date")
    if days < 0:
        return t.gettext("{n} days before the index date", n=abs(days))
    return t.gettext("{n} days after the index date", n=days)


def _open_start(end: int, t: Translator) -> str:
    if end == 0:
        return t.gettext("on or before the index date")
    if end == -1:
        return t.gettext("before the index date")
    return t.gettext("up to {offset}", offset=_offset(end, t))


def _open_end(start: int, t: Translator) -> str:
    if start == 0:
        return t.gettext("on or after the index date")
    if start == 1:
        return t.gettext("after the index date")
    return t.gettext("from {offset} on", offset=_offset(start, t))


class _Describer:
    def __init__(self, catalog: Catalog, t: Translator = ENGLISH):
        self.catalog = catalog
        self.t = t

    def field(self, key: str) -> CatalogField | None:
        return self.catalog.get(key) or base_catalog().get(key)

    def label(self, f: CatalogField) -> str:
        return display_label(f, self.t.gettext)

    def node(self, node: Any) -> str:
        t = self.t
        if isinstance(node, AllGroup):
            return _join([self.node(child) for child in node.all], "and", t)
        if isinstance(node, AnyGroup):
            parts = [self.node(child) for child in node.any]
            return parts[0] if len(parts) == 1 else \
                t.gettext("either {alternatives}", alternatives=_join(parts, "or", t))
        if isinstance(node, NotGroup):
            child = node.not_
            if isinstance(child, EventCriterion) and child.occurrence.max is None \
                    and (child.occurrence.min or 0) == 1:
                return self.event(child.model_copy(update={"occurrence": Occurrence(max=0)}))
            if isinstance(child, AnyGroup) and len(child.any) > 1:
                # The builder's "none of" group: reads better than "not (either A or B)".
                return t.gettext("none of ({conditions})", conditions="; ".join(
                    self.node(grandchild) for grandchild in child.any))
            return t.gettext("not ({condition})", condition=self.node(child))
        if isinstance(node, EventCriterion):
            return self.event(node)
        if isinstance(node, AttributeCriterion):
            return self.attribute(node)
        return str(node)

    def attribute(self, crit: AttributeCriterion) -> str:
        t = self.t
        f = self.field(crit.field)
        label = self.label(f) if f else crit.field
        if crit.field == "age_at_index":
            return t.gettext("{age} at the index date", age=_age_text(crit.op, crit.value, t))
        if crit.field == "cancer_type" and crit.op == "in":
            return t.gettext("with {what}", what=_join(
                [str(v) for v in cast(list[Any], crit.value)], "or", t))
        if crit.field == "stage" and crit.op in ("in", "="):
            values = crit.value if isinstance(crit.value, list) else [crit.value]
            return t.gettext("stage {stages}", stages=_join([stage_text(v, t) for v in values],
                                                             "or", t))
        if crit.field == "sex" and crit.op in ("in", "=") and crit.value in (["F"], "F", ["M"], "M"):
            return t.gettext("women") if "F" in crit.value else t.gettext("men")
        if crit.field == "ecog":
            window = window_text(crit.window or Window(start_days=ECOG_DEFAULT_WINDOW[0],
                                                       end_days=ECOG_DEFAULT_WINDOW[1]), t=t)
            return t.gettext("with {comparison} (latest {window})", window=window,
                             comparison=comparison_text("ECOG", crit.op, crit.value, f, t))
        return t.gettext("with {what}", what=comparison_text(
            label.lower() if f else label, crit.op, crit.value, f, t))

    def filters(self, where: list[Filter]) -> list[str]:
        out = []
        for item in where:
            f = self.field(item.field)
            label = self.label(f) if f else item.field
            if f is not None and f.pro_item:
                label = self._scale_score(f)
            elif f is not None and not f.measure:
                label = label[0].lower() + label[1:] if label[:2] != label[:2].upper() else label
            elif f is not None and f.type == "categorical":
                label = self.t.gettext("{biomarker} result", biomarker=label)
            out.append(comparison_text(label, item.op, item.value, f, self.t))
        return out

    def event(self, crit: EventCriterion) -> str:
        t = self.t
        where = self.filters(crit.where)
        when = window_text(crit.window, t=t)
        biomarker = (len(crit.where) == 1 and (f := self.field(crit.where[0].field)) is not None
                     and f.biomarker)
        low, high = crit.occurrence.min or 0, crit.occurrence.max
        scale = (len(crit.where) == 1 and (f := self.field(crit.where[0].field)) is not None
                 and f.pro_item)
        if crit.table == "patient_reported_outcomes" and where and scale:
            thing = t.gettext("{result} reported {when}", result=where[0], when=when)
            if high == 0:
                return t.gettext("without {thing}", thing=thing)
            return t.gettext("with {count}{thing}", count=self._count(low, high), thing=thing)
        if crit.table == "biomarkers" and where and biomarker:
            thing = t.gettext("{result} measured {when}", result=where[0], when=when)
            if high == 0:
                return t.gettext("without {thing}", thing=thing)
            return t.gettext("with {count}{thing}", count=self._count(low, high), thing=thing)
        plural = t.gettext(_TABLE_PLURAL[crit.table])
        if low == 0 and high is None:
            return t.gettext("any number of {events} (no condition)", events=plural)
        detail = t.gettext(" with {conditions}", conditions=_join(where, "and", t)) \
            if where else ""
        if high == 0:
            return t.gettext("{none}{detail} {when}", none=t.gettext(_TABLE_NONE[crit.table]),
                             detail=detail, when=when)
        if low <= 1 and high is None:
            return t.gettext("with {event}{detail} {when}",
                             event=t.gettext(_TABLE_NOUN[crit.table]), detail=detail, when=when)
        return t.gettext("with {count}{events}{detail} {when}", count=self._count(low, high),
                         events=plural, detail=detail, when=when)

    def _scale_score(self, f: CatalogField) -> str:
        """'QLQ-C30 global health status/QoL score'."""
        item = display_label(f, self.t.gettext).split(": ", 1)[-1]
        item = item[0].lower() + item[1:] if item[1:2].islower() else item
        return self.t.gettext("{instrument} {item} score", item=item,
                              instrument=PRO_INSTRUMENT_SHORT.get(str(f.pro_instrument),
                                                                  str(f.pro_instrument)))

    def _count(self, low: int, high: int | None) -> str:
        t = self.t
        if high is None:
            return "" if low <= 1 else t.gettext("at least {n} ", n=low)
        if low == high:
            return t.gettext("exactly {n} ", n=low)
        return t.gettext("at most {n} ", n=high) if low == 0 else \
            t.gettext("{low} to {high} ", low=low, high=high)


def index_text(event: IndexEvent, locale: str = "en") -> str:
    """``Patients whose first immune checkpoint inhibitor started between ...``."""
    t = translator(locale)
    what = _index_what(event, t)
    dates = ""
    if event.date_from and event.date_to:
        dates = t.gettext(" between {start} and {end}", start=_date(event.date_from, t),
                          end=_date(event.date_to, t))
    elif event.date_from:
        dates = t.gettext(" on or after {date}", date=_date(event.date_from, t))
    elif event.date_to:
        dates = t.gettext(" on or before {date}", date=_date(event.date_to, t))
    if event.kind == "diagnosis":
        return t.gettext("Patients whose {what} was made{dates}", what=what, dates=dates)
    return t.gettext("Patients whose {what} started{dates}", what=what, dates=dates)


def index_label(event: IndexEvent, locale: str = "en") -> str:
    """A short name of the index event for tables: ``First ICI, 2018-01-01 to 2024-12-31``."""
    t = translator(locale)
    what = _index_what(event, t, short=True)
    text = what[0].upper() + what[1:]
    if event.date_from or event.date_to:
        low = event.date_from.isoformat() if event.date_from else "…"
        high = event.date_to.isoformat() if event.date_to else "…"
        text += ", " + t.gettext("{start} to {end}", start=low, end=high)
    return text


def _index_what(event: IndexEvent, t: Translator, short: bool = False) -> str:
    filters = []
    if event.drug_classes:
        filters.append(_join(list(event.drug_classes), "or", t))
    if event.regimens:
        filters.append(t.gettext("regimen {names}", names=_join(list(event.regimens), "or", t)))
    if event.drugs:
        filters.append(_join(list(event.drugs), "or", t))
    spec = t.gettext(" with {filters}", filters=_join(filters, "and", t)) if filters else ""
    if event.kind == "first_checkpoint_inhibitor":
        if short:
            return t.gettext("first immune checkpoint inhibitor")
        return t.gettext("first immune checkpoint inhibitor (anti-PD-1, anti-PD-L1 or "
                         "anti-CTLA-4)")
    if event.kind == "first_drug_class":
        return t.gettext("first treatment{spec}", spec=spec)
    if event.kind == "line_start":
        return t.gettext("line {n} of therapy{spec}", n=event.line, spec=spec)
    cancers = t.gettext(" of {cancers}", cancers=_join(list(event.cancer_types), "or", t)) \
        if event.cancer_types else ""
    return t.gettext("first diagnosis{cancers}", cancers=cancers)


def rule_text(rule_criteria: Any, catalog: Catalog | None = None, locale: str = "en") -> str:
    return _Describer(catalog or base_catalog(), translator(locale)).node(rule_criteria)


def describe(definition: Definition, catalog: Catalog | None = None, locale: str = "en") -> str:
    """A summary sentence, then the rules in order (switched-off rules marked)."""
    t = translator(locale)
    describer = _Describer(catalog or base_catalog(), t)
    enabled = [describer.node(rule.criteria) for rule in definition.enabled_rules()]
    sentence = index_text(definition.index_event, locale)
    if enabled:
        sentence += ", " + ", ".join(enabled)
    lines = [definition.metadata.name, "", sentence + ".", "",
             t.gettext("The index date (time zero) is the date of that event.")]
    if definition.inclusion_rules:
        lines += ["", t.gettext("Inclusion rules, applied in order:")]
    for i, rule in enumerate(definition.inclusion_rules, start=1):
        off = t.gettext(" (switched off; not applied)") if not rule.enabled else ""
        lines.append(f"{i}. {rule.name}{off}: {describer.node(rule.criteria)}.")
    if definition.metadata.description:
        lines += ["", definition.metadata.description]
    return "\n".join(lines) + "\n"


__all__ = ["describe", "index_text", "rule_text", "window_text", "comparison_text"]
