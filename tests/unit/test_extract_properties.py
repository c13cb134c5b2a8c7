"""Property-based tests: generated HTML and bytes never break the extraction contract.

Generated documents (random trees of real tags with attributes, multilingual text, entities,
comments, unclosed tags, stray ``<`` and ``&``, control characters and NUL bytes) and random
or mis-encoded bytes go through :func:`~pipeline.extract.extract_article`, then
:func:`~pipeline.events.split_events` and :func:`~pipeline.publish.to_message`. Whatever the
input, the chain keeps its contract (see :func:`run_chain`). The fuzz run over mutated corpus
pages (``test_fuzz_html_to_events.py``) checks the same contract with the same helpers.

These tests are derandomized and database-free: every run checks the same examples.
"""

from __future__ import annotations

import codecs
import hashlib
import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import jsonschema
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from pipeline.errors import ExtractionError, NotAnArticleError
from pipeline.events import split_events
from pipeline.extract import extract_article
from pipeline.models import Article, DeadLetter, Event, stable_id
from pipeline.publish import to_message
from pipeline.runner import dead_letter_from_error
from pipeline.settings import Settings
from tests.conftest import REPO_ROOT

PROPERTY_SETTINGS = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# For properties of well-formed article pages, where fewer examples cover the space.
FEWER = settings(PROPERTY_SETTINGS, max_examples=40)

# --------------------------------------------------------------------------------------------
# The contract, shared with the fuzz run.
# --------------------------------------------------------------------------------------------

MESSAGE_SETTINGS = Settings()


