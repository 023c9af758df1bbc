"""`n9s dump`: the joined picture once, as JSON (plain numbers: bytes, cores) or as text tables."""
from __future__ import annotations

import json
import time
from typing import Any

from n9s.model.picture import ContainerRow, NodePicture, PodRow
from n9s.sources.errors import Unreachable


def _container(c: ContainerRow) -> dict[str, Any]:
    f = c.figures
    return {
        "id": c.id,
        "name": c.name,
        "state": c.state,
        "attempt": c.attempt,
        "restarts": c.restarts,
        "exit_code": c.exit_code,
        "reason": c.reason or None,
        "image": c.image,
        "image_ref": c.image_ref,
        "pid": c.pid,
        "task_status": c.task_status,
        "created_at": c.created_at_ns / 1e9,
        "finished_at": c.finished_at_ns / 1e9 if c.finished_at_ns else None,
        "cpu_cores": f.cpu_cores,
        "cpu_usage_ns": f.cpu_usage_ns,
        "cpu_throttled_periods": f.cpu_nr_throttled,
        "memory_working_set_bytes": f.memory_working_set_bytes,
        "memory_usage_bytes": f.memory_usage_bytes,
        "memory_limit_bytes": None if f.memory_unlimited else f.memory_limit_bytes,
        "memory_unlimited": f.memory_unlimited,
        "pids": f.pids_current,
        "oom_kills": f.oom_kills,
        "log_path": c.log_path or None,
        "cgroup": c.cgroup_path or None,
    }


def _pod(p: PodRow) -> dict[str, Any]:
    return {
        "namespace": p.namespace,
        "name": p.name,
        "uid": p.uid,
        "sandbox_id": p.id,
        "attempt": p.attempt,
        "state": p.state,
        "status": p.status,
        "ready": p.ready,
        "total": p.total,
        "restarts": p.restarts,
        "static": p.static,
        "created_at": p.created_at_ns / 1e9,
        "cpu_cores": p.figures.cpu_cores,
        "memory_working_set_bytes": p.figures.memory_working_set_bytes,
        "labels": p.labels,
        "containers": [_container(c) for c in p.containers],
    }


def picture_dict(picture: NodePicture) -> dict[str, Any]:
    n = picture.node
    return {
        "taken_at": picture.taken_at,
        "node": {
            "hostname": n.hostname,
            "runtime": {"name": n.runtime_name, "version": n.runtime_version, "api_version": n.runtime_api_version},
            "containerd_version": n.containerd_version,
            "conditions": [{"type": t, "status": s, "reason": r, "message": m} for t, s, r, m in n.conditions],
            "cpu_count": n.cpu_count,
            "memory_total_bytes": n.memory_total_bytes,
            "memory_available_bytes": n.memory_available_bytes,
            "load": list(n.load) if n.load else None,
            "uptime_s": n.uptime_s,
            "filesystems": [
                {"purpose": f.purpose, "path": f.path, "total_bytes": f.total_bytes, "free_bytes": f.free_bytes,
                 "inodes_total": f.inodes_total, "inodes_free": f.inodes_free}
                for f in n.filesystems
            ],
            "failed_plugins": [{"plugin": p, "error": e} for p, e in n.failed_plugins],
            "snapshotter": n.snapshotter,
            "cgroup_mode": n.cgroup_mode,
        },
        "pods": [_pod(p) for p in picture.pods],
        "tasks": [
            {"container_id": t.container_id, "kind": t.kind or None, "name": t.name or None, "pod": t.pod or None,
             "pid": t.pid or None, "status": t.status, "exit_status": t.exit_status if t.status == "STOPPED" else None}
            for t in picture.tasks
        ],
        "snapshots": [
            {"key": s.key, "kind": s.kind, "parent": s.parent or None, "created_at": s.created_at_ns / 1e9,
             "size_bytes": s.size_bytes, "inodes": s.inodes, "owner": s.owner or None, "orphan": s.orphan}
            for s in picture.snapshots or ()
        ],
        "images": [
            {"id": i.id, "tags": list(i.tags), "digests": list(i.digests), "size_bytes": i.size, "pinned": i.pinned,
             "used_by": list(i.used_by)}
            for i in picture.images or ()
        ],
        "health": [{"source": h.name, "state": h.state, "message": h.message} for h in picture.health],
    }


def dump(collector: Any, *, interval: float = 1.0, fmt: str = "json") -> str:
    started = time.monotonic()
    first = collector.refresh()
    if first.stale or first.local_only:  # the runtime never answered
        health = first.source("runtime")
        raise Unreachable(health.message if health else "the runtime is unreachable")
    # Between the samples: the task list (the first picture goes without) and the status calls it deferred.
    collector.list_tasks()
    collector.fill_status(budget_s=30.0)
    collector.prefetch(snapshots=True, images=True)
    # The interval is between the two samples: the first refresh and the status calls count toward it.
    remaining = interval - (time.monotonic() - started)
    if remaining > 0:
        time.sleep(remaining)
    # containerd asks every shim for each task's state on a task list: the first sample's list is recent enough.
    picture = collector.refresh(snapshots=True, images=True, tasks_max_age_s=max(interval, 0.0) + 10.0)
    if fmt == "table":
        return tables(picture)
    return json.dumps(picture_dict(picture), indent=2) + "\n"


def tables(picture: NodePicture) -> str:
    from n9s.render import views as r
    from n9s.render.node import NODE_COLUMNS, render_node

    now = time.time()
    out = []
    for title, columns, rows in (
        ("NODE", NODE_COLUMNS, render_node(picture, now)),
        ("PODS", r.POD_COLUMNS, r.render_pods(picture, now)),
        ("CONTAINERS", r.CONTAINER_COLUMNS, r.render_containers(picture, now)),
        ("TASKS", r.TASK_COLUMNS, r.render_tasks(picture, now)),
        ("SNAPSHOTS", r.SNAPSHOT_COLUMNS, r.render_snapshots(picture, now)),
        ("IMAGES", r.IMAGE_COLUMNS, r.render_images(picture, now)),
    ):
        header = [c.name for c in columns]
        cells = [list(row.cells) for row in rows]
        widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(header)]
        out.append(f"== {title} ({len(rows)})")
        out.append("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
        for c in cells:
            out.append("  ".join(
                (v.rjust(w) if columns[i].numeric else v.ljust(w)) for i, (v, w) in enumerate(zip(c, widths))
            ).rstrip())
        out.append("")
    return "\n".join(out)
