"""Read-only mode covers every way n9s can change something, however it was asked for (`--readonly`, the config
file's `readonly = true`, `N9S_READONLY=1`) and wherever n9s runs (on the node, or remote through the API):
runtime actions, API deletes, exec, shell and attach. Each refused key says why in one line, and the footer and `?`
mark it (remote mode does not offer the runtime's actions at all). Started through `n9s.cli.main`, as a user starts
it."""
from __future__ import annotations

import pytest
from kube_fake.manifests import node_manifest, pod_manifest
from kube_fake.server import FakeKube
from pilot_helpers import record_notifications
from test_security_secrets import cursor_to, rows, scripted_cli, wait_for
from textual.widgets._footer import FooterKey

from n9s import cli
from n9s.actions.layer import Target
from n9s.ui.screens.browser import BrowserScreen
from n9s.ui.screens.help import HelpScreen
from n9s.sources.errors import ReadOnlyRefused

NODE = "node-1"
DANGEROUS_KEYS = ("ctrl+k", "ctrl+d", "s", "a", "x")
POD_KEYS = ("ctrl+k", "ctrl+d", "s")  # a pod has no attach or single command


def every_change(actions, pod: Target, container: Target) -> dict:
    """Each call of the action layer that changes the node or enters a container."""
    return {
        "stop container": lambda: actions.stop_container(container, 0),
        "kill container": lambda: actions.kill_container(container, "SIGKILL"),
        "remove container": lambda: actions.remove_container(container),
        "stop pod": lambda: actions.stop_pod(pod),
        "remove pod": lambda: actions.remove_pod(pod),
        "API delete": lambda: actions.delete_pod_api(pod, 0),
        "exec": lambda: actions.exec_sync(container, ["touch", "/tmp/n9s-readonly-was-here"]),
        "shell": lambda: actions.exec_url(container, ["sh"]),
        "attach": lambda: actions.attach_url(container, stdin=True, tty=True),
    }


def ways_to_ask(how: str, tmp_path, monkeypatch) -> list[str]:
    """Set read-only mode `how`; return the extra command line arguments."""
    config = tmp_path / "config.toml"
    monkeypatch.setenv("N9S_CONFIG", str(config))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("N9S_READONLY", raising=False)
    if how == "flag":
        return ["--readonly"]
    if how == "config":
        config.write_text("readonly = true\n")
    elif how == "env":
        monkeypatch.setenv("N9S_READONLY", "1")
    return []


def check_refusals(app, pod: Target, container: Target, results: dict) -> None:
    results["app readonly"] = app.readonly
    results["actions readonly"] = app.actions.readonly
    refused = []
    for name, call in every_change(app.actions, pod, container).items():
        try:
            call()
        except ReadOnlyRefused:
            refused.append(name)
    results["refused"] = refused


async def press_dangerous_keys(app, pilot, results: dict) -> None:
    """Each key that could change something, in the pods view and in a pod's containers: no dialog, no prompt, no
    suspended session; the screen stays, and each key says in one line why it does nothing. The footer and `?`
    mark what read-only mode refuses."""
    lines = record_notifications(app)
    for view, keys in (("pods", POD_KEYS), ("containers", DANGEROUS_KEYS)):
        if view == "containers":
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.screen.frame.view.name == "containers" and rows(app), "the containers")
        footer = await settled_footer(pilot)
        results.setdefault("footer", {})[view] = {k: footer[k] for k in keys if k in footer}
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        results.setdefault("help", {})[view] = {row[1]: row[2] for row in app.screen.rows}
        await pilot.press("escape")
        for key in keys:
            del lines[:]
            await pilot.press(key)
            await pilot.pause(0.2)
            results.setdefault("screens after keys", []).append(type(app.screen).__name__)
            results.setdefault("said", {})[(view, key)] = list(lines)


async def settled_footer(pilot) -> dict[str, str]:
    """key -> "marked" or "offered", once the footer has recomposed for the view on screen."""
    last: dict[str, str] = {}
    for _ in range(100):
        await pilot.pause(0.1)
        now = {k.key: "marked" if k.has_class("-disabled") else "offered" for k in pilot.app.screen.query(FooterKey)}
        if now and now == last:
            return now
        last = now
    raise AssertionError("the footer never settled")


READ_ONLY_LINES = {"ctrl+k": "read-only: stop/kill is disabled", "ctrl+d": "read-only: delete is disabled",
                   "s": "read-only: shell is disabled", "a": "read-only: attach is disabled",
                   "x": "read-only: run command is disabled"}
