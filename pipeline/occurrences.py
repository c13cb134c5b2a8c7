"""Reports and occurrences: which events, across articles, sources and languages, tell of one thing.

Every event the splitter finds stays a *report*: its own ``event_id``, from one article.
Reports that describe the same real-world *occurrence* (the same strike, the same
statement, the same pledge) are linked under one ``occurrence_id``, whatever the site or
the language that reported them. An occurrence keeps its reports, its mentions (syndicated
copies recognised as near-duplicates and not published again), its sources, and when it
was first and last reported.

Pure and rule based (no model; no I/O but reading the packaged alias data once): a report
becomes a :class:`Signature` (language-independent keys plus same-language content words),
:func:`compare` scores two signatures or vetoes the pair, and :class:`OccurrenceIndex`
files the reports of each article into occurrences. The index's state is plain JSON data
(:meth:`OccurrenceIndex.to_dict`); what ``news.occurrences`` would carry, keyed by
``occurrence_id``, is :meth:`Occurrence.record`.

The rules (thresholds in :class:`MatchConfig`):

- same event type; two reports of one article are one occurrence only when the article
  tells it twice in much the same words (:func:`repeats`: anchors do not count there, every
  report of one story shares its names and figures); a paraphrase of a quote in the same
  article stays a report of its own;
- actors agree: the actor (statement speaker, military actor, commitment party) is
  normalised (casefolded, accents and titles off, aliases across languages, a person kept
  by surname through a transliteration key). Two known actors of one kind that differ veto
  the pair, unless each report names the other's actor (a likely misattribution); an
  unknown actor, or a person against an institution, asks for stronger content;
- military updates: the places agree when both are known (one may be among the other's
  related places);
- dates: each report's date (``occurred_at``, else the article's publication date) within
  ``window_days`` of every report of the occurrence; a missing date does not veto;
- content: same-language content words (Dice over word stems), or, in any language,
  anchors (weighted Dice, at least two shared, one of them specific): numbers with their
  unit ("5 %", "5 percent", "5 pour cent" are one anchor; "5 milliards" is 5e9), years,
  dates, weekdays, alias-normalised entities ("OTAN" = "NATO", "Kiev" = "Kyiv") and other
  proper names through the transliteration key ("Orechnik" = "Oreshnik" = "Oreschnik");
  figures that all disagree ("40 drones" / "70 drones") halve the score, and two texts
  that date the event to different days need the stronger content;
- per article (:meth:`OccurrenceIndex.add_article`): matches are assigned best-first, one
  report per occurrence, then the remaining reports are aligned in reading order with
  another-language version of the same story (see there).

Order: :meth:`OccurrenceIndex.add_reports` files a batch in a canonical order, so a batch
gives the same occurrences and ids in any input order. Filing articles one by one as they
arrive depends on their order: an occurrence's id derives from the report that opened it,
and a report that arrives before its counterpart may join a near match or open its own
occurrence (the counterpart then joins it, not the other way round).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, date, datetime, timedelta
from functools import cache, cached_property, lru_cache
from importlib import resources
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml

from pipeline.events.lexicon import check_strings
from pipeline.extract import _STOPWORDS
from pipeline.models import Event, stable_id

__all__ = [
    "STATE_VERSION",
    "Changes",
    "MatchConfig",
    "Mention",
    "Occurrence",
    "OccurrenceIndex",
    "Signature",
    "anchors_of",
    "bucket_day",
    "compare",
    "content_tokens",
    "fold",
    "name_key",
    "normalise_actor",
    "normalise_place",
    "repeats",
    "same_occurrence",
    "signature",
]

STATE_VERSION = 1
ALIASES_FILE = "occurrence_aliases.yaml"


@dataclass(frozen=True)
class MatchConfig:
    """The thresholds of the matching rules.

    Measured on the shared corpus (409 reports on 61 pages), syndicated copies and hand
    translations (tests/unit/test_occurrences.py): a copy's report scores 1.0 against its
    original; of the pairs of reports from two different pages that pass the vetoes, the
    best scores 0.37 (nothing agrees, so 0.6 was needed). Inside one page (897 pairs of
    one type that pass the vetoes: same story, often the same speaker and day, the hardest
    negatives) the words alone decide (:func:`repeats`): the 4 events a page tells twice
    score 0.53 to 0.96, the best other pair 0.45 (speaker agrees) and 0.44 (nothing does).
    """

    window_days: int = 3
    # Content similarity needed when the actors (or, for military updates, the places) agree.
    min_content: float = 0.45
    # ... when nothing else agrees: one side's actor unknown, or a person against an institution.
    min_content_weak: float = 0.6
    # Anchors two reports must share for an anchor-only (cross-language) match; one of
    # them must be specific (a figure, a date, a name: see SPECIFIC_ANCHORS).
    min_shared_anchors: int = 2
    # Confident matches that make two articles in different languages versions of one
    # story, whose remaining reports are then aligned in reading order (see add_article).
    min_story_links: int = 2
    # Content score kept when both reports give figures and none agree (40 vs 70 drones).
    figure_conflict_factor: float = 0.5
    # Two reports of one article are one occurrence told twice (see repeats()) when their
    # words agree this much and so do their actors (or places); ... when nothing else does.
    min_repeat_words: float = 0.5
    min_repeat_words_weak: float = 0.8


DEFAULT_CONFIG = MatchConfig()


# --- Text normalisation ------------------------------------------------------------------


def fold(text: str) -> str:
    """Casefold and strip accents: "États-Unis" -> "etats-unis", "Straße" -> "strasse"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    out = "".join(c for c in decomposed if not unicodedata.combining(c))
    return out.replace("œ", "oe").replace("æ", "ae").replace("ø", "o").replace("ł", "l")


_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_DOTTED_ACRONYM = re.compile(r"\b(?:[A-Z]\.){2,}")
_SENTENCE_OPENERS = frozenset('.!?:;«“"‘(—–')


@dataclass(frozen=True)
class _Token:
    text: str
    folded: str
    start: int
    initial: bool  # opens the text or a sentence or a quote: capitalised for grammar's sake

    @property
    def capitalised(self) -> bool:
        return self.text[:1].isupper()


@lru_cache(maxsize=1 << 16)
def _fold_word(word: str) -> str:
    return fold(word)


@lru_cache(maxsize=4096)
def _tokens(text: str) -> tuple[_Token, ...]:
    """Words and digit runs; "U.S." reads as "US", hyphens and apostrophes split words.
    (Cached: a report's text is read for its anchors and for its words.)"""
    text = _DOTTED_ACRONYM.sub(lambda m: m.group(0).replace(".", "").ljust(len(m.group(0))), text)
    out: list[_Token] = []
    end = 0  # where the previous word ended
    for m in _TOKEN.finditer(text):
        gap = text[end : m.start()].rstrip()
        # Initial: the text's first word, or the first after a sentence or quote opener.
        initial = gap[-1] in _SENTENCE_OPENERS if gap else not out
        out.append(_Token(m.group(0), _fold_word(m.group(0)), m.start(), initial))
        end = m.end()
    return tuple(out)


# Transliteration-insensitive spelling of a name: sibilants merged, w/v, y/j/i, ou/u,
# doubled letters and a final e dropped. "Orechnik", "Oreshnik" and "Oreschnik" agree, as
# do "Zelensky", "Zelenskyy" and "Selenskyj", or "Donbass" and "Donbas".
_NAME_RULES: tuple[tuple[str, str], ...] = (
    ("tsch", "S"),
    ("tch", "S"),
    ("sch", "S"),
    ("sh", "S"),
    ("ch", "S"),
    ("zh", "S"),
    ("cz", "S"),
    ("sz", "S"),
    ("ts", "S"),
    ("tz", "S"),
    ("z", "S"),
    ("s", "S"),
    ("x", "kS"),
    ("ck", "k"),
    ("q", "k"),
    ("c", "k"),
    ("ph", "f"),
    ("w", "v"),
    ("ou", "u"),
    ("ie", "i"),
    ("j", "i"),
    ("y", "i"),
)
_DOUBLED = re.compile(r"(.)\1+")


