"""The main screen: one resource table at a time, K9s navigation (`:` views, `/` filter, Enter, esc, sort)."""
from __future__ import annotations

from dataclasses import dataclass, replace

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Static

from n9s.widgets.footer import Footer
from n9s.widgets.node_header import NodeHeader
from n9s.widgets.prompt_input import PromptInput
from n9s.widgets.resource_table import ResourceTable

from n9s.core import clock, keys
from n9s.render.filtering import RowFilter
from n9s.model.picture import NodePicture
from n9s.render.table import Row, sort_rows
from n9s.render.views import RenderMemo
from n9s.core.sanitize import sanitize_label
from n9s.render.viewspec import COLLECTION_NEEDS, VIEWS, ViewSpec, find_view
from n9s.ui.screens.base import N9sScreen
from n9s.ui.screens.keyed import Keyed, bindings, gated

RUNTIME_ONLY = ("task", "snapshot", "image")

# The row actions by their action name: check_action keeps each to the views the registry names.
ROW_ACTIONS = {a.action: a for a in keys.ROW_ACTIONS}


@dataclass(frozen=True)
class Frame:
    view: ViewSpec
    context: str | None = None  # e.g. the sandbox id whose containers are shown
    context_label: str = ""
    filter: str = ""
    sort_index: int | None = None
    reverse: bool = False
    cursor_key: str | None = None


