"""Join the API's pods with the runtime's by UID and say where the two disagree. Pure."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from n9s.model.picture import PodRow

NOT_IN_RUNTIME = "not in runtime"
UNKNOWN_TO_API = "unknown to API"
STATIC = "static"
SEVERAL_SANDBOXES = "sandboxes"


def _api_says_running(api: Any) -> set[str]:
    return {c.name for c in getattr(api, "containers", ()) if getattr(c.state, "kind", "") == "running"}


def _created_ns(api: Any) -> int:
    created = getattr(api, "created", None)
    return int(created.timestamp() * 1e9) if created is not None else 0


def join_api(pods: list[PodRow], snapshot: Any) -> list[PodRow]:
    """Attach each pod's API object and flag the disagreements; add rows for pods only the API knows.

    Flags are only raised when the API's list is complete (synced) and healthy: a pod is not "unknown to API"
    just because the API is down."""
    if snapshot is None or not snapshot.pods and not snapshot.synced:
        return pods
    api_pods = snapshot.pods
    trusted = snapshot.synced and snapshot.ok
    by_uid: dict[str, list[PodRow]] = {}
    for p in pods:
        by_uid.setdefault(p.uid, []).append(p)
    out: list[PodRow] = []
    for p in pods:
        api = api_pods.get(p.uid)
        flags: list[str] = list(p.flags)
        siblings = by_uid.get(p.uid, [])
        if len(siblings) > 1 and p.state == "READY":
            flags.append(f"{len(siblings)} {SEVERAL_SANDBOXES}")
        if api is None:
            if trusted and p.state == "READY":
                flags.append(STATIC if p.static else UNKNOWN_TO_API)
        else:
            if p.state == "READY":
                running_here = {c.name for c in p.containers if c.state == "RUNNING"}
                for name in sorted(_api_says_running(api) - running_here):
                    flags.append(f"API says {name} running")
        out.append(replace(p, api=api, flags=tuple(flags)))
    if trusted:
        runtime_uids = set(by_uid)
        for uid, api in api_pods.items():
            if uid in runtime_uids or getattr(api, "phase", "") in ("Succeeded", "Failed"):
                continue
            ready, total = getattr(api, "ready", (0, 0))
            out.append(
                PodRow(
                    id=f"api:{uid}",
                    namespace=api.namespace,
                    name=api.name,
                    uid=uid,
                    attempt=0,
                    state="-",
                    created_at_ns=_created_ns(api),
                    labels=dict(api.labels),
                    annotations=dict(api.annotations),
                    status=api.status_text,
                    ready=ready,
                    total=total,
                    restarts=api.restarts,
                    api=api,
                    flags=(NOT_IN_RUNTIME,),
                )
            )
        out.sort(key=lambda r: (r.namespace, r.name, -r.attempt))
    return out
