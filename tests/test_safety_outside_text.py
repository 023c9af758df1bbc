"""Values from outside n9s (the command line, the environment, file paths, names in the runtime) reach the terminal
sanitised in error messages too, and characters that cannot be seen are shown: a pod named with a zero-width space
is told apart from the pod it imitates. An address too long for a unix socket is one clear error, not a traceback
in `dump` or a notification every refresh in the TUI."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pilot_helpers import make_app, table_rows, wait_for

from n9s.demo import ContainerSpec, PodSpec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/ lives beside tests/
from bench.pty_run import PtyN9s  # noqa: E402

OSC = "\x1b]0;owned\x07"
CSI = "\x1b[2J"
LONG = "x" * 300


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "n9s", *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "N9S_READONLY": "", **(env or {})})


def raw_controls(text: str) -> list[str]:
    return [repr(text[max(m.start() - 20, 0):m.end() + 20]) for m in re.finditer(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]",
                                                                                  text)]


def test_a_socket_path_too_long_for_unix_is_one_line_from_dump(tmp_path):
    address = f"{tmp_path}/{LONG}.sock"
    result = run("--address", address, "dump", "--interval", "0", env={"XDG_STATE_HOME": str(tmp_path)})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"n9s: invalid runtime address: the socket path is {len(address)} bytes, "
                                    "a unix socket path is at most 107"), result.stderr


def test_a_socket_path_too_long_for_unix_is_said_in_the_header_once_not_toasted(tmp_path):
    pty = PtyN9s(["--address", f"{tmp_path}/{LONG}.sock", "--no-api", "--refresh", "0.5", "--log-file",
                  str(tmp_path / "n9s.log")], env={"XDG_STATE_HOME": str(tmp_path / "state"), "N9S_READONLY": ""})
    pty.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "invalid runtime address" not in pty.plain_text():
            time.sleep(0.2)
        time.sleep(3)  # several refreshes at 0.5 s: each would have raised a notification
        text = pty.plain_text()
        assert "runtime: unreachable since" in text and "invalid runtime address: the socket path is" in text
        assert "failed" not in text, text[-1000:]  # "refresh failed: [Errno 36] File name too long" before
        assert "File name too long" not in text
    finally:
        assert pty.stop() == 143


def test_escapes_in_addresses_paths_and_arguments_never_reach_the_terminal_raw(tmp_path):
    env = {"XDG_STATE_HOME": str(tmp_path / "state")}
    # The address, from the flag and from the environment, in dump's error and in info.
    dump = run("--address", f"/tmp/{OSC}{CSI}n9s.sock", "dump", "--interval", "0", env=env)
    assert dump.returncode == 2
    assert "no containerd socket at /tmp/n9s.sock" in dump.stderr and raw_controls(dump.stderr) == []
    info = run("info", env={**env, "CONTAINER_RUNTIME_ENDPOINT": f"unix:///run/{OSC}x.sock",
                            "CONTAINERD_NAMESPACE": f"k8s{CSI}.io"})
    assert "runtime endpoint: /run/x.sock (from CONTAINER_RUNTIME_ENDPOINT)" in info.stdout
    assert "containerd namespace: k8s.io" in info.stdout and raw_controls(info.stdout.replace("\n", "")) == []
    # A config file whose path holds escapes, refused.
    folder = tmp_path / f"conf{OSC}"
    folder.mkdir()
    (folder / "config.toml").write_text("readonly = 1\n")
    refused = run("--address", "/x.sock", "dump", env={**env, "N9S_CONFIG": str(folder / "config.toml")})
    assert refused.returncode == 2
    assert refused.stderr.startswith(f"n9s: config {tmp_path}/conf/config.toml line 1: readonly must be")
    assert raw_controls(refused.stderr.rstrip("\n")) == []
    # What argparse quotes back.
    unknown = run(f"--{OSC}bogus", env=env)
    assert unknown.returncode == 2 and "unrecognized arguments: --bogus" in unknown.stderr
    assert raw_controls(unknown.stderr.replace("\n", "")) == []


def test_escapes_in_the_address_never_reach_the_tui_raw(tmp_path):
    pty = PtyN9s(["--address", f"/tmp/{OSC}n9s.sock", "--no-api", "--log-file", str(tmp_path / "n9s.log")],
                 env={"XDG_STATE_HOME": str(tmp_path / "state"), "N9S_READONLY": ""})
    pty.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "no containerd socket at" not in pty.plain_text():
            time.sleep(0.2)
        assert "no containerd socket at /tmp/n9s.sock" in pty.plain_text()
    finally:
        pty.stop()
    out = b"".join(c.data for c in pty.chunks)
    assert b"]0;owned" not in out


@pytest.fixture
def look_alike_pods(demo_node):
    made = [demo_node.run_pod(PodSpec(name=name, namespace="look-alike",
                                      containers=[ContainerSpec("c", ["sleep", "100000"])]))
            for name in ("web", "we\u200bb", "\u202eexe.txt")]
    yield made
    for pod in made:
        demo_node.remove_pod(pod)


@pytest.mark.node
async def test_invisible_characters_in_names_are_shown_so_look_alikes_differ(demo_node, look_alike_pods):
    app = make_app(demo_node, refresh_s=1.0)
    async with app.run_test(size=(160, 40)) as pilot:
        assert await wait_for(pilot, lambda: sum(r[0] == "look-alike" for r in table_rows(app)) == 3, 20)
        names = sorted(r[1] for r in table_rows(app) if r[0] == "look-alike")
        assert names == ["\\u202eexe.txt", "we\\u200bb", "web"], names
