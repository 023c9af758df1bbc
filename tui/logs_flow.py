"""`l` and `p`: open the CRI log file(s) of a container, or of every container of a pod merged by timestamp."""
from __future__ import annotations

from typing import Any

from .model.joins import current_attempts
from .sources.errors import SourceError


def _log_path(app: Any, row: Any) -> str:
    if row.log_path:
        return row.log_path
    try:  # the collector learns log paths lazily; ask once more
        return app.collector.cri.container_status(row.id).log_path
    except SourceError:
        return ""


def log_targets(app: Any, kind: str, key: str) -> tuple[str, Any]:
    """(title, path or {container: path}) for a pod or container key, or raise LookupError with a reason."""
    picture = app.picture
    if picture is None:
        raise LookupError("no data yet")
    if kind == "pod":
        pod = picture.pod(key)
        if pod is None:
            raise LookupError("that pod is gone")
        current = current_attempts(pod.containers)
        paths = {c.name: p for c in current if (p := _log_path(app, c))}
        if not paths:
            raise LookupError(f"pod {pod.namespace}/{pod.name} has no container log files")
        title = f"{pod.namespace}/{pod.name}"
        if len(paths) == 1:
            name, path = next(iter(paths.items()))
            return f"{title}/{name}", path
        return title, paths
    row = picture.container(key)
    if row is None:
        raise LookupError("that container is gone")
    path = _log_path(app, row)
    if not path:
        raise LookupError(f"the runtime reports no log path for {row.pod_key}/{row.name}")
    return f"{row.pod_key}/{row.name}", path


def open_logs(app: Any, kind: str, key: str, *, previous: bool = False) -> None:
    from .screens.logs import LogsScreen

    try:
        title, target = log_targets(app, kind, key)
    except LookupError as err:
        app.notify(str(err), severity="warning")
        return
    app.push_screen(LogsScreen(target, title, previous=previous))
