"""The three clocks of an event: when it happened (with its precision), when the article was
published (and where that date came from), when it was ingested."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from pipeline.events import split_events
from pipeline.events.dates import DateResolver, OccurredAt
from pipeline.events.lexicon import Lexicon, load_lexicon
from pipeline.models import Article, Event, Evidence, Extractor, StatementDetails

PUBLISHED = "2024-11-22"  # a Friday


def _lex(lang: str) -> Lexicon:
    lex = load_lexicon(lang)
    assert lex is not None
    return lex


def _when(lang: str, text: str, published: str | None = PUBLISHED) -> OccurredAt | None:
    return DateResolver(_lex(lang), published).occurred_at(text)


@pytest.mark.parametrize(
    ("lang", "text", "iso", "precision"),
    [
        ("en", "In March 2024, Russian forces captured the village.", "2024-03-01", "month"),
        ("en", "Sweden joined NATO in March.", "2024-03-01", "month"),
        ("en", "He was elected in late September.", "2024-09-01", "month"),
        ("en", "Finland joined NATO in April last year.", "2023-04-01", "month"),
        ("en", "Troops withdrew from the town last month.", "2024-10-01", "month"),
        ("en", "The tariffs were lifted in 2019.", "2019-01-01", "year"),
        ("en", "In early 2023 the army withdrew from the town.", "2023-01-01", "year"),
        ("en", "The rebels seized the town in mid-2022.", "2022-01-01", "year"),
        ("en", "At the end of 2021, the talks collapsed.", "2021-01-01", "year"),
        ("en", "The government pledged last year to ban the knives.", "2023-01-01", "year"),
        ("en", "Earlier this year, the ministry signed the deal.", "2024-01-01", "year"),
        ("fr", "En mars 2024, les forces russes ont pris le village.", "2024-03-01", "month"),
        (
            "fr",
            "En juillet, le Kremlin a reconnu une situation catastrophique.",
            "2024-07-01",
            "month",
        ),
        ("fr", "Le traité a été signé fin juin.", "2024-06-01", "month"),
        ("fr", "L'usine a fermé en avril de l'an dernier.", "2023-04-01", "month"),
        ("fr", "Le mois dernier, les exportations ont progressé.", "2024-10-01", "month"),
        (
            "fr",
            "En 2023, le taux de fécondité était de 1,41 enfant par femme.",
            "2023-01-01",
            "year",
        ),
        ("fr", "Début 2023, l'armée a reculé.", "2023-01-01", "year"),
        ("fr", "Mi-2022, l'armée a reculé.", "2022-01-01", "year"),
        ("fr", "Dix-huit mineurs ont été tués l'an dernier.", "2023-01-01", "year"),
        ("fr", "L'année dernière, la ville a voté le budget.", "2023-01-01", "year"),
        (
            "fr",
            "Le gouvernement a promis l’an dernier d’interdire les machettes.",
            "2023-01-01",
            "year",
        ),
    ],
)
def test_months_and_years_get_their_precision(
    lang: str, text: str, iso: str, precision: str
) -> None:
    assert _when(lang, text) == (iso, precision)


def test_a_month_named_without_its_year_looks_back_from_publication() -> None:
    # fr-008: "en septembre dernier" in a March 2017 article is September 2016.
    text = "Lors du congrès à Madrid en septembre dernier, le juge a assisté à une soirée."
    assert _when("fr", text, "2017-03-13") == ("2016-09-01", "month")
    # A later month with nothing saying "last": last year's or the coming one? Unknown.
    assert _when("en", "We look forward to the meeting in October.", "2024-07-17") is None


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        # Deadlines and targets: commitments keep them as their deadline.
        ("en", "NATO members pledged to spend 5% of GDP by 2035."),
        ("en", "The aid will continue until 2030."),
        ("en", "Emissions must fall by the end of 2030."),
        ("en", "The country will hold elections in 2026."),
        ("en", "The strikes will resume in March."),
        ("en", "Deliveries are planned in 2024."),
        ("fr", "Les pays membres se sont engagés à consacrer 5 % de leur PIB d'ici 2035."),
        ("fr", "Les travaux doivent être achevés d'ici fin 2025."),
        ("fr", "Le budget sera maintenu jusqu'en 2030."),
        ("fr", "La France vise la neutralité carbone pour 2030."),
        ("fr", "Les livraisons reprendront en mars prochain."),
        ("fr", "Les livraisons reprendront en 2026."),
        ("fr", "Le déficit public prévu en 2024 reste élevé."),
        # Baselines, starts and background.
        ("en", "Exports rose 5% compared with last year."),
        ("en", "Sales reached 1.2 million units, compared with 1.1 million units in 2023."),
        ("en", "Sales were higher than in 2022."),
        ("en", "Troops have been deployed there since last year."),
        ("en", "Last year's summit was a failure, he said."),
        ("en", "The institute, which was founded in 1985, published a report."),
        ("en", "He said that in 2022 the plant had closed."),
        ("en", '"We lost the town in 2023," the general said.'),
        ("en", "The funds in may be released."),
        ("fr", "La hausse atteint 3 % par rapport à l'an dernier."),
        ("fr", "Les ventes ont reculé, contre 12,9 % début 2023."),
        ("fr", "L'armée est présente dans la région depuis l'an dernier."),
        ("fr", "Le chef de l'État a reçu la syndicaliste, qui a pris ses fonctions fin mars."),
        ("fr", "Et d'ajouter qu'après son décès en 2005, ils ont trié ses affaires."),
        ("fr", "« C'est ce qui est arrivé l'an passé », a dit M. Caldwell."),
    ],
)
def test_deadlines_targets_and_background_are_not_occurrences(lang: str, text: str) -> None:
    assert _when(lang, text) is None


def test_a_day_wins_and_keeps_day_precision() -> None:
    assert _when("en", "On 3 March 2024 the mayor spoke about the flood in 2023.") == (
        "2024-03-03",
        "day",
    )
    assert _when("fr", "Le 3 mars 2024, le maire a évoqué les crues de 2023.") == (
        "2024-03-03",
        "day",
    )
    resolver = DateResolver(_lex("fr"), PUBLISHED)
    assert resolver.occurred_at("Hier, la ville a annoncé un plan.") == ("2024-11-21", "day")
    # resolve() is the day part alone, as before.
    assert resolver.resolve("En mars 2024, les forces russes ont pris le village.") is None


def test_without_a_publication_date_only_explicit_years_count() -> None:
    assert _when("en", "In 2019 the plan failed.", None) == ("2019-01-01", "year")
    assert _when("en", "Last year the plan failed.", None) is None
    assert _when("en", "In March the plan failed.", None) is None


def _article(text: str, language: str, published: str = "2025-03-04", **kw: str) -> Article:
    return Article.build(
        url="https://example.org/a", text=text, language=language, published_at=published, **kw
    )


def test_a_commitment_deadline_is_not_when_the_pledge_was_made() -> None:
    text = "La France s'est engagée à livrer douze canons Caesar en 2025."
    (pledge,) = [e for e in split_events(_article(text, "fr")) if e.event_type == "commitment"]
    assert pledge.details.deadline == "2025"
    assert (pledge.occurred_at, pledge.occurred_at_precision) == (None, None)

    text = "Le Royaume-Uni a promis l'an dernier de livrer 14 chars d'ici 2026."
    (pledge,) = [e for e in split_events(_article(text, "fr")) if e.event_type == "commitment"]
    assert pledge.details.deadline == "2026"
    assert (pledge.occurred_at, pledge.occurred_at_precision) == ("2024-01-01", "year")


def test_events_carry_the_three_clocks() -> None:
    article = _article(
        "En mars 2024, les forces russes ont pris le village de Robotyne, selon l'état-major.",
        "fr",
        published_at_source="url",
    )
    (event,) = split_events(article)
    assert (event.occurred_at, event.occurred_at_precision) == ("2024-03-01", "month")
    assert (event.article.published_at, event.article.published_at_source) == (
        "2025-03-04",
        "url",
    )
    assert event.ingested_at == article.ingested_at
    document = event.model_dump(mode="json")
    assert document["occurred_at_precision"] == "month"
    assert document["article"]["published_at_source"] == "url"
    assert Event.model_validate(document) == event


def _event(**fields: object) -> Event:
    text = "Nous tiendrons bon."
    return Event.model_validate(
        {
            "event_id": "e",
            "event_type": "statement",
            "article": Article.build(url="https://example.org/a", text=text).ref(),
            "evidence": Evidence(text=text, start=0, end=len(text)),
            "details": StatementDetails(speaker="X", content=text, direct_quote=True),
            "confidence": 0.5,
            "extractor": Extractor(name="test", version="0"),
            "ingested_at": datetime(2025, 1, 1, tzinfo=UTC),
            **fields,
        }
    )


def test_the_model_ties_the_precision_to_the_date() -> None:
    assert _event().occurred_at_precision is None
    assert _event(occurred_at="2024-03-01", occurred_at_precision="month").occurred_at_precision
    assert _event(occurred_at="2023-01-01", occurred_at_precision="year").occurred_at_precision
    with pytest.raises(ValidationError, match="null exactly when"):
        _event(occurred_at="2024-03-05", occurred_at_precision=None)
    with pytest.raises(ValidationError, match="null exactly when"):
        _event(occurred_at=None, occurred_at_precision="day")
    with pytest.raises(ValidationError, match="first day of its month"):
        _event(occurred_at="2024-03-05", occurred_at_precision="month")
    with pytest.raises(ValidationError, match="first day of its year"):
        _event(occurred_at="2024-03-01", occurred_at_precision="year")
    with pytest.raises(ValidationError):
        _event(occurred_at="2024-03-01", occurred_at_precision="week")


def test_a_schema_1_0_0_document_reads_as_day_precision() -> None:
    document = _event(occurred_at="2024-03-05", occurred_at_precision="day").model_dump(mode="json")
    del document["occurred_at_precision"]
    del document["article"]["published_at_source"]
    event = Event.model_validate(document)
    assert (event.occurred_at, event.occurred_at_precision) == ("2024-03-05", "day")
    assert event.article.published_at_source is None