HELP_KEYS = {"ctrl+k": "^k", "ctrl+d": "^d", "s": "s", "a": "a", "x": "x"}
REMOTE = "not available in remote mode: needs the node's runtime socket"


def assert_read_only_says_why(results: dict, remote: bool) -> None:
    for (view, key), said in results["said"].items():
        no_runtime = remote and not (view == "pods" and key == "ctrl+d")  # an API delete stays, refused
        assert said == [REMOTE if no_runtime else READ_ONLY_LINES[key]], (view, key, said)
        footer, help_rows = results["footer"][view], results["help"][view]
        if no_runtime:
            assert key not in footer and HELP_KEYS[key] not in help_rows, (view, key)  # not offered at all
        else:
            assert footer[key] == "marked", (view, key, footer)
            assert help_rows[HELP_KEYS[key]].endswith("(disabled: read-only)"), (view, key, help_rows)


def assert_nothing_changed(results: dict, fake: FakeKube, tmp_path) -> None:
    assert results["app readonly"] and results["actions readonly"]
    assert results["refused"] == list(every_change(None, None, None)), results["refused"]
    assert set(results["screens after keys"]) == {"BrowserScreen"}, results["screens after keys"]
    assert [r.method for r in fake.requests if r.method != "GET"] == []  # no DELETE reached the API
    assert any(p["metadata"]["name"] == "web" for p in fake.pods())
    audit = tmp_path / "state" / "n9s" / "audit.jsonl"
    assert not audit.exists() or audit.read_text() == ""  # nothing was done, so nothing audited


@pytest.mark.node
@pytest.mark.parametrize("how", ["flag", "config", "env"])
def test_read_only_on_the_node(how, demo_node, tmp_path, monkeypatch):
    web = demo_node.pods["default/web"]
    extra = ways_to_ask(how, tmp_path, monkeypatch)
    with FakeKube(pods=[pod_manifest("default", "web", uid=web.uid, node=NODE)], nodes=[node_manifest(NODE)]) as fake:
        kubeconfig = fake.write_kubeconfig(tmp_path / "kubeconfig")
        results: dict = {}

        async def user(app, pilot) -> None:
            await wait_for(pilot, lambda: any(r[:2] == ["default", "web"] and r[4].startswith("Running")
                                              for r in rows(app)), "the web pod, joined with the API")
            await cursor_to(app, pilot, ["default", "web"])
            await press_dangerous_keys(app, pilot, results)
            pod = Target(id=web.sandbox_id, name="web", namespace="default", kind="pod")
            container = Target(id=web.container("server"), name="server", namespace="default", pod="web")
            check_refusals(app, pod, container, results)

        with scripted_cli(monkeypatch, user):
            assert cli.main([*extra, "--kubeconfig", str(kubeconfig), "--node", NODE, "--address",
                             str(demo_node.address), "--pods-dir", str(demo_node.pods_dir), "--refresh", "0.5"]) == 0
        assert_nothing_changed(results, fake, tmp_path)
        assert_read_only_says_why(results, remote=False)
    status = demo_node.container_status(web.container("server"))
    assert status.state == 1  # CONTAINER_RUNNING: untouched


@pytest.mark.parametrize("how", ["flag", "config", "env"])
def test_read_only_in_remote_mode(how, tmp_path, monkeypatch):
    """`--node NAME` without a runtime socket: the node through the API alone; deletes go to the API."""
    extra = ways_to_ask(how, tmp_path, monkeypatch)
    web = pod_manifest("default", "web", node=NODE)
    with FakeKube(pods=[web], nodes=[node_manifest(NODE)]) as fake:
        kubeconfig = fake.write_kubeconfig(tmp_path / "kubeconfig")
        results: dict = {}

        async def user(app, pilot) -> None:
            await wait_for(pilot, lambda: any(r[:2] == ["default", "web"] for r in rows(app)), "the web pod",
                           timeout=30)
            assert isinstance(app.screen, BrowserScreen) and app.picture.remote
            await cursor_to(app, pilot, ["default", "web"])
            await press_dangerous_keys(app, pilot, results)
            pod = Target(id=web["metadata"]["uid"], name="web", namespace="default", kind="pod")
            container = Target(id="c0ffee", name="app", namespace="default", pod="web")
            check_refusals(app, pod, container, results)

        with scripted_cli(monkeypatch, user):
            assert cli.main([*extra, "--kubeconfig", str(kubeconfig), "--node", NODE,
                             "--address", str(tmp_path / "no-runtime.sock"), "--refresh", "0.5"]) == 0
        assert_nothing_changed(results, fake, tmp_path)
        assert_read_only_says_why(results, remote=True)