def name_key(name: str) -> str:
    """A spelling-insensitive key for a proper name (see ``_NAME_RULES``)."""
    key = "".join(fold(name).split())
    for old, new in _NAME_RULES:
        key = key.replace(old, new)
    key = _DOUBLED.sub(r"\1", key)
    return key[:-1] if len(key) > 3 and key.endswith("e") else key


# --- The alias data -------------------------------------------------------------------


@dataclass(frozen=True)
class _Vocabulary:
    entities: dict[tuple[str, ...], str]
    people: dict[tuple[str, ...], str]
    metonyms: dict[str, str]
    titles: frozenset[tuple[str, ...]]
    generic: frozenset[tuple[str, ...]]
    function_words: dict[str, frozenset[str]]
    any_function_word: frozenset[str]
    number_words: dict[str, int]
    weekdays: dict[str, int]
    months: dict[str, int]
    percent: frozenset[tuple[str, ...]]
    scales: dict[str, list[tuple[str | None, float]]]


def _phrases(forms: Iterable[Any]) -> list[tuple[str, ...]]:
    return [tuple(t.folded for t in _tokens(str(f))) for f in forms if str(f).strip()]


@cache
def _vocabulary() -> _Vocabulary:
    path = resources.files("pipeline") / ALIASES_FILE
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    check_strings(data, ALIASES_FILE)
    entities = {p: key for key, forms in data["entities"].items() for p in _phrases(forms)}
    people = {p: key for key, forms in data["people"].items() for p in _phrases(forms)}
    function_words = {
        lang: frozenset(fold(w) for w in [*data["function_words"].get(lang, []), *words])
        for lang, words in {**{k: [] for k in data["function_words"]}, **_STOPWORDS}.items()
    }
    scales: dict[str, list[tuple[str | None, float]]] = {}
    for factor, words in data["scales"].items():
        for word in words:
            text, _, lang = str(word).partition("@")
            scales.setdefault(fold(text), []).append((lang or None, float(factor)))
    return _Vocabulary(
        entities=entities,
        people=people,
        metonyms=dict(data.get("metonyms", {})),
        titles=frozenset(_phrases(data["titles"])),
        generic=frozenset(_phrases(data["generic_actors"])),
        function_words=function_words,
        any_function_word=frozenset().union(*function_words.values()),
        number_words={fold(w): int(n) for n, ws in data["number_words"].items() for w in ws},
        weekdays={fold(w): int(n) for n, ws in data["weekdays"].items() for w in ws},
        months={fold(w): int(n) for n, ws in data["months"].items() for w in ws},
        percent=frozenset(_phrases(p for p in data["percent"] if p != "%")),
        scales=scales,
    )


_INFLECTIONS = ("nes", "ne", "es", "en", "er", "em", "s", "e", "n")
_PhraseTable = dict[tuple[str, ...], str] | frozenset[tuple[str, ...]]
_LONGEST_FROM: dict[int, tuple[_PhraseTable, dict[str, int]]] = {}


def _longest_from(table: _PhraseTable) -> dict[str, int]:
    """First word -> the length of the longest phrase of ``table`` it opens (kept per
    table: the vocabulary's tables are built once)."""
    entry = _LONGEST_FROM.get(id(table))
    if entry is None or entry[0] is not table:
        found: dict[str, int] = {}
        for phrase in table:
            found[phrase[0]] = max(found.get(phrase[0], 0), len(phrase))
        entry = _LONGEST_FROM[id(table)] = (table, found)
    return entry[1]


def _lookup(tokens: tuple[_Token, ...], i: int, table: _PhraseTable) -> tuple[str, int] | None:
    """The longest phrase of ``table`` starting at ``tokens[i]``: (its key, its length).

    A short form (three letters or fewer) must be written in capitals: "US" and "UN" name
    something, "us" and "un" do not. A single word not found as written is tried without a
    final inflection ("ukrainiennes" -> "ukrainien", "russischen" -> "russisch").
    """
    if i >= len(tokens):
        return None
    longest = _longest_from(table).get(tokens[i].folded, 0)
    for n in range(min(longest, len(tokens) - i), 0, -1):
        phrase = tuple(t.folded for t in tokens[i : i + n])
        short = n == 1 and len(phrase[0]) <= 3 and not tokens[i].text.isupper()
        if short and phrase not in _vocabulary().people:  # "Xi" is a name in any case
            continue
        if phrase in table:
            return (table[phrase] if isinstance(table, dict) else " ".join(phrase)), n
    stem = _inflected(tokens[i].folded, id(table))
    if stem is not None:
        return (table[(stem,)] if isinstance(table, dict) else stem), 1
    return None


@lru_cache(maxsize=1 << 16)
def _inflected(word: str, table_id: int) -> str | None:
    """The one-word phrase of a table (by id: see _longest_from) that ``word`` inflects."""
    table = _LONGEST_FROM[table_id][0]
    if len(word) >= 5 and not word.isdigit():
        for suffix in _INFLECTIONS:
            stem = word[: -len(suffix)]
            if word.endswith(suffix) and len(stem) >= 4 and (stem,) in table:
                return stem
    return None


@lru_cache(maxsize=1 << 16)
def _may_name_entity(word: str) -> bool:
    """Whether a word opens a phrase of the people or entities tables, or inflects a
    one-word one: most words do not, and need no lookup."""
    vocab = _vocabulary()
    return any(
        word in _longest_from(table) or _inflected(word, id(table)) is not None
        for table in (vocab.people, vocab.entities)
    )


def _entity(tokens: tuple[_Token, ...], i: int) -> tuple[str, int] | None:
    if i < len(tokens) and not _may_name_entity(tokens[i].folded):
        return None
    vocab = _vocabulary()
    if (hit := _lookup(tokens, i, vocab.people)) is not None:
        return "p:" + hit[0], hit[1]
    if (hit := _lookup(tokens, i, vocab.entities)) is not None:
        return "e:" + hit[0], hit[1]
    return None


def normalise_actor(name: str | None) -> str | None:
    """The matching key of an actor, speaker or party; None when unknown or generic.

    A person is kept by surname through the transliteration key (``"p:" +
    name_key("Rutte")`` for "M. Mark Rutte", "NATO chief Mark Rutte" or "Rutte"; the alias
    key for people spelled differently across languages: ``"p:putin"`` for "Poutine"), an
    institution or country by its alias key (``"e:russia"`` for "forces russes", "Russia's
    Defense Ministry" or "Moscow"). Titles ("President", "le
    ministre", "Mr") and generic words ("authorities", "ministère") are dropped; an actor
    made only of them ("le Premier ministre", "police") is None.
    """
    if not name:
        return None
    vocab = _vocabulary()
    tokens = _tokens(name)
    people: list[str] = []
    names: list[str] = []
    entities: list[str] = []
    i = 0
    while i < len(tokens):
        if (hit := _lookup(tokens, i, vocab.people)) is not None:
            people.append(hit[0])
            i += hit[1]
            continue
        skip = _lookup(tokens, i, vocab.titles) or _lookup(tokens, i, vocab.generic)
        if skip is not None:
            i += skip[1]
            continue
        if (hit := _lookup(tokens, i, vocab.entities)) is not None:
            entities.append(vocab.metonyms.get(hit[0], hit[0]))
            i += hit[1]
            continue
        token = tokens[i]
        if (
            token.capitalised
            and not token.folded.isdigit()
            and token.folded not in vocab.any_function_word
        ):
            names.append(name_key(token.folded))
        i += 1
    if people:
        return "p:" + people[-1]
    if names:
        return "p:" + names[-1]
    return "e:" + entities[0] if entities else None


