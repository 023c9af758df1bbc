"""The config file fails closed: a file that cannot be read whole, or that holds a key or value n9s does not
understand, makes n9s refuse to start with one line naming the file and the line; read-only mode asked for anywhere
stays on. The real `n9s` runs on a pseudo-terminal: refusing means it exits 2 having painted nothing."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pilot_helpers import wait_for
from test_hostile_oversized import screen_text

from n9s.ui.app import AppConfig, N9sApp
from n9s.model.picture import NodeInfo, NodePicture
from n9s.model.seams import PictureSource

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/ lives beside tests/
from bench.pty_run import PtyN9s  # noqa: E402

ENTER_ALT_SCREEN = b"\x1b[?1049h"

BAD_CONFIGS = {
    # what the file says: (its text, the line named, what the message says)
    "a typo beside readonly": ("readonly = true\nreadnoly = true\n", 2, "unknown key 'readnoly'"),
    "readonly as a string": ('refresh = 2\nreadonly = "true"\n', 2, "readonly must be true or false, not a string"),
    "readonly as a number": ("readonly = 1\n", 1, "readonly must be true or false, not an integer"),
    "not TOML": ("readonly = true\ntheme = [oops\n", 2, "not valid TOML"),
    "keymap value not a string": ('readonly = true\n[keymap]\n"command" = 3\n', 3,
                                  "keymap: 'command' must be a string of keys"),
    "keymap id that names no key": ('readonly = true\n[keymap]\n"view-log" = "L"\n', 3,
                                    "keymap: no key has the id 'view-log'"),
    "refresh negative": ("refresh = -1\n", 1, "refresh must be a positive number"),
    "not UTF-8": (b"readonly = true\n\n# caf\xe9\n", 3, "is not UTF-8 text"),
}


def env_for(tmp_path: Path, config: Path, **extra: str) -> dict[str, str]:
    env = {"N9S_CONFIG": str(config), "XDG_STATE_HOME": str(tmp_path / "state"), "HOME": str(tmp_path),
           "N9S_READONLY": "", **extra}
    return env


def run_n9s_on_pty(tmp_path: Path, env: dict[str, str], *args: str, timeout: float = 20.0) -> tuple[int | None, bytes]:
    """`n9s <args>` on a pty until it exits (None if it was still running after ``timeout``: it started)."""
    pty = PtyN9s([*args, "--address", str(tmp_path / "no-runtime.sock"), "--no-api",
                  "--log-file", str(tmp_path / "n9s.log")], env=env).start()
    try:
        code = pty.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        code = None
    finally:
        pty.stop()
    return code, b"".join(c.data for c in pty.chunks)


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_a_config_not_understood_whole_stops_n9s_with_one_line(case, tmp_path):
    text, line, what = BAD_CONFIGS[case]
    config = tmp_path / "config.toml"
    config.write_bytes(text if isinstance(text, bytes) else text.encode())
    code, out = run_n9s_on_pty(tmp_path, env_for(tmp_path, config))
    shown = out.decode(errors="replace").strip()
    assert code == 2, f"n9s started anyway (exit {code}): {shown[-300:]!r}"
    assert ENTER_ALT_SCREEN not in out  # nothing was painted: the UI never ran, read-write or otherwise
    assert shown.count("\n") == 0, shown
    assert shown.startswith(f"n9s: config {config} line {line}: "), shown
    assert what in shown, shown
    assert "Traceback" not in shown


def test_an_unreadable_config_stops_n9s(tmp_path):
    config = tmp_path / "config.toml"
    config.mkdir()  # root reads any file: a directory is what cannot be read
    code, out = run_n9s_on_pty(tmp_path, env_for(tmp_path, config))
    assert code == 2
    assert out.decode().strip() == f"n9s: config {config}: cannot be read (Is a directory)"


def test_a_read_only_environment_is_not_undone_by_the_file_and_a_garbled_one_stops_n9s(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("readonly = false\n")
    info = subprocess.run([sys.executable, "-m", "n9s", "info"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env_for(tmp_path, config, N9S_READONLY="1")})
    assert "read-only: yes" in info.stdout, info.stdout
    code, out = run_n9s_on_pty(tmp_path, env_for(tmp_path, config, N9S_READONLY="ture"))
    assert code == 2
    assert out.decode().strip() == "n9s: N9S_READONLY='ture' is neither yes nor no (use 1 or 0)"


def test_info_says_what_became_of_the_config_file_and_help_still_answers(tmp_path):
    config = tmp_path / "config.toml"

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "n9s", *args], capture_output=True, text=True, timeout=60,
                              env={**os.environ, **env_for(tmp_path, config)})

    assert f"config file: {config} (none there, defaults used)" in run("info").stdout
    config.write_text("readonly = true\n")
    assert f"config file: {config} (read)" in run("info").stdout
    config.write_text("readonly = true\nreadnoly = false\n")
    info = run("info")
    assert info.returncode == 2
    assert f"config file: {config} (refused, n9s will not start)" in info.stdout
    assert info.stderr.strip().startswith(f"n9s: config {config} line 2: unknown key 'readnoly'")
    assert run("--help").returncode == 0 and run("--version").returncode == 0


def test_a_view_that_does_not_exist_stops_n9s(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('view = "pdos"\n')
    code, out = run_n9s_on_pty(tmp_path, env_for(tmp_path, config))
    assert code == 2
    assert out.decode().strip().startswith(f"n9s: config {config} line 1: no view named 'pdos' (views: pods,")
    config.unlink()
    code, out = run_n9s_on_pty(tmp_path, env_for(tmp_path, config), "--view", "pdos")
    assert code == 2 and out.decode().strip().startswith("n9s: no view named 'pdos'")


def words(app) -> str:
    """The screen's text as single-spaced words (a notification wraps inside its box, behind a gutter)."""
    return " ".join(screen_text(app).replace("\u258c", " ").split())


