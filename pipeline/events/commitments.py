"""Commitments: pledges, agreements and decided future actions, with amount and deadline."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from pipeline.events.lexicon import Lexicon, phrase_pattern, word_pattern

_CLAUSE_BREAK = re.compile(r"[,;:()«»“”\"—–]|\s-\s")
_NUMBER = r"\d{1,3}(?:[  ,.]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?"


@dataclass(frozen=True)
class CommitmentHit:
    """A commitment found in one sentence."""

    trigger: str
    party: str | None
    commitment: str
    amount: str | None
    deadline: str | None
    venue: str | None
    breakdown: list[str] = field(default_factory=list)
    confidence: float = 0.7


@dataclass(frozen=True)
class _Patterns:
    trigger: re.Pattern[str]
    weak: frozenset[str]
    percent: re.Pattern[str]
    money: re.Pattern[str]
    count: re.Pattern[str]
    deadlines: tuple[re.Pattern[str], ...]
    venues: tuple[re.Pattern[str], ...]
    breakdown_marker: re.Pattern[str]
    item_split: re.Pattern[str]
    subject_cut: re.Pattern[str]
    determiner: re.Pattern[str]
    future: re.Pattern[str]
    concrete: re.Pattern[str]
    count_generic: re.Pattern[str]
    infinitive_before: re.Pattern[str]
    party_noun: re.Pattern[str]


@cache
def _patterns(lex: Lexicon) -> _Patterns:
    com = lambda *k: lex.words("commitment", *k)  # noqa: E731
    flags = re.IGNORECASE
    at_least = phrase_pattern(com("at_least"))
    gdp = phrase_pattern(com("gdp"))
    money_units = phrase_pattern(com("money_units"))
    count_units = phrase_pattern(com("count_units"))
    currency = r"[$€£]"
    return _Patterns(
        trigger=re.compile(word_pattern(com("triggers")), flags),
        weak=frozenset(w.lower() for w in com("weak")),
        percent=re.compile(
            rf"(?:(?:{at_least})\s+)?(?:{_NUMBER})\s?(?:%|pour\s?cent|per\s?cent|percent)"
            rf"(?:\s+(?:{gdp})(?![\w-]))?",
            flags,
        ),
        money=re.compile(
            rf"(?:(?:{at_least})\s+)?(?:{currency}\s?(?:{_NUMBER})(?:\s?(?:{money_units})(?![\w-]))?"
            rf"|(?:{_NUMBER})\s?(?:{money_units})(?![\w-]))",
            flags,
        ),
        count=re.compile(
            rf"(?:(?:{at_least})\s+)?(?<![\w.,])(?:{_NUMBER})\s+(?:[\w-]+\s+){{0,2}}?(?:{count_units})(?![\w-])",
            flags,
        ),
        deadlines=tuple(re.compile(p, flags) for p in com("deadline")),
        venues=tuple(re.compile(p) for p in com("venue")),
        breakdown_marker=re.compile(word_pattern(com("breakdown_markers")), flags),
        item_split=re.compile(
            rf"\s*(?:,\s*)?(?<![\w-])(?:{phrase_pattern(com('and'))})\s+(?=(?:(?:{at_least})\s+)?\d)",
            flags,
        ),
        subject_cut=re.compile(word_pattern(lex.words("reporting", "subject_cut")), flags),
        determiner=re.compile(rf"^(?:{word_pattern(lex.words('determiners'))}|[lL]['’])\s*", flags),
        future=re.compile(
            rf"(?<![\w-])(?:(?:{phrase_pattern(com('future_aux'))})\s+(?:[\w-]+\s+)?"
            rf"(?:{phrase_pattern(com('concrete_verbs'))})|(?:{phrase_pattern(com('future_forms'))}))"
            rf"(?![\w-])",
            flags,
        ),
        concrete=re.compile(word_pattern(com("concrete_verbs") + com("future_forms")), flags),
        count_generic=re.compile(
            rf"(?:(?:{at_least})\s+)?(?<![\w.,])(?:{_NUMBER})\s+"
            rf"(?:{lex.value('commitment', 'count_generic', default=r'(?!x)x')})",
            flags,
        ),
        party_noun=re.compile(
            word_pattern(lex.words("collective_nouns") + lex.words("role_nouns")), flags
        ),
        infinitive_before=re.compile(
            rf"(?<![\w-])(?:{phrase_pattern(com('infinitive_markers'))})\s*$", flags
        ),
    )


def find_amount(text: str, lex: Lexicon) -> str | None:
    """The first amount with its unit: "5 % de leur PIB", "$9 billion", "30 aircraft"."""
    pat = _patterns(lex)
    found = [
        m
        for p in (pat.percent, pat.money, pat.count, pat.count_generic)
        for m in p.finditer(text)
        if not re.fullmatch(r"(?:19|20)\d\d", m.group().split()[0])
    ]
    if not found:
        return None
    found.sort(key=lambda m: (m.start(), -len(m.group())))
    return re.sub(r"\s+", " ", found[0].group()).strip()


def find_deadline(text: str, lex: Lexicon) -> str | None:
    """The year a commitment is due: "d'ici 2035" -> "2035", "by 2030" -> "2030"."""
    best: tuple[int, str] | None = None
    for i, pattern in enumerate(_patterns(lex).deadlines):
        m = pattern.search(text)
        if m and (best is None or i < best[0]):
            best = (i, m.group(1))
    return best[1] if best else None


def find_breakdown(text: str, lex: Lexicon) -> list[str]:
    """The parts an amount is split into, after a marker such as "ventilés en"/"including"."""
    pat = _patterns(lex)
    marker = pat.breakdown_marker.search(text)
    if not marker:
        return []
    rest = re.split(r"[;.]", text[marker.end() :], maxsplit=1)[0]
    items = [i.strip(" ,") for i in pat.item_split.split(rest)]
    items = [i for i in items if re.search(r"\d", i)]
    return items if len(items) >= 2 else []


def _party(pre: str, lex: Lexicon) -> str | None:
    pat = _patterns(lex)
    pieces = list(_CLAUSE_BREAK.finditer(pre))
    tail = pre[pieces[-1].end() :] if pieces else pre
    cuts = list(pat.subject_cut.finditer(tail))
    if cuts:
        tail = tail[cuts[-1].end() :]
    tail = pat.determiner.sub("", tail.strip(" ‘’'\""), count=1).strip()
    stop = lex.lower_set("speaker_stopwords")
    if not tail or len(tail.split()) > 6 or any(w.lower() in stop for w in tail.split()):
        return None
    return tail


def find_commitment(text: str, lex: Lexicon, focus: str | None = None) -> CommitmentHit | None:
    """The first commitment in one sentence, or None.

    Args:
        text: the sentence.
        lex: the language lexicon.
        focus: the person a pronoun subject refers to, if any.
    """
    pat = _patterns(lex)
    pronouns = lex.lower_set("pronouns")
    candidates = [(m, False) for m in pat.trigger.finditer(text)]
    candidates += [(m, True) for m in pat.future.finditer(text)]
    candidates.sort(key=lambda c: c[0].start())
    for m, generated in candidates:
        if pat.infinitive_before.search(text[: m.start()]):
            continue  # "the case for Labor to commit to": a hypothesis, not a pledge
        trigger = re.sub(r"\s+", " ", m.group())
        rest = text[m.end() :]
        marker = pat.breakdown_marker.search(rest)
        clause = rest[: marker.start()] if marker else re.split(r"[;]", rest)[0]
        clause = clause.strip(" ,.;")
        amount = find_amount(clause, lex) or find_amount(rest, lex)
        deadline = find_deadline(clause, lex) or find_deadline(text, lex)
        weak = trigger.lower() in pat.weak or generated
        concrete = bool(pat.concrete.search(" ".join(clause.split()[:12])))
        if len(clause.split()) < 2:
            continue
        party = _party(text[: m.start()], lex)
        if party and party.lower() in pronouns:
            party = focus
        if generated:
            # "Sudan will stop supporting rebels", "Germany will deliver 40 tanks": a named
            # party (or a person in focus) with a concrete future action.
            head = party.split()[-1] if party else ""
            if not party or not (head[:1].isupper() or pat.party_noun.search(party)):
                continue
            if text.startswith(party) and " " not in party and not (amount or deadline):
                continue  # "Prices will increase": a capital only because it opens the sentence
        elif weak and not (amount or deadline or concrete):
            continue
        venue = None
        for v in pat.venues:
            found = v.search(text)
            if found:
                venue = found.group(1).strip()
                break
        confidence = (
            0.7
            + (0.1 if amount else 0)
            + (0.05 if deadline else 0)
            + (0.05 if party else 0)
            - (0.15 if weak else 0)
        )
        return CommitmentHit(
            trigger,
            party,
            f"{trigger} {clause}".strip(),
            amount,
            deadline,
            venue,
            find_breakdown(rest, lex),
            round(min(confidence, 0.95), 2),
        )
    return None
