"""The pod watcher: list + watch of this node's pods, bookmarks, 410 relists, outages and credentials."""
from __future__ import annotations

import socket
import threading
import time

import pytest

from kube_fake import FakeKube, container, fixtures, node_manifest, pod_manifest
from n9s.sources.kube.client import KubeClient
from n9s.sources.kube.watch import ADDED, DELETED, HEALTH, MODIFIED, SYNCED, Backoff, PodEvent, PodWatcher

NODE = fixtures.NODE
fake_kube, kubeconfig, kube = fixtures.fake_kube, fixtures.kubeconfig, fixtures.kube  # pytest fixtures
seed_pods = fixtures.seed_pods


class Recorder:
    """A consumer that applies the events to its own view, as the UI would."""

    def __init__(self) -> None:
        self.events: list[PodEvent] = []
        self.view: dict[str, object] = {}
        self.cond = threading.Condition()

    def __call__(self, event: PodEvent) -> None:
        with self.cond:
            self.events.append(event)
            if event.kind in (ADDED, MODIFIED):
                self.view[event.pod.uid] = event.pod
            elif event.kind == DELETED:
                self.view.pop(event.pod.uid, None)
            elif event.kind == SYNCED:
                assert {p.uid for p in event.pods} == set(self.view), "SYNCED must agree with the events before it"
            self.cond.notify_all()

    def wait(self, predicate, timeout: float = 10.0) -> bool:
        """Wait for the predicate; it is checked on every event and every 50 ms (it may read the watcher)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.05))
            return True

    def statuses(self) -> dict[str, str]:
        return {f"{p.namespace}/{p.name}": p.status_text for p in self.view.values()}

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]

    def healths(self) -> list[str]:
        return [e.health.message for e in self.events if e.kind == HEALTH]


def server_view(fake: FakeKube) -> dict[str, str]:
    from n9s.sources.kube.objects import pod_from_manifest

    pods = [pod_from_manifest(p) for p in fake.pods() if p["spec"].get("nodeName") == NODE]
    return {f"{p.namespace}/{p.name}": p.status_text for p in pods}


def watcher(kube, recorder, **options) -> PodWatcher:
    options = {"watch_timeout_seconds": 1, "read_timeout": 3.0, "backoff": Backoff(0.05, 2.0, 0.2), **options}
    return PodWatcher(kube, NODE, on_event=recorder, **options)


@pytest.fixture
def recorder():
    return Recorder()


def test_list_then_watch_delivers_added_modified_deleted(kube, fake_kube, recorder):
    with watcher(kube, recorder) as w:
        assert recorder.wait(lambda r: SYNCED in r.kinds())
        assert recorder.statuses() == {"default/web": "Running", "demo/crash": "CrashLoopBackOff"}
        assert recorder.kinds()[:3] == [ADDED, ADDED, SYNCED]

        fake_kube.upsert_pod(pod_manifest("default", "db", node=NODE, phase="Pending", containers=[
            container("postgres", state="waiting", reason="ContainerCreating")]))
        assert recorder.wait(lambda r: r.statuses().get("default/db") == "ContainerCreating")
        fake_kube.upsert_pod(pod_manifest("default", "db", node=NODE, containers=[container("postgres")]))
        assert recorder.wait(lambda r: r.statuses().get("default/db") == "Running")
        fake_kube.delete_pod("demo", "crash")
        assert recorder.wait(lambda r: "demo/crash" not in r.statuses())
        fake_kube.upsert_pod(pod_manifest("default", "not-ours", node="node-2"))

        kinds = [(e.kind, e.pod.name) for e in recorder.events if e.kind in (ADDED, MODIFIED, DELETED)]
        assert kinds[2:] == [(ADDED, "db"), (MODIFIED, "db"), (DELETED, "crash")]
        assert set(w.pods()) == set(recorder.view)
        watch = next(r for r in fake_kube.requests if r.query.get("watch"))
        assert watch.query["fieldSelector"] == f"spec.nodeName={NODE}"
        assert watch.query["allowWatchBookmarks"] == "true" and watch.query["timeoutSeconds"] == "1"
        list_request = next(r for r in fake_kube.requests if r.path == "/api/v1/pods" and "watch" not in r.query)
        assert int(watch.query["resourceVersion"]) >= 1 and list_request.query == {"fieldSelector": f"spec.nodeName={NODE}"}
    assert not w.running
    assert recorder.statuses() == server_view(fake_kube)


def test_bookmarks_move_the_resource_version_without_events(kube, fake_kube, recorder):
    with watcher(kube, recorder, watch_timeout_seconds=2) as w:
        assert recorder.wait(lambda r: SYNCED in r.kinds())
        listed = int(w.resource_version)
        for i in range(3):  # changes we do not see (another node) still move the version
            fake_kube.upsert_pod(pod_manifest("default", f"other-{i}", node="node-2"))
        target = fake_kube.resource_version
        assert recorder.wait(lambda r: int(w.resource_version) >= target)
        assert int(w.resource_version) > listed
        assert [e.kind for e in recorder.events if e.kind in (ADDED, MODIFIED, DELETED)] == [ADDED, ADDED]
        # the next watch resumes from the bookmark, not from the list
        assert recorder.wait(lambda r: any(
            q.query.get("watch") and int(q.query["resourceVersion"]) >= target for q in fake_kube.requests))
    assert w.relists == 1


@pytest.mark.parametrize("gone_style", ["event", "http"])
def test_expired_version_relists_without_losing_the_final_state(kube, fake_kube, recorder, gone_style):
    fake_kube.gone_style = gone_style
    with watcher(kube, recorder) as w:
        assert recorder.wait(lambda r: SYNCED in r.kinds())
        fake_kube.set_mode("down")
        assert recorder.wait(lambda r: any("unreachable" in m for m in r.healths()))
        # while we are away: one pod goes, one comes, one changes; then the history is compacted
        fake_kube.delete_pod("default", "web")
        fake_kube.upsert_pod(pod_manifest("default", "new", node=NODE))
        fake_kube.upsert_pod(pod_manifest("demo", "crash", node=NODE, containers=[container("failing", restarts=5)]))
        fake_kube.expire_resource_versions()
        fake_kube.set_mode("ok")
        assert recorder.wait(lambda r: r.kinds().count(SYNCED) == 2)
        assert recorder.statuses() == server_view(fake_kube) == {"default/new": "Running", "demo/crash": "Running"}
        after = recorder.kinds()[recorder.kinds().index(SYNCED) + 1:]
        assert DELETED in after and ADDED in after and MODIFIED in after
        assert w.relists == 2
        assert recorder.healths()[-1] == "API: ok"


def test_expiry_during_an_open_watch_relists(kube, fake_kube, recorder):
    with watcher(kube, recorder, watch_timeout_seconds=30) as w:
        assert recorder.wait(lambda r: SYNCED in r.kinds())
        assert recorder.wait(lambda r: w.watches >= 1)
        fake_kube.expire_resource_versions()  # the open watch gets an ERROR event with a 410 Status
        assert recorder.wait(lambda r: r.kinds().count(SYNCED) == 2)
        fake_kube.upsert_pod(pod_manifest("default", "after", node=NODE))
        assert recorder.wait(lambda r: "default/after" in r.statuses())
    assert w.relists == 2


def test_outage_reports_unreachable_then_resyncs(kube, fake_kube, recorder):
    with watcher(kube, recorder, watch_timeout_seconds=30):
        assert recorder.wait(lambda r: SYNCED in r.kinds())
        fake_kube.set_mode("down")
        assert recorder.wait(lambda r: any(m.startswith("API: unreachable since ") for m in r.healths()))
        health = next(e.health for e in recorder.events if e.kind == HEALTH and e.health.state == "unreachable")
        assert health.since is not None and health.message.endswith(", retrying")
        assert health.message == f"API: unreachable since {health.since.astimezone():%H:%M:%S}, retrying"
        fake_kube.upsert_pod(pod_manifest("default", "while-away", node=NODE))
        fake_kube.set_mode("ok")
        assert recorder.wait(lambda r: r.healths()[-1] == "API: ok" and "default/while-away" in r.statuses())
        assert recorder.statuses() == server_view(fake_kube)


def test_unauthorized_then_fixed(kube, fake_kube, recorder):
    with watcher(kube, recorder) as w:
        assert recorder.wait(lambda r: SYNCED in r.kinds())
        fake_kube.set_mode("401")  # the next watch (after at most 1 s) is refused
        assert recorder.wait(lambda r: "API: unauthorized (401): check the kubeconfig credentials" in r.healths())
        assert w.running
        fake_kube.set_mode("ok")
        assert recorder.wait(lambda r: r.healths()[-1] == "API: ok")


def test_forbidden_reports_rbac(kubeconfig, fake_kube, recorder):
    fake_kube.set_mode("403")
    client = KubeClient.from_config(str(kubeconfig), connect_timeout=1.0, read_timeout=3.0)
    with watcher(client, recorder):
        assert recorder.wait(lambda r: "API: forbidden to list pods: RBAC" in r.healths())
        assert SYNCED not in recorder.kinds()
        fake_kube.set_mode("ok")
        assert recorder.wait(lambda r: SYNCED in r.kinds() and r.healths()[-1] == "API: ok")
    client.close()


def test_start_never_blocks_and_stop_ends_the_thread(tmp_path):
    """An API server that accepts connections and never answers."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    fake = FakeKube()
    fake._port = silent.getsockname()[1]
    path = fake.write_kubeconfig(tmp_path / "k")
    client = KubeClient.from_config(str(path), connect_timeout=1.0, read_timeout=1.0)
    w = PodWatcher(client, NODE, backoff=Backoff(0.05, 2.0, 0.1))
    w.start()  # returns although the list cannot complete
    assert w.running and not w.synced.is_set() and w.events.empty()
    w.stop(timeout=10)
    assert not w.running
    silent.close()
    client.close()


