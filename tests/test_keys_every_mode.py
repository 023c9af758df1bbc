"""Every action key in every view, in each mode n9s runs in: on the node (the demo node), remote through the API
(`--node` without a runtime socket, against the fake API server) and local-only (the runtime socket unreachable,
pods from the pod log directory). Whatever a key does, no raw Python error reaches the screen (an attribute error,
a traceback, an exception's class name), in a notification or on any screen it opens. A mode offers only what it can
do: without the runtime, the runtime's actions are neither in the footer nor in `?`, and their keys say why."""
from __future__ import annotations

import asyncio
import builtins
import re
from dataclasses import dataclass, field

import pytest
from kube_fake.manifests import container, node_manifest, pod_manifest
from kube_fake.server import FakeKube
from pilot_helpers import make_app, record_notifications, screen_text
from textual.widgets import TextArea
from textual.widgets._footer import FooterKey

from n9s.core import keys
from n9s.actions.plan import DELETE_API
from n9s.actions.layer import Actions
from n9s.ui.app import AppConfig, N9sApp
from n9s.actions.audit import AuditLog
from n9s.wiring import make_collector
from n9s.model.api_side import ApiSide
from n9s.model.remote import RemoteCollector
from n9s.ui.screens.browser import BrowserScreen
from n9s.ui.screens.confirm import DeleteDialog
from n9s.ui.screens.container_detail import ContainerDetailScreen
from n9s.ui.screens.help import HelpScreen
from n9s.sources import errors
from n9s.render.viewspec import VIEWS

NODE = "remote-node"
TEST_BUDGET_S = 420  # each mode, start to exit; a stuck step fails the test instead of hanging the run


def _error_names() -> list[str]:
    names = {n for n, v in vars(builtins).items()
             if isinstance(v, type) and issubclass(v, BaseException) and n.endswith(("Error", "Exception"))}
    names |= {n for n, v in vars(errors).items() if isinstance(v, type) and issubclass(v, errors.SourceError)}
    names |= {"RpcError", "ApiException", "MaxRetryError"}  # grpc's, the kubernetes client's, urllib3's
    return sorted(names)


LEAK = re.compile(r"object has no attribute|Traceback|NoneType|\b(" + "|".join(_error_names()) + r")\b")
# Keys pressed in every view: each view's actions (also in views that lack them: they must do nothing), Enter, `?`.
PRESSED = [*keys.ROW_ACTIONS, keys.by_id("enter"), keys.HELP]


def runtime_only(view_kind: str) -> list[keys.KeyAction]:
    return [a for a in keys.ROW_ACTIONS if a.needs_of(view_kind) == keys.NEEDS_RUNTIME]


@dataclass
class Seen:
    lines: list[tuple[str, str, str]] = field(default_factory=list)  # (where, key, notification)
    screens: list[tuple[str, str, str]] = field(default_factory=list)  # (where, key, screen text)
    footers: dict[str, set[str]] = field(default_factory=dict)  # view -> footer descriptions
    helps: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)  # view -> `?` rows
    opened: dict[tuple[str, str], object] = field(default_factory=dict)  # (where, key) -> the screen it left
    where: tuple[str, str] = ("", "")

    def leaks(self) -> list[tuple[str, str, str]]:
        return [item for item in self.lines + self.screens if LEAK.search(item[2])]


def everything_shown(app) -> str:
    docs = [area.text for area in app.screen.query(TextArea)]  # a describe document, beyond the first page too
    return "\n".join([screen_text(app), *docs])


def footer(app) -> set[str]:
    return {k.description for k in app.screen.query(FooterKey)}


async def settled_footer(pilot) -> set[str]:
    """The footer once it has recomposed for what is on screen (it does so after the next refresh)."""
    last: set[str] = set()
    for _ in range(100):
        await pilot.pause(0.1)
        now = footer(pilot.app)
        if now and now == last:
            return now
        last = now
    raise AssertionError("the footer never settled")


def busy(app) -> bool:
    """A shell, attach or action is being set up, or a document is loading."""
    if any(w.group in ("exec", "actions", "exec-once") and not w.is_finished for w in app.workers):
        return True
    return any(area.text == "loading…" for area in app.screen.query(TextArea))


