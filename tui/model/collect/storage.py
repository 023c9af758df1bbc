"""What the runtime stores beside the containers: snapshots (with their measured usage) and images, joined to the
container rows. Read only for the views that show them; a dump reads them ahead between its two samples."""
from __future__ import annotations

import time
from typing import Any

from n9s.sources.errors import SourceError
from n9s.model.picture import OK, UNAVAILABLE, ContainerRow, ImageRow, SnapshotRow
from n9s.model.snapshots import image_snapshot_tops, join_images, join_snapshots
from n9s.model.collect.health import HealthBook
from n9s.model.collect.sources import Sources


class Storage:
    def __init__(self, sources: Sources, health: HealthBook) -> None:
        self._sources = sources
        self._health = health
        self._usage: dict[str, tuple[int, int]] = {}  # snapshot key -> (bytes, inodes), measured once
        self._content_labels: dict[str, dict[str, str]] = {}
        self._prefetched: dict[str, Any] = {}  # raw lists read ahead for the next refresh (see prefetch)

    def snapshots(self, rows: list[ContainerRow], snapshotter: str) -> tuple[SnapshotRow, ...] | None:
        if self._sources.containerd is None:
            return None
        try:
            snaps, ctd_containers, tops = self._prefetched.pop("snapshots", None) or self._snapshot_lists(snapshotter)
        except SourceError as err:
            self._health.set("snapshots", UNAVAILABLE, str(err))
            return None
        self._health.set("snapshots", OK)
        return join_snapshots(snaps, ctd_containers, tops, rows, self._usage)

    def images(self, rows: list[ContainerRow]) -> tuple[ImageRow, ...] | None:
        try:
            images = self._prefetched.pop("images", None)
            if images is None:
                images = self._sources.cri.list_images()
        except SourceError as err:
            self._health.set("images", UNAVAILABLE, str(err))
            return None
        self._health.set("images", OK)
        return join_images(images, rows)

    def prefetch(self, *, snapshots: bool, images: bool, snapshotter: str) -> None:
        """Read now the lists the next refresh's joins need; that refresh uses them once (see done_refresh).
        Failures are left for that refresh."""
        try:
            if snapshots and self._sources.containerd is not None:
                self._prefetched["snapshots"] = self._snapshot_lists(snapshotter)
            if images:
                self._prefetched["images"] = self._sources.cri.list_images()
        except SourceError:
            pass

    def done_refresh(self) -> None:
        self._prefetched.clear()  # read ahead for one refresh only

    def measure(self, keys: list[str], snapshotter: str, *, budget_s: float = 5.0) -> int:
        """Fill the usage cache for snapshot keys not measured yet (costly; run it in a background worker)."""
        containerd = self._sources.containerd
        if containerd is None:
            return 0
        done = 0
        deadline = time.monotonic() + budget_s
        for key in keys:
            if key in self._usage:
                continue
            if time.monotonic() > deadline:
                break
            try:
                usage = containerd.snapshot_usage(key, snapshotter)
            except SourceError:
                continue
            self._usage[key] = (usage.size_bytes, usage.inodes)
            done += 1
        return done

    def _snapshot_lists(self, snapshotter: str) -> tuple[Any, Any, Any]:
        containerd = self._sources.containerd
        assert containerd is not None
        snaps = containerd.snapshots(snapshotter)
        ctd_containers = containerd.containers()
        ctd_images = containerd.images()
        return snaps, ctd_containers, image_snapshot_tops([i.digest for i in ctd_images], self._labels_of, snapshotter)

    def _labels_of(self, digest: str) -> dict[str, str]:
        # Content is immutable by digest, so its labels are cached for the life of the collector.
        if digest not in self._content_labels:
            containerd = self._sources.containerd
            if containerd is None:
                return {}
            try:
                self._content_labels[digest] = containerd.content_info(digest).labels
            except SourceError:
                return {}
        return self._content_labels[digest]
