"""Test data for the occurrence tests: syndicated copies and hand-made translations.

Syndicated copy: the same story under another host, in another page chrome (another title
suffix, navigation, share buttons, related links, footer), published a few hours later,
optionally without its last paragraph. Built from the original's extracted text, the way a
partner site republishes a wire story.

Translations: faithful renderings, written for these tests, of some event-bearing
paragraphs of a corpus or seed article. Each translated sentence is paired with a snippet
of the original sentence it translates, so that a test knows which original sentence
each translated report comes from. Names and numbers are rendered as a newspaper in the
target language would write them ("Kiev" in French, "Orechnik", "Chevtchenko"; "Kyiv",
"Beijing" in English).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta

_CHROME = """<!DOCTYPE html>
<html lang="{lang}">
<head>
  <meta charset="utf-8">
  <title>{title} {suffix}</title>
  <meta property="og:title" content="{title} {suffix}">
  <meta property="og:site_name" content="{site}">
  <meta property="article:published_time" content="{published}">
  <link rel="canonical" href="{url}">
</head>
<body>
  <div class="topbar"><a href="/">{site}</a> <a href="/subscribe">{subscribe}</a>
    <a href="/login">Login</a></div>
  <nav><ul><li><a href="/world">{world}</a></li><li><a href="/politics">{politics}</a></li>
    <li><a href="/economy">{economy}</a></li><li><a href="/opinion">Opinion</a></li></ul></nav>
  <main>
    <article>
      <h1>{title}</h1>
      <p class="byline">{byline}</p>
{paragraphs}
      <div class="share"><a href="#">Facebook</a> <a href="#">X</a> <a href="#">E-mail</a></div>
    </article>
    <aside><h2>{related}</h2><ul>
      <li><a href="/a/1">{teaser1}</a></li><li><a href="/a/2">{teaser2}</a></li></ul></aside>
  </main>
  <footer><p>© {site}. {rights}</p><a href="/privacy">Privacy</a> <a href="/contact">Contact</a></footer>
</body>
</html>
"""

_WORDS = {
    "en": {
        "subscribe": "Subscribe",
        "world": "World",
        "politics": "Politics",
        "economy": "Economy",
        "byline": "By our staff, with agencies",
        "related": "Read more",
        "teaser1": "Markets close higher as investors weigh rate outlook",
        "teaser2": "Weather: storms expected across the region this weekend",
        "rights": "All rights reserved.",
    },
    "fr": {
        "subscribe": "S'abonner",
        "world": "Monde",
        "politics": "Politique",
        "economy": "Économie",
        "byline": "Par la rédaction, avec agences",
        "related": "À lire aussi",
        "teaser1": "Les marchés terminent en hausse, les investisseurs attendent les taux",
        "teaser2": "Météo : des orages attendus ce week-end dans toute la région",
        "rights": "Tous droits réservés.",
    },
}


def page(
    *,
    lang: str,
    title: str,
    paragraphs: list[str],
    url: str,
    site: str,
    published: str,
    suffix: str,
) -> str:
    """An HTML news page in a chrome unlike any corpus page's."""
    words = _WORDS.get(lang, _WORDS["en"])
    body = "\n".join(f"      <p>{html.escape(p)}</p>" for p in paragraphs)
    return _CHROME.format(
        lang=lang,
        title=html.escape(title),
        suffix=html.escape(suffix),
        site=html.escape(site),
        published=published,
        url=url,
        paragraphs=body,
        **words,
    )


def later(published_at: str | None, hours: int) -> str:
    """An ISO timestamp ``hours`` after an article's date (date-only dates read as midnight)."""
    start = datetime.fromisoformat((published_at or "2024-01-01").replace("Z", "+00:00"))
    if start.tzinfo is None:
        start = start.replace(hour=8)
        return (start + timedelta(hours=hours)).isoformat() + "+00:00"
    return (start + timedelta(hours=hours)).isoformat()


