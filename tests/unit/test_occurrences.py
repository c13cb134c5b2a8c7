"""Reports and occurrences (pipeline/occurrences.py): the pieces, then real pages.

The corpus tests run the real chain (Trafilatura extraction, then the splitter) on the
shared corpus, the seed article, syndicated copies of some of them (another host, another
page chrome, sometimes without the last paragraph) and hand translations of a few stories
(tests/support/occurrence_stories.py), and compare the occurrences with what a reader
would count.
"""

from __future__ import annotations

import gzip
import json
import random
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.dedup import hamming, simhash
from pipeline.errors import NotAnArticleError
from pipeline.events import split_events
from pipeline.extract import extract_article
from pipeline.models import (
    Article,
    CommitmentDetails,
    Event,
    Evidence,
    Extractor,
    MilitaryUpdateDetails,
    StatementDetails,
)
from pipeline.occurrences import (
    MatchConfig,
    OccurrenceIndex,
    Signature,
    anchors_of,
    compare,
    fold,
    name_key,
    normalise_actor,
    normalise_place,
    occurrence_id_for,
    repeats,
    same_occurrence,
    signature,
)
from pipeline.settings import Settings
from tests.support.figures import figure
from tests.support.occurrence_stories import COPIES, TRANSLATIONS, syndicated_copy

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
CORPUS = SHARED / "corpus" / "pages"
SEED = SHARED / "seed" / "article.html"


# --- Normalisation and aliases -------------------------------------------------------------


def test_fold_strips_case_and_accents() -> None:
    assert fold("États-Unis") == "etats-unis"
    assert fold("Straße") == "strasse"
    assert fold("Œuvre") == "oeuvre"


@pytest.mark.parametrize(
    "spellings",
    [
        ("Oreshnik", "Orechnik", "Oreschnik"),
        ("Zelensky", "Zelenskyy", "Selenskyj", "Zelenski"),
        ("Shevchenko", "Chevtchenko", "Schewtschenko"),
        ("Donbass", "Donbas"),
        ("Sloviansk", "Slovyansk"),
    ],
)
def test_name_key_bridges_transliterations(spellings: tuple[str, ...]) -> None:
    assert len({name_key(s) for s in spellings}) == 1


def test_name_key_keeps_different_names_apart() -> None:
    keys = [name_key(n) for n in ("Rutte", "Putin", "Peskov", "Macron", "Merz", "Sunak", "Khan")]
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize(
    "names,key",
    [
        (
            (
                "Mark Rutte",
                "M. Mark Rutte",
                "Rutte",
                "NATO Secretary General Mark Rutte",
                "le secrétaire général Mark Rutte",
            ),
            "p:rut",
        ),
        (("Vladimir Putin", "Vladimir Poutine", "Russian President Vladimir Putin"), "p:putin"),
        (("Volodymyr Zelenskyy", "Volodymyr Zelensky", "Selenskyj"), "p:zelensky"),
        (
            (
                "forces russes",
                "Russian forces",
                "Russia's Defense Ministry",
                "les autorités russes",
                "Moscow",
                "russische Streitkräfte",
            ),
            "e:russia",
        ),
        (("NATO", "OTAN", "Nato official", "pays membres de l'OTAN"), "e:nato"),
        (("US President", "les États-Unis", "U.S. officials", "Washington"), "e:usa"),
        (("l'UE", "EU", "European Union", "Union européenne"), "e:eu"),
        (("l'ONU", "the UN", "United Nations", "Vereinte Nationen"), "e:un"),
    ],
)
def test_normalise_actor_across_titles_and_languages(names: tuple[str, ...], key: str) -> None:
    assert {normalise_actor(n) for n in names} == {key}


@pytest.mark.parametrize(
    "name", ["Le Premier ministre", "police", "the ministry", "les autorités", "Air Force", None]
)
def test_generic_actors_are_unknown(name: str | None) -> None:
    assert normalise_actor(name) is None


def test_generic_words_keep_their_country() -> None:
    assert normalise_actor("Ukrainian authorities") == normalise_actor("Ukraine") == "e:ukraine"


def test_normalise_place() -> None:
    assert normalise_place("Kiev") == normalise_place("Kyiv") == normalise_place("Kiew")
    assert normalise_place("la ville de Siversk") == normalise_place("Siversk")
    assert normalise_place("Bila Tserkva") != normalise_place("Kyiv")
    assert normalise_place(None) is None


# --- Anchors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,lang",
    [
        ("5 % du PIB", "fr"),
        ("5% of GDP", "en"),
        ("5 percent of GDP", "en"),
        ("5 per cent of GDP", "en"),
        ("5 pour cent du PIB", "fr"),
        ("5 Prozent des BIP", "de"),
    ],
)
def test_percentages_are_one_anchor(text: str, lang: str) -> None:
    assert {"%:5", "e:gdp"} <= anchors_of(text, lang)


@pytest.mark.parametrize(
    "text,lang,anchor",
    [
        ("au moins 3,5 %", "fr", "%:3.5"),
        ("at least 3.5%", "en", "%:3.5"),
        ("environ 11 000 habitants", "fr", "#:11000"),
        ("about 11,000 inhabitants", "en", "#:11000"),
        ("rund 11.000 Einwohner", "de", "#:11000"),
        ("5 milliards de dollars", "fr", "#:5e+09"),
        ("$5 billion", "en", "#:5e+09"),
        ("5 Milliarden Euro", "de", "#:5e+09"),
        ("2 Billionen Euro", "de", "#:2e+12"),
        ("2 trillion dollars", "en", "#:2e+12"),
        ("SARS gets R4bn", "en", "#:4e+09"),
        ("1.4 million barrels", "en", "#:1.4e+06"),
        ("1,4 million de barils", "fr", "#:1.4e+06"),
        ("d'ici 2035", "fr", "y:2035"),
        ("le 11 décembre 2025", "fr", "dt:12-11"),
        ("on December 11, 2025", "en", "dt:12-11"),
        ("am 11. Dezember 2025", "de", "dt:12-11"),
        ("dimanche", "fr", "w:7"),
        ("on Sunday", "en", "w:7"),
        ("deux morts", "fr", "s:2"),
        ("two people", "en", "s:2"),
        ("600 drones", "en", "#:600"),
    ],
)
def test_number_and_date_anchors(text: str, lang: str, anchor: str) -> None:
    assert anchor in anchors_of(text, lang)


