"""Saved cohorts per user: save, list, open, rename, duplicate, delete; owners are isolated."""

from __future__ import annotations

import pytest

from access.cohort_store import CohortStore, SavedCohortNotFound

DEFINITION = {"name": "NSCLC stage IV", "inclusion_rules": [{"name": "stage", "enabled": True}]}


@pytest.fixture
def store(tmp_path) -> CohortStore:
    return CohortStore(tmp_path / "sub" / "app.sqlite")


def test_save_then_open_returns_the_same_definition(store):
    saved = store.save("ana", "  My   cohort ", DEFINITION, "abc123")
    opened = store.open("ana", saved.id)
    assert opened.definition == DEFINITION
    assert opened.name == "My cohort"
    assert opened.definition_hash == "abc123"


def test_list_shows_only_the_owners_cohorts(store):
    store.save("ana", "one", DEFINITION, "h1")
    store.save("ana", "two", DEFINITION, "h2")
    store.save("ben", "three", DEFINITION, "h3")
    assert sorted(s.name for s in store.list("ana")) == ["one", "two"]
    assert [s.name for s in store.list("ben")] == ["three"]
    assert store.list("nobody") == []


def test_another_user_cannot_open_rename_or_delete_a_saved_cohort(store):
    saved = store.save("ana", "mine", DEFINITION, "h1")
    with pytest.raises(SavedCohortNotFound):
        store.open("ben", saved.id)
    with pytest.raises(SavedCohortNotFound):
        store.rename("ben", saved.id, "stolen")
    with pytest.raises(SavedCohortNotFound):
        store.delete("ben", saved.id)
    assert store.open("ana", saved.id).name == "mine"


def test_rename_duplicate_and_delete(store):
    saved = store.save("ana", "first", DEFINITION, "h1")
    assert store.rename("ana", saved.id, "renamed").name == "renamed"
    copy = store.duplicate("ana", saved.id)
    assert copy.id != saved.id
    assert copy.name == "renamed (copy)"
    assert copy.definition == DEFINITION
    store.delete("ana", saved.id)
    assert [s.id for s in store.list("ana")] == [copy.id]
    with pytest.raises(SavedCohortNotFound):
        store.delete("ana", saved.id)


def test_update_replaces_definition_and_keeps_name(store):
    saved = store.save("ana", "first", DEFINITION, "h1")
    changed = store.update("ana", saved.id, {"name": "other"}, "h2")
    assert (changed.name, changed.definition, changed.definition_hash) == (
        "first", {"name": "other"}, "h2")


def test_empty_name_is_refused(store):
    with pytest.raises(ValueError, match="name"):
        store.save("ana", "   ", DEFINITION, "h1")


def test_hostile_name_is_stored_literally(store):
    name = "x'); DROP TABLE saved_cohorts; --"
    saved = store.save("ana", name, DEFINITION, "h1")
    assert store.open("ana", saved.id).name == name
    assert len(store.list("ana")) == 1
