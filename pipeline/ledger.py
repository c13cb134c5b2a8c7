"""The dedup ledger: what was ingested, in which version, and what was a duplicate.

It persists across runs (SQLite in the state dir by default, any SQLAlchemy URL in
production) and is keyed by article id (derived from the canonical URL) and content
fingerprint. Runs read it while acquiring (to tell unchanged pages and syndicated copies
apart from new text) and write it only after publishing succeeded, so a failed publish is
retried in full by the next attempt and a run that is repeated publishes nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from pipeline.dedup import bands, from_signed, hamming, text_simhash, to_signed
from pipeline.errors import LedgerError
from pipeline.models import Article, Event
from pipeline.settings import Settings

T = TypeVar("T")
metadata = sa.MetaData()

versions = sa.Table(
    "article_versions",
    metadata,
    sa.Column("article_id", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("content_sha256", sa.String(64), nullable=False),
    sa.Column("simhash", sa.BigInteger, nullable=False),
    *(sa.Column(f"band{i}", sa.Integer, nullable=False, index=True) for i in range(4)),
    sa.Column("title", sa.Text),
    sa.Column("language", sa.String(16)),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("article_id", "content_sha256", name="uq_article_content"),
)

duplicates = sa.Table(
    "duplicates",
    metadata,
    sa.Column("article_id", sa.String(64), primary_key=True),
    sa.Column("content_sha256", sa.String(64), primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("duplicate_of", sa.String(64), nullable=False),
    sa.Column("duplicate_of_version", sa.Integer, nullable=False),
    sa.Column("distance", sa.Integer, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)

# Every report's last published version (pipeline.lifecycle): what the next version of its
# article is compared with.
reports = sa.Table(
    "reports",
    metadata,
    sa.Column("report_id", sa.String(64), primary_key=True),
    sa.Column("article_id", sa.String(64), nullable=False, index=True),
    sa.Column("event_id", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("retracted", sa.Boolean, nullable=False),
    sa.Column("event", sa.Text, nullable=False),  # the published event's JSON
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)

# The occurrence index (pipeline.occurrences), one row per occurrence: its state and the
# days its reports are filed under, so a run loads only the occurrences it can touch.
occurrences = sa.Table(
    "occurrences",
    metadata,
    sa.Column("occurrence_id", sa.String(64), primary_key=True),
    sa.Column("event_type", sa.String(32), nullable=False),
    sa.Column("first_day", sa.String(10), nullable=False, index=True),
    sa.Column("last_day", sa.String(10), nullable=False, index=True),
    sa.Column("state", sa.Text, nullable=False),  # Occurrence.to_dict() as JSON
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)
# Which occurrence holds each report, and from which article (updates, retractions,
# syndicated copies and repeats look occurrences up by report or by article).
occurrence_reports = sa.Table(
    "occurrence_reports",
    metadata,
    sa.Column("report_id", sa.String(64), primary_key=True),
    sa.Column("occurrence_id", sa.String(64), nullable=False, index=True),
    sa.Column("article_id", sa.String(64), nullable=False, index=True),
)
# Before 1.1.0's row-level storage: the whole index as one JSON document. Read once to
# move it into the tables above, then emptied.
legacy_occurrence_index = sa.Table(
    "occurrence_index",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)

# Review items (pipeline.review): which event is held, for which article, and its status,
# so a run neither re-opens a decided item nor leaves a stale one pending.
review_items = sa.Table(
    "review_items",
    metadata,
    sa.Column("review_id", sa.String(64), primary_key=True),
    sa.Column("article_id", sa.String(64), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("item", sa.Text, nullable=False),  # the item's latest state (ReviewItem JSON)
    # The item this one's event is the next version of: that item passed its decision on.
    sa.Column("follows", sa.String(64), nullable=True, index=True),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)

# How far the ledger has been reconciled with the articles topic: the next offset to read
# per partition (see pipeline.recovery).
topic_offsets = sa.Table(
    "topic_offsets",
    metadata,
    sa.Column("topic", sa.String(255), primary_key=True),
    sa.Column("partition", sa.Integer, primary_key=True),
    sa.Column("next_offset", sa.BigInteger, nullable=False),
)


@dataclass(frozen=True)
class KnownVersion:
    """One ingested version of an article, as the ledger holds it."""

    article_id: str
    version: int
    url: str
    content_sha256: str
    simhash: int


@dataclass(frozen=True)
class OccurrenceWrites:
    """What a run changed in the occurrence index: states to save (each an
    ``Occurrence.to_dict()``) and the ids of occurrences that lost their last report."""

    saved: Sequence[dict[str, Any]] = ()
    removed: Sequence[str] = ()


@dataclass(frozen=True)
class ReviewStatus:
    """A review item as the ledger knows it: ``item`` is its latest state as JSON;
    ``follows``, the item of the earlier version of its event, if any."""

    review_id: str
    article_id: str
    status: str
    item: str
    follows: str | None = None


@dataclass(frozen=True)
class Duplicate:
    """A page whose text is (nearly) that of an article already ingested."""

    article_id: str
    url: str
    content_sha256: str
    duplicate_of: str
    duplicate_of_version: int
    distance: int


def _row_version(row: sa.Row) -> KnownVersion:  # type: ignore[type-arg]
    return KnownVersion(
        article_id=row.article_id,
        version=row.version,
        url=row.url,
        content_sha256=row.content_sha256,
        simhash=from_signed(row.simhash),
    )


class Ledger:
    """SQLAlchemy Core access to the ledger tables (created when missing)."""

    def __init__(self, url: str, lock_timeout_s: float = 30.0) -> None:
        self.url = url
        try:
            if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            connect_args = {"timeout": lock_timeout_s} if url.startswith("sqlite") else {}
            self.engine = sa.create_engine(url, connect_args=connect_args)
            metadata.create_all(self.engine)
        except (SQLAlchemyError, OSError) as exc:
            raise LedgerError(f"cannot open the ledger: {exc}", source=_safe(url)) from exc

    @classmethod
    def from_settings(cls, settings: Settings) -> Ledger:
        return cls(settings.resolved_ledger_url, settings.ledger_lock_timeout_s)

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.engine.dispose()

    def latest(self, article_id: str) -> KnownVersion | None:
        """The newest ingested version of an article, or None if it was never ingested."""
        query = (
            sa.select(versions)
            .where(versions.c.article_id == article_id)
            .order_by(versions.c.version.desc())
            .limit(1)
        )
        row = self._read(lambda conn: conn.execute(query).first())
        return _row_version(row) if row is not None else None

    def urls_recorded_between(self, start: datetime, end: datetime) -> list[str]:
        """The URLs of the versions recorded in ``[start, end)``, oldest first (for replays)."""
        query = (
            sa.select(versions.c.url, sa.func.min(versions.c.recorded_at).label("first"))
            .where(versions.c.recorded_at >= start, versions.c.recorded_at < end)
            .group_by(versions.c.url)
            .order_by("first", versions.c.url)
        )
        return self._read(lambda conn: [row.url for row in conn.execute(query)])

    def near_duplicates(
        self, fingerprint: int, max_distance: int, *, other_than: str
    ) -> list[tuple[KnownVersion, int]]:
        """Ingested versions of other articles within ``max_distance`` bits, closest first."""
        keys = bands(fingerprint)
        query = sa.select(versions).where(
            versions.c.article_id != other_than,
            sa.or_(*(versions.c[f"band{i}"] == key for i, key in enumerate(keys))),
        )
        rows = self._read(lambda conn: conn.execute(query).all())
        found = [(v, hamming(v.simhash, fingerprint)) for v in map(_row_version, rows)]
        return sorted(
            ((v, d) for v, d in found if d <= max_distance),
            key=lambda vd: (vd[1], vd[0].article_id, vd[0].version),
        )

    def record_ingested(self, articles: Iterable[Article]) -> int:
        """Record published articles as versions; a version already there is left alone."""
        try:
            with self.engine.begin() as conn:
                return len(_insert_versions(conn, articles, datetime.now(UTC)))
        except SQLAlchemyError as exc:
            raise LedgerError(
                f"cannot record ingested articles: {exc}", source=_safe(self.url)
            ) from exc

    def live_reports(self, article_ids: Iterable[str]) -> dict[str, list[Event]]:
        """The last published version of each report not retracted, per article."""
        wanted = sorted(set(article_ids))
        out: dict[str, list[Event]] = {a: [] for a in wanted}
        for chunk in _chunks(wanted):
            rows = self._read(
                lambda conn, chunk=chunk: conn.execute(
                    sa.select(reports.c.article_id, reports.c.event)
                    .where(reports.c.article_id.in_(chunk), sa.not_(reports.c.retracted))
                    .order_by(reports.c.report_id)
                ).all()
            )
            for row in rows:
                out[row.article_id].append(Event.model_validate_json(row.event))
        return out

    def load_occurrences(
        self,
        windows: Sequence[tuple[str, str]] = (),
        report_ids: Iterable[str] = (),
        article_ids: Iterable[str] = (),
    ) -> list[dict[str, Any]]:
        """Saved occurrence states (``Occurrence.to_dict()``): those with a report filed
        under a day of one of the ``windows`` (first, last day, inclusive), holding one of
        ``report_ids``, or holding a report of one of ``article_ids``."""
        self._move_legacy_occurrence_index()

        def query(conn: sa.Connection) -> list[dict[str, Any]]:
            found: dict[str, str] = {}
            for low, high in windows:
                rows = conn.execute(
                    sa.select(occurrences.c.occurrence_id, occurrences.c.state).where(
                        occurrences.c.first_day <= high, occurrences.c.last_day >= low
                    )
                )
                found.update((r.occurrence_id, r.state) for r in rows)
            for column, keys in (
                (occurrence_reports.c.report_id, sorted(set(report_ids))),
                (occurrence_reports.c.article_id, sorted(set(article_ids))),
            ):
                for chunk in _chunks(keys):
                    held = sa.select(occurrence_reports.c.occurrence_id).where(column.in_(chunk))
                    rows = conn.execute(
                        sa.select(occurrences.c.occurrence_id, occurrences.c.state).where(
                            occurrences.c.occurrence_id.in_(held)
                        )
                    )
                    found.update((r.occurrence_id, r.state) for r in rows)
            return [json.loads(found[k]) for k in sorted(found)]

        return self._read(query)

    def count_occurrences(self) -> int:
        self._move_legacy_occurrence_index()
        return self._read(
            lambda conn: (
                conn.execute(sa.select(sa.func.count()).select_from(occurrences)).scalar() or 0
            )
        )

    def _move_legacy_occurrence_index(self) -> None:
        """A ledger written before row-level storage holds the index as one document: move
        it into rows (once, in one transaction)."""
        try:
            with self.engine.begin() as conn:
                state = conn.execute(sa.select(legacy_occurrence_index.c.state)).scalar()
                if state is None:
                    return
                saved = json.loads(state).get("occurrences", [])
                _save_occurrences(conn, OccurrenceWrites(saved=saved), datetime.now(UTC))
                conn.execute(sa.delete(legacy_occurrence_index))
        except SQLAlchemyError as exc:
            raise LedgerError(
                f"cannot move the occurrence index into rows: {exc}", source=_safe(self.url)
            ) from exc

    def review_statuses(
        self, review_ids: Iterable[str] = (), article_ids: Iterable[str] = ()
    ) -> dict[str, ReviewStatus]:
        """The review items recorded for these ids or these articles."""

        def query(conn: sa.Connection) -> dict[str, ReviewStatus]:
            out: dict[str, ReviewStatus] = {}
            for column, keys in (
                (review_items.c.review_id, sorted(set(review_ids))),
                (review_items.c.article_id, sorted(set(article_ids))),
            ):
                for chunk in _chunks(keys):
                    for row in conn.execute(sa.select(review_items).where(column.in_(chunk))):
                        out[row.review_id] = ReviewStatus(
                            row.review_id, row.article_id, row.status, row.item, row.follows
                        )
            return out

        return self._read(query)

    def record_reviews(self, reviews: Sequence[ReviewStatus]) -> None:
        """Review decisions, after they were published."""
        try:
            with self.engine.begin() as conn:
                _save_reviews(conn, reviews, datetime.now(UTC))
        except SQLAlchemyError as exc:
            raise LedgerError(
                f"cannot record review decisions: {exc}", source=_safe(self.url)
            ) from exc

    def record_published(
        self,
        articles: Iterable[Article],
        events: Iterable[Event],
        found: Sequence[Duplicate],
        occurrences: OccurrenceWrites | None = None,
        reviews: Sequence[ReviewStatus] = (),
    ) -> None:
        """After a confirmed publish, in one transaction: the articles' versions, the
        reports' versions (``events`` as published), the duplicates, the occurrences the
        run changed and the review items' statuses."""
        now = datetime.now(UTC)
        try:
            with self.engine.begin() as conn:
                _insert_versions(conn, articles, now)
                _upsert_reports(conn, events, now)
                _insert_duplicates(conn, found, now)
                if occurrences is not None:
                    _save_occurrences(conn, occurrences, now)
                _save_reviews(conn, reviews, now)
        except SQLAlchemyError as exc:
            raise LedgerError(
                f"cannot record what was published: {exc}", source=_safe(self.url)
            ) from exc

    def topic_offsets(self, topic: str) -> dict[int, int]:
        """The next offset to reconcile per partition of ``topic`` (empty: from the start)."""
        return self._read(
            lambda conn: {
                row.partition: row.next_offset
                for row in conn.execute(
                    sa.select(topic_offsets).where(topic_offsets.c.topic == topic)
                )
            }
        )

    def recover(
        self, articles: Sequence[Article], topic: str, offsets: dict[int, int]
    ) -> list[Article]:
        """Record articles found committed on ``topic`` and move its offsets, atomically.

        Returns the articles the ledger did not hold yet: published by an attempt that
        died between the Kafka commit and its ledger write.
        """
        try:
            with self.engine.begin() as conn:
                added = _insert_versions(conn, articles, datetime.now(UTC))
                _save_offsets(conn, topic, offsets)
                return added
        except SQLAlchemyError as exc:
            raise LedgerError(
                f"cannot reconcile the ledger with {topic}: {exc}", source=_safe(self.url)
            ) from exc

    def recover_reviews(
        self, reviews: Sequence[ReviewStatus], topic: str, offsets: dict[int, int]
    ) -> None:
        """Record review states found committed on ``topic`` (each item's latest) and move
        its offsets, atomically: the topic's state is the item's state."""
        try:
            with self.engine.begin() as conn:
                _save_reviews(conn, reviews, datetime.now(UTC))
                _save_offsets(conn, topic, offsets)
        except SQLAlchemyError as exc:
            raise LedgerError(
                f"cannot reconcile the ledger with {topic}: {exc}", source=_safe(self.url)
            ) from exc

    def record_duplicates(self, found: Sequence[Duplicate]) -> int:
        """Mark pages as duplicates of ingested articles (for audit; never re-published)."""
        try:
            with self.engine.begin() as conn:
                return _insert_duplicates(conn, found, datetime.now(UTC))
        except SQLAlchemyError as exc:
            raise LedgerError(f"cannot record duplicates: {exc}", source=_safe(self.url)) from exc

    def counts(self) -> dict[str, int]:
        """Rows per table, for operators and tests."""

        def count(conn: sa.Connection, table: sa.Table) -> int:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)

        return self._read(
            lambda conn: {
                "versions": count(conn, versions),
                "articles": int(
                    conn.execute(
                        sa.select(sa.func.count(sa.distinct(versions.c.article_id)))
                    ).scalar()
                    or 0
                ),
                "duplicates": count(conn, duplicates),
            }
        )

    def _read(self, query: Callable[[sa.Connection], T]) -> T:
        try:
            with self.engine.connect() as conn:
                return query(conn)
        except SQLAlchemyError as exc:
            raise LedgerError(f"cannot read the ledger: {exc}", source=_safe(self.url)) from exc


