"""Cohort commands: ``iocohort count``, ``iocohort export`` and ``iocohort analyze``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cli.engines import open_engine, open_snapshot_dir
from queries.analyses import strata
from queries.analyses.endpoints import Endpoint
from queries.analyses.panels import AnalysisBundle, AnalysisOptions, analyze
from queries.analyses.pro import ProOptions, score_digits
from queries.cohort.attrition import Attrition, compute_attrition
from queries.cohort.bias import look_ahead_rules, look_ahead_warning, suggested_landmark_days
from queries.cohort.catalog import Catalog, build_catalog
from queries.cohort.export import write_export
from queries.cohort.importing import import_definition
from queries.cohort.materialize import materialize_definition
from queries.cohort.model import Definition
from queries.disclosure.policy import policy_for
from queries.disclosure.release import notice, release_result, released_size
from queries.disclosure.summary import PlainSummary, plain_summary
from queries.snapshot.schema import PRO_ITEMS


def read_definition_file(path: Path, catalog: Catalog | None = None) -> Definition | None:
    """Import a definition file, printing every problem to stderr; None when it has errors."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read {path}: {exc}", file=sys.stderr)
        return None
    result = import_definition(text, catalog)
    if result.migrated_from is not None:
        print(f"note: {path} migrated from schema version {result.migrated_from}",
              file=sys.stderr)
    for problem in result.problems:
        print(f"{problem.severity}: {problem}", file=sys.stderr)
    return result.definition


