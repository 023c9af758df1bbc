"""One refresh: ask the sources, join what they say, return a new NodePicture.

The work is in n9s.model.collect, one part per concern: listing (when to ask the runtime for its lists), known
(what is learnt once per container), sampling (cgroup figures, rates, history), assembly (rows and pods, each kept
while its inputs are the very same), storage (snapshots, images) and runtime_facts. The collector runs them in
order, keeps the health of each source and the last picture (shown as stale while the runtime is away), and holds
the lock that keeps a refresh and the background status calls apart.
"""
from __future__ import annotations

import socket
import threading
import time
from dataclasses import replace
from typing import Any, Callable

from n9s.sources.errors import NotAnswering, PermissionDenied, SourceError, Unreachable
from n9s.sources.procs import ProcessRow, process_tree
from n9s.model.collect.assembly import Assembly
from n9s.model.collect.health import HealthBook
from n9s.model.collect.known import EXIT_SETTLE_S, KnownContainers
from n9s.model.collect.listing import (
    LISTS_MAX_AGE_S,
    LISTS_SETTLE_S,
    PROBE_TIMEOUT_CAP_S,
    PROBE_TIMEOUT_MAX_S,
    PROBE_TIMEOUT_MIN_S,
    TASKS_MAX_AGE_S,
    Listing,
    probe_timeout_for,
)
from n9s.model.collect.runtime_facts import RuntimeFacts
from n9s.model.collect.sampling import HISTORY, RATE_MAX_GAP_NS, Sampler, figures_from
from n9s.model.collect.sources import Sources
from n9s.model.collect.storage import Storage
from n9s.model.kube_join import join_api
from n9s.model.picture import (
    NOT_ANSWERING,
    OK,
    STALE,
    UNAVAILABLE,
    UNREACHABLE,
    Figures,
    NodeInfo,
    NodePicture,
    PodRow,
    SourceHealth,
    TaskRow,
)
from n9s.model.exec_index import ExecIndex
from n9s.model.seams import CgroupSource, ContainerdSource, PictureSource, RuntimeSource

__all__ = [
    "EXIT_SETTLE_S", "HISTORY", "LISTS_MAX_AGE_S", "LISTS_SETTLE_S", "PROBE_TIMEOUT_CAP_S", "PROBE_TIMEOUT_MAX_S",
    "PROBE_TIMEOUT_MIN_S", "RATE_MAX_GAP_NS", "TASKS_MAX_AGE_S", "BackgroundRefresh", "Collector", "figures_from",
    "probe_timeout_for",
]


