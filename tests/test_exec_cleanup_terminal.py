"""The whole app on a real terminal: a shell n9s started ends when the session does (ctrl-], a hang-up, SIGTERM),
unless the user chose to keep it; and each session starts on a clean screen under a line naming its target.

What runs in the container is read from containerd's pid list and /proc, not from n9s."""
from __future__ import annotations

import os
import re
import signal
import time

import psutil
import pytest
from pty_app import Screen
from vt_screen import VtScreen

from n9s.actions.audit import AuditLog
from n9s.ui.screens.session_ended import QUIET_S
from n9s.demo import ContainerSpec, PodSpec
from n9s.demo.pods import FOREVER
from n9s.sources.containerd import ContainerdClient

pytestmark = pytest.mark.node

GONE_TIMEOUT_S = 20.0
LABEL = b"n9s-test/exec-clean/"


@pytest.fixture(scope="module")
def clean_pod(demo_node):
    spec = PodSpec(name="exec-clean", namespace="n9s-test", containers=[
        ContainerSpec("cleanme", ["sleep", FOREVER]),
        ContainerSpec("cleantoo", ["sleep", FOREVER]),
    ])
    pod = demo_node.run_pod(spec)
    ctd = ContainerdClient(str(demo_node.address))
    yield pod, ctd
    ctd.close()
    demo_node.remove_pod(pod)


def shells(ctd: ContainerdClient, container_id: str) -> list[tuple[int, str]]:
    """(pid, exec id) of every process in the container that runs a bare `sh` (what `s` starts here)."""
    out = []
    for p in ctd.processes(container_id):
        try:
            if psutil.Process(p.pid).cmdline() == ["sh"]:
                out.append((p.pid, p.exec_id))
        except psutil.Error:
            continue
    return out


def toast(text: str) -> bytes:
    """A notification's words as a pattern, however its box wraps them (border and padding between lines)."""
    return rb"(?:\s|\xe2\x96\x8c)+".join(re.escape(word.encode()) for word in text.split())


def back_to_n9s(screen) -> None:
    """After a session n9s comes back behind a screen that drops keys for a moment; one key on purpose leaves it."""
    screen.expect(rb"Press any key")
    time.sleep(2 * QUIET_S)
    screen.type(b" ")


def wait_until(predicate, timeout: float = GONE_TIMEOUT_S) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def start(demo_node, tmp_path) -> Screen:
    env = dict(os.environ, TERM="xterm-256color", XDG_STATE_HOME=str(tmp_path),
               N9S_AUDIT_LOG=str(tmp_path / "audit.jsonl"))
    return Screen(["--address", str(demo_node.address), "--pods-dir", str(demo_node.pods_dir),
                   "--view", "containers", "--refresh", "30"], env)


def open_shell(screen: Screen, name: bytes, *, listed: bool = False) -> None:
    """Filter the containers view down to ``name`` and press `s`. ``listed``: the list is on screen already."""
    if not listed:
        screen.expect(rb"containers \[\d+\]")
    screen.type(b"/")
    screen.expect(rb"/ regex")
    screen.type(name + b"\r")
    screen.expect(rb"/" + name)
    screen.type(b"s")
    screen.expect(rb"(?s)n9s: shell in " + LABEL + name + rb".*# ")


def shown(screen: Screen) -> list[str]:
    """The lines the terminal shows now, from everything n9s wrote to it."""
    vt = VtScreen(screen.rows, screen.cols)
    vt.feed(screen.raw)
    return vt.lines()


def end_records(tmp_path) -> list[dict]:
    return [e for e in AuditLog(tmp_path / "audit.jsonl").entries() if e["action"] == "end-exec"]


def test_leaving_with_ctrl_close_bracket_ends_the_shell(demo_node, clean_pod, tmp_path):
    pod, ctd = clean_pod
    cid = pod.container("cleanme")
    screen = start(demo_node, tmp_path)
    try:
        open_shell(screen, b"cleanme")
        assert wait_until(lambda: len(shells(ctd, cid)) == 1), "the session's sh never showed in the container"
        (pid, exec_id), = shells(ctd, cid)
        screen.type(b"\x1d")
        screen.expect(rb"leave " + LABEL + rb"cleanme\?  Enter: end sh and leave   k: leave it running")
        screen.type(b"x")  # any other key: back to the shell, which still runs
        screen.expect(rb"n9s: shell in " + LABEL + rb"cleanme\. exit")
        screen.type(b"echo back-$((1+1))\r")
        screen.expect(rb"back-2")
        screen.type(b"\x1d")
        screen.expect(rb"k: leave it running")
        screen.type(b"\r")
        screen.expect(toast("left the shell in n9s-test/exec-clean/cleanme (ctrl-]); "
                            "sh in n9s-test/exec-clean/cleanme ended"))
        assert wait_until(lambda: not shells(ctd, cid)), f"sh is still running: {shells(ctd, cid)}"
        back_to_n9s(screen)
        screen.type(b"q")
        assert screen.exit_code() == 0
    finally:
        screen.close()
    (record,) = end_records(tmp_path)
    assert record["params"]["exec_id"] == exec_id and record["params"]["pid"] == pid
    assert record["params"]["why"] == "the user left the session" and record["result"] == "ok"
    assert record["targets"][0]["name"] == "cleanme"


