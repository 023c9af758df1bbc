"""ctrl-k and ctrl-d as a user walks them (Textual pilot) against the real demo node: the dialog, marks, Escape,
read-only mode, and what CRI and the table show afterwards. Each test makes its own pod."""
from __future__ import annotations

import asyncio
import time

import pytest
from kube_fake.fixtures import fake_kube, kube, kubeconfig  # noqa: F401
from test_actions_node import SLEEPER, TRAPPER, fresh_pod
from textual import events
from textual.widgets import Input
from textual.worker import Worker, WorkerState
from textual.widgets._footer import FooterKey

from n9s.actions.layer import Actions
from n9s.ui.app import AppConfig, N9sApp, PictureReady
from n9s.actions.audit import AuditLog
from n9s.wiring import make_collector
from n9s.ui.screens.browser import BrowserScreen
from n9s.ui.screens.confirm import DeleteDialog, KillDialog
from n9s.sources.containerd import ContainerdClient
from n9s.sources.cri import CriClient
from n9s.sources.errors import NotFound
from n9s.widgets.resource_table import ResourceTable

pytestmark = pytest.mark.node

FINISHED = (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED)
TEST_BUDGET_S = 90  # each test, app start to exit; a stuck step fails the test instead of hanging the run


@pytest.fixture
def pods(demo_node):
    made = []

    def make(prefix: str, **scripts: str):
        pod = fresh_pod(demo_node, prefix, **scripts)
        made.append(pod)
        return pod

    yield make
    for pod in made:
        demo_node.remove_pod(pod)


@pytest.fixture
def cri(demo_node):
    client = CriClient(str(demo_node.address))
    yield client
    client.close()


class Harness:
    """The app on the demo node with a real action layer, and what it saw (pictures, with when they arrived)."""

    def __init__(self, node, audit_path, *, readonly: bool = False, view: str = "containers",
                 actions_readonly: bool | None = None) -> None:
        collector = make_collector(str(node.address), "k8s.io", str(node.pods_dir))
        self.audit = AuditLog(audit_path)
        self.actions = Actions(collector.cri, collector.containerd, audit=self.audit,
                               readonly=readonly if actions_readonly is None else actions_readonly)
        self.app = N9sApp(collector, AppConfig(refresh_s=0.5, readonly=readonly, start_view=view),
                          events=ContainerdClient(str(node.address)), actions=self.actions)
        self.pictures: list = []
        self.action_states: list[WorkerState] = []  # finished workers leave app.workers; their messages stay

    def hook(self, message) -> None:
        if isinstance(message, PictureReady):
            self.pictures.append(message.picture)
        elif isinstance(message, Worker.StateChanged) and message.worker.group == "actions":
            self.action_states.append(message.state)

    def run(self):
        return self.app.run_test(size=(180, 50), message_hook=self.hook)

    # ---- what the user sees ----
    @property
    def table(self) -> ResourceTable:
        return self.app.screen.query_one(ResourceTable)

    def rows(self) -> list[list[str]]:
        if not isinstance(self.app.screen, BrowserScreen):
            return []
        table = self.table
        return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]

    def row(self, name: str) -> list[str] | None:
        return next((r for r in self.rows() if r[0] == name), None)

    def notifications(self, severity: str | None = None) -> list[str]:
        return [n.message for n in self.app._notifications if severity in (None, n.severity)]

    def actions_started(self) -> bool:
        return bool(self.action_states) or any(w.group == "actions" for w in self.app.workers)


