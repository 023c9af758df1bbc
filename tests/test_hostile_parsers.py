"""Parsers under hostile input: the CRI log format (any bytes become records, nothing lost, never an exception),
the cgroup readers (any file contents give counts or None, never an exception), and the terminal sanitiser
(no cursor movement, no OSC, no DCS survives, whatever the mix)."""
from __future__ import annotations

import errno
import math
import os
import re
import unicodedata

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from n9s.core.sanitize import is_safe_text, sanitize_label, sanitize_text
from n9s.sources.cgroups.paths import CgroupLocation, HierarchyMode
from n9s.sources.cgroups.reader import (
    CgroupStats,
    cpu_cores,
    parse_blkio_service_bytes,
    parse_io_stat,
    parse_keyed,
    parse_limit,
    parse_uint,
    pick_keyed,
    read_location,
    throttled_fraction,
)
from n9s.sources.logs.follow import LogFollower
from n9s.sources.logs.format import LogRecord, PartialJoiner, parse_line
from n9s.sources.logs.lines import ShownLine
from n9s.sources.logs.files import iter_records
from n9s.widgets.log_view import _MAX_DISPLAY_CHARS, _plain, _prepare

# ---------------------------------------------------------------- CRI log lines

_TS = [b"2024-01-02T03:04:05.123456789Z", b"2024-01-02T03:04:05Z", b"2024-01-02T03:04:05.1+02:00",
       b"2024-13-02T03:04:05Z", b"2024-01-02T03:04:05.1234567890Z", b"not-a-time", b""]
_STREAMS = [b"stdout", b"stderr", b"stdin", b"STDOUT", b""]
_TAGS = [b"F", b"P", b"F:x", b"P:y", b"X", b"", b"FF"]
_CONTENT = st.one_of(st.binary(max_size=40),
                     st.sampled_from([b"\x1b[2J", b"\x1b]52;c;aGk=\x07", b"\xff\xfe", b" ", b"\r", b"\t", b""]))


