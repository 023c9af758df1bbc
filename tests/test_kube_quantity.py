"""Kubernetes quantities as the API server writes them: CPU to millicores, memory to bytes."""
from __future__ import annotations

from fractions import Fraction

import pytest

from n9s.sources.kube.quantity import QuantityError, count, cpu_millicores, memory_bytes, parse_quantity


@pytest.mark.parametrize(
    ("text", "millicores"),
    [
        ("100m", 100),
        ("1", 1000),
        ("1.5", 1500),
        ("0.1", 100),
        ("2", 2000),
        ("250m", 250),
        ("1e3", 1_000_000),
        ("1E3", 1_000_000),
        ("500u", 1),  # 0.0005 millicores rounds up, as the API server does
        ("100000n", 1),
        ("1k", 1_000_000),
        (".5", 500),
        ("5.", 5000),
        ("+1", 1000),
        (2, 2000),
        (0.25, 250),
    ],
)
def test_cpu_millicores(text, millicores):
    assert cpu_millicores(text) == millicores


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("128Mi", 128 * 1024**2),
        ("1Gi", 1024**3),
        ("1G", 10**9),
        ("1M", 10**6),
        ("1k", 1000),
        ("1Ki", 1024),
        ("4026532Ki", 4026532 * 1024),
        ("1.5Gi", 3 * 1024**3 // 2),
        ("1e3", 1000),
        ("1E", 10**18),  # a bare E is exa, not an exponent
        ("2Ti", 2 * 1024**4),
        ("1Pi", 1024**5),
        ("1Ei", 1024**6),
        ("123", 123),
        ("0", 0),
        ("1500m", 2),  # 1.5 bytes rounds up
    ],
)
def test_memory_bytes(text, size):
    assert memory_bytes(text) == size


def test_exact_values_and_negatives():
    assert parse_quantity("0.1") == Fraction(1, 10)
    assert parse_quantity("-100m") == Fraction(-1, 10)
    assert parse_quantity("1e-3") == Fraction(1, 1000)
    assert count("110") == 110


@pytest.mark.parametrize("bad", ["", "abc", "1.2.3", "1Mib", "1 Gi x", "Mi", "1e", "1ee3", "--1", None, True, [], "1e999"])
def test_bad_quantities_raise_a_clear_error(bad):
    with pytest.raises(QuantityError) as err:
        memory_bytes(bad)
    assert "quantity" in str(err.value)
