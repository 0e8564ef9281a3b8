"""Options of a study comparison, and the covariates, outcomes and split fields it offers
(light: the command line declares its arguments from these without loading the statistics)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from queries.analyses.endpoints import LABELS, definition
from queries.i18n import N_, Text


@dataclass(frozen=True)
class Covariate:
    """A covariate at index: its key, label, and ``continuous`` or ``categorical``."""

    key: str
    label: str
    kind: str


# Covariates at index, each a column of the per-patient frame read from the analysis base.
COVARIATES: dict[str, Covariate] = {c.key: c for c in (
    Covariate("age", N_("Age at index, years"), "continuous"),
    Covariate("sex", N_("Sex"), "categorical"),
    Covariate("ecog", N_("ECOG at index"), "categorical"),
    Covariate("stage", N_("Stage at diagnosis"), "categorical"),
    Covariate("histology", N_("Histology (ICD-O-3)"), "categorical"),
    Covariate("cancer_type", N_("Cancer type"), "categorical"),
    Covariate("pdl1", N_("PD-L1 TPS group"), "categorical"),
    Covariate("site", N_("Site"), "categorical"),
    Covariate("smoking", N_("Smoking"), "categorical"),
    Covariate("index_year", N_("Year of index"), "continuous"),
    Covariate("prior_lines", N_("Prior lines of therapy"), "continuous"),
)}
DEFAULT_COVARIATES = ("age", "sex", "ecog", "stage", "cancer_type", "pdl1")
# fields whose levels can split one cohort into A and B, or define subgroups
SPLIT_FIELDS = ("regimen", "sex", "ecog", "stage", "cancer_type", "pdl1", "site", "smoking")

# time-to-event outcomes: label, time and event columns of the patient frame, definition
ENDPOINTS: dict[str, tuple[str, str, str, str]] = {
    key: (LABELS[key], f"{key}_days", f"{key}_event", definition(key).text())
    for key in ("os", "pfs", "ttd", "ttnt")}
BINARY = {"orr": (N_("Objective response rate"), "responder",
                  N_("CR or PR as best overall response; denominator: all patients "
                     "(not evaluable counts as no response)")),
          "severe_irae": (N_("Grade ≥ 3 immune-related AE"), "severe_irae",
                          N_("any immune-related AE of grade 3-5 with onset on or after index; "
                             "denominator: all patients"))}


class ComparisonError(ValueError):
    """The comparison cannot be made as asked (unknown covariate, empty group...)."""


@dataclass(frozen=True)
class ComparisonOptions:
    covariates: tuple[str, ...] = DEFAULT_COVARIATES
    method: Literal["match", "iptw"] = "match"
    caliper_sd: float = 0.2
    trim: float = 0.05
    overlap: Literal["exclude", "a", "b"] = "exclude"
    seed: int = 20261201
    endpoints: tuple[str, ...] = ("os", "pfs")
    milestone_months: tuple[float, ...] = (12.0, 24.0)
    subgroups: tuple[str, ...] = ()

    def check(self) -> None:
        unknown = [c for c in self.covariates if c not in COVARIATES]
        if unknown:
            raise ComparisonError(f"unknown covariate(s) {', '.join(unknown)}; "
                                  f"choose from {', '.join(COVARIATES)}")
        bad_sub = [s for s in self.subgroups if s not in SPLIT_FIELDS]
        if bad_sub:
            raise ComparisonError(f"unknown subgroup field(s) {', '.join(bad_sub)}; "
                                  f"choose from {', '.join(SPLIT_FIELDS)}")
        bad_end = [e for e in self.endpoints if e not in ENDPOINTS]
        if bad_end:
            raise ComparisonError(f"unknown endpoint(s) {', '.join(bad_end)}; "
                                  f"choose from {', '.join(ENDPOINTS)}")
        if self.method not in ("match", "iptw"):
            raise ComparisonError("method must be 'match' or 'iptw'")
        if not 0 < self.caliper_sd <= 5:
            raise ComparisonError(Text(N_("the caliper must be between 0 and 5 SD of the "
                                          "logit")))
        if not 0 <= self.trim < 0.5:
            raise ComparisonError(Text(N_("trimming must be between 0 and 0.5")))
        if self.overlap not in ("exclude", "a", "b"):
            raise ComparisonError("overlap must be 'exclude', 'a' or 'b'")
