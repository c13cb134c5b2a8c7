"""Trafilatura wrapper: HTML in, :class:`~pipeline.models.Article` out (pure, no I/O)."""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import urlsplit

from pipeline.errors import ExtractionError, NotAnArticleError
from pipeline.models import Article

# Short function words that separate the languages we split, and German which we detect.
_STOPWORDS: dict[str, frozenset[str]] = {
    "fr": frozenset(
        [
            "le",
            "la",
            "les",
            "des",
            "du",
            "un",
            "une",
            "et",
            "est",
            "sont",
            "dans",
            "pour",
            "par",
            "sur",
            "avec",
            "que",
            "qui",
            "pas",
            "plus",
            "au",
            "aux",
            "ce",
            "cette",
            "il",
            "elle",
            "ont",
            "été",
        ]
    ),
    "en": frozenset(
        [
            "the",
            "of",
            "and",
            "to",
            "in",
            "is",
            "are",
            "was",
            "were",
            "for",
            "on",
            "with",
            "that",
            "this",
            "by",
            "from",
            "at",
            "as",
            "it",
            "has",
            "have",
            "be",
            "will",
        ]
    ),
    "de": frozenset(
        [
            "der",
            "die",
            "das",
            "und",
            "ist",
            "sind",
            "nicht",
            "mit",
            "von",
            "den",
            "dem",
            "ein",
            "eine",
            "zu",
            "auf",
            "für",
            "im",
            "sich",
            "auch",
            "wurde",
        ]
    ),
}
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_HTML_LANG = re.compile(r"<html[^>]*\blang\s*=\s*[\"']?([a-zA-Z]{2,3})", re.IGNORECASE)


def guess_language(text: str) -> str | None:
    """Guess the language of ``text`` from function words; None when unsure."""
    counts: Counter[str] = Counter()
    for word in _WORD.findall(text[:5000].lower()):
        for lang, words in _STOPWORDS.items():
            if word in words:
                counts[lang] += 1
    if not counts:
        return None
    ranked = [*counts.most_common(2), ("", 0)]
    (best, n), (_, runner_up) = ranked[0], ranked[1]
    return best if n >= 5 and n >= 1.5 * runner_up else None


def declared_language(html: str) -> str | None:
    match = _HTML_LANG.search(html[:4000])
    return match.group(1).lower()[:2] if match else None


def extract_article(html: str | bytes, url: str, *, min_chars: int = 250) -> Article:
    """Extract the main text and metadata of one page.

    Raises:
        ExtractionError: Trafilatura could not parse the page.
        NotAnArticleError: the page has no main text of at least ``min_chars`` characters.
    """
    import trafilatura  # heavy: imported where it is used

    if isinstance(html, bytes):
        html = decode_html(html)
    try:
        doc = trafilatura.bare_extraction(
            html,
            url=url if url.startswith(("http://", "https://")) else None,
            with_metadata=True,
            include_comments=False,
            include_tables=False,
        )
    except Exception as exc:  # trafilatura raises assorted lxml errors on broken input
        raise ExtractionError(f"trafilatura failed: {exc}", source=url) from exc
    text = (getattr(doc, "text", None) or "").strip() if doc is not None else ""
    if len(text) < min_chars:
        raise NotAnArticleError(
            f"no article text: {len(text)} characters extracted, at least {min_chars} needed",
            source=url,
        )
    text_language = guess_language(text)
    language = text_language or doc.language or declared_language(html)
    canonical = doc.url if doc.url and doc.url.startswith(("http://", "https://")) else url
    return Article.build(
        url=canonical,
        fetched_url=url,
        text=text,
        title=doc.title,
        author=doc.author,
        published_at=doc.date,
        language=language,
        source=doc.sitename or doc.hostname or urlsplit(canonical).hostname,
    )


_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([A-Za-z0-9_\-]+)", re.IGNORECASE)


def decode_html(body: bytes, declared: str | None = None) -> str:
    """Decode page bytes: the declared charset, then the page's meta charset, then UTF-8."""
    candidates = [declared]
    match = _META_CHARSET.search(body[:4096])
    if match:
        candidates.append(match.group(1).decode("ascii"))
    for encoding in [*candidates, "utf-8"]:
        if not encoding:
            continue
        try:
            return body.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    return body.decode("utf-8", errors="replace")
