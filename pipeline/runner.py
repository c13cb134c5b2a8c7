"""Airflow-free entry points: the DAG's tasks and the CLI call these same functions.

Each stage takes and returns plain models, so a stage can run in its own Airflow task
(models cross task boundaries as JSON through :func:`dump` and :func:`load`) or all in one
process (:func:`run_once`). Nothing is dropped: every discovered page ends in exactly one
outcome (ingested, unchanged, duplicate, skipped by rule, or failed with a dead letter), and
every event either reaches its topic or a dead letter.

The dedup ledger is read while acquiring (to classify unchanged pages and near-duplicates)
and written only after publishing succeeded, so a failed publish is retried in full and a
repeated run publishes nothing twice.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from itertools import islice
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from pipeline.dedup import hamming, text_simhash
from pipeline.errors import PipelineError, RobotsDisallowed
from pipeline.events import split_events
from pipeline.extract import extract_article
from pipeline.fetch import FetchedPage, Fetcher
from pipeline.ledger import DECIDED, Duplicate, Ledger, OccurrenceWrites, ReviewStatus
from pipeline.models import Article, DeadLetter, Event
from pipeline.settings import Settings
from pipeline.sources import Candidate, discover

if TYPE_CHECKING:
    from pipeline.occurrences import OccurrenceIndex
    from pipeline.publish import Message

OUTCOMES: tuple[str, ...] = ("ingested", "unchanged", "duplicate", "skipped", "failed")
PENDING = "pending"

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)


def dump(models: Iterable[BaseModel]) -> list[dict[str, Any]]:
    """Models to JSON-compatible dicts (for XCom and JSON lines)."""
    return [m.model_dump(mode="json") for m in models]


def load(model: type[M], rows: Iterable[dict[str, Any]]) -> list[M]:
    return [model.model_validate(row) for row in rows]


def dead_letter_from_error(error: Exception, source: str, **fields: Any) -> DeadLetter:
    """A dead-letter record naming the stage and the reason of ``error``."""
    if isinstance(error, PipelineError):
        return DeadLetter.build(
            stage=error.stage,
            reason=error.reason,
            source=source,
            error_type=type(error).__name__,
            http_status=error.context.get("http_status"),  # type: ignore[arg-type]
            **fields,
        )
    return DeadLetter.build(
        stage=fields.pop("stage", "pipeline"),
        reason=f"{type(error).__name__}: {error}",
        source=source,
        error_type=type(error).__name__,
        **fields,
    )


@dataclass(frozen=True)
class Outcome:
    """What became of one discovered page; ``pending`` until its article is published."""

    source: str
    outcome: str
    reason: str | None = None
    stage: str | None = None
    http_status: int | None = None
    article_id: str | None = None
    url: str | None = None
    content_sha256: str | None = None
    version: int | None = None
    duplicate_of: str | None = None
    duplicate_of_version: int | None = None
    distance: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Outcome:
        return cls(**data)


@dataclass
class StageOutput:
    """What a stage produced, what it could not process, and each page's outcome."""

    articles: list[Article] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)


_Fetched = FetchedPage | DeadLetter | Outcome
_Acquired = Article | DeadLetter | Outcome


def _fetch_one(candidate: Candidate, fetcher: Fetcher) -> _Fetched:
    """Fetch one candidate (I/O only: runs in the fetch thread pool); never raises."""
    source = candidate.target
    if candidate.skip_reason:
        return Outcome(source, "skipped", reason=candidate.skip_reason, stage="discover")
    if candidate.failure:
        return DeadLetter.build(
            stage=candidate.failure.get("stage", "discover"),
            reason=candidate.failure.get("reason", "discovery failed"),
            source=source,
            error_type=candidate.failure.get("error_type"),
            http_status=candidate.failure.get("http_status"),
        )
    try:
        return fetcher.fetch_page(source)
    except RobotsDisallowed as exc:
        return Outcome(source, "skipped", reason=exc.reason, stage=exc.stage)
    except PipelineError as exc:
        return dead_letter_from_error(exc, source)
    except Exception as exc:  # a bug on one page must not lose the others
        log.exception("fetching %s failed", source)
        return dead_letter_from_error(exc, source, stage="fetch")


