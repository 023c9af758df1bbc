"""The key registry (`n9s.core.keys`) is the only place keys are declared: every n9s screen's bindings come from it, an id
has one wording wherever it is bound, the ids users already write in `[keymap]` keep working, and what a session can
do decides what is offered and what a refused key says."""
from __future__ import annotations

from pilot_helpers import record_notifications

from n9s.core import keys
from n9s.actions.layer import Actions, Target
from n9s.ui.app import AppConfig, N9sApp
from n9s.actions.audit import AuditLog
from n9s.core.keys import KeyState, Session, key_state
from n9s.ui.screens.browser import BrowserScreen
from n9s.ui.screens.container_detail import ContainerDetailScreen
from n9s.ui.screens.describe import DescribeScreen
from n9s.ui.screens.exec_panel import ExecPanel
from n9s.ui.screens.help import HelpScreen
from n9s.ui.screens.logs import LogsScreen

SCREENS = {"browser": BrowserScreen, "container-detail": ContainerDetailScreen, "logs": LogsScreen,
           "describe": DescribeScreen, "exec-panel": ExecPanel, "help": HelpScreen, "app": N9sApp}

# Ids that `[keymap]` tables name today (the README and users' config files): they must keep working.
KEPT_IDS = {"command", "filter", "back", "enter", "help", "sort-left", "sort-right", "sort-reverse", "sort-name",
            "sort-age", "sort-cpu", "sort-mem", "sort-status", "sort-restarts", "view-logs", "view-previous-logs",
            "view-describe", "view-yaml", "view-shell", "view-attach", "view-exec-once", "view-kill", "view-delete",
            "view-mark", "quit", "quit-ctrl-c", "refresh", "logs.back", "logs.search", "logs.follow", "logs.save",
            "describe-back", "exec-close", "help-close"}

LOCAL = Session()
REMOTE = Session(remote=True, runtime=False, api=True)
LOCAL_ONLY = Session(runtime=False, runtime_why="permission denied on /run/containerd/containerd.sock")


def test_every_screen_binds_exactly_its_registry_entries():
    for name, screen in SCREENS.items():
        bound = [(b.id, b.key, b.action, b.description, b.show) for b in screen.BINDINGS]
        declared = [(a.id, a.key, a.action, a.description, a.show) for a in keys.SCREENS[name]]
        assert bound == declared, name


def test_an_id_has_one_wording_and_one_meaning_wherever_it_is_bound():
    seen: dict[str, keys.KeyAction] = {}
    for name, actions in keys.SCREENS.items():
        ids = [a.id for a in actions]
        assert len(ids) == len(set(ids)), f"{name} binds an id twice"
        for a in actions:
            assert seen.setdefault(a.id, a) == a, f"{a.id} is declared twice, differently"


def test_the_ids_config_files_use_keep_working():
    assert KEPT_IDS <= keys.keymap_ids()


def test_the_views_of_a_row_action_exist():
    from n9s.render.viewspec import VIEWS

    names = {v.name for v in VIEWS}
    for a in keys.ROW_ACTIONS:
        assert a.views and set(a.views) <= names, a.id
    assert [a.id for a in keys.view_actions("snapshots")] == ["view-describe"]


def test_what_a_session_offers_and_what_a_refused_key_says():
    assert key_state(keys.SHELL, "container", LOCAL) == keys.OFFERED
    assert key_state(keys.SHELL, "container", Session(readonly=True)) == KeyState(
        shown=True, why="read-only: shell is disabled", readonly=True)
    why = "not available in remote mode: needs the node's runtime socket"
    for action in (keys.SHELL, keys.ATTACH, keys.EXEC_ONCE, keys.KILL, keys.DELETE):
        assert key_state(action, "container", REMOTE) == KeyState(shown=False, why=why), action.id
        # Read-only or not, remote mode cannot do it at all: not offered, rather than marked.
        assert key_state(action, "container", Session(readonly=True, remote=True, runtime=False)).shown is False
    # What the API does stays: a pod's delete, describe and manifest, and logs.
    for action in (keys.DELETE, keys.DESCRIBE, keys.YAML, keys.LOGS):
        assert key_state(action, "pod", REMOTE) == keys.OFFERED, action.id
    assert key_state(keys.DELETE, "pod", Session(readonly=True, remote=True, runtime=False, api=True)).readonly
    assert key_state(keys.DELETE, "pod", Session(remote=True, runtime=False)).why == (
        "not available in remote mode: needs the node's runtime socket or the Kubernetes API")
    assert key_state(keys.KILL, "pod", LOCAL_ONLY) == KeyState(
        shown=False, why="not available without the container runtime: permission denied on "
                         "/run/containerd/containerd.sock")
    assert key_state(keys.LOGS, "container", LOCAL_ONLY) == keys.OFFERED  # the pod log files are here


def test_without_a_runtime_client_a_runtime_action_fails_in_one_line_and_is_audited(tmp_path):
    actions = Actions(None, None, audit=AuditLog(tmp_path / "audit.jsonl"))
    target = Target(id="c0ffee", name="app", namespace="default", pod="web")
    for call in (lambda: actions.stop_container(target, 0), lambda: actions.remove_container(target),
                 lambda: actions.stop_pod(target), lambda: actions.exec_sync(target, ["true"])[0],
                 lambda: actions.exec_url(target, ["sh"])[0], lambda: actions.attach_url(target)[0]):
        result = call()
        assert not result.ok and result.message == "not available in remote mode: needs the node's runtime socket"
    assert {"stop-container", "remove-container", "stop-pod", "exec", "shell", "attach"} <= {
        e["action"] for e in AuditLog(tmp_path / "audit.jsonl").entries()}


async def test_an_unknown_keymap_id_is_reported_not_ignored_in_silence():
    from n9s.model.picture import NodeInfo, NodePicture

    from n9s.model.seams import PictureSource

    class NoCollector(PictureSource):

        def refresh(self, **kwargs):
            return NodePicture(taken_at=0.0, node=NodeInfo(hostname="x"))

    app = N9sApp(NoCollector(), AppConfig(keymap={"view-log": "L", "view-shell": "e"}))
    lines = record_notifications(app)
    async with app.run_test() as pilot:
        await pilot.pause(0.2)
        assert lines == ["config [keymap]: no key has the id view-log; ignored"]
        await pilot.press("q")
