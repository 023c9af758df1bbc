"""The exec processes of the running containers, for the tasks view and the container detail.

Listing one task's pids costs a runc run (containerd's shim asks runc), so a container's execs are listed again
only when an event says they changed (an exec added, started or exited), when the container is new here, and at
least every MAX_AGE_S as a safety net. Without a live event stream, a container's are listed again when one
container is asked for (the detail), and for the whole list (the tasks view) at most every UNWATCHED_MAX_AGE_S."""
from __future__ import annotations

import threading
import time
from typing import Any, Callable, Iterable

from n9s.sources.errors import SourceError
from n9s.sources.exec_procs import ExecProcess, list_execs
from n9s.model.picture import ExecRow

EXEC_TOPICS = ("/tasks/exec-added", "/tasks/exec-started", "/tasks/exit", "/tasks/delete")
MAX_AGE_S = 30.0
UNWATCHED_MAX_AGE_S = 5.0


class ExecIndex:
    def __init__(self, containerd: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self.containerd = containerd
        self.clock = clock
        self.owners: Any = None  # ExecSessions: who started an exec (set by the app)
        self._lock = threading.Lock()
        self._execs: dict[str, tuple[ExecProcess, ...]] = {}
        self._read_at: dict[str, float] = {}
        self._dirty: set[str] = set()
        self.listed = 0  # how many ListPids calls were made (tests read it)

    def note_event(self, topic: str, container_id: str) -> None:
        if container_id and topic in EXEC_TOPICS:
            with self._lock:
                self._dirty.add(container_id)

    def note_all(self) -> None:
        """The event stream broke: what it would have said is unknown."""
        with self._lock:
            self._dirty.update(self._execs)

    def _due(self, cid: str, now: float, max_age_s: float) -> bool:
        return cid in self._dirty or cid not in self._execs or now - self._read_at.get(cid, 0.0) >= max_age_s

    def _read(self, cid: str, now: float) -> tuple[ExecProcess, ...]:
        with self._lock:
            self._dirty.discard(cid)  # before the call: an event arriving meanwhile asks again
        try:
            found = tuple(list_execs(self.containerd, cid))
        except SourceError:
            with self._lock:
                self._dirty.add(cid)
                return self._execs.get(cid, ())
        self.listed += 1
        with self._lock:
            self._execs[cid], self._read_at[cid] = found, now
        owners = self.owners
        if owners is not None:
            owners.forget_gone(cid, {e.exec_id for e in found})
        return found

    def rows(self, container_ids: Iterable[str], live: bool) -> tuple[ExecRow, ...]:
        """The exec rows of these (running) containers; containers not named are forgotten."""
        ids = list(dict.fromkeys(container_ids))
        now = self.clock()
        with self._lock:
            for gone in set(self._execs) - set(ids):
                self._execs.pop(gone, None)
                self._read_at.pop(gone, None)
            max_age = MAX_AGE_S if live else UNWATCHED_MAX_AGE_S
            due = [cid for cid in ids if self._due(cid, now, max_age)]
        for cid in due:
            self._read(cid, now)
        with self._lock:
            procs = [e for cid in ids for e in self._execs.get(cid, ())]
        return tuple(self._row(e) for e in procs)

    def of(self, container_id: str, live: bool) -> tuple[ExecRow, ...]:
        """One container's exec rows (the container detail), read again when due."""
        now = self.clock()
        with self._lock:
            due = self._due(container_id, now, MAX_AGE_S if live else 0.0)
            procs = self._execs.get(container_id, ())
        if due:
            procs = self._read(container_id, now)
        return tuple(self._row(e) for e in procs)

    def _row(self, e: ExecProcess) -> ExecRow:
        owner = self.owners.owner(e.container_id, e.exec_id) if self.owners is not None else ""
        return ExecRow(e.container_id, e.exec_id, e.pid, e.command, e.started_at, owner)
