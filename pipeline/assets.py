"""Airflow Asset URIs for the Kafka topics the pipeline writes (pure: no Airflow import).

The bootstrap servers are not known when a DAG file is parsed (they come from a connection or
the environment at run time), so the URI names a stable logical cluster instead:
``kafka://news-pipeline/<topic>``. Downstream DAGs schedule on these same URIs.
"""

from __future__ import annotations

from pipeline.settings import Settings

CLUSTER = "news-pipeline"


def topic_uri(topic: str) -> str:
    return f"kafka://{CLUSTER}/{topic}"


def topic_uris(settings: Settings) -> dict[str, str]:
    """Every topic the publish task writes, to its asset URI."""
    return {topic: topic_uri(topic) for topic in settings.all_topics}
