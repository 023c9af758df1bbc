"""What the runtime says of itself (versions, status conditions, its config, failed plugins) and the cgroup mode:
read at first sight and again every minute, and on every refresh while the runtime has not answered them."""
from __future__ import annotations

from typing import Any

from n9s.sources.errors import SourceError
from n9s.model.node_facts import node_info
from n9s.model.picture import NodeInfo
from n9s.model.collect.sources import Sources

FACTS_MAX_AGE_S = 60


class RuntimeFacts:
    def __init__(self, sources: Sources, *, pods_dir: str, hostname: str) -> None:
        self._sources = sources
        self.pods_dir = pods_dir
        self.hostname = hostname
        self.static: dict[str, Any] = {}

    @property
    def snapshotter(self) -> str:
        return str(self.static.get("snapshotter") or "overlayfs")

    def node(self, now: float) -> NodeInfo:
        static = self.static
        if not static.get("ready") or now - static.get("at", 0) > FACTS_MAX_AGE_S:
            static.update(self._read())
            static["at"] = now
        return self.known_node()

    def known_node(self) -> NodeInfo:
        """The node as last read, without asking the runtime (it may be away)."""
        return node_info(self.static, pods_dir=self.pods_dir, hostname=self.hostname)

    def _read(self) -> dict[str, Any]:
        sources = self._sources
        facts: dict[str, Any] = {"ready": True}
        try:
            v = sources.cri.version()
            facts.update(runtime_name=v.runtime_name, runtime_version=v.runtime_version,
                         runtime_api_version=v.runtime_api_version)
            status = sources.cri.status(verbose=True)
            facts["conditions"] = tuple((c.type, c.status, c.reason, c.message) for c in status.conditions)
            config = status.config()
            facts["containerd_root"] = str(config.get("containerdRootDir") or "")
            facts["snapshotter"] = str((config.get("containerd") or {}).get("snapshotter") or "overlayfs")
        except SourceError:
            facts["ready"] = False
        if sources.containerd is not None:
            try:
                facts["containerd_version"] = sources.containerd.version().version
                facts["failed_plugins"] = tuple(
                    (f"{p.type}.{p.id}", p.init_error) for p in sources.containerd.plugins() if p.init_error
                )
            except SourceError:
                facts["ready"] = False
        if sources.cgroups is not None:
            facts["cgroup_mode"] = str(sources.cgroups.mode or "")
        return facts
