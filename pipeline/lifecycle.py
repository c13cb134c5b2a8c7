"""Events that change: which reports a new version of an article creates, updates or retracts.

A *report* is one event found in one article; it keeps its ``report_id`` across the
article's versions, while its ``event_id`` names one version of it (same article, same
span, same text: same id). When an article changes, its events are split again and
compared with the reports last published for it:

- an event with the ``event_id`` of a live report is that version again (an article's
  event ids change with its text, so this happens only when an unchanged article is
  published again on purpose, by a replay): it is re-issued as it was;
- an event close to a live report of the same type (its evidence text mostly the same) is
  that report's next version: ``op = "update"``, ``version + 1``, same ``report_id``. Every
  surviving report of a changed article is updated, the unchanged ones too: their evidence
  offsets index the article's new text;
- any other event is a new report: ``op = "create"``, ``version = 1``;
- a live report with no counterpart is withdrawn: ``op = "retract"``, ``version + 1``,
  carrying the last published event so that consumers know what goes.

Applying the messages in order (create and update set a report, retract removes it) gives
the same reports as a fresh run over the new version of the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from difflib import SequenceMatcher

from pipeline.models import Event, utc_now

# How alike two evidence texts must be (difflib ratio, casefolded) for the newer one to be
# the next version of the same report rather than a new report.
UPDATE_SIMILARITY = 0.6
REPORT_FIELDS = ("report_id", "op", "version")


def similarity(a: Event, b: Event) -> float:
    """How alike two events' evidence texts are (0 to 1), for events of the same type."""
    if a.event_type != b.event_type:
        return 0.0
    return SequenceMatcher(
        None, a.evidence.text.casefold(), b.evidence.text.casefold(), autojunk=False
    ).ratio()


def pair_versions(older: Sequence[Event], newer: Sequence[Event]) -> dict[str, Event]:
    """Which of ``newer`` are next versions of which of ``older`` (new event id -> older
    event): pairs at least :data:`UPDATE_SIMILARITY` alike, chosen greedily, most similar
    first, each event in one pair at most, so the result does not depend on input order."""
    candidates = sorted(
        (
            (score, o.event_id, n.event_id)
            for o in older
            for n in newer
            if (score := similarity(o, n)) >= UPDATE_SIMILARITY
        ),
        key=lambda c: (-c[0], c[1], c[2]),
    )
    by_id = {o.event_id: o for o in older}
    paired: dict[str, Event] = {}
    taken: set[str] = set()
    for _, older_id, newer_id in candidates:
        if older_id not in taken and newer_id not in paired:
            paired[newer_id] = by_id[older_id]
            taken.add(older_id)
    return paired


def plan_changes(
    live: Sequence[Event], events: Sequence[Event], *, partial: bool = False
) -> list[Event]:
    """The messages that take an article's ``live`` reports to its new ``events``.

    ``live`` are the reports' last published versions (retracted ones left out); the
    result are the events to publish: live versions re-issued as they were, new events as
    creates and updates, then the retractions. Pairs are chosen greedily, most similar
    first, so each live report takes at most one new event and the result does not depend
    on the order of the inputs. With ``partial`` (some of the article's events only, e.g.
    dead letters replayed) nothing is retracted.
    """
    by_id = {r.event_id: r for r in live}
    fresh = [e for e in events if e.event_id not in by_id]
    open_live = [r for r in live if r.event_id not in {e.event_id for e in events}]
    paired = pair_versions(open_live, fresh)  # new event id -> the live report it updates
    taken = {r.event_id for r in paired.values()}
    out: list[Event] = [
        e.model_copy(update={k: getattr(by_id[e.event_id], k) for k in REPORT_FIELDS})
        for e in events
        if e.event_id in by_id
    ]
    for event in fresh:
        before = paired.get(event.event_id)
        if before is None:
            out.append(
                event.model_copy(update={"op": "create", "version": 1, "report_id": event.event_id})
            )
        else:
            out.append(
                event.model_copy(
                    update={
                        "op": "update",
                        "version": before.version + 1,
                        "report_id": before.report_id,
                    }
                )
            )
    if not partial:
        out.extend(
            r.model_copy(
                update={"op": "retract", "version": r.version + 1, "ingested_at": utc_now()}
            )
            for r in open_live
            if r.event_id not in taken
        )
    return out


def apply_changes(state: dict[str, Event], changes: Sequence[Event]) -> dict[str, Event]:
    """A consumer's view: report id -> current event, after ``changes`` in order."""
    out = dict(state)
    for change in changes:
        if change.op == "retract":
            out.pop(change.report_id, None)
        else:
            out[change.report_id] = change
    return out
