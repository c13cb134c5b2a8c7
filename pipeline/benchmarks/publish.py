"""Publishing throughput to the real local broker, transactions included.

    python -m pipeline.benchmarks.publish [--events 30000] [--writers 1 2]
        [--producers confluent-kafka kafka-python] [--json PATH]

Builds events from the reference article (distinct article ids, so nothing is deduplicated),
then times ``to_message`` alone and the whole transactional publish (topics created
beforehand; encoding, sending, the broker's confirmation of every record and the commit),
and prints events per second for each.

Each producer client is measured (``PIPELINE_KAFKA_PRODUCER`` picks the pipeline's): librdkafka
through confluent-kafka, the default, and the pure-Python kafka-python, which encodes every
record in Python and is bound by one core. With ``--writers N`` the articles (each with its
events) are shared among N writer processes, each with its own transactional producer
committing its share, as the worker processes of ``python -m pipeline bench`` do.
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
from pipeline.publish import publish_records, record_group, to_message
from pipeline.settings import Settings, get_settings
from pipeline.workers import run_in_processes, shard_by_group

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


def run(
    articles: list[Article], events: list[Event], settings: Settings, writers: int = 1
) -> dict[str, float]:
    """Publish ``events`` and their ``articles`` to fresh topics with ``writers`` processes."""
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    settings = settings.model_copy(update=settings.topics_under(prefix))
    start = time.perf_counter()
    for event in events:
        to_message(event, settings)
    encode_s = time.perf_counter() - start

    publish_records([], settings)  # create the topics outside the timing
    shards = shard_by_group([*articles, *events], record_group, writers)

    def write(index: int) -> dict[str, int]:
        return publish_records(shards[index], settings, writer=f"bench-{prefix}-w{index}")

    start = time.perf_counter()
    results = run_in_processes(write, list(range(len(shards))))
    publish_s = time.perf_counter() - start
    confirmed_events = sum(
        counts[t]
        for counts in results
        for t in (
            settings.topic_statements,
            settings.topic_military_updates,
            settings.topic_commitments,
        )
    )
    return {
        "writers": float(len(shards)),
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
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--producers", nargs="+", default=["confluent-kafka", "kafka-python"], metavar="CLIENT"
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    settings = get_settings()
    print(
        f"publish benchmark ({settings.kafka_compression_type or 'no'} compression, "
        f"transactions {'on' if settings.kafka_transactions else 'off'}, acks=all, idempotent):"
    )
    articles, events = build_events(args.events)
    # Warm-up, not timed: on a new broker the first transactional producer waits while the
    # transaction log's partitions are created and loaded, a one-off cost of the broker.
    warm_up = settings.model_copy(update=settings.topics_under(f"warmup{uuid.uuid4().hex[:6]}"))
    publish_records([*articles[:20], *events[:200]], warm_up, writer="bench-warmup")
    all_figures = []
    for producer in args.producers:
        for writers in args.writers:
            figures = run(
                articles, events, settings.model_copy(update={"kafka_producer": producer}), writers
            )
            all_figures.append({"producer": producer, **figures})
            print(
                f"  {producer:>15}, {writers} writer{'s' if writers > 1 else ' '}: "
                f"{figures['events']:.0f} events in {figures['articles']:.0f} articles; "
                f"to_message {figures['encode_events_per_s']:,.0f} events/s; "
                f"publish (confirmed, committed) {figures['publish_events_per_s']:,.0f} events/s "
                f"({figures['publish_s']:.2f} s)"
            )
    if args.json:
        args.json.write_text(json.dumps(all_figures, indent=2) + "\n")
    return 0 if all(f["confirmed_events"] == f["events"] for f in all_figures) else 1


if __name__ == "__main__":
    raise SystemExit(main())
