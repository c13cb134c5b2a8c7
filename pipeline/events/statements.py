"""Statements: who said what, from direct quotes and reported speech."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from itertools import islice

from pipeline.events.lexicon import Lexicon, phrase_pattern, word_pattern
from pipeline.events.speakers import (
    Registry,
    Speaker,
    find_mentions,
    resolve_phrase,
    role_after,
    role_before,
)

_CLAUSE_BREAK = re.compile(r"[,;:()«»“”\"—–]|\s-\s")
_APPOSITION = re.compile(r"\s*,\s*(?:\d{1,3}\s*,\s*)?[^,;:«»“”\"]{1,110},\s*(?:\d{1,3}\s*,\s*)?$")
_TRAILING_PUNCT = " .;:,!?"


@dataclass(frozen=True)
class Quote:
    start: int
    end: int
    text: str
    words: int


@dataclass(frozen=True)
class StatementHit:
    """A statement found in one sentence (offsets relative to the sentence)."""

    speaker: Speaker
    content: str
    direct_quote: bool
    reporting_verb: str | None
    rule: str
    confidence: float


@dataclass(frozen=True)
class _Patterns:
    verbs: re.Pattern[str]
    present: re.Pattern[str]
    according: re.Pattern[str]
    adverbs_trailing: re.Pattern[str]
    adverbs_leading: re.Pattern[str]
    complement: re.Pattern[str]
    conj_cut: re.Pattern[str]
    post_cut: re.Pattern[str]
    need_complement: frozenset[str]
    prep_start: re.Pattern[str]
    participle_start: re.Pattern[str]
    comme: frozenset[str]
    source_nouns: re.Pattern[str]
    determiner_before: re.Pattern[str]
    quote_pairs: tuple[tuple[str, str], ...]
    min_quote_words: int
    object_verbs: frozenset[str]
    inverted_before: re.Pattern[str]
    stance_for: re.Pattern[str]


@cache
def _patterns(lex: Lexicon) -> _Patterns:
    rep = lambda *k: lex.words("reporting", *k)  # noqa: E731
    participles = rep("participles") + rep("comme_participles")
    present = rep("present") + rep("comme_present")
    adverbs = phrase_pattern(rep("adverbs"))
    aux = phrase_pattern(rep("auxiliaries"))
    flags = re.IGNORECASE
    if participles:
        verbs = (
            rf"(?<![\w-])(?:{aux})(?:-t-(?P<inv>il|elle|on|ils|elles))?\s+"
            rf"(?:(?:{adverbs})\s+){{0,2}}(?P<verb>{phrase_pattern(participles)})(?![\w-])"
        )
    else:
        verbs = (
            rf"(?<![\w-])(?:(?:{aux})\s+(?:(?:{adverbs})\s+){{0,2}})?"
            rf"(?P<verb>{phrase_pattern(present)})(?![\w-])"
        )
    complements = lex.words("reporting", "complements") or ["que", "qu'", "that", ":"]
    comp = "|".join([phrase_pattern(complements)])
    return _Patterns(
        verbs=re.compile(verbs, flags),
        present=re.compile(
            rf"(?<![\w-])(?P<verb>{phrase_pattern(present)})"
            rf"(?:-t-(?P<inv>il|elle|on)|-(?P<inv2>il|elle|ils|elles))?(?![\w-])",
            flags,
        ),
        according=re.compile(rf"(?<![\w-])(?:{phrase_pattern(rep('according_to'))})\s+", flags),
        adverbs_trailing=re.compile(rf"(?:\s*,?\s*(?<![\w-])(?:{adverbs}))+\s*,?\s*$", flags),
        adverbs_leading=re.compile(rf"^\s*,?\s*(?:(?:{adverbs})(?![\w-])\s*,?\s*)+", flags),
        complement=re.compile(rf"(?:(?<![\w-])(?:{comp})(?![\w])|[«“\"]|:)", flags),
        conj_cut=re.compile(word_pattern(lex.words("reporting", "subject_cut")), flags),
        post_cut=re.compile(
            rf"[,.;:()«»“”\"]|\s(?:{phrase_pattern(lex.words('reporting', 'post_cut'))})\s", flags
        ),
        prep_start=re.compile(
            rf"^(?:{phrase_pattern(lex.words('reporting', 'circumstance_start'))})\b", flags
        ),
        participle_start=re.compile(
            lex.value("reporting", "participle_clause", default=r"(?!x)x"), flags
        ),
        need_complement=frozenset(w.lower() for w in rep("need_complement")),
        comme=frozenset(w.lower() for w in rep("comme_participles") + rep("comme_present")),
        source_nouns=re.compile(word_pattern(rep("source_nouns")), flags),
        determiner_before=re.compile(rf"(?:{word_pattern(lex.words('determiners'))})\s+$", flags),
        quote_pairs=tuple((a, b) for a, b in lex.value("reporting", "quote_pairs", default=[])),
        min_quote_words=int(lex.value("reporting", "min_quote_words", default=4)),
        object_verbs=frozenset(w.lower() for w in rep("object_verbs")),
        inverted_before=re.compile(
            rf"(?:{lex.value('reporting', 'inverted_before', default=r'(?!x)x')})\s*$", flags
        ),
        stance_for=re.compile(
            rf"^\s*(?:{phrase_pattern(rep('stance_for'))})\s+(?P<who>[^,;:«»“”\"]{{2,60}}?)\s*,\s*",
            flags,
        ),
    )


def find_quotes(text: str, lex: Lexicon) -> list[Quote]:
    """Quoted segments of ``text`` (offsets of the inner text)."""
    quotes: list[Quote] = []
    for opener, closer in _patterns(lex).quote_pairs:
        pos = 0
        while True:
            a = text.find(opener, pos)
            if a < 0:
                break
            b = text.find(closer, a + 1)
            if b < 0:
                break
            inner = text[a + 1 : b]
            stripped = inner.strip()
            if stripped and not any(q.start <= a < q.end for q in quotes):
                quotes.append(Quote(a + 1, b, stripped, len(stripped.split())))
            pos = b + 1
    quotes.sort(key=lambda q: q.start)
    return quotes


def by_reference_sentence(text: str, verb_start: int, pat: _Patterns) -> bool:
    """Whether the verb follows "ce qu'" / "comme l'" (the content is elsewhere)."""
    return bool(pat.inverted_before.search(text[:verb_start].rstrip()))


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip(_TRAILING_PUNCT + '«»“”"')


def _subject_before(
    pre: str, lex: Lexicon, registry: Registry, paragraph: int
) -> tuple[Speaker | None, int]:
    """The speaker written before the verb and where its phrase starts."""
    pat = _patterns(lex)
    # "Jan Hamáček (ČSSD) avait estimé": a short parenthesis between subject and verb.
    pre = re.sub(r"\s*\([^()]{1,40}\)\s*$", " ", pre)
    trimmed = pat.adverbs_trailing.sub("", pre)
    trimmed = (
        re.sub(r"\s*,\s*$", "", trimmed)
        if trimmed.rstrip().endswith(",") and _APPOSITION.search(trimmed + " ") is None
        else trimmed
    )
    mentions = find_mentions(trimmed, lex)
    for m in reversed(mentions):
        between = trimmed[m.end :]
        # "the chief spokesperson, Rear Admiral Daniel Hagari, said": a name in apposition.
        in_apposition = between.strip() == "," and bool(
            re.search(r",\s*(?:[^\W\d_a-zß-ÿ][\w.’'-]*\s+){0,3}$", trimmed[: m.start])
        )
        if not (between.strip() == "" or in_apposition or _APPOSITION.fullmatch(between)):
            continue
        if m.person or registry.full_name(m.text):
            name = registry.full_name(m.text) or m.text
            role = (
                role_after(trimmed, m.end, lex)
                or role_before(trimmed, m.start, lex)
                or registry.people.get(name)
            )
            kind = "person" if " " in m.text else "surname"
            return Speaker(name, role, kind), _phrase_start(trimmed, m.start, lex)
        break
    pieces = list(_CLAUSE_BREAK.finditer(trimmed))
    tail_start = pieces[-1].end() if pieces else 0
    tail = trimmed[tail_start:]
    cuts = list(pat.conj_cut.finditer(tail))
    if cuts:
        tail_start += cuts[-1].end()
        tail = trimmed[tail_start:]
    if not tail.strip() or len(tail.split()) > 8:
        return None, len(pre)
    speaker = resolve_phrase(tail, registry, paragraph)
    offset = tail_start + (len(tail) - len(tail.lstrip()))
    return speaker, offset


def _phrase_start(text: str, name_start: int, lex: Lexicon) -> int:
    """Start of the subject phrase: include a role written just before the name."""
    role = role_before(text, name_start, lex)
    if role:
        idx = text.rfind(role, 0, name_start)
        if idx >= 0:
            return idx
    return name_start


def _subject_after(
    post: str, lex: Lexicon, registry: Registry, paragraph: int
) -> tuple[Speaker | None, int]:
    """The inverted speaker after the verb: '…», a déclaré le porte-parole, Lin Jian, lors…'."""
    pat = _patterns(lex)
    lead = pat.adverbs_leading.match(post)
    offset = lead.end() if lead else 0
    rest = post[offset:]
    cut = pat.post_cut.search(mask_abbreviations(rest, lex))
    phrase = rest[: cut.start()] if cut else rest
    end = len(phrase)
    # "le porte-parole du ministère, Lin Jian, ..." : a name in apposition after a role.
    m = re.match(r"\s*,\s*([^,;:.«»“”\"]{2,60}?)\s*(?:,|\.|$)", rest[end:])
    if m and any(x.person for x in find_mentions(m.group(1), lex)):
        phrase = rest[: end + m.end(1)]
    phrase = _clean(phrase)
    if not phrase or len(phrase.split()) > 14:
        return None, offset
    return resolve_phrase(phrase, registry, paragraph), offset


def mask_abbreviations(text: str, lex: Lexicon) -> str:
    """``text`` with the periods of abbreviations ("M.", "U.S.") replaced, offsets unchanged."""
    abbreviations = lex.lower_set("abbreviations")

    def repl(m: re.Match[str]) -> str:
        word = m.group(1)
        if word.lower() in abbreviations or len(word) == 1:
            return word + "\u2024"
        return m.group(0)

    return re.sub(r"(?<![\w.])([^\W\d_]{1,4})\.", repl, text)


def _content_after(after: str, lex: Lexicon) -> str:
    pat = _patterns(lex)
    lead = pat.adverbs_leading.match(after)
    after = after[lead.end() :] if lead else after
    comp = re.search(r"(?<![\w-])(?:que\b|qu['’]|that\b)", after[:90], flags=re.IGNORECASE)
    if comp and pat.prep_start.match(after.strip()):
        after = after[comp.start() :]
    after = re.sub(r"^\s*(?:que\b|qu['’]|that\b|de\b|d['’]|:)\s*", "", after, flags=re.IGNORECASE)
    return _clean(after)


_MAX_VERB_CANDIDATES = 16


def find_statement(
    text: str, lex: Lexicon, registry: Registry, paragraph: int, quote_only_ok: bool = True
) -> StatementHit | None:
    """The first statement in one sentence, or None.

    Args:
        text: the sentence.
        lex: the language lexicon.
        registry: people seen so far (already updated with this sentence's names).
        paragraph: the paragraph index of the sentence.
        quote_only_ok: whether a quote without a reporting verb may be attributed to the
            person in focus.
    """
    pat = _patterns(lex)
    quotes = find_quotes(text, lex)
    long_quotes = [q for q in quotes if q.words >= pat.min_quote_words]
    # A real sentence has a few reporting verbs; bounding the candidates keeps adversarial
    # input ("he said he said ..." thousands of times) linear instead of quadratic.
    matches = list(islice(pat.verbs.finditer(text), _MAX_VERB_CANDIDATES))
    if pat.present.pattern != pat.verbs.pattern:
        for m in islice(pat.present.finditer(text), _MAX_VERB_CANDIDATES):
            if any(x.start() <= m.start() < x.end() for x in matches):
                continue
            if pat.determiner_before.search(text[: m.start()]):
                continue  # "la demande", "le juge": a noun, not a verb
            matches.append(m)
    matches.sort(key=lambda m: m.start())
    for m in matches:
        if any(q.start <= m.start() < q.end for q in quotes):
            continue  # the verb is inside a quote
        verb = m.group("verb")
        vlow = verb.lower()
        after = text[m.end() :]
        if vlow in pat.comme and not re.search(r"\bcomme\b", after):
            continue
        pre = text[: m.start()]
        inv = m.groupdict().get("inv") or m.groupdict().get("inv2")
        inverted = False
        if inv:
            if inv.lower() == "on":
                continue
            speaker = resolve_phrase(inv, registry, paragraph)
            subj_start = m.start()
            inverted = True
        else:
            stripped = pat.adverbs_trailing.sub("", pre).rstrip()
            speaker, subj_start = None, m.start()
            by_reference = bool(pat.inverted_before.search(stripped))
            if stripped and stripped[-1] not in '«»“”"—–' and not by_reference:
                speaker, subj_start = _subject_before(pre, lex, registry, paragraph)
            core = stripped.rstrip(",").rstrip()
            after_quote = (bool(core) and core[-1] in '«»“”"—–') or by_reference
            after_comma = bool(stripped) and stripped[-1] == "," and vlow not in pat.need_complement
            if speaker is None and (not stripped or after_quote or after_comma):
                inverted = True
                speaker, _ = _subject_after(after, lex, registry, paragraph)
                subj_start = m.start()
                if by_reference and speaker is not None and speaker.kind == "collective":
                    speaker = None  # "comme l'indique France 3": a source, not a speaker
        if speaker is None:
            continue
        head = text[:subj_start].rstrip()
        postposed = inverted or (bool(head) and head[-1] in ',«»“”"')
        # "Putin denounced a drone strike", "He urged Vietnam to push back": a person taking
        # a stance on an object is a statement even without "that".
        stance_on_object = (
            vlow in pat.object_verbs
            and speaker.kind in ("person", "surname", "pronoun", "role")
            and bool(re.match(r"\s+[^\W\d_]", after))
        )
        if (
            vlow in pat.need_complement
            and not postposed
            and not pat.complement.search(after[:70])
            and not stance_on_object
        ):
            continue
        if inverted and not quotes and not pre.strip():
            continue
        content = "" if inverted else _content_after(after, lex)
        if by_reference_sentence(text, m.start(), pat):
            content = _clean(text)  # "C'est ce qu'a annoncé X": what was said came before
        before = _clean(text[:subj_start])
        if (
            len(content.split()) < 3
            or pat.prep_start.match(content)
            or inverted
            or (postposed and pat.participle_start.match(content))
        ) and len(before.split()) >= 4:
            content = before
        quoted = sum(len(q.text) for q in long_quotes)
        if long_quotes and (inverted or quoted >= 0.5 * max(len(content), 1)):
            content = " … ".join(q.text for q in long_quotes)
        if len(content.split()) < 2:
            continue
        confidence = {
            "person": 0.85,
            "surname": 0.85,
            "pronoun": 0.75,
            "role": 0.75,
            "collective": 0.6,
        }.get(speaker.kind, 0.5)
        if long_quotes:
            confidence += 0.05
        if vlow in pat.need_complement:
            confidence -= 0.05
        rule = "direct_quote" if long_quotes else "reported_speech"
        return StatementHit(
            speaker,
            content,
            bool(quotes),
            verb,
            f"{rule}.{speaker.kind}",
            round(min(confidence, 0.95), 2),
        )
    hit = _according_to(text, lex, registry, paragraph, quotes) or _stance_for(
        text, lex, registry, paragraph, quotes
    )
    if hit:
        return hit
    if quote_only_ok and long_quotes:
        covered = sum(q.end - q.start for q in long_quotes)
        focus = registry.current_focus(paragraph, max_distance=1)
        if focus and covered >= 0.6 * len(text) and sum(q.words for q in long_quotes) >= 6:
            return StatementHit(
                Speaker(focus, registry.people.get(focus), "context"),
                " … ".join(q.text for q in long_quotes),
                True,
                None,
                "quote_in_context",
                0.55,
            )
    return None


def _according_to(
    text: str, lex: Lexicon, registry: Registry, paragraph: int, quotes: list[Quote]
) -> StatementHit | None:
    """'selon lui, …' / 'according to the ministry, …'."""
    pat = _patterns(lex)
    for m in pat.according.finditer(text):
        if any(q.start <= m.start() < q.end for q in quotes):
            continue
        rest = text[m.end() :]
        cut = re.search(r"[,.;:()«»“”\"]", rest)
        phrase = rest[: cut.start()] if cut else rest
        if not phrase.strip() or len(phrase.split()) > 10 or pat.source_nouns.search(phrase):
            continue
        pronouns = {
            k.lower(): v for k, v in lex.mapping("reporting", "according_to_pronouns").items()
        }
        word = phrase.strip().lower()
        if word in pronouns:
            if pronouns[word] != "person":
                continue
            focus = registry.current_focus(paragraph)
            speaker = Speaker(focus, registry.people.get(focus), "pronoun") if focus else None
        else:
            speaker = resolve_phrase(phrase, registry, paragraph)
        if speaker is None:
            continue
        content = _clean(text[: m.start()])
        if len(content.split()) < 4:
            content = _clean(rest[len(phrase) :])
        if len(content.split()) < 4:
            continue
        quotes_long = [q for q in quotes if q.words >= _patterns(lex).min_quote_words]
        confidence = 0.55 if speaker.kind == "collective" else 0.65
        return StatementHit(
            speaker,
            content,
            bool(quotes),
            m.group().strip(),
            f"according_to.{speaker.kind}",
            confidence + (0.05 if quotes_long else 0.0),
        )
    return None


def _stance_for(
    text: str, lex: Lexicon, registry: Registry, paragraph: int, quotes: list[Quote]
) -> StatementHit | None:
    """ "Pour Jan Hamáček, cette attitude est méprisante": a person's view, sentence-initial."""
    pat = _patterns(lex)
    m = pat.stance_for.match(text)
    if not m:
        return None
    who = m.group("who")
    pronouns = {k.lower(): v for k, v in lex.mapping("reporting", "according_to_pronouns").items()}
    if who.strip().lower() in pronouns:
        focus = registry.current_focus(paragraph, max_distance=1)
        if pronouns[who.strip().lower()] != "person" or focus is None:
            return None
        speaker: Speaker | None = Speaker(focus, registry.people.get(focus), "pronoun")
    else:
        speaker = resolve_phrase(who, registry, paragraph)
    if speaker is None or speaker.kind not in ("person", "surname", "pronoun", "role"):
        return None
    content = _clean(text[m.end() :])
    if len(content.split()) < 4:
        return None
    long_quotes = [q for q in quotes if q.words >= pat.min_quote_words]
    return StatementHit(
        speaker,
        content,
        bool(quotes),
        m.group().split()[0],
        f"stance_for.{speaker.kind}",
        0.6 + (0.05 if long_quotes else 0.0),
    )
