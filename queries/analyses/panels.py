"""One entry point computing every analysis panel of a materialized cohort.

``analyze(cohort, options)`` returns an ``AnalysisBundle`` (survival per endpoint, response,
safety, characteristics), every part JSON-serializable through ``to_dict()``. Results are
cached within a byte budget, keyed by (snapshot, cohort key, size, options), so re-drawing a
panel or switching roles never recomputes.
"""

from __future__ import annotations

import pickle
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from queries.analyses import (
    characteristics,
    comparison,
    multivariable,
    response,
    safety,
    survival,
)
from queries.analyses.comparison_options import ComparisonOptions
from queries.analyses.endpoints import DEFAULT_DEATH_WINDOW_DAYS, EndpointOptions
from queries.analyses.pro import ProOptions, ProResult, patient_reported
from queries.analyses.strata import base_table, jsonable_dict
from queries.cohort.kept_tables import Cohort
from queries.cohort.materialize import index_source
from queries.cohort.model import Definition, IndexEvent, Metadata
from queries.snapshot.database import SnapshotDatabase

PANEL_THREADS = 2
# Panels are started longest first (measured on 1M patients), so the two threads end together
# instead of one starting the longest panel last: 575 -> 440 ms for the largest bench cohort.
LONGEST_FIRST = ("safety", "characteristics", "survival_pfs", "survival_os", "response",
                 "irae_incidence")


@dataclass(frozen=True)
class AnalysisOptions:
    """What to compute; hashable so that it keys the result cache."""

    endpoints: tuple[str, ...] = ("os", "pfs")
    survival_strata: str | None = None
    response_strata: str | None = None
    at_risk_months: tuple[float, ...] | None = None
    hr_groups: tuple[str, str] | None = None
    hr_adjust: tuple[str, ...] | None = None
    ci_method: str = "log-log"
    response_denominator: str = response.DEFAULT_DENOMINATOR
    response: str = response.DEFAULT_RESPONSE
    pfs_death_window_days: int = DEFAULT_DEATH_WINDOW_DAYS
    censor_at_next_line: bool = True
    milestone_months: tuple[float, ...] = survival.DEFAULT_MILESTONE_MONTHS
    horizon_months: float = survival.DEFAULT_HORIZON_MONTHS
    ae_immune_only: bool = False
    ae_window_days: int | None = None
    ae_index_line_only: bool = False
    ae_treatment_emergent_days: int | None = safety.DEFAULT_TREATMENT_EMERGENT_DAYS
    cox_covariates: tuple[str, ...] = ()  # a multivariable Cox model per endpoint when given
    cox_robust: bool = False
    landmark_days: int | None = None
    panels: tuple[str, ...] = ("survival", "response", "safety", "characteristics",
                               "irae_incidence")
    at_risk_columns: int | None = None
    hr_ordered_extremes: bool = False
    pro: ProOptions = field(default_factory=ProOptions)  # the "pro" panel's scale

    @property
    def endpoint_options(self) -> EndpointOptions:
        return EndpointOptions(self.pfs_death_window_days, self.censor_at_next_line,
                               self.response, self.landmark_days)


@dataclass
class AnalysisBundle:
    snapshot_id: str
    cohort_key: str
    n: int
    options: AnalysisOptions
    irae_incidence: safety.CumulativeIncidence | None = None
    cox: dict[str, multivariable.CoxModel] = field(default_factory=dict)
    survival: dict[str, survival.SurvivalResult] = field(default_factory=dict)
    response: response.ResponseResult | None = None
    safety: safety.SafetyResult | None = None
    characteristics: characteristics.Table1 | None = None
    pro: ProResult | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return jsonable_dict({
            "snapshot_id": self.snapshot_id, "cohort_key": self.cohort_key, "n": self.n,
            "options": asdict(self.options),
            "survival": {k: v.to_dict() for k, v in self.survival.items()},
            "response": self.response.to_dict() if self.response else None,
            "safety": self.safety.to_dict() if self.safety else None,
            "characteristics": self.characteristics.to_dict() if self.characteristics else None,
            "irae_incidence": self.irae_incidence.to_dict() if self.irae_incidence else None,
            "cox": {k: v.to_dict() for k, v in self.cox.items()},
            "pro": self.pro.to_dict() if self.pro else None,
            "timings_ms": self.timings_ms,
        })


