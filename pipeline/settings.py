"""One settings object for the whole pipeline.

Every field can be set by an environment variable with the ``PIPELINE_`` prefix
(``PIPELINE_STATE_DIR``, ``PIPELINE_TOPIC_STATEMENTS`` ...). Kafka's bootstrap servers
also honour the conventional ``KAFKA_BOOTSTRAP_SERVERS``. Inside Airflow, a ``kafka_default``
connection (bootstrap servers in its extra JSON, as the Apache Kafka provider does) takes
precedence over the environment; see :func:`pipeline.kafka.client.resolve_bootstrap_servers`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

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
    kafka_producer: Literal["confluent-kafka", "kafka-python"] = Field(
        default="confluent-kafka",
        description="The producer client: librdkafka through confluent-kafka (encodes in C, "
        "the default) or the pure-Python kafka-python; consumers and admin use kafka-python.",
    )
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None
    kafka_ssl_password: SecretStr | None = None
    kafka_ssl_check_hostname: bool = True
    kafka_delivery_timeout_s: float = 60.0
    kafka_compression_type: str | None = "lz4"
    kafka_linger_ms: int = 10
    kafka_batch_size: int = 512 * 1024
    kafka_transactions: bool = Field(
        default=True, description="Publish each article with its events in one transaction."
    )
    kafka_transactional_id_prefix: str = "news-event-pipeline"
    kafka_transaction_max_messages: int | None = Field(
        default=None,
        description="Split a task's records into transactions of about this many messages "
        "(whole articles each); None: one transaction per task, so a retry after any failure "
        "publishes everything exactly once.",
    )

    topic_articles: str = "news.articles"
    topic_statements: str = "news.statements"
    topic_military_updates: str = "news.military_updates"
    topic_commitments: str = "news.commitments"
    topic_dead_letter: str = "news.dead_letter"
    topic_occurrences: str = "news.occurrences"
    topic_review: str = "news.review"
    review_below_confidence: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Events with a lower confidence go to the review topic, not their typed "
        "topic (the splitter's lowest confidence is 0.55 today; 0 turns the lane off).",
    )
    topic_partitions: int = 3
    topic_replication_factor: int = 1
    topic_retention_ms: int = 7 * 24 * 3600 * 1000
    topic_dead_letter_retention_ms: int = 30 * 24 * 3600 * 1000

    # Fetching (pipeline/fetch.py): bounded, polite, and refusing what it should not reach
    fetch_timeout_s: float = Field(
        default=20.0, gt=0, description="Total time for one response, body included."
    )
    fetch_connect_timeout_s: float = Field(default=5.0, gt=0)
    fetch_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    fetch_max_redirects: int = Field(default=5, ge=0)
    fetch_retries: int = Field(
        default=3, ge=0, description="Extra attempts on 5xx, 429 and connection errors."
    )
    fetch_backoff_base_s: float = Field(default=0.5, ge=0)
    fetch_backoff_max_s: float = Field(
        default=30.0, ge=0, description="Cap of one wait, Retry-After included; longer fails."
    )
    fetch_concurrency: int = Field(default=8, ge=1, description="Pages fetched at once, all hosts.")
    per_host_concurrency: int = Field(default=2, ge=1)
    per_host_rate_per_s: float = Field(
        default=1.0, gt=0, description="Requests per second per host (robots Crawl-delay wins)."
    )
    respect_robots: bool = True
    robots_cache_ttl_s: float = Field(default=3600.0, ge=0)
    allow_private_addresses: bool = Field(
        default=False, description="Fetch private, loopback and link-local addresses too."
    )
    allowed_networks: tuple[str, ...] = Field(
        default=(),
        description="CIDR blocks allowed although private (e.g. 127.0.0.0/8 for a local server).",
    )
    user_agent: str = "news-event-pipeline/0.1 (+https://github.com/news-event-pipeline)"
    max_articles_per_source: int = Field(
        default=100, ge=1, description="Per feed, sitemap or homepage, unless the source says."
    )

    # Dedup ledger (pipeline/ledger.py)
    ledger_url: SecretStr | None = Field(
        default=None,
        description="SQLAlchemy URL (secret: it may hold a password); "
        "default sqlite:///{state_dir}/ledger.db.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="WARNING", description="Log level of the command line (Airflow sets its own)."
    )
    ledger_lock_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="How long a SQLite ledger write waits for a lock held elsewhere.",
    )
    near_duplicate_distance: int = Field(
        default=3,
        ge=-1,
        le=3,
        description="Max Hamming distance of two simhashes (4 bands); -1 turns near-duplicate "
        "detection off (pages with the same canonical URL and text are still recognised).",
    )

    # Extraction / validation
    min_article_chars: int = 250
    # 200,000 characters are at most 800 kB of UTF-8: the article's message stays under
    # Kafka's default 1 MB record limit (message.max.bytes, max.request.size).
    max_article_chars: int = Field(default=200_000, gt=0)
    supported_languages: tuple[str, ...] = Field(
        default=SUPPORTED_LANGUAGES,
        description="Languages the splitter handles; articles in others are dead-lettered.",
    )
    expectations_dir: Path | None = Field(
        default=None, description="GX project folder; defaults to the repository's expectations/."
    )
    sources_file: Path | None = None

    # Run-level data quality (pipeline/validate.py, docs/data-quality.md)
    validation_policy: Literal["fail", "alert"] = Field(
        default="fail",
        description="When run-level expectations fail: 'fail' holds the run back (the validate "
        "task fails, nothing is published); 'alert' publishes, then fails the last task.",
    )
    run_min_articles: int = Field(
        default=10, ge=1, description="Below this many pages, distribution checks are skipped."
    )
    run_min_pages_per_source: int = Field(default=5, ge=1)
    run_min_events_per_article: float = 0.5
    run_max_events_per_article: float = 40.0
    run_max_dead_letter_share: float = 0.5
    run_max_invalid_event_share: float = 0.2
    run_max_articles_without_events_share: float = 0.7
    run_type_share_bounds: dict[str, tuple[float, float]] = Field(
        default={"statement": (0.2, 0.98), "military_update": (0.0, 0.6), "commitment": (0.0, 0.5)},
        description="Share of the run's events per type, (min, max).",
    )
    gx_results_retention: int = Field(
        default=50, ge=1, description="Runs whose GX results and Data Docs pages are kept."
    )
    quality_history_retention: int = Field(default=1000, ge=1)
    dashboard_port: int = 8765
    dashboard_url: str | None = Field(
        default=None, description="Where the Airflow UI links to; default the local server."
    )

    # Scheduling
    schedule: str | None = Field(
        default="*/15 * * * *", description="Cron or preset; empty: manual only."
    )
    batch_size: int = Field(
        default=20, ge=1, description="Pages per mapped fetch/extract/split task in the DAGs."
    )

    @property
    def kafka_dir(self) -> Path:
        return self.state_dir / "kafka"

    @property
    def gx_results_dir(self) -> Path:
        return self.state_dir / "gx"

    @property
    def quality_dir(self) -> Path:
        """Run records and the dashboard's overview page."""
        return self.state_dir / "quality"

    @property
    def resolved_ledger_url(self) -> str:
        """The ledger's SQLAlchemy URL: the configured one, else SQLite in the state dir."""
        url = self.ledger_url
        if url is not None:  # model_copy(update=...) may set a plain string
            return url.get_secret_value() if isinstance(url, SecretStr) else str(url)
        return f"sqlite:///{(self.state_dir / 'ledger.db').resolve()}"

    def topic_for(self, event_type: str) -> str:
        """The Kafka topic that carries events of ``event_type``."""
        return {
            "statement": self.topic_statements,
            "military_update": self.topic_military_updates,
            "commitment": self.topic_commitments,
        }[event_type]

    @staticmethod
    def topics_under(prefix: str) -> dict[str, str]:
        """The topic settings with every default name under ``prefix`` (``<prefix>.news.statements``),
        as updates for :meth:`model_copy` or the constructor: a test or a benchmark of its own."""
        names = (
            "articles",
            "statements",
            "military_updates",
            "commitments",
            "dead_letter",
            "occurrences",
            "review",
        )
        return {f"topic_{name}": f"{prefix}.news.{name}" for name in names}

    @property
    def all_topics(self) -> list[str]:
        return [
            self.topic_articles,
            self.topic_statements,
            self.topic_military_updates,
            self.topic_commitments,
            self.topic_dead_letter,
            self.topic_occurrences,
            self.topic_review,
        ]


def get_settings(**overrides: object) -> Settings:
    """Build settings from the environment, with explicit overrides on top."""
    return Settings(**overrides)  # type: ignore[arg-type]
