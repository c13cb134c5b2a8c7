"""Per-language lexicons: YAML data files loaded once and compiled into regexes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

SUPPORTED_LANGUAGES = ("fr", "en", "de")


def _unit(ch: str) -> str:
    if ch == " ":
        return r"\s+"
    if ch in "'’":
        return "['’]"
    return re.escape(ch)


def _trie_regex(node: dict[str, Any]) -> str:
    """A regex for the phrases stored in a character trie (shared prefixes factored out)."""
    end = "" in node
    branches = [_unit(ch) + _trie_regex(child) for ch, child in sorted(node.items()) if ch]
    if not branches:
        return ""
    if len(branches) == 1 and not end:
        return branches[0]
    body = "(?:" + "|".join(branches) + ")"
    return body + "?" if end else body


def phrase_pattern(phrases: list[str] | tuple[str, ...]) -> str:
    """An alternation of literal phrases with flexible whitespace and apostrophes.

    Built as a trie so that long word lists stay fast: Python's ``re`` tries alternatives
    one by one, so factoring shared prefixes matters. Longer phrases win over their prefixes
    because regex quantifiers are greedy.
    """
    trie: dict[str, Any] = {}
    for phrase in phrases:
        words = " ".join(str(phrase).split())
        if not words:
            continue
        node = trie
        for ch in words.replace("’", "'"):
            node = node.setdefault(ch, {})
        node[""] = {}
    return _trie_regex(trie) if trie else r"(?!x)x"


def word_pattern(phrases: list[str] | tuple[str, ...]) -> str:
    """Like :func:`phrase_pattern`, bounded so that only whole words match."""
    # A phrase ending in an apostrophe ("d'", "qu'") runs straight into the next word.
    return rf"(?<![\w-])(?:{phrase_pattern(phrases)})(?:(?<=['’])|(?![\w-]))"


@dataclass(frozen=True, eq=False)
class Lexicon:
    """The word lists of one language plus the regexes built from them once."""

    language: str
    data: dict[str, Any]
    regex: dict[str, re.Pattern[str]] = field(default_factory=dict)

    def words(self, *path: str) -> list[str]:
        """The list at ``path`` (e.g. ``"reporting", "present"``); empty when missing."""
        node: Any = self.data
        for key in path:
            node = node.get(key, {}) if isinstance(node, dict) else {}
        return list(node) if isinstance(node, list | dict) else []

    def mapping(self, *path: str) -> dict[str, Any]:
        """The mapping at ``path``; empty when missing."""
        node: Any = self.data
        for key in path:
            node = node.get(key, {}) if isinstance(node, dict) else {}
        return dict(node) if isinstance(node, dict) else {}

    def value(self, *path: str, default: Any = None) -> Any:
        node: Any = self.data
        for key in path:
            if not isinstance(node, dict) or key not in node:
                return default
            node = node[key]
        return node

    def lower_set(self, *path: str) -> frozenset[str]:
        return frozenset(w.lower() for w in self.words(*path))


def _compile(data: dict[str, Any]) -> dict[str, re.Pattern[str]]:
    """Compile the regexes every module shares, once per language."""
    lex = Lexicon(language=data["language"], data=data)
    flags = re.IGNORECASE
    months = phrase_pattern(lex.words("dates", "months"))
    out: dict[str, re.Pattern[str]] = {
        "date": re.compile(
            lex.value("dates", "date_pattern", default=r"(?!x)x").replace("{months}", months), flags
        ),
        "weekday": re.compile(word_pattern(lex.words("dates", "weekdays")), flags),
        "relative_day": re.compile(word_pattern(lex.words("dates", "relative_days")), flags),
        "same_day": re.compile(word_pattern(lex.words("dates", "same_day")), flags),
        "relative_month": re.compile(word_pattern(lex.words("dates", "relative_months")), flags),
        "relative_year": re.compile(word_pattern(lex.words("dates", "relative_years")), flags),
    }
    prefix = lex.value("dates", "period_prefix", default="")
    for name in ("month_period", "year_period"):
        pattern = lex.value("dates", name, default=r"(?!x)x")
        out[name] = re.compile(
            pattern.replace("{prefix}", prefix).replace("{months}", months), flags
        )
    return out


def check_strings(node: Any, where: str) -> None:
    """Fail early on YAML surprises such as a bare ``no`` or ``on`` read as a boolean."""
    if isinstance(node, dict):
        for key, value in node.items():
            check_strings(value, f"{where}:{key}")
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, bool):
                raise ValueError(f"{where}: boolean {item!r} in a word list; quote it")
            check_strings(item, where)


@cache
def load_lexicon(language: str) -> Lexicon | None:
    """The lexicon of ``language`` (ISO 639-1), or None when there is no data file for it."""
    if not language or language.lower()[:2] not in SUPPORTED_LANGUAGES:
        return None
    name = f"{language.lower()[:2]}.yaml"
    path = resources.files("pipeline.events") / "lexicons" / name
    if not path.is_file():
        return None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    check_strings(data, name)
    return Lexicon(language=data["language"], data=data, regex=_compile(data))
