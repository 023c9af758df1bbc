"""Line index, rotation history, previous attempt, merge and seek by time, on generated files."""
from __future__ import annotations

import gzip
import os
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logfile_helpers import BASE_NS, cri_line, numbered, write_lines
from n9s.sources.logs.index import BLOCK_SIZE, FileIndex
from n9s.sources.logs.files import (
    HistoryIndex,
    history_files,
    iter_records,
    merge_records,
    previous_attempt_path,
    tail_merged,
    tail_records,
)


def _index_lines(index: FileIndex) -> list[bytes]:
    return [index.read_line(w) for w in range(index.line_count)]


def _expected_lines(data: bytes, final: bool) -> list[bytes]:
    lines = data.split(b"\n")
    last = lines.pop()
    if final and last:
        lines.append(last)
    return lines


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(min_value=0, max_value=3 * BLOCK_SIZE), max_size=12),
    many_short=st.integers(min_value=0, max_value=3000),
    tail=st.binary(max_size=20).filter(lambda b: b"\n" not in b),
    step=st.sampled_from([BLOCK_SIZE, 2 * BLOCK_SIZE, 1 << 20]),
    final=st.booleans(),
)
def test_index_finds_every_line_whatever_the_lengths(tmp_path_factory, lengths, many_short, tail, step, final):
    rng = random.Random(len(lengths) * 7919 + many_short)
    lines = [bytes([97 + i % 26]) * n for i, n in enumerate(lengths)]
    lines += [b"x" * rng.randint(0, 40) for _ in range(many_short)]
    rng.shuffle(lines)
    data = b"".join(line + b"\n" for line in lines) + tail
    path = tmp_path_factory.mktemp("idx") / "f.log"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    index = FileIndex(fd, final=final, initial_scan=step)
    try:
        while not index.complete:
            index.scan_back(step)
        assert _index_lines(index) == _expected_lines(data, final)
    finally:
        index.close()


def test_index_tail_first_then_grows_at_the_front(tmp_path):
    path = tmp_path / "0.log"
    write_lines(str(path), numbered(0, 40_000))  # ~2.4 MB
    index = FileIndex(os.open(path, os.O_RDONLY), initial_scan=BLOCK_SIZE)
    first = index.line_count
    assert 0 < first < 40_000
    assert index.read_line(first - 1).endswith(b"line 39999")
    added = index.scan_back(4 * BLOCK_SIZE)
    assert index.line_count == first + added and index.prepended == added
    assert index.read_line(added + first - 1).endswith(b"line 39999")
    while not index.complete:
        index.scan_back()
    assert index.line_count == 40_000
    assert index.read_line(0).endswith(b"line 0")
    index.close()


def test_index_extends_as_the_file_grows(tmp_path):
    path = tmp_path / "0.log"
    write_lines(str(path), numbered(0, 10))
    index = FileIndex(os.open(path, os.O_RDONLY))
    with open(path, "ab") as f:
        f.write(numbered(10, 1)[0] + b"2023-11-14T22:13:20Z stdout F half")  # half a line written so far
    assert index.extend() == 1
    assert index.line_count == 11
    with open(path, "ab") as f:
        f.write(b" done\n" + b"x" * (3 * BLOCK_SIZE) + b"\n")
    assert index.extend() == 2
    assert index.read_line(11).endswith(b"half done")
    assert index.read_line(12) == b"x" * (3 * BLOCK_SIZE)
    index.close()


