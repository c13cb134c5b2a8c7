"""Round-2 patterns on small hand-written sentences: speakers, commitments, day words."""

from __future__ import annotations

import pytest

from pipeline.events import split_events
from pipeline.events.commitments import find_commitment
from pipeline.events.dates import DateResolver
from pipeline.events.lexicon import Lexicon, load_lexicon
from pipeline.events.sentences import split_sentences
from pipeline.models import Article, StatementDetails


def _lex(lang: str) -> Lexicon:
    lex = load_lexicon(lang)
    assert lex is not None
    return lex


def _article(text: str, language: str, published: str | None = "2024-11-22") -> Article:
    return Article.build(
        url="https://example.org/a", text=text, language=language, published_at=published
    )


def _statements(text: str, language: str) -> list[tuple[str, str]]:
    out = []
    for e in split_events(_article(text, language)):
        if isinstance(e.details, StatementDetails):
            out.append((e.details.speaker, e.evidence.text))
    return out


# --- statements --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "speaker"),
    [
        ("China indicated that it was ready to resolve the dispute bilaterally.", "China"),
        ("Economy Minister Marcelo Ruiz said Tuesday the tariffs were a bad idea.", "Marcelo Ruiz"),
        (
            "On Tuesday, the chief military spokesperson, Rear Admiral Dan Holt, said the "
            "appointment would not change anything.",
            "Dan Holt",
        ),
        ("Senator Ann Park on Friday denounced the strike on the dormitory.", "Ann Park"),
    ],
)
def test_english_speakers(text: str, speaker: str) -> None:
    assert _statements(text, "en")[0][0] == speaker


@pytest.mark.parametrize(
    ("text", "speaker"),
    [
        (
            "«Pour certains d'entre eux on est très interrogatif», a ajouté Louis Martin.",
            "Louis Martin",
        ),
        ("C'est ce qu'a annoncé Éric Lenoir, responsable de la mobilité, mercredi.", "Éric Lenoir"),
        (
            "Le ministre Jan Novak (ČSSD) avait estimé plus tôt que le ministre avait perdu "
            "toute crédibilité.",
            "Jan Novak",
        ),
        (
            "Jeanne Roux a parlé lundi. Pour Jeanne Roux, cette attitude est méprisante envers "
            "les soignants.",
            "Jeanne Roux",
        ),
        (
            "Mme Jeanne Roux a fait valoir au président qu'il ne peut pas avoir raison seul.",
            "Jeanne Roux",
        ),
    ],
)
def test_french_speakers(text: str, speaker: str) -> None:
    assert speaker in [s for s, _ in _statements(text, "fr")]


def test_comme_l_indique_a_medium_is_not_a_speaker() -> None:
    assert (
        _statements("Il s'est déjà produit en France, comme l'indique France 3 Alsace.", "fr") == []
    )


def test_family_name_first_links_to_the_full_name() -> None:
    text = (
        "“We call on both sides to talk,” foreign ministry spokesperson Geng Wei said on Tuesday.\n"
        "“Our position is clear and consistent,” Geng emphasized."
    )
    assert [s for s, _ in _statements(text, "en")] == ["Geng Wei", "Geng Wei"]


def test_ce_dernier_is_the_last_person_other_than_the_subject() -> None:
    text = (
        "Le président Paul Durand a reçu lundi son conseiller Marc Petit.\n"
        "Ce dernier a déclaré que la réunion avait été utile."
    )
    assert ("Marc Petit") in [s for s, _ in _statements(text, "fr")]


def test_subject_with_a_role_before_sets_the_pronoun_focus() -> None:
    text = (
        "Marie Curie a parlé hier. Le Premier ministre Paul Durand s'est exprimé vendredi.\n"
        "« Un choc », c'est ainsi qu'il a qualifié les révélations, estimant que c'était grave."
    )
    assert _statements(text, "fr")[-1][0] == "Paul Durand"


