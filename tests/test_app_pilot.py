"""The app against the real demo node, driven as a user would (Textual pilot)."""
from __future__ import annotations

import pytest

from pilot_helpers import make_app, table_rows, wait_for

from n9s.ui.screens.browser import BrowserScreen
from n9s.widgets.resource_table import ResourceTable

pytestmark = pytest.mark.node


def column(app, name: str) -> int:
    return [c.name for c in app.screen.frame.view.columns].index(name)


async def test_pods_view_lists_every_demo_pod_and_opens_one(demo_node):
    app = make_app(demo_node)
    async with app.run_test(size=(160, 40)) as pilot:
        expected = {(p.namespace, p.name) for p in demo_node.pods.values()}

        def shown():
            rows = table_rows(app)
            return {(r[0], r[1].removesuffix(" [static]")) for r in rows}

        assert await wait_for(pilot, lambda: expected <= shown()), shown()
        assert isinstance(app.screen, BrowserScreen)
        rows = table_rows(app)
        web_index = next(i for i, r in enumerate(rows) if r[:2] == ["default", "web"])
        assert rows[web_index][2] == "2/2" and rows[web_index][3] == "Running"
        table = app.screen.query_one(ResourceTable)
        table.move_cursor(row=web_index)
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: {r[0] for r in table_rows(app)} == {"server", "logger"})
        assert all(r[1] == "default/web" and r[2] == "RUNNING" for r in table_rows(app))
        assert "pods > containers(default/web)" in str(app.screen.query_one("#crumbs").render())
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: expected <= shown())
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        assert app.screen.__class__.__name__ == "HelpScreen"
        await pilot.press("escape")
        await pilot.press("q")
    assert app.return_code in (0, None)
