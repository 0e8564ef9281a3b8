"""Internationalisation checks: Finnish is complete, and UI text goes through the catalogue."""

from __future__ import annotations

import ast
import datetime as dt
import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from config import ROOT
from queries.i18n import LOCALES, catalogue_path, normalize_locale, translator

# Folders whose Python is extracted into the catalogue (tests, tools and data are not).
SOURCE_DIRS = ("components", "queries", "access")

# Modules of components/ held to the lint below. Every module is in it by the end of #17;
# until then a module joins when its strings are converted.
LINTED = (
    "components/i18n.py",
    "components/pages.py",
    "components/shell.py",
    "components/snapshots_page.py",
    "components/feasibility_page.py",
    "components/summaries_page.py",
    "components/admin_page.py",
    "components/builder/collect.py",
    "components/builder/common.py",
    "components/builder/io.py",
    "components/builder/page.py",
    "components/builder/render.py",
    "components/builder/results.py",
    "components/builder/state.py",
    "components/builder/widgets.py",
    "components/figures.py",
    "components/panels.py",
    "components/analysis_page.py",
    "components/compare_page.py",
    "components/compare_study.py",
    "components/tables.py",
    "components/cohort_access.py",
    "components/exports.py",
)


def _source_messages() -> dict[str, tuple[str, ...]]:
    """msgid -> where it is used, for every translatable string in the app's source."""
    found: dict[str, tuple[str, ...]] = {}
    for folder in SOURCE_DIRS:
        for filename, lineno, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")],
        ):
            msgid = message[0] if isinstance(message, tuple) else message
            if msgid:
                found.setdefault(msgid, ())
                found[msgid] += (f"{folder}/{filename}:{lineno}",)
    return found


def _finnish():
    with catalogue_path("fi").open("rb") as po:
        return read_po(po, locale="fi")


def _placeholders(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}


def test_finnish_catalogue_translates_every_message_in_the_source():
    catalogue = _finnish()
    untranslated = []
    for msgid, where in sorted(_source_messages().items()):
        message = catalogue.get(msgid)
        strings = () if message is None else (
            message.string if isinstance(message.string, tuple) else (message.string,))
        if message is None or not all(strings) or message.fuzzy:
            untranslated.append(f"{msgid!r} ({where[0]})")
    assert not untranslated, "untranslated in translations/fi (run `make messages`):\n" + \
        "\n".join(untranslated)


def test_finnish_translations_keep_the_placeholders_of_their_message():
    wrong = []
    for message in _finnish():
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set().union(*(_placeholders(i) for i in ids))
        for text in strings:
            if _placeholders(text) - expected or (len(ids) == 1 and _placeholders(text) != expected):
                wrong.append(f"{ids[0]!r} -> {text!r}")
    assert not wrong, "\n".join(wrong)


# --- lint: no user-visible literal outside the translation calls ---------------------------
#
# A string literal is user-visible text when, after removing Plotly template fields
# (``%{y}``) and HTML tags, it has a word and either a space or a capitalised word
# ("Patients", "Download CSV"). Not text, and so allowed anywhere: ids, CSS classes, property
# names, codes ("PD-L1", "NSCLC"), lowercase keys ("children", "plotly_white"). Allowed text:
# inside _() / N_() / ngettext() / gettext(); docstrings; dict keys; operands of comparisons;
# keyword arguments that are never shown (NOT_SHOWN); and lines marked ``# i18n: <why>``
# (a product name, a code sample).

TRANSLATION_CALLS = {"_", "N_", "gettext", "ngettext"}
NOT_TEXT_CALLS = {"compile"}  # re.compile: a pattern, not words
NOT_SHOWN = {
    "id", "className", "class_name", "style", "color", "text_color", "href", "type", "target",
    "key", "storage_type", "html_for", "legendgroup", "xref", "yref", "hoverinfo", "mode",
    "textposition", "orientation", "template", "symbol", "dash", "shape", "filename",
    "placement", "anchor", "xanchor", "yanchor", "rangemode", "autorange", "prevent_initial_call",
    "detail",  # audit-log detail, read by admins in English like the rest of the log
}
_FIELDS = re.compile(r"%\{[^}]*\}|<[^>]*>|\{[^}]*\}")
_CSS_CLASSES = re.compile(r"[a-z0-9_]+(-[a-z0-9_]+)*( [a-z0-9_]+(-[a-z0-9_]+)*)*")


def looks_like_text(value: str) -> bool:
    """Whether a literal reads as words a person is meant to read (see the rule above)."""
    bare = _FIELDS.sub(" ", value).strip()
    if not re.search(r"[A-Za-z]{2,}", bare):
        return False
    if _CSS_CLASSES.fullmatch(value.strip()) and "-" in value:
        return False  # a list of CSS classes such as "d-flex align-items-center"
    return bool(re.search(r"[A-Za-z]\S*\s+\S*[A-Za-z]", bare) or re.match(r"[A-Z][a-z]{2,}", bare)
                or re.search(r"\s[A-Za-z]{2,}|[A-Za-z]{2,}\s", value))


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else (
        func.attr if isinstance(func, ast.Attribute) else "")


def _allowed_parts(node: ast.AST) -> list[ast.AST]:
    """The parts of ``node`` whose literals may hold text (translated, docstrings, keys, ...)."""
    if isinstance(node, ast.Call):
        if _call_name(node) in TRANSLATION_CALLS | NOT_TEXT_CALLS:
            return [node]
        return [k.value for k in node.keywords if k.arg in NOT_SHOWN]
    if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
        first = node.body[0] if node.body else None
        is_doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
        return [first] if is_doc else []
    if isinstance(node, ast.Dict):
        return [key for key in node.keys if key is not None]
    if isinstance(node, ast.Compare):
        return [node]
    return []


