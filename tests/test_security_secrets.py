"""Secrets stay secret: the bearer token, the client key and the rest of the kubeconfig never reach the audit log,
the log file (even with --debug) or what the screen shows, while n9s talks to the (fake) API server and deletes a
pod through it.

The app is started the way a user starts it, through `n9s.cli.main` (flags, config, logging, API side, action
layer, audit log); only `N9sApp.run` is replaced by a pilot that presses the keys.
"""
from __future__ import annotations

import asyncio
import base64
import logging
import secrets
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from kube_fake.manifests import node_manifest, pod_manifest
from kube_fake.server import FakeKube

from n9s import cli
from n9s.ui.app import N9sApp

NODE = "node-1"


# ---------------------------------------------------------------- running the real CLI with a scripted user

@contextmanager
def scripted_cli(monkeypatch, script, *, size=(180, 50)):
    """Within the block, `cli.main(argv)` runs n9s with `script(app, pilot)` as the user; `seen["app"]` is the app.
    The n9s logger's handlers and level are restored afterwards (cli.main adds a file handler)."""
    seen: dict = {}

    def run(self: N9sApp, *args, **kwargs) -> None:
        seen["app"] = self

        async def drive() -> None:
            async with self.run_test(size=size, notifications=True) as pilot:
                await script(self, pilot)

        asyncio.run(drive())

    monkeypatch.setattr(N9sApp, "run", run)
    logger = logging.getLogger("n9s")
    handlers, level = list(logger.handlers), logger.level
    try:
        yield seen
    finally:
        for handler in logger.handlers[len(handlers):]:
            handler.close()
        logger.handlers[:] = handlers
        logger.setLevel(level)


async def wait_for(pilot, predicate, what: str, timeout: float = 20.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        try:
            value = predicate()
        except LookupError:
            value = None
        if value:
            return value
        await pilot.pause(0.05)
    raise AssertionError(f"gave up waiting {timeout:g}s for {what}; rows: {rows(pilot.app)[:8]}")


def rows(app) -> list[list[str]]:
    from n9s.ui.screens.browser import BrowserScreen
    from n9s.widgets.resource_table import ResourceTable

    if not isinstance(app.screen, BrowserScreen):
        return []
    table = app.screen.query_one(ResourceTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def cursor_to(app, pilot, first_cells: list[str]) -> None:
    from n9s.widgets.resource_table import ResourceTable

    index = next(i for i, r in enumerate(rows(app)) if r[:len(first_cells)] == first_cells)
    app.screen.query_one(ResourceTable).move_cursor(row=index)
    await pilot.pause(0.05)


# ---------------------------------------------------------------- credentials

def client_key_and_cert(folder: Path) -> tuple[str, str]:
    """A real EC client key and certificate (base64 of the PEM, as kubeconfig's *-data fields hold them)."""
    key, cert = folder / "client.key", folder / "client.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=n9s-test-user"],
                   check=True, capture_output=True)
    return base64.b64encode(key.read_bytes()).decode(), base64.b64encode(cert.read_bytes()).decode()


def secret_kubeconfig(fake: FakeKube, folder: Path) -> tuple[Path, list[str]]:
    """A kubeconfig with a bearer token and client key data; returns it and the strings that must never show."""
    token = f"n9s-secret-{secrets.token_hex(16)}"
    fake.token = token
    key_data, cert_data = client_key_and_cert(folder)
    path = fake.write_kubeconfig(folder / "kubeconfig", token=token)
    config = yaml.safe_load(path.read_text())
    config["users"][0]["user"].update({"client-key-data": key_data, "client-certificate-data": cert_data})
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    key_pem_body = "".join(base64.b64decode(key_data).decode().splitlines()[1:-1])
    # The token, the key as kubeconfig holds it, and pieces of the PEM body (in case something decodes it).
    return path, [token, key_data[20:80], key_pem_body[10:50], key_pem_body[-40:]]


def leaks(text: str, needles: list[str]) -> list[str]:
    return [n for n in needles if n in text]


