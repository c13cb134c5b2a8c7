"""When an event happened: explicit dates and relative day words resolved to ISO dates."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from pipeline.events.lexicon import Lexicon

_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_DIGIT = re.compile(r"\d")


def parse_iso_date(value: str | None) -> date | None:
    """The date part of an ISO 8601 date or datetime string; None when absent or invalid."""
    if not value:
        return None
    m = _ISO.match(value.strip())
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


@dataclass
class DateResolver:
    """Reads sentences in order, remembering the last explicit date for "the same day".

    Deictic words ("hier", "yesterday", "on Tuesday") are resolved against the publication
    date when there is one (that is what they mean in news), else against the last explicit
    date; "la même journée" / "the same day" against the last explicit date, else the
    publication date.
    """

    lex: Lexicon
    published_at: str | None = None
    last_explicit: date | None = None
    _published: date | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self._published = parse_iso_date(self.published_at)

    def _explicit(self, text: str) -> date | None:
        if not _DIGIT.search(text):
            return None
        months = {k.lower(): int(v) for k, v in self.lex.mapping("dates", "months").items()}
        first_day = self.lex.lower_set("dates", "first_day")
        for m in self.lex.regex["date"].finditer(text):
            groups = {k: v for k, v in m.groupdict().items() if v}
            day_s = groups.get("day") or groups.get("day_a")
            month_s = groups.get("month") or groups.get("month_a")
            year_s = groups.get("year") or groups.get("year_a")
            if not day_s or not month_s:
                continue
            day = 1 if day_s.lower() in first_day else int(re.sub(r"\D", "", day_s) or 0)
            month = months.get(month_s.lower().rstrip("."))
            if month is None:
                continue
            if year_s:
                year = int(year_s)
            else:
                ref = self._published or self.last_explicit
                if ref is None:
                    continue
                year = ref.year
                # "le 28 décembre" read in a January article is last year's.
                if (month - ref.month) > 6:
                    year -= 1
            try:
                return date(year, month, day)
            except ValueError:
                continue
        return None

    def resolve(self, text: str) -> str | None:
        """The ISO date ``text`` refers to, or None; remembers explicit dates for later."""
        found = self._explicit(text)
        if found is not None:
            self.last_explicit = found
            return found.isoformat()
        regex = self.lex.regex
        if regex["same_day"].search(text):
            ref = self.last_explicit or self._published
            return ref.isoformat() if ref else None
        deictic_ref = self._published or self.last_explicit
        if deictic_ref is None:
            return None
        m = regex["relative_day"].search(text)
        if m:
            offsets = {
                k.lower().replace("’", "'"): int(v)
                for k, v in self.lex.mapping("dates", "relative_days").items()
            }
            offset = offsets.get(m.group().lower().replace("’", "'"))
            if offset is not None:
                return (deictic_ref + timedelta(days=offset)).isoformat()
        m = regex["weekday"].search(text)
        if m:
            weekdays = {k.lower(): int(v) for k, v in self.lex.mapping("dates", "weekdays").items()}
            target = weekdays.get(m.group().lower())
            if target is not None:
                back = (deictic_ref.weekday() - target) % 7
                return (deictic_ref - timedelta(days=back)).isoformat()
        return None
