"""Trial feasibility: how many patients of a cohort each site has, and per year of index.

Counts here are exact; the role's disclosure policy (``queries.disclosure``) is applied to the
result afterwards, so that suppression and rounding live in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from queries.cohort.kept_tables import Cohort

SITE_COLUMNS = ("site", "patients")
YEAR_COLUMNS = ("year", "patients")
UNKNOWN_SITE = "Unknown site"


@dataclass(frozen=True)
class Feasibility:
    """Exact cohort counts per site and per calendar year of the index date.

    ``by_site`` lists every site of the snapshot (zero where the cohort has nobody there), so
    that which sites appear does not itself depend on the cohort. ``by_year`` covers every year
    from the first to the last index year of the cohort, with zeros for years in between.
    """

    snapshot_id: str
    total: int
    by_site: pd.DataFrame  # columns: site (str), patients (int)
    by_year: pd.DataFrame  # columns: year (int), patients (int)


def site_counts(cohort: Cohort) -> pd.DataFrame:
    """Patients of the cohort per site, for every site of the snapshot (sorted by site)."""
    sql = (
        "WITH sites AS (SELECT DISTINCT coalesce(site, ?) AS site FROM patients), "  # noqa: S608 - table name validated by Cohort
        "counts AS (SELECT coalesce(p.site, ?) AS site, count(*) AS patients "
        f"FROM {cohort.table} c JOIN patients p USING (patient_id) GROUP BY 1) "
        "SELECT s.site, CAST(coalesce(k.patients, 0) AS BIGINT) AS patients "
        "FROM sites s LEFT JOIN counts k USING (site) ORDER BY s.site"
    )
    frame = cohort.db.cursor().execute(sql, [UNKNOWN_SITE, UNKNOWN_SITE]).df()
    return _typed(frame, SITE_COLUMNS, str)


def year_counts(cohort: Cohort) -> pd.DataFrame:
    """Patients of the cohort per calendar year of index, gap years filled with zero."""
    sql = (
        "SELECT CAST(year(index_date) AS INTEGER) AS year, count(*) AS patients "  # noqa: S608 - table name validated by Cohort
        f"FROM {cohort.table} WHERE index_date IS NOT NULL GROUP BY 1 ORDER BY 1"
    )
    frame = cohort.db.cursor().execute(sql).df()
    if frame.empty:
        return _typed(frame, YEAR_COLUMNS, int)
    years = range(int(frame["year"].min()), int(frame["year"].max()) + 1)
    frame = frame.set_index("year").reindex(years, fill_value=0).rename_axis("year").reset_index()
    return _typed(frame, YEAR_COLUMNS, int)


def feasibility(cohort: Cohort) -> Feasibility:
    """Exact per-site and per-year counts of ``cohort`` (apply the disclosure policy after)."""
    return Feasibility(
        snapshot_id=cohort.snapshot_id,
        total=int(cohort.size),
        by_site=site_counts(cohort),
        by_year=year_counts(cohort),
    )


def _typed(frame: pd.DataFrame, columns: tuple[str, str], key_type: type) -> pd.DataFrame:
    out = pd.DataFrame(
        {columns[0]: frame[columns[0]].astype(key_type) if len(frame) else pd.Series(dtype=object),
         columns[1]: frame[columns[1]].astype("int64") if len(frame) else pd.Series(dtype="int64")}
    )
    return out.reset_index(drop=True)
