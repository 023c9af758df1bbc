"""`s` shell, `a` attach, `x` run one command: from a selected row to a target, through the action layer (which
checks read-only mode and writes the audit log), to the user's terminal or the ExecSync panel.

The interactive paths suspend the TUI (`App.suspend()`), hand the real terminal to the stream
(`n9s.sources.exec.run_in_terminal`) and, when it ends, come back with a notification saying how it ended."""
from __future__ import annotations

import logging
import signal
import sys
from dataclasses import dataclass
from typing import Any, Callable

from n9s.actions.layer import Target
from n9s.actions.exec_cleanup import ExecClaim, Settled, settle
from n9s.model.picture import ContainerRow, NodePicture
from n9s.core.sanitize import sanitize_label, sanitize_text
from n9s.sources.errors import ReadOnlyRefused, SourceError
from n9s.sources.exec import DETACH_KEY, DETACH_KEY_NAME, SHELL_CANDIDATES, SessionEnd, run_in_terminal
from n9s.ui.terminal_lending import lend_terminal

log = logging.getLogger("n9s.exec")

PROBE_TIMEOUT_S = 5
EXEC_TIMEOUT_S = 30
CTRL_C = b"\x03"


class NoTarget(ValueError):
    """The selected row has nothing to exec into (gone, not running, a pod with no running container)."""


@dataclass(frozen=True)
class ContainerIO:
    """How the container's main process was started: with a TTY, with stdin kept open."""

    tty: bool
    stdin_open: bool


@dataclass(frozen=True)
class Session:
    """One interactive stream to run in the user's terminal."""

    url: str
    what: str  # "shell" or "attach"
    label: str  # ns/pod/container, sanitised
    tty: bool
    forward_keys: bool
    target: Target
    claim: ExecClaim | None = None  # the exec this session starts, to end when it ends (a shell; attach starts none)


# ---- targets ----
def label_of(target: Target) -> str:
    parts = [p for p in (target.namespace, target.pod, target.name) if p]
    return sanitize_label("/".join(parts) if parts else target.id[:13])


def _target(c: ContainerRow) -> Target:
    return Target(id=c.id, name=c.name, namespace=c.namespace, pod=c.pod_name, kind="container")


def resolve_target(picture: NodePicture | None, kind: str, key: str) -> Target:
    """The running container a row means: the container itself, or a pod's first running container."""
    if picture is None:
        raise NoTarget("the node has not been read yet; try again in a moment")
    if kind == "pod":
        pod = picture.pod(key)
        if pod is None:
            raise NoTarget("that pod is gone")
        running = [c for c in pod.containers if c.state == "RUNNING"]
        if not running:
            raise NoTarget(f"pod {sanitize_label(pod.namespace + '/' + pod.name)} has no running container")
        return _target(running[0])
    container = picture.container(key)
    if container is None:
        raise NoTarget("that container is gone")
    if container.state != "RUNNING":
        raise NoTarget(f"container {sanitize_label(container.name)} is {container.state}: "
                       "exec and attach need a running container")
    return _target(container)


def _actions(app: Any) -> Any:
    actions = getattr(app, "actions", None)
    if actions is None:
        tell(app, "actions are not available in this session", "error")
    return actions


def starting(app: Any) -> bool:
    """A shell or attach is being set up already (a second `s` would queue a second session after it)."""
    return any(w.group == "exec" and not w.is_finished for w in getattr(app, "workers", ()))


def _prepare(app: Any, kind: str, key: str) -> tuple[Any, Target] | None:
    actions = _actions(app)
    if actions is None:
        return None
    try:
        return actions, resolve_target(app.picture, kind, key)
    except NoTarget as err:
        tell(app, str(err), "warning")
        return None


def container_io(cri: Any, container_id: str) -> ContainerIO:
    """TTY and stdin of the main process, from the verbose ContainerStatus (the CRI config the runtime keeps;
    the OCI spec's process.terminal when the config is missing)."""
    if cri is None:  # remote mode: the key is not offered there; this covers any other way in
        raise SourceError("attach is not available in remote mode: needs the node's runtime socket")
    status = cri.container_status(container_id, verbose=True)
    config = status.info.get("config")
    config = config if isinstance(config, dict) else {}
    process = status.runtime_spec.get("process")
    terminal = bool(process.get("terminal")) if isinstance(process, dict) else False
    return ContainerIO(tty=bool(config.get("tty", terminal)), stdin_open=bool(config.get("stdin", False)))


# ---- s ----
def open_shell(app: Any, kind: str, key: str) -> None:
    if starting(app):
        tell(app, "a session is starting already", "warning")
        return
    prepared = _prepare(app, kind, key)
    if prepared is None:
        return
    actions, target = prepared
    app.run_worker(lambda: _start_shell(app, actions, target), thread=True, exit_on_error=False, name="shell",
                   group="exec")


