"""Who is who: person-name detection from capitalised word runs, roles, coreference.

No trained model: a person is a run of two to four capitalised words that are not
organisation or place words; a bare surname, a pronoun or a role noun phrase later in the
text refers back to a person seen before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from pipeline.events.lexicon import Lexicon, phrase_pattern, word_pattern

_CAP = r"[^\W\d_a-zß-ÿ][\w‑-]*"
_SPACE_GAP = re.compile(r"[ \u00a0\u202f]")
_SEGMENT_BREAK = re.compile(r"[,;:()«»“”\"—–]|\s-\s")


@dataclass(frozen=True)
class Mention:
    """A name in a sentence: offsets are relative to the sentence text."""

    start: int
    end: int
    text: str
    person: bool


@dataclass(frozen=True)
class Speaker:
    """A resolved speaker or actor phrase."""

    name: str
    role: str | None
    kind: str  # "person" | "pronoun" | "role" | "surname" | "collective"


@dataclass(frozen=True)
class _Patterns:
    stop: frozenset[str]
    org: frozenset[str]
    particles: frozenset[str]
    nationalities: frozenset[str]
    role_words: frozenset[str]
    roles: re.Pattern[str]
    collectives: re.Pattern[str]
    honorific: re.Pattern[str]
    pronoun: re.Pattern[str]
    determiner: re.Pattern[str]
    cap_run: re.Pattern[str]
    before_name: re.Pattern[str]
    speaker_stop: frozenset[str]
    non_name: re.Pattern[str]
    anaphors: frozenset[str]


@cache
def _patterns(lex: Lexicon) -> _Patterns:
    roles = lex.words("role_nouns")
    role_words = frozenset(w.lower() for r in roles for w in r.split())
    honorifics = sorted(lex.words("honorifics"), key=len, reverse=True)
    hon = "|".join(re.escape(h) for h in honorifics) or r"(?!x)x"
    before_words = phrase_pattern(
        lex.words("name_particles")
        + lex.words("determiners")
        + lex.words("military", "place_prepositions")
    )
    particles = "|".join(re.escape(p) for p in lex.words("name_particles")) or r"(?!x)x"
    pronouns = lex.words("pronouns") + lex.words("plural_pronouns") + lex.words("anaphors")
    return _Patterns(
        stop=lex.lower_set("capitalised_stopwords"),
        org=frozenset(lex.words("org_words")),
        particles=lex.lower_set("name_particles"),
        nationalities=lex.lower_set("nationalities"),
        role_words=role_words,
        roles=re.compile(word_pattern(roles), re.IGNORECASE),
        collectives=re.compile(word_pattern(lex.words("collective_nouns")), re.IGNORECASE),
        honorific=re.compile(rf"(?<![\w.])(?:{hon})(?:\.|(?<=\.))?\s+([^\W\d_][\w‑-]+)"),
        pronoun=re.compile(word_pattern(pronouns), re.IGNORECASE),
        determiner=re.compile(
            rf"^(?:{word_pattern(lex.words('determiners'))}|[lL]['’])\s*", re.IGNORECASE
        ),
        before_name=re.compile(rf"(?<![\w-])(?:{before_words})\s+$", re.IGNORECASE),
        speaker_stop=lex.lower_set("speaker_stopwords"),
        non_name=re.compile(lex.value("non_name_word", default=r"(?!x)x")),
        anaphors=lex.lower_set("anaphors"),
        cap_run=re.compile(rf"(?<![\w‑-]){_CAP}(?:[ \u00a0](?:(?:{particles})[ \u00a0])?{_CAP})*"),
    )


def _is_cap(token: str) -> bool:
    return token[:1].isupper()


def _is_acronym(token: str) -> bool:
    return len(token) >= 2 and token.isupper()


def find_mentions(text: str, lex: Lexicon) -> list[Mention]:
    """Capitalised word runs in ``text``; ``person`` marks those that look like a person."""
    pat = _patterns(lex)
    mentions: list[Mention] = []
    for run in pat.cap_run.finditer(text):
        words = run.group().replace("\u00a0", " ").split(" ")
        offsets: list[int] = []
        pos = run.start()
        for w in words:
            offsets.append(pos)
            pos += len(w) + 1
        # Strip leading words that introduce rather than name: "Le", "President", "Ukrainian".
        i = 0
        while i < len(words) and (
            words[i].lower() in pat.stop
            or words[i] in pat.org
            or words[i].lower() in pat.nationalities
            or words[i].lower() in pat.role_words
            or words[i].lower() in pat.particles
            or pat.non_name.fullmatch(words[i])
        ):
            i += 1
        if i == len(words):
            continue
        words, offsets = words[i:], offsets[i:]
        # "Economy Minister Marcelo Ebrard", "Emirates President Tim Clark": the name
        # starts after the last role word inside the run.
        last_role = max(
            (k for k, w in enumerate(words[:-1]) if w.lower() in pat.role_words), default=-1
        )
        rest = words[last_role + 1 :]
        if last_role >= 0 and all(_is_cap(w) and w not in pat.org for w in rest):
            words, offsets = words[last_role + 1 :], offsets[last_role + 1 :]
        if len(words) >= 3 and pat.before_name.search(text[: offsets[0]]):
            words, offsets = words[1:], offsets[1:]  # "ministre de la Santé Roman Prymula"
        caps = [w for w in words if _is_cap(w)]
        person = (
            2 <= len(caps) <= 4
            and not any(w in pat.org for w in words)
            and not any(_is_acronym(w) for w in words)
            and not any(w.lower() in pat.nationalities for w in words)
            and not any(w.lower() in pat.stop for w in caps)
        )
        start = offsets[0]
        end = offsets[-1] + len(words[-1])
        mentions.append(Mention(start, end, text[start:end], person))
    for m in pat.honorific.finditer(text):
        if not any(x.start <= m.start(1) < x.end and x.person for x in mentions):
            mentions.append(Mention(m.start(), m.end(), m.group(1), True))
    mentions.sort(key=lambda x: x.start)
    return mentions


def opens_sentence(text: str, mention: Mention, lex: Lexicon) -> bool:
    """Whether ``mention`` is the sentence's subject: only a determiner and a role before it.

    "Le Premier ministre Andrej Babiš s'est exprimé", "Russian President Vladimir Putin".
    """
    pat = _patterns(lex)
    before = text[: mention.start].strip()
    if not before:
        return True
    if len(before.split()) > 6 or _SEGMENT_BREAK.search(before):
        return False
    return bool(pat.roles.search(before)) and all(
        w.lower() in pat.stop
        or w.lower() in pat.role_words
        or w.lower() in pat.nationalities
        or _is_cap(w)
        or bool(pat.determiner.match(w + " "))
        for w in re.split(r"[\s'’]+", before)
        if w
    )


def strip_determiner(phrase: str, lex: Lexicon) -> str:
    """Drop one leading article or possessive: "les autorités russes" -> "autorités russes"."""
    return _patterns(lex).determiner.sub("", phrase.strip(), count=1).strip()


def role_after(text: str, end: int, lex: Lexicon) -> str | None:
    """The apposition after a name: "Mark Rutte, secrétaire général de l'OTAN, ..." -> role."""
    pat = _patterns(lex)
    m = re.match(r"\s*,\s*(?:\d{1,3}\s*,\s*)?([^,;:()«»“”\"]{2,110}?)\s*(?:,|$|\.)", text[end:])
    if not m:
        return None
    role = re.split(r"\s(?:who|which|qui|dont|que|lors|during|in a|on|sur|dans)\s", m.group(1))[0]
    role = strip_determiner(role, lex)
    if not role or not pat.roles.search(role) or len(role.split()) > 12:
        return None
    return role


def role_before(text: str, start: int, lex: Lexicon) -> str | None:
    """A role written before a name: "le président russe Vladimir Poutine" -> "président russe"."""
    pat = _patterns(lex)
    before = text[:start]
    comma_form = bool(re.search(r",\s*$", before))
    segment = before.rstrip().rstrip(",").rstrip() if comma_form else before
    pieces = _SEGMENT_BREAK.split(segment)
    segment_text = pieces[-1] if pieces else ""
    hits = list(pat.roles.finditer(segment_text))
    if not hits:
        return None
    hit = hits[0] if comma_form else hits[-1]
    tail_words = segment_text[hit.end() :].split()
    if len(tail_words) > (8 if comma_form else 3):
        return None
    if not comma_form and any(
        w[:1].islower() and w.lower() not in pat.nationalities and w.lower() not in pat.role_words
        for w in tail_words
    ):
        return None
    # Extend back over modifiers such as "Ukrainian", "U.S. Defense", "Albania's".
    start_at = hit.start()
    words_before = list(re.finditer(r"[^\s]+", segment_text[: hit.start()]))
    for w in reversed(words_before):
        word = w.group()
        if (
            word.lower() in pat.nationalities
            or (_is_cap(word) and word.lower() not in pat.stop)
            or re.fullmatch(r"(?:[A-Z]\.)+", word)
        ):
            start_at = w.start()
            continue
        break
    role = segment_text[start_at:].strip()
    role = strip_determiner(role, lex)
    return role if 0 < len(role.split()) <= 12 else None


@dataclass
class Registry:
    """What the text has said so far about people: full names, roles, the current focus."""

    lex: Lexicon
    people: dict[str, str | None] = field(default_factory=dict)  # full name -> role
    order: list[str] = field(default_factory=list)  # most recent last
    focus: str | None = None  # the last person who spoke or acted as subject
    focus_paragraph: int = -1
    current: frozenset[str] = frozenset()  # the people named in the sentence being read

    def full_name(self, name: str) -> str | None:
        """Map a bare surname ("Rutte") or a known full name to the full name seen before."""
        if name in self.people:
            return name
        for known in reversed(self.order):
            parts = known.split()
            if len(parts) > 1 and (parts[-1] == name or " ".join(parts[1:]) == name):
                return known
        # Family name first ("Geng Shuang" then "Geng"): only for two-word names.
        for known in reversed(self.order):
            parts = known.split()
            if len(parts) == 2 and parts[0] == name:
                return known
        return None

    def observe(self, text: str) -> list[Mention]:
        """Register the people and roles named in one sentence; return its mentions."""
        mentions = find_mentions(text, self.lex)
        names: set[str] = set()
        for m in mentions:
            if not m.person:
                continue
            name = self.full_name(m.text) or m.text
            if " " not in name and name not in self.people:
                # A lone surname after an honorific: remember it, it may be all we get.
                pass
            role = role_after(text, m.end, self.lex) or role_before(text, m.start, self.lex)
            if name not in self.people or (role and not self.people[name]):
                self.people[name] = role
            if name in self.order:
                self.order.remove(name)
            self.order.append(name)
            names.add(name)
        self.current = frozenset(names)
        return mentions

    def latter(self) -> str | None:
        """ "ce dernier" / "the latter": the last person named before, other than the focus."""
        earlier = [n for n in self.order if n not in self.current]
        for name in reversed(earlier):
            if name != self.focus:
                return name
        return self.focus

    def by_role(self, role_phrase: str) -> str | None:
        """The most recent person whose known role shares the role noun or an organisation."""
        pat = _patterns(self.lex)
        nouns = {m.group().lower() for m in pat.roles.finditer(role_phrase)}
        caps = {
            w
            for w in re.findall(r"[^\W\d_][\w‑-]+", role_phrase)
            if _is_cap(w) and w.lower() not in pat.stop
        }
        for known in reversed(self.order):
            role = self.people.get(known)
            if not role:
                continue
            known_nouns = {m.group().lower() for m in pat.roles.finditer(role)}
            if nouns & known_nouns or (caps and caps & set(role.split())):
                return known
        return None

    def set_focus(self, name: str, paragraph: int) -> None:
        self.focus = name
        self.focus_paragraph = paragraph

    def current_focus(self, paragraph: int, max_distance: int = 4) -> str | None:
        """The person a pronoun most likely refers to, if seen recently enough."""
        if self.focus and paragraph - self.focus_paragraph <= max_distance:
            return self.focus
        return None


def is_pronoun(phrase: str, lex: Lexicon) -> bool:
    return bool(_patterns(lex).pronoun.fullmatch(phrase.strip()))


def resolve_phrase(phrase: str, registry: Registry, paragraph: int) -> Speaker | None:
    """Resolve a subject phrase to a speaker: a name, a pronoun, a role or a collective.

    Args:
        phrase: the noun phrase in subject (or inverted subject) position.
        registry: the people seen so far.
        paragraph: the paragraph index, to limit how far back a pronoun reaches.
    """
    lex = registry.lex
    pat = _patterns(lex)
    phrase = phrase.strip(" ,;:.")
    if not phrase:
        return None
    if is_pronoun(phrase, lex):
        if phrase.lower() in lex.lower_set("plural_pronouns"):
            return None
        if " ".join(phrase.lower().split()) in pat.anaphors:
            who = registry.latter()
            return Speaker(who, registry.people.get(who), "pronoun") if who else None
        who = registry.current_focus(paragraph)
        return Speaker(who, registry.people.get(who), "pronoun") if who else None
    mentions = find_mentions(phrase, lex)
    persons = [m for m in mentions if m.person]
    if persons:
        m = persons[-1]
        name = registry.full_name(m.text) or m.text
        role = role_after(phrase, m.end, lex) or role_before(phrase, m.start, lex)
        return Speaker(name, role or registry.people.get(name), "person")
    words = phrase.split()
    if len(words) == 1 or (len(words) <= 2 and _is_cap(words[-1])):
        known = registry.full_name(words[-1])
        if known:
            return Speaker(known, registry.people.get(known), "surname")
    bare = strip_determiner(phrase, lex)
    if (
        bare
        and pat.roles.search(bare)
        and len(bare.split()) <= 8
        and (not _is_cap(bare.split()[0]) or pat.roles.match(bare))
    ):
        who = registry.by_role(bare)
        focus = registry.current_focus(paragraph, max_distance=2)
        if who is None and focus:
            # "la ministre" after a person whose role is unknown or shares the role noun.
            nouns = {m.group().lower() for m in pat.roles.finditer(bare)}
            known = {
                m.group().lower() for m in pat.roles.finditer(registry.people.get(focus) or "")
            }
            if not known or nouns & known:
                who = focus
        if who:
            return Speaker(who, registry.people.get(who) or bare, "role")
        if bare.split()[0][:1].islower():
            return None
    if len(bare.split()) > 6 or not bare:
        return None
    if any(w.lower().strip("'’") in pat.speaker_stop for w in re.split(r"[\s'’]+", bare)):
        return None
    first = bare.split()[0]
    if pat.collectives.search(bare) or (_is_cap(first) and first.lower() not in pat.stop):
        if pat.pronoun.search(bare.split()[0]):
            return None
        return Speaker(bare, None, "collective")
    return None