class ByteBoundedLRU:
    """A thread-safe LRU of results bounded by their estimated bytes (their pickled size,
    measured once when stored); an entry larger than the whole budget is not kept."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._data: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key][0]
        return None

    def put(self, key: Hashable, value: object) -> None:
        size = estimated_bytes(value)
        with self._lock:
            if key in self._data:
                self._bytes -= self._data.pop(key)[1]
            if size > self.max_bytes:
                return
            self._data[key] = (value, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                self._bytes -= self._data.popitem(last=False)[1][1]

    @property
    def bytes(self) -> int:
        with self._lock:
            return self._bytes

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._bytes = 0


def estimated_bytes(value: object) -> int:
    """Memory of a result, estimated by its pickled size (DataFrames pickle near their size)."""
    try:
        return len(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    except (pickle.PicklingError, TypeError, AttributeError):
        return 1024 * 1024  # unpicklable: count it as large rather than free


DEFAULT_RESULT_CACHE_BYTES = 64 * 1024**2
# Bundles hold the same panel results as _PANELS (shared objects), so they get a small share.
_CACHE = ByteBoundedLRU(DEFAULT_RESULT_CACHE_BYTES // 4)
# Panels are cached on their own too: changing one option (a stratification, an AE filter)
# recomputes one panel, not the bundle.
_PANELS = ByteBoundedLRU(DEFAULT_RESULT_CACHE_BYTES)


def configure_result_cache(max_bytes: int) -> None:
    """Set this process's budget for cached analysis results (the app does, from settings)."""
    _PANELS.max_bytes = max_bytes
    _CACHE.max_bytes = max_bytes // 4


def _cohort_key(cohort: Cohort) -> tuple[Any, ...]:
    return (cohort.db.snapshot_id, str(cohort.db.path), cohort.table, cohort.size)


def _panel_jobs(cohort: Cohort, options: AnalysisOptions) -> dict[str, tuple[Any, ...]]:
    """panel name -> (cache key part, function computing it)."""
    jobs: dict[str, tuple[Any, ...]] = {}
    if "survival" in options.panels:
        at_risk = list(options.at_risk_months) if options.at_risk_months is not None else None
        for endpoint in options.endpoints:
            args = (endpoint, options.survival_strata, at_risk, options.hr_groups,
                    options.ci_method, options.hr_adjust, options.endpoint_options,
                    options.milestone_months, options.horizon_months)
            shown = {"at_risk_columns": options.at_risk_columns,
                     "hr_ordered_extremes": options.hr_ordered_extremes}
            jobs[f"survival_{endpoint}"] = (
                repr((args, shown)),
                lambda a=args, s=shown: survival.kaplan_meier(cohort, *a, **s))
    if "response" in options.panels:
        response_args = (options.response_strata, options.response_denominator,
                         options.response)
        jobs["response"] = (repr(response_args),
                            lambda a=response_args: response.best_overall_response(cohort, *a))
    if "safety" in options.panels:
        ae = safety.SafetyOptions(options.ae_immune_only, options.ae_window_days,
                                  options.ae_index_line_only,
                                  options.ae_treatment_emergent_days)
        jobs["safety"] = (repr(ae), lambda o=ae: safety.adverse_events(cohort, o))
    if "characteristics" in options.panels:
        jobs["characteristics"] = ("", lambda: characteristics.table_one(cohort))
    if options.cox_covariates:
        for endpoint in options.endpoints:
            cox_args = (endpoint, list(options.cox_covariates), options.endpoint_options,
                        options.cox_robust)
            jobs[f"cox_{endpoint}"] = (
                repr(cox_args), lambda a=cox_args: multivariable.multivariable_cox(cohort, *a))
    if "irae_incidence" in options.panels:
        jobs["irae_incidence"] = ("", lambda: safety.severe_irae_incidence(cohort))
    if "pro" in options.panels:
        jobs["pro"] = (repr(options.pro), lambda o=options.pro: patient_reported(cohort, o))
    return jobs


