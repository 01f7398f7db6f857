"""Choose what a thread says, on the Chinese source: the gist and the key points.

Contract: ``select(article, points=4, budget=280) -> Selection``: deterministic, and independent
of any translation model (the dry run without a model shows the same choice as the queued
thread). The pipeline then translates only the title, the gist and the chosen points (plus
spares to fall back on) and ``publisher.threads.plan`` verifies the English.

1. **Sentences** of the content blocks (paragraphs, quotes, list items; never boilerplate,
   headings, captions, code) go through the editorial filters (``publisher.threads.editorial``): fillers
   are out, a sentence that leans on the one before travels with it, repairs are applied.
2. **Units**: a usable sentence plus the sentences that must come with it (a dangling 但…, an
   opening 这…, a quote introduced by 表示：).
3. **Score** of a unit (the signals are in ``publisher.threads.scoring``), all parts in [0, 1]:
   position (news puts the news first), centrality (TextRank over shared Han character pairs),
   overlap with the title, specificity (numbers with their units, glossary names, 「」 names,
   Latin names such as Sora or 1080P), times a length factor: the English length is estimated
   from the Chinese against the smallest post limit.
4. **Gist**: the description, unless it repeats the title or talks about the article; else the
   lede: from the best of the first usable units, the following units while the estimated
   English fits the budget (the last one may keep only its first clauses).
5. **Nothing said twice**: a unit too similar to the title, the gist or a better unit is dropped.
6. **Tables**: a short table whose rows carry numbers gives one fact point (its rows, joined).

``key_points(translated, n)`` and ``ranked_points(translated)`` give the same choice as
KeyPoints with their English (from ``translated``), for code that already has a translation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping, Sequence

from publisher.bounds import DEFAULT_POINTS
from publisher.threads import editorial
from publisher.threads.scoring import (LATIN, NUMBER, W_CENTRALITY, W_LEAD, W_POSITION, W_SPECIFIC, W_TITLE,
                                       estimate_english, overlap, specificity, textrank)
from publisher.text import ASCII_LINK as _URL
from publisher.threads.editorial import ATTACH, FILLER, Reviewed, SourceSentence, similarity

if TYPE_CHECKING:
    from publisher.threads.credits import Credit
    from publisher.models import Article, TranslatedArticle
    from publisher.translate.glossary import Glossary

#: Budget for the gist and for one point when nothing else is known (X's limit).
DEFAULT_BUDGET = 280

#: Two texts this similar (0..1) say the same thing; only the first (or better) is kept.
DUPLICATE_SIMILARITY = 0.6
#: How many of the first usable units the lede may start from.
LEDE_WINDOW = 3
#: Spare candidates translated beyond the chosen points, to fall back on.
SPARES = 4
#: Only the first units of a very long article are ranked (TextRank is quadratic; news puts the
#: news first), and at most this many tables.
MAX_UNITS = 400
MAX_TABLES = 20

_CANDIDATE_KINDS = ("paragraph", "quote", "list")
_CLAUSE = re.compile(r"(?<=[，,；;])")


@dataclass(frozen=True)
class Unit:
    """A candidate point: one or more consecutive source sentences that stand together."""

    sources: tuple[str, ...]
    """The Chinese as a point uses it (repaired), one item per sentence."""
    originals: tuple[str, ...]
    """The sentences as the article has them."""
    block: int
    position: int
    """Index of its first sentence among the article's sentences."""
    score: float = 0.0
    fired: tuple[str, ...] = ()
    speaker: str | None = None
    estimate: int = 0
    """Estimated English length in characters."""
    kind: str = "sentence"
    """"sentence", or "table" for a fact point made from a table."""

    @property
    def text(self) -> str:
        return "".join(self.sources)


@dataclass(frozen=True)
class Selection:
    """What a thread says, chosen on the source."""

    kind: str
    """"news", "qa", "transcript" or "speech" (publisher.threads.editorial.article_kind)."""
    kind_reason: str | None
    gist: tuple[Unit, ...]
    """The lede's units (empty when the description is the gist, or nothing is usable)."""
    gist_from: str | None
    """"description", "lede" or None."""
    description: str | None
    """The Chinese description when it is the gist."""
    ranked: tuple[Unit, ...]
    """Every usable unit that is not the gist and says something new, best first."""
    points: int
    reviewed: tuple[Reviewed, ...] = ()
    said: tuple[str, ...] = field(default=())
    """What counts as already said (the title, the gist)."""

    @property
    def chosen(self) -> tuple[Unit, ...]:
        """The points the thread tries to carry, best first."""
        return self.ranked[: self.points]

    @property
    def spares(self) -> tuple[Unit, ...]:
        return self.ranked[self.points : self.points + SPARES]

    def texts_to_translate(self) -> list[str]:
        """Every Chinese text whose English a thread may need: gist, chosen points, spares."""
        out: list[str] = []
        if self.description:
            out.append(self.description)
        for unit in self.gist + self.chosen + self.spares:
            out.extend(unit.sources)
        return list(dict.fromkeys(t for t in out if t))


