"""``iocohort compare``: a study comparison of two cohorts, or of two levels of one field."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from cli.cohorts import open_snapshot_dir, read_definition_file
from queries.analyses.comparison import (
    ComparisonError,
    ComparisonOptions,
    StudyComparison,
    compare_cohorts,
    compare_levels,
)
from queries.cohort.catalog import build_catalog
from queries.cohort.materialize import materialize_definition
from queries.disclosure import policy_for, protect_result


def _options(args: argparse.Namespace) -> ComparisonOptions:
    def items(text: str) -> tuple[str, ...]:
        return tuple(part.strip() for part in text.split(",") if part.strip())

    return ComparisonOptions(
        covariates=items(args.covariates), method=args.method, caliper_sd=args.caliper,
        trim=args.trim, overlap=args.overlap, seed=args.seed, endpoints=items(args.endpoints),
        subgroups=items(args.subgroups))


def compare(args: argparse.Namespace) -> int:
    """Run the comparison and print it (JSON or text); 2 on bad input."""
    if args.split is None and len(args.cohorts) != 2:
        print("iocohort compare: give two cohort files, or one with --split FIELD "
              "--levels A,B", file=sys.stderr)
        return 2
    if args.split is not None and (len(args.cohorts) != 1 or not args.levels
                                   or len(args.levels.split(",")) != 2):
        print("iocohort compare: --split takes one cohort file and --levels 'A,B'",
              file=sys.stderr)
        return 2
    db = open_snapshot_dir(args.snapshot, args.cache_dir)
    try:
        catalog = build_catalog(db)
        definitions = [read_definition_file(path, catalog) for path in args.cohorts]
        if any(d is None for d in definitions):
            return 2
        cohorts = [materialize_definition(db, d, catalog) for d in definitions if d]
        try:
            options = _options(args)
            if args.split:
                level_a, level_b = (x.strip() for x in args.levels.split(","))
                result = compare_levels(cohorts[0], args.split, level_a, level_b, options)
            else:
                names = [d.metadata.name or str(p) for d, p in zip(definitions, args.cohorts,
                                                                     strict=True) if d]
                if names[0] == names[1]:
                    names = [f"A: {names[0]}", f"B: {names[1]}"]
                result = compare_cohorts(cohorts[0], cohorts[1], names[0], names[1], options)
        except ComparisonError as exc:
            print(f"iocohort compare: {exc}", file=sys.stderr)
            return 2
        released: Any = result
        if args.role != "clinician":
            released = protect_result(result, policy_for(args.role)).result
        if args.json:
            print(json.dumps(released.to_dict(), indent=2, ensure_ascii=False))
        else:
            print(text_report(released))
    finally:
        db.close()
    return 0


def _num(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "−∞"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def text_report(result: StudyComparison) -> str:
    """The comparison as plain text: arms, balance, outcomes, warnings."""
    lines = [f"{result.label_a} vs {result.label_b}"]
    lines += [f"warning: {w}" for w in result.warnings]
    for row in result.arms.itertuples():
        lines.append(f"{row.arm} {row.label}: cohort {row.cohort}, after overlap "
                     f"{row.after_overlap}, analysed {row.analysed}, unmatched {row.unmatched}")
    for row in result.balance.itertuples():
        lines.append(f"SMD {row.covariate}: before {_num(row.smd_before)}, "
                     f"after {_num(row.smd_after)}")
    for outcome in result.outcomes:
        for stage, effect in (("crude", outcome.crude), ("adjusted", outcome.adjusted)):
            if effect is None:
                lines.append(f"{outcome.label} HR {stage}: not available")
            else:
                lines.append(f"{outcome.label} HR {stage} (A vs B): {_num(effect.hr)} "
                             f"({_num(effect.ci_lower)}-{_num(effect.ci_upper)}), "
                             f"p={_num(effect.p_value, 3)}")
    for contrast in result.binary:
        for row in contrast.table.itertuples():
            lines.append(f"{contrast.label} {row.stage}: {_num(row.risk_a)} vs "
                         f"{_num(row.risk_b)}, difference {_num(row.difference)} "
                         f"({_num(row.diff_ci_lower)} to {_num(row.diff_ci_upper)})")
    lines += [f"definition: {d}" for d in result.definitions]
    return "\n".join(lines)
