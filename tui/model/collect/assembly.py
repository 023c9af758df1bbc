"""Rows and pods, joined from the listing, what is known per container and the cgroup samples. Each thing made is
kept with what it was made from (n9s.model.kept) and handed on as the very same object while that holds: a
container row while its listing entry, task and learnt facts are the same and no cgroup of its was read; all rows
while the listing, the task list and every row are; the pods while the listing and every row are (their pod
cgroup figures read again); the task rows while the task list is."""
from __future__ import annotations

from dataclasses import replace
from typing import Any, NamedTuple

from n9s.model.joins import build_pods, container_restarts
from n9s.model.kept import Kept
from n9s.model.picture import ContainerRow, Figures, PodRow, TaskRow
from n9s.model.collect.known import KnownContainers
from n9s.model.collect.listing import Listing
from n9s.model.collect.sampling import Sampler
from n9s.model.collect.sources import Sources


class _Pods(NamedTuple):
    pods: list[PodRow]
    parts: list[tuple[list[ContainerRow], Figures]] | None  # per pod: current containers, their summed figures


def task_row(task: Any, row: ContainerRow | None, sandbox: Any) -> TaskRow:
    if row is not None:
        kind, name, pod = "container", row.name, row.pod_key
    elif sandbox is not None:
        kind, name, pod = "sandbox", sandbox.name, f"{sandbox.namespace}/{sandbox.name}"
    else:
        kind, name, pod = "", "", ""
    return TaskRow(task.container_id, task.pid, task.status, task.exit_status, task.exited_at_ns, kind, name, pod)


class Assembly:
    def __init__(self, sources: Sources, listing: Listing, known: KnownContainers, sampler: Sampler) -> None:
        self._sources = sources
        self._listing = listing
        self._known = known
        self._sampler = sampler
        self._row_memos: dict[str, Kept[ContainerRow]] = {}
        self._row_hits = 0  # container rows handed on from their memo (counted, to know a whole listing was)
        self._rows: Kept[list[ContainerRow]] | None = None
        self._pods: Kept[_Pods] | None = None
        self._task_rows: Kept[tuple[TaskRow, ...]] | None = None

    # ---- container rows ----
    def rows(self, containers: list[Any], tasks: list[Any], hidden: bool) -> list[ContainerRow]:
        """The container rows, sorted. ``hidden``: no container list on screen (see Sampler.container_figures).
        A quiet node (the very listing and task list of the last refresh, nothing learnt about a container since,
        and every row then kept) gets the last refresh's rows as they are."""
        kept = self._rows
        if kept is not None and kept.holds((containers, tasks), (hidden, self._known.changes)):
            return kept.value
        hits, changes = self._row_hits, self._known.changes
        task_by_id = {t.container_id: t for t in tasks}
        rows = [self._row(c, task_by_id.get(c.id), hidden) for c in containers]
        # The runtime lists in no stable order (a Go map): without a sort, rows would move on every refresh.
        rows.sort(key=lambda r: (r.namespace, r.pod_name, r.name, r.attempt, r.id))
        self._forget_gone({c.id for c in containers})
        quiet = self._row_hits - hits == len(containers) and self._known.changes == changes
        self._rows = Kept(rows, (containers, tasks), (hidden, changes)) if quiet else None
        return rows

    def _row(self, listed: Any, task: Any, hidden: bool) -> ContainerRow:
        known, c = self._known.observe(listed, task, self._listing.task_ended(task))
        if c.state != listed.state:
            self._listing.lists_out_of_date()  # the exit settled: the lists kept from this refresh are not
        running = c.state == "RUNNING" and self._sources.cgroups is not None
        inputs = (c, task, known.location)
        facts = (known.row_facts(), self._sampler.memory_limit(c.id))
        kept = self._row_memos.get(c.id)
        if kept is not None and kept.holds(inputs, facts) and (not running or hidden):
            self._row_hits += 1
            return kept.value  # nothing it shows can have changed: same listing, same task, no cgroup to read
        figures, fixed = Figures(), not running
        if running:
            location = self._known.place(c.id, known, c.labels.get("io.kubernetes.pod.uid", ""))
            if location is not None:
                figures, fixed = self._sampler.container_figures(c.id, location, hidden)
        cpu_hist, mem_hist = self._sampler.history(c.id, figures)
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
        if fixed:
            self._row_memos[c.id] = Kept(row, (c, task, known.location),
                                         (known.row_facts(), self._sampler.memory_limit(c.id)))
        else:
            self._row_memos.pop(c.id, None)
        return row

    def _forget_gone(self, present: set[str]) -> None:
        cgroups = self._sources.cgroups
        for cid in self._known.forget_gone(present):
            self._row_memos.pop(cid, None)
            self._sampler.forget(cid)
            if cgroups is not None:
                cgroups.forget(cid)

    # ---- pods ----
    def pods(self, sandboxes: list[Any], rows: list[ContainerRow], *, with_cgroups: bool,
             limits_due: bool) -> list[PodRow]:
        """Pods with figures from their pod cgroup (``with_cgroups``), found through any running container of the
        pod (one light read), the containers' sum standing in for what it lacks; the sum alone otherwise.
        ``limits_due``: see Sampler.pod_round.

        When the listing and every container row are the very ones of the last refresh (a quiet node), the pods
        are the last ones with only their pod cgroup figures read again."""
        inputs = (sandboxes, *rows)
        kept = self._pods
        last = kept.value if kept is not None and kept.holds(inputs) else None
        if last is not None and not with_cgroups and last.parts is None:
            return last.pods
        if not with_cgroups:
            pods = build_pods(sandboxes, rows)
            self._pods = Kept(_Pods(pods, None), inputs)
            return pods
        round_ = self._sampler.pod_round(limits_due or last is None)

        def figures_of(sandbox_id: str, current: list[ContainerRow], summed: Figures) -> Figures:
            location = next((k.location for c in current if c.state == "RUNNING"
                             and (k := self._known.get(c.id)) is not None and k.location is not None), None)
            return round_.figures(sandbox_id, location, summed)

        if last is not None and last.parts is not None:
            pods = []
            for pod, (current, summed) in zip(last.pods, last.parts):
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
            self._pods = Kept(_Pods(pods, parts), inputs)
        round_.finish()
        return pods

    # ---- tasks ----
    def task_rows(self, tasks: list[Any], rows: list[ContainerRow], sandboxes: list[Any]) -> tuple[TaskRow, ...]:
        """The task rows: made again when the task list (by identity) or the containers it joins change."""
        facts = (len(rows), len(sandboxes))
        kept = self._task_rows
        if kept is not None and kept.holds((tasks,), facts):
            return kept.value
        names = {r.id: r for r in rows}
        sandbox_by_id = {s.id: s for s in sandboxes}
        made = tuple(sorted((task_row(t, names.get(t.container_id), sandbox_by_id.get(t.container_id))
                             for t in tasks), key=lambda t: (t.pod, t.kind, t.name, t.container_id)))
        self._task_rows = Kept(made, (tasks,), facts)
        return made
