"""ctrl+p: jump to a pod or a container by name, and switch views by name."""
from __future__ import annotations

from functools import partial

from textual.command import Hit, Hits, Provider

from .sanitize import sanitize_label
from .viewspec import VIEWS


class NodeCommands(Provider):
    def _targets(self):
        app = self.app
        picture = getattr(app, "picture", None)
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
    from .screens.browser import BrowserScreen

    for screen in reversed(app.screen_stack):
        if isinstance(screen, BrowserScreen):
            return screen
    return None


def _switch_view(app, name: str) -> None:
    browser = _browser(app)
    if browser is not None:
        browser.run_command(name)


def _open_pod(app, sandbox_id: str) -> None:
    from .screens.browser import Frame
    from .viewspec import find_view

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
