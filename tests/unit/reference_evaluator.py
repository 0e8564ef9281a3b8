"""An independent, deliberately simple pandas evaluator of cohort definitions (tests only).

It reads the snapshot tables into DataFrames and applies the semantics written in the
compiler's docstring with plain element-wise Python, so that the SQL compiler can be checked
against it. Also: a seeded generator of small, messy snapshots (nulls, ties, several rows).
"""

from __future__ import annotations

import json
import operator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from queries.cohort.model import (
    AllGroup,
    AnyGroup,
    AttributeCriterion,
    Definition,
    EventCriterion,
    IndexEvent,
    NotGroup,
    Window,
)
from queries.snapshot.database import SnapshotDatabase, build_database
from queries.snapshot.files import write_snapshot
from queries.snapshot.schema import (
    CHECKPOINT_INHIBITOR_CLASSES,
    EVENT_DATE_COLUMN,
    TABLES,
    stage_group,
)

_PYOPS = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
          ">": operator.gt, ">=": operator.ge}
_DIAGNOSIS = {"cancer_type": "cancer_type", "icd10": "icd10", "stage": "stage",
              "histology": "histology_icdo3"}
_DATE_TYPES = {"index_date"} | {f"{t}.{c}" for t, cols in TABLES.items()
                                for c, typ in cols.items() if typ == "DATE"}


def _missing(x: Any) -> bool:
    return x is None or (not isinstance(x, str | bool) and pd.isna(x))


def _value(key: str, value: Any) -> Any:
    if key in _DATE_TYPES and isinstance(value, str):
        return date.fromisoformat(value)
    return value


def check(x: Any, op: str, value: Any, key: str) -> bool:
    """One value against one comparison; a missing value fails every comparison."""
    if op == "is_null":
        return _missing(x)
    if op == "is_not_null":
        return not _missing(x)
    if _missing(x):
        return False
    if isinstance(x, np.generic):
        x = x.item()
    if op == "starts_with":
        prefixes = value if isinstance(value, list) else [value]
        return any(str(x).startswith(p) for p in prefixes)
    if key.endswith("stage") and op in ("in", "not_in", "=", "!="):
        values = value if isinstance(value, list) else [value]
        hit = any(x == v or stage_group(x) == v for v in values)  # a group means any substage
        return hit if op in ("in", "=") else not hit
    if op == "in":
        return any(x == _value(key, v) for v in value)
    if op == "not_in":
        return all(x != _value(key, v) for v in value)
    if op == "between":
        return _value(key, value[0]) <= x <= _value(key, value[1])
    return bool(_PYOPS[op](x, _value(key, value)))


def _first_per_patient(rows: list[tuple], sort_key) -> dict:
    best: dict = {}
    for row in rows:
        pid = row[0]
        if pid not in best or sort_key(row) < sort_key(best[pid]):
            best[pid] = row
    return best


def _nl(x: Any) -> tuple:
    """Sort key with missing values last."""
    return (True, 0) if _missing(x) else (False, x)


def _in_window(event_day: date | None, index_day: date, window: Window | None) -> bool:
    if window is None:
        return True
    if event_day is None:
        return False
    if window.start_days is not None and event_day < index_day + timedelta(window.start_days):
        return False
    return not (window.end_days is not None and event_day > index_day + timedelta(window.end_days))


