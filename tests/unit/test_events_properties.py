"""Property-based tests: splitting never crashes and every event keeps its contract."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pipeline.events import split_events
from pipeline.models import Article, Event

PIECES = [
    "«",
    "»",
    "“",
    "”",
    '"',
    "'",
    ".",
    "!",
    "?",
    "…",
    ",",
    ";",
    ":",
    "—",
    "\n",
    "  ",
    "a déclaré que",
    "a-t-il ajouté",
    "selon lui",
    "said",
    "told reporters",
    "according to",
    "he said",
    "Il",
    "She",
    "Mark Rutte",
    "M.",
    "U.S.",
    "le ministre",
    "the minister",
    "ont pris le contrôle de",
    "captured",
    "shot down 33 drones",
    "à Kyiv",
    "in Kramatorsk",
    "se sont engagés à",
    "pledged to",
    "5 % du PIB",
    "$9 billion",
    "d'ici 2035",
    "by 2030",
    "la même journée",
    "on Tuesday",
    "last week",
    "hier",
    "Москва",
    "北京",
    "١٢٣",
    "🙂",
    "AAAA BBBB CCCC DDDD EEEE FFFF",
    "12 000",
    "3,5 %",
    # Explicit and relative dates, including the ends of the calendar.
    "on December 31, 9999",
    "le 1er janvier 0001",
    "31 décembre 9999",
    "Oct. 7",
    "le 28 décembre",
    "ſept. 3, 2024",
    "tomorrow",
    "yesterday",
    "demain",
    "on Sunday",
    "dimanche",
    "next week",
    "that day",
]


def _check(text: str, language: str, published_at: str | None) -> None:
    article = Article.build(
        url="file://prop", text=text, language=language, published_at=published_at
    )
    events = split_events(article)
    again = split_events(article)
    assert [e.event_id for e in events] == [e.event_id for e in again]
    assert len({e.event_id for e in events}) == len(events)
    for e in events:
        assert 0 <= e.evidence.start < e.evidence.end <= len(article.text)
        assert article.text[e.evidence.start : e.evidence.end] == e.evidence.text
        assert e.event_id == Event.make_id(
            article.content_sha256, e.event_type, e.evidence.start, e.evidence.end
        )
        assert 0.0 <= e.confidence <= 1.0
        assert e.extractor.name


adversarial = st.lists(st.sampled_from(PIECES), max_size=60).map(" ".join)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.one_of(st.text(max_size=400), adversarial),
    language=st.sampled_from(["fr", "en", "de", "xx", ""]),
    published_at=st.one_of(
        st.none(),
        st.sampled_from(["2025-12-11", "2024-02-29T10:00", "x", "0001-01-01", "9999-12-31"]),
    ),
)
# Regressions: "tomorrow" after an explicit 31 December 9999, and "yesterday" or a weekday
# against a publication date of 1 January 0001, raised OverflowError (date out of range).
@example(
    text="On December 31, 9999, the minister said it was over. Tomorrow, he said, it is done.",
    language="en",
    published_at=None,
)
@example(text="He said yesterday that it was over.", language="en", published_at="0001-01-01")
@example(text="Il a dit dimanche que c'était fini.", language="fr", published_at="0001-01-01")
@example(text="He said tomorrow that it was over.", language="en", published_at="9999-12-31")
def test_random_and_adversarial_text_never_breaks_the_contract(
    text: str, language: str, published_at: str | None
) -> None:
    _check(text, language, published_at)


def test_huge_inputs_stay_valid() -> None:
    long_sentence = "Mark Rutte a déclaré que " + "la paix " * 5000 + "."
    caps = " ".join(["Alpha", "Beta", "Gamma", "Delta"] * 2000) + " said that war is near."
    nested = "« il a dit “ « oui » ” et " * 300 + "a déclaré Rutte."
    repeated = "He said he said he said " * 1000
    for text in (long_sentence, caps, nested, repeated, "." * 10000, "«" * 5000):
        for language in ("fr", "en"):
            _check(text, language, "2025-12-11")