@cache
def _validator(name: str) -> jsonschema.protocols.Validator:
    schema = json.loads((REPO_ROOT / "schemas" / f"{name}.schema.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def assert_valid_json(value: bytes, schema: str) -> dict[str, Any]:
    """``value`` is UTF-8 JSON that validates against ``schemas/<schema>.schema.json``."""
    document = json.loads(value.decode("utf-8"))
    errors = [
        f"{list(e.absolute_path)}: {e.message}" for e in _validator(schema).iter_errors(document)
    ]
    assert not errors, errors
    return document


@dataclass
class ChainResult:
    """What one input became: an article and its events, or the extraction error."""

    article: Article | None = None
    events: list[Event] = field(default_factory=list)
    error: ExtractionError | None = None

    def fingerprint(self) -> object:
        """Everything that must be identical when the same input is extracted again."""
        if self.article is None:
            assert self.error is not None
            return (type(self.error).__name__, self.error.reason)
        return (
            self.article.model_dump(exclude={"ingested_at"}),
            [e.model_dump(exclude={"ingested_at"}) for e in self.events],
        )


def check_article(article: Article, url: str, min_chars: int) -> None:
    """The article's text, fingerprint, id and message keep what the models document."""
    assert article.text, "an article never has an empty text"
    assert len(article.text) >= min_chars
    assert article.text == article.text.strip()
    assert article.content_sha256 == hashlib.sha256(article.text.encode("utf-8")).hexdigest()
    # The id is derived from the article's URL: the canonical one when the page declares an
    # absolute http(s) URL, else the URL the page was read from.
    assert article.article_id == stable_id("article", article.url, length=24)
    assert article.fetched_url == url
    assert article.url == url or article.url.startswith(("http://", "https://"))
    message = to_message(article, MESSAGE_SETTINGS)
    assert message.topic == MESSAGE_SETTINGS.topic_articles
    assert message.key == article.article_id
    assert dict(message.headers)["ce_id"] == article.article_id.encode()
    assert_valid_json(message.value, "article")
    assert Article.model_validate_json(message.value) == article


def check_events(article: Article, events: list[Event]) -> None:
    """Offsets index into the text, ids are stable and unique, messages validate."""
    ids = [e.event_id for e in events]
    assert len(ids) == len(set(ids)), "event ids must be unique within an article"
    for e in events:
        start, end = e.evidence.start, e.evidence.end
        assert 0 <= start < end <= len(article.text)
        assert article.text[start:end] == e.evidence.text
        assert e.evidence.text.strip() == e.evidence.text != ""
        assert e.event_id == Event.make_id(article.content_sha256, e.event_type, start, end)
        assert e.details.kind == e.event_type
        assert e.article == article.ref()
        assert 0.0 <= e.confidence <= 1.0
        message = to_message(e, MESSAGE_SETTINGS)
        assert message.topic == MESSAGE_SETTINGS.topic_for(e.event_type)
        assert message.key == article.article_id
        assert dict(message.headers)["ce_id"] == e.event_id.encode()
        assert_valid_json(message.value, "event")
        assert Event.model_validate_json(message.value) == e
    assert [e.event_id for e in split_events(article)] == ids, "splitting is deterministic"


def check_error(error: ExtractionError, url: str) -> None:
    """A failed page becomes a dead letter that validates against its schema."""
    assert error.source == url
    assert error.stage == "extract"
    dead = dead_letter_from_error(error, url)
    message = to_message(dead, MESSAGE_SETTINGS)
    assert message.topic == MESSAGE_SETTINGS.topic_dead_letter
    assert_valid_json(message.value, "dead_letter")
    assert DeadLetter.model_validate_json(message.value) == dead


def run_chain(
    html: str | bytes,
    url: str,
    *,
    min_chars: int = 250,
    charset: str | None = None,
    language_hint: str | None = None,
) -> ChainResult:
    """HTML -> Article -> events -> messages, asserting the contract at every step.

    Only :class:`ExtractionError` may escape extraction (anything else fails the test).
    """
    try:
        article = extract_article(
            html, url, min_chars=min_chars, charset=charset, language_hint=language_hint
        )
    except ExtractionError as exc:
        check_error(exc, url)
        return ChainResult(error=exc)
    check_article(article, url, min_chars)
    events = split_events(article)
    check_events(article, events)
    return ChainResult(article=article, events=events)


def run_chain_twice(html: str | bytes, url: str, **options: Any) -> ChainResult:
    """:func:`run_chain`, and the same input again gives the same ids, text and events."""
    first = run_chain(html, url, **options)
    assert run_chain(html, url, **options).fingerprint() == first.fingerprint()
    return first


def outcome(result: ChainResult) -> str:
    """A label for Hypothesis' statistics (``--hypothesis-show-statistics``)."""
    if result.error is not None:
        return type(result.error).__name__
    return "article with events" if result.events else "article without events"


# --------------------------------------------------------------------------------------------
# Strategies: text, markup, documents, bytes.
# --------------------------------------------------------------------------------------------

# Article-like sentences: statements, military updates, commitments, dates (including ones
# at the ends of the calendar and month names that only match case-insensitively).
PROSE = [
    "The minister said on Tuesday that the talks would continue.",
    '"We will not give up," President Jane Doe told reporters in Kyiv.',
    "Russian forces captured the village of Robotyne, the defence ministry said.",
    "Air defences shot down 33 drones over Kyiv overnight, the air force said.",
    "NATO allies pledged to spend 5% of GDP on defence by 2035.",
    "According to officials, 12 000 people were evacuated from Kramatorsk.",
    "Le ministre a déclaré mardi que les négociations se poursuivraient.",
    "« Nous ne céderons pas », a affirmé Emmanuel Macron devant la presse.",
    "Les forces russes ont pris le contrôle du village, selon l'armée ukrainienne.",
    "Les alliés se sont engagés à consacrer 5 % du PIB à la défense d'ici 2035.",
    "Der Kanzler sagte am Dienstag, die Lage sei ernst.",
    "Published on 22 November 2024.",
    "Le 1er ſeptembre 2099, le gouvernement a annoncé un plan.",
    "On ſept. 3, 1990, the minister said the deal was done.",
    "On December 31, 9999, the minister said the war was over.",
    "Tomorrow, he said, the army will withdraw.",
    "On 1 January 0001 the council met; yesterday it said it would meet on Sunday.",
    "The same day, the president said the truce would hold.",
    "2024-02-30 was not a day.",
    "M. Dupont, U.S. officials and J. Smith said so.",
    "He said: « il a dit “ oui ” » … and left!",
    "Il a ajouté : « C'est fini. »",
]

SNIPPETS = [
    "Президент заявил, что переговоры продолжатся.",
    "Ο υπουργός δήλωσε ότι η κατάσταση είναι σοβαρή.",
    "قال الوزير إن الوضع خطير.",
    "השר אמר כי המצב חמור.",
    "外交部发言人表示，双方将继续对话。",
    "首相は記者団に対し、状況は深刻だと述べた。",
    "대통령은 협상이 계속될 것이라고 말했다.",
    "प्रधानमंत्री ने कहा कि स्थिति गंभीर है।",
    "นายกรัฐมนตรีกล่าวว่าสถานการณ์ร้ายแรง",
    "👩‍👩‍👧‍👦 🇺🇦 🏳️‍🌈 🙂",
    "e\u0301te\u0301 A\u030a ﬁ ﬀ Ω",
    "İstanbul ıſtanbul \u212aelvin ß ẞ",
    "\u200b\u200c\u200d\u2060\ufeff",
    "\u202eevil\u202c \u2028 \u2029 \x85",
    "２０２４年１月３日 ٣١ ديسمبر ٢٠٢٤",
    "\ufffe\uffff\U0010ffff\ue000",
]

ENTITIES = [
    "&amp;",
    "&lt;",
    "&gt;",
    "&quot;",
    "&nbsp;",
    "&eacute;",
    "&#8217;",
    "&#x1F600;",
    "&#0;",
    "&#x0;",
    "&#xD800;",
    "&#xDFFF;",
    "&#1114112;",
    "&#99999999999;",
    "&#x110000;",
    "&bogus;",
    "&",
    "&#",
    "&#x;",
    "&amp",
    "&copy",
]

JUNK = [
    "<",
    "<<",
    "</",
    "< p>",
    "</ p>",
    "<>",
    "</>",
    "<!-->",
    "<!-- a comment -->",
    "<!-- unclosed comment",
    "-->",
    "<![CDATA[x < y]]>",
    "<?xml version='1.0' encoding='utf-8'?>",
    "<?php echo 1; ?>",
    "<!DOCTYPE html>",
    "<p",
    '<a href="',
    "\x00",
    "\x0b\x0c",
    "\r\n",
    "\r",
    "\t",
    "\x1b[31m",
    "\x7f\x80\x9f",
]

TEXT_CHARACTERS = st.characters(exclude_categories=("Cs",))  # anything but surrogates

text_pieces = st.one_of(
    st.text(TEXT_CHARACTERS, max_size=40),
    st.sampled_from(PROSE),
    st.sampled_from(SNIPPETS),
    st.sampled_from(ENTITIES),
    st.sampled_from(JUNK),
)
texts = st.lists(text_pieces, max_size=6).map(" ".join)
prose = st.lists(st.sampled_from(PROSE), min_size=1, max_size=10).map(" ".join)

URLS = [
    "https://news.example.org/2024/11/22/story.html",
    "https://example.org/news/story?id=1#top",
    "http://[::1]:8080/x",
    "http://[::1",
    "https://exa mple.org/ü?q=1",
    "//cdn.example.net/a",
    "/relative/path",
    "relative",
    "javascript:alert(1)",
    "https://example.org:99999/x",
    "mailto:someone@example.org",
    "",
    "https://例え.テスト/記事",
    "HTTPS://EXAMPLE.ORG/UPPER",
    "https://example.org/2024/02/30/no-such-day",
]
FETCHED_URLS = [
    "https://news.example.org/2024/11/22/story.html",
    "http://example.com/a?b=c",
    "file://corpus/fr-001.html.gz",
    "fr-001.html",
    "https://example.org/2024/02/30/no-such-day",
    "https://例え.テスト/記事",
]
CHARSETS = [
    "utf-8",
    "UTF-8",
    "iso-8859-1",
    "windows-1252",
    "shift_jis",
    "koi8-r",
    "gb18030",
    "utf-16",
    "utf-7",
    "x-user-defined",
    "undefined",
    "unicode_escape",
    "idna",
    "base64",
    "nonsense",
    "",
]
ATTRIBUTE_NAMES = [
    "class",
    "id",
    "lang",
    "href",
    "src",
    "content",
    "name",
    "property",
    "itemprop",
    "charset",
    "rel",
    "hreflang",
    "style",
    "datetime",
    "role",
    "data-x",
    "onclick",
    "xmlns",
    "xml:lang",
    "ÄÖÜ",
]
ATTRIBUTE_VALUES = [
    "article",
    "main",
    "content",
    "post-body",
    "entry-content",
    "comments",
    "footer",
    "nav",
    "canonical",
    "author",
    "og:url",
    "og:title",
    "twitter:url",
    "description",
    "article:published_time",
    "2024-11-22T10:00:00Z",
    "display:none",
    "x-default",
    *URLS,
    *CHARSETS,
]

CONTAINERS = [
    "html",
    "head",
    "title",
    "body",
    "article",
    "main",
    "section",
    "div",
    "p",
    "span",
    "a",
    "b",
    "em",
    "h1",
    "h2",
    "blockquote",
    "time",
    "header",
    "footer",
    "nav",
    "aside",
    "table",
    "tr",
    "td",
    "ul",
    "ol",
    "li",
    "pre",
    "code",
    "figure",
    "figcaption",
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "iframe",
    "textarea",
    "form",
]
VOIDS = ["br", "hr", "img", "meta", "link", "input", "wbr", "base"]

attribute_values = st.one_of(
    st.sampled_from(ATTRIBUTE_VALUES), st.text(TEXT_CHARACTERS, max_size=20)
)


@st.composite
def attributes(draw: st.DrawFn) -> str:
    """Attributes in every quoting style, including broken ones."""
    out = []
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(ATTRIBUTE_NAMES))
        value = draw(attribute_values)
        style = draw(st.sampled_from(['"', '"', "'", "bare", "none", "broken"]))
        if style == "none":
            out.append(f" {name}")
        elif style == "bare":
            out.append(f" {name}={value.replace(' ', '')}")
        elif style == "broken":
            out.append(f' {name}="{value}')
        else:
            out.append(f" {name}={style}{value}{style}")
    return "".join(out)


def _element(tag: str, attrs: str, children: list[str], closing: str) -> str:
    end = {"close": f"</{tag}>", "open": "", "mismatch": "</span>", "stray": f"</{tag}></{tag}>"}
    return f"<{tag}{attrs}>{''.join(children)}{end[closing]}"


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(
            _element,
            st.sampled_from(CONTAINERS),
            attributes(),
            st.lists(children, max_size=5),
            st.sampled_from(["close", "close", "close", "open", "mismatch", "stray"]),
        ),
        st.builds(lambda tag, attrs: f"<{tag}{attrs}>", st.sampled_from(VOIDS), attributes()),
        st.lists(children, max_size=4).map("".join),
    )


