"""On a quiet node the app does not list the runtime on every refresh; containerd's events still bring every change
to the screen at once: a new pod's container, its exit with its exit code, and the pod's removal."""
from __future__ import annotations

import pytest

from pilot_helpers import make_app, table_rows, wait_for

pytestmark = pytest.mark.node


async def test_a_quiet_node_is_not_relisted_yet_every_change_shows_up_at_once(demo_node):
    from n9s.demo import ContainerSpec, PodSpec

    app = make_app(demo_node, refresh_s=1.0, start_view="containers")
    async with app.run_test(size=(180, 40)) as pilot:
        assert await wait_for(pilot, lambda: len(table_rows(app)) >= len(demo_node.pods))
        assert await wait_for(pilot, lambda: app.collector.events_live)
        await pilot.pause(6.0)  # past the settle window of the events the start caused
        listed = app.collector.lists_read
        await pilot.pause(3.0)  # about three refreshes of a quiet node
        assert app.collector.lists_read == listed
        app.config.refresh_s = 30.0  # from here on only an event can bring a change quickly

        def row():
            return next((r for r in table_rows(app) if r[0] == "quiet-exit"), None)

        pod = demo_node.run_pod(PodSpec("quiet", "quiet", [ContainerSpec("quiet-exit", ["sh", "-c", "sleep 2; exit 3"])]))
        try:
            assert await wait_for(pilot, lambda: row() is not None, timeout=6)
            assert await wait_for(pilot, lambda: row()[2].startswith("EXITED") and row()[3] == "3", timeout=10), row()
        finally:
            demo_node.remove_pod(pod)
        assert await wait_for(pilot, lambda: row() is None, timeout=6)