def syndicated_copy(
    *,
    text: str,
    title: str | None,
    lang: str,
    published_at: str | None,
    host: str,
    site: str,
    slug: str,
    trim_last_paragraph: bool,
) -> tuple[str, str]:
    """A partner site's copy of an article: (html, url)."""
    paragraphs = [p for p in text.split("\n") if p.strip()]
    if trim_last_paragraph and len(paragraphs) > 3:
        paragraphs = paragraphs[:-1]
    url = f"https://{host}/news/2026/{slug}.html"
    return page(
        lang=lang,
        title=title or paragraphs[0][:80],
        paragraphs=paragraphs,
        url=url,
        site=site,
        published=later(published_at, 3),
        suffix=f"| {site}",
    ), url


@dataclass(frozen=True)
class Translation:
    """A translated page: which original it renders, and its sentences paired with a
    snippet of the original sentence each one translates."""

    name: str
    original: str  # a corpus page name, or "seed"
    lang: str
    title: str
    host: str
    site: str
    published: str
    paragraphs: tuple[tuple[tuple[str, str], ...], ...]  # ((original snippet, translation), ...)

    def html(self) -> tuple[str, str]:
        url = f"https://{self.host}/{self.name}.html"
        texts = [" ".join(t for _, t in para) for para in self.paragraphs]
        return page(
            lang=self.lang,
            title=self.title,
            paragraphs=texts,
            url=url,
            site=self.site,
            published=self.published,
            suffix=f"- {self.site}",
        ), url

    def sentences(self) -> list[tuple[str, str]]:
        return [pair for para in self.paragraphs for pair in para]


# The seed article (French, NATO, 11 December 2025) in English.
SEED_IN_ENGLISH = Translation(
    name="seed-en",
    original="seed",
    lang="en",
    title="NATO chief Rutte says Putin's will for peace must be tested",
    host="world-desk.example.com",
    site="World Desk",
    published="2025-12-11T21:00:00+00:00",
    paragraphs=(
        (
            (
                "Le 11 décembre 2025, Mark Rutte",
                "On December 11, 2025, Mark Rutte, the Secretary General of NATO, said "
                "during a debate in Berlin that Vladimir Putin's willingness to reach peace "
                'in Ukraine should be "tested".',
            ),
            (
                "Il a proposé de soumettre un plan",
                "He proposed submitting a plan backed by the United States and Europe to "
                "check whether Russia would accept its terms, after Kyiv handed a new "
                "version of the plan to Washington.",
            ),
        ),
        (
            (
                "Rutte a exprimé sa confiance",
                "Rutte expressed confidence in the ability of the United States and Europe "
                "to agree on the Ukrainian question, while indicating that he was not "
                "certain that Russia would accept these proposals.",
            ),
            (
                "Il a qualifié l'acceptation russe",
                'He described Russian acceptance as "the test" of whether Putin is serious '
                "about a negotiated outcome.",
            ),
        ),
        (
            (
                "Le secrétaire général a estimé que la Russie",
                "The Secretary General said that Russia would not stop at Ukraine if "
                "European states did not increase their defence spending.",
            ),
            (
                "Il a présenté un investissement massif",
                "He presented massive investment in defence as a condition for preventing "
                "the hostilities from spreading.",
            ),
        ),
        (
            (
                "Au sommet de l'OTAN à La Haye",
                "At the NATO summit in The Hague, member countries pledged to devote the "
                "equivalent of 5% of their gross domestic product to defence and security "
                "spending by 2035, broken down into at least 3.5% for strictly military "
                "spending and 1.5% for related security spending.",
            ),
            (
                "Mark Rutte a également souligné",
                "Mark Rutte also stressed the pressure exerted by the United States for "
                "Europe to increase its defence spending.",
            ),
        ),
        (
            (
                "Dans un discours prononcé avant le débat",
                "In a speech before the debate, Mark Rutte criticised the material support "
                "that, according to him, Russia receives from China.",
            ),
            (
                "Il a affirmé qu'environ 80 %",
                "He said that about 80% of the essential electronic components found in "
                "some Russian drones and other systems were made in China.",
            ),
            (
                "Rutte a qualifié Pékin",
                'Rutte called Beijing a "lifeline" for Russia, while recalling that China '
                "claims a position of neutrality in the conflict and has refrained from "
                "condemning the invasion, while deepening its trade relations with Moscow.",
            ),
        ),
        (
            (
                "La même journée, les autorités russes",
                "On the same day, the Russian authorities announced that they had taken "
                "control of the town of Siversk, located about thirty kilometres east of "
                "Kramatorsk and Sloviansk.",
            ),
            (
                "Ces deux villes étaient",
                "These two cities were, according to available assessments, among the last "
                "major cities still under Ukrainian control in the Donbas.",
            ),
        ),
        (
            (
                "Mark Rutte a estimé que, en cas d'occupation",
                "Mark Rutte said that, in the event of a prolonged occupation of Ukraine by "
                "Russia, NATO should strengthen its military presence along its eastern "
                "flank.",
            ),
        ),
    ),
)

