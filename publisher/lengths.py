"""How long a post is, by each platform's own counting.

* X: twitter-text v3 weighted length (CJK counts 2, every URL 23, emoji sequences 2, NFC
  first), via the twitter-text-parser package, which passes the official conformance cases.
* Mastodon: grapheme clusters, after every http(s) URL is counted as 23 and a remote mention
  ``@user@domain`` as ``@user`` (what Mastodon's StatusLengthValidator does).
* Bluesky: grapheme clusters with URLs counted in full; also at most 3,000 UTF-8 bytes.
"""

from __future__ import annotations

import warnings
from typing import Callable

import regex

from .platforms.registry import DEFAULT_LIMITS  # re-exported: lengths.DEFAULT_LIMITS
from .platforms.registry import NAMES as PLATFORMS  # re-exported: lengths.PLATFORMS

#: Bounds of a configured post limit, shared by ThreadOptions and schedule.yaml's schema: below
#: MIN_LIMIT not even the attribution fits.
MIN_LIMIT = 60
MAX_LIMIT = 100_000
BLUESKY_MAX_BYTES = 3000
URL_LENGTH = 23

_GRAPHEME = regex.compile(r"\X")
_REMOTE_MENTION = regex.compile(r"(?<![\w@])@(\w+(?:[.-]\w+)*)@[\w.-]+\w", regex.UNICODE)


def graphemes(text: str) -> int:
    return len(_GRAPHEME.findall(text))


def _twitter_text():
    with warnings.catch_warnings():  # its pkg_resources import warns on newer setuptools
        warnings.simplefilter("ignore")
        import twitter_text
    return twitter_text


def x_length(text: str) -> int:
    return _twitter_text().parse_tweet(text).weightedLength


def mastodon_length(text: str) -> int:
    tt = _twitter_text()
    urls = tt.extract_urls_with_indices(text, extract_urls_without_protocol=False)
    out, pos = [], 0
    for url in sorted(urls, key=lambda u: u["indices"][0]):
        start, end = url["indices"]
        out.append(text[pos:start])
        out.append("x" * URL_LENGTH)
        pos = end
    out.append(text[pos:])
    countable = _REMOTE_MENTION.sub(lambda m: "@" + m.group(1), "".join(out))
    return graphemes(countable)


def bluesky_length(text: str) -> int:
    return graphemes(text)


_MEASURE = {"x": x_length, "mastodon": mastodon_length, "bluesky": bluesky_length}


def measure(platform: str, text: str) -> int:
    """Length of ``text`` as ``platform`` counts it."""
    try:
        return _MEASURE[platform](text)
    except KeyError:
        raise ValueError(f"unknown platform {platform!r}; expected one of {', '.join(PLATFORMS)}") from None


def problem(platform: str, text: str, limit: int | None = None) -> str | None:
    """Why ``text`` would be refused by ``platform`` (None when it fits)."""
    limit = DEFAULT_LIMITS[platform] if limit is None else limit
    if not text.strip():
        return "empty post"
    length = measure(platform, text)
    if length > limit:
        return f"{length} characters, over the {platform} limit of {limit}"
    if platform == "bluesky" and len(text.encode("utf-8")) > BLUESKY_MAX_BYTES:
        return f"{len(text.encode('utf-8'))} bytes, over Bluesky's {BLUESKY_MAX_BYTES}-byte limit"
    return None


def fits(platform: str, text: str, limit: int | None = None) -> bool:
    return problem(platform, text, limit) is None


# --- splitting text into posts ---------------------------------------------------------------

#: Break levels, best first: a post should end at a sentence end, else a clause end, else a word.
SENTENCE, CLAUSE, WORD = 0, 1, 2

_CLOSERS = regex.escape("\"'”’」』）)】]》")
_SENTENCE_END = regex.compile(rf"[.!?…]+[{_CLOSERS}]*(?=\s)|[。！？]+[{_CLOSERS}]*(?=\S)|[。！？]+[{_CLOSERS}]*\s*")
_CLAUSE_END = regex.compile(rf"[,;:][{_CLOSERS}]*(?=\s)|[，；：、][{_CLOSERS}]*|\s(?=[—–]\s)")
_SPACE = regex.compile(r"\s+")
_CJK = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]")
_NUMBER = regex.compile(r"[$€£¥]?\d(?:[\d,.:/]*\d)?(?:\s?%|\s?[A-Za-z]{1,3}\b)?")
# Two to four capitalised words in a row: a Latin name (Patrick Cederberg, Stability AI).
_LATIN_NAME = regex.compile(r"\b\p{Lu}[\p{L}\p{M}'’.-]*(?:\s+\p{Lu}[\p{L}\p{M}'’.-]*){1,3}\b")


