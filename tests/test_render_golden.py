"""Golden rows: every renderer on a hand-built node picture (pure, no node).

The goldens in tests/fixtures/golden/*.json were reviewed by hand. After a deliberate change to a renderer,
regenerate them with `N9S_UPDATE_GOLDEN=1 pytest tests/test_render_golden.py` and review the diff before
committing it.
"""
from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from n9s.render.dump import picture_dict
from n9s.model.detail import ContainerDetail
from n9s.model.joins import build_pods
from n9s.model.picture import (
    ContainerRow,
    ExecRow,
    FilesystemRow,
    Figures,
    ImageRow,
    NodeInfo,
    NodePicture,
    SnapshotRow,
    SourceHealth,
    TaskRow,
)
from n9s.render import views as r
from n9s.render.detail import detail_sections
from n9s.render.node import NODE_COLUMNS, render_node
from n9s.core.sanitize import is_safe_text
from n9s.sources.procs import ProcessRow

GOLDEN_DIR = Path(__file__).parent / "fixtures" / "golden"
UPDATE = os.environ.get("N9S_UPDATE_GOLDEN") == "1"

NOW = 1_700_000_000.0
MIB = 1024 * 1024
OSC_TITLE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J"


def ago(seconds: float) -> int:
    return int((NOW - seconds) * 1e9)


class Sandbox:
    """What build_pods needs of a CRI sandbox (the shape of n9s.sources.cri.PodSandbox)."""

    def __init__(self, id, name, namespace, *, state="READY", labels=None, annotations=None, age=600.0, attempt=0):
        self.id, self.name, self.namespace, self.uid = id, name, namespace, f"uid-{id}"
        self.state, self.attempt, self.created_at_ns = state, attempt, ago(age)
        self.labels = {"io.kubernetes.pod.name": name, "io.kubernetes.pod.namespace": namespace, **(labels or {})}
        self.annotations = annotations or {"kubernetes.io/config.source": "api"}


def container(cid, sandbox, name, *, state="RUNNING", attempt=0, figures=None, exit_code=None, reason="", age=590.0,
              image="registry.example/app:1.0", restarts=0, cpu_history=(), memory_history=()):
    return ContainerRow(
        id=cid, sandbox_id=sandbox.id, name=name, attempt=attempt, image=image, image_ref=f"sha256:{cid}img",
        state=state, created_at_ns=ago(age), namespace=sandbox.namespace, pod_name=sandbox.name,
        pod_uid=sandbox.uid, labels={"io.kubernetes.container.name": name}, annotations={}, restarts=restarts,
        pid=4242 if state == "RUNNING" else None, task_status="RUNNING" if state == "RUNNING" else "STOPPED",
        exit_code=exit_code, reason=reason, finished_at_ns=ago(age - 5) if state == "EXITED" else 0,
        figures=figures or Figures(), cpu_history=cpu_history,
        memory_history=memory_history,
    )


def running_figures(cores, working_set, limit=None, *, pids=1, throttled=0, periods=None, recently=False, oom=0):
    return Figures(
        cpu_cores=cores, cpu_usage_ns=123_000_000, cpu_nr_periods=periods, cpu_nr_throttled=throttled,
        cpu_throttled_ns=throttled * 5_000_000, throttled_recently=recently,
        memory_working_set_bytes=working_set, memory_usage_bytes=None if working_set is None else working_set + MIB,
        memory_limit_bytes=limit, memory_unlimited=limit is None, pids_current=pids, oom_kills=oom,
    )


SANDBOXES = [
    Sandbox("sb-web", "web", "default", labels={"app": "web", "tier": "frontend"}),
    Sandbox("sb-burn", "burn", "demo", labels={"app": "burn"}, age=7200.0),
    Sandbox("sb-oom", "hog", "demo", labels={"app": "hog"}),
    Sandbox("sb-done", "job", "batch", age=3 * 86400.0),
    Sandbox("sb-gone", "old", "batch", state="NOTREADY", age=45.0),
    Sandbox("sb-etcd", "etcd-node1", "kube-system", annotations={"kubernetes.io/config.source": "file"}),
    Sandbox("sb-evil", f"evil{OSC_TITLE}pod", f"ns{CLEAR}", labels={"app": f"x{CLEAR}y", f"k{OSC_TITLE}": "v"}),
    Sandbox("sb-new", "starting", "demo", age=3.0),
]
SB = {s.id: s for s in SANDBOXES}

