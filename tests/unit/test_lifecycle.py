"""Report lifecycle on a real article: an edited page gives exactly the expected creates,
updates and retractions, and applying them gives what a fresh run over the edit gives."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.events import split_events
from pipeline.extract import extract_article
from pipeline.ledger import Ledger
from pipeline.lifecycle import apply_changes, plan_changes
from pipeline.models import Event

URL = "https://news.example/2025/12/rutte"
# Three edits a newsroom makes: a figure corrected, a sentence withdrawn, a paragraph added.
CORRECTED = ("quivalent de 5", "quivalent de 6")
WITHDRAWN = re.compile(r"Il a affirmé qu&#x27;environ 80 %.*?fabriqués en Chine\. ")
ADDED = (
    "<p>Le chancelier allemand Friedrich Merz a déclaré mardi que l'Europe devait continuer à soutenir "
    "l'Ukraine aussi longtemps que nécessaire.</p>"
)


def _edited(html: str) -> str:
    assert CORRECTED[0] in html and WITHDRAWN.search(html) and "dans le Donbass.</p>" in html
    html = html.replace(*CORRECTED)
    html = WITHDRAWN.sub("", html, count=1)
    return html.replace("dans le Donbass.</p>", "dans le Donbass.</p>" + ADDED, 1)


@pytest.fixture(scope="module")
def versions(seed_dir: Path) -> tuple[list[Event], list[Event]]:
    html = (seed_dir / "article.html").read_text(encoding="utf-8")
    first = split_events(extract_article(html, URL))
    second = split_events(extract_article(_edited(html), URL))
    return first, second


def test_a_first_version_creates_every_report(versions: tuple[list[Event], list[Event]]) -> None:
    first, _ = versions
    created = plan_changes([], first)
    assert [e.op for e in created] == ["create"] * len(first)
    assert all(e.version == 1 and e.report_id == e.event_id for e in created)


def test_an_edit_gives_exactly_the_expected_changes(
    versions: tuple[list[Event], list[Event]],
) -> None:
    first, second = versions
    live = plan_changes([], first)
    changes = plan_changes(live, second)
    by_op: dict[str, list[Event]] = {"create": [], "update": [], "retract": []}
    for change in changes:
        by_op[change.op].append(change)

    # The withdrawn sentence is retracted, as its last published version.
    assert [r.evidence.text[:30] for r in by_op["retract"]] == ["Il a affirmé qu'environ 80 % d"]
    retracted = by_op["retract"][0]
    assert retracted.version == 2 and retracted.report_id in {e.report_id for e in live}
    # The added paragraph is the one new report.
    assert [c.evidence.text[:25] for c in by_op["create"]] == ["Le chancelier allemand Fr"]
    # Every other report is updated (its offsets point into the new text), keeping its id.
    assert len(by_op["update"]) == len(first) - 1
    assert {u.report_id for u in by_op["update"]} == {e.report_id for e in live} - {
        retracted.report_id
    }
    assert all(u.version == 2 for u in by_op["update"])
    corrected = [u for u in by_op["update"] if u.event_type == "commitment"]
    before = next(e for e in live if e.report_id == corrected[0].report_id)
    assert "5" in (before.details.amount or "") and "6" in (corrected[0].details.amount or "")

    # A consumer applying create, then the changes, holds what a fresh run would publish.
    state = apply_changes(apply_changes({}, live), changes)
    assert sorted(e.event_id for e in state.values()) == sorted(e.event_id for e in second)
    fresh = {
        e.event_id: e.model_dump(exclude={"ingested_at", "report_id", "op", "version"})
        for e in second
    }
    held = {
        e.event_id: e.model_dump(exclude={"ingested_at", "report_id", "op", "version"})
        for e in state.values()
    }
    assert held == fresh


def test_the_same_version_again_is_reissued_unchanged(
    versions: tuple[list[Event], list[Event]],
) -> None:
    """A forced replay of an unchanged page publishes its reports as they are."""
    first, _ = versions
    live = plan_changes([], first)
    again = plan_changes(live, first)
    assert [(e.report_id, e.op, e.version) for e in again] == [
        (e.report_id, e.op, e.version) for e in live
    ]


def test_a_partial_replay_never_retracts(versions: tuple[list[Event], list[Event]]) -> None:
    first, second = versions
    live = plan_changes([], first)
    assert all(c.op != "retract" for c in plan_changes(live, second[:2], partial=True))


def test_the_ledger_keeps_each_reports_newest_version(
    versions: tuple[list[Event], list[Event]], tmp_path: Path
) -> None:
    first, second = versions
    live = plan_changes([], first)
    changes = plan_changes(live, second)
    with Ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        ledger.record_published([], live, [])
        ledger.record_published([], changes, [])
        ledger.record_published([], live, [])  # an older version arriving late changes nothing
        held = ledger.live_reports([first[0].article.article_id])[first[0].article.article_id]
    assert sorted(e.event_id for e in held) == sorted(e.event_id for e in second)
    assert {e.version for e in held} == {1, 2}  # the new report is at 1, the others at 2