# --- selection --------------------------------------------------------------------------------


def sentences_of(article: Article) -> list[SourceSentence]:
    """The article's candidate sentences, in reading order."""
    out: list[SourceSentence] = []
    section = 0
    for index, block in enumerate(article.blocks):
        if block.kind == "heading":
            section += 1
        if block.boilerplate is not None or block.kind not in _CANDIDATE_KINDS:
            continue
        first = True
        for line in block.text.split("\n"):
            for s in split_sentences(line):
                out.append(SourceSentence(text=s, block=index, first_in_block=first, kind=block.kind,
                                          section=section))
                first = False
    return out


def _english_name(name: str, glossary: Glossary | None) -> str:
    from publisher.threads.credits import english_name

    return english_name(name, glossary)


def speakers_of(article: Article, glossary: Glossary | None = None) -> dict[int, str]:
    """Block index -> the English name of the speaker whose heading (### 名字：) is above it."""
    from publisher.threads.credits import _SPEAKER_HEADING, NOT_SPEAKERS, english_name

    out: dict[int, str] = {}
    current: str | None = None
    for index, block in enumerate(article.blocks):
        if block.kind == "heading":
            m = _SPEAKER_HEADING.match(block.text)
            current = (english_name(m.group("name").strip(), glossary)
                       if m and m.group("name").strip() not in NOT_SPEAKERS else None)
            continue
        if current:
            out[index] = current
    return out


def select(article: Article, *, points: int = DEFAULT_POINTS, budget: int = DEFAULT_BUDGET,
           glossary: Glossary | None = None, credit: Credit | None = None) -> Selection:
    """Choose the gist and the points of ``article`` from its Chinese (see the module docstring)."""
    if points < 0:
        raise ValueError("the number of key points cannot be negative")
    lines = [line for b in article.blocks if b.kind in ("paragraph", "quote", "list", "heading")
             for line in b.text.split("\n") if line.strip()]
    kind, kind_reason = editorial.article_kind(article.title, article.tags, lines)
    sentences = sentences_of(article)
    reviewed = editorial.review(sentences, speakers=speakers_of(article, glossary),
                                voice=credit.voice if credit is not None else None,
                                self_names=credit.self_names if credit is not None else (),
                                namer=lambda name: _english_name(name, glossary))
    units = _units(reviewed)[:MAX_UNITS]
    units += _table_units(article, len(reviewed))[:MAX_TABLES]
    scored = _score(units, article, glossary, budget)
    title = article.title
    said: list[str] = [title]

    description = _usable_description(article)
    gist: tuple[Unit, ...] = ()
    gist_from = None
    if description:
        gist_from = "description"
        said.append(description)
    else:
        gist = _lede(scored, budget, title, keep=points)
        if gist:
            gist_from = "lede"
            said.extend(u.text for u in gist)
    gist_positions = {u.position for u in gist}
    ranked: list[Unit] = []
    for unit in sorted(scored, key=lambda u: (-u.score, u.position)):
        if unit.position in gist_positions:
            continue
        if any(editorial.covered(unit.text, s) >= DUPLICATE_SIMILARITY for s in said):
            continue
        if any(similarity(unit.text, r.text) >= DUPLICATE_SIMILARITY for r in ranked):
            continue
        ranked.append(unit)
    return Selection(kind=kind, kind_reason=kind_reason, gist=gist, gist_from=gist_from,
                     description=description if gist_from == "description" else None, ranked=tuple(ranked),
                     points=points, reviewed=tuple(reviewed), said=tuple(said))


def _usable_description(article: Article) -> str | None:
    """The description as a gist: not when it repeats the title or talks about the article."""
    text = " ".join((article.description or "").split())
    if not text or not editorial.has_han(text):
        return None
    first = split_sentences(text)
    first_text = first[0] if first else text
    if editorial.covered(first_text, article.title) >= DUPLICATE_SIMILARITY:
        return None
    if editorial.filler_reason(first_text) is not None:
        return None
    return first_text


def _units(reviewed: Sequence[Reviewed]) -> list[Unit]:
    units: list[Unit] = []
    current: list[Reviewed] = []

    def close() -> None:
        if current:
            head = current[0]
            units.append(Unit(sources=tuple(r.text for r in current), originals=tuple(r.original for r in current),
                              block=head.block, position=head.index,
                              fired=tuple(dict.fromkeys(f for r in current for f in r.fired)),
                              speaker=next((r.speaker for r in current if r.speaker), None)))
            current.clear()

    for r in reviewed:
        if r.verdict == FILLER:
            close()
        elif r.verdict == ATTACH and current:
            current.append(r)
        else:
            close()
            current.append(r)
    close()
    return units


