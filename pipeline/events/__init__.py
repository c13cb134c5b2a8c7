"""Rule-based event splitter: an :class:`~pipeline.models.Article` in, typed events out.

No trained model and nothing downloaded: sentence splitting, capitalised-name detection,
coreference and per-language lexicons (``lexicons/<lang>.yaml``). Pure and deterministic:
the same article always gives the same events with the same ids.
"""

from __future__ import annotations

from pipeline.events.commitments import CommitmentHit, find_commitment
from pipeline.events.dates import DateResolver, OccurredAt
from pipeline.events.lexicon import Lexicon, load_lexicon
from pipeline.events.military import MilitaryHit, figures_in, find_military, has_military_action
from pipeline.events.sentences import Sentence, split_sentences
from pipeline.events.speakers import Registry, opens_sentence
from pipeline.events.statements import StatementHit, find_statement
from pipeline.models import (
    Article,
    CommitmentDetails,
    Event,
    Evidence,
    Extractor,
    MilitaryUpdateDetails,
    StatementDetails,
)

# Raised whenever the same article can give other events (rules, lexicons, dates): consumers
# see which rules produced an event. 1.1.0: occurrence dates with their precision, deadlines
# never read as occurrence dates.
EXTRACTOR_VERSION = "1.1.0"

__all__ = ["EXTRACTOR_VERSION", "split_events"]


def _event(
    article: Article,
    event_type: str,
    sentence: Sentence,
    occurred: OccurredAt | None,
    details: StatementDetails | MilitaryUpdateDetails | CommitmentDetails,
    confidence: float,
    rule: str,
) -> Event:
    return Event(
        event_id=Event.make_id(article.content_sha256, event_type, sentence.start, sentence.end),
        event_type=event_type,  # type: ignore[arg-type]
        article=article.ref(),
        occurred_at=occurred.iso if occurred else None,
        occurred_at_precision=occurred.precision if occurred else None,
        evidence=Evidence(text=sentence.text, start=sentence.start, end=sentence.end),
        details=details,
        confidence=max(0.0, min(1.0, confidence)),
        extractor=Extractor(
            name=f"rules/{article.language}.{event_type}.{rule}", version=EXTRACTOR_VERSION
        ),
        ingested_at=article.ingested_at,
    )


def _next_sentence_figures(
    sentences: list[Sentence], i: int, location: str | None, lex: Lexicon
) -> list[str]:
    """Figures of the next sentence when it is about the same place ("X comptait 11 000 …")."""
    for nxt in sentences[i + 1 : i + 4]:
        if nxt.heading:
            break
        if location and location in nxt.text:
            return figures_in(nxt.text, lex)
    return []


def _heading_above(sentences: list[Sentence], i: int) -> str:
    for prev in reversed(sentences[:i]):
        if prev.heading:
            return prev.text
        if sentences[i].paragraph - prev.paragraph > 3:
            break
    return ""


def split_events(article: Article) -> list[Event]:
    """Split one article into statement, military_update and commitment events.

    Returns an empty list for languages without a lexicon. Headings and list items never
    yield events; one sentence yields at most one event of each type.
    """
    lex = load_lexicon(article.language or "")
    if lex is None or not article.text.strip():
        return []
    sentences = split_sentences(
        article.text,
        frozenset(lex.words("abbreviations")),
        frozenset(lex.words("sentence_starters")),
    )
    registry = Registry(lex)
    dates = DateResolver(lex, article.published_at)
    paragraphs: dict[int, str] = {}
    for s in sentences:
        paragraphs[s.paragraph] = paragraphs.get(s.paragraph, "") + " " + s.text
    events: list[Event] = []
    seen_quotes: set[tuple[str, str]] = set()
    seen_military: dict[tuple[str, str], int] = {}
    for i, s in enumerate(sentences):
        occurred = dates.occurred_at(s.text)
        mentions = registry.observe(s.text)
        if s.heading:
            continue
        stmt: StatementHit | None = find_statement(s.text, lex, registry, s.paragraph)
        claimant = stmt.speaker.name if stmt else None
        context = _heading_above(sentences, i) + " " + paragraphs.get(s.paragraph, "")
        mil: MilitaryHit | None = find_military(s.text, lex, context, claimant)
        if mil is not None:
            # The same action at the same place a few sentences later is a repetition
            # (headline, standfirst, body); further away it is usually a new report.
            key = (mil.location or f"#{i}", mil.action_class)
            if i - seen_military.get(key, -99) <= 3:
                mil = None
            else:
                seen_military[key] = i
        if mil is not None:
            figures = list(mil.figures)
            for f in _next_sentence_figures(sentences, i, mil.location, lex):
                if f not in figures:
                    figures.append(f)
            label = lex.mapping("military", "labels").get(mil.action_class, mil.action_class)
            events.append(
                _event(
                    article,
                    "military_update",
                    s,
                    occurred,
                    MilitaryUpdateDetails(
                        actor=mil.actor,
                        action=f"{label} ({mil.trigger})",
                        location=mil.location,
                        claimed_by=claimant,
                        related_places=mil.related_places,
                        figures=figures,
                    ),
                    mil.confidence,
                    mil.action_class,
                )
            )
        if (
            stmt is not None
            and stmt.speaker.kind == "collective"
            and (mil is not None or has_military_action(s.text, lex, context))
        ):
            stmt = None  # an institution reporting a military action: the claim is the event
        if stmt is not None:
            key = (stmt.speaker.name, stmt.content)
            if key in seen_quotes:
                stmt = None
            else:
                seen_quotes.add(key)
        if stmt is not None:
            events.append(
                _event(
                    article,
                    "statement",
                    s,
                    occurred,
                    StatementDetails(
                        speaker=stmt.speaker.name,
                        speaker_role=stmt.speaker.role,
                        content=stmt.content,
                        direct_quote=stmt.direct_quote,
                        reporting_verb=stmt.reporting_verb,
                    ),
                    stmt.confidence,
                    stmt.rule,
                )
            )
            if stmt.speaker.kind != "collective":
                registry.set_focus(stmt.speaker.name, s.paragraph)
        elif mentions:
            first = mentions[0]
            if first.person and (first.start <= 2 or opens_sentence(s.text, first, lex)):
                registry.set_focus(registry.full_name(first.text) or first.text, s.paragraph)
        com: CommitmentHit | None = find_commitment(s.text, lex, registry.focus)
        if com is not None:
            pledged = occurred
            if occurred is not None and occurred.precision != "day" and com.deadline:
                # "s'est engagée à livrer en 2025": the year is the deadline, not the pledge's.
                pledged = dates.period(s.text, deadline=com.deadline)
            events.append(
                _event(
                    article,
                    "commitment",
                    s,
                    pledged,
                    CommitmentDetails(
                        party=com.party,
                        commitment=com.commitment,
                        amount=com.amount,
                        deadline=com.deadline,
                        venue=com.venue,
                        breakdown=com.breakdown,
                    ),
                    com.confidence,
                    "pledge",
                )
            )
    return events