def test_units_that_need_the_number_glued() -> None:
    assert "#:5e+06" not in anchors_of("a 5 m wall", "en")  # metres, not millions
    assert "#:5e+06" in anchors_of("a $5m deal", "en")


@pytest.mark.parametrize(
    "text,lang,anchor",
    [
        ("le sommet de l'OTAN", "fr", "e:nato"),
        ("the NATO summit", "en", "e:nato"),
        ("aux États‑Unis", "fr", "e:usa"),
        ("the U.S. military", "en", "e:usa"),
        ("à Kiev", "fr", "e:kyiv"),
        ("in Kyiv", "en", "e:kyiv"),
        ("Vladimir Poutine", "fr", "p:putin"),
        ("les forces ukrainiennes", "fr", "e:ukraine"),
        ("die russischen Truppen", "de", "e:russia"),
        ("the Oreshnik missile", "en", f"n:{name_key('Oreshnik')}"),
        ("le missile Orechnik", "fr", f"n:{name_key('Oreshnik')}"),
    ],
)
def test_entity_and_name_anchors(text: str, lang: str, anchor: str) -> None:
    assert anchor in anchors_of(text, lang)


def test_short_aliases_need_capitals_and_sentence_openers_are_not_names() -> None:
    assert "e:usa" not in anchors_of("He told us so.", "en")
    assert "e:un" not in anchors_of("Un homme a été arrêté.", "fr")
    assert "e:eu" not in anchors_of("Il a eu raison.", "fr")
    assert anchors_of("Selon la police, il a été arrêté.", "fr") == set()


# --- Comparing two reports -------------------------------------------------------------------

_COUNTER = iter(range(1_000_000))


def _event(
    kind: str,
    text: str,
    *,
    who: str | None = "Mark Rutte",
    lang: str = "en",
    url: str = "https://a.example.com/1",
    published: str | None = "2025-12-11",
    occurred: str | None = None,
    location: str | None = None,
    related: list[str] | None = None,
    start: int = 0,
) -> Event:
    """A hand-made report (the splitter's output shape) for the unit tests."""
    article = Article.build(url=url, text=" " * start + text, language=lang, published_at=published)
    details: StatementDetails | MilitaryUpdateDetails | CommitmentDetails
    if kind == "statement":
        details = StatementDetails(speaker=who, content=text, direct_quote=False)
    elif kind == "military_update":
        details = MilitaryUpdateDetails(
            actor=who, action="attack", location=location, related_places=related or []
        )
    else:
        details = CommitmentDetails(party=who, commitment=text)
    n = next(_COUNTER)
    return Event(
        event_id=f"ev{n:06d}",
        event_type=kind,  # type: ignore[arg-type]
        article=article.ref(),
        occurred_at=occurred,
        evidence=Evidence(text=text, start=start, end=start + len(text)),
        details=details,
        confidence=0.9,
        extractor=Extractor(name="test", version="0"),
    )


RUTTE_EN = (
    "Mark Rutte said about 80% of the electronic components in Russian drones were made in China."
)
RUTTE_FR = "Mark Rutte a affirmé qu'environ 80 % des composants électroniques des drones russes étaient fabriqués en Chine."


def test_copies_and_translations_of_one_statement_match() -> None:
    en = _event("statement", RUTTE_EN)
    copy = _event("statement", RUTTE_EN, url="https://b.example.net/x")
    fr = _event("statement", RUTTE_FR, who="M. Rutte", lang="fr", url="https://c.example.fr/y")
    assert compare(en, copy).score == 1.0 and same_occurrence(en, copy)
    assert same_occurrence(en, fr)
    assert same_occurrence(copy, fr)


def test_same_article_never_merges() -> None:
    a = _event("statement", RUTTE_EN)
    b = replace(signature(a), event_id="other-report")  # the same text twice in one article
    result = compare(signature(a), b)
    assert not result.same and result.veto == "same article"


def _one_article(*events: Event) -> list[Signature]:
    """Hand-made reports as the reports of one article, in this reading order."""
    sigs = [signature(e) for e in events]
    return [replace(s, article_id="one-article", position=i * 100) for i, s in enumerate(sigs)]


def test_an_event_told_twice_in_one_article_is_one_occurrence() -> None:
    lead = _event("statement", RUTTE_EN)
    again = _event(
        "statement",
        "He said about 80% of the electronic components in Russian drones were made in China, "
        "citing NATO's estimates.",
    )
    other = _event(
        "statement", "Mark Rutte said NATO should strengthen its presence along its eastern flank."
    )
    a, b, c = _one_article(lead, again, other)
    assert repeats(a, b).same
    assert not repeats(a, c).same
    assert repeats(a, replace(b, article_id="elsewhere")).veto == "different articles"
    index = OccurrenceIndex()
    ids = index.add_article([a, b, c])
    assert ids[a.event_id] == ids[b.event_id] != ids[c.event_id]
    occurrence = index.get(ids[a.event_id])
    assert occurrence is not None and occurrence.report_ids == [a.report_id, b.report_id]
    # A later version of the article adds a third telling: it joins the same occurrence.
    third = replace(
        signature(_event("statement", RUTTE_EN)), article_id="one-article", position=900
    )
    assert index.add_article([third])[third.event_id] == ids[a.event_id]


