"""Keys typed as one burst (a paste, a fast typist, ssh lag) on the real `n9s` in a pty: every key typed after `:`
goes to the prompt, however fast it comes and however busy the machine is, so `:snap⏎` switches the view and
never opens a shell on the selected pod (`s`), nor `:pods⏎` a describe (`d`)."""
from __future__ import annotations

import os
import re
import select
import subprocess
import time

import pytest
from pty_app import readable
from pty_app import CSI, Screen

pytestmark = pytest.mark.node

BURNERS = 2
ROUNDS = 20
# What the screens a stray key would open paint: the shell's hint, a describe title, the logs screen's footer.
FOREIGN_SCREENS = re.compile(rb"n9s: shell in|n9s: attached to|describe (?:pod|container|snapshot|image)|Follow")


class RecordingScreen(Screen):
    """The pty screen that also keeps everything n9s painted, for checks over the whole run."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.transcript = bytearray()
        super().__init__(argv, env)

    @property
    def seen(self) -> bytes:
        return self._seen

    @seen.setter
    def seen(self, value: bytes) -> None:
        old = getattr(self, "_seen", b"")
        if len(value) > len(old) and value.startswith(old):
            self.transcript += value[len(old):]
        self._seen = value

    def plain_transcript(self) -> bytes:
        return CSI.sub(b"", bytes(self.transcript))

    def read_for(self, seconds: float) -> None:
        """Take what n9s paints for `seconds` (it would block on a full terminal if nobody read)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if readable(self.master, left):
                try:
                    self.seen += os.read(self.master, 65536)
                except OSError:
                    return

    def shows(self, pattern: bytes) -> bool:
        """Whether what was painted since the last match shows `pattern`."""
        return re.search(pattern, CSI.sub(b"", self.seen)) is not None


@pytest.fixture
def busy_cpus():
    """Shell loops that keep every core busy for the test's duration: n9s gets its time slices late."""
    burners = [subprocess.Popen(["sh", "-c", "while :; do :; done"], start_new_session=True)
               for _ in range(BURNERS)]
    yield
    for burner in burners:
        burner.kill()
        burner.wait(timeout=10)


def n9s_on_pty(demo_node, tmp_path, view: str = "pods") -> RecordingScreen:
    env = dict(os.environ, TERM="xterm-256color", XDG_STATE_HOME=str(tmp_path),
               N9S_AUDIT_LOG=str(tmp_path / "audit.jsonl"))
    env.pop("TEXTUAL", None)
    return RecordingScreen(["--address", str(demo_node.address), "--pods-dir", str(demo_node.pods_dir),
                            "--no-api", "--view", view, "--refresh", "2"], env)


def crumb(view: str) -> bytes:
    """The breadcrumb of a top-level view, e.g. `snapshots [12]`."""
    return rb"(?<![a-z])" + view.encode() + rb" \[\d+\]"


def test_a_view_command_typed_as_one_burst_switches_the_view_and_fires_no_key(demo_node, tmp_path, busy_cpus):
    screen = n9s_on_pty(demo_node, tmp_path)
    try:
        screen.expect(crumb("pods"))
        screen.expect(rb"web")  # the rows are there: a stray `s` or `d` would have a pod to act on
        for _ in range(ROUNDS):
            for command, view in ((b":snap\r", "snapshots"), (b":tasks\r", "tasks"), (b":pods\r", "pods")):
                screen.type(command)  # one write: the terminal delivers the whole command in one read
                screen.expect(crumb(view))
        # A key typed right behind Enter is the new view's: `s` does nothing on snapshots, it is no shell on pods.
        screen.type(b":snap\rs")
        screen.expect(crumb("snapshots"))
        screen.type(b":pods\r")
        screen.expect(crumb("pods"))
        screen.type(b":q\r")
        assert screen.exit_code() == 0
    finally:
        screen.close()
    painted = screen.plain_transcript()
    foreign = FOREIGN_SCREENS.search(painted)
    assert foreign is None, f"a key of the command acted on the table: {painted[foreign.start() - 300:][:600]!r}"
    # n9s opens its audit log at start (to say on screen if it cannot): it must hold no record at all.
    assert (tmp_path / "audit.jsonl").read_bytes() == b""  # no exec, no action of any kind
