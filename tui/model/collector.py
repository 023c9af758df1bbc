"""One refresh: ask the sources, join what they say, return a new NodePicture.

The collector keeps only what joins across refreshes need: the previous cgroup samples (for rates), a short
history per container, the facts about a container that never change (its log path, cgroup, exit code once
exited), and the health of each source. A refresh costs the cgroup files of the rows on screen plus, when something
may have changed, the list calls (sandboxes, containers, tasks); with containerd's event stream live, a quiet node
is not listed again until an event arrives (or the lists grow old). One RPC per container happens only when a
container cannot be placed from what the lists say.
"""
from __future__ import annotations

import dataclasses
import operator
import os
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from typing import Any, Callable, NamedTuple

from ..sources.cgroups import CgroupStats
from ..sources.cgroups import cpu_cores as cgroup_cpu_cores
from ..sources.errors import NotAnswering, PermissionDenied, SourceError, Unreachable
from ..sources.log_paths import kubelet_log_name, kubelet_pod_log_dir
from .joins import build_pods, container_restarts, with_pod_cgroup
from .kube_join import join_api
from .picture import (
    NOT_ANSWERING,
    OK,
    STALE,
    UNAVAILABLE,
    UNREACHABLE,
    ContainerRow,
    Figures,
    ImageRow,
    NodeInfo,
    NodePicture,
    SnapshotRow,
    SourceHealth,
    TaskRow,
)
from .exec_index import ExecIndex
from .node_facts import node_info
from .snapshots import image_snapshot_tops, join_images, join_snapshots

HISTORY = 60
# A CPU rate needs two samples at most this far apart (monotonic ns).
RATE_MAX_GAP_NS = 15 * 1_000_000_000
# With containerd's event stream live, the task list is read again only when a task or container event says it
# changed (containerd asks every shim for its state on each Tasks.List), and at least this often as a safety net.
TASKS_MAX_AGE_S = 30.0
# CRI records an exit only after it has deleted the task, tens of milliseconds after containerd announces the exit;
# the refresh that announcement triggers asks CRI again for up to this long, so it shows the exit, not RUNNING.
EXIT_SETTLE_S = 1.0
# With the event stream live, CRI's sandbox and container lists are read again only after a task or container
# event (every refresh for LISTS_SETTLE_S after it: CRI updates its own store a little after containerd announces
# a change), and at least every LISTS_MAX_AGE_S as a safety net. Nothing in those lists changes without such an
# event; re-reading them on every refresh was most of a quiet node's refresh cost.
LISTS_SETTLE_S = 5.0
LISTS_MAX_AGE_S = 30.0
# Every refresh first asks the runtime for its version with a short deadline: on a quiet node nothing else is
# asked of it for up to LISTS_MAX_AGE_S (cgroup figures are read from files), so a hung runtime would go unseen.
# Half a refresh interval within these bounds: a hang shows within two intervals, a busy moment is not a hang.
PROBE_TIMEOUT_MIN_S = 0.5
PROBE_TIMEOUT_MAX_S = 2.0
# After each unanswered probe the next one waits twice as long, up to this: a runtime that answers slowly (a
# loaded node) still gets a refresh through now and then instead of being taken for a hung one.
PROBE_TIMEOUT_CAP_S = 5.0


def probe_timeout_for(interval_s: float | None, unanswered: int = 0) -> float:
    """How long a refresh waits for the runtime's version before it says the runtime is not answering, after
    ``unanswered`` probes in a row got no answer."""
    first = PROBE_TIMEOUT_MAX_S if interval_s is None else min(max(interval_s / 2, PROBE_TIMEOUT_MIN_S),
                                                               PROBE_TIMEOUT_MAX_S)
    return min(first * 2 ** min(unanswered, 8), max(first, PROBE_TIMEOUT_CAP_S))


@dataclass
class _Known:
    """What is learned once about a container and kept until it disappears."""

    log_path: str = ""
    cgroups_path: str = ""
    exit_code: int | None = None
    reason: str = ""
    finished_at_ns: int = 0
    pid: int | None = None
    location: Any = None
    status_fetched_for_state: str = ""
    exit_settle_tried: bool = False
    # (limit bytes, unlimited) from the last list read: kept while the container's cgroup is not read
    memory_limit: tuple[int | None, bool] | None = None
    cgroup_status_asked: bool = False  # its status was asked for the OCI cgroupsPath (placed no other way)
    # (listing, task, _row_facts, row) of the last row built without reading a cgroup: the next refresh with the
    # same listing and task (a quiet node, the containers off screen) gives that row again
    row_memo: tuple[Any, Any, tuple, ContainerRow] | None = None