def test_repeats_keep_the_vetoes_and_need_more_words_when_nothing_agrees() -> None:
    a, b = _one_article(
        _event("statement", RUTTE_EN),
        _event("statement", RUTTE_EN, who="Jens Stoltenberg"),
    )
    assert (repeats(a, b).veto or "").startswith("actors differ")
    close = "Mark Rutte said about 80% of the electronic parts in Russian drones came from China."
    a, b = _one_article(_event("statement", RUTTE_EN), _event("statement", close))
    c, d = _one_article(_event("statement", RUTTE_EN), _event("statement", close, who=None))
    assert repeats(a, b).same  # the speaker agrees
    assert 0.5 <= repeats(c, d).score < 0.8 and not repeats(c, d).same  # nothing else does


def test_type_actor_and_place_vetoes() -> None:
    a = _event("statement", RUTTE_EN)
    assert compare(a, _event("commitment", RUTTE_EN, url="https://b.example.net")).veto
    other_speaker = _event(
        "statement", RUTTE_EN, who="Jens Stoltenberg", url="https://b.example.net"
    )
    assert (compare(a, other_speaker).veto or "").startswith("actors differ")
    strike = "Russian forces struck the city overnight with 40 drones, killing 3 people."
    kyiv = _event("military_update", strike, who="Russian forces", location="Kyiv")
    kharkiv = _event(
        "military_update", strike, who="Russian forces", location="Kharkiv", url="https://b.example"
    )
    assert compare(kyiv, kharkiv).veto is not None
    region = _event(
        "military_update",
        strike,
        who="Russian forces",
        location="Bila Tserkva",
        related=["Kyiv"],
        url="https://b.example",
    )
    assert same_occurrence(kyiv, region)  # one place is among the other's related places


def test_unknown_actor_needs_stronger_content() -> None:
    a = _event(
        "statement", "Officials said 600 drones and 90 missiles hit Kyiv on Sunday.", who=None
    )
    b = _event(
        "statement",
        "Officials said the attack on Kyiv was the largest since May.",
        who="Volodymyr Zelensky",
        url="https://b.example",
    )
    result = compare(a, b)
    assert result.veto is None and result.actors == "weak" and not result.same


def test_misattributed_speaker_is_weak_not_a_veto() -> None:
    en = _event(
        "statement",
        "The Oreshnik struck the city of Bila Tserkva in the Kyiv region, Zelenskyy said on Telegram.",
        who="Volodymyr Zelenskyy",
    )
    fr = _event(
        "statement",
        "L'Orechnik a frappé la ville de Bila Tserkva, dans la région de Kiev, a déclaré Zelensky sur Telegram.",
        who="Bila Tserkva",  # the splitter took the place for the speaker
        lang="fr",
        url="https://b.example.fr",
    )
    result = compare(en, fr)
    assert result.veto is None and result.actors == "weak" and result.same


@pytest.mark.parametrize(
    "days,vetoed",
    [(0, False), (3, False), (4, True)],
)
def test_date_window(days: int, vetoed: bool) -> None:
    a = _event("statement", RUTTE_EN, occurred="2025-12-11")
    b = _event(
        "statement", RUTTE_EN, occurred=f"2025-12-{11 + days:02d}", url="https://b.example.net"
    )
    assert (compare(a, b).veto is not None) is vetoed
    assert compare(a, b, MatchConfig(window_days=7)).veto is None


def test_missing_dates_do_not_veto() -> None:
    a = _event("statement", RUTTE_EN, published=None)
    b = _event("statement", RUTTE_EN, published="2030-01-01", url="https://b.example.net")
    assert same_occurrence(a, b)


def test_paraphrases_of_one_strike_match() -> None:
    a = _event(
        "military_update",
        "Russia launched 600 drones and 90 missiles at Kyiv overnight, Ukraine's air force said.",
        who="Russian forces",
        location="Kyiv",
        occurred="2026-05-24",
    )
    b = _event(
        "military_update",
        "Ukraine's air force said Russia fired 90 missiles and 600 drones at the capital, Kyiv.",
        who=None,
        location="Kyiv",
        occurred="2026-05-24",
        url="https://b.example",
    )
    assert same_occurrence(a, b)


def test_two_strikes_on_one_city_stay_apart() -> None:
    """Other figures and another day named: another strike, however alike the words."""
    monday = _event(
        "military_update",
        "Russia struck Kyiv with 40 drones on Monday, officials said.",
        who="Russian forces",
        location="Kyiv",
        occurred="2026-05-25",
    )
    tuesday = _event(
        "military_update",
        "Russia struck Kyiv with 70 drones on Tuesday, officials said.",
        who="Russian forces",
        location="Kyiv",
        occurred="2026-05-26",
        url="https://b.example",
    )
    result = compare(monday, tuesday)
    assert result.veto is None and not result.same


def test_different_statements_of_one_speaker_stay_apart() -> None:
    a = _event("statement", RUTTE_EN)
    b = _event(
        "statement",
        "Mark Rutte said NATO should strengthen its presence along its eastern flank.",
        url="https://b.example.net",
    )
    assert not same_occurrence(a, b)


# --- The index ------------------------------------------------------------------------------