CONTAINERS = [
    container("c-server", SB["sb-web"], "server",
              figures=running_figures(0.0042, 12 * MIB, 64 * MIB, pids=3),
              cpu_history=(0.001, 0.002, 0.004, 0.0042), memory_history=(10 * MIB, 11 * MIB, 12 * MIB)),
    container("c-logger", SB["sb-web"], "logger", figures=running_figures(0.0009, 300 * 1024, pids=2)),
    container("c-burner", SB["sb-burn"], "burner",
              figures=running_figures(0.9996, 208 * 1024, 128 * MIB, throttled=1500, periods=3000, recently=True)),
    container("c-hog-0", SB["sb-oom"], "hog", state="EXITED", exit_code=137, reason="OOMKilled", restarts=0),
    container("c-hog-1", SB["sb-oom"], "hog", attempt=1, restarts=1, age=30.0,
              figures=running_figures(12.345, 250 * MIB, 256 * MIB, pids=40, oom=1)),
    container("c-job", SB["sb-done"], "work", state="EXITED", exit_code=0, reason="Completed", age=3 * 86400.0 - 5),
    container("c-etcd", SB["sb-etcd"], "etcd", figures=running_figures(0.0, 0, pids=None)),
    container("c-evil", SB["sb-evil"], f"name{CLEAR}", image=f"img{OSC_TITLE}:latest",
              figures=running_figures(None, None)),
    container("c-new", SB["sb-new"], "app", state="CREATED", age=1.0),
]


def api_view(status_text, *, restarts=0, cpu_request_m=None, cpu_limit_m=None, memory_request_bytes=None,
             memory_limit_bytes=None):
    """The few fields of the API's pod the pods view reads (the shape of n9s.sources.kube.objects' pod)."""
    return SimpleNamespace(status_text=status_text, restarts=restarts, cpu_request_m=cpu_request_m,
                           cpu_limit_m=cpu_limit_m, memory_request_bytes=memory_request_bytes,
                           memory_limit_bytes=memory_limit_bytes)