def _fetch_ahead(
    candidates: Sequence[Candidate], fetcher: Fetcher, concurrency: int
) -> Iterator[_Fetched]:
    """The candidates' pages in order, fetched by ``concurrency`` threads: fetching overlaps
    extraction, and at most ``2 * concurrency`` page bodies (the one being extracted
    included) are held in memory however long the run."""
    ahead = 2 * concurrency
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        waiting: deque[Future[_Fetched]] = deque()
        queue = iter(candidates)
        for candidate in islice(queue, ahead):
            waiting.append(pool.submit(_fetch_one, candidate, fetcher))
        while waiting:
            yield waiting.popleft().result()
            # Only now, with the page extracted, may one more be fetched: the page in hand
            # counts towards the bound.
            for candidate in islice(queue, 1):
                waiting.append(pool.submit(_fetch_one, candidate, fetcher))


def _extract_one(candidate: Candidate, fetched: _Fetched, settings: Settings) -> _Acquired:
    """Extract a fetched page in the calling thread: lxml and Trafilatura are CPU-bound
    (threads would not speed them up) and are not safe to share across threads."""
    if not isinstance(fetched, FetchedPage):
        return fetched
    try:
        return extract_article(
            fetched.body,
            fetched.url,
            min_chars=settings.min_article_chars,
            max_chars=settings.max_article_chars,
            language_hint=candidate.language,
            charset=fetched.charset,
        )
    except PipelineError as exc:
        return dead_letter_from_error(exc, candidate.target)
    except Exception as exc:  # a bug on one page must not lose the others
        log.exception("extracting %s failed", candidate.target)
        return dead_letter_from_error(exc, candidate.target, stage="extract")


def _failed_outcome(dead: DeadLetter) -> Outcome:
    return Outcome(
        dead.source,
        "failed",
        reason=dead.reason,
        stage=dead.stage,
        http_status=dead.http_status,
        article_id=dead.article_id,
    )


def _fingerprint(article: Article) -> int:
    return text_simhash(article.text, article.content_sha256)


class _Classifier:
    """Tells new text from unchanged pages and near-duplicates, in discovery order."""

    def __init__(self, ledger: Ledger, max_distance: int, force: bool = False) -> None:
        self.ledger = ledger
        self.max_distance = max_distance
        self.force = force
        self.accepted: dict[
            str, tuple[Article, int, str]
        ] = {}  # article_id -> (article, simhash, source)

    def classify(self, source: str, article: Article) -> tuple[Outcome, Article | None]:
        base = {
            "article_id": article.article_id,
            "url": article.url,
            "content_sha256": article.content_sha256,
        }
        if article.article_id in self.accepted:
            first, accepted_fingerprint, first_source = self.accepted[article.article_id]
            return Outcome(
                source,
                "duplicate",
                reason=f"same canonical URL as {first_source} in this run",
                duplicate_of=first.article_id,
                duplicate_of_version=first.version,
                distance=hamming(accepted_fingerprint, _fingerprint(article)),
                **base,
            ), None
        latest = self.ledger.latest(article.article_id)
        if latest is not None and latest.content_sha256 == article.content_sha256:
            if self.force:  # a replay: the same text again, same version, same event ids
                article = article.model_copy(update={"version": latest.version})
                self.accepted[article.article_id] = (article, _fingerprint(article), source)
                return Outcome(source, PENDING, version=latest.version, **base), article
            return Outcome(
                source,
                "unchanged",
                reason=f"version {latest.version} already ingested",
                version=latest.version,
                **base,
            ), None
        fingerprint = _fingerprint(article)
        near = (
            self.ledger.near_duplicates(
                fingerprint, self.max_distance, other_than=article.article_id
            )
            if self.max_distance >= 0
            else []
        )
        match: tuple[str, int | None, str, int] | None = None
        if near:
            known, distance = near[0]
            match = (known.article_id, known.version, known.url, distance)
        else:
            for other, other_fp, _ in self.accepted.values():
                distance = hamming(fingerprint, other_fp)
                if distance <= self.max_distance:
                    match = (other.article_id, other.version, other.url, distance)
                    break
        if match is not None:
            dup_id, dup_version, dup_url, distance = match
            return Outcome(
                source,
                "duplicate",
                reason=f"near-duplicate of {dup_url} (simhash distance {distance})",
                duplicate_of=dup_id,
                duplicate_of_version=dup_version,
                distance=distance,
                **base,
            ), None
        version = latest.version + 1 if latest is not None else 1
        article = article.model_copy(update={"version": version})
        self.accepted[article.article_id] = (article, fingerprint, source)
        return Outcome(source, PENDING, version=version, **base), article


