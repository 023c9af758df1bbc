"""The header: node name, runtime, node CPU and memory, refresh age, and why a source is missing."""
from __future__ import annotations

import time

from rich.text import Text
from textual.timer import Timer
from textual.widgets import Static

from n9s.core import clock
from n9s.model.picture import NOT_ANSWERING, NodePicture
from n9s.render import format as fmt
from n9s.core.sanitize import sanitize_label


# A picture older than this many refresh intervals is marked STALE even when every source answers: the refresh
# itself is late (a slow runtime), so what is shown may no longer be true.
LATE_INTERVALS = 3
LATE_FLOOR_S = 3.0  # with very short intervals, one busy refresh is not "late" yet
# A refresh running longer than this (and longer than one interval) is shown as running, with its age.
SLOW_REFRESH_S = 2.0
# The picture's age is shown once the next refresh is this much overdue. A "refreshed Ns ago" ticking every second
# said "fine" nearly all the time and cost two header repaints per refresh (measured: docs/benchmarks.md).
OVERDUE_GRACE_S = 1.0


def header_text(picture: NodePicture | None, now: float, readonly: bool = False, *,
                refresh_running_s: float | None = None, interval_s: float | None = None) -> Text:
    """``refresh_running_s``: how long the refresh under way has run (None: none runs); ``interval_s``: the
    refresh interval, for the late check."""
    text = Text(no_wrap=True, overflow="ellipsis")
    slow = refresh_running_s is not None and refresh_running_s >= max(SLOW_REFRESH_S, interval_s or 0.0)
    if picture is None:
        text.append(" n9s ", style="bold reverse")
        text.append("  connecting to the runtime…")
        if slow:
            text.append(f"  (waiting {int(refresh_running_s)}s for an answer)", style="bold yellow")
        return text
    n = picture.node
    text.append(" n9s ", style="bold reverse")
    text.append(f" {sanitize_label(n.hostname)} ", style="bold")
    runtime = sanitize_label(f"{n.runtime_name} {n.runtime_version}".strip(), 60)
    if runtime:
        text.append(f" {runtime} ")
    if n.cpu_count is not None:
        text.append(f" cpu {fmt.percent(n.cpu_percent)} of {n.cpu_count} ")
    if n.memory_total_bytes and n.memory_available_bytes is not None:
        used = n.memory_total_bytes - n.memory_available_bytes
        text.append(f" mem {fmt.mem(used)}/{fmt.mem(n.memory_total_bytes)} ")
    age_s = max(0.0, now - picture.taken_at)
    late = interval_s is not None and age_s > max(LATE_INTERVALS * interval_s, LATE_FLOOR_S)
    if interval_s is None or age_s > interval_s + OVERDUE_GRACE_S:
        text.append(f" refreshed {int(age_s)}s ago ", style="bold yellow" if late else "dim")
    if slow:
        text.append(f" refresh running for {int(refresh_running_s)}s ", style="bold yellow")
    if readonly:
        text.append(" READ-ONLY ", style="bold yellow")
    if picture.stale or late:
        text.append(" STALE ", style="bold white on red")
    for h in picture.health:
        if h.ok:
            continue
        text.append("\n")
        if h.name == "api":
            # The API part says why it is missing in its own words ("API: unreachable since 12:03:55, retrying").
            style = "yellow" if h.state in ("unavailable", "stale") else "bold red"
            text.append(f" {sanitize_label(h.message, 200)}" + ("" if picture.remote else "; showing the runtime's view"),
                        style=style)
            continue
        if h.state == NOT_ANSWERING:
            waited = f"{int(max(0.0, now - h.since))}s" if h.since else "a while"
            text.append(f" {h.name}: not answering for {waited} ({sanitize_label(h.message, 200)})", style="bold red")
            continue
        since = time.strftime("%H:%M:%S", time.localtime(h.since)) if h.since else "?"
        text.append(f" {h.name}: {h.state} since {since}: {sanitize_label(h.message, 200)}", style="bold red")
    if picture.local_only:
        text.append("\n")
        text.append(f" without the runtime: pods from {sanitize_label(picture.node.pods_dir or 'the pod log directory', 80)}"
                    " and their cgroups only", style="yellow")
    return text


class NodeHeader(Static):
    DEFAULT_CSS = """
    NodeHeader { height: auto; max-height: 5; background: $panel; }
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.picture: NodePicture | None = None
        self.readonly = False
        self._shown: tuple | None = None  # (plain text, spans) last handed to update()
        self._lines: int | None = None
        self._wake: Timer | None = None  # the one pending wake (see _arm)

    def on_mount(self) -> None:
        self._arm()

    def show(self, picture: NodePicture | None, readonly: bool) -> None:
        self.picture = picture
        self.readonly = readonly
        self.redraw()
        self._arm()

    def _arm(self) -> None:
        """Wake when time alone can next change the text: when the picture falls overdue (a fresh picture shows no
        age) or a running refresh turns slow, then every second while either holds. A plain 1 s interval woke the
        UI thread twice a refresh to find nothing to draw."""
        if self._wake is not None:
            self._wake.stop()
            self._wake = None
        if not self.is_attached:
            return  # a header taken off the screen must not keep waking itself
        self._wake = self.set_timer(self._next_change_in(), self._tick, name="header-wake")

    def _refresh_timing(self) -> tuple[float | None, float | None]:
        """(the refresh interval, how long the refresh under way has run): what the app says, None if it does not."""
        app = self.app
        return getattr(getattr(app, "config", None), "refresh_s", None), getattr(app, "refresh_running_s", None)

    def _next_change_in(self) -> float:
        interval, running = self._refresh_timing()
        picture = self.picture
        if picture is None or interval is None:
            return 1.0
        slow_after = max(SLOW_REFRESH_S, interval)
        if running is not None and running >= slow_after:
            return 1.0
        due = picture.taken_at + interval + OVERDUE_GRACE_S - clock.now()
        if running is not None:
            due = min(due, slow_after - running)
        return 1.0 if due <= 0 else due + 0.01  # just past the moment, so the age shown is already overdue

    def _tick(self) -> None:
        self._wake = None
        self.redraw()
        self._arm()

    def redraw(self) -> None:
        interval, running = self._refresh_timing()
        text = header_text(self.picture, clock.now(), self.readonly, refresh_running_s=running, interval_s=interval)
        shown = (text.plain, tuple(text.spans))
        if shown == self._shown:
            return
        self._shown = shown
        # A layout pass re-renders the whole screen (the table's visible rows too): only ask for one when the
        # header's height changes.
        lines = text.plain.count("\n")
        self.update(text, layout=lines != self._lines)
        self._lines = lines
