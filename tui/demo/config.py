"""The private containerd configuration of a demo node."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

ROOT_PREFIX = "n9s-demo-"  # the temporary root of every demo node starts with this

# Snapshotters that can't work in a scratch directory on an ordinary file system; skipping them saves start time
# and log noise.
_DISABLED_PLUGINS = (
    "io.containerd.snapshotter.v1.aufs",
    "io.containerd.snapshotter.v1.btrfs",
    "io.containerd.snapshotter.v1.zfs",
    "io.containerd.snapshotter.v1.devmapper",
    "io.containerd.tracing.processor.v1.otlp",
    "io.containerd.internal.v1.tracing",
)


@dataclass(frozen=True)
class NodeLayout:
    """Where a demo node keeps everything; all of it lives under `root`."""

    root: Path

    @property
    def socket(self) -> Path:
        return self.root / "containerd.sock"

    @property
    def ttrpc_socket(self) -> Path:
        return self.root / "containerd.sock.ttrpc"

    @property
    def config(self) -> Path:
        return self.root / "containerd.toml"

    @property
    def log(self) -> Path:
        return self.root / "containerd.log"

    @property
    def containerd_root(self) -> Path:
        return self.root / "root"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def runc_root(self) -> Path:
        return self.root / "runc"

    @property
    def pods_dir(self) -> Path:
        return self.root / "pods"

    @property
    def image_dir(self) -> Path:
        return self.root / "image"

    @property
    def opt_dir(self) -> Path:
        return self.root / "opt"

    @property
    def cni_dir(self) -> Path:
        return self.root / "cni"

    @property
    def owner_file(self) -> Path:
        """pid and start time of the process that owns the node, to find leftovers of a crashed run."""
        return self.root / "owner.json"

    @property
    def cgroups_file(self) -> Path:
        """The pod cgroup parents this node asked for, one a line, so teardown removes only those."""
        return self.root / "cgroups.list"


def _q(value: str | Path) -> str:
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def render_config(layout: NodeLayout, *, sandbox_image: str, snapshotter: str, runc_binary: str) -> str:
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    runc = f'{cri}.containerd.runtimes.runc'
    disabled = ", ".join(_q(p) for p in _DISABLED_PLUGINS)
    return f"""\
version = 2
root = {_q(layout.containerd_root)}
state = {_q(layout.state_dir)}
disabled_plugins = [{disabled}]

[grpc]
  address = {_q(layout.socket)}

[ttrpc]
  address = {_q(layout.ttrpc_socket)}

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = {_q(layout.opt_dir)}

[{cri}]
  sandbox_image = {_q(sandbox_image)}
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  disable_apparmor = true

[{cri}.cni]
  bin_dir = {_q(layout.cni_dir / "bin")}
  conf_dir = {_q(layout.cni_dir / "net.d")}

[{cri}.containerd]
  snapshotter = {_q(snapshotter)}
  default_runtime_name = "runc"

[{runc}]
  runtime_type = "io.containerd.runc.v2"

[{runc}.options]
  SystemdCgroup = false
  BinaryName = {_q(runc_binary)}
  Root = {_q(layout.runc_root)}
"""
