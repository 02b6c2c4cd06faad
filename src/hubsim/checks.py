"""Argument checks shared across hubsim: one sentence per bad value, a ValueError each.

Every public entry point that takes a plain number checks it here, so the same mistake
reads the same everywhere (``seed must be a non-negative integer, got -1.``). The checks
return the value converted (``float`` or ``int``), so a caller writes
``alpha = check_alpha(alpha)``. Booleans are refused where a number is expected (``True``
is an ``int`` to Python, never a sample size to a user).

This module imports nothing but numpy, so every layer may use it.

Examples
--------
>>> check_int("n_sims", 200, minimum=2)
200
>>> check_alpha(0.05)
0.05
>>> check_int("seed", -1, minimum=0)
Traceback (most recent call last):
...
ValueError: seed must be a non-negative integer, got -1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "check_alpha",
    "check_at_least",
    "check_bool",
    "check_choice",
    "check_int",
    "check_number",
    "check_positive",
    "check_unit_interval",
    "integer_phrase",
]

_REAL = int | float | np.integer | np.floating


def check_number(name: str, value: Any) -> float:
    """A finite real number (not a bool) as ``float``."""
    if isinstance(value, bool) or not isinstance(value, _REAL):
        raise ValueError(f"{name} must be a real number, got {value!r}.")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{name} must be finite, got {value!r}.")
    return out


def check_positive(name: str, value: Any) -> float:
    """A finite number greater than 0."""
    v = check_number(name, value)
    if v <= 0.0:
        raise ValueError(f"{name} must be greater than 0, got {value!r}.")
    return v


def check_at_least(name: str, value: Any, low: float, why: str = "") -> float:
    """A finite number of at least ``low`` (``why`` is appended to the bound in the message)."""
    v = check_number(name, value)
    if v < low:
        raise ValueError(f"{name} must be at least {low:g}{why}, got {value!r}.")
    return v


def check_unit_interval(name: str, value: Any, *, closed_low: bool = False) -> float:
    """A number in (0, 1), or in [0, 1) with ``closed_low=True``."""
    v = check_number(name, value)
    ok = (0.0 <= v < 1.0) if closed_low else (0.0 < v < 1.0)
    if not ok:
        raise ValueError(f"{name} must be in {'[' if closed_low else '('}0, 1), got {value!r}.")
    return v


def check_alpha(alpha: Any, where: str = "") -> float:
    """A significance level strictly between 0 and 1 (``where`` prefixes the message)."""
    if isinstance(alpha, bool) or not isinstance(alpha, _REAL) or not 0 < alpha < 1:
        head = f"{where}: " if where else ""
        raise ValueError(
            f"{head}alpha must be a number strictly between 0 and 1, got {alpha!r}."
        )
    return float(alpha)


def integer_phrase(minimum: int) -> str:
    """How a check names the integers from ``minimum`` on: "a positive integer", ..."""
    if minimum == 0:
        return "a non-negative integer"
    if minimum == 1:
        return "a positive integer"
    return f"an integer of at least {minimum}"


def check_int(name: str, value: Any, minimum: int = 0) -> int:
    """A whole number (Python or numpy integer, not a bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be {integer_phrase(minimum)}, got {value!r}.")
    return int(value)


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """One of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}.")
    return value


def check_bool(name: str, value: Any) -> bool:
    """``True`` or ``False`` (numpy booleans included)."""
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False, got {value!r}.")
    return bool(value)