def _plain(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Python objects only: dates as datetime.date, missing values as None."""
    frame = frame.copy()
    for column, typ in TABLES[table].items():
        if typ == "DATE" and column in frame:
            frame[column] = [None if _missing(v) else pd.Timestamp(v).date()
                             for v in frame[column]]
    return frame.astype(object).where(frame.notna(), None)


class ReferenceEvaluator:
    """Evaluate definitions over DataFrames of the snapshot tables."""

    def __init__(self, tables: dict[str, pd.DataFrame]):
        self.tables = {name: _plain(name, frame) for name, frame in tables.items()}
        self._cache: dict = {}

    @classmethod
    def from_db(cls, db) -> ReferenceEvaluator:
        cur = db.cursor()
        return cls({t: cur.execute(f"SELECT * FROM {t}").df() for t in TABLES})  # noqa: S608

    # ------------------------------------------------------------ index population
    def index_population(self, event: IndexEvent) -> pd.DataFrame:
        key = ("index", event.model_dump_json())
        if key not in self._cache:
            self._cache[key] = self._index_population(event)
        return self._cache[key]

    def _index_population(self, event: IndexEvent) -> pd.DataFrame:
        if event.kind == "diagnosis":
            d = self.tables["diagnoses"]
            rows = [(r.patient_id, r.diagnosis_date, None) for r in d.itertuples()
                    if not _missing(r.diagnosis_date)
                    and (not event.cancer_types or r.cancer_type in event.cancer_types)]
        else:
            classes = (CHECKPOINT_INHIBITOR_CLASSES if event.kind == "first_checkpoint_inhibitor"
                       else event.drug_classes)
            rows = [(r.patient_id, r.start_date, r.line_number)
                    for r in self.tables["treatments"].itertuples()
                    if not _missing(r.start_date)
                    and (not classes or r.drug_class in classes)
                    and (not event.regimens or r.regimen in event.regimens)
                    and (not event.drugs or r.drug in event.drugs)
                    and (event.kind != "line_start" or r.line_number == event.line)]
        first = _first_per_patient(rows, lambda r: (r[1], _nl(r[2])))
        patients = {r.patient_id: r for r in self.tables["patients"].itertuples()}
        out = []
        for pid, (_, day, line) in sorted(first.items()):
            if event.date_from and day < event.date_from:
                continue
            if event.date_to and day > event.date_to:
                continue
            if pid in patients:
                p = patients[pid]
                out.append({"patient_id": pid, "index_date": day, "index_line": line,
                            "birth_year": p.birth_year, "sex": p.sex, "site": p.site,
                            "smoking_status": p.smoking_status})
        columns = ["patient_id", "index_date", "index_line", "birth_year", "sex", "site",
                   "smoking_status"]
        return pd.DataFrame(out, columns=columns)

    # ------------------------------------------------------------------- per patient
    def _diagnosis_at_index(self, event: IndexEvent) -> dict:
        key = ("dx", event.model_dump_json())
        if key in self._cache:
            return self._cache[key]
        index = dict(zip(self.index_population(event)["patient_id"],
                         self.index_population(event)["index_date"], strict=True))
        rows = [r for r in self.tables["diagnoses"].itertuples() if r.patient_id in index]

        def sort_key(r):
            limit = index[r.patient_id] + timedelta(event.at_index_grace_days or 0)
            early = r.diagnosis_date is not None and r.diagnosis_date <= limit
            latest = (False, -r.diagnosis_date.toordinal()) if early else (True, 0)
            return (not early, latest, _nl(r.diagnosis_date), _nl(r.icd10), _nl(r.cancer_type),
                    _nl(r.stage), _nl(r.histology_icdo3))

        best = {pid: r for pid, r in _first_per_patient(
            [(r.patient_id, r) for r in rows], lambda t: sort_key(t[1])).items()}
        self._cache[key] = {pid: t[1] for pid, t in best.items()}
        return self._cache[key]

    def _ecog_at_index(self, event: IndexEvent, window: Window) -> dict:
        key = ("ecog", event.model_dump_json(), window.model_dump_json())
        if key in self._cache:
            return self._cache[key]
        index = dict(zip(self.index_population(event)["patient_id"],
                         self.index_population(event)["index_date"], strict=True))
        rows = [(r.patient_id, r.assessment_date, r.ecog)
                for r in self.tables["performance_status"].itertuples()
                if r.patient_id in index and not _missing(r.ecog)
                and _in_window(r.assessment_date, index[r.patient_id], window)]
        best = _first_per_patient(rows, lambda r: (-r[1].toordinal(), -r[2]))
        self._cache[key] = {pid: r[2] for pid, r in best.items()}
        return self._cache[key]

    def attribute(self, pop: pd.DataFrame, crit: AttributeCriterion, event: IndexEvent) -> list:
        key = crit.field
        if key in _DIAGNOSIS:
            dx = self._diagnosis_at_index(event)
            values = [getattr(dx[p], _DIAGNOSIS[key]) if p in dx else None
                      for p in pop["patient_id"]]
        elif key == "ecog":
            window = crit.window or Window(start_days=-90, end_days=0)
            ecog = self._ecog_at_index(event, window)
            values = [ecog.get(p) for p in pop["patient_id"]]
        elif key == "age_at_index":
            values = [None if _missing(b) else d.year - b
                      for d, b in zip(pop["index_date"], pop["birth_year"], strict=True)]
        else:
            values = list(pop[key])
        return [check(v, crit.op, crit.value, key) for v in values]

    def _rows_by_patient(self, table: str) -> dict[str, list[dict]]:
        key = ("rows", table)
        if key not in self._cache:
            grouped: dict[str, list[dict]] = {}
            for row in self.tables[table].to_dict("records"):
                grouped.setdefault(row["patient_id"], []).append(row)
            self._cache[key] = grouped
        return self._cache[key]

    def event(self, pop: pd.DataFrame, crit: EventCriterion) -> list:
        rows = self._rows_by_patient(crit.table)
        date_col = EVENT_DATE_COLUMN[crit.table]
        low, high = crit.occurrence.min or 0, crit.occurrence.max
        out = []
        for pid, day in zip(pop["patient_id"], pop["index_date"], strict=True):
            n = sum(1 for row in rows.get(pid, ())
                    if _in_window(row[date_col], day, crit.window)
                    and all(self._row_matches(row, f) for f in crit.where))
            out.append(low <= n and (high is None or n <= high))
        return out

    @staticmethod
    def _row_matches(row: dict, f) -> bool:
        if f.field.startswith("biomarker:"):
            if row["biomarker"] != f.field.removeprefix("biomarker:"):
                return False
            first = f.value[0] if isinstance(f.value, list) else f.value
            numeric = isinstance(first, int | float) and not isinstance(first, bool)
            column = "value_numeric" if numeric else "value_category"
            return check(row[column], f.op, f.value, f.field)
        if f.field.startswith("pro:"):
            instrument, item = f.field.removeprefix("pro:").split(":", 1)
            if row["instrument"] != instrument or row["item"] != item:
                return False
            return check(row["score"], f.op, f.value, f.field)
        column = f.field.split(".", 1)[1]
        return check(row[column], f.op, f.value, f.field)

    def node(self, pop: pd.DataFrame, node: Any, event: IndexEvent) -> list:
        if isinstance(node, AllGroup):
            parts = [self.node(pop, c, event) for c in node.all]
            return [all(vals) for vals in zip(*parts, strict=True)] if len(pop) else []
        if isinstance(node, AnyGroup):
            parts = [self.node(pop, c, event) for c in node.any]
            return [any(vals) for vals in zip(*parts, strict=True)] if len(pop) else []
        if isinstance(node, NotGroup):
            return [not v for v in self.node(pop, node.not_, event)]
        if isinstance(node, EventCriterion):
            return self.event(pop, node)
        return self.attribute(pop, node, event)

    # ----------------------------------------------------------------------- results
    def rule_masks(self, definition: Definition) -> tuple[pd.DataFrame, list[list[bool]]]:
        pop = self.index_population(definition.index_event)
        return pop, [self.node(pop, r.criteria, definition.index_event)
                     for r in definition.inclusion_rules]

    def cohort(self, definition: Definition, masks: list | None = None) -> pd.DataFrame:
        """patient_id, index_date, index_line of the cohort, sorted by patient_id."""
        pop = self.index_population(definition.index_event)
        if masks is None:
            _, masks = self.rule_masks(definition)
        keep = [True] * len(pop)
        for rule, mask in zip(definition.inclusion_rules, masks, strict=True):
            if rule.enabled:
                keep = [a and b for a, b in zip(keep, mask, strict=True)]
        out = pop.loc[keep, ["patient_id", "index_date", "index_line"]]
        return out.sort_values("patient_id").reset_index(drop=True)

    def attrition(self, definition: Definition, masks: list | None = None) -> dict:
        """index_population, alone_k and after_k, as the compiled attrition query returns."""
        pop = self.index_population(definition.index_event)
        if masks is None:
            _, masks = self.rule_masks(definition)
        out = {"index_population": len(pop)}
        keep = [True] * len(pop)
        for k, (rule, mask) in enumerate(zip(definition.inclusion_rules, masks, strict=True),
                                         start=1):
            out[f"alone_{k}"] = sum(mask)
            if rule.enabled:
                keep = [a and b for a, b in zip(keep, mask, strict=True)]
            out[f"after_{k}"] = sum(keep)
        return out


# ------------------------------------------------------------------ messy snapshots

CANCERS = {"NSCLC": "C34.1", "melanoma": "C43.5", "renal cell": "C64", "HNSCC": "C10.9"}
CLASS_DRUGS = {
    "anti-PD-1": ("pembrolizumab", "L01FF02"), "anti-PD-L1": ("atezolizumab", "L01FF05"),
    "anti-CTLA-4": ("ipilimumab", "L01FX04"), "chemotherapy": ("carboplatin", "L01XA02"),
    "targeted": ("osimertinib", "L01EB04"), "other": ("denosumab", "M05BX04"),
}


def _maybe(rng: np.random.Generator, value: Any, p_none: float) -> Any:
    return None if rng.random() < p_none else value


def messy_tables(n: int = 400, seed: int = 11) -> dict[str, pd.DataFrame]:
    """A small snapshot with the mess the compiler must get right: nulls, ties, repeats."""
    rng = np.random.default_rng(seed)
    base = date(2019, 1, 1)
    rows: dict[str, list[dict]] = {t: [] for t in TABLES}
    for i in range(n):
        pid = f"M{i:04d}"
        rows["patients"].append({
            "patient_id": pid, "site": _maybe(rng, str(rng.choice(["HUS", "TAYS", "OYS"])), 0.05),
            "sex": str(rng.choice(["F", "M"])),
            "birth_year": _maybe(rng, int(rng.integers(1935, 1995)), 0.03),
            "death_date": None, "last_followup_date": date(2025, 6, 30),
            "smoking_status": _maybe(rng, str(rng.choice(["never", "former", "current"])), 0.2),
        })
        start = base + timedelta(int(rng.integers(0, 1500)))
        _messy_patient(rng, pid, start, rows)
    _messy_pro_and_substages(np.random.default_rng(seed + 1), rows)
    out = {t: pd.DataFrame(r, columns=list(TABLES[t])) for t, r in rows.items()}
    for table, columns in TABLES.items():
        for column, typ in columns.items():
            if typ == "INTEGER":
                out[table][column] = out[table][column].astype("Int64")
    return out


def open_snapshot(folder, cache) -> SnapshotDatabase:
    """Open a snapshot folder (building its database into ``cache``)."""
    manifest = json.loads((Path(folder) / "manifest.json").read_text())
    return SnapshotDatabase(manifest["id"], build_database(Path(folder), manifest, Path(cache)))


def messy_database(tmp: Path, n: int = 400, seed: int = 11) -> SnapshotDatabase:
    write_snapshot(messy_tables(n, seed), tmp / "messy", f"messy-{seed}", "unit test")
    return open_snapshot(tmp / "messy", tmp / "cache")


SAMPLE_DIR = Path(__file__).resolve().parents[2] / "data" / "sample"


def sample_available() -> bool:
    return (SAMPLE_DIR / "manifest.json").exists()


def _messy_patient(rng, pid: str, start: date, rows: dict) -> None:
    def day(spread: int) -> date:
        return start + timedelta(int(rng.integers(-spread, spread + 1)))

    for _ in range(int(rng.integers(0, 3))):
        cancer = str(rng.choice(list(CANCERS)))
        rows["diagnoses"].append({
            "patient_id": pid, "icd10": CANCERS[cancer], "cancer_type": cancer,
            "histology_icdo3": _maybe(rng, str(rng.choice(["8140/3", "8070/3"])), 0.3),
            "diagnosis_date": _maybe(rng, day(200) - timedelta(100), 0.03),
            "stage": _maybe(rng, str(rng.choice(["I", "II", "III", "IV"])), 0.2)})
    for line in range(1, int(rng.integers(0, 4)) + 1):
        line_start = start + timedelta(int(rng.integers(0, 3)) * 120 * (line - 1))
        for drug_class in rng.choice(list(CLASS_DRUGS), size=int(rng.integers(1, 3))):
            drug, atc = CLASS_DRUGS[str(drug_class)]
            rows["treatments"].append({
                "patient_id": pid, "line_number": _maybe(rng, line, 0.03),
                "regimen": f"{drug} regimen", "drug": drug, "atc_code": atc,
                "drug_class": str(drug_class), "start_date": _maybe(rng, line_start, 0.02),
                "end_date": None, "stop_reason": _maybe(rng, "progression", 0.5)})
    for _ in range(int(rng.integers(0, 5))):
        name = str(rng.choice(["PD-L1 TPS", "TMB", "MSI", "EGFR"]))
        numeric = name in ("PD-L1 TPS", "TMB")
        rows["biomarkers"].append({
            "patient_id": pid, "biomarker": name,
            "value_numeric": _maybe(rng, float(rng.integers(0, 101)), 0.1) if numeric else None,
            "value_category": None if numeric else str(rng.choice(
                ["MSI-H", "MSS"] if name == "MSI" else ["positive", "negative"])),
            "unit": "%" if name == "PD-L1 TPS" else None, "test_date": day(150)})
    _messy_followup(rng, pid, day, rows)


def _messy_followup(rng, pid: str, day, rows: dict) -> None:
    assessed = day(60)
    for _ in range(int(rng.integers(0, 4))):
        same_day = rng.random() < 0.3
        rows["performance_status"].append({
            "patient_id": pid, "assessment_date": assessed if same_day else day(150),
            "ecog": _maybe(rng, int(rng.integers(0, 4)), 0.05)})
    for _ in range(int(rng.integers(0, 3))):
        rows["tumor_assessments"].append({
            "patient_id": pid, "line_number": 1, "assessment_date": day(300),
            "response": str(rng.choice(["CR", "PR", "SD", "PD", "NE"]))})
    for _ in range(int(rng.integers(0, 4))):
        rows["adverse_events"].append({
            "patient_id": pid, "line_number": _maybe(rng, 1, 0.3),
            "term": str(rng.choice(["Colitis", "Pneumonitis", "Fatigue", "Hepatitis"])),
            "organ_class": "Gastrointestinal disorders", "grade": int(rng.integers(1, 6)),
            "onset_date": day(250), "resolved_date": None,
            "immune_related": _maybe(rng, bool(rng.random() < 0.5), 0.1)})


PRO_ITEMS = (("EORTC QLQ-C30", "Global health status/QoL", 100), ("EORTC QLQ-C30", "Fatigue", 100),
             ("PRO-CTCAE", "Diarrhea frequency", 4), ("PRO-CTCAE", "Fatigue severity", 4))


def _messy_pro_and_substages(rng, rows: dict) -> None:
    """Questionnaires around each patient's first treatment (nulls, repeats, same-day answers)
    and AJCC substages for some stages; drawn from their own generator, so the other tables
    of a seed stay as they were."""
    starts: dict[str, date] = {}
    for t in rows["treatments"]:
        if t["start_date"] is not None:
            starts[t["patient_id"]] = min(t["start_date"], starts.get(t["patient_id"], t["start_date"]))
    for pid, start in sorted(starts.items()):
        for _ in range(int(rng.integers(0, 5))):
            instrument, item, top = PRO_ITEMS[int(rng.integers(0, len(PRO_ITEMS)))]
            score = float(rng.integers(0, 5)) * top / 4 if top == 100 else float(rng.integers(0, 5))
            rows["patient_reported_outcomes"].append({
                "patient_id": pid, "assessment_date": start + timedelta(int(rng.integers(-60, 120))),
                "instrument": instrument, "item": item, "score": _maybe(rng, score, 0.05),
                "line_number": _maybe(rng, 1, 0.4)})
    for d in rows["diagnoses"]:
        if d["stage"] in ("III", "IV") and rng.random() < 0.5:
            d["stage"] += str(rng.choice(["A", "B", "C"] if d["stage"] == "III" else ["A", "B"]))
