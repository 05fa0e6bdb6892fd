"""Checking values as YAML and JSON parse them from users' files: numbers (integers of any
size included) and how a bad value is shown in a one-line error."""
from __future__ import annotations

import math

HUGE = 1e300  # an integer this large is beyond what the float maths after it can hold


def is_number(v: object) -> bool:
    """An int or float, not a bool (YAML's true is an int to Python)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def is_finite(v: object) -> bool:
    """A number a float holds: not NaN or infinite, not an integer too large for a float."""
    if not is_number(v):
        return False
    return math.isfinite(v) if isinstance(v, float) else abs(v) < HUGE


def is_int(v: object) -> bool:
    """An int, not a bool."""
    return isinstance(v, int) and not isinstance(v, bool)


def is_whole(v: object) -> bool:
    """An int (not a bool), or a float with a whole value (2.0)."""
    return is_int(v) or isinstance(v, float) and math.isfinite(v) and v.is_integer()


def shown(v: object, limit: int = 60) -> str:
    """repr(v), cut to `limit` characters for an error line."""
    text = repr(v)
    return text if len(text) <= limit else text[: limit - 3] + "..."