trees = st.recursive(texts, _extend, max_leaves=25)
paragraphs = st.builds(
    lambda attrs, text, closed: f"<p{attrs}>{text}{'</p>' if closed else ''}\n",
    attributes(),
    st.one_of(prose, prose, texts),
    st.booleans(),
)


@st.composite
def documents(draw: st.DrawFn) -> str:
    """A whole page: optional prologue and wrappers, a head with metadata, a body mixing
    article-like paragraphs with random trees."""
    head = []
    if draw(st.booleans()):
        head.append(f"<title>{draw(texts)}</title>")
    for _ in range(draw(st.integers(0, 3))):
        head.append(f"<meta{draw(attributes())}>")
    if draw(st.booleans()):
        head.append(f'<meta charset="{draw(st.sampled_from(CHARSETS))}">')
    if draw(st.booleans()):
        kind = draw(
            st.sampled_from(['link rel="canonical" href', 'meta property="og:url" content'])
        )
        head.append(f'<{kind}="{draw(st.sampled_from(URLS))}">')
    body = draw(st.lists(st.one_of(paragraphs, trees), max_size=12))
    if draw(st.booleans()):
        body = ["<article>", *body, "</article>" if draw(st.booleans()) else ""]
    lang = draw(
        st.sampled_from(
            ["", ' lang="en"', ' lang="fr"', ' lang="de"', " lang=zh-Hant", ' lang="xx-YY"']
        )
    )
    parts = [
        draw(
            st.sampled_from(["", "<!DOCTYPE html>\n", "<?xml version='1.0' encoding='latin-1'?>"])
        ),
        f"<html{lang}>" if draw(st.booleans()) else "",
        "<head>" + "".join(head) + "</head>" if draw(st.booleans()) else "".join(head),
        "<body>" if draw(st.booleans()) else "",
        *body,
        draw(st.sampled_from(["", "</body></html>", "</body>", "</html>", "</div></div>"])),
    ]
    return "".join(parts)


