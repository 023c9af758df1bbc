"""`n9s dump` run as a user runs it, checked against CRI and the cgroup files for every container of the node."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import cgroup_truth
from test_render_format import CONTAINER_HEADER, POD_HEADER, in_order
from n9s.pb import cri_pb2

pytestmark = pytest.mark.node

MIB = 1024 * 1024


def run_dump(node, tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-m", "n9s", "--address", str(node.address), "--pods-dir", str(node.pods_dir), "dump",
         *args],
        capture_output=True, text=True, timeout=60, env=env,
    )


def test_dump_json_agrees_with_cri_and_the_cgroup_files(demo_node, tmp_path):
    rt = demo_node.runtime
    running = [c for c in rt.ListContainers(cri_pb2.ListContainersRequest()).containers
               if c.state == cri_pb2.CONTAINER_RUNNING]
    files = {c.id: cgroup_truth.of_container(demo_node, c.id) for c in running}
    before = {cid: f.read() for cid, f in files.items()}
    result = run_dump(demo_node, tmp_path, "--json", "--interval", "0.5")
    after = {cid: f.read() for cid, f in files.items()}
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)

    sandboxes = {s.id: s for s in rt.ListPodSandbox(cri_pb2.ListPodSandboxRequest()).items}
    pods = {p["sandbox_id"]: p for p in doc["pods"]}
    assert set(pods) == set(sandboxes)
    containers = {c["id"]: (p, c) for p in doc["pods"] for c in p["containers"]}
    listed = rt.ListContainers(cri_pb2.ListContainersRequest()).containers
    assert set(containers) == {c.id for c in listed}

    for sid, s in sandboxes.items():
        p = pods[sid]
        assert (p["namespace"], p["name"], p["uid"]) == (s.metadata.namespace, s.metadata.name, s.metadata.uid)
        assert p["state"] == cri_pb2.PodSandboxState.Name(s.state).removeprefix("SANDBOX_")

    for c in listed:
        pod, dumped = containers[c.id]
        status = rt.ContainerStatus(cri_pb2.ContainerStatusRequest(container_id=c.id)).status
        state = cri_pb2.ContainerState.Name(status.state).removeprefix("CONTAINER_")
        assert pod["sandbox_id"] == c.pod_sandbox_id
        assert (dumped["name"], dumped["attempt"]) == (c.metadata.name, c.metadata.attempt)
        if dumped["state"] == "EXITED":
            assert state == "EXITED"  # an exited container never runs again
            assert (dumped["exit_code"], dumped["reason"]) == (status.exit_code, status.reason), c.metadata.name
            assert dumped["memory_working_set_bytes"] is None and dumped["pid"] is None
        if c.id not in before:
            continue  # it was not running when the cgroup files were read: states may have moved on since
        assert dumped["state"] == state == "RUNNING", (c.metadata.name, dumped["state"], state)
        assert dumped["exit_code"] is None and dumped["pid"] > 0
        first, last = before[c.id], after[c.id]
        # CPU time only grows: the dump's counter lies between what the files said before and after the run.
        assert first.cpu_usage_ns <= dumped["cpu_usage_ns"] <= last.cpu_usage_ns, c.metadata.name
        assert dumped["cpu_cores"] is not None and dumped["cpu_cores"] >= 0
        # Memory moves a little while idle containers sleep; a tolerance of 10% (and 256 KiB for tiny ones).
        low = min(first.working_set, last.working_set) * 0.9 - 256 * 1024
        high = max(first.working_set, last.working_set) * 1.1 + 256 * 1024
        assert low <= dumped["memory_working_set_bytes"] <= high, c.metadata.name
        # Limits are exact.
        assert dumped["memory_limit_bytes"] == last.limit, c.metadata.name
        assert dumped["memory_unlimited"] == (last.limit is None), c.metadata.name

    crash = demo_node.pod("demo/crash")
    _, failing = containers[crash.container("failing")]
    assert (failing["state"], failing["exit_code"], failing["reason"], failing["pid"]) == ("EXITED", 3, "Error", None)
    assert failing["finished_at"] is not None and failing["finished_at"] >= failing["created_at"]
    assert pods[crash.sandbox_id]["status"] == "Error"
    _, holder = containers[demo_node.pod("demo/mem").container("holder")]
    assert holder["memory_limit_bytes"] == 256 * MIB and holder["memory_working_set_bytes"] >= 48 * MIB
    assert {t["container_id"] for t in doc["tasks"]} >= set(before)
    runtime_sources = {h["source"]: h["state"] for h in doc["health"] if h["source"] != "api"}
    assert runtime_sources == {"runtime": "ok", "containerd": "ok", "snapshots": "ok", "images": "ok"}
    assert {s["key"] for s in doc["snapshots"]} >= set(containers)
    cri_images = demo_node.images.ListImages(cri_pb2.ListImagesRequest()).images
    assert sorted(i["id"] for i in doc["images"]) == sorted(i.id for i in cri_images)


def test_dump_table_shows_the_view_headers_and_every_pod(demo_node, tmp_path):
    result = run_dump(demo_node, tmp_path, "--table", "--interval", "0")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()

    def header_after(title: str) -> list[str]:
        at = next(i for i, line in enumerate(lines) if line.startswith(f"== {title} "))
        return lines[at + 1].split()

    assert in_order(POD_HEADER, header_after("PODS"))
    assert in_order(CONTAINER_HEADER, header_after("CONTAINERS"))
    for pod in demo_node.pods.values():
        assert any(line.split()[:2] == [pod.namespace, pod.name] for line in lines), pod.key
    assert header_after("TASKS") == ["CONTAINER", "KIND", "NAME", "POD", "PID", "STATUS", "EXIT", "EXECS"]
    assert any(line.split()[1:4] == ["container", "burner", "demo/burn"] for line in lines)
    crash_line = next(line for line in lines if line.startswith("failing "))
    assert "EXITED (Error)" in crash_line and " 3 " in crash_line
