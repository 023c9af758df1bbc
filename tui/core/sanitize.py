"""Make text from containers safe to put on a terminal.

Everything a container controls (log lines, names, labels, annotations) passes through here before it is
drawn. The output holds only printable characters and, when asked for, SGR colour sequences
(``ESC [ <digits and ;> m``). Every other escape sequence (cursor moves, screen clears, OSC title and
clipboard writes, DCS, SOS/PM/APC strings) is removed, and stray control characters are shown as visible
placeholders (the Unicode "control pictures", e.g. ``␍`` for a carriage return), so an operator sees that
something was there without the terminal acting on it.

The scanner walks the text once, jumping over runs of ordinary characters with one regular expression
that has no nested repetition, so its time is linear in the input (no catastrophic backtracking).
Headless: no textual or rich imports.
"""
from __future__ import annotations

import re
import unicodedata

__all__ = ["sanitize_text", "sanitize_label", "is_safe_text", "REPLACEMENT", "ELLIPSIS"]

REPLACEMENT = "\ufffd"
ELLIPSIS = "\u2026"
ESC = "\x1b"

# Characters that are never passed through as they are: C0 controls, DEL, C1 controls, lone surrogates,
# the line/paragraph separators, and the bidirectional formatting controls (which reorder what is shown).
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_SPECIAL_CLASS = "\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff" + _BIDI
_PLAIN_RUN = re.compile(f"[^{_SPECIAL_CLASS}]+")
_SPECIAL = re.compile(f"[{_SPECIAL_CLASS}]")

# 8-bit (C1) forms of the escape introducers, handled like their ESC + letter forms.
_C1_CSI = "\x9b"
_C1_ST = "\x9c"
_C1_OSC = "\x9d"
_C1_STRINGS = "\x90\x98\x9e\x9f"  # DCS, SOS, PM, APC
# ESC + this letter opens a control string that runs to a string terminator.
_STRING_OPENERS = "]PX^_"  # OSC, DCS, SOS, PM, APC

_MAX_SGR_LEN = 64  # an SGR longer than this is dropped rather than passed on
_CAN, _SUB = "\x18", "\x1a"


def _control_picture(ch: str) -> str:
    code = ord(ch)
    if code < 0x20:
        return chr(0x2400 + code)
    if code == 0x7F:
        return "\u2421"
    return REPLACEMENT


def _cell_width(text: str) -> int:
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


class _Out:
    """Collects visible text and SGR sequences, counting visible characters for ``max_len``."""

    __slots__ = ("parts", "visible", "limit", "full", "col", "col_mark")

    def __init__(self, limit: int | None) -> None:
        self.parts: list[str] = []
        self.visible = 0
        self.limit = limit
        self.full = False
        self.col = 0  # display column at col_mark, for tab stops
        self.col_mark = 0  # index in parts up to which col is counted

    def text(self, piece: str) -> None:
        if self.full or not piece:
            return
        if self.limit is not None and self.visible + len(piece) > self.limit:
            room = self.limit - 1 - self.visible
            if room < 0:  # already at the limit: the last visible character gives way to the ellipsis
                self._drop_last_visible()
                room = 0
            self.parts.append(piece[:room] + ELLIPSIS)
            self.visible = self.limit
            self.full = True
            return
        self.parts.append(piece)
        self.visible += len(piece)

    def _drop_last_visible(self) -> None:
        for k in range(len(self.parts) - 1, -1, -1):
            part = self.parts[k]
            if part and not part.startswith(ESC):
                self.parts[k] = part[:-1]
                self.visible -= 1
                return

    def column(self) -> int:
        for part in self.parts[self.col_mark:]:
            if not part.startswith(ESC):
                self.col += _cell_width(part)
        self.col_mark = len(self.parts)
        return self.col

    def sgr(self, seq: str) -> None:
        if not self.full:
            self.parts.append(seq)


def _skip_string(s: str, i: int, bel_ends: bool) -> int:
    """Return the index just past a control string's body starting at ``i``.

    A string ends at ST (``ESC \\`` or U+009C), at BEL for OSC, or is cancelled by CAN/SUB. Any other ESC
    ends it too, and that ESC starts the next sequence (as terminals do). An unterminated string runs to the
    end of the text.
    """
    n = len(s)
    while i < n:
        ch = s[i]
        if ch == _C1_ST or ch == _CAN or ch == _SUB or (bel_ends and ch == "\x07"):
            return i + 1
        if ch == ESC:
            if i + 1 < n and s[i + 1] == "\\":
                return i + 2
            return i  # the ESC begins a new sequence
        i += 1
    return n


def _skip_csi(s: str, i: int) -> tuple[int, str | None]:
    """Scan a CSI body from ``i``; return (next index, the parameter text if it is a plain SGR else None)."""
    n = len(s)
    start = i
    while i < n and "\x30" <= s[i] <= "\x3f":
        i += 1
    params_end = i
    while i < n and "\x20" <= s[i] <= "\x2f":
        i += 1
    if i < n and "\x40" <= s[i] <= "\x7e":
        final = s[i]
        params = s[start:params_end]
        plain = params_end == i and final == "m" and all(c.isdigit() or c == ";" for c in params)
        return i + 1, (params if plain and params.isascii() else None)
    # Malformed or cut off: drop what was read; the character that broke it is handled normally.
    return i, None


