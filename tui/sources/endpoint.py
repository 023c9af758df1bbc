"""Where the container runtime listens: resolution order and socket checks.

Resolution, first match wins: the ``--address`` flag, ``CONTAINER_RUNTIME_ENDPOINT``, ``CONTAINERD_ADDRESS``,
``runtime-endpoint`` in crictl's config (``CRI_CONFIG_FILE`` or ``/etc/crictl.yaml``), then containerd's default.
"""
from __future__ import annotations

import grp
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from n9s.sources.errors import InvalidAddress, PermissionDenied, Unreachable

DEFAULT_SOCKET = "/run/containerd/containerd.sock"
CRICTL_CONFIG = "/etc/crictl.yaml"
# A unix socket's address is sun_path: 108 bytes with the closing NUL, so a longer path can never be connected to.
MAX_SOCKET_PATH_BYTES = 107


@dataclass(frozen=True)
class Endpoint:
    path: str
    origin: str  # which rule chose it, e.g. "--address" or "CONTAINER_RUNTIME_ENDPOINT"

    @property
    def target(self) -> str:
        return f"unix://{self.path}"


def socket_path(address: str) -> str:
    """``unix:///run/x.sock``, ``unix:/run/x.sock`` and ``/run/x.sock`` all name ``/run/x.sock``."""
    address = address.strip()
    if address.startswith("unix://"):
        return address[len("unix://"):]
    if address.startswith("unix:"):
        return address[len("unix:"):]
    return address


def _crictl_runtime_endpoint(config_file: str) -> str | None:
    try:
        text = Path(config_file).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    # crictl.yaml is flat "key: value" YAML; a line scan avoids needing a YAML parser on the startup path.
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == "runtime-endpoint":
            value = value.strip().strip("'\"")
            if value:
                return value
    return None


def resolve_endpoint(flag: str | None = None, env: dict[str, str] | None = None) -> Endpoint:
    env = dict(os.environ) if env is None else env
    if flag:
        return Endpoint(socket_path(flag), "--address")
    for var in ("CONTAINER_RUNTIME_ENDPOINT", "CONTAINERD_ADDRESS"):
        if env.get(var):
            return Endpoint(socket_path(env[var]), var)
    config_file = env.get("CRI_CONFIG_FILE") or CRICTL_CONFIG
    found = _crictl_runtime_endpoint(config_file)
    if found:
        return Endpoint(socket_path(found), f"runtime-endpoint in {config_file}")
    return Endpoint(DEFAULT_SOCKET, "default")


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def check_address(path: str) -> None:
    """Raise InvalidAddress when ``path`` cannot name a unix socket whatever is on disk."""
    if "\x00" in path:
        raise InvalidAddress("invalid runtime address: it holds a NUL character", hint="set --address")
    size = len(os.fsencode(path))
    if size > MAX_SOCKET_PATH_BYTES:
        raise InvalidAddress(
            f"invalid runtime address: the socket path is {size} bytes, a unix socket path is at most "
            f"{MAX_SOCKET_PATH_BYTES}", hint="set --address to a shorter path (a symlink to the socket will do)")


def check_socket(path: str) -> None:
    """Raise a user-facing error when ``path`` cannot be a usable runtime socket."""
    check_address(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise Unreachable(f"no containerd socket at {path}", hint="is containerd running? set --address") from None
    except PermissionError:
        raise PermissionDenied(
            f"permission denied reaching {path}", hint="run as root or as a member of the socket's group"
        ) from None
    except OSError as err:  # a path through a file, a symlink loop, a name too long
        raise Unreachable(f"cannot reach {path}: {err.strerror or err}", hint="set --address") from None
    if not stat.S_ISSOCK(st.st_mode):
        raise Unreachable(f"{path} is not a socket", hint="point --address at containerd's gRPC socket")
    if not os.access(path, os.R_OK | os.W_OK):
        group = _group_name(st.st_gid)
        raise PermissionDenied(
            f"permission denied on {path} (mode {stat.S_IMODE(st.st_mode):04o}, group {group})",
            hint=f"run as root or as a member of the socket's group '{group}'",
        )
