"""`x`, `s` and `a` in the app against the real demo node, driven with the Textual pilot as a user would."""
from __future__ import annotations

import asyncio

import pytest

from n9s.actions.layer import Actions
from n9s.ui.app import AppConfig, N9sApp
from n9s.actions.audit import AuditLog
from n9s.wiring import make_collector
from n9s.ui.flows.exec_flow import starting
from n9s.ui.screens.attach_choice import AttachChoice
from n9s.ui.screens.exec_panel import CommandLineError, ExecPanel, output_lines, split_command
from n9s.widgets.resource_table import ResourceTable

NODE = pytest.mark.node


# ---- command line splitting (no node) ----
def test_the_command_line_is_split_into_literal_arguments():
    assert split_command('echo "a; b" \'$(id)\' "\'q\'"') == ["echo", "a; b", "$(id)", "'q'"]
    assert split_command("ls   -la /etc") == ["ls", "-la", "/etc"]


def test_bad_command_lines_say_what_is_wrong():
    with pytest.raises(CommandLineError, match="closing quotation"):
        split_command('echo "open')
    with pytest.raises(CommandLineError, match="type a command"):
        split_command("   ")


def test_output_is_sanitised_line_by_line_and_bounded():
    lines, more = output_lines(b"ok\r\n\x1b]0;title\x07x\x1b[2Jy\nz\xff\n", limit=2)
    assert lines == ["ok", "xy"] and more == 1
    assert output_lines(b"") == ([], 0)


# ---- the app ----
class Harness:
    def __init__(self, node, tmp_path, *, readonly: bool = False) -> None:
        collector = make_collector(str(node.address), "k8s.io", str(node.pods_dir))
        self.audit = AuditLog(tmp_path / "audit.jsonl")
        actions = Actions(collector.cri, collector.containerd, readonly=readonly, audit=self.audit)
        self.app = N9sApp(collector, AppConfig(refresh_s=60, readonly=readonly, start_view="containers"),
                          actions=actions)
        self.notes: list[tuple[str, str]] = []
        self.app.notify = lambda message, **kw: self.notes.append((str(message), kw.get("severity", "")))


async def wait_for(pilot, predicate, timeout: float = 20.0) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        await pilot.pause(0.05)
        if predicate():
            return True
    return False


async def select_row(app, pilot, key: str) -> None:
    table = app.screen.query_one(ResourceTable)
    assert await wait_for(pilot, lambda: key in table.rows), "the row never showed up"
    table.move_cursor(row=table.get_row_index(key))
    await pilot.pause()
    assert table.current_key == key


async def run_in_panel(pilot, panel: ExecPanel, command: str) -> None:
    await pilot.press(*command)
    await pilot.press("enter")
    assert await wait_for(pilot, lambda: not panel.busy and panel.shown.strip() and "running" not in panel.shown)


@NODE
async def test_x_shows_stdout_stderr_and_the_exit_code(demo_node, tmp_path):
    h = Harness(demo_node, tmp_path)
    logger = demo_node.pods["default/web"].container("logger")
    async with h.app.run_test(size=(160, 45)) as pilot:
        await select_row(h.app, pilot, logger)
        await pilot.press("x")
        assert await wait_for(pilot, lambda: isinstance(h.app.screen, ExecPanel))
        panel = h.app.screen
        await run_in_panel(pilot, panel, "sh -c 'echo to-out; echo to-err >&2; exit 3'")
        shown = panel.shown
        assert "exit code 3" in shown
        assert "stdout:\nto-out\n" in shown
        assert "stderr:\nto-err\n" in shown
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: not isinstance(h.app.screen, ExecPanel))
    entry = h.audit.entries()[-1]
    assert entry["action"] == "exec" and entry["result"] == "exit 3" and entry["exit_code"] == 3
    assert entry["params"]["argv"] == ["sh", "-c", "echo to-out; echo to-err >&2; exit 3"]
    assert entry["targets"][0]["id"] == logger


@NODE
async def test_x_passes_quotes_and_shell_syntax_as_literal_arguments(demo_node, tmp_path):
    h = Harness(demo_node, tmp_path)
    async with h.app.run_test(size=(160, 45)) as pilot:
        await select_row(h.app, pilot, demo_node.pods["default/web"].container("logger"))
        await pilot.press("x")
        assert await wait_for(pilot, lambda: isinstance(h.app.screen, ExecPanel))
        panel = h.app.screen
        await run_in_panel(pilot, panel, 'echo "a; echo b" \'$(id)\' "\'q\'"')
        assert panel.last_argv == ["echo", "a; echo b", "$(id)", "'q'"]
        assert panel.last_result.stdout == b"a; echo b $(id) 'q'\n"
        assert "exit code 0" in panel.shown
        assert "stdout:\na; echo b $(id) 'q'\n" in panel.shown


