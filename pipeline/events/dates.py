"""When an event happened: explicit dates and relative day words resolved to ISO dates,
and, when a sentence names no day, the month or year it names ("in March 2024", "l'an
dernier") with its precision."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import NamedTuple

from pipeline.events.lexicon import Lexicon
from pipeline.models import DatePrecision

_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_QUOTE_PAIRS = (("«", "»"), ("“", "”"))
# What may stand between a month and "last year": "November last year", "avril de l'an dernier".
_LINK = re.compile(r"[\s,]*(?:\w{1,2}\s+)?(?:\w{1,2}['’])?")
_DIGIT = re.compile(r"\d")


def _plus(day: date, days: int) -> date | None:
    """``day`` moved by ``days``; None past the ends of the calendar (years 1 and 9999)."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return None


class OccurredAt(NamedTuple):
    """When an event happened: an ISO date and how much of it is meaningful.

    Month and year precision use the first day of the period (``2024-03-01``,
    ``2023-01-01``), as :class:`~pipeline.models.Event` documents.
    """

    iso: str
    precision: DatePrecision


def _quoted(text: str, pos: int) -> bool:
    """Whether ``pos`` lies inside a quotation (« », “ ” or straight double quotes)."""
    before = text[:pos]
    if any(before.count(o) > before.count(c) for o, c in _QUOTE_PAIRS):
        return True
    return before.count('"') % 2 == 1


