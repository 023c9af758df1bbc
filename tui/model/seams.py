"""The typed seams of the model: what the collector asks of the sources, and what the app asks of a picture source.

A runtime is two sources, CRI (``RuntimeSource``) and containerd's own API (``ContainerdSource``), with the
cgroup files beside them (``CgroupSource``). The app draws pictures from a ``PictureSource``: the collector on a
node, the remote collector through the Kubernetes API, or anything else that makes NodePictures. Headless.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from n9s.sources.cgroups.paths import CgroupLayout, CgroupLocation, HierarchyMode
    from n9s.sources.cgroups.reader import CgroupStats
    from n9s.sources.containerd import (
        CtdContainer,
        CtdImage,
        ContentInfo,
        DaemonVersion,
        Plugin,
        Snapshot,
        SnapshotUsage,
        Task,
    )
    from n9s.sources.cri import Container, ContainerStatus, Image, PodSandbox, RuntimeStatus, RuntimeVersion
    from n9s.sources.procs import ProcessRow
    from n9s.model.picture import Figures, NodePicture, SourceHealth


class RuntimeSource(Protocol):
    """The container runtime as CRI serves it (n9s.sources.cri.CriClient)."""

    def version(self, *, timeout: float | None = None) -> RuntimeVersion: ...

    def status(self, verbose: bool = False) -> RuntimeStatus: ...

    def list_pod_sandboxes(self) -> list[PodSandbox]: ...

    def list_containers(self) -> list[Container]: ...

    def container_status(self, container_id: str, verbose: bool = False) -> ContainerStatus: ...

    def list_images(self) -> list[Image]: ...

    def reconnect(self) -> None:
        """A fresh channel for the next call."""


class ContainerdSource(Protocol):
    """containerd's own API beside CRI: tasks, snapshots, content (n9s.sources.containerd.ContainerdClient)."""

    def version(self) -> DaemonVersion: ...

    def plugins(self) -> list[Plugin]: ...

    def tasks(self) -> list[Task]: ...

    def containers(self, *filters: str) -> list[CtdContainer]: ...

    def snapshots(self, snapshotter: str = "overlayfs") -> list[Snapshot]: ...

    def snapshot_usage(self, key: str, snapshotter: str = "overlayfs") -> SnapshotUsage: ...

    def images(self) -> list[CtdImage]: ...

    def content_info(self, digest: str) -> ContentInfo: ...

    def reconnect(self) -> None:
        """A fresh channel for the next call."""


class CgroupSource(Protocol):
    """The cgroup files of containers and pods (n9s.sources.cgroups.reader.CgroupReader, or a captured tree)."""

    @property
    def mode(self) -> HierarchyMode: ...

    @property
    def layout(self) -> CgroupLayout: ...

    def resolve(self, container_id: str, cgroups_path: str | None = None, pid: int | None = None,
                pod_uid: str | None = None) -> CgroupLocation | None: ...

    def read(self, location: CgroupLocation, full: bool = False) -> CgroupStats: ...

    def pod_location(self, location: CgroupLocation) -> CgroupLocation | None: ...

    def read_pod(self, location: CgroupLocation, full: bool = False,
                 limits_from: CgroupStats | None = None) -> CgroupStats | None: ...

    def forget(self, container_id: str) -> None:
        """Drop what is cached about a container that is gone."""


class PictureSource(Protocol):
    """What the app asks of whatever draws its pictures. Only ``refresh`` must be written: a source that learns
    nothing later, keeps no event stream and measures no snapshots inherits the rest by naming this class as a base.
    """

    events_live: bool = False  # set by whoever reads containerd's event stream
    remote: bool = False  # the node is seen through the Kubernetes API alone (no runtime socket here)

    @property
    def api(self) -> Any:
        """The Kubernetes API's side (n9s.model.api_side.ApiSide), or None."""
        return None

    @property
    def cri(self) -> RuntimeSource | None:
        """The runtime's clients, for the flows that ask them directly (logs, describe); None without a runtime."""
        return None

    @property
    def containerd(self) -> ContainerdSource | None:
        return None

    @property
    def cgroups(self) -> CgroupSource | None:
        return None

    def refresh(self, *, snapshots: bool = False, images: bool = False, tasks: bool = False,
                container_stats: bool = True, pod_stats: bool = True, relist: bool = False,
                interval_s: float | None = None) -> NodePicture:
        """A new picture; never raises for a source failure (the failing part is marked instead)."""
        ...

    @property
    def health(self) -> tuple[SourceHealth, ...]:
        return ()

    @property
    def resample_soon(self) -> bool:
        """The next picture should come sooner than one interval (rates need a second sample)."""
        return False

    @property
    def status_pending(self) -> int:
        """Facts the refreshes left for ``fill_status`` to fetch."""
        return 0

    def fill_status(self, *, budget_s: float = 5.0) -> int:
        return 0

    def note_task_event(self) -> None:
        """A task or container event arrived, or the stream that brings them broke."""
        return None

    def snapshot_usage(self, keys: list[str], snapshotter: str, *, budget_s: float = 5.0) -> int:
        """Measure snapshots not measured yet; how many were."""
        return 0

    def full_figures(self, container_id: str) -> Figures | None:
        """Every cgroup figure of a running container (the detail view), or None when none can be read."""
        return None

    def processes(self, pid: int) -> list[ProcessRow]:
        """The process tree under ``pid`` (the detail view); empty where the node's processes cannot be seen."""
        return []
