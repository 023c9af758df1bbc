"""The first picture is built while the UI is imported (cli starts it in a thread); the app shows that picture
instead of refreshing again, and takes the second sample (the one CPU rates need) sooner than the period."""
from __future__ import annotations

import threading

from n9s.ui.app import AppConfig, N9sApp
from n9s.model.collector import BackgroundRefresh
from n9s.model.picture import NodeInfo, NodePicture, PodRow
from n9s.model.seams import PictureSource

from pilot_helpers import wait_for


class CountingCollector(PictureSource):
    def __init__(self):
        self.calls = 0
        self.release = threading.Event()

    @property
    def resample_soon(self):
        return self.calls == 1  # the first picture has no CPU rates yet, as a real collector's

    def refresh(self, **kwargs):
        self.release.wait(10)
        self.calls += 1
        pod = PodRow(id=f"sb{self.calls}", namespace="ns", name=f"web-{self.calls}", uid="u", attempt=0,
                     state="READY", created_at_ns=0, labels={}, annotations={}, containers=(), status="Running",
                     ready=0, total=0, restarts=0)
        return NodePicture(taken_at=float(self.calls), node=NodeInfo(hostname="x"), pods=(pod,))


async def test_the_app_shows_the_picture_started_before_it_and_samples_again_soon():
    collector = CountingCollector()
    first = BackgroundRefresh(collector)
    app = N9sApp(collector, AppConfig(refresh_s=60.0), first_refresh=first)
    async with app.run_test() as pilot:
        collector.release.set()
        assert await wait_for(pilot, lambda: app.picture is not None)
        assert app.picture.pods[0].name == "web-1"  # the background refresh's picture, not a second one
        assert collector.calls == 1
        # The second sample does not wait for the 60 s period.
        assert await wait_for(pilot, lambda: collector.calls == 2, timeout=10)
        assert await wait_for(pilot, lambda: app.picture.pods[0].name == "web-2")


async def test_a_failed_background_refresh_is_reported_and_refreshing_goes_on():
    class Failing(CountingCollector):
        def refresh(self, **kwargs):
            self.calls += 1
            if self.calls == 1:
                raise RuntimeError("boom in the first refresh")
            return super().refresh(**kwargs)

    collector = Failing()
    collector.release.set()
    app = N9sApp(collector, AppConfig(refresh_s=0.5), first_refresh=BackgroundRefresh(collector))
    async with app.run_test() as pilot:
        assert await wait_for(pilot, lambda: app.picture is not None)
        assert collector.calls >= 2


async def test_views_that_ask_for_figures_do_not_wait_for_a_collection():
    collector = CountingCollector()
    collector.release.set()
    app = N9sApp(collector, AppConfig(refresh_s=60.0, start_view="pods"))
    async with app.run_test() as pilot:
        assert await wait_for(pilot, lambda: app.picture is not None)
        await pilot.pause(0.2)
        empty = app.screen.query_one("#empty")
        assert not empty.has_class("visible")  # the pod row shows; no "loading…"
        await pilot.press(":")
        await pilot.press(*"containers", "enter")
        await pilot.pause(0.3)
        assert str(empty.render()) == "no rows"  # this picture has no containers: said, not "loading…"
