"""Validation with the real GX project: defective events and articles become dead letters.

The flattening tests are pure; the rest run the committed suites through Great Expectations
(importing GX takes ~7 s, so they carry the ``integration`` marker).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline import validate as v
from pipeline.errors import ValidationFailed
from pipeline.models import (
    Article,
    CommitmentDetails,
    Event,
    Evidence,
    Extractor,
    MilitaryUpdateDetails,
    StatementDetails,
)
from pipeline.settings import Settings

REPO_SUITES = v.REPO_EXPECTATIONS_DIR / "gx" / "expectations"

TEXT = (
    "Le ministre des Armées, Jean Dupont, a déclaré mardi : « Nous tiendrons bon. » "
    "Selon l'état-major, les forces ont repris le village de Robotyne après trois jours "
    "de combats. La France s'est engagée à livrer douze canons Caesar d'ici 2026, "
    "a annoncé l'Élysée à l'issue du sommet de Bruxelles. Les discussions se poursuivront "
    "la semaine prochaine, selon plusieurs diplomates présents sur place."
)
ARTICLE = Article.build(
    url="https://example.org/defense/2025/03/article",
    text=TEXT,
    language="fr",
    published_at="2025-03-04",
    title="Défense",
)


def _span(fragment: str) -> Evidence:
    start = TEXT.index(fragment)
    return Evidence(text=fragment, start=start, end=start + len(fragment))


def make_event(
    event_id: str,
    details: StatementDetails | MilitaryUpdateDetails | CommitmentDetails,
    *,
    evidence: Evidence | None = None,
    article: Article = ARTICLE,
    confidence: float = 0.8,
) -> Event:
    return Event(
        event_id=event_id,
        event_type=details.kind,
        article=article.ref(),
        evidence=evidence or _span("Nous tiendrons bon."),
        details=details,
        confidence=confidence,
        extractor=Extractor(name="test", version="0"),
    )


def statement(event_id: str, speaker: str | None = "Jean Dupont", **kw: Any) -> Event:
    details = StatementDetails(speaker=speaker, content="Nous tiendrons bon.", direct_quote=True)
    return make_event(event_id, details, evidence=_span("Nous tiendrons bon."), **kw)


def military(event_id: str, location: str | None = "Robotyne") -> Event:
    details = MilitaryUpdateDetails(actor="les forces", action="ont repris", location=location)
    return make_event(event_id, details, evidence=_span("les forces ont repris le village"))


def commitment(event_id: str, deadline: str | None = "d'ici 2026") -> Event:
    details = CommitmentDetails(
        party="La France", commitment="livrer douze canons Caesar", deadline=deadline
    )
    return make_event(event_id, details, evidence=_span("La France s'est engagée"))


def by_event(report: v.ValidationReport) -> dict[str, list[str]]:
    return {dl.event_id or "": dl.failed_expectations for dl in report.invalid}


def files_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# ------------------------------------------------------------------------------------------
# Pure flattening


def test_event_rows_compute_evidence_match_and_deadline_offset() -> None:
    bad = make_event(
        "bad",
        StatementDetails(speaker="X", content="y", direct_quote=False),
        evidence=Evidence(text="XXXX", start=0, end=4),
    )
    rows = v.event_rows([statement("ok"), bad, commitment("c", "avant 2031"), military("m")], {})
    assert [r["evidence_matches_article"] for r in rows["events"]] == [None] * 4
    assert [r["article_known"] for r in rows["events"]] == [False] * 4

    rows = v.event_rows(
        [statement("ok"), bad, commitment("c", "avant 2031"), military("m", location="  ")],
        {ARTICLE.article_id: ARTICLE},
    )
    assert [r["evidence_matches_article"] for r in rows["events"]] == [True, False, True, True]
    assert [r["row"] for r in rows["statements"]] == [0, 1]
    (c,) = rows["commitments"]
    assert (c["row"], c["deadline_year"], c["article_year"], c["deadline_year_offset"]) == (
        2,
        2031,
        2025,
        6,
    )
    assert rows["military_updates"][0]["location"] is None  # blank counts as missing


def test_event_rows_carry_the_date_precision_and_the_publication_date_source() -> None:
    dated = statement("dated").model_copy(
        update={
            "occurred_at": "2024-03-01",
            "occurred_at_precision": "month",
            "article": ARTICLE.ref().model_copy(update={"published_at_source": "url"}),
        }
    )
    rows = v.event_rows([statement("undated"), dated], {ARTICLE.article_id: ARTICLE})
    assert [
        (r["occurred_at_precision"], r["article_published_at_source"]) for r in rows["events"]
    ] == [
        (None, None),
        ("month", "url"),
    ]


# ------------------------------------------------------------------------------------------
# The committed suites through GX


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    yield Settings(state_dir=tmp_path_factory.mktemp("state"))
    v.clear_context_cache()


@pytest.mark.integration
def test_valid_events_pass(settings: Settings) -> None:
    events = [statement("s1"), military("m1"), commitment("c1"), commitment("c2", None)]
    report = v.validate_events(events, {ARTICLE.article_id: ARTICLE}, settings)

    assert report.invalid == []
    assert report.valid_events == events
    assert report.suite_results == {
        "events": True,
        "statements": True,
        "military_updates": True,
        "commitments": True,
    }
    assert report.statistics["suites"]["events"]["rows"] == 4
    assert report.statistics["suites"]["commitments"]["rows"] == 2


@pytest.mark.integration
def test_defective_events_become_dead_letters_naming_the_expectation(settings: Settings) -> None:
    mismatched = make_event(
        "evidence-off",
        StatementDetails(speaker="Jean Dupont", content="tiendrons", direct_quote=True),
        # Right length, wrong place: the article has "Nous tiendrons bon." further on.
        evidence=Evidence(text="Nous tiendrons bon.", start=0, end=19),
    )
    orphan = statement("orphan", article=Article.build(url="https://other.example/x", text="x"))
    events = [
        statement("good-statement"),
        mismatched,
        statement("no-speaker", speaker=None),
        commitment("absurd-deadline", "d'ici 3025"),
        commitment("past-deadline", "en 2019"),
        military("no-location", location=None),
        statement("dup"),
        military("dup"),
        orphan,
        commitment("good-commitment"),
    ]
    report = v.validate_events(events, {ARTICLE.article_id: ARTICLE}, settings)

    assert [e.event_id for e in report.valid_events] == ["good-statement", "good-commitment"]
    failed = by_event(report)
    assert failed == {
        "evidence-off": ["events:expect_column_values_to_be_in_set(evidence_matches_article)"],
        "no-speaker": ["statements:expect_column_values_to_not_be_null(speaker)"],
        "absurd-deadline": ["commitments:expect_column_values_to_be_between(deadline_year_offset)"],
        "past-deadline": ["commitments:expect_column_values_to_be_between(deadline_year_offset)"],
        "no-location": ["military_updates:expect_column_values_to_not_be_null(location)"],
        "dup": ["events:expect_column_values_to_be_unique(event_id)"],
        "orphan": ["events:expect_column_values_to_be_in_set(article_known)"],
    }
    # Both copies of the duplicated id fail: the validator cannot tell which one is right.
    dups = [dl for dl in report.invalid if dl.event_id == "dup"]
    assert sorted(dl.payload["event_type"] for dl in dups if dl.payload) == [
        "military_update",
        "statement",
    ]
    for dl in report.invalid:
        assert dl.stage == "validate"
        assert dl.source == dl.event_id
        assert dl.payload is not None and dl.payload["event_id"] == dl.event_id
        assert all(label in dl.reason for label in dl.failed_expectations)
    assert report.suite_results == {
        "events": False,
        "statements": False,
        "military_updates": False,
        "commitments": False,
    }
    assert report.statistics["invalid"] == 8


@pytest.mark.integration
def test_an_event_failing_several_suites_gets_one_dead_letter(settings: Settings) -> None:
    event = make_event(
        "double",
        StatementDetails(speaker=" ", content="Nous", direct_quote=True),
        evidence=Evidence(text="Nous", start=0, end=4),
    )
    report = v.validate_events([event], {ARTICLE.article_id: ARTICLE}, settings)
    (dl,) = report.invalid
    assert dl.failed_expectations == [
        "events:expect_column_values_to_be_in_set(evidence_matches_article)",
        "statements:expect_column_values_to_not_be_null(speaker)",
    ]


@pytest.mark.integration
def test_a_large_batch_maps_failures_to_the_right_rows(settings: Settings) -> None:
    events = [statement(f"e{i}") for i in range(2000)]
    for i in (7, 1234, 1999):
        events[i] = statement(f"e{i}", speaker=None)
    report = v.validate_events(events, {ARTICLE.article_id: ARTICLE}, settings)
    assert sorted(by_event(report)) == ["e1234", "e1999", "e7"]
    assert len(report.valid_events) == 1997


@pytest.mark.integration
def test_articles(settings: Settings) -> None:
    longer = TEXT + " Fin."
    articles = [
        ARTICLE,
        Article.build(url="ftp://example.org/file", text=longer, language="fr"),
        Article.build(url="https://example.org/short", text="Trop court.", language="fr"),
        Article.build(url="https://example.de/artikel", text=longer, language="de"),
        Article.build(url="https://example.org/unknown", text=longer, language=None),
        Article.build(url="https://example.org/twice", text=longer, language="en"),
        Article.build(url="https://example.org/twice", text=longer, language="en"),
    ]
    valid, dead = v.validate_articles(articles, settings)

    assert valid == [ARTICLE]
    failed = {(dl.source, tuple(dl.failed_expectations)) for dl in dead}
    assert failed == {
        ("ftp://example.org/file", ("articles:expect_column_values_to_match_regex(url)",)),
        (
            "https://example.org/short",
            ("articles:expect_column_value_lengths_to_be_between(text)",),
        ),
        ("https://example.de/artikel", ("articles:expect_column_values_to_be_in_set(language)",)),
        (
            "https://example.org/unknown",
            ("articles:expect_column_values_to_not_be_null(language)",),
        ),
        ("https://example.org/twice", ("articles:expect_column_values_to_be_unique(article_id)",)),
    }
    assert len(dead) == 6
    assert all(dl.article_id and dl.payload and "text" not in dl.payload for dl in dead)


@pytest.mark.integration
def test_min_article_chars_comes_from_settings(tmp_path: Path) -> None:
    short = Article.build(url="https://example.org/short", text="Trop court.", language="fr")
    lenient = Settings(state_dir=tmp_path, min_article_chars=5)
    assert v.validate_articles([short], lenient) == ([short], [])


@pytest.mark.integration
def test_loaded_suites_are_the_committed_json_files(settings: Settings) -> None:
    runtime = v.get_runtime(settings)
    committed = {p.stem: json.loads(p.read_text()) for p in REPO_SUITES.glob("*.json")}

    assert set(runtime.suites) == set(committed) == set(v.SUITE_NAMES)
    for name, suite in runtime.suites.items():
        loaded = [(e.expectation_type, e.column) for e in suite.expectations]  # type: ignore[attr-defined]
        in_file = [(e["type"], e["kwargs"].get("column")) for e in committed[name]["expectations"]]
        assert loaded == in_file, name


@pytest.mark.integration
def test_editing_a_suite_file_changes_validation(tmp_path: Path, settings: Settings) -> None:
    project = tmp_path / "expectations"
    shutil.copytree(v.REPO_EXPECTATIONS_DIR, project)
    events_json = project / "gx" / "expectations" / "events.json"
    suite = json.loads(events_json.read_text())
    (confidence,) = [e for e in suite["expectations"] if e["kwargs"].get("column") == "confidence"]
    confidence["kwargs"]["max_value"] = 0.5
    events_json.write_text(json.dumps(suite, indent=2))

    event = statement("confident", confidence=0.8)
    articles = {ARTICLE.article_id: ARTICLE}
    assert v.validate_events([event], articles, settings).invalid == []

    edited = Settings(state_dir=tmp_path / "state", expectations_dir=project)
    report = v.validate_events([event], articles, edited)
    assert by_event(report) == {
        "confident": ["events:expect_column_values_to_be_between(confidence)"]
    }


@pytest.mark.integration
def test_a_suite_gx_cannot_evaluate_raises(tmp_path: Path) -> None:
    project = tmp_path / "expectations"
    shutil.copytree(v.REPO_EXPECTATIONS_DIR, project)
    path = project / "gx" / "expectations" / "statements.json"
    suite = json.loads(path.read_text())
    suite["expectations"][0]["kwargs"]["column"] = "no_such_column"
    path.write_text(json.dumps(suite, indent=2))

    settings = Settings(state_dir=tmp_path / "state", expectations_dir=project)
    with pytest.raises(ValidationFailed, match="no_such_column"):
        v.validate_events([statement("s")], {ARTICLE.article_id: ARTICLE}, settings)


@pytest.mark.integration
def test_results_go_to_the_state_dir_and_the_repo_stays_untouched(tmp_path: Path) -> None:
    before = files_digest(v.REPO_EXPECTATIONS_DIR)
    settings = Settings(state_dir=tmp_path / "state")
    v.clear_context_cache()
    report = v.validate_events(
        [statement("s"), commitment("c", "2999")], {ARTICLE.article_id: ARTICLE}, settings
    )
    v.validate_articles([ARTICLE], settings)

    assert files_digest(v.REPO_EXPECTATIONS_DIR) == before
    stored = sorted((settings.gx_results_dir / "validations").rglob("*.json"))
    suites = {p.relative_to(settings.gx_results_dir / "validations").parts[0] for p in stored}
    assert suites == {"articles", "events", "statements", "commitments"}
    commitments = [p for p in stored if p.parts[-4] == "commitments"]
    result = json.loads(commitments[0].read_text())
    assert result["success"] is False
    assert report.statistics["run_name"] in str(commitments[0])
    # The runtime copy holds the committed suites (GX re-saves it, so compare content).
    copied = settings.gx_results_dir / "expectations"
    for path in REPO_SUITES.glob("*.json"):
        assert json.loads((copied / path.name).read_text()) == json.loads(path.read_text())


@pytest.mark.integration
def test_suite_files_match_their_definitions_in_code(tmp_path: Path) -> None:
    """``python -m pipeline.validate`` must not silently undo a reviewed edit of the JSON."""
    written = v.build_suites(tmp_path)
    assert sorted(p.name for p in written) == sorted(p.name for p in REPO_SUITES.glob("*.json"))
    for path in written:
        assert path.read_bytes() == (REPO_SUITES / path.name).read_bytes(), (
            f"{path.name}: the committed suite and suite_definitions() differ; change both"
        )


def test_empty_batches_skip_gx() -> None:
    assert v.validate_events([], {}).valid_events == []
    assert v.validate_articles([]) == ([], [])


# ------------------------------------------------------------------------------------------
# One deliberately broken event per expectation: each lands in the dead letters, named.


def _broken(event: Event, **changes: Any) -> Event:
    """Bypass the model's own checks, as a buggy producer or a hand-edited replay would."""
    return Event.model_construct(**{**dict(event), **changes})


