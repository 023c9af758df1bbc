"""Cell formatting, sorting and the `/` filter (pure)."""
from __future__ import annotations

from n9s.render.filtering import RowFilter
from n9s.render import format as fmt
from n9s.render.table import Row, sort_rows
from n9s.render.views import CONTAINER_COLUMNS, POD_COLUMNS


def test_cpu_in_millicores_below_ten_cores():
    assert fmt.cpu(None) == "-"
    assert fmt.cpu(0.0) == "0m"
    assert fmt.cpu(0.0004) == "0m"
    assert fmt.cpu(0.0015) == "2m"
    assert fmt.cpu(1.0) == "1000m"
    assert fmt.cpu(9.9994) == "9999m"
    assert fmt.cpu(9.9996) == "10.0"  # rounds to ten cores: not "10000m"
    assert fmt.cpu(12.345) == "12.3"


def test_memory_limit_percent_count_age():
    assert fmt.mem(None) == "-"
    assert fmt.mem(48 * 1024 * 1024) == "48.0 MiB"
    assert fmt.limit(None, True) == "no limit"
    assert fmt.limit(None, False) == "-"  # unknown is not "no limit"
    assert fmt.percent(None) == "-" and fmt.percent(19.4) == "19%"
    assert fmt.count(None) == "-" and fmt.count(0) == "0"
    now = 1_000_000.0
    assert fmt.age(0, now) == "-"
    assert fmt.age(int((now + 5) * 1e9), now) == "0s"  # clock skew: never negative


def test_age_reads_as_kubectl_and_k9s_print_it():
    now = 1_000_000.0
    cases = {
        42: "42s", 119: "119s", 120: "2m", 312: "5m12s", 599: "9m59s", 600: "10m", 42 * 60 + 59: "42m",
        179 * 60: "179m", 3 * 3600: "3h", 3 * 3600 + 240: "3h4m", 8 * 3600 - 1: "7h59m", 20 * 3600: "20h",
        47 * 3600: "47h", 2 * 86400: "2d", 3 * 86400 + 4 * 3600: "3d4h", 12 * 86400: "12d", 729 * 86400: "729d",
        730 * 86400: "2y", 800 * 86400: "2y70d", 3000 * 86400: "8y",
    }
    assert {secs: fmt.age(int((now - secs) * 1e9), now) for secs in cases} == cases


def test_sparkline_scales_to_its_own_peak_and_keeps_the_tail():
    assert fmt.sparkline(()) == ""
    assert fmt.sparkline((0, 0, 0)) == "▁▁▁"
    assert fmt.sparkline((0, 1, 2, 4)) == "▁▂▄█"
    assert len(fmt.sparkline(tuple(range(100)), width=30)) == 30
    assert fmt.sparkline(tuple(range(100)), width=30)[-1] == "█"


CONTAINER_HEADER = ["NAME", "POD", "STATE", "EXIT", "ATTEMPT", "CPU", "MEM", "LIMIT", "%MEM/L", "PIDS", "THROTTLED",
                    "OOM", "IMAGE", "AGE"]
POD_HEADER = ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "CPU", "MEM", "%MEM/L", "PIDS", "AGE"]


def in_order(wanted: list[str], header: list[str]) -> bool:
    """Every wanted column is in the header, in this order (other columns may sit between them)."""
    rest = iter(header)
    return all(name in rest for name in wanted)


def test_view_headers_hold_the_columns_a_user_expects():
    assert in_order(CONTAINER_HEADER, [c.name for c in CONTAINER_COLUMNS])
    assert in_order(POD_HEADER, [c.name for c in POD_COLUMNS])
    assert not in_order(["AGE", "NAME"], [c.name for c in POD_COLUMNS])  # the check itself minds the order


def rows():
    return [
        Row("a", ("alpha", "demo/burn", "1000m"), ("alpha", "demo/burn", 1.0), labels={"app": "burn"}),
        Row("b", ("beta", "default/web", "5m"), ("beta", "default/web", 0.005), labels={"app": "web", "tier": "fe"}),
        Row("c", ("gamma", "demo/crash", "-"), ("gamma", "demo/crash", None), labels={"app": "crash"}),
        Row("d", ("delta", "demo/mem", "0m"), ("delta", "demo/mem", 0.0), labels={}),
    ]


def keys(rs):
    return [r.key for r in rs]


def test_sort_puts_unknown_last_in_both_directions():
    assert keys(sort_rows(rows(), 2, reverse=True)) == ["a", "b", "d", "c"]
    assert keys(sort_rows(rows(), 2, reverse=False)) == ["d", "b", "a", "c"]
    assert keys(sort_rows(rows(), 0, reverse=False)) == ["a", "b", "d", "c"]


def test_filter_regex_inverse_and_labels():
    assert keys(RowFilter("burn").apply(rows())) == ["a"]
    assert keys(RowFilter("BURN").apply(rows())) == ["a"]  # case-insensitive
    assert keys(RowFilter("!burn").apply(rows())) == ["b", "c", "d"]
    assert keys(RowFilter("demo/(burn|mem)").apply(rows())) == ["a", "d"]
    assert keys(RowFilter("(unclosed").apply(rows())) == []  # a bad regex is matched literally, never raises
    assert keys(RowFilter("-l app=web").apply(rows())) == ["b"]
    assert keys(RowFilter("-l app=web,tier=fe").apply(rows())) == ["b"]
    assert keys(RowFilter("-l app").apply(rows())) == ["a", "b", "c"]
    assert keys(RowFilter("-l app=nope").apply(rows())) == []


def test_empty_and_lone_bang_filters_hide_nothing():
    assert keys(RowFilter("").apply(rows())) == ["a", "b", "c", "d"]
    assert keys(RowFilter("  ").apply(rows())) == ["a", "b", "c", "d"]
    assert keys(RowFilter("!").apply(rows())) == ["a", "b", "c", "d"]
