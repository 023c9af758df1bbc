"""Remote mode: one node seen through the Kubernetes API alone (`n9s --node NAME` where that node's runtime socket
is not reachable, e.g. on a laptop with kubectl access). Pods come from the API, CPU and memory from the kubelet's
summary through the API server proxy; runtime-only views say they need n9s on the node."""
from __future__ import annotations

import time
from collections import deque
from typing import Any, Callable

from n9s.sources.errors import SourceError
from n9s.model.collect.sampling import HISTORY
from n9s.model.picture import OK, UNAVAILABLE, UNREACHABLE, ContainerRow, Figures, NodeInfo, NodePicture, PodRow, SourceHealth
from n9s.model.seams import PictureSource

REMOTE_NOTE = "remote mode through the API: tasks, snapshots, images and exec need n9s on the node itself"
STATES = {"running": "RUNNING", "waiting": "CREATED", "terminated": "EXITED"}


def _ns(moment: Any) -> int:
    return int(moment.timestamp() * 1e9) if moment is not None else 0


def _figures(usage: Any) -> Figures:
    if usage is None:
        return Figures()
    return Figures(cpu_cores=usage.cpu_cores, memory_working_set_bytes=usage.memory_working_set_bytes,
                   memory_usage_bytes=usage.memory_usage_bytes, memory_rss_bytes=usage.memory_rss_bytes)


class RemoteCollector(PictureSource):
    """A picture source without the runtime: no cgroups, tasks, snapshots or status calls (PictureSource's defaults
    say so), no event stream; each refresh reads the API's watch and the kubelet's summary afresh."""

    remote = True

    api: Any = None

    def __init__(self, api: Any, *, clock: Callable[[], float] = time.time) -> None:
        self.api = api
        self.clock = clock
        self._history: dict[str, tuple[deque[float], deque[int]]] = {}
        self._summary_health = SourceHealth("summary", OK)
        self._health: tuple[SourceHealth, ...] = ()

    @property
    def health(self) -> tuple[SourceHealth, ...]:
        return self._health

    def _summary(self, node: str) -> Any:
        client = getattr(self.api, "client", None)
        if client is None or not node:
            return None
        try:
            summary = client.node_summary(node)
        except SourceError as err:
            self._summary_health = SourceHealth("summary", UNAVAILABLE, f"kubelet summary: {err}", self.clock())
            return None
        self._summary_health = SourceHealth("summary", OK)
        return summary

    def refresh(self, *, snapshots: bool = False, images: bool = False, tasks: bool = False,
                container_stats: bool = True, pod_stats: bool = True, relist: bool = False,
                interval_s: float | None = None) -> NodePicture:
        # relist: the API watch and the kubelet summary are read fresh on every refresh anyway
        now = self.clock()
        snap = self.api.snapshot()
        summary = self._summary(snap.node_name) if snap.ok else None
        pods = []
        for uid, api in snap.pods.items():
            stats = summary.pod(api.uid) if summary is not None else None
            by_name = {c.name: c for c in (stats.containers if stats is not None else ())}
            rows = []
            for c in api.containers:
                if c.kind == "init" and c.state.kind == "terminated" and c.state.exit_code == 0:
                    continue
                key = c.runtime_id or f"{api.uid}/{c.name}"
                figures = _figures(by_name[c.name].usage) if c.name in by_name else Figures()
                cpu, mem = self._history.setdefault(key, (deque(maxlen=HISTORY), deque(maxlen=HISTORY)))
                if figures.cpu_cores is not None:
                    cpu.append(figures.cpu_cores)
                if figures.memory_working_set_bytes is not None:
                    mem.append(figures.memory_working_set_bytes)
                state = STATES.get(c.state.kind, "UNKNOWN")
                rows.append(ContainerRow(
                    id=key, sandbox_id=api.uid, name=c.name, attempt=c.restart_count, image=c.image,
                    image_ref=c.image_id, state=state, created_at_ns=_ns(c.state.started_at) or _ns(api.created),
                    namespace=api.namespace, pod_name=api.name, pod_uid=api.uid, labels={}, annotations={},
                    restarts=c.restart_count, exit_code=c.state.exit_code if state == "EXITED" else None,
                    reason=c.state.reason if state == "EXITED" else "", figures=figures,
                    cpu_history=tuple(cpu), memory_history=tuple(mem),
                ))
            ready, total = api.ready
            pods.append(PodRow(
                id=api.uid, namespace=api.namespace, name=api.name, uid=uid, attempt=0,
                state="READY" if api.phase == "Running" else api.phase.upper(), created_at_ns=_ns(api.created),
                labels=dict(api.labels), annotations=dict(api.annotations), containers=tuple(rows),
                status=api.status_text, ready=ready, total=total, restarts=api.restarts,
                figures=_figures(stats.usage) if stats is not None else Figures(), static=api.is_mirror, api=api,
            ))
        pods.sort(key=lambda p: (p.namespace, p.name))
        node = snap.node
        conditions = tuple((c.type, c.status == "True", c.reason, c.message) for c in getattr(node, "conditions", ()))
        info = NodeInfo(
            hostname=snap.node_name,
            runtime_name="remote",
            runtime_version=getattr(node, "container_runtime_version", "") or "",
            conditions=conditions,
            cpu_count=(node.capacity.cpu_m // 1000) if node is not None and node.capacity.cpu_m else None,
            memory_total_bytes=node.capacity.memory_bytes if node is not None else None,
            memory_available_bytes=summary.memory_available_bytes if summary is not None else None,
        )
        api_state = OK if snap.ok else (UNAVAILABLE if snap.state in ("not_configured", "connecting", "no_node") else UNREACHABLE)
        health = (
            SourceHealth("runtime", UNAVAILABLE, REMOTE_NOTE, now),
            SourceHealth("api", api_state, snap.message, snap.since),
            self._summary_health,
        )
        self._health = health
        return NodePicture(
            taken_at=now, node=info, pods=tuple(pods), containers=tuple(c for p in pods for c in p.containers),
            tasks=(), snapshots=None, images=None, health=health, api=snap, remote=True,
            # The API is all this view has: while it cannot be heard, its pods are only the last ones it sent.
            stale=snap.state in ("unreachable", "not_answering"),
        )