def _story(host: str, lang: str = "en", published: str = "2025-12-11") -> list[Event]:
    texts = {
        "en": [
            RUTTE_EN,
            "Mark Rutte said NATO should strengthen its presence along its eastern flank by 2030.",
        ],
        "fr": [
            RUTTE_FR,
            "Mark Rutte a estimé que l'OTAN devrait renforcer sa présence sur son flanc oriental d'ici 2030.",
        ],
    }[lang]
    url = f"https://{host}/story"
    out, start = [], 0
    for text in texts:
        out.append(_event("statement", text, lang=lang, url=url, published=published, start=start))
        start += len(text) + 1
    return out


def test_add_article_links_copies_and_translations() -> None:
    index = OccurrenceIndex()
    first = index.add_article(_story("a.example.com"))
    second = index.add_article(_story("b.example.net"))
    third = index.add_article(_story("c.example.fr", lang="fr"))
    assert len(index) == 2
    assert sorted(first.values()) == sorted(second.values()) == sorted(third.values())
    occurrence = index.occurrences()[0]
    assert occurrence.mention_count == 3
    why = index.best_match(signature(_story("d.example.org")[0]))
    assert why is not None and why[0] is occurrence and why[1].same
    assert occurrence.sources == ["a.example.com", "b.example.net", "c.example.fr"]


def test_ids_are_stable_and_add_is_idempotent() -> None:
    index = OccurrenceIndex()
    story = _story("a.example.com")
    ids = index.add_article(story)
    assert ids[story[0].event_id] == occurrence_id_for(story[0].event_id)
    assert index.add_article(story) == ids
    assert index.add_report(story[0]) == ids[story[0].event_id]
    assert index.occurrences()[0].mention_count == 1


def test_batch_order_does_not_change_occurrences_or_ids() -> None:
    reports = (
        _story("a.example.com")
        + _story("b.example.net", published="2025-12-12")
        + _story("c.example.fr", lang="fr")
    )
    states = []
    for seed in range(4):
        shuffled = reports[:]
        random.Random(seed).shuffle(shuffled)
        index = OccurrenceIndex()
        index.add_reports(shuffled)
        states.append(json.dumps(index.to_dict(), sort_keys=True))
    assert len(set(states)) == 1


def test_add_mention_adds_a_mention_and_a_source_never_an_occurrence() -> None:
    index = OccurrenceIndex()
    story = _story("a.example.com")
    index.add_article(story)
    article_id = story[0].article.article_id
    changed = index.add_mention(article_id, "copy.example.org", "2025-12-12T08:00:00Z", "copy-1")
    assert len(changed) == 2 and len(index) == 2
    for occurrence in index.occurrences():
        assert occurrence.mention_count == 2
        assert occurrence.sources == ["a.example.com", "copy.example.org"]
        assert occurrence.first_reported_at == "2025-12-11T00:00:00Z"
        assert occurrence.last_reported_at == "2025-12-12T08:00:00Z"
        assert len(occurrence.report_ids) == 1
    assert index.add_mention(article_id, "copy.example.org", "2025-12-12T08:00:00Z", "copy-1") == []
    assert index.add_mention("unknown-article", "x.example", None) == []
    assert len(index) == 2


def test_remove_report_retracts_and_leaves_a_tombstone() -> None:
    index = OccurrenceIndex()
    original, copy = _story("a.example.com"), _story("b.example.net")
    index.add_article(original)
    index.add_article(copy)
    index.add_mention(original[0].article.article_id, "m.example", "2025-12-12", "m-1")
    occurrence_id = index.occurrence_of(original[0].event_id)
    assert occurrence_id is not None
    left = index.remove_report(original[0].event_id)
    assert left is not None and left.occurrence_id == occurrence_id
    assert left.report_ids == [copy[0].event_id]
    assert left.mentions == {}  # the mention rested on the retracted report's article
    assert left.sources == ["b.example.net"]
    gone = index.remove_report(copy[0].event_id)
    assert gone is not None and gone.reports == {} and gone.mention_count == 0
    assert index.get(occurrence_id) is None and len(index) == 1
    assert index.remove_report(copy[0].event_id) is None
    # Retracted reports can come back; they open (or join) an occurrence again.
    assert index.add_report(original[0]) == occurrence_id_for(original[0].event_id)


def test_apply_follows_report_versions() -> None:
    """Report changes as published (pipeline.lifecycle): create, update, retract."""
    index = OccurrenceIndex()
    original, copy = _story("a.example.com"), _story("b.example.net")
    first = index.apply(original + copy)
    assert len(first.changed) == 2 and first.removed == []
    occurrence_id = index.occurrence_of(original[0].event_id)
    # The next version of the original's first report: new event id, same report id.
    text = RUTTE_EN.replace("about 80%", "roughly 80%")
    newer = _event("statement", text, url="https://a.example.com/story").model_copy(
        update={"report_id": original[0].event_id, "op": "update", "version": 2}
    )
    assert index.apply([newer]).changed == [occurrence_id]
    occurrence = index.get(occurrence_id or "")
    assert occurrence is not None
    assert original[0].event_id in occurrence.report_ids  # the stable report id
    assert (
        newer.event_id in occurrence.event_ids and original[0].event_id not in occurrence.event_ids
    )
    assert index.occurrence_of(newer.event_id) == occurrence_id
    # Retractions: the occurrence changes, then goes when its last report goes.
    retract = [r.model_copy(update={"op": "retract", "version": 2}) for r in copy[:1]]
    assert index.apply(retract).changed == [occurrence_id]
    last = newer.model_copy(update={"op": "retract", "version": 3})
    assert index.apply([last]).removed == [occurrence_id]
    assert index.get(occurrence_id or "") is None and len(index) == 1