def normalise_place(place: str | None) -> str | None:
    """The matching key of a place: its alias key ("Kiev" -> ``"e:kyiv"``), else the
    transliteration key of its capitalised words ("Bila Tserkva" -> ``"n:bilaSerkva"``)."""
    if not place:
        return None
    tokens = _tokens(place)
    for i in range(len(tokens)):
        if (hit := _entity(tokens, i)) is not None:
            return hit[0]
    titles = _vocabulary().titles
    words = [t.folded for t in tokens if t.capitalised and (t.folded,) not in titles]
    words = words or [t.folded for t in tokens]
    return "n:" + name_key("".join(words)) if words else None


# --- Anchors: numbers, dates, names --------------------------------------------------------

# Weight of each kind of anchor in the weighted Dice: a percentage or a large figure says
# more than a weekday or "two".
ANCHOR_WEIGHTS: dict[str, float] = {
    "%": 2.0,  # 5 %
    "#": 2.0,  # a figure of 13 or more, or with a scale: 600, 5e9
    "s": 0.5,  # a small number: 2, "two", "deux"
    "y": 1.0,  # a year
    "dt": 1.5,  # a day and month: 12-11
    "m": 0.5,  # a month next to a number
    "w": 0.5,  # a weekday
    "e": 1.0,  # an alias-table entity
    "p": 1.5,  # an alias-table person
    "n": 1.5,  # another proper name
}

_NUMBER = re.compile(
    r"(?<![\d.,])(?:\d{1,3}(?:[\u00a0\u202f ]\d{3})+(?:,\d+)?(?!\d)|\d+(?:[.,]\d+)*)"
)
_DECIMAL_MARK = {"en": "."}  # else ","


def _parse_number(text: str, language: str | None) -> tuple[float, bool] | None:
    """The value of a written number and whether it had a thousands separator.

    "11 000" (fr), "11,000" (en) and "11.000" (de) are 11000; "3,5" and "3.5" are 3.5.
    A separator followed by exactly three digits is a thousands separator unless it is
    the language's decimal mark and the last separator.
    """
    text = re.sub(r"[\u00a0\u202f ]", "", text)
    decimal = _DECIMAL_MARK.get(language or "", ",")
    parts = re.split(r"([.,])", text)
    digits, grouped = parts[0], False
    for k in range(1, len(parts), 2):
        sep, chunk = parts[k], parts[k + 1]
        last = k == len(parts) - 2
        if len(chunk) == 3 and not (last and sep == decimal and k == 1 and len(parts) == 3):
            digits += chunk
            grouped = True
        elif last:
            digits += "." + chunk
        else:
            return None
    try:
        return float(digits), grouped
    except ValueError:
        return None


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _scale(word: str, glued: bool, language: str | None) -> float | None:
    """The multiplier a word after a number stands for ("milliards" -> 1e9), if any."""
    for lang, factor in _vocabulary().scales.get(word, []):
        if lang is not None and lang != (language or "en")[:2]:
            continue
        if len(word) <= 2 and not glued:  # "5m", "5k", "R4bn": only glued to the number
            continue
        return factor
    return None


def anchors_of(text: str, language: str | None = None) -> set[str]:
    """The language-independent anchors of a text: figures, dates and names.

    Each anchor is ``kind:value``: ``%:5`` (5 %, 5 percent, 5 pour cent), ``#:5e+09``
    (5 billion, 5 milliards), ``#:600``, ``s:2`` (2, two, deux), ``y:2035``, ``dt:12-11``
    (11 December, 11. Dezember), ``w:7`` (Sunday, dimanche), ``e:nato`` (NATO, OTAN),
    ``p:putin`` (Putin, Poutine), ``n:...`` (another capitalised name, by its
    transliteration key). Capitalised words that open a sentence count only when they are
    a known entity or start a run of capitalised words.
    """
    vocab = _vocabulary()
    out: set[str] = set()
    tokens = _tokens(text)
    used: set[int] = set()
    # Numbers with their units and scales, dates around month names.
    text = _DOTTED_ACRONYM.sub(lambda m: m.group(0).replace(".", " "), text)
    for m in _NUMBER.finditer(text):
        raw = m.group(0).rstrip(".,")
        parsed = _parse_number(raw, language)
        if parsed is None:
            continue
        value, grouped = parsed
        end = m.start() + len(raw)
        covered = [
            k for k, t in enumerate(tokens) if t.start < end and t.start + len(t.text) > m.start()
        ]
        if not covered:
            continue
        used.update(covered)
        i, j = covered[0], covered[-1] + 1
        last = tokens[covered[-1]]
        glued = fold(last.text[end - last.start :]) if last.start + len(last.text) > end else ""
        if text[end:].lstrip().startswith("%"):
            out.add(f"%:{_fmt(value)}")
            continue
        if (hit := _lookup(tokens, j, vocab.percent)) is not None and not glued:
            used.update(range(j, j + hit[1]))
            out.add(f"%:{_fmt(value)}")
            continue
        factor = _scale(glued, True, language) if glued else None
        if factor is None and not glued and j < len(tokens):
            factor = _scale(tokens[j].folded, False, language)
            if factor is not None:
                used.add(j)
        if factor is not None:
            out.add(f"#:{_fmt(value * factor)}")
            continue
        after = tokens[j].folded if j < len(tokens) and not glued else ""
        before = tokens[i - 1] if i > 0 else None
        day = int(value) if value.is_integer() and 1 <= value <= 31 and not grouped else None
        if day and after in vocab.months:
            out.add(f"dt:{vocab.months[after]:02d}-{day:02d}")
            used.add(j)
        elif day and before is not None and before.capitalised and before.folded in vocab.months:
            out.add(f"dt:{vocab.months[before.folded]:02d}-{day:02d}")
            used.add(i - 1)
        elif value.is_integer() and 1900 <= value <= 2099 and not grouped:
            out.add(f"y:{int(value)}")
            if before is not None and before.folded in vocab.months and i - 1 not in used:
                out.add(f"m:{vocab.months[before.folded]}")
                used.add(i - 1)
        elif value.is_integer() and value <= 12:
            out.add(f"s:{int(value)}")
        else:
            out.add(f"#:{_fmt(value)}")
    # Words: weekdays, number words, known entities and people, other proper names.
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if i in used or tok.folded[:1].isdigit():
            i += 1
            continue
        if tok.folded in vocab.weekdays:
            out.add(f"w:{vocab.weekdays[tok.folded]}")
            i += 1
            continue
        if tok.folded in vocab.number_words and not tok.capitalised:
            out.add(f"s:{vocab.number_words[tok.folded]}")
            i += 1
            continue
        if (hit := _entity(tokens, i)) is not None:
            out.add(hit[0])
            i += hit[1]
            continue
        if tok.capitalised and (
            (skip := _lookup(tokens, i, vocab.titles))
            or (skip := _lookup(tokens, i, vocab.generic))
        ):
            i += skip[1]  # "Secretary of State", "Air Force": not names
            continue
        if tok.capitalised and not _not_a_name(tok.folded):
            run_continues = (
                i + 1 < len(tokens)
                and tokens[i + 1].capitalised
                and not tokens[i + 1].initial
                and not _not_a_name(tokens[i + 1].folded)
            )
            if not tok.initial or run_continues:
                out.add("n:" + name_key(tok.folded))
        i += 1
    return out


def _not_a_name(word: str) -> bool:
    vocab = _vocabulary()
    return (
        len(word) < 2
        or word in vocab.any_function_word
        or (word,) in vocab.titles
        or (word,) in vocab.generic
        or word in vocab.months
    )