def _table_units(article: Article, offset: int) -> list[Unit]:
    """One fact point per short table whose rows carry numbers: "Row: cell, cell; Row: …"."""
    out: list[Unit] = []
    for index, block in enumerate(article.blocks):
        if block.kind != "table" or block.boilerplate:
            continue
        rows = [r for r in (_table_row(line) for line in block.source.split("\n")) if r]
        if len(rows) < 2 or len(rows) > 7:
            continue
        header, body = rows[0], rows[1:]
        if not any(re.search(r"\d", "".join(r)) for r in body):
            continue
        parts = []
        for row in body:
            cells = [c for c in row if c]
            if not cells:
                continue
            label, rest = cells[0], cells[1:]
            named = [f"{h}{c}" if (h and not re.search(r"\d", h) and len(header) == len(row)) else c
                     for h, c in zip(header[1:], rest)]
            parts.append(f"{label}：" + "，".join(named))
        text = "；".join(parts) + "。"
        if editorial.han_count(text) > 90:
            continue
        out.append(Unit(sources=(text,), originals=(block.text,), block=index, position=offset + index,
                        fired=("fact point from a table",), kind="table"))
    return out


def _table_row(line: str) -> list[str] | None:
    line = line.strip()
    if not line.startswith("|") or re.fullmatch(r"\|?[\s:|-]+\|?", line):
        return None
    return [c.strip() for c in line.strip("|").split("|")]


def _score(units: list[Unit], article: Article, glossary: Glossary | None, budget: int) -> list[Unit]:
    if not units:
        return []
    feats = [editorial.features(u.text) for u in units]
    centrality = textrank(feats)
    title_feats = editorial.features(article.title)
    total = max(u.position for u in units) + 1
    out = []
    for k, unit in enumerate(units):
        est = estimate_english(unit.text) + (len(unit.speaker) + 4 if unit.speaker else 0)
        position = 1.0 - unit.position / total
        base = (W_POSITION * position + W_CENTRALITY * centrality[k] + W_TITLE * overlap(feats[k], title_feats)
                + W_LEAD * (1.0 if unit.position == 0 or _first_in_block(unit, units, k) else 0.0)
                + W_SPECIFIC * specificity(unit.text, glossary))
        factor = 1.0
        fired = list(unit.fired)
        han = editorial.han_count(unit.text)
        if est > 2 * budget:
            factor *= 0.3
            fired.append("much too long for one post")
        elif est > budget:
            factor *= 0.6
            fired.append("too long for one post")
        if han < 12 and unit.kind != "table":
            factor *= 0.6
            fired.append("short")
        if unit.kind == "table":
            factor *= 0.8
        out.append(Unit(unit.sources, unit.originals, unit.block, unit.position, round(base * factor, 6),
                        tuple(fired), unit.speaker, est, unit.kind))
    return out


def _first_in_block(unit: Unit, units: list[Unit], k: int) -> bool:
    return k == 0 or units[k - 1].block != unit.block


def _lede(scored: list[Unit], budget: int, title: str, keep: int = 0) -> tuple[Unit, ...]:
    """The gist: from the best of the first usable units, the next ones while they fit (and while
    ``keep`` units are left for the points)."""
    reading = [u for u in sorted(scored, key=lambda u: u.position)
               if u.kind == "sentence" and editorial.covered(u.text, title) < DUPLICATE_SIMILARITY]
    if not reading:
        return ()
    window = reading[:LEDE_WINDOW]
    best = max(u.score for u in window)
    start = next(i for i, u in enumerate(window) if u.score >= 0.8 * best)
    room = budget - 6  # the thread mark and spaces
    gist: list[Unit] = []
    used = 0
    for unit in reading[start : start + 3]:
        if gist and len(scored) - len(gist) - 1 <= keep:
            break  # a longer lede would starve the thread of points
        if gist and unit.block != gist[-1].block and unit.position - (gist[-1].position + len(gist[-1].sources)) > 2:
            break  # the lede is what comes together at the start, not a collage
        if used + unit.estimate <= room:
            gist.append(unit)
            used += unit.estimate + 1
            continue
        if gist:
            short = _first_clauses(unit, room - used)
            if short is not None:
                gist.append(short)
        break
    if not gist:  # even the best lead sentence is too long: its first clauses, or nothing
        short = _first_clauses(window[start], room)
        if short is not None:
            gist.append(short)
    return tuple(gist)


