"""Remote mode: `n9s --node NAME` with no local runtime, pods and figures through the (fake) API server."""
from __future__ import annotations

from kube_fake.manifests import container, node_manifest, pod_manifest, summary_manifest
from kube_fake.server import FakeKube
from pilot_helpers import table_rows, wait_for
from test_hostile_oversized import screen_text

from n9s.actions.layer import Actions, Target
from n9s.ui.app import AppConfig, N9sApp
from n9s.actions.audit import AuditLog
from n9s.model.api_side import ApiSide
from n9s.model.remote import RemoteCollector

NODE = "remote-node"


def make(fake, tmp_path, readonly=False):
    kubeconfig = fake.write_kubeconfig(tmp_path / "kubeconfig")
    api = ApiSide(kubeconfig=str(kubeconfig), node=NODE, watch_timeout_s=5, poll_s=1.0).start()
    actions = Actions(None, None, readonly=readonly, audit=AuditLog(tmp_path / "audit.jsonl"), kube=api)
    app = N9sApp(RemoteCollector(api), AppConfig(refresh_s=0.5), actions=actions)
    api.on_change = app.refresh_from_thread
    return app, api, actions


async def test_remote_node_shows_summary_stats_and_says_what_needs_the_node(tmp_path):
    web = pod_manifest("default", "web", node=NODE, containers=[
        container("server", "nginx:1.25", requests={"cpu": "500m", "memory": "64Mi"}, limits={"memory": "128Mi"})])
    elsewhere = pod_manifest("default", "other", node="another-node")
    with FakeKube(pods=[web, elsewhere], nodes=[node_manifest(NODE)]) as fake:
        md = web["metadata"]
        fake.set_summary(NODE, summary_manifest(NODE, [{
            "namespace": "default", "name": "web", "uid": md["uid"],
            "containers": [{"name": "server", "nanocores": 250_000_000, "working_set": 32 * 2**20,
                            "usage": 40 * 2**20, "rss": 30 * 2**20}],
        }]))
        app, api, actions = make(fake, tmp_path)
        async with app.run_test(size=(200, 40)) as pilot:
            assert await wait_for(pilot, lambda: [r[1] for r in table_rows(app)] == ["web"], timeout=20), \
                table_rows(app)
            row = table_rows(app)[0]
            # CPU from the kubelet's summary, % of the API's request and limit.
            assert row[6] == "250m" and row[7] == "50%" and row[9] == "32.0 MiB" and row[11] == "25%"
            await pilot.press("enter")
            assert await wait_for(pilot, lambda: [r[0] for r in table_rows(app)] == ["server"])
            assert table_rows(app)[0][5] == "250m"
            await pilot.press("colon", *"snap", "enter")
            await pilot.pause(0.5)
            assert "need n9s to run on the node" in str(app.screen.query_one("#empty").render())
        api.stop()


async def test_remote_delete_goes_through_the_api_and_readonly_refuses(tmp_path):
    import pytest

    from n9s.sources.errors import ReadOnlyRefused

    web = pod_manifest("default", "web", node=NODE)
    with FakeKube(pods=[web], nodes=[node_manifest(NODE)], deletion_delay=0.1) as fake:
        app, api, ro_actions = make(fake, tmp_path, readonly=True)
        import time

        deadline = time.monotonic() + 15
        while api.client is None and time.monotonic() < deadline:
            time.sleep(0.1)
        target = Target(id=web["metadata"]["uid"], name="web", namespace="default", kind="pod")
        with pytest.raises(ReadOnlyRefused):
            ro_actions.delete_pod_api(target, 0)
        assert any(p["metadata"]["name"] == "web" for p in fake.pods())
        actions = Actions(None, None, readonly=False, audit=AuditLog(tmp_path / "audit.jsonl"), kube=api)
        result = actions.delete_pod_api(target, 0)
        assert result.ok, result.message
        deadline = time.monotonic() + 5
        while any(p["metadata"]["name"] == "web" for p in fake.pods()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(p["metadata"]["name"] == "web" for p in fake.pods())
        entries = AuditLog(tmp_path / "audit.jsonl").entries()
        assert [e["action"] for e in entries] == ["delete-pod"] and entries[0]["params"]["grace_period_s"] == 0
        api.stop()


async def test_remote_logs_come_from_the_api_and_follow(tmp_path):
    from n9s.widgets.log_view import LogView

    web = pod_manifest("default", "web", node=NODE, containers=[container("server", "nginx:1.25")])
    with FakeKube(pods=[web], nodes=[node_manifest(NODE)]) as fake:
        fake.set_logs("default", "web", "server", ["first line", "second \x1b]52;c;cHduZWQ=\x07line"])
        app, api, _ = make(fake, tmp_path)
        async with app.run_test(size=(160, 40)) as pilot:
            assert await wait_for(pilot, lambda: [r[1] for r in table_rows(app)] == ["web"], timeout=20)
            await pilot.press("l")
            assert await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ApiLogsScreen", timeout=5)
            screen = app.screen
            assert "from the API: remote mode" in screen.title_text

            def text() -> str:
                view = screen.query_one(LogView)
                return "\n".join(view.render_line(y).text for y in range(view.size.height))

            assert await wait_for(pilot, lambda: "second line" in text(), timeout=10), text()
            assert "\x1b" not in text() and "first line" in text()
            fake.append_log("default", "web", "server", "third line arrives")
            assert await wait_for(pilot, lambda: "third line arrives" in text(), timeout=10), text()
            tmpdir = screen.api_logs.dir
            await pilot.press("escape")
            await pilot.pause(0.3)
        import os

        assert not os.path.exists(tmpdir)
        api.stop()


async def test_a_container_detail_in_remote_mode_says_what_needs_the_node(tmp_path):
    # Remote mode has no runtime to ask for a container's status: the detail said nothing and its worker failed
    # (the runtime client it asked for was None).
    web = pod_manifest("default", "web", node=NODE, containers=[container("server", "nginx:1.25")])
    with FakeKube(pods=[web], nodes=[node_manifest(NODE)]) as fake:
        app, api, _ = make(fake, tmp_path)
        notes: list[tuple[str, str]] = []
        app.notify = lambda message, **kw: notes.append((str(message), kw.get("severity", "information")))
        async with app.run_test(size=(200, 40)) as pilot:
            assert await wait_for(pilot, lambda: [r[1] for r in table_rows(app)] == ["web"], timeout=20)
            await pilot.press("enter")
            assert await wait_for(pilot, lambda: [r[0] for r in table_rows(app)] == ["server"])
            await pilot.press("enter")

            def detail() -> str:
                return " ".join(screen_text(app).split())
            assert await wait_for(pilot, lambda: "status needs n9s on its node" in detail(), timeout=10), \
                (detail()[-600:], notes)
            assert not [n for n in notes if n[1] == "error"], notes
        api.stop()
