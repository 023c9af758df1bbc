"""Themes as data: every table of the TOML files beside this module is one Textual theme."""
from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any

FIELDS = ("primary", "secondary", "accent", "foreground", "background", "surface", "panel", "warning", "error",
          "success", "dark")


def theme_specs() -> dict[str, dict[str, Any]]:
    specs: dict[str, dict[str, Any]] = {}
    for entry in sorted(resources.files(__name__).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            data = tomllib.loads(entry.read_text(encoding="utf-8"))
            for name, values in data.items():
                if isinstance(values, dict):
                    specs[name] = {k: v for k, v in values.items() if k in FIELDS}
    return specs


def textual_themes() -> list[Any]:
    from textual.theme import Theme

    return [Theme(name=name, **spec) for name, spec in theme_specs().items()]
