"""ctrl+p: jump to a pod or a container by name, switch views by name, and run an action of the screen it was opened
on by its name (the registry's wording, the key it has now, and the screen's gate: what this session cannot do is
not offered, what read-only mode refuses is marked)."""
from __future__ import annotations

from functools import partial

from textual.command import Hit, Hits, Provider

from n9s.core import keys
from n9s.core.sanitize import sanitize_label
from n9s.render.viewspec import VIEWS


class NodeCommands(Provider):
    def _actions(self):
        screen, app = self.screen, self.app
        state_of = getattr(screen, "key_state", None)
        if state_of is None:
            return
        seen: set[str] = set()
        for active in screen.active_bindings.values():
            binding = active.binding
            entry = keys.by_id(binding.id) if binding.id else None
            if entry is None or entry.section or entry.id in seen:
                continue  # only the screen's own actions (navigation has its keys)
            seen.add(entry.id)
            state = state_of(binding.action)
            if not state.shown:
                continue
            note = " (disabled: read-only)" if state.readonly else ""
            yield (f"{entry.description} ({app.get_key_display(binding)})", entry.what + note,
                   partial(app.run_action, binding.action, screen))

    def _targets(self):
        app = self.app
        picture = getattr(app, "picture", None)
        yield from self._actions()
        for view in VIEWS:
            yield f"view {view.name}", f"switch to :{view.name}", partial(_switch_view, app, view.name)
        if picture is None:
            return
        for pod in picture.pods:
            label = f"pod {sanitize_label(pod.namespace)}/{sanitize_label(pod.name)}"
            yield label, f"{pod.status}, {pod.ready}/{pod.total} ready", partial(_open_pod, app, pod.id)
        for c in picture.containers:
            label = f"container {sanitize_label(c.pod_key)}/{sanitize_label(c.name)}"
            yield label, f"{c.state}, attempt {c.attempt}", partial(app.open_container_detail, c.id)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for label, help_text, callback in self._targets():
            score = matcher.match(label)
            if score > 0:
                yield Hit(score, matcher.highlight(label), callback, text=label, help=help_text)

    async def discover(self) -> Hits:
        for label, help_text, callback in self._targets():
            yield Hit(1.0, label, callback, text=label, help=help_text)


def _browser(app):
    from n9s.ui.screens.browser import BrowserScreen

    for screen in reversed(app.screen_stack):
        if isinstance(screen, BrowserScreen):
            return screen
    return None


def _switch_view(app, name: str) -> None:
    browser = _browser(app)
    if browser is not None:
        browser.run_command(name)


def _open_pod(app, sandbox_id: str) -> None:
    from n9s.ui.screens.browser import Frame
    from n9s.render.viewspec import find_view

    browser = _browser(app)
    picture = app.picture
    if browser is None or picture is None:
        return
    pod = picture.pod(sandbox_id)
    target = find_view("containers")
    if pod is None or target is None:
        return
    while app.screen is not browser:
        app.pop_screen()
    browser.switch_to(find_view("pods"))
    browser.push(Frame(target, context=pod.id, context_label=f"{pod.namespace}/{pod.name}"))