async def wait_for(pilot, predicate, what: str, timeout: float = 20.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        value = predicate()
        if value:
            return value
        await pilot.pause(0.05)
    raise AssertionError(f"gave up waiting {timeout:g}s for {what}")


async def show_pod(h: Harness, pilot, pod, names: list[str]) -> None:
    """Filter the containers view down to one pod, as a user would with `/`."""
    await wait_for(pilot, lambda: h.row(names[0]) is not None or h.rows(), "the first rows")
    await pilot.press("slash")
    await pilot.press(*pod.name)
    await pilot.press("enter")
    await wait_for(pilot, lambda: sorted(r[0] for r in h.rows()) == sorted(names), f"the rows of {pod.name}")


async def put_cursor_on(h: Harness, pilot, name: str) -> None:
    index = next(i for i, r in enumerate(h.rows()) if r[0] == name)
    h.table.move_cursor(row=index)
    await pilot.pause(0.05)


async def actions_finished(h: Harness, pilot) -> float:
    await wait_for(pilot, lambda: h.action_states and h.action_states[-1] in FINISHED,
                   "the action worker to finish", timeout=60)
    assert h.action_states[-1] == WorkerState.SUCCESS
    return time.time()


async def focus_on(pilot, dialog, selector: str) -> None:
    """Tab through the dialog, as a user does, until `selector` has the focus (a dialog opens on Cancel)."""
    wanted = dialog.query_one(selector)
    for _ in range(8):
        if dialog.focused is wanted:
            return
        await pilot.press("tab")
    raise AssertionError(f"Tab never reached {selector}; {dialog.focused} has the focus")


def state_in(picture, container_id: str) -> str | None:
    c = picture.container(container_id)
    return None if c is None else c.state


async def test_ctrl_k_grace_zero_stops_the_container_and_the_row_follows(demo_node, pods, cri, tmp_path):
    pod = pods("uistop", trapper=TRAPPER, sleeper=SLEEPER)
    cid = pod.container("trapper")
    h = Harness(demo_node, tmp_path / "audit.jsonl")
    async with asyncio.timeout(TEST_BUDGET_S), h.run() as pilot:
        await show_pod(h, pilot, pod, ["trapper", "sleeper"])
        await put_cursor_on(h, pilot, "trapper")

        await pilot.press("ctrl+k")
        dialog = await wait_for(pilot, lambda: isinstance(h.app.screen, KillDialog) and h.app.screen, "the dialog")
        assert str(dialog.query_one("#title").render()) == f"Stop container trapper (n9s-actions/{pod.name})?"
        assert dialog.query_one("#grace", Input).value == "30"
        assert "waits up to 30 s" in str(dialog.query_one("#consequences").render())

        await focus_on(pilot, dialog, "#grace")
        await pilot.press("backspace")  # the grace field's text is selected when it takes the focus
        await pilot.press("enter")
        assert h.app.screen is dialog  # an empty grace period is not confirmed
        assert "whole seconds" in str(dialog.query_one("#invalid").render())
        await pilot.press("0")
        assert dialog.query_one("#grace", Input).value == "0"
        assert "SIGKILL at once" in str(dialog.query_one("#consequences").render())
        await pilot.press("enter")

        await wait_for(pilot, lambda: isinstance(h.app.screen, BrowserScreen), "the dialog to close")
        done_at = await actions_finished(h, pilot)
        status = cri.container_status(cid)
        assert (status.state, status.exit_code) == ("EXITED", 137)  # grace 0: SIGKILL, the trap never ran
        assert cri.container_status(pod.container("sleeper")).state == "RUNNING"

        # The first picture taken after the action ended shows the container EXITED, and so does the row.
        after = await wait_for(pilot, lambda: next((p for p in h.pictures if p.taken_at > done_at), None),
                               "a refresh after the action")
        assert state_in(after, cid) == "EXITED"
        await wait_for(pilot, lambda: (h.row("trapper") or [""])[2].startswith("EXITED"), "the row to show it")
        assert any(m.startswith("Stopped container trapper") and "grace period 0" in m for m in h.notifications())
        (entry,) = h.audit.entries()
        assert (entry["action"], entry["params"], entry["targets"][0]["id"]) == \
            ("stop-container", {"grace_period_s": 0}, cid)
        await pilot.press("q")


async def test_kill_dialog_sends_the_chosen_signal(demo_node, pods, cri, tmp_path):
    pod = pods("uikill", trapper=TRAPPER)
    h = Harness(demo_node, tmp_path / "audit.jsonl")
    async with asyncio.timeout(TEST_BUDGET_S), h.run() as pilot:
        await show_pod(h, pilot, pod, ["trapper"])
        await pilot.press("ctrl+k")
        dialog = await wait_for(pilot, lambda: isinstance(h.app.screen, KillDialog) and h.app.screen, "the dialog")
        await focus_on(pilot, dialog, "#signal")
        await pilot.press("enter", "down", "enter")  # open it, SIGTERM -> SIGKILL, choose
        await wait_for(pilot, lambda: "Send SIGKILL to container trapper" in str(dialog.query_one("#title").render()),
                       "the title to follow the signal")
        assert str(dialog.query_one("#confirm").label) == "Kill"
        dialog.query_one("#confirm").focus()
        await pilot.press("enter")
        await actions_finished(h, pilot)
        status = await wait_for(pilot, lambda: (s := cri.container_status(pod.container("trapper"))).state == "EXITED"
                                and s, "the container to exit")
        assert status.exit_code == 137
        assert [(e["action"], e["params"]) for e in h.audit.entries()] == \
            [("kill-container", {"signal": "SIGKILL", "all_processes": False})]
        await pilot.press("q")


async def test_two_marked_rows_are_counted_and_escape_changes_nothing(demo_node, pods, cri, tmp_path):
    pod = pods("uimarks", one=SLEEPER, two=SLEEPER, three=SLEEPER)
    h = Harness(demo_node, tmp_path / "audit.jsonl")
    async with asyncio.timeout(TEST_BUDGET_S), h.run() as pilot:
        await show_pod(h, pilot, pod, ["one", "two", "three"])
        h.table.move_cursor(row=0)
        await pilot.press("space", "space")  # marks the first row, moves down, marks the second
        assert len(h.table.marked) == 2

        await pilot.press("ctrl+k")
        dialog = await wait_for(pilot, lambda: isinstance(h.app.screen, KillDialog) and h.app.screen, "the dialog")
        assert str(dialog.query_one("#title").render()) == "Stop 2 containers?"
        listed = str(dialog.query_one("#targets").render())
        assert listed.count(f"(n9s-actions/{pod.name})") == 2

        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(h.app.screen, BrowserScreen), "the dialog to close")
        await pilot.pause(0.3)
        assert not h.actions_started()
        for name in ("one", "two", "three"):
            assert cri.container_status(pod.container(name)).state == "RUNNING"
        assert h.audit.entries() == []

        # ctrl-d counts the same marks; Cancel is as good as Escape
        await pilot.press("ctrl+d")
        dialog = await wait_for(pilot, lambda: isinstance(h.app.screen, DeleteDialog) and h.app.screen, "ctrl-d")
        assert str(dialog.query_one("#title").render()) == "Remove 2 containers?"
        assert "2 containers are still RUNNING: CRI force-stops them first" in \
            str(dialog.query_one("#consequences").render())
        await pilot.click("#cancel")
        await wait_for(pilot, lambda: isinstance(h.app.screen, BrowserScreen), "the dialog to close")
        assert not h.actions_started() and h.audit.entries() == []
        assert len(h.table.marked) == 2  # cancelling keeps the marks

        # Confirmed, one action applies to both marked rows, and uses the marks up.
        await pilot.press("ctrl+k")
        dialog = await wait_for(pilot, lambda: isinstance(h.app.screen, KillDialog) and h.app.screen, "the dialog")
        await focus_on(pilot, dialog, "#grace")
        await pilot.press("0", "enter")
        await actions_finished(h, pilot)
        assert h.table.marked == set()
        states = {name: cri.container_status(pod.container(name)) for name in ("one", "two", "three")}
        assert sorted((s.state, s.exit_code) for s in states.values()) == [("EXITED", 137), ("EXITED", 137),
                                                                           ("RUNNING", 0)]
        assert sorted(e["targets"][0]["id"] for e in h.audit.entries()) == \
            sorted(pod.container(n) for n, s in states.items() if s.state == "EXITED")
        await pilot.press("q")


