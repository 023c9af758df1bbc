"""The node overview: static runtime facts (asked for once a minute) plus live host figures."""
from __future__ import annotations

from typing import Any

from n9s.sources.procs import disk_stats, host_stats
from n9s.model.picture import FilesystemRow, NodeInfo


def node_info(static: dict[str, Any], *, pods_dir: str, hostname: str) -> NodeInfo:
    host = host_stats()
    filesystems = []
    root = static.get("containerd_root") or ""
    for purpose, path in (("containerd root", root), ("pod logs", pods_dir)):
        if not path:
            continue
        d = disk_stats(path)
        filesystems.append(FilesystemRow(purpose, path, d.total_bytes, d.free_bytes, d.inodes_total, d.inodes_free))
    return NodeInfo(
        hostname=hostname,
        runtime_name=static.get("runtime_name", ""),
        runtime_version=static.get("runtime_version", ""),
        runtime_api_version=static.get("runtime_api_version", ""),
        containerd_version=static.get("containerd_version", ""),
        conditions=tuple(static.get("conditions", ())),
        cpu_count=host.cpu_count,
        cpu_percent=host.cpu_percent,
        memory_total_bytes=host.memory_total_bytes,
        memory_available_bytes=host.memory_available_bytes,
        load=host.load,
        uptime_s=host.uptime_s,
        filesystems=tuple(filesystems),
        failed_plugins=tuple(static.get("failed_plugins", ())),
        snapshotter=static.get("snapshotter") or "overlayfs",
        cgroup_mode=static.get("cgroup_mode", ""),
        containerd_root=root,
        pods_dir=pods_dir,
    )
