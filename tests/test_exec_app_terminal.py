"""The whole app on a real terminal (a pty): `s` suspends the TUI, the shell gets the terminal, and on exit the
TUI comes back with the exit code in a notification."""
from __future__ import annotations

import os
import time

import pytest
from pty_app import Screen

from n9s.actions.audit import AuditLog
from n9s.ui.screens.session_ended import QUIET_S

pytestmark = pytest.mark.node

def test_s_hands_the_terminal_to_a_shell_and_comes_back_with_the_exit_code(demo_node, tmp_path):
    env = dict(os.environ, TERM="xterm-256color", XDG_STATE_HOME=str(tmp_path),
               N9S_AUDIT_LOG=str(tmp_path / "audit.jsonl"))
    screen = Screen(["--address", str(demo_node.address), "--pods-dir", str(demo_node.pods_dir),
                     "--view", "containers", "--refresh", "30"], env)
    try:
        screen.expect(rb"logger")
        screen.type(b"/")
        screen.expect(rb"/ regex")
        screen.type(b"logger\r")
        screen.expect(rb"/logger")  # the filter leaves one row, under the cursor
        screen.type(b"s")
        screen.expect(rb"n9s: shell in default/web/logger\. exit, or ctrl-\] to leave")
        screen.expect(rb"# ")
        screen.type(b"echo hello-$((6*7))\r")
        screen.expect(rb"\r\nhello-42\r\n")
        screen.type(b"exit 3\r")
        # The TUI is back, behind a screen that drops the keys typed as the session ended, for a moment.
        screen.expect(rb"ended with exit code 3[\s\S]*Press any key|Press any key[\s\S]*ended with exit code 3")
        time.sleep(2 * QUIET_S)
        screen.type(b" ")  # a key on purpose: back to the table
        screen.expect(rb"/logger")
        screen.type(b"q")
        assert screen.exit_code() == 0
    finally:
        screen.close()
    entries = AuditLog(tmp_path / "audit.jsonl").entries()
    # One record for `s`: the probes (bash, then sh) and the stream, naming the shell found.
    assert [(e["action"], e["shell"], e["targets"][0]["name"]) for e in entries] == [("shell", ["sh"], "logger")]
