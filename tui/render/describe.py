"""What `d` (describe) and `y` (YAML) show: the runtime's own records, fetched in a worker thread."""
from __future__ import annotations

import dataclasses
import json
from typing import Any, Callable

import yaml

from n9s.sources.errors import SourceError


def to_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True, width=120)


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.repr}
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, bytes):
        return obj.decode("utf-8", errors="replace")
    return obj


def api_summary(api: Any, flags: tuple[str, ...] = ()) -> dict[str, Any]:
    """What kubectl describe leads with: status, QoS, owner, IP, and each container's requests and limits."""
    owner = getattr(api, "owner", None)
    return {
        "status": api.status_text,
        "phase": api.phase,
        "ready": f"{api.ready[0]}/{api.ready[1]}",
        "restarts": api.restarts,
        "qos_class": api.qos_class,
        "owner": f"{owner.kind}/{owner.name}" if owner is not None else None,
        "pod_ip": api.pod_ip,
        "node": api.node_name,
        "disagreements": list(flags),
        "containers": [
            {
                "name": c.name,
                "kind": c.kind,
                "image": c.image,
                "state": c.state.kind + (f" ({c.state.reason})" if c.state.reason else ""),
                "ready": c.ready,
                "restarts": c.restart_count,
                "cpu_request": f"{c.cpu_request_m}m" if c.cpu_request_m is not None else None,
                "cpu_limit": f"{c.cpu_limit_m}m" if c.cpu_limit_m is not None else None,
                "memory_request_bytes": c.memory_request_bytes,
                "memory_limit_bytes": c.memory_limit_bytes,
            }
            for c in api.containers
        ],
    }


def describe_loader(app: Any, kind: str, key: str) -> tuple[str, Callable[[], str]]:
    collector = app.collector
    cri, ctd = collector.cri, collector.containerd

    if kind == "pod":
        def load() -> str:
            doc: dict[str, Any] = {}
            picture = app.picture
            pod = picture.pod(key) if picture is not None else None
            if pod is not None and pod.api is not None:
                doc["api"] = api_summary(pod.api, pod.flags)
            if cri is not None and not key.startswith("api:"):
                try:
                    status = cri.pod_sandbox_status(key, verbose=True)
                except SourceError as err:
                    if not doc:
                        raise
                    doc["runtime"] = f"not read: {err}"  # the runtime is away: the API's part still shows
                else:
                    doc.update({"sandbox": _plain(status.sandbox), "ip": status.ip, "network": status.network_mode,
                                "info": status.info})
            return to_yaml(doc)
        return f"describe pod sandbox {key[:13]}", load
    if kind in ("container", "task"):
        def load() -> str:
            status = cri.container_status(key, verbose=True)
            doc = _plain(status)
            info = doc.pop("info", {})
            doc["info"] = info
            if ctd is not None:
                found = ctd.containers(f"id=={key}")
                if found:
                    doc["containerd"] = _plain(found[0]) | {"spec": found[0].spec}
            return to_yaml(doc)
        return f"describe container {key[:13]}", load
    if kind == "snapshot":
        def load() -> str:
            picture = app.picture
            row = next((s for s in (picture.snapshots or ()) if s.key == key), None) if picture else None
            return to_yaml(_plain(row) if row else {"key": key, "error": "no longer listed"})
        return f"describe snapshot {key[:40]}", load
    if kind == "image":
        def load() -> str:
            image, info = cri.image_status(key, verbose=True)
            return to_yaml({"image": _plain(image), "info": info})
        return f"describe image {key[:40]}", load
    return f"describe {kind}", lambda: json.dumps({"key": key}, indent=2)


def yaml_loader(app: Any, key: str) -> tuple[str, Callable[[], str]]:
    """The pod's manifest from the API when known, else what the runtime was told (the sandbox config)."""
    picture = app.picture
    pod = picture.pod(key) if picture is not None else None
    api = getattr(pod, "api", None) if pod is not None else None
    manifest = getattr(api, "manifest", None)
    if manifest and pod is not None:
        return f"pod {pod.namespace}/{pod.name} (from the API)", lambda: to_yaml(manifest)

    def load() -> str:
        status = app.collector.cri.pod_sandbox_status(key, verbose=True)
        return "# the API is not reachable: this is the sandbox config the kubelet gave the runtime\n" + to_yaml(
            status.info.get("config", {})
        )
    return f"pod sandbox {key[:13]} (runtime view)", load
