"""Logs through the API when the node's log file cannot be read here (remote mode, permissions).

The API's stream (with timestamps) is written as CRI log lines into a private temporary file, so the same log
view (index, follow, search, filter, save) shows it; the file goes away when the view closes.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from typing import Any

from n9s.core.paths import open_private

log = logging.getLogger("n9s.sources.logs.api")


def cri_line(api_line: str) -> str:
    """``2026-11-26T05:36:59.969222765Z hello`` (the API with timestamps=true) → a CRI log line."""
    ts, sep, content = api_line.rstrip("\n").partition(" ")
    if not sep or not ts[:4].isdigit() or "T" not in ts:
        return f"1970-01-01T00:00:00Z stdout F {api_line.rstrip(chr(10))}\n"
    return f"{ts} stdout F {content}\n"


class ApiLogBridge:
    def __init__(self, api: Any, namespace: str, pod: str, container: str, path: str, *, previous: bool = False,
                 tail_lines: int = 5000) -> None:
        self.api, self.namespace, self.pod, self.container = api, namespace, pod, container
        self.path, self.previous, self.tail_lines = path, previous, tail_lines
        self._stream: Any = None
        self._stop = threading.Event()
        fd = open_private(path, exclusive=True)
        self._file = os.fdopen(fd, "w", encoding="utf-8")
        self._thread = threading.Thread(target=self._run, name=f"n9s-api-log-{container}", daemon=True)

    def start(self) -> "ApiLogBridge":
        self._thread.start()
        return self

    def _run(self) -> None:
        from n9s.sources.errors import SourceError

        try:
            self._stream = self.api.pod_logs(self.namespace, self.pod, container=self.container,
                                             follow=not self.previous, previous=self.previous,
                                             tail_lines=self.tail_lines, timestamps=True)
            for line in self._stream:
                if self._stop.is_set():
                    break
                self._file.write(cri_line(line))
                self._file.flush()
        except SourceError as err:
            self._file.write(cri_line(f"2000-01-01T00:00:00Z [n9s] the API log stream failed: {err}"))
        except Exception:  # noqa: BLE001 - a broken stream ends this view's source only
            log.exception("API log stream failed")
        finally:
            try:
                self._file.close()
            except OSError:
                pass

    def stop(self) -> None:
        self._stop.set()
        stream = self._stream
        if stream is not None:
            try:
                stream.close()
            except Exception:  # noqa: BLE001
                pass


class ApiLogs:
    """The temporary files and bridges of one log view."""

    def __init__(self, api: Any, namespace: str, pod: str, containers: list[str], *, previous: bool = False) -> None:
        self.dir = tempfile.mkdtemp(prefix="n9s-api-logs-")
        self.bridges = [
            ApiLogBridge(api, namespace, pod, c, os.path.join(self.dir, f"{i}.log"), previous=previous).start()
            for i, c in enumerate(containers)
        ]

    @property
    def target(self) -> Any:
        if len(self.bridges) == 1:
            return self.bridges[0].path
        return {b.container: b.path for b in self.bridges}

    def close(self) -> None:
        for b in self.bridges:
            b.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
