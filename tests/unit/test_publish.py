"""to_message: topics, keys and CloudEvents headers, without a broker."""

from __future__ import annotations

import json

from pipeline.models import Article, DeadLetter, Event, Evidence, Extractor, StatementDetails
from pipeline.publish import to_message
from pipeline.settings import Settings


def _event(article: Article) -> Event:
    start = article.text.index("a déclaré")
    evidence = article.text[start : start + 9]
    return Event(
        event_id=Event.make_id(article.content_sha256, "statement", start, start + 9),
        event_type="statement",
        article=article.ref(),
        evidence=Evidence(text=evidence, start=start, end=start + 9),
        details=StatementDetails(speaker="Jeanne Martin", content="x", direct_quote=False),
        confidence=0.8,
        extractor=Extractor(name="test", version="0"),
    )


def test_events_go_to_their_type_topic_keyed_by_article() -> None:
    settings = Settings(topic_statements="custom.statements")
    article = Article.build(
        url="https://example.org/x",
        text="La ministre Jeanne Martin a déclaré hier que tout va bien.",
    )
    message = to_message(_event(article), settings)
    assert message.topic == "custom.statements"
    assert message.key == article.article_id
    headers = dict(message.headers)
    assert headers["ce_type"] == b"news.event.statement"
    assert headers["ce_specversion"] == b"1.0"
    assert json.loads(message.value)["evidence"]["text"] == "a déclaré"


def test_articles_and_dead_letters_have_their_own_topics() -> None:
    settings = Settings()
    article = Article.build(url="https://example.org/x", text="Texte.")
    dead = DeadLetter.build(
        stage="extract", reason="no article text", source="https://example.org/y"
    )
    assert to_message(article, settings).topic == "news.articles"
    dl = to_message(dead, settings)
    assert (dl.topic, dl.key) == ("news.dead_letter", "https://example.org/y")
    assert json.loads(dl.value)["stage"] == "extract"


def test_event_ids_are_stable_for_the_same_content() -> None:
    text = "La ministre Jeanne Martin a déclaré hier que tout va bien."
    a1 = Article.build(url="https://example.org/x", text=text)
    a2 = Article.build(url="https://example.org/x", text=text)
    a3 = Article.build(url="https://example.org/x", text=text + " Fin.")
    assert _event(a1).event_id == _event(a2).event_id != _event(a3).event_id
