"""Views and keys as data. Command mode, the help screen, the footer, read-only mode and the command palette all
read this registry, so adding a view is one entry plus a renderer. Headless: no textual here."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .model.picture import NodePicture
from .render import views as r
from .render.events import EVENT_COLUMNS, render_events
from .render.node import NODE_COLUMNS, render_node
from .render.table import Column, Row


@dataclass(frozen=True)
class KeySpec:
    key: str  # Textual key name, e.g. "ctrl+k"
    action: str  # the action name on the browser screen
    description: str
    dangerous: bool = False  # changes the node: dropped in read-only mode
    show: bool = True  # in the footer


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
    keys: tuple[KeySpec, ...] = field(default_factory=tuple)
    default_sort: int | None = None
    kind: str = ""  # what a row is: pod, container, task, snapshot, image, node

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


CONTAINER_KEYS = (
    KeySpec("l", "logs", "Logs"),
    KeySpec("p", "previous_logs", "Previous logs"),
    KeySpec("d", "describe", "Describe"),
    KeySpec("s", "shell", "Shell", dangerous=True),
    KeySpec("a", "attach", "Attach", dangerous=True),
    KeySpec("x", "exec_once", "Run command", dangerous=True),
    KeySpec("ctrl+k", "kill", "Kill/stop", dangerous=True),
    KeySpec("ctrl+d", "delete", "Remove", dangerous=True),
    KeySpec("space", "mark", "Mark", show=False),
)

POD_KEYS = (
    KeySpec("l", "logs", "Logs"),
    KeySpec("d", "describe", "Describe"),
    KeySpec("y", "yaml", "YAML"),
    KeySpec("s", "shell", "Shell", dangerous=True),
    KeySpec("ctrl+k", "kill", "Stop pod", dangerous=True),
    KeySpec("ctrl+d", "delete", "Delete/remove", dangerous=True),
    KeySpec("space", "mark", "Mark", show=False),
)

DESCRIBE_ONLY = (KeySpec("d", "describe", "Describe"),)

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
    ViewSpec("pods", ("po", "pod"), "Pods", r.POD_COLUMNS, _pods, enter="containers", keys=POD_KEYS, kind="pod",
             needs=("pod-stats",)),
    ViewSpec(
        "containers", ("co", "container"), "Containers", r.CONTAINER_COLUMNS, _containers, enter="container",
        keys=CONTAINER_KEYS, kind="container", needs=("container-stats",),
    ),
    ViewSpec("tasks", ("task", "tk"), "Tasks", r.TASK_COLUMNS, _tasks, needs=("tasks",), keys=CONTAINER_KEYS[:3],
             kind="task"),
    ViewSpec(
        "snapshots", ("snap", "snapshot", "sn"), "Snapshots", r.SNAPSHOT_COLUMNS, _snapshots, needs=("snapshots",),
        keys=DESCRIBE_ONLY, kind="snapshot",
    ),
    ViewSpec(
        "images", ("img", "image", "im"), "Images", r.IMAGE_COLUMNS, _images, needs=("images",), keys=DESCRIBE_ONLY,
        kind="image",
    ),
    ViewSpec("node", ("no", "nodes"), "Node", NODE_COLUMNS, _node, kind="node"),
    ViewSpec("events", ("ev", "event"), "Events", EVENT_COLUMNS, _events, kind="event"),
)


def find_view(name: str) -> ViewSpec | None:
    name = name.strip().lower()
    return next((v for v in VIEWS if name in v.names), None)

