"""Screens ask the app only for what its typed interface for screens (`n9s.ui.app_api.AppApi`) declares, beside
Textual's own App members; and the app has every member that interface promises."""
from __future__ import annotations

import ast
from pathlib import Path

from textual.app import App

from n9s.ui.app import N9sApp
from n9s.ui.app_api import AppApi

REPO = Path(__file__).resolve().parent.parent


def _app_members_used() -> dict[str, set[str]]:
    used: dict[str, set[str]] = {}
    for f in sorted((REPO / "tui" / "ui" / "screens").glob("*.py")) + sorted((REPO / "widgets").glob("*.py")):
        for node in ast.walk(ast.parse(f.read_text())):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
                    and node.value.attr == "app" and isinstance(node.value.value, ast.Name)
                    and node.value.value.id == "self"):
                used.setdefault(node.attr, set()).add(f.name)
    return used


def test_screens_use_the_app_only_through_its_interface():
    declared = set(AppApi.__annotations__) | {n for n in vars(AppApi) if not n.startswith("_")}
    textual = set(dir(App)) | set(vars(App()))  # class members and those an App sets on itself
    beyond = {name: files for name, files in _app_members_used().items() if name not in textual | declared}
    assert beyond == {}, "screens reach app members AppApi does not declare"


def test_the_app_keeps_the_interface():
    missing = [n for n in vars(AppApi) if not n.startswith("_") and not hasattr(N9sApp, n)]
    assert missing == []