async def test_readonly_marks_the_keys_says_why_and_opens_no_dialog(demo_node, pods, cri, tmp_path):
    pod = pods("uiro", sleeper=SLEEPER)
    h = Harness(demo_node, tmp_path / "audit.jsonl", readonly=True)
    async with asyncio.timeout(TEST_BUDGET_S), h.run() as pilot:
        await show_pod(h, pilot, pod, ["sleeper"])
        footer = {k.key: k for k in h.app.screen.query(FooterKey)}
        assert footer["ctrl+k"].has_class("-disabled") and footer["ctrl+d"].has_class("-disabled")
        assert not footer["l"].has_class("-disabled")  # reading stays

        await pilot.press("ctrl+k")
        await pilot.press("ctrl+d")
        await pilot.pause(0.3)
        assert isinstance(h.app.screen, BrowserScreen)
        assert h.notifications("warning") == ["read-only: stop/kill is disabled", "read-only: delete is disabled"]
        assert not h.actions_started()
        assert cri.container_status(pod.container("sleeper")).state == "RUNNING"
        assert h.audit.entries() == []
        await pilot.press("q")


async def test_ctrl_d_removes_a_running_container_and_the_row_goes(demo_node, pods, cri, tmp_path):
    pod = pods("uirm", victim=SLEEPER, bystander=SLEEPER)
    cid = pod.container("victim")
    h = Harness(demo_node, tmp_path / "audit.jsonl")
    async with asyncio.timeout(TEST_BUDGET_S), h.run() as pilot:
        await show_pod(h, pilot, pod, ["victim", "bystander"])
        await put_cursor_on(h, pilot, "victim")
        await pilot.press("ctrl+d")
        dialog = await wait_for(pilot, lambda: isinstance(h.app.screen, DeleteDialog) and h.app.screen, "ctrl-d")
        assert str(dialog.query_one("#title").render()) == f"Remove container victim (n9s-actions/{pod.name})?"
        assert "still RUNNING: CRI force-stops it first" in str(dialog.query_one("#consequences").render())
        assert dialog.focused is dialog.query_one("#cancel")
        await pilot.press("left")  # from Cancel to Remove
        assert dialog.focused is dialog.query_one("#confirm")
        await pilot.press("enter")
        done_at = await actions_finished(h, pilot)
        with pytest.raises(NotFound):
            cri.container_status(cid)
        after = await wait_for(pilot, lambda: next((p for p in h.pictures if p.taken_at > done_at), None),
                               "a refresh after the action")
        assert after.container(cid) is None
        await wait_for(pilot, lambda: [r[0] for r in h.rows()] == ["bystander"], "the row to go")
        await pilot.press("q")


