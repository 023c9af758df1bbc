"""`l` and `p`: open the CRI log file(s) of a container, or of every container of a pod merged by timestamp."""
from __future__ import annotations

import os
from typing import Any

from n9s.model.joins import current_attempts
from n9s.core.sanitize import sanitize_label
from n9s.sources.errors import SourceError


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


def _unreadable(target: Any) -> str:
    """Why the local log file(s) cannot be read here, or "" when they can."""
    paths = list(target.values()) if isinstance(target, dict) else [target]
    for path in paths:
        if not os.path.exists(path):
            return f"{path} is not on this machine"
        if not os.access(path, os.R_OK):
            return f"no permission to read {path}"
    return ""


def _api_logs_screen_class():
    from n9s.ui.screens.logs import LogsScreen

    class ApiLogsScreen(LogsScreen):
        """The log view over the API stream's temporary files, removed when the view closes."""

        def __init__(self, logs: Any, title: str) -> None:
            super().__init__(logs.target, title, previous=False)
            self.api_logs = logs

        def on_unmount(self) -> None:
            self.api_logs.close()

    return ApiLogsScreen


def _api_fallback(app: Any, kind: str, key: str, previous: bool, why: str) -> bool:
    """Open the pod's log through the API instead; False when the API cannot serve it either."""
    from n9s.sources.logs.api import ApiLogs

    ApiLogsScreen = _api_logs_screen_class()  # noqa: N806 - a class made on first use (textual loads lazily)

    picture = app.picture
    api_side = getattr(app.collector, "api", None)
    if picture is None or api_side is None or getattr(api_side, "client", None) is None:
        return False
    if kind == "pod":
        pod = picture.pod(key)
        containers = [c.name for c in current_attempts(pod.containers)] if pod is not None else []
    else:
        row = picture.container(key)
        pod = picture.pod(row.sandbox_id) if row is not None else None
        containers = [row.name] if row is not None else []
    api_pod = getattr(pod, "api", None)
    if api_pod is None or not containers:
        return False
    logs = ApiLogs(api_side, api_pod.namespace, api_pod.name, containers, previous=previous)
    title = f"{api_pod.namespace}/{api_pod.name}" + (f"/{containers[0]}" if len(containers) == 1 else "")
    screen = ApiLogsScreen(logs, f"{title} (from the API: {why})")
    app.push_screen(screen)
    app.notify(f"log file not readable here ({sanitize_label(why, 200)}); showing the API's log",
               severity="information", markup=False)
    return True


def open_logs(app: Any, kind: str, key: str, *, previous: bool = False) -> None:
    from n9s.ui.screens.logs import LogsScreen

    picture = app.picture
    if picture is not None and picture.remote:
        if not _api_fallback(app, kind, key, previous, "remote mode"):
            app.notify("the API cannot serve this log", severity="warning")
        return
    try:
        title, target = log_targets(app, kind, key)
    except LookupError as err:
        if not _api_fallback(app, kind, key, previous, str(err)):
            app.notify(sanitize_label(str(err), 300), severity="warning", markup=False)  # it names the pod
        return
    why = "" if previous else _unreadable(target)
    if why and _api_fallback(app, kind, key, previous, why):
        return
    app.push_screen(LogsScreen(target, title, previous=previous))