ENCODINGS = [
    "utf-8",
    "utf-16",
    "utf-16-be",
    "utf-32",
    "cp1252",
    "latin-1",
    "shift_jis",
    "koi8-r",
    "gb18030",
    "big5",
    "iso-8859-7",
    "cp1251",
]
BOMS = [b"", b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"]


@st.composite
def page_bytes(draw: st.DrawFn) -> tuple[bytes, str | None]:
    """Page bytes and the charset a server would declare for them (right, wrong or odd)."""
    kind = draw(st.sampled_from(["random", "encoded", "encoded", "spliced"]))
    if kind == "random":
        return draw(st.binary(max_size=3000)), draw(st.none() | st.sampled_from(CHARSETS))
    encoding = draw(st.sampled_from(ENCODINGS))
    body = draw(documents()).encode(encoding, errors="xmlcharrefreplace")
    if kind == "spliced":
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(st.binary(min_size=1, max_size=64)) + body[at:]
    body = draw(st.sampled_from(BOMS)) + body
    declared = draw(st.sampled_from([None, encoding, *CHARSETS]))
    return body, declared


# --------------------------------------------------------------------------------------------
# Properties.
# --------------------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(
    html=documents(),
    url=st.sampled_from(FETCHED_URLS),
    min_chars=st.sampled_from([0, 1, 40, 250]),
    language_hint=st.sampled_from([None, "fr", "en", "de", "xx"]),
)
# Regression: with min_chars=0 a page without text failed an internal assert (AssertionError).
@example(html="", url="fr-001.html", min_chars=0, language_hint=None)
# Regression: a month that only matches case-insensitively ("ſept", long s) raised KeyError
# when the date was read from the text (htmldate finds no date before 1995).
@example(
    html="<html><body><article><p>On ſept. 3, 1990, the minister said the deal was done.</p>",
    url="fr-001.html",
    min_chars=1,
    language_hint=None,
)
def test_generated_html_keeps_the_contract(
    html: str, url: str, min_chars: int, language_hint: str | None
) -> None:
    event(outcome(run_chain_twice(html, url, min_chars=min_chars, language_hint=language_hint)))