async def test_stopping_a_pod_gives_its_containers_the_grace_period(demo_node, pods, cri, tmp_path):
    pod = pods("uipod", trapper=TRAPPER)
    h = Harness(demo_node, tmp_path / "audit.jsonl", view="pods")
    async with asyncio.timeout(TEST_BUDGET_S), h.run() as pilot:
        await wait_for(pilot, lambda: any(r[1] == pod.name for r in h.rows()), "the pod row")
        await put_cursor_on_pod(h, pilot, pod.name)
        await pilot.press("ctrl+k")
        dialog = await wait_for(pilot, lambda: isinstance(h.app.screen, KillDialog) and h.app.screen, "the dialog")
        assert str(dialog.query_one("#title").render()) == f"Stop pod n9s-actions/{pod.name}?"
        said = str(dialog.query_one("#consequences").render())
        assert "(1 in all)" in said and "as long as the pod exists in the API" in said
        assert not dialog.query("#signal")  # a pod is stopped, not signalled
        await pilot.press("shift+tab", "enter")  # from Cancel to Stop; grace 30 s as shown
        await actions_finished(h, pilot)
        status = cri.container_status(pod.container("trapper"))
        assert (status.state, status.exit_code) == ("EXITED", 42)  # its TERM handler ran before the sandbox stopped
        assert cri.pod_sandbox_status(pod.sandbox_id).sandbox.state == "NOTREADY"
        # The stop-pod record says which grace period its containers were given, and which containers.
        assert [(e["action"], e["params"]["grace_period_s"]) for e in h.audit.entries()] == \
            [("stop-container", 30), ("stop-pod", 30)]
        assert h.audit.entries()[1]["params"]["containers_stopped_first"] == [pod.container("trapper")]
        await pilot.press("q")


async def put_cursor_on_pod(h: Harness, pilot, name: str) -> None:
    index = next(i for i, r in enumerate(h.rows()) if r[1] == name)
    h.table.move_cursor(row=index)
    await pilot.pause(0.05)


async def test_ctrl_d_on_a_pod_deletes_it_through_the_api_when_there_is_one(demo_node, tmp_path, kube, fake_kube):  # noqa: F811
    h = Harness(demo_node, tmp_path / "audit.jsonl", view="pods")
    h.actions.kube = kube  # the fake API server knows default/web too
    async with asyncio.timeout(TEST_BUDGET_S), h.run() as pilot:
        await wait_for(pilot, lambda: any(r[:2] == ["default", "web"] for r in h.rows()), "the web pod")
        index = next(i for i, r in enumerate(h.rows()) if r[:2] == ["default", "web"])
        h.table.move_cursor(row=index)
        await pilot.pause(0.05)
        await pilot.press("ctrl+d")
        dialog = await wait_for(pilot, lambda: isinstance(h.app.screen, DeleteDialog) and h.app.screen, "ctrl-d")
        assert str(dialog.query_one("#title").render()) == "Delete pod default/web through the Kubernetes API?"
        dialog.query_one("#grace", Input).focus()
        await pilot.press("5", "enter")
        await actions_finished(h, pilot)
        request = fake_kube.requests[-1]
        assert (request.method, request.path, request.body["gracePeriodSeconds"]) == \
            ("DELETE", "/api/v1/namespaces/default/pods/web", 5)
        assert any(m == "Deleted pod default/web through the API (grace period 5 s)" for m in h.notifications())
        assert demo_node.pods["default/web"].sandbox_id in {p.id for p in h.app.picture.pods}  # the runtime is untouched
        await pilot.press("q")


