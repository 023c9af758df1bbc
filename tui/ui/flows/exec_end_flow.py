"""ctrl-k in the container detail: from the exec the user picked to a confirmed, audited end through the action
layer (which refuses it in read-only mode), and a notification saying how it went."""
from __future__ import annotations

import logging
from functools import partial
from typing import Any, Sequence

from n9s.actions.layer import Target
from n9s.ui.flows.exec_flow import label_of, tell
from n9s.model.picture import ContainerRow, ExecRow
from n9s.core.sanitize import sanitize_label
from n9s.sources.errors import ReadOnlyRefused, SourceError

log = logging.getLogger("n9s.exec")


def _target(row: ContainerRow) -> Target:
    return Target(id=row.id, name=row.name, namespace=row.namespace, pod=row.pod_name, kind="container")


def confirm_end_exec(app: Any, row: ContainerRow, execs: Sequence[ExecRow]) -> None:
    if getattr(app, "readonly", False):
        tell(app, "ending an exec refused: n9s runs read-only", "warning")
        return
    if getattr(app, "actions", None) is None:
        tell(app, "actions are not available in this session", "error")
        return
    if not execs:
        tell(app, f"{label_of(_target(row))} has no exec processes", "warning")
        return
    from n9s.ui.screens.end_exec import EndExecDialog

    target = _target(row)
    app.push_screen(EndExecDialog(label_of(target), list(execs)), callback=partial(_chosen, app, target))


def _chosen(app: Any, target: Target, chosen: ExecRow | None) -> None:
    if chosen is None:
        return
    app.run_worker(partial(_end, app, target, chosen), thread=True, exit_on_error=False, name="end exec",
                   group="actions")


def _end(app: Any, target: Target, e: ExecRow) -> None:
    program = e.command.split(" ", 1)[0] if e.command else ""
    what = f"{sanitize_label(program, 40) or 'exec'} (pid {e.pid}) in {label_of(target)}"
    try:
        result = app.actions.end_exec(target, e.exec_id, pid=e.pid, program=program, why="the user ended it")
    except ReadOnlyRefused as err:
        message, severity = str(err), "error"
    except SourceError as err:
        message, severity = f"ending {what} failed: {sanitize_label(str(err), 300)}", "error"
    else:
        ok = result.ok
        message = f"ended {what}" if ok else f"ending {what} failed: {sanitize_label(result.message, 300)}"
        severity = "information" if ok else "error"
    log.info("end exec %s in %s: %s", e.exec_id, target.id, message)
    try:
        app.call_from_thread(_done, app, message, severity)
    except RuntimeError:  # the app has closed meanwhile; the audit log has the record
        pass


def _done(app: Any, message: str, severity: str) -> None:
    tell(app, message, severity)
    app.request_refresh()