def acquire(
    sources: Sequence[str | dict[str, Any] | Candidate],
    settings: Settings,
    force: bool = False,
    timings: dict[str, float] | None = None,
) -> StageOutput:
    """Discover, fetch, extract and classify: one outcome per discovered page.

    ``force`` (replays) publishes a page again although the ledger holds its text unchanged;
    its event ids are the same as before, since they derive from the text.

    Pages are fetched by a bounded thread pool (the fetcher enforces per-host limits) while
    this thread extracts the pages already fetched; outcomes keep discovery order. New text
    becomes an article (outcome ``pending`` until published); an unchanged page or a
    near-duplicate is recorded, never re-published. ``timings`` (when given) receives the
    seconds spent in ``discover``, ``extract`` and waiting for pages (``fetch``).
    """
    out = StageOutput()
    clock = timings if timings is not None else {}
    started = time.perf_counter()
    fetched: list[_Acquired] = []
    with Fetcher(settings) as fetcher:
        candidates = discover(list(sources), settings, fetcher)
        discovering = time.perf_counter() - started
        extracting = 0.0
        pages = _fetch_ahead(candidates, fetcher, settings.fetch_concurrency)
        for candidate, page in zip(candidates, pages, strict=True):
            began = time.perf_counter()
            fetched.append(_extract_one(candidate, page, settings))
            extracting += time.perf_counter() - began
    waiting = time.perf_counter() - started - discovering - extracting
    for stage, seconds in (("discover", discovering), ("extract", extracting), ("fetch", waiting)):
        clock[stage] = clock.get(stage, 0.0) + seconds
    with Ledger.from_settings(settings) as ledger:
        classifier = _Classifier(ledger, settings.near_duplicate_distance, force)
        for candidate, result in zip(candidates, fetched, strict=True):
            if isinstance(result, DeadLetter):
                out.dead_letters.append(result)
                out.outcomes.append(_failed_outcome(result))
            elif isinstance(result, Outcome):
                out.outcomes.append(result)
            else:
                outcome, article = classifier.classify(candidate.target, result)
                out.outcomes.append(outcome)
                if article is not None:
                    out.articles.append(article)
    return out


def record_published(
    articles: Sequence[Article],
    outcomes: Sequence[Outcome],
    settings: Settings,
    events: Sequence[Event] = (),
    occurrences: OccurrenceWrites | None = None,
) -> None:
    """After a confirmed publish: remember the articles, the reports' versions (``events``
    as published), the duplicates and the occurrences changed in the ledger, in one
    transaction."""
    with Ledger.from_settings(settings) as ledger:
        _record(ledger, articles, outcomes, events, occurrences)


def _record(
    ledger: Ledger,
    articles: Sequence[Article],
    outcomes: Sequence[Outcome],
    events: Sequence[Event],
    occurrences: OccurrenceWrites | None,
    reviews: Sequence[ReviewStatus] = (),
) -> None:
    dups = [
        Duplicate(
            article_id=o.article_id,
            url=o.url or o.source,
            content_sha256=o.content_sha256,
            duplicate_of=o.duplicate_of,
            duplicate_of_version=o.duplicate_of_version or 1,
            distance=o.distance or 0,
        )
        for o in outcomes
        if o.outcome == "duplicate" and o.article_id and o.content_sha256 and o.duplicate_of
    ]
    ledger.record_published(articles, events, dups, occurrences, reviews)


