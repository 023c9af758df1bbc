"""Oversized and hostile input, end to end: a 100 MiB log line, a container writing 100 MiB without a newline
while its pod's logs are followed, and a real pod with 10,000 labels, a 1 MiB annotation and escape sequences in
its names, labels and logs.

Each scenario drives the real app (Textual pilot) in a child process, so its peak memory growth is measured on
its own (``ru_maxrss`` after the setup against the end) and the child's deadline is only a hang guard: no timing
is asserted. In every screen, the bytes the app would write to the terminal are checked: nothing but colours and
cursor placement, nothing from the container acts on the terminal.
"""
from __future__ import annotations

import json
import re
import resource
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from pilot_helpers import wait_for as pilot_wait_for

from n9s.demo import ContainerSpec, PodSpec
from n9s.demo.pods import container_config
from n9s.pb import cri_pb2

TESTS_DIR = Path(__file__).parent
MIB = 1 << 20
ESC = "\x1b"
# Escape sequences a hostile container puts in its names, labels and logs: retitle, clear, DCS.
EVIL = f"{ESC}]0;owned\x07{ESC}[2J{ESC}P1;2qowned{ESC}\\"


# ---------------------------------------------------------------- helpers (parent and child)

def run_child(scenario: str, *args: str, timeout: float = 300) -> dict:
    """Run ``scenario(*args)`` of this module in a fresh interpreter; return what it returned."""
    code = ("import asyncio, json, sys; sys.path.insert(0, sys.argv[1]); import test_hostile_oversized as t; "
            "print('RESULT ' + json.dumps(asyncio.run(getattr(t, sys.argv[2])(*sys.argv[3:]))))")
    try:
        proc = subprocess.run([sys.executable, "-c", code, str(TESTS_DIR), scenario, *args], capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired as err:
        raise AssertionError(f"{scenario} still running after {timeout}s (hang guard): "
                             f"{(err.stderr or b'')[-2000:]!r}") from None
    assert proc.returncode == 0, proc.stderr[-4000:]
    line = next(line for line in proc.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# What the app itself writes: colours (SGR) and cursor placement at the start of each line.
_APP_SEQUENCES = re.compile(r"\x1b\[[0-9;:]*m|\x1b\[\d+;\d+H")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def screen_text(app) -> str:
    """What the current screen would write to the terminal, without the app's own colours and cursor moves."""
    raw = app.screen._compositor.render_full_update().render_segments(app.console)  # noqa: SLF001
    return _APP_SEQUENCES.sub("", raw)


def terminal_problems(app) -> list[str]:
    """Anything but colours, cursor placement and line ends in what the current screen would write to the
    terminal, and any payload of a removed control string."""
    rest = screen_text(app)
    problems = [repr(rest[max(m.start() - 30, 0):m.start() + 30]) for m in _CONTROL.finditer(rest)][:5]
    if "owned" in rest and "\\e]0;owned" not in rest:  # YAML shows an escaped ESC as the text \e: harmless
        problems.append("payload of a removed control string is shown")
    return problems


async def wait_until(pilot, predicate, timeout: float = 60.0) -> bool:
    return await pilot_wait_for(pilot, predicate, timeout)


def _rows(app) -> list[list[str]]:
    from n9s.widgets.resource_table import ResourceTable

    table = app.screen.query_one(ResourceTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def _select(app, first_cell: str) -> None:
    from n9s.widgets.resource_table import ResourceTable

    table = app.screen.query_one(ResourceTable)
    table.move_cursor(row=[r[0] for r in _rows(app)].index(first_cell), animate=False)


def _node_app(address: str, pods_dir: str):
    from n9s.ui.app import AppConfig, N9sApp
    from n9s.cli import make_collector
    from n9s.sources.containerd import ContainerdClient

    collector = make_collector(address, "k8s.io", pods_dir)
    return N9sApp(collector, AppConfig(refresh_s=1.0), events=ContainerdClient(address))


def _detail(app) -> dict[str, list[str]]:
    """The container detail's sections: title -> the values shown."""
    from textual.widgets import Static

    group = app.screen.query_one("#detail", Static).content
    return {str(t.title): [str(cell) for cell in t.columns[1]._cells]  # noqa: SLF001
            for t in getattr(group, "renderables", ())}


def _log_text(app) -> str:
    from n9s.widgets.log_view import LogView

    return "\n".join(app.screen.query_one(LogView).visible_text())


# ---------------------------------------------------------------- a 100 MiB log line (no node)

async def scenario_giant_line(path: str, save_dir: str) -> dict:
    from textual.app import App

    from n9s.ui.screens.logs import LogsScreen
    from n9s.widgets.log_view import LogView

    class LogsApp(App):
        def on_mount(self) -> None:
            self.push_screen(LogsScreen(path, "giant", save_dir=save_dir))

    app = LogsApp()
    base = peak_mib()
    out: dict = {}
    async with app.run_test(size=(120, 30)) as pilot:
        out["tail_shown"] = await wait_until(pilot, lambda: "the tail line" in _log_text(app))
        view = app.screen.query_one(LogView)
        # The tail comes first; the older lines appear above it as the background thread indexes the file.
        out["giant_row_shown"] = await wait_until(
            pilot, lambda: any(row.strip().startswith("xxxxxxxx") for row in view.visible_text()))
        out["widest_row"] = max(len(row) for row in view.visible_text())
        out["problems_tail"] = terminal_problems(app)
        await pilot.press("g")  # to the first line: indexes the whole file
        out["head_shown"] = await wait_until(pilot, lambda: "the first line" in _log_text(app))
        await pilot.press("w")  # wrap: the giant line becomes many rows, cut at the display limit
        await pilot.pause(0.5)
        out["wrapped_rows"] = sum(1 for row in view.visible_text() if row.strip().startswith("x"))
        out["problems_wrapped"] = terminal_problems(app)
        await pilot.press("w", "G")
        await pilot.press("slash", *"tail line", "enter")
        await pilot.press("ampersand", *"first", "enter")
        out["filtered"] = await wait_until(pilot, lambda: "filter /first/: 1 lines" in view.status_text()
                                           and "the first line" in _log_text(app))
        await pilot.press("escape")
        out["unfiltered"] = await wait_until(pilot, lambda: "3 lines" in view.status_text())
        await pilot.press("ctrl+s")
        out["saved"] = await wait_until(pilot, lambda: view.last_saved is not None)
        out["saved_path"] = view.last_saved
    out["rss_growth_mib"] = peak_mib() - base
    return out


def test_a_100_mib_log_line_opens_bounded_and_usable(tmp_path):
    path = tmp_path / "0.log"
    with open(path, "wb") as f:
        f.write(b"2024-01-02T03:04:05.000000001Z stdout F the first line\n")
        f.write(b"2024-01-02T03:04:05.000000002Z stdout F " + EVIL.encode())
        chunk = b"x" * MIB
        for _ in range(100):
            f.write(chunk)
        f.write(b"\n2024-01-02T03:04:05.000000003Z stdout F the tail line\n")
    result = run_child("scenario_giant_line", str(path), str(tmp_path / "saved"))
    assert result["tail_shown"] and result["head_shown"]
    assert result["giant_row_shown"] and result["widest_row"] <= 120  # cut at the screen's width
    assert 1 < result["wrapped_rows"] <= 30
    assert result["problems_tail"] == [] and result["problems_wrapped"] == []
    assert result["filtered"] and result["unfiltered"]  # keys still work: filter, clear it
    assert result["saved"]
    saved = Path(result["saved_path"])
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert saved.stat().st_size < 64 * 1024  # the view's lines, not 100 MiB
    assert "the tail line" in saved.read_text()
    # The file is 100 MiB; indexing reads it 1 MiB at a time and a line is read at most 256 KiB at a time (about
    # 8 MiB of growth here; reading 16 MiB index steps in one piece made it 21 MiB).
    assert result["rss_growth_mib"] < 16, result


# ---------------------------------------------------------------- a container writing 100 MiB without a newline

FLOOD_SCRIPT = ("echo waiting for go; while [ ! -e /tmp/go ]; do sleep 0.1; done; "
                "head -c 104857600 /dev/zero | tr '\\0' x; echo; echo after the flood; sleep 100000")


@pytest.fixture(scope="module")
def flood_pod(demo_node):
    spec = PodSpec(name="flood", namespace="hostile-logs", containers=[
        ContainerSpec("flood", ["sh", "-c", FLOOD_SCRIPT]),
        ContainerSpec("small", ["sh", "-c", "echo hello from small; sleep 100000"])])
    pod = demo_node.run_pod(spec)
    yield pod
    demo_node.remove_pod(pod)


async def scenario_flood(address: str, pods_dir: str, flood_id: str) -> dict:
    from n9s.sources.cri import CriClient
    from n9s.widgets.log_view import LogView

    app = _node_app(address, pods_dir)
    out: dict = {}
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_until(pilot, lambda: any(r[:2] == ["hostile-logs", "flood"] for r in _rows(app)))
        await pilot.press("slash", *"flood", "enter")
        await pilot.pause(0.3)
        await pilot.press("l")  # both containers merged by time, following
        out["waiting_shown"] = await wait_until(pilot, lambda: app.screen.__class__.__name__ == "LogsScreen"
                                                and "waiting for go" in _log_text(app))
        base = peak_mib()
        result = CriClient(address).exec_sync(flood_id, ["touch", "/tmp/go"], 10)
        out["triggered"] = result.exit_code == 0
        out["merged_end_shown"] = await wait_until(pilot, lambda: "after the flood" in _log_text(app), 180)
        out["merged_problems"] = terminal_problems(app)
        view = app.screen.query_one(LogView)
        await pilot.press("s")  # follow off, then on: the screen still answers keys
        out["paused"] = "paused" in view.status_text()
        await pilot.press("G")
        out["merged_growth_mib"] = peak_mib() - base
        await pilot.press("escape")
        await pilot.pause(0.3)
        await pilot.press("enter")  # the pod's containers
        await wait_until(pilot, lambda: sorted(r[0] for r in _rows(app)) == ["flood", "small"])
        _select(app, "flood")
        await pilot.press("l")  # one container: its file through the block index
        out["single_end_shown"] = await wait_until(pilot, lambda: app.screen.__class__.__name__ == "LogsScreen"
                                                   and "after the flood" in _log_text(app))
        out["single_rows"] = app.screen.query_one(LogView).row_count
        out["single_widest"] = max(len(row) for row in app.screen.query_one(LogView).visible_text())
        out["single_problems"] = terminal_problems(app)
    return out


@pytest.mark.node
def test_a_container_writing_100_mib_without_a_newline_is_followed_in_bounded_memory(demo_node, flood_pod):
    result = run_child("scenario_flood", str(demo_node.address), str(demo_node.pods_dir),
                       flood_pod.container("flood"))
    assert result["waiting_shown"] and result["triggered"]
    assert result["merged_end_shown"] and result["single_end_shown"]
    assert result["paused"]
    assert result["merged_problems"] == [] and result["single_problems"] == []
    # containerd cut the 100 MiB into 16 KiB P pieces: one row each in the container's view, cut to the screen.
    assert result["single_rows"] > 6000 and result["single_widest"] <= 160
    # About 22 MiB here. Before the fixes the merged view held every piece joined (111 MiB here, the whole file
    # in general) and could read 20,000 pieces (320 MiB) in one poll.
    assert result["merged_growth_mib"] < 60, result


# ---------------------------------------------------------------- 10,000 labels, a 1 MiB annotation, escapes

LABELS = {f"k{i:05d}.example.com/label": f"value-{i}" for i in range(10_000)}
HUGE = ("A" * 1000 + EVIL) * 1000  # about 1 MiB


@pytest.fixture(scope="module")
def big_pod(demo_node):
    """The pod has the labels and the annotation (containerd accepts them); so has its container `big`, made
    through CRI directly (the demo's containers carry only the kubelet's labels)."""
    spec = PodSpec(name=f"big{EVIL}", namespace="hostile-big",
                   labels=LABELS | {"app": "big", f"evil{EVIL}": f"value{EVIL}"}, annotations={"huge": HUGE},
                   containers=[ContainerSpec(f"c{EVIL}", ["sh", "-c", "printf 'log \\033]52;c;b3duZWQ=\\007 "
                                                         "line\\033[2J\\n'; sleep 100000"])])
    pod = demo_node.run_pod(spec)
    try:
        big = ContainerSpec("big", ["sleep", "100000"])
        config = container_config(spec, big, demo_node.image_ref)
        config.labels.update(LABELS | {f"evil{EVIL}": f"value{EVIL}"})
        config.annotations["huge"] = HUGE
        big_id = demo_node.runtime.CreateContainer(cri_pb2.CreateContainerRequest(
            pod_sandbox_id=pod.sandbox_id, config=config, sandbox_config=pod.sandbox_config), timeout=60).container_id
        demo_node.runtime.StartContainer(cri_pb2.StartContainerRequest(container_id=big_id), timeout=60)
        yield pod, big_id
    finally:
        demo_node.remove_pod(pod)


async def scenario_big_pod(address: str, pods_dir: str) -> dict:
    from textual.widgets import Static, TextArea

    app = _node_app(address, pods_dir)
    out: dict = {}
    base = peak_mib()
    async with app.run_test(size=(160, 40)) as pilot:
        out["pod_shown"] = await wait_until(pilot, lambda: any(r[0] == "hostile-big" for r in _rows(app)))
        out["pod_row"] = next(r[:2] for r in _rows(app) if r[0] == "hostile-big")
        out["pods_problems"] = terminal_problems(app)
        await pilot.press("slash", *"hostile-big", "enter")
        await pilot.pause(0.5)
        out["filtered"] = [r[:2] for r in _rows(app)]
        await pilot.press("escape", "slash", *"-l k09999.example.com/label=value-9999", "enter")
        await pilot.pause(0.5)
        out["label_filtered"] = [r[:2] for r in _rows(app)]
        await pilot.press("d")
        out["describe_loaded"] = await wait_until(
            pilot, lambda: "k09999.example.com/label" in app.screen.query_one(TextArea).text)
        out["describe_chars"] = len(app.screen.query_one(TextArea).text)
        out["describe_problems"] = terminal_problems(app)
        await pilot.press("end", "pagedown")
        await pilot.pause(0.2)
        out["describe_end_problems"] = terminal_problems(app)
        await pilot.press("escape")
        await pilot.pause(0.2)
        await pilot.press("enter")  # the pod's containers
        out["containers"] = await wait_until(pilot, lambda: sorted(r[0] for r in _rows(app)) == ["big", "c"])
        out["containers_problems"] = terminal_problems(app)
        _select(app, "big")
        await pilot.press("enter")  # the container detail: 10,000 labels, the 1 MiB annotation
        out["detail_loaded"] = await wait_until(pilot, lambda: "value-0" in _detail(app).get("Labels", []))
        out["detail_labels"] = _detail(app).get("Labels", [])[-3:]
        out["detail_label_rows"] = len(_detail(app).get("Labels", []))
        out["detail_annotation_chars"] = max(map(len, _detail(app).get("Annotations", [""])))
        out["detail_problems"] = terminal_problems(app)
        await pilot.press("end")
        await pilot.pause(0.3)
        out["detail_end_problems"] = terminal_problems(app)
        await pilot.press("escape")
        await pilot.pause(0.2)
        _select(app, "c")
        await pilot.press("enter")
        out["detail_c_loaded"] = await wait_until(
            pilot, lambda: "containers > hostile-big/big" in str(app.screen.query_one("#crumbs", Static).render()))
        out["detail_c_problems"] = terminal_problems(app)
        await pilot.press("l")
        out["logs_shown"] = await wait_until(pilot, lambda: app.screen.__class__.__name__ == "LogsScreen"
                                             and "log  line" in _log_text(app))
        out["logs_problems"] = terminal_problems(app)
    out["rss_growth_mib"] = peak_mib() - base
    return out


@pytest.mark.node
def test_a_pod_with_10000_labels_a_1_mib_annotation_and_escapes_is_shown_safely(demo_node, big_pod):
    result = run_child("scenario_big_pod", str(demo_node.address), str(demo_node.pods_dir))
    assert result["pod_shown"] and result["pod_row"] == ["hostile-big", "big"]  # the escapes are gone
    assert result["filtered"] == [["hostile-big", "big"]]
    assert result["label_filtered"] == [["hostile-big", "big"]]  # `-l` finds the 10,000th label
    assert result["describe_loaded"] and result["describe_chars"] > MIB
    assert result["containers"] and result["detail_loaded"] and result["detail_c_loaded"] and result["logs_shown"]
    # The detail is redrawn on every refresh: 10,000 label rows made each key press take seconds there, so it
    # shows the first 200 and says how many more the describe view has.
    assert result["detail_label_rows"] == 201 and result["detail_labels"][-1] == "9805 more labels (d: describe " \
        "shows all)", result["detail_labels"]
    assert result["detail_annotation_chars"] <= 160
    for screen in ("pods", "describe", "describe_end", "containers", "detail", "detail_end", "detail_c", "logs"):
        assert result[f"{screen}_problems"] == [], (screen, result[f"{screen}_problems"])
    assert result["rss_growth_mib"] < 400, result
