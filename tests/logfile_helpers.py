"""Helpers that write CRI log files for the log tests (not a test module)."""
from __future__ import annotations

BASE_NS = 1_700_000_000 * 1_000_000_000  # 2023-11-14T22:13:20Z


def ts_text(ns: int) -> str:
    """RFC3339Nano the way Go writes it: trailing zeros of the fraction dropped."""
    import datetime as dt

    seconds, frac = divmod(ns, 1_000_000_000)
    when = dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)
    text = f"{when:%Y-%m-%dT%H:%M:%S}"
    if frac:
        text += "." + f"{frac:09d}".rstrip("0")
    return text + "Z"


def cri_line(ns: int, content: str | bytes, stream: str = "stdout", tag: str = "F") -> bytes:
    if isinstance(content, str):
        content = content.encode()
    return f"{ts_text(ns)} {stream} {tag} ".encode() + content + b"\n"


def write_lines(path: str, lines: list[bytes], mode: str = "ab") -> None:
    with open(path, mode) as f:
        f.write(b"".join(lines))


def numbered(start: int, count: int, *, stream: str = "stdout", prefix: str = "line") -> list[bytes]:
    return [cri_line(BASE_NS + i * 1_000_000, f"{prefix} {i}", stream) for i in range(start, start + count)]
