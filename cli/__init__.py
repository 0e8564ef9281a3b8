"""The ``iocohort`` console script: command-line tasks over snapshots, cohorts and users.

Each sub-command's handler lives in a module of this package (``handler(args) -> int``);
this module only declares the arguments and dispatches, importing lazily so that
``iocohort --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any

from queries.analyses.comparison_options import COVARIATES, ENDPOINTS, SPLIT_FIELDS
from queries.snapshot.schema import QLQ_C30_GLOBAL

ENGINES = ("duckdb", "spark")
# sub-command -> (module, handler)
HANDLERS = {
    "generate": ("cli.snapshots", "generate"),
    "validate": ("cli.snapshots", "validate"),
    "build": ("cli.snapshots", "build"),
    "count": ("cli.cohorts", "count"),
    "export": ("cli.cohorts", "export"),
    "analyze": ("cli.cohorts", "analyze_command"),
    "compare": ("cli.compare", "compare"),
    "users": ("access.users", "cli_users"),
    "summaries": ("access.publications", "cli_summaries"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="iocohort", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write a synthetic IO real-world data snapshot")
    gen.add_argument("--patients", type=int, default=5000)
    gen.add_argument("--seed", type=int, default=20261031)
    gen.add_argument("--out", type=Path, required=True)
    gen.add_argument("--id", dest="snapshot_id", default=None, help="snapshot id (default from seed)")
    gen.add_argument("--no-progress", action="store_true")

    val = sub.add_parser("validate", help="check a snapshot folder and print every problem")
    val.add_argument("snapshot", type=Path)

    bld = sub.add_parser("build", help="build the database of every snapshot in a folder "
                         "(as the server does at start)")
    bld.add_argument("snapshots", type=Path, help="a snapshot folder or a folder of them")
    bld.add_argument("--cache-dir", type=Path, default=None,
                     help="where the databases go (default IOCOHORT_CACHE_DIR)")

    for name, text in (("count", "print the attrition table of a cohort definition"),
                       ("analyze", "compute every analysis for a cohort definition")):
        cmd = sub.add_parser(name, help=text, description=text,
                             formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        cmd.add_argument("--snapshot", type=Path, required=True)
        cmd.add_argument("cohort", type=Path, help="cohort definition JSON file")
        cmd.add_argument("--json", action="store_true", help="print JSON")
        cmd.add_argument("--cache-dir", type=Path, default=None)
        cmd.add_argument("--engine", choices=ENGINES, default="duckdb",
                         help="duckdb (default): a database file built from the snapshot; "
                         "spark: Spark SQL over the snapshot's Parquet files (master from "
                         "IOCOHORT_SPARK_MASTER, default local[*]; driver memory from "
                         "IOCOHORT_SPARK_DRIVER_MEMORY, default 4g: in local mode all of "
                         "Spark, 1M patients need more than Spark's own 1g)")
        if name == "analyze":
            cmd.add_argument("--role", choices=("clinician", "partner", "advisory"),
                             default="clinician",
                             help="print exactly what this role receives, through the app's "
                                  "own disclosure path (partner: the protected analyses; "
                                  "advisory: the plain-language summary)")
            add_analysis_options(cmd)

    exp = sub.add_parser("export", help="write a definition's canonical JSON, SQL and text")
    exp.add_argument("cohort", type=Path)
    exp.add_argument("--snapshot", type=Path, default=None)
    exp.add_argument("--out", type=Path, required=True, help="output folder")
    exp.add_argument("--cache-dir", type=Path, default=None)

    users = sub.add_parser("users", help="manage users of the app store")
    users.add_argument("--store", type=Path, default=None, help="SQLite app store")
    usub = users.add_subparsers(dest="users_command", required=True)
    add = usub.add_parser("add")
    add.add_argument("username")
    add.add_argument("--role", required=True)
    add.add_argument("--password", default=None, help="prompted for when omitted")
    rem = usub.add_parser("remove")
    rem.add_argument("username")
    role = usub.add_parser("set-role")
    role.add_argument("username")
    role.add_argument("role")
    reset = usub.add_parser("reset-password")
    reset.add_argument("username")
    reset.add_argument("--password", default=None)
    usub.add_parser("list")

    summaries = sub.add_parser("summaries", help="list or withdraw published summaries")
    summaries.add_argument("--store", type=Path, default=None, help="SQLite app store")
    ssub = summaries.add_subparsers(dest="summaries_command", required=True)
    ssub.add_parser("list")
    withdraw = ssub.add_parser("unpublish", help="withdraw any published summary")
    withdraw.add_argument("id", type=int)
    _compare_parser(sub)
    return parser


def _compare_parser(sub: Any) -> None:
    """Declare ``iocohort compare`` and its options."""
    cmd = sub.add_parser(
        "compare", help="compare two cohorts like a study (propensity score, balance, outcomes)",
        description="Compare cohort A with cohort B (two definition files), or two levels of "
                    "one field within one cohort (--split FIELD --levels A,B). Every contrast "
                    "reads 'A vs B'.")
    cmd.add_argument("--snapshot", type=Path, required=True, help="snapshot folder")
    cmd.add_argument("cohorts", nargs="+", type=Path,
                     help="A.json B.json, or one cohort with --split")
    cmd.add_argument("--split", choices=SPLIT_FIELDS, default=None,
                     help="compare two levels of this field within one cohort")
    cmd.add_argument("--levels", default=None, help="with --split: 'LEVEL_A,LEVEL_B'")
    cmd.add_argument("--covariates", default="age,sex,ecog,stage,cancer_type,pdl1",
                     help=f"propensity-score covariates at index, from: {', '.join(COVARIATES)}")
    cmd.add_argument("--method", choices=("match", "iptw"), default="match",
                     help="match: 1:1 nearest neighbour on the logit with a caliper; "
                          "iptw: stabilised inverse-probability weights with trimming")
    cmd.add_argument("--caliper", type=float, default=0.2,
                     help="matching caliper in SD of the logit of the score (default 0.2)")
    cmd.add_argument("--trim", type=float, default=0.05,
                     help="iptw: drop patients with a score outside [trim, 1-trim]")
    cmd.add_argument("--overlap", choices=("exclude", "a", "b"), default="exclude",
                     help="patients in both cohorts: left out of both, or kept in A or B only")
    cmd.add_argument("--endpoints", default="os,pfs",
                     help=f"time-to-event outcomes, from: {', '.join(ENDPOINTS)}")
    cmd.add_argument("--subgroups", default="",
                     help=f"fields for the subgroup forest plot, from: {', '.join(SPLIT_FIELDS)}")
    cmd.add_argument("--seed", type=int, default=20261201, help="matching order seed")
    cmd.add_argument("--role", choices=("clinician", "partner", "advisory"), default="clinician",
                     help="print what this role receives (disclosure control applied)")
    cmd.add_argument("--json", action="store_true", help="print JSON")
    cmd.add_argument("--cache-dir", type=Path, default=None)


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def add_analysis_options(cmd: argparse.ArgumentParser) -> None:
    """Every analysis option of the app, for ``iocohort analyze``."""
    ep = cmd.add_argument_group("time-to-event endpoints")
    ep.add_argument("--endpoints", type=_csv, default="os,pfs,ttd,ttnt,dor,ttr",
                    help="comma-separated: os (death), pfs (rwPFS: progression on the index "
                         "line or death near the last scan), ttd (rwTTD: index-line regimen "
                         "stopped or death), ttnt (rwTTNT: next line or death), dor (duration "
                         "of response, responders only), ttr (time to response)")
    ep.add_argument("--strata", default=None, metavar="FIELD",
                    help="stratify the curves by this field (e.g. sex, ecog, pdl1_tps); "
                         "log-rank test across its groups")
    ep.add_argument("--hr", type=_csv, default=None, metavar="A,B",
                    help="hazard ratio of group A vs group B (B the reference), e.g. "
                         "'TPS ≥ 50%%,TPS < 1%%'; by default given only for two groups")
    ep.add_argument("--adjust", type=_csv, default=None, metavar="FIELD,...",
                    help="fields whose levels get their own baseline hazard in the Cox model "
                         "(a stratified, adjusted hazard ratio)")
    ep.add_argument("--cox", type=_csv, default=None, metavar="FIELD,...",
                    help="multivariable Cox model of each endpoint on these covariates: age "
                         "(per 10 years) and categorical fields (each level vs the first); "
                         "complete cases; PH check per term (scaled Schoenfeld residuals)")
    ep.add_argument("--robust", action="store_true",
                    help="--cox: robust (sandwich) standard errors")
    ep.add_argument("--ci-method", choices=("log-log", "log", "plain"), default="log-log",
                    help="Kaplan-Meier CI: log-log (exponential Greenwood, lifelines), log (R "
                         "survfit's default) or plain (linear Greenwood)")
    ep.add_argument("--milestones", type=_csv, default="6,12,24", metavar="MONTHS,...",
                    help="months at which survival is read off with its CI")
    ep.add_argument("--horizon-months", type=float, default=12.0,
                    help="horizon of the restricted mean survival time (RMST)")
    ep.add_argument("--landmark-days", type=int, default=None, metavar="L",
                    help="landmark analysis: only patients alive, in follow-up and event-free "
                         "at day L after index, time counted from L (use it when a rule looks "
                         "at events after index: immortal-time bias)")
    ep.add_argument("--pfs-death-window-days", type=int, default=60,
                    help="rwPFS/DoR: a death counts as an event only within this many days "
                         "after the last adequate tumour assessment, else the patient is "
                         "censored at that assessment")
    ep.add_argument("--no-next-line-censoring", action="store_true",
                    help="rwPFS/DoR: do not censor at the start of the next line (by default "
                         "a progression or death after it does not count)")
    resp = cmd.add_argument_group("response")
    resp.add_argument("--response-strata", default="pdl1_tps", metavar="FIELD",
                      help="stratify ORR/DCR by this field ('none' for no strata); ordered "
                           "fields get a trend test")
    resp.add_argument("--response", choices=("confirmed", "unconfirmed"), default="confirmed",
                      help="confirmed: a CR/PR counts when a CR/PR >= 28 days later confirms "
                           "it (RECIST 1.1); unconfirmed: every CR/PR. Also decides who is a "
                           "responder for DoR and time to response")
    resp.add_argument("--response-denominator", choices=("all", "evaluable"), default="all",
                      help="all: every patient, those without an assessment shown as 'Not "
                           "evaluable'; evaluable: patients with an assessment only")
    ae = cmd.add_argument_group("adverse events")
    ae.add_argument("--ae-treatment-emergent-days", type=int, default=90, metavar="DAYS",
                    help="treatment-emergent window: events from index to the end of the "
                         "index-line regimen (or the next line's start) plus this many days; "
                         "to last follow-up while it is ongoing")
    ae.add_argument("--ae-all-lines", action="store_true",
                    help="count every event after index on any line instead of the "
                         "treatment-emergent window")
    ae.add_argument("--ae-window", type=int, default=None, metavar="DAYS",
                    help="count events with onset up to this many days after index (None: "
                         "any time after index)")
    ae.add_argument("--ae-index-line-only", action="store_true",
                    help="count only events recorded against the index line")
    ae.add_argument("--ae-immune-only", action="store_true",
                    help="count only immune-related events")
    pro = cmd.add_argument_group("patient-reported outcomes (snapshot schema 2)")
    pro.add_argument("--pro", nargs="?", const=QLQ_C30_GLOBAL, default=None, metavar="SCALE",
                     help="add the patient-reported panel for one QLQ-C30 scale or PRO-CTCAE "
                          f"item (default {QLQ_C30_GLOBAL!r}): mean score per bin since index, "
                          "completion and PRO-CTCAE severity")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module, handler = HANDLERS[args.command]
    from config import SettingError
    from queries.engine.base import EngineUnavailable
    from queries.snapshot.registry import SnapshotUnavailable

    try:
        return int(getattr(importlib.import_module(module), handler)(args) or 0)
    except SnapshotUnavailable as exc:  # a broken snapshot: every problem, no traceback
        print(f"iocohort {args.command}: the snapshot cannot be used", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    except (EngineUnavailable, SettingError) as exc:  # no Java, no master, a bad setting: one line
        print(f"iocohort {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
