"""Memory cells read exactly as humanize.naturalsize(binary=True) writes sizes (what users of K9s-like tables
expect), although n9s formats them itself for speed."""
from __future__ import annotations

import humanize
from hypothesis import given, strategies as st

from n9s.render.format import UNKNOWN, mem


def reference(value: int) -> str:
    return humanize.naturalsize(value, binary=True, format="%.1f")


@given(st.integers(min_value=-(2**40), max_value=2**110))
def test_any_size_reads_as_humanize_writes_it(value):
    assert mem(value) == reference(value)


def test_unit_boundaries_and_rounding_into_the_next_unit():
    for k in range(1, 11):
        for delta in (-52, -51, -1, 0, 1):
            value = 1024**k + delta
            assert mem(value) == reference(value), value
    assert mem(1048575) == "1.0 MiB"  # 1023.999 KiB rounds up into the next unit
    assert mem(1) == "1 Byte" and mem(1023) == "1023 Bytes" and mem(1536) == "1.5 KiB"
    assert mem(None) == UNKNOWN
