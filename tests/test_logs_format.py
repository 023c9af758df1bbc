"""CRI log line format: timestamps, malformed lines, joining partial pieces."""
from __future__ import annotations

import datetime as dt
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logfile_helpers import BASE_NS, cri_line, ts_text
from n9s.sources.logs.format import LogRecord, PartialJoiner, parse_line, parse_timestamp
from n9s.sources.logs.files import iter_records


def _ns(text: str) -> int:
    """Reference value through datetime (microseconds) plus the sub-microsecond digits by hand."""
    head, _, rest = text.partition(".")
    frac = ""
    zone = rest
    if rest:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        frac, zone = rest[:digits], rest[digits:]
    else:
        zone = head[19:]
        head = head[:19]
    when = dt.datetime.fromisoformat(head + (zone.replace("Z", "+00:00")))
    return int(when.timestamp()) * 10**9 + int((frac or "0").ljust(9, "0"))


@pytest.mark.parametrize("digits", range(0, 10))
def test_timestamps_with_0_to_9_fraction_digits(digits: int) -> None:
    frac = "123456789"[:digits]
    text = "2026-11-26T05:36:59" + (f".{frac}" if digits else "") + "Z"
    expected = _ns("2026-11-26T05:36:59Z") + int(frac.ljust(9, "0") or "0")
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize("zone, shift_s", [("Z", 0), ("+00:00", 0), ("+02:00", -7200), ("-05:30", 19800),
                                           ("+14:00", -50400)])
def test_timestamp_offsets(zone: str, shift_s: int) -> None:
    utc = parse_timestamp("2024-02-29T23:59:59.5Z")
    assert parse_timestamp(f"2024-02-29T23:59:59.5{zone}") == utc + shift_s * 10**9


@pytest.mark.parametrize("bad", ["", "2024-02-30T00:00:00Z", "2024-01-01 00:00:00Z", "2024-01-01T25:00:00Z",
                                 "2024-01-01T00:00:00", "2024-01-01T00:00:00.Z", "2024-01-01T00:00:00.1234567890Z",
                                 "2024-01-01T00:00:00+0100", "2024-01-01T00:00:00+01:00x", "garbage-at-all-here!"])
def test_bad_timestamps_are_refused(bad: str) -> None:
    assert parse_timestamp(bad) is None


@given(st.integers(min_value=0, max_value=4_000_000_000 * 10**9))
def test_timestamps_round_trip_as_go_writes_them(ns: int) -> None:
    assert parse_timestamp(ts_text(ns)) == ns


def test_parse_full_partial_and_empty_lines() -> None:
    rec = parse_line(b"2026-11-26T05:36:59.969222765Z stderr F hello world  ")
    assert rec == LogRecord(content=b"hello world  ", ts_ns=_ns("2026-11-26T05:36:59.969222765Z"),
                            stream="stderr", tags="F")
    assert parse_line(b"2026-11-26T05:36:59Z stdout P:x piece").partial
    assert parse_line(b"2026-11-26T05:36:59Z stdout F:x:y ").content == b""
    empty = parse_line(b"2026-11-26T05:36:59Z stdout F")
    assert not empty.malformed and empty.content == b""


@pytest.mark.parametrize("line", [b"", b"just text", b"2026-11-26T05:36:59Z stdin F x", b"2026-11-26T05:36:59Z stdout X x",
                                  b"notatime stdout F x", b"\xff\xfe binary \x1b[2J"])
def test_malformed_lines_are_kept_whole(line: bytes) -> None:
    rec = parse_line(line)
    assert rec.malformed and rec.content == line and rec.ts_ns is None


def test_partial_pieces_join_with_their_full_line() -> None:
    j = PartialJoiner()
    t = BASE_NS
    assert j.feed(parse_line(cri_line(t, "ab", tag="P")[:-1])) == []
    assert j.feed(parse_line(cri_line(t + 1, "cd", tag="P")[:-1])) == []
    out = j.feed(parse_line(cri_line(t + 2, "ef")[:-1]))
    assert [(r.content, r.ts_ns, r.partial) for r in out] == [(b"abcdef", t, False)]


def test_interleaved_stdout_and_stderr_partials() -> None:
    lines = [
        cri_line(BASE_NS + 1, "out-1 ", "stdout", "P"),
        cri_line(BASE_NS + 2, "err-1 ", "stderr", "P"),
        cri_line(BASE_NS + 3, "out-2", "stdout", "F"),
        cri_line(BASE_NS + 4, "plain error", "stderr", "P"),
        b"not a cri line",
        cri_line(BASE_NS + 5, "!", "stderr", "F"),
    ]
    j = PartialJoiner()
    out = [r for line in lines for r in j.feed(parse_line(line.rstrip(b"\n")))]
    assert [(r.stream, r.content) for r in out] == [
        ("stdout", b"out-1 out-2"), ("", b"not a cri line"), ("stderr", b"err-1 plain error!"),
    ]


def test_unfinished_pieces_are_flushed_as_partial() -> None:
    j = PartialJoiner()
    j.feed(parse_line(cri_line(BASE_NS, "no newline at exit", tag="P").rstrip(b"\n")))
    (rec,) = j.flush()
    assert rec.partial and rec.content == b"no newline at exit"


def test_joined_record_is_bounded() -> None:
    j = PartialJoiner(max_bytes=10)
    out = []
    for i in range(5):
        out += j.feed(parse_line(cri_line(BASE_NS + i, "abcd", tag="P").rstrip(b"\n")))
    out += j.feed(parse_line(cri_line(BASE_NS + 9, "end").rstrip(b"\n")))
    assert b"".join(r.content for r in out) == b"abcd" * 5 + b"end"
    assert out[0].partial and len(out[0].content) <= 12


def test_iter_records_keeps_malformed_lines_and_unterminated_end(tmp_path) -> None:
    path = tmp_path / "0.log"
    path.write_bytes(cri_line(BASE_NS, "one") + b"garbage line\n" + cri_line(BASE_NS + 1, "a", tag="P")
                     + cri_line(BASE_NS + 2, "b") + cri_line(BASE_NS + 3, "tail", tag="P").rstrip(b"\n"))
    recs = list(iter_records(str(path)))
    assert [(r.content, r.malformed, r.partial) for r in recs] == [
        (b"one", False, False), (b"garbage line", True, False), (b"ab", False, False),
        (b"tail", False, True),
    ]


def test_missing_file_raises_not_found(tmp_path) -> None:
    from n9s.sources.errors import NotFound

    with pytest.raises(NotFound, match="does not exist"):
        list(iter_records(str(tmp_path / "missing" / "0.log")))


def test_unreadable_file_raises_permission_denied(tmp_path) -> None:
    from n9s.sources.errors import PermissionDenied

    path = tmp_path / "0.log"
    path.write_bytes(cri_line(BASE_NS, "x"))
    path.chmod(0o600)
    # Root reads any file: act as "nobody" for the open (dropping the effective uid drops the capabilities).
    if os.geteuid() == 0:
        os.seteuid(65534)
    try:
        with pytest.raises(PermissionDenied, match="permission denied"):
            list(iter_records(str(path)))
    finally:
        if os.getuid() == 0:
            os.seteuid(0)


def test_log_modules_are_headless() -> None:
    import subprocess
    import sys

    modules = ["n9s.sources.logs.files", "n9s.sources.logs.format", "n9s.sources.logs.index", "n9s.sources.logs.history",
               "n9s.sources.logs.follow", "n9s.sources.logs.lines"]
    code = (f"import sys, importlib\nfor m in {modules!r}: importlib.import_module(m)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
