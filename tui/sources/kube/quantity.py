"""Kubernetes resource quantities ("100m", "1.5", "128Mi", "1G", "1e3") parsed exactly.

A quantity is a signed decimal number followed by at most one suffix: a binary SI suffix
(Ki Mi Gi Ti Pi Ei), a decimal SI suffix (n u m "" k M G T P E) or a decimal exponent
(e<int> / E<int>). Values are kept as exact fractions so that "0.1" CPU is exactly 100m.
Like the API server, millicores and bytes round up to the next whole unit.
"""
from __future__ import annotations

import math
import re
from fractions import Fraction

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}

# number: digits, digits., .digits or digits.digits; the suffix is checked separately.
_QUANTITY = re.compile(r"^([+-]?)(\d+\.?\d*|\.\d+)(.*)$")
_EXPONENT = re.compile(r"^[eE]([+-]?\d+)$")


class QuantityError(ValueError):
    """A string that is not a Kubernetes quantity."""


def parse_quantity(text: str | int | float) -> Fraction:
    """The exact value of a quantity, in base units (cores, bytes, counts)."""
    if isinstance(text, bool):
        raise QuantityError(f"not a quantity: {text!r}")
    if isinstance(text, int):
        return Fraction(text)
    if isinstance(text, float):
        if not math.isfinite(text):
            raise QuantityError(f"not a quantity: {text!r}")
        return Fraction(str(text))
    if not isinstance(text, str):
        raise QuantityError(f"not a quantity: {text!r}")
    match = _QUANTITY.match(text.strip())
    if not match:
        raise QuantityError(f"not a quantity: {text!r}")
    sign, number, suffix = match.groups()
    value = Fraction(number)
    if sign == "-":
        value = -value
    if suffix in _BINARY:
        return value * _BINARY[suffix]
    if suffix in _DECIMAL:
        return value * _DECIMAL[suffix]
    exponent = _EXPONENT.match(suffix)
    if exponent:
        power = int(exponent.group(1))
        if abs(power) > 100:
            raise QuantityError(f"quantity exponent out of range: {text!r}")
        return value * Fraction(10) ** power
    raise QuantityError(f"unknown quantity suffix {suffix!r} in {text!r}")


def cpu_millicores(text: str | int | float) -> int:
    """CPU quantity in millicores, rounded up like the API server ("100m" -> 100, "1.5" -> 1500)."""
    return math.ceil(parse_quantity(text) * 1000)


def memory_bytes(text: str | int | float) -> int:
    """Memory (or storage) quantity in bytes, rounded up ("128Mi" -> 134217728, "1G" -> 10**9)."""
    return math.ceil(parse_quantity(text))


def count(text: str | int | float) -> int:
    """A plain count such as a node's pod capacity ("110")."""
    return math.ceil(parse_quantity(text))