def test_an_occurrence_emptied_in_one_batch_is_removed() -> None:
    """Retracting every report of an occurrence at once tombstones it (the first retraction
    only touches it; the end state decides)."""
    index = OccurrenceIndex()
    original, copy = _story("a.example.com"), _story("b.example.net")
    index.apply(original + copy)
    occurrence_id = index.occurrence_of(original[0].event_id)
    assert occurrence_id == index.occurrence_of(copy[0].event_id)
    both = [r.model_copy(update={"op": "retract", "version": 2}) for r in (original[0], copy[0])]
    changes = index.apply(both)
    assert changes.removed == [occurrence_id] and occurrence_id not in changes.changed
    assert index.get(occurrence_id or "") is None


def test_remove_report_by_event_or_report_id() -> None:
    index = OccurrenceIndex()
    story = _story("a.example.com")
    index.add_article(story)
    assert index.remove_report("nothing") is None
    assert index.remove_report(story[0].event_id) is not None
    assert index.occurrence_of(story[0].event_id) is None


def test_month_precision_dates_span_their_month() -> None:
    march = _event("statement", RUTTE_EN, occurred="2024-03-01")
    march = march.model_copy(update={"occurred_at_precision": "month"})
    late_march = _event("statement", RUTTE_EN, occurred="2024-03-28", url="https://b.example")
    april = _event("statement", RUTTE_EN, occurred="2024-04-05", url="https://c.example")
    assert compare(march, late_march).veto is None
    assert compare(march, april).veto == "5 days apart"


def _article(url: str, lang: str, sentences: list[tuple[str, str | None]]) -> list[Event]:
    out, start = [], 0
    for text, who in sentences:
        out.append(_event("statement", text, who=who, lang=lang, url=url, start=start))
        start += len(text) + 1
    return out


STORY_EN = [
    ("The mayor said 14 people were injured in the attack on Hainault station.", "Sadiq Khan"),
    ("Two of them are still in hospital, he added.", "Sadiq Khan"),
    ("He said 36 officers and 12 ambulances had been sent to Hainault.", "Sadiq Khan"),
]
STORY_FR = [
    ("Le maire a déclaré que 14 personnes avaient été blessées dans l'attaque de la station Hainault.", "Sadiq Khan"),
    ("Deux d'entre elles sont encore à l'hôpital, a-t-il ajouté.", "Sadiq Khan"),
    ("Il a indiqué que 36 policiers et 12 ambulances avaient été envoyés à Hainault.", "Sadiq Khan"),
]  # fmt: skip


def test_translated_story_aligns_sentences_without_anchors() -> None:
    index = OccurrenceIndex()
    english = _article("https://a.example.com/story", "en", STORY_EN)
    index.add_article(english)
    french = _article("https://b.example.fr/histoire", "fr", STORY_FR)
    ids = index.add_article(french)
    assert len(index) == 3
    for en, fr in zip(english, french, strict=True):
        assert ids[fr.event_id] == index.occurrence_of(en.event_id)
    # Alone, the anchorless sentence has nothing to go by: it is an occurrence of its own.
    lone = OccurrenceIndex()
    lone.add_article(english)
    lone.add_article(french[1:2])
    assert len(lone) == 4


def test_incremental_order_decides_which_report_names_the_occurrence() -> None:
    """Documented order dependence: the report that opens an occurrence names it."""
    original, copy = _story("a.example.com"), _story("b.example.net")
    forward, backward = OccurrenceIndex(), OccurrenceIndex()
    forward.add_article(original)
    forward.add_article(copy)
    backward.add_article(copy)
    backward.add_article(original)
    assert forward.occurrence_of(copy[0].event_id) == occurrence_id_for(original[0].event_id)
    assert backward.occurrence_of(original[0].event_id) == occurrence_id_for(copy[0].event_id)
    assert sorted(len(o.reports) for o in forward.occurrences()) == [2, 2]
    assert sorted(len(o.reports) for o in backward.occurrences()) == [2, 2]


def test_state_round_trips_through_json() -> None:
    index = OccurrenceIndex(MatchConfig(window_days=2))
    index.add_article(_story("a.example.com"))
    index.add_article(_story("b.example.net"))
    first_article = next(iter(index.occurrences()[0].reports.values())).article_id
    index.add_mention(first_article, "m.example", None)
    state = json.loads(json.dumps(index.to_dict()))
    restored = OccurrenceIndex.from_dict(state)
    assert restored.to_dict() == index.to_dict()
    assert restored.config.window_days == 2
    assert [o.record() for o in restored.occurrences()] == [o.record() for o in index.occurrences()]
    french = _story("c.example.fr", lang="fr")
    assert restored.add_article(french) == index.add_article(french)
    with pytest.raises(ValueError):
        OccurrenceIndex.from_dict({**state, "state_version": 99})


def test_signature_round_trips() -> None:
    sig = signature(_story("a.example.com")[0])
    assert Signature.from_dict(json.loads(json.dumps(sig.to_dict()))) == sig


def test_candidates_come_from_nearby_days_only() -> None:
    surnames = [
        "Abbott",
        "Baker",
        "Carter",
        "Dalton",
        "Elliott",
        "Fisher",
        "Garner",
        "Hughes",
        "Ingram",
        "Jarvis",
        "Keller",
        "Lawson",
        "Mercer",
        "Norton",
        "Osborne",
        "Parker",
        "Quinlan",
        "Rhodes",
        "Sutton",
        "Turner",
        "Upton",
        "Vaughan",
        "Walker",
        "Yates",
        "Fleming",
        "Barlow",
        "Hewitt",
        "Morton",
    ]
    index = OccurrenceIndex()
    for day in range(1, 29):
        report = _event(
            "statement",
            RUTTE_EN,
            who=f"Speaker {surnames[day - 1]}",
            url=f"https://s{day}.example",
            published=f"2025-02-{day:02d}",
        )
        index.add_article([report])
    assert len(index) == 28
    probe = _event("statement", RUTTE_EN, published="2025-02-14", url="https://p.example")
    candidates = index._candidates(signature(probe))
    days = sorted(s.day for o in candidates for s in o.reports.values())
    assert days == [f"2025-02-{d:02d}" for d in range(11, 18)]


