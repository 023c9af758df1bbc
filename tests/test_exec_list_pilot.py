"""Exec processes as a user sees them (Textual pilot, real demo node): the tasks view counts them, the container
detail lists them with who started them, and ctrl-k there ends one, confirmed and audited; read-only refuses."""
from __future__ import annotations

import re
import time

import psutil
import pytest
from pilot_helpers import table_rows, wait_for
from rich.console import Console
from textual.widgets import Button, Static

from n9s.actions.layer import Actions, Target
from n9s.ui.app import AppConfig, N9sApp
from n9s.actions.audit import AuditLog
from n9s.wiring import make_collector
from n9s.demo import ContainerSpec, PodSpec
from n9s.demo.pods import FOREVER
from n9s.ui.screens.container_detail import ContainerDetailScreen
from n9s.ui.screens.end_exec import EndExecDialog
from n9s.sources.containerd import ContainerdClient
from n9s.sources.cri import CriClient
from n9s.sources.errors import ReadOnlyRefused
from n9s.sources.exec import StreamSession

pytestmark = pytest.mark.node

TIMEOUT_S = 20.0


@pytest.fixture(scope="module")
def list_pod(demo_node):
    pod = demo_node.run_pod(PodSpec(name="exec-list", namespace="n9s-test",
                                    containers=[ContainerSpec("lister", ["sleep", FOREVER])]))
    clients = CriClient(str(demo_node.address)), ContainerdClient(str(demo_node.address))
    yield pod, *clients
    for client in clients:
        client.close()
    demo_node.remove_pod(pod)


def sleeps(ctd, cid: str) -> list[tuple[int, str]]:
    """(pid, exec id) of the container's processes running `sleep 600` (what the other client started)."""
    out = []
    for p in ctd.processes(cid):
        try:
            if psutil.Process(p.pid).cmdline() == ["sleep", "600"]:
                out.append((p.pid, p.exec_id))
        except psutil.Error:
            pass
    return out


@pytest.fixture
def other_client(list_pod):
    """An exec another client started: a CRI Exec stream of `sleep 600`, held open by the test."""
    pod, cri, ctd = list_pod
    cid = pod.container("lister")
    stream = StreamSession(cri.exec_url(cid, ["sleep", "600"], tty=False, stdin=False))
    deadline = time.monotonic() + TIMEOUT_S
    while not sleeps(ctd, cid):
        assert time.monotonic() < deadline, "the other client's exec never started"
        time.sleep(0.05)
    (pid, exec_id), = sleeps(ctd, cid)
    yield cid, pid, exec_id
    stream.close()
    for _pid, left in sleeps(ctd, cid):
        ctd.kill(cid, 9, exec_id=left)


def make_app(node, tmp_path, **config) -> N9sApp:
    collector = make_collector(str(node.address), "k8s.io", str(node.pods_dir))
    actions = Actions(collector.cri, collector.containerd, readonly=config.get("readonly", False),
                      audit=AuditLog(tmp_path / "audit.jsonl"))
    return N9sApp(collector, AppConfig(refresh_s=0.5, **config), events=ContainerdClient(str(node.address)),
                  actions=actions)


def detail_text(app) -> str:
    console = Console(width=200, record=True, file=open("/dev/null", "w"))
    console.print(app.screen.query_one("#detail", Static).content)
    return console.export_text()


async def open_detail(pilot, cid: str) -> None:
    app = pilot.app
    assert await wait_for(pilot, lambda: app.picture is not None and app.picture.container(cid), TIMEOUT_S)
    app.open_container_detail(cid)
    assert await wait_for(pilot, lambda: isinstance(app.screen, ContainerDetailScreen), TIMEOUT_S)


def listed(app, pid: int) -> str:
    """The detail's line for the exec with ``pid`` ("" when it has none)."""
    pattern = re.compile(rf"^\s*{pid}\s+sleep 600\s+since .*$", re.M)
    match = pattern.search(detail_text(app))
    return match.group(0) if match else ""


