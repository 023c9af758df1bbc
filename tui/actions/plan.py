"""What ctrl-k (stop/kill) and ctrl-d (remove/delete) will do: which rows an action applies to, what the dialog says
will happen, and `perform`, which calls the action layer. Plain Python: the dialogs and the app glue are in
`n9s.ui.flows.action_flow` and `n9s.ui.screens.confirm`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from n9s.actions.layer import DEFAULT_GRACE_S, ActionResult, Target
from n9s.core.daemon_threads import map_unordered
from n9s.model.picture import ContainerRow, NodePicture, PodRow
from n9s.core.sanitize import sanitize_label
from n9s.sources.errors import ReadOnlyRefused, SourceError

log = logging.getLogger("n9s.actions.plan")

STOP = "stop"
KILL = "kill"
REMOVE = "remove"
DELETE_API = "delete-api"

KUBELET_POD_UID_LABEL = "io.kubernetes.pod.uid"  # set by a kubelet on every sandbox and container it creates
PARALLEL_CALLS = 4  # a stop blocks for its grace period, so several targets are stopped side by side
MAX_MESSAGE = 300


@dataclass(frozen=True)
class Subject:
    """One selected row: what the dialog describes and the action layer receives."""

    kind: str  # container | pod
    target: Target
    label: str  # printable: "server (default/web)" or "default/web"
    state: str  # container: RUNNING EXITED CREATED UNKNOWN; pod: READY NOTREADY
    kubelet: bool = False  # made by a kubelet, which starts a replacement
    static: bool = False  # a static pod (or a container of one): the kubelet runs it from a manifest file
    owner: str = ""  # the controller the API names, e.g. "ReplicaSet web-7d9f"
    running_containers: tuple[Target, ...] = ()  # a pod's: each gets the grace period before the sandbox stops

    @property
    def active(self) -> bool:
        """Still running: a stop or a removal has something to end."""
        if self.kind == "pod":
            return self.state == "READY"
        return self.state in ("RUNNING", "UNKNOWN")


@dataclass(frozen=True)
class Choice:
    """What the user confirmed in a dialog."""

    operation: str  # STOP | KILL | REMOVE | DELETE_API
    grace_s: int = DEFAULT_GRACE_S
    signal: str = "SIGTERM"


@dataclass(frozen=True)
class Outcome:
    subject: Subject
    ok: bool
    message: str  # one line for the notification
    refused: bool = False  # read-only mode said no


# ---- which rows ----
def _owner(api: Any) -> str:
    owner = getattr(api, "owner", None)
    if owner is None:
        return ""
    return f"{sanitize_label(owner.kind, 40)} {sanitize_label(owner.name, 60)}"


def container_subject(c: ContainerRow, pod: PodRow | None) -> Subject:
    target = Target(id=c.id, name=c.name, namespace=c.namespace, pod=c.pod_name, kind="container")
    label = f"{sanitize_label(c.name, 60)} ({sanitize_label(c.pod_key, 80)})"
    kubelet = KUBELET_POD_UID_LABEL in c.labels or (pod is not None and KUBELET_POD_UID_LABEL in pod.labels)
    return Subject("container", target, label, c.state, kubelet=kubelet, static=bool(pod and pod.static),
                   owner=_owner(pod.api) if pod is not None else "")


def pod_subject(p: PodRow) -> Subject:
    target = Target(id=p.id, name=p.name, namespace=p.namespace, pod=p.name, kind="pod")
    running = tuple(
        Target(id=c.id, name=c.name, namespace=c.namespace, pod=c.pod_name, kind="container")
        for c in p.containers if c.state in ("RUNNING", "UNKNOWN")
    )
    return Subject("pod", target, sanitize_label(f"{p.namespace}/{p.name}", 120), p.state,
                   kubelet=KUBELET_POD_UID_LABEL in p.labels, static=p.static, owner=_owner(p.api),
                   running_containers=running)


def subjects_for(picture: NodePicture | None, kind: str, keys: Sequence[str]) -> list[Subject]:
    """The selected rows that still exist in the picture, in the order given. Tasks are containers by id."""
    if picture is None:
        return []
    out: list[Subject] = []
    for key in keys:
        if kind == "pod":
            pod = picture.pod(key)
            if pod is not None:
                out.append(pod_subject(pod))
        elif kind in ("container", "task"):
            c = picture.container(key)
            if c is not None:
                out.append(container_subject(c, picture.pod(c.sandbox_id)))
    return out


# ---- what the dialog says ----
def counted(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def what_of(kind: str, subjects: Sequence[Subject]) -> str:
    if len(subjects) == 1:
        return f"{kind} {subjects[0].label}"
    return counted(len(subjects), kind, kind + "s")


def title(kind: str, subjects: Sequence[Subject], choice: Choice) -> str:
    """The dialog's question, counting the rows: "Stop 3 containers?"."""
    what = what_of(kind, subjects)
    if choice.operation == STOP:
        return f"Stop {what}?"
    if choice.operation == KILL:
        return f"Send {choice.signal} to {what}?"
    if choice.operation == REMOVE:
        return f"Remove {what}?"
    if choice.operation == DELETE_API:
        return f"Delete {what} through the Kubernetes API?"
    raise ValueError(f"unknown operation {choice.operation!r}")