def _details(event: Event, **changes: Any) -> Any:
    return type(event.details).model_construct(**{**dict(event.details), **changes})


def test_parse_amount_reads_percentages_and_scaled_amounts() -> None:
    assert v.parse_amount(["5 % de leur PIB", "au moins 3,5 %"]) == (5.0, None)
    assert v.parse_amount(["$9 billion"]) == (None, 9e9)
    assert v.parse_amount(["2,5 milliards d'euros"]) == (None, 2.5e9)
    assert v.parse_amount(["12 000 soldats"]) == (None, 12000.0)
    assert v.parse_amount(["1,000 troops", "25%"]) == (25.0, 1000.0)
    assert v.parse_amount([None, "-3 %"]) == (-3.0, None)
    assert v.parse_amount([None]) == (None, None)


@pytest.mark.integration
def test_each_expectation_catches_its_defect(settings: Settings) -> None:
    good = [statement("ok-statement"), military("ok-military"), commitment("ok-commitment")]
    c = commitment("x")
    s = statement("x")
    m = military("x")
    broken: dict[str, tuple[Event, str]] = {
        "blank-id": (
            _broken(s, event_id="  "),
            "events:expect_column_values_to_not_be_null(event_id)",
        ),
        "bad-type": (
            _broken(statement("bad-type"), event_type="rumour"),
            "events:expect_column_values_to_be_in_set(event_type)",
        ),
        "confidence-high": (
            _broken(statement("confidence-high"), confidence=1.7),
            "events:expect_column_values_to_be_between(confidence)",
        ),
        "confidence-negative": (
            _broken(statement("confidence-negative"), confidence=-0.1),
            "events:expect_column_values_to_be_between(confidence)",
        ),
        "blank-evidence": (
            _broken(
                statement("blank-evidence"),
                evidence=Evidence.model_construct(text="   ", start=0, end=3),
            ),
            "events:expect_column_values_to_not_be_null(evidence_text)",
        ),
        "evidence-elsewhere": (
            _broken(statement("evidence-elsewhere"), evidence=_span("Robotyne")),
            "",  # "Robotyne" is in the text at those offsets: this one must pass
        ),
        "evidence-off-by-one": (
            _broken(
                statement("evidence-off-by-one"),
                evidence=Evidence.model_construct(
                    text="Robotyne",
                    start=TEXT.index("Robotyne") + 1,
                    end=TEXT.index("Robotyne") + 9,
                ),
            ),
            "events:expect_column_values_to_be_in_set(evidence_matches_article)",
        ),
        "no-speaker": (
            statement("no-speaker", speaker="  "),
            "statements:expect_column_values_to_not_be_null(speaker)",
        ),
        "no-content": (
            _broken(statement("no-content"), details=_details(s, content="")),
            "statements:expect_column_values_to_not_be_null(content)",
        ),
        "no-action": (
            _broken(military("no-action"), details=_details(m, action=" ")),
            "military_updates:expect_column_values_to_not_be_null(action)",
        ),
        "no-location": (
            military("no-location", location=None),
            "military_updates:expect_column_values_to_not_be_null(location)",
        ),
        "no-party": (
            _broken(commitment("no-party"), details=_details(c, party=None)),
            "commitments:expect_column_values_to_not_be_null(party)",
        ),
        "no-commitment": (
            _broken(commitment("no-commitment"), details=_details(c, commitment=" ")),
            "commitments:expect_column_values_to_not_be_null(commitment)",
        ),
        "deadline-before-article": (
            commitment("deadline-before-article", "avant 2019"),
            "commitments:expect_column_values_to_be_between(deadline_year_offset)",
        ),
        "deadline-absurd": (
            commitment("deadline-absurd", "d'ici 2525"),
            "commitments:expect_column_values_to_be_between(deadline_year_offset)",
        ),
        "percent-over-100": (
            _broken(commitment("percent-over-100"), details=_details(c, amount="250 % du PIB")),
            "commitments:expect_column_values_to_be_between(amount_percent)",
        ),
        "percent-negative": (
            _broken(commitment("percent-negative"), details=_details(c, breakdown=["-2 %", "3 %"])),
            "commitments:expect_column_values_to_be_between(amount_percent)",
        ),
        "amount-negative": (
            _broken(commitment("amount-negative"), details=_details(c, amount="-5 milliards")),
            "commitments:expect_column_values_to_be_between(amount_value)",
        ),
        "amount-absurd": (
            _broken(commitment("amount-absurd"), details=_details(c, amount="$90,000 trillion")),
            "commitments:expect_column_values_to_be_between(amount_value)",
        ),
        "precision-week": (
            _broken(
                statement("precision-week"), occurred_at="2025-03-03", occurred_at_precision="week"
            ),
            "events:expect_column_values_to_be_in_set(occurred_at_precision)",
        ),
        "date-source-guessed": (
            _broken(
                statement("date-source-guessed"),
                article=ARTICLE.ref().model_copy(update={"published_at_source": "guess"}),
            ),
            "events:expect_column_values_to_be_in_set(article_published_at_source)",
        ),
    }
    fine_amounts = [
        _broken(commitment("fine-amount"), details=_details(c, amount="$9 billion")),
        _broken(commitment("fine-percent"), details=_details(c, amount="5 % du PIB")),
    ]
    fine_clocks = [
        statement(f"fine-clocks-{precision}-{source}").model_copy(
            update={
                "occurred_at": "2025-01-01",
                "occurred_at_precision": precision,
                "article": ARTICLE.ref().model_copy(update={"published_at_source": source}),
            }
        )
        for precision, source in (("day", "metadata"), ("month", "url"), ("year", "text"))
    ]
    events = [*good, *fine_amounts, *fine_clocks, *(event for event, _ in broken.values())]
    report = v.validate_events(events, {ARTICLE.article_id: ARTICLE}, settings)

    expected = {key: [label] for key, (_, label) in broken.items() if label}
    expected["x"] = ["events:expect_column_values_to_not_be_null(event_id)"]  # the blank id
    got = {
        (dl.event_id if (dl.event_id or "").strip() else "x"): dl.failed_expectations
        for dl in report.invalid
    }
    assert got == {k: v_ for k, v_ in expected.items() if k != "blank-id"}
    passed = {e.event_id for e in report.valid_events}
    assert passed == {
        "ok-statement",
        "ok-military",
        "ok-commitment",
        "fine-amount",
        "fine-percent",
        *(e.event_id for e in fine_clocks),
        "evidence-elsewhere",
    }
    for dl in report.invalid:
        assert dl.stage == "validate" and dl.failed_expectations[0] in dl.reason