@NODE
async def test_x_keeps_a_bad_command_line_and_says_why(demo_node, tmp_path):
    h = Harness(demo_node, tmp_path)
    async with h.app.run_test(size=(160, 45)) as pilot:
        await select_row(h.app, pilot, demo_node.pods["default/web"].container("logger"))
        await pilot.press("x")
        assert await wait_for(pilot, lambda: isinstance(h.app.screen, ExecPanel))
        panel = h.app.screen
        await pilot.press(*'echo "open')
        await pilot.press("enter")
        await pilot.pause()
        assert "cannot split the command line" in panel.shown
        assert panel.query_one("#exec-command").value == 'echo "open'
    assert h.audit.entries() == []


@NODE
async def test_x_output_reaches_the_screen_sanitised(demo_node, tmp_path):
    h = Harness(demo_node, tmp_path)
    async with h.app.run_test(size=(160, 45)) as pilot:
        await select_row(h.app, pilot, demo_node.pods["default/web"].container("logger"))
        await pilot.press("x")
        assert await wait_for(pilot, lambda: isinstance(h.app.screen, ExecPanel))
        panel = h.app.screen
        await run_in_panel(pilot, panel, r"printf 'safe-\033]0;evil-title\007\033[2Jtext\n'")
        assert b"\x1b]0;evil-title" in panel.last_result.stdout  # the container did send it
        assert "stdout:\nsafe-text\n" in panel.shown  # the title change and the screen clear are gone
        assert "\x1b" not in panel.shown


@NODE
async def test_s_on_a_pod_picks_its_first_running_container_and_sh(demo_node, tmp_path):
    h = Harness(demo_node, tmp_path)
    async with h.app.run_test(size=(160, 45)) as pilot:
        assert await wait_for(pilot, lambda: h.app.picture is not None)
        sandbox = demo_node.pods["default/web"].sandbox_id
        first = next(c for c in h.app.picture.pod(sandbox).containers if c.state == "RUNNING")
        h.app.open_shell("pod", sandbox)
        # The headless test driver cannot hand the terminal over; everything before that happened for real.
        assert await wait_for(pilot, lambda: any("cannot be handed over" in m for m, _ in h.notes)), h.notes
    shells = [e for e in h.audit.entries() if e["action"] == "shell"]
    assert [e["shell"] for e in shells] == [["sh"]]  # the probes for bash and sh are in this one record
    assert not [e for e in h.audit.entries() if e["action"] == "exec"]
    assert shells[0]["targets"][0]["id"] == first.id
    assert shells[0]["result"] == "ok"


@NODE
async def test_s_without_a_shell_offers_the_command_prompt(demo_node, tmp_path, monkeypatch):
    monkeypatch.setattr("n9s.ui.flows.exec_flow.SHELL_CANDIDATES", (("no-bash-here",), ("no-sh-here",)))
    h = Harness(demo_node, tmp_path)
    logger = demo_node.pods["default/web"].container("logger")
    async with h.app.run_test(size=(160, 45)) as pilot:
        await select_row(h.app, pilot, logger)
        await pilot.press("s")
        assert await wait_for(pilot, lambda: isinstance(h.app.screen, ExecPanel))
        panel = h.app.screen
        assert "has no shell" in str(panel.query_one("#exec-note").render())
        await run_in_panel(pilot, panel, "echo still-useful")
        assert "stdout:\nstill-useful\n" in panel.shown
    # The probes ran in the container: one shell record says so, and that none of the shells runs.
    (shell,) = [e for e in h.audit.entries() if e["action"] != "exec"]
    assert shell["action"] == "shell" and shell["shell"] is None and shell["result"].startswith("no shell")
    assert shell["params"]["candidates"] == [["no-bash-here"], ["no-sh-here"]]


