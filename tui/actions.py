"""The only module that changes the node. Each action checks read-only mode itself (the UI asking first is not
trusted), performs the call, appends an audit record, and returns a result the UI shows."""
from __future__ import annotations

import logging
import signal as signals
from dataclasses import asdict, dataclass
from typing import Any, Callable

from .audit import AuditLog
from .exec_sessions import ExecSessions
from .sources.errors import NotAnswering, ReadOnlyRefused, SourceError

log = logging.getLogger("n9s.actions")

KILL_SIGNALS = ("SIGTERM", "SIGKILL", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")
DEFAULT_GRACE_S = 30


@dataclass(frozen=True)
class Target:
    id: str
    name: str = ""
    namespace: str = ""
    pod: str = ""
    kind: str = "container"  # container | pod


@dataclass(frozen=True)
class ActionResult:
    action: str
    target: Target
    ok: bool
    message: str


def signal_number(name: str) -> int:
    name = name.upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    if name not in KILL_SIGNALS:
        raise ValueError(f"unsupported signal {name}; choose one of {', '.join(KILL_SIGNALS)}")
    return int(getattr(signals, name))


def _check_argv(argv: object) -> None:
    # A string would be taken apart into single characters, or tempt a caller to add a shell: refuse it.
    if isinstance(argv, (str, bytes, bytearray)):
        raise TypeError("exec takes an argv list, never a shell string")


class Actions:
    def __init__(self, cri: Any, containerd: Any = None, *, readonly: bool = False, audit: AuditLog | None = None,
                 kube: Any = None) -> None:
        self.cri = cri
        self.containerd = containerd
        self.readonly = readonly
        self.audit = audit or AuditLog()
        self.kube = kube
        self.sessions = ExecSessions()  # the exec processes n9s started, ended when the user leaves them

    def _runtime(self) -> Any:
        # Remote mode has no runtime client: a runtime action fails as a SourceError (audited), never an
        # AttributeError.
        if self.cri is None:
            raise SourceError("not available in remote mode: needs the node's runtime socket")
        return self.cri

    def _refuse_if_readonly(self, action: str, target: Target) -> None:
        if self.readonly:
            log.warning("refused %s on %s: read-only mode", action, target.id)
            raise ReadOnlyRefused(f"{action} refused: n9s runs read-only")

    def _run(self, action: str, target: Target, params: dict[str, Any], call: Callable[[], Any]) -> ActionResult:
        self._refuse_if_readonly(action, target)
        try:
            call()
        except SourceError as err:
            message = str(err)
            if isinstance(err, NotAnswering):
                message += " (it may still carry it out once it answers again)"
            self.audit.record(action, [asdict(target)], params, f"error: {message}")
            log.info("%s on %s failed: %s", action, target.id, message)
            return ActionResult(action, target, False, message)
        self.audit.record(action, [asdict(target)], params, "ok")
        log.info("%s on %s: ok", action, target.id)
        return ActionResult(action, target, True, "ok")

    # ---- containers ----
    def stop_container(self, target: Target, grace_s: int = DEFAULT_GRACE_S) -> ActionResult:
        grace_s = max(0, int(grace_s))
        return self._run("stop-container", target, {"grace_period_s": grace_s},
                         lambda: self._runtime().stop_container(target.id, grace_s))

    def kill_container(self, target: Target, signal: str = "SIGKILL") -> ActionResult:
        number = signal_number(signal)
        self._refuse_if_readonly("kill-container", target)
        if self.containerd is None:
            raise SourceError("killing with a chosen signal needs the containerd API")
        return self._run("kill-container", target, {"signal": signal.upper()},
                         lambda: self.containerd.kill(target.id, number))

    def remove_container(self, target: Target) -> ActionResult:
        return self._run("remove-container", target, {}, lambda: self._runtime().remove_container(target.id))

    # ---- pods ----
    def stop_pod(self, target: Target) -> ActionResult:
        return self._run("stop-pod", target, {}, lambda: self._runtime().stop_pod_sandbox(target.id))

    def remove_pod(self, target: Target) -> ActionResult:
        return self._run("remove-pod", target, {}, lambda: self._runtime().remove_pod_sandbox(target.id))

    def delete_pod_api(self, target: Target, grace_s: int = DEFAULT_GRACE_S) -> ActionResult:
        self._refuse_if_readonly("delete-pod", target)
        if self.kube is None:
            raise SourceError("deleting a pod needs the Kubernetes API, which is not configured")
        grace_s = max(0, int(grace_s))
        return self._run("delete-pod", target, {"grace_period_s": grace_s},
                         lambda: self.kube.delete_pod(target.namespace, target.name, grace_period_seconds=grace_s))

    # ---- exec: a way into the container, so read-only mode refuses it too ----
    def exec_sync(self, target: Target, argv: list[str], timeout_s: int = 10):
        _check_argv(argv)
        result: dict[str, Any] = {}

        def call() -> None:
            result["r"] = self._runtime().exec_sync(target.id, list(argv), timeout_s)

        outcome = self._run("exec", target, {"argv": list(argv), "timeout_s": timeout_s}, call)
        return outcome, result.get("r")

    def exec_url(self, target: Target, argv: list[str], *, tty: bool = True, stdin: bool = True):
        _check_argv(argv)
        result: dict[str, Any] = {}

        def call() -> None:
            result["url"] = self._runtime().exec_url(target.id, list(argv), tty=tty, stdin=stdin)

        outcome = self._run("shell", target, {"argv": list(argv), "tty": tty}, call)
        return outcome, result.get("url")

    def attach_url(self, target: Target, *, stdin: bool = False, tty: bool = False, forward_keys: bool | None = None):
        """``stdin`` is what the stream asks the runtime for; ``forward_keys`` whether the user's keys are sent
        (a read-only attach to a container that keeps stdin open still asks for stdin, or the runtime drops it)."""
        result: dict[str, Any] = {}

        def call() -> None:
            result["url"] = self._runtime().attach_url(target.id, tty=tty, stdin=stdin)

        keys = stdin if forward_keys is None else forward_keys
        outcome = self._run("attach", target, {"stdin": keys, "tty": tty, "mode": "input" if keys else "read-only"},
                            call)
        return outcome, result.get("url")

    # ---- execs: end one exec's process (a session n9s started, or one the user chose to end) ----
    def end_exec(self, target: Target, exec_id: str, *, pid: int = 0, program: str = "", why: str = "") -> ActionResult:
        """SIGHUP to the exec's process, SIGKILL after a short grace. ``program`` is argv[0] only: the rest of
        another client's command line may hold what the audit log must not."""
        from .sources.exec_procs import HANGUP_GRACE_S, end_exec_process

        self._refuse_if_readonly("end-exec", target)
        if self.containerd is None:
            raise SourceError("ending an exec needs the containerd API")
        params = {"exec_id": exec_id, "pid": pid, "program": program, "why": why,
                  "signals": f"SIGHUP, then SIGKILL after {HANGUP_GRACE_S:g} s"}
        return self._run("end-exec", target, params,
                         lambda: end_exec_process(self.containerd, target.id, exec_id, HANGUP_GRACE_S))

def node_actions(address: str, namespace: str, **options: Any) -> Actions:
    """The action layer for the runtime at ``address``, on CRI and containerd clients of its own: the refresh
    renews its channel when the runtime stops answering, and an action under way must keep waiting for its own
    answer or deadline meanwhile. ``options``: as for Actions (readonly, audit, kube)."""
    from .sources.containerd import ContainerdClient
    from .sources.cri import CriClient

    return Actions(CriClient(address), ContainerdClient(address, namespace=namespace), **options)
