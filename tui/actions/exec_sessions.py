"""The exec processes this n9s started (one per shell session), kept for n9s's life: which to end when a session
is left or n9s exits, and which the user chose to keep running, so the views can say "started by n9s"."""
from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Any

BY_N9S = "n9s"
BY_N9S_KEPT = "n9s, kept"


@dataclass(frozen=True)
class OwnedExec:
    target: Any  # the actions.Target of the container
    exec_id: str
    pid: int
    program: str  # argv[0], for messages and the audit log
    label: str  # ns/pod/container, sanitised
    kept: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return self.target.id, self.exec_id


class ExecSessions:
    """Thread-safe: a session adds its exec from its own thread, the refresh asks who started an exec, and the
    exit path ends what is left."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owned: dict[tuple[str, str], OwnedExec] = {}

    def add(self, owned: OwnedExec) -> None:
        with self._lock:
            self._owned[owned.key] = owned

    def keep(self, owned: OwnedExec) -> OwnedExec:
        kept = replace(owned, kept=True)
        with self._lock:
            self._owned[owned.key] = kept
        return kept

    def remove(self, owned: OwnedExec) -> None:
        with self._lock:
            self._owned.pop(owned.key, None)

    def owner(self, container_id: str, exec_id: str) -> str:
        """BY_N9S, BY_N9S_KEPT, or "" for an exec this n9s did not start."""
        with self._lock:
            owned = self._owned.get((container_id, exec_id))
        if owned is None:
            return ""
        return BY_N9S_KEPT if owned.kept else BY_N9S

    def forget_gone(self, container_id: str, alive: set[str]) -> None:
        """The container's execs that are still there are ``alive``: drop the others (a kept shell that ended)."""
        with self._lock:
            for key in [k for k in self._owned if k[0] == container_id and k[1] not in alive]:
                del self._owned[key]

    def unkept(self) -> list[OwnedExec]:
        with self._lock:
            return [o for o in self._owned.values() if not o.kept]

    def all(self) -> list[OwnedExec]:
        with self._lock:
            return list(self._owned.values())