def _insert_versions(
    conn: sa.Connection, articles: Iterable[Article], now: datetime
) -> list[Article]:
    """Insert the versions not recorded yet; return the articles that were new."""
    added: list[Article] = []
    for article in articles:
        exists = conn.execute(
            sa.select(versions.c.version).where(
                versions.c.article_id == article.article_id,
                versions.c.content_sha256 == article.content_sha256,
            )
        ).first()
        if exists is not None:
            continue
        top = conn.execute(
            sa.select(sa.func.max(versions.c.version)).where(
                versions.c.article_id == article.article_id
            )
        ).scalar()
        fingerprint = text_simhash(article.text, article.content_sha256)
        conn.execute(
            versions.insert().values(
                article_id=article.article_id,
                version=max(article.version or 1, (top or 0) + 1),
                url=article.url,
                content_sha256=article.content_sha256,
                simhash=to_signed(fingerprint),
                **{f"band{i}": b for i, b in enumerate(bands(fingerprint))},
                title=article.title,
                language=article.language,
                recorded_at=now,
            )
        )
        added.append(article)
    return added


def _insert_duplicates(conn: sa.Connection, found: Sequence[Duplicate], now: datetime) -> int:
    written = 0
    for dup in found:
        exists = conn.execute(
            sa.select(duplicates.c.url).where(
                duplicates.c.article_id == dup.article_id,
                duplicates.c.content_sha256 == dup.content_sha256,
            )
        ).first()
        if exists is None:
            conn.execute(duplicates.insert().values(recorded_at=now, **vars(dup)))
            written += 1
    return written


