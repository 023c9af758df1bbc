"""The container detail: what the list views leave out, fetched when the user opens one container."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from n9s.sources.errors import SourceError
from n9s.sources.procs import ProcessRow
from n9s.model.picture import ContainerRow, ExecRow, Figures
from n9s.model.seams import PictureSource


@dataclass(frozen=True)
class ContainerDetail:
    row: ContainerRow
    figures: Figures
    processes: tuple[ProcessRow, ...] = ()
    execs: tuple[ExecRow, ...] = ()  # the exec processes of its task (shells, kubectl exec, exec probes)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    mounts: tuple[tuple[str, str, bool], ...] = ()  # container path, host path, read-only
    snapshot_key: str = ""
    snapshotter: str = ""
    log_path: str = ""
    cgroup_path: str = ""
    error: str = ""
    facts: StatusFacts | None = field(default=None, repr=False)


@dataclass(frozen=True)
class StatusFacts:
    """What the verbose CRI status says that does not change while a container keeps its state."""

    state: str
    mounts: tuple[tuple[str, str, bool], ...] = ()
    snapshot_key: str = ""
    snapshotter: str = ""
    log_path: str = ""
    error: str = ""


def status_facts(collector: PictureSource, row: ContainerRow) -> StatusFacts:
    cri = collector.cri
    if cri is None:  # seen through the API alone
        return StatusFacts(row.state, log_path=row.log_path, error="a container's status needs n9s on its node")
    try:
        status = cri.container_status(row.id, verbose=True)
    except SourceError as err:
        return StatusFacts(row.state, log_path=row.log_path, error=str(err))
    return StatusFacts(
        state=row.state,
        mounts=tuple((m.container_path, m.host_path, m.readonly) for m in status.mounts),
        snapshot_key=str(status.info.get("snapshotKey") or ""),
        snapshotter=str(status.info.get("snapshotter") or ""),
        log_path=status.log_path,
    )


def container_detail(collector: PictureSource, row: ContainerRow, facts: StatusFacts | None = None) -> ContainerDetail:
    """The detail of ``row``; pass the ``facts`` of an earlier call to skip the status call (they hold while the
    container's state does)."""
    if facts is None or facts.state != row.state or facts.error:
        facts = status_facts(collector, row)
    figures = row.figures
    processes: tuple[ProcessRow, ...] = ()
    if row.state == "RUNNING":
        full = collector.full_figures(row.id)
        if full is not None:
            figures = _with_rate(full, row.figures)
    if row.pid:
        processes = tuple(collector.processes(row.pid))
    execs: tuple[ExecRow, ...] = ()
    if row.state == "RUNNING" and hasattr(collector, "execs_of"):
        execs = tuple(collector.execs_of(row.id))
    return ContainerDetail(
        row=row,
        figures=figures,
        processes=processes,
        execs=execs,
        labels=dict(row.labels),
        annotations=dict(row.annotations),
        mounts=facts.mounts,
        snapshot_key=facts.snapshot_key,
        snapshotter=facts.snapshotter,
        log_path=facts.log_path,
        cgroup_path=row.cgroup_path,
        error=facts.error,
        facts=facts,
    )


def _with_rate(full: Figures, light: Figures) -> Figures:
    # The full read and the refresh's light read are a moment apart; keep the refresh's rate.
    return replace(full, cpu_cores=light.cpu_cores, throttled_recently=light.throttled_recently)
