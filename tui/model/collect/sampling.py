"""cgroup figures: one light read per container and pod cgroup on screen, a CPU rate from the previous sample, a
short history per container. A container not on screen inside a pod cgroup is not read (its row keeps the memory
limit of its last read); an idle pod (not one counter moved) keeps its figures object."""
from __future__ import annotations

import dataclasses
import operator
from collections import deque
from typing import Any, Callable

from n9s.sources.cgroups.reader import CgroupStats
from n9s.sources.cgroups.reader import cpu_cores as cgroup_cpu_cores
from n9s.model.joins import with_pod_cgroup
from n9s.model.kept import Kept
from n9s.model.picture import Figures
from n9s.model.collect.sources import Sources

HISTORY = 60
# A CPU rate needs two samples at most this far apart (monotonic ns).
RATE_MAX_GAP_NS = 15 * 1_000_000_000

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


class Sampler:
    def __init__(self, sources: Sources) -> None:
        self._sources = sources
        self.cpu_cores: Callable[[Any, Any], float | None] = cgroup_cpu_cores
        self.missing_rates = False  # this refresh has running containers or pods with no CPU rate yet
        self._prev: dict[str, Any] = {}  # container id -> its last sample
        self._limits: dict[str, tuple[int | None, bool]] = {}  # container id -> (limit, unlimited) last read
        self._cpu_hist: dict[str, deque[float]] = {}
        self._mem_hist: dict[str, deque[int]] = {}
        self._prev_pod: dict[str, Any] = {}  # sandbox id -> its pod cgroup's last sample
        # sandbox id -> the pod's figures, from its containers' sum (by identity) and its sample but the time
        self._pod_figures: dict[str, Kept[Figures]] = {}

    def new_refresh(self) -> None:
        self.missing_rates = False

    def figures_from(self, stats: Any, prev: Any) -> Figures:
        return figures_from(stats, prev, self.cpu_cores)

    # ---- containers ----
    def memory_limit(self, cid: str) -> tuple[int | None, bool] | None:
        return self._limits.get(cid)

    def container_figures(self, cid: str, location: Any, hidden: bool) -> tuple[Figures, bool]:
        """The container's list figures, and whether they are only what is already known (no cgroup was read):
        ``hidden`` (no container list on screen) leaves one inside a pod cgroup unread but for its last limit."""
        cgroups = self._sources.cgroups
        if cgroups is None:
            return Figures(), False
        limit = self._limits.get(cid)
        if hidden and limit is not None and self._has_pod_cgroup(location):
            return Figures(memory_limit_bytes=limit[0], memory_unlimited=limit[1]), True
        try:
            stats = cgroups.read(location, full=False)
        except OSError:
            return Figures(), False
        prev = self._rate_base(self._prev.get(cid), stats)
        self._prev[cid] = stats
        figures = figures_from(stats, prev, self.cpu_cores)
        if not stats.vanished:
            self._limits[cid] = (figures.memory_limit_bytes, figures.memory_unlimited)
        return figures, False

    def full_figures(self, cid: str, location: Any) -> Figures | None:
        """Every figure of the container's cgroup (the detail view), its rate against the refresh's sample; None
        when it cannot be read."""
        cgroups = self._sources.cgroups
        if cgroups is None:
            return None
        try:
            full = cgroups.read(location, full=True)
        except OSError:
            return None
        return figures_from(full, self._prev.get(cid), self.cpu_cores)

    def history(self, cid: str, figures: Figures) -> tuple[tuple[float, ...], tuple[int, ...]]:
        cpu = self._cpu_hist.setdefault(cid, deque(maxlen=HISTORY))
        mem = self._mem_hist.setdefault(cid, deque(maxlen=HISTORY))
        if figures.cpu_cores is not None:
            cpu.append(figures.cpu_cores)
        if figures.memory_working_set_bytes is not None:
            mem.append(figures.memory_working_set_bytes)
        return tuple(cpu), tuple(mem)

    def forget(self, cid: str) -> None:
        self._prev.pop(cid, None)
        self._limits.pop(cid, None)
        self._cpu_hist.pop(cid, None)
        self._mem_hist.pop(cid, None)

    # ---- pods ----
    def pod_round(self, limits_due: bool) -> PodRound:
        """Sample the pod cgroups of one refresh. ``limits_due``: read their memory limit and OOM count again
        (they change only on a resize or an OOM kill), else carry them over from the last sample."""
        return PodRound(self, limits_due)

    # ---- shared ----
    def _rate_base(self, prev: Any, stats: Any) -> Any:
        """The sample a CPU rate is taken from, or None: there is none, or it is too old (a rate over minutes the
        rows were not on screen would read as the current one). Rows left without a rate ask for a sample soon."""
        if prev is not None and stats.timestamp_ns - prev.timestamp_ns > RATE_MAX_GAP_NS:
            prev = None
        if prev is None and stats.cpu_usage_ns is not None:
            self.missing_rates = True
        return prev

    def _has_pod_cgroup(self, location: Any) -> bool:
        cgroups = self._sources.cgroups
        try:
            return cgroups is not None and cgroups.pod_location(location) is not None
        except OSError:
            return False


class PodRound:
    """The pod cgroup samples of one refresh; ``finish`` makes them the base of the next one's rates (pods gone,
    or with nothing running, start their rate afresh)."""

    def __init__(self, sampler: Sampler, limits_due: bool) -> None:
        self._sampler = sampler
        self._limits_due = limits_due
        self._samples: dict[str, Any] = {}
        self._made: dict[str, Kept[Figures]] = {}

    def figures(self, sandbox_id: str, location: Any, summed: Figures) -> Figures:
        """A pod's figures from its pod cgroup, found through ``location`` (a running container's cgroup), its
        containers' ``summed`` figures standing in for what it lacks; ``summed`` alone without a pod cgroup."""
        sampler = self._sampler
        cgroups = sampler._sources.cgroups
        earlier = sampler._prev_pod.get(sandbox_id)
        try:
            if location is None or cgroups is None:
                stats = None
            elif self._limits_due or earlier is None:
                stats = cgroups.read_pod(location)
            else:
                stats = cgroups.read_pod(location, limits_from=earlier)
        except OSError:
            stats = None
        if stats is None or getattr(stats, "vanished", False):
            return summed
        self._samples[sandbox_id] = stats
        prev = sampler._rate_base(earlier, stats)
        key = _sample_key(stats) if isinstance(stats, CgroupStats) else None
        last = sampler._pod_figures.get(sandbox_id)
        if (key is not None and prev is not None and last is not None and last.holds((summed,), key)
                and last.value.cpu_cores == 0.0 and not last.value.throttled_recently):
            figures = last.value  # an idle pod: not one counter moved, so every figure is what it was
        else:
            figures = with_pod_cgroup(figures_from(stats, prev, sampler.cpu_cores), summed)
        self._made[sandbox_id] = Kept(figures, (summed,), key)
        return figures

    def finish(self) -> None:
        self._sampler._prev_pod = self._samples
        self._sampler._pod_figures = self._made
