"""Fitting text into posts: a point split across posts with "…" marks, a field shortened visibly, a link
stripped of its tracking parameters.

A point too long for one post is split at a sentence end, else a clause end, else a word
boundary, never inside a link, number, Latin name or glossary term (publisher.lengths.split_to_fit).
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import replace
from typing import TYPE_CHECKING, Callable, Sequence

import regex

from publisher import lengths
from publisher.threads.templates import TemplateProblem

if TYPE_CHECKING:
    from publisher.threads.templates import ArticleView

#: Put after a piece of a point that goes on in the next post (and "…" before the next piece).
CONTINUED = "…"

SENTENCE_END = re.compile(r"[.!?。！？…][\"'”’」』)）\]]*$")
_TRACKING = re.compile(r"^(?:utm_\w+|spm|from|refer_flag|si|share_\w+|fbclid|gclid|isappinstalled|scene|"
                       r"srcid|sharer_\w+|clicktime|enterid|xtrack|ref|ref_src)$", re.IGNORECASE)


def shorten(text: str, fits: Callable[[str], bool], terms: Sequence[str] = ()) -> str | None:
    """The longest start of ``text`` ending at a word boundary, with "…", for which ``fits`` holds.

    Binary search over the word boundaries (found once), then over graphemes when no boundary
    fits: O(log n) calls of ``fits``, so a 10 KB title costs milliseconds, not minutes."""
    def at(end: int) -> str:
        return text[:end].rstrip(" ,;:，；：、—–-") + "…"

    ends = sorted(i for i, _ in lengths.break_points(text, tuple(terms)))
    best = _last_fitting(ends, lambda end: fits(at(end)))
    if best is not None:
        return at(best)
    bounds = [m.end() for m in regex.finditer(r"\X", text)][:-1]
    best = _last_fitting(bounds, lambda end: fits(text[:end].rstrip() + "…"))
    return text[:best].rstrip() + "…" if best is not None else None


def _last_fitting(ends: Sequence[int], fits: Callable[[int], bool]) -> int | None:
    """The largest of the sorted ``ends`` for which ``fits`` holds (monotone: shorter fits better)."""
    lo, hi, best = 0, len(ends) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        if fits(ends[mid]):
            best = ends[mid]
            lo = mid + 1
        else:
            hi = mid - 1
    return best


def without_tracking(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
             if not _TRACKING.match(k)]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query), fragment=""))


def split_point(text: str, fits: Callable[[str, int], bool], terms: Sequence[str], *,
                max_pieces: int) -> list[str] | None:
    """``text`` in pieces, each one for which ``fits(piece, index)`` holds; a piece that ends inside a
    sentence says so ("…" after it, and before the next one). None: no place to split."""
    def fits_marked(piece: str, index: int) -> bool:
        # room for the continuation marks: "…" after every piece but the last, before
        # every piece but the first (the last one is not known yet: count both)
        return fits(("…" if index else "") + piece + CONTINUED, index)

    pieces = lengths.split_to_fit(text, fits, terms, max_pieces=max_pieces)
    if pieces is not None and len(pieces) > 1:
        marked = lengths.split_to_fit(text, fits_marked, terms, max_pieces=max_pieces)
        if marked is not None:
            # a piece that ends inside a sentence says so, and so does the next one
            cut = [i < len(marked) - 1 and not SENTENCE_END.search(p) for i, p in enumerate(marked)]
            pieces = [("…" if i and cut[i - 1] else "") + p + (CONTINUED if cut[i] else "")
                      for i, p in enumerate(marked)]
    return pieces


def fit_attribution(view: ArticleView, render: Callable[[ArticleView], str], fits: Callable[[str], bool], *,
                    platform: str, limit: int, terms: Sequence[str], template: str) -> tuple[str, list[str]]:
    """The attribution post (``render(view)``) made to fit (``fits``), and notes on what was done to it.

    In turn, until it fits: a long original link loses the original title is shortened visibly (…); the link is left
    out with a warning when it cannot fit at all (Bluesky counts links in full); the
    publication and the author are shortened visibly. Never dropped: when nothing helps, the
    template (``template`` names it) is at fault."""
    notes: list[str] = []
    if fits(render(view)):
        return render(view), notes
    if view.url and without_tracking(view.url) != view.url:
        view = replace(view, url=without_tracking(view.url))
        notes.append("tracking parameters removed from the original link to fit the attribution post")
        if fits(render(view)):
            return render(view), notes
    shortened = _shorten_field(view, "original_title", render, fits, terms)
    if shortened is not None:
        return render(shortened[0]), notes + shortened[1]
    if view.url:
        measured = lengths.measure(platform, view.url)
        notes.append(f"the original link ({measured} characters as {platform} counts it) does not fit "
                     f"in a {limit}-character post; left out of the attribution: {view.url}")
        view = replace(view, url=None)
        if fits(render(view)):
            return render(view), notes
    for name in ("original_title", "publication", "author"):
        shortened = _shorten_field(view, name, render, fits, terms)
        if shortened is not None:
            return render(shortened[0]), notes + shortened[1]
        if getattr(view, name):
            view = replace(view, **{name: "…"})
            notes.append(f"{name.replace('_', ' ')} shortened to fit the attribution post: …")
    length = lengths.measure(platform, render(view))
    raise TemplateProblem(f"{template}: the attribution post is {length} characters even at its "
                          f"shortest, over the {platform} limit of {limit}")


def _shorten_field(view: ArticleView, name: str, render: Callable[[ArticleView], str], fits: Callable[[str], bool],
                   terms: Sequence[str]) -> tuple[ArticleView, list[str]] | None:
    value = getattr(view, name)
    if not value:
        return None
    short = shorten(value, lambda v: fits(render(replace(view, **{name: v}))), terms)
    if short is None:
        return None
    return replace(view, **{name: short}), [f"{name.replace('_', ' ')} shortened to fit the attribution "
                                            f"post: {short}"]