def _save_occurrences(conn: sa.Connection, writes: OccurrenceWrites, now: datetime) -> None:
    """Replace the saved occurrences (and which reports they hold); delete removed ones."""
    ids = [o["occurrence_id"] for o in writes.saved] + list(writes.removed)
    for chunk in _chunks(ids):
        conn.execute(
            sa.delete(occurrence_reports).where(occurrence_reports.c.occurrence_id.in_(chunk))
        )
        conn.execute(sa.delete(occurrences).where(occurrences.c.occurrence_id.in_(chunk)))
    rows, held = [], []
    for state in writes.saved:
        reports = state.get("reports", [])
        if not reports:
            continue
        days = [r["bucket_day"] for r in reports]
        rows.append(
            {
                "occurrence_id": state["occurrence_id"],
                "event_type": state["event_type"],
                "first_day": min(days),
                "last_day": max(days),
                "state": json.dumps(state),
                "recorded_at": now,
            }
        )
        held.extend(
            {
                "report_id": r.get("report_id") or r["event_id"],
                "occurrence_id": state["occurrence_id"],
                "article_id": r["article_id"],
            }
            for r in reports
        )
    if rows:
        conn.execute(occurrences.insert(), rows)
    if held:
        conn.execute(occurrence_reports.insert(), held)


