"""What a ``read_committed`` consumer sees on the pipeline's topics, counted."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pipeline.consumer import TypedConsumer
from pipeline.models import Article, DeadLetter, Event
from pipeline.settings import Settings


@dataclass
class Committed:
    """Article ids and event ids with how often each was read, and the dead letters."""

    articles: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    dead_letters: list[DeadLetter] = field(default_factory=list)

    @property
    def page_failures(self) -> set[str]:
        """The pages (article id, else source) with a dead letter of their own."""
        return {d.article_id or d.source for d in self.dead_letters if d.event_id is None}


def read_committed(settings: Settings, idle_timeout_ms: int = 5000) -> Committed:
    """Every topic of ``settings`` read from the start, committed records only."""
    out = Committed()
    with TypedConsumer(settings, settings.all_topics, idle_timeout_ms=idle_timeout_ms) as consumer:
        for received in consumer:
            record = received.record
            if isinstance(record, Event):
                out.events[record.event_id] += 1
            elif isinstance(record, Article):
                out.articles[record.article_id] += 1
            elif isinstance(record, DeadLetter):
                out.dead_letters.append(record)
    return out
