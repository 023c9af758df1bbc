"""Keep this node's pods in sync with the API server from a plain background thread.

List with `spec.nodeName=<node>`, then watch from the list's resourceVersion with bookmarks.
A 410 Gone (too old resourceVersion, as an HTTP status or an ERROR event) means relist at once;
other failures back off exponentially (capped) and retry the watch from the last known version.
A relist is compared with what we had, so consumers get the ADDED / MODIFIED / DELETED they missed,
followed by SYNCED with the full set: applying the events alone always ends in the right state.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from n9s.sources.errors import CallFailed, SourceError
from n9s.sources.kube.client import Expired, KubeClient, WatchStream
from n9s.sources.kube.health import ApiHealth
from n9s.sources.kube.objects import ApiPod, pod_from_manifest

log = logging.getLogger("n9s.kube.watch")

ADDED = "ADDED"
MODIFIED = "MODIFIED"
DELETED = "DELETED"
SYNCED = "SYNCED"  # after every (re)list: `pods` holds the whole set
HEALTH = "HEALTH"  # the API health changed: `health`


@dataclass(frozen=True)
class PodEvent:
    kind: str
    pod: ApiPod | None = None
    pods: tuple[ApiPod, ...] = ()
    health: ApiHealth | None = None


class Backoff:
    """Exponential delays: initial, initial*factor, ... capped at `cap`; reset() after a success."""

    def __init__(self, initial: float = 0.5, factor: float = 2.0, cap: float = 30.0) -> None:
        if initial <= 0 or factor < 1 or cap < initial:
            raise ValueError("backoff needs initial > 0, factor >= 1, cap >= initial")
        self.initial, self.factor, self.cap = initial, factor, cap
        self._next = initial

    def next(self) -> float:
        delay = self._next
        self._next = min(self._next * self.factor, self.cap)
        return delay

    def reset(self) -> None:
        self._next = self.initial


class PodWatcher:
    """Watches the pods of one node. start() returns at once; events arrive on `on_event` or `events`.

    `on_event` is called from the watcher thread and must be quick and thread-safe (post a message,
    put on a queue). Without it, events are put on `self.events`, a queue.Queue.
    """

    def __init__(
        self,
        client: KubeClient,
        node: str,
        *,
        on_event: Callable[[PodEvent], None] | None = None,
        watch_timeout_seconds: int = 300,
        read_timeout: float | None = None,
        backoff: Backoff | None = None,
        name: str = "n9s-pod-watch",
    ) -> None:
        self.client = client
        self.node = node
        self.events: queue.Queue[PodEvent] = queue.Queue()
        self._sink = on_event or self.events.put
        self.watch_timeout_seconds = max(1, int(watch_timeout_seconds))
        # The server ends the watch after watch_timeout_seconds; a silent peer is caught a bit later.
        self.read_timeout = read_timeout if read_timeout is not None else self.watch_timeout_seconds + 15.0
        self.backoff = backoff or Backoff()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._stop = threading.Event()
        self._resync = threading.Event()
        self._lock = threading.Lock()
        self._pods: dict[str, ApiPod] = {}
        self._stream: WatchStream | None = None
        self._resource_version = ""
        self._last_health: ApiHealth | None = None
        self._watch_progressed = False  # the current watch delivered an event or a bookmark
        self.synced = threading.Event()  # set after the first successful list
        self.relists = 0
        self.watches = 0

    # ------------------------------------------------------------ public

    def start(self) -> PodWatcher:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """End the thread: an open watch is cut at once; a list in flight ends within the client's
        read timeout (the thread is a daemon, so it never holds up interpreter exit)."""
        self._stop.set()
        with self._lock:
            stream = self._stream
        if stream is not None:
            stream.close()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def resync(self) -> None:
        """Drop the watch under way and list again: after the server went silent for a while, a watch kept open
        through the silence may be dead without knowing it, and what changed meanwhile is learnt at once."""
        self._resync.set()
        with self._lock:
            stream = self._stream
        if stream is not None:
            stream.close()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def pods(self) -> dict[str, ApiPod]:
        """The current pods by uid (a copy)."""
        with self._lock:
            return dict(self._pods)

    @property
    def resource_version(self) -> str:
        with self._lock:
            return self._resource_version

    @property
    def health(self) -> ApiHealth:
        return self.client.health

    def __enter__(self) -> PodWatcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ thread

    def _emit(self, event: PodEvent) -> None:
        try:
            self._sink(event)
        except Exception:
            log.exception("pod event consumer failed")

    def _emit_health(self) -> None:
        health = self.client.health
        last = self._last_health
        if last is None or (health.state, health.message) != (last.state, last.message):
            self._last_health = health
            self._emit(PodEvent(HEALTH, health=health))

    def _run(self) -> None:
        resource_version: str | None = None
        expired_in_a_row = 0
        while not self._stop.is_set():
            started = time.monotonic()
            if self._resync.is_set():
                self._resync.clear()
                resource_version = None
            try:
                if resource_version is None:
                    resource_version = self._relist()
                    self._emit_health()
                # The backoff resets only once a watch has run its course: a list that works
                # followed by a watch that fails still counts as failing.
                resource_version, delivered = self._watch(resource_version)
                expired_in_a_row = 0
                self.backoff.reset()
                if not delivered and time.monotonic() - started < 0.2:
                    # A watch the server ends at once would otherwise spin.
                    self._stop.wait(self.backoff.next())
            except Expired:
                log.info("resourceVersion %s expired, relisting", resource_version)
                resource_version = None
                expired_in_a_row += 1
                if expired_in_a_row > 1:  # relist at once the first time only, never in a tight loop
                    self._stop.wait(self.backoff.next())
            except SourceError as e:
                if self._stop.is_set():
                    break
                log.info("pod watch: %s", e)
                self._emit_health()
                if self._watch_progressed:  # a watch that worked for a while then broke: start over
                    self._watch_progressed = False
                    self.backoff.reset()
                self._stop.wait(self.backoff.next())
            except Exception:
                if self._stop.is_set():
                    break
                log.exception("pod watch failed unexpectedly; relisting")
                resource_version = None
                self._stop.wait(self.backoff.next())
            self._emit_health()

    def _relist(self) -> str:
        listing = self.client.list_node_pods(self.node)
        fresh = {p.uid: p for p in listing.pods}
        with self._lock:
            old = self._pods
            self._pods = fresh
            self._resource_version = listing.resource_version
        self.relists += 1
        for uid, pod in old.items():
            if uid not in fresh:
                self._emit(PodEvent(DELETED, pod=pod))
        for uid, pod in fresh.items():
            before = old.get(uid)
            if before is None:
                self._emit(PodEvent(ADDED, pod=pod))
            elif before.resource_version != pod.resource_version:
                self._emit(PodEvent(MODIFIED, pod=pod))
        self._emit(PodEvent(SYNCED, pods=tuple(fresh.values())))
        self.synced.set()
        return listing.resource_version

    def _watch(self, resource_version: str) -> tuple[str, bool]:
        """Apply one watch request's events; return the last resourceVersion seen and whether any arrived."""
        stream = self.client.watch_node_pods(
            self.node, resource_version, timeout_seconds=self.watch_timeout_seconds, read_timeout=self.read_timeout
        )
        with self._lock:
            self._stream = stream
        self.watches += 1
        self._watch_progressed = False
        self._emit_health()
        delivered = False
        try:
            for event in stream:
                if self._stop.is_set():
                    break
                kind = event.get("type")
                obj = found if isinstance(found := event.get("object"), dict) else {}
                metadata = found if isinstance(found := obj.get("metadata"), dict) else {}
                if kind == "ERROR":
                    code = obj.get("code")
                    message = obj.get("message") or "watch error"
                    if code == 410 or obj.get("reason") in ("Expired", "Gone"):
                        raise Expired(str(message))
                    raise CallFailed(f"watch pods: {message}")
                new_version = str(metadata.get("resourceVersion") or resource_version)
                self._watch_progressed = True
                if kind == "BOOKMARK":
                    resource_version = new_version
                    self._set_version(resource_version)
                    continue
                if kind not in (ADDED, MODIFIED, DELETED):
                    log.info("ignoring watch event of type %r", kind)
                    continue
                pod = pod_from_manifest(obj)
                with self._lock:
                    if kind == DELETED:
                        self._pods.pop(pod.uid, None)
                    else:
                        self._pods[pod.uid] = pod
                    self._resource_version = resource_version = new_version
                delivered = True
                self._emit(PodEvent(kind, pod=pod))
        finally:
            with self._lock:
                self._stream = None
            stream.close()
        return resource_version, delivered

    def _set_version(self, version: str) -> None:
        with self._lock:
            self._resource_version = version
