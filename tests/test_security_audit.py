"""The audit log and every file n9s writes as root.

A planted symlink or FIFO at audit.jsonl or n9s.log, a state directory others can write, a full or read-only
disk: n9s refuses or fails before it acts, never after, says so on screen and in `n9s info`, and never blocks on
the file. The audit log records who acted from the process's real identity, and what each call did (an exec's
exit code). Quitting (q or SIGTERM) never waits for an action still under way. The runtime parts run against the
real demo node: the whole `n9s` command on a pseudo-terminal, or the app under Textual's pilot."""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import select
import signal
import stat
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
from test_actions_node import SLEEPER
from test_actions_pilot import TEST_BUDGET_S, Harness, actions_finished, pods, show_pod  # noqa: F401 - pods
from pty_app import CSI, Screen

from n9s.actions import plan
from n9s.ui.flows import action_flow
from n9s.actions.audit import AuditLog
from n9s.sources.cri import CriClient

VICTIM_TEXT = "root:x:0:0:root:/root:/bin/sh\n"  # stands in for /etc/passwd
WAIT_S = 20.0  # a limit for a condition to hold, not a speed requirement


def n9s_info(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "n9s", "--debug", "info"], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "N9S_CONFIG": "/nonexistent/n9s.toml", **env})


def private_dir(path: Path) -> Path:
    path.mkdir(parents=True, mode=0o700)
    path.chmod(0o700)
    return path


def plant(state: Path, how: str, victim: Path) -> None:
    """Put something hostile where n9s writes: symlinks to the victim, or a FIFO at the audit log."""
    n9s_dir = private_dir(state / "n9s")
    if how == "symlink":
        os.symlink(victim, n9s_dir / "audit.jsonl")
        os.symlink(victim, n9s_dir / "n9s.log")
    elif how == "fifo":
        os.mkfifo(n9s_dir / "audit.jsonl", 0o600)
    else:
        raise ValueError(how)


# ---- n9s info ----

