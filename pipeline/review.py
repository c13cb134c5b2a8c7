"""The review lane: events held for a person's decision, and the decision published.

An event whose confidence is below ``PIPELINE_REVIEW_BELOW_CONFIDENCE`` is not published to
its typed topic: it goes to ``news.review`` as a pending :class:`~pipeline.models.ReviewItem`
with the reason (see :func:`pipeline.runner.hold_for_review`). The topic is compacted and
keyed by the item's id, so its latest message is the item's state:

- accepting an item publishes its event to the typed topic (a new report, with its
  occurrence) and the ``accepted`` state, in one transaction;
- rejecting it publishes the ``rejected`` state: the event stays out, and the decision is
  on record;
- a pending item whose article is published again without that event (the article
  changed) becomes ``superseded``, and is pending again if its event comes back; a decided
  item is never opened again (the ledger keeps each item's status: an accepted event stays
  published, a rejected one stays out), and its decision passes once to the event's next
  version (:func:`pipeline.runner.hold_for_review`).

``python -m pipeline review list | accept ID | reject ID [--note TEXT]``.
"""

from __future__ import annotations

from pipeline.errors import PipelineError
from pipeline.ledger import Ledger, ReviewStatus
from pipeline.models import ReviewItem, utc_now
from pipeline.settings import Settings

NEXT_VERSION_NOTE = "next version of review item "


def next_version_note(previous_id: str) -> str:
    """The note of an item whose event is the next version of ``previous_id``'s."""
    return NEXT_VERSION_NOTE + previous_id


def status_of(item: ReviewItem) -> ReviewStatus:
    """What the ledger keeps of an item, with the item it follows as its note names it
    (the pipeline writes that note; a reviewer's note replaces it only on a pending item,
    whose predecessor is superseded and never matched again, so no link that matters is
    lost)."""
    note = item.note or ""
    follows = note.removeprefix(NEXT_VERSION_NOTE) if note.startswith(NEXT_VERSION_NOTE) else None
    return ReviewStatus(
        item.review_id, item.event.article.article_id, item.status, item.model_dump_json(), follows
    )


class ReviewError(PipelineError):
    """No pending review item with that id."""

    stage = "review"


def review_items(settings: Settings) -> dict[str, ReviewItem]:
    """Every review item's latest state, by id (the compacted view of the review topic)."""
    from pipeline.consumer import TypedConsumer

    items: dict[str, ReviewItem] = {}
    with TypedConsumer(
        settings, [settings.topic_review], idle_timeout_ms=3000, skip_invalid=True
    ) as consumer:
        for received in consumer:
            if isinstance(received.record, ReviewItem):
                items[received.record.review_id] = received.record
    return items


def pending(settings: Settings) -> list[ReviewItem]:
    """The items waiting for a decision, oldest first."""
    waiting = [i for i in review_items(settings).values() if i.status == "pending"]
    return sorted(waiting, key=lambda i: (i.requested_at, i.review_id))


def decide(
    settings: Settings, review_id: str, *, accept: bool, note: str | None = None
) -> ReviewItem:
    """Accept or reject a pending item; publish the outcome; return the decided item.

    Raises:
        ReviewError: no item with that id, or it was decided already.
    """
    from pipeline import runner
    from pipeline.publish import open_writer, review_message, send_records

    item = review_items(settings).get(review_id)
    if item is None:
        raise ReviewError("no review item with this id", source=review_id)
    if item.status != "pending":
        raise ReviewError(f"already {item.status} at {item.decided_at}", source=review_id)
    decided = item.model_copy(
        update={
            "status": "accepted" if accept else "rejected",
            "decided_at": utc_now(),
            "note": note,
        }
    )
    decision = review_message(decided, settings)
    if accept:
        runner.publish_all([], [item.event], [], settings, review=False, extra=[decision])
    else:
        with open_writer(settings) as producer:
            send_records(producer, [], settings, extra=[decision])
    with Ledger.from_settings(settings) as ledger:
        ledger.record_reviews([status_of(decided)])
    return decided
