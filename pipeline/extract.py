"""Trafilatura wrapper: HTML in, :class:`~pipeline.models.Article` out (pure, no I/O).

The article text is exactly what ``trafilatura.extract(html, url=url,
**EXTRACTION_OPTIONS.kwargs())`` returns: the pipeline adds nothing and loses nothing, and
event offsets index into that text. The options live in one place, :data:`EXTRACTION_OPTIONS`.

One guard runs before Trafilatura: a page with more than :data:`MAX_MARKUP_TAGS` tags is
refused, since Trafilatura's time grows faster than linearly with the number of elements
(measured: 25,000 sibling ``<p>x`` take 5 s, 50,000 take 21 s, 100,000 take 50 s, so a
10 MB page of them would take hours), while real pages have a few thousand (2,047 at most
in the test corpus). Deep nesting costs no time (libxml2 stops parsing at 256 levels:
100,000 nested ``<div>`` take under a second) but loses the rest of the page: when a page
gives too little text, that is the reason given. Long lines and large texts cost time in
proportion to their size, which the fetcher's size cap bounds.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from pipeline.charset import decode_html
from pipeline.errors import ExtractionError, NotAnArticleError
from pipeline.models import Article

__all__ = [
    "EXTRACTION_OPTIONS",
    "MAX_MARKUP_TAGS",
    "ExtractionOptions",
    "declared_language",
    "decode_html",
    "extract_article",
    "find_date",
    "guess_language",
]


@dataclass(frozen=True)
class ExtractionOptions:
    """The Trafilatura options of the pipeline, passed as one object.

    Comments and tables stay out: comments are not the publisher's text and tables break
    sentences apart. Changing an option changes article texts, hence every event id.
    """

    include_comments: bool = False
    include_tables: bool = False
    include_formatting: bool = False
    include_links: bool = False
    include_images: bool = False
    favor_precision: bool = False
    favor_recall: bool = False
    deduplicate: bool = False

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``trafilatura.extract`` and ``bare_extraction``."""
        return asdict(self)


EXTRACTION_OPTIONS = ExtractionOptions()
MAX_MARKUP_TAGS = 30_000
LIBXML2_MAX_DEPTH = 256
_START_TAG = re.compile(r"<[A-Za-z]")


def nested_too_deep(html: str) -> bool:
    """libxml2 stopped parsing ``html`` at its nesting limit (checked only when a page gave
    too little text: a second parse of every page would cost 8 % of the extraction time)."""
    from lxml import etree

    parser = etree.HTMLParser(collect_ids=False)
    try:
        etree.fromstring(html, parser)
    except (etree.LxmlError, ValueError):
        return False
    return any("Excessive depth" in error.message for error in parser.error_log)


def more_tags_than(html: str, limit: int) -> bool:
    """``html`` has more than ``limit`` start tags (counting stops at ``limit + 1``)."""
    if html.count("<") <= limit:  # C speed: real pages stop here
        return False
    return any(n > limit for n, _ in enumerate(_START_TAG.finditer(html), 1))


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


