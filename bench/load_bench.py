"""Load test: signed-in users against the production server (gunicorn) on the 1M snapshot.

Starts ``gunicorn -c gunicorn.conf.py wsgi:app`` on a free 127.0.0.1 port in demo mode with
a fresh app store, waits for /healthz/ready, times the first page and the first analysis of
a new cohort, then runs locust headless (bench/locustfile.py: builder edits, panel views,
compare, a readiness probe) bounded in users, time and requests. Prints p50/p95/p99 per
request kind, errors, requests/s, and the server's CPU and RSS (master + workers) over time.

    python -m bench.load_bench [--users 50] [--run-time 120] [--max-requests 6000]
                               [--patients 1000000] [--workers 2] [--threads 4]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import requests

from bench.analysis_bench import CACHE, ensure_snapshot
from bench.dash_http import DashCallbacks, sign_in

ROOT = Path(__file__).resolve().parents[1]
COHORTS = ROOT / "tests" / "cohorts"
TARGET_P95_MS = 1000.0
TARGET_HEALTH_P95_MS = 100.0
TARGET_FIRST_MS = 1000.0
TARGET_RSS_GB = 1.5


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Monitor(threading.Thread):
    """Samples the server's CPU (% of one core, summed over processes) and RSS every 2 s."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.samples: list[dict[str, float]] = []
        self.marks: dict[str, float] = {}
        self._halt = threading.Event()
        self._t0 = time.monotonic()

    def mark(self, label: str) -> None:
        self.marks[label] = round(time.monotonic() - self._t0, 1)

    def _processes(self) -> list[psutil.Process]:
        try:
            return [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def run(self) -> None:
        known: dict[int, psutil.Process] = {}
        while not self._halt.is_set():
            cpu = rss = 0.0
            for proc in self._processes():
                proc = known.setdefault(proc.pid, proc)
                try:
                    cpu += proc.cpu_percent(None)
                    rss += proc.memory_info().rss
                except psutil.Error:
                    continue
            self.samples.append({"t": round(time.monotonic() - self._t0, 1),
                                 "cpu_pct": round(cpu, 1), "rss_mb": round(rss / 2**20, 1)})
            self._halt.wait(2.0)

    def stop(self) -> None:
        self._halt.set()
        self.join(10)


def start_server(snapshot: Path, store: Path, workers: int, threads: int, log: Path
                 ) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "IOCOHORT_DEMO": "1", "IOCOHORT_HOST": "127.0.0.1",
           "IOCOHORT_PORT": str(port), "IOCOHORT_WORKERS": str(workers),
           "IOCOHORT_THREADS": str(threads), "IOCOHORT_SNAPSHOTS_DIR": str(snapshot),
           "IOCOHORT_CACHE_DIR": str(CACHE / "db"), "IOCOHORT_STORE": str(store)}
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return process, f"http://127.0.0.1:{port}"


def wait_ready(process: subprocess.Popen, url: str, log: Path, limit_s: float = 900.0) -> float:
    began = time.perf_counter()
    while time.perf_counter() - began < limit_s:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-3000:]}")
        try:
            if requests.get(f"{url}/healthz/ready", timeout=5).status_code == 200:
                return time.perf_counter() - began
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"server not ready after {limit_s:.0f} s")