async def test_the_action_layer_refuses_even_when_the_ui_asks_and_says_so_once(demo_node, pods, cri, tmp_path):
    pod = pods("uirefuse", one=SLEEPER, two=SLEEPER)
    # The UI thinks it may act; the action layer is read-only and does not trust it.
    h = Harness(demo_node, tmp_path / "audit.jsonl", actions_readonly=True)
    async with asyncio.timeout(TEST_BUDGET_S), h.run() as pilot:
        await show_pod(h, pilot, pod, ["one", "two"])
        h.table.move_cursor(row=0)
        await pilot.press("space", "space", "ctrl+k")
        dialog = await wait_for(pilot, lambda: isinstance(h.app.screen, KillDialog) and h.app.screen, "the dialog")
        await focus_on(pilot, dialog, "#grace")
        await pilot.press("0", "enter")
        await actions_finished(h, pilot)
        await wait_for(pilot, lambda: h.notifications("error"), "an error notification")
        assert h.notifications("error") == ["stop-container refused: n9s runs read-only"]  # once for both rows
        assert not any(m.startswith("Stopped") for m in h.notifications())
        for name in ("one", "two"):
            assert cri.container_status(pod.container(name)).state == "RUNNING"
        assert h.audit.entries() == []
        await pilot.press("q")


async def test_enter_behind_ctrl_d_or_ctrl_k_cancels_and_confirming_takes_a_move_to_the_button(demo_node, pods, cri,
                                                                                               tmp_path):
    pod = pods("uienter", sleeper=SLEEPER)
    h = Harness(demo_node, tmp_path / "audit.jsonl", view="pods")

    async def nothing_happened(what: str) -> None:
        await wait_for(pilot, lambda: isinstance(h.app.screen, BrowserScreen), f"the dialog of {what} to close")
        await pilot.pause(0.3)
        assert not h.actions_started(), what
        assert h.audit.entries() == [], what
        assert cri.pod_sandbox_status(pod.sandbox_id).sandbox.state == "READY", what
        assert cri.container_status(pod.container("sleeper")).state == "RUNNING", what

    async with asyncio.timeout(TEST_BUDGET_S), h.run() as pilot:
        await wait_for(pilot, lambda: any(r[1] == pod.name for r in h.rows()), "the pod row")
        await put_cursor_on_pod(h, pilot, pod.name)

        await pilot.press("ctrl+d", "enter")
        await nothing_happened("ctrl-d Enter")
        # As one burst, before the dialog has even been drawn.
        h.app.post_message(events.Key("ctrl+d", None))
        h.app.post_message(events.Key("enter", "\r"))
        await nothing_happened("ctrl-d Enter in one burst")
        await pilot.press("ctrl+k", "enter")
        await nothing_happened("ctrl-k Enter")
        h.app.post_message(events.Key("ctrl+k", None))
        h.app.post_message(events.Key("enter", "\r"))
        await nothing_happened("ctrl-k Enter in one burst")

        await pilot.press("ctrl+d")
        dialog = await wait_for(pilot, lambda: isinstance(h.app.screen, DeleteDialog) and h.app.screen, "ctrl-d")
        assert dialog.focused is dialog.query_one("#cancel")
        assert "To remove: ← or Shift+Tab to “Remove”, then Enter" in str(dialog.query_one("#how").render())
        await pilot.press("left", "enter")
        await actions_finished(h, pilot)
        with pytest.raises(NotFound):
            cri.pod_sandbox_status(pod.sandbox_id)
        assert [e["action"] for e in h.audit.entries()] == ["remove-pod"]
        await pilot.press("q")
