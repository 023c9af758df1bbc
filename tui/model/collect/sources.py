"""The sources every part of the collector reads, held once: replacing one (a test, a reconnect) reaches them all."""
from __future__ import annotations

from dataclasses import dataclass

from n9s.model.seams import CgroupSource, ContainerdSource, RuntimeSource


@dataclass
class Sources:
    cri: RuntimeSource
    containerd: ContainerdSource | None = None
    cgroups: CgroupSource | None = None
