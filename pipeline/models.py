"""The event contract: immutable Article, Event and DeadLetter models.

Every Kafka message value and every line ``python -m pipeline extract`` prints is the JSON
of one of these models. ``python -m pipeline schemas`` writes their JSON Schemas to
``schemas/``.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION = "1.1.0"

EventType = Literal["statement", "military_update", "commitment"]
DatePrecision = Literal["day", "month", "year"]
Op = Literal["create", "update", "retract"]
DATE_SOURCES: tuple[str, ...] = ("metadata", "url", "text")
_FIRST_OF = {"month": re.compile(r"\d{4}-\d{2}-01"), "year": re.compile(r"\d{4}-01-01")}


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def stable_id(*parts: str, length: int = 32) -> str:
    """A deterministic hex id: the same parts always give the same id."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:length]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Article(_Frozen):
    """One extracted article: metadata plus the clean text that event offsets refer to."""

    article_id: str = Field(description="Stable id derived from the article's canonical URL.")
    url: str = Field(description="Canonical URL when the page declares one, else the fetched URL.")
    fetched_url: str | None = Field(default=None, description="The URL or path actually read.")
    title: str | None = None
    author: str | None = None
    published_at: str | None = Field(default=None, description="ISO 8601 date or datetime.")
    published_at_source: str | None = Field(
        default=None, description="Where the date was found: metadata, url or text."
    )
    language: str | None = Field(default=None, description="ISO 639-1 code.")
    source: str | None = Field(default=None, description="Site name or host.")
    text: str = Field(description="The extracted main text; event offsets index into it.")
    content_sha256: str = Field(description="SHA-256 of ``text``.")
    version: int | None = Field(
        default=None,
        ge=1,
        description="1 for the first text seen at this URL, then +1 each time the text changes.",
    )
    ingested_at: datetime = Field(default_factory=utc_now)

    @classmethod
    def build(cls, *, url: str, text: str, **fields: Any) -> Article:
        """Build an article, deriving its id and fingerprint."""
        return cls(
            article_id=stable_id("article", url, length=24),
            url=url,
            text=text,
            content_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            **fields,
        )

    def ref(self) -> ArticleRef:
        return ArticleRef(
            article_id=self.article_id,
            url=self.url,
            title=self.title,
            published_at=self.published_at,
            published_at_source=self.published_at_source,
            language=self.language,
            source=self.source,
        )


class ArticleRef(_Frozen):
    """The article fields copied into every event."""

    article_id: str
    url: str
    title: str | None = None
    published_at: str | None = None
    published_at_source: str | None = Field(
        default=None,
        description="Where published_at was found: metadata, url or text (since 1.1.0).",
    )
    language: str | None = None
    source: str | None = None


class Evidence(_Frozen):
    """Where the event stands in the article: ``text == article.text[start:end]``."""

    text: str = Field(min_length=1)
    start: int = Field(ge=0)
    end: int = Field(gt=0)

    @model_validator(mode="after")
    def _span_matches_text(self) -> Evidence:
        if self.end - self.start != len(self.text):
            raise ValueError("evidence end - start must equal len(text)")
        return self


class StatementDetails(_Frozen):
    kind: Literal["statement"] = "statement"
    speaker: str | None
    speaker_role: str | None = None
    content: str
    direct_quote: bool
    reporting_verb: str | None = None


class MilitaryUpdateDetails(_Frozen):
    kind: Literal["military_update"] = "military_update"
    actor: str | None
    action: str
    location: str | None
    claimed_by: str | None = None
    related_places: list[str] = Field(default_factory=list)
    figures: list[str] = Field(default_factory=list)


class CommitmentDetails(_Frozen):
    kind: Literal["commitment"] = "commitment"
    party: str | None
    commitment: str
    amount: str | None = None
    deadline: str | None = None
    venue: str | None = None
    breakdown: list[str] = Field(default_factory=list)


Details = Annotated[
    StatementDetails | MilitaryUpdateDetails | CommitmentDetails, Field(discriminator="kind")
]


class Extractor(_Frozen):
    name: str
    version: str