def test_a_hang_up_ends_the_shell(demo_node, clean_pod, tmp_path):
    pod, ctd = clean_pod
    cid = pod.container("cleanme")
    screen = start(demo_node, tmp_path)
    try:
        open_shell(screen, b"cleanme")
        assert wait_until(lambda: len(shells(ctd, cid)) == 1)
        screen.hang_up()  # the kernel sends SIGHUP to n9s, and its terminal reads end
        screen.exit_code()
        assert wait_until(lambda: not shells(ctd, cid)), f"sh is still running: {shells(ctd, cid)}"
    finally:
        screen.close()
    (record,) = end_records(tmp_path)
    assert record["params"]["why"] == "the terminal hung up" and record["result"] == "ok"


def test_sigterm_to_n9s_ends_the_shell_and_n9s(demo_node, clean_pod, tmp_path):
    pod, ctd = clean_pod
    cid = pod.container("cleanme")
    screen = start(demo_node, tmp_path)
    try:
        open_shell(screen, b"cleanme")
        assert wait_until(lambda: len(shells(ctd, cid)) == 1)
        screen.child.send_signal(signal.SIGTERM)
        assert screen.exit_code() == 128 + signal.SIGTERM
        assert not shells(ctd, cid), "n9s exited and left its sh running"
    finally:
        screen.close()
    (record,) = end_records(tmp_path)
    assert record["params"]["why"] == "n9s was told to end" and record["result"] == "ok"


def test_a_kept_shell_keeps_running_and_is_listed_as_kept(demo_node, clean_pod, tmp_path):
    pod, ctd = clean_pod
    cid = pod.container("cleanme")
    screen = start(demo_node, tmp_path)
    try:
        open_shell(screen, b"cleanme")
        assert wait_until(lambda: len(shells(ctd, cid)) == 1)
        (pid, exec_id), = shells(ctd, cid)
        screen.type(b"\x1d")
        screen.expect(rb"k: leave it running")
        screen.type(b"k")
        screen.expect(toast(f"left the shell in n9s-test/exec-clean/cleanme; sh keeps running (pid {pid}): "
                            "the container detail lists it"))
        back_to_n9s(screen)
        screen.type(b"\r")  # the container detail
        screen.expect(rb"Execs")
        screen.expect(rf"{pid}\s+sh\s+since \S+ ago\s+started by n9s, kept\s+exec {exec_id[:12]}".encode())
        screen.type(b"q")
        screen.expect(rb"/cleanme")
        screen.type(b"q")
        assert screen.exit_code() == 0
        assert shells(ctd, cid) == [(pid, exec_id)], "the kept sh was ended"
    finally:
        screen.close()
        for _pid, kept in shells(ctd, cid):
            ctd.kill(cid, signal.SIGKILL, exec_id=kept)
    assert end_records(tmp_path) == []


def test_each_session_starts_on_a_clean_screen_under_a_line_naming_its_target(demo_node, clean_pod, tmp_path):
    screen = start(demo_node, tmp_path)
    try:
        open_shell(screen, b"cleanme")
        # Long lines on every row, the marker at their ends: the next session's first lines would not cover it.
        screen.type(b'for i in $(seq 1 50); do echo "$(printf %0100d 0) FIRST-42"; done; echo DONE-$((1+1))\r')
        screen.expect(rb"DONE-2")
        screen.type(b"exit\r")
        screen.expect(toast("sh in n9s-test/exec-clean/cleanme ended with exit code 0"))
        back_to_n9s(screen)
        # A fresh containers view, without the filter (Escape is not used: after a session Textual drops it).
        screen.type(b":")
        screen.expect(rb": view name")
        screen.type(b"co\r")
        screen.expect(rb"containers \[\d+\](?!  /)")  # no filter
        open_shell(screen, b"cleantoo", listed=True)
        lines = shown(screen)
        target_line = "n9s: shell in n9s-test/exec-clean/cleantoo. exit, or ctrl-] to leave"
        assert lines[0].startswith(target_line), lines
        assert not any("FIRST-42" in line or "cleanme" in line for line in lines), lines
        screen.type(b"seq 1 100\r")  # more than the screen holds: the session scrolls under the line
        screen.expect(rb"(?s)\r\n100\r\n.*# ")
        lines = shown(screen)
        assert lines[0].startswith(target_line), lines
        assert lines[-2:] == ["100", "/ #"], lines
        screen.type(b"exit\r")
        screen.expect(rb"ended with exit code 0")
        back_to_n9s(screen)
        screen.type(b"q")
        assert screen.exit_code() == 0
    finally:
        screen.close()
