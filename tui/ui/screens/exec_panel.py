"""`x`: run one command in a container without a TTY (CRI ExecSync) and show stdout, stderr and the exit code.

The command line is split like a shell splits words (shlex) into an argv list that reaches the container as it
is: nothing is expanded, no shell runs unless the user names one. Everything shown is sanitised line by line."""
from __future__ import annotations

import shlex
from typing import Any, Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Input, Static

from n9s.core import keys
from n9s.core.sanitize import sanitize_label, sanitize_text
from n9s.sources.errors import ReadOnlyRefused, SourceError
from n9s.ui.screens.base import N9sModalScreen
from n9s.ui.screens.keyed import bindings

MAX_LINES_PER_STREAM = 2000  # ExecSync may return up to 16 MiB; beyond this the panel says how much it left out


class CommandLineError(ValueError):
    pass


def split_command(line: str) -> list[str]:
    """The argv a command line means, split with shell quoting rules but never run through a shell."""
    try:
        argv = shlex.split(line)
    except ValueError as err:
        raise CommandLineError(f"cannot split the command line: {err}") from None
    if not argv:
        raise CommandLineError("type a command to run, e.g. ls -la /")
    return argv


def output_lines(data: bytes, limit: int = MAX_LINES_PER_STREAM) -> tuple[list[str], int]:
    """Sanitised lines of one output stream, at most `limit`, and how many more there were."""
    if not data:
        return [], 0
    raw = data.split(b"\n")
    if raw and raw[-1] == b"":
        raw.pop()
    shown = [sanitize_text(line.removesuffix(b"\r")) for line in raw[:limit]]
    return shown, max(0, len(raw) - limit)


def result_text(argv: list[str], result: Any) -> Text:
    """What the result area shows for one finished ExecSync (`result` has stdout, stderr, exit_code)."""
    text = Text()
    text.append("$ ", style="dim")
    text.append(sanitize_label(shlex.join(argv), max_len=400) + "\n", style="bold")
    code = result.exit_code
    text.append(f"exit code {code}\n", style="bold green" if code == 0 else "bold red")
    for name, data, style in (("stdout", result.stdout, ""), ("stderr", result.stderr, "red")):
        lines, more = output_lines(data)
        if not lines:
            text.append(f"{name}: (empty)\n", style="dim")
            continue
        text.append(f"{name}:\n", style="dim")
        for line in lines:
            text.append(line + "\n", style=style)
        if more:
            text.append(f"… {more} more lines not shown\n", style="dim")
    return text


class ExecPanel(N9sModalScreen[None]):
    """A command prompt over one container. `run(argv)` performs the ExecSync through the action layer and returns
    `(ActionResult, ExecResult | None)`; it runs on a worker thread."""

    BINDINGS = bindings(keys.EXEC_PANEL)
    DEFAULT_CSS = """
    ExecPanel { align: center middle; }
    ExecPanel > Vertical { width: 110; max-width: 100%; height: 85%; border: round $accent; background: $surface; }
    ExecPanel #exec-title { height: auto; padding: 0 1; background: $boost; }
    ExecPanel #exec-note { height: auto; padding: 0 1; color: $warning; }
    ExecPanel #exec-note.empty { display: none; }
    ExecPanel #exec-scroll { height: 1fr; padding: 0 1; }
    """

    def __init__(self, label: str, run: Callable[[list[str]], tuple[Any, Any]], *, timeout_s: int,
                 note: str = "") -> None:
        super().__init__()
        self.label = sanitize_label(label)
        self.run = run
        self.timeout_s = timeout_s
        self.note = note
        self.busy = False
        self.last_argv: list[str] | None = None
        self.last_result: Any = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(f"Run a command in {self.label}  (no TTY, no shell, timeout {self.timeout_s}s; "
                              "Enter runs, Esc closes)"), id="exec-title")
            yield Static(Text(self.note), id="exec-note", classes="" if self.note else "empty")
            yield Input(placeholder="command and arguments, e.g.  cat /etc/os-release", id="exec-command")
            with VerticalScroll(id="exec-scroll"):
                yield Static(Text("", style="dim"), id="exec-result")

    def on_mount(self) -> None:
        self.query_one("#exec-command", Input).focus()

    @property
    def shown(self) -> str:
        """The result area as plain text (what the user reads)."""
        return str(self.query_one("#exec-result", Static).render())

    def _show(self, text: Text) -> None:
        self.query_one("#exec-result", Static).update(text)
        self.query_one("#exec-scroll", VerticalScroll).scroll_home(animate=False)

    @on(Input.Submitted, "#exec-command")
    def _submitted(self, event: Input.Submitted) -> None:
        if self.busy:
            return
        try:
            argv = split_command(event.value)
        except CommandLineError as err:
            self._show(Text(str(err), style="bold red"))
            return
        self.busy = True
        self.last_argv = argv
        self._show(Text(f"running {sanitize_label(shlex.join(argv), max_len=400)} …", style="dim"))
        app = self.app  # the panel may be closed (and so detached from the app) before the command ends
        self.run_worker(lambda: self._execute(app, argv), thread=True, exit_on_error=False, name="exec",
                        group="exec-once")

    def _execute(self, app: Any, argv: list[str]) -> None:
        try:
            outcome, result = self.run(argv)
        except ReadOnlyRefused as err:
            app.call_from_thread(self._refused, app, str(err))
            return
        except SourceError as err:
            app.call_from_thread(self._finished, app, argv, None, str(err))
            return
        except BaseException:
            # Anything else is reported by the app's worker error path; the panel must not stay busy.
            app.call_from_thread(self._finished, app, argv, None, "the command failed (see the notification)")
            raise
        message = "" if outcome.ok else outcome.message
        app.call_from_thread(self._finished, app, argv, result, message)

    def _refused(self, app: Any, message: str) -> None:
        self.busy = False
        app.notify(message, severity="error", timeout=6, markup=False)
        if self in app.screen_stack:
            self._show(Text(message, style="bold red"))

    def _finished(self, app: Any, argv: list[str], result: Any, error: str) -> None:
        self.busy = False
        self.last_result = result
        if self not in app.screen_stack:
            return  # closed while the command ran
        if result is None:
            text = Text()
            text.append("$ ", style="dim")
            text.append(sanitize_label(shlex.join(argv), max_len=400) + "\n", style="bold")
            text.append(sanitize_text(error or "the command did not run"), style="bold red")
            self._show(text)
            return
        self._show(result_text(argv, result))

    def action_close(self) -> None:
        self.dismiss(None)