# ------------------------------------------------------------------------------------------
# The run as a whole


def _stats(**overrides: Any) -> v.RunStats:
    base: dict[str, Any] = {
        "discovered": 40,
        "articles": 30,
        "events": 150,
        "invalid_events": 3,
        "page_dead_letters": 10,
        "articles_without_events": 6,
        "events_by_type": {"statement": 120, "military_update": 20, "commitment": 10},
        "sources": {},
    }
    base.update(overrides)
    return v.RunStats(**base)


def test_run_rows_leave_distributions_unchecked_on_small_runs() -> None:
    settings = Settings(run_min_articles=10)
    demo = _stats(
        discovered=3, articles=1, events=6, page_dead_letters=2, articles_without_events=0
    )
    (row,) = v.run_rows(demo, settings)
    assert row["sample_ok"] is False
    assert row["dead_letter_share"] is None and row["events_per_article"] is None
    (row,) = v.run_rows(_stats(), settings)
    assert row["dead_letter_share"] == 0.25 and row["events_per_article"] == 5.0
    assert row["share_statement"] == 0.8


def test_run_stats_from_a_batch_counts_sources_and_invalid_events() -> None:
    other = Article.build(url="https://other.example/a", text=TEXT, language="fr")
    events = [statement("s1"), statement("s2")]
    dead = [
        v.DeadLetter.build(stage="fetch", reason="HTTP 404", source="https://other.example/gone"),
        v.DeadLetter.build(
            stage="validate",
            reason="bad",
            source="m1",
            event_id="m1",
            article_id=ARTICLE.article_id,
            payload={"event_type": "military_update"},
        ),
    ]
    stats = v.RunStats.from_batch(4, [ARTICLE, other], events, dead)
    assert (stats.articles, stats.events, stats.invalid_events, stats.page_dead_letters) == (
        2,
        3,
        1,
        1,
    )
    assert stats.events_by_type == {"statement": 2, "military_update": 1, "commitment": 0}
    assert stats.articles_without_events == 1
    assert stats.sources["other.example"] == v.SourceStats(
        pages=2, articles=1, events=0, articles_without_events=1, page_dead_letters=1
    )
    assert v.RunStats.from_dict(stats.as_dict()) == stats


