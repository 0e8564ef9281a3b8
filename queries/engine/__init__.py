"""The engine boundary: where compiled SQL meets the engine that runs it.

Everything above this package (compiler, attrition, analyses) writes SQL once, in DuckDB's
dialect, and talks to a :class:`~queries.engine.base.Database`: ``cursor().execute(sql,
params)`` returning rows or a DataFrame of aggregates, and ``cached_table`` to keep a derived
table (a cohort, an analysis base) inside the engine. Two engines implement it:

- DuckDB (``queries.snapshot.database.SnapshotDatabase``): the snapshot loaded once into a
  DuckDB file; the default.
- Spark (``queries.engine.spark.SparkSnapshot``): the snapshot's Parquet files read where they
  sit; every statement transpiled from DuckDB to Spark SQL with sqlglot
  (``queries.engine.transpile``), values still bound as parameters.

Statistics stay in Python on the aggregates either engine returns.
"""
