"""The layout keeps its layers: every module of the headless packages imports without textual or rich, nothing
below the UI imports the UI, no two modules import each other at load time, and the wheel ships every package."""
from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import n9s

REPO = Path(__file__).resolve().parent.parent
TUI = REPO / "tui"
HEADLESS_PACKAGES = ("n9s.core", "n9s.sources", "n9s.model", "n9s.render", "n9s.actions")


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(n9s.__path__, "n9s.") if not m.name.endswith("__main__"))


def _headless() -> list[str]:
    return [m for m in _modules() if m.startswith(tuple(p + "." for p in HEADLESS_PACKAGES)) or m in HEADLESS_PACKAGES]


def _file_of(module: str) -> Path:
    rel = Path(*module.split(".")[1:])
    return TUI / rel / "__init__.py" if (TUI / rel).is_dir() else (TUI / rel).with_suffix(".py")


def _load_time_imports(module: str, everywhere: bool = False) -> set[str]:
    """n9s modules a module imports when it loads, or anywhere in it (`everywhere`)."""
    tree = ast.parse(_file_of(module).read_text())
    found: set[str] = set()
    for node in (ast.walk(tree) if everywhere else tree.body):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("n9s"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("n9s"))
    known = set(_modules())
    return {m for m in found if m in known and m != module}


def test_every_headless_module_loads_without_textual_or_rich():
    names = _headless()
    assert len(names) > 40, names  # the walk found the packages
    code = (
        "import sys, importlib\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"headless modules pulled in: {result.stdout.strip()}"


def test_the_check_would_notice_textual():
    code = "import sys, n9s.widgets.resource_table; print('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "True"


def test_no_headless_module_imports_the_ui():
    offenders = {m: sorted(i for i in _load_time_imports(m) if i.startswith(("n9s.ui", "n9s.widgets")))
                 for m in _headless()}
    assert {m: i for m, i in offenders.items() if i} == {}


def test_no_import_cycles():
    # imports inside functions count too: a lazy import that closes a cycle still ties the two halves together
    graph = {m: _load_time_imports(m, everywhere=True) for m in _modules()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for dep in sorted(graph.get(m, ())):
            if state.get(dep) == 1:
                cycles.append(path[path.index(dep):] + [dep] if dep in path else [m, dep])
            elif dep not in state:
                visit(dep, path + [dep])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [m])
    # a package importing its own submodule in __init__ is not a cycle of two halves
    real = [c for c in cycles if not all(x.startswith(c[0] + ".") or x == c[0] for x in c[1:])]
    assert real == []


def test_the_cycle_check_sees_lazy_imports():
    # action_flow and the confirm dialog were once two halves importing each other, one of them inside a function
    assert "n9s.ui.screens.confirm" in _load_time_imports("n9s.ui.flows.action_flow", everywhere=True)
    assert "n9s.ui.flows.action_flow" not in _load_time_imports("n9s.ui.screens.confirm", everywhere=True)


def test_the_wheel_lists_every_package():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    listed = set(project["tool"]["setuptools"]["packages"])
    on_disk = {"n9s." + ".".join(p.parent.relative_to(TUI).parts) if p.parent != TUI else "n9s"
               for p in TUI.rglob("__init__.py") if "__pycache__" not in p.parts}
    assert on_disk - listed == set(), "packages missing from pyproject's [tool.setuptools] packages"
