"""Not root: the runtime socket cannot be used. The header names the socket and the group that may use it, and
what works without the socket still shows: the pods found in the pod log directory with their cgroup figures, their
logs openable with `l`. Denial is simulated by refusing access to the socket alone (os.access, the check n9s makes
before it connects), so the rest of the node stays readable as it is for a user in the right groups."""
from __future__ import annotations

import grp
import os
import stat

import pytest

from pilot_helpers import make_app, table_rows, wait_for

from n9s.model.degraded import LocalView, scan_pod_logs
from n9s.sources.cgroups.paths import pod_cgroup_paths
from n9s.model.collector import figures_from
from n9s.sources.cgroups.reader import CgroupReader, cpu_cores
from n9s.widgets.log_view import LogView
from n9s.widgets.node_header import NodeHeader
from n9s.widgets.resource_table import ResourceTable


def header(app) -> str:
    return str(app.screen.query_one(NodeHeader).render())


def deny_socket(monkeypatch, socket_path: str) -> None:
    real_access = os.access

    def access(path, mode, *args, **kwargs):
        if os.fspath(path) == socket_path:
            return False
        return real_access(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)


def by_pod(app) -> dict[str, dict[str, str]]:
    names = ["NAMESPACE", "NAME", "READY", "STATUS", "API", "RESTARTS", "CPU", "%CPU/R", "%CPU/L", "MEM"]
    return {f"{r[0]}/{r[1].removesuffix(' [static]')}": dict(zip(names, r)) for r in table_rows(app)}


@pytest.mark.node
async def test_socket_not_usable_says_why_and_shows_pods_from_logs_and_cgroups(demo_node, monkeypatch):
    sock = str(demo_node.address)
    st = os.stat(sock)
    group = grp.getgrgid(st.st_gid).gr_name
    deny_socket(monkeypatch, sock)
    app = make_app(demo_node, refresh_s=0.5)
    async with app.run_test(size=(220, 40)) as pilot:
        # Why the runtime part is missing: the socket, its mode and the group that may use it.
        assert await wait_for(pilot, lambda: f"permission denied on {sock}" in header(app), timeout=10), header(app)
        text = header(app)
        assert f"mode {stat.S_IMODE(st.st_mode):04o}, group {group}" in text
        assert f"member of the socket's group '{group}'" in text
        assert "runtime: unavailable" in text and "without the runtime: pods from" in text

        # The pods the log directory knows, with the figures of their pod cgroups.
        demo = {p.key for p in demo_node.pods.values()}
        assert await wait_for(pilot, lambda: demo <= set(by_pod(app))), sorted(by_pod(app))
        assert await wait_for(pilot, lambda: by_pod(app)["demo/burn"]["CPU"] != "-", timeout=5), by_pod(app)
        pods = by_pod(app)
        assert pods["default/web"]["STATUS"] == "Running" and pods["default/web"]["READY"] == "2/2"
        assert pods["demo/crash"]["READY"] == "0/1"  # its only container exited: its cgroup is gone
        mem = pods["demo/mem"]["MEM"]
        assert mem.endswith("MiB") and float(mem.split()[0]) >= 48, mem  # the holder keeps 48 MiB in /dev/shm
        # The burner's shell loop uses far more CPU than a pod that sleeps (how much depends on how busy the
        # machine is, so only the comparison is asserted).
        millicores = {key: float(pods[key]["CPU"].removesuffix("m") or 0) if pods[key]["CPU"] != "-" else None
                      for key in ("demo/burn", "demo/graceful")}
        assert millicores["demo/burn"] > 10 * max(millicores["demo/graceful"] or 0, 1), millicores

        # Logs open as usual: a container's, and a pod's merged.
        await pilot.press("colon", *"co", "enter")
        assert await wait_for(pilot, lambda: any(r[:2] == ["logger", "default/web"] for r in table_rows(app)))
        index = next(i for i, r in enumerate(table_rows(app)) if r[:2] == ["logger", "default/web"])
        app.screen.query_one(ResourceTable).move_cursor(row=index)
        await pilot.press("l")
        assert await wait_for(pilot, lambda: bool(app.screen.query(LogView)) and
                              "served" in "\n".join(app.screen.query_one(LogView).visible_text()), timeout=10)
        await pilot.press("escape")

        # Views that only the runtime can fill say so, with the reason.
        await pilot.press("colon", *"tasks", "enter")
        assert await wait_for(pilot, lambda: "need the container runtime: permission denied on" in
                              str(app.screen.query_one("#empty").render()))
        await pilot.press("colon", *"pods", "enter")
        assert app.is_running and app.picture.local_only