class BrowserScreen(Keyed, N9sScreen):
    KEYS = keys.BROWSER
    BINDINGS = bindings(KEYS)

    DEFAULT_CSS = """
    BrowserScreen #crumbs { height: 1; background: $boost; color: $text-muted; padding: 0 1; }
    BrowserScreen #prompt { display: none; height: 3; }
    BrowserScreen #prompt.visible { display: block; }
    BrowserScreen #empty { height: 1; color: $text-muted; padding: 0 1; display: none; }
    BrowserScreen #empty.visible { display: block; }
    """

    def __init__(self, start_view: str = "pods") -> None:
        super().__init__()
        view = find_view(start_view) or VIEWS[0]
        self.stack: list[Frame] = [Frame(view)]
        self.picture: NodePicture | None = None
        self._render_memo = RenderMemo()  # the renderers' memo for this screen's rows (idle pods keep theirs)
        self._prompt_mode = ""
        self._shown_columns: tuple | None = None
        # (picture, (view, context, sort column, reverse), rows): typing in `/` re-filters these, nothing more.
        self._rendered: tuple[NodePicture, tuple, list[Row]] | None = None
        self._crumbs = ""  # the breadcrumb text shown (an update asks for a layout pass of the whole screen)
        self._header: NodeHeader | None = None  # made in compose
        self._table: ResourceTable | None = None
        self._empty: Static | None = None

    # ---- layout ----
    def compose(self) -> ComposeResult:
        # Kept at hand: every refresh paints these, and a DOM query each time cost more than the header's text.
        self._header = NodeHeader(id="header")
        self._table = ResourceTable(id="table")
        self._empty = Static("", id="empty")
        yield self._header
        yield Static(id="crumbs")
        with Vertical():
            yield self._table
            yield self._empty
        yield PromptInput(id="prompt")
        yield Footer()

    @property
    def frame(self) -> Frame:
        return self.stack[-1]

    @property
    def table(self) -> ResourceTable:
        return self._table

    @property
    def readonly(self) -> bool:
        return bool(getattr(self.app, "readonly", False))

    @property
    def key_kind(self) -> str:  # type: ignore[override]
        return self.frame.view.kind

    @property
    def help_title(self) -> str:  # type: ignore[override]
        return self.frame.view.title

    def on_mount(self) -> None:
        self.picture = getattr(self.app, "picture", None)
        self.render_frame(columns_changed=True)
        self.table.focus()

    # ---- rendering ----
    def show_picture(self, picture: NodePicture) -> None:
        self.picture = picture
        if self._table is None or not self._table.is_attached:
            return  # not composed yet, or already torn down: on_mount renders the latest picture
        self.render_frame()
        self.follow_session()

    def _rows(self) -> list[Row]:
        """The frame's rows: rendered and sorted once per (picture, view, sort), filtered on every call."""
        frame = self.frame
        if self.picture is None:
            return []
        key = (frame.view, frame.context, frame.sort_index, frame.reverse)
        cached = self._rendered
        if cached is not None and cached[0] is self.picture and cached[1] == key:
            rows = cached[2]
        else:
            rows = frame.view.render(self.picture, clock.now(), frame.context, self._render_memo)
            if frame.sort_index is not None:
                rows = sort_rows(rows, frame.sort_index, frame.reverse)
            self._rendered = (self.picture, key, rows)
        # The filter keeps the order, so filtering the sorted rows equals sorting the filtered ones.
        return RowFilter(frame.filter).apply(rows)

    def render_frame(self, columns_changed: bool = False) -> None:
        frame = self.frame
        table = self.table
        if columns_changed or self._shown_columns is not frame.view.columns:
            table.set_columns(frame.view.columns, frame.sort_index, frame.reverse)
            self._shown_columns = frame.view.columns
        rows = self._rows()
        table.apply(rows)
        if frame.cursor_key is not None and frame.cursor_key in table.rows:
            table.move_cursor(row=table.get_row_index(frame.cursor_key), animate=False)
            self.stack[-1] = replace(frame, cursor_key=None)
        self._header.show(self.picture, self.readonly)
        self._render_crumbs(len(rows))
        empty = self._empty
        waiting = self.picture is None or (frame.view.needs and self._collection_missing(frame.view))
        remote_only = self.picture is not None and self.picture.remote and frame.view.kind in RUNTIME_ONLY
        no_runtime = self.picture is not None and self.picture.local_only and frame.view.kind in RUNTIME_ONLY
        if remote_only:
            empty.update(f"{frame.view.title} need n9s to run on the node itself (this is remote mode through the API)")
            empty.add_class("visible")
        elif no_runtime:
            runtime = self.picture.source("runtime")
            why = sanitize_label(runtime.message, 200) if runtime is not None else "the runtime is not reachable"
            empty.update(Text(f"{frame.view.title} need the container runtime: {why}"))
            empty.add_class("visible")
        elif waiting or not rows:
            empty.update("loading…" if waiting else "no rows" + (" match the filter" if frame.filter else ""))
            empty.add_class("visible")
        else:
            empty.remove_class("visible")

    def _collection_missing(self, view: ViewSpec) -> bool:
        p = self.picture
        return any(getattr(p, need, None) is None for need in view.needs if need in COLLECTION_NEEDS)

    def _render_crumbs(self, count: int) -> None:
        parts = []
        for f in self.stack:
            part = f.view.name
            if f.context_label:
                part += f"({sanitize_label(f.context_label)})"
            parts.append(part)
        crumbs = " > ".join(parts) + f" [{count}]"
        if self.frame.filter:
            crumbs += f"  /{sanitize_label(self.frame.filter)}"
        if self.frame.sort_index is not None:
            col = self.frame.view.columns[self.frame.sort_index].name
            crumbs += f"  sort:{col}{'↓' if self.frame.reverse else '↑'}"
        marked = len(self.table.marked)
        if marked:
            crumbs += f"  marked:{marked}"
        if crumbs != self._crumbs:
            self._crumbs = crumbs
            self.query_one("#crumbs", Static).update(crumbs)

    # ---- key availability ----
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # A row action exists only in the views the registry names. Where it exists, its key always reaches the
        # action (the gate says why it refuses: read-only, remote mode); the footer and `?` ask the same gate.
        entry = ROW_ACTIONS.get(action)
        if entry is not None and self.frame.view.name not in entry.views:
            return False
        return True

    # ---- navigation ----
    def push(self, frame: Frame) -> None:
        self.stack[-1] = replace(self.frame, cursor_key=self.table.current_key)
        self.stack.append(frame)
        self.table.marked.clear()
        self.render_frame(columns_changed=True)
        self.refresh_bindings()
        self.n9s.request_refresh_for(frame.view)

    def clear_marks(self) -> None:
        """Drop every mark and redraw the rows that showed them."""
        if self.table.marked:
            self.table.marked.clear()
            self.render_frame(columns_changed=True)

    def switch_to(self, view: ViewSpec) -> None:
        self.stack = [Frame(view)]
        self.table.marked.clear()
        self.render_frame(columns_changed=True)
        self.refresh_bindings()
        self.n9s.request_refresh_for(view)

    def action_back(self) -> None:
        prompt = self.query_one("#prompt", Input)
        if prompt.has_class("visible"):
            self._close_prompt()
            return
        if self.frame.filter:
            self.stack[-1] = replace(self.frame, filter="")
            self.render_frame()
            return
        if self.table.marked:
            self.clear_marks()
            return
        if len(self.stack) > 1:
            self.stack.pop()
            self.render_frame(columns_changed=True)
            self.refresh_bindings()

    @on(ResourceTable.RowSelected)
    def _row_selected(self, event: ResourceTable.RowSelected) -> None:
        # The table owns the enter key (select_cursor); its selection is our drill-down.
        event.stop()
        self.action_enter()

    def action_enter(self) -> None:
        key = self.table.current_key
        if key is None or self.picture is None:
            return
        view = self.frame.view
        if view.kind == "pod":
            pod = self.picture.pod(key)
            target = find_view("containers")
            if pod is not None and target is not None:
                self.push(Frame(target, context=pod.id, context_label=f"{pod.namespace}/{pod.name}"))
        elif view.kind in ("container", "task"):
            self.n9s.open_container_detail(key)
        elif view.name in keys.DESCRIBE.views:
            self.action_describe()

    # ---- prompt: `:` and `/` ----
    def action_command(self) -> None:
        self._open_prompt("command", "", "view name (pods, co, tasks, snap, img, node) or q")

    def action_filter(self) -> None:
        self._open_prompt("filter", self.frame.filter, "regex, !inverse, -l key=value")

    def _open_prompt(self, mode: str, value: str, placeholder: str) -> None:
        self._prompt_mode = mode
        self.query_one(PromptInput).open(value, (":" if mode == "command" else "/") + " " + placeholder,
                                         on_submit=self._submit_prompt)

    def _close_prompt(self) -> None:
        self.query_one(PromptInput).close()
        self._prompt_mode = ""
        self.app.set_focus(self.table)  # now, not after keys already queued (see PromptInput)

    @on(Input.Changed, "#prompt")
    def _live_filter(self, event: Input.Changed) -> None:
        if self._prompt_mode == "filter":
            self.stack[-1] = replace(self.frame, filter=event.value)
            self.render_frame()

    def _submit_prompt(self, value: str) -> None:
        mode = self._prompt_mode
        value = value.strip()
        self._close_prompt()
        if mode == "filter":
            self.stack[-1] = replace(self.frame, filter=value)
            self.render_frame()
        elif mode == "command":
            self.run_command(value)

    def run_command(self, value: str) -> None:
        value = value.lstrip(":").strip()
        if not value:
            return
        if value in ("q", "q!", "quit", "exit"):
            self.app.exit()
            return
        view = find_view(value.split()[0])
        if view is None:
            self.notify(f"no view named {sanitize_label(value)!r}", severity="error")
            return
        self.switch_to(view)

    # ---- sorting ----
    def _sort(self, index: int | None, reverse: bool) -> None:
        self.stack[-1] = replace(self.frame, sort_index=index, reverse=reverse)
        self.table.relabel_sort(index, reverse)
        self.render_frame()

    def action_sort_by(self, column: str) -> None:
        names = [c.name for c in self.frame.view.columns]
        if column == "STATUS" and column not in names:
            column = "STATE"
        if column == "RESTARTS" and column not in names:
            column = "ATTEMPT"  # a container's restarts are its attempts
        if column not in names:
            return
        index = names.index(column)
        if self.frame.sort_index == index:
            self._sort(index, not self.frame.reverse)
        else:
            # Figures sort biggest first, names A-Z first: what a user looks for.
            numeric = self.frame.view.columns[index].numeric
            self._sort(index, numeric and column != "AGE")

    def action_sort_left(self) -> None:
        n = len(self.frame.view.columns)
        current = self.frame.sort_index if self.frame.sort_index is not None else 0
        self._sort((current - 1) % n, self.frame.reverse)

    def action_sort_right(self) -> None:
        n = len(self.frame.view.columns)
        current = self.frame.sort_index if self.frame.sort_index is not None else -1
        self._sort((current + 1) % n, self.frame.reverse)

    def action_sort_reverse(self) -> None:
        self._sort(self.frame.sort_index if self.frame.sort_index is not None else 0, not self.frame.reverse)

    # ---- everything else is the app's (screens, actions); `?` is the Keyed screen's ----
    def selected_keys(self) -> list[str]:
        if self.table.marked:
            return sorted(self.table.marked)
        key = self.table.current_key
        return [key] if key else []

    @gated
    def action_mark(self) -> None:
        self.table.toggle_mark(self.table.current_key)
        self.table.action_cursor_down()
        self._render_crumbs(self.table.row_count)

    @gated
    def action_describe(self) -> None:
        key = self.table.current_key
        if key:
            self.n9s.open_describe(self.frame.view.kind, key)

    @gated
    def action_yaml(self) -> None:
        key = self.table.current_key
        if key:
            self.n9s.open_yaml(key)

    @gated
    def action_logs(self) -> None:
        key = self.table.current_key
        if key:
            self.n9s.open_logs(self.frame.view.kind, key, previous=False)

    @gated
    def action_previous_logs(self) -> None:
        key = self.table.current_key
        if key:
            self.n9s.open_logs(self.frame.view.kind, key, previous=True)

    @gated
    def action_shell(self) -> None:
        key = self.table.current_key
        if key:
            self.n9s.open_shell(self.frame.view.kind, key)

    @gated
    def action_attach(self) -> None:
        key = self.table.current_key
        if key:
            self.n9s.open_attach(key)

    @gated
    def action_exec_once(self) -> None:
        key = self.table.current_key
        if key:
            self.n9s.open_exec_once(key)

    @gated
    def action_kill(self) -> None:
        keys = self.selected_keys()
        if keys:
            self.n9s.confirm_kill(self.frame.view.kind, keys)

    @gated
    def action_delete(self) -> None:
        keys = self.selected_keys()
        if keys:
            self.n9s.confirm_delete(self.frame.view.kind, keys)
