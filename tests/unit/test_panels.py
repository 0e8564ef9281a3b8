"""The panel machinery (components/panels.py): one declaration gives a view and a CSV
callback, each checking the role first, then choices -> open -> compute -> release -> audit ->
show, with no other copy of that skeleton in the pages."""

from __future__ import annotations

import ast
import base64
import dataclasses
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import dash
import pandas as pd
import pytest
from dash.exceptions import PreventUpdate

from access.guard import NotSignedIn
from components import panels
from components.callbacks import Callbacks

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class _User:
    username: str = "clara"
    role: str = "clinician"


def _declare(calls: list, fail_open: bool = False) -> tuple[panels.Scope, panels.Panel]:
    def open_cohort(user, value):
        calls.append(("open", value))
        if fail_open:
            raise panels.PanelUnavailable("no snapshot")
        return panels.Opened("target", ("A: all",), ("abc123",),
                             lambda action, suppressed, detail:
                             calls.append(("audit", action, tuple(suppressed), detail)),
                             "snap-1")

    def choose(level):
        calls.append(("choose", level))
        if level not in ("term", "organ_class"):
            raise PreventUpdate
        return {"level": level}

    def compute(target, level):
        calls.append(("compute", target, level))
        return {"rows": 3}

    def protect(result, user):
        calls.append(("protect", user.role))
        return {"rows": "released"}, ["a cell"]

    scope = panels.Scope("demo", (("store", "data"),), open_cohort)
    panel = panels.Panel(
        key="ae", roles=("clinician", "partner"),
        outputs=(("graph", "figure"), ("caption", "children")),
        controls=(("level", "level-radio", "value"),), choose=choose, compute=compute,
        protect=protect,
        show=lambda result, shown: (f"figure of {result['rows']}", shown.choices["level"]),
        unavailable=lambda message: ("empty", message),
        detail=lambda level: f"level={level}",
        csv=panels.Csv("button", "download",
                       frame=lambda result, shown: pd.DataFrame({"rows": [result["rows"]]}),
                       name=lambda level: ("ae", level)))
    return scope, panel


def _callbacks(scope: panels.Scope, panel: panels.Panel) -> dict:
    declared = Callbacks()
    panels.register_panel(declared, scope, panel)
    app = dash.Dash(__name__)
    declared.register(app)
    functions = [entry["callback"].__wrapped__ for entry in app.callback_map.values()]
    return {f"{f.__module__}.{f.__name__}": f for f in functions}


def test_a_panel_gives_a_view_and_a_csv_callback_named_by_page_and_key():
    assert sorted(_callbacks(*_declare([]))) == ["components.panels.demo_ae",
                                                 "components.panels.demo_ae_csv"]


def test_every_generated_callback_checks_the_role_before_reading_anything():
    calls: list = []
    callbacks = _callbacks(*_declare(calls))
    with pytest.raises(NotSignedIn):
        callbacks["components.panels.demo_ae"]("store-value", "term")
    with pytest.raises(NotSignedIn):
        callbacks["components.panels.demo_ae_csv"](1, "store-value", "term")
    assert calls == []


def test_view_runs_choose_open_compute_release_audit_then_show(monkeypatch):
    calls: list = []
    callbacks = _callbacks(*_declare(calls))
    monkeypatch.setattr(panels, "require_role", lambda *roles: _User())
    out = callbacks["components.panels.demo_ae"]("store-value", "term")
    assert out == ("figure of released", "term")
    assert calls == [("choose", "term"), ("open", "store-value"), ("compute", "target", "term"),
                     ("protect", "clinician"), ("audit", "demo.ae", ("a cell",), "level=term")]


def test_a_forged_control_value_stops_before_the_cohort_is_opened(monkeypatch):
    calls: list = []
    callbacks = _callbacks(*_declare(calls))
    monkeypatch.setattr(panels, "require_role", lambda *roles: _User())
    with pytest.raises(PreventUpdate):
        callbacks["components.panels.demo_ae"]("store-value", "<script>")
    assert calls == [("choose", "<script>")]


def test_an_unavailable_panel_says_why_and_is_not_audited(monkeypatch):
    calls: list = []
    callbacks = _callbacks(*_declare(calls, fail_open=True))
    monkeypatch.setattr(panels, "require_role", lambda *roles: _User())
    assert callbacks["components.panels.demo_ae"]("store-value", "term") == ("empty",
                                                                             "no snapshot")
    assert not [c for c in calls if c[0] == "audit"]
    with pytest.raises(PreventUpdate):
        callbacks["components.panels.demo_ae_csv"](1, "store-value", "term")


