"""The layering rules of docs/architecture.md, read from the source with ``ast``.

Every import counts, also one inside a function. Each checker is a plain function over
``{module name: source text}``, so the tests at the bottom show that each one fails on a
small made-up module graph that breaks its rule.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import re
import sys
import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The repository's own top-level packages and modules (gunicorn.conf.py is "gunicorn_conf").
FIRST_PARTY = ({p.stem.replace(".", "_") for p in ROOT.glob("*.py")}
               | {d.name for d in ROOT.iterdir() if (d / "__init__.py").exists()})
# Code that ships (tests/ and bench/ may also use the test extra).
RUNTIME = FIRST_PARTY - {"tests", "bench"}
SKIPPED_DIRS = {".venv", ".venv-load", "data", "var", "build", "node_modules", "__pycache__"}
# queries/ is the data layer: no web framework, no UI, no app configuration.
QUERIES_MAY_NOT_IMPORT = ("dash", "flask", "flask_login", "werkzeug", "components", "access",
                          "config", "app")
# Declared but never imported: the WSGI server, command-line tools, a pytest plugin and type
# stubs (and dash[testing], the extra that brings the dash_duo fixture).
TOOLS = {"gunicorn", "ruff", "mypy", "pandas-stubs", "scipy-stubs", "pytest-rerunfailures",
         "pytest-xdist"}
# Runs in a venv of its own (.venv-load from bench/load-requirements.lock, made by `make bench`):
# locust needs urllib3 2, the app's pinned selenium urllib3 1.26.
OWN_VENV_MODULES = {"bench.locustfile"}

Sources = dict[str, str]  # dotted module name (a package is its __init__) -> source text
_parse = functools.cache(ast.parse)  # each test walks the same files


# --- reading the repository ------------------------------------------------------------------


def python_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*.py")):
        if not SKIPPED_DIRS.intersection(path.relative_to(root).parts):
            yield path


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    parts[-1] = parts[-1].replace(".", "_")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def read_sources(root: Path, top: str) -> Sources:
    """Every module of the first-party package or module ``top``."""
    return {module_name(p, root): p.read_text() for p in python_files(root)
            if module_name(p, root).split(".")[0] == top}


def is_package(module: str, sources: Sources) -> bool:
    return any(other.startswith(module + ".") for other in sources)


# --- the imports of one module ---------------------------------------------------------------


def imported_names(module: str, text: str, package: bool = False,
                   members: bool = True) -> set[str]:
    """Dotted names a module imports anywhere in it, relative imports resolved:
    ``from a import b`` gives ``a``, and with ``members`` also ``a.b`` (which may be a
    submodule)."""
    names: set[str] = set()
    for node in ast.walk(_parse(text)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if package else anchor[:-1]
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            if members:
                names.update(f"{base}.{alias.name}" for alias in node.names
                             if alias.name != "*")
    return names


def import_graph(sources: Sources) -> dict[str, set[str]]:
    """module -> the modules of ``sources`` it imports (a name that is not a module, such as
    a function, counts as an import of the module that defines it)."""
    graph: dict[str, set[str]] = {}
    for module, text in sources.items():
        targets = set()
        for name in imported_names(module, text, is_package(module, sources)):
            while name and name not in sources:
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


# --- the checks ------------------------------------------------------------------------------


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every group of modules that import each other, directly or through others (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def forbidden_imports(sources: Sources, importer: str, forbidden: Iterable[str]) -> list[str]:
    """``module imports name`` for each import from ``importer`` (a package prefix) of a
    name under one of ``forbidden``."""
    found = []
    for module, text in sorted(sources.items()):
        if module != importer and not module.startswith(importer + "."):
            continue
        for name in sorted(imported_names(module, text, is_package(module, sources), False)):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                found.append(f"{module} imports {name}")
    return found


def print_calls(sources: Sources) -> list[str]:
    """``module:line`` of every call of ``print``."""
    return [f"{module}:{node.lineno}" for module, text in sorted(sources.items())
            for node in ast.walk(_parse(text))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "print"]


def imports_inside_functions(sources: Sources) -> list[str]:
    """``module:line`` of every import inside a function (the way a circle gets hidden)."""
    found = []
    for module, text in sorted(sources.items()):
        for func in ast.walk(_parse(text)):
            if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                found += [f"{module}:{node.lineno}" for node in ast.walk(func)
                          if isinstance(node, ast.Import | ast.ImportFrom)]
    return sorted(set(found))


def _private(name: str) -> bool:
    return name.startswith("_") and not name.endswith("__")


def private_uses(sources: Sources) -> list[str]:
    """``module:line name`` of every private (underscore) name imported from Dash, and of
    every private attribute read off another object (``app._callback_list``)."""
    found = []
    for module, text in sorted(sources.items()):
        for node in ast.walk(_parse(text)):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "dash":
                names = [*node.module.split("."), *(alias.name for alias in node.names)]
            elif isinstance(node, ast.Import):
                names = [part for alias in node.names if alias.name.split(".")[0] == "dash"
                         for part in alias.name.split(".")]
            elif isinstance(node, ast.Attribute) and not (
                    isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                names = [node.attr]
            found += [f"{module}:{node.lineno} {name}" for name in names if _private(name)]
    return found


def third_party_imports(sources: Sources, local: set[str]) -> set[str]:
    """Top-level names of imported modules that are neither stdlib nor in ``local``."""
    tops = set()
    for module, text in sources.items():
        for name in imported_names(module, text, is_package(module, sources), False):
            top = name.split(".")[0]
            if top and top not in sys.stdlib_module_names and top not in local:
                tops.add(top)
    return tops


def normalize(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def requirement_name(requirement: str) -> str:
    return normalize(re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0])


def undeclared(imported: set[str], declared: set[str],
               distributions: dict[str, list[str]]) -> list[str]:
    """Imported top-level names whose distribution is not among ``declared``."""
    missing = []
    for top in sorted(imported):
        names = {normalize(d) for d in distributions.get(top, [top])}
        if not names & declared:
            missing.append(f"{top} (from {', '.join(sorted(names))})")
    return missing


# --- the repository obeys them ---------------------------------------------------------------


def _queries() -> Sources:
    return read_sources(ROOT, "queries")


def _all_sources() -> Sources:
    return {module_name(p, ROOT): p.read_text() for p in python_files(ROOT)}


def _local_names(path_sources: Sources) -> set[str]:
    # Test helpers next to the tests are imported by their bare name (tests/unit on sys.path).
    return FIRST_PARTY | {m.rpartition(".")[2] for m in path_sources if m.startswith("tests.")}


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_queries_modules_import_no_circle():
    assert import_cycles(import_graph(_queries())) == []


def test_queries_import_no_web_framework_ui_or_app_configuration():
    assert forbidden_imports(_queries(), "queries", QUERIES_MAY_NOT_IMPORT) == []


def test_analyses_never_import_disclosure():
    assert forbidden_imports(_queries(), "queries.analyses", ["queries.disclosure"]) == []


def test_queries_never_print():
    assert print_calls(_queries()) == []


def test_queries_import_nothing_inside_a_function():
    assert imports_inside_functions(_queries()) == []


def test_components_import_nothing_inside_a_function():
    sources = {m: t for m, t in _all_sources().items() if m.split(".")[0] == "components"}
    assert "components.builder.common" in sources
    assert imports_inside_functions(sources) == []


def test_access_imports_nothing_inside_a_function():
    sources = {m: t for m, t in _all_sources().items() if m.split(".")[0] == "access"}
    assert "access.guard" in sources and "access.store" in sources
    assert imports_inside_functions(sources) == []


def test_app_and_components_use_nothing_private_of_dash():
    sources = {m: t for m, t in _all_sources().items()
               if m in ("app", "wsgi") or m.split(".")[0] == "components"}
    assert "app" in sources and "components.shell" in sources
    assert private_uses(sources) == []


def test_every_third_party_import_is_declared_in_pyproject():
    project = _pyproject()["project"]
    runtime = {requirement_name(r) for r in project["dependencies"]}
    test_extra = {requirement_name(r) for r in project["optional-dependencies"]["test"]}
    distributions = importlib.metadata.packages_distributions()
    sources = {m: t for m, t in _all_sources().items() if m not in OWN_VENV_MODULES}
    local = _local_names(sources)
    shipped = {m: t for m, t in sources.items() if m.split(".")[0] in RUNTIME}
    assert undeclared(third_party_imports(shipped, local), runtime, distributions) == []
    assert undeclared(third_party_imports(sources, local), runtime | test_extra,
                      distributions) == []


def test_every_declared_package_is_imported_or_a_named_tool_and_pinned():
    project = _pyproject()["project"]
    declared = {requirement_name(r) for r in
                [*project["dependencies"], *project["optional-dependencies"]["test"]]}
    distributions = importlib.metadata.packages_distributions()
    sources = _all_sources()
    imported = {normalize(d) for top in third_party_imports(sources, _local_names(sources))
                for d in distributions.get(top, [top])}
    assert sorted(declared - imported - TOOLS - {"dash"}) == []
    pinned = {requirement_name(line) for line in (ROOT / "requirements.lock").read_text()
              .splitlines() if line.strip() and not line.startswith("#")}
    assert sorted(declared - pinned) == []


# --- each check fails when its rule is broken ------------------------------------------------


def test_cycle_check_finds_a_circle_also_through_an_import_inside_a_function():
    sources = {
        "queries": "",
        "queries.a": "from queries.b import thing\n",
        "queries.b": "def thing():\n    from queries import c\n    return c\n",
        "queries.c": "import queries.a\n",
        "queries.d": "from queries.a import x\n",
    }
    assert import_cycles(import_graph(sources)) == [["queries.a", "queries.b", "queries.c"]]
    del sources["queries.c"]
    assert import_cycles(import_graph(sources)) == []


def test_cycle_check_resolves_relative_imports():
    sources = {"queries": "", "queries.x": "", "queries.x.one": "from . import two\n",
               "queries.x.two": "from .one import f\n"}
    assert import_cycles(import_graph(sources)) == [["queries.x.one", "queries.x.two"]]


def test_forbidden_import_check_finds_dash_flask_components_access_and_config():
    sources = {
        "queries.a": "def f():\n    import dash\n",
        "queries.b": "from flask_login import current_user\n",
        "queries.c": "from components.figures import survival_figure\n",
        "queries.d": "import access.audit\n",
        "queries.e": "from config import Settings\n",
        "queries.f": "import dashboard_helpers\nimport pandas\n",
        "components.g": "import dash\n",
    }
    assert forbidden_imports(sources, "queries", QUERIES_MAY_NOT_IMPORT) == [
        "queries.a imports dash", "queries.b imports flask_login",
        "queries.c imports components.figures", "queries.d imports access.audit",
        "queries.e imports config"]


def test_forbidden_import_check_finds_analyses_importing_disclosure():
    sources = {
        "queries.analyses.survival": "from queries.disclosure.policy import Policy\n",
        "queries.analyses.safety": "from queries.disclosurex import y\n",
        "queries.disclosure.adapters": "from queries.analyses.survival import fit\n",
    }
    assert forbidden_imports(sources, "queries.analyses", ["queries.disclosure"]) == [
        "queries.analyses.survival imports queries.disclosure.policy"]


def test_print_check_finds_a_print_call_but_not_the_word():
    sources = {"queries.a": "def f():\n    print('x')\n",
               "queries.b": "def f(printer):\n    return 'print(no)', printer.print\n"}
    assert print_calls(sources) == ["queries.a:2"]


def test_function_import_check_finds_an_import_in_a_method():
    sources = {"queries.a": "import os\nclass A:\n    def m(self):\n        import json\n"}
    assert imports_inside_functions(sources) == ["queries.a:4"]


def test_declaration_check_finds_an_undeclared_package():
    sources = {"queries.a": "import numpy as np\nimport os\nfrom scipy import stats\n",
               "tests.helper": "", "tests.unit.t": "import helper\nimport queries.a\n"}
    imported = third_party_imports(sources, _local_names(sources))
    assert imported == {"numpy", "scipy"}
    assert undeclared(imported, {"numpy"}, {"numpy": ["numpy"], "scipy": ["scipy"]}) == [
        "scipy (from scipy)"]
    assert undeclared(imported, {"numpy", "scipy"}, {}) == []


def test_private_check_finds_dash_internals_imported_or_read():
    sources = {
        "app": "import dash\nfrom dash import _callback\n"
               "def f(app):\n    app._callback_list.extend([])\n",
        "components.a": "import dash._utils\nfrom dash._callback import GLOBAL_CALLBACK_MAP\n",
        "components.b": "from dash import Input, html\nclass B:\n    def m(self):\n"
                        "        return self._cache, self.__class__\n",
    }
    assert private_uses(sources) == ["app:2 _callback", "app:4 _callback_list",
                                     "components.a:1 _utils", "components.a:2 _callback"]
