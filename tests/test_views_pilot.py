"""The views driven as a user drives them (Textual pilot) on the real demo node: `:` views, `/` filters, sorting,
drill-down, detail, describe, the palette, and a container that exits while the view is open."""
from __future__ import annotations

import asyncio
import io

import pytest
from rich.console import Console
from textual.widgets import Static, TextArea

from n9s.ui.app import AppConfig, N9sApp
from n9s.wiring import make_collector
from n9s.demo import ContainerSpec, PodSpec
from n9s.render.views import CONTAINER_COLUMNS, POD_COLUMNS
from n9s.sources.containerd import ContainerdClient
from n9s.sources.cri import CriClient
from n9s.widgets.resource_table import ResourceTable
from pilot_helpers import wait_for
from test_render_format import CONTAINER_HEADER, POD_HEADER, in_order

pytestmark = pytest.mark.node


def make_app(node, refresh_s: float = 0.5, **config) -> N9sApp:
    collector = make_collector(str(node.address), "k8s.io", str(node.pods_dir))
    return N9sApp(collector, AppConfig(refresh_s=refresh_s, **config), events=ContainerdClient(str(node.address)))




def table(app) -> ResourceTable:
    return app.screen.query_one(ResourceTable)


def rows(app) -> list[list[str]]:
    t = table(app)
    return [[str(c) for c in t.get_row_at(i)] for i in range(t.row_count)]


def header(app) -> list[str]:
    return [label.rstrip("↑↓") for label in table(app).column_labels]


def col(app, name: str) -> int:
    return [c.name for c in app.screen.frame.view.columns].index(name)


def view_name(app) -> str:
    return app.screen.frame.view.name


async def type_command(pilot, text: str) -> None:
    await pilot.press("colon", *text, "enter")


async def type_filter(pilot, text: str, submit: bool = True) -> None:
    await pilot.press("slash", *text)
    if submit:
        await pilot.press("enter")


def pods_shown(app) -> set[tuple[str, str]]:
    return {(r[0], r[1].removesuffix(" [static]")) for r in rows(app)}


async def started(app, pilot, node) -> None:
    expected = {(p.namespace, p.name) for p in node.pods.values()}
    assert await wait_for(pilot, lambda: expected <= pods_shown(app)), pods_shown(app)


async def test_command_mode_switches_views_and_each_shows_its_rows(demo_node):
    app = make_app(demo_node)
    ctd = ContainerdClient(str(demo_node.address))
    async with app.run_test(size=(200, 50)) as pilot:
        await started(app, pilot, demo_node)
        assert header(app) == [c.name for c in POD_COLUMNS]
        assert in_order(POD_HEADER, header(app))

        await type_command(pilot, "co")
        assert await wait_for(pilot, lambda: view_name(app) == "containers" and len(rows(app)) > 0)
        assert header(app) == [c.name for c in CONTAINER_COLUMNS]
        assert in_order(CONTAINER_HEADER, header(app))
        assert {"burner", "holder", "failing", "server", "logger"} <= {r[0] for r in rows(app)}

        await type_command(pilot, "snap")
        keys = {s.key for s in ctd.snapshots(demo_node.snapshotter)}
        assert await wait_for(pilot, lambda: view_name(app) == "snapshots" and len(rows(app)) == len(keys))
        assert set(table(app).keys) == keys
        assert header(app)[:3] == ["KEY", "KIND", "PARENT"]

        await type_command(pilot, "img")
        assert await wait_for(pilot, lambda: view_name(app) == "images" and len(rows(app)) >= 1)
        image = next(r for r in rows(app) if r[0] == demo_node.image_ref)
        assert image[1] == demo_node.image_id.removeprefix("sha256:")[:13]

        await type_command(pilot, "tasks")
        assert await wait_for(pilot, lambda: view_name(app) == "tasks" and len(rows(app)) > 0)
        tasks = rows(app)
        burner = next(r for r in tasks if r[2] == "burner")
        assert burner[1] == "container" and burner[3] == "demo/burn" and burner[5] == "RUNNING"
        assert any(r[1] == "sandbox" and r[3] == "default/web" for r in tasks)

        await type_command(pilot, "node")
        assert await wait_for(pilot, lambda: view_name(app) == "node" and len(rows(app)) > 0)
        node_rows = {(r[0], r[1]): r[2] for r in rows(app)}
        assert node_rows[("runtime", "containerd")] == ctd.version().version
        assert node_rows[("workload", "pods")] == str(len(CriClient(str(demo_node.address)).list_pod_sandboxes()))

        await type_command(pilot, "nosuchview")
        assert view_name(app) == "node"  # an unknown name changes nothing (and says so)


async def test_filter_leaves_the_burner_and_inverse_hides_it(demo_node):
    app = make_app(demo_node)
    async with app.run_test(size=(200, 50)) as pilot:
        await started(app, pilot, demo_node)
        total = len(rows(app))
        await type_filter(pilot, "burn")
        assert await wait_for(pilot, lambda: pods_shown(app) == {("demo", "burn")})
        assert "/burn" in str(app.screen.query_one("#crumbs", Static).render())
        await pilot.press("escape")  # clears the filter
        assert await wait_for(pilot, lambda: len(rows(app)) == total)

        await type_filter(pilot, "!burn")
        assert await wait_for(pilot, lambda: len(rows(app)) == total - 1)
        assert ("demo", "burn") not in pods_shown(app)
        await pilot.press("escape")

        await type_filter(pilot, "-l app=web")
        assert await wait_for(pilot, lambda: pods_shown(app) == {("default", "web")})
        await pilot.press("escape")
        await type_command(pilot, "co")
        await type_filter(pilot, "-l app=web")
        assert await wait_for(pilot, lambda: sorted(r[0] for r in rows(app)) == ["logger", "server"])


