"""Enter on a container: its figures with sparklines, process tree, labels, mounts, snapshot and log path."""
from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from n9s.widgets.footer import Footer
from n9s.widgets.node_header import NodeHeader

from n9s.core import clock, keys
from n9s.model.detail import ContainerDetail, container_detail
from n9s.render.detail import detail_sections
from n9s.core.sanitize import sanitize_label
from n9s.ui.screens.base import N9sScreen
from n9s.ui.screens.keyed import Keyed, bindings, gated


def detail_renderable(d: ContainerDetail) -> Group:
    parts = []
    for title, lines in detail_sections(d, clock.now()):
        table = Table(title=title, title_justify="left", show_header=False, expand=True, box=None, padding=(0, 1))
        table.add_column("what", style="bold", ratio=1, no_wrap=True)
        table.add_column("value", ratio=4)
        for what, value in lines:
            table.add_row(Text(what), Text(value))
        parts.append(table)
    return Group(*parts)


class ContainerDetailScreen(Keyed, N9sScreen):
    KEYS = keys.CONTAINER_DETAIL
    BINDINGS = bindings(KEYS)
    key_kind = "container"
    help_title = "Container"

    def __init__(self, container_id: str) -> None:
        super().__init__()
        self.container_id = container_id
        self._facts = None
        self._shown: ContainerDetail | None = None  # the last detail drawn: what ctrl-k chooses from

    def compose(self) -> ComposeResult:
        yield NodeHeader()
        yield Static(f"container {self.container_id[:13]}", id="crumbs")
        with VerticalScroll():
            yield Static("loading…", id="detail")
        yield Footer()

    def on_mount(self) -> None:
        self.show_picture(getattr(self.app, "picture", None))

    def show_picture(self, picture) -> None:
        headers = self.query(NodeHeader)
        if not headers:
            return  # pushed but not composed yet: on_mount shows the app's latest picture
        headers.first().show(picture, bool(getattr(self.app, "readonly", False)))
        self.follow_session()
        if picture is None:
            return
        row = picture.container(self.container_id)
        if row is None:
            self.query_one("#detail", Static).update("this container is gone")
            return
        crumbs = f"containers > {sanitize_label(row.pod_key)}/{sanitize_label(row.name)}"
        self.query_one("#crumbs", Static).update(Text(crumbs))
        self.load(row)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self, row) -> None:
        # The status facts (mounts, snapshot, log path) hold while the container keeps its state: fetched once.
        detail = container_detail(self.n9s.collector, row, self._facts)
        self._facts = detail.facts
        self.app.call_from_thread(self._draw, detail)

    def _draw(self, detail: ContainerDetail) -> None:
        self._shown = detail
        self.query_one("#detail", Static).update(detail_renderable(detail))

    @gated
    def action_logs(self) -> None:
        self.n9s.open_logs("container", self.container_id, previous=False)

    @gated
    def action_describe(self) -> None:
        self.n9s.open_describe("container", self.container_id)

    @gated
    def action_shell(self) -> None:
        self.n9s.open_shell("container", self.container_id)

    @gated
    def action_end_exec(self) -> None:
        from n9s.ui.flows.exec_end_flow import confirm_end_exec

        shown = self._shown
        if shown is None:
            self.app.notify("the detail is still loading", severity="warning", markup=False)
            return
        confirm_end_exec(self.app, shown.row, shown.execs)
