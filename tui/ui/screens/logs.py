"""The logs screen: a header (container, file, follow state), the log view, a prompt for search/filter.

``LogsScreen(path_or_paths, title, previous=False)``: one path shows that container's whole history
(rotated files then the live file); several paths (a list, or container name → path) show the containers
merged by time. ``previous=True`` opens the previous attempt's log (``<attempt-1>.log``, or the highest
lower attempt present) of each path.
"""
from __future__ import annotations

import os
import time

from textual import on
from textual.app import ComposeResult
from textual.widgets import Input, Static

from n9s.widgets.footer import Footer
from n9s.widgets.log_view import LogView

from n9s.core import keys
from n9s.core.sanitize import sanitize_label
from n9s.sources.errors import NotFound, SourceError
from n9s.sources.logs.history import previous_attempt_path
from n9s.core.paths import saved_logs_dir
from n9s.sources.logs.lines import IndexedLines, MergedLines, open_lines
from n9s.ui.screens.base import N9sScreen
from n9s.ui.screens.keyed import Keyed, bindings

__all__ = ["LogsScreen", "default_save_dir"]

SINCE_PRESETS = {"2": 60, "3": 5 * 60, "4": 15 * 60, "5": 30 * 60, "6": 3600}


def default_save_dir() -> str:
    return str(saved_logs_dir())


def _previous_paths(path_or_paths):
    def prev(path: str) -> str:
        found = previous_attempt_path(os.fspath(path))
        if found is None:
            raise NotFound(f"no previous attempt's log next to {path}",
                           hint="the container has not restarted, or the kubelet removed the old log")
        return found

    if isinstance(path_or_paths, (str, os.PathLike)):
        return prev(path_or_paths)
    if isinstance(path_or_paths, dict):
        return {name: prev(p) for name, p in path_or_paths.items()}
    return [prev(p) for p in path_or_paths]


class LogsScreen(Keyed, N9sScreen):
    """Logs of one container (or several merged), K9s keys."""

    DEFAULT_CSS = """
    LogsScreen #log-header { height: 2; padding: 0 1; background: $panel; }
    LogsScreen #log-error { padding: 1 2; color: $error; }
    LogsScreen LogView { height: 1fr; }
    LogsScreen #log-prompt { dock: bottom; display: none; }
    LogsScreen #log-prompt.shown { display: block; }
    """

    KEYS = keys.LOGS_SCREEN
    BINDINGS = bindings(KEYS)
    help_title = "Logs"

    def __init__(self, path_or_paths, title: str, previous: bool = False, *, save_dir: str | None = None,
                 name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.title_text = sanitize_label(title, 120) + (" (previous)" if previous else "")
        self.save_dir = save_dir or default_save_dir()
        self._prompt_mode = "search"
        self.error: str | None = None
        self.source: IndexedLines | MergedLines | None = None
        try:
            target = _previous_paths(path_or_paths) if previous else path_or_paths
            self.source = open_lines(target)
        except SourceError as exc:
            self.error = str(exc)

    @property
    def view(self) -> LogView | None:
        views = self.query(LogView)
        return views.first() if views else None

    def compose(self) -> ComposeResult:
        yield Static(self._header(""), id="log-header", markup=False)
        if self.source is not None:
            yield LogView(self.source, id="log-view")
        else:
            yield Static(f"Cannot show logs: {sanitize_label(self.error or '', 400)}", id="log-error", markup=False)
        yield Input(placeholder="search", id="log-prompt")
        yield Footer()

    def on_mount(self) -> None:
        view = self.view
        if view is not None:
            view.focus()
            self._set_header(view.status_text())

    # -- header --------------------------------------------------------------------------------------

    def _header(self, status: str) -> str:
        files = self.source.files if self.source is not None else []
        live = files[-1] if files else "-"
        older = len(files) - 1
        file_part = sanitize_label(live, 200) + (f"  (+{older} rotated)" if older > 0 else "")
        return f"{self.title_text}  ·  {file_part}\n{status}"

    def _set_header(self, status: str) -> None:
        self.query_one("#log-header", Static).update(self._header(status))

    @on(LogView.Status)
    def _on_status(self, message: LogView.Status) -> None:
        self._set_header(message.text)

    @on(LogView.Event)
    def _on_event(self, message: LogView.Event) -> None:
        severity = message.severity if message.severity in ("information", "warning", "error") else "information"
        self.notify(sanitize_label(message.text, 300), severity=severity, timeout=4)

    # -- prompt --------------------------------------------------------------------------------------

    def action_prompt(self, mode: str) -> None:
        if self.view is None:
            return
        prompt = self.query_one("#log-prompt", Input)
        self._prompt_mode = mode
        prompt.placeholder = "search (regex)" if mode == "search" else "filter: show only lines matching (regex)"
        prompt.value = self.view.filter_pattern if mode == "filter" else ""
        prompt.add_class("shown")
        prompt.focus()

    def _close_prompt(self) -> None:
        prompt = self.query_one("#log-prompt", Input)
        prompt.remove_class("shown")
        if self.view is not None:
            self.view.focus()

    @on(Input.Submitted, "#log-prompt")
    def _on_prompt(self, event: Input.Submitted) -> None:
        view = self.view
        self._close_prompt()
        if view is None:
            return
        ok = view.search(event.value) if self._prompt_mode == "search" else view.set_filter(event.value)
        if not ok:
            self.notify("not a valid regex: matching the text as it is", severity="warning", timeout=3)

    # -- actions -------------------------------------------------------------------------------------

    def action_back(self) -> None:
        prompt = self.query_one("#log-prompt", Input)
        if prompt.has_class("shown"):
            self._close_prompt()
            return
        view = self.view
        if view is not None and view.filter_pattern:
            view.set_filter("")
            return
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
        else:
            self.app.exit()

    def action_search_next(self) -> None:
        if self.view is not None:
            self.view.search_next(forward=True)

    def action_search_previous(self) -> None:
        if self.view is not None:
            self.view.search_next(forward=False)

    def action_toggle_follow(self) -> None:
        if self.view is not None:
            self.view.toggle_follow()

    def action_toggle_wrap(self) -> None:
        if self.view is not None:
            self.view.toggle_wrap()

    def action_toggle_timestamps(self) -> None:
        if self.view is not None:
            self.view.toggle_timestamps()

    def action_top(self) -> None:
        if self.view is not None:
            self.view.go_top()

    def action_bottom(self) -> None:
        if self.view is not None:
            self.view.go_bottom()

    def action_tail(self) -> None:
        if self.view is not None:
            self.view.tail()

    def action_head(self) -> None:
        if self.view is not None:
            self.view.head()

    def action_since(self, key: str) -> None:
        if self.view is not None:
            self.view.since(SINCE_PRESETS[key])

    def action_save(self) -> None:
        if self.view is not None:
            stem = f"{self.title_text}-{time.strftime('%Y%m%d-%H%M%S')}"
            self.view.save(self.save_dir, stem)
