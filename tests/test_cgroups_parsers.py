"""cgroup file parsers: kernel formats parse exactly; arbitrary text never raises and yields only ints >= 0 or None."""
from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from n9s.sources.cgroups.paths import cgroup_path_from_spec, parse_mountinfo, parse_proc_cgroup
from n9s.sources.cgroups.reader import (
    UNLIMITED_THRESHOLD,
    parse_blkio_service_bytes,
    parse_io_stat,
    parse_keyed,
    parse_limit,
    parse_pressure,
    parse_uint,
    pick_keyed,
)

# Text that looks like cgroup files often enough to reach the interesting branches.
_tokens = st.sampled_from(["max", "some", "full", "avg10=", "avg10=1.5", "rbytes=", "wbytes=7", "8:0", "Read",
                           "Write", "Total", "usage_usec", "-1", "0", "18446744073709551615", "1e9", "nan", "inf",
                           "²", "٣", " ", "\n", "\t", "=", ":", "."])
cgroupish = st.lists(st.one_of(_tokens, st.text(max_size=8)), max_size=40).map("".join)
any_text = st.one_of(st.text(), cgroupish)


def is_count(value: object) -> bool:
    return value is None or (type(value) is int and value >= 0)


# ---------------------------------------------------------------- exact formats


def test_uint():
    assert parse_uint("48459776\n") == 48459776
    assert parse_uint("0") == 0
    for bad in ("", "max", "-1", "+5", "1_000", "1.5", "²", "12 34"):
        assert parse_uint(bad) is None, bad


def test_limit_max_and_huge_values_mean_unlimited():
    assert parse_limit("max\n") == (None, True)
    assert parse_limit("9223372036854771712\n") == (None, True)  # v1 memory.limit_in_bytes with no limit
    assert parse_limit(str(UNLIMITED_THRESHOLD)) == (None, True)
    assert parse_limit(str(UNLIMITED_THRESHOLD - 1)) == (UNLIMITED_THRESHOLD - 1, False)
    assert parse_limit("268435456\n") == (268435456, False)
    assert parse_limit("garbage") == (None, False)  # unknown, not unlimited
    assert parse_limit("") == (None, False)


def test_keyed():
    text = "nr_periods 19\nnr_throttled 16\nthrottled_time 1387546517\nbad line here\nneg -1\nnr_periods 5\n"
    assert parse_keyed(text) == {"nr_periods": 19, "nr_throttled": 16, "throttled_time": 1387546517}


def test_pick_keyed_takes_whole_keys_only():
    text = "rss 7553024\ntotal_rss 13701120\ninactive_file 331776\ntotal_inactive_file 406810624\n"
    assert pick_keyed(text, ("total_rss", "rss", "total_inactive_file", "missing")) == {
        "total_rss": 13701120, "rss": 7553024, "total_inactive_file": 406810624}
    assert pick_keyed("anon 5\nfile x\n", ("anon", "file")) == {"anon": 5}
    assert pick_keyed("usage_usec 12", ("usage_usec",)) == {"usage_usec": 12}  # no trailing newline


def test_pressure_with_and_without_full_line():
    text = ("some avg10=3.25 avg60=2.10 avg300=0.87 total=9311624\n"
            "full avg10=1.50 avg60=0.96 avg300=0.40 total=4420771\n")
    assert parse_pressure(text) == {"some": 3.25, "full": 1.5}
    assert parse_pressure("some avg10=0.58 avg60=0.21 avg300=0.05 total=61811\n") == {"some": 0.58}
    assert parse_pressure("some avg10=-1.00 avg60=0 avg300=0 total=0\n") == {}
    assert parse_pressure("some avg10=1e3 avg60=0 avg300=0 total=0\n") == {}


def test_io_stat():
    text = ("254:0 rbytes=10485760 wbytes=4194304 rios=320 wios=96 dbytes=0 dios=0\n"
            "8:0 rbytes=1048576 wbytes=0 rios=12 wios=0 dbytes=0 dios=0\n")
    assert parse_io_stat(text) == (11534336, 4194304)
    assert parse_io_stat("") == (0, 0)
    assert parse_io_stat("8:16 rios=3 wios=0\n") == (0, 0)  # device without byte counters
    assert parse_io_stat("nonsense\n") == (None, None)


def test_blkio():
    text = ("254:0 Read 8392704\n254:0 Write 8396800\n254:0 Sync 16789504\n254:0 Async 0\n254:0 Discard 0\n"
            "254:0 Total 16789504\n8:0 Read 4096\n8:0 Write 0\n8:0 Total 4096\nTotal 16793600\n")
    assert parse_blkio_service_bytes(text) == (8392704 + 4096, 8396800)
    assert parse_blkio_service_bytes("Total 0\n") == (0, 0)
    assert parse_blkio_service_bytes("") == (None, None)


# ---------------------------------------------------------------- properties


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_scalar_parsers_never_raise_and_give_counts(text):
    assert is_count(parse_uint(text))
    limit, unlimited = parse_limit(text)
    assert is_count(limit) and isinstance(unlimited, bool)
    assert not (unlimited and limit is not None)
    assert limit is None or limit < UNLIMITED_THRESHOLD


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_keyed_parser_gives_only_counts(text):
    result = parse_keyed(text)
    assert all(isinstance(k, str) and is_count(v) and v is not None for k, v in result.items())


KEYS = ("anon", "file", "inactive_file", "total_rss", "usage_usec", "oom_kill")


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_pick_keyed_gives_only_counts(text):
    result = pick_keyed(text, KEYS)
    assert set(result) <= set(KEYS)
    assert all(is_count(v) and v is not None for v in result.values())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(KEYS + ("pgfault", "total_cache")), st.integers(0, 2**64)), max_size=12))
def test_pick_keyed_agrees_with_full_parse_on_kernel_shaped_files(pairs):
    text = "".join(f"{k} {v}\n" for k, v in pairs)
    full = parse_keyed(text)
    assert pick_keyed(text, KEYS) == {k: full[k] for k in KEYS if k in full}


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_io_parsers_give_only_counts(text):
    for parse in (parse_io_stat, parse_blkio_service_bytes):
        read, write = parse(text)
        assert is_count(read) and is_count(write)
        assert (read is None) == (write is None)


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_pressure_parser_gives_finite_non_negative_percentages(text):
    result = parse_pressure(text)
    assert set(result) <= {"some", "full"}
    assert all(type(v) is float and math.isfinite(v) and v >= 0 for v in result.values())


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_path_parsers_never_raise(text):
    proc = parse_proc_cgroup(text)
    assert proc.unified is None or proc.unified.startswith("/")
    assert all(p.startswith("/") for p in proc.v1.values())
    path = cgroup_path_from_spec(text)
    assert path is None or (path.startswith("/") and "/../" not in path + "/")
    parse_mountinfo(text, "/sys/fs/cgroup")


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=2**64), st.sampled_from(["", "\n", " \n"]))
def test_any_kernel_number_round_trips(n, tail):
    assert parse_uint(f"{n}{tail}") == n
    assert parse_limit(f"{n}{tail}") == ((n, False) if n < UNLIMITED_THRESHOLD else (None, True))
