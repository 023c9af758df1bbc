"""Pure joins of the node picture: pods from sandboxes and containers, snapshot owners and orphans, image users."""
from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace as NS

from n9s.model.collector import figures_from
from n9s.model.joins import build_pods, container_restarts, pod_figures, pod_status, with_pod_cgroup
from n9s.model.picture import ContainerRow, Figures
from n9s.model.snapshots import image_snapshot_tops, join_images, join_snapshots

MIB = 1024 * 1024


def row(cid, name, *, sandbox="sb1", state="RUNNING", attempt=0, created=1, exit_code=None, reason="", figures=None,
        image="img:1", image_ref="sha256:i1"):
    return ContainerRow(
        id=cid, sandbox_id=sandbox, name=name, attempt=attempt, image=image, image_ref=image_ref, state=state,
        created_at_ns=created, namespace="ns", pod_name="pod", pod_uid="uid", labels={}, annotations={},
        exit_code=exit_code, reason=reason, figures=figures or Figures(),
    )


def sandbox(sid="sb1", *, state="READY", annotations=None):
    return NS(id=sid, name="pod", namespace="ns", uid="uid", attempt=0, state=state, created_at_ns=1,
              labels={"app": "x"}, annotations=annotations or {})


def test_a_restarted_container_counts_once_by_its_newest_attempt():
    old = row("c0", "app", state="EXITED", exit_code=1, reason="Error", created=1)
    new = row("c1", "app", attempt=1, created=2, figures=Figures(cpu_cores=0.5, memory_working_set_bytes=10))
    (pod,) = build_pods([sandbox()], [old, new])
    assert (pod.ready, pod.total, pod.status) == (1, 1, "Running")
    assert pod.containers == (old, new)  # history stays visible
    assert pod.figures.cpu_cores == 0.5 and pod.figures.memory_working_set_bytes == 10
    assert pod.health == "ok"  # the old failure is history, not the pod's state now


def test_pod_status_words():
    running = row("a", "a")
    failed = row("b", "b", state="EXITED", exit_code=3, reason="Error")
    done = row("c", "c", state="EXITED", exit_code=0, reason="Completed")
    oom = row("d", "d", state="EXITED", exit_code=137, reason="OOMKilled")
    created = row("e", "e", state="CREATED")
    assert pod_status("READY", [running]) == "Running"
    assert pod_status("READY", [running, failed]) == "Error"
    assert pod_status("READY", [done]) == "Completed"
    assert pod_status("READY", [running, oom]) == "OOMKilled"
    assert pod_status("READY", [running, created]) == "ContainerCreating"
    assert pod_status("READY", []) == "ContainerCreating"
    assert pod_status("NOTREADY", [running]) == "NotReady"


def test_pod_health_colours():
    def health(*rows, state="READY"):
        (pod,) = build_pods([sandbox(state=state)], list(rows))
        return pod.health

    assert health(row("a", "a")) == "ok"
    assert health(row("a", "a", state="EXITED", exit_code=3, reason="Error")) == "failed"
    assert health(row("a", "a", state="EXITED", exit_code=137, reason="OOMKilled")) == "oom"
    assert health(row("a", "a", state="EXITED", exit_code=0, reason="Completed")) == "done"
    assert health(row("a", "a"), state="NOTREADY") == "done"
    assert health(row("a", "a", state="CREATED")) == "pending"
    assert health(row("a", "a", figures=Figures(throttled_recently=True))) == "throttled"


def test_pod_memory_limit_is_the_sum_only_when_every_container_has_one():
    limited = [row("a", "a", figures=Figures(memory_working_set_bytes=10 * MIB, memory_limit_bytes=64 * MIB)),
               row("b", "b", figures=Figures(memory_working_set_bytes=6 * MIB, memory_limit_bytes=64 * MIB))]
    f = pod_figures(limited)
    assert (f.memory_limit_bytes, f.memory_unlimited) == (128 * MIB, False)
    assert f.memory_percent_of_limit == 12.5
    mixed = limited + [row("c", "c", figures=Figures(memory_working_set_bytes=MIB, memory_unlimited=True))]
    f = pod_figures(mixed)
    assert (f.memory_limit_bytes, f.memory_unlimited, f.memory_percent_of_limit) == (None, True, None)
    assert f.memory_working_set_bytes == 17 * MIB
    # Exited containers hold no memory and set no limit.
    f = pod_figures([row("x", "x", state="EXITED", exit_code=0, figures=Figures(memory_working_set_bytes=5))])
    assert (f.memory_working_set_bytes, f.memory_limit_bytes, f.memory_unlimited) == (None, None, False)


def test_unknown_figures_stay_unknown_not_zero():
    f = pod_figures([row("a", "a"), row("b", "b")])
    assert f.cpu_cores is None and f.memory_working_set_bytes is None and f.pids_current is None


def test_restart_count_from_the_kubelet_annotation_else_the_attempt():
    assert container_restarts(NS(annotations={"io.kubernetes.container.restartCount": "4"}, attempt=1)) == 4
    assert container_restarts(NS(annotations={"io.kubernetes.container.restartCount": "x"}, attempt=2)) == 2
    assert container_restarts(NS(annotations={}, attempt=0)) == 0


def test_static_pod_is_flagged_from_its_config_source():
    (pod,) = build_pods([sandbox(annotations={"kubernetes.io/config.source": "file"})], [])
    assert pod.static