def split(articles: Sequence[Article]) -> StageOutput:
    """Split each article into events; an article the splitter fails on is a dead letter."""
    out = StageOutput()
    for article in articles:
        try:
            events = split_events(article)
        except Exception as exc:  # a splitter bug must not lose the other articles
            log.exception("splitting failed for %s", article.url)
            out.dead_letters.append(
                dead_letter_from_error(
                    exc, article.url, stage="split", article_id=article.article_id
                )
            )
            continue
        out.articles.append(article)
        out.events.extend(events)
    return out


def validate(
    articles: Sequence[Article],
    events: Sequence[Event],
    settings: Settings,
    run_name: str | None = None,
) -> StageOutput:
    """Validate articles, then events, with the GX suites; failures become dead letters.

    ``run_name`` groups the GX results of one run (the Airflow run id, or a CLI run's id).
    """
    from pipeline.validate import validate_articles, validate_events

    valid_articles, article_failures = validate_articles(list(articles), settings, run_name)
    out = StageOutput(articles=valid_articles, dead_letters=list(article_failures))
    rejected = {dl.article_id: dl.reason for dl in article_failures if dl.article_id}
    kept: list[Event] = []
    for event in events:
        if event.article.article_id in rejected:
            out.dead_letters.append(
                DeadLetter.build(
                    stage="validate",
                    reason=f"its article failed validation: {rejected[event.article.article_id]}",
                    source=event.event_id,
                    article_id=event.article.article_id,
                    event_id=event.event_id,
                    payload=event.model_dump(mode="json"),
                )
            )
        else:
            kept.append(event)
    by_id = {a.article_id: a for a in valid_articles}
    report = validate_events(kept, by_id, settings, run_name)
    out.events = list(report.valid_events)
    out.dead_letters.extend(report.invalid)
    return out


def plan_reports(
    articles: Sequence[Article], events: Sequence[Event], ledger: Ledger
) -> list[Event]:
    """The events to publish as report changes (:mod:`pipeline.lifecycle`): each article's
    new events against its live reports in the ledger. Events whose article is not in
    ``articles`` (re-validated dead letters) only create or update, never retract."""
    from pipeline.lifecycle import plan_changes

    whole = {a.article_id for a in articles}
    by_article: dict[str, list[Event]] = {a: [] for a in whole}
    for event in events:
        by_article.setdefault(event.article.article_id, []).append(event)
    live = ledger.live_reports(by_article)
    return [
        change
        for article_id, found in by_article.items()
        for change in plan_changes(live[article_id], found, partial=article_id not in whole)
    ]


