"""n9s.core.sanitize: nothing a terminal would act on survives, whatever a container writes."""
from __future__ import annotations

import re
import signal
import subprocess
import sys
import unicodedata
from contextlib import contextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from n9s.core.sanitize import ELLIPSIS, is_safe_text, sanitize_label, sanitize_text

ESC = "\x1b"
SGR = re.compile(r"\x1b\[[0-9;]*m")

# Pieces that make hostile inputs likely: every introducer, terminators, parameters and plain text.
_PIECES = [
    ESC, "[", "]", "P", "X", "^", "_", "\\", "\x07", "\x9b", "\x9c", "\x9d", "\x90", "\x98", "\x9e", "\x9f",
    "\x18", "\x1a", "0", "1", "2", "3", "8", ";", ":", "?", "m", "J", "H", "A", "q", "52", "c;", "aGVsbG8=",
    " ", "text", "\t", "\r", "\n", "\x00", "\x7f", "\u202e", "\u2028", "é", "日本", "\ud800",
]
hostile_text = st.lists(st.sampled_from(_PIECES), max_size=60).map("".join)


def _assert_terminal_safe(out: str, *, sgr_allowed: bool) -> None:
    rest = SGR.sub("", out) if sgr_allowed else out
    for ch in rest:
        code = ord(ch)
        assert code >= 0x20 and code != 0x7F, f"C0/DEL {ch!r} in {out!r}"
        assert not 0x80 <= code <= 0x9F, f"C1 {ch!r} in {out!r}"
        assert not 0xD800 <= code <= 0xDFFF, f"surrogate in {out!r}"
        assert unicodedata.category(ch) not in ("Zl", "Zp"), f"line separator in {out!r}"
    assert ESC not in rest
    assert is_safe_text(out, allow_sgr=sgr_allowed)


@given(st.binary(max_size=400))
def test_any_bytes_come_out_printable(data: bytes) -> None:
    _assert_terminal_safe(sanitize_text(data), sgr_allowed=False)


@given(st.binary(max_size=400))
def test_any_bytes_with_sgr_kept_leave_only_sgr_sequences(data: bytes) -> None:
    _assert_terminal_safe(sanitize_text(data, keep_sgr=True), sgr_allowed=True)


@given(hostile_text)
@settings(max_examples=400)
def test_hostile_sequences_come_out_printable(text: str) -> None:
    _assert_terminal_safe(sanitize_text(text), sgr_allowed=False)
    _assert_terminal_safe(sanitize_text(text, keep_sgr=True), sgr_allowed=True)
    _assert_terminal_safe(sanitize_label(text), sgr_allowed=False)


@given(st.text(alphabet=st.characters(blacklist_categories=["Cc", "Cs", "Zl", "Zp", "Cf"]), max_size=200))
def test_printable_text_is_unchanged(text: str) -> None:
    assert sanitize_text(text) == text
    assert sanitize_text(text, keep_sgr=True) == text


@given(hostile_text, st.integers(min_value=1, max_value=40))
def test_max_len_bounds_visible_characters(text: str, limit: int) -> None:
    out = sanitize_text(text, keep_sgr=True, max_len=limit)
    assert len(SGR.sub("", out)) <= limit


@given(st.text(max_size=300), st.integers(min_value=1, max_value=50))
def test_labels_are_one_bounded_line(text: str, limit: int) -> None:
    label = sanitize_label(text, max_len=limit)
    assert "\n" not in label and "\r" not in label
    assert len(label) <= limit
    _assert_terminal_safe(label, sgr_allowed=False)


def test_osc52_clipboard_write_is_removed_with_its_payload() -> None:
    line = f"before{ESC}]52;c;ZWNobyBwd25lZA=={ESC}\\after"
    assert sanitize_text(line) == "beforeafter"
    assert sanitize_text(f"x{ESC}]52;c;ZWNobyBwd25lZA==\x07y") == "xy"


def test_title_sequences_are_removed_with_bel_or_st() -> None:
    assert sanitize_text(f"a{ESC}]0;evil title\x07b{ESC}]2;other{ESC}\\c") == "abc"
    assert sanitize_text("a\x9d0;title\x9cb") == "ab"  # 8-bit OSC ... ST


def test_screen_clear_and_cursor_moves_are_removed() -> None:
    text = f"{ESC}[2J{ESC}[Hhello{ESC}[10;20H{ESC}[5Aworld{ESC}[?25l{ESC}[?1049h!"
    assert sanitize_text(text) == "helloworld!"
    assert sanitize_text(text, keep_sgr=True) == "helloworld!"
    assert sanitize_text("x\x9b2Jy") == "xy"  # 8-bit CSI


def test_dcs_sos_pm_apc_strings_are_removed() -> None:
    for opener in ("P", "X", "^", "_"):
        assert sanitize_text(f"a{ESC}{opener}payload 1;2{ESC}\\b") == "ab"
    assert sanitize_text("a\x90payload\x9cb") == "ab"