# --- Real pages: the corpus, the seed, copies and translations -------------------------------


@dataclass
class Page:
    name: str  # corpus page, "seed", "copy:<original>" or a translation's name
    story: str  # the original story it tells
    article: Article
    events: list[Event]


def _read(data: bytes, url: str, name: str, story: str) -> Page | None:
    try:
        article = extract_article(data, url)
    except NotAnArticleError:
        return None
    return Page(name, story, article, split_events(article))


@pytest.fixture(scope="module")
def originals() -> dict[str, Page]:
    if not CORPUS.is_dir() or not SEED.is_file():
        pytest.skip("shared/corpus and shared/seed are not beside the checkout")
    pages: dict[str, Page] = {}
    for path in sorted(CORPUS.glob("*.html.gz")):
        name = path.name.removesuffix(".html.gz")
        with gzip.open(path) as raw:
            page = _read(raw.read(), "file://" + path.name, name, name)
        if page is not None:
            pages[name] = page
    seed = _read(SEED.read_bytes(), "file://article.html", "seed", "seed")
    assert seed is not None
    pages["seed"] = seed
    return pages


@pytest.fixture(scope="module")
def copies(originals: dict[str, Page]) -> dict[str, Page]:
    out: dict[str, Page] = {}
    for name, host, site, trim in COPIES:
        original = originals[name].article
        html, url = syndicated_copy(
            text=original.text,
            title=original.title,
            lang=original.language or "en",
            published_at=original.published_at,
            host=host,
            site=site,
            slug=name,
            trim_last_paragraph=trim,
        )
        page = _read(html.encode(), url, f"copy:{name}", name)
        assert page is not None
        out[name] = page
    return out


@pytest.fixture(scope="module")
def translations(originals: dict[str, Page]) -> dict[str, Page]:
    out: dict[str, Page] = {}
    for translation in TRANSLATIONS:
        html, url = translation.html()
        page = _read(html.encode(), url, translation.name, translation.original)
        assert page is not None and page.article.language == translation.lang
        out[translation.name] = page
    return out


def _counterpart(event: Event, original: Page) -> Event | None:
    """The original report a syndicated copy's report repeats (same type, same sentence)."""
    return next(
        (
            o
            for o in original.events
            if o.event_type == event.event_type and o.evidence.text == event.evidence.text
        ),
        None,
    )


def _translated_counterpart(event: Event, name: str, original: Page) -> Event | None:
    """The original report a translated report renders: the translated sentence holding the
    report's evidence names the original sentence it translates; the report's counterpart
    is the original's report of the same type on that sentence. None when the original's
    split found no report of that type there: then the translated report is one more
    occurrence for a reader too (see READER_NOTES)."""
    translation = next(t for t in TRANSLATIONS if t.name == name)
    snippets = [
        snippet
        for snippet, text in translation.sentences()
        if text in event.evidence.text or event.evidence.text.strip() in text
    ]
    assert snippets, f"no translated sentence holds {event.evidence.text!r}"
    return next(
        (
            o
            for o in original.events
            if o.event_type == event.event_type and any(s in o.evidence.text for s in snippets)
        ),
        None,
    )


# What a reader decided, reading the reports of the originals, copies and translations:
#
# - No two corpus pages report the same occurrence. The closest are pages of the same
#   days: the three 6 January 2026 pages on the US capture of Maduro (de-002 UN debate,
#   en-017 oil plans, fr-009 Nike tracksuit) tell different events (and the German
#   splitter gives no events yet); en-007 (helicopter crash, 20 November 2019) mentions
#   en-010's hostage swap in a sentence that yields no report.
# - Translated reports with no counterpart among the original's reports (the original's
#   split found no event of that type in that sentence), one more occurrence each:
#   seed-en "The Secretary General said that Russia would not stop at Ukraine..." read as
#   a commitment in English (not in French: the statement is its counterpart, the
#   commitment is new); fr-012-en "According to a police source, a 14-year-old child was
#   killed." (no statement in the French sentence).
# - Repeats inside one article: the same event told twice in much the same words (a lead
#   the body tells again, a sentence restated). One occurrence for the reader (a report
#   of each telling).
WITHIN_ARTICLE_REPEATS = (
    ("en-016", "commitment", "The government is also ‘committed to a two-state", "It is committed to a two-state"),
    ("fr-001", "military_update", "ont fait au moins deux morts à Soumy ce vendredi", "Des frappes russes ont fait au moins deux morts à Soumy"),
    ("fr-001", "statement", "a pris les éléments d’un (conflit) à caractère mondial", "avait pris un «caractère mondial»"),
    ("fr-001", "military_update", "a pris les éléments d’un (conflit) à caractère mondial", "avait pris un «caractère mondial»"),
)  # fmt: skip
# - Paraphrases inside one article: a quote, and a sentence of the same article saying in
#   other words what it says (here, the article's lead). The matcher keeps them apart (no
#   words in common to go by: only a reading of both could tell); the reader counts each
#   pair as two reports of one statement, and the test prints the count with them merged.
WITHIN_ARTICLE_PARAPHRASES = (
    ("fr-001", "statement", "«Nous avons pratiquement fait échouer toute leur campagne pour 2025»", "La Russie a affirmé vendredi avoir fait échouer"),
    ("fr-001", "statement", "La Russie «a besoin» de migrants", "«Les migrants, c’est un besoin»"),
)  # fmt: skip