async def settle(app, pilot, before: tuple, patience_s: float) -> None:
    """Until the key showed something (a screen, a notification) and the work it started ended; a key that
    started nothing and showed nothing within `patience_s` did nothing."""
    loop = asyncio.get_running_loop()
    quiet_until = loop.time() + patience_s
    give_up = loop.time() + 30
    while loop.time() < give_up:
        await pilot.pause(0.05)
        if busy(app):
            continue
        if state(app) != before or loop.time() > quiet_until:
            break
    await pilot.pause(0.05)


def state(app) -> tuple:
    """What a key may change: the screen, the notifications, the table's level and marks."""
    screen = app.screen
    frame = (len(screen.stack), len(screen.table.marked)) if isinstance(screen, BrowserScreen) else ()
    return type(screen), len(seen_of(app).lines), frame


def seen_of(app) -> Seen:
    return app.n9s_test_seen


async def back_to(app, pilot, browser: BrowserScreen, view) -> None:
    for _ in range(6):
        if app.screen is browser:
            break
        await pilot.press("escape")
        await pilot.pause(0.1)
    assert app.screen is browser, f"could not get back to the table from {type(app.screen).__name__}"
    if len(browser.stack) > 1 or browser.frame.view is not view or browser.table.marked:
        browser.switch_to(view)
        await pilot.pause(0.1)


async def show_view(app, pilot, browser: BrowserScreen, view) -> None:
    browser.switch_to(view)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while loop.time() < deadline:  # rows, or the line that says why there are none
        await pilot.pause(0.1)
        empty = str(browser.query_one("#empty").render())
        if browser.table.row_count or (empty and "loading" not in empty):
            break


async def press(app, pilot, where: str, entry: keys.KeyAction, present: bool) -> None:
    seen = seen_of(app)
    seen.where = (where, entry.key)
    before = state(app)
    await pilot.press(entry.key.split(",")[0])
    await settle(app, pilot, before, 0.5 if present else 0.1)
    seen.screens.append((where, entry.key, everything_shown(app)))
    seen.opened[(where, entry.key)] = app.screen


async def every_key(app, pilot) -> Seen:
    seen = seen_of(app)
    browser = app.screen
    assert isinstance(browser, BrowserScreen)
    for view in VIEWS:
        await show_view(app, pilot, browser, view)
        seen.footers[view.name] = await settled_footer(pilot)
        for entry in PRESSED:
            await back_to(app, pilot, browser, view)
            if browser.table.row_count:
                browser.table.move_cursor(row=0)
            present = view.name in entry.views or not entry.views
            await press(app, pilot, view.name, entry, present)
            if isinstance(app.screen, HelpScreen):
                seen.helps[view.name] = app.screen.rows
            if isinstance(app.screen, ContainerDetailScreen):
                await every_detail_key(app, pilot, app.screen)
        await back_to(app, pilot, browser, view)
    return seen


async def every_detail_key(app, pilot, detail: ContainerDetailScreen) -> None:
    seen = seen_of(app)
    seen.footers["container detail"] = await settled_footer(pilot)
    for entry in keys.CONTAINER_DETAIL:
        if entry.id == "detail-back":
            continue
        for _ in range(4):
            if app.screen is detail:
                break
            await pilot.press("escape")
            await pilot.pause(0.1)
        await press(app, pilot, "container detail", entry, True)
        if isinstance(app.screen, HelpScreen):
            seen.helps["container detail"] = app.screen.rows
    for _ in range(4):
        if app.screen is detail:
            break
        await pilot.press("escape")
        await pilot.pause(0.1)


async def run_every_key(app) -> Seen:
    seen = app.n9s_test_seen = Seen()
    record_notifications(app, seen.lines, lambda: seen.where)
    async with asyncio.timeout(TEST_BUDGET_S), app.run_test(size=(200, 50), notifications=True) as pilot:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while loop.time() < deadline and not (isinstance(app.screen, BrowserScreen) and app.screen.table.row_count):
            await pilot.pause(0.1)
        assert app.screen.table.row_count, "no pods on screen"
        seen = await every_key(app, pilot)
        await pilot.press("q")
    return seen


def assert_no_leaks(seen: Seen) -> None:
    leaks = seen.leaks()
    assert not leaks, "\n".join(f"{where} {key}: {LEAK.search(text).group(0)!r} in {text[:2000]!r}"
                                for where, key, text in leaks[:5])