def test_figures_from_stats_rate_and_throttling():
    prev = NS(cpu_usage_ns=1_000_000_000, timestamp_ns=0, cpu_nr_throttled=5)
    cur = NS(cpu_usage_ns=3_000_000_000, timestamp_ns=2_000_000_000, cpu_nr_throttled=7, memory_working_set_bytes=9,
             psi_cpu_some_avg10=1.5, psi_memory_full_avg10=0.0)
    f = figures_from(cur, prev, lambda p, c: (c.cpu_usage_ns - p.cpu_usage_ns) / (c.timestamp_ns - p.timestamp_ns))
    assert f.cpu_cores == 1.0 and f.throttled_recently and f.memory_working_set_bytes == 9
    assert f.psi == {"cpu.some": 1.5, "memory.full": 0.0}
    assert figures_from(None, None, lambda p, c: 1.0) == Figures()


# ---- snapshots and images ----

def snap(key, kind, parent=""):
    return NS(key=key, kind=kind, parent=parent, created_at_ns=1)


def ctd(cid, key, kind="container", labels=None):
    return NS(id=cid, snapshot_key=key, kind=kind, labels=labels or {})


def test_snapshot_owners_and_orphans():
    snaps = [
        snap("base", "COMMITTED"),
        snap("top", "COMMITTED", "base"),  # the image's unpacked top layer
        snap("c1", "ACTIVE", "top"),
        snap("sb1", "ACTIVE", "top"),
        snap("leftover", "ACTIVE", "top"),  # no container uses it
        snap("old-layer", "COMMITTED"),  # neither an image layer nor below a used snapshot
        snap("old-top", "COMMITTED", "old-layer"),
        snap("view", "VIEW", "top"),
    ]
    containers = [
        ctd("c1", "c1"),
        ctd("sb1", "sb1", kind="sandbox", labels={"io.kubernetes.pod.namespace": "ns", "io.kubernetes.pod.name": "pod"}),
        ctd("ctr-made", "", kind=""),
    ]
    rows = join_snapshots(snaps, containers, {"top"}, [row("c1", "app")], {"c1": (4096, 3)})
    by_key = {r.key: r for r in rows}
    assert set(by_key) == {s.key for s in snaps}  # nothing added, nothing lost
    assert {k for k, r in by_key.items() if r.orphan} == {"leftover", "old-layer", "old-top"}
    assert by_key["c1"].owner == "ns/pod/app" and by_key["c1"].owner_id == "c1"
    assert by_key["sb1"].owner == "ns/pod (sandbox)"
    assert (by_key["c1"].size_bytes, by_key["c1"].inodes) == (4096, 3)
    assert by_key["top"].size_bytes is None  # not measured yet: unknown, not 0
    assert [r.orphan for r in rows][:3] == [True, True, True]  # orphans first


def test_a_committed_layer_below_a_used_container_is_not_orphaned_even_without_the_image():
    snaps = [snap("l1", "COMMITTED"), snap("l2", "COMMITTED", "l1"), snap("c1", "ACTIVE", "l2")]
    rows = join_snapshots(snaps, [ctd("c1", "c1")], set(), [], {})
    assert not any(r.orphan for r in rows)


def test_image_top_snapshots_follow_content_labels_from_index_to_config():
    labels = {
        "sha256:index": {"containerd.io/gc.ref.content.m.0": "sha256:manifest"},
        "sha256:manifest": {"containerd.io/gc.ref.content.config": "sha256:config"},
        "sha256:config": {"containerd.io/gc.ref.snapshot.overlayfs": "sha256:chain",
                          "containerd.io/gc.ref.snapshot.native": "sha256:other"},
    }
    assert image_snapshot_tops(["sha256:index"], lambda d: labels.get(d, {}), "overlayfs") == {"sha256:chain"}
    assert image_snapshot_tops(["sha256:missing"], lambda d: {}, "overlayfs") == set()


def test_image_users_by_reference():
    images = [NS(id="sha256:i1", repo_tags=["img:1"], repo_digests=[], size=10, pinned=False),
              NS(id="sha256:i2", repo_tags=["other:2"], repo_digests=["other@sha256:d"], size=20, pinned=True)]
    rows = [row("c1", "app", image="img:1", image_ref="sha256:i1"),
            row("c2", "side", image="other@sha256:d", image_ref="")]
    out = {i.id: i for i in join_images(images, rows)}
    assert out["sha256:i1"].used_by == ("ns/pod/app",)
    assert out["sha256:i2"].used_by == ("ns/pod/side",) and out["sha256:i2"].pinned


def test_pod_cgroup_figures_win_and_the_containers_fill_the_gaps():
    containers = Figures(cpu_cores=0.5, memory_working_set_bytes=10 * MIB, memory_limit_bytes=64 * MIB,
                         pids_current=3, oom_kills=1, throttled_recently=True)
    pod = Figures(cpu_cores=None, memory_working_set_bytes=11 * MIB, memory_unlimited=True, pids_current=4,
                  oom_kills=0)
    f = with_pod_cgroup(pod, containers)
    assert f.cpu_cores == 0.5  # the pod cgroup's first sample has no rate yet
    assert f.memory_working_set_bytes == 11 * MIB and f.pids_current == 4
    assert (f.memory_limit_bytes, f.memory_unlimited) == (64 * MIB, False)  # bounded by the containers' limits
    assert f.oom_kills == 1 and f.throttled_recently
    limited = with_pod_cgroup(replace(pod, memory_unlimited=False, memory_limit_bytes=128 * MIB, cpu_cores=0.7),
                              containers)
    assert (limited.memory_limit_bytes, limited.cpu_cores) == (128 * MIB, 0.7)
    assert with_pod_cgroup(Figures(), Figures()) == Figures()