def _pairs_found(
    originals: dict[str, Page], pairs: tuple[tuple[str, str, str, str], ...]
) -> list[tuple[Event, Event]]:
    """The (first, second) reports of each listed pair the splitter found."""
    found = []
    for name, kind, first, second in pairs:
        events = [e for e in originals[name].events if e.event_type == kind]
        a = next((e for e in events if first in e.evidence.text), None)
        b = next((e for e in events if second in e.evidence.text), None)
        if a is not None and b is not None:
            found.append((a, b))
    return found


def _gold(
    originals: dict[str, Page], copies: dict[str, Page], translations: dict[str, Page]
) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """What a reader counts: event id -> the report that stands for its occurrence, event id
    -> its story, and the translated reports that are occurrences of their own."""
    gold: dict[str, str] = {}
    story: dict[str, str] = {}
    new: list[str] = []
    for page in originals.values():
        for event in page.events:
            gold[event.event_id] = event.event_id
            story[event.event_id] = page.story
    for first, second in _pairs_found(originals, WITHIN_ARTICLE_REPEATS):
        gold[second.event_id] = gold[first.event_id]
    for name, page in copies.items():
        for event in page.events:
            counterpart = _counterpart(event, originals[name])
            assert counterpart is not None, f"copy of {name}: {event.evidence.text!r}"
            gold[event.event_id] = gold[counterpart.event_id]
            story[event.event_id] = name
    for name, page in translations.items():
        original = originals[page.story]
        for event in page.events:
            counterpart = _translated_counterpart(event, name, original)
            gold[event.event_id] = gold[counterpart.event_id] if counterpart else event.event_id
            story[event.event_id] = page.story
            if counterpart is None:
                new.append(f"{name}: {event.event_type}: {event.evidence.text[:70]}")
    return gold, story, new


def test_copies_and_translations_are_real_pages(
    originals: dict[str, Page], copies: dict[str, Page], translations: dict[str, Page]
) -> None:
    for name, page in copies.items():
        original = originals[name]
        assert page.article.article_id != original.article.article_id
        assert (
            page.article.url.startswith("https://") and page.article.title != original.article.title
        )
        assert page.events and all(_counterpart(e, original) for e in page.events)
    for page in translations.values():
        assert len(page.events) >= 5


def test_syndicated_copies_published_join_the_originals(
    originals: dict[str, Page], copies: dict[str, Page]
) -> None:
    """Copies published as new articles: each report filed on its own (add_report)."""
    index = OccurrenceIndex()
    for page in originals.values():
        index.add_article(page.events)
    before = len(index)
    for name, page in copies.items():
        ids = {e.event_id: index.add_report(e) for e in page.events}
        for event in page.events:
            counterpart = _counterpart(event, originals[name])
            assert counterpart is not None
            assert ids[event.event_id] == index.occurrence_of(counterpart.event_id), (
                name,
                event.evidence.text,
            )
            occurrence = index.get(ids[event.event_id])
            assert occurrence is not None and occurrence.mention_count == 2
            assert page.article.url.split("/")[2] in occurrence.sources
    assert len(index) == before


def test_syndicated_copies_found_as_near_duplicates_add_mentions(
    originals: dict[str, Page], copies: dict[str, Page]
) -> None:
    """Copies the ledger recognises as near-duplicates are not published: each adds one
    mention and its source to every occurrence of the original's reports."""
    index = OccurrenceIndex()
    for page in originals.values():
        index.add_article(page.events)
    before = {o.occurrence_id: o.mention_count for o in index.occurrences()}
    fingerprints = {n: simhash(p.article.text) for n, p in originals.items()}
    max_distance = Settings().near_duplicate_distance
    mentioned = 0
    for name, page in copies.items():
        fingerprint = simhash(page.article.text)
        nearest = min(fingerprints, key=lambda n: hamming(fingerprints[n], fingerprint))
        assert nearest == name
        if hamming(fingerprints[nearest], fingerprint) > max_distance:
            continue  # not a near-duplicate for the ledger: published (test above)
        original = originals[nearest]
        changed = index.add_mention(
            original.article.article_id,
            page.article.url.split("/")[2],
            page.article.published_at,
            mention_id=page.article.article_id,
        )
        expected = {index.occurrence_of(e.event_id) for e in original.events}
        assert set(changed) == expected
        mentioned += 1
    assert mentioned >= len(copies) - 1  # a copy without its last paragraph may drift further
    assert {o.occurrence_id for o in index.occurrences()} == set(before)
    grown = [o for o in index.occurrences() if o.mention_count > before[o.occurrence_id]]
    assert all(o.mention_count == before[o.occurrence_id] + 1 for o in grown)
    assert all(len(o.sources) == 2 for o in grown)


def test_translations_join_the_originals(
    originals: dict[str, Page], translations: dict[str, Page]
) -> None:
    index = OccurrenceIndex()
    for page in originals.values():
        index.add_article(page.events)
    for name, page in translations.items():
        ids = index.add_article(page.events)
        for event in page.events:
            counterpart = _translated_counterpart(event, name, originals[page.story])
            if counterpart is None:
                occurrence = index.get(ids[event.event_id])
                assert occurrence is not None and occurrence.report_ids == [event.event_id]
            else:
                assert ids[event.event_id] == index.occurrence_of(counterpart.event_id), (
                    name,
                    event.evidence.text,
                )