def picture() -> NodePicture:
    pods = build_pods(SANDBOXES, CONTAINERS)
    api = {
        "sb-web": dict(api=api_view("Running", cpu_request_m=100, cpu_limit_m=200, memory_request_bytes=32 * MIB,
                                    memory_limit_bytes=128 * MIB)),
        "sb-evil": dict(api=api_view(f"Run{OSC_TITLE}ning"), flags=(f"API says x{CLEAR} running",)),
    }
    pods = [replace(p, **api.get(p.id, {})) for p in pods]
    node = NodeInfo(
        hostname=f"node-1{OSC_TITLE}",
        runtime_name="containerd", runtime_version=f"1.7.2{CLEAR}", runtime_api_version="v1",
        containerd_version=f"v1.7.2{OSC_TITLE}",
        conditions=(("RuntimeReady", True, "", ""),
                    ("NetworkReady", False, f"NetworkPluginNotReady{OSC_TITLE}", f"cni plugin not initialized{CLEAR}")),
        cpu_count=2, cpu_percent=57.4, memory_total_bytes=8 * 1024 * MIB, memory_available_bytes=6 * 1024 * MIB,
        load=(1.5, 0.75, 0.25), uptime_s=2 * 86400 + 3 * 3600 + 120,
        filesystems=(FilesystemRow("containerd root", "/var/lib/containerd", 100 * 1024 * MIB, 5 * 1024 * MIB,
                                   1000, 900),
                     FilesystemRow("pod logs", "/var/log/pods", None, None, None, None)),
        failed_plugins=(("io.containerd.snapshotter.v1.btrfs", "path /var/lib/containerd must be a btrfs filesystem"),),
        snapshotter="overlayfs", cgroup_mode="v2", containerd_root="/var/lib/containerd", pods_dir="/var/log/pods",
    )
    tasks = (
        TaskRow("c-server", 4242, "RUNNING", 0, 0, "container", "server", "default/web"),
        TaskRow("sb-web", 4200, "RUNNING", 0, 0, "sandbox", "web", "default/web"),
        TaskRow("c-job", 0, "STOPPED", 0, ago(100), "container", "work", "batch/job"),
        TaskRow("c-hog-0", 0, "STOPPED", 137, ago(60), "container", "hog", "demo/hog"),
        TaskRow("stray0123456789abcdef", 999, "RUNNING", 0, 0, "", "", ""),
        TaskRow("c-evil", 77, "RUNNING", 0, 0, "container", f"name{CLEAR}", f"ns{CLEAR}/evil{OSC_TITLE}pod"),
    )
    execs = (
        ExecRow("c-server", "exec-kept", 5001, "sh", NOW - 300, "n9s, kept"),
        ExecRow("c-server", "exec-other", 5002, "sleep 60", NOW - 5, ""),
        ExecRow("c-evil", "exec-evil", 5003, f"sh{CLEAR}", NOW - 5, ""),
    )
    snapshots = (
        SnapshotRow("orphan-active-key-0123456789abcdef", "ACTIVE", "sha256:layer2", ago(3600), None, None, "", "",
                    True),
        SnapshotRow("sha256:dangling", "COMMITTED", "", ago(7200), 5 * MIB, 120, "", "", True),
        SnapshotRow("c-server", "ACTIVE", "sha256:layer2", ago(590), 4096, 3, "default/web/server", "c-server",
                    False),
        SnapshotRow("sb-web", "ACTIVE", "sha256:layer2", ago(600), 0, 0, "default/web (sandbox)", "sb-web", False),
        SnapshotRow("sha256:layer1", "COMMITTED", "", ago(86400 * 2), 2 * MIB, 400, "", "", False),
        SnapshotRow("sha256:layer2", "COMMITTED", "sha256:layer1", ago(86400 * 2), 512 * 1024, 40, "", "", False),
        SnapshotRow(f"evil{CLEAR}", "ACTIVE", "", ago(10), None, None, f"o{OSC_TITLE}", "x", False),
    )
    images = (
        ImageRow("sha256:0123456789abcdef0123", ("registry.example/app:1.0",), ("registry.example/app@sha256:aa",),
                 30 * MIB, False, ("a/b/c", "d/e/f", "g/h/i", "j/k/l", "m/n/o")),
        ImageRow("sha256:pause0000000000000000", ("registry.k8s.io/pause:3.9",), (), 300 * 1024, True, ()),
        ImageRow("sha256:untagged00000000000000", (), ("registry.example/old@sha256:bb",), 12 * MIB, False,
                 ("default/web/server",)),
        ImageRow("sha256:bare0000000000000000000", (), (), 1000, False, ()),
        ImageRow("sha256:evil00000000000000000000", (f"evil{OSC_TITLE}:1",), (), 1, False, (f"x{CLEAR}/y/z",)),
    )
    health = (
        SourceHealth("runtime", "ok", "", NOW - 100),
        SourceHealth("containerd", "ok", "", NOW - 100),
        SourceHealth("kubernetes", "unreachable", f"connection refused{OSC_TITLE}", NOW - 30),
    )
    return NodePicture(taken_at=NOW, node=node, pods=tuple(pods), containers=tuple(CONTAINERS), tasks=tasks,
                       execs=execs, snapshots=snapshots, images=images, health=health)


def rows_doc(columns, rows) -> dict:
    return {
        "columns": [c.name for c in columns],
        "rows": [{"key": row.key, "cells": list(row.cells), "health": row.health,
                  "sort_values": list(row.sort_values)} for row in rows],
    }


