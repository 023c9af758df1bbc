"""The header tells the picture's age only when it matters: once the next refresh is overdue (dim), and in bold
with STALE once it is late; a fresh picture's header carries no ticking number."""
from __future__ import annotations

from n9s.model.picture import NodeInfo, NodePicture
from n9s.widgets.node_header import LATE_INTERVALS, OVERDUE_GRACE_S, header_text

PICTURE = NodePicture(taken_at=1000.0, node=NodeInfo(hostname="node-1"))


def test_a_fresh_picture_shows_no_age():
    for age in (0.0, 1.5, 2.0 + OVERDUE_GRACE_S - 0.1):
        text = header_text(PICTURE, 1000.0 + age, interval_s=2.0)
        assert "node-1" in text.plain and "refreshed" not in text.plain and "STALE" not in text.plain


def test_an_overdue_picture_shows_its_age_then_goes_stale():
    overdue = header_text(PICTURE, 1000.0 + 2.0 + OVERDUE_GRACE_S + 0.5, interval_s=2.0)
    assert "refreshed 3s ago" in overdue.plain and "STALE" not in overdue.plain
    late = header_text(PICTURE, 1000.0 + LATE_INTERVALS * 2.0 + 1, interval_s=2.0)
    assert f"refreshed {LATE_INTERVALS * 2 + 1}s ago" in late.plain and "STALE" in late.plain
    assert any("yellow" in str(span.style) for span in late.spans if late.plain[span.start:span.end].startswith(" refreshed"))


def test_the_same_moment_gives_the_same_text_so_a_tick_repaints_nothing():
    a = header_text(PICTURE, 1000.5, interval_s=2.0)
    b = header_text(PICTURE, 1001.4, interval_s=2.0)
    assert (a.plain, a.spans) == (b.plain, b.spans)


class _HeaderApp:
    """A bare app holding one header, with what the header asks of n9s's app: the refresh interval and how long
    the refresh under way has run."""

    @staticmethod
    def make(interval_s: float):
        from types import SimpleNamespace

        from textual.app import App

        from n9s.widgets.node_header import NodeHeader

        class HeaderApp(App):
            config = SimpleNamespace(refresh_s=interval_s)
            refresh_running_s = None

            def compose(self):
                yield NodeHeader()

        return HeaderApp()


async def test_with_no_new_picture_the_age_appears_when_overdue_and_keeps_counting():
    import time

    from n9s.widgets.node_header import NodeHeader

    app = _HeaderApp.make(0.5)
    async with app.run_test(size=(120, 5)) as pilot:
        header = app.query_one(NodeHeader)
        header.show(NodePicture(taken_at=time.time(), node=NodeInfo(hostname="node-1")), readonly=False)
        assert "refreshed" not in str(header.render())
        await pilot.pause(0.5 + OVERDUE_GRACE_S + 0.3)
        assert "refreshed 1s ago" in str(header.render())
        await pilot.pause(1.1)
        assert "refreshed 2s ago" in str(header.render())
        # A new picture puts the age away until that one is overdue in turn.
        header.show(NodePicture(taken_at=time.time(), node=NodeInfo(hostname="node-1")), readonly=False)
        assert "refreshed" not in str(header.render())
        await pilot.pause(0.5 + OVERDUE_GRACE_S + 0.3)
        assert "refreshed 1s ago" in str(header.render())