@pytest.mark.integration
def test_run_expectations_flag_broken_extractors_and_pass_small_runs(settings: Settings) -> None:
    small = v.validate_run(
        _stats(discovered=3, articles=1, events=0, page_dead_letters=2), settings
    )
    assert small.success and not small.checked

    healthy = v.validate_run(_stats(), settings)
    assert healthy.success and healthy.checked and healthy.failed_expectations == {}

    no_events = v.validate_run(
        _stats(events=0, events_by_type={}, articles_without_events=30, invalid_events=0), settings
    )
    assert set(no_events.failed_expectations) == {
        "run:expect_column_values_to_be_between(events_per_article)",
        "run:expect_column_values_to_be_between(articles_without_events_share)",
    }
    statements_gone = v.validate_run(
        _stats(events_by_type={"statement": 5, "military_update": 100, "commitment": 45}), settings
    )
    assert set(statements_gone.failed_expectations) == {
        "run:expect_column_values_to_be_between(share_statement)",
        "run:expect_column_values_to_be_between(share_military_update)",
    }
    invalid = v.validate_run(_stats(invalid_events=60), settings)
    assert list(invalid.failed_expectations) == [
        "run:expect_column_values_to_be_between(invalid_event_share)"
    ]
    # One site among several changed its layout: only its own row fails.
    sources = {
        "good.example": v.SourceStats(pages=30, articles=30, events=150, articles_without_events=6),
        "changed.example": v.SourceStats(pages=10, page_dead_letters=10),
    }
    layout = v.validate_run(_stats(sources=sources), settings)
    assert layout.failed_expectations == {
        "run:expect_column_values_to_be_between(dead_letter_share)": ["source:changed.example"]
    }
    assert "source:changed.example" in layout.reason


