"""Renderers: pure functions from the node picture to table rows (golden-tested).

Everything that came from a container (names, labels, images) passes through the sanitiser here, so no view can
forget to.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from n9s.model.kept import Kept
from n9s.model.picture import ContainerRow, ExecRow, ImageRow, NodePicture, PodRow, SnapshotRow, TaskRow
from n9s.core.sanitize import sanitize_label
from n9s.render import format as fmt
from n9s.render.table import Column, Row

S = sanitize_label

POD_COLUMNS = (
    Column("NAMESPACE"), Column("NAME"), Column("READY"), Column("STATUS"), Column("API"),
    Column("RESTARTS", numeric=True), Column("CPU", numeric=True), Column("%CPU/R", numeric=True),
    Column("%CPU/L", numeric=True), Column("MEM", numeric=True), Column("%MEM/R", numeric=True),
    Column("%MEM/L", numeric=True), Column("PIDS", numeric=True), Column("AGE", numeric=True),
)

CONTAINER_COLUMNS = (
    Column("NAME"), Column("POD"), Column("STATE"), Column("EXIT", numeric=True), Column("ATTEMPT", numeric=True),
    Column("CPU", numeric=True), Column("MEM", numeric=True), Column("LIMIT", numeric=True),
    Column("%MEM/L", numeric=True), Column("PIDS", numeric=True), Column("THROTTLED", numeric=True),
    Column("OOM", numeric=True), Column("IMAGE"), Column("AGE", numeric=True),
)

TASK_COLUMNS = (
    Column("CONTAINER"), Column("KIND"), Column("NAME"), Column("POD"), Column("PID", numeric=True),
    Column("STATUS"), Column("EXIT", numeric=True), Column("EXECS", numeric=True),
)

SNAPSHOT_COLUMNS = (
    Column("KEY"), Column("KIND"), Column("PARENT"), Column("SIZE", numeric=True), Column("INODES", numeric=True),
    Column("OWNER"), Column("ORPHAN"), Column("AGE", numeric=True),
)

IMAGE_COLUMNS = (
    Column("NAME"), Column("ID"), Column("SIZE", numeric=True), Column("USED BY"), Column("PINNED"),
)


def _age_sort(created_ns: int) -> float | None:
    return -created_ns if created_ns else None


def _ratio(used: float | None, of: float | None) -> float | None:
    if used is None or not of:
        return None
    return 100.0 * used / of


def pod_row(p: PodRow, now: float) -> Row:
    """Runtime figures, with the API's status and requests/limits beside them when the API is known."""
    f = p.figures
    api = p.api
    api_status = S(getattr(api, "status_text", "") or "") if api is not None else fmt.UNKNOWN
    if p.flags:
        api_status = f"{api_status} ({', '.join(S(flag) for flag in p.flags)})"
    restarts = api.restarts if api is not None and p.state == "-" else p.restarts
    cpu_req = getattr(api, "cpu_request_m", None) or None
    cpu_lim = getattr(api, "cpu_limit_m", None) or None
    mem_req = getattr(api, "memory_request_bytes", None) or None
    mem_lim = getattr(api, "memory_limit_bytes", None) or None
    cpu_m = None if f.cpu_cores is None else f.cpu_cores * 1000
    pct_cpu_r, pct_cpu_l = _ratio(cpu_m, cpu_req), _ratio(cpu_m, cpu_lim)
    pct_mem_r = _ratio(f.memory_working_set_bytes, mem_req)
    pct_mem_l = _ratio(f.memory_working_set_bytes, mem_lim) if mem_lim else f.memory_percent_of_limit
    name = S(p.name) + (" [static]" if p.static else "")
    return Row(
        key=p.id,
        cells=(
            S(p.namespace), name, f"{p.ready}/{p.total}", S(p.status), api_status, str(restarts),
            fmt.cpu(f.cpu_cores), fmt.percent(pct_cpu_r), fmt.percent(pct_cpu_l), fmt.mem(f.memory_working_set_bytes),
            fmt.percent(pct_mem_r), fmt.percent(pct_mem_l), fmt.count(f.pids_current), fmt.age(p.created_at_ns, now),
        ),
        sort_values=(
            p.namespace, p.name, p.ready, p.status, api_status, restarts, f.cpu_cores, pct_cpu_r, pct_cpu_l,
            f.memory_working_set_bytes, pct_mem_r, pct_mem_l, f.pids_current, _age_sort(p.created_at_ns),
        ),
        health="failed" if p.flags and p.health == "ok" else p.health,
        labels=p.labels,
    )


def render_pods(picture: NodePicture, now: float, memo: PodRowMemo | None = None) -> list[Row]:
    if memo is not None:
        return memo.render(picture.pods, now)
    return [pod_row(p, now) for p in picture.pods]


_POD_AGE = POD_COLUMNS.index(Column("AGE", numeric=True))


class PodRowMemo:
    """The rows of the last render, each kept with the pod it came from (n9s.model.kept). The collector hands an
    idle pod on as the very same object, so its row is the same but for AGE, which only the clock moves: that cell
    is made again, nothing else. Holds the last render's pods only."""

    def __init__(self) -> None:
        self._rows: dict[str, Kept[Row]] = {}

    def render(self, pods: tuple[PodRow, ...] | list[PodRow], now: float) -> list[Row]:
        last = self._rows
        kept: dict[str, Kept[Row]] = {}
        rows = []
        for p in pods:
            known = last.get(p.id)
            if known is not None and known.holds((p,)):
                row = known.value
                age = fmt.age(p.created_at_ns, now)
                if row.cells[_POD_AGE] != age:  # (dataclasses.replace costs more than the rest of this loop)
                    cells = row.cells[:_POD_AGE] + (age,) + row.cells[_POD_AGE + 1:]
                    row = Row(row.key, cells, row.sort_values, row.health, row.labels)
            else:
                row = pod_row(p, now)
            kept[p.id] = Kept(row, (p,))
            rows.append(row)
        self._rows = kept
        return rows

    def held(self) -> list[PodRow]:
        return [cast(PodRow, k.inputs[0]) for k in self._rows.values()]