def _allowed_nodes(tree: ast.AST) -> set[int]:
    return {id(constant) for node in ast.walk(tree) for part in _allowed_parts(node)
            for constant in ast.walk(part) if isinstance(constant, ast.Constant)}


def untranslated_literals(path: Path) -> list[str]:
    """``file:line: 'text'`` for every user-visible literal outside the translation calls."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source)
    allowed = _allowed_nodes(tree)
    problems = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        if id(node) in allowed or not looks_like_text(node.value):
            continue
        if "# i18n:" in lines[node.lineno - 1]:
            continue
        problems.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    return problems


@pytest.mark.parametrize("module", LINTED)
def test_components_module_has_no_user_visible_literal_outside_translation_calls(module):
    problems = untranslated_literals(ROOT / module)
    assert not problems, "wrap these in _() (or mark a constant with N_()):\n" + \
        "\n".join(problems)


@pytest.mark.parametrize("module", LINTED)
def test_components_module_never_rebinds_the_translation_function(module):
    """``opened, _ = ...`` or ``for _, row in ...`` makes ``_`` a local: ``_("...")`` then fails
    at run time (UnboundLocalError, or 'bool' is not callable)."""
    tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
    rebound = [node.lineno for node in ast.walk(tree)
               if isinstance(node, ast.Name) and node.id == "_" and isinstance(node.ctx, ast.Store)]
    assert not rebound, f"{module} assigns to _ on lines {rebound}; name the unused value"


@pytest.mark.parametrize(("literal", "is_text"), [
    ("Download CSV", True), ("Patients", True), ("patients at risk", True), (" of ", True),
    ("d-flex align-items-center", False), ("plotly_white", False), ("PD-L1", False),
    ("NSCLC", False), ("%{y}: %{text}<extra></extra>", False), ("children", False),
    ("", False), ("—", False), ("%Y-%m-%d", False),
])
def test_lint_rule_tells_text_from_identifiers(literal, is_text):
    assert looks_like_text(literal) is is_text


def test_lint_flags_a_bare_label_and_accepts_a_translated_one(tmp_path):
    module = ROOT / "components" / "_lint_probe.py"
    module.write_text('from dash import html\n\n\ndef f():\n'
                      '    return [html.H2("Audit log"), html.H2(_("Audit log"), className="h4")]\n')
    try:
        assert [p.split(": ", 1)[1] for p in untranslated_literals(module)] == ["'Audit log'"]
    finally:
        module.unlink()


# --- formatting ------------------------------------------------------------------------------


def test_finnish_numbers_and_dates_use_finnish_separators_and_order():
    fi = translator("fi")
    assert fi.number(1234.5) == "1\u00a0234,5"
    assert fi.integer(1234) == "1\u00a0234"
    assert fi.percent(12.5) == "12,5\u00a0%"
    assert fi.date(dt.date(2026, 12, 1)) == "1.12.2026"


def test_english_numbers_and_dates():
    en = translator("en")
    assert en.number(1234.5) == "1,234.5"
    assert en.percent(12.5) == "12.5%"
    assert en.date("2026-12-01") == "Dec 1, 2026"


def test_finnish_catalogue_translates_and_fills_placeholders():
    assert translator("fi").gettext("Sign out") == "Kirjaudu ulos"
    assert translator("fi").gettext("There is no page at {path}.", path="/x") == \
        "Osoitteessa /x ei ole sivua."
    assert translator("en").gettext("There is no page at {path}.", path="/x") == \
        "There is no page at /x."


@pytest.mark.parametrize(("asked", "locale"), [("fi-FI", "fi"), ("fi_FI", "fi"), ("sv", "en"),
                                               (None, "en"), ("EN-gb", "en")])
def test_unknown_or_regional_locales_fall_back_to_a_supported_one(asked, locale):
    assert normalize_locale(asked) == locale
    assert locale in LOCALES


def test_cohort_description_is_written_in_finnish_with_finnish_dates():
    import json

    from queries.cohort.catalog import base_catalog
    from queries.cohort.describe import describe
    from queries.cohort.importing import load_definition

    data = json.loads((ROOT / "tests" / "cohorts" / "nsclc_stage4_pdl1_high_ecog01.json")
                      .read_text())
    definition = load_definition(data, base_catalog())
    finnish = describe(definition, None, "fi")
    assert finnish.splitlines()[2].startswith("Potilaat, joiden ensimmäinen")
    assert "1.1.2015 – 31.12.2026" in finnish and "levinneisyysaste IV" in finnish
    assert "Sisäänottosäännöt järjestyksessä:" in finnish
    english = describe(definition, None, "en")
    assert english.splitlines()[2].startswith("Patients whose first immune checkpoint")
    assert "stage IV" in english


def test_a_share_link_from_another_snapshot_says_so_and_one_from_this_snapshot_does_not():
    from components.builder.page import _snapshot_note

    assert _snapshot_note("fi-io-2026-10", "fi-io-2026-10") is None
    assert _snapshot_note(None, "fi-io-2026-10") is None
    note = _snapshot_note("fi-io-2026-09", "fi-io-2026-10")
    assert "fi-io-2026-09" in str(note.children) and "fi-io-2026-10" in str(note.children)
