"""When an event happened: explicit dates and relative day words resolved to ISO dates."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from pipeline.events.lexicon import Lexicon

_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_DIGIT = re.compile(r"\d")


def _plus(day: date, days: int) -> date | None:
    """``day`` moved by ``days``; None past the ends of the calendar (years 1 and 9999)."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return None


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
    """Reads sentences in order, remembering the last day mentioned for "the same day".

    Deictic words ("hier", "yesterday", "on Tuesday") are resolved against the publication
    date when there is one (that is what they mean in news), else against the last explicit
    date. A weekday follows the tense of its clause: "se retrouveront mardi" / "will meet on
    Tuesday" / "next Tuesday" is the next such day after the reference, "a déclaré mardi" the
    last one. "la même journée" / "that day" take the last day mentioned (explicit or
    resolved), else the publication date. An explicit date without a year more than a week
    after publication is last year's unless its clause speaks of the future.
    """

    lex: Lexicon
    published_at: str | None = None
    last_explicit: date | None = None
    last_day: date | None = None  # the last day mentioned, explicit or resolved
    _published: date | None = field(init=False, default=None)
    _future: re.Pattern[str] = field(init=False)
    _past: re.Pattern[str] = field(init=False)
    _this: re.Pattern[str] = field(init=False)
    _clause: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        self._published = parse_iso_date(self.published_at)
        flags = re.IGNORECASE
        none = r"(?!x)x"
        self._future = re.compile(self.lex.value("dates", "future_markers", default=none), flags)
        self._past = re.compile(self.lex.value("dates", "past_markers", default=none), flags)
        self._this = re.compile(self.lex.value("dates", "this_markers", default=none), flags)
        self._clause = re.compile(self.lex.value("dates", "clause_breaks", default=r"[,;:]"), flags)

    def _clause_around(self, text: str, start: int, end: int) -> str:
        """The clause holding ``text[start:end]``: "a-t-on appris vendredi" is not the
        clause of "se retrouveront mardi"."""
        left = 0
        for m in self._clause.finditer(text, 0, start):
            left = m.end()
        m = self._clause.search(text, end)
        return text[left : m.start() if m else len(text)]

    def is_future(self, text: str, start: int, end: int) -> bool:
        """Whether the clause around a day word speaks of the future ("will meet on Tuesday")."""
        clause = self._clause_around(text, start, end)
        if self._past.search(clause):
            return False
        return bool(self._future.search(clause))

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
            ref = None
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
                found = date(year, month, day)
            except ValueError:
                continue
            # "the Oct. 7 attacks" in an August article: a past date, unless the clause
            # speaks of the future ("the vote will be held on Oct. 7").
            if (
                not year_s
                and ref is not None
                and (found - ref).days > 7
                and not self.is_future(text, m.start(), m.end())
            ):
                try:
                    found = date(year - 1, month, day)
                except ValueError:
                    continue
            return found
        return None

    def resolve(self, text: str) -> str | None:
        """The ISO date ``text`` refers to, or None; remembers explicit dates for later."""
        found = self._explicit(text)
        if found is not None:
            self.last_explicit = self.last_day = found
            return found.isoformat()
        regex = self.lex.regex
        if regex["same_day"].search(text):
            ref = self.last_day or self._published
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
                found = _plus(deictic_ref, offset)
                if found is None:
                    return None
                self.last_day = found
                return found.isoformat()
        m = regex["weekday"].search(text)
        if m:
            weekdays = {k.lower(): int(v) for k, v in self.lex.mapping("dates", "weekdays").items()}
            target = weekdays.get(m.group().lower())
            if target is not None:
                found = self._weekday(text, m, target, deictic_ref)
                if found is None:
                    return None
                self.last_day = found
                return found.isoformat()
        return None

    def _weekday(self, text: str, m: re.Match[str], target: int, ref: date) -> date | None:
        """A weekday resolved by tense: "se retrouveront mardi" is the next Tuesday after
        ``ref``, "a déclaré mardi" the last one (``ref`` itself when it is that day)."""
        window = text[max(0, m.start() - 12) : m.end() + 12]
        if self._past.search(window):
            return _plus(ref, -((ref.weekday() - target) % 7))
        if self.is_future(text, m.start(), m.end()) or self._future.search(window):
            ahead = (target - ref.weekday()) % 7
            if ahead == 0 and not self._this.search(text[max(0, m.start() - 8) : m.start()]):
                ahead = 7
            return _plus(ref, ahead)
        return _plus(ref, -((ref.weekday() - target) % 7))
