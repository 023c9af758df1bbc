"""The Kubernetes API side says what it cannot reach, each on its own header line within 30 s: a hung API server
(the fake one behind a proxy that stops forwarding, as a SIGSTOP'ed server looks), a server that answers web pages,
and a --node name the API does not know. The API's side is built as `n9s` builds it (ApiSide's defaults)."""
from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kube_fake.manifests import node_manifest, pod_manifest, pods_from_specs
from kube_fake.server import FakeKube
from pilot_helpers import table_rows, wait_for
from slow_proxy import SlowProxy

from n9s.ui.app import AppConfig, N9sApp
from n9s.wiring import make_collector
from n9s.model.api_side import ApiSide
from n9s.model.remote import RemoteCollector
from n9s.sources.containerd import ContainerdClient
from n9s.widgets.node_header import NodeHeader

NODE = "n9s-demo-node"
API_COLUMN = 4
PATIENCE_S = 30.0  # what the header is given to say it


def header(app) -> str:
    return str(app.screen.query_one(NodeHeader).render())


def api_line(app) -> str:
    return next((line for line in header(app).splitlines() if line.strip().startswith("API:")), "")


def by_name(app) -> dict[str, list[str]]:
    return {r[1].removesuffix(" [static]"): r for r in table_rows(app)}


def local_app(demo_node, kubeconfig, *, context: str | None = None, node: str = NODE):
    """The runtime's view of the demo node with the API joined in, the way `n9s --node NODE` wires it."""
    api = ApiSide(kubeconfig=str(kubeconfig), context=context, node=node).start()
    collector = make_collector(str(demo_node.address), "k8s.io", str(demo_node.pods_dir), api=api)
    app = N9sApp(collector, AppConfig(refresh_s=0.5), events=ContainerdClient(str(demo_node.address)))
    api.on_change = app.refresh_from_thread
    return app, api


def remote_app(kubeconfig, *, node: str):
    api = ApiSide(kubeconfig=str(kubeconfig), node=node).start()
    app = N9sApp(RemoteCollector(api), AppConfig(refresh_s=0.5))
    api.on_change = app.refresh_from_thread
    return app, api


class _WebPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = b"<!doctype html><html><body><h1>Welcome</h1>Sign in to continue.</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args) -> None:  # quiet
        pass


