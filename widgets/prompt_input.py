"""The `:`/`/` prompt's input line. The screen that opens it decides what Enter does (`on_submit`).

Keys of one burst reach it one at a time (see n9s.ui.key_gate): `:snap⏎s` types "snap" into it, and `s` reaches the
snapshots view, because `on_submit` closes the prompt, moves the focus and switches the view before the app hands
on the next key."""
from __future__ import annotations

from typing import Callable

from textual.widgets import Input


class PromptInput(Input):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._on_submit: Callable[[str], None] | None = None

    def open(self, value: str, placeholder: str, on_submit: Callable[[str], None]) -> None:
        self.value = value
        self.placeholder = placeholder
        self._on_submit = on_submit
        self.add_class("visible")
        self.app.set_focus(self)  # now, not later as focus() would: the next key goes to what has focus

    def close(self) -> None:
        self.remove_class("visible")
        self._on_submit = None

    @property
    def is_open(self) -> bool:
        return self.has_class("visible")

    async def action_submit(self) -> None:
        # The screen's answer, now: Input's own Submitted message would arrive after the next key.
        on_submit = self._on_submit
        if on_submit is not None and self.is_open:
            on_submit(self.value)