def test_pod_log_directory_scan(tmp_path):
    uid = "0f1e2d3c-aaaa-bbbb-cccc-123456789abc"
    pod = tmp_path / f"kube-system_etcd-node-1_{uid}"
    (pod / "etcd").mkdir(parents=True)
    for name in ("0.log", "1.log", "1.log.20260101-000000", "2.log.20260101-000001.gz"):
        (pod / "etcd" / name).write_text("")
    (pod / "sidecar").mkdir()
    (pod / "sidecar" / "0.log").write_text("")
    (pod / "empty").mkdir()  # no log yet: no container row
    for junk in ("not-a-pod", "a_b", "Upper_case_x", "ns_name_uid_extra", "x_y_" + "z" * 3 + "\x1b[31m"):
        (tmp_path / junk).mkdir()
    (tmp_path / f"default_file_{uid}").write_text("")  # a file, not a directory

    pods = scan_pod_logs(str(tmp_path))
    assert [(p.namespace, p.name, p.uid) for p in pods] == [("kube-system", "etcd-node-1", uid)]
    containers = {c.name: (c.attempt, c.log_path) for c in pods[0].containers}
    assert containers == {"etcd": (1, str(pod / "etcd" / "1.log")), "sidecar": (0, str(pod / "sidecar" / "0.log"))}
    assert scan_pod_logs(str(tmp_path / "missing")) == []


def test_pod_cgroup_candidates_cover_both_drivers():
    uid = "12345678-aaaa-bbbb-cccc-123456789abc"
    paths = pod_cgroup_paths(uid)
    assert f"/kubepods/burstable/pod{uid}" in paths and f"/kubepods/pod{uid}" in paths
    assert ("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12345678_aaaa_bbbb_cccc_123456789abc"
            ".slice") in paths


def _write(path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_local_view_reads_pod_cgroups_on_a_captured_v2_tree(tmp_path):
    """Pod figures from `pod<uid>` (cgroup v2, cgroupfs driver), containers from the logs, a rate on the second
    sample; a pod whose cgroup is gone shows its logs only."""
    uid, gone = "11111111-2222-3333-4444-555555555555", "99999999-2222-3333-4444-555555555555"
    pods_dir = tmp_path / "pods"
    _write(pods_dir / f"default_web_{uid}" / "server" / "0.log", "")
    _write(pods_dir / f"default_web_{uid}" / "logger" / "3.log", "")
    _write(pods_dir / f"default_old_{gone}" / "app" / "0.log", "")
    root = tmp_path / "cgroup"
    _write(root / "cgroup.controllers", "cpu memory pids io\n")
    pod = root / "kubepods" / "burstable" / f"pod{uid}"
    _write(pod / "cpu.stat", "usage_usec 1000000\nuser_usec 1\nsystem_usec 1\n")
    _write(pod / "memory.current", str(64 << 20) + "\n")
    _write(pod / "memory.stat", f"anon {40 << 20}\nfile {8 << 20}\ninactive_file {4 << 20}\n")
    _write(pod / "memory.max", "max\n")
    _write(pod / "pids.current", "5\n")
    _write(pod / "memory.events", "oom_kill 0\n")
    for child, procs in (("sandbox", "1\n"), ("c1", "2\n"), ("c2", "3\n"), ("c3", "")):
        _write(pod / child / "cgroup.procs", procs)
    _write(pod / "cgroup.procs", "")
    reader = CgroupReader(root=str(root), proc_root=str(tmp_path / "noproc"))
    view = LocalView(str(pods_dir), reader, lambda stats, prev: figures_from(stats, prev, cpu_cores))

    pods, containers = view.rows()
    web = next(p for p in pods if p.name == "web")
    assert web.id == f"local:{uid}" and web.status == "Running"
    assert (web.ready, web.total, web.restarts) == (2, 2, 3)
    assert web.figures.memory_working_set_bytes == 60 << 20 and web.figures.pids_current == 5
    assert web.figures.cpu_cores is None  # one sample: no rate yet
    old = next(p for p in pods if p.name == "old")
    assert old.status == "no cgroup (logs only)" and old.figures.memory_working_set_bytes is None
    assert {(c.name, c.attempt, c.sandbox_id) for c in containers} == {
        ("server", 0, web.id), ("logger", 3, web.id), ("app", 0, old.id)}
    assert all(c.log_path.endswith(f"/{c.attempt}.log") for c in containers)

    _write(pod / "cpu.stat", "usage_usec 3000000\n")
    web = next(p for p in view.rows()[0] if p.name == "web")
    assert web.figures.cpu_cores is not None and web.figures.cpu_cores > 0