def hold_for_review(
    events: Sequence[Event],
    settings: Settings,
    ledger: Ledger,
    whole: Iterable[str] = (),
) -> tuple[list[Event], list[Message], list[ReviewStatus]]:
    """Split off the events below ``review_below_confidence`` (:mod:`pipeline.review`).

    Returns the events to publish, the ``news.review`` messages and the review statuses to
    record. Decisions follow a report across its article's versions, as the lifecycle
    does (an event whose evidence is mostly that of an earlier item's event, same type,
    is its next version):

    - a held event is a new pending item, with the reason;
    - the next version of an accepted item's event is published (an update of the
      report the reviewer accepted); of a rejected one, it is recorded as rejected too;
      a decision passes on once, to the most similar next version (pairs chosen as the
      lifecycle chooses them), and the item it passed from is not matched again;
    - an item decided before is never opened again; a superseded one whose event comes
      back (the article's edit undone) is reopened like a new one;
    - a pending item of an article published again (``whole``: the ids of the articles
      published whole) whose event is gone is ``superseded``, naming its next version's
      item when there is one: nobody is left deciding on a text that is no longer there.
    """
    from pipeline.lifecycle import pair_versions
    from pipeline.models import ReviewItem, utc_now
    from pipeline.publish import review_message
    from pipeline.review import next_version_note, status_of

    bar = settings.review_below_confidence
    low = {e.event_id: e for e in events if e.confidence < bar}
    whole = set(whole)
    known = ledger.review_statuses(review_ids=low, article_ids=whole)
    # An item followed by a live next version passed its decision (or its place) on; a
    # superseded follower does not count (its predecessor came back and is open again).
    followed = {k.follows for k in known.values() if k.follows and k.status != "superseded"}
    earlier = [  # open ends of these articles' item chains, for events of an earlier version
        ReviewItem.model_validate_json(k.item)
        for i, k in sorted(known.items())
        if i not in low and k.status != "superseded" and i not in followed
    ]
    publish = {i for i, k in known.items() if k.status == "accepted"}
    new = [e for i, e in sorted(low.items()) if i not in known or known[i].status == "superseded"]
    previous: dict[str, ReviewItem] = {}  # new item id -> the item it is the next version of
    for article_id in sorted({e.article.article_id for e in new}):
        items_before = {i.review_id: i for i in earlier if i.event.article.article_id == article_id}
        paired = pair_versions(
            [i.event for i in items_before.values()],
            [e for e in new if e.article.article_id == article_id],
        )
        previous.update({n: items_before[o.event_id] for n, o in paired.items()})
    successor = {p.review_id: n for n, p in previous.items()}
    items: list[ReviewItem] = []
    for event in new:
        reason = (
            f"confidence {event.confidence:.2f} below {bar:.2f} (PIPELINE_REVIEW_BELOW_CONFIDENCE)"
        )
        item = ReviewItem(review_id=event.event_id, reason=reason, event=event)
        before = previous.get(event.event_id)
        if before is not None:
            note = next_version_note(before.review_id)
            if before.status in DECIDED:
                item = item.model_copy(
                    update={"status": before.status, "decided_at": utc_now(), "note": note}
                )
                if before.status == "accepted":
                    publish.add(event.event_id)
            else:
                item = item.model_copy(update={"note": note})
        elif event.event_id in known:
            item = item.model_copy(update={"note": "its article changed back: open again"})
        items.append(item)
    published = {e.event_id for e in events}
    for item in earlier:
        if item.status == "pending" and item.event.article.article_id in whole:
            after = successor.get(item.review_id)
            note = "its article changed: " + (
                f"the event's next version is review item {after}"
                if after
                else "the event now clears the bar and is published"
                if item.review_id in published
                else "the event is no longer in it"
            )
            items.append(
                item.model_copy(
                    update={"status": "superseded", "decided_at": utc_now(), "note": note}
                )
            )
    kept = [e for e in events if e.event_id not in low or e.event_id in publish]
    statuses = [status_of(i) for i in items]
    return kept, [review_message(i, settings) for i in items], statuses


def load_occurrences(
    ledger: Ledger, planned: Sequence[Event], outcomes: Sequence[Outcome]
) -> OccurrenceIndex:
    """The part of the saved occurrence index this run can touch: the occurrences filed
    within the matching window of its reports' days, those holding its reports, and every
    occurrence of the articles those hold (the translations' alignment looks at the
    whole of a companion article) or that its syndicated copies repeat."""
    from pipeline.occurrences import OccurrenceIndex, bucket_day

    index = OccurrenceIndex()
    originals = {o.duplicate_of for o in outcomes if o.outcome == "duplicate" and o.duplicate_of}
    index.load(
        ledger.load_occurrences(
            windows=index.windows(bucket_day(e) for e in planned if e.op != "retract"),
            report_ids={e.report_id for e in planned},
            article_ids={e.article.article_id for e in planned} | originals,
        )
    )
    index.load(ledger.load_occurrences(article_ids=index.article_ids()))
    return index