def _save_offsets(conn: sa.Connection, topic: str, offsets: dict[int, int]) -> None:
    for partition, offset in offsets.items():
        key = (topic_offsets.c.topic == topic) & (topic_offsets.c.partition == partition)
        if conn.execute(sa.update(topic_offsets).where(key).values(next_offset=offset)).rowcount:
            continue
        conn.execute(
            topic_offsets.insert().values(topic=topic, partition=partition, next_offset=offset)
        )


def _chunks(ids: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    """``ids`` in slices short enough for one ``IN (...)`` (SQLite's bound-parameter limit)."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


DECIDED = ("accepted", "rejected")  # review statuses that never change again


def _save_reviews(conn: sa.Connection, reviews: Sequence[ReviewStatus], now: datetime) -> None:
    """Insert or update review items; a decided item keeps its decision whatever comes
    later (a reconciliation that read the topic before a decision's commit, say)."""
    ids = sorted({r.review_id for r in reviews})
    recorded: dict[str, str] = {}
    for chunk in _chunks(ids):
        select = sa.select(review_items.c.review_id, review_items.c.status)
        for row in conn.execute(select.where(review_items.c.review_id.in_(chunk))):
            recorded[row.review_id] = row.status
    for item in reviews:
        before = recorded.get(item.review_id)
        if before in DECIDED and item.status != before:
            continue
        values: dict[str, object] = {
            "article_id": item.article_id,
            "status": item.status,
            "item": item.item,
            "recorded_at": now,
        }
        if item.follows is not None:  # a decision recorded later keeps the link
            values["follows"] = item.follows
        if before is None:
            conn.execute(review_items.insert().values(review_id=item.review_id, **values))
            recorded[item.review_id] = item.status
        else:
            key = review_items.c.review_id == item.review_id
            conn.execute(sa.update(review_items).where(key).values(**values))


def _upsert_reports(conn: sa.Connection, events: Iterable[Event], now: datetime) -> None:
    """Each report's newest published version replaces the one recorded (in batches: one
    read of the recorded versions, one insert and one update per 500 reports)."""
    newest: dict[str, Event] = {}
    for event in events:
        if event.report_id not in newest or event.version >= newest[event.report_id].version:
            newest[event.report_id] = event
    ids = sorted(newest)
    for chunk in _chunks(ids):
        recorded = dict(
            conn.execute(
                sa.select(reports.c.report_id, reports.c.version).where(
                    reports.c.report_id.in_(chunk)
                )
            ).all()
        )
        rows = [
            {
                "report_id": report_id,
                "article_id": event.article.article_id,
                "event_id": event.event_id,
                "version": event.version,
                "retracted": event.op == "retract",
                "event": event.model_dump_json(),
                "recorded_at": now,
            }
            for report_id in chunk
            if (event := newest[report_id]).version >= recorded.get(report_id, 0)
        ]
        inserts = [r for r in rows if r["report_id"] not in recorded]
        updates = [{**r, "key": r["report_id"]} for r in rows if r["report_id"] in recorded]
        if inserts:
            conn.execute(reports.insert(), inserts)
        if updates:
            conn.execute(
                sa.update(reports)
                .where(reports.c.report_id == sa.bindparam("key"))
                .values({c: sa.bindparam(c) for c in updates[0] if c not in ("key", "report_id")}),
                updates,
            )


def _safe(url: str) -> str:
    """The URL without its password, for error messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL has no password we could hide
        return "(ledger URL)"