def test_occurrences_on_the_corpus_match_a_readers_count(
    originals: dict[str, Page], copies: dict[str, Page], translations: dict[str, Page]
) -> None:
    """The corpus, the seed, copies and translations: the occurrences are the reader's."""
    gold, story, new = _gold(originals, copies, translations)
    pages = [*originals.values(), *copies.values(), *translations.values()]
    reports = [e for page in pages for e in page.events]
    index = OccurrenceIndex()
    index.add_reports(reports)
    got, want = len(index), len(set(gold.values()))
    repeats = _pairs_found(originals, WITHIN_ARTICLE_REPEATS)
    paraphrases = _pairs_found(originals, WITHIN_ARTICLE_PARAPHRASES)
    figure(
        f"occurrences: {got}, reader's count: {want}\n"
        f"reports: {len(reports)} ({sum(len(p.events) for p in originals.values())} on "
        f"{len(originals)} original pages, {sum(len(p.events) for p in copies.values())} on "
        f"{len(copies)} copies, {sum(len(p.events) for p in translations.values())} on "
        f"{len(translations)} translations); translated reports with no counterpart: {len(new)}\n"
        f"events told twice in one article, each one occurrence: {len(repeats)}; quotes and "
        f"their paraphrase in one article, kept apart: {len(paraphrases)} (merging them too: "
        f"{want - len(paraphrases)})"
    )
    assert len(repeats) == len(WITHIN_ARTICLE_REPEATS)
    assert all(
        index.occurrence_of(a.event_id) == index.occurrence_of(b.event_id) for a, b in repeats
    )
    merged_stories = [
        o.occurrence_id for o in index.occurrences() if len({story[r] for r in o.report_ids}) > 1
    ]
    assert merged_stories == [], "an occurrence mixes two stories"
    merged = [
        o.occurrence_id for o in index.occurrences() if len({gold[r] for r in o.report_ids}) > 1
    ]
    assert merged == [], "an occurrence merges two occurrences"
    assert got == want


def test_corpus_occurrences_do_not_depend_on_batch_order(
    originals: dict[str, Page], copies: dict[str, Page], translations: dict[str, Page]
) -> None:
    reports = [
        e for p in [*originals.values(), *copies.values(), *translations.values()] for e in p.events
    ]
    states = set()
    for seed in (1, 2):
        shuffled = reports[:]
        random.Random(seed).shuffle(shuffled)
        index = OccurrenceIndex()
        index.add_reports(shuffled)
        states.add(json.dumps(index.to_dict(), sort_keys=True))
    assert len(states) == 1


def test_corpus_state_round_trips(originals: dict[str, Page], copies: dict[str, Page]) -> None:
    index = OccurrenceIndex()
    for page in [*originals.values(), *copies.values()]:
        index.add_article(page.events)
    restored = OccurrenceIndex.from_dict(json.loads(json.dumps(index.to_dict())))
    assert restored.to_dict() == index.to_dict()
    per_report = defaultdict(set)
    for occurrence in restored.occurrences():
        for report_id in occurrence.report_ids:
            per_report[report_id].add(occurrence.occurrence_id)
    assert all(len(v) == 1 for v in per_report.values())


# --- The index in the ledger: one row per occurrence, loaded by what a run can touch -------


def test_the_ledger_keeps_the_index_a_run_at_a_time(
    originals: dict[str, Page],
    copies: dict[str, Page],
    translations: dict[str, Page],
    tmp_path: Path,
) -> None:
    """Article by article, each run loading only what it can touch and saving what it
    changed, ends with the occurrences of one index that saw everything in memory."""
    from pipeline.ledger import Ledger
    from pipeline.lifecycle import plan_changes
    from pipeline.runner import load_occurrences, track_occurrences

    settings = Settings()
    pages = sorted(
        [*originals.values(), *copies.values(), *translations.values()],
        key=lambda p: (p.article.published_at or "", p.article.article_id),
    )
    whole = OccurrenceIndex()
    loaded: list[int] = []
    with Ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        for page in pages:
            creates = plan_changes([], page.events)
            whole.apply(creates)
            index = load_occurrences(ledger, creates, [])
            loaded.append(len(index))
            _, writes = track_occurrences(index, creates, [], settings)
            ledger.record_published([], [], [], writes)
        saved = ledger.load_occurrences(windows=[("0001-01-01", "9999-12-31")])
        assert ledger.count_occurrences() == len(whole)
    expected = sorted((o.to_dict() for o in whole.occurrences()), key=lambda o: o["occurrence_id"])
    assert saved == json.loads(json.dumps(expected))
    figure(
        f"occurrence rows loaded per article: mean {sum(loaded) / len(loaded):.1f}, "
        f"at most {max(loaded)}, of {len(whole)} occurrences at the end"
    )
    assert max(loaded) < len(whole) / 2


def test_a_ledger_with_the_index_as_one_document_is_moved_into_rows(tmp_path: Path) -> None:
    import sqlalchemy as sa

    from pipeline.ledger import Ledger, legacy_occurrence_index

    index = OccurrenceIndex()
    index.add_article(_story("a.example.com"))
    index.add_article(_story("b.example.net", lang="fr"))
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger(url) as ledger, ledger.engine.begin() as conn:
        conn.execute(
            legacy_occurrence_index.insert().values(
                name="index", state=json.dumps(index.to_dict()), recorded_at=datetime.now(UTC)
            )
        )
    with Ledger(url) as ledger:
        rows = ledger.load_occurrences(article_ids=index.article_ids())
        expected = sorted(
            (o.to_dict() for o in index.occurrences()), key=lambda o: o["occurrence_id"]
        )
        assert rows == json.loads(json.dumps(expected))
        with ledger.engine.connect() as conn:
            assert conn.execute(sa.select(legacy_occurrence_index)).first() is None
