"""Small hand-written sentences: splitting, dates, amounts, deadlines, speakers."""

from __future__ import annotations

import pytest

from pipeline.events import split_events
from pipeline.events.commitments import find_amount, find_breakdown, find_commitment, find_deadline
from pipeline.events.dates import DateResolver
from pipeline.events.lexicon import Lexicon, load_lexicon
from pipeline.events.sentences import is_heading, split_sentences
from pipeline.models import Article


def _lex(lang: str) -> Lexicon:
    lex = load_lexicon(lang)
    assert lex is not None
    return lex


# --- sentences ---------------------------------------------------------------------------


def test_split_keeps_offsets_and_abbreviations() -> None:
    text = "Titre sans point\nM. Dupont est arrivé à 9 h. Il a parlé du plan. Puis il est parti."
    sentences = split_sentences(text, frozenset(["M"]))
    assert [s.text for s in sentences] == [
        "Titre sans point",
        "M. Dupont est arrivé à 9 h.",
        "Il a parlé du plan.",
        "Puis il est parti.",
    ]
    assert sentences[0].heading and not sentences[1].heading
    for s in sentences:
        assert text[s.start : s.end] == s.text


def test_split_does_not_cut_inside_quotes() -> None:
    text = "« Nous partons. Nous revenons demain », a-t-elle dit. Le train est parti."
    sentences = split_sentences(text)
    assert len(sentences) == 2
    assert sentences[0].text.endswith("a-t-elle dit.")


def test_split_english_initials_and_titles() -> None:
    text = "Mr. Smith met U.S. officials on Monday. They agreed. J. R. Doe left."
    sentences = split_sentences(text, frozenset(["Mr"]))
    assert [s.text for s in sentences] == [
        "Mr. Smith met U.S. officials on Monday.",
        "They agreed.",
        "J. R. Doe left.",
    ]


def test_headings_and_list_items() -> None:
    assert is_heading("Relations avec l'Espagne")
    assert is_heading("- Small plants (from a florist)")
    assert not is_heading("The council voted on Monday.")


# --- dates -------------------------------------------------------------------------------


def test_french_explicit_and_relative_dates() -> None:
    dates = DateResolver(_lex("fr"), "2024-03-08T10:00:00")
    assert dates.resolve("Le 1er mars 2024, le maire a parlé.") == "2024-03-01"
    assert dates.resolve("Le même jour, le conseil a voté.") == "2024-03-01"
    assert dates.resolve("Hier, la ville a annoncé un plan.") == "2024-03-07"
    assert (
        dates.resolve("Mardi, les élus se sont réunis.") == "2024-03-05"
    )  # 8 March 2024 is a Friday
    assert dates.resolve("Le 3 février, rien.") == "2024-02-03"  # year from the publication date
    assert dates.resolve("Rien de daté ici.") is None


def test_english_dates() -> None:
    dates = DateResolver(_lex("en"), "2024-03-08")
    assert dates.resolve("On 3 March 2024 the mayor spoke.") == "2024-03-03"
    assert dates.resolve("He spoke again on March 5, 2024.") == "2024-03-05"
    assert dates.resolve("The same day the council voted.") == "2024-03-05"
    assert dates.resolve("Officials said on Tuesday that it was over.") == "2024-03-05"
    assert dates.resolve("Yesterday the plan was dropped.") == "2024-03-07"


def test_relative_day_without_reference_is_null() -> None:
    assert DateResolver(_lex("en"), None).resolve("Yesterday it rained.") is None


# --- amounts, deadlines, commitments -----------------------------------------------------


@pytest.mark.parametrize(
    "lang,text,amount",
    [
        ("fr", "consacrer 2 % de leur PIB à la défense", "2 % de leur PIB"),
        ("fr", "une aide de 1,5 milliard d'euros", "1,5 milliard d'euros"),
        ("en", "spend at least 2% of GDP on defence", "at least 2% of GDP"),
        ("en", "a package worth $9 billion", "$9 billion"),
        ("en", "deliver 30 fighter aircraft", "30 fighter aircraft"),
    ],
)
def test_amounts(lang: str, text: str, amount: str) -> None:
    assert find_amount(text, _lex(lang)) == amount


