"""The Kubernetes API's side of the picture, kept current by background threads.

Connecting imports the heavy ``kubernetes`` package and may wait on a dead server, so it all happens off the
refresh path: ``start()`` returns at once, and every refresh just takes a ``snapshot()``. With no kubeconfig, an
unreachable server, 401 or 403, the snapshot says why and the runtime's view carries on alone; when the API comes
back, the watcher relists and the join fills in without a restart.
"""
from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

log = logging.getLogger("n9s.api")

# The API is asked for its version this often, and given this long to answer: the pod watch may wait minutes for
# its next event and the node is read every poll_s, so without it a hung API server would go unseen for minutes.
# A hang shows within PROBE_S + PROBE_TIMEOUT_S.
PROBE_S = 5.0
PROBE_TIMEOUT_S = 10.0
NODES_NAMED = 5  # how many of the API's node names "no node named X" lists


@dataclass(frozen=True)
class ApiSnapshot:
    state: str  # ok | unreachable | not_answering | not_json | unauthorized | forbidden | not_configured | no_node
    # | connecting
    message: str
    since: float | None
    node_name: str = ""
    synced: bool = False
    pods: dict[str, Any] = field(default_factory=dict)  # by runtime uid (mirror pods under the static pod's uid)
    node: Any = None  # ApiNode
    events: tuple[Any, ...] = ()  # ApiEvent, newest first

    @property
    def ok(self) -> bool:
        return self.state == "ok"


def _epoch(moment: datetime | None) -> float | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


