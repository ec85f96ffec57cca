"""A labeled fraction as text ('1/8', '1_8', '0.125') and as the folder name of the shipped split lists ('1_8').

The lowest layer beside errors.py: config validates with it, data/splits.py finds the shipped lists with it.
"""
from __future__ import annotations

from fractions import Fraction

from .errors import GpslibError

PAPER_PARTITIONS = ("1/16", "1/8", "1/4", "1/2")


def parse_partition(text: str | float) -> Fraction:
    """'1/8', '1_8', '0.125' (or 0.125) -> Fraction(1, 8); anything else is a clear error."""
    raw = str(text).strip()
    try:
        value = Fraction(raw.replace("_", "/")) if ("/" in raw or "_" in raw) else Fraction(raw).limit_denominator(1000)
    except (ValueError, ZeroDivisionError):
        value = None
    if value is None or not 0 < value <= 1:
        raise GpslibError(
            f"Partition {text!r} is not a labeled fraction; write it as 1/8, 1_8 or 0.125 (a value in (0, 1]).")
    return value


def partition_slug(text: str | float) -> str:
    """Fraction(1, 8) -> '1_8', the folder name of the shipped split lists."""
    value = parse_partition(text)
    return f"{value.numerator}_{value.denominator}"
