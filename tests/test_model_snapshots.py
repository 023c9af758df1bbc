"""Snapshots and images in the picture are exactly what containerd and CRI list; an orphaned snapshot is flagged."""
from __future__ import annotations

import subprocess
import uuid

import pytest

from n9s.wiring import make_collector
from n9s.sources.containerd import ContainerdClient
from n9s.sources.cri import CriClient

pytestmark = pytest.mark.node


@pytest.fixture
def collector(demo_node):
    return make_collector(str(demo_node.address), "k8s.io", str(demo_node.pods_dir))


def ctr(node, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ctr", "-a", str(node.address), "-n", "k8s.io", "snapshots", "--snapshotter",
                           node.snapshotter, *args], capture_output=True, text=True, timeout=30)


def test_snapshots_are_exactly_what_containerd_lists_with_their_owners(demo_node, collector):
    picture = collector.refresh(snapshots=True)
    listed = {s.key: s for s in ContainerdClient(str(demo_node.address)).snapshots(demo_node.snapshotter)}
    shown = {s.key: s for s in picture.snapshots}
    assert set(shown) == set(listed)
    for key, s in listed.items():
        assert (shown[key].kind, shown[key].parent) == (s.kind, s.parent)
    for c in picture.containers:
        # CRI names a container's snapshot after the container.
        assert shown[c.id].owner == f"{c.pod_key}/{c.name}" and not shown[c.id].orphan
    for pod in picture.pods:
        assert shown[pod.id].owner == f"{pod.namespace}/{pod.name} (sandbox)" and not shown[pod.id].orphan
    image_layers = [s for s in shown.values() if s.kind == "COMMITTED"]
    assert image_layers and not any(s.orphan for s in image_layers)  # the demo image's layers are in use


def test_images_are_exactly_what_cri_lists_with_their_users(demo_node, collector):
    picture = collector.refresh(images=True)
    listed = {i.id: i for i in CriClient(str(demo_node.address)).list_images()}
    shown = {i.id: i for i in picture.images}
    assert set(shown) == set(listed)
    for image_id, i in listed.items():
        assert (list(shown[image_id].tags), shown[image_id].size) == (list(i.repo_tags), i.size)
    demo = shown[demo_node.image_id]
    assert demo.name == demo_node.image_ref
    assert set(demo.used_by) == {f"{c.pod_key}/{c.name}" for c in picture.containers}


def test_an_orphaned_active_snapshot_is_flagged_until_removed(demo_node, collector):
    parent = next(s.key for s in collector.refresh(snapshots=True).snapshots if s.kind == "COMMITTED")
    key = f"n9s-test-orphan-{uuid.uuid4().hex[:8]}"
    made = ctr(demo_node, "prepare", key, parent)
    assert made.returncode == 0, made.stderr
    try:
        picture = collector.refresh(snapshots=True)
        orphan = next(s for s in picture.snapshots if s.key == key)
        assert orphan.orphan and orphan.kind == "ACTIVE" and orphan.owner == "" and orphan.parent == parent
        assert picture.snapshots[0].orphan  # orphans are listed first
        # Nothing in use is called an orphan.
        in_use = {c.id for c in picture.containers} | {p.id for p in picture.pods}
        assert not any(s.orphan for s in picture.snapshots if s.key in in_use)
        # Its disk usage is measured on request (the view does it in the background) and then shown.
        assert orphan.size_bytes is None
        assert collector.snapshot_usage([key], demo_node.snapshotter) == 1
        measured = next(s for s in collector.refresh(snapshots=True).snapshots if s.key == key)
        assert measured.size_bytes is not None and measured.inodes is not None
    finally:
        removed = ctr(demo_node, "rm", key)
    assert removed.returncode == 0, removed.stderr
    assert key not in {s.key for s in collector.refresh(snapshots=True).snapshots}