def track_occurrences(
    index: OccurrenceIndex,
    planned: Sequence[Event],
    outcomes: Sequence[Outcome],
    settings: Settings,
) -> tuple[list[Message], OccurrenceWrites]:
    """Feed the published report changes and the syndicated copies (near-duplicates, not
    published) to the occurrence index; return the ``news.occurrences`` messages (each
    changed occurrence's state, a tombstone for each removed one) and what to save."""
    from pipeline.models import OccurrenceState
    from pipeline.occurrences import source_of
    from pipeline.publish import occurrence_message

    # A report published again as it was (a replay) is an update of what the index holds.
    changes = [
        e.model_copy(update={"op": "update"})
        if e.op == "create" and index.occurrence_of(e.report_id) is not None
        else e
        for e in planned
    ]
    applied = index.apply(changes)
    changed = set(applied.changed)
    for o in outcomes:
        if o.outcome == "duplicate" and o.duplicate_of:
            changed.update(
                index.add_mention(o.duplicate_of, source_of(o.url or o.source), None, o.article_id)
            )
    messages, saved = [], []
    for occurrence_id in sorted(changed - set(applied.removed)):
        occurrence = index.get(occurrence_id)
        if occurrence is not None:
            state = OccurrenceState.model_validate(occurrence.record())
            messages.append(occurrence_message(occurrence_id, state, settings))
            saved.append(occurrence.to_dict())
    messages.extend(occurrence_message(o, None, settings) for o in applied.removed)
    return messages, OccurrenceWrites(saved=saved, removed=list(applied.removed))


def publish_all(
    articles: Sequence[Article],
    events: Sequence[Event],
    dead_letters: Sequence[DeadLetter],
    settings: Settings,
    producer: Any | None = None,
    writer: str | None = None,
    outcomes: Sequence[Outcome] = (),
    *,
    review: bool = True,
    extra: Sequence[Message] = (),
) -> dict[str, int]:
    """Publish articles, their events as report changes and the dead letters, then record
    it all in the ledger; return confirmed counts per topic.

    With ``review``, events whose confidence is below ``review_below_confidence`` go to the
    review topic as pending items (:mod:`pipeline.review`) instead of their typed topic;
    ``extra`` messages (a review decision) are sent in the same transaction.

    Once the writer's producer is open (fencing a killed predecessor), the ledger is
    reconciled with the articles topic, and articles an earlier attempt already committed
    are left out (:mod:`pipeline.recovery`): a retried run publishes nothing twice. Their
    report changes are planned again (the same as the earlier attempt's, from the same
    ledger state) and recorded without being sent.
    """
    from pipeline.publish import open_writer, send_records
    from pipeline.recovery import reconcile_ledger, without_committed

    with (
        open_writer(settings, writer, producer) as open_producer,
        Ledger.from_settings(settings) as ledger,
    ):
        committed = reconcile_ledger(settings, ledger)
        todo = without_committed(articles, events, dead_letters, committed)
        done = {a.article_id for a in todo.already_committed}
        whole = [*todo.articles, *todo.already_committed]
        held: list[Message] = []
        reviews: list[ReviewStatus] = []
        if review:
            events, held, reviews = hold_for_review(
                events, settings, ledger, whole=[a.article_id for a in whole]
            )
            held = [m for m in held if m.group not in done]
        planned = plan_reports(whole, events, ledger)
        to_send = [e for e in planned if e.article.article_id not in done]
        index = load_occurrences(ledger, planned, outcomes)
        # States are full and keyed: the copies re-sent for committed articles change nothing.
        occurrences, writes = track_occurrences(index, planned, outcomes, settings)
        counts = send_records(
            open_producer,
            [*todo.articles, *to_send, *todo.dead_letters],
            settings,
            extra=[*occurrences, *held, *extra],
        )
        _record(ledger, whole, outcomes, planned, writes, reviews)
    return counts


@dataclass
class RunSummary:
    """What one run did; the ``outcomes`` add up to ``discovered``."""

    discovered: int
    ingested: int
    failed: int
    topics: dict[str, int]
    events_by_type: dict[str, int]
    failures: list[dict[str, Any]]
    outcomes: dict[str, int] = field(default_factory=dict)
    quality: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "discovered": self.discovered,
            "ingested": self.ingested,
            "failed": self.failed,
            "outcomes": self.outcomes,
            "topics": self.topics,
            "events_by_type": self.events_by_type,
            "failures": self.failures,
            "quality": self.quality,
        }


