"""Where the kubelet writes container logs (CRI log files), as plain path facts: cheap to import on the refresh
path, unlike the log readers."""
from __future__ import annotations

import os


def kubelet_pod_log_dir(pods_dir: str, namespace: str, pod: str, uid: str) -> str:
    """Where the kubelet keeps a pod's container logs: ``<pods dir>/<namespace>_<pod>_<uid>``."""
    return os.path.join(pods_dir, f"{namespace}_{pod}_{uid}")


def kubelet_log_name(container: str, attempt: int) -> str:
    """A container's log inside its pod's log directory: ``<container>/<attempt>.log``."""
    return f"{container}/{attempt}.log"
