"""Pure joins for snapshots and images: owners, users and orphans."""
from __future__ import annotations

from typing import Any, Iterable

from n9s.model.picture import ContainerRow, ImageRow, SnapshotRow

GC_SNAPSHOT_PREFIX = "containerd.io/gc.ref.snapshot."
GC_CONFIG_LABEL = "containerd.io/gc.ref.content.config"
GC_MANIFEST_PREFIX = "containerd.io/gc.ref.content.m."


def image_snapshot_tops(targets: Iterable[str], content_labels: Any, snapshotter: str) -> set[str]:
    """Follow content labels from image targets (index -> manifests -> config) to the top snapshot of each
    unpacked image. ``content_labels(digest)`` returns a blob's labels (or {} when unknown)."""
    tops: set[str] = set()
    seen: set[str] = set()
    todo = list(targets)
    while todo:
        digest = todo.pop()
        if not digest or digest in seen:
            continue
        seen.add(digest)
        labels = content_labels(digest) or {}
        top = labels.get(GC_SNAPSHOT_PREFIX + snapshotter)
        if top:
            tops.add(top)
        for key, value in labels.items():
            if key == GC_CONFIG_LABEL or key.startswith(GC_MANIFEST_PREFIX):
                todo.append(value)
    return tops


def join_snapshots(
    snapshots: Iterable[Any],
    ctd_containers: Iterable[Any],
    image_tops: Iterable[str],
    rows: Iterable[ContainerRow],
    usage: dict[str, tuple[int, int]],
) -> tuple[SnapshotRow, ...]:
    """Each snapshot with its owner; orphans are active snapshots no container uses and committed ones that are
    neither an image layer nor the parent of a snapshot still in use."""
    snaps = list(snapshots)
    by_key = {s.key: s for s in snaps}
    row_by_id = {r.id: r for r in rows}
    owner_of: dict[str, tuple[str, str]] = {}
    for c in ctd_containers:
        if not c.snapshot_key:
            continue
        row = row_by_id.get(c.id)
        if row is not None:
            owner_of[c.snapshot_key] = (f"{row.pod_key}/{row.name}", c.id)
        elif c.kind == "sandbox":
            ns = c.labels.get("io.kubernetes.pod.namespace", "")
            name = c.labels.get("io.kubernetes.pod.name", "")
            owner_of[c.snapshot_key] = (f"{ns}/{name} (sandbox)", c.id)
        else:
            owner_of[c.snapshot_key] = (c.id[:13], c.id)

    # Committed snapshots reachable from an in-use snapshot, or that are an image's unpacked top layer chain.
    needed: set[str] = set()

    def keep_chain(key: str) -> None:
        while key and key not in needed:
            needed.add(key)
            parent = by_key.get(key)
            key = parent.parent if parent is not None else ""

    for key in owner_of:
        keep_chain(key)
    for top in image_tops:
        keep_chain(top)
    out = []
    for s in snaps:
        owner, owner_id = owner_of.get(s.key, ("", ""))
        if s.kind == "ACTIVE":
            orphan = s.key not in owner_of
        elif s.kind == "COMMITTED":
            orphan = s.key not in needed
        else:
            orphan = False
        size, inodes = usage.get(s.key, (None, None))
        out.append(SnapshotRow(s.key, s.kind, s.parent, s.created_at_ns, size, inodes, owner, owner_id, orphan))
    out.sort(key=lambda r: (not r.orphan, r.kind, r.key))
    return tuple(out)


def join_images(images: Iterable[Any], rows: Iterable[ContainerRow]) -> tuple[ImageRow, ...]:
    rows = list(rows)
    out = []
    for img in images:
        refs = {img.id, *img.repo_tags, *img.repo_digests}
        users = tuple(sorted(f"{r.pod_key}/{r.name}" for r in rows if r.image_ref in refs or r.image in refs))
        out.append(ImageRow(img.id, tuple(img.repo_tags), tuple(img.repo_digests), int(img.size), img.pinned, users))
    out.sort(key=lambda r: r.name)
    return tuple(out)
