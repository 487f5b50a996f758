"""Durations: one type for every setting that is a length of time.

Every duration field takes a number or a string with a unit: `30`, `30s`, `5m`, `1h`, `2d`.
A bare number is in the unit the field's name says (seconds, unless it ends in `_hours`,
`_days` or `_minutes`, which keep the meaning they always had); a suffixed string is converted
to it, so `seen_retention_days: 12h` is half a day and `group_wait: 5m` 300 seconds. The JSON
Schema says the same (a number, or a string matching `PATTERN`), so an editor accepts `5m`
wherever `check` does.

A module of its own, below the config package: the stories and config models both use it.
No pydantic model, no heavy import.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema

SECOND, MINUTE, HOUR, DAY = 1, 60, 3600, 86400
WEEK = 7 * DAY
_DURATION = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([smhd]?)\s*")
PATTERN = f"^{_DURATION.pattern}$"
_SUFFIX = {"s": SECOND, "m": MINUTE, "h": HOUR, "d": DAY}
_UNIT_NAMES = {SECOND: "seconds", MINUTE: "minutes", HOUR: "hours", DAY: "days"}


def in_unit(value: Any, unit: int) -> Any:
    """`value` as a number of `unit`s: '5m' in seconds is 300.0, '12h' in days 0.5. A number
    is already in `unit`; anything that is no duration string goes on to pydantic unchanged."""
    if not isinstance(value, str):
        return value
    found = _DURATION.fullmatch(value)
    if not found:
        raise ValueError(
            f"'{value}' is not a duration. Fix: write {_UNIT_NAMES[unit]} (90) or a number "
            f"with s, m, h or d (90s, 5m, 2h, 1d)"
        )
    number, suffix = found.groups()
    return float(number) * _SUFFIX[suffix] / unit if suffix else float(number)


def duration(
    unit: int = SECOND,
    *,
    most: float | None,
    least: float = 0,
    above: bool = False,
    whole: bool = False,
    finite: bool = True,
) -> Any:
    """The annotated type of a duration field: `least` <= value (< with `above`) <= `most`,
    in `unit`s; `whole`: a whole number (feed intervals); `finite=False` lets inf through to a
    check that names the bound in words (the stories settings, transforms/config/checks.py)."""
    bounds = {"gt" if above else "ge": least, **({"le": most} if most is not None else {})}
    number: dict[str, Any] = {
        "type": "integer" if whole else "number",
        "exclusiveMinimum" if above else "minimum": least,
        **({"maximum": most} if most is not None else {}),
    }
    schema = {"anyOf": [number, {"type": "string", "pattern": PATTERN}]}
    return Annotated[
        int if whole else float,
        BeforeValidator(partial(in_unit, unit=unit)),
        Field(**bounds, **({"allow_inf_nan": False} if finite and not whole else {})),
        WithJsonSchema(schema),
    ]
