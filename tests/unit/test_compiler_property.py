"""Property test: for random definitions, the compiled SQL selects exactly the patients and
index dates that the independent pandas evaluator selects (and the same attrition)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference_evaluator import (
    ReferenceEvaluator,
    messy_database,
)

from queries.cohort.catalog import Catalog, CatalogField, build_catalog
from queries.cohort.compiler import compile_attrition, compile_cohort
from queries.cohort.importing import load_definition
from queries.cohort.materialize import index_table
from queries.cohort.model import EVENT_TABLES

WINDOWS = [None, {"start_days": -90, "end_days": 0}, {"end_days": -1}, {"start_days": 0,
           "end_days": 180}, {"start_days": -30, "end_days": 30}, {"end_days": 0},
           {"start_days": 1}, {"start_days": -365, "end_days": -1}]
OCCURRENCES = [{"min": 1}, {"max": 0}, {"min": 2}, {"min": 0, "max": 1}, {"min": 1, "max": 2}]


def _rows(rows) -> set[tuple]:
    """(patient_id, index_date as date, index_line as int or None) of each row."""
    return {(pid, pd.Timestamp(day).date() if not isinstance(day, date) else day,
             None if line is None or pd.isna(line) else int(line)) for pid, day, line in rows}


def _numbers(f: CatalogField) -> st.SearchStrategy:
    if f.key == "age_at_index":
        return st.integers(30, 90)
    low = 0 if f.min is None else int(f.min)
    high = 5 if f.max is None else int(f.max)
    return st.integers(low, max(low, high))


def _dates(f: CatalogField) -> st.SearchStrategy:
    low = f.min if isinstance(f.min, date) else date(2018, 1, 1)
    high = f.max if isinstance(f.max, date) else date(2024, 12, 31)
    return st.integers(0, max(0, (high - low).days)).map(
        lambda d: (low + timedelta(d)).isoformat())


def _scalars(f: CatalogField) -> st.SearchStrategy:
    if f.type == "numeric":
        return _numbers(f)
    if f.type == "date":
        return _dates(f)
    if f.type == "boolean":
        return st.booleans()
    known = [v for v, _ in f.values if isinstance(v, str)]
    literal = st.sampled_from(["zzz", "O'Brien; DROP TABLE patients; --"])
    return st.sampled_from(known) if known else literal


@st.composite
def comparison(draw, f: CatalogField) -> dict:
    op = draw(st.sampled_from(f.operators))
    item = {"field": f.key, "op": op}
    if op in ("is_null", "is_not_null"):
        return item
    values = _scalars(f)
    if op in ("in", "not_in"):
        item["value"] = draw(st.lists(values, min_size=1, max_size=3))
    elif op == "between":
        pair = sorted(draw(st.lists(values, min_size=2, max_size=2)))
        item["value"] = pair
    elif op == "starts_with":
        item["value"] = draw(values)[: draw(st.integers(1, 3))]
    else:
        item["value"] = draw(values)
    return item


def strategies(catalog: Catalog):
    attributes = [f for f in catalog.attribute_fields()]

    @st.composite
    def attribute(draw) -> dict:
        f = draw(st.sampled_from(attributes))
        item = draw(comparison(f))
        if f.allows_window and draw(st.booleans()):
            item["window"] = draw(st.sampled_from([{"start_days": -30, "end_days": 0},
                                                   {"start_days": -180, "end_days": 7}]))
        return item

    @st.composite
    def event(draw) -> dict:
        table = draw(st.sampled_from(EVENT_TABLES))
        fields = catalog.event_fields(table)
        where = draw(st.lists(st.sampled_from(fields).flatmap(comparison), max_size=2))
        return {"table": table, "where": where, "window": draw(st.sampled_from(WINDOWS)),
                "occurrence": draw(st.sampled_from(OCCURRENCES))}

    leaf = st.one_of(attribute(), event())
    tree = st.recursive(
        leaf,
        lambda kids: st.one_of(
            st.lists(kids, min_size=1, max_size=3).map(lambda xs: {"all": xs}),
            st.lists(kids, min_size=1, max_size=3).map(lambda xs: {"any": xs}),
            kids.map(lambda x: {"not": x}),
        ),
        max_leaves=4,
    )
    index = st.sampled_from([
        {"kind": "first_checkpoint_inhibitor"},
        {"kind": "first_checkpoint_inhibitor", "date_from": "2020-01-01"},
        {"kind": "first_drug_class", "drug_classes": ["chemotherapy"]},
        {"kind": "line_start", "line": 2},
        {"kind": "diagnosis"},
        {"kind": "diagnosis", "cancer_types": ["NSCLC"], "date_to": "2022-12-31"},
    ])
    rule = st.fixed_dictionaries({"criteria": tree,
                                  "enabled": st.sampled_from([True, True, True, False])})

    @st.composite
    def definition(draw) -> dict:
        rules = draw(st.lists(rule, min_size=1, max_size=3))
        for i, r in enumerate(rules):
            r["name"] = f"rule {i + 1}"
        return {"schema_version": 1, "metadata": {"name": "random"},
                "index_event": draw(index), "inclusion_rules": rules}

    return definition()


def _check(db, evaluator: ReferenceEvaluator, catalog: Catalog, data: dict) -> None:
    definition = load_definition(data, catalog)
    query = compile_cohort(definition, catalog)
    got = db.cursor().execute(query.sql, query.params).fetchall()
    _, masks = evaluator.rule_masks(definition)
    expected = evaluator.cohort(definition, masks)
    assert len(got) == len({row[0] for row in got}), "one row per patient"
    assert _rows(got) == _rows(expected.itertuples(index=False))
    attrition = compile_attrition(definition, catalog)
    cur = db.cursor()
    row = cur.execute(attrition.sql, attrition.params).fetchone()
    names = [d[0] for d in cur.description]
    counts = {k: 0 if v is None else int(v) for k, v in zip(names, row, strict=True)}
    assert counts == evaluator.attrition(definition, masks)
    # what the app runs: the index population kept as a table, the rules compiled over it
    with db.lock:
        table = index_table(db, definition)
        kept = compile_cohort(definition, catalog, table)
        assert _rows(cur.execute(kept.sql, kept.params).fetchall()) == _rows(got)
        kept = compile_attrition(definition, catalog, table)
        assert list(cur.execute(kept.sql, kept.params).fetchone()) == list(row)


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    db = messy_database(tmp_path_factory.mktemp("messy"), n=400, seed=11)
    yield db, ReferenceEvaluator.from_db(db), build_catalog(db)
    db.close()


_SETTINGS = dict(deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.function_scoped_fixture,
                                        HealthCheck.too_slow, HealthCheck.data_too_large])


@settings(max_examples=100, **_SETTINGS)
@given(data=st.data())
def test_compiled_cohort_equals_reference_evaluator_on_messy_snapshot(messy, data):
    db, evaluator, catalog = messy
    _check(db, evaluator, catalog, data.draw(strategies(catalog)))


@settings(max_examples=300, **_SETTINGS)
@given(data=st.data())
def test_compiled_cohort_equals_reference_evaluator_on_sample_snapshot(sample, data):
    db, evaluator, catalog = sample.db, sample.reference, sample.catalog
    _check(db, evaluator, catalog, data.draw(strategies(catalog)))
