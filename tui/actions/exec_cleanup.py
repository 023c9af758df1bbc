"""A shell session's process ends when the session does, unless the user chose to keep it.

CRI Exec gives neither an exec id nor a pid back, so n9s learns which exec is its own: it lists the container's
execs before the stream connects (the runtime starts the process when it does) and again once the session's
process has written something (so it runs by then), and takes the one new exec that runs the session's argv. If
two such execs appeared in that window (another client started the same command at the same moment), n9s claims
neither rather than guess, and says so when the session ends. The exec is then ended by its exec id through the
action layer (audited), when the user leaves, the terminal hangs up, the stream breaks, or n9s exits."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from n9s.actions.exec_sessions import ExecSessions, OwnedExec
from n9s.core.sanitize import sanitize_label
from n9s.sources.errors import SourceError
from n9s.sources.exec import SessionEnd
from n9s.sources.exec_procs import ExecProcess, list_execs

log = logging.getLogger("n9s.exec")

RESOLVE_WAIT_S = 10.0  # how long a session's end waits for the claim begun at its first output


class ExecClaim:
    """Which exec of ``target`` a session started with ``argv``. ``prepare()`` before connecting;
    ``spoke()`` (at the first output) and ``finish()`` (at the end) each try to claim it."""

    def __init__(self, actions: Any, target: Any, argv: list[str], label: str) -> None:
        self.actions = actions
        self.target = target
        self.argv = tuple(argv)
        self.label = label
        self.before: set[str] | None = None
        self.problem = ""  # why n9s cannot tell its exec, when it cannot
        self.rivals = 0  # how many new execs ran the same argv (two or more: claimed none)
        self.owned: OwnedExec | None = None
        self.was_connected = False  # the stream came up, so the runtime started a process for it
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def containerd(self) -> Any:
        return getattr(self.actions, "containerd", None)

    @property
    def sessions(self) -> ExecSessions | None:
        return getattr(self.actions, "sessions", None)

    def prepare(self) -> None:
        if self.containerd is None:
            self.problem = "n9s has no containerd API here to see execs with"
            return
        try:
            self.before = {e.exec_id for e in list_execs(self.containerd, self.target.id)}
        except SourceError as err:
            self.problem = f"containerd could not list the execs: {err}"

    def _candidates(self) -> list[ExecProcess]:
        assert self.before is not None
        return [e for e in list_execs(self.containerd, self.target.id)
                if e.exec_id not in self.before and e.argv == self.argv]

    def claim(self) -> OwnedExec | None:
        """Look once more; claim the exec when exactly one new one runs our argv."""
        with self._lock:
            if self.owned is not None or self.before is None:
                return self.owned
            try:
                found = self._candidates()
            except SourceError as err:
                self.problem = f"containerd could not list the execs: {err}"
                return None
            self.rivals = len(found)
            if len(found) != 1:
                return None
            e = found[0]
            self.owned = OwnedExec(self.target, e.exec_id, e.pid, self.argv[0] if self.argv else "?", self.label)
            if self.sessions is not None:
                self.sessions.add(self.owned)
            log.info("session in %s is exec %s (pid %d)", self.target.id, e.exec_id, e.pid)
            return self.owned

    def connected(self) -> None:
        self.was_connected = True

    def spoke(self) -> None:
        """The session's first output: its process runs. Claim in a thread: the pump must not wait on containerd."""
        self.was_connected = True
        if self.before is not None and self._thread is None:
            self._thread = threading.Thread(target=self.claim, name="exec-claim", daemon=True)
            self._thread.start()

    def finish(self) -> OwnedExec | None:
        """The claim at the session's end; never for a stream that did not come up (no process of ours: a new
        exec then is another client's)."""
        if self._thread is not None:
            self._thread.join(RESOLVE_WAIT_S)
        return self.claim() if self.was_connected else self.owned


@dataclass(frozen=True)
class Settled:
    """What became of a session's process: a line for the user (empty when there is nothing to add)."""

    note: str
    ok: bool = True


def _why(end: SessionEnd) -> str:
    if end.signal:
        return "n9s was told to end" if not end.hung_up else "the terminal hung up"
    if end.hung_up:
        return "the terminal hung up"
    if end.detached:
        return "the user left the session"
    return "the session's stream broke"


def settle(claim: ExecClaim | None, end: SessionEnd | None) -> Settled:
    """After a session: end its process unless it ended by itself or the user chose to keep it."""
    if claim is None:
        return Settled("")
    owned = claim.finish()
    ended_itself = end is not None and not end.detached and end.exit_code is not None
    if owned is None:
        if ended_itself:
            return Settled("")
        if claim.rivals > 1:
            return Settled(f"another client started the same command in {claim.label} at the same moment: n9s cannot "
                           "tell which is its own, so it ended neither; the container detail lists both", False)
        if claim.problem:
            return Settled(f"{sanitize_label(claim.problem, 200)}; what the session ran may still be running", False)
        return Settled("")  # no new exec left: the process is gone already
    sessions = claim.sessions
    if ended_itself:
        if sessions is not None:
            sessions.remove(owned)
        return Settled("")
    if end is not None and end.kept:
        if sessions is not None:
            sessions.keep(owned)
        return Settled(f"{owned.program} keeps running (pid {owned.pid}): the container detail lists it")
    return end_owned(claim.actions, owned, _why(end) if end is not None else "the session failed")


def end_owned(actions: Any, owned: OwnedExec, why: str) -> Settled:
    """End one exec n9s started (audited, through the action layer)."""
    try:
        result = actions.end_exec(owned.target, owned.exec_id, pid=owned.pid, program=owned.program, why=why)
    except SourceError as err:
        return Settled(f"could not end {owned.program} in {owned.label}: {sanitize_label(str(err), 200)}", False)
    if not result.ok:
        return Settled(f"could not end {owned.program} in {owned.label}: {sanitize_label(result.message, 200)}; "
                       "n9s tries again when it exits", False)
    sessions = getattr(actions, "sessions", None)
    if sessions is not None:
        sessions.remove(owned)
    return Settled(f"{owned.program} in {owned.label} ended")


def end_left_over(actions: Any) -> list[Settled]:
    """n9s exits: end every exec it started that the user did not choose to keep (one whose end failed before)."""
    sessions = getattr(actions, "sessions", None)
    if sessions is None:
        return []
    return [end_owned(actions, owned, "n9s exits") for owned in sessions.unkept()]