class _PodsMemo(NamedTuple):
    """The pods of the last refresh and what they were built from."""

    sandboxes: list[Any]
    rows: list[ContainerRow]
    pods: list[Any]
    parts: list[tuple[list[ContainerRow], Figures]] | None  # per pod: current containers, their summed figures

    def built_from(self, sandboxes: list[Any], rows: list[ContainerRow]) -> bool:
        """The very listing and container row objects of that refresh (a quiet node)."""
        return (self.sandboxes is sandboxes and len(self.rows) == len(rows)
                and all(a is b for a, b in zip(self.rows, rows)))


class _RowsMemo(NamedTuple):
    """A refresh's container rows, kept when every row came from its memo (a quiet node)."""

    containers: list[Any]  # the very listing
    tasks: list[Any]  # the very task list
    state: tuple[bool, int]  # (containers hidden, how many times a container's facts had been learnt)
    rows: list[ContainerRow]


def _row_facts(known: _Known) -> tuple:
    """What a container row shows from _Known (status learned later, the cgroup placed, the last memory limit)."""
    return (known.log_path, known.exit_code, known.reason, known.finished_at_ns, known.pid, id(known.location),
            known.memory_limit)


# Everything a light sample says but when it was taken: two equal keys are two samples of an idle cgroup.
_sample_key = operator.attrgetter(*(f.name for f in dataclasses.fields(CgroupStats) if f.name != "timestamp_ns"))


class _Loose:
    """Any stats-like object read as a CgroupStats: a figure it lacks is None."""

    def __init__(self, stats: Any) -> None:
        self._stats = stats

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stats, name, None)


_PSI_FIELDS = tuple((f"{res}.{kind}", f"psi_{res}_{kind}_avg10") for res in ("cpu", "memory", "io")
                    for kind in ("some", "full"))


def figures_from(stats: Any, prev: Any, cpu_cores: Callable[[Any, Any], float | None]) -> Figures:
    if stats is None:
        return Figures()
    s = stats if isinstance(stats, CgroupStats) else _Loose(stats)
    throttled = False
    if prev is not None and s.cpu_nr_throttled is not None and getattr(prev, "cpu_nr_throttled", None) is not None:
        throttled = s.cpu_nr_throttled > prev.cpu_nr_throttled
    psi = {key: value for key, name in _PSI_FIELDS if (value := getattr(s, name)) is not None}
    return Figures(
        cpu_cores=cpu_cores(prev, stats),
        cpu_usage_ns=s.cpu_usage_ns,
        cpu_nr_periods=s.cpu_nr_periods,
        cpu_nr_throttled=s.cpu_nr_throttled,
        cpu_throttled_ns=s.cpu_throttled_ns,
        throttled_recently=throttled,
        memory_working_set_bytes=s.memory_working_set_bytes,
        memory_usage_bytes=s.memory_usage_bytes,
        memory_rss_bytes=s.memory_rss_bytes,
        memory_cache_bytes=s.memory_cache_bytes,
        memory_limit_bytes=s.memory_limit_bytes,
        memory_unlimited=bool(s.memory_unlimited),
        pids_current=s.pids_current,
        pids_max=s.pids_max,
        pids_unlimited=bool(s.pids_unlimited),
        oom_kills=s.oom_kills,
        io_read_bytes=s.io_read_bytes,
        io_write_bytes=s.io_write_bytes,
        psi=psi,
    )


