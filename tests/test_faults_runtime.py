"""Runtime faults against the real demo node: containerd stopped mid-session and started again, or gone for good."""
from __future__ import annotations

import pytest

from n9s.widgets.node_header import NodeHeader
from n9s.widgets.resource_table import ResourceTable

from pilot_helpers import make_app, table_rows, wait_for

pytestmark = pytest.mark.node


def header(app) -> str:
    return str(app.screen.query_one(NodeHeader).render())


async def test_containerd_restart_marks_stale_then_reconnects(demo_node):
    app = make_app(demo_node, refresh_s=0.5)
    async with app.run_test(size=(160, 40)) as pilot:
        assert await wait_for(pilot, lambda: len(table_rows(app)) >= len(demo_node.pods))
        before = table_rows(app)
        demo_node.stop_containerd()
        try:
            assert await wait_for(pilot, lambda: "runtime: unreachable since" in header(app), timeout=10), header(app)
            assert "STALE" in header(app)
            # The last data stays on screen, marked stale; the app keeps answering keys.
            assert [r[:2] for r in table_rows(app)] == [r[:2] for r in before]
            await pilot.press("down")
            await pilot.press("slash", "w", "e", "b", "enter")
            assert await wait_for(pilot, lambda: [r[1] for r in table_rows(app)] == ["web"])
            await pilot.press("escape")
        finally:
            demo_node.start_containerd()
        assert await wait_for(pilot, lambda: "STALE" not in header(app) and "unreachable" not in header(app),
                              timeout=20), header(app)
        assert len(table_rows(app)) >= len(demo_node.pods)
        # Events flow again after the reconnect: a new container shows up without waiting for the poll.
        from n9s.demo import ContainerSpec

        app.config.refresh_s = 30.0  # only an event can make it show up quickly now
        await pilot.pause(1.0)
        await pilot.press("colon", "c", "o", "enter")
        pod = demo_node.pods["demo/crash"]
        demo_node.add_container(pod, ContainerSpec("after-restart", ["sh", "-c", "sleep 600"]))
        assert await wait_for(pilot, lambda: "after-restart" in {r[0] for r in table_rows(app)}, timeout=20)


async def test_containerd_gone_for_good_app_stays_up_and_quits(demo_node, tmp_path):
    from n9s.ui.app import AppConfig, N9sApp
    from n9s.cli import make_collector
    from n9s.sources.containerd import ContainerdClient

    missing = str(tmp_path / "containerd.sock")
    app = N9sApp(make_collector(missing, "k8s.io", str(tmp_path)), AppConfig(refresh_s=0.3),
                 events=ContainerdClient(missing))
    async with app.run_test(size=(100, 30)) as pilot:
        assert await wait_for(pilot, lambda: f"no containerd socket at {missing}" in header(app), timeout=5)
        await pilot.pause(1.0)
        assert app.is_running
        await pilot.press("colon", "n", "o", "enter")
        await pilot.press("q")
    assert app.return_code in (0, None)
