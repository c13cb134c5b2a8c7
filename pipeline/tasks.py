"""The DAG's task bodies: thin JSON-in, JSON-out adapters over :mod:`pipeline.runner`.

Airflow passes task results through XCom as JSON, so each function takes and returns
JSON-compatible dicts and calls the same runner stage the CLI uses.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from pipeline import runner
from pipeline.models import Article, DeadLetter, Event
from pipeline.settings import Settings, get_settings
from pipeline.sources import discover

log = logging.getLogger(__name__)
Payload = dict[str, Any]
KAFKA_CONN_ID = "kafka_default"
# Airflow Variables that override settings at run time (read inside tasks, never at parse time).
VARIABLES: dict[str, str] = {
    "news_pipeline_sources_file": "sources_file",
    "news_pipeline_validation_policy": "validation_policy",
    "news_pipeline_batch_size": "batch_size",
}


def _variable(key: str) -> str | None:
    try:
        from airflow.sdk import Variable

        value = Variable.get(key, default=None)
    except Exception:  # not inside an Airflow task: no Variables
        return None
    return None if value in (None, "") else str(value)


def variable_overrides(lookup: Any = _variable) -> dict[str, str]:
    """The settings the ``news_pipeline_*`` Airflow Variables set (``lookup(key)`` reads one)."""
    return {field: value for key, field in VARIABLES.items() if (value := lookup(key)) is not None}


def task_settings() -> Settings:
    """Settings inside an Airflow task: the environment, then the ``news_pipeline_*``
    Variables on top; the ``kafka_default`` connection, when defined, supplies the Kafka
    options (bootstrap servers, SASL, TLS) in its extra JSON, as the Apache Kafka provider
    has them; options set in the environment win."""
    from pipeline.kafka.client import settings_with_connection
    from pipeline.secrets import install_log_redaction

    settings = get_settings(**variable_overrides())
    try:
        from airflow.sdk import Connection

        conn = Connection.get(KAFKA_CONN_ID)
    except Exception:  # no such connection, or not inside Airflow: the settings stand
        conn = None
    if conn is not None:
        settings = settings_with_connection(settings, dict(conn.extra_dejson or {}))
    install_log_redaction(settings, airflow=True)
    return settings


def _payload(
    out: runner.StageOutput, outcomes: list[runner.Outcome], dead: list[DeadLetter]
) -> Payload:
    return {
        "discovered": len(outcomes),
        "outcomes": [o.as_dict() for o in outcomes],
        "articles": runner.dump(out.articles),
        "events": runner.dump(out.events),
        "dead_letters": runner.dump([*dead, *out.dead_letters]),
    }


def _outcomes(payload: Payload) -> list[runner.Outcome]:
    return [runner.Outcome.from_dict(o) for o in payload.get("outcomes", [])]


def discover_sources(
    urls: list[str] | None, sources_file: str | None, settings: Settings | None = None
) -> list[dict[str, Any]]:
    """The pages to process (as JSON candidates): the run's URLs, else its sources file,
    else the configured one. Feeds, sitemaps and homepages are read here."""
    settings = settings or task_settings()
    named: list[str] = list(urls or [])
    if not named:
        file = sources_file or (str(settings.sources_file) if settings.sources_file else None)
        named = [file] if file else []
    return [c.as_dict() for c in discover(named, settings)]


def discover_batches(
    urls: list[str] | None,
    sources_file: str | None,
    settings: Settings | None = None,
    batch_size: int | None = None,
) -> list[list[dict[str, Any]]]:
    """The discovered pages in batches of ``batch_size`` (default ``PIPELINE_BATCH_SIZE``),
    one mapped task each; always at least one batch, so an empty run still ends in a summary."""
    settings = settings or task_settings()
    candidates = discover_sources(urls, sources_file, settings)
    size = batch_size or settings.batch_size
    return [candidates[i : i + size] for i in range(0, len(candidates), size)] or [[]]


def replay_batches(
    pages: list[str] | None,
    since: str | None = None,
    until: str | None = None,
    settings: Settings | None = None,
) -> list[list[dict[str, Any]]]:
    """A replay's batches: the saved pages, folders or URLs named, plus the URLs the ledger
    recorded between ``since`` and ``until`` (ISO dates or datetimes, UTC; ``until`` excluded)."""
    from datetime import UTC, datetime, timedelta

    from pipeline.ledger import Ledger

    settings = settings or task_settings()
    named = list(pages or [])
    if since:
        start = datetime.fromisoformat(since)
        end = datetime.fromisoformat(until) if until else start + timedelta(days=1)
        start, end = (d if d.tzinfo else d.replace(tzinfo=UTC) for d in (start, end))
        with Ledger.from_settings(settings) as ledger:
            named.extend(u for u in ledger.urls_recorded_between(start, end) if u not in named)
    if not named:
        return [[]]
    return discover_batches(named, None, settings)


def process_batch(
    candidates: list[dict[str, Any]], settings: Settings | None = None, force: bool = False
) -> Payload:
    """Fetch, extract, classify and split one batch (one mapped task, one XCom).

    ``force`` (replays) publishes pages the ledger already holds unchanged, with the same ids.
    """
    out = runner.acquire(candidates, settings or task_settings(), force=force)
    split_out = runner.split(out.articles)
    return _payload(split_out, out.outcomes, [*out.dead_letters])


def merge_payloads(payloads: Iterable[Payload]) -> Payload:
    """The mapped batches' payloads as one (in map-index order)."""
    merged: Payload = {
        "discovered": 0,
        "outcomes": [],
        "articles": [],
        "events": [],
        "dead_letters": [],
    }
    for payload in payloads:
        merged["discovered"] += payload.get("discovered", 0)
        for key in ("outcomes", "articles", "events", "dead_letters"):
            merged[key].extend(payload.get(key, []))
    return merged


