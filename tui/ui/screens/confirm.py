"""The confirmation dialogs of ctrl-k (stop/kill) and ctrl-d (remove/delete).

Each says what will happen to which rows, lets the user pick how (grace period, signal, API or runtime), and
dismisses with a `Choice`, or None when cancelled (Escape, Cancel). The dialogs change nothing themselves.
Cancel has the focus from the moment a dialog is composed, so an Enter typed behind ctrl-d or ctrl-k cancels:
confirming takes a deliberate move to the confirm button (Tab, Shift+Tab, an arrow) or into a field.
"""
from __future__ import annotations

from typing import Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Select, Static

from n9s.actions.plan import DELETE_API, KILL, REMOVE, STOP, Choice, Subject, confirm_label, consequences, title
from n9s.actions.layer import DEFAULT_GRACE_S, KILL_SIGNALS
from n9s.ui.screens.base import N9sModalScreen

SHOWN_TARGETS = 6
MAX_GRACE_DIGITS = 5  # up to 99999 s


class ActionDialog(N9sModalScreen[Choice | None]):
    """Title, targets, the fields of a subclass, what will happen, and Confirm/Cancel."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="confirm-cancel", tooltip="Close; change nothing"),
        Binding("left", "app.focus_previous", "Previous", id="confirm-previous", show=False,
                tooltip="Focus the previous button or field"),
        Binding("right", "app.focus_next", "Next", id="confirm-next", show=False,
                tooltip="Focus the next button or field"),
    ]
    AUTO_FOCUS = "#cancel"  # Textual focuses it as soon as the dialog is composed, before any key reaches it
    DEFAULT_CSS = """
    ActionDialog { align: center middle; }
    ActionDialog > #dialog {
        width: 84; max-width: 100%; height: auto; max-height: 95%;
        border: thick $error 70%; background: $surface; padding: 0 1;
    }
    ActionDialog #title { text-style: bold; padding: 0 0 1 0; }
    ActionDialog #targets { color: $text-muted; padding: 0 0 1 0; }
    ActionDialog .field { height: auto; }
    ActionDialog .field > Label { width: 18; padding: 1 1 0 0; }
    ActionDialog .field.inactive { opacity: 45%; }
    ActionDialog #grace { width: 14; }
    ActionDialog #signal { width: 22; }
    ActionDialog #mode { width: 100%; border: none; padding: 0; }
    ActionDialog #consequences { padding: 1 0 0 0; }
    ActionDialog #invalid { color: $error; height: auto; display: none; }
    ActionDialog #invalid.shown { display: block; }
    ActionDialog #buttons { height: auto; align-horizontal: right; padding: 1 0 0 0; }
    ActionDialog #buttons Button { margin: 0 0 0 2; }
    ActionDialog #how { color: $text-muted; padding: 1 0 0 0; }
    """

    def __init__(self, kind: str, subjects: Sequence[Subject], operations: Sequence[str], operation: str) -> None:
        super().__init__()
        self.kind = kind
        self.subjects = list(subjects)
        self.operations = tuple(operations)
        self.operation = operation
        self.grace_text = str(DEFAULT_GRACE_S)
        self.signal = "SIGTERM"

    # ---- layout ----
    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(id="title")
            yield Static(self._targets_text(), id="targets")
            yield from self.compose_fields()
            yield Static(id="consequences")
            yield Static("", id="invalid")
            with Horizontal(id="buttons"):
                yield Button("OK", variant="error", id="confirm")
                yield Button("Cancel", id="cancel")
            yield Static(id="how")

    def compose_fields(self) -> ComposeResult:
        return iter(())

    def _mode_radio(self, labels: dict[str, str]) -> RadioSet:
        return RadioSet(*[RadioButton(labels[op], value=op == self.operation, id=f"mode-{op}")
                          for op in self.operations], id="mode")

    def _grace_field(self) -> Horizontal:
        return Horizontal(
            Label("Grace period (s)"),
            Input(self.grace_text, id="grace", restrict=r"[0-9]*", max_length=MAX_GRACE_DIGITS,
                  tooltip="Seconds between the stop signal and SIGKILL; 0 kills at once"),
            classes="field", id="grace-field",
        )

    def _targets_text(self) -> Text:
        text = Text()
        for s in self.subjects[:SHOWN_TARGETS]:
            text.append(f"  {s.label}  ")
            text.append(s.state, style="bold")
            text.append("\n")
        if len(self.subjects) > SHOWN_TARGETS:
            text.append(f"  … and {len(self.subjects) - SHOWN_TARGETS} more\n")
        text.rstrip()
        return text

    def on_mount(self) -> None:
        self.show_choice()
        self.set_focus(self.query_one("#cancel", Button))

    # ---- state ----
    def grace_s(self) -> int | None:
        text = self.grace_text.strip()
        return int(text) if text.isdigit() else None

    def choice(self) -> Choice:
        return Choice(self.operation, self.grace_s() or 0, self.signal)

    def problem(self) -> str:
        if self.needs_grace() and self.grace_s() is None:
            return "Grace period: whole seconds, 0 or more."
        return ""

    def needs_grace(self) -> bool:
        return self.operation in (STOP, DELETE_API)

    def show_choice(self) -> None:
        choice = self.choice()
        self.query_one("#title", Static).update(Text(title(self.kind, self.subjects, choice)))
        lines = consequences(self.kind, self.subjects, choice)
        self.query_one("#consequences", Static).update(Text("\n".join(f"• {line}" for line in lines)))
        label = confirm_label(choice)
        self.query_one("#confirm", Button).label = label
        self.query_one("#how", Static).update(Text(
            f"Enter presses the focused button: Cancel, to begin with. To {label.lower()}: ← or Shift+Tab to "
            f"“{label}”, then Enter (Tab goes through the fields). Esc cancels."))
        self._show_problem(self.problem())
        for field in self.query(".field"):
            field.set_class(not self.field_active(field.id or ""), "inactive")

    def _show_problem(self, problem: str) -> None:
        invalid = self.query_one("#invalid", Static)
        invalid.update(Text(problem))
        invalid.set_class(bool(problem), "shown")
        self.query_one("#confirm", Button).disabled = bool(problem)

    def field_active(self, field_id: str) -> bool:
        return field_id != "grace-field" or self.needs_grace()

    def select_operation(self, operation: str) -> None:
        if operation == self.operation or operation not in self.operations:
            return
        self.operation = operation
        radios = self.query(f"#mode-{operation}")
        if radios:
            radios.first(RadioButton).value = True  # the RadioSet releases the other button
        self.show_choice()

    # ---- events ----
    @on(RadioSet.Changed, "#mode")
    def _mode_changed(self, event: RadioSet.Changed) -> None:
        pressed = event.pressed.id or ""
        self.select_operation(pressed.removeprefix("mode-"))

    @on(Input.Changed, "#grace")
    def _grace_changed(self, event: Input.Changed) -> None:
        if event.value == self.grace_text:
            return
        self.grace_text = event.value
        for operation in (STOP, DELETE_API):
            if operation in self.operations:
                self.select_operation(operation)  # typing a grace period means the operation that has one
        self.show_choice()

    @on(Input.Submitted, "#grace")
    def _grace_submitted(self, event: Input.Submitted) -> None:
        self.action_confirm()

    @on(Button.Pressed, "#confirm")
    def _confirm_pressed(self, event: Button.Pressed) -> None:
        self.action_confirm()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self, event: Button.Pressed) -> None:
        self.action_cancel()

    def action_confirm(self) -> None:
        problem = self.problem()
        if problem:
            self._show_problem(problem)
            return
        self.dismiss(self.choice())

    def action_cancel(self) -> None:
        self.dismiss(None)


class KillDialog(ActionDialog):
    """ctrl-k. Containers: stop with a grace period (CRI StopContainer) or kill with a signal (containerd).
    Pods: stop with a grace period (each container, then the sandbox)."""

    def __init__(self, kind: str, subjects: Sequence[Subject]) -> None:
        operations = (STOP, KILL) if kind == "container" else (STOP,)
        super().__init__(kind, subjects, operations, STOP)

    def compose_fields(self) -> ComposeResult:
        if KILL in self.operations:
            yield self._mode_radio({STOP: "Stop: stop signal, grace period, then SIGKILL (CRI)",
                                    KILL: "Kill: send one signal now (containerd)"})
        yield self._grace_field()
        if KILL in self.operations:
            yield Horizontal(
                Label("Signal"),
                Select([(s, s) for s in KILL_SIGNALS], value=self.signal, allow_blank=False, id="signal",
                       tooltip="The signal a kill sends"),
                classes="field", id="signal-field",
            )

    def field_active(self, field_id: str) -> bool:
        if field_id == "signal-field":
            return self.operation == KILL
        return super().field_active(field_id)

    @on(Select.Changed, "#signal")
    def _signal_changed(self, event: Select.Changed) -> None:
        value = str(event.value)
        if value == self.signal or value not in KILL_SIGNALS:
            return
        self.signal = value
        self.select_operation(KILL)  # choosing a signal means a kill
        self.show_choice()


class DeleteDialog(ActionDialog):
    """ctrl-d. Containers: remove (CRI RemoveContainer). Pods: remove the sandbox from the runtime, or, when the
    Kubernetes API is configured, delete the pod through it (the default unless every pod is static; the only way
    when there is no runtime here)."""

    def __init__(self, kind: str, subjects: Sequence[Subject], *, api_available: bool = False,
                 runtime_available: bool = True) -> None:
        if kind == "pod" and api_available and not runtime_available:
            operations: tuple[str, ...] = (DELETE_API,)  # remote mode: the API is the only way
            operation = DELETE_API
        elif kind == "pod" and api_available:
            operations = (DELETE_API, REMOVE)
            operation = REMOVE if all(s.static for s in subjects) else DELETE_API
        else:
            operations, operation = (REMOVE,), REMOVE
        super().__init__(kind, subjects, operations, operation)

    def compose_fields(self) -> ComposeResult:
        if len(self.operations) > 1:
            yield self._mode_radio({DELETE_API: "Delete through the Kubernetes API (the kubelet stops it)",
                                    REMOVE: "Remove from the runtime only (CRI RemovePodSandbox)"})
        if DELETE_API in self.operations:
            yield self._grace_field()
