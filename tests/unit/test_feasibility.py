"""Feasibility counts per site and per year of index: exact, complete, and cohort-only."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from queries.analyses.feasibility import UNKNOWN_SITE, feasibility, site_counts, year_counts
from queries.cohort.kept_tables import materialize_frame
from queries.snapshot.database import SnapshotDatabase, build_database
from queries.snapshot.files import write_snapshot

SITES = ("Helsinki", "Oulu", "Tampere", "Turku")


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> SnapshotDatabase:
    """A seeded snapshot of 400 patients over four sites (plus a few without a site)."""
    rng = np.random.default_rng(7)
    n = 400
    site = rng.choice(SITES, size=n, p=[0.55, 0.05, 0.25, 0.15]).astype(object)
    site[:3] = None
    patients = pd.DataFrame({
        "patient_id": [f"P{i:04d}" for i in range(n)],
        "site": site,
        "sex": rng.choice(["F", "M"], size=n),
        "birth_year": rng.integers(1940, 1990, size=n).astype("int32"),
        "death_date": [None] * n,
        "last_followup_date": [date(2025, 1, 1)] * n,
        "smoking_status": [None] * n,
    })
    out = tmp_path_factory.mktemp("snap")
    manifest = write_snapshot({"patients": patients}, out, "feas-test", "unit test")
    path = build_database(out, manifest, tmp_path_factory.mktemp("cache"))
    database = SnapshotDatabase("feas-test", path)
    yield database
    database.close()


def _cohort(db: SnapshotDatabase, key: str, ids: list[str], dates: list[date]):
    frame = pd.DataFrame({"patient_id": ids, "index_date": dates, "index_line": [1] * len(ids)})
    return materialize_frame(db, key, frame)


def _truth(db: SnapshotDatabase, ids: list[str]) -> pd.Series:
    patients = db.cursor().execute("SELECT patient_id, site FROM patients").df()
    chosen = patients[patients["patient_id"].isin(ids)]
    return chosen["site"].fillna(UNKNOWN_SITE).value_counts()


def test_site_counts_equal_a_pandas_count_and_list_every_site(db):
    rng = np.random.default_rng(11)
    ids = sorted(rng.choice([f"P{i:04d}" for i in range(400)], size=150, replace=False))
    cohort = _cohort(db, "feas_sites", list(ids), [date(2021, 5, 1)] * len(ids))
    counts = site_counts(cohort).set_index("site")["patients"]
    truth = _truth(db, list(ids))
    assert set(counts.index) == set(SITES) | {UNKNOWN_SITE}
    for site_name in counts.index:
        assert counts[site_name] == truth.get(site_name, 0)
    assert counts.sum() == cohort.size == 150


def test_site_absent_from_cohort_is_listed_with_zero(db):
    patients = db.cursor().execute("SELECT patient_id FROM patients WHERE site = 'Helsinki'").df()
    ids = list(patients["patient_id"][:20])
    cohort = _cohort(db, "feas_one_site", ids, [date(2022, 1, 1)] * 20)
    counts = site_counts(cohort).set_index("site")["patients"]
    assert counts["Helsinki"] == 20
    assert counts["Oulu"] == 0 and counts["Turku"] == 0


def test_year_counts_fill_gap_years_with_zero(db):
    ids = [f"P{i:04d}" for i in range(10, 20)]
    dates = [date(2018, 3, 1)] * 4 + [date(2021, 12, 31)] * 6
    counts = year_counts(_cohort(db, "feas_years", ids, dates))
    assert list(counts["year"]) == [2018, 2019, 2020, 2021]
    assert list(counts["patients"]) == [4, 0, 0, 6]


def test_feasibility_of_an_empty_cohort_has_zero_everywhere(db):
    result = feasibility(_cohort(db, "feas_empty", [], []))
    assert result.total == 0
    assert result.by_year.empty
    assert (result.by_site["patients"] == 0).all()
    assert result.snapshot_id == "feas-test"


def test_feasibility_total_matches_parts(db):
    ids = [f"P{i:04d}" for i in range(100, 160)]
    dates = [date(2019 + i % 3, 6, 1) for i in range(60)]
    result = feasibility(_cohort(db, "feas_total", ids, dates))
    assert result.total == 60
    assert result.by_site["patients"].sum() == 60
    assert result.by_year["patients"].sum() == 60
    assert list(result.by_year["patients"]) == [20, 20, 20]


@pytest.mark.parametrize("role, k, base", [("partner", 10, 5), ("advisory", 20, 10)])
def test_released_feasibility_holds_no_small_or_unrounded_count(db, role, k, base):
    from queries.disclosure.adapters import protect_feasibility
    from queries.disclosure.policy import policy_for

    # Oulu has about 20 patients in all; take 6 of them so its cell is small.
    rows = db.cursor().execute("SELECT patient_id, site FROM patients ORDER BY patient_id").df()
    oulu = list(rows.loc[rows["site"] == "Oulu", "patient_id"][:6])
    others = list(rows.loc[rows["site"].isin(["Helsinki", "Tampere"]), "patient_id"][:150])
    ids = sorted(oulu + others)
    exact = feasibility(_cohort(db, f"feas_protect_{role}", ids, [date(2020, 2, 1)] * len(ids)))
    protected = protect_feasibility(exact, policy_for(role))
    sites = protected.result.by_site
    shown = [v for v in sites.values["patients"] if v is not pd.NA]
    assert all(v >= k and v % base == 0 for v in shown)
    assert sites.display.set_index("site").loc["Oulu", "patients"] == "suppressed"
    # secondary suppression: the hidden cells hold at least k together, so the total minus
    # the shown sites does not give Oulu away
    hidden = sites.values["patients"].isna().to_numpy()
    assert exact.by_site["patients"].to_numpy()[hidden].sum() >= k
    assert protected.suppressed  # what was withheld goes to the audit log