def test_csv_is_audited_as_such_and_named_by_choices_and_cohort_hash(monkeypatch):
    calls: list = []
    callbacks = _callbacks(*_declare(calls))
    monkeypatch.setattr(panels, "require_role", lambda *roles: _User())
    with pytest.raises(PreventUpdate):
        callbacks["components.panels.demo_ae_csv"](None, "store-value", "term")
    download = callbacks["components.panels.demo_ae_csv"](1, "store-value", "organ_class")
    assert download["filename"] == "A-all_snap-1_ae_organ_class_abc123.zip"
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(download["content"]))) as archive:
        assert sorted(archive.namelist()) == ["README.txt", "table.csv"]
        assert "released" in archive.read("table.csv").decode()
    assert calls[-1] == ("audit", "demo.ae.csv", ("a cell",), "level=organ_class")


def test_an_exported_graph_is_named_after_cohort_snapshot_and_panel_and_captioned(monkeypatch):
    calls: list = []
    scope, panel = _declare(calls)
    panel = dataclasses.replace(panel, show=lambda result, shown: (
        {"data": [], "layout": {"title": {"text": "AEs"}, "height": 300}}, "caption"),
        images=(panels.Image("graph", lambda level: f"ae_{level}",
                             lambda result, shown: "log-rank test p = 0.5"),))
    callbacks = _callbacks(scope, panel)
    monkeypatch.setattr(panels, "require_role", lambda *roles: _User())
    figure, _caption, config = callbacks["components.panels.demo_ae"]("store-value", "term")
    assert figure["layout"]["title"]["subtitle"]["text"] == \
        "Cohort: A: all · Snapshot: snap-1 · log-rank test p = 0.5"
    assert figure["layout"]["title"]["text"] == "AEs"
    assert config["toImageButtonOptions"]["filename"] == "A-all_snap-1_ae_term"
    assert config["toImageButtonOptions"]["width"] == 1200
    assert config["toImageButtonOptions"]["height"] == figure["layout"]["height"] > 300
    assert "sendChartToCloud" in config["modeBarButtonsToRemove"]


def _skeleton_copies(path: Path) -> list[str]:
    """Functions that catch PanelUnavailable and also call run_panel/run_pair/run_sides: the
    hand-written graph/CSV skeleton the panel declarations replace."""
    found = []
    for func in ast.walk(ast.parse(path.read_text())):
        if not isinstance(func, ast.FunctionDef):
            continue
        names = {n.id for n in ast.walk(func) if isinstance(n, ast.Name)} | {
            n.attr for n in ast.walk(func) if isinstance(n, ast.Attribute)}
        if names & {"run_panel", "run_pair", "run_sides", "_released_table1"}:
            found.append(f"{path.name}:{func.name}")
    return found


def test_the_analysis_and_compare_pages_declare_panels_instead_of_copying_callbacks():
    from components import analysis_page, compare_page

    assert [p.key for p in analysis_page.PANELS] == [
        "survival", "cox", "response", "safety", "irae_incidence", "characteristics", "pro"]
    assert [p.key for p in compare_page.PANELS] == ["survival", "response", "safety",
                                                    "characteristics", "pro"]
    for name in ("analysis_page.py", "compare_page.py"):
        assert _skeleton_copies(ROOT / "components" / name) == []


def test_a_panel_with_a_run_button_computes_on_its_click_only(monkeypatch):
    calls: list = []
    scope, panel = _declare(calls)
    panel = dataclasses.replace(panel, run="run-button")
    declared = Callbacks()
    panels.register_panel(declared, scope, panel)
    app = dash.Dash(__name__)
    declared.register(app)
    view = next(entry for entry in app.callback_map.values()
                if entry["callback"].__wrapped__.__name__ == "demo_ae")
    assert [i["id"] for i in view["inputs"]] == ["run-button"]
    assert [s["id"] for s in view["state"]] == ["store", "level-radio"]
    function = view["callback"].__wrapped__
    with pytest.raises(NotSignedIn):  # the role first, even before the click is looked at
        function(1, "store-value", "term")
    monkeypatch.setattr(panels, "require_role", lambda *roles: _User())
    with pytest.raises(PreventUpdate):
        function(None, "store-value", "term")
    assert calls == []
    assert function(1, "store-value", "term") == ("figure of released", "term")
    assert ("compute", "target", "term") in calls