def format_table(attrition: Attrition) -> str:
    """The attrition table as aligned text."""
    rows = [("step", "rule", "remaining", "excluded", "alone")]
    for s in attrition.steps:
        name = s.rule_name if s.enabled else f"{s.rule_name} (off)"
        name = name if len(name) <= 60 else name[:57] + "..."
        rows.append((str(s.step), name, str(s.remaining),
                     "" if s.step == 0 else str(s.excluded), str(s.alone)))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = []
    for row in rows:
        cells = [row[0].rjust(widths[0]), row[1].ljust(widths[1])]
        cells += [cell.rjust(width) for cell, width in zip(row[2:], widths[2:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def count(args) -> int:
    """``iocohort count --snapshot DIR COHORT.json [--json] [--engine duckdb|spark]``: print
    the attrition table."""
    with open_engine(args) as db:
        catalog = build_catalog(db)
        definition = read_definition_file(args.cohort, catalog)
        if definition is None:
            return 2
        attrition = compute_attrition(db, definition, catalog)
        if getattr(args, "json", False):
            print(json.dumps(attrition.to_dict(), indent=2, ensure_ascii=False))
        else:
            print(f"{definition.metadata.name} on snapshot {db.snapshot_id}")
            print(format_table(attrition))
    return 0


def export(args) -> int:
    """``iocohort export COHORT.json --out DIR [--snapshot DIR]``."""
    catalog, snapshot_id = None, None
    if getattr(args, "snapshot", None):
        db = open_snapshot_dir(args.snapshot, getattr(args, "cache_dir", None))
        try:
            catalog, snapshot_id = build_catalog(db), db.snapshot_id
        finally:
            db.close()
    definition = read_definition_file(args.cohort, catalog)
    if definition is None:
        return 2
    paths = write_export(definition, args.out, catalog, snapshot_id)
    print(f"content hash {definition.content_hash()}")
    for path in paths.values():
        print(f"wrote {path}")
    return 0


def analyze_command(args) -> int:
    """``iocohort analyze --snapshot DIR COHORT.json [--json] [--engine duckdb|spark]``: every
    analysis of a definition."""
    with open_engine(args) as db:
        catalog = build_catalog(db)
        definition = read_definition_file(args.cohort, catalog)
        if definition is None:
            return 2
        try:
            options = analysis_options(args)
        except ValueError as exc:
            print(f"iocohort analyze: {exc}", file=sys.stderr)
            return 2
        cohort = materialize_definition(db, definition, catalog)
        role = getattr(args, "role", None) or "clinician"
        if role == "advisory":
            _print_advisory(plain_summary(cohort), getattr(args, "json", False))
            return 0
        bundle = analyze(cohort, options)
        released = release_result(bundle, role).result
        found = look_ahead_rules(definition)
        guard = {"look_ahead_rules": [vars(f) for f in found],
                 "warning": look_ahead_warning(found),
                 "suggested_landmark_days": suggested_landmark_days(found),
                 "landmark_days": options.landmark_days}
        if getattr(args, "json", False):
            payload = {**released.to_dict(), "bias_guard": guard}
            if role != "clinician":
                payload = {"role": role, "notice": notice(policy_for(role)),
                           "cohort_size": released_size(bundle.n, role).display, **payload}
            print(json.dumps(payload, indent=2, ensure_ascii=False))
        else:
            if guard["warning"]:
                print(f"WARNING: {guard['warning']}" + (
                    f" (landmark applied: day {options.landmark_days})"
                    if options.landmark_days is not None else
                    f" Rerun with --landmark-days {guard['suggested_landmark_days']}."))
            if role != "clinician":
                print(notice(policy_for(role)))
            print(_text_report(released))
    return 0


def analysis_options(args) -> AnalysisOptions:
    """The analysis options of ``iocohort analyze``; ValueError names the bad option."""
    endpoints = tuple(getattr(args, "endpoints", None) or AnalysisOptions().endpoints)
    unknown = [e for e in endpoints if e not in {x.value for x in Endpoint}]
    if unknown:
        raise ValueError(f"--endpoints: unknown {', '.join(unknown)}; choose from "
                         f"{', '.join(x.value for x in Endpoint)}")
    for flag, key in (("--strata", getattr(args, "strata", None)),
                      ("--response-strata", getattr(args, "response_strata", None)),
                      *(("--adjust", k) for k in getattr(args, "adjust", None) or []),
                      *(("--cox", k) for k in getattr(args, "cox", None) or [] if k != "age")):
        if key not in (None, "none"):
            try:
                strata.get(key)
            except ValueError as exc:
                raise ValueError(f"{flag}: {exc}") from None
    hr = getattr(args, "hr", None)
    if hr is not None and len(hr) != 2:
        raise ValueError("--hr needs two groups, 'A,B' (A vs reference B)")
    try:
        milestones = tuple(float(m) for m in getattr(args, "milestones", None) or (6, 12, 24))
    except ValueError:
        raise ValueError("--milestones: months as numbers, e.g. 6,12,24") from None
    response_strata = getattr(args, "response_strata", "pdl1_tps")
    return AnalysisOptions(
        endpoints=endpoints, survival_strata=getattr(args, "strata", None),
        response_strata=None if response_strata in (None, "none") else response_strata,
        hr_groups=tuple(hr) if hr else None,
        hr_adjust=tuple(args.adjust) if getattr(args, "adjust", None) else None,
        ci_method=getattr(args, "ci_method", "log-log"),
        response=getattr(args, "response", "confirmed"),
        response_denominator=getattr(args, "response_denominator", "all"),
        pfs_death_window_days=getattr(args, "pfs_death_window_days", 60),
        censor_at_next_line=not getattr(args, "no_next_line_censoring", False),
        milestone_months=milestones, horizon_months=getattr(args, "horizon_months", 12.0),
        ae_window_days=getattr(args, "ae_window", None),
        ae_index_line_only=getattr(args, "ae_index_line_only", False),
        ae_immune_only=getattr(args, "ae_immune_only", False),
        cox_covariates=tuple(getattr(args, "cox", None) or ()),
        cox_robust=getattr(args, "robust", False),
        landmark_days=getattr(args, "landmark_days", None),
        ae_treatment_emergent_days=None if getattr(args, "ae_all_lines", False)
        else getattr(args, "ae_treatment_emergent_days", 90),
        **_pro_options(getattr(args, "pro", None)),
    )


def _pro_options(scale: str | None) -> dict[str, object]:
    """``--pro SCALE``: the patient-reported panel for that QLQ-C30 scale or PRO-CTCAE item."""
    if scale is None:
        return {}
    for instrument, items in PRO_ITEMS.items():
        for item in items:
            if item.casefold() == scale.strip().casefold():
                return {"pro": ProOptions(instrument=instrument, item=item),
                        "panels": (*AnalysisOptions().panels, "pro")}
    choices = "; ".join(f"{instrument}: {', '.join(items)}"
                        for instrument, items in PRO_ITEMS.items())
    raise ValueError(f"--pro: unknown scale {scale!r}; choose from {choices}")


def _print_advisory(summary: PlainSummary, as_json: bool) -> None:
    """What the advisory board reads: the plain summary the Summaries page shows."""
    if as_json:
        print(json.dumps({"role": "advisory", "summary": summary.to_dict()}, indent=2,
                         ensure_ascii=False))
    else:
        print("\n".join(summary.sentences))


def _text_report(bundle: AnalysisBundle) -> str:
    lines = [f"snapshot {bundle.snapshot_id}, cohort {bundle.cohort_key}: {bundle.n} patients"]
    for endpoint, result in bundle.survival.items():
        if result.is_empty:
            lines.append(f"{endpoint.upper()}: {result.empty_reason}")
            continue
        if result.definition is not None:
            lines.append(f"{endpoint.upper()}: {result.definition.text()}")
        for row in result.summary.itertuples():
            median = "not reached" if row.median_months is None or row.median_months != \
                row.median_months else f"{row.median_months:.1f} months"
            lines.append(f"{endpoint.upper()} {row.stratum}: n={row.n}, events={row.events}, "
                         f"median {median}")
        lines.extend(f"{endpoint.upper()} note: {text}" for text in result.notes)
        lines.extend(f"{endpoint.upper()} warning: {text}" for text in result.warnings)
    if bundle.response is not None:
        for row in bundle.response.rates.itertuples():
            orr = "n/a" if row.orr is None else f"{row.orr:.1%}"
            lines.append(f"ORR {row.stratum}: {orr} ({row.responders}/{row.denominator})")
    if bundle.safety is not None:
        overall = bundle.safety.overall
        lines.append(f"AE any grade: {overall['patients_any_grade']} patients, grade >= 3: "
                     f"{overall['patients_grade3plus']}")
    lines.extend(_cox_lines(bundle))
    lines.extend(_incidence_lines(bundle))
    lines.extend(_pro_lines(bundle))
    lines.append(f"computed in {bundle.timings_ms.get('total', 0):.0f} ms")
    return "\n".join(lines)


def _pro_lines(bundle: AnalysisBundle) -> list[str]:
    result = bundle.pro
    if result is None:
        return []
    scale = f"PRO {result.options.instrument} {result.options.item}"
    if result.empty_reason:
        return [f"{scale}: {result.empty_reason}"]
    participants = result.participants_display or result.participants
    lines = [f"{scale}: {participants} participants of {result.n_display or result.n}"]
    lines.extend(f"{scale} note: {text}" for text in result.definitions.values())
    digits = score_digits(result.options.instrument, result.options.item)
    for row in result.scores.itertuples():
        lines.append(f"{scale} week {row.week}: mean {row.mean_score:.{digits}f} "
                     f"({row.ci_lower:.{digits}f}-{row.ci_upper:.{digits}f}), "
                     f"{row.patients} patients, "
                     f"{row.questionnaires} questionnaires")
    for row in result.completion.itertuples():
        share = "n/a" if row.completion != row.completion or row.completion is None \
            else f"{row.completion:.0%}"
        lines.append(f"{scale} completion week {row.week}: {share} "
                     f"({row.patients_answered}/{row.patients_followed})")
    for row in result.severity.itertuples():
        share = "n/a" if row.share != row.share or row.share is None else f"{row.share:.0%}"
        lines.append(f"PRO-CTCAE {row.item} {row.severity}: {share} "
                     f"({row.patients}/{row.denominator})")
    return lines


def _cox_lines(bundle: AnalysisBundle) -> list[str]:
    lines = []
    for endpoint, model in bundle.cox.items():
        if model.empty_reason:
            lines.append(f"Cox {endpoint.upper()}: {model.empty_reason}")
        for row in model.terms.itertuples():
            ref = f" vs {row.reference}" if row.reference else ""
            lines.append(f"Cox {endpoint.upper()} {row.term}{ref}: HR {row.hr:.2f} "
                         f"({row.ci_lower:.2f}-{row.ci_upper:.2f}), p={row.p_value:.3g}, "
                         f"PH test p={row.ph_p_value:.3g}")
        lines.extend(f"Cox {endpoint.upper()} note: {note}" for note in model.notes)
    return lines


def _incidence_lines(bundle: AnalysisBundle) -> list[str]:
    incidence = bundle.irae_incidence
    if incidence is None or incidence.empty_reason:
        return []
    lines = []
    for row in incidence.milestones.itertuples():
        value = row.cumulative_incidence
        shown = "n/a" if value is None or value != value else f"{value:.1%}"
        lines.append(f"grade >= 3 irAE cumulative incidence {row.group} at "
                     f"{row.time_months:g} months: {shown}")
    return lines
