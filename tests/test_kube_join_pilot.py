"""The API's view joined with the runtime's, against the real demo node and our fake API server seeded with the
same pods (same UIDs), plus one pod the runtime does not run."""
from __future__ import annotations

import pytest
from datetime import datetime, timedelta, timezone

from kube_fake.manifests import container, event_manifest, node_manifest, pod_manifest, pod_ref, pods_from_specs
from kube_fake.server import FakeKube
from pilot_helpers import table_rows, wait_for

from n9s.ui.app import AppConfig, N9sApp
from n9s.wiring import make_collector
from n9s.model.api_side import ApiSide
from n9s.sources.containerd import ContainerdClient
from n9s.widgets.node_header import NodeHeader

pytestmark = pytest.mark.node
NODE = "n9s-demo-node"


@pytest.fixture
def fake_api(demo_node):
    pods = pods_from_specs([p.spec for p in demo_node.pods.values()], node=NODE)
    pods.append(pod_manifest("demo", "stuck", node=NODE, phase="Pending", containers=[
        container("app", "busybox:1.36", state="waiting", reason="ContainerCreating")]))
    now = datetime.now(timezone.utc)
    crash = next(p for p in pods if p["metadata"]["name"] == "crash")
    events = [
        event_manifest(pod_ref(crash), "BackOff", "Back-off restarting failed container", type="Warning", count=7,
                       first=now - timedelta(minutes=5), last=now - timedelta(seconds=20), host=NODE),
        event_manifest({"kind": "Node", "name": NODE, "namespace": "", "uid": "node-uid"}, "NodeReady",
                       "Node is ready", first=now - timedelta(hours=1), last=now - timedelta(hours=1), host=NODE),
    ]
    nodes = [node_manifest(NODE, taints=[{"key": "dedicated", "value": "demo", "effect": "NoSchedule"}])]
    with FakeKube(pods=pods, nodes=nodes, events=events, bookmark_interval=0.2, deletion_delay=0.2) as fake:
        yield fake


def make_app(demo_node, kubeconfig):
    api = ApiSide(kubeconfig=str(kubeconfig), node=NODE, watch_timeout_s=5, poll_s=1.0).start()
    collector = make_collector(str(demo_node.address), "k8s.io", str(demo_node.pods_dir), api=api)
    app = N9sApp(collector, AppConfig(refresh_s=0.5), events=ContainerdClient(str(demo_node.address)))
    api.on_change = app.refresh_from_thread
    return app


def by_name(app) -> dict[str, list[str]]:
    return {r[1].removesuffix(" [static]"): r for r in table_rows(app)}


def header(app) -> str:
    return str(app.screen.query_one(NodeHeader).render())


