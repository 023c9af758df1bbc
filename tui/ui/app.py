"""The Textual app: owns the refresh loop and the event stream, hands each new picture to the visible screen,
and opens the other screens. Views, renderers and actions live elsewhere; this stays thin."""
from __future__ import annotations

import gc
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from textual import events as textual_events
from textual.app import App
from textual.message import Message
from textual.worker import Worker, WorkerState

from n9s.core import keys
from n9s.core.failures import failure_line
from n9s.ui.key_gate import KeyGate
from n9s.model.picture import NodePicture
from n9s.model.seams import PictureSource
from n9s.ui.palette import NodeCommands
from n9s.core.refresh_loop import RefreshLoop
from n9s.core.sanitize import sanitize_label
from n9s.ui.screens.keyed import bindings
from n9s.render.viewspec import ViewSpec, find_view

log = logging.getLogger("n9s")


@dataclass
class AppConfig:
    refresh_s: float = 2.0
    readonly: bool = False
    start_view: str = "pods"
    exit_after_first_paint: bool = False
    theme: str = "n9s"
    keymap: dict[str, str] = field(default_factory=dict)  # binding id -> keys, from the config file
    notices: tuple[str, ...] = ()  # said once at start (a file n9s refuses to write)


class PictureReady(Message):
    def __init__(self, picture: NodePicture, took_s: float) -> None:
        super().__init__()
        self.picture = picture
        self.took_s = took_s


