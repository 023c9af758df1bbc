"""Every screen n9s has derives from its screen bases (n9s.ui.screens.base), so a worker a screen runs reports its
failure through the app (tests/test_faults_workers.py shows the report on a real screen)."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

from textual.screen import Screen

import n9s.ui.screens
from n9s.ui.screens.base import ReportsWorkerErrors


def n9s_screens() -> list[type]:
    found = []
    for info in pkgutil.iter_modules(n9s.ui.screens.__path__):
        module = importlib.import_module(f"n9s.ui.screens.{info.name}")
        found += [cls for _, cls in inspect.getmembers(module, inspect.isclass)
                  if issubclass(cls, Screen) and cls.__module__ == module.__name__]
    return found


def test_every_screen_reports_its_workers_failures_through_the_app():
    screens = n9s_screens()
    assert {"BrowserScreen", "ContainerDetailScreen", "DescribeScreen", "LogsScreen", "HelpScreen", "ExecPanel",
            "ActionDialog", "AttachChoice"} <= {cls.__name__ for cls in screens}
    assert [cls.__name__ for cls in screens if not issubclass(cls, ReportsWorkerErrors)] == []