def test_default_queue_and_a_failing_consumer(kube, fake_kube):
    with PodWatcher(kube, NODE, watch_timeout_seconds=1, backoff=Backoff(0.05, 2, 0.2)) as w:
        first = w.events.get(timeout=10)
        assert first.kind == ADDED
    calls = []

    def broken(event):
        calls.append(event.kind)
        raise RuntimeError("consumer bug")

    with PodWatcher(kube, NODE, on_event=broken, watch_timeout_seconds=1, backoff=Backoff(0.05, 2, 0.2)) as w:
        assert w.synced.wait(10)
        fake_kube.upsert_pod(pod_manifest("default", "still-delivered", node=NODE))
        end = threading.Event()
        for _ in range(200):
            if "still-delivered" in {p.name for p in w.pods().values()} and calls.count(ADDED) >= 3:
                break
            end.wait(0.05)
        assert calls.count(ADDED) == 3 and w.running


def test_backoff_grows_to_its_cap_and_resets():
    backoff = Backoff(0.5, 2.0, 3.0)
    assert [backoff.next() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    backoff.reset()
    assert backoff.next() == 0.5
    with pytest.raises(ValueError):
        Backoff(0, 2, 1)


def test_watch_against_a_seeded_node_with_many_pods(tmp_path):
    pods = seed_pods() + [pod_manifest("load", f"p{i}", node=NODE) for i in range(100)]
    with FakeKube(pods=pods, nodes=[node_manifest(NODE)], bookmark_interval=0.2) as fake:
        client = KubeClient.from_config(str(fake.write_kubeconfig(tmp_path / "k")), connect_timeout=1.0)
        recorder = Recorder()
        with watcher(client, recorder):
            assert recorder.wait(lambda r: SYNCED in r.kinds())
            assert len(recorder.view) == 102
        client.close()


def test_a_server_that_always_says_gone_is_not_hammered(kube, fake_kube, recorder):
    fake_kube.gone_style = "http"
    with fake_kube._cond:
        fake_kube._compacted = 10**9  # every version the list hands out is already "too old"
    w = watcher(kube, recorder, backoff=Backoff(0.3, 2.0, 1.0))
    with w:
        time.sleep(1.5)
    lists = [r for r in fake_kube.requests if r.path == "/api/v1/pods" and "watch" not in r.query]
    # relist at once after the first 410, then back off: 0.3 + 0.6 + 1.0 s => at most 4 lists in 1.5 s
    assert 2 <= len(lists) <= 5 and w.relists == len(lists)


def test_retries_back_off_while_the_server_stays_down(kube, fake_kube, recorder):
    retries = []
    original = kube.watch_node_pods

    def counting_watch(*args, **kwargs):
        retries.append(time.monotonic())
        return original(*args, **kwargs)

    kube.watch_node_pods = counting_watch
    with watcher(kube, recorder, watch_timeout_seconds=30, backoff=Backoff(0.1, 2.0, 0.4)):
        assert recorder.wait(lambda r: SYNCED in r.kinds() and len(retries) == 1)
        fake_kube.upsert_pod(pod_manifest("default", "seen", node=NODE))  # the watch makes progress
        assert recorder.wait(lambda r: "default/seen" in r.statuses())
        fake_kube.set_mode("down")
        assert recorder.wait(lambda r: len(retries) >= 6, timeout=15)
        gaps = [b - a for a, b in zip(retries[1:], retries[2:])]
        # 0.1, 0.2, 0.4, 0.4 ...: the delays grow to the cap instead of staying at the first one
        assert max(gaps) >= 0.35 and gaps[-1] >= gaps[0]
