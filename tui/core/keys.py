"""Every key a user reads in the footer or in `?`, declared once as data.

Each action has its keymap id (what `[keymap]` in the config file remaps), its default key, one wording of what it
does, whether it changes the node or enters a container (refused in read-only mode), the views it applies to, and
what the session must have for it: the node's runtime socket, the Kubernetes API, or nothing. The screens' Bindings
and check_action, the footer, `?`, the command palette and the line a refused key shows all read this, so a new key
is one entry here plus the action method on its screen. Headless: no textual here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from n9s.core.sanitize import sanitize_label

RUNTIME = "runtime"  # the node's runtime socket (CRI, containerd): n9s runs on the node and reaches it
API = "api"  # the Kubernetes API, connected

Needs = frozenset  # any one of these is enough; empty: nothing
ANY: Needs = frozenset()
NEEDS_RUNTIME: Needs = frozenset({RUNTIME})
RUNTIME_OR_API: Needs = frozenset({RUNTIME, API})

# Browser views (viewspec.VIEWS names) an action applies to.
POD_AND_CONTAINERS = ("pods", "containers")
WORKLOADS = ("pods", "containers", "tasks")


@dataclass(frozen=True)
class KeyAction:
    id: str  # the keymap id, also the Textual binding id
    key: str  # default key(s), Textual key names, comma-separated
    action: str  # the Textual action it runs on its screen
    description: str  # the one wording: footer, `?`, palette, refusals
    help: str = ""  # the longer line of `?` and the footer's tooltip (the description when empty)
    dangerous: bool = False  # changes the node or enters a container: refused in read-only mode
    needs: Needs = ANY
    needs_for: tuple[tuple[str, Needs], ...] = ()  # (row kind, needs) where a kind of row needs something else
    views: tuple[str, ...] = ()  # browser views it applies to; empty: everywhere on its screen
    show: bool = True  # in the footer
    priority: bool = False
    section: str = ""  # `?` groups by it; "" means the screen's own actions (titled with the view or screen)

    @property
    def what(self) -> str:
        return self.help or self.description

    def needs_of(self, kind: str) -> Needs:
        return next((needs for k, needs in self.needs_for if k == kind), self.needs)


def _sort(key: str, column: str) -> KeyAction:
    return KeyAction(f"sort-{column.lower()}", key, f"sort_by('{column}')", f"Sort {column.lower()}",
                     f"Sort by {column}; again to reverse", show=False, section="Sort")


# ---- actions on rows: the browser's views, and the container detail screen ----
LOGS = KeyAction("view-logs", "l", "logs", "Logs", "Logs of the selected row (through the API when the file is not "
                 "on this machine)", views=WORKLOADS)
PREVIOUS_LOGS = KeyAction("view-previous-logs", "p", "previous_logs", "Previous logs",
                          "The previous attempt's logs (after a restart)", views=("containers", "tasks"))
DESCRIBE = KeyAction("view-describe", "d", "describe", "Describe", "What the runtime (and the API) say about it",
                     needs=NEEDS_RUNTIME, needs_for=(("pod", RUNTIME_OR_API),),
                     views=(*WORKLOADS, "snapshots", "images"))
YAML = KeyAction("view-yaml", "y", "yaml", "YAML", "The pod's manifest (the API's, else the runtime's config)",
                 needs=RUNTIME_OR_API, views=("pods",))
SHELL = KeyAction("view-shell", "s", "shell", "Shell", "A shell in the container (bash, else sh); ctrl+] leaves",
                  dangerous=True, needs=NEEDS_RUNTIME, views=POD_AND_CONTAINERS)
ATTACH = KeyAction("view-attach", "a", "attach", "Attach", "Attach to the container's main process",
                   dangerous=True, needs=NEEDS_RUNTIME, views=("containers",))
EXEC_ONCE = KeyAction("view-exec-once", "x", "exec_once", "Run command", "Run one command in the container (no TTY)",
                      dangerous=True, needs=NEEDS_RUNTIME, views=("containers",))
KILL = KeyAction("view-kill", "ctrl+k", "kill", "Stop/kill", "Stop with a grace period, or send a signal (asks "
                 "first; selected or marked rows)", dangerous=True, needs=NEEDS_RUNTIME, views=POD_AND_CONTAINERS)
DELETE = KeyAction("view-delete", "ctrl+d", "delete", "Delete", "Delete the selected or marked rows (asks first, and "
                   "says how: from the runtime, or a pod through the API)", dangerous=True, needs=NEEDS_RUNTIME,
                   needs_for=(("pod", RUNTIME_OR_API),), views=POD_AND_CONTAINERS)
MARK = KeyAction("view-mark", "space", "mark", "Mark", "Mark the row: an action applies to every marked row",
                 show=False, views=POD_AND_CONTAINERS)
ROW_ACTIONS = (LOGS, PREVIOUS_LOGS, DESCRIBE, YAML, SHELL, ATTACH, EXEC_ONCE, KILL, DELETE, MARK)

HELP = KeyAction("help", "question_mark", "help", "Help", "The keys of this screen", section="Navigation")

# ---- per screen ----
BROWSER = (
    KeyAction("command", "colon", "command", "Command", "Switch view: :pods :co :tasks :snap :img :node",
              section="Navigation"),
    KeyAction("filter", "slash", "filter", "Filter", "Filter rows: regex, !inverse, -l key=value", section="Navigation"),
    KeyAction("back", "escape", "back", "Back", "Clear the filter, then the marks, or go back one level",
              section="Navigation"),
    KeyAction("enter", "enter", "enter", "Open", "Drill down into the selected row", section="Navigation"),
    HELP,
    KeyAction("sort-left", "less_than_sign", "sort_left", "Sort ←", "Sort by the column left", show=False,
              section="Sort"),
    KeyAction("sort-right", "greater_than_sign", "sort_right", "Sort →", "Sort by the column right", show=False,
              section="Sort"),
    KeyAction("sort-reverse", "exclamation_mark", "sort_reverse", "Reverse", "Reverse the sort order", show=False,
              section="Sort"),
    _sort("N", "NAME"), _sort("A", "AGE"), _sort("C", "CPU"), _sort("M", "MEM"), _sort("S", "STATUS"),
    _sort("R", "RESTARTS"),
    *ROW_ACTIONS,
)

CONTAINER_DETAIL = (
    KeyAction("detail-back", "escape,q", "app.pop_screen", "Back", "Back to the containers", section="Navigation"),
    LOGS, DESCRIBE, SHELL,
    KeyAction("detail-end-exec", "ctrl+k", "end_exec", "End exec", "End one of the container's exec processes (asks "
              "first)", dangerous=True, needs=NEEDS_RUNTIME),
    HELP,
)

LOGS_SCREEN = (
    KeyAction("logs.back", "escape", "back", "Back", "Close the prompt, clear the filter, or go back",
              section="Navigation"),
    KeyAction("logs.quit", "q", "back", "Back", "Go back", show=False, section="Navigation"),
    KeyAction("logs.search", "slash", "prompt('search')", "Search", "Search (regex); n/N next/previous"),
    KeyAction("logs.search-next", "n", "search_next", "Next", "Next search match"),
    KeyAction("logs.search-previous", "N", "search_previous", "Prev", "Previous search match", show=False),
    KeyAction("logs.filter", "ampersand", "prompt('filter')", "Filter", "Show only lines matching a regex (empty: all)"),
    KeyAction("logs.follow", "s", "toggle_follow", "Follow", "Toggle following the end of the log"),
    KeyAction("logs.wrap", "w", "toggle_wrap", "Wrap", "Toggle wrapping long lines"),
    KeyAction("logs.timestamps", "t", "toggle_timestamps", "Time", "Toggle timestamps"),
    KeyAction("logs.top", "g", "top", "Top", "Jump to the first line", show=False),
    KeyAction("logs.bottom", "G", "bottom", "Bottom", "Jump to the end and follow", show=False),
    KeyAction("logs.save", "ctrl+s", "save", "Save", "Save the lines shown to a new 0600 file"),
    KeyAction("logs.tail", "0", "tail", "Tail", "All lines, following the end"),
    KeyAction("logs.head", "1", "head", "Head", "From the first line of the history"),
    KeyAction("logs.since-1m", "2", "since('2')", "1m", "Lines of the last minute"),
    KeyAction("logs.since-5m", "3", "since('3')", "5m", "Lines of the last 5 minutes"),
    KeyAction("logs.since-15m", "4", "since('4')", "15m", "Lines of the last 15 minutes", show=False),
    KeyAction("logs.since-30m", "5", "since('5')", "30m", "Lines of the last 30 minutes", show=False),
    KeyAction("logs.since-1h", "6", "since('6')", "1h", "Lines of the last hour", show=False),
    HELP,
)

DESCRIBE_SCREEN = (
    KeyAction("describe-back", "escape,q", "close", "Back", "Back to the table", section="Navigation"),
    KeyAction("describe-search", "slash", "search", "Search", "Search the text"),
    KeyAction("describe-next", "n", "next_match", "Next", "Next match"),
    KeyAction("describe-prev", "N", "previous_match", "Previous", "Previous match"),
    HELP,
)

EXEC_PANEL = (KeyAction("exec-close", "escape", "close", "Close", "Close the panel", section="Navigation"),)

HELP_SCREEN = (KeyAction("help-close", "escape,question_mark,q", "dismiss", "Close", "Close the help",
                         section="Navigation"),)

APP = (
    KeyAction("quit", "q", "quit", "Quit", "Quit n9s", show=False, section="App"),
    KeyAction("quit-ctrl-c", "ctrl+c", "quit", "Quit", "Quit n9s", show=False, priority=True, section="App"),
    KeyAction("refresh", "ctrl+r", "refresh_now", "Refresh", "Refresh now (read the runtime's lists again)",
              show=False, section="App"),
    KeyAction("palette", "ctrl+p", "command_palette", "Palette", "Command palette: jump to a pod or container, "
              "switch view, or run an action of this view by name", show=False, priority=True, section="App"),
)

SCREENS: dict[str, tuple[KeyAction, ...]] = {
    "browser": BROWSER, "container-detail": CONTAINER_DETAIL, "logs": LOGS_SCREEN, "describe": DESCRIBE_SCREEN,
    "exec-panel": EXEC_PANEL, "help": HELP_SCREEN, "app": APP,
}


def by_id(key_id: str) -> KeyAction | None:
    return next((a for actions in SCREENS.values() for a in actions if a.id == key_id), None)


def keymap_ids() -> set[str]:
    """The ids a `[keymap]` table may name."""
    return {a.id for actions in SCREENS.values() for a in actions}


def view_actions(view: str) -> tuple[KeyAction, ...]:
    """The row actions of one browser view, in the order the registry declares them."""
    return tuple(a for a in ROW_ACTIONS if view in a.views)


# ---- what this session can do ----
@dataclass(frozen=True)
class Session:
    readonly: bool = False
    remote: bool = False  # the node through the API alone: no runtime socket here
    runtime: bool = True  # the runtime socket is here and was reached
    runtime_why: str = ""  # why not, when it was not
    api: bool = False


def session_of(app: Any) -> Session:
    """What the app in front of the user can do now, from its collector, action layer and latest picture."""
    picture = getattr(app, "picture", None)
    collector = getattr(app, "collector", None)
    actions = getattr(app, "actions", None)
    # The remote collector has no runtime client at all; before its first picture that is what tells.
    remote = bool(getattr(picture, "remote", False)) or bool(getattr(collector, "remote", False))
    local_only = bool(getattr(picture, "local_only", False))
    why = ""
    if local_only and picture is not None:
        health = picture.source("runtime")
        why = sanitize_label(health.message, 160) if health is not None and health.message else "not reachable"
    kube = getattr(actions, "kube", None) or getattr(collector, "api", None)
    # An ApiSide that found no kubeconfig (or has not connected yet) has no client.
    api = kube is not None and getattr(kube, "client", True) is not None
    return Session(readonly=bool(getattr(app, "readonly", False)), remote=remote,
                   runtime=not remote and not local_only, runtime_why=why, api=api)


@dataclass(frozen=True)
class KeyState:
    shown: bool = True  # offered in the footer and `?`
    why: str = ""  # when set, the key refuses and says this one line
    readonly: bool = False  # refused only because of read-only mode: shown, marked

    @property
    def refused(self) -> bool:
        return bool(self.why)


OFFERED = KeyState()


def key_state(action: KeyAction, kind: str, session: Session) -> KeyState:
    """Whether `action` on a row of `kind` is offered in `session`, and if not, the line that says why."""
    needs = action.needs_of(kind)
    have = {RUNTIME} if session.runtime else set()
    if session.api:
        have.add(API)
    if needs and not needs & have:
        return KeyState(shown=False, why=_missing(needs, session))
    if action.dangerous and session.readonly:
        return KeyState(shown=True, why=f"read-only: {action.description.lower()} is disabled", readonly=True)
    return OFFERED


def _missing(needs: Needs, session: Session) -> str:
    also = " or the Kubernetes API" if API in needs else ""
    if session.remote:
        return f"not available in remote mode: needs the node's runtime socket{also}"
    if not session.runtime:
        return f"not available without the container runtime{also}: {session.runtime_why}"
    return "not available: needs the Kubernetes API, which is not connected"
