"""Sentence splitting with character offsets into the article text.

Trafilatura puts each paragraph or heading on its own line, so lines are split first; a
short line without final punctuation is a heading and never yields events.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TERMINAL = ".!?…"
_CLOSERS = "»”\"')]’"
_OPENERS = {"«": "»", "“": "”"}
_LINE = re.compile(r"[^\n]+")
_WORD = re.compile(r"\w+", re.UNICODE)
_BULLET = re.compile(r"^\s*(?:[-•*–—·]|\d+[.)])\s")
_ABBREV_TOKEN = re.compile(r"([\w.’'-]+)$", re.UNICODE)
# Only the first character of a run of end punctuation starts a match, and the run is taken
# whole (possessive): a long run without a following space stays linear, not quadratic.
_CANDIDATE = re.compile(r"(?<![.!?…])([.!?…]++)([»”')\]’]*)\s+(?=[^\W_a-zß-ÿ]|[«“\"'(—–-])")
MAX_HEADING_WORDS = 22


@dataclass(frozen=True)
class Sentence:
    """One sentence: ``text == article_text[start:end]``."""

    start: int
    end: int
    text: str
    paragraph: int
    heading: bool = False


def is_heading(line: str) -> bool:
    """A line is a heading (or list item) when it does not end like a sentence and is short."""
    stripped = line.strip()
    if _BULLET.match(stripped):
        return True
    if stripped and stripped[-1] in _TERMINAL + _CLOSERS + ":;":
        return False
    return len(_WORD.findall(stripped)) <= MAX_HEADING_WORDS


def _dotted(before: str) -> bool:
    """Whether the token before a period is a dotted abbreviation such as "U.S" or "a.m"."""
    match = _ABBREV_TOKEN.search(before)
    return bool(match) and "." in match.group(1).rstrip(".")


def _is_abbreviation(before: str, abbreviations: frozenset[str]) -> bool:
    """Whether the token ending just before a period is an abbreviation or an initial."""
    match = _ABBREV_TOKEN.search(before)
    if not match:
        return False
    token = match.group(1).lstrip("(«“\"'’")
    bare = token.rstrip(".")
    if len(bare) == 1 and bare.isalpha() and bare.isupper():
        return True  # an initial: "J. Smith"
    if "." in bare and all(len(p) <= 2 for p in bare.split(".") if p):
        return True  # "U.S", "a.m", "J.-C"
    return bare.lower() in abbreviations or bare in abbreviations


def _boundaries(
    line: str,
    abbreviations: frozenset[str],
    track_quotes: bool,
    starters: frozenset[str] = frozenset(),
) -> list[int] | None:
    """End offsets of sentences in ``line``; None when quotes are unbalanced."""
    ends: list[int] = []
    depth = 0
    straight = 0
    last = 0
    for m in _CANDIDATE.finditer(line):
        if track_quotes:
            chunk = line[last : m.start()]
            depth += chunk.count("«") + chunk.count("“") - chunk.count("»") - chunk.count("”")
            straight += chunk.count('"')
            last = m.start()
            if depth > 0 or straight % 2:
                continue
        if (
            m.group(1).startswith(".")
            and len(m.group(1)) == 1
            and _is_abbreviation(line[: m.start()], abbreviations)
        ):
            # "… exports to the U.S. He rejected …": a dotted abbreviation ends the sentence
            # when a pronoun or an article starts the next one.
            next_word = line[m.end() :].split(" ", 1)[0]
            if not (next_word in starters and _dotted(line[: m.start()])):
                continue
        ends.append(m.start() + len(m.group(1)) + len(m.group(2)))
    if track_quotes:
        chunk = line[last:]
        depth += chunk.count("«") + chunk.count("“") - chunk.count("»") - chunk.count("”")
        straight += chunk.count('"')
        if depth != 0 or straight % 2:
            return None
    return ends


def split_sentences(
    text: str,
    abbreviations: frozenset[str] = frozenset(),
    starters: frozenset[str] = frozenset(),
) -> list[Sentence]:
    """Split ``text`` into sentences whose offsets index into ``text``.

    Args:
        text: the article text (lines are paragraphs or headings).
        abbreviations: tokens (without their final period) that do not end a sentence.
        starters: capitalised words that start a new sentence even after a dotted
            abbreviation ("U.S. He ...").
    """
    abbreviations = frozenset(a.lower() for a in abbreviations) | abbreviations
    sentences: list[Sentence] = []
    for paragraph, match in enumerate(_LINE.finditer(text)):
        line = match.group(0)
        if not line.strip():
            continue
        base = match.start()
        if is_heading(line):
            lead = len(line) - len(line.lstrip())
            body = line.strip()
            sentences.append(Sentence(base + lead, base + lead + len(body), body, paragraph, True))
            continue
        ends = _boundaries(line, abbreviations, True, starters)
        if ends is None:
            ends = _boundaries(line, abbreviations, False, starters) or []
        start = 0
        for end in [*ends, len(line)]:
            chunk = line[start:end]
            lead = len(chunk) - len(chunk.lstrip())
            body = chunk.strip()
            if body:
                s = base + start + lead
                sentences.append(Sentence(s, s + len(body), body, paragraph))
            start = end
    return sentences
