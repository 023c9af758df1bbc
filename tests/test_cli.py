"""`n9s --version`, `--help` and `info` work anywhere, with no runtime present."""
from __future__ import annotations

import os
import subprocess
import sys

import n9s


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "n9s", *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def test_version_without_runtime():
    result = run("--version", env={"CONTAINER_RUNTIME_ENDPOINT": "/nonexistent.sock"})
    assert result.returncode == 0
    assert result.stdout.strip() == f"n9s {n9s.__version__}"


def test_help_lists_commands_and_flags():
    result = run("--help")
    assert result.returncode == 0
    for word in ("--address", "--readonly", "--demo", "--refresh", "dump", "info"):
        assert word in result.stdout


def test_info_shows_endpoint_and_audit_log(tmp_path):
    result = run("--address", "unix:///x/y.sock", "info", env={"XDG_STATE_HOME": str(tmp_path)})
    assert result.returncode == 0
    assert "runtime endpoint: /x/y.sock (from --address)" in result.stdout
    assert f"audit log: {tmp_path}/n9s/audit.jsonl" in result.stdout


def test_dump_with_no_runtime_is_a_clear_error(tmp_path):
    result = run("--address", str(tmp_path / "none.sock"), "dump", "--interval", "0",
                 env={"XDG_STATE_HOME": str(tmp_path)})
    assert result.returncode == 2
    assert f"no containerd socket at {tmp_path}/none.sock" in result.stderr
    assert "Traceback" not in result.stderr


def test_config_file_sets_readonly_and_flags_still_work(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('readonly = true\nrefresh = 5\naddress = "unix:///from/config.sock"\n')
    result = run("info", env={"N9S_CONFIG": str(config), "XDG_STATE_HOME": str(tmp_path)})
    assert "read-only: yes" in result.stdout
    assert "runtime endpoint: /from/config.sock (from --address)" in result.stdout
    result = run("--address", "/flag.sock", "info", env={"N9S_CONFIG": str(config), "XDG_STATE_HOME": str(tmp_path)})
    assert "runtime endpoint: /flag.sock" in result.stdout


async def test_keymap_from_config_rebinds_a_key_by_binding_id(tmp_path, monkeypatch):
    from n9s.ui.app import AppConfig, N9sApp
    from n9s.core.config import load_config

    config = tmp_path / "config.toml"
    config.write_text('[keymap]\n"command" = "c"\n')
    keymap = load_config(config).values["keymap"]
    assert keymap == {"command": "c"}

    from n9s.model.seams import PictureSource

    class NoCollector(PictureSource):
        def refresh(self, **kwargs):
            from n9s.model.picture import NodeInfo, NodePicture

            return NodePicture(taken_at=0.0, node=NodeInfo(hostname="x"))

    app = N9sApp(NoCollector(), AppConfig(keymap=keymap))
    async with app.run_test() as pilot:
        await pilot.pause(0.2)
        await pilot.press("c")
        await pilot.pause(0.1)
        assert app.screen.query_one("#prompt").has_class("visible")
