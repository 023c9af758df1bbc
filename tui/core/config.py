"""The config file (TOML): defaults for the command line's flags, and a keymap.

    readonly = true            # refresh = 5, theme = "n9s-light", address = "/run/containerd/containerd.sock",
    view = "containers"        # pods_dir = "/var/log/pods", namespace = "k8s.io"
    [keymap]
    "view-logs" = "L"          # binding id -> keys, applied with Textual's set_keymap

One rule, because n9s runs as root and `readonly` must never be lost to a typo: the file is read whole and every
key and value in it is understood, or n9s does not start. A file that cannot be read, is not valid TOML, holds a
key n9s does not know (`readnoly = true`), a value of the wrong type (`readonly = "true"`, `readonly = 1`) or a
value out of range raises ConfigError, naming the file and, where there is one, the line. A missing file is no
file: the defaults. Headless: no textual or rich imports.
"""
from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from n9s.core.keys import keymap_ids
from n9s.core.sanitize import sanitize_label

TEXT_KEYS = ("theme", "address", "pods_dir", "view", "namespace")
KNOWN_KEYS = ("readonly", "refresh", *TEXT_KEYS, "keymap")

NOT_FOUND, LOADED = "not found", "loaded"


class ConfigError(Exception):
    """The config file cannot be used; ``str()`` is one printable line naming the file (and line)."""

    def __init__(self, path: Path | str, what: str, line: int | None = None) -> None:
        super().__init__(what)
        self.path = Path(path)
        self.line = line
        self.what = what

    def __str__(self) -> str:
        where = f" line {self.line}" if self.line else ""
        return sanitize_label(f"config {self.path}{where}: {self.what}", 400)


@dataclass(frozen=True)
class Config:
    path: Path
    state: str  # NOT_FOUND or LOADED
    values: dict[str, Any] = field(default_factory=dict)  # flag name -> value, and "keymap"


def load_config(path: Path) -> Config:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Config(path, NOT_FOUND)
    except OSError as err:
        raise ConfigError(path, f"cannot be read ({err.strerror or err})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(path, "is not UTF-8 text", raw.count(b"\n", 0, err.start) + 1) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        what, line = _toml_problem(str(err))
        raise ConfigError(path, f"not valid TOML: {what}", line) from None
    return Config(path, LOADED, _values(path, text, data))


_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


def _toml_problem(message: str) -> tuple[str, int | None]:
    """tomllib says where only inside its message: "Invalid value (at line 3, column 12)"."""
    m = _AT.search(message)
    if m is None:
        return message, None
    return f"{message[:m.start()]} (column {m.group(2)})", int(m.group(1))


def _values(path: Path, text: str, data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        def fail(what: str, table: str | None = None, name: str = key) -> ConfigError:
            return ConfigError(path, what, _line_of(text, table, name))

        if key not in KNOWN_KEYS:
            raise fail(f"unknown key {key!r} (known: {', '.join(sorted(KNOWN_KEYS))})")
        if key == "readonly":
            if not isinstance(value, bool):
                raise fail(f"readonly must be true or false, not {_shown(value)}")
        elif key == "refresh":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value <= 0:
                raise fail(f"refresh must be a positive number of seconds, not {_shown(value)}")
            value = float(value)
        elif key == "keymap":
            if not isinstance(value, dict):
                raise fail(f"keymap must be a table of binding id = \"keys\", not {_shown(value)}")
            for binding, keys in value.items():
                if not isinstance(keys, str):
                    raise fail(f"keymap: {binding!r} must be a string of keys, not {_shown(keys)}", "keymap", binding)
                if binding not in keymap_ids():
                    raise fail(f"keymap: no key has the id {binding!r}", "keymap",
                               binding)
        else:
            if not isinstance(value, str):
                raise fail(f"{key} must be a string, not {_shown(value)}")
            if "\x00" in value:
                raise fail(f"{key} holds a NUL character")
            if key == "view" and (problem := view_problem(value)):
                raise fail(problem)
        out[key] = value
    return out


def view_problem(name: str) -> str | None:
    """Why ``name`` names no view (for the file's ``view`` and the ``--view`` flag), or None."""
    from n9s.render.viewspec import VIEWS, find_view  # the views pull in the renderers: only when a view is named

    if find_view(name) is not None:
        return None
    return f"no view named {name!r} (views: {', '.join(v.names[0] for v in VIEWS)})"


def _shown(value: Any) -> str:
    kind = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array",
            dict: "a table"}.get(type(value), "a date or time")
    return f"{kind} ({_toml_repr(value)})" if not isinstance(value, (list, dict)) else kind


def _toml_repr(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value[:40])
    return str(value)[:40]


_TABLE = re.compile(r"^\s*\[\[?\s*([^\]]*?)\s*\]\]?")
_KEY = re.compile(r"""^\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*([=.])""")


def _line_of(text: str, table: str | None, key: str) -> int | None:
    """The line that sets ``key`` in ``table`` (None: the top level), also as a dotted ``table.key`` at the top
    level; else the header of the table named so. tomllib keeps no positions; a key it accepted is written in one
    of these forms."""
    current: str | None = None
    header = None
    wanted = table if table is not None else key
    for number, line in enumerate(text.splitlines(), 1):
        m = _TABLE.match(line)
        if m:
            current = m.group(1).strip().strip("\"'")
            if header is None and current.split(".")[0].strip().strip("\"'") == wanted:
                header = number
            continue
        k = _KEY.match(line)
        if k is None:
            continue
        first = k.group(1) if k.group(1) is not None else k.group(2) if k.group(2) is not None else k.group(3)
        if table is None and current is None and first == key:
            return number
        if table is not None and current == table and first == key:
            return number
        if table is not None and current is None and first == table and k.group(4) == "." \
                and re.search(rf"""\.\s*(?:"{re.escape(key)}"|'{re.escape(key)}'|{re.escape(key)})\s*=""", line):
            return number
    return header