class Collector:
    def __init__(
        self,
        cri: Any,
        containerd: Any = None,
        cgroups: Any = None,
        *,
        pods_dir: str = "/var/log/pods",
        hostname: str | None = None,
        clock: Callable[[], float] = time.time,
        api: Any = None,
    ) -> None:
        self.api = api  # ApiSide: the Kubernetes API's view, or None
        self.cri = cri
        self.containerd = containerd
        self.cgroups = cgroups
        self.pods_dir = pods_dir
        self.hostname = hostname or socket.gethostname()
        self.clock = clock
        self._lock = threading.Lock()
        self._known: dict[str, _Known] = {}
        self._prev_stats: dict[str, Any] = {}
        self._prev_pod_stats: dict[str, Any] = {}  # by sandbox id
        # sandbox id -> (its pod cgroup sample but the time, the containers' sum, the figures made of them)
        self._pod_figures: dict[str, tuple[Any, Figures, Figures]] = {}
        self._cpu_hist: dict[str, deque[float]] = {}
        self._mem_hist: dict[str, deque[int]] = {}
        self._health: dict[str, SourceHealth] = {}
        self._last: NodePicture | None = None
        self._static_node: dict[str, Any] = {}
        self._snapshot_usage: dict[str, tuple[int, int]] = {}
        self._content_labels: dict[str, dict[str, str]] = {}
        self._cpu_cores = cgroup_cpu_cores
        self._task_cache: list[Any] | None = None
        self._tasks_listed_at = 0.0
        self._tasks_dirty = True
        self._tasks_fresh = False  # the task list was read in this refresh
        self.events_live = False  # set by whoever reads containerd's event stream
        self.exec_index = ExecIndex(containerd) if containerd is not None else None
        self._lists: tuple[list[Any], list[Any]] | None = None  # the last (sandboxes, containers) CRI listed
        self._lists_read_at = 0.0
        self._event_at = 0.0  # when the last task or container event arrived (clock)
        self.lists_read = 0  # how many times CRI was listed (tests and the bench read it)
        self._local: Any = None  # LocalView, made when the runtime cannot be used at all
        self._containers_hidden = False
        self._pods_hidden = False
        self._task_rows: tuple[Any, Any, tuple[TaskRow, ...]] = (None, None, ())
        self._prefetched: dict[str, Any] = {}  # raw lists read ahead for the next refresh (see prefetch)
        self._missing_rates = False  # the last refresh had running containers with no CPU rate yet
        self._status_pending: set[str] = set()
        self._pods_memo: _PodsMemo | None = None
        self._listed_now = False  # CRI was listed in this refresh
        self._row_hits = 0  # container rows answered from their memo (counted, to know a whole listing was)
        self._known_changes = 0  # bumped whenever a container's facts are learnt outside a row's making
        self._rows_memo: _RowsMemo | None = None
        self._unanswered = 0  # version probes in a row the runtime did not answer in time

    # ---- health bookkeeping ----
    def _set_health(self, name: str, state: str, message: str = "", since: float | None = None) -> None:
        """``since``: when the state began, if known better than now."""
        old = self._health.get(name)
        if old is not None and old.state == state:
            since = old.since
        elif since is None:
            since = self.clock()
        self._health[name] = SourceHealth(name, state, message, since)

    @property
    def health(self) -> tuple[SourceHealth, ...]:
        return tuple(self._health.values())

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
            self._containers_hidden = not container_stats
            self._pods_hidden = not pod_stats
            return self._refresh(snapshots=snapshots, images=images, tasks=tasks, tasks_max_age_s=tasks_max_age_s,
                                 relist=relist, probe_timeout_s=probe_timeout_for(interval_s, self._unanswered))

    def note_task_event(self) -> None:
        """A task or container event arrived (or the stream that brings them broke): the next refreshes read the
        task list and CRI's lists again."""
        self._tasks_dirty = True
        self._event_at = self.clock()

    def _probe(self, timeout_s: float) -> None:
        """The runtime answers a cheap call in time, or NotAnswering is raised."""
        try:
            self.cri.version(timeout=timeout_s)
        except NotAnswering:
            self._unanswered += 1
            raise
        self._unanswered = 0

    def note_exec_event(self, topic: str, container_id: str) -> None:
        """A task event: the execs of that container may have changed."""
        if self.exec_index is not None:
            self.exec_index.note_event(topic, container_id)

    def execs_of(self, container_id: str) -> tuple:
        """The exec processes of one running container (the container detail)."""
        if self.exec_index is None:
            return ()
        return self.exec_index.of(container_id, self.events_live)

    def _runtime_lists(self, now: float, relist: bool) -> tuple[list[Any], list[Any]]:
        """CRI's sandboxes and containers: listed again unless the event stream vouches that nothing changed."""
        lists = self._lists
        self._listed_now = False
        if (lists is not None and self.events_live and not relist
                and now - self._lists_read_at < LISTS_MAX_AGE_S and now - self._event_at > LISTS_SETTLE_S):
            return lists
        self._lists = None  # a failed listing must not leave the old lists to be trusted later
        sandboxes = self.cri.list_pod_sandboxes()
        containers = self.cri.list_containers()
        self.lists_read += 1
        self._lists, self._lists_read_at = (sandboxes, containers), now
        self._listed_now = True
        return sandboxes, containers

    def _refresh(self, *, snapshots: bool, images: bool, tasks: bool = False,
                 tasks_max_age_s: float | None = None, relist: bool = False,
                 probe_timeout_s: float = PROBE_TIMEOUT_MAX_S) -> NodePicture:
        now = self.clock()
        tasks_view = tasks
        try:
            self._probe(probe_timeout_s)
            sandboxes, containers = self._runtime_lists(now, relist)
        except SourceError as err:
            if isinstance(err, Unreachable) and not isinstance(err, NotAnswering):
                # A fresh channel on the next try: grpc's own reconnect backoff can grow far beyond our 5 s budget.
                # (A runtime that takes calls and does not answer keeps its connection: a new one would not help.)
                self.cri.reconnect()
                if self.containerd is not None:
                    self.containerd.reconnect()
            if isinstance(err, NotAnswering):
                self._set_health("runtime", NOT_ANSWERING, str(err), since=now)
            else:
                self._set_health("runtime", UNAVAILABLE if isinstance(err, PermissionDenied) else UNREACHABLE,
                                 str(err))
            if self._last is None:
                return self._local_picture(now)  # never reached the runtime: show what the node tells without it
            return self._stale_picture(now)
        self._missing_rates = False
        was_ok = self._health.get("runtime")
        self._set_health("runtime", OK)
        # The first picture goes without a task list (containerd would ask every shim first); a runtime that
        # comes back gets one.
        want_tasks = tasks or (was_ok is not None and was_ok.state != OK)

        tasks = self._tasks(want_tasks, now, tasks_max_age_s)
        rows = self._rows(containers, tasks)
        pods = self._build_pods(sandboxes, rows)
        pods, api = self._join_api(pods)

        node = self._node(now)
        sandbox_names = {s.id: s for s in sandboxes}
        names = {r.id: r for r in rows}
        key = (len(rows), len(sandboxes))  # the same task list (by identity) joined to the same containers
        cached_tasks, cached_key, _ = self._task_rows
        if cached_tasks is not tasks or cached_key != key:
            task_rows = tuple(sorted((_task_row(t, names.get(t.container_id), sandbox_names.get(t.container_id))
                                      for t in tasks), key=lambda t: (t.pod, t.kind, t.name, t.container_id)))
            self._task_rows = (tasks, key, task_rows)
        task_rows = self._task_rows[2]
        execs = self._exec_rows(task_rows) if tasks_view else None

        snaps = self._snapshots(rows, node.snapshotter) if snapshots else None
        imgs = self._images(rows) if images else None
        self._prefetched.clear()  # read ahead for this refresh only

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

    def _join_api(self, pods: list) -> tuple[list, Any]:
        if self.api is None:
            return pods, None
        snapshot = self.api.snapshot()
        state = OK if snapshot.ok else (STALE if snapshot.state == "connecting" else UNREACHABLE)
        if snapshot.state in ("not_configured", "no_node"):
            state = UNAVAILABLE
        old = self._health.get("api")
        since = snapshot.since or (old.since if old is not None and old.state == state else self.clock())
        self._health["api"] = SourceHealth("api", state, snapshot.message, since)
        return join_api(pods, snapshot), snapshot

    def _local_picture(self, now: float) -> NodePicture:
        from .degraded import LocalView

        if self._local is None:
            self._local = LocalView(self.pods_dir, self.cgroups,
                                    lambda stats, prev: figures_from(stats, prev, self._cpu_cores))
        pods, containers = self._local.rows()
        pods, api = self._join_api(pods)
        node = node_info(self._static_node, pods_dir=self.pods_dir, hostname=self.hostname)
        return NodePicture(taken_at=now, node=node, pods=tuple(pods), containers=tuple(containers),
                           health=self.health, api=api, local_only=True)

    def _stale_picture(self, now: float) -> NodePicture:
        if self.api is not None:
            self._join_api([])  # keep the API's health current while the runtime is away
        last = self._last
        if last is None:
            return NodePicture(taken_at=now, node=NodeInfo(hostname=self.hostname), health=self.health, stale=True)
        return replace(last, health=self.health, stale=True)

    def _tasks(self, wanted: bool, now: float, max_age_s: float | None) -> list[Any]:
        self._tasks_fresh = False
        if self.containerd is None or (self._task_cache is None and not wanted and self._last is None):
            return []
        if self._task_cache is not None and max_age_s is not None and now - self._tasks_listed_at <= max_age_s:
            return self._task_cache
        return self._list_tasks_if_due(wanted, now)

    def list_tasks(self) -> None:
        """Read the task list now (a dump reads it between its two samples); the next refresh joins it."""
        with self._lock:
            if self.containerd is not None:
                self._list_tasks_if_due(True, self.clock())

    def _list_tasks_if_due(self, wanted: bool, now: float) -> list[Any]:
        stale = now - self._tasks_listed_at > TASKS_MAX_AGE_S
        if not (wanted or stale or self._tasks_dirty or not self.events_live or self._task_cache is None):
            return self._task_cache
        self._tasks_dirty = False  # before the call: an event arriving meanwhile asks again
        try:
            tasks = self.containerd.tasks()
        except SourceError as err:
            self._set_health("containerd", UNAVAILABLE, str(err))
            self._tasks_dirty = True
            return []
        self._set_health("containerd", OK)
        self._task_cache, self._tasks_listed_at, self._tasks_fresh = tasks, now, True
        return tasks

    def _rows(self, containers: list[Any], tasks: list[Any]) -> list[ContainerRow]:
        """The container rows; on a quiet node (the very listing and task list of the last refresh, nothing learnt
        about a container since, and every row then its memo) the last refresh's rows as they are."""
        memo = self._rows_memo
        if (memo is not None and memo.containers is containers and memo.tasks is tasks
                and memo.state == (self._containers_hidden, self._known_changes)):
            return memo.rows
        hits, changes = self._row_hits, self._known_changes
        task_by_id = {t.container_id: t for t in tasks}
        rows = [self._container_row(c, task_by_id.get(c.id)) for c in containers]
        # The runtime lists in no stable order (a Go map): without a sort, rows would move on every refresh.
        rows.sort(key=lambda r: (r.namespace, r.pod_name, r.name, r.attempt, r.id))
        self._forget_gone({c.id for c in containers})
        quiet = self._row_hits - hits == len(containers) and self._known_changes == changes
        self._rows_memo = _RowsMemo(containers, tasks, (self._containers_hidden, changes), rows) if quiet else None
        return rows

    def _known_for(self, cid: str) -> _Known:
        known = self._known.get(cid)
        if known is None:
            known = self._known[cid] = _Known()
        return known

    def _container_row(self, c: Any, task: Any) -> ContainerRow:
        known = self._known_for(c.id)
        if c.state == "RUNNING" and self._task_ended(task) and not known.exit_settle_tried:
            known.exit_settle_tried = True
            settled = self._settle_exit(c)
            if settled.state != c.state:
                self._event_at = self.clock()  # the lists kept from this refresh are already out of date
            c = settled
        if task is not None and task.pid:
            known.pid = task.pid
        # One status call per container per state it reaches: the log path at first sight, the exit code on exit.
        # A running container is placed in the kubelet's pod cgroup (or by its task's /proc/<pid>/cgroup) and its
        # log found where the kubelet writes it; only when that fails does its status wait for fill_status (a
        # thousand status calls would hold the first picture back by a second or more).
        if known.status_fetched_for_state != c.state:
            if c.state == "RUNNING" and (known.pid or c.labels.get("io.kubernetes.pod.uid")):
                known.log_path = known.log_path or self._kubelet_log_path(c)
                if known.log_path:
                    known.status_fetched_for_state = c.state  # all a list needs is known without asking
                else:
                    self._status_pending.add(c.id)
            else:
                self._learn_status(c.id, known, c.state)
        running = c.state == "RUNNING" and self.cgroups is not None
        memo = known.row_memo
        if memo is not None and memo[0] is c and memo[1] is task and memo[2] == _row_facts(known) and (
                not running or self._containers_hidden):
            self._row_hits += 1
            return memo[3]  # nothing it shows can have changed: same listing, same task, no cgroup to read
        figures, fixed = Figures(), not running
        if running:
            figures, fixed = self._figures(c.id, known, c.labels.get("io.kubernetes.pod.uid", ""))
            if known.location is None and not known.cgroups_path and not known.cgroup_status_asked:
                # Not where the kubelet would put it: its status names the cgroup (OCI cgroupsPath).
                known.cgroup_status_asked = True
                self._status_pending.add(c.id)
        cpu_hist, mem_hist = self._history(c.id, figures)
        exit_code = known.exit_code
        if exit_code is None and task is not None and task.status == "STOPPED":
            exit_code = task.exit_status
        row = ContainerRow(
            id=c.id,
            sandbox_id=c.pod_sandbox_id,
            name=c.name,
            attempt=c.attempt,
            image=c.image,
            image_ref=c.image_ref,
            state=c.state,
            created_at_ns=c.created_at_ns,
            namespace=c.labels.get("io.kubernetes.pod.namespace", ""),
            pod_name=c.labels.get("io.kubernetes.pod.name", ""),
            pod_uid=c.labels.get("io.kubernetes.pod.uid", ""),
            labels=c.labels,
            annotations=c.annotations,
            restarts=container_restarts(c),
            pid=known.pid if c.state == "RUNNING" else None,
            task_status=task.status if task is not None else None,
            exit_code=exit_code if c.state == "EXITED" else None,
            reason=known.reason if c.state == "EXITED" else "",
            finished_at_ns=known.finished_at_ns,
            log_path=known.log_path,
            cgroup_path=str(getattr(known.location, "path", "") or ""),
            figures=figures,
            cpu_history=cpu_hist,
            memory_history=mem_hist,
        )
        known.row_memo = (c, task, _row_facts(known), row) if fixed else None
        return row

    def _kubelet_log_path(self, c: Any) -> str:
        """Where the kubelet puts a container's log (<pods dir>/<namespace>_<pod>_<uid>/<name>/<attempt>.log),
        if that file exists; "" otherwise (containers not made by a kubelet, or another pods dir)."""
        labels = c.labels
        namespace, pod, uid = (labels.get(f"io.kubernetes.pod.{k}", "") for k in ("namespace", "name", "uid"))
        parts = (namespace, pod, uid, c.name)
        if not all(parts) or any("/" in p or p in (".", "..") for p in parts):
            return ""
        path = os.path.join(kubelet_pod_log_dir(self.pods_dir, namespace, pod, uid),
                            kubelet_log_name(c.name, c.attempt))
        return path if os.path.isfile(path) else ""

    @property
    def status_pending(self) -> int:
        """Running containers whose CRI status (log path, cgroupsPath) has not been fetched yet."""
        return len(self._status_pending)

    def fill_status(self, *, budget_s: float = 5.0) -> int:
        """Fetch the CRI status the refreshes deferred (run it after a picture is shown, or between a dump's two
        samples). Stops after ``budget_s``; returns how many containers were filled."""
        done = 0
        deadline = time.monotonic() + budget_s
        while time.monotonic() < deadline:
            with self._lock:
                if not self._status_pending:
                    break
                cid = self._status_pending.pop()
                known = self._known.get(cid)
                if known is None:
                    continue  # gone meanwhile
                self._learn_status(cid, known, "RUNNING")
                done += 1
        return done

    def _task_ended(self, task: Any) -> bool:
        """containerd's task has stopped or is gone (only known when the task list was read in this refresh)."""
        listed = self._health.get("containerd")
        if self.containerd is None or listed is None or not listed.ok or not self._tasks_fresh:
            return False
        return task is None or task.status == "STOPPED"

    def _settle_exit(self, c: Any) -> Any:
        deadline = time.monotonic() + EXIT_SETTLE_S
        while True:
            try:
                state = self.cri.container_status(c.id).state
            except SourceError:
                return c
            if state != "RUNNING" or time.monotonic() >= deadline:
                return replace(c, state=state)
            time.sleep(0.05)

    def _learn_status(self, cid: str, known: _Known, state: str) -> None:
        self._known_changes += 1  # a container's facts may change: the rows memo no longer holds
        try:
            status = self.cri.container_status(cid, verbose=True)
        except SourceError:
            return  # vanished between list and status: the row shows what the list said
        known.status_fetched_for_state = state
        known.log_path = status.log_path or known.log_path
        linux = status.runtime_spec.get("linux")
        if isinstance(linux, dict):
            known.cgroups_path = str(linux.get("cgroupsPath") or known.cgroups_path)
        if status.pid:
            known.pid = status.pid
        if status.state == "EXITED":
            known.exit_code = status.exit_code
            known.reason = status.reason
            known.finished_at_ns = status.finished_at_ns

    def _figures(self, cid: str, known: _Known, pod_uid: str = "") -> tuple[Figures, bool]:
        """The container's list figures, and whether they are only what is already known (no cgroup was read)."""
        if known.location is None:
            try:
                known.location = self.cgroups.resolve(cid, cgroups_path=known.cgroups_path or None, pid=known.pid,
                                                      pod_uid=pod_uid)
            except OSError:
                known.location = None
            if known.location is None:
                return Figures(), False
        if self._containers_hidden and known.memory_limit is not None and self._has_pod_cgroup(known.location):
            limit, unlimited = known.memory_limit
            return Figures(memory_limit_bytes=limit, memory_unlimited=unlimited), True
        try:
            stats = self.cgroups.read(known.location, full=False)
        except OSError:
            return Figures(), False
        prev = self._rate_base(self._prev_stats.get(cid), stats)
        self._prev_stats[cid] = stats
        figures = figures_from(stats, prev, self._cpu_cores)
        if not stats.vanished:
            known.memory_limit = (figures.memory_limit_bytes, figures.memory_unlimited)
        return figures, False

    def _rate_base(self, prev: Any, stats: Any) -> Any:
        """The sample a CPU rate is taken from, or None: there is none, or it is too old (a rate over minutes the
        rows were not on screen would read as the current one). Rows left without a rate ask for a sample soon."""
        if prev is not None and stats.timestamp_ns - prev.timestamp_ns > RATE_MAX_GAP_NS:
            prev = None
        if prev is None and stats.cpu_usage_ns is not None:
            self._missing_rates = True
        return prev

    @property
    def resample_soon(self) -> bool:
        """The last refresh showed running containers without a CPU rate (first sight, or back on screen after
        a pause): a second sample soon fills them in. Or a task or container event came less than LISTS_SETTLE_S
        ago: CRI may record the change only after the refresh the event asked for, and the next one must come soon,
        not one interval later."""
        return self._missing_rates or self.clock() - self._event_at <= LISTS_SETTLE_S

    def _has_pod_cgroup(self, location: Any) -> bool:
        pod_location = getattr(self.cgroups, "pod_location", None)
        try:
            return pod_location is not None and pod_location(location) is not None
        except OSError:
            return False

    def _history(self, cid: str, figures: Figures) -> tuple[tuple[float, ...], tuple[int, ...]]:
        cpu = self._cpu_hist.setdefault(cid, deque(maxlen=HISTORY))
        mem = self._mem_hist.setdefault(cid, deque(maxlen=HISTORY))
        if figures.cpu_cores is not None:
            cpu.append(figures.cpu_cores)
        if figures.memory_working_set_bytes is not None:
            mem.append(figures.memory_working_set_bytes)
        return tuple(cpu), tuple(mem)

    def _build_pods(self, sandboxes: list[Any], rows: list[ContainerRow]) -> list[Any]:
        """Pods with figures from their pod cgroup, found through any running container of the pod (one light
        read), the containers' sum standing in for what it lacks; the sum alone when pods are not on screen.

        When the listing and every container row are the very ones of the last refresh (a quiet node), the pods
        are the last ones with only their pod cgroup figures read again."""
        with_cgroups = self.cgroups is not None and hasattr(self.cgroups, "read_pod") and not self._pods_hidden
        memo = self._pods_memo
        same = memo is not None and memo.built_from(sandboxes, rows)
        if same and not with_cgroups and memo.parts is None:
            return memo.pods
        if not with_cgroups:
            pods = build_pods(sandboxes, rows)
            self._pods_memo = _PodsMemo(sandboxes, rows, pods, None)
            return pods
        samples: dict[str, Any] = {}
        made: dict[str, tuple[Any, Figures, Figures]] = {}
        # A pod cgroup's memory limit and OOM count change only on a resize or an OOM kill: read again whenever
        # CRI is listed (after an event, on ctrl-r, every LISTS_MAX_AGE_S) or the pods changed, else carried over.
        limits_due = self._listed_now or not same

        def figures_of(sandbox_id: str, current: list[ContainerRow], summed: Figures) -> Figures:
            location = next((k.location for c in current if c.state == "RUNNING"
                             and (k := self._known.get(c.id)) is not None and k.location is not None), None)
            earlier = self._prev_pod_stats.get(sandbox_id)
            try:
                if location is None:
                    stats = None
                elif limits_due or earlier is None:
                    stats = self.cgroups.read_pod(location)
                else:
                    stats = self.cgroups.read_pod(location, limits_from=earlier)
            except OSError:
                stats = None
            if stats is None or getattr(stats, "vanished", False):
                return summed
            samples[sandbox_id] = stats
            prev = self._rate_base(earlier, stats)
            key = _sample_key(stats) if isinstance(stats, CgroupStats) else None
            last = self._pod_figures.get(sandbox_id)
            if (key is not None and prev is not None and last is not None and last[0] == key and last[1] is summed
                    and last[2].cpu_cores == 0.0 and not last[2].throttled_recently):
                figures = last[2]  # an idle pod: not one counter moved, so every figure is what it was
            else:
                figures = with_pod_cgroup(figures_from(stats, prev, self._cpu_cores), summed)
            made[sandbox_id] = (key, summed, figures)
            return figures

        if same and memo.parts is not None:
            pods = []
            for pod, (current, summed) in zip(memo.pods, memo.parts):
                figures = figures_of(pod.id, current, summed)
                pods.append(pod if figures is pod.figures else replace(pod, figures=figures))
        else:
            parts: list[tuple[list[ContainerRow], Figures]] = []

            def record(sandbox_id: str, current: list[ContainerRow], summed: Figures) -> Figures:
                parts.append((current, summed))
                return figures_of(sandbox_id, current, summed)

            pods = build_pods(sandboxes, rows, record)
            by_id = dict(zip((s.id for s in sandboxes), parts))
            parts = [by_id[p.id] for p in pods]  # build_pods sorts the pods; keep their parts beside them
            self._pods_memo = _PodsMemo(sandboxes, rows, pods, parts)
        self._prev_pod_stats = samples  # pods gone, or with nothing running, start their rate afresh
        self._pod_figures = made
        return pods

    def _forget_gone(self, present: set[str]) -> None:
        for cid in [k for k in self._known if k not in present]:
            del self._known[cid]
            self._status_pending.discard(cid)
            self._prev_stats.pop(cid, None)
            self._cpu_hist.pop(cid, None)
            self._mem_hist.pop(cid, None)
            if self.cgroups is not None and hasattr(self.cgroups, "forget"):
                self.cgroups.forget(cid)

    # ---- node, snapshots, images ----
    def _node(self, now: float) -> NodeInfo:
        static = self._static_node
        if not static.get("ready") or now - static.get("at", 0) > 60:
            static.update(self._static_node_facts())
            static["at"] = now
        return node_info(static, pods_dir=self.pods_dir, hostname=self.hostname)

    def _static_node_facts(self) -> dict[str, Any]:
        facts: dict[str, Any] = {"ready": True}
        try:
            v = self.cri.version()
            facts.update(runtime_name=v.runtime_name, runtime_version=v.runtime_version, runtime_api_version=v.runtime_api_version)
            status = self.cri.status(verbose=True)
            facts["conditions"] = tuple((c.type, c.status, c.reason, c.message) for c in status.conditions)
            config = status.config()
            facts["containerd_root"] = str(config.get("containerdRootDir") or "")
            facts["snapshotter"] = str((config.get("containerd") or {}).get("snapshotter") or "overlayfs")
        except SourceError:
            facts["ready"] = False
        if self.containerd is not None:
            try:
                facts["containerd_version"] = self.containerd.version().version
                facts["failed_plugins"] = tuple(
                    (f"{p.type}.{p.id}", p.init_error) for p in self.containerd.plugins() if p.init_error
                )
            except SourceError:
                facts["ready"] = False
        if self.cgroups is not None:
            facts["cgroup_mode"] = str(getattr(self.cgroups, "mode", "") or "")
        return facts

    def _snapshots(self, rows: list[ContainerRow], snapshotter: str) -> tuple[SnapshotRow, ...] | None:
        if self.containerd is None:
            return None
        try:
            snaps, ctd_containers, tops = self._prefetched.pop("snapshots", None) or self._snapshot_lists(snapshotter)
        except SourceError as err:
            self._set_health("snapshots", UNAVAILABLE, str(err))
            return None
        self._set_health("snapshots", OK)
        return join_snapshots(snaps, ctd_containers, tops, rows, self._snapshot_usage)

    def _snapshot_lists(self, snapshotter: str) -> tuple[Any, Any, Any]:
        snaps = self.containerd.snapshots(snapshotter)
        ctd_containers = self.containerd.containers()
        ctd_images = self.containerd.images()
        return snaps, ctd_containers, image_snapshot_tops([i.digest for i in ctd_images], self._labels_of, snapshotter)

    def prefetch(self, *, snapshots: bool = False, images: bool = False) -> None:
        """Read now the lists the next refresh's snapshot and image joins need (a dump reads them between its two
        samples, so the second is quick); the next refresh uses them once. Failures are left for that refresh."""
        with self._lock:
            try:
                if snapshots and self.containerd is not None:
                    snapshotter = str(self._static_node.get("snapshotter") or "overlayfs")
                    self._prefetched["snapshots"] = self._snapshot_lists(snapshotter)
                if images:
                    self._prefetched["images"] = self.cri.list_images()
            except SourceError:
                pass

    def _labels_of(self, digest: str) -> dict[str, str]:
        # Content is immutable by digest, so its labels are cached for the life of the collector.
        if digest not in self._content_labels:
            try:
                self._content_labels[digest] = self.containerd.content_info(digest).labels
            except SourceError:
                return {}
        return self._content_labels[digest]

    def snapshot_usage(self, keys: list[str], snapshotter: str, *, budget_s: float = 5.0) -> int:
        """Fill the usage cache for snapshot keys not measured yet (costly; run it in a background worker)."""
        if self.containerd is None:
            return 0
        done = 0
        deadline = time.monotonic() + budget_s
        for key in keys:
            if key in self._snapshot_usage:
                continue
            if time.monotonic() > deadline:
                break
            try:
                usage = self.containerd.snapshot_usage(key, snapshotter)
            except SourceError:
                continue
            self._snapshot_usage[key] = (usage.size_bytes, usage.inodes)
            done += 1
        return done

    def _images(self, rows: list[ContainerRow]) -> tuple[ImageRow, ...] | None:
        try:
            images = self._prefetched.pop("images", None)
            if images is None:
                images = self.cri.list_images()
        except SourceError as err:
            self._set_health("images", UNAVAILABLE, str(err))
            return None
        self._set_health("images", OK)
        return join_images(images, rows)


class BackgroundRefresh:
    """One refresh started in a thread, so the first picture is built while the UI is still being imported."""

    def __init__(self, collector: Any, **kwargs: Any) -> None:
        self._picture: NodePicture | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(collector, kwargs), name="n9s-first-refresh",
                                        daemon=True)
        self._thread.start()

    def _run(self, collector: Any, kwargs: dict[str, Any]) -> None:
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


def _task_row(task: Any, row: ContainerRow | None, sandbox: Any) -> TaskRow:
    if row is not None:
        kind, name, pod = "container", row.name, row.pod_key
    elif sandbox is not None:
        kind, name, pod = "sandbox", sandbox.name, f"{sandbox.namespace}/{sandbox.name}"
    else:
        kind, name, pod = "", "", ""
    return TaskRow(task.container_id, task.pid, task.status, task.exit_status, task.exited_at_ns, kind, name, pod)
