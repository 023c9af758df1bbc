"""The bases every n9s screen derives from: a worker a screen runs reports its failure through the app.

Textual posts a worker's ``Worker.StateChanged`` to the node that runs it and does not bubble it, so a screen's
failed worker would pass silently unless the screen itself listens. These bases listen and hand the worker to
``report_worker_error`` on the app (a notification and a logged traceback); the app's own workers it reports itself.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState

from n9s.ui.app_api import AppApi, app_api

ResultType = TypeVar("ResultType")

if TYPE_CHECKING:
    ScreenMixinBase = Screen[Any]  # a mixin here always sits on a screen: it may use the screen's members
else:
    ScreenMixinBase = object


class ReportsWorkerErrors(ScreenMixinBase):
    """Mixed into a screen: its workers' failures go to the app's one error path."""

    @property
    def n9s(self) -> AppApi:
        """The part of the app a screen may use."""
        return app_api(self.app)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.n9s.report_worker_error(event.worker)


class N9sScreen(ReportsWorkerErrors, Screen[ResultType]):
    """A full screen of n9s."""


class N9sModalScreen(ReportsWorkerErrors, ModalScreen[ResultType]):
    """A dialog of n9s, over the screen it was opened from."""
