"""What the runtime stores (n9s.model.collect.storage) and says of itself (n9s.model.collect.runtime_facts), on the
real demo node: snapshots and images joined to the rows, lists read ahead serve one refresh, a snapshot is measured
once; the runtime's facts are read at first sight and again after a minute."""
from __future__ import annotations

import pytest

from n9s.model.collect.health import HealthBook
from n9s.model.collect.runtime_facts import FACTS_MAX_AGE_S, RuntimeFacts
from n9s.model.collect.sources import Sources
from n9s.model.collect.storage import Storage
from n9s.model.picture import ContainerRow
from n9s.sources.cgroups.reader import CgroupReader
from n9s.sources.containerd import ContainerdClient
from n9s.sources.cri import CriClient

pytestmark = pytest.mark.node


class Counting:
    """A real client; counts the calls made through it, by name."""

    def __init__(self, client) -> None:
        self._client = client
        self.calls: dict[str, int] = {}

    def __getattr__(self, name):
        method = getattr(self._client, name)

        def call(*args, **kwargs):
            self.calls[name] = self.calls.get(name, 0) + 1
            return method(*args, **kwargs)
        return call


@pytest.fixture
def sources(demo_node):
    cri = CriClient(str(demo_node.address))
    containerd = ContainerdClient(str(demo_node.address), namespace="k8s.io")
    yield Sources(Counting(cri), Counting(containerd), CgroupReader())
    cri.close()
    containerd.close()


def rows_of(demo_node, cri) -> list[ContainerRow]:
    """Container rows as far as the joins read them (id, pod, name, image)."""
    return [ContainerRow(id=c.id, sandbox_id=c.pod_sandbox_id, name=c.name, attempt=c.attempt, image=c.image,
                         image_ref=c.image_ref, state=c.state, created_at_ns=c.created_at_ns,
                         namespace=c.labels.get("io.kubernetes.pod.namespace", ""),
                         pod_name=c.labels.get("io.kubernetes.pod.name", ""), pod_uid="", labels={}, annotations={})
            for c in cri.list_containers()]


def test_snapshots_are_joined_to_their_containers_and_measured_once(demo_node, sources):
    storage = Storage(sources, HealthBook(lambda: 0.0))
    rows = rows_of(demo_node, sources.cri)
    snaps = {s.key: s for s in storage.snapshots(rows, demo_node.snapshotter)}
    for r in rows:  # CRI names a container's snapshot after the container
        assert snaps[r.id].owner == f"{r.pod_key}/{r.name}" and not snaps[r.id].orphan
    assert snaps[rows[0].id].size_bytes is None  # not measured yet: costly, done in the background
    assert storage.measure([rows[0].id], demo_node.snapshotter) == 1
    assert storage.measure([rows[0].id], demo_node.snapshotter) == 0 and sources.containerd.calls["snapshot_usage"] == 1
    measured = {s.key: s for s in storage.snapshots(rows, demo_node.snapshotter)}[rows[0].id]
    assert measured.size_bytes is not None and measured.inodes is not None


def test_lists_read_ahead_serve_the_next_refresh_only(demo_node, sources):
    health = HealthBook(lambda: 0.0)
    storage = Storage(sources, health)
    rows = rows_of(demo_node, sources.cri)
    storage.prefetch(snapshots=True, images=True, snapshotter=demo_node.snapshotter)
    calls = dict(sources.containerd.calls), sources.cri.calls["list_images"]
    images = storage.images(rows)
    assert storage.snapshots(rows, demo_node.snapshotter)
    assert (dict(sources.containerd.calls), sources.cri.calls["list_images"]) == calls  # what was read ahead
    demo = next(i for i in images if i.id == demo_node.image_id)
    assert set(demo.used_by) == {f"{r.pod_key}/{r.name}" for r in rows}
    assert health.get("images").ok and health.get("snapshots").ok
    storage.done_refresh()
    storage.images(rows)
    assert sources.cri.calls["list_images"] == calls[1] + 1


def test_the_runtime_facts_are_read_at_first_sight_and_again_after_a_minute(demo_node, sources):
    facts = RuntimeFacts(sources, pods_dir=str(demo_node.pods_dir), hostname="demo")
    node = facts.node(100.0)
    assert node.runtime_name == "containerd" and node.snapshotter == demo_node.snapshotter == facts.snapshotter
    assert node.cgroup_mode == str(sources.cgroups.mode) and node.hostname == "demo"
    assert node.containerd_version and node.pods_dir == str(demo_node.pods_dir)
    facts.node(100.0 + FACTS_MAX_AGE_S / 2)
    assert sources.cri.calls["version"] == 1
    facts.node(101.0 + FACTS_MAX_AGE_S)
    assert sources.cri.calls["version"] == 2
    assert facts.known_node().runtime_version == node.runtime_version  # without asking the runtime
    assert sources.cri.calls["version"] == 2
