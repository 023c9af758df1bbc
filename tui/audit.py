"""The audit log: one JSON line per action taken on the node (time, user, targets, action, parameters, result).

Written to ``<state dir>/audit.jsonl`` with mode 0600. Secrets never go in: callers pass ids, names and plain
parameters only, and values under keys that look secret are masked anyway.
"""
from __future__ import annotations

import getpass
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

SECRET_HINTS = ("token", "password", "secret", "key-data", "client-key", "authorization", "bearer")


def audit_log_path() -> Path:
    override = os.environ.get("N9S_AUDIT_LOG")
    if override:
        return Path(override)
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "n9s" / "audit.jsonl"


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("***" if any(h in str(k).lower() for h in SECRET_HINTS) else _mask(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mask(v) for v in value]
    return value


def _user() -> str:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "?"
    return f"{name} (uid {os.getuid()})"


class AuditLog:
    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else audit_log_path()
        self._lock = threading.Lock()

    def record(self, action: str, targets: list[dict[str, str]], params: dict[str, Any], result: str) -> dict:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "user": _user(),
            "action": action,
            "targets": targets,
            "params": _mask(params),
            "result": result,
        }
        line = json.dumps(entry, sort_keys=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)
        return entry

    def entries(self) -> list[dict]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in text.splitlines() if line.strip()]
