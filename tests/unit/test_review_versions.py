"""Review items across an article's versions (pipeline.runner.hold_for_review), against a
real SQLite ledger: which decision passes to which next version, and when an item reopens.
The broker-backed lane (list, accept, reject, edit) is tests/integration/test_review_lane.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.ledger import Ledger
from pipeline.lifecycle import UPDATE_SIMILARITY, similarity
from pipeline.models import Article, Event, Evidence, Extractor, ReviewItem, StatementDetails
from pipeline.runner import hold_for_review
from pipeline.settings import Settings

SETTINGS = Settings(review_below_confidence=0.8)
ARTICLE = Article.build(
    url="https://news.example.com/nato", text="x" * 400, language="en", published_at="2025-12-11"
)
DRONES = "Mark Rutte said about 80 percent of the components in Russian drones were made in China."
MISSILES = "Mark Rutte said about 30 percent of the parts in Russian missiles were made in Iran."


def _held(event_id: str, text: str) -> Event:
    """An event below the review bar, as the splitter makes them."""
    return Event(
        event_id=event_id,
        event_type="statement",
        article=ARTICLE.ref(),
        evidence=Evidence(text=text, start=0, end=len(text)),
        details=StatementDetails(speaker="Mark Rutte", content=text, direct_quote=False),
        confidence=0.55,
        extractor=Extractor(name="test", version="0"),
    )


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as opened:
        yield opened


def _run(ledger: Ledger, events: list[Event]) -> tuple[list[str], dict[str, ReviewItem]]:
    """One publish of the whole article: the event ids published, the items written."""
    kept, _, statuses = hold_for_review(events, SETTINGS, ledger, whole=[ARTICLE.article_id])
    ledger.record_reviews(statuses)
    items = {s.review_id: ReviewItem.model_validate_json(s.item) for s in statuses}
    return [e.event_id for e in kept], items


def _decide(ledger: Ledger, review_id: str, status: str) -> None:
    """What ``pipeline review accept|reject`` records in the ledger."""
    from pipeline.review import status_of

    item = ledger.review_statuses(review_ids=[review_id])[review_id]
    decided = ReviewItem.model_validate_json(item.item).model_copy(update={"status": status})
    ledger.record_reviews([status_of(decided)])


def test_a_decision_passes_to_the_most_similar_next_version(ledger: Ledger) -> None:
    """Both new events are close enough to the accepted one's text to be its next version;
    the closer one takes the decision, whatever their ids' order."""
    _run(ledger, [_held("e5", DRONES)])
    _decide(ledger, "e5", "accepted")
    other = _held("e1", MISSILES)  # another claim, in much the same words
    closer = _held("e9", DRONES.removesuffix(".") + " on Monday.")
    accepted = _held("e5", DRONES)
    assert UPDATE_SIMILARITY <= similarity(other, accepted) < similarity(closer, accepted)
    published, items = _run(ledger, [other, closer])
    assert published == ["e9"]
    assert items["e9"].status == "accepted" and items["e9"].note == "next version of review item e5"
    assert items["e1"].status == "pending" and items["e1"].note is None


def test_a_decision_passes_on_once(ledger: Ledger) -> None:
    """v1 accepted; v2 inherits it; v3 holds v2's next version and a new claim close to v1:
    only v2's next version is accepted, v1's decision does not pass twice."""
    _run(ledger, [_held("a1", DRONES)])
    _decide(ledger, "a1", "accepted")
    v2 = DRONES.replace("about 80", "roughly 80")
    published, items = _run(ledger, [_held("a2", v2)])
    assert published == ["a2"] and items["a2"].status == "accepted"
    new_claim = _held("b3", MISSILES)
    assert similarity(new_claim, _held("a1", DRONES)) >= UPDATE_SIMILARITY
    published, items = _run(ledger, [_held("a3", v2 + " He spoke in Brussels."), new_claim])
    assert published == ["a3"]
    assert items["a3"].status == "accepted" and items["a3"].note == "next version of review item a2"
    assert items["b3"].status == "pending"


def test_a_rejection_passes_on_and_keeps_the_event_out(ledger: Ledger) -> None:
    _run(ledger, [_held("r1", DRONES)])
    _decide(ledger, "r1", "rejected")
    published, items = _run(ledger, [_held("r2", DRONES.replace("about 80", "nearly 80"))])
    assert published == [] and items["r2"].status == "rejected"