@st.composite
def cri_lines(draw) -> bytes:
    """Lines that are CRI-shaped often enough to reach every branch, broken in every way."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=60)).replace(b"\n", b"")
    parts = [draw(st.sampled_from(_TS)), draw(st.sampled_from(_STREAMS)), draw(st.sampled_from(_TAGS))]
    if draw(st.booleans()):
        parts.append(draw(_CONTENT))
    sep = draw(st.sampled_from([b" ", b" ", b" ", b"  ", b"\t"]))
    return sep.join(parts).replace(b"\n", b"")


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.binary(max_size=200), cri_lines()))
def test_any_line_is_a_record_and_a_malformed_one_is_kept_whole(line):
    rec = parse_line(line)
    assert isinstance(rec, LogRecord)
    if rec.malformed:
        assert rec.content == line and rec.ts_ns is None and rec.stream == ""
    else:
        ts, stream, tags, *rest = line.split(b" ", 3)
        assert rec.stream == stream.decode() and rec.tags == tags.decode("ascii", "replace")
        assert rec.content == (rest[0] if rest else b"")
        assert rec.partial == tags.startswith(b"P")


def _per_stream(records):
    out: dict[str, bytes] = {}
    for rec in records:
        if not rec.malformed:
            out[rec.stream] = out.get(rec.stream, b"") + rec.content
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(cri_lines(), max_size=40), st.integers(1, 200))
# A first piece as big as a record may get is a record at once (it used to wait and take the next piece along).
@example(lines=[b"2024-01-02T03:04:05.123456789Z stdout P \x00"] * 2, max_bytes=1)
def test_joining_pieces_loses_and_invents_nothing(lines, max_bytes):
    parsed = [parse_line(line) for line in lines]
    joiner = PartialJoiner(max_bytes=max_bytes)
    out = [rec for p in parsed for rec in joiner.feed(p)] + joiner.flush()
    assert _per_stream(out) == _per_stream(parsed)
    assert [r.content for r in out if r.malformed] == [p.content for p in parsed if p.malformed]
    longest_piece = max((len(p.content) for p in parsed), default=0)
    assert all(len(r.content) < max_bytes + longest_piece for r in out if r.partial)


def _file_bytes(lines: list[bytes], end: bytes) -> bytes:
    return b"\n".join(lines) + end


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(cri_lines(), st.binary(max_size=30)), max_size=30), st.sampled_from([b"", b"\n"]),
       st.lists(st.integers(1, 50), min_size=1, max_size=8), st.integers(1, 7))
def test_following_in_any_chunks_gives_what_a_whole_read_gives(tmp_path_factory, lines, end, cuts, batch):
    """Any bytes, written in any pieces and polled in small batches: the follower hands out exactly the records
    a reader of the finished file gets (nothing lost, nothing repeated, never an exception)."""
    data = _file_bytes(lines, end)
    path = tmp_path_factory.mktemp("log") / "0.log"
    path.write_bytes(b"")
    follower = LogFollower(str(path), from_start=True)
    got: list[LogRecord] = []
    at = 0
    try:
        with open(path, "ab", buffering=0) as f:
            for cut in cuts * 40:
                if at >= len(data):
                    break
                f.write(data[at:at + cut])
                at += cut
                got += follower.poll(batch).records
            f.write(data[at:])
        while True:  # poll as the view does until nothing comes, then take the unterminated tail
            b = follower.poll(batch)
            got += b.records
            if not b.records and not b.more:
                break
        got += follower.flush()
    finally:
        follower.close()
    assert got == list(iter_records(str(path), with_history=False))
    assert _per_stream(got) == _per_stream(parse_line(line) for line in data.split(b"\n") if line)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=300), cri_lines()))
def test_any_log_line_is_shown_printable_and_bounded(line):
    shown = _prepare(ShownLine(7, parse_line(line)))
    assert is_safe_text(shown.plain) and is_safe_text(shown.body.plain)
    assert len(shown.plain) <= _MAX_DISPLAY_CHARS
    assert _plain(ShownLine(7, parse_line(line))) == shown.plain


# ---------------------------------------------------------------- cgroup files

def _is_count(value) -> bool:
    return value is None or (type(value) is int and value >= 0)


@pytest.mark.parametrize("digits", [21, 4301, 100_000])
def test_numbers_longer_than_any_counter_are_unknown_not_an_exception(digits):
    # int() refuses more than 4300 digits with ValueError; a parser must not pass that on.
    huge = "9" * digits
    assert parse_uint(huge) is None
    assert parse_limit(huge) == (None, False)
    assert parse_keyed(f"usage_usec {huge}\nnr_periods 5\n") == {"nr_periods": 5}
    assert pick_keyed(f"usage_usec {huge}\nnr_periods 5\n", ("usage_usec", "nr_periods")) == {"nr_periods": 5}
    assert parse_io_stat(f"8:0 rbytes={huge} wbytes=3\n") == (0, 3)
    assert parse_blkio_service_bytes(f"8:0 Read {huge}\n8:0 Write 4\nTotal 4\n") == (0, 4)


_V1_FILES = ["cpuacct.usage", "cpu.stat", "memory.usage_in_bytes", "memory.stat", "memory.limit_in_bytes",
             "pids.current", "memory.oom_control", "pids.max", "blkio.throttle.io_service_bytes_recursive",
             "blkio.throttle.io_service_bytes", "cpu.pressure", "memory.pressure", "io.pressure"]
_V2_FILES = ["cpu.stat", "memory.current", "memory.stat", "memory.max", "pids.current", "memory.events", "pids.max",
             "cpu.pressure", "memory.pressure", "io.pressure", "io.stat"]
_KERNELISH = st.sampled_from([
    "123\n", "max\n", "0\n", "18446744073709551615\n", "9" * 5000, "usage_usec 5\nnr_periods 3\nnr_throttled 9\n",
    "inactive_file 10\nanon 5\nfile 7\n", "total_inactive_file 99999999999\n", "oom_kill 2\n",
    "some avg10=1.50 avg60=0 avg300=0 total=1\nfull avg10=nan\n", "8:0 rbytes=1 wbytes=2\n", "8:0 Read 5\nTotal 5\n",
    "", "\x00\x00", "-1\n", "1e9\n", "²\n",
])
_OUTCOME = st.one_of(
    _KERNELISH.map(lambda t: t.encode("latin-1", "replace")),
    st.binary(max_size=200),
    st.sampled_from([FileNotFoundError, PermissionError, "ENODEV", "EIO"]),
)


def _fetcher(outcomes: dict[str, object]):
    def fetch(path: str) -> bytes:
        outcome = outcomes.get(os.path.basename(path), FileNotFoundError)
        if outcome is FileNotFoundError:
            raise FileNotFoundError(errno.ENOENT, "No such file", path)
        if outcome is PermissionError:
            raise PermissionError(errno.EACCES, "Permission denied", path)
        if outcome in ("ENODEV", "EIO"):
            code = getattr(errno, outcome)
            raise OSError(code, os.strerror(code), path)
        return outcome  # type: ignore[return-value]

    return fetch


def _assert_sane(stats: CgroupStats) -> None:
    for name in CgroupStats.__dataclass_fields__:
        value = getattr(stats, name)
        if name.startswith("psi_"):
            assert value is None or (type(value) is float and math.isfinite(value) and value >= 0), (name, value)
        elif name not in ("timestamp_ns", "full", "vanished", "memory_unlimited", "pids_unlimited", "problems"):
            assert _is_count(value), (name, value)
    assert not (stats.memory_unlimited and stats.memory_limit_bytes is not None)
    if stats.memory_working_set_bytes is not None and stats.memory_usage_bytes is not None:
        assert stats.memory_working_set_bytes <= stats.memory_usage_bytes
    assert all(isinstance(p, str) and is_safe_text(p) for p in stats.problems)


@pytest.mark.parametrize("mode", [HierarchyMode.V1, HierarchyMode.V2, HierarchyMode.HYBRID])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_cgroup_file_contents_give_counts_or_unknown(mode, data, tmp_path_factory):
    names = _V2_FILES if mode is HierarchyMode.V2 else _V1_FILES
    outcomes = data.draw(st.dictionaries(st.sampled_from(names), _OUTCOME))
    root = str(tmp_path_factory.getbasetemp())  # an existing directory: the cgroup has not vanished
    dirs = {"unified": root} if mode is HierarchyMode.V2 else {
        c: root for c in ("cpu", "cpuacct", "memory", "pids", "blkio")} | (
        {"unified": root} if mode is HierarchyMode.HYBRID else {})
    location = CgroupLocation("c1", mode, "/kubepods/x", dirs, "spec")
    first = read_location(location, full=data.draw(st.booleans()), fetch=_fetcher(outcomes))
    second = read_location(location, full=True, fetch=_fetcher(data.draw(st.dictionaries(st.sampled_from(names),
                                                                                            _OUTCOME))))
    _assert_sane(first)
    _assert_sane(second)
    cores = cpu_cores(first, second)
    assert cores is None or (math.isfinite(cores) and cores >= 0)
    share = throttled_fraction(first, second)
    assert share is None or 0.0 <= share <= 1.0


# ---------------------------------------------------------------- the terminal sanitiser

ESC = "\x1b"
# What a hostile container writes to move the cursor, scroll, retitle the terminal, write the clipboard, redefine
# keys or switch character sets; each case pairs the sequence with "A" before and "B" after it.
TERMINAL_ATTACKS = {
    "cursor up": f"{ESC}[5A", "cursor position": f"{ESC}[10;20H", "cursor position f": f"{ESC}[3;4f",
    "save/restore cursor": f"{ESC}7{ESC}8", "save/restore CSI": f"{ESC}[s{ESC}[u", "erase screen": f"{ESC}[2J",
    "erase line": f"{ESC}[K", "scroll region": f"{ESC}[1;5r", "index/reverse index": f"{ESC}D{ESC}M{ESC}E",
    "alternate screen": f"{ESC}[?1049h", "hide cursor": f"{ESC}[?25l", "mouse tracking": f"{ESC}[?1000h",
    "full reset": f"{ESC}c", "charset switch": f"{ESC}(0", "8-bit CSI": "\x9b2J", "UTF-8 C1 CSI": "\u009b6n",
    "device status query": f"{ESC}[6n", "OSC title BEL": f"{ESC}]0;owned\x07", "OSC title ST": f"{ESC}]2;owned{ESC}\\",
    "OSC 52 clipboard": f"{ESC}]52;c;cm0gLXJmIC8=\x07", "OSC 8 hyperlink": f"{ESC}]8;;http://evil/{ESC}\\",
    "8-bit OSC": "\x9d0;owned\x9c", "DCS": f"{ESC}Pq#0;2;0;0;0{ESC}\\", "8-bit DCS": "\x90$q\"p\x9c",
    "DECRQSS": f"{ESC}P$qm{ESC}\\", "APC": f"{ESC}_payload{ESC}\\", "PM": f"{ESC}^payload{ESC}\\",
    "SOS": f"{ESC}Xpayload{ESC}\\",
    "CSI with intermediates": f"{ESC}[1$p", "private SGR": f"{ESC}[>4;2m", "colon SGR": f"{ESC}[38:2:1:2:3m",
}
_CONTROL_SEQUENCE = re.compile(r"\x1b(?!\[[0-9;]*m)|[\x80-\x9f]")


@pytest.mark.parametrize("name", sorted(TERMINAL_ATTACKS))
def test_each_terminal_attack_is_removed_and_the_text_around_it_kept(name):
    attack = TERMINAL_ATTACKS[name]
    for keep_sgr in (False, True):
        out = sanitize_text(f"A{attack}B", keep_sgr=keep_sgr)
        assert out == "AB", (name, out)
    assert sanitize_label(f"A{attack}B") == "AB"


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(sorted(TERMINAL_ATTACKS.values())), st.text(max_size=5),
                          st.sampled_from([ESC, "\x9c", "\x07", "\\", "[", "]", "m", "1;31m", f"{ESC}[1;31m"])),
                max_size=25).map("".join),
       st.one_of(st.none(), st.integers(1, 30)))
def test_no_mix_leaves_anything_but_plain_colour(text, max_len):
    """Whatever is mixed or cut: the only escape sequence left is a plain SGR colour (ESC [ digits ; m), and only
    when colours were asked for; no C0/C1 control, no line separator, no payload of a removed string."""
    for keep_sgr in (False, True):
        out = sanitize_text(text, keep_sgr=keep_sgr, max_len=max_len)
        assert not _CONTROL_SEQUENCE.search(out), repr(out)
        if not keep_sgr:
            assert ESC not in out
        plain = re.sub(r"\x1b\[[0-9;]*m", "", out)
        assert all(unicodedata.category(ch) not in ("Cc", "Zl", "Zp") for ch in plain), repr(out)
        assert "owned" not in out and "payload" not in out and "evil" not in out
        if max_len is not None:
            assert len(plain) <= max_len
