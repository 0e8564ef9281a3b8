"""Export and import: canonical JSON and hash, round trips, readable SQL, plain language,
and the export command."""

from __future__ import annotations

import json
from argparse import Namespace
from pathlib import Path

import pytest
from snapshot_factory import write_tiny_snapshot

from cli.cohorts import export as cli_export
from queries.cohort.describe import describe
from queries.cohort.export import export_bundle, export_json, write_export
from queries.cohort.importing import import_definition, load_definition

COHORTS = Path(__file__).resolve().parents[1] / "cohorts"
EXAMPLES = sorted(p for p in COHORTS.glob("*.json") if not p.name.startswith("invalid_"))
FULL = COHORTS / "nsclc_stage4_pdl1_high_ecog01.json"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_export_import_round_trip_keeps_the_hash(path):
    definition = load_definition(path.read_text())
    exported = export_json(definition, snapshot_id="snap-1")
    result = import_definition(exported)
    assert result.ok and result.problems == []
    assert result.definition.content_hash() == definition.content_hash()
    assert json.loads(exported)["export"]["content_hash"] == definition.content_hash()
    assert export_json(result.definition, "snap-1", "t") == export_json(definition, "snap-1", "t")


def test_hash_ignores_key_order_whitespace_and_export_block():
    data = json.loads(FULL.read_text())
    reordered = json.loads(json.dumps(data, sort_keys=True), object_pairs_hook=lambda kv:
                           dict(reversed(kv)))
    one, two = load_definition(data), load_definition(json.dumps(reordered, indent=7))
    assert one.content_hash() == two.content_hash()
    a = json.loads(export_json(one, "snap-a", "2026-01-01T00:00:00+00:00"))
    b = json.loads(export_json(one, "snap-b", "2027-01-01T00:00:00+00:00"))
    assert a["export"]["content_hash"] == b["export"]["content_hash"]


def test_hash_changes_with_content():
    data = json.loads(FULL.read_text())
    before = load_definition(data).content_hash()
    data["inclusion_rules"][2]["criteria"]["all"][0]["where"][0]["value"] = 49
    assert load_definition(data).content_hash() != before


def test_exported_json_has_sorted_keys_and_is_valid_utf8():
    text = export_json(load_definition(FULL.read_text()), "snap")
    data = json.loads(text)
    assert list(data) == sorted(data)
    assert "≥" in text  # kept as UTF-8, not escaped


def test_edited_export_is_imported_with_a_warning():
    data = json.loads(export_json(load_definition(FULL.read_text()), "snap"))
    data["inclusion_rules"][0]["criteria"]["value"] = [20, 80]
    result = import_definition(data)
    assert result.ok
    assert [p.path for p in result.warnings] == ["export.content_hash"]


def test_readable_sql_is_safe_to_read_and_names_the_hash():
    data = json.loads(FULL.read_text())
    data["metadata"]["name"] = "evil\nDROP TABLE patients; --"
    definition = load_definition(data)
    sql = export_bundle(definition).sql_text
    assert definition.content_hash() in sql
    assert "\nDROP TABLE" not in sql  # the line break cannot end the comment
    assert "'NSCLC'" in sql and "'PD-L1 TPS'" in sql and "?" not in sql


def test_plain_language_reads_like_a_clinician_wrote_it():
    text = describe(load_definition(FULL.read_text()))
    for words in ("Patients whose first immune checkpoint inhibitor",
                  "between 1 January 2015 and 31 December 2026", "aged 18–80",
                  "with NSCLC and stage IV",
                  "PD-L1 TPS ≥ 50 % measured within 90 days before the index date",
                  "ECOG 0–1", "no treatment with drug class anti-CTLA-4 before the index date",
                  "6. Never smokers only (switched off; not applied)"):
        assert words in text, words


@pytest.mark.parametrize("path, words", [
    ("platinum_before_index.json", "ATC code starting with L01XA before the index date"),
    ("msi_high_any_time.json", "MSI result MSI-H measured at any time"),
    ("irae_grade3_180d.json", "CTCAE grade ≥ 3 and immune-related within 180 days after"),
    ("no_anti_ctla4_before_index.json", "line 2 of therapy started"),
])
def test_examples_are_described(path, words):
    assert words in describe(load_definition((COHORTS / path).read_text()))


def test_write_export_writes_three_files(tmp_path):
    paths = write_export(load_definition(FULL.read_text()), tmp_path / "out")
    assert sorted(p.name for p in paths.values()) == ["cohort.json", "cohort.sql", "cohort.txt"]
    assert load_definition(paths["json"].read_text()).content_hash() == \
        load_definition(FULL.read_text()).content_hash()


def test_export_command_with_snapshot(tmp_path, capsys):
    snap = tmp_path / "snap"
    manifest = write_tiny_snapshot(snap)
    args = Namespace(cohort=FULL, out=tmp_path / "out", snapshot=snap, cache_dir=tmp_path / "c")
    assert cli_export(args) == 0
    exported = json.loads((tmp_path / "out" / "cohort.json").read_text())
    assert exported["export"]["snapshot_id"] == manifest["id"]
    assert "content hash" in capsys.readouterr().out


def test_export_command_refuses_invalid_definitions(tmp_path, capsys):
    args = Namespace(cohort=COHORTS / "invalid_newer_version.json", out=tmp_path / "out",
                     snapshot=None, cache_dir=None)
    assert cli_export(args) == 2
    assert "newer than this tool supports" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
