"""Timestamps of the Kubernetes API (RFC 3339, seconds or microseconds) as aware UTC datetimes."""
from __future__ import annotations

from datetime import datetime, timezone


def parse_time(value: object) -> datetime | None:
    """`2024-05-01T12:03:55Z` or `...55.123456Z` -> aware datetime; None for missing or malformed."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def format_time(value: datetime) -> str:
    """The API's own form, `2024-05-01T12:03:55Z` (used by the fake server and tests)."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