def _run_panel(cohort: Cohort, name: str, key: str, fn: Callable[[], Any],
               use_cache: bool) -> tuple[Any, ...]:
    cache_key = (_cohort_key(cohort), name, key)
    start = time.perf_counter()
    result = _PANELS.get(cache_key) if use_cache else None
    if result is None:
        result = fn()
        _PANELS.put(cache_key, result)
    return result, _ms(start)


def compute(cohort: Cohort, options: AnalysisOptions | None = None,
            use_cache: bool = True) -> AnalysisBundle:
    """Every requested panel with its time in milliseconds.

    The per-cohort analysis base is built first (once per cohort); panels then run in two
    threads, each with its own cursor, so the DuckDB work of one overlaps the Python work of
    another. ``use_cache=False`` recomputes every panel (benchmarks).
    """
    options = options or AnalysisOptions()
    bundle = AnalysisBundle(cohort.db.snapshot_id, cohort.key, cohort.size, options)
    started = time.perf_counter()
    with cohort.db.hold():  # the cohort and its base stay while the panel threads read them
        if cohort.source is not None:
            cohort.source.cohort(cohort.db)  # the index population the cohort is made from
        cohort.db.ensure(cohort.table)  # made again if another request's tables evicted it
        base_table(cohort)
        bundle.timings_ms["base"] = _ms(started)
        jobs = _panel_jobs(cohort, options)
        jobs = {name: jobs[name] for name in sorted(
            jobs, key=lambda n: LONGEST_FIRST.index(n) if n in LONGEST_FIRST else len(jobs))}
        with ThreadPoolExecutor(max_workers=PANEL_THREADS) as pool:
            futures = {name: pool.submit(_run_panel, cohort, name, key, fn, use_cache)
                       for name, (key, fn) in jobs.items()}
            results = {name: future.result() for name, future in futures.items()}
    for name, (result, ms) in results.items():
        bundle.timings_ms[name] = ms
        if name.startswith("survival_"):
            bundle.survival[name.removeprefix("survival_")] = result
        elif name.startswith("cox_"):
            bundle.cox[name.removeprefix("cox_")] = result
        else:
            setattr(bundle, name, result)
    bundle.timings_ms["total"] = _ms(started)
    return bundle


def analyze(cohort: Cohort, options: AnalysisOptions | None = None) -> AnalysisBundle:
    """Every panel for the cohort; cached per (snapshot, cohort, options)."""
    options = options or AnalysisOptions()
    key = (_cohort_key(cohort), options)
    cached: AnalysisBundle | None = _CACHE.get(key)
    if cached is not None:
        return cached
    bundle = compute(cohort, options)
    _CACHE.put(key, bundle)
    return bundle


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)




def prepare_index_population(db: SnapshotDatabase, index_event: IndexEvent | None = None
                             ) -> Cohort:
    """Build the kept tables of an index event's whole population (by default the builder's
    default index event): the population, its analysis base and its AE events. Every cohort
    with that index event filters its own from them, so a server that runs this before its
    first user spares that user the cost (2.4 s of a 2.9 s first analysis on 1M)."""
    definition = Definition(metadata=Metadata(name="index population"),
                            index_event=index_event or IndexEvent())
    population = index_source(db, definition).cohort(db)
    base_table(population)
    safety.events_table(population)
    return population


# --- the dashboard's panels: what each one shows is decided here, not in the UI -----------

AT_RISK_COLUMNS = 9  # numbers at risk every 6 months, or every 12 on longer follow-up


