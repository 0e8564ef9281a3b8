"""Real-world endpoints on a hand-built snapshot: every patient's time and event worked out by
hand, the cases a reviewer asks about (PD on another line, a new line before PD, death long after
the last scan, no assessment, confirmed and unconfirmed PR, SD too early)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from queries.analyses import response, survival
from queries.analyses.endpoints import Endpoint, EndpointOptions, definition
from queries.analyses.strata import base_table
from queries.cohort.kept_tables import materialize_frame
from queries.snapshot.files import snapshot_database

INDEX = date(2020, 1, 1)
IDS = [f"P{i}" for i in range(1, 11)]


def _day(n: int | None) -> date | None:
    return None if n is None else INDEX + timedelta(days=n)


# patient: (death day, last follow-up day)
FOLLOW_UP = {"P1": (None, 400), "P2": (300, 300), "P3": (400, 400), "P4": (None, 500),
             "P5": (260, 260), "P6": (None, 400), "P7": (None, 300), "P8": (None, 600),
             "P9": (None, 200), "P10": (None, 200)}
# patient: [(line, start day, end day or None)]
LINES = {"P1": [(1, 0, 150), (2, 160, None)], "P2": [(1, 0, 100), (2, 110, None)],
         "P3": [(1, 0, None)], "P4": [(1, 0, 200)], "P5": [(1, 0, 245)],
         "P6": [(1, 0, 100), (2, 105, None)], "P7": [(1, 0, 70)], "P8": [(1, 0, None)],
         "P9": [(1, 0, 150)], "P10": [(1, 0, 120)]}
# patient: [(line, day, response)]
SCANS = {
    "P1": [(1, 60, "SD"), (1, 120, "SD"), (2, 250, "PD")],  # PD on another line only
    "P2": [(1, 50, "PR"), (1, 90, "PR"), (1, 130, "PD")],  # line 2 (day 110) before PD
    "P3": [(1, 60, "SD")],  # death at 400, long after the last scan
    "P4": [],  # no assessment
    "P5": [(1, 60, "PR"), (1, 120, "PR"), (1, 240, "PD"), (1, 250, "SD")],  # confirmed PR
    "P6": [(1, 60, "PR"), (1, 80, "SD"), (1, 100, "PD")],  # unconfirmed PR
    "P7": [(1, 30, "SD"), (1, 70, "PD")],  # SD too early
    "P8": [(1, 50, "CR"), (1, 80, "CR")],  # confirmed CR
    "P9": [(1, 0, "SD"), (1, 40, "NE")],  # baseline scan and NE only: not adequate
    "P10": [(1, 50, "CR"), (1, 90, "PR")],  # CR confirmed only as PR
}


def _tables() -> dict[str, pd.DataFrame]:
    patients = pd.DataFrame({
        "patient_id": IDS, "site": "S1", "sex": ["F", "M"] * 5, "birth_year": 1955,
        "death_date": [_day(FOLLOW_UP[p][0]) for p in IDS],
        "last_followup_date": [_day(FOLLOW_UP[p][1]) for p in IDS], "smoking_status": None,
    })
    treatments = pd.DataFrame([
        {"patient_id": p, "line_number": line, "regimen": "pembrolizumab",
         "drug": "pembrolizumab", "atc_code": "L01FF02", "drug_class": "anti-PD-1",
         "start_date": _day(start), "end_date": _day(end), "stop_reason": None}
        for p in IDS for line, start, end in LINES[p]])
    scans = pd.DataFrame([{"patient_id": p, "line_number": line, "assessment_date": _day(day),
                           "response": resp} for p in IDS for line, day, resp in SCANS[p]])
    return {"patients": patients, "treatments": treatments, "tumor_assessments": scans}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    db = snapshot_database(_tables(), tmp_path_factory.mktemp("endpoints"), "endpoints-test")
    yield materialize_frame(db, "ep", pd.DataFrame(
        {"patient_id": IDS, "index_date": INDEX, "index_line": 1}))
    db.close()


def _times(cohort, endpoint, **options) -> dict[str, tuple[int, bool]]:
    rows = survival.patient_times(cohort, endpoint, EndpointOptions(**options))
    return {pid: (time, event) for pid, time, event in rows}


def test_overall_survival_by_hand(cohort):
    assert _times(cohort, "os") == {
        "P1": (400, False), "P2": (300, True), "P3": (400, True), "P4": (500, False),
        "P5": (260, True), "P6": (400, False), "P7": (300, False), "P8": (600, False),
        "P9": (200, False), "P10": (200, False)}


def test_rwpfs_counts_index_line_progression_and_death_near_the_last_scan_only(cohort):
    assert _times(cohort, "pfs") == {
        "P1": (120, False),  # PD on line 2 does not count: censored at the last line-1 scan
        "P2": (110, False),  # line 2 started (day 110) before the PD of day 130
        "P3": (60, False),  # death at 400 > 60 + 60 days after the last scan
        "P5": (240, True), "P6": (100, True), "P7": (70, True),
        "P8": (80, False), "P10": (90, False),
        # P4 (no assessment) and P9 (baseline and NE only) are left out
    }


def test_rwpfs_options_change_the_death_window_and_next_line_censoring(cohort):
    wide = _times(cohort, "pfs", pfs_death_window_days=365)
    assert wide["P3"] == (400, True)  # death within 365 days of the scan at 60
    no_next_line = _times(cohort, "pfs", censor_at_next_line=False)
    assert no_next_line["P2"] == (130, True)  # the PD after line 2 now counts
    assert no_next_line["P1"] == (120, False)


def test_rwttd_and_rwttnt_by_hand(cohort):
    assert _times(cohort, "ttd") == {
        "P1": (150, True), "P2": (100, True), "P3": (400, True),  # ongoing until death
        "P4": (200, True), "P5": (245, True), "P6": (100, True), "P7": (70, True),
        "P8": (600, False),  # still on treatment at last follow-up
        "P9": (150, True), "P10": (120, True)}
    assert _times(cohort, "ttnt") == {
        "P1": (160, True), "P2": (110, True), "P3": (400, True), "P4": (500, False),
        "P5": (260, True), "P6": (105, True), "P7": (300, False), "P8": (600, False),
        "P9": (200, False), "P10": (200, False)}


def test_duration_of_and_time_to_response_follow_the_response_rule(cohort):
    assert _times(cohort, "dor") == {  # confirmed responders only
        "P2": (60, False), "P5": (180, True), "P8": (30, False), "P10": (40, False)}
    assert _times(cohort, "dor", response="unconfirmed") == {
        "P2": (60, False), "P5": (180, True), "P6": (40, True), "P8": (30, False),
        "P10": (40, False)}
    ttr = _times(cohort, "ttr")
    assert ttr["P6"] == (100, False) and ttr["P5"] == (60, True) and ttr["P1"] == (120, False)
    assert _times(cohort, "ttr", response="unconfirmed")["P6"] == (60, True)


def test_best_overall_response_confirmed_and_unconfirmed_by_hand(cohort):
    rows = cohort.db.cursor().execute(
        f"SELECT patient_id, bor_confirmed, bor_unconfirmed FROM {base_table(cohort)}"  # noqa: S608
    ).fetchall()
    got = {pid: (c, u) for pid, c, u in rows}
    assert got == {
        "P1": ("SD", "SD"), "P2": ("PR", "PR"), "P3": ("SD", "SD"), "P4": (None, None),
        "P5": ("PR", "PR"),  # the SD after PD does not count
        "P6": ("SD", "PR"),  # PR not confirmed 28 days later: SD (its scan is >= 42 days)
        "P7": ("PD", "PD"),  # SD at day 30 is too early to count
        "P8": ("CR", "CR"), "P9": ("NE", "NE"), "P10": ("PR", "CR")}


def test_kaplan_meier_reports_left_out_patients_and_its_definition(cohort):
    result = survival.kaplan_meier(cohort, "pfs")
    assert result.summary.iloc[0]["n"] == 8
    assert result.excluded == 2
    assert any(note.startswith("2 patients without an adequate tumour assessment")
               for note in result.notes)
    assert "within 60 days after the last adequate assessment" in result.definition.event
    as_json = result.to_dict()
    assert "Censored:" in as_json["definition"]["text"]


def test_every_endpoint_has_a_definition_in_words():
    for endpoint in Endpoint:
        words = definition(endpoint)
        assert words.event and words.censoring and words.population and words.left_out
    assert "next line" in definition("pfs").censoring
    assert "next line" not in definition(
        "pfs", EndpointOptions(censor_at_next_line=False)).censoring
    with pytest.raises(ValueError, match="pfs_death_window_days"):
        EndpointOptions(pfs_death_window_days=-1)


def test_orr_counts_by_hand_for_both_response_rules(cohort):
    confirmed = response.best_overall_response(cohort).rates.iloc[0]
    assert (confirmed["responders"], confirmed["denominator"]) == (4, 10)  # default: all
    unconfirmed = response.best_overall_response(
        cohort, response="unconfirmed", denominator="evaluable").rates.iloc[0]
    assert (unconfirmed["responders"], unconfirmed["denominator"]) == (5, 9)


def test_landmark_keeps_patients_still_at_risk_and_counts_time_from_it(cohort):
    # OS at day 300: P2 died at 300 (still at risk on the day), P5 died at 260 (left out),
    # P9/P10 followed only to 200 (left out)
    assert _times(cohort, "os", landmark_days=300) == {
        "P1": (100, False), "P2": (0, True), "P3": (100, True), "P4": (200, False),
        "P6": (100, False), "P7": (0, False), "P8": (300, False)}
    words = definition("os", EndpointOptions(landmark_days=300))
    assert "day 300" in words.time_zero and "at day 300" in words.population
    with pytest.raises(ValueError, match="landmark_days"):
        EndpointOptions(landmark_days=-5)


def test_rules_that_look_after_index_are_found_with_a_landmark():
    from pathlib import Path

    from queries.cohort.bias import look_ahead_rules, look_ahead_warning, suggested_landmark_days
    from queries.cohort.model import Definition

    folder = Path(__file__).resolve().parents[1] / "cohorts"
    irae = Definition.model_validate_json((folder / "irae_grade3_180d.json").read_text())
    found = look_ahead_rules(irae)
    assert [(f.rule, f.last_day) for f in found] == [("Grade ≥ 3 irAE within 180 days", 180)]
    assert suggested_landmark_days(found) == 180
    assert "landmark analysis at day 180" in look_ahead_warning(found)
    before = Definition.model_validate_json(
        (folder / "no_anti_ctla4_before_index.json").read_text())
    assert look_ahead_rules(before) == []
    any_time = Definition.model_validate_json(
        (folder / "msi_high_any_time.json").read_text())
    assert [f.last_day for f in look_ahead_rules(any_time)] == [None]


def test_at_index_grace_window_is_part_of_the_index_event_and_off_by_default():
    from queries.cohort.compiler import index_population_sql
    from queries.cohort.model import Definition

    plain = Definition.model_validate({"metadata": {"name": "x"}})
    assert "at_index_grace_days" not in plain.content()["index_event"]  # old hashes kept
    graced = Definition.model_validate(
        {"metadata": {"name": "x"}, "index_event": {"at_index_grace_days": 30}})
    assert graced.index_hash() != plain.index_hash()
    assert 30 in index_population_sql(graced.index_event).params
    assert 30 not in index_population_sql(plain.index_event).params
    with pytest.raises(ValueError):
        Definition.model_validate(
            {"metadata": {"name": "x"}, "index_event": {"at_index_grace_days": 365}})