@PROPERTY_SETTINGS
@given(
    page=page_bytes(), url=st.sampled_from(FETCHED_URLS), min_chars=st.sampled_from([1, 40, 250])
)
# Regression: a declared charset Python knows but cannot decode with ("undefined") raised a
# bare UnicodeError out of extraction.
@example(page=(b"<p>d\xe9j\xe0 vu</p>", "undefined"), url="fr-001.html", min_chars=1)
def test_bytes_in_any_encoding_keep_the_contract(
    page: tuple[bytes, str | None], url: str, min_chars: int
) -> None:
    body, declared = page
    event(outcome(run_chain_twice(body, url, min_chars=min_chars, charset=declared)))


@PROPERTY_SETTINGS
@given(
    html=documents(), encoding=st.sampled_from(["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"])
)
def test_str_and_its_unicode_bytes_give_the_same_article(html: str, encoding: str) -> None:
    """A page read as bytes in UTF-8 or UTF-16 with a BOM gives the same result as its text.

    Not UTF-32: like browsers (WHATWG encoding standard), the decoder reads its BOM as UTF-16.
    """
    bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}.get(encoding, b"")
    body = bom + html.encode(encoding)
    as_text = run_chain(html, FETCHED_URLS[0], min_chars=40)
    as_bytes = run_chain(body, FETCHED_URLS[0], min_chars=40)
    assert as_bytes.fingerprint() == as_text.fingerprint()
    event(outcome(as_text))


