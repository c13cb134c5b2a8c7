"""The demo: the ingestion DAG on the bundled sample, against the local Kafka broker.

It serves ``samples/`` from a local HTTP server, starts the local broker if no cluster is
configured, runs ``news_ingestion`` through ``airflow dags test`` (or the chain directly
with ``--no-airflow``), then reads every topic back and prints the events per topic.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from pipeline.settings import Settings

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 on a free port; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def sample_urls(base_url: str) -> list[str]:
    """The sample sources as URLs of the local server, plus one URL that answers 404."""
    from pipeline.sources import discover

    pages = [c.target for c in discover([str(SAMPLES / "sources.yaml")])]
    urls = [f"{base_url}/{Path(p).resolve().relative_to(SAMPLES).as_posix()}" for p in pages]
    return [*urls, f"{base_url}/site/page-retiree.html"]


def topic_end_offsets(settings: Settings) -> dict[tuple[str, int], int]:
    """The current end offset of every partition of the pipeline's topics."""
    from kafka import KafkaConsumer, TopicPartition

    from pipeline.kafka.client import common_config

    consumer = KafkaConsumer(**common_config(settings), isolation_level="read_committed")
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in settings.all_topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        return {(tp.topic, tp.partition): o for tp, o in consumer.end_offsets(partitions).items()}
    finally:
        consumer.close()


def read_topics(
    settings: Settings, since: dict[tuple[str, int], int] | None = None
) -> dict[str, list[dict[str, object]]]:
    """The messages of each pipeline topic written after the offsets in ``since``."""
    from pipeline.kafka.client import make_consumer

    since = since or {}
    out: dict[str, list[dict[str, object]]] = {}
    for topic in settings.all_topics:
        consumer = make_consumer(settings, topic, timeout_ms=3000)
        try:
            out[topic] = [
                r.value for r in consumer if r.offset >= since.get((r.topic, r.partition), 0)
            ]
        finally:
            consumer.close()
    return out


def _line(topic: str, value: object) -> str:
    if value is None:
        return "    - (removed: a tombstone)"
    if isinstance(value, bytes):  # the consumer hands over what is not JSON as bytes
        return f"    - (not a pipeline message: {len(value)} bytes that are not JSON)"
    if not isinstance(value, dict):
        return f"    - (not a pipeline message: a JSON {type(value).__name__})"
    details = value.get("details")
    if isinstance(details, dict):
        who = details.get("speaker") or details.get("actor") or details.get("party") or "?"
        what = details.get("content") or details.get("action") or details.get("commitment") or ""
        where = f" @ {details['location']}" if details.get("location") else ""
        op = "" if value.get("op", "create") == "create" else f"[{value['op']}] "
        return f"    - {op}{who}: {str(what)[:90]}{where}"
    if "mention_count" in value:
        return (
            f"    - {value.get('event_type')}: {value.get('mention_count')} mention(s) from "
            f"{', '.join(map(str, value.get('sources') or []))}"
        )
    if topic.endswith("dead_letter"):
        return f"    - [{value.get('stage')}] {value.get('source')}: {value.get('reason')}"
    return f"    - {value.get('title')} ({value.get('language')}, {value.get('url')})"


def run_demo(settings: Settings, *, use_airflow: bool = True) -> int:
    from pipeline.kafka.client import resolve_bootstrap_servers

    settings_had_cluster = bool(settings.kafka_bootstrap_servers)
    bootstrap = resolve_bootstrap_servers(settings)
    # The sample site is served on 127.0.0.1: allow exactly that private address.
    settings = settings.model_copy(
        update={
            "kafka_bootstrap_servers": bootstrap,
            "allowed_networks": (*settings.allowed_networks, "127.0.0.1/32"),
        }
    )
    print(f"Kafka: {bootstrap}")
    from pipeline.kafka.admin import ensure_topics
    from pipeline.kafka.client import make_admin

    admin = make_admin(settings)
    try:
        ensure_topics(admin, settings)
    finally:
        admin.close()
    before = topic_end_offsets(settings)
    with serve_folder(SAMPLES) as base_url:
        urls = sample_urls(base_url)
        print(f"Sample: {len(urls)} URLs served from {base_url}")
        if use_airflow:
            from pipeline.airflow_local import dags_test

            print("Running the news_ingestion DAG with `airflow dags test` (embedded SQLite) ...")
            dags_test(settings, "news_ingestion", {"urls": urls})
        else:
            from pipeline.runner import run_once

            run_once(urls, settings)
    messages = read_topics(settings, since=before)
    ingested = len(messages[settings.topic_articles])
    failed = len(
        {d["source"] for d in messages[settings.topic_dead_letter] if not d.get("event_id")}
    )
    print(
        f"\n{len(urls)} pages: {ingested} ingested, {failed} failed (each with a dead letter); "
        "pages the ledger already holds unchanged are not published again"
    )
    print("\nMessages this run wrote, per topic:")
    for topic, values in messages.items():
        print(f"  {topic}: {len(values)}")
        for value in values[-20:]:
            print(_line(topic, value))
    if not settings_had_cluster:
        print("\nThe local broker keeps running; stop it with `python -m pipeline kafka stop`.")
    return 0
