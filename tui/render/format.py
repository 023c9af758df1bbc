"""Formatting of figures for table cells: pure, locale-free, '-' for anything unknown."""
from __future__ import annotations

UNKNOWN = "-"


def cpu(cores: float | None) -> str:
    """CPU in millicores below ten cores (K9s habit), in cores above."""
    if cores is None:
        return UNKNOWN
    millicores = round(cores * 1000)
    if millicores < 10_000:  # decided on the rounded figure, so 9.9996 cores reads 10.0, not 10000m
        return f"{millicores}m"
    return f"{cores:.1f}"


_BINARY_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB", "RiB", "QiB")


def mem(value: int | None) -> str:
    """Bytes in binary units with one decimal ("1.5 GiB"), exactly as humanize.naturalsize(binary=True,
    format="%.1f") writes them (a test holds the two together); done here because the tables format thousands
    of sizes per refresh and this costs a tenth of the call into humanize."""
    if value is None:
        return UNKNOWN
    size = abs(value)
    if size == 1:
        return f"{int(value)} Byte"
    if size < 1024:
        return f"{int(value)} Bytes"
    exp, unit = 1, 1024
    while exp < len(_BINARY_UNITS) and size >= unit * 1024:
        exp, unit = exp + 1, unit * 1024
    if exp < len(_BINARY_UNITS) and float(f"{size / unit:.1f}") >= 1024:  # rounding reached the next unit
        exp, unit = exp + 1, unit * 1024
    return f"{value / unit:.1f} {_BINARY_UNITS[exp - 1]}"


def limit(value: int | None, unlimited: bool) -> str:
    if unlimited:
        return "no limit"
    return mem(value)


def percent(value: float | None) -> str:
    return UNKNOWN if value is None else f"{value:.0f}%"


def count(value: int | None) -> str:
    return UNKNOWN if value is None else str(value)


def age(created_ns: int, now_s: float) -> str:
    """Age as kubectl and K9s print it (apimachinery's HumanDuration): 95s, 5m12s, 42m, 5h3m, 20h, 3d4h, 120d,
    2y45d. Precision falls with age, so an older row's AGE changes once a minute, an hour or a day."""
    if not created_ns:
        return UNKNOWN
    secs = max(0, int(now_s - created_ns / 1e9))
    if secs < 120:
        return f"{secs}s"
    minutes = secs // 60
    if minutes < 10:
        return _two(minutes, "m", secs % 60, "s")
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return _two(hours, "h", minutes % 60, "m")
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 24 * 8:
        return _two(days, "d", hours % 24, "h")
    if days < 365 * 2:
        return f"{days}d"
    if days < 365 * 8:
        return _two(days // 365, "y", days % 365, "d")
    return f"{days // 365}y"


def _two(major: int, major_unit: str, minor: int, minor_unit: str) -> str:
    return f"{major}{major_unit}{minor}{minor_unit}" if minor else f"{major}{major_unit}"


def short_id(value: str, width: int = 13) -> str:
    return value[:width]


def sparkline(values: tuple[float, ...] | tuple[int, ...], width: int = 30) -> str:
    """A text sparkline of the last ``width`` values, scaled to their own maximum."""
    blocks = "▁▂▃▄▅▆▇█"
    tail = list(values)[-width:]
    if not tail:
        return ""
    top = max(tail) or 1
    return "".join(blocks[min(len(blocks) - 1, int(v / top * (len(blocks) - 1)))] for v in tail)
