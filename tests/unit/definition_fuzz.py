"""Hypothesis strategies for hostile cohort definitions: valid ones, then mutated.

A definition is drawn either from the example files in ``tests/cohorts`` or from the random
valid definitions of the compiler's property test, and then changed in one to four places:
a value replaced by any JSON value (huge and negative numbers, lists and objects where a
name belongs, words the importer knows), a key removed or added, a list item duplicated, a
value wrapped in a list. Used by the unit fuzz test and by the HTTP fuzz of the app.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

COHORTS = Path(__file__).resolve().parents[1] / "cohorts"
SEEDS = [json.loads(p.read_text()) for p in sorted(COHORTS.glob("*.json"))]

KNOWN_WORDS = (
    "schema_version", "metadata", "index_event", "inclusion_rules", "name", "kind", "criteria",
    "field", "op", "value", "table", "where", "window", "occurrence", "all", "any", "not",
    "start_days", "end_days", "min", "max", "enabled", "line", "drug_classes", "cancer_types",
    "date_from", "date_to", "export", "content_hash", "age_at_index", "sex", "ecog",
    "biomarker:PD-L1 TPS", "biomarkers", "treatments", "adverse_events", "between", "in",
    ">=", "is_null", "first_drug_class", "line_start", "diagnosis", "F", "NSCLC", "2024-01-31",
)
NUMBERS = st.one_of(
    st.integers(-10**6, 10**6),
    st.sampled_from([10**4000, -10**4000, 2**63, -2**63 - 1, 2**53 + 1, 0, -1, 131, 1e300,
                     -1e300, 5e-324, 0.5]),
    st.floats(allow_nan=False, allow_infinity=False),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, st.sampled_from(KNOWN_WORDS),
                    st.text(max_size=12))
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KNOWN_WORDS), st.text(max_size=6)),
                        children, max_size=4),
    ),
    max_leaves=10,
)


def _places(document: Any, path: tuple = ()) -> list[tuple]:
    """Every path to a value inside the document (the document itself is ``()``)."""
    places = [path]
    if isinstance(document, dict):
        for key, value in document.items():
            places += _places(value, (*path, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            places += _places(value, (*path, index))
    return places


def _get(document: Any, path: tuple) -> Any:
    for part in path:
        document = document[part]
    return document


@st.composite
def mutated(draw, seed: Any) -> Any:
    """``seed`` changed in one to four places."""
    document = copy.deepcopy(seed)
    for _ in range(draw(st.integers(1, 4))):
        places = _places(document)
        path = draw(st.sampled_from(places))
        action = draw(st.sampled_from(("replace", "replace", "delete", "add", "duplicate",
                                       "wrap")))
        if not path:
            if action == "replace":
                document = draw(JSON_VALUES)
            continue
        parent, last = _get(document, path[:-1]), path[-1]
        if action == "replace":
            parent[last] = draw(JSON_VALUES)
        elif action == "delete":
            del parent[last]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(KNOWN_WORDS))] = draw(JSON_VALUES)
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
        elif action == "wrap":
            parent[last] = [parent[last]]
    return document


def hostile_definitions(valid: st.SearchStrategy | None = None) -> st.SearchStrategy:
    """Mutated example files, mutated random valid definitions, and a few untouched ones."""
    seeds = st.sampled_from(SEEDS)
    if valid is not None:
        seeds = st.one_of(seeds, valid)
    return st.one_of(seeds.flatmap(mutated), seeds.flatmap(mutated), seeds)
