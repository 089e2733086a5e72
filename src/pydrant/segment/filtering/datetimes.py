"""Datetime payload values: the RFC 3339 variants Qdrant accepts, as UTC microseconds."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from functools import lru_cache

# Qdrant accepts 'T' or ' ' between date and time, optional seconds only with a time, a fraction
# of any length (kept to microseconds), and a zone (Z, +HH, +HHMM, +HH:MM, optionally after a
# space) only once seconds are given. A missing zone means UTC.
_PATTERN = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[Tt ](\d{1,2}):(\d{1,2})"
    r"(?::(\d{1,2})(?:\.(\d+))?"
    r"( ?(?:Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?))?"
    r")?)?"
)

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICRO = timedelta(microseconds=1)


@lru_cache(maxsize=65536)
def parse_datetime(text: str) -> int | None:
    """UTC microseconds since the epoch for a datetime string Qdrant accepts, else None."""
    s = text.lstrip()
    if s.endswith(" UTC"):
        s = s[:-4] + "Z"
    elif s.endswith("z"):
        s = s[:-1] + "Z"
    m = _PATTERN.fullmatch(s)
    if m is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    micros = int(fraction[:6].ljust(6, "0")) if fraction else 0
    try:
        dt = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            micros,
            tzinfo=_zone(zone.strip()) if zone else timezone.utc,
        )
    except ValueError:
        return None
    return (dt - _EPOCH) // _MICRO


def _zone(zone: str) -> timezone:
    if zone == "Z":
        return timezone.utc
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    hours = int(digits[0:2])
    minutes = int(digits[2:4]) if len(digits) >= 4 else 0
    seconds = int(digits[4:6]) if len(digits) >= 6 else 0
    if hours > 23 or minutes > 59 or seconds > 59:
        raise ValueError("offset out of range")
    return timezone(sign * timedelta(hours=hours, minutes=minutes, seconds=seconds))


def format_datetime(micros: int) -> str:
    """RFC 3339 text for UTC microseconds (used when reporting datetime values back)."""
    dt = _EPOCH + timedelta(microseconds=micros)
    return dt.isoformat().replace("+00:00", "Z")