def assert_runtime_actions_not_offered(seen: Seen, why: str) -> None:
    """No runtime action in any footer or `?`, and each such key said why it is not offered."""
    for view in VIEWS:
        missing = runtime_only(view.kind)
        offered = [a.description for a in missing if view.name in a.views and a.description in seen.footers[view.name]]
        assert not offered, f"{view.name}: the footer offers {offered}"
        rows = seen.helps[view.name]
        assert not [r for r in rows if any(a.what in r[2] for a in missing)], f"{view.name}: `?` offers {rows}"
        for a in missing:
            if view.name in a.views:
                said = [line for where, key, line in seen.lines if where == view.name and key == a.key]
                assert said == [why], f"{view.name} {a.key}: {said}"
    dialog = seen.opened.get(("pods", keys.DELETE.key))
    if isinstance(dialog, DeleteDialog):  # with the API: deleting through it, and only that
        assert dialog.operations == (DELETE_API,), dialog.operations


@pytest.mark.node
async def test_on_the_node_every_key_in_every_view_shows_no_raw_error(demo_node, tmp_path):
    audit = AuditLog(tmp_path / "audit.jsonl")
    collector = make_collector(str(demo_node.address), "k8s.io", str(demo_node.pods_dir))
    app = make_app(demo_node, actions=Actions(collector.cri, collector.containerd, audit=audit))
    seen = await run_every_key(app)
    assert_no_leaks(seen)
    # Every dialog was cancelled: nothing on the node was stopped or removed (the shell's probes ran).
    assert {e["action"] for e in audit.entries()} <= {"exec", "shell", "attach"}, audit.entries()
    web = demo_node.pods["default/web"]
    assert demo_node.container_status(web.container("server")).state == 1  # CONTAINER_RUNNING
    for view in ("pods", "containers"):
        assert {"Shell", "Stop/kill", "Delete"} <= seen.footers[view]


async def test_in_remote_mode_every_key_in_every_view_shows_no_raw_error_and_no_runtime_action(tmp_path):
    pods = [pod_manifest("default", "web", node=NODE, containers=[container("server", "nginx:1.25")]),
            pod_manifest("default", "db", node=NODE, containers=[container("postgres", "postgres:16")])]
    with FakeKube(pods=pods, nodes=[node_manifest(NODE)]) as fake:
        fake.set_logs("default", "web", "server", ["a line"])
        kubeconfig = fake.write_kubeconfig(tmp_path / "kubeconfig")
        api = ApiSide(kubeconfig=str(kubeconfig), node=NODE, watch_timeout_s=5, poll_s=1.0).start()
        audit = AuditLog(tmp_path / "audit.jsonl")
        app = N9sApp(RemoteCollector(api), AppConfig(refresh_s=0.5),
                     actions=Actions(None, None, audit=audit, kube=api))
        api.on_change = app.refresh_from_thread
        try:
            seen = await run_every_key(app)
        finally:
            api.stop()
        assert [r.method for r in fake.requests if r.method != "GET"] == []  # the delete dialog was cancelled
    assert_no_leaks(seen)
    assert_runtime_actions_not_offered(seen, "not available in remote mode: needs the node's runtime socket")
    assert {"Logs", "Describe", "YAML", "Delete"} <= seen.footers["pods"]  # what the API does stays
    assert isinstance(seen.opened[("pods", keys.DELETE.key)], DeleteDialog)
    assert "Shell" not in seen.footers["container detail"]
    assert audit.entries() == []


@pytest.mark.node
async def test_without_the_runtime_every_key_in_every_view_shows_no_raw_error_and_no_runtime_action(demo_node,
                                                                                                      tmp_path):
    missing = tmp_path / "no-runtime.sock"
    collector = make_collector(str(missing), "k8s.io", str(demo_node.pods_dir))
    audit = AuditLog(tmp_path / "audit.jsonl")
    app = N9sApp(collector, AppConfig(refresh_s=0.5), actions=Actions(collector.cri, collector.containerd,
                                                                        audit=audit))
    seen = await run_every_key(app)
    assert_no_leaks(seen)
    why = next(line for _, key, line in seen.lines if key == "s")
    assert why.startswith("not available without the container runtime: no containerd socket at ") and \
        str(missing) in why, why
    assert_runtime_actions_not_offered(seen, why)
    assert "Logs" in seen.footers["pods"]  # the pod log files are here
    assert audit.entries() == []