def test_tail_of_a_50_megabyte_file_is_exactly_the_last_lines(tmp_path):
    path = tmp_path / "0.log"
    block = b"".join(numbered(0, 10_000, prefix="filler"))  # one block of lines, repeated
    with open(path, "wb") as f:
        for _ in range(50 * (1 << 20) // len(block)):
            f.write(block)
        f.write(b"".join(numbered(0, 300, prefix="last")))
    records = tail_records(str(path), 200)
    assert [r.content for r in records] == [f"last {i}".encode() for i in range(100, 300)]
    index = HistoryIndex(str(path))
    lo, hi = index.id_range()
    assert hi - lo < 100_000  # opened at the tail without indexing the whole file
    assert index.read_line(hi - 1).endswith(b"last 299")
    index.close()


def _rotated_history(tmp_path) -> tuple[str, list[bytes]]:
    """0.log with two gzipped and one plain rotated file, a leftover .tmp and a plain file shadowed by
    its .gz; returns the live path and every content in order."""
    d = tmp_path / "ctr"
    d.mkdir()
    contents = []

    def lines(start: int, n: int) -> list[bytes]:
        out = numbered(start, n)
        contents.extend(f"line {i}".encode() for i in range(start, start + n))
        return out

    with gzip.open(d / "0.log.20240101-000000.gz", "wb") as f:
        f.write(b"".join(lines(0, 500)))
    with gzip.open(d / "0.log.20240101-010000.gz", "wb") as f:
        f.write(b"".join(lines(500, 500)))
    (d / "0.log.20240101-010000").write_bytes(b"stale copy, must be skipped\n")
    (d / "0.log.20240101-020000").write_bytes(b"".join(lines(1000, 500)))
    (d / "0.log.20240101-020000.tmp").write_bytes(b"half-written gzip")
    (d / "0.log").write_bytes(b"".join(lines(1500, 500)))
    return str(d / "0.log"), contents


def test_history_files_order_and_skips(tmp_path):
    live, _ = _rotated_history(tmp_path)
    names = [os.path.basename(f.path) for f in history_files(live)]
    assert names == ["0.log.20240101-000000.gz", "0.log.20240101-010000.gz", "0.log.20240101-020000", "0.log"]


def test_iter_records_reads_gz_history_then_live(tmp_path):
    live, contents = _rotated_history(tmp_path)
    assert [r.content for r in iter_records(live)] == contents
    assert [r.content for r in iter_records(live, with_history=False)] == contents[1500:]


def test_history_index_reaches_back_into_rotated_files(tmp_path):
    live, contents = _rotated_history(tmp_path)
    index = HistoryIndex(live)
    lo, hi = index.id_range()
    assert [index.record(i).content for i in range(lo, hi)] == contents[1500:]
    index.scan_all()
    lo, hi = index.id_range()
    assert [index.record(i).content for i in range(lo, hi)] == contents
    assert index.source_of(lo).endswith("0.log.20240101-000000.gz")
    index.close()


def test_partial_pieces_across_rotation_are_joined(tmp_path):
    d = tmp_path / "ctr"
    d.mkdir()
    (d / "0.log.20240101-000000").write_bytes(cri_line(BASE_NS, "first half ", tag="P"))
    (d / "0.log").write_bytes(cri_line(BASE_NS + 1, "second half"))
    assert [r.content for r in iter_records(str(d / "0.log"))] == [b"first half second half"]
    assert [r.content for r in tail_records(str(d / "0.log"), 5)] == [b"first half second half"]


def test_previous_attempt_finds_highest_lower_attempt(tmp_path):
    d = tmp_path / "ctr"
    d.mkdir()
    for name in ["0.log", "2.log.20240101-000000.gz", "3.log", "5.log", "x.log", "10.log"]:
        (d / name).write_bytes(b"")
    assert previous_attempt_path(str(d / "5.log")) == str(d / "3.log")
    assert previous_attempt_path(str(d / "3.log")) == str(d / "2.log")  # only rotated files left of it
    assert previous_attempt_path(str(d / "10.log")) == str(d / "5.log")
    assert previous_attempt_path(str(d / "0.log")) is None


def test_merge_orders_by_time_and_tags_containers(tmp_path):
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    a.write_bytes(cri_line(BASE_NS + 10, "a1") + cri_line(BASE_NS + 30, "a2") + b"junk from a\n"
                  + cri_line(BASE_NS + 50, "a3"))
    b.write_bytes(cri_line(BASE_NS + 20, "b1", "stderr") + cri_line(BASE_NS + 30, "b2") + cri_line(BASE_NS + 40, "b3"))
    merged = list(merge_records({"app": iter_records(str(a)), "side": iter_records(str(b))}))
    assert [(r.container, r.content) for r in merged] == [
        ("app", b"a1"), ("side", b"b1"), ("app", b"a2"), ("app", b"junk from a"), ("side", b"b2"),
        ("side", b"b3"), ("app", b"a3"),
    ]
    assert [r.content for r in tail_merged({"app": str(a), "side": str(b)}, 3)] == [b"b2", b"b3", b"a3"]


@pytest.mark.parametrize("initial_scan", [BLOCK_SIZE, 1 << 20])
def test_seek_time_finds_first_record_at_or_after(tmp_path, initial_scan):
    path = tmp_path / "0.log"
    lines = [cri_line(BASE_NS + i * 1_000_000_000, f"sec {i}") for i in range(0, 20_000)]
    lines.insert(5000, b"malformed in the middle\n")
    write_lines(str(path), lines)
    index = HistoryIndex(str(path), initial_scan=initial_scan)
    target = index.seek_time(BASE_NS + 1234 * 1_000_000_000 - 1)
    assert index.record(target).content == b"sec 1234"
    assert index.record(index.seek_time(BASE_NS + 7000 * 1_000_000_000)).content == b"sec 7000"
    assert index.record(index.seek_time(0)).content == b"sec 0"
    assert index.seek_time(BASE_NS + 10**15) == index.id_range()[1]
    index.close()


def test_history_index_open_errors_are_source_errors(tmp_path):
    from n9s.sources.errors import NotFound

    with pytest.raises(NotFound, match="does not exist"):
        HistoryIndex(str(tmp_path / "nope" / "0.log"))