def test_dotted_abbreviation_before_a_pronoun_ends_the_sentence() -> None:
    lex = _lex("en")
    text = "Mexico imports more steel from the U.S. He rejected the claim. It was U.S. Steel."
    sentences = split_sentences(
        text, frozenset(lex.words("abbreviations")), frozenset(lex.words("sentence_starters"))
    )
    assert [s.text for s in sentences] == [
        "Mexico imports more steel from the U.S.",
        "He rejected the claim.",
        "It was U.S. Steel.",
    ]


# --- commitments -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text", "party"),
    [
        (
            "en",
            "In return, Sudan will improve access for aid groups and stop supporting rebels.",
            "Sudan",
        ),
        ("en", "Germany will deliver 40 tanks to Kyiv by 2026.", "Germany"),
        (
            "en",
            "The American government plans to reverse its policy and lift trade sanctions.",
            "American government",
        ),
        (
            "en",
            "President Lee signed an executive order imposing 25% tariffs on steel.",
            "President Lee",
        ),
        (
            "fr",
            "Le gouvernement a promis l'an dernier d'interdire certains couteaux.",
            "gouvernement",
        ),
        ("fr", "La France va fournir 12 canons Caesar à l'Ukraine.", "France"),
        ("fr", "Berlin livrera des chars d'ici 2026.", "Berlin"),
    ],
)
def test_commitments(lang: str, text: str, party: str) -> None:
    hit = find_commitment(text, _lex(lang))
    assert hit is not None and hit.party == party


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "The progress will strengthen the case for Labor to commit to a 2035 target."),
        ("en", "Sinwar's appointment would not stop Israel from pursuing him."),
        ("en", "Prices will increase next year."),
        ("fr", "Le ministre doit se rendre vendredi au château."),
    ],
)
def test_not_commitments(lang: str, text: str) -> None:
    assert find_commitment(text, _lex(lang)) is None


# --- day words by tense ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "published", "text", "expected"),
    [
        # 2024-11-22 is a Friday.
        (
            "fr",
            "2024-11-22",
            "L'Otan et l'Ukraine se retrouveront mardi à Bruxelles.",
            "2024-11-26",
        ),
        ("fr", "2024-11-22", "Le ministre a déclaré mardi que tout allait bien.", "2024-11-19"),
        ("fr", "2024-11-22", "Ils se réuniront vendredi prochain.", "2024-11-29"),
        ("fr", "2024-11-22", "Ce vendredi, il a démissionné.", "2024-11-22"),
        (
            "fr",
            "2024-11-22",
            "Ils se retrouveront mardi, a-t-on appris vendredi de sources diplomatiques.",
            "2024-11-26",
        ),
        ("fr", "2024-11-22", "La semaine dernière, les troupes ont avancé.", "2024-11-15"),
        # 2024-08-07 is a Wednesday.
        ("en", "2024-08-07", "They will meet on Tuesday in Paris.", "2024-08-13"),
        ("en", "2024-08-07", "He said on Tuesday that talks will resume.", "2024-08-06"),
        ("en", "2024-08-07", "He will visit next Wednesday.", "2024-08-14"),
        ("en", "2024-08-07", "Last week, troops advanced.", "2024-07-31"),
        ("en", "2024-08-07", "Sinwar planned the Oct. 7 attacks.", "2023-10-07"),
        ("en", "2024-08-07", "The vote will be held on Oct. 7.", "2024-10-07"),
    ],
)
def test_day_words_follow_the_tense(lang: str, published: str, text: str, expected: str) -> None:
    assert DateResolver(_lex(lang), published).resolve(text) == expected


def test_same_day_carries_the_last_day_forward() -> None:
    resolver = DateResolver(_lex("fr"), "2024-11-22")
    assert resolver.resolve("Le 11 décembre 2023, il a parlé à Berlin.") == "2023-12-11"
    assert resolver.resolve("La même journée, il a répété son appel.") == "2023-12-11"
    assert resolver.resolve("Mardi, il a reçu le ministre.") == "2024-11-19"
    assert resolver.resolve("Le même jour, il a signé le texte.") == "2024-11-19"
