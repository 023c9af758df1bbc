"""The only module that changes the node. Each action checks read-only mode itself (the UI asking first is not
trusted), writes the audit log's intent record (and does nothing if it cannot), performs the call, writes the
result record, and returns a result the UI shows."""
from __future__ import annotations

import logging
import signal as signals
import threading
from dataclasses import asdict, dataclass
from typing import Any, Callable

from n9s.actions.audit import AuditLog, AuditUnavailable, Pending
from n9s.actions.exec_sessions import ExecSessions
from n9s.sources.errors import NotAnswering, ReadOnlyRefused, SourceError

log = logging.getLogger("n9s.actions.layer")

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
    done: bool = True  # False: the action did not run (its intent could not be audited)


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
        self._lock = threading.Lock()
        self._in_flight: dict[str, Pending] = {}
        self.sessions = ExecSessions()  # the exec processes n9s started, ended when the user leaves them

    def _runtime(self) -> Any:
        # Remote mode has no runtime client: a runtime action fails as a SourceError (audited), never an
        # AttributeError.
        if self.cri is None:
            raise SourceError("not available in remote mode: needs the node's runtime socket")
        return self.cri

    def _containerd(self, what: str) -> Any:
        if self.containerd is None:
            raise SourceError(f"{what} needs the containerd API")
        return self.containerd

    def _refuse_if_readonly(self, action: str, target: Target) -> None:
        if self.readonly:
            log.warning("refused %s on %s: read-only mode", action, target.id)
            raise ReadOnlyRefused(f"{action} refused: n9s runs read-only")

    def _run(self, action: str, target: Target, params: dict[str, Any], call: Callable[[], Any]) -> ActionResult:
        return self._perform(action, target, params, call)[0]

    def _perform(self, action: str, target: Target, params: dict[str, Any], call: Callable[[], Any],
                 summary: Callable[[Any], tuple[str, dict[str, Any]]] | None = None) -> tuple[ActionResult, Any]:
        """Intent record (synced), then the call, then the result record. ``summary(value)`` gives the result
        text and extra fields for a call whose value says how it went (an exit code, the shell found)."""
        self._refuse_if_readonly(action, target)
        try:
            pending = self.audit.intent(action, [asdict(target)], params)
        except AuditUnavailable as err:
            log.error("%s on %s not done: the audit log cannot be written: %s", action, target.id, err.strerror)
            return ActionResult(action, target, False, f"not done: the audit log cannot be written: {err.strerror}",
                                done=False), None
        with self._lock:
            self._in_flight[pending.id] = pending
        try:
            value = call()
        except SourceError as err:
            message = str(err)
            if isinstance(err, NotAnswering):
                message += " (it may still carry it out once it answers again)"
            self._finish(pending, f"error: {message}")
            log.info("%s on %s failed: %s", action, target.id, message)
            return ActionResult(action, target, False, message), None
        except BaseException as err:
            self._finish(pending, f"error: {type(err).__name__}: {err}")
            raise
        text, details = summary(value) if summary is not None else ("ok", {})
        note = self._finish(pending, text, **details)
        log.info("%s on %s: %s", action, target.id, text)
        return ActionResult(action, target, True, note or "ok"), value

    def _finish(self, pending: Pending, result: str, **details: Any) -> str:
        """The result record; a note for the screen when it could not be written (the act is done by then)."""
        with self._lock:
            if self._in_flight.pop(pending.id, None) is None:
                return ""  # n9s is ending and said so already (abandon_in_flight)
        try:
            self.audit.result(pending, result, **details)
        except OSError as err:
            log.error("the result of %s %s is not in the audit log: %s", pending.entry["action"], pending.id, err)
            return f"done ({result}), but the audit log could not record the result: {err.strerror or err}"
        return ""

    def abandon_in_flight(self) -> int:
        """n9s is ending with calls under way (a long stop): each gets a result record saying the outcome is
        unknown, so the log tells an ended process from a lost record. Returns how many there were."""
        with self._lock:
            pending, self._in_flight = list(self._in_flight.values()), {}
        for p in pending:
            try:
                self.audit.result(p, "unknown: n9s ended before the call returned")
            except OSError:
                pass
        return len(pending)

    # ---- containers ----
    def stop_container(self, target: Target, grace_s: int = DEFAULT_GRACE_S) -> ActionResult:
        grace_s = max(0, int(grace_s))
        return self._run("stop-container", target, {"grace_period_s": grace_s},
                         lambda: self._runtime().stop_container(target.id, grace_s))

    def kill_container(self, target: Target, signal: str = "SIGKILL") -> ActionResult:
        number = signal_number(signal)
        self._refuse_if_readonly("kill-container", target)
        return self._run("kill-container", target, {"signal": signal.upper(), "all_processes": False},
                         lambda: self._containerd("killing with a chosen signal").kill(target.id, number,
                                                                                        all_processes=False))

    def remove_container(self, target: Target) -> ActionResult:
        return self._run("remove-container", target, {}, lambda: self._runtime().remove_container(target.id))

    # ---- pods ----
    def stop_pod(self, target: Target, grace_s: int = 0, stopped_first: tuple[str, ...] = ()) -> ActionResult:
        """StopPodSandbox. ``grace_s`` is the grace period the user chose; ``stopped_first`` the containers that
        were given it (each by its own stop-container action) before this call, which kills whatever still runs."""
        params = {"grace_period_s": max(0, int(grace_s)), "containers_stopped_first": list(stopped_first)}
        return self._run("stop-pod", target, params, lambda: self._runtime().stop_pod_sandbox(target.id))

    def remove_pod(self, target: Target) -> ActionResult:
        return self._run("remove-pod", target, {}, lambda: self._runtime().remove_pod_sandbox(target.id))

    def delete_pod_api(self, target: Target, grace_s: int = DEFAULT_GRACE_S) -> ActionResult:
        self._refuse_if_readonly("delete-pod", target)
        if self.kube is None:
            raise SourceError("deleting a pod needs the Kubernetes API, which is not configured")
        grace_s = max(0, int(grace_s))
        params = {"grace_period_s": grace_s, "api": _api_of(self.kube)}
        return self._run("delete-pod", target, params,
                         lambda: self.kube.delete_pod(target.namespace, target.name, grace_period_seconds=grace_s))

    # ---- exec: a way into the container, so read-only mode refuses it too ----
    def exec_sync(self, target: Target, argv: list[str], timeout_s: int = 10):
        """ExecSync; the result record carries the command's exit code (``exit 7``)."""
        _check_argv(argv)
        outcome, result = self._perform("exec", target, {"argv": list(argv), "timeout_s": timeout_s},
                                        lambda: self._runtime().exec_sync(target.id, list(argv), timeout_s), _exit_summary)
        return outcome, result

    def exec_url(self, target: Target, argv: list[str], *, tty: bool = True, stdin: bool = True):
        _check_argv(argv)
        return self._perform("shell", target, {"argv": list(argv), "tty": tty, "stdin": stdin},
                             lambda: self._runtime().exec_url(target.id, list(argv), tty=tty, stdin=stdin))

    def open_shell(self, target: Target, candidates: tuple[tuple[str, ...], ...] | None = None, *,
                   probe_timeout_s: int = 5, tty: bool = True, stdin: bool = True):
        """`s`: find a shell (``<shell> -c "exit 0"`` with ExecSync, bash then sh) and ask for an exec stream of
        the first that runs. One audited action, ``shell``, whose result names the shell found (the probes run
        in the container, so they are covered by its intent record, not logged apart).

        Returns (outcome, shell argv or None when there is none, stream URL or None)."""
        from n9s.sources.exec import SHELL_CANDIDATES, choose_shell, probe_result

        tried = candidates if candidates is not None else SHELL_CANDIDATES

        def probe(argv: list[str]) -> bool:
            try:
                result = self._runtime().exec_sync(target.id, list(argv), probe_timeout_s)
            except SourceError as err:
                return probe_result(False, str(err), None)  # a missing binary is "no", anything else raises
            return probe_result(True, "", result.exit_code)

        def call() -> tuple[list[str] | None, str | None]:
            shell = choose_shell(probe, tried)
            if shell is None:
                return None, None
            return shell, self._runtime().exec_url(target.id, shell, tty=tty, stdin=stdin)

        def summary(value: tuple[list[str] | None, str | None]) -> tuple[str, dict[str, Any]]:
            shell, _ = value
            if shell is None:
                return "no shell: none of the candidates runs", {"shell": None}
            return "ok", {"shell": shell}

        params = {"candidates": [list(c) for c in tried], "probe": ["-c", "exit 0"],
                  "probe_timeout_s": probe_timeout_s, "tty": tty, "stdin": stdin}
        outcome, value = self._perform("shell", target, params, call, summary)
        shell, url = value if value is not None else (None, None)
        return outcome, shell, url

    def attach_url(self, target: Target, *, stdin: bool = False, tty: bool = False, forward_keys: bool | None = None):
        """``stdin`` is what the stream asks the runtime for; ``forward_keys`` whether the user's keys are sent
        (a read-only attach to a container that keeps stdin open still asks for stdin, or the runtime drops it)."""
        keys = stdin if forward_keys is None else forward_keys
        params = {"stdin": keys, "tty": tty, "mode": "input" if keys else "read-only"}
        if stdin != keys:
            params["stdin_stream"] = stdin  # asked of the runtime though no key is sent
        return self._perform("attach", target, params,
                             lambda: self._runtime().attach_url(target.id, tty=tty, stdin=stdin))

    # ---- execs: end one exec's process (a session n9s started, or one the user chose to end) ----
    def end_exec(self, target: Target, exec_id: str, *, pid: int = 0, program: str = "", why: str = "") -> ActionResult:
        """SIGHUP to the exec's process, SIGKILL after a short grace. ``program`` is argv[0] only: the rest of
        another client's command line may hold what the audit log must not."""
        from n9s.sources.exec_procs import HANGUP_GRACE_S, end_exec_process

        self._refuse_if_readonly("end-exec", target)
        params = {"exec_id": exec_id, "pid": pid, "program": program, "why": why,
                  "signals": f"SIGHUP, then SIGKILL after {HANGUP_GRACE_S:g} s"}
        return self._run("end-exec", target, params,
                         lambda: end_exec_process(self._containerd("ending an exec"), target.id, exec_id,
                                                  HANGUP_GRACE_S))


def _exit_summary(result: Any) -> tuple[str, dict[str, Any]]:
    code = getattr(result, "exit_code", None)
    if code is None:
        return "ok", {}
    return f"exit {code}", {"exit_code": code}


def _api_of(kube: Any) -> str | None:
    """Which API server a delete goes to, through which kubeconfig, context and user (no credentials)."""
    client = getattr(kube, "client", None) or kube
    target = getattr(client, "target", None)
    return target.describe() if target is not None else None

def node_actions(address: str, namespace: str, **options: Any) -> Actions:
    """The action layer for the runtime at ``address``, on CRI and containerd clients of its own: the refresh
    renews its channel when the runtime stops answering, and an action under way must keep waiting for its own
    answer or deadline meanwhile. ``options``: as for Actions (readonly, audit, kube)."""
    from n9s.sources.containerd import ContainerdClient
    from n9s.sources.cri import CriClient

    return Actions(CriClient(address), ContainerdClient(address, namespace=namespace), **options)