def url_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every link a platform would see in ``text``: http(s) URLs and bare domains."""
    tt = _twitter_text()
    spans = {tuple(u["indices"]) for u in tt.extract_urls_with_indices(text)}
    spans |= {tuple(u["indices"]) for u in
              tt.extract_urls_with_indices(text, extract_urls_without_protocol=False)}
    return sorted((int(s), int(e)) for s, e in spans)


def protected_spans(text: str, terms: tuple[str, ...] | list[str] = ()) -> list[tuple[int, int]]:
    """Spans a post must never be split inside: links, numbers, Latin names and glossary terms."""
    spans = list(url_spans(text))
    spans += [m.span() for m in _NUMBER.finditer(text)]
    spans += [m.span() for m in _LATIN_NAME.finditer(text)]
    lowered = text.lower()
    for term in terms:
        t = term.strip().lower()
        if not t:
            continue
        start = lowered.find(t)
        while start != -1:
            spans.append((start, start + len(t)))
            start = lowered.find(t, start + 1)
    return sorted(spans)


def break_points(text: str, terms: tuple[str, ...] | list[str] = ()) -> list[tuple[int, int]]:
    """Where ``text`` may be split, as (index, level): text[:index] ends a post, text[index:] starts
    the next (both stripped). Never inside a link, number, Latin name or glossary term."""
    found: dict[int, int] = {}

    def add(index: int, level: int) -> None:
        if 0 < index < len(text) and text[:index].strip() and text[index:].strip():
            found[index] = min(level, found.get(index, level))

    for m in _SENTENCE_END.finditer(text):
        add(m.end(), SENTENCE)
    for m in _CLAUSE_END.finditer(text):
        add(m.end(), CLAUSE)
    for m in _SPACE.finditer(text):
        add(m.start(), WORD)
    for i in range(1, len(text)):
        if _CJK.match(text[i - 1]) and _CJK.match(text[i]):
            add(i, WORD)
    spans = protected_spans(text, terms)
    return sorted((i, lvl) for i, lvl in found.items() if not any(s < i < e for s, e in spans))


def split_to_fit(text: str, fits_piece: Callable[[str, int], bool],
                 terms: tuple[str, ...] | list[str] = ()) -> list[str] | None:
    """Split ``text`` into pieces that each satisfy ``fits_piece(piece, index)`` (index: 0 for the
    first piece, 1 for the second...), or None when that is impossible.

    Each cut is made at the last sentence end that keeps the piece fitting; failing that the last
    clause end, failing that the last word boundary. Nothing is ever cut inside a link, number,
    Latin name or glossary term, and nothing is dropped: joining the pieces with spaces gives the
    text back (apart from whitespace at the cuts).
    """
    pieces: list[str] = []
    rest = text.strip()
    while rest:
        index = len(pieces)
        if fits_piece(rest, index):
            pieces.append(rest)
            return pieces
        cut = _best_cut(rest, lambda piece: fits_piece(piece, index), terms)
        if cut is None:
            return None
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return pieces


def _best_cut(text: str, fits_piece: Callable[[str], bool], terms) -> int | None:
    points = break_points(text, terms)
    for level in (SENTENCE, CLAUSE, WORD):
        candidates = [i for i, lvl in points if lvl <= level]
        if not candidates:
            continue
        # The longest fitting prefix: binary search (fitting is monotone in the prefix length),
        # then confirm the answer directly.
        lo, hi, best = 0, len(candidates) - 1, None
        while lo <= hi:
            mid = (lo + hi) // 2
            if fits_piece(text[: candidates[mid]].rstrip()):
                best = mid
                lo = mid + 1
            else:
                hi = mid - 1
        if best is not None:
            return candidates[best]
    return None