@dataclass
class RenderMemo:
    """What one renderer (a screen) keeps between its renders, so that each screen, and each app, has its own."""

    pods: PodRowMemo = field(default_factory=PodRowMemo)


def container_row(c: ContainerRow, now: float, pod_labels: dict[str, str] | None = None) -> Row:
    f = c.figures
    state = S(c.state, 20) + (f" ({S(c.reason, 40)})" if c.reason and c.state == "EXITED" else "")
    throttled = f.cpu_nr_throttled
    return Row(
        key=c.id,
        cells=(
            S(c.name), S(c.pod_key), state, fmt.count(c.exit_code), str(c.attempt), fmt.cpu(f.cpu_cores),
            fmt.mem(f.memory_working_set_bytes), fmt.limit(f.memory_limit_bytes, f.memory_unlimited)
            if c.state == "RUNNING" else fmt.UNKNOWN,
            fmt.percent(f.memory_percent_of_limit), fmt.count(f.pids_current), fmt.count(throttled),
            fmt.count(f.oom_kills), S(c.image, 60), fmt.age(c.created_at_ns, now),
        ),
        sort_values=(
            c.name, c.pod_key, c.state, c.exit_code, c.attempt, f.cpu_cores, f.memory_working_set_bytes,
            None if f.memory_unlimited else f.memory_limit_bytes, f.memory_percent_of_limit, f.pids_current,
            throttled, f.oom_kills, c.image, _age_sort(c.created_at_ns),
        ),
        health=c.health,
        # The kubelet puts only io.kubernetes.* labels on a container; `-l app=web` means its pod's labels.
        labels={**(pod_labels or {}), **c.labels},
    )


def render_containers(picture: NodePicture, now: float, sandbox_id: str | None = None) -> list[Row]:
    rows = picture.containers if sandbox_id is None else tuple(c for c in picture.containers if c.sandbox_id == sandbox_id)
    pod_labels = {p.id: p.labels for p in picture.pods}
    return [container_row(c, now, pod_labels.get(c.sandbox_id)) for c in rows]


def execs_cell(execs: tuple[ExecRow, ...] | list[ExecRow]) -> str:
    """How many exec processes a task has, and how many of them this n9s started: "2 (1 by n9s, kept)"."""
    mine = [e for e in execs if e.owner]
    if not mine:
        return str(len(execs))
    kept = sum(1 for e in mine if "kept" in e.owner)
    return f"{len(execs)} ({len(mine)} by n9s{', kept' if kept else ''})"


def task_row(t: TaskRow, execs: tuple[ExecRow, ...] | list[ExecRow] | None = None) -> Row:
    """``execs`` None: not known for this task (not running, a sandbox, or not read)."""
    exit_cell = str(t.exit_status) if t.status == "STOPPED" else fmt.UNKNOWN
    health = "ok" if t.status == "RUNNING" else ("failed" if t.status == "STOPPED" and t.exit_status else "done")
    return Row(
        key=t.container_id,
        cells=(S(fmt.short_id(t.container_id)), S(t.kind, 20) or "-", S(t.name) or "-", S(t.pod) or "-",
               str(t.pid or "-"), S(t.status, 20), exit_cell, fmt.UNKNOWN if execs is None else execs_cell(execs)),
        sort_values=(t.container_id, t.kind, t.name, t.pod, t.pid, t.status, t.exit_status,
                     None if execs is None else len(execs)),
        health=health,
    )


def render_tasks(picture: NodePicture, now: float) -> list[Row]:
    if picture.execs is None:  # not read for this picture
        return [task_row(t) for t in picture.tasks]
    by_task: dict[str, list[ExecRow]] = {}
    for e in picture.execs:
        by_task.setdefault(e.container_id, []).append(e)
    return [task_row(t, by_task.get(t.container_id, []) if t.status == "RUNNING" and t.kind != "sandbox" else None)
            for t in picture.tasks]


def snapshot_row(s: SnapshotRow, now: float) -> Row:
    return Row(
        key=s.key,
        cells=(S(s.key, 24), S(s.kind, 20), S(s.parent, 24) or "-", fmt.mem(s.size_bytes), fmt.count(s.inodes),
               S(s.owner) or "-", "ORPHAN" if s.orphan else "", fmt.age(s.created_at_ns, now)),
        sort_values=(s.key, s.kind, s.parent, s.size_bytes, s.inodes, s.owner, s.orphan, _age_sort(s.created_at_ns)),
        health="orphan" if s.orphan else "ok",
    )


def render_snapshots(picture: NodePicture, now: float) -> list[Row]:
    return [snapshot_row(s, now) for s in picture.snapshots or ()]


def image_row(i: ImageRow) -> Row:
    users = ", ".join(S(u) for u in i.used_by[:3]) + (f" +{len(i.used_by) - 3}" if len(i.used_by) > 3 else "")
    return Row(
        key=i.id,
        cells=(S(i.name, 60), S(fmt.short_id(i.id.removeprefix("sha256:"))), fmt.mem(i.size), users or "-",
               "yes" if i.pinned else ""),
        sort_values=(i.name, i.id, i.size, len(i.used_by), i.pinned),
        health="ok" if i.used_by else "done",
    )


def render_images(picture: NodePicture, now: float) -> list[Row]:
    return [image_row(i) for i in picture.images or ()]
