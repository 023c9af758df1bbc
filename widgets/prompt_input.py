"""The `:`/`/` prompt's input line: keys typed behind Enter go to the table, not into the prompt.

Enter submits, and the screen closes the prompt when the Submitted message reaches it; a key typed right behind
Enter (`/logger⏎s`) is already queued for the input by then. The input counts itself closed from the moment Enter
is pressed and passes such keys on, so `s` opens a shell instead of turning the filter into "loggers"."""
from __future__ import annotations

from textual import events
from textual.widgets import Input


class PromptInput(Input):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._submitted = False

    def open(self, value: str, placeholder: str) -> None:
        self.value = value
        self.placeholder = placeholder
        self._submitted = False
        self.add_class("visible")
        self.focus()

    def close(self) -> None:
        self.remove_class("visible")

    @property
    def is_open(self) -> bool:
        return self.has_class("visible") and not self._submitted

    async def action_submit(self) -> None:
        self._submitted = True
        await super().action_submit()

    async def _on_key(self, event: events.Key) -> None:
        if not self.is_open:
            event.stop()
            event.prevent_default()
            self.app.simulate_key(event.key)  # handled again, by whatever has focus once the prompt is closed
            return
        if event.key == "enter":
            self._submitted = True  # its binding submits later; the keys queued behind it are not the prompt's
        await super()._on_key(event)