@NODE
async def test_a_on_a_non_tty_container_attaches_read_only_with_stdout_and_stderr(demo_node, tmp_path):
    h = Harness(demo_node, tmp_path)
    logger = demo_node.pods["default/web"].container("logger")
    async with h.app.run_test(size=(160, 45)) as pilot:
        await select_row(h.app, pilot, logger)
        await pilot.press("a")
        assert await wait_for(pilot, lambda: isinstance(h.app.screen, AttachChoice))
        choice = h.app.screen
        assert not choice.tty and not choice.stdin_open
        assert "read-only is the only way" in str(choice.query_one("#attach-text").render())
        await pilot.press("i")  # no stdin to send to: refused, the choice stays
        assert h.app.screen is choice
        await pilot.press("r")
        assert await wait_for(pilot, lambda: any("cannot be handed over" in m for m, _ in h.notes)), h.notes
    attaches = [e for e in h.audit.entries() if e["action"] == "attach"]
    assert [e["params"] for e in attaches] == [{"stdin": False, "tty": False, "mode": "read-only"}]


@NODE
async def test_read_only_mode_refuses_shell_exec_and_attach_with_a_notification(demo_node, tmp_path):
    h = Harness(demo_node, tmp_path, readonly=True)
    logger = demo_node.pods["default/web"].container("logger")
    async with h.app.run_test(size=(160, 45)) as pilot:
        await select_row(h.app, pilot, logger)
        h.app.open_shell("container", logger)
        assert await wait_for(pilot, lambda: ("shell refused: n9s runs read-only", "error") in h.notes), h.notes

        h.app.open_exec_once(logger)
        assert await wait_for(pilot, lambda: isinstance(h.app.screen, ExecPanel))
        await pilot.press(*"touch /tmp/n9s-was-here")
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: ("exec refused: n9s runs read-only", "error") in h.notes), h.notes
        await pilot.press("escape")

        h.app.open_attach(logger)
        assert await wait_for(pilot, lambda: isinstance(h.app.screen, AttachChoice))
        await pilot.press("r")
        assert await wait_for(pilot, lambda: ("attach refused: n9s runs read-only", "error") in h.notes), h.notes
        assert await wait_for(pilot, lambda: not starting(h.app))
        h.app.open_shell("pod", demo_node.pods["default/web"].sandbox_id)
        assert await wait_for(pilot, lambda: len(h.notes) == 4), h.notes
    assert h.notes[-1] == ("shell refused: n9s runs read-only", "error")
    assert h.audit.entries() == []


@NODE
async def test_a_stopped_container_is_refused_before_any_call(demo_node, tmp_path):
    h = Harness(demo_node, tmp_path)
    crashed = demo_node.pods["demo/crash"].container("failing")
    demo_node.wait_for_state(crashed, "EXITED", timeout=20)
    async with h.app.run_test(size=(160, 45)) as pilot:
        assert await wait_for(pilot, lambda: h.app.picture is not None and h.app.picture.container(crashed))
        if h.app.picture.container(crashed).state != "EXITED":
            h.app.request_refresh()
            assert await wait_for(pilot, lambda: h.app.picture.container(crashed).state == "EXITED")
        h.app.open_exec_once(crashed)
        h.app.open_shell("container", crashed)
        await pilot.pause()
    assert [m for m, _ in h.notes] == ["container failing is EXITED: exec and attach need a running container"] * 2
    assert h.audit.entries() == []


@NODE
async def test_closing_the_panel_while_a_command_runs_is_quiet(demo_node, tmp_path):
    h = Harness(demo_node, tmp_path)
    async with h.app.run_test(size=(160, 45)) as pilot:
        await select_row(h.app, pilot, demo_node.pods["default/web"].container("logger"))
        await pilot.press("x")
        assert await wait_for(pilot, lambda: isinstance(h.app.screen, ExecPanel))
        panel = h.app.screen
        await pilot.press(*"sleep 1", "enter", "escape")
        assert await wait_for(pilot, lambda: not isinstance(h.app.screen, ExecPanel))
        assert await wait_for(pilot, lambda: not panel.busy)  # the command finished after the panel closed
        await pilot.pause(0.2)
    assert h.notes == []
    assert [e["params"]["argv"] for e in h.audit.entries()] == [["sleep", "1"]]


@NODE
async def test_a_second_s_while_a_shell_is_being_set_up_is_refused(demo_node, tmp_path):
    h = Harness(demo_node, tmp_path)
    logger = demo_node.pods["default/web"].container("logger")
    async with h.app.run_test(size=(160, 45)) as pilot:
        await select_row(h.app, pilot, logger)
        h.app.open_shell("container", logger)
        h.app.open_shell("container", logger)
        assert ("a session is starting already", "warning") in h.notes
        assert await wait_for(pilot, lambda: not starting(h.app))
    assert len([e for e in h.audit.entries() if e["action"] == "shell"]) == 1