_MONTHS: dict[str, int] = {
    name: number
    for number, names in enumerate(
        [
            ("january", "janvier", "januar", "jan"),
            ("february", "février", "fevrier", "februar", "feb", "fév"),
            ("march", "mars", "märz", "mar"),
            ("april", "avril", "apr"),
            ("may", "mai"),
            ("june", "juin", "juni", "jun"),
            ("july", "juillet", "juli", "jul"),
            ("august", "août", "aout", "aug"),
            ("september", "septembre", "sep", "sept"),
            ("october", "octobre", "oktober", "oct", "okt"),
            ("november", "novembre", "nov"),
            ("december", "décembre", "decembre", "dezember", "dec", "dez", "déc"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = "|".join(sorted(map(re.escape, _MONTHS), key=len, reverse=True))
_URL_DATE = re.compile(r"/((?:19|20)\d\d)[/-](0[1-9]|1[0-2])[/-](0[1-9]|[12]\d|3[01])(?:[/-]|$)")
_ISO_DATE = re.compile(r"\b((?:19|20)\d\d)-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])\b")
_DAY_MONTH_YEAR = re.compile(
    rf"\b([0-3]?\d)(?:er|st|nd|rd|th)?\.? ({_MONTH})\.? ((?:19|20)\d\d)\b", re.IGNORECASE
)
_MONTH_DAY_YEAR = re.compile(
    rf"\b({_MONTH})\.? ([0-3]?\d)(?:st|nd|rd|th)?, ((?:19|20)\d\d)\b", re.IGNORECASE
)


def _month(name: str) -> int:
    """The number of a month name the case-insensitive regexes matched: ``re.IGNORECASE``
    also matches "ſept" (long s) or "aprıl" (dotless i), which ``lower()`` does not map back."""
    if (number := _MONTHS.get(name.lower())) is not None:
        return number
    return next(n for key, n in _MONTHS.items() if re.fullmatch(re.escape(key), name, re.I))


def _iso(year: int, month: int, day: int) -> str | None:
    from datetime import date

    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def find_date(metadata_date: str | None, url: str, text: str) -> tuple[str | None, str | None]:
    """The publication date and where it came from: ``metadata``, ``url`` or ``text``.

    Metadata is what Trafilatura's htmldate finds in the markup; else a ``/2024/11/22/``
    path in the URL; else the first full date in the opening of the text (the byline).
    """
    if metadata_date:
        return metadata_date, "metadata"
    match = _URL_DATE.search(urlsplit(url).path)
    if match and (found := _iso(*map(int, match.groups()))):
        return found, "url"
    opening = text[:1500]
    candidates: list[tuple[int, str]] = []
    if (match := _ISO_DATE.search(opening)) and (found := _iso(*map(int, match.groups()))):
        candidates.append((match.start(), found))
    if match := _DAY_MONTH_YEAR.search(opening):
        day, month, year = match.groups()
        if found := _iso(int(year), _month(month), int(day)):
            candidates.append((match.start(), found))
    if match := _MONTH_DAY_YEAR.search(opening):
        month, day, year = match.groups()
        if found := _iso(int(year), _month(month), int(day)):
            candidates.append((match.start(), found))
    if candidates:
        return min(candidates)[1], "text"
    return None, None


def extract_article(
    html: str | bytes,
    url: str,
    *,
    min_chars: int = 250,
    max_chars: int = 200_000,
    language_hint: str | None = None,
    charset: str | None = None,
    options: ExtractionOptions = EXTRACTION_OPTIONS,
    max_tags: int = MAX_MARKUP_TAGS,
) -> Article:
    """Extract the main text and metadata of one page.

    The language is detected from the text; the page's declared language, then the
    source's ``language_hint``, are fallbacks when the text does not tell. The article's
    URL is the page's canonical URL when it declares an absolute http(s) one.

    Raises:
        ExtractionError: the page has more than ``max_tags`` tags, or Trafilatura could not
            parse it.
        NotAnArticleError: the page has no main text of at least ``min_chars`` characters.
        ExtractionError: the text is longer than ``max_chars`` (its message would not fit
            a Kafka record).
    """
    import trafilatura  # heavy: imported where it is used
    from trafilatura.utils import normalize_unicode

    if isinstance(html, bytes):
        html = decode_html(html, charset)
    if more_tags_than(html, max_tags):
        raise ExtractionError(
            f"too much markup: more than {max_tags} tags (Trafilatura's time grows faster "
            "than the number of elements; real pages have a few thousand)",
            source=url,
        )
    web_url = url if url.startswith(("http://", "https://")) else None
    try:
        doc = trafilatura.bare_extraction(html, url=web_url, with_metadata=True, **options.kwargs())
    except Exception as exc:  # trafilatura raises assorted lxml errors on broken input
        raise ExtractionError(f"trafilatura failed: {exc}", source=url) from exc
    # extract() NFC-normalises its text output; bare_extraction() does not.
    text = normalize_unicode((getattr(doc, "text", None) or "").strip()) if doc is not None else ""
    if not text or len(text) < min_chars:
        if nested_too_deep(html):
            raise ExtractionError(
                f"markup nested deeper than {LIBXML2_MAX_DEPTH} levels: libxml2 stops parsing "
                f"there and the rest of the page is lost ({len(text)} characters extracted)",
                source=url,
            )
        raise NotAnArticleError(
            f"no article text: {len(text)} characters extracted, at least {min_chars} needed",
            source=url,
        )
    if len(text) > max_chars:
        raise ExtractionError(
            f"article text too long: {len(text)} characters, at most {max_chars} "
            "(PIPELINE_MAX_ARTICLE_CHARS keeps the article's Kafka message under the broker's "
            "1 MB limit)",
            source=url,
        )
    assert doc is not None  # the text is empty without a document
    language = guess_language(text) or doc.language or declared_language(html) or language_hint
    canonical = doc.url if doc.url and doc.url.startswith(("http://", "https://")) else url
    published_at, published_at_source = find_date(
        doc.date, canonical if web_url is None else url, text
    )
    return Article.build(
        url=canonical,
        fetched_url=url,
        text=text,
        title=doc.title,
        author=doc.author,
        published_at=published_at,
        published_at_source=published_at_source,
        language=language,
        source=doc.sitename or doc.hostname or urlsplit(canonical).hostname,
    )