# en-001 (Global News, Russia strikes Kyiv, 24 May 2026) in French.
EN_001_IN_FRENCH = Translation(
    name="en-001-fr",
    original="en-001",
    lang="fr",
    title="La Russie frappe Kiev avec un missile balistique, des immeubles et des écoles touchés",
    host="le-quotidien.example.fr",
    site="Le Quotidien",
    published="2026-05-24T19:30:00+02:00",
    paragraphs=(
        (
            (
                "Russia used the powerful hypersonic Oreshnik",
                "La Russie a utilisé le puissant missile balistique hypersonique Orechnik "
                "lors d'une attaque massive de drones et de missiles sur Kiev dimanche, qui a "
                "tué au moins deux personnes, a déclaré dimanche le président ukrainien "
                "Volodymyr Zelensky, soit la troisième utilisation de cette arme en quatre "
                "ans de guerre.",
            ),
        ),
        (
            (
                "The intense aerial assault damaged buildings",
                "L'intense assaut aérien a endommagé des bâtiments dans toute la capitale "
                "ukrainienne, notamment près de bureaux gouvernementaux, d'immeubles "
                "résidentiels, d'écoles et d'un marché, ont indiqué les autorités "
                "ukrainiennes.",
            ),
            (
                "At least 83 people were wounded",
                "Au moins 83 personnes ont été blessées dans l'attaque.",
            ),
        ),
        (
            (
                "The attack included 600 strike drones",
                "L'attaque comprenait 600 drones d'attaque et 90 missiles tirés depuis les "
                "airs, la mer et le sol, selon l'armée de l'air ukrainienne.",
            ),
            (
                "Ukrainian air defenses destroyed and jammed",
                "La défense antiaérienne ukrainienne a détruit et brouillé 549 drones et 55 "
                "missiles.",
            ),
            (
                "Around 19 missiles failed to reach targets",
                "Environ 19 missiles n'ont pas atteint leurs cibles, a indiqué l'armée de l'air.",
            ),
        ),
        (
            (
                "The Oreshnik, which is capable of carrying",
                "L'Orechnik, capable de transporter des ogives nucléaires ou "
                "conventionnelles, a frappé la ville de Bila Tserkva, dans la région de "
                "Kiev, a déclaré Zelensky sur Telegram.",
            ),
        ),
        (
            (
                "Russian President Vladimir Putin on Friday denounced",
                "Le président russe Vladimir Poutine a dénoncé vendredi une frappe de drone "
                "sur un foyer universitaire dans l'est de l'Ukraine occupé par la Russie, que "
                "Moscou a imputée à Kiev.",
            ),
            (
                "He said there were no military or law enforcement",
                "Il a affirmé qu'il n'y avait aucune installation militaire ou des forces de "
                "l'ordre à proximité de l'établissement.",
            ),
            (
                "Putin said he ordered the Russian military",
                "Poutine a déclaré avoir ordonné à l'armée russe de riposter.",
            ),
        ),
        (
            (
                "In Kyiv’s Shevchenko district",
                "Dans le quartier Chevtchenko de Kiev, un immeuble résidentiel de cinq étages "
                "a été touché, provoquant un incendie, et une personne a été tuée, a rapporté "
                "le service national des situations d'urgence ukrainien.",
            ),
        ),
        (
            (
                "A school building was damaged by an attack",
                "Un bâtiment scolaire a été endommagé par une attaque alors que des "
                "personnes s'y abritaient, a déclaré le maire Vitali Klitschko.",
            ),
        ),
        (
            (
                "Elsewhere, a Ukrainian drone killed a civilian",
                "Par ailleurs, un drone ukrainien a tué un civil dans la ville russe de "
                "Graïvoron, dans la région de Belgorod frontalière de l'Ukraine, ont rapporté "
                "dimanche matin les autorités locales.",
            ),
        ),
    ),
)

