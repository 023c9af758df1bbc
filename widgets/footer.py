"""Textual's Footer without its slow leak.

Each key of Textual's (8.2) Footer binds itself to the footer's ``compact`` reactive; the footer keeps that watcher
list, and Textual drops the entries of removed widgets only when ``compact`` changes, which it never does here. A
footer recomposes whenever the keys change (a view switch, a filter, a screen opened and closed), so a long-lived
screen's footer kept every key it ever showed: about 40 more widgets per log view opened and closed, memory that
grew for as long as n9s ran (found by bench/soak.py), and a list each new key scanned in full.
"""
from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer as TextualFooter

__all__ = ["Footer"]


class Footer(TextualFooter):
    def compose(self) -> ComposeResult:
        # The old keys are removed before the footer composes again: forget their watchers.
        watchers = getattr(self, "__watchers", None) or {}
        for name, entries in watchers.items():
            entries[:] = [(node, callback) for node, callback in entries if not (node._closing or node._closed)]
        yield from super().compose()