def _escape(s: str, i: int, out: _Out, keep_sgr: bool) -> int:
    """Handle an escape introducer at ``s[i]``; return the index after the whole sequence."""
    n = len(s)
    ch = s[i]
    if ch == _C1_CSI:
        kind, j = "[", i + 1
    elif ch == _C1_OSC:
        kind, j = "]", i + 1
    elif ch in _C1_STRINGS:
        kind, j = "P", i + 1
    elif ch == _C1_ST:
        return i + 1
    else:  # ESC
        if i + 1 >= n:
            return n  # lone ESC at the end
        kind, j = s[i + 1], i + 2
    if kind == "[":
        j, params = _skip_csi(s, j)
        if keep_sgr and params is not None and len(params) <= _MAX_SGR_LEN:
            out.sgr(f"{ESC}[{params}m")
        return j
    if kind in _STRING_OPENERS:
        return _skip_string(s, j, bel_ends=kind == "]")
    if "\x20" <= kind <= "\x2f":  # nF sequence: intermediates then a final byte
        while j < n and "\x20" <= s[j] <= "\x2f":
            j += 1
        return j + 1 if j < n and "\x30" <= s[j] <= "\x7e" else j
    if "\x30" <= kind <= "\x7e":  # two-character sequence such as ESC 7 or ESC c
        return j
    return i + 1  # ESC followed by a control or non-ASCII character: drop the ESC only


def sanitize_text(
    s: str | bytes,
    *,
    keep_sgr: bool = False,
    max_len: int | None = None,
    tab_size: int = 8,
) -> str:
    """Return ``s`` with nothing left that a terminal would act on.

    - bytes are decoded as UTF-8, invalid sequences becoming U+FFFD;
    - escape sequences (CSI, OSC, DCS, SOS/PM/APC, two-character ESC sequences, lone ESC) are removed,
      except SGR colour sequences (``ESC [`` digits and ``;`` ``m``) when ``keep_sgr`` is true;
    - TAB is expanded to spaces up to the next multiple of ``tab_size`` columns (``tab_size=0`` shows ``␉``);
    - other C0 controls and DEL become control pictures (``␀``..``␟``, ``␡``), C1 controls and lone
      surrogates become U+FFFD, line/paragraph separators become ``␤``, bidi formatting controls are removed;
    - with ``max_len``, at most that many visible characters are returned, the last one an ellipsis when
      text was cut; scanning stops there, so a huge input with a small ``max_len`` is cheap.
    """
    if isinstance(s, (bytes, bytearray, memoryview)):
        s = bytes(s).decode("utf-8", errors="replace")
    if max_len is not None and max_len < 1:
        return ""
    if not _SPECIAL.search(s):
        if max_len is None or len(s) <= max_len:
            return s
        return s[: max_len - 1] + ELLIPSIS
    out = _Out(max_len)
    i, n = 0, len(s)
    while i < n and not out.full:
        run = _PLAIN_RUN.match(s, i)
        if run is not None:
            out.text(run.group())
            i = run.end()
            continue
        ch = s[i]
        code = ord(ch)
        if ch == ESC or ch in _C1_STRINGS or ch in (_C1_CSI, _C1_OSC, _C1_ST):
            i = _escape(s, i, out, keep_sgr)
            continue
        i += 1
        if ch == "\t" and tab_size > 0:
            tabs = 1
            while i < n and s[i] == "\t" and tabs < 4096:
                tabs += 1
                i += 1
            out.text(" " * (tab_size - out.column() % tab_size + (tabs - 1) * tab_size))
        elif code < 0x20 or code == 0x7F or 0x80 <= code <= 0x9F:
            out.text(_control_picture(ch))
        elif 0xD800 <= code <= 0xDFFF:
            out.text(REPLACEMENT)
        elif ch in "\u2028\u2029":
            out.text("\u2424")
        # else: a bidi formatting control, dropped
    return "".join(out.parts)


_LABEL_SPACE = re.compile(r"[\t\n\r\x0b\x0c\u2028\u2029]+")
# Characters with no width (zero-width space, joiners, word joiner, invisible operators, BOM) and the bidi controls:
# in a name they make two names that look alike, or reorder what is shown, so a label shows them as escapes.
_INVISIBLE = re.compile(f"[\u200b-\u200d\u2060-\u2064\ufeff{_BIDI}]")


def _visible_escape(m: re.Match[str]) -> str:
    return f"\\u{ord(m.group()):04x}"


# Every refresh shows the same names again: (text, max_len) -> label, for short texts, dropped whole when full.
_LABELS: dict[tuple[str, int], str] = {}
_LABELS_KEPT = 16384
_LABEL_CACHED_LEN = 256


def sanitize_label(s: str | bytes, max_len: int = 80) -> str:
    """A one-line, bounded, printable form of a name or label value.

    Line breaks and tabs become single spaces, escape sequences are removed, other controls are shown as
    placeholders, zero-width and bidi characters as escapes (``\\u200b``), and a value longer than ``max_len``
    characters is cut with an ellipsis.
    """
    key = (s, max_len) if isinstance(s, str) and len(s) <= _LABEL_CACHED_LEN else None
    if key is not None:
        label = _LABELS.get(key)
        if label is not None:
            return label
    text = bytes(s).decode("utf-8", errors="replace") if isinstance(s, (bytes, bytearray, memoryview)) else s
    # Bound the work first: a label is short, so no need to scan megabytes of it.
    text = text[: max_len * 4 + 64]
    text = _INVISIBLE.sub(_visible_escape, _LABEL_SPACE.sub(" ", text))
    label = sanitize_text(text, max_len=max_len, tab_size=0).strip()
    if key is not None:
        if len(_LABELS) >= _LABELS_KEPT:
            _LABELS.clear()
        _LABELS[key] = label
    return label


_SGR_ONLY = re.compile(r"\x1b\[[0-9;]*m")


def is_safe_text(s: str, *, allow_sgr: bool = False) -> bool:
    """True when ``s`` holds nothing a terminal would act on (used by tests and debug checks)."""
    if allow_sgr:
        s = _SGR_ONLY.sub("", s)
    return _SPECIAL.search(s) is None
