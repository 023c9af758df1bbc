"""Views as data. Command mode, the help screen and the command palette read this registry, so adding a view is one
entry plus a renderer; the keys of each view are declared in `n9s.core.keys` (which names the views they apply to).
Headless: no textual here."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from n9s.model.picture import NodePicture
from n9s.render import views as r
from n9s.render.events import EVENT_COLUMNS, render_events
from n9s.render.node import NODE_COLUMNS, render_node
from n9s.render.table import Column, Row


# Collections a picture holds only when a refresh was asked for them (None otherwise: the view waits).
COLLECTION_NEEDS = ("snapshots", "images")


@dataclass(frozen=True)
class ViewSpec:
    name: str
    aliases: tuple[str, ...]
    title: str
    columns: tuple[Column, ...]
    # (picture, now, context[, memo]) -> rows; memo: the renderer's own RenderMemo, kept across its renders
    render: Callable[..., list[Row]]
    needs: tuple[str, ...] = ()  # what a refresh must fetch for it: COLLECTION_NEEDS, "tasks",
    # "container-stats", "pod-stats" (cgroup figures are read only for the rows a view shows)
    enter: str | None = None  # the view Enter opens, with the selected row as its context
    default_sort: int | None = None
    kind: str = ""  # what a row is: pod, container, task, snapshot, image, node

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


# The renderer's own memo (each screen keeps one across its renders): a view that keeps nothing ignores it.
Memo = r.RenderMemo | None


def _pods(picture: NodePicture, now: float, context: str | None, memo: Memo = None) -> list[Row]:
    return r.render_pods(picture, now, memo.pods if memo is not None else None)


def _containers(picture: NodePicture, now: float, context: str | None, memo: Memo = None) -> list[Row]:
    return r.render_containers(picture, now, sandbox_id=context)


def _tasks(picture: NodePicture, now: float, context: str | None, memo: Memo = None) -> list[Row]:
    return r.render_tasks(picture, now)


def _snapshots(picture: NodePicture, now: float, context: str | None, memo: Memo = None) -> list[Row]:
    return r.render_snapshots(picture, now)


def _images(picture: NodePicture, now: float, context: str | None, memo: Memo = None) -> list[Row]:
    return r.render_images(picture, now)


def _node(picture: NodePicture, now: float, context: str | None, memo: Memo = None) -> list[Row]:
    return render_node(picture, now)


def _events(picture: NodePicture, now: float, context: str | None, memo: Memo = None) -> list[Row]:
    return render_events(picture, now)


VIEWS: tuple[ViewSpec, ...] = (
    ViewSpec("pods", ("po", "pod"), "Pods", r.POD_COLUMNS, _pods, enter="containers", kind="pod",
             needs=("pod-stats",)),
    ViewSpec(
        "containers", ("co", "container"), "Containers", r.CONTAINER_COLUMNS, _containers, enter="container",
        kind="container", needs=("container-stats",),
    ),
    ViewSpec("tasks", ("task", "tk"), "Tasks", r.TASK_COLUMNS, _tasks, needs=("tasks",), kind="task"),
    ViewSpec(
        "snapshots", ("snap", "snapshot", "sn"), "Snapshots", r.SNAPSHOT_COLUMNS, _snapshots, needs=("snapshots",),
        kind="snapshot",
    ),
    ViewSpec(
        "images", ("img", "image", "im"), "Images", r.IMAGE_COLUMNS, _images, needs=("images",),
        kind="image",
    ),
    ViewSpec("node", ("no", "nodes"), "Node", NODE_COLUMNS, _node, kind="node"),
    ViewSpec("events", ("ev", "event"), "Events", EVENT_COLUMNS, _events, kind="event"),
)


def find_view(name: str) -> ViewSpec | None:
    name = name.strip().lower()
    return next((v for v in VIEWS if name in v.names), None)

