"""Analysis benchmark: count and full analysis on a 1,000,000-patient snapshot, against the
way a typical Dash app does it (every table preloaded into pandas, filtered with pandas,
lifelines fitted per patient).

Each engine runs in its own child process so that peak memory (max RSS) is its own. For five
realistic definitions it reports count and full-analysis time, cold (first time in a fresh
process; the definitions share an index event, so the first one also builds the index
population's analysis tables that the others filter) and warm (median and p95 over repeats, the result cache bypassed), and the cached
(LRU hit) time. The snapshot is generated once into bench/cache/ and reused.

    python -m bench.analysis_bench [--patients N] [--repeats R] [--engines duckdb,pandas]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / "cache"
SEED = 20261031
ICI = ["anti-PD-1", "anti-PD-L1", "anti-CTLA-4"]
TPS_LEVELS = ("TPS < 1%", "TPS 1-49%", "TPS ≥ 50%")

# name -> (definition rules, survival stratification). Index: first checkpoint inhibitor.
DEFINITIONS: dict[str, tuple[list[dict], str]] = {
    "all_ici": ([], "ecog"),
    "nsclc_first_line_ecog01": ([
        {"name": "NSCLC", "criteria": {"field": "cancer_type", "op": "in", "value": ["NSCLC"]}},
        {"name": "first line", "criteria": {"field": "index_line", "op": "=", "value": 1}},
        {"name": "ECOG 0-1", "criteria": {"field": "ecog", "op": "<=", "value": 1}},
    ], "pdl1_tps"),
    "melanoma_18_80": ([
        {"name": "melanoma", "criteria": {"field": "cancer_type", "op": "in",
                                          "value": ["Melanoma"]}},
        {"name": "age 18-80", "criteria": {"field": "age_at_index", "op": "between",
                                           "value": [18, 80]}},
    ], "sex"),
    "nsclc_tps50": ([
        {"name": "NSCLC", "criteria": {"field": "cancer_type", "op": "in", "value": ["NSCLC"]}},
        {"name": "PD-L1 TPS >= 50 % in the 90 days before index", "criteria": {
            "table": "biomarkers",
            "where": [{"field": "biomarker:PD-L1 TPS", "op": ">=", "value": 50}],
            "window": {"start_days": -90, "end_days": 0}}},
    ], "sex"),
    "stage4_no_prior_chemo": ([
        {"name": "stage IV", "criteria": {"field": "stage", "op": "in", "value": ["IV"]}},
        {"name": "no chemotherapy before index", "criteria": {"not": {
            "table": "treatments",
            "where": [{"field": "treatments.drug_class", "op": "in", "value": ["chemotherapy"]}],
            "window": {"end_days": -1}}}},
    ], "ecog"),
}


def definition_json(name: str) -> dict:
    rules, _ = DEFINITIONS[name]
    return {"schema_version": 1, "metadata": {"name": f"bench {name}"},
            "index_event": {"kind": "first_checkpoint_inhibitor"}, "inclusion_rules": rules}


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _stats(times_ms: list[float]) -> dict:
    ordered = sorted(times_ms)
    p95 = ordered[min(len(ordered) - 1, int(np.ceil(0.95 * len(ordered))) - 1)]
    return {"median_ms": round(statistics.median(ordered), 1), "p95_ms": round(p95, 1),
            "n": len(ordered)}


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, (time.perf_counter() - start) * 1000


def _timed_cpu(fn):
    """Wall and process CPU time (all threads) in ms: CPU time stays meaningful when other
    processes compete for the cores, wall time is what a user waits."""
    cpu, start = time.process_time(), time.perf_counter()
    value = fn()
    return value, (time.perf_counter() - start) * 1000, (time.process_time() - cpu) * 1000


def snapshot_path(patients: int, seed: int = SEED) -> Path:
    """Where every bench keeps the generated snapshot of ``patients`` and ``seed``."""
    return CACHE / f"snapshot-{patients}-{seed}"


def ensure_snapshot(patients: int, seed: int = SEED) -> Path:
    """The generated snapshot in bench/cache (generated on first use)."""
    out = snapshot_path(patients, seed)
    if not (out / "manifest.json").exists():
        from synthetic.generator import generate_snapshot

        print(f"generating a {patients:,}-patient snapshot into {out} (once)", flush=True)
        generate_snapshot(patients, seed, out, progress=True)
    return out


# --- DuckDB engine (this project) ---------------------------------------------------------


def _duckdb_worker(snapshot: Path, repeats: int) -> dict:
    from queries.analyses import panels as analysis
    from queries.cohort.catalog import build_catalog
    from queries.cohort.compiler import compile_cohort
    from queries.cohort.importing import load_definition
    from queries.cohort.materialize import materialize_definition
    from queries.snapshot.files import open_snapshot

    db, build_ms = timed(lambda: open_snapshot(snapshot, CACHE / "db"))
    catalog, catalog_ms = timed(lambda: build_catalog(db))
    out = {"engine": "duckdb", "open_ms": round(build_ms, 1),
           "catalog_ms": round(catalog_ms, 1), "definitions": {}}
    cur = db.cursor()
    for name, (_, strata) in DEFINITIONS.items():
        definition = load_definition(definition_json(name), catalog)

        def count(definition=definition):
            query = compile_cohort(definition, catalog)
            return cur.execute(f"SELECT count(*) FROM ({query.sql})",  # noqa: S608 - compiled
                               query.params).fetchall()[0][0]

        size, count_cold = timed(count)
        count_warm = [timed(count)[1] for _ in range(repeats)]
        # as the app does: the cohort keeps its index population, whose analysis tables are
        # built by the first definition and filtered for the others
        cohort, materialize_ms = timed(lambda d=definition: materialize_definition(
            db, d, catalog))
        options = analysis.AnalysisOptions(survival_strata=strata, response_strata="pdl1_tps")
        bundle, full_cold, full_cold_cpu = _timed_cpu(
            lambda c=cohort, o=options: analysis.compute(c, o, use_cache=False))
        full_warm, full_warm_cpu, parts = [], [], []
        for _ in range(repeats):
            warm_bundle, ms, cpu_ms = _timed_cpu(
                lambda c=cohort, o=options: analysis.compute(c, o, use_cache=False))
            full_warm.append(ms)
            full_warm_cpu.append(cpu_ms)
            parts.append(warm_bundle.timings_ms)
        analysis.analyze(cohort, options)
        _, cached_ms = timed(lambda c=cohort, o=options: analysis.analyze(c, o))
        other = analysis.AnalysisOptions(survival_strata="sex", response_strata="msi")
        _, restrat_ms = timed(lambda c=cohort, o=other: analysis.analyze(c, o))
        out["definitions"][name] = {
            "cohort_size": int(size), "count_cold_ms": round(count_cold, 1),
            "count_warm": _stats(count_warm), "materialize_ms": round(materialize_ms, 1),
            "full_cold_ms": round(full_cold, 1), "full_cold_cpu_ms": round(full_cold_cpu, 1),
            "full_cold_parts_ms": bundle.timings_ms,
            "full_warm": _stats(full_warm), "full_warm_cpu": _stats(full_warm_cpu),
            "full_warm_parts_median_ms": {k: round(statistics.median(p[k] for p in parts), 1)
                                          for k in parts[0]},
            "full_cached_ms": round(cached_ms, 3),
            "full_other_strata_cached_panels_ms": round(restrat_ms, 1),
            "os_median_months": _first_median(bundle),
        }
        print(f"duckdb {name}: n={size:,} count {count_cold:.0f}/{out['definitions'][name]['count_warm']['median_ms']} ms, "
              f"full {full_cold:.0f}/{out['definitions'][name]['full_warm']['median_ms']} ms", file=sys.stderr, flush=True)
    out["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    return out


def _first_median(bundle) -> float | None:
    summary = bundle.survival["os"].summary
    value = summary["median_months"].iloc[0] if len(summary) else None
    return None if value is None or pd.isna(value) else round(float(value), 2)


# --- pandas engine ("typical Dash app") ---------------------------------------------------


class PandasApp:
    """All tables preloaded into DataFrames at start-up; every query filters them in pandas."""

    def __init__(self, snapshot: Path) -> None:
        manifest = json.loads((snapshot / "manifest.json").read_text())
        self.t = {name: pd.read_parquet(snapshot / spec["file"])
                  for name, spec in manifest["tables"].items()}
        for frame in self.t.values():
            for col in frame.columns:
                if col.endswith("_date"):
                    frame[col] = pd.to_datetime(frame[col])

    # cohort -----------------------------------------------------------------------------
    def index(self) -> pd.DataFrame:
        tr = self.t["treatments"]
        ici = tr[tr["drug_class"].isin(ICI)].sort_values(["patient_id", "start_date",
                                                          "line_number"])
        first = ici.drop_duplicates("patient_id")[["patient_id", "start_date", "line_number"]]
        first = first.rename(columns={"start_date": "index_date", "line_number": "index_line"})
        return first.merge(self.t["patients"], on="patient_id")

    def diagnosis_at_index(self, c: pd.DataFrame) -> pd.DataFrame:
        d = self.t["diagnoses"].merge(c[["patient_id", "index_date"]], on="patient_id")
        d["before"] = d["diagnosis_date"] <= d["index_date"]  # no grace window by default
        d["key"] = np.where(d["before"], -d["diagnosis_date"].astype("int64"),
                            d["diagnosis_date"].astype("int64"))
        d = d.sort_values(["patient_id", "before", "key", "icd10"],
                          ascending=[True, False, True, True])
        return d.drop_duplicates("patient_id")[["patient_id", "cancer_type", "stage"]]

    def ecog_at_index(self, c: pd.DataFrame) -> pd.Series:
        ps = self.t["performance_status"].merge(c[["patient_id", "index_date"]], on="patient_id")
        days = (ps["index_date"] - ps["assessment_date"]).dt.days
        ps = ps[(days >= 0) & (days <= 90) & ps["ecog"].notna()]
        ps = ps.sort_values(["patient_id", "assessment_date", "ecog"])
        return ps.drop_duplicates("patient_id", keep="last").set_index("patient_id")["ecog"]

    def tps_at_index(self, c: pd.DataFrame) -> pd.Series:
        b = self.t["biomarkers"]
        b = b[(b["biomarker"] == "PD-L1 TPS") & b["value_numeric"].notna()]
        b = b.merge(c[["patient_id", "index_date"]], on="patient_id")
        delta = (b["test_date"] - b["index_date"]).dt.days
        b = b[delta <= 0].assign(before=delta <= 0, dist=delta.abs())
        b = b.sort_values(["patient_id", "before", "dist"], ascending=[True, False, True])
        value = b.drop_duplicates("patient_id").set_index("patient_id")["value_numeric"]
        label = pd.cut(value, [-np.inf, 1, 50, np.inf], right=False, labels=TPS_LEVELS)
        return label.astype(str).reindex(c["patient_id"]).fillna("Untested")

    def cohort(self, name: str) -> pd.DataFrame:
        c = self.index()
        c = c.merge(self.diagnosis_at_index(c), on="patient_id", how="left")
        c["ecog"] = c["patient_id"].map(self.ecog_at_index(c))
        c["age"] = c["index_date"].dt.year - c["birth_year"]
        if name == "nsclc_first_line_ecog01":
            c = c[(c["cancer_type"] == "NSCLC") & (c["index_line"] == 1) & (c["ecog"] <= 1)]
        elif name == "melanoma_18_80":
            c = c[(c["cancer_type"] == "Melanoma") & c["age"].between(18, 80)]
        elif name == "nsclc_tps50":
            b = self.t["biomarkers"]
            b = b[(b["biomarker"] == "PD-L1 TPS") & (b["value_numeric"] >= 50)]
            b = b.merge(c[["patient_id", "index_date"]], on="patient_id")
            days = (b["test_date"] - b["index_date"]).dt.days
            ok = set(b.loc[(days >= -90) & (days <= 0), "patient_id"])
            c = c[(c["cancer_type"] == "NSCLC") & c["patient_id"].isin(ok)]
        elif name == "stage4_no_prior_chemo":
            tr = self.t["treatments"]
            tr = tr[tr["drug_class"] == "chemotherapy"].merge(c[["patient_id", "index_date"]],
                                                              on="patient_id")
            prior = set(tr.loc[tr["start_date"] < tr["index_date"], "patient_id"])
            c = c[(c["stage"] == "IV") & ~c["patient_id"].isin(prior)]
        return c.reset_index(drop=True)

    # analyses ---------------------------------------------------------------------------
    def strata(self, c: pd.DataFrame, key: str) -> pd.Series:
        if key == "pdl1_tps":
            return pd.Series(self.tps_at_index(c).to_numpy(), index=c.index)
        if key == "sex":
            return c["sex"].map({"F": "Female", "M": "Male"}).fillna("Unknown")
        return pd.Series(np.where(c["ecog"].isna(), "Unknown",
                                  np.where(c["ecog"] <= 1, "ECOG 0-1", "ECOG ≥ 2")),
                         index=c.index)

    def pfs(self, c: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        ta = self.t["tumor_assessments"].merge(c[["patient_id", "index_date"]], on="patient_id")
        ta = ta[ta["assessment_date"] > ta["index_date"]]
        first_pd = ta[ta["response"] == "PD"].groupby("patient_id")["assessment_date"].min()
        last = ta.groupby("patient_id")["assessment_date"].max()
        pd_date = c["patient_id"].map(first_pd)
        event_date = pd.concat([pd_date, c["death_date"]], axis=1).min(axis=1)
        censor = pd.concat([c["patient_id"].map(last).fillna(c["index_date"]),
                            c["last_followup_date"]], axis=1).min(axis=1)
        end = event_date.fillna(censor)
        return (end - c["index_date"]).dt.days.to_numpy(), event_date.notna().to_numpy()

    def survival(self, durations, events, groups) -> dict:
        from lifelines import CoxPHFitter, KaplanMeierFitter
        from lifelines.statistics import multivariate_logrank_test

        keep = durations >= 0
        durations, events, groups = durations[keep], events[keep], np.asarray(groups)[keep]
        medians = {}
        for level in pd.unique(groups):
            mask = groups == level
            kmf = KaplanMeierFitter().fit(durations[mask], events[mask])
            medians[str(level)] = float(kmf.median_survival_time_)
        known = ~pd.Series(groups).isin(["Unknown", "Untested"]).to_numpy()
        result = {"medians_days": medians}
        if len(set(groups[known])) >= 2:
            test = multivariate_logrank_test(durations[known], groups[known], events[known])
            result["logrank_p"] = float(test.p_value)
        if len(set(groups[known])) == 2:
            frame = pd.DataFrame({"t": durations[known], "e": events[known].astype(int),
                                  "x": (groups[known] == sorted(set(groups[known]))[1])
                                  .astype(int)})
            result["hr"] = float(CoxPHFitter().fit(frame, "t", "e").hazard_ratios_["x"])
        return result

    def response(self, c: pd.DataFrame, strata: pd.Series) -> pd.DataFrame:
        from queries.analyses.response import clopper_pearson

        ta = self.t["tumor_assessments"].merge(c[["patient_id", "index_date", "index_line"]],
                                               on="patient_id")
        ta = ta[(ta["line_number"] == ta["index_line"]) & (ta["assessment_date"]
                                                          >= ta["index_date"])]
        rank = ta["response"].map({"CR": 1, "PR": 2, "SD": 3, "PD": 4, "NE": 5})
        best = rank.groupby(ta["patient_id"]).min()
        bor = c["patient_id"].map(best)
        rows = []
        for level, idx in strata.groupby(strata).groups.items():
            b = bor.loc[idx]
            evaluable = int(b.notna().sum())
            responders = int((b <= 2).sum())
            rows.append({"stratum": level, "n": len(b), "responders": responders,
                         "orr_ci": clopper_pearson(responders, evaluable)})
        return pd.DataFrame(rows)

    def safety(self, c: pd.DataFrame) -> dict:
        ae = self.t["adverse_events"].merge(c[["patient_id", "index_date"]], on="patient_id")
        ae = ae[ae["onset_date"] >= ae["index_date"]]
        n = len(c)
        out = {}
        for level in ("term", "organ_class"):
            anyg = ae.groupby(level)["patient_id"].nunique()
            g3 = ae[ae["grade"] >= 3].groupby(level)["patient_id"].nunique()
            out[level] = pd.DataFrame({"any": anyg, "g3": g3}).fillna(0).assign(
                pct_any=lambda f: f["any"] / n)
        return out

    def table_one(self, c: pd.DataFrame) -> dict:
        out = {"n": len(c), "age": c["age"].quantile([0.25, 0.5, 0.75]).tolist()}
        for col in ("sex", "site", "cancer_type", "stage", "smoking_status"):
            out[col] = c[col].fillna("Unknown").value_counts().to_dict()
        out["ecog"] = pd.cut(c["ecog"], [-1, 1, 5]).value_counts(dropna=False).to_dict()
        b = self.t["biomarkers"]
        tested = b[b["patient_id"].isin(c["patient_id"])].groupby("biomarker")["patient_id"]
        out["tested"] = tested.nunique().to_dict()
        return out

    def full(self, name: str, strata_key: str) -> dict:
        c = self.cohort(name)
        strata = self.strata(c, strata_key)
        os_days = ((c["death_date"].fillna(c["last_followup_date"]) - c["index_date"]).dt.days
                   .to_numpy())
        os_result = self.survival(os_days, c["death_date"].notna().to_numpy(), strata)
        pfs_days, pfs_event = self.pfs(c)
        pfs_result = self.survival(pfs_days, pfs_event, np.full(len(c), "All patients"))
        tps = self.strata(c, "pdl1_tps")
        return {"n": len(c), "os": os_result, "pfs": pfs_result,
                "response": self.response(c, tps), "safety": self.safety(c),
                "table_one": self.table_one(c)}


def _pandas_worker(snapshot: Path, repeats: int) -> dict:
    app, load_ms = timed(lambda: PandasApp(snapshot))
    out = {"engine": "pandas", "load_ms": round(load_ms, 1),
           "rss_after_load_mb": round(_rss_mb(), 1), "definitions": {}}
    for name, (_, strata) in DEFINITIONS.items():
        cohort, count_cold = timed(lambda n=name: app.cohort(n))
        count_warm = [timed(lambda n=name: len(app.cohort(n)))[1] for _ in range(repeats)]
        result, full_cold, full_cold_cpu = _timed_cpu(lambda n=name, s=strata: app.full(n, s))
        warm = [_timed_cpu(lambda n=name, s=strata: app.full(n, s)) for _ in range(repeats)]
        full_warm = [w[1] for w in warm]
        full_warm_cpu = [w[2] for w in warm]
        os_medians = result["os"]["medians_days"]
        first = next(iter(os_medians.values())) if os_medians else None
        out["definitions"][name] = {
            "cohort_size": len(cohort), "count_cold_ms": round(count_cold, 1),
            "count_warm": _stats(count_warm), "full_cold_ms": round(full_cold, 1),
            "full_cold_cpu_ms": round(full_cold_cpu, 1),
            "full_warm": _stats(full_warm), "full_warm_cpu": _stats(full_warm_cpu),
            "os_first_median_days": first,
        }
        print(f"pandas {name}: n={len(cohort):,} count {count_cold:.0f} ms, full "
              f"{full_cold:.0f}/{out['definitions'][name]['full_warm']['median_ms']} ms",
              file=sys.stderr, flush=True)
    out["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    return out


# --- driver -------------------------------------------------------------------------------


def _run_worker(engine: str, snapshot: Path, repeats: int) -> dict:
    cmd = [sys.executable, "-m", "bench.analysis_bench", "--worker", engine,
           "--snapshot", str(snapshot), "--repeats", str(repeats)]
    proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _ratios(duck: dict, pand: dict) -> dict:
    out = {}
    for name, d in duck["definitions"].items():
        p = pand["definitions"].get(name)
        if not p:
            continue
        out[name] = {
            "same_cohort_size": d["cohort_size"] == p["cohort_size"],
            "count_warm_speedup": round(p["count_warm"]["median_ms"]
                                        / max(d["count_warm"]["median_ms"], 1e-3), 2),
            "full_warm_speedup": round(p["full_warm"]["median_ms"]
                                       / max(d["full_warm"]["median_ms"], 1e-3), 2),
            "full_warm_cpu_speedup": round(p["full_warm_cpu"]["median_ms"]
                                           / max(d["full_warm_cpu"]["median_ms"], 1e-3), 2),
            "full_cold_speedup": round(p["full_cold_ms"] / max(d["full_cold_ms"], 1e-3), 2),
        }
    out["peak_memory_ratio_pandas_over_duckdb"] = round(
        pand["peak_rss_mb"] / max(duck["peak_rss_mb"], 1e-3), 2)
    return out


def _targets(duck: dict, ratios: dict) -> dict:
    defs = duck["definitions"].values()
    speedups = [r["full_warm_speedup"] for k, r in ratios.items() if isinstance(r, dict)]
    return {
        "full_warm_median_under_500ms": all(d["full_warm"]["median_ms"] < 500 for d in defs),
        "count_warm_median_under_100ms": all(d["count_warm"]["median_ms"] < 100 for d in defs),
        "at_least_3x_faster_than_pandas": bool(speedups) and min(speedups) >= 3,
        "less_peak_memory_than_pandas": ratios.get("peak_memory_ratio_pandas_over_duckdb", 0)
        > 1,
    }


def run(patients: int = 1_000_000, repeats: int = 5,
        engines: tuple[str, ...] = ("duckdb", "pandas")) -> dict:
    """Run the benchmark; returns every measurement (milliseconds, MB) as a dict."""
    snapshot = ensure_snapshot(patients)
    result: dict = {"patients": patients, "repeats": repeats, "cpus": os.cpu_count(),
                    "load_average_at_start": os.getloadavg()}
    for engine in engines:
        result[engine] = _run_worker(engine, snapshot, repeats)
    if "duckdb" in result and "pandas" in result:
        result["ratios"] = _ratios(result["duckdb"], result["pandas"])
        result["targets_met"] = _targets(result["duckdb"], result["ratios"])
    result["load_average_at_end"] = os.getloadavg()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--engines", default="duckdb,pandas")
    parser.add_argument("--worker", choices=("duckdb", "pandas"), default=None)
    parser.add_argument("--snapshot", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    if args.worker:
        worker = _duckdb_worker if args.worker == "duckdb" else _pandas_worker
        print(json.dumps(worker(args.snapshot, args.repeats), default=str))
        return 0
    result = run(args.patients, args.repeats, tuple(args.engines.split(",")))
    text = json.dumps(result, indent=2, default=str)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
