"""Data values shown by name in the reader's language (CTCAE terms, MedDRA organ classes,
cancer types, the default cohort's name): on the safety figure and table, in the downloads,
in the builder's value lists and in the plain-language description. English shows the data as
it is; a value without a name (a regimen, a hospital) is shown as it is in every language."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import pytest

from components import exports, figures, i18n, tables
from components.analysis_page import DEFAULT_NAME, shown_cohort_name
from components.builder import widgets
from components.panels import Shown
from queries.analyses import pro, safety
from queries.analyses.endpoints import Endpoint
from queries.analyses.survival import kaplan_meier
from queries.cohort.catalog import build_catalog
from queries.cohort.describe import describe
from queries.cohort.importing import load_definition
from queries.cohort.materialize import materialize_definition
from queries.cohort.vocabulary import REGIMEN_SETTINGS, VALUE_NAMES, value_text
from queries.i18n import translator
from synthetic import reference_data

FI = translator("fi")
EN = translator("en")
SHOWN = Shown({}, ("All",), "synthetic-io-1", "clinician")


@pytest.fixture
def finnish(monkeypatch):
    monkeypatch.setattr(i18n, "current_locale", lambda: "fi")


@pytest.fixture(scope="module")
def everyone(sample):
    return materialize_definition(sample.db, load_definition(
        {"schema_version": 1, "metadata": {"name": "all"}}))


@pytest.fixture(scope="module")
def adverse_events(everyone) -> safety.SafetyResult:
    return safety.adverse_events(everyone)


def _unzip(export: exports.Export) -> dict[str, pd.DataFrame]:
    with zipfile.ZipFile(io.BytesIO(exports.zip_bytes(export, SHOWN))) as archive:
        return {name: pd.read_csv(io.StringIO(archive.read(name).decode("utf-8")))
                for name in archive.namelist() if name.endswith(".csv")}


def test_every_term_organ_class_and_cancer_type_the_generator_writes_has_a_finnish_name():
    generated = {
        "term": set(reference_data.AE_TERMS),
        "organ_class": {t.soc for t in reference_data.AE_TERMS.values()},
        "cancer_type": set(reference_data.CANCERS),
    }
    for column, values in generated.items():
        unnamed = values - set(VALUE_NAMES[column])
        assert not unnamed, (column, unnamed)
        untranslated = [v for v in values if value_text(column, v, FI.gettext) == v
                        and v not in ("Anemia",)]
        assert not untranslated, (column, untranslated)


def test_every_regimen_setting_the_generator_writes_has_a_finnish_name():
    settings = {name.rsplit(" (", 1)[1].rstrip(")") for name in reference_data.REGIMENS
                if name.endswith(")")}
    assert settings and settings <= set(REGIMEN_SETTINGS), settings - set(REGIMEN_SETTINGS)


def test_table_one_and_strata_name_a_regimen_setting_in_finnish(finnish):
    assert figures.level_text("regimen", "durvalumab (consolidation)") == \
        "durvalumab (konsolidaatiohoito)"


@pytest.mark.parametrize(("column", "value", "finnish"), [
    ("term", "Fatigue", "Väsymys"),
    ("term", "Diarrhea", "Ripuli"),
    ("term", "Pneumonitis", "Keuhkotulehdus (pneumoniitti)"),
    ("term", "Colitis", "Paksusuolitulehdus (koliitti)"),
    ("term", "Hypothyroidism", "Kilpirauhasen vajaatoiminta"),
    ("term", "Pruritus", "Kutina"),
    ("organ_class", "Gastrointestinal disorders", "Ruoansulatuselimistö"),
    ("cancer_type", "Melanoma", "Melanooma"),
    ("drug_classes", "anti-PD-1 + chemotherapy", "anti-PD-1 + solunsalpaajahoito"),
    ("regimen", "nivolumab + ipilimumab", "nivolumab + ipilimumab"),
    ("regimen", "pembrolizumab (adjuvant)", "pembrolizumab (adjuvantti)"),
    ("regimen", "cisplatin + gemcitabine (before maintenance)",
     "cisplatin + gemcitabine (ennen ylläpitohoitoa)"),
    ("regimen", "nivolumab (weekly)", "nivolumab (weekly)"),
    ("term", "A term of another snapshot", "A term of another snapshot"),
])
def test_a_value_is_named_in_finnish_and_stays_the_data_in_english(column, value, finnish):
    assert value_text(column, value, FI.gettext) == finnish
    assert value_text(column, value, EN.gettext) == value


def test_safety_figure_and_table_name_terms_in_finnish(finnish, adverse_events):
    figure = figures.safety_figure(adverse_events, "term")
    labels = set(figure.data[0].y)
    assert "Väsymys" in labels and "Fatigue" not in labels
    rows = figures.safety_rows(adverse_events, "term", "any", top=100)
    text = str(tables.safety_table(rows, "term").to_plotly_json())
    assert "Ripuli" in text and "Ruoansulatuselimistö" in text
    # the row keeps the data value as its data-label attribute; the cells show the names
    assert "'children': 'Diarrhea'" not in text and "'children': 'Gastrointestinal" not in text
    classes = figures.safety_figure(adverse_events, "organ_class")
    assert "Ruoansulatuselimistö" in set(classes.data[0].y)


def test_safety_figure_in_english_keeps_the_ctcae_terms(adverse_events):
    assert "Fatigue" in set(figures.safety_figure(adverse_events, "term").data[0].y)


def test_butterfly_figure_names_terms_in_finnish(finnish, adverse_events):
    figure = figures.butterfly_figure(adverse_events, adverse_events, ("A", "B"))
    assert "Väsymys" in set(figure.data[0].y) and "Fatigue" not in set(figure.data[0].y)


def test_safety_download_is_in_the_language_of_the_page(finnish, adverse_events):
    files = _unzip(exports.safety_export(adverse_events))
    by_term = files["adverse_events_by_term.csv"]
    terms = set(by_term.iloc[:, 0])
    assert {"Väsymys", "Paksusuolitulehdus (koliitti)"} <= terms and "Fatigue" not in terms
    assert "Ruoansulatuselimistö" in set(files["adverse_events_by_organ_class.csv"].iloc[:, 0])


def test_safety_download_in_english_keeps_the_ctcae_terms(adverse_events):
    by_term = _unzip(exports.safety_export(adverse_events))["adverse_events_by_term.csv"]
    assert "Fatigue" in set(by_term["AE term"])


def test_pro_severity_download_names_items_and_levels_in_finnish(finnish, everyone):
    files = _unzip(exports.pro_export(pro.patient_reported(everyone)))
    severity = files["pro_ctcae_severity.csv"]
    items, levels = set(severity.iloc[:, 0]), set(severity.iloc[:, 1])
    assert "Fatigue severity" not in items and "moderate" not in levels
    assert FI.gettext("Fatigue severity") in items and FI.gettext("moderate") in levels


def test_survival_download_names_the_groups_in_finnish(finnish, everyone):
    result = kaplan_meier(everyone, Endpoint.OS, strata="sex")
    files = _unzip(exports.survival_export(result))
    assert set(files["medians.csv"].iloc[:, 0]) >= {"Nainen", "Mies"}
    tests = files["tests.csv"]
    assert "Nainen" in " ".join(tests.iloc[:, 1].astype(str))


def test_the_default_cohort_is_named_in_the_readers_language(finnish):
    assert shown_cohort_name(DEFAULT_NAME) == \
        "Kaikki potilaat ensimmäisen immuunitarkastuspisteen estäjän alussa"
    assert shown_cohort_name("Women at first ICI") == "Women at first ICI"


def test_the_default_cohort_keeps_its_english_name_in_english():
    assert shown_cohort_name(DEFAULT_NAME) == "All patients at first checkpoint inhibitor"


def test_builder_values_and_the_plain_description_name_terms_in_finnish(finnish, sample):
    catalog = build_catalog(sample.db)
    field = catalog.get("adverse_events.term")
    labels = [o["label"] for o in widgets.category_options(field, lambda count: "")]
    assert "Paksusuolitulehdus (koliitti)" in labels and "Colitis" not in labels
    definition = load_definition({
        "schema_version": 1, "metadata": {"name": "colitis"},
        "inclusion_rules": [{"name": "colitis", "criteria": {
            "table": "adverse_events",
            "where": [{"field": "adverse_events.term", "op": "in", "value": ["Colitis"]}]}}]},
        catalog)
    assert "Paksusuolitulehdus (koliitti)" in describe(definition, catalog, "fi")
    assert "Colitis" in describe(definition, catalog, "en")