def _between_digits(text: str, pos: int) -> bool:
    return 0 < pos < len(text) - 1 and text[pos - 1].isdigit() and text[pos + 1].isdigit()


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

    :meth:`occurred_at` adds month and year precision for sentences without a day (see
    :meth:`period`); :meth:`resolve` is its day-precision part, unchanged.
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
    _not_after: re.Pattern[str] = field(init=False)
    _not_before: re.Pattern[str] = field(init=False)
    _subordinate: re.Pattern[str] = field(init=False)
    _target: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        self._published = parse_iso_date(self.published_at)
        flags = re.IGNORECASE
        none = r"(?!x)x"
        self._future = re.compile(self.lex.value("dates", "future_markers", default=none), flags)
        self._past = re.compile(self.lex.value("dates", "past_markers", default=none), flags)
        self._this = re.compile(self.lex.value("dates", "this_markers", default=none), flags)
        self._clause = re.compile(self.lex.value("dates", "clause_breaks", default=r"[,;:]"), flags)
        self._not_after = re.compile(
            self.lex.value("dates", "period_not_after", default=none), flags
        )
        self._not_before = re.compile(
            self.lex.value("dates", "period_not_before", default=none), flags
        )
        self._subordinate = re.compile(
            self.lex.value("dates", "period_subordinate", default=none), flags
        )
        self._target = re.compile(self.lex.value("dates", "period_targets", default=none), flags)

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

    def occurred_at(self, text: str) -> OccurredAt | None:
        """When the event of sentence ``text`` happened, with its precision, or None.

        A day (:meth:`resolve`) wins; else the first month or year the sentence places
        its event in (:meth:`period`).
        """
        day = self.resolve(text)
        if day is not None:
            return OccurredAt(day, "day")
        return self.period(text)

    def resolve(self, text: str) -> str | None:
        """The ISO day ``text`` refers to, or None; remembers explicit dates for later."""
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

    def period(self, text: str, deadline: str | None = None) -> OccurredAt | None:
        """The first month or year expression of ``text`` that says when something happened.

        Conservative: a period must follow a preposition of time ("in", "en", "début",
        "at the end of") or be a relative phrase ("last month", "l'an dernier"). It is
        dropped when it is not the sentence's event (see :meth:`_happened`) and when it lies
        after the publication date: a period still to come is a plan or a target
        (commitments keep it as their ``deadline``), not when something happened. Pure (no
        state is kept); ``deadline`` is a commitment's deadline year, which a year
        expression naming it ("s'est engagée à livrer en 2025") is, rather than when the
        pledge was made.
        """
        ref = self._published or self.last_explicit
        regex = self.lex.regex
        found: list[tuple[int, OccurredAt | None]] = []
        for m in regex["month_period"].finditer(text):
            found.append((m.start(), self._named_month(text, m, ref)))
        for m in regex["year_period"].finditer(text):
            if m.group("year") != deadline:
                found.append((m.start(), self._named_year(text, m)))
        if ref is not None:
            for m in regex["relative_month"].finditer(text):
                found.append((m.start(), self._relative(text, m, ref, "month")))
            for m in regex["relative_year"].finditer(text):
                found.append((m.start(), self._relative(text, m, ref, "year")))
        for _, when in sorted(found, key=lambda item: item[0]):
            if when is not None:
                return when
        return None

    def _clause_start(self, text: str, start: int) -> int:
        """Where the clause holding ``start`` begins: at its break ("," "that" "qu'"), so
        that the break word counts; a comma between digits ("83,3 %") is no break."""
        left = 0
        for b in self._clause.finditer(text, 0, start):
            if not (text[b.start() : b.end()] == "," and _between_digits(text, b.start())):
                left = b.start()
        return left

    def _happened(self, text: str, m: re.Match[str]) -> bool:
        """Whether the period matched by ``m`` can be when the sentence's event happened.

        Not right after a deadline, start or comparison word ("by 2035", "d'ici fin 2025",
        "since last year", "contre 12,9 % début 2023"), not in a clause about the future,
        not inside a quotation ("c'est ce qui est arrivé l'an passé », a dit M. Caldwell")
        and not in a relative, reported or "since" clause ("which was founded in 1985",
        "qu'après son décès en 2005"): those periods are background, or what a speaker
        talks about, not when the event of the sentence took place.
        """
        start, end = m.start(), m.end()
        if self._not_after.search(text[max(0, start - 60) : start]):
            return False
        if self._not_before.search(text[end : end + 4]):
            return False
        if _quoted(text, start):
            return False
        if self._subordinate.search(text, self._clause_start(text, start), start):
            return False
        return not self.is_future(text, start, end)

    def _targets(self, text: str, m: re.Match[str], year: int) -> bool:
        """A named period of the publication's own year in a clause of forecasts or targets
        ("+ 0,1 % en 2019", "le déficit prévu en 2019") is a target, not an occurrence."""
        if self._published is None or year != self._published.year:
            return False
        return bool(self._target.search(self._clause_around(text, m.start(), m.end())))

    def _period_of(self, year: int, month: int | None) -> OccurredAt | None:
        """The first day of a month (or of a whole year); None when it lies after publication."""
        published = self._published
        if published is not None and (year, month or 1) > (published.year, published.month):
            return None
        if not 1 <= year <= 9999:
            return None
        if month is None:
            return OccurredAt(date(year, 1, 1).isoformat(), "year")
        return OccurredAt(date(year, month, 1).isoformat(), "month")

    def _named_month(self, text: str, m: re.Match[str], ref: date | None) -> OccurredAt | None:
        """A named month ("in March 2024", "fin mars"). Without a year: the reference's year
        when the month is not after the reference's; "November last year", "juin dernier"
        look back; a later month with nothing saying "last" is unknown."""
        month_s, year_s = m.group("month"), m.group("year")
        if (
            self.lex.value("dates", "months_capitalised", default=False)
            and not month_s[0].isupper()
        ):
            return None
        months = {k.lower(): int(v) for k, v in self.lex.mapping("dates", "months").items()}
        month = months.get(month_s.lower().rstrip("."))
        if month is None or not self._happened(text, m):
            return None
        if year_s:
            year = int(year_s)
        elif ref is None:
            return None
        else:
            tail = text[m.end() : m.end() + 40]
            years_back = self._year_after(tail, ref)
            if years_back is not None:
                year = years_back
            elif month <= ref.month:
                year = ref.year
            elif self._past.match(tail.lstrip()):  # "en septembre dernier", "last September"
                year = ref.year - 1
            else:  # "in October" read in July: last year's or the coming one?
                return None
        if self._targets(text, m, year):
            return None
        return self._period_of(year, month)

    def _year_after(self, tail: str, ref: date) -> int | None:
        """The year of "last year" / "de l'an dernier" right after a month name."""
        rel = self.lex.regex["relative_year"].search(tail)
        if rel is None or not _LINK.fullmatch(tail[: rel.start()]):
            return None
        offset = self._offset("relative_years", rel.group())
        return None if offset is None else ref.year + offset

    def _named_year(self, text: str, m: re.Match[str]) -> OccurredAt | None:
        year = int(m.group("year"))
        if not self._happened(text, m) or self._targets(text, m, year):
            return None
        return self._period_of(year, None)

    def _offset(self, key: str, phrase: str) -> int | None:
        offsets = {
            k.lower().replace("’", "'"): int(v) for k, v in self.lex.mapping("dates", key).items()
        }
        return offsets.get(" ".join(phrase.lower().replace("’", "'").split()))

    def _relative(
        self, text: str, m: re.Match[str], ref: date, unit: DatePrecision
    ) -> OccurredAt | None:
        """A relative period ("last month", "l'an dernier"): ``offset`` months or years from
        ``ref``."""
        offset = self._offset("relative_months" if unit == "month" else "relative_years", m.group())
        if offset is None or not self._happened(text, m):
            return None
        if unit == "year":
            return self._period_of(ref.year + offset, None)
        index = ref.year * 12 + ref.month - 1 + offset
        return self._period_of(index // 12, index % 12 + 1)