async def test_sorting_by_cpu_puts_the_burner_first(demo_node):
    app = make_app(demo_node, start_view="containers")
    async with app.run_test(size=(200, 50)) as pilot:
        cpu = CONTAINER_COLUMNS.index(next(c for c in CONTAINER_COLUMNS if c.name == "CPU"))
        # CPU needs two samples: wait until the burner has a figure.
        assert await wait_for(pilot, lambda: any(r[0] == "burner" and r[cpu].endswith("m") for r in rows(app)))
        await pilot.press("C")
        assert await wait_for(pilot, lambda: rows(app)[0][0] == "burner"), rows(app)
        assert "sort:CPU↓" in str(app.screen.query_one("#crumbs", Static).render())
        assert header(app)[cpu] == "CPU" and table(app).column_labels[cpu] == "CPU↓"
        await pilot.press("exclamation_mark")  # reversed: the burner goes to the end of the known figures
        assert await wait_for(pilot, lambda: rows(app)[0][0] != "burner")
        known = [r[0] for r in rows(app) if r[cpu] != "-"]
        assert known[-1] == "burner"
        await pilot.press("N")  # by name, A-Z
        assert await wait_for(pilot, lambda: [r[0] for r in rows(app)] == sorted(r[0] for r in rows(app)))
        await pilot.press("R")  # restarts: in the containers view, the attempt
        assert await wait_for(pilot, lambda: "sort:ATTEMPT↓" in str(app.screen.query_one("#crumbs", Static).render()))
        await pilot.press("greater_than_sign")  # the next column to the right
        assert await wait_for(pilot, lambda: "sort:CPU↓" in str(app.screen.query_one("#crumbs", Static).render()))


async def test_a_container_that_exits_while_shown_turns_exited_without_waiting_for_the_timer(demo_node):
    # The timer refresh is far away (60 s): only the containerd event stream can bring the change in time.
    app = make_app(demo_node, refresh_s=60.0, start_view="containers")
    spec = PodSpec(name="exits", namespace="n9s-views", labels={"app": "exits"},
                   containers=[ContainerSpec("sleeper", ["sh", "-c", "sleep 3; exit 5"])])
    pod = None
    try:
        async with app.run_test(size=(200, 50)) as pilot:
            assert await wait_for(pilot, lambda: any(r[0] == "burner" for r in rows(app)))
            pod = await asyncio.to_thread(demo_node.run_pod, spec)
            cid = pod.container("sleeper")
            state, exit_ = col(app, "STATE"), col(app, "EXIT")

            def sleeper():
                t = table(app)
                keys = t.keys
                return rows(app)[keys.index(cid)] if cid in keys else None

            assert await wait_for(pilot, lambda: sleeper() is not None, timeout=10)
            assert sleeper()[1] == "n9s-views/exits"
            assert await wait_for(pilot, lambda: sleeper()[state].startswith("EXITED"), timeout=20), sleeper()
            assert sleeper()[state] == "EXITED (Error)" and sleeper()[exit_] == "5"
    finally:
        if pod is not None:
            demo_node.remove_pod(pod)


def detail_text(app) -> str:
    content = app.screen.query_one("#detail", Static).content
    if isinstance(content, str):
        return content
    console = Console(width=200, file=io.StringIO(), record=True, color_system=None)
    console.print(content)
    return console.export_text()


async def test_enter_drills_from_pod_to_containers_to_detail_and_d_describes(demo_node):
    app = make_app(demo_node)
    burn = demo_node.pod("demo/burn")
    cid = burn.container("burner")
    async with app.run_test(size=(200, 60)) as pilot:
        await started(app, pilot, demo_node)
        t = table(app)
        t.move_cursor(row=t.get_row_index(burn.sandbox_id))
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: view_name(app) == "containers" and [r[0] for r in rows(app)] == ["burner"])
        assert "pods > containers(demo/burn)" in str(app.screen.query_one("#crumbs", Static).render())
        # A few refreshes so the CPU history has points to draw.
        assert await wait_for(pilot, lambda: len(app.picture.container(cid).cpu_history) >= 3)
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: type(app.screen).__name__ == "ContainerDetailScreen")
        assert await wait_for(pilot, lambda: "Processes" in detail_text(app))
        text = detail_text(app)
        cpu_line = next(line for line in text.splitlines() if line.strip().startswith("cpu "))
        assert any(ch in cpu_line for ch in "▁▂▃▄▅▆▇█"), cpu_line  # the sparkline
        assert "while :; do :; done" in text  # the burner's shell in the process tree
        assert cid in text and "memory limit" in text
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: view_name(app) == "containers")

        await pilot.press("d")
        assert await wait_for(pilot, lambda: type(app.screen).__name__ == "DescribeScreen")
        assert await wait_for(pilot, lambda: cid in app.screen.query_one("#doc", TextArea).text)
        doc = app.screen.query_one("#doc", TextArea).text
        assert f"id: {cid}" in doc and "state: RUNNING" in doc and "name: burner" in doc
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: view_name(app) == "containers")
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: view_name(app) == "pods")


async def test_palette_jumps_to_a_pod(demo_node):
    app = make_app(demo_node)
    async with app.run_test(size=(200, 50)) as pilot:
        await started(app, pilot, demo_node)
        await pilot.press("ctrl+p")
        assert await wait_for(pilot, lambda: type(app.screen).__name__ == "CommandPalette")
        await pilot.press(*"pod demo/mem")
        await pilot.pause(0.5)
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: view_name(app) == "containers" and [r[0] for r in rows(app)] == ["holder"])
        assert "containers(demo/mem)" in str(app.screen.query_one("#crumbs", Static).render())
