"""ctrl-k and ctrl-d in the app: open the dialog, run the confirmed calls in a thread worker (a stop can take its
whole grace period), show each result as a notification, then ask for a refresh. What the dialog offers and what
each call does is `n9s.actions.plan`; the action layer checks read-only mode on its own.
"""
from __future__ import annotations

import logging
from functools import partial
from typing import Any, Callable, Sequence

from n9s.actions.plan import STOP, Choice, Outcome, Subject, counted, perform, subjects_for, what_of
from n9s.core.daemon_threads import in_daemon_thread
from n9s.core.keys import session_of

log = logging.getLogger("n9s.ui.flows.action_flow")


def _resolve(app: Any, kind: str, keys: Sequence[str]) -> tuple[str, list[Subject]]:
    if getattr(app, "readonly", False):
        # The key is greyed out in read-only mode; this covers any other way in. The action layer refuses anyway.
        app.notify("n9s runs read-only: nothing on the node can be changed", severity="warning", markup=False)
        return kind, []
    if getattr(app, "actions", None) is None:
        app.notify("actions are not available: n9s was started without an action layer", severity="error",
                   markup=False)
        return kind, []
    kind = "container" if kind == "task" else kind  # a task row is keyed by its container id
    if kind not in ("container", "pod"):
        return kind, []
    subjects = subjects_for(app.picture, kind, keys)
    gone = len(keys) - len(subjects)
    if gone:
        app.notify(f"{counted(gone, 'selected row is', 'selected rows are')} gone from the node; left out",
                   severity="warning", markup=False)
    return kind, subjects


def confirm_kill(app: Any, kind: str, keys: list[str]) -> None:
    """ctrl-k: stop with a grace period, or (containers) kill with a chosen signal."""
    kind, subjects = _resolve(app, kind, keys)
    if not subjects:
        return
    from n9s.ui.screens.confirm import KillDialog

    app.push_screen(KillDialog(kind, subjects), callback=partial(start, app, subjects))


def confirm_delete(app: Any, kind: str, keys: list[str]) -> None:
    """ctrl-d: remove containers or pods from the runtime, or delete pods through the API when it is there."""
    kind, subjects = _resolve(app, kind, keys)
    if not subjects:
        return
    from n9s.ui.screens.confirm import DeleteDialog

    # Only what this session can do is offered: no runtime removal in remote mode, no API delete without the API.
    session = session_of(app)
    app.push_screen(DeleteDialog(kind, subjects, api_available=session.api, runtime_available=session.runtime),
                    callback=partial(start, app, subjects))


def start(app: Any, subjects: Sequence[Subject], choice: Choice | None) -> None:
    """The dialog's answer: None cancels; otherwise the calls run in a thread worker."""
    if choice is None or not subjects:
        return  # cancelled: the marks stay, as in K9s
    kind = subjects[0].kind
    _clear_marks(app)
    if choice.operation == STOP and choice.grace_s > 0:
        app.notify(f"Stopping {what_of(kind, subjects)} (grace period {choice.grace_s} s)…", markup=False, timeout=3)
    # The worker's name reaches the app's error notification (with markup): no container-given text in it.
    # The calls run in daemon threads the worker awaits: quitting cancels the worker and waits for none of them.
    app.run_worker(in_daemon_thread(_work, app, list(subjects), choice), group="actions",
                   name=f"{choice.operation} of {counted(len(subjects), kind, kind + 's')}", exit_on_error=False)


def _clear_marks(app: Any) -> None:
    """A confirmed action uses up the marks (as in K9s); rows it removes would otherwise stay marked, unseen."""
    clear = getattr(app.screen, "clear_marks", None)
    if clear is not None:
        clear()


def _work(app: Any, subjects: list[Subject], choice: Choice) -> None:
    refused_shown = False

    def report(outcome: Outcome) -> None:
        nonlocal refused_shown
        if outcome.refused:
            if refused_shown:
                return  # one read-only refusal says it for every row
            refused_shown = True
        _call(app, show_outcome, app, outcome)

    perform(app.actions, subjects, choice, report)


def _call(app: Any, fn: Callable[..., Any], *args: Any) -> None:
    try:
        app.call_from_thread(fn, *args)
    except RuntimeError:  # the app has closed meanwhile; the audit log still has the record
        log.info("result not shown, the app has closed: %s", args[-1])


def show_outcome(app: Any, outcome: Outcome) -> None:
    app.notify(outcome.message, severity="information" if outcome.ok else "error",
               timeout=5 if outcome.ok else 10, markup=False)
    app.request_refresh()
