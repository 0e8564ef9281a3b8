"""Everything that touches data: snapshots, field catalog, cohort definitions, analyses.

No Dash imports anywhere in this package.
"""
