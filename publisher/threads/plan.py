"""What a thread says, the same on every platform: the gist and the points in English, verified, and why a
thread must wait for a person.

What it says is chosen on the Chinese source (publisher.threads.summarize.select);
:func:`plan_thread` verifies the English of the choice and falls back to the next candidate.
Threads that must wait for a person carry their reasons in ``Thread.held`` (each also among the
warnings, after :data:`HOLD`): no link to the original, nobody credited, a transcript, speech or
Q&A digest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from publisher import lengths
from publisher.errors import PublisherError
from publisher.lengths import PLATFORMS
from publisher.models import TranslatedArticle
from publisher.text import HAN as _HAN
from publisher.threads.credits import NO_LINK, Credit
from publisher.threads.editorial import KIND_NAMES
from publisher.threads.options import ThreadOptions
from publisher.threads.summarize import KeyPoint, Selection, english_lookup, english_of, key_point, split_sentences


def selection_budget(options: ThreadOptions) -> int:
    """The length one point must fit on every platform: the smallest post limit."""
    return min(options.limit(p) for p in PLATFORMS)


#: Put before each of Thread.held's reasons among the warnings (app.review_reasons reads Thread.held).
HOLD = "HELD FOR A PERSON: "
TITLE_ONLY = ("Chinese left untranslated: the thread says nothing but the title, "
              "because no gist or point has usable English")
"""The warning (and Thread.untranslated entry) of a thread whose translation gave no usable English."""


def hold_reasons(selection: Selection, credit: Credit) -> tuple[str, ...]:
    """Why no source may auto-approve this thread: incomplete credit, or a kind of article
    (transcript, speech, Q&A digest) that an editor must shape by hand."""
    out = []
    for problem in credit.problems:
        if problem == NO_LINK:
            out.append("no link to the original (add source_url: to the frontmatter, a base_url to the "
                       "schedule source, or edit the thread)")
        else:
            out.append(f"{problem} (the credit names nobody)")
    if selection.kind != "news":
        out.append(f"this is a {KIND_NAMES[selection.kind]} ({selection.kind_reason}): its turns and voices "
                   "need an editor")
    return tuple(out)


@dataclass(frozen=True)
class ThreadPlan:
    """What every platform's thread says (the same points everywhere; platforms differ in cutting)."""

    gist: str | None
    gist_point: KeyPoint | None
    points: tuple[KeyPoint, ...]
    """The points to carry, best first."""
    notes: tuple[str, ...] = ()
    no_english: bool = False
    """Some gist sentence or point was left out for want of usable English (see the notes)."""
    title_only: bool = False
    """Nothing but the title is left, for want of usable English: :data:`TITLE_ONLY` is among the notes."""


def optional_glossary():
    from publisher.translate.glossary import load_glossary

    try:
        return load_glossary()
    except PublisherError:
        return None


_LATIN_NAME = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]*[A-Z][A-Za-z0-9.+-]*[A-Za-z0-9+]")


def _english_ok(text: str | None, translated: bool, source: str = "") -> bool:
    """English a thread may carry: something, no Chinese left, and every Latin name of the source
    (Sora, GLM-5, Stability AI) still there. (Numbers are checked by value in translation.)"""
    if not text or not text.strip():
        return False
    if not translated:
        return True
    if _HAN.search(text):
        return False
    lowered = text.lower()
    return all(name.lower() in lowered for name in _LATIN_NAME.findall(source))


def _fits_everywhere(text: str, options: ThreadOptions) -> bool:
    return all(lengths.measure(p, "10/10 " + text) <= options.limit(p) for p in PLATFORMS)


def plan_thread(translated: TranslatedArticle, selection: Selection, options: ThreadOptions) -> ThreadPlan:
    """The gist and the points in English, verified: a unit whose English is missing, still has
    Chinese in it, or does not fit one post on every platform falls back to the next candidate."""
    table = english_lookup(translated)
    is_translated = translated.translated
    notes: list[str] = []
    no_english = False
    gist: str | None = None
    gist_point: KeyPoint | None = None
    if selection.gist_from == "description" and selection.description:
        english = (translated.extracts or {}).get(selection.description) if is_translated else selection.description
        if english is None and translated.description:
            first = split_sentences(translated.description)
            english = first[0] if first else translated.description
        if _english_ok(english, is_translated, selection.description):
            gist = english
    elif selection.gist_from == "lede":
        parts = []
        for unit in selection.gist:
            english = english_of(unit, table, is_translated)
            if _english_ok(english, is_translated, unit.text):
                parts.append(english)
            else:
                notes.append(f"gist: a lead sentence has no usable English, left out: {unit.text}")
                no_english = True
                break
        while parts and not _fits_everywhere(" ".join(parts) + " 🧵", options) and len(parts) > 1:
            notes.append(f"gist: the last lead sentence did not fit the first post, left out: {parts[-1]}")
            parts.pop()
        if parts:
            gist = " ".join(parts)
            # when even this does not fit beside the title, the lead becomes the first point
            gist_point = KeyPoint(text=gist, sources=tuple(o for u in selection.gist[:len(parts)] for o in u.originals),
                                  score=selection.gist[0].score, rank=0, position=selection.gist[0].position,
                                  block=selection.gist[0].block, penalties=("the lede",))
    points: list[KeyPoint] = []
    spare_fits: list[tuple[int, KeyPoint]] = []
    candidates = list(selection.ranked)
    wanted = selection.points
    for index, unit in enumerate(candidates):
        if len(points) >= wanted:
            break
        english = english_of(unit, table, is_translated)
        rank = index + 1
        if not _english_ok(english, is_translated, unit.text):
            if index < wanted:
                notes.append(f"point {rank} has no usable English (missing, Chinese left or a name lost); the next "
                             f"candidate is used: {unit.text}")
                no_english = True
            continue
        assert english is not None
        point = key_point(unit, english, rank)
        if is_translated and not _fits_everywhere(english, options) and index + 1 < len(candidates):
            # prefer another point to splitting this one, when a spare says something that fits
            spare_fits.append((index, point))
            continue
        points.append(point)
    for _, point in spare_fits:  # nothing better came: split after all
        if len(points) < wanted:
            points.append(point)
    if gist is None and points:
        gist_point = points[0]
        gist = gist_point.text
        points = points[1:]
    return ThreadPlan(gist=gist, gist_point=gist_point, points=tuple(points), notes=tuple(notes),
                      no_english=no_english)
