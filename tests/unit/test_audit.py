"""The audit log: append-only, filterable, tied to the running app's store."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import flask
import pytest

from access import audit, auth, store
from config import Settings


@pytest.fixture
def path(tmp_path):
    return tmp_path / "app.sqlite"


@dataclass
class _User:
    username: str
    role: str


def test_record_query_stores_who_what_and_what_was_suppressed(path):
    entry_id = audit.record_query(_User("paul", "partner"), None, "survival", "abc123",
                                  "snap-1", ["stratum X: fewer than 10 patients"], "os",
                                  store=path)
    [entry] = audit.read_audit(store=path)
    assert entry["id"] == entry_id
    assert (entry["username"], entry["role"], entry["action"]) == ("paul", "partner", "survival")
    assert (entry["definition_hash"], entry["snapshot_id"]) == ("abc123", "snap-1")
    assert entry["suppressed"] == ["stratum X: fewer than 10 patients"]
    assert entry["detail"] == "os" and entry["at"].endswith("+00:00")


def test_audit_log_is_append_only(path):
    audit.record_query("clara", "clinician", "count", "h", "s", [], store=path)
    con = store.connect(path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("UPDATE audit_log SET username = 'someone else'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("DELETE FROM audit_log")
    finally:
        con.close()
    assert audit.read_audit(store=path)[0]["username"] == "clara"


def test_read_audit_filters_pages_and_orders_newest_first(path):
    for k in range(5):
        audit.record_query("clara" if k % 2 else "paul", None, "count", f"h{k}", "snap", {},
                           store=path)
    audit.record_event("root", "admin", "sign-in", store=path)
    assert audit.count_audit(store=path) == 6
    assert [e["definition_hash"] for e in audit.read_audit(2, 0, store=path)] == [None, "h4"]
    assert [e["definition_hash"] for e in audit.read_audit(2, 2, store=path)] == ["h3", "h2"]
    paul = audit.read_audit(filters={"username": "paul", "action": "count"}, store=path)
    assert [e["definition_hash"] for e in paul] == ["h4", "h2", "h0"]
    assert audit.count_audit({"role": "admin"}, store=path) == 1
    assert audit.read_audit(filters={"since": "2999-01-01"}, store=path) == []
    assert len(audit.read_audit(filters={"until": "2999-01-01", "username": ""},
                                store=path)) == 6
    with pytest.raises(ValueError):
        audit.read_audit(filters={"username; DROP TABLE audit_log": "x"}, store=path)


def test_filter_values_are_bound_parameters(path):
    audit.record_query("clara", "clinician", "count", "h", "s", [], store=path)
    assert audit.read_audit(filters={"username": "x' OR '1'='1"}, store=path) == []
    assert audit.count_audit(store=path) == 1


def test_store_defaults_to_the_running_apps_store(tmp_path):
    settings = Settings(secret_key="k" * 40, store_path=tmp_path / "app.sqlite")
    server = flask.Flask("audit_test")
    auth.init_auth(server, settings)
    with server.app_context():
        audit.record_query("clara", "clinician", "count", "h", "s", ["x"])
        assert audit.read_audit()[0]["suppressed"] == ["x"]
    with pytest.raises(RuntimeError, match="init_auth"):
        audit.read_audit()


def test_other_modules_can_register_tables(path, monkeypatch):
    monkeypatch.setattr(store, "_SCHEMAS", dict(store._SCHEMAS))
    store.register_schema(
        "test_extra", "CREATE TABLE IF NOT EXISTS test_extra (id INTEGER PRIMARY KEY)")
    with store.transaction(path) as con:
        con.execute("INSERT INTO test_extra DEFAULT VALUES")
        assert con.execute("SELECT count(*) FROM test_extra").fetchone()[0] == 1
