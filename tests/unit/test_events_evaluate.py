"""The evaluation harness: the matching rule, and the quality floors on the labelled dev set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.evaluate import Label, evaluate, event_matches, evidence_matches, load_labels, score
from pipeline.events import split_events
from pipeline.models import Article

DATA = Path(__file__).resolve().parents[1] / "data"
PAGES = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "pages"
F1_FLOOR = 0.75
# Just below what the splitter reaches on the dev set (round 2: 0.908, 0.800, 0.938), so a
# regression fails here; never below the 0.75 acceptance floor.
F1_FLOORS = {"statement": 0.89, "military_update": 0.78, "commitment": 0.90}
MAX_FALSE_PER_NEGATIVE_PAGE = 1


def test_evidence_rule_is_half_of_the_labelled_words() -> None:
    assert evidence_matches("Le ministre a déclaré que", "le MINISTRE a dit autre chose")
    assert not evidence_matches("one two three four five", "one two")


def test_statement_needs_the_speaker_last_name_folded() -> None:
    text = "« Nous avons fait échouer la campagne », a affirmé le ministre Andreï Belooussov."
    article = Article.build(url="file://t", text=text, language="fr")
    (event,) = [e for e in split_events(article) if e.event_type == "statement"]
    good = Label("t", "statement", text, speaker="A. BELOOUSSOV")
    bad = Label("t", "statement", text, speaker="Vladimir Poutine")
    assert event_matches(good, event)
    assert not event_matches(bad, event)


def test_each_label_matches_one_prediction_and_borderline_is_optional(tmp_path: Path) -> None:
    text = "Mark Rutte a déclaré que la paix est possible. Il a estimé que l'OTAN doit agir."
    article = Article.build(url="file://t", text=text, language="fr")
    events = split_events(article)
    labels = [
        Label("p", "statement", "Mark Rutte a déclaré que la paix est possible.", speaker="Rutte"),
        Label("p", "statement", "Mark Rutte a déclaré que la paix", speaker="Rutte"),
        Label("p", "commitment", "l'OTAN doit agir", borderline=True),
    ]
    report = score(labels, {"p": events})
    assert report.scores["statement"].labels == 2
    assert report.scores["statement"].tp_labels <= len(events)
    assert report.scores["commitment"].labels == 0
    path = tmp_path / "l.jsonl"
    path.write_text(json.dumps({"file": "x", "event_type": None}) + "\n", encoding="utf-8")
    assert load_labels(path)[0].event_type is None


@pytest.mark.skipif(not PAGES.is_dir(), reason="shared/corpus is not beside the checkout")
def test_dev_set_meets_the_floors(capsys: pytest.CaptureFixture[str]) -> None:
    report = evaluate(DATA / "dev_labels.jsonl", PAGES)
    with capsys.disabled():
        print("\n" + report.table())
    assert report.pages >= 30
    for event_type, s in report.scores.items():
        assert s.f1 >= max(F1_FLOOR, F1_FLOORS[event_type]), (event_type, s)
    assert report.negative_pages >= 5
    assert report.max_false_per_negative <= MAX_FALSE_PER_NEGATIVE_PAGE