def _start_shell(app: Any, actions: Any, target: Target) -> None:
    label = label_of(target)
    claim = ExecClaim(actions, target, [], label)
    claim.prepare()  # the execs there before this session's, so its own can be told apart
    try:
        # One audited action: the probes for bash then sh, and the stream for the first that runs.
        outcome, shell, url = actions.open_shell(target, SHELL_CANDIDATES, probe_timeout_s=PROBE_TIMEOUT_S)
    except SourceError as err:
        app.call_from_thread(_notify_error, app, err, "shell")
        return
    if outcome.ok and shell is None:
        note = (f"{label} has no shell (neither bash nor sh: a distroless image?). "
                "You can still run one command at a time here.")
        app.call_from_thread(_open_panel, app, actions, target, note)
        return
    if not outcome.ok or not url:
        app.call_from_thread(tell, app, f"shell in {label}: {sanitize_text(outcome.message)}", "error")
        return
    claim.argv = tuple(shell)  # the session's own exec runs the shell the probes found
    session = Session(url, "shell", label, tty=True, forward_keys=True, target=target, claim=claim)
    app.call_from_thread(run_session, app, session, lambda end: _shell_ended(label, shell, end))


def _shell_ended(label: str, shell: list[str], end: SessionEnd) -> tuple[str, str]:
    if end.detached:
        if end.kept:
            return f"left the shell in {label}", "information"
        if end.hung_up or end.signal:
            return f"the shell in {label} ended: {sanitize_text(end.message)}", "warning"
        return f"left the shell in {label} ({DETACH_KEY_NAME})", "information"
    if end.exit_code is None:
        return (f"shell in {label} ended: {sanitize_text(end.message)}", "error")
    return (f"{shell[0]} in {label} ended with exit code {end.exit_code}",
            "information" if end.exit_code == 0 else "warning")


# ---- a ----
def open_attach(app: Any, key: str) -> None:
    if starting(app):
        tell(app, "a session is starting already", "warning")
        return
    prepared = _prepare(app, "container", key)
    if prepared is None:
        return
    actions, target = prepared
    app.run_worker(lambda: _ask_attach(app, actions, target), thread=True, exit_on_error=False, name="attach",
                   group="exec")


def _ask_attach(app: Any, actions: Any, target: Target) -> None:
    from n9s.ui.screens.attach_choice import AttachChoice

    try:
        io = container_io(actions.cri, target.id)
    except SourceError as err:
        app.call_from_thread(_notify_error, app, err)
        return
    screen = AttachChoice(label_of(target), tty=io.tty, stdin_open=io.stdin_open)
    app.call_from_thread(app.push_screen, screen, lambda choice: _attach_chosen(app, actions, target, io, choice))


def _attach_chosen(app: Any, actions: Any, target: Target, io: ContainerIO, choice: str | None) -> None:
    from n9s.ui.screens.attach_choice import WITH_STDIN

    if not choice:
        return
    forward = choice == WITH_STDIN and io.stdin_open
    app.run_worker(lambda: _start_attach(app, actions, target, io, forward), thread=True, exit_on_error=False,
                   name="attach", group="exec")


def _start_attach(app: Any, actions: Any, target: Target, io: ContainerIO, forward: bool) -> None:
    label = label_of(target)
    # When the container keeps stdin open, a stream without stdin ends at once (the runtime reads EOF from the
    # missing channel and drops the attach), so stdin is asked for whenever it is open; read-only then means
    # n9s never sends a key. tty must match the container: a non-TTY attach carries stdout and stderr.
    try:
        outcome, url = actions.attach_url(target, stdin=io.stdin_open, tty=io.tty, forward_keys=forward)
    except SourceError as err:
        app.call_from_thread(_notify_error, app, err)
        return
    if not outcome.ok or not url:
        app.call_from_thread(tell, app, f"attach to {label}: {sanitize_text(outcome.message)}", "error")
        return
    session = Session(url, "attach", label, tty=io.tty, forward_keys=forward, target=target)
    app.call_from_thread(run_session, app, session, lambda end: attach_ended(actions.cri, target, label, end))


def attach_ended(cri: Any, target: Target, label: str, end: SessionEnd) -> tuple[str, str]:
    """Attach's stream carries no exit code: ask ContainerStatus whether the process ended, and with what."""
    if end.detached:
        return f"detached from {label}; it keeps running", "information"
    try:
        status = cri.container_status(target.id)
    except SourceError as err:
        return f"attach to {label} ended; its status is unknown: {err}", "warning"
    if status.state == "EXITED":
        return (f"{label} exited with code {status.exit_code}",
                "information" if status.exit_code == 0 else "warning")
    detail = f": {sanitize_text(end.message)}" if end.message else ""
    return f"attach to {label} ended{detail}; the container is {status.state}", "warning"


