"""AJCC stage groups and substages in criteria: a group ("III") means any of its substages;
the catalog lists every group, counted over its substages, even when a snapshot records only
substages; the builder and the plain language say so."""

from __future__ import annotations

from reference_evaluator import open_snapshot
from snapshot_factory import tiny_tables

from components.builder.widgets import category_options, plain_count
from queries.cohort.catalog import base_catalog, build_catalog
from queries.cohort.compiler import compile_cohort
from queries.cohort.describe import describe
from queries.cohort.importing import load_definition
from queries.snapshot.files import write_snapshot
from queries.snapshot.schema import stage_group


def _stage_definition(values: list[str]) -> dict:
    return {"schema_version": 1, "metadata": {"name": "stage"},
            "inclusion_rules": [{"name": "stage", "criteria": {
                "field": "stage", "op": "in", "value": values}}]}


def _substage_only_catalog(tmp_path):
    tables = tiny_tables()
    tables["diagnoses"]["stage"] = ["IVA", "IIIB", "IVB", "IIIB"]
    write_snapshot(tables, tmp_path / "snap", "substages-only", "unit test")
    db = open_snapshot(tmp_path / "snap", tmp_path / "cache")
    try:
        return build_catalog(db)
    finally:
        db.close()


def test_catalog_lists_groups_counted_over_their_substages_when_only_substages_occur(tmp_path):
    catalog = _substage_only_catalog(tmp_path)
    for key in ("stage", "diagnoses.stage"):
        values = catalog.get(key).values
        assert values == (("I", 0), ("II", 0), ("III", 2), ("IIIB", 2), ("IV", 2), ("IVA", 1),
                          ("IVB", 1)), key


def test_catalog_without_a_snapshot_puts_each_group_before_its_substages():
    values = [v for v, _ in base_catalog().get("stage").values]
    assert values.index("III") < values.index("IIIA") < values.index("IIIC") < values.index("IV")
    assert values[:2] == ["I", "IA"]


def test_group_matches_every_substage_and_a_substage_only_itself(sample):
    group = load_definition(_stage_definition(["III"]), sample.catalog)
    substage = load_definition(_stage_definition(["IIIB"]), sample.catalog)
    counts = {}
    for name, definition in (("group", group), ("substage", substage)):
        query = compile_cohort(definition, sample.catalog)
        counts[name] = len(sample.db.cursor().execute(query.sql, query.params).fetchall())
        assert counts[name] == len(sample.reference.cohort(definition))
    at_index = sample.reference._diagnosis_at_index(group.index_event)
    stages = [row.stage for row in at_index.values()]
    assert counts["group"] == sum(stage_group(s) == "III" for s in stages if s)
    assert counts["group"] > sum(s == "III" for s in stages) > 0
    assert 0 < counts["substage"] == sum(s == "IIIB" for s in stages)


def test_builder_offers_the_group_as_any_substage_with_the_group_count(tmp_path):
    f = _substage_only_catalog(tmp_path).get("stage")
    labels = {o["value"]: o["label"] for o in category_options(f, plain_count)}
    assert labels["III"] == "III (any substage) (2)"
    assert labels["IIIB"] == "IIIB (2)"


def test_plain_language_says_a_group_means_any_substage():
    text = describe(load_definition(_stage_definition(["III", "IVA"])))
    assert "stage III (any substage) or IVA" in text
    finnish = describe(load_definition(_stage_definition(["III"])), locale="fi")
    assert "III (kaikki alaluokat)" in finnish