class ApiSide:
    def __init__(
        self,
        *,
        kubeconfig: str | None = None,
        context: str | None = None,
        node: str | None = None,
        client_factory: Callable[[], Any] | None = None,
        watch_timeout_s: int = 300,
        poll_s: float = 30.0,
        on_change: Callable[[], None] | None = None,
        kubelet_kubeconfig: str | None = None,
        probe_s: float = PROBE_S,
        probe_timeout_s: float = PROBE_TIMEOUT_S,
    ) -> None:
        self.kubelet_kubeconfig = kubelet_kubeconfig
        self.probe_s = probe_s
        self.probe_timeout_s = probe_timeout_s
        self.kubeconfig = kubeconfig
        self.context = context
        self.node_flag = node
        self.client_factory = client_factory
        self.watch_timeout_s = watch_timeout_s
        self.poll_s = poll_s
        self.on_change = on_change
        self.client: Any = None
        self.watcher: Any = None
        self.node_name = ""
        self._node: Any = None
        self._events: tuple[Any, ...] = ()
        self._failure: tuple[str, str] | None = None  # (state, message) before a client exists
        self._no_node = ""  # the header's line when the API knows no node by node_name
        self._stop = threading.Event()
        self._poke = threading.Event()
        self._thread = threading.Thread(target=self._run, name="n9s-api", daemon=True)
        self._prober = threading.Thread(target=self._probe_loop, name="n9s-api-probe", daemon=True)

    def start(self) -> "ApiSide":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._poke.set()
        if self.watcher is not None:
            self.watcher.stop(timeout=2.0)

    def refresh_soon(self) -> None:
        """Ask for the node and its events again now (after an action)."""
        self._poke.set()

    # ---- the background thread ----
    def _connect(self) -> bool:
        from n9s.sources.errors import SourceError
        from n9s.sources.kube.health import ApiHealth

        try:
            if self.client_factory is not None:
                self.client = self.client_factory()
            else:
                from n9s.sources.kube.client import KubeClient

                search = {"kubelet_kubeconfig": self.kubelet_kubeconfig} if self.kubelet_kubeconfig else {}
                self.client = KubeClient.from_config(self.kubeconfig, self.context, **search)
        except SourceError as err:
            health = ApiHealth.not_configured(err)
            self._failure = (health.state, health.message)
            log.info("API not configured: %s", err)
            return False
        self._prober.start()
        try:
            self.node_name = self.client.resolve_node_name(self.node_flag, hostname=socket.gethostname()).name
        except SourceError as err:
            # The API answered but knows no node by this host's names: watch under the host name anyway, so the
            # header says so and --node can fix it.
            log.warning("node name: %s", err)
            self.node_name = self.node_flag or socket.gethostname()
        from n9s.sources.kube.watch import PodWatcher

        self.watcher = PodWatcher(self.client, self.node_name, on_event=self._on_pod_event,
                                  watch_timeout_seconds=self.watch_timeout_s).start()
        return True

    def _on_pod_event(self, event: Any) -> None:
        self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            try:
                self.on_change()
            except Exception:  # noqa: BLE001 - a UI callback must not kill the watcher thread
                log.exception("API change callback failed")

    def _probe_loop(self) -> None:
        """Ask for the server's version every probe_s: its health (not answering, not JSON, ...) follows from the
        answer. When it answers again after a silence, the pod watch starts over: a watch held open through the
        silence may be dead without knowing it."""
        from n9s.sources.errors import SourceError
        from n9s.sources.kube.health import OK

        while not self._stop.wait(self.probe_s):
            client = self.client
            before = client.health.state
            try:
                client.version(read_timeout=self.probe_timeout_s)
            except SourceError as err:
                log.debug("API probe: %s", err)
            except Exception:  # noqa: BLE001 - the probe must go on
                log.exception("API probe failed")
            after = client.health.state
            if after != before:
                if after == OK and self.watcher is not None:
                    self.watcher.resync()
                self._changed()

    def _node_missing(self) -> str:
        """The header's line for a node name the API does not know, with some names it does know."""
        from n9s.sources.errors import SourceError

        line = f"API: no node named {self.node_name}"
        try:
            names = sorted(n.name for n in self.client.list_nodes())
        except SourceError:
            return f"{line}: set --node"
        if not names:
            return f"{line} (the API lists no nodes)"
        shown = ", ".join(names[:NODES_NAMED]) + (", …" if len(names) > NODES_NAMED else "")
        return f"{line} (nodes: {shown}): set --node"

    def _run(self) -> None:
        try:
            if not self._connect():
                return
        except Exception as err:  # noqa: BLE001 - the UI shows it; the runtime view goes on
            log.exception("API connection failed")
            self._failure = ("unreachable", f"API: {err}")
            return
        from n9s.sources.errors import NotFound, SourceError

        while not self._stop.is_set():
            try:
                try:
                    self._node = self.client.get_node(self.node_name)
                    self._no_node = ""
                except NotFound:
                    self._node = None
                    self._no_node = self._node_missing()
                    log.warning("%s", self._no_node)
                self._events = tuple(self.client.node_events(self.node_name, self.watcher.pods().values(), limit=200))
            except SourceError as err:
                log.debug("node/events fetch failed: %s", err)
            except Exception:  # noqa: BLE001
                log.exception("node/events fetch failed")
            self._changed()
            self._poke.wait(self.poll_s)
            self._poke.clear()

    # ---- calls the action layer and the log view make ----
    def _client(self) -> Any:
        from n9s.sources.errors import Unreachable

        if self.client is None:
            state, message = self._failure or ("connecting", "API: connecting…")
            raise Unreachable(message.removeprefix("API: ") if state != "connecting" else "the API is not connected yet")
        return self.client

    def delete_pod(self, namespace: str, name: str, grace_period_seconds: int | None = None, uid: str | None = None):
        result = self._client().delete_pod(namespace, name, grace_period_seconds=grace_period_seconds, uid=uid)
        self.refresh_soon()
        return result

    def pod_logs(self, namespace: str, name: str, **options: Any):
        return self._client().pod_logs(namespace, name, **options)

    # ---- what a refresh reads ----
    def snapshot(self) -> ApiSnapshot:
        from n9s.sources.kube.health import NOT_ANSWERING

        client = self.client
        if self.watcher is None:
            if self._failure is not None:
                state, message = self._failure
                return ApiSnapshot(state, message, None)
            if client is None or client.health.ok:
                return ApiSnapshot("connecting", "API: connecting…", None)
        health = client.health
        synced = self.watcher is not None and self.watcher.synced.is_set()
        state, message = health.state, health.message
        if state == NOT_ANSWERING:
            waited = max(0, int(time.time() - health.since.timestamp()))
            message = f"API: not answering for {waited}s (server {client.target.server})"
        elif state == "ok" and self._no_node:
            state, message = "no_node", self._no_node
        elif state == "ok" and not synced:
            # Connected, but the first pod list has not come back (a slow server): not "ok" yet.
            state, message = "connecting", f"API: waiting for the first pod list of node {self.node_name}…"
        if self.watcher is None:
            return ApiSnapshot(state, message, _epoch(health.since), node_name=self.node_name)
        pods = {p.runtime_uid: p for p in self.watcher.pods().values()}
        return ApiSnapshot(
            state=state,
            message=message,
            since=_epoch(health.since),
            node_name=self.node_name,
            synced=synced,
            pods=pods,
            node=self._node,
            events=self._events,
        )