def survival_panel(cohort: Cohort, endpoint: str, strata: str | None = None,
                   hr_groups: tuple[str, str] | None = None,
                   landmark_days: int | None = None) -> survival.SurvivalResult:
    """Kaplan-Meier of one endpoint as the survival panel shows it: numbers at risk every 6
    months (every 12 when that gives more than 9 columns, so the table stays readable); with
    more than two groups of a stratification whose levels have an order and no chosen
    ``hr_groups`` (A, B), the hazard ratio compares the last level with the first (e.g. PD-L1
    TPS >= 50 % vs < 1 %); unordered ones (site, cancer type, regimen) get the log-rank test
    only. ``landmark_days``: time counted from that day (patients event-free then). Computed
    once, through the cached ``analyze``."""
    options = AnalysisOptions(endpoints=(endpoint,), survival_strata=strata, hr_groups=hr_groups,
                              landmark_days=landmark_days, at_risk_columns=AT_RISK_COLUMNS,
                              hr_ordered_extremes=True, panels=("survival",))
    return analyze(cohort, options).survival[endpoint]


def cox_panel(cohort: Cohort, endpoint: str, covariates: tuple[str, ...]
              ) -> multivariable.CoxModel:
    """The multivariable Cox model of one endpoint for the chosen covariates."""
    options = AnalysisOptions(endpoints=(endpoint,), cox_covariates=covariates, panels=())
    return analyze(cohort, options).cox[endpoint]


def response_panel(cohort: Cohort, strata: str | None,
                   rule: str = response.DEFAULT_RESPONSE,
                   denominator: str = response.DEFAULT_DENOMINATOR) -> response.ResponseResult:
    """Best overall response by a stratification, as the response panel shows it."""
    result = analyze(cohort, AnalysisOptions(response_strata=strata, response=rule,
                                             response_denominator=denominator,
                                             panels=("response",))).response
    assert result is not None  # the one panel asked for
    return result


def safety_panel(cohort: Cohort, immune_only: bool,
                 treatment_emergent: bool = True) -> safety.SafetyResult:
    """Adverse events (all, or immune-related only) in the treatment-emergent window (or every
    event after index on all lines), as the safety panel shows them."""
    days = safety.DEFAULT_TREATMENT_EMERGENT_DAYS if treatment_emergent else None
    result = analyze(cohort, AnalysisOptions(ae_immune_only=bool(immune_only),
                                             ae_treatment_emergent_days=days,
                                             panels=("safety",))).safety
    assert result is not None  # the one panel asked for
    return result


def irae_incidence_panel(cohort: Cohort) -> safety.CumulativeIncidence | None:
    """Cumulative incidence of the first grade >= 3 irAE by regimen (death competing)."""
    return analyze(cohort, AnalysisOptions(panels=("irae_incidence",))).irae_incidence


def pro_panel(cohort: Cohort, instrument: str, item: str) -> ProResult:
    """Patient-reported outcomes as the panel shows them: one scale's mean score over time
    with completion, and every PRO-CTCAE item's worst severity in the first 12 weeks."""
    options = AnalysisOptions(pro=ProOptions(instrument=instrument, item=item),
                              panels=("pro",))
    result = analyze(cohort, options).pro
    assert result is not None  # the one panel asked for
    return result


def characteristics_panel(cohort: Cohort) -> characteristics.Table1:
    """Table 1 of the cohort, as the characteristics panel shows it."""
    result = analyze(cohort, AnalysisOptions(panels=("characteristics",))).characteristics
    assert result is not None  # the one panel asked for
    return result


def study_cohorts_panel(cohort_a: Cohort, cohort_b: Cohort, label_a: str, label_b: str,
                        options: ComparisonOptions) -> comparison.StudyComparison:
    """The adjusted comparison of two cohorts, cached: showing it and then downloading it
    read the patients and fit the propensity score once."""
    key = repr((_cohort_key(cohort_b), label_a, label_b, options))
    result: comparison.StudyComparison = _run_panel(
        cohort_a, "study_cohorts", key, lambda: comparison.compare_cohorts(
            cohort_a, cohort_b, label_a, label_b, options), use_cache=True)[0]
    return result


def study_levels_panel(cohort: Cohort, field_key: str, level_a: str, level_b: str,
                       options: ComparisonOptions) -> comparison.StudyComparison:
    """The adjusted comparison of two levels of a field within a cohort, cached."""
    key = repr((field_key, level_a, level_b, options))
    result: comparison.StudyComparison = _run_panel(
        cohort, "study_levels", key, lambda: comparison.compare_levels(
            cohort, field_key, level_a, level_b, options), use_cache=True)[0]
    return result