@pytest.mark.parametrize(
    "lang,text,deadline",
    [
        ("fr", "réduire les émissions d'ici 2030", "2030"),
        ("fr", "atteindre la neutralité d'ici à 2050", "2050"),
        ("en", "cut emissions by 2030", "2030"),
        ("en", "the target has no date", None),
    ],
)
def test_deadlines(lang: str, text: str, deadline: str | None) -> None:
    assert find_deadline(text, _lex(lang)) == deadline


def test_breakdown_parts() -> None:
    parts = find_breakdown("dont 2 % pour l'armée et 1 % pour la police.", _lex("fr"))
    assert parts == ["2 % pour l'armée", "1 % pour la police"]


def test_english_pledge() -> None:
    hit = find_commitment(
        "At the climate summit in Lima, ministers pledged to cut emissions by 40% by 2030.",
        _lex("en"),
    )
    assert hit is not None
    assert hit.party == "ministers"
    assert hit.amount == "40%"
    assert hit.deadline == "2030"
    assert hit.venue == "climate summit in Lima"


def test_weak_trigger_needs_an_amount_or_a_deadline() -> None:
    assert find_commitment("Le conseil a décidé de reporter la séance.", _lex("fr")) is None
    assert find_commitment("Le conseil a décidé de verser 3 millions d'euros.", _lex("fr"))


# --- whole articles ----------------------------------------------------------------------


def _article(text: str, language: str | None, published: str | None = "2024-03-08") -> Article:
    return Article.build(
        url="https://example.org/a", text=text, language=language, published_at=published
    )


def test_french_speaker_coreference() -> None:
    text = (
        "Réunion à Lyon\n"
        "Le 4 mars 2024, Claire Martin, ministre des Transports, a déclaré que le tramway "
        "serait prolongé. Elle a ajouté que les travaux commenceraient en mai. "
        "Martin a estimé que le coût resterait modéré. "
        "La ministre a souligné l'importance du projet."
    )
    events = split_events(_article(text, "fr"))
    statements = [e for e in events if e.event_type == "statement"]
    assert len(statements) == 4
    assert {e.details.speaker for e in statements} == {"Claire Martin"}
    assert statements[0].details.speaker_role == "ministre des Transports"
    assert statements[0].occurred_at == "2024-03-04"
    assert statements[0].details.content == "le tramway serait prolongé"
    assert not any(e.evidence.text == "Réunion à Lyon" for e in events)


def test_english_quotes_and_postposed_speaker() -> None:
    text = (
        "Jane Doe, the city's mayor, spoke on Monday.\n"
        "\u201cWe will rebuild every school in this district,\u201d Doe said.\n"
        "The bridge will reopen next week, the transport department said."
    )
    events = split_events(_article(text, "en"))
    statements = [e for e in events if e.event_type == "statement"]
    assert [e.details.speaker for e in statements] == ["Jane Doe", "transport department"]
    assert statements[0].details.direct_quote
    assert statements[0].details.content == "We will rebuild every school in this district,"
    assert statements[1].details.content == "The bridge will reopen next week"


def test_english_military_update() -> None:
    text = (
        "Russian forces captured the village of Petrivka near Donetsk on Tuesday, officials said."
    )
    events = split_events(_article(text, "en"))
    military = [e for e in events if e.event_type == "military_update"]
    assert len(military) == 1
    assert military[0].details.location == "Petrivka"
    assert military[0].details.actor == "Russian forces"
    assert "Donetsk" in military[0].details.related_places
    assert military[0].occurred_at == "2024-03-05"


def test_plain_prose_gives_nothing() -> None:
    text = (
        "Preheat the oven. Mix the flour with the butter and add two eggs.\n"
        "Bake for 20 minutes and serve warm with a spoon of jam."
    )
    assert split_events(_article(text, "en")) == []


@pytest.mark.parametrize("language", [None, "xx"])
def test_unknown_language_gives_nothing(language: str | None) -> None:
    assert split_events(_article("Jane Doe said the plan was ready.", language)) == []