def detail_doc() -> dict:
    p = picture()
    row = p.container("c-server")
    figures = replace(row.figures, cpu_nr_periods=3000, cpu_nr_throttled=12, cpu_throttled_ns=60_000_000,
                      memory_rss_bytes=10 * MIB, memory_cache_bytes=2 * MIB, pids_max=100, io_read_bytes=4096,
                      io_write_bytes=0, psi={"cpu.some": 1.25, "memory.some": 0.0, "memory.full": 0.0})
    d = ContainerDetail(
        row=row, figures=figures,
        processes=(ProcessRow(pid=4242, ppid=4200, depth=0, user="root", command="httpd -f -p 8080",
                              cpu_percent=0.5, rss_bytes=2 * MIB),
                   ProcessRow(pid=4250, ppid=4242, depth=1, user=f"www{CLEAR}", command=f"cgi {OSC_TITLE}run",
                              cpu_percent=None, rss_bytes=MIB)),
        execs=(ExecRow("c-server", "0123456789abcdef0123", 5001, "sh", NOW - 300, "n9s"),
               ExecRow("c-server", "fedcba9876543210", 5002, "sh", NOW - 4000, "n9s, kept"),
               ExecRow("c-server", "e3", 5003, f"sleep {CLEAR}60", NOW - 5, ""),
               ExecRow("c-server", "e4", 5004, "", None, "")),
        labels={"io.kubernetes.container.name": "server", "evil": f"v{OSC_TITLE}"},
        annotations={"io.kubernetes.container.hash": "abc123"},
        mounts=(("/var/www", "/srv/www", True), ("/etc/hosts", "/var/lib/kubelet/pods/x/etc-hosts", False)),
        snapshot_key="c-server", snapshotter="overlayfs", log_path="/var/log/pods/default_web_uid/server/0.log",
        cgroup_path="/kubepods/burstable/poduid/c-server",
    )
    return {"sections": [[title, [list(line) for line in lines]] for title, lines in detail_sections(d, NOW)]}


def outputs() -> dict[str, dict]:
    p = picture()
    return {
        "pods": rows_doc(r.POD_COLUMNS, r.render_pods(p, NOW)),
        "containers": rows_doc(r.CONTAINER_COLUMNS, r.render_containers(p, NOW)),
        "tasks": rows_doc(r.TASK_COLUMNS, r.render_tasks(p, NOW)),
        "snapshots": rows_doc(r.SNAPSHOT_COLUMNS, r.render_snapshots(p, NOW)),
        "images": rows_doc(r.IMAGE_COLUMNS, r.render_images(p, NOW)),
        "node": rows_doc(NODE_COLUMNS, render_node(p, NOW)),
        "detail": detail_doc(),
    }


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def _displayed(doc: dict):
    """Everything of a rendered doc that reaches the screen (sort values never do)."""
    if "sections" in doc:
        yield from _strings(doc["sections"])
    else:
        for row in doc["rows"]:
            yield from row["cells"]


@pytest.mark.parametrize("name", ["pods", "containers", "tasks", "snapshots", "images", "node", "detail"])
def test_rendered_rows_match_the_reviewed_golden(name):
    produced = json.loads(json.dumps(outputs()[name]))  # tuples become lists, as in the file
    path = GOLDEN_DIR / f"{name}.json"
    if UPDATE:
        GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(produced, indent=1, ensure_ascii=False) + "\n")
    assert path.exists(), f"no golden {path}: run with N9S_UPDATE_GOLDEN=1 and review the file"
    assert produced == json.loads(path.read_text())


@pytest.mark.parametrize("name", ["pods", "containers", "tasks", "snapshots", "images", "node", "detail"])
def test_no_escape_sequence_from_a_name_or_label_reaches_a_cell(name):
    doc = outputs()[name]
    shown = list(_displayed(doc))
    assert shown
    for text in shown:
        assert is_safe_text(text), repr(text)
        assert "pwned" not in text, repr(text)  # the whole OSC string goes, payload included


def test_the_picture_really_holds_the_hostile_strings():
    # Guards the test above: the hostile text must be in the input for the check to mean anything.
    p = picture()
    names = [pod.name for pod in p.pods] + [c.name for c in p.containers] + [p.node.hostname]
    assert any(OSC_TITLE in n for n in names) and any(CLEAR in n for n in names)
    assert any(OSC_TITLE in k for pod in p.pods for k in pod.labels)


def test_dump_json_of_the_picture_matches_the_golden():
    produced = json.loads(json.dumps(picture_dict(picture())))
    path = GOLDEN_DIR / "dump.json"
    if UPDATE:
        path.write_text(json.dumps(produced, indent=1, ensure_ascii=False) + "\n")
    assert produced == json.loads(path.read_text())


def test_label_filter_in_the_containers_view_matches_the_pod_labels():
    from n9s.render.filtering import RowFilter

    shown = RowFilter("-l app=web").apply(r.render_containers(picture(), NOW))
    assert sorted(row.key for row in shown) == ["c-logger", "c-server"]
