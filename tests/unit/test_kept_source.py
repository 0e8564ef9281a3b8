"""A cohort built from a definition reads its analysis tables from those of its index
population (``Cohort.source``); every panel must equal the same cohort built from its rows."""

from __future__ import annotations

import pytest

from queries.analyses.panels import AnalysisOptions, compute
from queries.cohort.importing import load_definition
from queries.cohort.kept_tables import materialize_frame
from queries.cohort.materialize import materialize_definition

RULES = {
    "no rules": [],
    "NSCLC, ECOG 0-1": [
        {"name": "NSCLC", "criteria": {"field": "cancer_type", "op": "in", "value": ["NSCLC"]}},
        {"name": "ECOG 0-1", "criteria": {"field": "ecog", "op": "<=", "value": 1}}],
    "melanoma or TPS >= 50": [{"name": "either", "criteria": {"any": [
        {"field": "cancer_type", "op": "in", "value": ["Melanoma"]},
        {"table": "biomarkers", "where": [{"field": "biomarker:PD-L1 TPS", "op": ">=",
                                           "value": 50}]}]}}],
}
INDEX = [{"kind": "first_checkpoint_inhibitor"}, {"kind": "line_start", "line": 2}]


def _same(a, b, path: str = "") -> None:
    """Equal, floats to 1e-9 (a sum in another row order differs in its last digits)."""
    if isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-9, nan_ok=True), path
    elif isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            _same(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    else:
        assert a == b, path


def _panels(bundle) -> dict:
    data = bundle.to_dict()
    for volatile in ("cohort_key", "timings_ms"):
        data.pop(volatile)
    return data


@pytest.mark.parametrize("index", INDEX, ids=["first ICI", "line 2"])
@pytest.mark.parametrize("name", list(RULES))
def test_every_panel_equals_the_same_cohort_built_from_its_rows(sample, index, name):
    db, catalog = sample.db, sample.catalog
    definition = load_definition({"schema_version": 1, "metadata": {"name": name},
                                  "index_event": index, "inclusion_rules": RULES[name]}, catalog)
    kept = materialize_definition(db, definition, catalog)
    assert kept.source is not None
    plain = materialize_frame(db, f"plain_{abs(hash((name, str(index)))) % 10**9}", kept.frame())
    assert plain.source is None and plain.size == kept.size > 0
    options = AnalysisOptions(survival_strata="pdl1_tps", response_strata="ecog")
    _same(_panels(compute(kept, options, use_cache=False)),
          _panels(compute(plain, options, use_cache=False)))