class N9sApp(App):
    TITLE = "n9s"
    COMMANDS = App.COMMANDS | {NodeCommands}
    BINDINGS = bindings(keys.APP)

    def __init__(self, collector: PictureSource, config: AppConfig | None = None, *, events: Any = None,
                 actions: Any = None, first_refresh: Any = None):
        super().__init__()
        self.collector = collector
        self.first_refresh = first_refresh  # a BackgroundRefresh under way, taken by the first refresh
        self.config = config or AppConfig()
        self.readonly = self.config.readonly
        self.events = events  # a containerd client for the event stream, or None
        self.actions = actions
        index = getattr(collector, "exec_index", None)
        if index is not None and actions is not None:
            index.owners = actions.sessions  # so the views can say which execs this n9s started
        self.picture: NodePicture | None = None
        self.last_refresh_s = 0.0
        self._relist = False
        self._refresher = RefreshLoop(self._refresh_once, self._next_refresh_in, self._refresh_failed)
        start = find_view(self.config.start_view)
        self._needs: set[str] = set(start.needs) if start is not None else set()
        self._stop = threading.Event()
        self.first_paint_at: float | None = None
        self._first_paint_pending = False
        self.key_gate = KeyGate(self)

    async def on_event(self, event: textual_events.Event) -> None:
        # Keys from the terminal pass one at a time (a burst would otherwise act on the screen it left: KeyGate).
        if isinstance(event, textual_events.Key) and not event.is_forwarded:
            await self.key_gate.pass_key(event, super().on_event)
            return
        await super().on_event(event)

    # ---- lifecycle ----
    def on_mount(self) -> None:
        from n9s.themes import textual_themes

        from n9s.ui.screens.browser import BrowserScreen

        for theme in textual_themes():
            self.register_theme(theme)
        if self.config.theme in self.available_themes:
            self.theme = self.config.theme
        else:  # a typo in --theme or the config file is said on screen, where it is seen
            self.theme = AppConfig.theme
            self.notify(f"no theme named {sanitize_label(self.config.theme, 60)!r}: showing the {AppConfig.theme} "
                        "theme", severity="warning", timeout=20, markup=False)
        if self.config.keymap:
            self.set_keymap(self.config.keymap)
            unknown = sorted(set(self.config.keymap) - keys.keymap_ids())
            if unknown:
                names = ", ".join(sanitize_label(name, 40) for name in unknown)
                self.notify(f"config [keymap]: no key has the id {names}; ignored", severity="warning", timeout=10,
                            markup=False)

        self.push_screen(BrowserScreen(self.config.start_view))
        for notice in self.config.notices:
            self.notify(notice, severity="error", timeout=30, markup=False)
        self._refresher.start()
        self.request_refresh()
        if self.events is not None:
            self.run_worker(self._watch_events, thread=True, group="events", exit_on_error=False, name="events")

    def on_unmount(self) -> None:
        self._stop.set()
        self._refresher.stop()
        gc.unfreeze()  # what the first paint froze may be collected again once the app is gone
        if self.events is not None:
            # Closing the channel cancels the blocking event stream, so its worker thread can end.
            self.events.close()
        api = self.collector.api
        if api is not None:
            api.stop()

    # ---- refresh loop (a thread of its own): never two at once; the next is due one interval after one completes ----
    def request_refresh(self, *, relist: bool = False) -> None:
        """A refresh now, or right after the one under way. ``relist``: the runtime's lists are read again even if
        no event said they changed (the user asked)."""
        self._relist = self._relist or relist
        self._refresher.ask()

    @property
    def refresh_running_s(self) -> float | None:
        """How long the refresh under way has been running, or None between refreshes."""
        started = self._refresher.started_at
        return None if started is None else time.monotonic() - started

    def refresh_from_thread(self) -> None:
        """For source threads (the API watcher): ask for a refresh without blocking them (asking is thread-safe)."""
        if not self._stop.is_set():
            self.request_refresh()

    def request_refresh_for(self, view: ViewSpec) -> None:
        self._needs = set(view.needs)
        self.request_refresh()

    def _refresh_once(self) -> None:
        """One refresh, in the refresh loop's thread."""
        needs = set(self._needs)
        relist, self._relist = self._relist, False
        self._refresh_work(needs, relist)

    def _next_refresh_in(self) -> float:
        # The next sample comes sooner when rows lack a CPU rate (it needs two samples): at start, and when rows
        # come back on screen after a pause; or while CRI settles after an event.
        soon = self.collector.resample_soon
        return min(self.config.refresh_s, 1.0) if soon else self.config.refresh_s

    def _refresh_failed(self, err: Exception) -> None:
        if self._stop.is_set():
            return
        try:
            self.call_from_thread(self.report_error, "refresh", err)
        except RuntimeError:
            pass  # the app is not running any more

    def _refresh_work(self, needs: set[str], relist: bool = False) -> None:
        started = time.perf_counter()
        first, self.first_refresh = self.first_refresh, None
        if first is not None:  # started before the UI was imported (cli)
            picture = first.result()
        else:
            picture = self.collector.refresh(snapshots="snapshots" in needs, images="images" in needs,
                                             tasks="tasks" in needs, container_stats="container-stats" in needs,
                                             pod_stats="pod-stats" in needs, relist=relist,
                                             interval_s=self.config.refresh_s)
        took = time.perf_counter() - started
        log.debug("refresh took %.3fs: %d pods, %d containers%s", took, len(picture.pods), len(picture.containers),
                  " (stale)" if picture.stale else "")
        self.post_message(PictureReady(picture, took))
        if self.collector.status_pending and not self._stop.is_set():
            self.call_from_thread(self._start_status_fill)
        if "snapshots" in needs and picture.snapshots:
            missing = [s.key for s in picture.snapshots if s.size_bytes is None]
            if missing and self.collector.snapshot_usage(missing, picture.node.snapshotter, budget_s=3.0):
                self._refresher.ask()

    def _start_status_fill(self) -> None:
        """Fetch the CRI status the first refresh deferred (log paths, cgroup paths) without holding pictures up."""
        if any(w.name == "status" and not w.is_finished for w in self.workers):
            return
        self.run_worker(lambda: self.collector.fill_status(budget_s=10.0), thread=True, group="status",
                        exit_on_error=False, name="status")

    def on_picture_ready(self, message: PictureReady) -> None:
        if self._stop.is_set():
            return  # a refresh that ended while the app shuts down
        self.picture = message.picture
        self.last_refresh_s = message.took_s
        screen = self.screen
        if hasattr(screen, "show_picture"):
            screen.show_picture(message.picture)
        if self.first_paint_at is None and not message.picture.stale and self._first_paint_pending is False:
            self._first_paint_pending = True
            self.call_after_refresh(self._first_painted)

    def _first_painted(self) -> None:
        """The screen with the first picture's rows has been composed; stamp it (the benchmark's figure)."""
        self.first_paint_at = time.perf_counter()
        # Modules, widgets and the first picture live on: keep them out of every later cyclic GC pass
        # (each refresh allocates thousands of short-lived rows; docs/benchmarks.md has what it saved).
        gc.freeze()
        if self.config.exit_after_first_paint:
            # Leave the writer thread time to put the frame on the terminal before the app tears it down.
            self.set_timer(0.2, self.exit)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.report_worker_error(event.worker)

    def report_worker_error(self, worker: Worker) -> None:
        """The one error path for every worker (screens forward theirs here): tell the user, log the traceback,
        keep running."""
        self.report_error(worker.name, worker.error)

    def report_error(self, name: str | None, err: BaseException | None) -> None:
        """A background task (a worker, the refresh loop) failed: tell the user, log the traceback, keep running."""
        log.error("worker %s failed: %r", name, err, exc_info=err)
        what = sanitize_label(name or "background task", 60)
        self.notify(f"{what} failed: {failure_line(err)} (details in the log file)", severity="error",
                    timeout=8, markup=False)

    def action_refresh_now(self) -> None:
        self.request_refresh(relist=True)

    def _set_events_live(self, live: bool) -> None:
        """Without a live event stream the collector reads the task list on every refresh."""
        self.collector.events_live = live
        if not live:
            self.collector.note_task_event()

    # ---- containerd events: an exit, an OOM or a new container shows up at once ----
    def _watch_events(self) -> None:
        from n9s.sources.errors import SourceError

        last_asked = 0.0
        last_error = ""
        while not self._stop.is_set():
            try:
                self._set_events_live(True)
                for event in self.events.subscribe("/tasks/", "/containers/", "/snapshot/", "/images/"):
                    last_error = ""
                    if self._stop.is_set():
                        return
                    if event.topic.startswith(("/tasks/", "/containers/")):
                        self.collector.note_task_event()
                    if hasattr(self.collector, "note_exec_event"):
                        self.collector.note_exec_event(event.topic, event.container_id)
                    now = time.monotonic()
                    if now - last_asked > 0.25:
                        last_asked = now
                        self.request_refresh()  # thread-safe: it only wakes the refresh loop
            except SourceError as err:
                # Retried every second: log a failure once, not every retry (the socket may stay unusable).
                if str(err) != last_error:
                    log.info("event stream broke: %s", err)
                last_error = str(err)
                self.events.close()
            except Exception:  # noqa: BLE001 - a broken stream must never end the app
                log.exception("event stream failed")
            self._set_events_live(False)
            self._stop.wait(1.0)  # reconnect: containerd may be restarting

    # ---- screens ----
    def open_help(self) -> None:
        """`?` on any screen: the keys that screen has now."""
        from n9s.ui.screens.help import HelpScreen, help_rows

        screen = self.screen
        self.push_screen(HelpScreen(help_rows(screen), getattr(screen, "help_title", "") or "this screen"))

    def open_container_detail(self, container_id: str) -> None:
        from n9s.ui.screens.container_detail import ContainerDetailScreen

        if self.picture is not None and self.picture.container(container_id) is not None:
            self.push_screen(ContainerDetailScreen(container_id))

    def open_describe(self, kind: str, key: str) -> None:
        from n9s.render.describe import describe_loader
        from n9s.ui.screens.describe import DescribeScreen

        title, loader = describe_loader(self, kind, key)
        self.push_screen(DescribeScreen(title, loader))

    def open_yaml(self, key: str) -> None:
        from n9s.render.describe import yaml_loader
        from n9s.ui.screens.describe import DescribeScreen

        title, loader = yaml_loader(self, key)
        self.push_screen(DescribeScreen(title, loader))

    def open_logs(self, kind: str, key: str, previous: bool = False) -> None:
        from n9s.ui.flows.logs_flow import open_logs

        open_logs(self, kind, key, previous=previous)

    def open_shell(self, kind: str, key: str) -> None:
        from n9s.ui.flows.exec_flow import open_shell

        open_shell(self, kind, key)

    def open_attach(self, key: str) -> None:
        from n9s.ui.flows.exec_flow import open_attach

        open_attach(self, key)

    def open_exec_once(self, key: str) -> None:
        from n9s.ui.flows.exec_flow import open_exec_once

        open_exec_once(self, key)

    def confirm_kill(self, kind: str, keys: list[str]) -> None:
        from n9s.ui.flows.action_flow import confirm_kill

        confirm_kill(self, kind, keys)

    def confirm_delete(self, kind: str, keys: list[str]) -> None:
        from n9s.ui.flows.action_flow import confirm_delete

        confirm_delete(self, kind, keys)
