"""The dashboard in a real browser: two validated runs of corpus pages, headless Chromium.

Saves ``.state/test-artifacts/dashboard.png`` (path printed) so a person can look at it.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from pipeline import validate as v
from pipeline.dashboard.records import finish_run, load_history
from pipeline.dashboard.server import running
from pipeline.errors import PipelineError, ValidationFailed
from pipeline.events import split_events
from pipeline.extract import extract_article
from pipeline.models import Article, DeadLetter, Event, StatementDetails
from pipeline.settings import Settings

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / ".state" / "test-artifacts"
BAD_SPEAKER = "statements:expect_column_values_to_not_be_null(speaker)"
BAD_CONFIDENCE = "events:expect_column_values_to_be_between(confidence)"

pytestmark = pytest.mark.integration


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Debian's chromium is required (scripts/bootstrap.sh installs it)"
    return found


def _run(
    pages: list[Path], settings: Settings, run_name: str, *, break_events: bool
) -> dict[str, object]:
    """One pipeline run without Kafka: extract, split, validate, count, record."""
    articles: list[Article] = []
    dead: list[DeadLetter] = []
    for page in pages:
        url = (
            f"https://{page.name.split('-')[0]}.corpus.example/{page.name.removesuffix('.html.gz')}"
        )
        try:
            articles.append(extract_article(gzip.decompress(page.read_bytes()), url))
        except PipelineError as exc:
            dead.append(DeadLetter.build(stage=exc.stage, reason=exc.reason, source=url))
    dead.append(
        DeadLetter.build(stage="fetch", reason="HTTP 404", source="https://fr.corpus.example/gone")
    )
    events: list[Event] = [e for a in articles for e in split_events(a)]
    if break_events:
        statements = [e for e in events if e.event_type == "statement"]
        assert len(statements) >= 2
        no_speaker = StatementDetails.model_construct(
            **{**dict(statements[0].details), "speaker": None}
        )
        events[events.index(statements[0])] = Event.model_construct(
            **{**dict(statements[0]), "details": no_speaker}
        )
        events[events.index(statements[1])] = Event.model_construct(
            **{**dict(statements[1]), "confidence": 1.4}
        )
    valid_articles, article_dead = v.validate_articles(articles, settings, run_name)
    report = v.validate_events(
        events, {a.article_id: a for a in valid_articles}, settings, run_name
    )
    all_dead = [*dead, *article_dead, *report.invalid]
    discovered = len(pages) + 1
    run = v.validate_run(
        v.RunStats.from_batch(discovered, valid_articles, report.valid_events, all_dead),
        settings,
        run_name,
    )
    by_type = Counter(e.event_type for e in report.valid_events)
    topics = {
        settings.topic_articles: len(valid_articles),
        settings.topic_dead_letter: len(all_dead),
    }
    topics.update({settings.topic_for(k): n for k, n in by_type.items()})
    summary = {
        "discovered": discovered,
        "ingested": len(valid_articles),
        "failed": discovered - len(valid_articles),
        "topics": topics,
        "events_by_type": dict(by_type),
    }
    try:
        finish_run(summary, settings, run_name=run_name, dead_letters=all_dead, run=run)
    except ValidationFailed:
        assert settings.validation_policy == "alert" and not run.success
    return summary


def test_dashboard_in_headless_chromium(corpus_pages: Path, tmp_path: Path) -> None:
    chromium = _chromium()
    settings = Settings(state_dir=tmp_path / "state", run_min_articles=4, validation_policy="alert")
    first = _run(
        sorted(corpus_pages.glob("fr-00[1-4].html.gz")), settings, "run-one", break_events=True
    )
    second = _run(
        [
            *sorted(corpus_pages.glob("en-00[1-3].html.gz")),
            *sorted(corpus_pages.glob("de-00[1-3].html.gz")),
        ],
        settings,
        "run-two",
        break_events=False,
    )
    history = load_history(settings)
    assert [r["run_name"] for r in history] == ["run-one", "run-two"]
    assert BAD_SPEAKER in {f["label"] for f in history[0]["failing_expectations"]}
    # German pages are dead-lettered (unsupported language): run two trips dead_letter_share.
    assert history[1]["status"] == "alert"

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / "dashboard.png"
    screenshot.unlink(missing_ok=True)
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'chromium'}",
    ]
    with running(settings) as url:
        dom = subprocess.run(
            [chromium, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120
        ).stdout
        docs_dom = subprocess.run(
            [chromium, *flags, "--dump-dom", url + "data-docs/index.html"],
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
        subprocess.run(
            [chromium, *flags, f"--screenshot={screenshot}", "--window-size=1280,2200", url],
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert 'data-runs="2"' in dom
    assert "run-one" in dom and "run-two" in dom
    assert f'data-kpi="pages discovered">{second["discovered"]}<' in dom
    assert f'data-kpi="articles ingested">{second["ingested"]}<' in dom
    assert BAD_SPEAKER in dom and BAD_CONFIDENCE in dom
    assert "run:expect_column_values_to_be_between(dead_letter_share)" in dom
    assert 'href="data-docs/validations/statements/run-one/' in dom
    assert "run-one" in docs_dom  # the Data Docs index lists the runs' validations
    assert first["discovered"] == 5
    assert screenshot.is_file() and screenshot.stat().st_size > 10_000
    print(f"\ndashboard screenshot: {screenshot}")
