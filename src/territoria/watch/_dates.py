"""Published dates as French sources write them, normalised to UTC.

Feeds give RFC 822 (``Tue, 02 Dec 2026 08:30:00 +0100``) or ISO 8601
(``2026-12-02T08:30:00+01:00``); pages write ``2 décembre 2026``, ``1er mars 2026 à 14h30``,
``mardi 2 déc. 2026``, ``02/12/2026 14:30``. A date that states no zone is read in
Europe/Paris (the zone of the sources the watch follows), then converted to UTC.
"""

from __future__ import annotations

import re
import time
import unicodedata
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

__all__ = ["PARIS", "parse_date", "to_utc"]

#: The zone of a date that states none.
PARIS = ZoneInfo("Europe/Paris")

_MONTHS = {
    "janvier": 1, "janv": 1, "jan": 1,
    "fevrier": 2, "fevr": 2, "fev": 2, "fevier": 2,
    "mars": 3, "mar": 3,
    "avril": 4, "avr": 4,
    "mai": 5,
    "juin": 6,
    "juillet": 7, "juil": 7, "juill": 7,
    "aout": 8,
    "septembre": 9, "sept": 9, "sep": 9,
    "octobre": 10, "oct": 10,
    "novembre": 11, "nov": 11,
    "decembre": 12, "dec": 12,
}  # fmt: skip
_DAYS = "lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|lun|mar|mer|jeu|ven|sam|dim"
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_TIME = r"(?:\s*(?:a|,|-|vers)?\s*(\d{1,2})\s*(?:h|:)\s*(\d{2})?(?::(\d{2}))?)?"
_FRENCH = re.compile(
    rf"(?:\b(?:{_DAYS})\.?,?\s+)?\b(\d{{1,2}})\s*(?:er)?\s+({_MONTH_RE})\.?\s+(\d{{4}}){_TIME}"
)
_NUMERIC = re.compile(rf"\b(\d{{1,2}})[/.-](\d{{1,2}})[/.-](\d{{4}}){_TIME}")
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _plain(text: str) -> str:
    """Lower case without accents (``Décembre`` → ``decembre``)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def to_utc(value: datetime, *, tz: ZoneInfo = PARIS) -> datetime:
    """Return ``value`` in UTC (aware); a naive value is read in ``tz``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def _build(
    year: str, month: int, day: str, hour: str | None, minute: str | None, second: str | None,
    tz: ZoneInfo,
) -> datetime | None:  # fmt: skip
    try:
        local = datetime(
            int(year), month, int(day), int(hour or 0), int(minute or 0), int(second or 0)
        )
    except ValueError:  # 31 février, 25h
        return None
    return to_utc(local, tz=tz)


def _machine(text: str, tz: ZoneInfo) -> datetime | None:
    """ISO 8601 or RFC 822, else None."""
    iso = text.strip()
    if _ISO_DAY.match(iso):
        try:
            return to_utc(datetime.combine(date.fromisoformat(iso), datetime.min.time()), tz=tz)
        except ValueError:
            return None
    if len(iso) >= 16 and iso[4] == "-" and iso[10] in "T ":
        try:
            return to_utc(datetime.fromisoformat(iso.replace("Z", "+00:00")), tz=tz)
        except ValueError:
            pass
    if "," in iso or re.search(r"\d{1,2} [A-Z][a-z]{2} \d{4}", iso):
        try:
            return to_utc(parsedate_to_datetime(iso), tz=tz)
        except (TypeError, ValueError, IndexError):
            return None
    return None


def parse_date(
    value: str | datetime | date | time.struct_time | None, *, tz: ZoneInfo = PARIS
) -> datetime | None:
    """Return the moment ``value`` states, in UTC (an aware datetime), or None.

    Parameters
    ----------
    value
        Text (ISO 8601, RFC 822, French long or numeric dates with an optional time), a
        datetime (naive: local time in ``tz``), a date (midnight in ``tz``) or a
        ``time.struct_time`` as feedparser gives it (already UTC).
    tz
        The zone of a value that states none.

    Examples
    --------
    >>> parse_date("1er mars 2026 à 14h30").isoformat()
    '2026-03-01T13:30:00+00:00'
    """
    if value is None:
        return None
    if isinstance(value, time.struct_time):
        try:
            return datetime(*value[:6], tzinfo=UTC)
        except ValueError:
            return None
    if isinstance(value, datetime):
        return to_utc(value, tz=tz)
    if isinstance(value, date):
        return to_utc(datetime(value.year, value.month, value.day), tz=tz)
    text = value.strip()
    if not text:
        return None
    found = _machine(text, tz)
    if found is not None:
        return found
    plain = _plain(text)
    match = _FRENCH.search(plain)
    if match:
        day, month, year, hour, minute, second = match.groups()
        return _build(year, _MONTHS[month], day, hour, minute, second, tz)
    match = _NUMERIC.search(plain)
    if match:
        day, month, year, hour, minute, second = match.groups()
        return _build(year, int(month), day, hour, minute, second, tz)
    return None