class Collector(PictureSource):
    api: Any = None  # ApiSide: the Kubernetes API's view, or None

    def __init__(
        self,
        cri: RuntimeSource,
        containerd: ContainerdSource | None = None,
        cgroups: CgroupSource | None = None,
        *,
        pods_dir: str = "/var/log/pods",
        hostname: str | None = None,
        clock: Callable[[], float] = time.time,
        api: Any = None,
    ) -> None:
        self.api = api  # ApiSide: the Kubernetes API's view, or None
        self.clock = clock
        self._sources = Sources(cri, containerd, cgroups)
        self._lock = threading.Lock()
        self._health = HealthBook(clock)
        self._listing = Listing(self._sources, self._health, clock)
        self._known = KnownContainers(self._sources, pods_dir)
        self._sampler = Sampler(self._sources)
        self._assembly = Assembly(self._sources, self._listing, self._known, self._sampler)
        self._storage = Storage(self._sources, self._health)
        self._facts = RuntimeFacts(self._sources, pods_dir=pods_dir, hostname=hostname or socket.gethostname())
        self.exec_index = ExecIndex(containerd) if containerd is not None else None
        self._last: NodePicture | None = None
        self._local: Any = None  # LocalView, made when the runtime cannot be used at all

    # ---- the sources, shared by every part ----
    @property
    def cri(self) -> RuntimeSource:
        return self._sources.cri

    @cri.setter
    def cri(self, value: RuntimeSource) -> None:
        self._sources.cri = value

    @property
    def containerd(self) -> ContainerdSource | None:
        return self._sources.containerd

    @containerd.setter
    def containerd(self, value: ContainerdSource | None) -> None:
        self._sources.containerd = value

    @property
    def cgroups(self) -> CgroupSource | None:
        return self._sources.cgroups

    @cgroups.setter
    def cgroups(self, value: CgroupSource | None) -> None:
        self._sources.cgroups = value

    @property
    def pods_dir(self) -> str:
        return self._known.pods_dir

    @property
    def hostname(self) -> str:
        return self._facts.hostname

    # ---- what the event stream and the app tell, and ask ----
    @property
    def events_live(self) -> bool:
        """Set by whoever reads containerd's event stream: while it is live, a quiet node is not listed."""
        return self._listing.events_live

    @events_live.setter
    def events_live(self, live: bool) -> None:
        self._listing.events_live = live

    @property
    def lists_read(self) -> int:
        """How many times CRI was listed (tests and the bench read it)."""
        return self._listing.lists_read

    @property
    def health(self) -> tuple[SourceHealth, ...]:
        return self._health.all()

    def note_task_event(self) -> None:
        """A task or container event arrived (or the stream that brings them broke): the next refreshes read the
        task list and CRI's lists again."""
        self._listing.note_event()

    def note_exec_event(self, topic: str, container_id: str) -> None:
        """A task event: the execs of that container may have changed."""
        if self.exec_index is not None:
            self.exec_index.note_event(topic, container_id)

    def execs_of(self, container_id: str) -> tuple:
        """The exec processes of one running container (the container detail)."""
        if self.exec_index is None:
            return ()
        return self.exec_index.of(container_id, self.events_live)

    @property
    def resample_soon(self) -> bool:
        """The last refresh showed running containers without a CPU rate (first sight, or back on screen after
        a pause): a second sample soon fills them in. Or a task or container event came less than LISTS_SETTLE_S
        ago: CRI may record the change only after the refresh the event asked for, and the next one must come soon,
        not one interval later."""
        return self._sampler.missing_rates or self._listing.settling()

    @property
    def status_pending(self) -> int:
        """Running containers whose CRI status (log path, cgroupsPath) has not been fetched yet."""
        return self._known.status_pending

    def fill_status(self, *, budget_s: float = 5.0) -> int:
        """Fetch the CRI status the refreshes deferred (run it after a picture is shown, or between a dump's two
        samples). Stops after ``budget_s``; returns how many containers were filled."""
        return self._known.fill_status(self._lock, budget_s=budget_s)

    def list_tasks(self) -> None:
        """Read the task list now (a dump reads it between its two samples); the next refresh joins it."""
        with self._lock:
            self._listing.list_tasks_if_due(True, self.clock())

    def prefetch(self, *, snapshots: bool = False, images: bool = False) -> None:
        """Read now the lists the next refresh's snapshot and image joins need (a dump reads them between its two
        samples, so the second is quick); the next refresh uses them once. Failures are left for that refresh."""
        with self._lock:
            self._storage.prefetch(snapshots=snapshots, images=images, snapshotter=self._facts.snapshotter)

    def snapshot_usage(self, keys: list[str], snapshotter: str, *, budget_s: float = 5.0) -> int:
        """Fill the usage cache for snapshot keys not measured yet (costly; run it in a background worker)."""
        return self._storage.measure(keys, snapshotter, budget_s=budget_s)

    def full_figures(self, container_id: str) -> Figures | None:
        """Every cgroup figure of a placed container (the detail view), its CPU rate against the last refresh's
        sample; None when it is not placed or its cgroup cannot be read."""
        known = self._known.get(container_id)
        if known is None or known.location is None:
            return None
        return self._sampler.full_figures(container_id, known.location)

    def processes(self, pid: int) -> list[ProcessRow]:
        """The runtime's tasks are processes of this machine: their tree as /proc shows it."""
        return process_tree(pid)

    # ---- the refresh ----
    def refresh(self, *, snapshots: bool = False, images: bool = False, tasks: bool = False,
                container_stats: bool = True, pod_stats: bool = True,
                tasks_max_age_s: float | None = None, relist: bool = False,
                interval_s: float | None = None) -> NodePicture:
        """Build a new picture. Never raises for a source failure: the failing part is marked instead.
        ``tasks`` asks for a fresh task list even when no event said it changed (the tasks view).
        ``container_stats=False`` (no container list on screen): the cgroups of containers inside a pod cgroup
        are not read (their rows keep only the memory limit of their last read); pods get every list figure from
        their pod cgroup. ``pod_stats=False`` (no pod list on screen): pod cgroups are not read. A view that
        shows them again reads them again (see ``resample_soon``). ``tasks_max_age_s``: a task list read at most
        this long ago is used again (a dump's second sample, one interval after the first). ``relist``: read CRI's
        lists even if no event said they changed (the user asked for a refresh). ``interval_s``: the refresh
        interval, which sets how long the runtime may take to answer (see probe_timeout_for)."""
        with self._lock:
            return self._refresh(snapshots=snapshots, images=images, tasks=tasks, tasks_max_age_s=tasks_max_age_s,
                                 relist=relist, probe_timeout_s=self._listing.probe_timeout(interval_s),
                                 containers_hidden=not container_stats, pods_hidden=not pod_stats)

    def _refresh(self, *, snapshots: bool, images: bool, tasks: bool, tasks_max_age_s: float | None,
                 relist: bool, probe_timeout_s: float, containers_hidden: bool, pods_hidden: bool) -> NodePicture:
        now = self.clock()
        try:
            self._listing.probe(probe_timeout_s)
            sandboxes, containers = self._listing.runtime_lists(now, relist)
        except SourceError as err:
            return self._runtime_failed(err, now)
        self._sampler.new_refresh()
        was = self._health.get("runtime")
        self._health.set("runtime", OK)
        # The first picture goes without a task list (containerd would ask every shim first); a runtime that
        # comes back gets one.
        want_tasks = tasks or (was is not None and was.state != OK)

        task_list = self._listing.tasks(want_tasks, now, tasks_max_age_s, first_picture=self._last is None)
        rows = self._assembly.rows(containers, task_list, containers_hidden)
        pods = self._assembly.pods(sandboxes, rows, with_cgroups=self.cgroups is not None and not pods_hidden,
                                   limits_due=self._listing.listed_now)
        pods, api = self._join_api(pods)
        node = self._facts.node(now)
        task_rows = self._assembly.task_rows(task_list, rows, sandboxes)
        execs = self._exec_rows(task_rows) if tasks else None
        snaps = self._storage.snapshots(rows, node.snapshotter) if snapshots else None
        imgs = self._storage.images(rows) if images else None
        self._storage.done_refresh()

        picture = NodePicture(
            taken_at=now,
            node=node,
            pods=tuple(pods),
            containers=tuple(rows),
            tasks=task_rows,
            execs=execs,
            snapshots=snaps,
            images=imgs,
            health=self.health,
            api=api,
        )
        self._last = picture
        return picture

    def _exec_rows(self, task_rows: tuple[TaskRow, ...]) -> tuple | None:
        if self.exec_index is None:
            return None
        running = [t.container_id for t in task_rows if t.status == "RUNNING" and t.kind != "sandbox"]
        return self.exec_index.rows(running, self.events_live)

    def _runtime_failed(self, err: SourceError, now: float) -> NodePicture:
        if isinstance(err, Unreachable) and not isinstance(err, NotAnswering):
            # A fresh channel on the next try: grpc's own reconnect backoff can grow far beyond our 5 s budget.
            # (A runtime that takes calls and does not answer keeps its connection: a new one would not help.)
            self.cri.reconnect()
            if self.containerd is not None:
                self.containerd.reconnect()
        if isinstance(err, NotAnswering):
            self._health.set("runtime", NOT_ANSWERING, str(err), since=now)
        else:
            self._health.set("runtime", UNAVAILABLE if isinstance(err, PermissionDenied) else UNREACHABLE, str(err))
        if self._last is None:
            return self._local_picture(now)  # never reached the runtime: show what the node tells without it
        return self._stale_picture(now)

    def _join_api(self, pods: list[PodRow]) -> tuple[list[PodRow], Any]:
        if self.api is None:
            return pods, None
        snapshot = self.api.snapshot()
        state = OK if snapshot.ok else (STALE if snapshot.state == "connecting" else UNREACHABLE)
        if snapshot.state in ("not_configured", "no_node"):
            state = UNAVAILABLE
        old = self._health.get("api")
        since = snapshot.since or (old.since if old is not None and old.state == state else self.clock())
        self._health.put(SourceHealth("api", state, snapshot.message, since))
        return join_api(pods, snapshot), snapshot

    def _local_picture(self, now: float) -> NodePicture:
        from n9s.model.degraded import LocalView

        if self._local is None:
            self._local = LocalView(self.pods_dir, self.cgroups, self._sampler.figures_from)
        pods, containers = self._local.rows()
        pods, api = self._join_api(pods)
        return NodePicture(taken_at=now, node=self._facts.known_node(), pods=tuple(pods),
                           containers=tuple(containers), health=self.health, api=api, local_only=True)

    def _stale_picture(self, now: float) -> NodePicture:
        if self.api is not None:
            self._join_api([])  # keep the API's health current while the runtime is away
        last = self._last
        if last is None:
            return NodePicture(taken_at=now, node=NodeInfo(hostname=self.hostname), health=self.health, stale=True)
        return replace(last, health=self.health, stale=True)


class BackgroundRefresh:
    """One refresh started in a thread, so the first picture is built while the UI is still being imported."""

    def __init__(self, collector: PictureSource, **kwargs: Any) -> None:
        self._picture: NodePicture | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(collector, kwargs), name="n9s-first-refresh",
                                        daemon=True)
        self._thread.start()

    def _run(self, collector: PictureSource, kwargs: dict[str, Any]) -> None:
        try:
            self._picture = collector.refresh(**kwargs)
        except BaseException as err:  # handed to whoever waits for the result
            self._error = err

    def result(self) -> NodePicture:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._picture is not None
        return self._picture