class NoRuntime(PictureSource):
    def refresh(self, **kwargs):
        return NodePicture(taken_at=0.0, node=NodeInfo(hostname="x"))


async def test_a_theme_that_does_not_exist_is_said_on_screen():
    app = N9sApp(NoRuntime(), AppConfig(theme="n9s-ligth"))
    async with app.run_test(notifications=True) as pilot:
        assert await wait_for(pilot, lambda: "no theme named 'n9s-ligth': showing the n9s theme" in words(app)), \
            words(app)[-400:]
        assert app.theme == "n9s"


def test_the_config_applies_in_remote_mode_too(tmp_path, monkeypatch):
    """Remote mode (`--node` without a runtime socket) was built apart and had drifted: no keymap from the file."""
    from kube_fake.manifests import node_manifest, pod_manifest
    from kube_fake.server import FakeKube
    from test_security_secrets import scripted_cli

    from n9s import cli

    config = tmp_path / "config.toml"
    config.write_text('readonly = true\n[keymap]\n"command" = "c"\n')
    monkeypatch.setenv("N9S_CONFIG", str(config))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("N9S_READONLY", raising=False)
    seen: dict = {}

    async def user(app, pilot) -> None:
        assert await wait_for(pilot, lambda: "far-away-web" in words(app), 30), words(app)[-300:]
        await pilot.press("c")
        seen["prompt"] = await wait_for(pilot, lambda: app.screen.query_one("#prompt").has_class("visible"), 5)
        seen["readonly"] = (app.readonly, app.actions.readonly)

    with FakeKube(pods=[pod_manifest("default", "far-away-web", node="node-1")], nodes=[node_manifest("node-1")]) \
            as fake:
        kubeconfig = fake.write_kubeconfig(tmp_path / "kubeconfig")
        with scripted_cli(monkeypatch, user):
            assert cli.main(["--kubeconfig", str(kubeconfig), "--node", "node-1",
                             "--address", str(tmp_path / "no-runtime.sock")]) == 0
    assert seen == {"prompt": True, "readonly": (True, True)}
