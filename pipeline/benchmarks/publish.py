"""Publishing throughput to the real local broker, transactions included.

    python -m pipeline.benchmarks.publish [--events 30000] [--json PATH]

Builds events from the reference article (distinct article ids, so nothing is deduplicated),
then times ``to_message`` alone and the whole transactional publish (topics created
beforehand), and prints events per second for each.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from pathlib import Path

from pipeline.events import split_events
from pipeline.extract import extract_article
from pipeline.models import Article, Event
from pipeline.publish import publish_records, to_message
from pipeline.settings import Settings, get_settings

SEED_HTML = Path(__file__).resolve().parents[2].parent / "shared" / "seed" / "article.html"


def build_events(n_events: int) -> tuple[list[Article], list[Event]]:
    """At least ``n_events`` events over as many copies of the seed article as needed."""
    base = extract_article(SEED_HTML.read_bytes(), "https://bench.example/seed")
    articles: list[Article] = []
    events: list[Event] = []
    i = 0
    while len(events) < n_events:
        url = f"https://bench.example/seed/{i}"
        fields = base.model_dump(exclude={"article_id", "content_sha256", "url", "text"})
        article = Article.build(url=url, text=base.text, **fields)
        articles.append(article)
        events.extend(split_events(article))
        i += 1
    return articles, events


def run(n_events: int, settings: Settings) -> dict[str, float]:
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    settings = settings.model_copy(
        update={
            "topic_articles": f"{prefix}.articles",
            "topic_statements": f"{prefix}.statements",
            "topic_military_updates": f"{prefix}.military_updates",
            "topic_commitments": f"{prefix}.commitments",
            "topic_dead_letter": f"{prefix}.dead_letter",
        }
    )
    articles, events = build_events(n_events)
    start = time.perf_counter()
    for event in events:
        to_message(event, settings)
    encode_s = time.perf_counter() - start

    publish_records([], settings)  # create the topics outside the timing
    start = time.perf_counter()
    counts = publish_records([*articles, *events], settings, writer=f"bench-{prefix}")
    publish_s = time.perf_counter() - start
    confirmed_events = sum(
        counts[t]
        for t in (
            settings.topic_statements,
            settings.topic_military_updates,
            settings.topic_commitments,
        )
    )
    return {
        "events": float(len(events)),
        "articles": float(len(articles)),
        "confirmed_events": float(confirmed_events),
        "encode_events_per_s": len(events) / encode_s,
        "publish_s": publish_s,
        "publish_events_per_s": len(events) / publish_s,
        "publish_messages_per_s": (len(events) + len(articles)) / publish_s,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.benchmarks.publish")
    parser.add_argument("--events", type=int, default=30000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    settings = get_settings()
    figures = run(args.events, settings)
    print(
        f"publish benchmark ({settings.kafka_compression_type or 'no'} compression, "
        f"transactions {'on' if settings.kafka_transactions else 'off'}):\n"
        f"  events                 {figures['events']:.0f} in {figures['articles']:.0f} articles\n"
        f"  to_message             {figures['encode_events_per_s']:,.0f} events/s\n"
        f"  publish (confirmed)    {figures['publish_events_per_s']:,.0f} events/s "
        f"({figures['publish_s']:.2f} s)"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if figures["confirmed_events"] == figures["events"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