def confirm_label(choice: Choice) -> str:
    return {STOP: "Stop", KILL: "Kill", REMOVE: "Remove", DELETE_API: "Delete"}[choice.operation]


def _kubelet_restarts_containers(subjects: Sequence[Subject]) -> list[str]:
    managed = [s for s in subjects if s.kubelet]
    if not managed:
        return []
    return ["The kubelet starts a new container when the pod's restartPolicy asks for one (Always, the default "
            "for Deployments, after a back-off); to keep it down, change or delete the pod."]


def _kubelet_replaces_pods(subjects: Sequence[Subject]) -> list[str]:
    lines = []
    static = [s for s in subjects if s.kubelet and s.static]
    api = [s for s in subjects if s.kubelet and not s.static]
    if api:
        lines.append("The kubelet starts a replacement sandbox and containers as long as the pod exists in the API: "
                     "delete it through the API to stop it for good.")
    if static:
        lines.append(f"{counted(len(static), 'static pod', 'static pods')}: the kubelet starts a replacement as long "
                     "as the manifest stays in its manifest directory: remove the manifest to stop it for good.")
    unmanaged = len(subjects) - len(static) - len(api)
    if unmanaged:
        lines.append(f"{counted(unmanaged, 'pod was', 'pods were')} not made by a kubelet: nothing brings "
                     f"{'it' if unmanaged == 1 else 'them'} back.")
    return lines


def consequences(kind: str, subjects: Sequence[Subject], choice: Choice) -> list[str]:
    """What will happen, one sentence a line, from what CRI, containerd and a kubelet do."""
    n = len(subjects)
    inactive = [s for s in subjects if not s.active]
    active = n - len(inactive)
    op, grace = choice.operation, choice.grace_s
    lines: list[str] = []
    if kind == "pod":
        if op == STOP:
            if grace > 0:
                containers = sum(len(s.running_containers) for s in subjects)
                lines.append(f"CRI StopContainer gives each running container ({containers} in all) its stop signal "
                             f"(SIGTERM unless the image sets another) and up to {grace} s to exit, then SIGKILL; "
                             "then StopPodSandbox stops the sandbox (pause process and network).")
            else:
                lines.append("Grace period 0: CRI StopPodSandbox kills every container at once (SIGKILL, no "
                             "cleanup) and stops the sandbox (pause process and network).")
            if inactive:
                lines.append(f"{counted(len(inactive), 'pod is', 'pods are')} already stopped: nothing changes there.")
            lines += _kubelet_replaces_pods(subjects)
        elif op == REMOVE:
            lines.append("CRI RemovePodSandbox removes the sandbox and every container in it, with their writable "
                         "layers.")
            if active:
                lines.append(f"{counted(active, 'pod is', 'pods are')} still READY: CRI force-stops "
                             f"{'it' if active == 1 else 'them'} first (SIGKILL, no grace period).")
            lines += _kubelet_replaces_pods(subjects)
        elif op == DELETE_API:
            lines.append(f"The API server marks the pod{'s' if n > 1 else ''} for deletion with a grace period of "
                         f"{grace} s; the kubelet then stops the containers (SIGTERM, SIGKILL after the grace "
                         "period) and removes the sandbox.")
            for s in subjects:
                if s.owner and not s.static:
                    lines.append(f"{s.label} is owned by {s.owner}, which creates a replacement pod.")
            static = [s for s in subjects if s.static]
            if static:
                lines.append(f"{counted(len(static), 'static pod', 'static pods')}: the API object is only a "
                             "mirror; deleting it does not stop the pod and the kubelet recreates the mirror. "
                             "Remove the manifest file instead.")
        else:
            raise ValueError(f"a pod cannot be asked to {op}")
        return lines

    if op == STOP:
        if grace > 0:
            lines.append(f"CRI StopContainer sends the stop signal (SIGTERM unless the image sets another), waits up "
                         f"to {grace} s for the container to exit, then sends SIGKILL.")
        else:
            lines.append("Grace period 0: CRI StopContainer sends SIGKILL at once; the container gets no chance to "
                         "clean up (exit code 137).")
        if inactive:
            lines.append(f"{counted(len(inactive), 'container is', 'containers are')} not running: stopping again "
                         "changes nothing.")
        lines += _kubelet_restarts_containers(subjects)
    elif op == KILL:
        if choice.signal == "SIGKILL":
            lines.append("containerd sends SIGKILL to the main process: it ends at once, with no cleanup (exit code "
                         "137).")
        else:
            lines.append(f"containerd sends {choice.signal} to the main process only. It ends only if the process "
                         "handles the signal or its default action ends it; a PID 1 ignores signals it has no "
                         "handler for.")
        if inactive:
            lines.append(f"{counted(len(inactive), 'container is', 'containers are')} not running: there is no "
                         "process to signal, containerd will refuse.")
        lines += _kubelet_restarts_containers(subjects)
    elif op == REMOVE:
        lines.append("CRI RemoveContainer deletes the container and its writable layer.")
        if active:
            lines.append(f"{counted(active, 'container is', 'containers are')} still RUNNING: CRI force-stops "
                         f"{'it' if active == 1 else 'them'} first (SIGKILL, no grace period).")
        lines += _kubelet_restarts_containers(subjects)
    else:
        raise ValueError(f"a container cannot be asked to {op}")
    return lines