# fr-012 (Le Figaro, sword attack in London, 30 April 2024) in English.
FR_012_IN_ENGLISH = Translation(
    name="fr-012-en",
    original="fr-012",
    lang="en",
    title="Sword attack in London: 14-year-old boy killed, suspect arrested",
    host="daily-wire-service.example.com",
    site="Daily Wire Service",
    published="2024-04-30T18:00:00+00:00",
    paragraphs=(
        (
            (
                "Deux policiers ont été attaqués à Londres",
                "Two police officers were attacked in London on Tuesday, in Hainault in the "
                "east of the city.",
            ),
            (
                "Selon une source policière, un enfant de 14 ans",
                "According to a police source, a 14-year-old child was killed.",
            ),
            (
                "La police a arrêté le suspect",
                "The police arrested the suspect, aged 36, and are ruling out a terrorist "
                "act at this stage.",
            ),
        ),
        (
            (
                "«C'est avec une grande tristesse",
                "“It is with great sadness that I can confirm that one of those injured in "
                "the attack, a 13-year-old boy, has died,” Stuart Bell, the police officer in "
                "charge, announced in a statement to the press, before it was made clear "
                "that the victim was in fact 14 years old.",
            ),
            (
                "Il a aussi précisé que les quatre personnes blessées",
                "He also said that the four people injured, including two police officers, "
                "had been taken to hospital but that “their lives did not appear to be in "
                "danger”.",
            ),
            (
                "Deux d'entre elles sont encore à l'hôpital",
                "Two of them are still in hospital, he added.",
            ),
        ),
        (
            (
                "Un homme de 36 ans armé d'une épée",
                "A 36-year-old man armed with a sword was arrested shortly afterwards “and is "
                "currently in custody”, the police said.",
            ),
            (
                "«Il a été atteint par un pistolet",
                "“He was hit with an electric stun gun (...) and arrested 22 minutes after” "
                "the first call to the police.",
            ),
            (
                "L'enquête en est à ses débuts",
                "The investigation is at an early stage but the authorities are not looking "
                "for any other suspect, Stuart Bell said, paying tribute to the “incredible "
                "courage” of the police officers and the emergency services.",
            ),
        ),
        (
            (
                "Lundi, Rishi Sunak avait déclaré",
                "On Monday, Rishi Sunak had said that the rise in knife crime in London "
                "“highlighted the reality of the Labour Party” when it is in power.",
            ),
            (
                "Le gouvernement a promis l'an dernier",
                "The government promised last year to ban certain types of knives or "
                "machetes, without yet following through on its ambition.",
            ),
        ),
        (
            (
                "Le maire de Londres Sadiq Khan",
                "London Mayor Sadiq Khan said he was “absolutely devastated” by the attack.",
            ),
            (
                "«La zone a été sécurisée",
                "“The area has been secured (...) and additional reassurance patrols will be "
                "carried out in the area,” the mayor said.",
            ),
            (
                "«Il ne s'agit pas des élections",
                "“This is not about the elections. There is a family that has lost a child "
                "and I think we should focus on that,” he also said on Tuesday on Sky News, "
                "after being asked about the impact of the attack two days before the vote.",
            ),
        ),
    ),
)

TRANSLATIONS = (SEED_IN_ENGLISH, EN_001_IN_FRENCH, FR_012_IN_ENGLISH)

# Syndicated copies: (corpus page or "seed", partner host, site name, trim the last paragraph).
COPIES = (
    ("seed", "nouvelles-partenaires.example.net", "Nouvelles Partenaires", False),
    ("en-001", "the-wire-partner.example.com", "The Wire Partner", True),
    ("en-010", "morning-courier.example.org", "Morning Courier", False),
    ("fr-001", "journal-regional.example.fr", "Journal Régional", True),
    ("fr-007", "echos-d-europe.example.eu", "Échos d'Europe", False),
    ("en-014", "border-news.example.com", "Border News", True),
)
