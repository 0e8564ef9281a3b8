"""Study-comparison benchmark: matched and weighted comparison of two regimens on the
1,000,000-patient snapshot (each arm about 50k patients).

The cohort is NSCLC from the first checkpoint inhibitor; A and B are its two most frequent
index regimens. Also reported: the planted confounding by indication (melanoma, nivolumab +
ipilimumab vs anti-PD-1 alone; ground_truth.json) with the crude and adjusted hazard ratios. Reported: arm sizes, and wall time of each step (patient frame, then the whole
comparison: score, matching or weighting, balance, OS and PFS crude and adjusted, ORR and
irAE contrasts), median over the repeats.

    python -m bench.compare_bench [--patients N] [--repeats R]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys

from bench.analysis_bench import CACHE, ensure_snapshot, timed

DEFINITION = {"schema_version": 1, "metadata": {"name": "bench NSCLC first ICI"},
              "index_event": {"kind": "first_checkpoint_inhibitor"},
              "inclusion_rules": [{"name": "NSCLC", "criteria": {
                  "field": "cancer_type", "op": "in", "value": ["NSCLC"]}}]}


def run(patients: int = 1_000_000, repeats: int = 3) -> dict:
    from queries.analyses import comparison
    from queries.cohort.importing import load_definition
    from queries.cohort.materialize import materialize_definition
    from queries.snapshot.files import open_snapshot

    snapshot = ensure_snapshot(patients)
    db = open_snapshot(snapshot, CACHE / "db")
    try:
        cohort, materialize_ms = timed(
            lambda: materialize_definition(db, load_definition(DEFINITION)))
        frame, frame_ms = timed(lambda: comparison.patient_frame(cohort))
        level_a, level_b = comparison.field_levels(frame, "regimen")[:2]
        part_a, part_b = comparison.split_by_field(frame, "regimen", level_a, level_b)
        out: dict = {"cohort": int(cohort.size), "a": f"{level_a} ({len(part_a):,})",
                     "b": f"{level_b} ({len(part_b):,})",
                     "materialize_ms": round(materialize_ms, 1),
                     "patient_frame_cold_ms": round(frame_ms, 1)}
        for method in ("match", "iptw"):
            options = comparison.ComparisonOptions(method=method)
            times, result = [], None
            for _ in range(repeats):
                result, ms = timed(lambda options=options: comparison.compare_groups(
                    part_a, part_b, level_a, level_b, options))
                times.append(ms)
            _, warm_frame_ms = timed(lambda: comparison.patient_frame(cohort))
            os_ = result.outcomes[0]
            out[method] = {"median_ms": round(statistics.median(times), 1),
                           "with_patient_frame_ms": round(statistics.median(times)
                                                          + warm_frame_ms, 1),
                           "analysed": result.arms["analysed"].tolist(),
                           "os_hr_crude": round(os_.crude.hr, 3) if os_.crude else None,
                           "os_hr_adjusted": round(os_.adjusted.hr, 3) if os_.adjusted
                           else None}
            print(f"{method}: {out[method]}", flush=True)
        out["planted_confounding"] = planted_confounding(db, snapshot)
        print(f"planted: {out['planted_confounding']}", flush=True)
        return out
    finally:
        db.close()


MELANOMA = {"schema_version": 1, "metadata": {"name": "bench melanoma first ICI"},
            "index_event": {"kind": "first_checkpoint_inhibitor"},
            "inclusion_rules": [{"name": "Melanoma", "criteria": {
                "field": "cancer_type", "op": "in", "value": ["Melanoma"]}}]}


def planted_confounding(db, snapshot) -> dict:
    """Crude and adjusted OS hazard ratios of the planted melanoma comparison vs the truth."""
    from queries.analyses import comparison
    from queries.cohort.importing import load_definition
    from queries.cohort.materialize import materialize_definition

    truth = json.loads((snapshot / "ground_truth.json").read_text())["planted_effects"]
    if "os_hr_melanoma_combination" not in truth:
        return {"skipped": "the snapshot predates the planted confounding: delete bench/cache"}
    planted = truth["os_hr_melanoma_combination"]["true_hr"]
    frame = comparison.patient_frame(materialize_definition(db, load_definition(MELANOMA)))
    a = frame[frame["regimen"] == "nivolumab + ipilimumab"]
    b = frame[frame["regimen"].isin(["nivolumab", "pembrolizumab"])]
    out: dict = {"planted_hr": planted, "a": len(a), "b": len(b)}
    for method in ("match", "iptw"):
        result, ms = timed(lambda method=method: comparison.compare_groups(
            a, b, "combination", "anti-PD-1", comparison.ComparisonOptions(
                covariates=("age", "ecog", "stage"), method=method, endpoints=("os",))))
        crude, adjusted = result.outcomes[0].crude, result.outcomes[0].adjusted
        out[method] = {
            "ms": round(ms), "crude": f"{crude.hr:.3f} ({crude.ci_lower:.3f}-{crude.ci_upper:.3f})",
            "adjusted": f"{adjusted.hr:.3f} ({adjusted.ci_lower:.3f}-{adjusted.ci_upper:.3f})",
            "covers_planted": adjusted.ci_lower <= planted <= adjusted.ci_upper,
            "max_abs_smd_after": round(float(result.balance["smd_after"].abs().max()), 3)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.patients, args.repeats), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