@pytest.fixture
def web_server():
    """A loopback web server that answers every request with an HTML page (200): not an API server."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _WebPage)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def demo_api(demo_node):
    pods = pods_from_specs([p.spec for p in demo_node.pods.values()], node=NODE)
    # Another node's pod: the API has pods, just none on a node by a wrong name.
    pods.append(pod_manifest("default", "elsewhere", node="other-node"))
    with FakeKube(pods=pods, nodes=[node_manifest(NODE), node_manifest("other-node")], bookmark_interval=0.5) as fake:
        yield fake


@pytest.mark.node
async def test_a_hung_api_server_gets_its_own_line_then_its_news_when_it_answers_again(demo_node, demo_api,
                                                                                       tmp_path):
    with SlowProxy(("127.0.0.1", demo_api.port)) as proxy:
        server = f"http://127.0.0.1:{proxy.port}"
        kubeconfig = demo_api.write_kubeconfig(tmp_path / "kubeconfig", extra_contexts={"proxied": server})
        app, api = local_app(demo_node, kubeconfig, context="proxied")
        async with app.run_test(size=(200, 40)) as pilot:
            assert await wait_for(pilot, lambda: by_name(app).get("web", [""] * 6)[API_COLUMN] == "Running",
                                  timeout=20), table_rows(app)
            assert await wait_for(pilot, lambda: api_line(app) == "", timeout=10), header(app)

            proxy.hold()
            # The server keeps changing while it cannot be heard.
            web = next(p for p in demo_api.pods() if p["metadata"]["name"] == "web")
            web["status"]["containerStatuses"][0]["state"] = {"waiting": {"reason": "CrashLoopBackOff"}}
            web["status"]["containerStatuses"][0]["ready"] = False
            demo_api.upsert_pod(web)
            try:
                assert await wait_for(pilot, lambda: "API: not answering for" in api_line(app),
                                      timeout=PATIENCE_S), header(app)
                assert f"(server {server})" in api_line(app)
                # The count goes on; the runtime's own view stays current beside it.
                first = int(re.search(r"not answering for (\d+)s", api_line(app)).group(1))
                assert await wait_for(pilot, lambda: int(re.search(r"for (\d+)s", api_line(app) or "for 0s")
                                                         .group(1)) >= first + 2, timeout=10), header(app)
                assert by_name(app)["web"][3] == "Running" and "STALE" not in header(app)
            finally:
                proxy.release()
            assert await wait_for(pilot, lambda: api_line(app) == "", timeout=PATIENCE_S), header(app)
            assert await wait_for(pilot, lambda: by_name(app)["web"][API_COLUMN].startswith("CrashLoopBackOff"),
                                  timeout=PATIENCE_S), by_name(app)["web"]
        api.stop()


@pytest.mark.node
async def test_a_server_answering_web_pages_is_named_not_waited_for(demo_node, demo_api, web_server, tmp_path):
    kubeconfig = demo_api.write_kubeconfig(tmp_path / "kubeconfig", extra_contexts={"web": web_server})
    app, api = local_app(demo_node, kubeconfig, context="web")
    async with app.run_test(size=(200, 40)) as pilot:
        assert await wait_for(pilot, lambda: "API: answers are not JSON" in api_line(app), timeout=PATIENCE_S), \
            header(app)
        line = api_line(app)
        assert "text/html" in line and web_server in line and "is the server an API server?" in line, line
        assert "waiting for the first pod list" not in header(app)
        assert len(table_rows(app)) >= len(demo_node.pods)  # the runtime's view goes on alone
    api.stop()


@pytest.mark.node
async def test_a_node_name_the_api_does_not_know_is_said_not_every_pod_flagged(demo_node, demo_api, tmp_path):
    kubeconfig = demo_api.write_kubeconfig(tmp_path / "kubeconfig")
    app, api = local_app(demo_node, kubeconfig, node="no-such-node")
    async with app.run_test(size=(200, 40)) as pilot:
        assert await wait_for(pilot, lambda: "API: no node named no-such-node" in api_line(app),
                              timeout=PATIENCE_S), header(app)
        assert f"(nodes: {NODE}, other-node)" in api_line(app) and "--node" in api_line(app), api_line(app)
        assert await wait_for(pilot, lambda: len(table_rows(app)) >= len(demo_node.pods))
        await pilot.pause(1.0)
        assert not any("unknown to API" in r[API_COLUMN] for r in table_rows(app)), table_rows(app)
    api.stop()


async def test_remote_mode_with_a_node_name_the_api_does_not_know_says_so(tmp_path):
    pods = [pod_manifest("default", "web", node="node-a"), pod_manifest("default", "db", node="node-b")]
    with FakeKube(pods=pods, nodes=[node_manifest("node-a"), node_manifest("node-b")]) as fake:
        kubeconfig = fake.write_kubeconfig(tmp_path / "kubeconfig")
        app, api = remote_app(kubeconfig, node="node-c")
        async with app.run_test(size=(200, 40)) as pilot:
            assert await wait_for(pilot, lambda: "API: no node named node-c (nodes: node-a, node-b)" in
                                  api_line(app), timeout=PATIENCE_S), header(app)
            assert table_rows(app) == []
            # The node appears (a node that joins late, or --node right after all): the line goes, its pods come.
            fake.upsert_node(node_manifest("node-c"))
            fake.upsert_pod(pod_manifest("default", "cache", node="node-c"))
            api.refresh_soon()
            assert await wait_for(pilot, lambda: [r[1] for r in table_rows(app)] == ["cache"], timeout=PATIENCE_S), \
                (header(app), table_rows(app))
            assert await wait_for(pilot, lambda: "no node named" not in header(app), timeout=PATIENCE_S), header(app)
        api.stop()


async def test_remote_mode_with_a_hung_api_says_so_and_shows_no_figure_as_current(tmp_path):
    from kube_fake.manifests import container, summary_manifest

    node = "remote-node"
    web = pod_manifest("default", "web", node=node, containers=[container("server", "nginx:1.25")])
    with FakeKube(pods=[web], nodes=[node_manifest(node)], bookmark_interval=0.5) as fake:
        fake.set_summary(node, summary_manifest(node, [{
            "namespace": "default", "name": "web", "uid": web["metadata"]["uid"],
            "containers": [{"name": "server", "nanocores": 250_000_000, "working_set": 32 * 2**20,
                            "usage": 40 * 2**20, "rss": 30 * 2**20}]}]))
        with SlowProxy(("127.0.0.1", fake.port)) as proxy:
            kubeconfig = fake.write_kubeconfig(tmp_path / "kubeconfig",
                                               extra_contexts={"proxied": f"http://127.0.0.1:{proxy.port}"})
            api = ApiSide(kubeconfig=str(kubeconfig), context="proxied", node=node).start()
            app = N9sApp(RemoteCollector(api), AppConfig(refresh_s=0.5))
            api.on_change = app.refresh_from_thread
            async with app.run_test(size=(200, 40)) as pilot:
                assert await wait_for(pilot, lambda: table_rows(app) and table_rows(app)[0][6] == "250m",
                                      timeout=20), table_rows(app)
                proxy.hold()
                try:
                    assert await wait_for(pilot, lambda: "API: not answering for" in api_line(app),
                                          timeout=PATIENCE_S), header(app)
                    assert await wait_for(pilot, lambda: "STALE" in header(app), timeout=10), header(app)
                    assert table_rows(app)[0][6] == "-"  # no CPU figure passed off as current
                finally:
                    proxy.release()
                assert await wait_for(pilot, lambda: api_line(app) == "" and "STALE" not in header(app),
                                      timeout=PATIENCE_S), header(app)
                assert await wait_for(pilot, lambda: table_rows(app)[0][6] == "250m", timeout=10), table_rows(app)
            api.stop()