@pytest.mark.integration
def test_run_thresholds_come_from_settings(tmp_path: Path) -> None:
    strict = Settings(state_dir=tmp_path, run_max_dead_letter_share=0.1)
    failed = v.validate_run(_stats(), strict)
    assert list(failed.failed_expectations) == [
        "run:expect_column_values_to_be_between(dead_letter_share)"
    ]


def test_policy_fail_holds_the_run_and_alert_flags_it_after_publishing() -> None:
    bad = v.RunValidation(False, True, {"run:x(dead_letter_share)": ["run"]}, "r1", {})
    good = v.RunValidation(True, True, {}, "r2", {})
    fail = Settings(validation_policy="fail")
    alert = Settings(validation_policy="alert")

    with pytest.raises(ValidationFailed, match="held back") as raised:
        v.enforce_run_policy(bad, fail, published=False)
    assert raised.value.result is bad
    v.enforce_run_policy(bad, fail, published=True)  # already raised before publishing
    v.enforce_run_policy(bad, alert, published=False)  # alert: publish first
    with pytest.raises(ValidationFailed, match="published with an alert"):
        v.enforce_run_policy(bad, alert, published=True)
    for settings_ in (fail, alert):
        for published in (False, True):
            v.enforce_run_policy(good, settings_, published=published)
    assert v.RunValidation.from_dict(bad.as_dict()) == bad