def extract_articles(
    sources: list[dict[str, Any]] | list[str], settings: Settings | None = None
) -> Payload:
    """Fetch, extract and classify the discovered pages (the ledger is only read here)."""
    out = runner.acquire(sources, settings or task_settings())
    return _payload(out, out.outcomes, [])


def split_articles(payload: Payload) -> Payload:
    out = runner.split(runner.load(Article, payload["articles"]))
    return _payload(out, _outcomes(payload), runner.load(DeadLetter, payload["dead_letters"]))


def validate_batch(
    payload: Payload | Iterable[Payload],
    settings: Settings | None = None,
    run_name: str | None = None,
) -> Payload:
    """Validate the batch (or the mapped batches, merged), then the run as a whole (the
    ``fail`` policy raises here, so nothing of a failed run is published)."""
    from pipeline.validate import check_run

    if not isinstance(payload, Mapping):
        payload = merge_payloads(payload)
    settings = settings or task_settings()
    run_name = run_name or runner.new_run_name("task")
    earlier = runner.load(DeadLetter, payload["dead_letters"])
    out = runner.validate(
        runner.load(Article, payload["articles"]),
        runner.load(Event, payload["events"]),
        settings,
        run_name,
    )
    outcomes = _outcomes(payload)
    run = check_run(
        len(outcomes),
        out.articles,
        out.events,
        [*earlier, *out.dead_letters],
        settings,
        run_name=run_name,
    )
    return {**_payload(out, outcomes, earlier), "run_validation": run.as_dict()}


def task_identity(context: Any) -> dict[str, str]:
    """The run name and the transactional writer of an Airflow task, from its context:
    the writer stays the same across the task's retries, so a retry fences its predecessor."""
    ti = context["ti"]
    return {
        "run_name": context["run_id"],
        "writer": f"{ti.dag_id}.{ti.task_id}.{ti.map_index}",
    }


def publish_batch(
    payload: Payload,
    settings: Settings | None = None,
    run_name: str | None = None,
    writer: str | None = None,
) -> Payload:
    """Publish everything in one transaction, record it in the ledger, then record the run
    for the dashboard; return the run summary (its ``outcomes`` add up to ``discovered``).

    ``writer`` (the task's identity) makes the transactional id stable across retries.
    """
    from pipeline.dashboard.records import finish_run

    settings = settings or task_settings()
    run_name = run_name or runner.new_run_name("task")
    articles = runner.load(Article, payload["articles"])
    events = runner.load(Event, payload["events"])
    dead = runner.load(DeadLetter, payload["dead_letters"])
    outcomes = _outcomes(payload)
    topics = runner.publish_all(articles, events, dead, settings, writer=writer, outcomes=outcomes)
    summary = runner.summarize(outcomes, articles, events, dead, topics)
    summary.quality = {"run_name": run_name, **(payload.get("run_validation") or {})}
    result = summary.as_dict()
    log.info("run summary: %s", json.dumps(result, ensure_ascii=False))
    # Under the "alert" policy this raises after publishing, so Airflow marks the run.
    finish_run(
        result,
        settings,
        run_name=run_name,
        dead_letters=dead,
        run=payload.get("run_validation"),
    )
    return result


def build_quality_report(settings: Settings | None = None) -> str:
    """Rebuild the data-quality dashboard from the run records; return the page's path."""
    from pipeline.dashboard.render import build_overview

    return str(build_overview(settings or task_settings()))