def test_a_superseded_item_reopens_when_its_event_comes_back(ledger: Ledger) -> None:
    """The sentence is cut (the item is superseded), then the edit is undone: the same event
    id is held again, pending, not silently left out."""
    published, items = _run(ledger, [_held("e1", DRONES)])
    assert published == [] and items["e1"].status == "pending"
    published, items = _run(ledger, [])
    assert items["e1"].status == "superseded"
    assert items["e1"].note == "its article changed: the event is no longer in it"
    published, items = _run(ledger, [_held("e1", DRONES)])
    assert published == [] and items["e1"].status == "pending"
    assert items["e1"].note == "its article changed back: open again"
    assert ledger.review_statuses(review_ids=["e1"])["e1"].status == "pending"


def test_a_pending_item_whose_event_now_clears_the_bar_is_superseded(ledger: Ledger) -> None:
    _run(ledger, [_held("e1", DRONES)])
    confident = _held("e1", DRONES).model_copy(update={"confidence": 0.9})
    published, items = _run(ledger, [confident])
    assert published == ["e1"] and items["e1"].status == "superseded"
    assert items["e1"].note == "its article changed: the event now clears the bar and is published"


def test_decided_items_never_reopen(ledger: Ledger) -> None:
    _run(ledger, [_held("e1", DRONES)])
    _decide(ledger, "e1", "rejected")
    published, items = _run(ledger, [_held("e1", DRONES)])
    assert published == [] and items == {}


def test_an_item_that_came_back_is_superseded_again_when_it_goes(ledger: Ledger) -> None:
    """v1 holds a, v2 its next version b, v3 undoes the edit (a is back, after b), v4 cuts
    the sentence: a is superseded, not left pending on a text that is gone."""
    _run(ledger, [_held("a", DRONES)])
    _run(ledger, [_held("b", DRONES.replace("about 80", "roughly 80"))])
    _, items = _run(ledger, [_held("a", DRONES)])
    assert items["a"].status == "pending" and items["b"].status == "superseded"
    _, items = _run(ledger, [])
    assert items["a"].status == "superseded"


def test_an_item_that_came_back_passes_its_decision_on(ledger: Ledger) -> None:
    _run(ledger, [_held("a", DRONES)])
    _run(ledger, [_held("b", DRONES.replace("about 80", "roughly 80"))])
    _run(ledger, [_held("a", DRONES)])
    _decide(ledger, "a", "accepted")
    published, items = _run(ledger, [_held("c", DRONES.removesuffix(".") + " on Monday.")])
    assert published == ["c"] and items["c"].status == "accepted"


def test_decisions_read_back_from_the_topic_pass_on_once(ledger: Ledger) -> None:
    """What the reconciliation records (each item's state as on news.review, the item it
    follows named by its note) is enough to pass a decision on once."""
    import sqlalchemy as sa

    from pipeline.ledger import review_items
    from pipeline.review import status_of

    _run(ledger, [_held("a1", DRONES)])
    _decide(ledger, "a1", "accepted")
    v2 = DRONES.replace("about 80", "roughly 80")
    _run(ledger, [_held("a2", v2)])
    on_topic = ledger.review_statuses(article_ids=[ARTICLE.article_id]).values()
    items = [ReviewItem.model_validate_json(k.item) for k in on_topic]
    with ledger.engine.begin() as conn:
        conn.execute(sa.delete(review_items))
    ledger.recover_reviews([status_of(i) for i in items], "news.review", {0: len(items)})
    assert ledger.review_statuses(review_ids=["a2"])["a2"].follows == "a1"
    published, items_now = _run(
        ledger, [_held("a3", v2 + " He spoke in Brussels."), _held("b3", MISSILES)]
    )
    assert published == ["a3"] and items_now["b3"].status == "pending"


def test_a_decision_is_never_undone_by_a_stale_state(ledger: Ledger) -> None:
    """A reconciliation that read the topic before a decision's commit may write the item's
    pending state after the decision: the decision stays."""
    from pipeline.review import status_of

    _, items = _run(ledger, [_held("e1", DRONES)])
    _decide(ledger, "e1", "rejected")
    ledger.recover_reviews([status_of(items["e1"])], "news.review", {0: 1})
    assert ledger.review_statuses(review_ids=["e1"])["e1"].status == "rejected"