class Event(_Frozen):
    """One typed event found in one article, with three clocks.

    * when it happened: ``occurred_at`` + ``occurred_at_precision`` (None when the text
      does not say);
    * when the article was published: ``article.published_at`` + ``article.published_at_source``;
    * when the pipeline read it: ``ingested_at``.

    ``occurred_at`` is always a full ISO date, ``YYYY-MM-DD``, whatever the precision: a
    month is its first day ("in March 2024" -> ``2024-03-01``, precision ``month``), a
    year its 1 January (``2023-01-01``, precision ``year``). Consumers of schema 1.0.0
    parse ``occurred_at`` as a date and keep working; sorting and range queries stay
    plain string or date comparisons; ``occurred_at_precision`` says how much of the date
    is meaningful. (``YYYY-MM``/``YYYY`` would be ISO 8601 too, but would break every
    consumer that parses the field as a date, e.g. ``date.fromisoformat``.)

    A document without ``occurred_at_precision`` (schema 1.0.0, whose dates were all days)
    is read with precision ``day`` when ``occurred_at`` is set.
    """

    event_id: str = Field(description="Deterministic: same article content, same id.")
    event_type: EventType
    schema_version: str = SCHEMA_VERSION
    article: ArticleRef
    occurred_at: str | None = Field(
        default=None,
        description=(
            "ISO date (YYYY-MM-DD) when the text says when the event happened; the first day "
            "of the month or year when occurred_at_precision is month or year."
        ),
    )
    occurred_at_precision: DatePrecision | None = Field(
        default=None,
        description=(
            "How much of occurred_at is meaningful: day, month or year; null exactly when "
            "occurred_at is null (since 1.1.0)."
        ),
    )
    evidence: Evidence
    details: Details
    confidence: float = Field(ge=0.0, le=1.0)
    extractor: Extractor
    ingested_at: datetime = Field(default_factory=utc_now)
    report_id: str = Field(
        default="",
        description=(
            "The report this event is a version of: stable across the versions of its "
            "article (the first version's event_id; 1.0.0 documents are read with their "
            "event_id) (since 1.1.0)."
        ),
    )
    op: Op = Field(
        default="create",
        description=(
            "create: a new report; update: the next version of report_id (replaces it); "
            "retract: report_id is withdrawn, this is its last published version (since 1.1.0)."
        ),
    )
    version: int = Field(default=1, ge=1, description="The report's version (since 1.1.0).")

    @model_validator(mode="before")
    @classmethod
    def _legacy_precision(cls, data: Any) -> Any:
        """Schema 1.0.0 documents carry no precision (their dates were all days) and no
        report id (each event was its own report); a new event is its own first report."""
        if isinstance(data, dict) and not data.get("report_id") and data.get("event_id"):
            data = {**data, "report_id": data["event_id"]}
        if (
            isinstance(data, dict)
            and data.get("occurred_at") is not None
            and "occurred_at_precision" not in data
        ):
            return {**data, "occurred_at_precision": "day"}
        return data

    @model_validator(mode="after")
    def _details_match_type(self) -> Event:
        if self.details.kind != self.event_type:
            raise ValueError(f"details of kind {self.details.kind} on a {self.event_type} event")
        return self

    @model_validator(mode="after")
    def _precision_matches_date(self) -> Event:
        if (self.occurred_at is None) != (self.occurred_at_precision is None):
            raise ValueError("occurred_at_precision must be null exactly when occurred_at is")
        first_of = _FIRST_OF.get(self.occurred_at_precision or "")
        if first_of is not None and not first_of.fullmatch(self.occurred_at or ""):
            raise ValueError(
                f"a {self.occurred_at_precision}-precision occurred_at is the first day of "
                f"its {self.occurred_at_precision}, not {self.occurred_at!r}"
            )
        return self

    @staticmethod
    def make_id(content_sha256: str, event_type: str, start: int, end: int) -> str:
        return stable_id("event", content_sha256, event_type, str(start), str(end))


class OccurrenceState(_Frozen):
    """The current state of one occurrence: every report of the same real-world event,
    across articles, sources and languages (``news.occurrences``, compacted, keyed by
    ``occurrence_id``; a null value removes it)."""

    occurrence_id: str
    event_type: EventType
    mention_count: int = Field(
        ge=1, description="Articles that report it: published reports plus syndicated copies."
    )
    report_ids: list[str] = Field(description="Its reports (see Event.report_id).")
    event_ids: list[str] = Field(description="The current version of each report.")
    article_ids: list[str]
    sources: list[str] = Field(description="Sites that reported it, copies included.")
    languages: list[str]
    first_reported_at: str | None = None
    last_reported_at: str | None = None
    first_report_id: str | None = None
    latest_report_id: str | None = None
    first_day: str | None = Field(default=None, description="Earliest day its reports give.")
    last_day: str | None = None
    schema_version: str = SCHEMA_VERSION


class ReviewItem(_Frozen):
    """An event held for a person's decision instead of its typed topic (``news.review``,
    compacted, keyed by ``review_id``: the latest message is the item's state)."""

    review_id: str = Field(description="The held event's event_id.")
    status: Literal["pending", "accepted", "rejected", "superseded"] = Field(
        default="pending",
        description="superseded: its article changed and the event is no longer in it.",
    )
    reason: str = Field(description="Why it is held, e.g. its confidence below the bar.")
    event: Event
    requested_at: datetime = Field(default_factory=utc_now)
    decided_at: datetime | None = None
    note: str | None = Field(default=None, description="The reviewer's note on the decision.")
    schema_version: str = SCHEMA_VERSION


class DeadLetter(_Frozen):
    """Anything that could not go through: which input, which stage, why."""

    dead_letter_id: str
    stage: str = Field(description="fetch | extract | split | validate | publish")
    reason: str
    source: str = Field(description="The URL, path or event id that failed.")
    error_type: str | None = None
    http_status: int | None = None
    article_id: str | None = None
    event_id: str | None = None
    failed_expectations: list[str] = Field(default_factory=list)
    payload: dict[str, Any] | None = Field(
        default=None, description="The event or article metadata that failed, when there is one."
    )
    schema_version: str = SCHEMA_VERSION
    occurred_at: datetime = Field(default_factory=utc_now)

    @classmethod
    def build(cls, *, stage: str, reason: str, source: str, **fields: Any) -> DeadLetter:
        return cls(
            dead_letter_id=stable_id("dead_letter", stage, source, reason),
            stage=stage,
            reason=reason,
            source=source,
            **fields,
        )


def event_json_schema() -> dict[str, Any]:
    return Event.model_json_schema()
