"""Topic administration: create the pipeline's topics as configured."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.settings import Settings

if TYPE_CHECKING:
    from kafka import KafkaAdminClient


def topic_specs(settings: Settings) -> dict[str, dict[str, object]]:
    """The pipeline's topics with their partitions, replication and configs."""
    specs: dict[str, dict[str, object]] = {}
    for name in settings.all_topics:
        if name in (settings.topic_articles, settings.topic_occurrences, settings.topic_review):
            # the latest state of each article, occurrence or review item, kept while it exists
            configs = {"cleanup.policy": "compact"}
        elif name == settings.topic_dead_letter:
            configs = {"retention.ms": str(settings.topic_dead_letter_retention_ms)}
        else:
            configs = {"retention.ms": str(settings.topic_retention_ms)}
        specs[name] = {
            "num_partitions": settings.topic_partitions,
            "replication_factor": settings.topic_replication_factor,
            "configs": configs,
        }
    return specs


def ensure_topics(admin: KafkaAdminClient, settings: Settings) -> list[str]:
    """Create the pipeline's topics that do not exist yet; return the names created."""
    existing = set(admin.list_topics())
    missing = {name: spec for name, spec in topic_specs(settings).items() if name not in existing}
    if missing:
        # raise_errors=False: a concurrent run may have created one meanwhile.
        admin.create_topics(missing, raise_errors=False, wait_for_metadata=True)
    return sorted(missing)
