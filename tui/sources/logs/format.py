"""The CRI container log line format: parsing one line, and joining partial (P) pieces.

A line is ``<RFC3339Nano timestamp> <stdout|stderr> <P|F[:more tags]> <content>``. Timestamps carry 0 to 9
fractional digits (Go drops trailing zeros) and a ``Z`` or ``±hh:mm`` offset; they are parsed by hand to
nanoseconds since the epoch. A line that does not follow the format is kept as a record flagged
``malformed`` whose content is the whole line: nothing is ever dropped.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, replace

__all__ = [
    "LogRecord",
    "PartialJoiner",
    "parse_line",
    "parse_timestamp",
    "format_timestamp",
    "MAX_JOINED_BYTES",
]

_EPOCH_ORDINAL = _dt.date(1970, 1, 1).toordinal()
_NS_PER_S = 1_000_000_000
_DAY_CACHE: dict[bytes, int] = {}

# A record joined from P pieces is cut at this size and emitted as partial, so a process that never writes
# a newline cannot make the reader hold unbounded memory.
MAX_JOINED_BYTES = 4 << 20


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One log record: a full line, a line joined from P pieces, or a malformed line kept as it is."""

    content: bytes
    ts_ns: int | None = None  # nanoseconds since the epoch, None when malformed
    stream: str = ""  # "stdout", "stderr", or "" when malformed
    partial: bool = False  # a P piece (or pieces) never completed by an F line
    malformed: bool = False
    tags: str = ""  # the raw tag field, e.g. "F" or "P:x"
    container: str = ""  # set when records of several containers are merged

    @property
    def is_stderr(self) -> bool:
        return self.stream == "stderr"

    def with_container(self, name: str) -> "LogRecord":
        return replace(self, container=name)


def _days(date_part: bytes) -> int | None:
    days = _DAY_CACHE.get(date_part)
    if days is None:
        if date_part[4:5] != b"-" or date_part[7:8] != b"-":
            return None
        y, m, d = date_part[0:4], date_part[5:7], date_part[8:10]
        if not (y.isdigit() and m.isdigit() and d.isdigit()):
            return None
        try:
            days = _dt.date(int(y), int(m), int(d)).toordinal() - _EPOCH_ORDINAL
        except ValueError:
            return None
        if len(_DAY_CACHE) > 4096:
            _DAY_CACHE.clear()
        _DAY_CACHE[date_part] = days
    return days


def parse_timestamp(ts: bytes | str) -> int | None:
    """Parse an RFC 3339 timestamp with 0-9 fractional digits to nanoseconds since the epoch, or None."""
    if isinstance(ts, str):
        try:
            ts = ts.encode("ascii")
        except UnicodeEncodeError:
            return None
    if len(ts) < 20 or ts[10:11] not in (b"T", b"t") or ts[13:14] != b":" or ts[16:17] != b":":
        return None
    days = _days(ts[0:10])
    if days is None:
        return None
    hh, mm, ss = ts[11:13], ts[14:16], ts[17:19]
    if not (hh.isdigit() and mm.isdigit() and ss.isdigit()):
        return None
    hour, minute, second = int(hh), int(mm), int(ss)
    if hour > 23 or minute > 59 or second > 60:
        return None
    i = 19
    frac_ns = 0
    if ts[i : i + 1] == b".":
        j = i + 1
        while j < len(ts) and 0x30 <= ts[j] <= 0x39:
            j += 1
        digits = ts[i + 1 : j]
        if not 1 <= len(digits) <= 9:
            return None
        frac_ns = int(digits) * 10 ** (9 - len(digits))
        i = j
    zone = ts[i:]
    if zone in (b"Z", b"z"):
        offset_s = 0
    elif len(zone) == 6 and zone[0:1] in (b"+", b"-") and zone[3:4] == b":":
        oh, om = zone[1:3], zone[4:6]
        if not (oh.isdigit() and om.isdigit()) or int(oh) > 23 or int(om) > 59:
            return None
        offset_s = (int(oh) * 3600 + int(om) * 60) * (1 if zone[0:1] == b"+" else -1)
    else:
        return None
    seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_s
    return seconds * _NS_PER_S + frac_ns


def format_timestamp(ts_ns: int, *, utc: bool = True) -> str:
    """RFC 3339 with 9 fractional digits, for display and for writing test files."""
    seconds, frac = divmod(ts_ns, _NS_PER_S)
    when = _dt.datetime.fromtimestamp(seconds, tz=_dt.timezone.utc)
    if not utc:
        when = when.astimezone()
    zone = "Z" if utc else when.strftime("%z")
    if zone != "Z":
        zone = f"{zone[:3]}:{zone[3:]}"
    return f"{when:%Y-%m-%dT%H:%M:%S}.{frac:09d}{zone}"


def parse_line(line: bytes) -> LogRecord:
    """Parse one line of a CRI log file (without its trailing newline)."""
    parts = line.split(b" ", 3)
    if len(parts) >= 3:
        ts_ns = parse_timestamp(parts[0])
        stream = parts[1]
        tags = parts[2]
        first_tag = tags.split(b":", 1)[0]
        if ts_ns is not None and stream in (b"stdout", b"stderr") and first_tag in (b"P", b"F"):
            return LogRecord(
                content=parts[3] if len(parts) == 4 else b"",
                ts_ns=ts_ns,
                stream=stream.decode("ascii"),
                partial=first_tag == b"P",
                tags=tags.decode("ascii", "replace"),
            )
    return LogRecord(content=line, malformed=True)


class PartialJoiner:
    """Joins P pieces with the F line that completes them, per stream.

    Feed parsed physical lines in file order; ``feed`` returns the records that are complete. Pieces of
    stdout and stderr interleave independently. A joined record carries the timestamp of its first piece.
    ``flush`` returns the pieces still waiting (at the end of a finished file), flagged ``partial``.
    """

    def __init__(self, max_bytes: int = MAX_JOINED_BYTES) -> None:
        self._pending: dict[str, list[LogRecord]] = {}
        self._sizes: dict[str, int] = {}
        self._max = max_bytes

    @property
    def waiting(self) -> bool:
        return bool(self._pending)

    def feed(self, rec: LogRecord) -> list[LogRecord]:
        if rec.malformed:
            return [rec]
        pieces = self._pending.get(rec.stream)
        if rec.partial:
            if pieces is None:
                self._pending[rec.stream] = [rec]
                self._sizes[rec.stream] = len(rec.content)
            else:
                pieces.append(rec)
                self._sizes[rec.stream] += len(rec.content)
            if self._sizes[rec.stream] >= self._max:  # a first piece alone may already be as big as a record may get
                return [self._take(rec.stream, partial=True)]
            return []
        if pieces is None:
            return [rec]
        pieces.append(rec)
        return [self._take(rec.stream, partial=False)]

    def flush(self) -> list[LogRecord]:
        return [self._take(stream, partial=True) for stream in list(self._pending)]

    def _take(self, stream: str, *, partial: bool) -> LogRecord:
        pieces = self._pending.pop(stream)
        self._sizes.pop(stream, None)
        first, last = pieces[0], pieces[-1]
        return LogRecord(
            content=b"".join(p.content for p in pieces),
            ts_ns=first.ts_ns,
            stream=stream,
            partial=partial,
            tags=last.tags,
            container=first.container,
        )