def scenario_drafts(snapshot: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Builder drafts of the example cohorts valid on this snapshot, and their definitions."""
    from components.builder.state import draft_from_definition
    from queries.cohort.catalog import build_catalog
    from queries.cohort.importing import import_definition
    from queries.snapshot.files import open_snapshot

    db = open_snapshot(snapshot, CACHE / "db")
    try:
        catalog = build_catalog(db)
        drafts, definitions = [], []
        for path in sorted(COHORTS.glob("*.json")):
            if path.name.startswith(("invalid_", "legacy_")):
                continue
            result = import_definition(path.read_text(), catalog)
            if result.definition is not None and result.definition.inclusion_rules:
                definitions.append(result.definition.model_dump(mode="json"))
                drafts.append(draft_from_definition(definitions[-1], catalog))
        return drafts, definitions
    finally:
        db.close()


def first_requests(url: str, draft: dict[str, Any], fallback: dict[str, Any]
                   ) -> dict[str, float]:
    """A newcomer's first page after ready, and the first analysis of a new cohort (ms)."""
    session = requests.Session()
    times: dict[str, float] = {}
    began = time.perf_counter()
    sign_in(session, "clinician", "clinician-demo", url, timeout=120)
    times["sign_in_ms"] = (time.perf_counter() - began) * 1000
    callbacks = DashCallbacks.load(session, url, timeout=120)
    began = time.perf_counter()
    response = callbacks.call(session, "builder-count.children", {
        "builder-structure.data": draft, "builder-name.value": draft["metadata"]["name"],
        "builder-index-kind.value": draft["index"].get("kind"), "builder-history.data": []},
        url, timeout=300)
    times["first_builder_count_ms"] = (time.perf_counter() - began) * 1000
    stored = response.json().get("response", {}).get("shell-cohort-store", {})
    definition = stored.get("data") or fallback
    for label, endpoint in (("first_analysis_new_cohort_ms", "os"),
                            ("second_panel_same_cohort_ms", "pfs")):
        began = time.perf_counter()
        callbacks.call(session, "analysis-survival-graph.figure", {
            "shell-cohort-store.data": definition, "analysis-survival-endpoint.value": endpoint,
            "analysis-survival-strata.value": None}, url, timeout=300)
        times[label] = (time.perf_counter() - began) * 1000
    return {k: round(v, 1) for k, v in times.items()}


def run_locust(url: str, scenario: Path, users: int, run_time: int, out: Path) -> None:
    """locust (bench/load-requirements.lock) runs from its own venv, .venv-load (``make
    bench`` creates it): it needs urllib3 2, the app's pinned selenium needs urllib3 1.26."""
    locust = Path(os.environ.get("IOCOHORT_LOCUST", ROOT / ".venv-load" / "bin" / "locust"))
    if not locust.exists():
        raise RuntimeError(f"locust not found at {locust}; run `make bench` (it creates "
                           ".venv-load from bench/load-requirements.lock)")
    command = [str(locust), "-f", str(ROOT / "bench" / "locustfile.py"),
               "--headless", "--users", str(users + 1), "--spawn-rate", "2",
               "--run-time", f"{run_time}s", "--host", url, "--csv", str(out),
               "--only-summary", "--stop-timeout", "30", "--loglevel", "WARNING"]
    env = {**os.environ, "IOCOHORT_LOAD_SCENARIO": str(scenario), "PYTHONPATH": str(ROOT)}
    subprocess.run(command, cwd=ROOT, env=env, check=False, timeout=run_time + 300)


def read_stats(prefix: Path) -> list[dict[str, Any]]:
    rows = []
    with open(f"{prefix}_stats.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            kind = f"{row['Type']} {row['Name']}".strip()
            rows.append({"kind": kind, "requests": int(row["Request Count"]),
                         "errors": int(row["Failure Count"]),
                         "p50_ms": _num(row["50%"]), "p95_ms": _num(row["95%"]),
                         "p99_ms": _num(row["99%"]), "rps": round(float(row["Requests/s"]), 2),
                         "avg_kb": round(float(row["Average Content Size"]) / 1024, 1)})
    return rows


def _num(value: str) -> float | None:
    return None if value in ("", "N/A") else float(value)


def run(patients: int = 1_000_000, users: int = 50, run_time: int = 120,
        max_requests: int = 6000, workers: int = 2, threads: int = 4) -> dict[str, Any]:
    snapshot = ensure_snapshot(patients)
    work = Path(tempfile.mkdtemp(prefix="load-", dir=CACHE))
    log = work / "server.log"
    process, url = start_server(snapshot, work / "app.sqlite", workers, threads, log)
    monitor = Monitor(process.pid)
    monitor.start()
    try:
        ready_s = wait_ready(process, url, log)
        monitor.mark("ready")
        drafts, definitions = scenario_drafts(snapshot)
        firsts = first_requests(url, drafts[0], definitions[0])
        monitor.mark("load start")
        scenario = work / "scenario.json"
        scenario.write_text(json.dumps({"drafts": drafts, "definitions": definitions,
                                        "max_requests": max_requests}))
        run_locust(url, scenario, users, run_time, work / "locust")
        monitor.mark("load end")
        time.sleep(6)  # two more samples of the server after the load
        monitor.mark("stopping")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        exit_code = process.wait(timeout=120)
        monitor.stop()
    stats = read_stats(work / "locust")
    result = {"benchmark": "load", "patients": patients, "users": users,
              "run_time_s": run_time, "max_requests": max_requests, "workers": workers,
              "threads": threads, "ready_after_start_s": round(ready_s, 1), **firsts,
              "requests": stats, "server": _server_figures(monitor),
              "server_exit_code": exit_code, "log": str(log)}
    _print(result, monitor)
    return result


def _server_figures(monitor: Monitor) -> dict[str, Any]:
    start, end = monitor.marks.get("load start", 0.0), monitor.marks.get("load end", 1e9)
    during = [s for s in monitor.samples if start <= s["t"] <= end]
    stopping = monitor.marks.get("stopping", 1e9)
    after = [s for s in monitor.samples if end < s["t"] < stopping]
    idle = [s for s in monitor.samples if s["t"] <= monitor.marks.get("ready", 0.0)]
    return {
        "cpu_pct_mean_during_load": round(statistics.mean(s["cpu_pct"] for s in during), 1)
        if during else None,
        "rss_mb_at_ready": idle[-1]["rss_mb"] if idle else None,
        "rss_mb_max": max((s["rss_mb"] for s in monitor.samples), default=None),
        "rss_mb_after_load": after[-1]["rss_mb"] if after else (during[-1]["rss_mb"]
                                                               if during else None),
        "timeline": monitor.samples[::5],
        "marks": monitor.marks,
    }


def _print(result: dict[str, Any], monitor: Monitor) -> None:
    print(f"load: {result['users']} users, {result['run_time_s']} s, cap "
          f"{result['max_requests']} requests, {result['workers']} workers x "
          f"{result['threads']} threads, {result['patients']:,} patients", flush=True)
    print(f"  ready {result['ready_after_start_s']} s after start; first sign-in "
          f"{result['sign_in_ms']:.0f} ms, first builder count "
          f"{result['first_builder_count_ms']:.0f} ms, first analysis of a new cohort "
          f"{result['first_analysis_new_cohort_ms']:.0f} ms (target < {TARGET_FIRST_MS:.0f})")
    print(f"  {'request kind':<28}{'n':>7}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
          f"{'req/s':>8}{'avg KB':>9}")
    for row in result["requests"]:
        print(f"  {row['kind']:<28}{row['requests']:>7}{row['errors']:>8}"
              f"{_fmt(row['p50_ms']):>9}{_fmt(row['p95_ms']):>9}{_fmt(row['p99_ms']):>9}"
              f"{row['rps']:>8}{row['avg_kb']:>9}")
    server = result["server"]
    print(f"  server CPU during load {server['cpu_pct_mean_during_load']} % of one core "
          f"(2 cores = 200 %); RSS at ready {server['rss_mb_at_ready']} MB, max "
          f"{server['rss_mb_max']} MB, after load {server['rss_mb_after_load']} MB "
          f"(target <= {TARGET_RSS_GB * 1024:.0f} MB)")
    print("  t (s)  CPU %  RSS MB   " + "  ".join(f"{k} at {v} s"
                                                  for k, v in monitor.marks.items()))
    for sample in monitor.samples[::5]:
        print(f"  {sample['t']:>5}  {sample['cpu_pct']:>5}  {sample['rss_mb']:>7}")
    print(f"  server stopped with exit code {result['server_exit_code']}; log {result['log']}",
          flush=True)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--run-time", type=int, default=120)
    parser.add_argument("--max-requests", type=int, default=6000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args(argv)
    result = run(args.patients, args.users, args.run_time, args.max_requests, args.workers,
                 args.threads)
    print(json.dumps({k: v for k, v in result.items() if k != "server"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