async def test_api_status_beside_runtime_flags_and_outage(demo_node, fake_api, tmp_path):
    kubeconfig = fake_api.write_kubeconfig(tmp_path / "kubeconfig")
    app = make_app(demo_node, kubeconfig)
    async with app.run_test(size=(200, 40)) as pilot:
        api_col = 4
        assert await wait_for(pilot, lambda: by_name(app).get("web", [""] * 6)[api_col] == "Running", timeout=20), \
            table_rows(app)
        rows = by_name(app)
        # The runtime's status and the API's side by side.
        assert rows["web"][3] == "Running"
        # The pod the API schedules here but the runtime does not run is flagged.
        assert "stuck" in rows and "not in runtime" in rows["stuck"][api_col]
        # The static pod is joined through its mirror pod (the API's uid differs from the runtime's).
        assert rows["etcd-n9s-demo"][api_col] == "Running"
        assert any(r[1].endswith("[static]") for r in table_rows(app))

        # :events, newest first, warnings highlighted; :node gains the API's conditions and allocatable.
        await pilot.press("colon", *"events", "enter")
        assert await wait_for(pilot, lambda: len(table_rows(app)) == 2, timeout=10), table_rows(app)
        events = table_rows(app)
        assert events[0][1:3] == ["Warning", "BackOff"] and events[0][3] == "pod/demo/crash"
        assert events[1][2] == "NodeReady"
        from n9s.widgets.resource_table import ResourceTable

        table = app.screen.query_one(ResourceTable)
        assert "red" in str(table.get_row_at(0)[1].style)
        await pilot.press("colon", *"node", "enter")
        assert await wait_for(pilot, lambda: any(r[1] == "Ready" for r in table_rows(app)), timeout=10)
        node_rows = {r[1]: r[2] for r in table_rows(app)}
        assert node_rows["Ready"] == "True" and node_rows["MemoryPressure"] == "False"
        assert "allocatable" in node_rows["cpu requests"] and node_rows["taint"] == "dedicated=demo:NoSchedule"
        assert any(r[0] == "warnings" and "BackOff" in r[1] for r in table_rows(app))
        await pilot.press("colon", *"pods", "enter")
        assert await wait_for(pilot, lambda: "stuck" in by_name(app))

        # A watch event shows within one refresh: the API deletes the stuck pod.
        fake_api.delete_pod("demo", "stuck")
        assert await wait_for(pilot, lambda: "stuck" not in by_name(app), timeout=5)

        # A status change from the watch shows within one refresh too.
        web_pod = next(p for p in fake_api.pods() if p["metadata"]["name"] == "web")
        web_pod["status"]["containerStatuses"][0]["state"] = {"waiting": {"reason": "CrashLoopBackOff"}}
        web_pod["status"]["containerStatuses"][0]["ready"] = False
        fake_api.upsert_pod(web_pod)
        assert await wait_for(pilot, lambda: by_name(app)["web"][api_col].startswith("CrashLoopBackOff"), timeout=5), \
            by_name(app)["web"]
        # y shows the pod's manifest from the API.
        index = next(i for i, r in enumerate(table_rows(app)) if r[1] == "web")
        from n9s.widgets.resource_table import ResourceTable

        app.screen.query_one(ResourceTable).move_cursor(row=index)
        await pilot.press("y")
        from textual.widgets import TextArea

        assert await wait_for(pilot, lambda: bool(app.screen.query(TextArea)) and
                              web_pod["metadata"]["uid"] in app.screen.query_one(TextArea).text, timeout=5)
        assert "(from the API)" in str(app.screen.query_one("#title").render())
        await pilot.press("escape")

        # The API goes away: the runtime's view stays, the header says why.
        fake_api.set_mode("down")
        assert await wait_for(pilot, lambda: "API: unreachable since" in header(app), timeout=15), header(app)
        assert "web" in by_name(app) and by_name(app)["web"][3] == "Running"
        await pilot.press("down")  # still answering keys

        # It comes back: the join fills in again without a restart.
        fake_api.set_mode("ok")
        fake_api.upsert_pod(pod_manifest("demo", "late", node=NODE, phase="Pending", containers=[
            container("app", "busybox:1.36", state="waiting", reason="ContainerCreating")]))
        assert await wait_for(pilot, lambda: "late" in by_name(app) and "API:" not in header(app), timeout=20), \
            header(app)
        assert by_name(app)["web"][api_col].startswith("CrashLoopBackOff")  # the join is back, with the latest


async def test_no_kubeconfig_runtime_view_only(demo_node, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    api = ApiSide(kubeconfig=None, node=NODE, kubelet_kubeconfig=str(tmp_path / "kubelet.conf")).start()
    collector = make_collector(str(demo_node.address), "k8s.io", str(demo_node.pods_dir), api=api)
    app = N9sApp(collector, AppConfig(refresh_s=0.5))
    async with app.run_test(size=(200, 40)) as pilot:
        assert await wait_for(pilot, lambda: "web" in by_name(app), timeout=15)
        assert await wait_for(pilot, lambda: "API: no kubeconfig found" in header(app), timeout=10), header(app)
        assert by_name(app)["web"][4] == "-"
