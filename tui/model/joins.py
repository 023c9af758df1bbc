"""Pure joins: containers into pods, with the figures a pod row shows."""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Iterable

from n9s.model.picture import ContainerRow, Figures, PodRow, newest_attempts

RESTART_ANNOTATION = "io.kubernetes.container.restartCount"


def container_restarts(container: Any) -> int:
    """The kubelet's restart count annotation, else the CRI attempt number."""
    raw = (getattr(container, "annotations", None) or {}).get(RESTART_ANNOTATION, "")
    try:
        count = int(raw) if len(str(raw)) <= 10 else -1  # the kubelet writes a small number; ignore an absurd one
    except (TypeError, ValueError):
        count = -1
    return count if count >= 0 else max(0, int(getattr(container, "attempt", 0) or 0))


def current_attempts(containers: Iterable[ContainerRow]) -> list[ContainerRow]:
    """The newest attempt of each container name (older attempts are history)."""
    return list(newest_attempts(containers))


def _sum(values: list[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _sum_f(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def pod_figures(containers: list[ContainerRow]) -> Figures:
    running = [c for c in containers if c.state == "RUNNING"]
    figs = [c.figures for c in running]
    limits = [f.memory_limit_bytes for f in figs]
    unlimited = any(f.memory_unlimited for f in figs) or not figs
    return Figures(
        cpu_cores=_sum_f([f.cpu_cores for f in figs]),
        cpu_usage_ns=_sum([f.cpu_usage_ns for f in figs]),
        throttled_recently=any(f.throttled_recently for f in figs),
        memory_working_set_bytes=_sum([f.memory_working_set_bytes for f in figs]),
        memory_usage_bytes=_sum([f.memory_usage_bytes for f in figs]),
        memory_limit_bytes=None if unlimited or any(v is None for v in limits) else _sum(limits),
        memory_unlimited=unlimited and bool(figs),
        pids_current=_sum([f.pids_current for f in figs]),
        oom_kills=_sum([f.oom_kills for f in figs]),
    )


def _first(*values):
    return next((v for v in values if v is not None), None)


def with_pod_cgroup(pod_cgroup: Figures, containers: Figures) -> Figures:
    """A pod's figures from its own cgroup, which the kernel charges for the whole pod (sandbox, and page cache
    left by earlier containers, included), the containers' sum standing in for what the pod cgroup does not know.

    A pod cgroup with no memory limit of its own is still bounded by the sum of its containers' limits when each
    has one. OOM kills are counted where the limit was hit (v1 counts them per cgroup, not up the tree), so the pod
    shows the larger of the two counts."""
    limit: int | None
    if pod_cgroup.memory_limit_bytes is not None and not pod_cgroup.memory_unlimited:
        limit, unlimited = pod_cgroup.memory_limit_bytes, False
    else:
        limit, unlimited = containers.memory_limit_bytes, containers.memory_unlimited
    ooms = [v for v in (pod_cgroup.oom_kills, containers.oom_kills) if v is not None]
    return replace(
        pod_cgroup,
        cpu_cores=_first(pod_cgroup.cpu_cores, containers.cpu_cores),
        cpu_usage_ns=_first(pod_cgroup.cpu_usage_ns, containers.cpu_usage_ns),
        throttled_recently=pod_cgroup.throttled_recently or containers.throttled_recently,
        memory_working_set_bytes=_first(pod_cgroup.memory_working_set_bytes, containers.memory_working_set_bytes),
        memory_usage_bytes=_first(pod_cgroup.memory_usage_bytes, containers.memory_usage_bytes),
        memory_limit_bytes=limit,
        memory_unlimited=unlimited,
        pids_current=_first(pod_cgroup.pids_current, containers.pids_current),
        oom_kills=max(ooms) if ooms else None,
    )


def pod_status(sandbox_state: str, current: list[ContainerRow]) -> str:
    """A kubectl-like status word from the runtime alone."""
    if sandbox_state != "READY":
        return "NotReady"
    if not current:
        return "ContainerCreating"
    if any(c.reason == "OOMKilled" for c in current):
        return "OOMKilled"
    if any(c.state == "EXITED" and c.exit_code not in (0, None) for c in current):
        return "Error"
    if all(c.state == "EXITED" for c in current):
        return "Completed"
    if any(c.state in ("CREATED", "UNKNOWN") for c in current):
        return "ContainerCreating" if any(c.state == "CREATED" for c in current) else "Unknown"
    return "Running"


def build_pods(sandboxes: Iterable[Any], rows: list[ContainerRow],
               figures_of: Callable[[str, list[ContainerRow], Figures], Figures] | None = None) -> list[PodRow]:
    """Pods from sandboxes and their containers. ``figures_of(sandbox_id, current, summed)`` gives a pod's
    figures (e.g. from its pod cgroup) from the sum of its current containers' figures; by default, the sum."""
    by_sandbox: dict[str, list[ContainerRow]] = {}
    for r in rows:
        by_sandbox.setdefault(r.sandbox_id, []).append(r)
    pods = []
    for s in sandboxes:
        mine = sorted(by_sandbox.get(s.id, []), key=lambda c: (c.name, c.attempt))
        current = current_attempts(mine)
        figures = pod_figures(current)
        if figures_of is not None:
            figures = figures_of(s.id, current, figures)
        pods.append(
            PodRow(
                id=s.id,
                namespace=s.namespace or s.labels.get("io.kubernetes.pod.namespace", ""),
                name=s.name or s.labels.get("io.kubernetes.pod.name", ""),
                uid=s.uid or s.labels.get("io.kubernetes.pod.uid", ""),
                attempt=s.attempt,
                state=s.state,
                created_at_ns=s.created_at_ns,
                labels=s.labels,
                annotations=s.annotations,
                containers=tuple(mine),
                status=pod_status(s.state, current),
                ready=sum(1 for c in current if c.state == "RUNNING"),
                total=len(current),
                restarts=sum(c.restarts for c in current),
                figures=figures,
                static=s.annotations.get("kubernetes.io/config.source", "") == "file",
            )
        )
    pods.sort(key=lambda p: (p.namespace, p.name, -p.attempt))
    return pods