article_bodies = st.lists(st.sampled_from(PROSE[:11]), min_size=4, max_size=12).map(
    lambda sentences: "".join(f"<p>{s}</p>\n" for s in sentences)
)


@FEWER
@given(
    body=article_bodies,
    urls=st.lists(st.sampled_from(FETCHED_URLS), min_size=2, max_size=2, unique=True),
)
def test_article_id_follows_the_fetched_url_without_a_canonical_one(
    body: str, urls: list[str]
) -> None:
    html = f"<html><head><title>A story</title></head><body><article>{body}</article></body></html>"
    first, second = (run_chain(html, url, min_chars=1) for url in urls)
    assert first.article is not None and second.article is not None
    assert first.article.url == urls[0] and second.article.url == urls[1]
    assert first.article.article_id != second.article.article_id
    assert first.article.content_sha256 == second.article.content_sha256
    # Same text, other article: event ids (derived from the text) are the same.
    assert [e.event_id for e in first.events] == [e.event_id for e in second.events]


@FEWER
@given(
    body=article_bodies,
    urls=st.lists(st.sampled_from(FETCHED_URLS), min_size=2, max_size=2, unique=True),
    canonical=st.sampled_from(["https://news.example.org/a/story", "http://example.com/b?id=7"]),
    tag=st.sampled_from(['link rel="canonical" href', 'meta property="og:url" content']),
)
def test_article_id_follows_the_declared_canonical_url(
    body: str, urls: list[str], canonical: str, tag: str
) -> None:
    html = (
        f'<html><head><title>A story</title><{tag}="{canonical}"></head>'
        f"<body><article>{body}</article></body></html>"
    )
    first, second = (run_chain(html, url, min_chars=1) for url in urls)
    assert first.article is not None and second.article is not None
    assert first.article.url == second.article.url == canonical
    assert first.article.article_id == second.article.article_id
    assert first.article.article_id == stable_id("article", canonical, length=24)


@FEWER
@given(body=article_bodies, min_chars=st.integers(0, 3000))
def test_min_chars_is_the_only_threshold(body: str, min_chars: int) -> None:
    """A text shorter than ``min_chars`` is NotAnArticleError, anything longer an article."""
    html = f"<html><body><article>{body}</article></body></html>"
    full = run_chain(html, FETCHED_URLS[0], min_chars=1).article
    assert full is not None
    result = run_chain(html, FETCHED_URLS[0], min_chars=min_chars)
    if len(full.text) >= min_chars:
        assert result.article is not None and result.article.text == full.text
    else:
        assert isinstance(result.error, NotAnArticleError)
