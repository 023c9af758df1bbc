"""When to ask the runtime for its lists. Every refresh first asks CRI for its version with a short deadline (a hung
runtime shows); CRI's sandbox and container lists and containerd's task list are read again only when something
may have changed: with containerd's event stream live, a quiet node is not listed until an event arrives (or the
lists grow old). Keeps the last lists, which later refreshes hand on as the very same objects."""
from __future__ import annotations

from typing import Any, Callable

from n9s.sources.errors import NotAnswering, SourceError
from n9s.model.picture import OK, UNAVAILABLE
from n9s.model.collect.health import HealthBook
from n9s.model.collect.sources import Sources

# With containerd's event stream live, the task list is read again only when a task or container event says it
# changed (containerd asks every shim for its state on each Tasks.List), and at least this often as a safety net.
TASKS_MAX_AGE_S = 30.0
# With the event stream live, CRI's sandbox and container lists are read again only after a task or container
# event (every refresh for LISTS_SETTLE_S after it: CRI updates its own store a little after containerd announces
# a change), and at least every LISTS_MAX_AGE_S as a safety net. Nothing in those lists changes without such an
# event; re-reading them on every refresh was most of a quiet node's refresh cost.
LISTS_SETTLE_S = 5.0
LISTS_MAX_AGE_S = 30.0
# On a quiet node nothing else is asked of the runtime for up to LISTS_MAX_AGE_S (cgroup figures are read from
# files), so every refresh asks for its version first. Half a refresh interval within these bounds: a hang shows
# within two intervals, a busy moment is not a hang.
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


class Listing:
    def __init__(self, sources: Sources, health: HealthBook, clock: Callable[[], float]) -> None:
        self._sources = sources
        self._health = health
        self._clock = clock
        self.events_live = False  # set by whoever reads containerd's event stream
        self.lists_read = 0  # how many times CRI was listed (tests and the bench read it)
        self.listed_now = False  # CRI was listed in this refresh
        self.tasks_fresh = False  # the task list was read in this refresh
        self._lists: tuple[list[Any], list[Any]] | None = None  # the last (sandboxes, containers) CRI listed
        self._lists_read_at = 0.0
        self._event_at = 0.0  # when the last task or container event arrived (clock)
        self._task_cache: list[Any] | None = None
        self._tasks_listed_at = 0.0
        self._tasks_dirty = True
        self._unanswered = 0  # version probes in a row the runtime did not answer in time

    # ---- events ----
    def note_event(self) -> None:
        """A task or container event arrived (or the stream that brings them broke): the next refreshes read the
        task list and CRI's lists again."""
        self._tasks_dirty = True
        self._event_at = self._clock()

    def lists_out_of_date(self) -> None:
        """Something this refresh learnt (an exit that settled) is not in the lists kept from it yet."""
        self._event_at = self._clock()

    def settling(self) -> bool:
        """A task or container event came less than LISTS_SETTLE_S ago: CRI may record the change only after the
        refresh the event asked for."""
        return self._clock() - self._event_at <= LISTS_SETTLE_S

    # ---- the runtime's lists ----
    def probe_timeout(self, interval_s: float | None) -> float:
        return probe_timeout_for(interval_s, self._unanswered)

    def probe(self, timeout_s: float) -> None:
        """The runtime answers a cheap call in time, or NotAnswering is raised."""
        try:
            self._sources.cri.version(timeout=timeout_s)
        except NotAnswering:
            self._unanswered += 1
            raise
        self._unanswered = 0

    def runtime_lists(self, now: float, relist: bool) -> tuple[list[Any], list[Any]]:
        """CRI's sandboxes and containers: listed again unless the event stream vouches that nothing changed."""
        lists = self._lists
        self.listed_now = False
        if (lists is not None and self.events_live and not relist
                and now - self._lists_read_at < LISTS_MAX_AGE_S and now - self._event_at > LISTS_SETTLE_S):
            return lists
        self._lists = None  # a failed listing must not leave the old lists to be trusted later
        cri = self._sources.cri
        sandboxes = cri.list_pod_sandboxes()
        containers = cri.list_containers()
        self.lists_read += 1
        self._lists, self._lists_read_at = (sandboxes, containers), now
        self.listed_now = True
        return sandboxes, containers

    # ---- containerd's task list ----
    def tasks(self, wanted: bool, now: float, max_age_s: float | None, *, first_picture: bool) -> list[Any]:
        """The task list to join: read again when due (see list_tasks_if_due). The first picture goes without one
        unless ``wanted`` (containerd would ask every shim first); ``max_age_s``: a list read at most this long ago
        is used again."""
        self.tasks_fresh = False
        if self._sources.containerd is None or (self._task_cache is None and not wanted and first_picture):
            return []
        if self._task_cache is not None and max_age_s is not None and now - self._tasks_listed_at <= max_age_s:
            return self._task_cache
        return self.list_tasks_if_due(wanted, now)

    def list_tasks_if_due(self, wanted: bool, now: float) -> list[Any]:
        containerd = self._sources.containerd
        if containerd is None:
            return []
        stale = now - self._tasks_listed_at > TASKS_MAX_AGE_S
        if self._task_cache is not None and not (wanted or stale or self._tasks_dirty or not self.events_live):
            return self._task_cache
        self._tasks_dirty = False  # before the call: an event arriving meanwhile asks again
        try:
            tasks = containerd.tasks()
        except SourceError as err:
            self._health.set("containerd", UNAVAILABLE, str(err))
            self._tasks_dirty = True
            return []
        self._health.set("containerd", OK)
        self._task_cache, self._tasks_listed_at, self.tasks_fresh = tasks, now, True
        return tasks

    def task_ended(self, task: Any) -> bool:
        """containerd's task has stopped or is gone (only known when the task list was read in this refresh)."""
        listed = self._health.get("containerd")
        if self._sources.containerd is None or listed is None or not listed.ok or not self.tasks_fresh:
            return False
        return task is None or task.status == "STOPPED"
