"""Textual's Footer, showing only what the screen's key gate offers (`key_state`), and without two ways Textual
(8.2) keeps removed widgets' memory alive for as long as n9s runs.

Both were found by bench/soak.py (memory that kept growing while views were switched and log views opened and
closed), and a footer recomposes exactly when widgets have just gone (a view switch, a filter, a screen closed), so
it is where they are undone:

- Watchers of a stable reactive are never pruned (https://github.com/Textualize/textual/issues/6666). Each key of
  the footer binds itself to the footer's ``compact`` reactive; Textual drops the entries of removed keys only when
  ``compact`` changes, which it never does: a long-lived screen's footer kept every key it ever showed, and each
  new key scanned the whole list.
- ``StylesCache.get_inner_outer`` is an ``lru_cache`` on a method (https://github.com/Textualize/textual/issues/6665),
  so it holds the styles cache of removed widgets, and with it their last rendered lines, until newer entries push
  them out. Clearing it costs one colour computation per widget on its next draw.

tests/test_soak_regressions.py holds both fixed, and runs the same checks on Textual's stock Footer as strict-xfail
canaries: when a Textual release fixes a leak, its canary passes and the suite says this workaround can go.
"""
from __future__ import annotations

from textual._styles_cache import StylesCache
from textual.app import ComposeResult
from textual.widgets import Footer as TextualFooter

__all__ = ["Footer"]


def _forget_removed_widgets_styles() -> None:
    cached = getattr(StylesCache, "get_inner_outer", None)
    if hasattr(cached, "cache_clear"):
        cached.cache_clear()


class Footer(TextualFooter):
    def compose(self) -> ComposeResult:
        # The old keys are removed before the footer composes again: forget their watchers.
        watchers = getattr(self, "__watchers", None) or {}
        for entries in watchers.values():
            entries[:] = [(node, callback) for node, callback in entries if not (node._closing or node._closed)]
        _forget_removed_widgets_styles()
        # A screen whose keys come from the registry says what each key may do now: a key this session cannot
        # do at all is left out, one read-only mode refuses is shown dimmed (pressing it says why).
        state_of = getattr(self.screen, "key_state", None)
        for widget in super().compose():
            action = getattr(widget, "action", None)
            if state_of is not None and isinstance(action, str):
                state = state_of(action)
                if not state.shown:
                    continue
                if state.refused:
                    widget.add_class("-disabled")
            yield widget
