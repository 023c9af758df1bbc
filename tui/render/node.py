"""The node overview as rows (section, what, value)."""
from __future__ import annotations

from n9s.model.picture import NodePicture
from n9s.core.sanitize import sanitize_label
from n9s.render import format as fmt
from n9s.render.table import Column, Row

NODE_COLUMNS = (Column("SECTION"), Column("WHAT"), Column("VALUE"))


def _uptime(seconds: float | None) -> str:
    if seconds is None:
        return fmt.UNKNOWN
    return fmt.age(1, seconds + 1e-9) if seconds < 86400 else f"{int(seconds // 86400)}d{int(seconds % 86400 // 3600)}h"


GOOD_WHEN_TRUE = {"Ready"}


def _api_rows(picture: NodePicture, now: float, add) -> None:
    """What the API says about this node: conditions, allocatable against requests, taints, recent warnings."""
    api = picture.api
    node = getattr(api, "node", None)
    if node is None:
        return
    add("api", "node", f"{sanitize_label(node.name)} (kubelet {sanitize_label(node.kubelet_version)})")
    for c in node.conditions:
        good = (c.status == "True") == (c.type in GOOD_WHEN_TRUE)
        text = c.status + (f": {sanitize_label(c.reason)} {sanitize_label(c.message, 120)}" if not good else "")
        add("api", c.type, text.strip(), "ok" if good else "failed")
    pods = [p.api for p in picture.pods if p.api is not None and getattr(p.api, "phase", "") not in
            ("Succeeded", "Failed")]
    cpu_req = sum(p.cpu_request_m for p in pods)
    mem_req = sum(p.memory_request_bytes for p in pods)
    alloc = node.allocatable
    if alloc.cpu_m:
        add("api", "cpu requests", f"{cpu_req}m of {alloc.cpu_m}m allocatable ({100.0 * cpu_req / alloc.cpu_m:.0f}%)")
    if alloc.memory_bytes:
        add("api", "memory requests", f"{fmt.mem(mem_req)} of {fmt.mem(alloc.memory_bytes)} allocatable "
            f"({100.0 * mem_req / alloc.memory_bytes:.0f}%)")
    if alloc.pods:
        add("api", "pods", f"{len(pods)} of {alloc.pods} allocatable")
    for t in node.taints:
        add("api", "taint", sanitize_label(f"{t.key}={t.value}:{t.effect}"))
    warnings = [e for e in getattr(api, "events", ()) if e.type == "Warning"][:5]
    for e in warnings:
        when = e.last_time or e.first_time
        age = fmt.age(int(when.timestamp() * 1e9), now) if when else fmt.UNKNOWN
        add("warnings", f"{age} {sanitize_label(e.reason, 30)}",
            f"{sanitize_label(e.object_name, 40)}: {sanitize_label(e.message, 160)}", "failed")


def render_node(picture: NodePicture, now: float) -> list[Row]:
    n = picture.node
    rows: list[tuple[str, str, str, str]] = []  # section, what, value, health

    def add(section: str, what: str, value: str, health: str = "ok") -> None:
        # Versions, condition reasons, plugin ids and paths come from the runtime: sanitise every cell.
        rows.append((section, sanitize_label(what, 120), sanitize_label(value, 240), health))

    add("node", "hostname", sanitize_label(n.hostname))
    runtime = f"{n.runtime_name} {n.runtime_version}".strip() or fmt.UNKNOWN
    add("runtime", "runtime", f"{runtime} (CRI {n.runtime_api_version or '?'})")
    if n.containerd_version:
        add("runtime", "containerd", n.containerd_version)
    for kind, status, reason, message in n.conditions:
        text = "true" if status else f"false: {reason} {sanitize_label(message, 120)}".strip()
        add("runtime", kind, text, "ok" if status else "failed")
    for plugin, error in n.failed_plugins:
        add("runtime", f"plugin {plugin}", f"failed: {sanitize_label(error, 120)}", "failed")
    add("runtime", "snapshotter", n.snapshotter)
    if n.cgroup_mode:
        add("runtime", "cgroups", n.cgroup_mode)
    add("cpu", "cores", fmt.count(n.cpu_count))
    add("cpu", "usage", fmt.percent(n.cpu_percent))
    if n.load is not None:
        add("cpu", "load", " ".join(f"{x:.2f}" for x in n.load))
    if n.memory_total_bytes is not None and n.memory_available_bytes is not None:
        used = n.memory_total_bytes - n.memory_available_bytes
        pct = 100.0 * used / n.memory_total_bytes if n.memory_total_bytes else None
        add("memory", "used", f"{fmt.mem(used)} of {fmt.mem(n.memory_total_bytes)} ({fmt.percent(pct)})")
    add("node", "uptime", _uptime(n.uptime_s))
    for fs in n.filesystems:
        if fs.total_bytes:
            free_pct = 100.0 * (fs.free_bytes or 0) / fs.total_bytes
            inodes = ""
            if fs.inodes_total:
                inodes = f", inodes {100.0 * (fs.inodes_free or 0) / fs.inodes_total:.0f}% free"
            health = "failed" if free_pct < 10 else "ok"
            add("disk", f"{fs.purpose} {fs.path}", f"{fmt.mem(fs.free_bytes)} free of {fmt.mem(fs.total_bytes)}"
                f" ({free_pct:.0f}% free{inodes})", health)
        else:
            add("disk", f"{fs.purpose} {fs.path}", fmt.UNKNOWN)
    running = sum(1 for c in picture.containers if c.state == "RUNNING")
    add("workload", "pods", str(len(picture.pods)))
    add("workload", "containers", f"{running} running of {len(picture.containers)}")
    _api_rows(picture, now, add)
    for h in picture.health:
        if not h.ok:
            add("sources", h.name, f"{h.state}: {sanitize_label(h.message, 160)}", "failed")
    return [
        Row(key=f"{section}:{what}", cells=(section, what, value), sort_values=(section, what, value), health=health)
        for section, what, value, health in rows
    ]