# ---- the interactive session itself (runs on the app's thread, with the TUI suspended) ----
def session_hint(session: Session) -> str:
    if session.what == "shell":
        return (f"n9s: shell in {session.label}. exit, or {DETACH_KEY_NAME} to leave "
                f"(ends {_program(session)} unless you keep it)")
    keys = "your keys go to the process" if session.forward_keys else "read-only"
    leave = DETACH_KEY_NAME if session.forward_keys and session.tty else f"{DETACH_KEY_NAME} or ctrl-c"
    return f"n9s: attached to {session.label} ({keys}). {leave} detaches."


def _program(session: Session) -> str:
    argv = session.claim.argv if session.claim is not None else ()
    return sanitize_label(argv[0], 40) if argv else session.what


def leave_prompt(session: Session) -> str:
    """The question a detach key asks when leaving would end what the session started."""
    if session.claim is None:
        return ""
    return (f"n9s: leave {session.label}?  Enter: end {_program(session)} and leave   k: leave it running   "
            "other keys: back")


def detach_keys(session: Session) -> bytes:
    # In a TTY the container turns ctrl-c into SIGINT, so it must pass through. Elsewhere it would reach the
    # process as a plain byte, so it leaves the session, as it leaves kubectl.
    return DETACH_KEY if session.forward_keys and session.tty else DETACH_KEY + CTRL_C


def run_session(app: Any, session: Session, describe_end: Callable[[SessionEnd], tuple[str, str]]) -> None:
    end: SessionEnd | None = None
    try:
        end = _run_session(app, session, describe_end)
    finally:
        if end is not None and (end.signal or end.hung_up):
            # Handled in the session so its process could be ended first; now do what the signal asked (n9s ends).
            signal.raise_signal(end.signal or signal.SIGHUP)


def _run_session(app: Any, session: Session, describe_end: Callable[[SessionEnd], tuple[str, str]]) -> SessionEnd | None:
    from textual.app import SuspendNotSupported

    end = None
    claim = session.claim
    settled = Settled("")
    try:
        with lend_terminal(app, sys.__stdin__.fileno()):
            try:
                end = run_in_terminal(session.url, tty=session.tty, stdin=session.forward_keys,
                                      hint=session_hint(session), stdin_fd=sys.__stdin__.fileno(),
                                      stdout_fd=sys.__stdout__.fileno(), detach_keys=detach_keys(session),
                                      reports_exit_code=session.what != "attach", leave_prompt=leave_prompt(session),
                                      on_connected=claim.connected if claim is not None else None,
                                      on_output=claim.spoke if claim is not None else None)
            finally:
                settled = settle(claim, end)  # before the TUI comes back: the terminal may be gone
    except SuspendNotSupported:
        tell(app, "this terminal cannot be handed over to a session (n9s is not on a real terminal)", "error")
        return None
    except SourceError as err:
        _notify_error(app, err)
        _tell_settled(app, settled)
        return end
    except OSError as err:
        log.exception("%s session failed", session.what)
        tell(app, f"{session.what} in {session.label} failed: {err}", "error")
        _tell_settled(app, settled)
        return end
    log.info("%s in %s ended: %s", session.what, session.target.id, end)
    message, severity = describe_end(end)
    if settled.note:
        message = f"{message}; {settled.note}"
        severity = severity if settled.ok else "warning"
    tell(app, message, severity)
    if hasattr(app, "request_refresh"):
        app.request_refresh()
    return end


def _tell_settled(app: Any, settled: Settled) -> None:
    if settled.note:
        tell(app, settled.note, "information" if settled.ok else "warning")


# ---- x ----
def open_exec_once(app: Any, key: str) -> None:
    prepared = _prepare(app, "container", key)
    if prepared is None:
        return
    actions, target = prepared
    _open_panel(app, actions, target)


def _open_panel(app: Any, actions: Any, target: Target, note: str = "") -> None:
    from n9s.ui.screens.exec_panel import ExecPanel

    def run(argv: list[str]):
        return actions.exec_sync(target, argv, timeout_s=EXEC_TIMEOUT_S)

    app.push_screen(ExecPanel(label_of(target), run, timeout_s=EXEC_TIMEOUT_S, note=note))


def tell(app: Any, message: str, severity: str = "information") -> None:
    """A notification. Never as markup: the text may hold names and messages that came from a container."""
    app.notify(message, severity=severity, timeout=8, markup=False)


def _notify_error(app: Any, err: SourceError, what: str = "") -> None:
    if isinstance(err, ReadOnlyRefused):
        log.info("%s refused: %s", what or "exec", err)
        # The shell's first step is an ExecSync probe: name what the user asked for, not the probe.
        tell(app, f"{what} refused: n9s runs read-only" if what else str(err), "error")
        return
    tell(app, sanitize_text(str(err)), "error")
