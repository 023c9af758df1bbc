"""Build a tiny OCI image from the host's static busybox, without any registry.

The image holds `/bin/busybox` and one symlink per applet, so `sh`, `sleep`, `httpd`... all work. It serves both as
the CRI pause image (its default command is a long `sleep`) and as the workload image of the demo pods.
The result is an OCI image layout packed in a tar, which `ctr images import` understands.
"""
from __future__ import annotations

import hashlib
import io
import json
import platform
import struct
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

IMAGE_REF = "n9s.local/busybox:demo"
BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")
IMAGE_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Fixed time stamps make the build reproducible, so the image digest only changes with busybox itself.
_EPOCH = 0
_CREATED = "1970-01-01T00:00:00Z"

_MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
_MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
_MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar"
_MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"

_GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x",
           "riscv64": "riscv64", "i686": "386"}

# Directories every container expects; runc creates mount points on its own, these are for the programs.
_DIRS = ("bin", "dev", "etc", "proc", "root", "sys", "tmp", "var", "var/log", "var/www")
_FILES = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    "etc/group": "root:x:0:\nnogroup:x:65534:\n",
    "var/www/index.html": "<html><body>n9s demo</body></html>\n",
}


class ImageBuildError(RuntimeError):
    """The demo image cannot be built on this machine (message says what is missing)."""


@dataclass(frozen=True)
class BuiltImage:
    ref: str
    tar_path: Path
    manifest_digest: str
    config_digest: str  # what CRI reports as the image id


def find_busybox() -> Path | None:
    for candidate in BUSYBOX_CANDIDATES:
        path = Path(candidate)
        if path.is_file():
            return path.resolve()
    return None


def is_static_elf(path: Path) -> bool:
    """True when the ELF file has no PT_INTERP program header, i.e. needs no dynamic loader."""
    with open(path, "rb") as f:
        head = f.read(64)
        if len(head) < 64 or head[:4] != b"\x7fELF":
            return False
        is64 = head[4] == 2
        endian = "<" if head[5] == 1 else ">"
        if is64:
            phoff, = struct.unpack_from(endian + "Q", head, 0x20)
            phentsize, phnum = struct.unpack_from(endian + "HH", head, 0x36)
        else:
            phoff, = struct.unpack_from(endian + "I", head, 0x1C)
            phentsize, phnum = struct.unpack_from(endian + "HH", head, 0x2A)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    for i in range(phnum):
        p_type, = struct.unpack_from(endian + "I", table, i * phentsize)
        if p_type == 3:  # PT_INTERP
            return False
    return True


def busybox_applets(busybox: Path) -> list[str]:
    out = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, check=True, timeout=10).stdout
    return sorted({name.strip() for name in out.splitlines() if name.strip() and "/" not in name})


def _tar_info(name: str, kind: bytes, mode: int, size: int = 0, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.size = size
    info.linkname = linkname
    info.mtime = _EPOCH
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def build_layer(busybox: Path, applets: list[str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for d in _DIRS:
            tar.addfile(_tar_info(d, tarfile.DIRTYPE, 0o1777 if d == "tmp" else 0o755))
        data = busybox.read_bytes()
        tar.addfile(_tar_info("bin/busybox", tarfile.REGTYPE, 0o755, len(data)), io.BytesIO(data))
        for applet in applets:
            if applet != "busybox":
                tar.addfile(_tar_info(f"bin/{applet}", tarfile.SYMTYPE, 0o777, linkname="busybox"))
        for name, text in _FILES.items():
            raw = text.encode()
            tar.addfile(_tar_info(name, tarfile.REGTYPE, 0o644, len(raw)), io.BytesIO(raw))
    return buf.getvalue()


def _json_blob(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def goarch() -> str:
    machine = platform.machine()
    return _GOARCH.get(machine, machine)


def build_image(out_dir: Path, ref: str = IMAGE_REF, busybox: Path | None = None) -> BuiltImage:
    """Write `<out_dir>/busybox-oci.tar`, an OCI layout holding one image named `ref`."""
    busybox = busybox or find_busybox()
    if busybox is None:
        raise ImageBuildError("busybox not found (install Debian package busybox-static)")
    if not is_static_elf(busybox):
        raise ImageBuildError(f"{busybox} is dynamically linked; the demo image needs busybox-static")
    layer = build_layer(busybox, busybox_applets(busybox))
    layer_digest = _digest(layer)  # uncompressed layer: the diff id equals the blob digest
    config = _json_blob({
        "created": _CREATED,
        "architecture": goarch(),
        "os": "linux",
        "config": {"Env": [IMAGE_PATH_ENV], "Cmd": ["sleep", "2147483647"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        "history": [{"created": _CREATED, "created_by": "n9s.demo: busybox-static with applet symlinks"}],
    })
    manifest = _json_blob({
        "schemaVersion": 2,
        "mediaType": _MEDIA_MANIFEST,
        "config": {"mediaType": _MEDIA_CONFIG, "digest": _digest(config), "size": len(config)},
        "layers": [{"mediaType": _MEDIA_LAYER, "digest": layer_digest, "size": len(layer)}],
    })
    index = _json_blob({
        "schemaVersion": 2,
        "mediaType": _MEDIA_INDEX,
        "manifests": [{
            "mediaType": _MEDIA_MANIFEST,
            "digest": _digest(manifest),
            "size": len(manifest),
            "platform": {"architecture": goarch(), "os": "linux"},
            "annotations": {"org.opencontainers.image.ref.name": ref, "io.containerd.image.name": ref},
        }],
    })
    out_dir.mkdir(parents=True, exist_ok=True)
    tar_path = out_dir / "busybox-oci.tar"
    partial = tar_path.with_suffix(".tar.partial")
    with tarfile.open(partial, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(_tar_info("blobs", tarfile.DIRTYPE, 0o755))
        tar.addfile(_tar_info("blobs/sha256", tarfile.DIRTYPE, 0o755))
        for blob in (layer, config, manifest):
            name = "blobs/sha256/" + hashlib.sha256(blob).hexdigest()
            tar.addfile(_tar_info(name, tarfile.REGTYPE, 0o644, len(blob)), io.BytesIO(blob))
        layout = _json_blob({"imageLayoutVersion": "1.0.0"})
        tar.addfile(_tar_info("oci-layout", tarfile.REGTYPE, 0o644, len(layout)), io.BytesIO(layout))
        tar.addfile(_tar_info("index.json", tarfile.REGTYPE, 0o644, len(index)), io.BytesIO(index))
    partial.replace(tar_path)
    return BuiltImage(ref=ref, tar_path=tar_path, manifest_digest=_digest(manifest), config_digest=_digest(config))