def content_tokens(text: str, language: str | None) -> set[str]:
    """Same-language content words: casefolded, accents off, stop words out, cut to a
    six-letter stem ("attaques" and "attaque" agree)."""
    vocab = _vocabulary()
    stop = vocab.function_words.get((language or "")[:2], vocab.any_function_word)
    return {
        t.folded[:6]
        for t in _tokens(text)
        if len(t.folded) >= 3 and not t.folded[:1].isdigit() and t.folded not in stop
    }


# --- Signatures ------------------------------------------------------------------------


def _iso_datetime(value: str | datetime | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _day(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip()[:10]).isoformat()
    except ValueError:
        return None


def _stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _days_of(event: Event) -> tuple[str | None, str | None]:
    """The first and last day a report can be about: ``occurred_at`` over its precision
    (a month or a year when the text says no more), else the article's publication day."""
    start = _day(event.occurred_at)
    if start is None:
        published = _day(event.article.published_at)
        return published, published
    precision = getattr(event, "occurred_at_precision", None) or "day"
    first = date.fromisoformat(start)
    if precision == "year":
        return start, first.replace(month=12, day=31).isoformat()
    if precision == "month":
        following = first.replace(day=28) + timedelta(days=4)
        return start, (following - timedelta(days=following.day)).isoformat()
    return start, start


def _reported_at(event: Event) -> datetime:
    """When the source reported it: the publication date, else when we ingested it."""
    published = _iso_datetime(event.article.published_at)
    return published or _iso_datetime(event.ingested_at) or datetime(1970, 1, 1, tzinfo=UTC)


def bucket_day(event: Event) -> str:
    """The day under which the index files a report (its :attr:`Signature.bucket_day`),
    without reading its text."""
    return _days_of(event)[0] or _reported_at(event).date().isoformat()


def source_of(url: str | None, site: str | None = None) -> str:
    """A report's source: the host of its article's URL ("www." off), else the site name."""
    host = urlsplit(url).hostname if url and url.startswith(("http://", "https://")) else None
    if host:
        return host.removeprefix("www.")
    return site or "unknown"


@dataclass(frozen=True)
class Signature:
    """What the matcher knows of one report: plain data, JSON-serialisable.

    ``report_id`` is the report's stable id across its article's versions (its first
    version's ``event_id``), ``event_id`` the current version's. ``day`` .. ``day_end`` is
    when the report says it happened (``occurred_at`` and its precision: a month-precision
    date spans the month), else the article's publication day; None when neither is known.
    ``bucket_day`` is always set (falling back on ``reported_at``) and only decides where
    the index looks for candidates. ``reported_at`` is when the source reported it: the
    article's publication date, else when we ingested it.
    """

    event_id: str
    event_type: str
    article_id: str
    language: str | None
    source: str
    reported_at: str
    day: str | None
    bucket_day: str
    actor: str | None
    report_id: str = ""
    day_end: str | None = None
    dated: bool = False  # the text itself dates the event to a day (occurred_at, day precision)
    position: int = 0  # where the evidence starts in the article: reading order
    place: str | None = None
    places: tuple[str, ...] = ()
    anchors: tuple[str, ...] = ()
    tokens: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out = {f: getattr(self, f) for f in _SIGNATURE_FIELDS}  # asdict() is slower
        out["places"], out["anchors"], out["tokens"] = (
            list(self.places),
            list(self.anchors),
            list(self.tokens),
        )
        return out

    def __post_init__(self) -> None:
        if not self.report_id:
            object.__setattr__(self, "report_id", self.event_id)
        if self.day_end is None and self.day is not None:
            object.__setattr__(self, "day_end", self.day)

    # Derived once per signature (compare() runs for every candidate pair).
    @cached_property
    def ordinals(self) -> tuple[int, int] | None:
        """The first and last day as ordinals; None when undated."""
        if self.day is None:
            return None
        return (
            date.fromisoformat(self.day).toordinal(),
            date.fromisoformat(self.day_end or self.day).toordinal(),
        )

    @cached_property
    def token_set(self) -> frozenset[str]:
        return frozenset(self.tokens)

    @cached_property
    def anchor_set(self) -> frozenset[str]:
        return frozenset(self.anchors)

    @cached_property
    def anchor_weight(self) -> float:
        return sum(map(_weight, self.anchors))

    @cached_property
    def figures(self) -> frozenset[str]:
        return frozenset(x for x in self.anchors if x.partition(":")[0] in FIGURE_ANCHORS)

    @cached_property
    def match_key(self) -> tuple[Any, ...]:
        """Everything :func:`compare` reads but the article: two reports with one key
        compare alike with any report of another article (syndicated copies do)."""
        return (
            self.event_type,
            self.language,
            self.day,
            self.day_end,
            self.dated,
            self.actor,
            self.place,
            self.places,
            self.anchors,
            self.tokens,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Signature:
        return cls(
            **{
                **data,
                "places": tuple(data.get("places", ())),
                "anchors": tuple(data.get("anchors", ())),
                "tokens": tuple(data.get("tokens", ())),
            }
        )


_SIGNATURE_FIELDS = tuple(f.name for f in fields(Signature))


def signature(event: Event) -> Signature:
    """The signature of one report."""
    details = event.details
    # The speaker of a statement, the actor of a military update, the party of a commitment.
    actor_name = next(
        (v for f in ("speaker", "actor", "party") if (v := getattr(details, f, None))), None
    )
    actor = normalise_actor(actor_name)
    place: str | None = None
    places: list[str] = []
    if event.event_type == "military_update":
        place = normalise_place(getattr(details, "location", None))
        related = getattr(details, "related_places", None) or []
        places = [p for p in [place, *map(normalise_place, related)] if p]
    language = (event.article.language or "")[:2] or None
    text = event.evidence.text
    anchors = anchors_of(text, language)
    # The actor's own name says nothing about which of its reports this is.
    if actor_name:
        anchors -= {a for a in anchors_of(actor_name, language) if a[0] in "pn"}
    if actor:
        anchors.discard(actor)
    if place:  # checked on its own (military updates)
        anchors.discard(place)
    reported = _reported_at(event)
    day, day_end = _days_of(event)
    return Signature(
        event_id=event.event_id,
        event_type=event.event_type,
        article_id=event.article.article_id,
        language=language,
        source=source_of(event.article.url, event.article.source),
        reported_at=_stamp(reported),
        day=day,
        bucket_day=day or reported.date().isoformat(),
        actor=actor,
        report_id=getattr(event, "report_id", "") or event.event_id,
        day_end=day_end,
        dated=event.occurred_at is not None
        and (getattr(event, "occurred_at_precision", None) or "day") == "day",
        position=event.evidence.start,
        place=place,
        places=tuple(dict.fromkeys(places)),
        anchors=tuple(sorted(anchors)),
        tokens=tuple(sorted(content_tokens(text, language))),
    )


# --- Comparing two reports ----------------------------------------------------------------


Agreement = Literal["same", "weak", "conflict"]
# Anchor kinds that single out an occurrence: a figure, a date, a name. Countries and
# organisations ("Russia", "NATO") and small numbers alone do not.
SPECIFIC_ANCHORS = frozenset({"%", "#", "dt", "y", "n", "p"})
FIGURE_ANCHORS = frozenset({"%", "#"})


def _named_in(actor: str, sig: Signature) -> bool:
    """Whether a report's evidence names ``actor`` (as a known or an unknown name)."""
    name = actor.partition(":")[2]
    return any(a.partition(":")[2] == name for a in sig.anchors)


def _actors(a: Signature, b: Signature) -> Agreement:
    """Two known actors of one kind (two people, two institutions) that differ conflict,
    unless each report names the other's actor: then one of them is likely misattributed
    ("..., struck Bila Tserkva, Zelensky said" read as said by "Bila Tserkva")."""
    if a.actor is None or b.actor is None:
        return "weak"
    if a.actor == b.actor:
        return "same"
    if a.actor[:2] != b.actor[:2] or (_named_in(a.actor, b) and _named_in(b.actor, a)):
        return "weak"
    return "conflict"


def _places(a: Signature, b: Signature) -> Agreement:
    if a.event_type != "military_update" or a.place is None or b.place is None:
        return "weak"
    if a.place == b.place or a.place in b.places or b.place in a.places:
        return "same"
    return "conflict"


def _days_apart(a: Signature, b: Signature) -> int | None:
    """Days between two reports' date ranges (0 when they overlap); None when one is
    undated."""
    oa, ob = a.ordinals, b.ordinals
    if oa is None or ob is None:
        return None
    return max(ob[0] - oa[1], oa[0] - ob[1], 0)


def _dice(a: Iterable[str], b: Iterable[str]) -> float:
    sa = a if isinstance(a, frozenset | set) else set(a)
    sb = b if isinstance(b, frozenset | set) else set(b)
    return 2 * len(sa & sb) / (len(sa) + len(sb)) if sa and sb else 0.0


def _weight(anchor: str) -> float:
    return ANCHOR_WEIGHTS.get(anchor.partition(":")[0], 1.0)


def anchor_similarity(a: Iterable[str], b: Iterable[str]) -> tuple[float, set[str]]:
    """Weighted Dice of two anchor sets, and the anchors they share."""
    sa, sb = set(a), set(b)
    total = sum(map(_weight, sa)) + sum(map(_weight, sb))
    shared = sa & sb
    return (2 * sum(map(_weight, shared)) / total if total else 0.0), shared


@dataclass(frozen=True)
class Comparison:
    """Why two reports are, or are not, one occurrence.

    ``veto`` names a hard disagreement (type, article, date, actor, place); otherwise
    ``score`` is the content similarity and ``same`` says whether it is enough given what
    else agrees (``actors``, ``places``).
    """

    same: bool
    score: float
    veto: str | None = None
    actors: Agreement = "weak"
    places: Agreement = "weak"
    shared_anchors: int = 0
    anchor_score: float = 0.0  # the weighted Dice of the anchors, specific or not
    reason: str = ""


def compare(
    a: Signature | Event, b: Signature | Event, config: MatchConfig = DEFAULT_CONFIG
) -> Comparison:
    """Score two reports; ``same`` when they tell of one occurrence (see the module doc)."""
    sa = a if isinstance(a, Signature) else signature(a)
    sb = b if isinstance(b, Signature) else signature(b)
    return _compare(sa, sb, config)


def _compare(
    sa: Signature, sb: Signature, config: MatchConfig, within_article: bool = False
) -> Comparison:
    """:func:`compare`; ``within_article`` lifts the same-article veto (see repeats())."""
    veto: str | None = None
    actors, places = _actors(sa, sb), _places(sa, sb)
    apart = _days_apart(sa, sb)
    if sa.event_type != sb.event_type:
        veto = "event types differ"
    elif sa.article_id == sb.article_id and not within_article:
        veto = "same article"  # see repeats(): the words alone decide there
    elif apart is not None and apart > config.window_days:
        veto = f"{apart} days apart"
    elif actors == "conflict":
        veto = f"actors differ: {sa.actor} / {sb.actor}"
    elif places == "conflict":
        veto = f"places differ: {sa.place} / {sb.place}"
    if veto is not None:
        return Comparison(False, 0.0, veto, actors, places, 0, veto)
    same_language = sa.language is not None and sa.language == sb.language
    words = _dice(sa.token_set, sb.token_set) if same_language else 0.0
    shared = sa.anchor_set & sb.anchor_set
    total = sa.anchor_weight + sb.anchor_weight
    raw = 2 * sum(map(_weight, shared)) / total if total else 0.0
    specific = any(x.partition(":")[0] in SPECIFIC_ANCHORS for x in shared)
    anchors = raw if len(shared) >= config.min_shared_anchors and specific else 0.0
    score = max(words, anchors)
    basis = "words" if words >= anchors else "anchors"
    # Contradictions: both give figures and none agree ("40 drones" / "70 drones"), or
    # the texts name two different days for the event.
    figures_a, figures_b = sa.figures, sb.figures
    if figures_a and figures_b and not figures_a & figures_b:
        score *= config.figure_conflict_factor
        basis += ", other figures"
    other_day = sa.dated and sb.dated and sa.day != sb.day
    support = (actors == "same" or places == "same") and not other_day
    needed = config.min_content if support else config.min_content_weak
    agree = "actor" if actors == "same" else "place" if places == "same" else "nothing"
    if other_day:
        agree += ", other day named"
    reason = f"{basis} {score:.2f} (need {needed}; {agree} agrees)"
    return Comparison(score >= needed, score, None, actors, places, len(shared), raw, reason)


def repeats(
    a: Signature | Event, b: Signature | Event, config: MatchConfig = DEFAULT_CONFIG
) -> Comparison:
    """Whether two reports of one article tell one occurrence twice (a lead and the body
    that repeats it, a sentence restated): ``same`` when they do.

    Inside one article every report shares the story's names, places and figures, so
    anchors say nothing here: only the words count (Dice over word stems), at least
    ``min_repeat_words`` when the actors (or places) agree, ``min_repeat_words_weak``
    otherwise. The type, actor, place and date vetoes of :func:`compare` hold.
    """
    sa = a if isinstance(a, Signature) else signature(a)
    sb = b if isinstance(b, Signature) else signature(b)
    if sa.article_id != sb.article_id:
        return Comparison(False, 0.0, "different articles", reason="different articles")
    found = _compare(sa, sb, config, within_article=True)
    if found.veto is not None:
        return found
    words = _dice(sa.token_set, sb.token_set)
    support = found.actors == "same" or found.places == "same"
    needed = config.min_repeat_words if support else config.min_repeat_words_weak
    agree = "actor" if found.actors == "same" else "place" if found.places == "same" else "nothing"
    reason = f"repeat: words {words:.2f} (need {needed}; {agree} agrees)"
    return replace(found, same=words >= needed, score=words, reason=reason)


def _specific_shared(a: Signature, b: Signature) -> bool:
    shared = set(a.anchors) & set(b.anchors)
    return any(x.partition(":")[0] in SPECIFIC_ANCHORS for x in shared)


def same_occurrence(
    a: Signature | Event, b: Signature | Event, config: MatchConfig = DEFAULT_CONFIG
) -> bool:
    """Whether two reports describe the same occurrence."""
    return compare(a, b, config).same


# --- The index ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mention:
    """A syndicated copy of an article that was not published again: one more mention, one
    more source for every occurrence of the original's reports."""

    mention_id: str
    article_id: str  # the original article
    source: str
    reported_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Occurrence:
    """Reports (by report id) and mentions of one occurrence. Mutated only by
    :class:`OccurrenceIndex`."""

    occurrence_id: str
    event_type: str
    reports: dict[str, Signature] = field(default_factory=dict)
    mentions: dict[str, Mention] = field(default_factory=dict)

    @property
    def report_ids(self) -> list[str]:
        """The reports' stable ids (each its first version's event id), in filing order."""
        return list(self.reports)

    @property
    def event_ids(self) -> list[str]:
        """The event ids of the reports' current versions."""
        return [s.event_id for s in self.reports.values()]

    @property
    def mention_count(self) -> int:
        """Articles that report it (an article that tells it twice counts once), plus
        recognised syndicated copies."""
        return len({s.article_id for s in self.reports.values()}) + len(self.mentions)

    @property
    def sources(self) -> list[str]:
        found = {s.source for s in self.reports.values()} | {
            m.source for m in self.mentions.values()
        }
        return sorted(found)

    def _times(self) -> list[str]:
        return [s.reported_at for s in self.reports.values()] + [
            m.reported_at for m in self.mentions.values()
        ]

    @property
    def first_reported_at(self) -> str | None:
        return min(self._times(), default=None)

    @property
    def last_reported_at(self) -> str | None:
        return max(self._times(), default=None)

    @property
    def bucket_span(self) -> tuple[str, str] | None:
        """The first and last day its reports are filed under (None with no report)."""
        days = [s.bucket_day for s in self.reports.values()]
        return (min(days), max(days)) if days else None

    @property
    def first_report_id(self) -> str | None:
        """The report published first (ties: the smaller id)."""
        ranked = sorted(self.reports.values(), key=lambda s: (s.reported_at, s.report_id))
        return ranked[0].report_id if ranked else None

    @property
    def latest_report_id(self) -> str | None:
        """The report published last (ties: the larger id)."""
        ranked = sorted(self.reports.values(), key=lambda s: (s.reported_at, s.report_id))
        return ranked[-1].report_id if ranked else None

    def record(self) -> dict[str, Any]:
        """What ``news.occurrences`` carries for this occurrence (keyed by its id)."""
        days = sorted({s.day for s in self.reports.values() if s.day})
        return {
            "occurrence_id": self.occurrence_id,
            "event_type": self.event_type,
            "mention_count": self.mention_count,
            "report_ids": self.report_ids,
            "event_ids": self.event_ids,
            "article_ids": sorted({s.article_id for s in self.reports.values()}),
            "sources": self.sources,
            "languages": sorted({s.language for s in self.reports.values() if s.language}),
            "first_reported_at": self.first_reported_at,
            "last_reported_at": self.last_reported_at,
            "first_report_id": self.first_report_id,
            "latest_report_id": self.latest_report_id,
            "first_day": days[0] if days else None,
            "last_day": days[-1] if days else None,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "occurrence_id": self.occurrence_id,
            "event_type": self.event_type,
            "reports": [s.to_dict() for s in self.reports.values()],
            "mentions": [m.to_dict() for m in self.mentions.values()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Occurrence:
        occurrence = cls(data["occurrence_id"], data["event_type"])
        for item in data.get("reports", []):
            sig = Signature.from_dict(item)
            occurrence.reports[sig.report_id] = sig
        for item in data.get("mentions", []):
            mention = Mention(**item)
            occurrence.mentions[mention.mention_id] = mention
        return occurrence


@dataclass(frozen=True)
class Changes:
    """What :meth:`OccurrenceIndex.apply` changed: occurrences whose record to publish
    again, and occurrences removed (publish a tombstone, a null value, for their id)."""

    changed: list[str]
    removed: list[str]


def occurrence_id_for(first_report_id: str) -> str:
    """An occurrence's id: derived from the report that opened it, so replaying the same
    reports in the same order gives the same ids."""
    return stable_id("occurrence", first_report_id)


class OccurrenceIndex:
    """Reports grouped into occurrences, in memory; state as plain data for persistence.

    Candidates for a new report are the occurrences with a report of the same type in a
    date bucket within ``window_days`` of its own: the cost of a report grows with the
    reports of those few days, not with everything seen.

    Meant to be wired as: load the state (:meth:`from_dict`) from the ledger, feed each
    run's published report changes (:meth:`apply`) and the near-duplicates the ledger
    recognised (:meth:`add_mention`), publish the changed occurrences' records to the
    compacted ``news.occurrences`` topic keyed by ``occurrence_id`` (a null value for a
    removed one), then store the state back, in the same transaction as the run's other
    ledger writes. Replaying the same changes is a no-op (reports and mentions are keyed).
    """

    def __init__(self, config: MatchConfig = DEFAULT_CONFIG) -> None:
        self.config = config
        self._occurrences: dict[str, Occurrence] = {}
        self._occurrence_of: dict[str, str] = {}  # report id -> occurrence id
        self._report_of: dict[str, str] = {}  # current event id -> report id
        self._buckets: dict[tuple[str, str], dict[str, int]] = {}
        self._by_article: dict[str, dict[str, int]] = {}
        # occurrence id -> match key -> its reports with that key (see Signature.match_key):
        # a report is compared once with each distinct kind of report an occurrence holds.
        self._variants: dict[str, dict[tuple[Any, ...], dict[str, Signature]]] = {}
        # occurrence id -> its reports' words and anchors (with counts): an occurrence that
        # shares none with a report cannot match it (see _worth_comparing).
        self._vocabulary: dict[str, dict[str, int]] = {}

    # -- bookkeeping

    def _link(self, occurrence: Occurrence, sig: Signature) -> None:
        occurrence.reports[sig.report_id] = sig
        self._occurrence_of[sig.report_id] = occurrence.occurrence_id
        self._report_of[sig.event_id] = sig.report_id
        for key, table in (
            ((sig.event_type, sig.bucket_day), self._buckets),
            (sig.article_id, self._by_article),
        ):
            counts = table.setdefault(key, {})  # type: ignore[arg-type]
            counts[occurrence.occurrence_id] = counts.get(occurrence.occurrence_id, 0) + 1
        variants = self._variants.setdefault(occurrence.occurrence_id, {})
        variants.setdefault(sig.match_key, {})[sig.report_id] = sig
        words = self._vocabulary.setdefault(occurrence.occurrence_id, {})
        for item in (*sig.tokens, *sig.anchors):
            words[item] = words.get(item, 0) + 1

    def _unlink(self, occurrence: Occurrence, sig: Signature) -> None:
        del occurrence.reports[sig.report_id]
        del self._occurrence_of[sig.report_id]
        del self._report_of[sig.event_id]
        for key, table in (
            ((sig.event_type, sig.bucket_day), self._buckets),
            (sig.article_id, self._by_article),
        ):
            counts = table[key]  # type: ignore[index]
            counts[occurrence.occurrence_id] -= 1
            if not counts[occurrence.occurrence_id]:
                del counts[occurrence.occurrence_id]
            if not counts:
                del table[key]  # type: ignore[arg-type]
        variants = self._variants[occurrence.occurrence_id]
        del variants[sig.match_key][sig.report_id]
        if not variants[sig.match_key]:
            del variants[sig.match_key]
        if not variants:
            del self._variants[occurrence.occurrence_id]
        words = self._vocabulary[occurrence.occurrence_id]
        for item in (*sig.tokens, *sig.anchors):
            words[item] -= 1
            if not words[item]:
                del words[item]
        if not words:
            del self._vocabulary[occurrence.occurrence_id]

    def _candidates(self, sig: Signature) -> list[Occurrence]:
        day = date.fromisoformat(sig.bucket_day)
        found: set[str] = set()
        for delta in range(-self.config.window_days, self.config.window_days + 1):
            key = (sig.event_type, (day + timedelta(days=delta)).isoformat())
            found.update(self._buckets.get(key, ()))
        return [self._occurrences[i] for i in sorted(found)]

    def _worth_comparing(self, sig: Signature, occurrence: Occurrence) -> bool:
        """False when no report of the occurrence shares a word or an anchor with ``sig``:
        every content score is then 0, below any threshold, so it cannot match."""
        words = self._vocabulary.get(occurrence.occurrence_id, {})
        return any(t in words for t in sig.tokens) or any(a in words for a in sig.anchors)

    def _compare_with(self, sig: Signature, occurrence: Occurrence) -> Comparison | None:
        """The best comparison of a report with an occurrence's reports; None when any of
        them vetoes it (another actor, place or type, too far apart, the same article)."""
        if occurrence.occurrence_id in self._by_article.get(sig.article_id, {}):
            return None  # the same article
        best: Comparison | None = None
        for same_kind in self._variants[occurrence.occurrence_id].values():
            other = next(iter(same_kind.values()))
            result = _compare(sig, other, self.config)
            if result.veto is not None:
                return None
            if best is None or result.score > best.score:
                best = result
        return best

    def best_match(self, sig: Signature) -> tuple[Occurrence, Comparison] | None:
        """The occurrence a lone report would join, if any, and why (best score; ties go to
        the smaller occurrence id): for explaining a decision."""
        best: tuple[Occurrence, Comparison] | None = None
        for occurrence in self._candidates(sig):  # in occurrence id order
            if not self._worth_comparing(sig, occurrence):
                continue
            result = self._compare_with(sig, occurrence)
            if (
                result is not None
                and result.same
                and (best is None or result.score > best[1].score)
            ):
                best = (occurrence, result)
        return best

    # -- the API

    def add_article(self, reports: Iterable[Event | Signature]) -> dict[str, str]:
        """File the reports of one article together; return event id -> occurrence id.

        The pipeline publishes an article's events together, and filing them together is
        what a reader does when comparing two versions of a story:

        0. a report that repeats an earlier one of the same article (:func:`repeats`: a
           lead the body tells again, a restated sentence) joins that one's occurrence;
        1. every (report, occurrence) pair that passes :func:`compare` is ranked by score
           and assigned greedily, one report per occurrence (two different events of one
           article are two occurrences) and one occurrence per report;
        2. an article in another language with at least ``min_story_links`` of those
           matches is another version of the same story (a translation, a foreign
           desk's rewrite): its remaining reports are aligned with this article's in
           reading order, between the matched ones, when they agree on the actor (or
           place) or share an anchor and nothing vetoes the pair. Short translated
           sentences ("Two of them are still in hospital, he added.") have no anchors
           to go by; their place in the story is what ties them to the original.

        Reports already filed keep their occurrence (idempotent replays). Reports of
        several articles are filed article by article (:meth:`add_reports`).
        """
        sigs = [r if isinstance(r, Signature) else signature(r) for r in reports]
        if len({s.article_id for s in sigs}) > 1:
            return self.add_reports(sigs)
        result: dict[str, str] = {}
        fresh: dict[str, Signature] = {}
        for sig in sigs:
            if (known := self._occurrence_of.get(sig.report_id)) is not None:
                result[sig.event_id] = known
            else:
                fresh[sig.report_id] = sig
        if not fresh:
            return result
        ordered = sorted(fresh.values(), key=lambda x: (x.position, x.event_type, x.report_id))
        twins = self._repeated(ordered)
        leaders = [sig for sig in ordered if sig.report_id not in twins]
        pairs: list[tuple[float, str, str]] = []
        for sig in leaders:
            for occurrence in self._candidates(sig):
                if not self._worth_comparing(sig, occurrence):
                    continue
                found = self._compare_with(sig, occurrence)
                if found is not None and found.same:
                    pairs.append((found.score, sig.report_id, occurrence.occurrence_id))
        pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
        assigned: dict[str, str] = {}  # report id -> occurrence id
        taken: set[str] = set()
        for _, report_id, occurrence_id in pairs:
            if report_id not in assigned and occurrence_id not in taken:
                assigned[report_id] = occurrence_id
                taken.add(occurrence_id)
        self._align_versions(leaders, assigned, taken)
        for sig in ordered:
            twin = twins.get(sig.report_id)
            occurrence_id = self._occurrence_of[twin] if twin else assigned.get(sig.report_id)
            if occurrence_id is None:
                occurrence = Occurrence(occurrence_id_for(sig.report_id), sig.event_type)
                self._occurrences[occurrence.occurrence_id] = occurrence
            else:
                occurrence = self._occurrences[occurrence_id]
            self._link(occurrence, sig)
            result[sig.event_id] = occurrence.occurrence_id
        return result

    def _repeated(self, ordered: list[Signature]) -> dict[str, str]:
        """The reports of one article (in reading order) that repeat an earlier report of
        it, fresh or already filed (:func:`repeats`): report id -> the report id of the
        first telling, whose occurrence they join."""
        article_id = ordered[0].article_id
        earlier = [
            s
            for occurrence_id in sorted(self._by_article.get(article_id, {}))
            for s in self._occurrences[occurrence_id].reports.values()
            if s.article_id == article_id
        ]
        earlier.sort(key=lambda x: (x.position, x.event_type, x.report_id))
        twins: dict[str, str] = {}
        for sig in ordered:
            best: tuple[float, str] | None = None
            for other in earlier:
                found = repeats(sig, other, self.config)
                if found.same and (best is None or found.score > best[0]):
                    best = (found.score, twins.get(other.report_id, other.report_id))
            if best is not None:
                twins[sig.report_id] = best[1]
            earlier.append(sig)
        return twins

    def _align_versions(
        self, ordered: list[Signature], assigned: dict[str, str], taken: set[str]
    ) -> None:
        """Step 2 of :meth:`add_article`: align the unmatched reports of an article with
        those of another-language version of the same story, in reading order."""
        if not ordered or len(assigned) == len(ordered):
            return
        language = ordered[0].language
        links: dict[str, int] = {}
        for occurrence_id in assigned.values():
            articles = {s.article_id for s in self._occurrences[occurrence_id].reports.values()}
            for article_id in articles:
                links[article_id] = links.get(article_id, 0) + 1
        companions = sorted(
            (a for a, n in links.items() if n >= self.config.min_story_links),
            key=lambda a: (-links[a], a),
        )
        for article_id in companions:
            theirs = sorted(
                (
                    (s, occurrence_id)
                    for occurrence_id in self._by_article.get(article_id, {})
                    for s in self._occurrences[occurrence_id].reports.values()
                    if s.article_id == article_id
                ),
                key=lambda x: x[0].position,
            )
            if not theirs or theirs[0][0].language in (None, language):
                continue  # same language: the words already had their say
            position_of = {occurrence_id: s.position for s, occurrence_id in theirs}
            anchored = [position_of.get(assigned.get(o.report_id, "")) for o in ordered]
            pairs: list[tuple[tuple[bool, float, float], int, int, str]] = []
            for k, sig in enumerate(ordered):
                if sig.report_id in assigned:
                    continue
                k_low = max((i for i in range(k) if anchored[i] is not None), default=-1)
                k_high = next(
                    (i for i in range(k + 1, len(ordered)) if anchored[i] is not None),
                    len(ordered),
                )
                low = max((p for p in anchored[:k] if p is not None), default=-1)
                high = min((p for p in anchored[k + 1 :] if p is not None), default=1 << 62)
                window = [x for x in theirs if low < x[0].position < high]
                where = (k - k_low) / (k_high - k_low)
                for j, (other, occurrence_id) in enumerate(window):
                    if other.event_type != sig.event_type or occurrence_id in taken:
                        continue
                    found = self._compare_with(sig, self._occurrences[occurrence_id])
                    if found is None:
                        continue
                    agree = found.actors == "same" or found.places == "same"
                    if not agree and not found.score and not _specific_shared(sig, other):
                        continue
                    # Prefer agreement, then anchors, then the same rank in the window.
                    drift = abs(where - (j + 1) / (len(window) + 1))
                    rank = (agree, found.anchor_score, -drift)
                    pairs.append((rank, k, other.position, occurrence_id))
            pairs.sort(key=lambda p: (p[0], -p[1], -p[2]), reverse=True)
            accepted: list[tuple[int, int]] = []
            for _, k, position, occurrence_id in pairs:
                report_id = ordered[k].report_id
                if report_id in assigned or occurrence_id in taken:
                    continue
                if any((k - k2) * (position - p2) < 0 for k2, p2 in accepted):
                    continue  # would cross an alignment already made
                assigned[report_id] = occurrence_id
                taken.add(occurrence_id)
                accepted.append((k, position))

    def add_report(self, report: Event | Signature) -> str:
        """File one report on its own; return its occurrence id. Adding a known report
        again is a no-op (idempotent replays). Prefer :meth:`add_article` for the reports
        of one article."""
        sig = report if isinstance(report, Signature) else signature(report)
        return self.add_article([sig])[sig.event_id]

    def add_reports(self, reports: Iterable[Event | Signature]) -> dict[str, str]:
        """File a batch of reports article by article, in a canonical order (the article's
        earliest report date, then its id), so that the same batch in any order gives the
        same occurrences and the same ids."""
        by_article: dict[str, list[Signature]] = {}
        for report in reports:
            sig = report if isinstance(report, Signature) else signature(report)
            by_article.setdefault(sig.article_id, []).append(sig)
        result: dict[str, str] = {}
        for article_id in sorted(
            by_article, key=lambda a: (min(s.reported_at for s in by_article[a]), a)
        ):
            result.update(self.add_article(by_article[article_id]))
        return result

    def add_mention(
        self,
        original_article_id: str,
        source: str,
        reported_at: str | datetime | None = None,
        mention_id: str | None = None,
    ) -> list[str]:
        """A syndicated copy of ``original_article_id`` that is not published again: one
        mention and one source more on every occurrence of the original's reports. Never
        opens an occurrence. ``mention_id`` (the copy's article id or URL) makes repeated
        calls idempotent. Returns the ids of the occurrences that changed."""
        when = _iso_datetime(reported_at)
        stamp = _stamp(when) if when else ""
        mention = Mention(
            mention_id=mention_id or stable_id("mention", original_article_id, source, stamp),
            article_id=original_article_id,
            source=source,
            reported_at=stamp,
        )
        changed: list[str] = []
        for occurrence_id in sorted(self._by_article.get(original_article_id, {})):
            occurrence = self._occurrences[occurrence_id]
            if mention.mention_id in occurrence.mentions:
                continue
            if not mention.reported_at:  # undated: no later than the original's report
                dates = [
                    s.reported_at
                    for s in occurrence.reports.values()
                    if s.article_id == original_article_id
                ]
                mention = Mention(mention.mention_id, mention.article_id, source, max(dates))
            occurrence.mentions[mention.mention_id] = mention
            changed.append(occurrence_id)
        return changed

    def _report_id(self, report_or_event_id: str) -> str | None:
        if report_or_event_id in self._occurrence_of:
            return report_or_event_id
        return self._report_of.get(report_or_event_id)

    def remove_report(self, report_or_event_id: str) -> Occurrence | None:
        """Retract a report (by report id, or the event id of its current version).

        Returns the occurrence it left, None for an unknown report. When no report is left
        the occurrence is removed from the index and the returned one has no reports:
        publish a tombstone for its id; otherwise publish its new :meth:`Occurrence.record`.
        Mentions that rested on the retracted report's article leave with that article's
        last report. The remaining reports stay together even if the retracted one was
        what linked them.
        """
        report_id = self._report_id(report_or_event_id)
        if report_id is None:
            return None
        occurrence = self._occurrences[self._occurrence_of[report_id]]
        sig = occurrence.reports[report_id]
        self._unlink(occurrence, sig)
        if all(s.article_id != sig.article_id for s in occurrence.reports.values()):
            for key in [
                k for k, m in occurrence.mentions.items() if m.article_id == sig.article_id
            ]:
                del occurrence.mentions[key]
        if not occurrence.reports:
            del self._occurrences[occurrence.occurrence_id]
            occurrence.mentions.clear()
        return occurrence

    def update_report(self, report: Event | Signature) -> str | None:
        """The next version of a known report (same ``report_id``, new ``event_id``) takes
        its place in its occurrence, which keeps its id. None for an unknown report."""
        sig = report if isinstance(report, Signature) else signature(report)
        occurrence_id = self._occurrence_of.get(sig.report_id)
        if occurrence_id is None:
            return None
        occurrence = self._occurrences[occurrence_id]
        old = occurrence.reports[sig.report_id]
        self._unlink(occurrence, old)
        self._link(occurrence, sig)
        return occurrence_id

    def apply(self, changes: Iterable[Event]) -> Changes:
        """Apply report changes as the pipeline publishes them (:mod:`pipeline.lifecycle`):
        ``create`` files a report (the creates of one article together, as
        :meth:`add_article`), ``update`` replaces a report's version in place, ``retract``
        removes it. Returns which occurrences to publish again and which to tombstone."""
        creates: list[Event] = []
        touched: set[str] = set()
        removed: set[str] = set()
        for change in changes:
            op = getattr(change, "op", "create")
            report_id = getattr(change, "report_id", "") or change.event_id
            if op == "retract":
                if (left := self.remove_report(report_id)) is not None:
                    (touched if left.reports else removed).add(left.occurrence_id)
            elif op == "update" and (updated := self.update_report(change)) is not None:
                touched.add(updated)
            else:  # a create, or the update of a report this index never saw
                creates.append(change)
        touched.update(self.add_reports(creates).values())
        # The end state decides: an occurrence emptied by this batch (its first retraction
        # touched it, its last removed it) is removed, one reopened under its id is changed.
        seen = (touched | removed) - {""}
        return Changes(
            changed=sorted(o for o in seen if o in self._occurrences),
            removed=sorted(o for o in seen if o not in self._occurrences),
        )

    def occurrence_of(self, report_or_event_id: str) -> str | None:
        """The occurrence of a report (by report id or current event id)."""
        report_id = self._report_id(report_or_event_id)
        return self._occurrence_of.get(report_id) if report_id else None

    def get(self, occurrence_id: str) -> Occurrence | None:
        return self._occurrences.get(occurrence_id)

    def occurrences(self) -> list[Occurrence]:
        """All occurrences, in the order they were opened."""
        return list(self._occurrences.values())

    def __len__(self) -> int:
        return len(self._occurrences)

    # -- state

    def windows(self, days: Iterable[str]) -> list[tuple[str, str]]:
        """The date ranges whose occurrences a report filed under any of ``days`` may be
        compared with: each day +- ``window_days``, overlapping ranges merged."""
        spread = timedelta(days=self.config.window_days)
        out: list[tuple[date, date]] = []
        for day in sorted({date.fromisoformat(d) for d in days}):
            low, high = day - spread, day + spread
            if out and low <= out[-1][1] + timedelta(days=1):
                out[-1] = (out[-1][0], max(out[-1][1], high))
            else:
                out.append((low, high))
        return [(a.isoformat(), b.isoformat()) for a, b in out]

    def load(self, items: Iterable[dict[str, Any]]) -> int:
        """Add saved occurrences (:meth:`Occurrence.to_dict`) this index does not hold yet:
        a partial index holds what one run can touch (see :mod:`pipeline.ledger`). Returns
        how many were added."""
        added = 0
        for item in items:
            if item["occurrence_id"] in self._occurrences:
                continue
            occurrence = Occurrence.from_dict(item)
            reports = list(occurrence.reports.values())
            occurrence.reports = {}
            self._occurrences[occurrence.occurrence_id] = occurrence
            for sig in reports:
                self._link(occurrence, sig)
            added += 1
        return added

    def article_ids(self) -> set[str]:
        """The articles whose reports the index holds."""
        return set(self._by_article)

    def to_dict(self) -> dict[str, Any]:
        """The whole state as JSON-serialisable data."""
        return {
            "state_version": STATE_VERSION,
            "config": asdict(self.config),
            "occurrences": [o.to_dict() for o in self._occurrences.values()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OccurrenceIndex:
        if data.get("state_version") != STATE_VERSION:
            raise ValueError(f"occurrence state version {data.get('state_version')!r} unknown")
        index = cls(MatchConfig(**data.get("config", {})))
        index.load(data.get("occurrences", []))
        return index