# ---- doing it ----
def _done_message(s: Subject, choice: Choice) -> str:
    op = choice.operation
    if op == STOP:
        how = f"grace period {choice.grace_s} s" if choice.grace_s > 0 else "killed at once, grace period 0"
        return f"Stopped {s.kind} {s.label} ({how})"
    if op == KILL:
        return f"Sent {choice.signal} to {s.label}"
    if op == REMOVE:
        return f"Removed {s.kind} {s.label}"
    return f"Deleted pod {s.label} through the API (grace period {choice.grace_s} s)"


def _verb(choice: Choice) -> str:
    return {STOP: "Stop", KILL: f"Sending {choice.signal} to", REMOVE: "Remove", DELETE_API: "API delete of"}[
        choice.operation]


def _stop_pod(actions: Any, s: Subject, grace_s: int) -> ActionResult:
    """As a kubelet does: each running container gets the grace period (side by side), then the sandbox stops."""
    first = s.running_containers if grace_s > 0 else ()
    stops = list(map_unordered(lambda t: actions.stop_container(t, grace_s), first, PARALLEL_CALLS, "n9s-stop"))
    undone = [r for r in stops if not r.done]
    if undone:  # the audit log failed: the sandbox is not stopped, and the message says what was
        done = len(stops) - len(undone)
        message = undone[0].message + (f" (the sandbox was not stopped; {done} of {len(stops)} container stops "
                                       "ran before the log failed)" if done else "")
        return ActionResult("stop-pod", s.target, False, message, done=False)
    failures = [f"{r.target.name}: {r.message}" for r in stops if not r.ok]
    result = actions.stop_pod(s.target, grace_s, tuple(t.id for t in first))
    if result.ok and failures:
        # The sandbox stop killed what the graceful stop could not end; say so.
        return ActionResult(result.action, result.target, True, "ok, but " + "; ".join(failures))
    return result


def perform_one(actions: Any, s: Subject, choice: Choice) -> Outcome:
    op = choice.operation
    try:
        if s.kind == "pod":
            if op == STOP:
                result = _stop_pod(actions, s, choice.grace_s)
            elif op == REMOVE:
                result = actions.remove_pod(s.target)
            elif op == DELETE_API:
                result = actions.delete_pod_api(s.target, choice.grace_s)
            else:
                raise ValueError(f"a pod cannot be asked to {op}")
        elif op == STOP:
            result = actions.stop_container(s.target, choice.grace_s)
        elif op == KILL:
            result = actions.kill_container(s.target, choice.signal)
        elif op == REMOVE:
            result = actions.remove_container(s.target)
        else:
            raise ValueError(f"a container cannot be asked to {op}")
    except ReadOnlyRefused as err:
        return Outcome(s, False, sanitize_label(str(err), MAX_MESSAGE), refused=True)
    except (SourceError, ValueError) as err:
        return Outcome(s, False, sanitize_label(f"{_verb(choice)} {s.label} failed: {err}", MAX_MESSAGE))
    if not result.done:  # the audit log cannot be written: nothing was done, and the message says why
        why = result.message.removeprefix("not done: ")
        return Outcome(s, False, sanitize_label(f"Not done: {_verb(choice)} {s.kind} {s.label}: {why}", MAX_MESSAGE))
    if not result.ok:
        return Outcome(s, False, sanitize_label(f"{_verb(choice)} {s.label} failed: {result.message}", MAX_MESSAGE))
    message = _done_message(s, choice)
    if result.message != "ok":
        message += f": {result.message}"
    return Outcome(s, True, sanitize_label(message, MAX_MESSAGE))


def perform(actions: Any, subjects: Sequence[Subject], choice: Choice,
            report: Callable[[Outcome], None] = lambda o: None) -> list[Outcome]:
    """Apply one confirmed choice to every subject, a few side by side; `report` gets each outcome as it comes.
    Blocking: run it in a thread."""
    if not subjects:
        return []
    outcomes: list[Outcome] = []
    for outcome in map_unordered(lambda s: perform_one(actions, s, choice), subjects, PARALLEL_CALLS):
        outcomes.append(outcome)
        report(outcome)
    return outcomes