def notes(app) -> list[str]:
    return [n.message for n in app._notifications]


async def test_the_tasks_view_counts_execs_and_the_detail_lists_another_clients_as_not_by_n9s(
        demo_node, list_pod, other_client, tmp_path):
    cid, pid, exec_id = other_client
    app = make_app(demo_node, tmp_path, start_view="tasks")
    async with app.run_test(size=(180, 50)) as pilot:
        def lister_execs() -> str | None:
            rows = [r for r in table_rows(app) if r[2] == "lister"]
            return rows[0][-1] if rows else None

        assert await wait_for(pilot, lambda: lister_execs() == "1", TIMEOUT_S), table_rows(app)
        await open_detail(pilot, cid)
        assert await wait_for(pilot, lambda: listed(app, pid), TIMEOUT_S), detail_text(app)
        assert re.search(rf"since \d+s ago\s+not by n9s\s+exec {exec_id[:12]}\s*$", listed(app, pid)), listed(app, pid)


async def test_ctrl_k_in_the_detail_ends_an_exec_after_a_confirmation_that_opens_on_cancel(
        demo_node, list_pod, other_client, tmp_path):
    _pod, _cri, ctd = list_pod
    cid, pid, exec_id = other_client
    app = make_app(demo_node, tmp_path, start_view="containers")
    async with app.run_test(size=(180, 50)) as pilot:
        await open_detail(pilot, cid)
        assert await wait_for(pilot, lambda: listed(app, pid), TIMEOUT_S)

        await pilot.press("ctrl+k")
        assert await wait_for(pilot, lambda: isinstance(app.screen, EndExecDialog), TIMEOUT_S)
        assert app.focused is app.screen.query_one("#cancel", Button)
        await pilot.press("enter")  # on Cancel: nothing happens
        assert await wait_for(pilot, lambda: isinstance(app.screen, ContainerDetailScreen), TIMEOUT_S)
        await pilot.pause(0.5)
        assert sleeps(ctd, cid) == [(pid, exec_id)]

        await pilot.press("ctrl+k")
        assert await wait_for(pilot, lambda: isinstance(app.screen, EndExecDialog), TIMEOUT_S)
        await pilot.click("#confirm")
        assert await wait_for(pilot, lambda: not sleeps(ctd, cid), TIMEOUT_S), "the exec is still running"
        assert await wait_for(pilot, lambda: any(m.startswith("ended sleep (pid") for m in notes(app)), TIMEOUT_S)
        assert await wait_for(pilot, lambda: not listed(app, pid), TIMEOUT_S)
    (record,) = [e for e in AuditLog(tmp_path / "audit.jsonl").entries() if e["action"] == "end-exec"]
    assert record["params"]["exec_id"] == exec_id and record["params"]["pid"] == pid
    assert record["params"]["program"] == "sleep" and record["params"]["why"] == "the user ended it"
    assert record["result"] == "ok" and record["targets"][0]["id"] == cid


async def test_read_only_refuses_ending_an_exec(demo_node, list_pod, other_client, tmp_path):
    _pod, cri, ctd = list_pod
    cid, pid, exec_id = other_client
    app = make_app(demo_node, tmp_path, start_view="containers", readonly=True)
    async with app.run_test(size=(180, 50)) as pilot:
        await open_detail(pilot, cid)
        assert await wait_for(pilot, lambda: listed(app, pid), TIMEOUT_S)
        await pilot.press("ctrl+k")
        assert await wait_for(pilot, lambda: "read-only: end exec is disabled" in notes(app), TIMEOUT_S)
        assert isinstance(app.screen, ContainerDetailScreen)
    actions = Actions(cri, ctd, readonly=True, audit=AuditLog(tmp_path / "audit.jsonl"))
    with pytest.raises(ReadOnlyRefused):
        actions.end_exec(Target(id=cid, name="lister"), exec_id, pid=pid)
    assert sleeps(ctd, cid) == [(pid, exec_id)]
    assert AuditLog(tmp_path / "audit.jsonl").entries() == []
