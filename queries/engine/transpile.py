"""DuckDB SQL -> Spark SQL with sqlglot, one translation per distinct statement.

sqlglot translates the functions, types, intervals, NULL ordering and parameter markers; two
small rewrites cover what it passes through unchanged although Spark cannot run it:

- ``WITH x AS MATERIALIZED (...)``: a planner hint in DuckDB; Spark plans CTEs itself.
- ``quantile_cont(x, p)`` (exact, interpolated quantiles; ``p`` a number or a list): Spark's
  ``percentile(x, p)`` computes the same.
"""

from __future__ import annotations

import functools

import sqlglot
from sqlglot import exp

SOURCE_DIALECT = "duckdb"


def _spark_rewrites(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.CTE) and node.args.get("materialized"):
        node.set("materialized", None)
    if isinstance(node, exp.PercentileCont) and node.expression is not None:
        return exp.Anonymous(this="percentile", expressions=[node.this, node.expression])
    return node


@functools.lru_cache(maxsize=4096)
def transpile(sql: str, dialect: str = "spark") -> str:
    """``sql`` (DuckDB dialect, ``?`` or ``$name`` parameters) in ``dialect``.

    Raises ``sqlglot.errors.ParseError`` when sqlglot cannot read it: the SQL uses something
    that has no portable form and must be rewritten where it is written.
    """
    statements = sqlglot.parse(sql, read=SOURCE_DIALECT)
    if len(statements) != 1 or statements[0] is None:
        raise ValueError(f"expected one SQL statement, got {len(statements)}")
    tree = statements[0]
    if dialect == "spark":
        tree = tree.transform(_spark_rewrites)
    return tree.sql(dialect=dialect, unsupported_level=sqlglot.ErrorLevel.RAISE)
