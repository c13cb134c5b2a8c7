"""Military updates: captures, strikes, advances, withdrawals, drones and missiles downed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from pipeline.events.lexicon import Lexicon, phrase_pattern, word_pattern
from pipeline.events.speakers import find_mentions

ACTION_CLASSES = ("capture", "shot_down", "attack", "advance", "withdrawal")
_CAP_RUN = r"[^\W\d_a-zß-ÿ][\w‑-]*(?:[ ‑-][^\W\d_a-zß-ÿ][\w‑-]*){0,3}"


@dataclass(frozen=True)
class MilitaryHit:
    """A military update found in one sentence."""

    action_class: str
    trigger: str
    actor: str | None
    location: str | None
    related_places: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)
    confidence: float = 0.7


@dataclass(frozen=True)
class _Patterns:
    triggers: dict[str, re.Pattern[str]]
    weak: frozenset[str]
    context: re.Pattern[str]
    place: re.Pattern[str]
    place_noun_after: re.Pattern[str]
    figure: re.Pattern[str]
    actor_phrase: re.Pattern[str]
    nationality: re.Pattern[str]
    excluded: frozenset[str]
    determiner_before: re.Pattern[str]


@cache
def _patterns(lex: Lexicon) -> _Patterns:
    mil = lambda *k: lex.words("military", *k)  # noqa: E731
    flags = re.IGNORECASE
    preps = phrase_pattern(mil("place_prepositions"))
    dets = phrase_pattern(lex.words("determiners"))
    nouns = phrase_pattern(mil("place_nouns"))
    numbers = r"\d{1,3}(?:[  .,]\d{3})+|\d+(?:[.,]\d+)?"
    approx = phrase_pattern(list(lex.mapping("military", "approx_numbers")))
    words = phrase_pattern(mil("number_words"))
    prefixes = phrase_pattern(mil("figure_prefixes"))
    units = phrase_pattern(mil("figure_units"))
    nationality = word_pattern(lex.words("nationalities"))
    actor_nouns = phrase_pattern(mil("actor_nouns"))
    return _Patterns(
        triggers={c: re.compile(word_pattern(mil(c)), flags) for c in ACTION_CLASSES},
        weak=frozenset(w.lower() for w in mil("weak")),
        context=re.compile(word_pattern(mil("context")), flags),
        place=re.compile(
            rf"(?<![\w-])(?:{preps})\s*(?:(?:{dets})\s*)?(?:(?:{nouns})\s+(?:de|d['’]|of)\s*)?"
            rf"(?P<place>{_CAP_RUN})",
            flags & 0,
        ),
        place_noun_after=re.compile(rf"^\W*(?:\w+\W+){{0,3}}?(?:{nouns})\b", flags),
        figure=re.compile(
            rf"(?<![\w-])(?:(?:{prefixes})\s+)?(?:{numbers}|(?:{words})|(?:une?\s+)?(?:{approx}))"
            rf"\s+(?:de\s+|d['’]|of\s+)?(?:[^\W\d_]+\s+)?(?:{units})(?![\w-])",
            flags,
        ),
        actor_phrase=re.compile(
            rf"(?<![\w-])(?:(?:{actor_nouns})\s+(?:{nationality})|(?:{nationality})\s+(?:{actor_nouns}))"
            rf"(?![\w-])",
            flags,
        ),
        nationality=re.compile(nationality, flags),
        excluded=lex.lower_set("capitalised_stopwords")
        | lex.lower_set("nationalities")
        | frozenset(w.lower() for w in lex.words("org_words") if len(w) > 3),
        determiner_before=re.compile(
            rf"(?:{word_pattern(lex.words('determiners'))})\s+$", re.IGNORECASE
        ),
    )


def forces_of(adjective: str, lex: Lexicon) -> str:
    """'russe' -> 'forces russes'; 'Russian' -> 'Russian forces'."""
    adj = adjective.strip()
    for old, new in lex.value("military", "plural_suffixes", default=[]):
        if adj.lower().endswith(old):
            adj = adj[: len(adj) - len(old)] + new
            break
    return str(lex.value("forces_template", default="{adj} forces")).format(adj=adj)


def _places(text: str, lex: Lexicon) -> list[tuple[int, str]]:
    """Capitalised place names introduced by a preposition, with their offsets."""
    pat = _patterns(lex)
    persons = [m for m in find_mentions(text, lex) if m.person]
    out: list[tuple[int, str]] = []
    for m in pat.place.finditer(text):
        place = m.group("place")
        start = m.start("place")
        words = place.split()
        while words and words[-1].lower() in pat.excluded:
            words.pop()
        # "Russian-occupied" is an adjective, not a place.
        hyphen_adjective = bool(words) and "-" in words[0] and words[0].split("-")[-1].islower()
        if (
            not words
            or words[0].lower() in pat.excluded
            or hyphen_adjective
            or (len(words[0]) > 1 and words[0].isupper())
        ):
            continue
        if any(p.start <= start < p.end for p in persons):
            continue
        out.append((start, " ".join(words)))
    return out


def has_military_action(text: str, lex: Lexicon, context_text: str = "") -> bool:
    """Whether ``text`` reports a military action, named place or not."""
    return find_military(text, lex, context_text, require_place=False) is not None


def find_military(
    text: str,
    lex: Lexicon,
    context_text: str = "",
    claimant: str | None = None,
    require_place: bool = True,
) -> MilitaryHit | None:
    """The first military update in one sentence, or None.

    Args:
        text: the sentence.
        lex: the language lexicon.
        context_text: the paragraph and the heading above it, for captures whose sentence
            alone does not say it is military.
        claimant: who reports the action in this sentence ("autorités russes"), if anyone.
        require_place: only report an action whose place is named.
    """
    pat = _patterns(lex)
    in_sentence = bool(pat.context.search(text))
    for cls in ACTION_CLASSES:
        for m in pat.triggers[cls].finditer(text):
            trigger = m.group()
            weak = re.sub(r"\s+", " ", trigger.lower()) in pat.weak
            if weak and not in_sentence:
                continue
            if (
                weak
                and pat.determiner_before.search(text[: m.start()])
                and not pat.figure.search(text)
            ):
                continue  # "après le tir", "the strike": a reference to an event told elsewhere
            local = text[max(0, m.start() - 25) : m.end() + 25]
            if (
                not in_sentence
                and not weak
                and (pat.nationality.search(local) or pat.figure.search(text))
            ):
                in_sentence = True
            if not in_sentence:
                place_noun = bool(pat.place_noun_after.match(text[m.end() :]))
                if not (cls == "capture" and (place_noun or pat.context.search(context_text))):
                    continue
            if require_place is False:
                return MilitaryHit(cls, trigger, None, "", confidence=0.5)
            places = _places(text, lex)
            after = [p for p in places if p[0] >= m.end()]
            before = [p for p in places if p[0] < m.start()]
            chosen = (
                after[0]
                if after and after[0][0] - m.end() < 90
                else (before[-1] if before else None)
            )
            actor = _actor(text, m.start(), m.end(), lex, claimant)
            figures = [re.sub(r"\s+", " ", f.group()).strip() for f in pat.figure.finditer(text)]
            if chosen is None:
                # No named place: still an update when the sentence is plainly military and
                # says who did it or how much (drones downed, people killed).
                if in_sentence and (figures or actor) and (figures or not weak):
                    return MilitaryHit(
                        cls, trigger, actor, None, [], figures, 0.55 + (0.05 if claimant else 0)
                    )
                continue
            location = chosen[1]
            related: list[str] = []
            for _, name in places:
                if name != location and name not in related and location not in name:
                    related.append(name)
            confidence = {"capture": 0.8, "shot_down": 0.7, "attack": 0.7}.get(cls, 0.6)
            confidence += (
                (0.05 if claimant else 0) + (0.05 if figures else 0) - (0.1 if weak else 0)
            )
            return MilitaryHit(
                cls, trigger, actor, location, related, figures, round(min(confidence, 0.95), 2)
            )
    return None


def _actor(text: str, start: int, end: int, lex: Lexicon, claimant: str | None) -> str | None:
    pat = _patterns(lex)
    phrases = list(pat.actor_phrase.finditer(text[: end + 40]))
    if phrases:
        return phrases[0].group()
    near = pat.nationality.search(text[end : end + 25]) or pat.nationality.search(
        text[max(0, start - 25) : start]
    )
    if near:
        return forces_of(near.group(), lex)
    if claimant:
        adj = pat.nationality.search(claimant)
        if adj:
            return forces_of(adj.group(), lex)
    first = find_mentions(text[:start], lex)
    if first and first[0].start <= 4 and not first[0].person and start - first[0].end <= 30:
        return first[0].text
    return None


def figures_in(text: str, lex: Lexicon) -> list[str]:
    """Casualty counts, distances and populations written in ``text``."""
    return [re.sub(r"\s+", " ", f.group()).strip() for f in _patterns(lex).figure.finditer(text)]