@pytest.mark.integration
def test_check_run_records_a_held_run_under_the_fail_policy(tmp_path: Path) -> None:
    from pipeline.dashboard.records import load_history

    settings = Settings(state_dir=tmp_path, run_min_articles=2, validation_policy="fail")
    dead = [
        v.DeadLetter.build(stage="fetch", reason="HTTP 404", source=f"https://x.example/{i}")
        for i in range(5)
    ]
    with pytest.raises(ValidationFailed) as raised:
        v.check_run(
            6,
            [ARTICLE],
            [statement("s")],
            dead,
            settings,
            run_name="manual__2026-01-01T00:00:00+00:00",
        )
    run = raised.value.result
    assert isinstance(run, v.RunValidation) and run.run_name == "manual__2026-01-01T00-00-00-00-00"
    (record,) = load_history(settings)
    assert record["status"] == "held" and record["topics"] == {}
    assert "run:expect_column_values_to_be_between(dead_letter_share)" in {
        f["label"] for f in record["failing_expectations"]
    }
    assert (settings.quality_dir / "site" / "index.html").is_file()


@pytest.mark.integration
def test_gx_prints_no_progress_bars(settings: Settings, capfd: pytest.CaptureFixture[str]) -> None:
    v.validate_events(
        [statement(f"p{i}") for i in range(50)], {ARTICLE.article_id: ARTICLE}, settings
    )
    v.validate_run(_stats(), settings)
    out, err = capfd.readouterr()
    assert "Calculating Metrics" not in out + err and "it/s" not in out + err
