"""Locust users for `make bench` (run by bench/load_bench.py, not by hand).

Signed-in clinicians do what people do in the app: edit a cohort in the builder (a rule
switched on or off: a new count and attrition), look at its panels (survival with a
stratification, response, safety, characteristics) and compare it with the default cohort.
A probe user reads /healthz/ready once a second, as a load balancer would. The scenario
(cohort drafts, request cap) comes from the JSON file named by IOCOHORT_LOAD_SCENARIO.
"""

from __future__ import annotations

import json
import os
import random
from typing import Any

from locust import HttpUser, between, events, task
from locust.exception import StopUser

from bench.dash_http import DashCallbacks, sign_in

SCENARIO: dict[str, Any] = json.loads(open(os.environ["IOCOHORT_LOAD_SCENARIO"]).read())
STRATA = (None, None, "ecog", "pdl1_tps", "sex", "stage")
_SENT = {"n": 0}


@events.request.add_listener
def _count(**_kwargs: Any) -> None:
    """Stop the run once the scenario's request cap is reached."""
    _SENT["n"] += 1
    if _SENT["n"] >= SCENARIO["max_requests"]:
        runner = _count.environment.runner if hasattr(_count, "environment") else None
        if runner is not None:
            runner.quit()


@events.init.add_listener
def _remember_environment(environment: Any, **_kwargs: Any) -> None:
    _count.environment = environment  # type: ignore[attr-defined]


def _variant(draft: dict[str, Any]) -> dict[str, Any]:
    """The draft with each rule switched on or off at random (at least the first one on)."""
    edited = json.loads(json.dumps(draft))
    for k, rule in enumerate(edited["rules"]):
        rule["enabled"] = k == 0 or random.random() < 0.7
    return edited


class Clinician(HttpUser):
    """A clinician working on a cohort: builder edits, panel views and comparisons."""

    wait_time = between(1.0, 3.0)  # think time between actions

    def on_start(self) -> None:
        response = sign_in(self.client, "clinician", "clinician-demo", name="sign-in")
        if response.status_code != 200:
            raise StopUser()
        self.callbacks = DashCallbacks.load(self.client, name="dash dependencies")
        pick = random.randrange(len(SCENARIO["drafts"]))
        self.base = SCENARIO["drafts"][pick]
        self.definition: dict[str, Any] = SCENARIO["definitions"][pick]
        self.builder_edit()

    def _call(self, kind: str, output: str, values: dict[str, Any]) -> dict[str, Any] | None:
        body = self.callbacks.body(output, values)
        with self.client.post("/_dash-update-component", data=json.dumps(body),
                              headers={"Content-Type": "application/json"}, name=kind,
                              catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}: {response.text[:200]}")
                return None
            if "preparing snapshot" in response.text or "not usable" in response.text:
                response.failure("snapshot not ready")
                return None
            return response.json()

    @task(4)
    def builder_edit(self) -> None:
        draft = _variant(self.base)
        data = self._call("builder edit", "builder-count.children", {
            "builder-structure.data": draft, "builder-name.value": draft["metadata"]["name"],
            "builder-index-kind.value": draft["index"].get("kind"),
            "builder-history.data": []})
        stored = (data or {}).get("response", {}).get("shell-cohort-store", {}).get("data")
        if stored:  # a draft the builder finds incomplete keeps the last valid cohort
            self.definition = stored

    @task(3)
    def survival_panel(self) -> None:
        self._call("survival panel", "analysis-survival-graph.figure", {
            "shell-cohort-store.data": self.definition,
            "analysis-survival-endpoint.value": random.choice(("os", "pfs")),
            "analysis-survival-strata.value": random.choice(STRATA)})

    @task(1)
    def response_panel(self) -> None:
        self._call("response panel", "analysis-response-rate-graph.figure", {
            "shell-cohort-store.data": self.definition,
            "analysis-response-strata.value": random.choice(STRATA[:4]),
            "analysis-response-rule.value": random.choice(("confirmed", "unconfirmed")),
            "analysis-response-denominator.value": random.choice(("all", "evaluable"))})

    @task(1)
    def safety_panel(self) -> None:
        self._call("safety panel", "analysis-safety-graph.figure", {
            "shell-cohort-store.data": self.definition,
            "analysis-safety-level.value": random.choice(("term", "organ_class")),
            "analysis-safety-grade.value": random.choice(("any", "grade3")),
            "analysis-safety-immune.value": random.random() < 0.3,
            "analysis-safety-window.value": random.choice(("treatment-emergent", "all"))})

    @task(1)
    def characteristics_panel(self) -> None:
        self._call("characteristics panel", "analysis-characteristics-table.children", {
            "shell-cohort-store.data": self.definition})

    @task(1)
    def compare(self) -> None:
        self._call("compare survival", "compare-survival-graph.figure", {
            "shell-cohort-store.data": self.definition, "compare-left-cohort.value": "current",
            "compare-right-cohort.value": "default", "compare-endpoint.value": "os"})


class HealthProbe(HttpUser):
    """A load balancer's readiness probe."""

    fixed_count = 1
    wait_time = between(1.0, 1.0)

    @task
    def ready(self) -> None:
        self.client.get("/healthz/ready", name="healthz")
