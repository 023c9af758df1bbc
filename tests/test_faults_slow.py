"""A runtime or API server that takes seconds to answer: the UI keeps answering keys, the header says the refresh
is late and the data stale, and refreshes never pile up. The runtime is the real demo node's containerd behind a
proxy that holds every chunk back; the API is the fake API server behind the same kind of proxy on loopback."""
from __future__ import annotations

import shutil
import tempfile
import threading
import time

import pytest

from kube_fake.manifests import pods_from_specs
from kube_fake.server import FakeKube
from pilot_helpers import table_rows, wait_for
from slow_proxy import SlowProxy

from n9s.ui.app import AppConfig, N9sApp
from n9s.wiring import make_collector
from n9s.model.api_side import ApiSide
from n9s.sources.containerd import ContainerdClient
from n9s.widgets.node_header import NodeHeader
from n9s.widgets.resource_table import ResourceTable

pytestmark = pytest.mark.node
NODE = "n9s-demo-node"


class CountingCollector:
    """Wraps a collector; counts refresh calls and the most that ever ran at the same time."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls = 0
        self.running = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    def refresh(self, **kwargs):
        with self._lock:
            self.calls += 1
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            return self.inner.refresh(**kwargs)
        finally:
            with self._lock:
                self.running -= 1

    def __getattr__(self, name):
        return getattr(self.inner, name)


def header(app) -> str:
    return str(app.screen.query_one(NodeHeader).render())


@pytest.fixture
def short_dir():
    # unix socket paths must stay under 108 bytes; pytest's tmp_path can be longer
    path = tempfile.mkdtemp(prefix="n9s-slow-", dir="/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def test_slow_runtime_ui_answers_header_says_late_no_refresh_piles_up(demo_node, short_dir):
    with SlowProxy(str(demo_node.address), listen=f"{short_dir}/ctd.sock") as proxy:
        collector = CountingCollector(make_collector(f"{short_dir}/ctd.sock", "k8s.io", str(demo_node.pods_dir)))
        app = N9sApp(collector, AppConfig(refresh_s=0.5), events=ContainerdClient(f"{short_dir}/ctd.sock"))
        async with app.run_test(size=(180, 40)) as pilot:
            assert await wait_for(pilot, lambda: len(table_rows(app)) >= len(demo_node.pods))
            assert await wait_for(pilot, lambda: "refresh running" not in header(app) and "STALE" not in header(app))

            proxy.delay = 1.0  # every runtime call now takes about two seconds; a refresh makes several
            assert await wait_for(pilot, lambda: (app.refresh_running_s or 0) >= 2.5, timeout=15)
            stuck_calls = collector.calls
            # The refresh is stuck in the runtime: keys are still answered at once.
            table = app.screen.query_one(ResourceTable)
            table.move_cursor(row=0)
            await pilot.press("down")
            assert table.cursor_row == 1
            await pilot.press("ctrl+r", "ctrl+r", "ctrl+r")
            await pilot.press("colon", *"co", "enter")
            assert await wait_for(pilot, lambda: "containers" in str(app.screen.query_one("#crumbs").render()),
                                  timeout=2)
            # The header says the refresh is late and that what is shown may be stale.
            assert await wait_for(pilot, lambda: "refresh running for" in header(app) and "STALE" in header(app),
                                  timeout=10), header(app)
            # Asking again while one runs never starts a second one.
            assert collector.calls <= stuck_calls + 1
            assert collector.most_at_once == 1

            proxy.delay = 0.0
            assert await wait_for(pilot, lambda: "refresh running" not in header(app) and "STALE" not in header(app),
                                  timeout=20), header(app)
            assert await wait_for(pilot, lambda: any(r[0] == "logger" for r in table_rows(app)))
            assert collector.most_at_once == 1
            calls = collector.calls
            assert await wait_for(pilot, lambda: collector.calls >= calls + 2)  # the loop goes on
            assert collector.most_at_once == 1


@pytest.fixture
def fake_api(demo_node):
    pods = pods_from_specs([p.spec for p in demo_node.pods.values()], node=NODE)
    with FakeKube(pods=pods, bookmark_interval=0.2) as fake:
        yield fake


async def test_slow_api_does_not_hold_the_runtime_view_back(demo_node, fake_api, tmp_path):
    with SlowProxy(("127.0.0.1", fake_api.port), delay=1.5) as proxy:
        kubeconfig = fake_api.write_kubeconfig(tmp_path / "kubeconfig",
                                               extra_contexts={"slow": f"http://127.0.0.1:{proxy.port}"})
        api = ApiSide(kubeconfig=str(kubeconfig), context="slow", node=NODE, watch_timeout_s=5, poll_s=1.0).start()
        collector = CountingCollector(make_collector(str(demo_node.address), "k8s.io", str(demo_node.pods_dir),
                                                     api=api))
        app = N9sApp(collector, AppConfig(refresh_s=0.5), events=ContainerdClient(str(demo_node.address)))
        api.on_change = app.refresh_from_thread
        async with app.run_test(size=(200, 40)) as pilot:
            # The runtime's rows come while the API has not answered yet; the header says the API is not there yet.
            assert await wait_for(pilot, lambda: len(table_rows(app)) >= len(demo_node.pods), timeout=10)
            assert "API: connecting" in header(app) or "API: waiting for the first pod list" in header(app), header(app)
            assert all(r[4] == "-" for r in table_rows(app))  # no API status joined yet
            # Refreshes go on at their pace and keys are answered while the API is slow.
            calls = collector.calls
            assert await wait_for(pilot, lambda: collector.calls >= calls + 3, timeout=10)
            table = app.screen.query_one(ResourceTable)
            table.move_cursor(row=0)
            await pilot.press("down")
            assert table.cursor_row == 1
            # The slow API does answer in the end, and its view joins in.
            assert await wait_for(pilot, lambda: any(r[1] == "web" and r[4] == "Running" for r in table_rows(app)),
                                  timeout=40), (header(app), table_rows(app))
            assert await wait_for(pilot, lambda: "API:" not in header(app), timeout=10), header(app)
            assert collector.most_at_once == 1
            assert proxy.connections >= 1


def test_after_the_event_stream_lengthens_grpcs_waits_a_slow_call_still_ends_at_its_deadline(demo_node, short_dir):
    # With the event stream open, a call that gets no answer must still give up at its own deadline. The proxy would answer after 30 s, and then the
    # call would succeed: that it raises "did not answer" is the deadline at work.
    import threading

    from n9s.sources.errors import SourceError

    events = ContainerdClient(str(demo_node.address))
    listening = threading.Event()

    def listen():
        stream = events.subscribe("/tasks/")
        listening.set()
        for _ in stream:
            pass

    threading.Thread(target=listen, daemon=True).start()
    assert listening.wait(20)
    time.sleep(0.3)
    with SlowProxy(str(demo_node.address), listen=f"{short_dir}/ctd.sock", delay=30.0):
        slow = ContainerdClient(f"{short_dir}/ctd.sock", timeout=0.7)
        started = time.monotonic()
        with pytest.raises(SourceError, match="did not answer"):
            slow.version()
        assert time.monotonic() - started < 20  # a generous bound, well short of the proxy's answer
        slow.close()
    events.close()
