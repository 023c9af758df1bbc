"""Endpoint resolution and the errors a user sees when the socket is wrong (no runtime needed)."""
from __future__ import annotations

import os
import socket
import threading

import pytest

from n9s.sources.containerd import ContainerdClient
from n9s.sources.cri import CriClient
from n9s.sources.endpoint import DEFAULT_SOCKET, resolve_endpoint
from n9s.sources.errors import PermissionDenied, Unreachable


def test_resolution_order_first_match_wins(tmp_path):
    crictl = tmp_path / "crictl.yaml"
    crictl.write_text("runtime-endpoint: unix:///from/crictl.sock\nimage-endpoint: unix:///img.sock\n")
    env = {
        "CONTAINER_RUNTIME_ENDPOINT": "unix:///from/cre.sock",
        "CONTAINERD_ADDRESS": "/from/containerd_address.sock",
        "CRI_CONFIG_FILE": str(crictl),
    }
    assert resolve_endpoint("unix:///from/flag.sock", env).path == "/from/flag.sock"
    assert resolve_endpoint(None, env).path == "/from/cre.sock"
    env.pop("CONTAINER_RUNTIME_ENDPOINT")
    assert resolve_endpoint(None, env).path == "/from/containerd_address.sock"
    env.pop("CONTAINERD_ADDRESS")
    found = resolve_endpoint(None, env)
    assert found.path == "/from/crictl.sock" and "crictl" in found.origin
    env["CRI_CONFIG_FILE"] = str(tmp_path / "absent.yaml")
    assert resolve_endpoint(None, env).path == DEFAULT_SOCKET


@pytest.mark.parametrize("client_type", [CriClient, ContainerdClient])
def test_missing_socket_says_so(tmp_path, client_type):
    path = str(tmp_path / "containerd.sock")
    with pytest.raises(Unreachable) as err:
        client_type(path).version()
    assert str(err.value) == f"no containerd socket at {path}; is containerd running? set --address"


def test_plain_file_is_not_a_socket(tmp_path):
    path = tmp_path / "containerd.sock"
    path.write_text("not a socket")
    with pytest.raises(Unreachable, match="is not a socket"):
        CriClient(str(path)).version()


def test_socket_nobody_listens_on(tmp_path):
    path = str(tmp_path / "dead.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.close()  # the file stays, nobody accepts
    with pytest.raises(Unreachable, match="nobody listens on"):
        CriClient(path, timeout=3).version()


def test_a_server_that_does_not_speak_grpc(tmp_path):
    path = str(tmp_path / "http.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen()

    def talk_nonsense():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            conn.close()

    threading.Thread(target=talk_nonsense, daemon=True).start()
    try:
        with pytest.raises(Unreachable, match="is not a gRPC server"):
            CriClient(path, timeout=3).version()
    finally:
        server.close()


def test_permission_denied_names_the_group():
    if os.getuid() != 0:
        pytest.skip("needs root to drop privileges in a child")
    import shutil
    import tempfile

    tmp_path = tempfile.mkdtemp(prefix="n9s-perm-")  # pytest's tmp dirs are 0700: the child could not even look
    path = os.path.join(tmp_path, "root-only.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    os.chmod(path, 0o660)
    os.chmod(tmp_path, 0o755)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: become nobody and try
        os.close(read)
        try:
            os.setgid(65534)
            os.setuid(65534)
            CriClient(path).version()
            msg = "no error"
        except PermissionDenied as err:
            msg = "PermissionDenied: " + str(err)
        except Exception as err:  # noqa: BLE001
            msg = f"{type(err).__name__}: {err}"
        os.write(write, msg.encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    msg = os.read(read, 4096).decode()
    s.close()
    shutil.rmtree(tmp_path)
    assert msg.startswith("PermissionDenied")
    assert "run as root or as a member of the socket's group 'root'" in msg
