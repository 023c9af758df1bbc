"""One key at a time: the app hands a key on only when the key before it has been handled all the way.

Textual hands each key to the widget that has focus as it takes the key from the terminal, but looks up the key's
binding later, when the key has bubbled from that widget through its parents back to the app. Keys that come as
one burst (a paste, a fast typist, ssh lag) are therefore all handed to the same widget before the first one has
acted: `:snap⏎` gave `s`, `n`, `a`, `p` to the table before `:` had opened the prompt, so `s` opened a shell. The
gate holds every further key while one is on its way, and follows that key with a callback through the same queues
(the widget's, its parents', the app's); when the callback reaches the app, the key and its binding are done, and
the next key is handed to whatever has focus then. A burst then behaves as if it had been typed slowly.

A screen that is a KeyTrap (the one shown after a shell session) gets each key instead, before any binding, the
app's priority bindings (ctrl-c) included.
"""
from __future__ import annotations

from collections import deque
from typing import Any, Awaitable, Callable, Protocol, runtime_checkable

from textual import events
from textual.app import ScreenStackError

# Only if a follower is lost (its widget went away with its queue): the next key waits this long, never longer.
PATIENCE_S = 1.0


@runtime_checkable
class KeyTrap(Protocol):
    """A screen that takes every key itself while it is the top screen; no binding sees them."""

    def trap_key(self, event: events.Key) -> None: ...


class KeyGate:
    def __init__(self, app: Any, patience_s: float = PATIENCE_S) -> None:
        self.app = app
        self.patience_s = patience_s
        self._held: deque[events.Key] = deque()
        self._busy = False
        self._released: events.Key | None = None  # the held key posted again, to be let through
        self._turn = 0
        self._timer: Any = None

    async def pass_key(self, event: events.Key, dispatch: Callable[[events.Key], Awaitable[None]]) -> None:
        """Dispatch `event` now, or hold it until the keys before it are done."""
        if event is self._released:
            self._released = None
        elif self._busy or self._held or self._released is not None:
            self._held.append(event)
            return
        self._busy = True
        self._turn += 1
        turn = self._turn
        trap = self._trap()
        if trap is not None:
            try:
                trap.trap_key(event)
            finally:
                self._open(turn)
            return
        path = self._path()
        try:
            await dispatch(event)
        finally:
            self._timer = self.app.set_timer(self.patience_s, lambda: self._open(turn), name="key-gate")
            self._follow(turn, path)

    def _trap(self) -> KeyTrap | None:
        try:
            screen = self.app.screen
        except ScreenStackError:  # no screen yet
            return None
        return screen if isinstance(screen, KeyTrap) else None

    def _path(self) -> list[Any]:
        """The queues the key will pass: the focused widget (or the screen) and its ancestors up to the app."""
        try:
            target = self.app.focused or self.app.screen
        except ScreenStackError:  # no screen yet: the app's own queue is the whole path
            return [self.app]
        return list(target.ancestors_with_self)

    def _follow(self, turn: int, path: list[Any]) -> None:
        while path:
            node, path = path[0], path[1:]
            if node.call_later(self._follow, turn, path):
                return  # runs in that queue after the key; then on to the next
        self._open(turn)

    def _open(self, turn: int) -> None:
        if turn != self._turn or not self._busy:
            return  # that key's gate was opened already (by its follower or by the timer)
        self._busy = False
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self._held:
            self._released = self._held.popleft()
            self.app.post_message(self._released)
