"""One settings object for the whole pipeline.

Every field can be set by an environment variable with the ``PIPELINE_`` prefix
(``PIPELINE_STATE_DIR``, ``PIPELINE_TOPIC_STATEMENTS`` ...). Kafka's bootstrap servers
also honour the conventional ``KAFKA_BOOTSTRAP_SERVERS``. Inside Airflow, a ``kafka_default``
connection (bootstrap servers in its extra JSON, as the Apache Kafka provider does) takes
precedence over the environment; see :func:`pipeline.kafka.client.resolve_bootstrap_servers`.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

EVENT_TYPES: tuple[str, ...] = ("statement", "military_update", "commitment")
SUPPORTED_LANGUAGES: tuple[str, ...] = ("fr", "en")


class Settings(BaseSettings):
    """Runtime configuration; immutable once built."""

    model_config = SettingsConfigDict(env_prefix="PIPELINE_", frozen=True, extra="ignore")

    state_dir: Path = Field(default=Path(".state"), description="All local state lives here.")

    # Kafka
    kafka_bootstrap_servers: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "PIPELINE_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"
        ),
        description="Comma-separated host:port list; empty means the local broker.",
    )
    kafka_client_id: str = "news-event-pipeline"
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_delivery_timeout_s: float = 60.0

    topic_articles: str = "news.articles"
    topic_statements: str = "news.statements"
    topic_military_updates: str = "news.military_updates"
    topic_commitments: str = "news.commitments"
    topic_dead_letter: str = "news.dead_letter"
    topic_partitions: int = 3
    topic_replication_factor: int = 1

    # Fetching
    fetch_timeout_s: float = 20.0
    fetch_max_bytes: int = 10 * 1024 * 1024
    user_agent: str = "news-event-pipeline/0.1 (+https://github.com/news-event-pipeline)"

    # Extraction / validation
    min_article_chars: int = 250
    supported_languages: tuple[str, ...] = Field(
        default=SUPPORTED_LANGUAGES,
        description="Languages the splitter handles; articles in others are dead-lettered.",
    )
    expectations_dir: Path | None = Field(
        default=None, description="GX project folder; defaults to the repository's expectations/."
    )
    sources_file: Path | None = None

    # Scheduling
    schedule: str | None = Field(
        default="*/15 * * * *", description="Cron or preset; empty: manual only."
    )

    @cached_property
    def kafka_dir(self) -> Path:
        return self.state_dir / "kafka"

    @cached_property
    def gx_results_dir(self) -> Path:
        return self.state_dir / "gx"

    def topic_for(self, event_type: str) -> str:
        """The Kafka topic that carries events of ``event_type``."""
        return {
            "statement": self.topic_statements,
            "military_update": self.topic_military_updates,
            "commitment": self.topic_commitments,
        }[event_type]

    @property
    def all_topics(self) -> list[str]:
        return [
            self.topic_articles,
            self.topic_statements,
            self.topic_military_updates,
            self.topic_commitments,
            self.topic_dead_letter,
        ]


def get_settings(**overrides: object) -> Settings:
    """Build settings from the environment, with explicit overrides on top."""
    return Settings(**overrides)  # type: ignore[arg-type]
