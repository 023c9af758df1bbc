"""The STATUS, READY and RESTARTS columns of `kubectl get pods`, computed from a raw v1 Pod dict.

The rules, in kubectl's order:
1. Start from status.phase; status.reason (Evicted, NodeLost, ...) replaces it; a PodScheduled
   condition with reason SchedulingGated shows SchedulingGated.
2. Walk the init containers in order. A completed one (exit 0) is skipped, a started sidecar
   (restartPolicy Always) is skipped and counted for READY. The first other one decides:
   terminated -> Init:<reason> (or Init:Signal:N / Init:ExitCode:N), waiting with a reason other
   than PodInitializing -> Init:<reason>, anything else -> Init:<index>/<count>.
3. Once initialised, walk the app containers from last to first, so the FIRST container with a
   waiting or terminated reason wins: its waiting reason, terminated reason, or Signal:N / ExitCode:N.
   Running and ready containers count for READY. "Completed" with a container still running shows
   Running (or NotReady without a Ready condition).
4. A deletionTimestamp shows Terminating, unless the phase is terminal (Succeeded/Failed); a
   deleted pod on an unreachable node (reason NodeLost) shows Unknown.

RESTARTS counts init containers while the pod is still initialising; afterwards it counts the
sidecars and app containers only. The last restart time follows the same rule.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from n9s.sources.kube.times import parse_time

_TERMINAL_PHASES = ("Succeeded", "Failed")


@dataclass(frozen=True)
class PodStatusColumns:
    status: str
    ready: int
    total: int
    restarts: int
    last_restart: datetime | None


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _later(current: datetime | None, candidate: datetime | None) -> datetime | None:
    if candidate is None:
        return current
    if current is None or candidate > current:
        return candidate
    return current


def is_sidecar(container_spec: dict | None) -> bool:
    """An init container with restartPolicy Always keeps running next to the app containers."""
    return container_spec is not None and container_spec.get("restartPolicy") == "Always"


def _terminated_text(terminated: dict, prefix: str = "") -> str:
    reason = terminated.get("reason") or ""
    if reason:
        return prefix + reason
    signal = _int(terminated.get("signal"))
    if signal:
        return f"{prefix}Signal:{signal}"
    return f"{prefix}ExitCode:{_int(terminated.get('exitCode'))}"


def _has_condition(status: dict, kind: str) -> bool:
    return any(
        _dict(c).get("type") == kind and _dict(c).get("status") == "True"
        for c in _list(status.get("conditions"))
    )


def pod_status_columns(pod: dict) -> PodStatusColumns:
    """STATUS, READY x/y, RESTARTS and the last restart time, exactly as kubectl prints them."""
    metadata = _dict(pod.get("metadata"))
    spec = _dict(pod.get("spec"))
    status = _dict(pod.get("status"))

    phase = status.get("phase") or ""
    reason = status.get("reason") or phase
    for condition in _list(status.get("conditions")):
        condition = _dict(condition)
        if condition.get("type") == "PodScheduled" and condition.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    init_specs = {c.get("name"): c for c in map(_dict, _list(spec.get("initContainers")))}
    total = len(_list(spec.get("containers"))) + sum(1 for c in init_specs.values() if is_sidecar(c))
    ready = 0
    restarts = 0
    last_restart: datetime | None = None
    sidecar_restarts = 0
    sidecar_last_restart: datetime | None = None

    initializing = False
    init_count = len(_list(spec.get("initContainers")))
    for index, cs in enumerate(map(_dict, _list(status.get("initContainerStatuses")))):
        count = _int(cs.get("restartCount"))
        restarts += count
        finished = parse_time(_dict(_dict(cs.get("lastState")).get("terminated")).get("finishedAt"))
        last_restart = _later(last_restart, finished)
        sidecar = is_sidecar(init_specs.get(cs.get("name")))
        if sidecar:
            sidecar_restarts += count
            sidecar_last_restart = _later(sidecar_last_restart, finished)
        state = _dict(cs.get("state"))
        terminated = state.get("terminated")
        waiting = state.get("waiting")
        if isinstance(terminated, dict) and _int(terminated.get("exitCode")) == 0:
            continue
        if sidecar and cs.get("started") is True:
            if cs.get("ready"):
                ready += 1
            continue
        if isinstance(terminated, dict):
            reason = _terminated_text(terminated, "Init:")
        elif isinstance(waiting, dict) and waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{index}/{init_count}"
        initializing = True
        break

    if not initializing or _has_condition(status, "Initialized"):
        restarts = sidecar_restarts
        last_restart = sidecar_last_restart
        has_running = False
        for cs in reversed([_dict(c) for c in _list(status.get("containerStatuses"))]):
            restarts += _int(cs.get("restartCount"))
            last_restart = _later(
                last_restart,
                parse_time(_dict(_dict(cs.get("lastState")).get("terminated")).get("finishedAt")),
            )
            state = _dict(cs.get("state"))
            waiting = state.get("waiting")
            terminated = state.get("terminated")
            if isinstance(waiting, dict) and waiting.get("reason"):
                reason = waiting["reason"]
            elif isinstance(terminated, dict):
                reason = _terminated_text(terminated)
            elif cs.get("ready") and isinstance(state.get("running"), dict):
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _has_condition(status, "Ready") else "NotReady"

    if metadata.get("deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif phase not in _TERMINAL_PHASES:
            reason = "Terminating"

    return PodStatusColumns(reason, ready, total, restarts, last_restart)


def pod_status_text(pod: dict) -> str:
    return pod_status_columns(pod).status