@pytest.mark.node
def test_no_secret_reaches_the_logs_the_audit_or_the_screen(demo_node, tmp_path, monkeypatch):
    web = demo_node.pods["default/web"]
    manifest = pod_manifest("default", "web", uid=web.uid, node=NODE)
    with FakeKube(pods=[manifest], nodes=[node_manifest(NODE)], deletion_delay=0.2) as fake:
        kubeconfig, needles = secret_kubeconfig(fake, tmp_path)
        state = tmp_path / "state"
        monkeypatch.setenv("XDG_STATE_HOME", str(state))
        monkeypatch.setenv("N9S_CONFIG", str(tmp_path / "no-config.toml"))
        screens: dict[str, str] = {}

        async def user(app, pilot) -> None:
            from textual.widgets import Input, TextArea

            from n9s.ui.screens.confirm import DeleteDialog

            await wait_for(pilot, lambda: any(r[:2] == ["default", "web"] and r[4].startswith("Running")
                                              for r in rows(app)), "the web pod, joined with the API")
            screens["pods"] = app.export_screenshot()
            await cursor_to(app, pilot, ["default", "web"])
            await pilot.press("ctrl+d")
            dialog = await wait_for(pilot, lambda: isinstance(app.screen, DeleteDialog) and app.screen, "ctrl-d")
            assert "through the Kubernetes API" in str(dialog.query_one("#title").render())
            dialog.query_one("#grace", Input).focus()
            await pilot.press("0", "enter")
            await wait_for(pilot, lambda: not any(p["metadata"]["name"] == "web" for p in fake.pods()),
                           "the API delete")
            await cursor_to(app, pilot, ["default", "web"])
            await pilot.press("d")
            await wait_for(pilot, lambda: "sandbox" in app.screen.query_one(TextArea).text, "describe")
            screens["describe"] = app.export_screenshot()
            await pilot.press("escape")
            await pilot.press("colon", *"node", "enter")
            await wait_for(pilot, lambda: any(r[0] == "api" for r in rows(app)), "the node view's API rows")
            screens["node"] = app.export_screenshot()
            await pilot.press("colon", *"events", "enter")
            await pilot.pause(0.3)
            screens["events"] = app.export_screenshot()

        with scripted_cli(monkeypatch, user) as seen:
            code = cli.main(["--debug", "--kubeconfig", str(kubeconfig), "--node", NODE,
                             "--address", str(demo_node.address), "--pods-dir", str(demo_node.pods_dir),
                             "--refresh", "0.5"])
        assert code == 0 and seen["app"].actions.kube is not None

    log_text = (state / "n9s" / "n9s.log").read_text()
    audit_text = (state / "n9s" / "audit.jsonl").read_text()
    assert "delete-pod" in audit_text and "delete-pod on" in log_text  # both really recorded the delete
    assert "DEBUG" in log_text or "INFO" in log_text
    for name, text in {"log file": log_text, "audit log": audit_text, **screens}.items():
        assert leaks(text, needles) == [], name
        assert "client-key-data" not in text and "BEGIN EC PRIVATE KEY" not in text and "Bearer" not in text, name
    for name, svg in screens.items():
        assert "web" in svg or name in ("node", "events"), name  # the screenshots show the node, not a blank


def test_a_broken_kubeconfig_is_reported_without_its_contents(tmp_path):
    """A YAML error deep in a kubeconfig: the message points at the line, never quotes the token on it."""
    from n9s.sources.kube.config import ConfigInvalid, resolve_target

    token = f"n9s-secret-{secrets.token_hex(16)}"
    path = tmp_path / "kubeconfig"
    path.write_text(f"apiVersion: v1\nusers:\n- name: u\n  user:\n    token: {token}\n  : [oops\n")
    with pytest.raises(ConfigInvalid) as caught:
        resolve_target(kubeconfig=str(path), env={})
    assert token not in str(caught.value) and token not in repr(caught.value)
    assert "not valid YAML" in str(caught.value)