def resolve_outcomes(
    outcomes: Sequence[Outcome], published: Sequence[Article], dead_letters: Sequence[DeadLetter]
) -> list[Outcome]:
    """Settle pending outcomes: published articles are ingested, the others failed."""
    published_ids = {a.article_id for a in published}
    article_failures = {
        dl.article_id: dl for dl in dead_letters if dl.article_id and dl.event_id is None
    }
    settled: list[Outcome] = []
    for outcome in outcomes:
        if outcome.outcome != PENDING:
            settled.append(outcome)
        elif outcome.article_id in published_ids:
            settled.append(replace(outcome, outcome="ingested"))
        else:
            dead = article_failures.get(outcome.article_id)
            settled.append(
                replace(
                    outcome,
                    outcome="failed",
                    stage=dead.stage if dead else "pipeline",
                    reason=dead.reason if dead else "article not published",
                )
            )
    return settled


def summarize(
    outcomes: Sequence[Outcome],
    articles: Sequence[Article],
    events: Sequence[Event],
    dead_letters: Sequence[DeadLetter],
    topics: dict[str, int],
) -> RunSummary:
    """Account for every discovered page: exactly one outcome each."""
    settled = resolve_outcomes(outcomes, articles, dead_letters)
    counts = Counter(o.outcome for o in settled)
    return RunSummary(
        discovered=len(settled),
        ingested=counts["ingested"],
        failed=counts["failed"],
        outcomes={name: counts[name] for name in OUTCOMES},
        topics=topics,
        events_by_type=dict(Counter(e.event_type for e in events)),
        failures=[
            {"source": dl.source, "stage": dl.stage, "reason": dl.reason} for dl in dead_letters
        ],
    )


def new_run_name(prefix: str = "cli") -> str:
    """A sortable, unique name for a run outside Airflow (Airflow runs use their run id)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{prefix}__{stamp}_{uuid.uuid4().hex[:6]}"


def run_once(
    sources: Sequence[str | dict[str, Any] | Candidate],
    settings: Settings,
    run_name: str | None = None,
    timings: dict[str, float] | None = None,
) -> RunSummary:
    """The whole chain once, without the scheduler.

    The run-level expectations are checked before publishing (the ``fail`` policy raises
    :class:`~pipeline.errors.ValidationFailed` and publishes nothing); after publishing the
    run is recorded for the dashboard, and under the ``alert`` policy a failed run is
    flagged in ``summary.quality`` instead of raising, since its events are already out.
    ``timings`` (when given) receives the seconds each stage took: ``discover``, ``fetch``
    (waiting for pages), ``extract``, ``split``, ``validate``, ``publish`` and ``record``
    (the ledger and the run's record for the dashboard).
    """
    from pipeline.dashboard.records import finish_run
    from pipeline.errors import ValidationFailed
    from pipeline.publish import open_writer
    from pipeline.validate import check_run

    clock = timings if timings is not None else {}

    def lap(stage: str, began: float) -> float:
        now = time.perf_counter()
        clock[stage] = clock.get(stage, 0.0) + now - began
        return now

    run_name = run_name or new_run_name()
    # The writer opens first: with Kafka down the run fails before fetching anything.
    with open_writer(settings) as producer:
        acquired = acquire(sources, settings, timings=clock)
        began = time.perf_counter()
        split_out = split(acquired.articles)
        began = lap("split", began)
        checked = validate(split_out.articles, split_out.events, settings, run_name)
        dead = [*acquired.dead_letters, *split_out.dead_letters, *checked.dead_letters]
        run = check_run(
            len(acquired.outcomes),
            checked.articles,
            checked.events,
            dead,
            settings,
            run_name=run_name,
        )
        began = lap("validate", began)
        topics = publish_all(
            checked.articles,
            checked.events,
            dead,
            settings,
            producer=producer,
            outcomes=acquired.outcomes,
        )
        began = lap("publish", began)
    summary = summarize(acquired.outcomes, checked.articles, checked.events, dead, topics)
    summary.quality = {"run_name": run_name, **run.as_dict()}
    try:
        finish_run(summary.as_dict(), settings, run_name=run_name, dead_letters=dead, run=run)
    except ValidationFailed as exc:
        log.warning("run %s published, but its run-level expectations failed: %s", run_name, exc)
        summary.quality["alert"] = str(exc)
    lap("record", began)
    return summary