def _first_clauses(unit: Unit, room: int) -> Unit | None:
    """``unit`` cut after its last whole clause that fits ``room`` (a full stop put in place of the
    comma), when what is kept still carries a fact; else None."""
    if len(unit.sources) != 1:
        return None
    text = unit.sources[0]
    clauses = [c for c in _CLAUSE.split(text) if c]
    for n in range(len(clauses) - 1, 0, -1):
        kept = "".join(clauses[:n]).rstrip("，,；; ") + "。"
        if estimate_english(kept) <= room and editorial.han_count(kept) >= 10 and (
                NUMBER.search(kept) or LATIN.search(kept)):
            return Unit((kept,), unit.originals, unit.block, unit.position, unit.score,
                        unit.fired + ("gist keeps the first clauses",), unit.speaker, estimate_english(kept), unit.kind)
    return None


# --- sentences ----------------------------------------------------------------------------------

_SPLIT_EN = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_SPLIT_ZH = re.compile(r"(?<=[。！？!?])(?![」』”’）)])")


def split_sentences(text: str) -> list[str]:
    """A plain sentence splitter for text that came without sentences (English or Chinese).

    Links are never split (a ``?`` in a query string does not end a sentence).
    """
    links: list[str] = []

    def hide(m: re.Match[str]) -> str:
        links.append(m.group(0))
        return f"\x00{len(links) - 1}\x00"

    hidden = _URL.sub(hide, text)
    parts: list[str] = []
    for line in hidden.split("\n"):
        for chunk in _SPLIT_ZH.split(line):
            parts.extend(p for p in _SPLIT_EN.split(chunk) if p.strip())
    restored = [re.sub(r"\x00(\d+)\x00", lambda m: links[int(m.group(1))], p) for p in parts]
    return [p.strip() for p in restored if p.strip()]


# --- English for a selection ----------------------------------------------------------------------


@dataclass(frozen=True)
class KeyPoint:
    """One point of a thread: its English and where it came from."""

    text: str
    """The English, whitespace collapsed to single spaces."""
    sources: tuple[str, ...]
    """The source sentence(s) the point was translated from (as the article has them)."""
    score: float
    rank: int
    """1 for the best point of the article."""
    position: int
    """Index of its first sentence among the article's sentences (0 = first)."""
    block: int
    """Index of the block (in Article.blocks) it comes from."""
    penalties: tuple[str, ...] = ()
    """Filters, repairs and penalties that applied, for previews and debugging."""


def english_lookup(translated: TranslatedArticle) -> Mapping[str, str]:
    """Chinese text (cleaned) -> English, from a translation's extracts and its sentences."""
    table: dict[str, str] = {}
    for block in translated.blocks:
        for s in block.sentences:
            if s.source.strip():
                table.setdefault(editorial.clean(s.source), " ".join(s.text.split()))
    for source, english in dict(getattr(translated, "extracts", {}) or {}).items():
        table[editorial.clean(source)] = " ".join(english.split())
    return table


def english_of(unit: Unit, table: Mapping[str, str], translated: bool) -> str | None:
    """The English of a unit (its sentences' English joined), or None when one is missing.

    Untranslated (a dry run without a model): the Chinese itself."""
    parts = []
    for source, original in zip(unit.sources, unit.originals):
        if not translated:
            parts.append(source)
            continue
        english = table.get(editorial.clean(source))
        if english is None and source != original:
            english = table.get(editorial.clean(original))
        if english is None:
            return None
        parts.append(english)
    text = " ".join(" ".join(parts).split())
    if unit.speaker and text:
        text = f"{unit.speaker}: {text}" if text[:1] in "\"“「'" else f"{unit.speaker}: “{text}”"
    return text


def key_point(unit: Unit, english: str, rank: int) -> KeyPoint:
    return KeyPoint(text=english, sources=unit.originals, score=unit.score, rank=rank, position=unit.position,
                    block=unit.block, penalties=unit.fired)


def ranked_points(translated: TranslatedArticle, *, selection: Selection | None = None) -> list[KeyPoint]:
    """Every unit the selection ranks, with its English, best first (units without English left out)."""
    selection = selection or select(translated.article, points=DEFAULT_POINTS)
    table = english_lookup(translated)
    out = []
    for unit in selection.ranked:
        english = english_of(unit, table, translated.translated)
        if english:
            out.append(key_point(unit, english, len(out) + 1))
    return out


def key_points(translated: TranslatedArticle, n: int = DEFAULT_POINTS) -> list[KeyPoint]:
    """The ``n`` best points of ``translated``, in reading order (fewer when the article is short)."""
    if n < 0:
        raise ValueError("the number of key points cannot be negative")
    chosen = ranked_points(translated)[:n]
    return sorted(chosen, key=lambda p: p.position)