def test_unterminated_string_hides_only_its_own_payload() -> None:
    assert sanitize_text(f"visible{ESC}]52;c;secret") == "visible"
    # A following escape ends the string, and the text after that sequence is shown.
    assert sanitize_text(f"a{ESC}]0;t{ESC}[31mred", keep_sgr=True) == f"a{ESC}[31mred"


def test_sgr_kept_only_when_asked_and_only_plain_sgr() -> None:
    text = f"{ESC}[1;31mred{ESC}[0m {ESC}[38:2:1:2:3mcolon{ESC}[?1m {ESC}[>4;2m"
    assert sanitize_text(text) == "red colon "
    assert sanitize_text(text, keep_sgr=True) == f"{ESC}[1;31mred{ESC}[0m colon "


def test_lone_controls_are_visible_placeholders() -> None:
    assert sanitize_text("a\rb\x00c\x07d\x7fe\nf") == "a\u240db\u2400c\u2407d\u2421e\u240af"
    assert sanitize_text("a\x85b") == "a\ufffdb"  # C1 NEL
    assert sanitize_text(f"end{ESC}") == "end"  # lone ESC


def test_invalid_utf8_becomes_replacement_character() -> None:
    assert sanitize_text(b"ok \xff\xfe done") == "ok \ufffd\ufffd done"
    assert sanitize_text(b"\xc2\x9b2J") == ""  # a UTF-8 encoded 8-bit CSI is still a CSI


def test_tabs_expand_to_tab_stops() -> None:
    assert sanitize_text("a\tb") == "a       b"
    assert sanitize_text("abc\tde\tf", tab_size=4) == "abc de  f"
    assert sanitize_text(f"{ESC}[31mab\tc", keep_sgr=True) == f"{ESC}[31mab      c"
    assert sanitize_text("日\tx", tab_size=4) == "日  x"  # a wide character takes two columns
    assert sanitize_text("a\tb", tab_size=0) == "a\u2409b"


def test_bidi_overrides_and_line_separators() -> None:
    assert sanitize_text("abc\u202edef\u2066") == "abcdef"
    assert sanitize_text("a\u2028b") == "a\u2424b"


def test_max_len_cuts_with_ellipsis() -> None:
    assert sanitize_text("abcdefgh", max_len=5) == "abcd" + ELLIPSIS
    assert sanitize_text("abc", max_len=5) == "abc"
    assert sanitize_text("a\x00bcdefg", max_len=3) == "a\u2400" + ELLIPSIS


def test_label_is_one_line() -> None:
    assert sanitize_label("name\nwith\r\nbreaks\tand tab") == "name with breaks and tab"
    assert sanitize_label(f"x{ESC}]0;title\x07y" + "z" * 200, max_len=10) == "xyzzzzzzz" + ELLIPSIS


def test_label_shows_zero_width_and_bidi_characters_as_escapes() -> None:
    invisible = "\u200b\u200c\u200d\u2060\ufeff\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
    for ch in invisible:
        assert sanitize_label(f"a{ch}b") == f"a\\u{ord(ch):04x}b"
    assert sanitize_label("we\u200bb") != sanitize_label("web")  # look-alikes are told apart
    assert sanitize_label("\u202egnp.exe", max_len=8) == "\\u202eg" + ELLIPSIS


@contextmanager
def _hang_guard(seconds: int):
    """Fail instead of hanging the run if a scan goes quadratic (this is not a speed assertion)."""

    def _fail(*_: object) -> None:
        raise AssertionError(f"sanitize_text still running after {seconds}s on 1 MiB")

    old = signal.signal(signal.SIGALRM, _fail)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


MIB = 1 << 20


@pytest.mark.parametrize(
    "payload",
    [
        ESC + "[" + "1;" * (MIB // 2),  # one endless CSI parameter list
        (ESC + "[") * (MIB // 2),  # a million unfinished CSIs
        ESC + "]" + "x" * MIB,  # unterminated OSC
        (ESC + "]0;") * (MIB // 3),  # OSCs cut by the next ESC
        "\t" * MIB,  # tab expansion
        ("a" * 50 + "\x00") * (MIB // 51),
        (ESC + "[31m" + "x") * (MIB // 6),
        "\x9b" * MIB,
    ],
    ids=["long-csi", "many-csi", "open-osc", "osc-chain", "tabs", "nul-mix", "sgr-mix", "c1-csi"],
)
def test_one_mebibyte_of_hostile_input_finishes(payload: str) -> None:
    with _hang_guard(60):
        out = sanitize_text(payload, keep_sgr=True)
        assert is_safe_text(out, allow_sgr=True) and ESC not in SGR.sub("", out)
        out = sanitize_text(payload.encode("utf-8", "surrogatepass"))
        assert is_safe_text(out) and ESC not in out


def test_sanitize_is_headless() -> None:
    code = "import sys, n9s.core.sanitize; assert not {'textual', 'rich'} & set(sys.modules), sys.modules.keys()"
    subprocess.run([sys.executable, "-c", code], check=True)