def test_info_says_each_file_is_ok(tmp_path):
    result = n9s_info({"XDG_STATE_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert f"audit log: {tmp_path}/n9s/audit.jsonl (ok)" in result.stdout
    assert f"log file: {tmp_path}/n9s/n9s.log (ok)" in result.stdout


def test_info_refuses_symlinks_and_leaves_their_target_alone(tmp_path):
    victim = tmp_path / "passwd"
    victim.write_text(VICTIM_TEXT)
    plant(tmp_path / "state", "symlink", victim)
    result = n9s_info({"XDG_STATE_HOME": str(tmp_path / "state")})
    assert result.returncode == 0, result.stderr
    for what, name in (("audit log", "audit.jsonl"), ("log file", "n9s.log")):
        line = next(x for x in result.stdout.splitlines() if x.startswith(f"{what}: "))
        assert line.startswith(f"{what}: {tmp_path}/state/n9s/{name} (refused: ") and "symbolic link" in line, line
    assert victim.read_text() == VICTIM_TEXT


def test_info_refuses_a_fifo_without_blocking(tmp_path):
    plant(tmp_path / "state", "fifo", tmp_path / "unused")
    result = n9s_info({"XDG_STATE_HOME": str(tmp_path / "state")})  # a blocked open would hit the timeout
    assert result.returncode == 0, result.stderr
    assert re.search(r"audit log: \S+/audit\.jsonl \(refused: \S+ is a FIFO, not a regular file\)", result.stdout), \
        result.stdout


def test_info_refuses_a_state_dir_others_can_write(tmp_path):
    state = private_dir(tmp_path / "state" / "n9s")
    state.chmod(0o777)
    result = n9s_info({"XDG_STATE_HOME": str(tmp_path / "state")})
    assert result.returncode == 0, result.stderr
    assert f"audit log: {state}/audit.jsonl (refused: directory {state} can be written by others (mode 0777)" \
        in result.stdout
    assert f"log file: {state}/n9s.log (refused: " in result.stdout
    assert not (state / "audit.jsonl").exists() and not (state / "n9s.log").exists()


def test_a_file_of_another_user_is_refused(tmp_path):
    state = private_dir(tmp_path / "state" / "n9s")
    (state / "audit.jsonl").write_text("")
    os.chown(state / "audit.jsonl", 4242, 4242)
    result = n9s_info({"XDG_STATE_HOME": str(tmp_path / "state")})
    assert f"is owned by uid 4242, not by the user n9s runs as (uid {os.geteuid()}" in result.stdout


def test_a_state_dir_of_another_user_is_refused(tmp_path):
    state = private_dir(tmp_path / "state" / "n9s")
    os.chown(state, 4242, 4242)
    result = n9s_info({"XDG_STATE_HOME": str(tmp_path / "state")})
    assert f"audit log: {state}/audit.jsonl (refused: directory {state} is owned by uid 4242" in result.stdout
    assert not (state / "audit.jsonl").exists()


# ---- the whole command on a pseudo-terminal ----

def n9s_screen(demo_node, state: Path, extra: tuple[str, ...] = (), **env: str) -> Screen:
    return Screen(["--address", str(demo_node.address), "--pods-dir", str(demo_node.pods_dir), "--view",
                   "containers", "--refresh", "30", *extra],
                  dict(os.environ, TERM="xterm-256color", XDG_STATE_HOME=str(state),
                       N9S_CONFIG="/nonexistent/n9s.toml", **env))


def show_only(screen: Screen, pod, container: str) -> None:
    screen.expect(re.escape(pod.name.encode()))
    screen.type(b"/")
    screen.expect(rb"/ regex")
    screen.type(pod.name.encode() + b"\r")
    screen.expect(re.escape(container.encode()))


def stop_with_grace(screen: Screen, grace_s: int) -> None:
    screen.type(b"\x0b")  # ctrl-k
    screen.expect(rb"Stop container")
    # The dialog opens on Cancel: Shift+Tab past OK and the signal to the grace field, empty it and type the
    # period, a key at a time as a user would; Enter there confirms.
    for key in [b"\x1b[Z"] * 3 + [b"\x7f"] * 4 + [bytes([c]) for c in str(grace_s).encode()] + [b"\r"]:
        time.sleep(0.15)
        screen.type(key)


def read_while(screen: Screen, predicate, what: str, timeout: float = WAIT_S):
    """Keep reading the terminal (a terminal nobody reads blocks n9s's writes) until ``predicate()`` holds."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}; the screen ends with {CSI.sub(b'', screen.seen)[-600:]!r}")
        if select.select([screen.master], [], [], 0.2)[0]:
            with contextlib.suppress(OSError):
                screen.seen += os.read(screen.master, 65536)
    return value


def container_state(demo_node, container_id: str) -> str:
    cri = CriClient(str(demo_node.address))
    try:
        return cri.container_status(container_id).state
    finally:
        cri.close()


@pytest.mark.node
def test_planted_symlinks_are_refused_on_screen_and_their_target_is_left_alone(demo_node, pods, tmp_path):  # noqa: F811
    pod = pods("planted", sleeper=SLEEPER)
    victim = tmp_path / "passwd"
    victim.write_text(VICTIM_TEXT)
    plant(tmp_path / "state", "symlink", victim)
    screen = n9s_screen(demo_node, tmp_path / "state")
    try:
        screen.expect(rb"(audit log|log file) refused")  # said at start, one notice a file
        screen.expect(rb"(audit log|log file) refused")
        show_only(screen, pod, "sleeper")
        stop_with_grace(screen, 0)  # would append a record (and a log line) to the link's target
        time.sleep(2)
        screen.type(b"q")
        assert screen.exit_code() == 0
    finally:
        screen.close()
    assert victim.read_text() == VICTIM_TEXT
    assert container_state(demo_node, pod.container("sleeper")) == "RUNNING"


@pytest.mark.node
@pytest.mark.parametrize("how", ["symlink", "fifo"])
def test_an_action_with_a_planted_audit_log_is_not_done_and_quitting_works(demo_node, pods, tmp_path, how):  # noqa: F811
    pod = pods("planted", sleeper=SLEEPER)
    victim = tmp_path / "passwd"
    victim.write_text(VICTIM_TEXT)
    plant(tmp_path / "state", how, victim)
    log_file = tmp_path / "logs" / "n9s.log"  # a good log file: it tells when the refusal happened
    screen = n9s_screen(demo_node, tmp_path / "state", extra=["--log-file", str(log_file)])
    try:
        screen.expect(rb"audit log refused")
        show_only(screen, pod, "sleeper")
        stop_with_grace(screen, 0)
        read_while(screen, lambda: log_file.exists() and "not done: the audit log cannot be written" in
                   log_file.read_text(), "n9s to refuse the stop")
        screen.type(b"q")
        assert screen.exit_code() == 0  # a FIFO opened for writing would have blocked the worker, and quitting
    finally:
        screen.close()
    assert container_state(demo_node, pod.container("sleeper")) == "RUNNING"
    assert victim.read_text() == VICTIM_TEXT


@pytest.mark.node
@pytest.mark.parametrize("quit_by", ["q", "SIGTERM"])
def test_quitting_does_not_wait_for_a_stop_under_way(demo_node, pods, tmp_path, quit_by):  # noqa: F811
    pod = pods("longstop", sleeper=SLEEPER)  # PID 1 with no TERM handler: only the SIGKILL after the grace ends it
    state = tmp_path / "state"
    audit = AuditLog(state / "n9s" / "audit.jsonl")
    screen = n9s_screen(demo_node, state)
    try:
        show_only(screen, pod, "sleeper")
        stop_with_grace(screen, 600)
        screen.expect(rb"Stopping container")
        read_while(screen, lambda: [e for e in audit.entries() if e["action"] == "stop-container"],
                   "the stop's intent record")
        if quit_by == "q":
            screen.type(b"q")
        else:
            screen.child.send_signal(signal.SIGTERM)
        code = screen.exit_code(timeout=WAIT_S)  # the stop would hold n9s for its 600 s
    finally:
        screen.close()
    assert code == (0 if quit_by == "q" else 128 + signal.SIGTERM)
    (entry,) = audit.entries()
    assert entry["params"] == {"grace_period_s": 600}
    assert entry["result"] == "unknown: n9s ended before the call returned"


@pytest.mark.node
def test_the_audit_log_records_the_real_identity_and_the_exit_code(demo_node, tmp_path):
    state = tmp_path / "state"
    env = {"USER": "alice", "LOGNAME": "alice", "SUDO_USER": "bob", "SUDO_UID": "1000",
           "SSH_CONNECTION": "203.0.113.9 51234 10.0.0.1 22"}
    screen = n9s_screen(demo_node, state, **env)
    try:
        screen.expect(rb"logger")
        screen.type(b"/")
        screen.expect(rb"/ regex")
        screen.type(b"logger\r")
        screen.expect(rb"/logger")
        screen.type(b"x")
        screen.expect(rb"Run a command in default/web/logger")
        screen.type(b"sh -c 'exit 7'\r")
        screen.expect(rb"exit code 7")
        screen.type(b"\x1b")
        time.sleep(0.5)
        screen.type(b"q")
        assert screen.exit_code() == 0
        pid = screen.child.pid
    finally:
        screen.close()
    path = state / "n9s" / "audit.jsonl"
    text = path.read_text()
    assert "alice" not in text  # $USER and $LOGNAME are not who acted
    lines = [json.loads(line) for line in text.splitlines()]
    assert [(e["phase"], e["action"]) for e in lines] == [("intent", "exec"), ("result", "exec")]
    intent, result = lines
    assert intent["id"] == result["id"]
    assert intent["params"] == {"argv": ["sh", "-c", "exit 7"], "timeout_s": 30}
    assert (result["result"], result["exit_code"]) == ("exit 7", 7)
    with open("/proc/self/loginuid") as f:
        loginuid = int(f.read())
    who = intent["who"]
    assert who == {"uid": 0, "user": "root", "euid": 0, "loginuid": None if loginuid == 4294967295 else loginuid,
                   "login_user": who["login_user"], "sudo_user": "bob", "sudo_uid": "1000", "tty": who["tty"],
                   "ssh_client": "203.0.113.9 51234", "pid": pid}
    assert re.fullmatch(r"/dev/pts/\d+", who["tty"])
    for line in lines:  # sub-second, with the zone
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d", line["time"]), line["time"]
    assert datetime.fromisoformat(result["time"]) >= datetime.fromisoformat(intent["time"])


# ---- the intent comes first: an audit log that cannot be written stops the act ----

@contextlib.contextmanager
def tmpfs(where: Path, size: str = "64k"):
    where.mkdir(mode=0o700)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@contextlib.contextmanager
def broken_state_dir(tmp_path: Path, how: str):
    """A state directory whose audit log cannot be written: a full disk, a read-only one, or open to others."""
    if how == "open to others":
        state = private_dir(tmp_path / "state" / "n9s")
        state.chmod(0o777)
        yield state
        return
    with tmpfs(tmp_path / "state") as mount:
        state = private_dir(mount / "n9s")
        if how == "disk full":
            with contextlib.suppress(OSError), open(mount / "filler", "wb", buffering=0) as f:
                while True:
                    f.write(b"\0" * 4096)
        elif how == "read-only":
            subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        else:
            raise ValueError(how)
        yield state


@pytest.mark.node
@pytest.mark.parametrize("how", ["disk full", "read-only", "open to others"])
async def test_an_action_whose_intent_cannot_be_written_is_not_done(demo_node, pods, tmp_path, how):  # noqa: F811
    pod = pods("noaudit", sleeper=SLEEPER)
    cid = pod.container("sleeper")
    with broken_state_dir(tmp_path, how) as state:
        h = Harness(demo_node, state / "audit.jsonl")
        async with asyncio.timeout(TEST_BUDGET_S), h.run() as pilot:
            await show_pod(h, pilot, pod, ["sleeper"])
            # What the kill dialog's Stop (grace 0) hands over.
            subjects = plan.subjects_for(h.app.picture, "container", [cid])
            action_flow.start(h.app, subjects, plan.Choice(plan.STOP, grace_s=0))
            await actions_finished(h, pilot)
            errors = h.notifications("error")
            assert any(m.startswith("Not done: Stop container sleeper") and "the audit log cannot be written" in m
                       for m in errors), errors
            assert not any("Stopped" in m for m in h.notifications())
            await pilot.press("q")
        assert container_state(demo_node, cid) == "RUNNING"
        assert not (state / "audit.jsonl").exists() or not h.audit.entries()


def test_the_audit_files_mode_is_kept_private(tmp_path):
    state = private_dir(tmp_path / "n9s")
    (state / "audit.jsonl").write_text("")
    (state / "audit.jsonl").chmod(0o666)
    AuditLog(state / "audit.jsonl").record("exec", [{"id": "a"}], {"argv": ["true"]}, "exit 0")
    assert stat.S_IMODE(os.stat(state / "audit.jsonl").st_mode) == 0o600
