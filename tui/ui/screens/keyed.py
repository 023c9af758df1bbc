"""Textual's side of the key registry (`n9s.core.keys`): a screen's Bindings made from its entries, and the one gate an
entry's action passes before it acts. The footer and `?` ask the same gate (`key_state`) what to show, so what is
offered, what is marked and what a refused key says cannot disagree."""
from __future__ import annotations

import functools
from typing import Any, Callable, ClassVar

from textual.binding import Binding

from n9s.core.keys import OFFERED, KeyAction, KeyState, Session, key_state, session_of
from n9s.ui.app_api import app_api
from n9s.ui.screens.base import ScreenMixinBase


def bindings(actions: tuple[KeyAction, ...]) -> list[Binding]:
    return [Binding(a.key, a.action, a.description, id=a.id, show=a.show, priority=a.priority, tooltip=a.what)
            for a in actions]


class Keyed(ScreenMixinBase):
    """A screen whose keys come from the registry. `key_kind` is the kind of row its actions apply to."""

    KEYS: ClassVar[tuple[KeyAction, ...]] = ()
    key_kind = ""
    help_title = ""
    _session: Session | None = None

    def registered(self, action: str) -> KeyAction | None:
        return next((a for a in self.KEYS if a.action == action), None)

    def key_state(self, action: str) -> KeyState:
        """What the footer and `?` show for the binding that runs `action` (a Textual action string)."""
        entry = self.registered(action)
        if entry is None:
            return OFFERED
        return key_state(entry, self.key_kind, session_of(self.app))

    def refuse(self, action: str) -> bool:
        """True when `action` may not run now; the user is told why in one line."""
        state = self.key_state(action)
        if state.refused:
            self.notify(state.why, severity="warning", timeout=6, markup=False)
        return state.refused

    def follow_session(self) -> None:
        """The footer shows what this session can do: redraw it when that changed (the API connected, the
        runtime went away)."""
        session = session_of(self.app)
        if session != self._session:
            self._session = session
            self.refresh_bindings()

    def action_help(self) -> None:
        app_api(self.app).open_help()


def gated(method: Callable[..., Any]) -> Callable[..., Any]:
    """An action method that runs only when its registry entry is offered; otherwise the key says why."""
    name = method.__name__.removeprefix("action_")

    @functools.wraps(method)
    def run(self: Keyed, *args: Any) -> Any:
        if self.refuse(name):
            return None
        return method(self, *args)

    return run
