"""How long a post is, by each platform's own counting.

* X: twitter-text v3 weighted length (CJK counts 2, every URL 23, emoji sequences 2, NFC
  first), via the twitter-text-parser package, which passes the official conformance cases.
* Mastodon: grapheme clusters, after every http(s) URL is counted as 23 and a remote mention
  ``@user@domain`` as ``@user`` (what Mastodon's StatusLengthValidator does).
* Bluesky: grapheme clusters with URLs counted in full; also at most 3,000 UTF-8 bytes.
"""

from __future__ import annotations

import bisect
import functools
import re
import warnings
from typing import Callable

import regex

from publisher.platforms.registry import DEFAULT_LIMITS  # re-exported: lengths.DEFAULT_LIMITS
from publisher.platforms.registry import NAMES as PLATFORMS  # re-exported: lengths.PLATFORMS
from publisher.text import CJK_CLASS

from publisher.bounds import (  # noqa: F401  (re-exported: lengths.MIN_LIMIT etc., as before)
    DEFAULT_MAX_POSTS,
    DEFAULT_POINTS,
    MAX_LIMIT,
    MAX_POINTS,
    MAX_POSTS,
    MIN_LIMIT,
    MIN_POINTS,
    MIN_POSTS,
)

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


# --- bounded measuring ---------------------------------------------------------------------
#
# twitter-text's URL regexes backtrack on long runs of domain-like text: "a.a.a…" of 1,000
# characters takes a second and a half, 5,000 take half a minute, and 10,000 abort the process
# (a native stack overflow). No link spans whitespace, so text is measured segment by segment
# (a run of non-space characters and the spaces after it; a combining mark stays with the space
# before it), each segment once (cached): exact, and linear in the text. A run longer than
# LONG_RUN characters that has a dot in it is cut before each "http://" / "https://"; a piece
# that starts with one and whose host has at most 253 characters (the DNS maximum) is measured
# by twitter-text (fast: the path rules do not backtrack), any other piece is counted character
# by character, as if it held no link (never shorter than the platform counts it, but for a
# bare domain hidden in such a run).

#: Longest run of non-space characters handed to twitter-text as it is.
LONG_RUN = 256
_WORD_START = re.compile(r"(?<=\s)\S")
_GLUE = regex.compile(r"[\p{M}\u200d\ufe0f]")
_PROTOCOL = regex.compile(r"(?i)https?://")
_HOST = regex.compile(r"(?i)https?://([^/?#\s]*)")
_STOP_AFTER = regex.compile(r"(?<=[^\x00-\x7f\u2013])(?<=\p{P})")
#: twitter-text starts no link right after these (its invalid preceding characters)
_NO_LINK_AFTER = regex.compile(r"[A-Za-z0-9@＠$#＃\u202a-\u202e]")
#: A link's path goes on through these (ASCII, Latin and Cyrillic letters, marks): a link that
#: starts earlier in the run may swallow an "https://" after one of them (t.co/abcéhttps://…),
#: so a cut there is not exact. Han, kana, emoji and CJK punctuation end a path.
_PATH_GOES_ON = regex.compile(r"[\x21-\x7e\p{Latin}\p{Cyrillic}\p{M}\u2013]")
#: A link counts 23 but has at least 4 characters ("t.co"), and holds a dot: so a piece counted
#: as plain characters is at most this much per dot short of twitter-text's count (X), and per
#: "://" of Mastodon's (a link with its protocol has at least 11 characters).
_X_SLACK_PER_DOT = URL_LENGTH - 4
_MASTODON_SLACK_PER_PROTOCOL = URL_LENGTH - 11


def segments(text: str) -> list[tuple[int, str]]:
    """(offset, segment) pieces of ``text`` that no link, emoji or grapheme crosses. Every segment
    but the first starts with the whitespace character before it (its context: twitter-text looks
    at the character before a link); that character is counted with the segment before."""
    out: list[tuple[int, str]] = []
    starts = [m.start() for m in _WORD_START.finditer(text)]
    prev = 0
    for start in starts:
        if start <= prev or _GLUE.match(text, start):  # a mark or joiner stays with the space before it
            continue
        out.append((prev, text[prev - 1 if prev else 0:start]))
        prev = start
    if prev < len(text):
        out.append((prev, text[prev - 1 if prev else 0:]))
    return out


def _context(offset: int, segment: str) -> int:
    """How many leading characters of ``segment`` are context only (see :func:`segments`)."""
    return 1 if offset else 0


def _pieces(segment: str) -> list[tuple[int, str, bool]]:
    """A segment as (offset, piece, measure with twitter-text?) pieces; see above."""
    run = segment.rstrip()
    if len(run) <= LONG_RUN or "." not in run:
        return [(0, segment, True)]
    # No link holds non-ASCII punctuation (，。「」…): cutting after it is exact (Chinese has no spaces)
    stops = [0] + [m.start() for m in _STOP_AFTER.finditer(segment)]
    out: list[tuple[int, str, bool]] = []
    for begin, finish in zip(stops, stops[1:] + [len(segment)]):
        chunk = segment[begin:finish]
        if not chunk:
            continue
        if len(chunk.rstrip()) <= LONG_RUN or "." not in chunk:
            out.append((begin, chunk, True))
            continue
        cuts = [m.start() for m in _PROTOCOL.finditer(chunk)]
        if not cuts or cuts[0] != 0:
            cuts.insert(0, 0)
        for start, end in zip(cuts, cuts[1:] + [len(chunk)]):
            piece = chunk[start:end]
            host = _HOST.match(piece)
            before = segment[begin + start - 1] if begin + start else ""
            exact = (bool(host) and len(host.group(1)) <= 253 and len(piece) <= 4200
                     and not _NO_LINK_AFTER.match(before) and not _PATH_GOES_ON.match(before))
            out.append((begin + start, piece, exact))
    return out


@functools.lru_cache(maxsize=8192)
def _x_segment(segment: str, context: int) -> int:
    tt = _twitter_text()
    total = 0
    for _, piece, exact in _pieces(segment):
        if exact:
            total += tt.parse_tweet(piece).weightedLength
        else:  # without its dots it holds no link ("," weighs what "." weighs); never counted short
            total += tt.parse_tweet(piece.replace(".", ",")).weightedLength + _X_SLACK_PER_DOT * piece.count(".")
    if context:
        total -= tt.parse_tweet(segment[:context]).weightedLength
    return total


def x_length(text: str) -> int:
    """X's weighted length (twitter-text v3), measured in bounded time; see "bounded measuring"."""
    import unicodedata

    text = unicodedata.normalize("NFC", text)
    return sum(_x_segment(seg, _context(offset, seg)) for offset, seg in segments(text))


def _tt_urls(text: str, without_protocol: bool) -> list[tuple[int, int]]:
    """twitter-text's link spans in ``text``, in bounded time (see "bounded measuring")."""
    tt = _twitter_text()
    spans: list[tuple[int, int]] = []
    for offset, seg in segments(text):
        base = offset - _context(offset, seg)
        for start, piece, exact in _pieces(seg):
            if exact:
                spans += [(s, e) for s, e in _segment_urls(piece, without_protocol, base + start) if s >= offset]
    return spans


def _tt_urls_in(segment: str, without_protocol: bool) -> list[tuple[int, int]]:
    """Link spans in one segment (offsets within it)."""
    spans: list[tuple[int, int]] = []
    for start, piece, exact in _pieces(segment):
        if exact:
            spans += _segment_urls(piece, without_protocol, start)
    return spans


@functools.lru_cache(maxsize=8192)
def _segment_urls_cached(piece: str, without_protocol: bool) -> tuple[tuple[int, int], ...]:
    tt = _twitter_text()
    return tuple((int(u["indices"][0]), int(u["indices"][1]))
                 for u in tt.extract_urls_with_indices(piece, extract_urls_without_protocol=without_protocol))


def _segment_urls(piece: str, without_protocol: bool, offset: int) -> list[tuple[int, int]]:
    return [(s + offset, e + offset) for s, e in _segment_urls_cached(piece, without_protocol)]


@functools.lru_cache(maxsize=8192)
def _mastodon_segment(segment: str, context: int) -> int:
    pieces = _pieces(segment)
    slack = sum(_MASTODON_SLACK_PER_PROTOCOL * piece.count("://") for _, piece, exact in pieces if not exact)
    urls = sorted((s - context, e - context) for s, e in _tt_urls_in(segment, False) if s >= context)
    segment = segment[context:]
    out, pos = [], 0
    for start, end in urls:
        out.append(segment[pos:start])
        out.append("x" * URL_LENGTH)
        pos = end
    out.append(segment[pos:])
    countable = _REMOTE_MENTION.sub(lambda m: "@" + m.group(1), "".join(out))
    return graphemes(countable) + slack


def mastodon_length(text: str) -> int:
    return sum(_mastodon_segment(seg, _context(offset, seg)) for offset, seg in segments(text))


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
_CJK_PAIR = regex.compile(rf"(?<=[{CJK_CLASS}])(?=[{CJK_CLASS}])")
_NUMBER = regex.compile(r"[$€£¥]?\d(?:[\d,.:/]*\d)?(?:\s?%|\s?[A-Za-z]{1,3}\b)?")
# Two to four capitalised words in a row: a Latin name (Patrick Cederberg, Stability AI).
# A period belongs to a name word only in an initial ("J."), a title ("Dr.") or before a letter
# ("U.S", "Node.js"): "…by Kuaishou. The model…" is a sentence end, not the name "Kuaishou. The".
_NAME_WORD = r"(?:\p{Lu}\.|(?:Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr)\.|\p{Lu}(?:[\p{L}\p{M}'’-]|\.(?=\p{L}))*)"
_LATIN_NAME = regex.compile(rf"\b{_NAME_WORD}(?:\s+{_NAME_WORD}){{1,3}}(?!\w)")


def url_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every link a platform would see in ``text``: http(s) URLs and bare domains."""
    spans = set(_tt_urls(text, True)) | set(_tt_urls(text, False))
    return sorted(spans)


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
    the next (both stripped). Never inside a link, number, Latin name or glossary term.
    Linear in the text (plus the number of protected spans)."""
    found: dict[int, int] = {}
    stripped = text.strip()
    if not stripped:
        return []
    first = len(text) - len(text.lstrip())  # text[:i].strip() is non-empty iff i > first
    last = len(text.rstrip())  # text[i:].strip() is non-empty iff i < last

    def add(index: int, level: int) -> None:
        if first < index < last:
            found[index] = min(level, found.get(index, level))

    for m in _SENTENCE_END.finditer(text):
        add(m.end(), SENTENCE)
    for m in _CLAUSE_END.finditer(text):
        add(m.end(), CLAUSE)
    for m in _SPACE.finditer(text):
        add(m.start(), WORD)
    for m in _CJK_PAIR.finditer(text):
        add(m.start(), WORD)
    # inside[i] > 0: i lies strictly inside a protected span (a difference array, one pass)
    inside = [0] * (len(text) + 2)
    for s, e in protected_spans(text, terms):
        if e - s >= 2:
            inside[s + 1] += 1
            inside[e] -= 1
    depth = 0
    covered = bytearray(len(text) + 1)
    for i in range(len(text) + 1):
        depth += inside[i]
        if depth > 0:
            covered[i] = 1
    return sorted((i, lvl) for i, lvl in found.items() if not covered[i])


def split_to_fit(text: str, fits_piece: Callable[[str, int], bool],
                 terms: tuple[str, ...] | list[str] = (), *, max_pieces: int | None = None) -> list[str] | None:
    """Split ``text`` into pieces that each satisfy ``fits_piece(piece, index)`` (index: 0 for the
    first piece, 1 for the second...), or None when that is impossible.

    Each cut is made at the last sentence end that keeps the piece fitting; failing that the last
    clause end, failing that the last word boundary. Nothing is ever cut inside a link, number,
    Latin name or glossary term, and nothing is dropped: joining the pieces with spaces gives the
    text back (apart from whitespace at the cuts).

    Bounded: the break points are found once, and each piece is found by galloping then binary
    search over them (fitting is monotone in the length of a piece), so no piece much longer than
    the one chosen is ever measured: about n·log n in the text. With ``max_pieces``, it stops
    after that many pieces plus one (the caller only needs to know there would be more), and the
    last piece returned is the unsplit rest.
    """
    points = break_points(text, terms)
    end = len(text.rstrip())
    every = [i for i, _ in points] + [end]
    better = [[i for i, lvl in points if lvl <= level] for level in (SENTENCE, CLAUSE)]
    pieces: list[str] = []
    start = len(text) - len(text.lstrip())
    while start < end:
        index = len(pieces)
        if max_pieces is not None and index >= max_pieces:
            pieces.append(text[start:end].strip())
            return pieces

        def fits(piece: str) -> bool:
            return fits_piece(piece, index)

        cut = _longest_fitting(text, start, every, fits)  # the longest piece cut at any break
        if cut is None:
            return None
        if cut != end:
            for candidates in better:  # the last sentence end (else clause end) before it
                j = bisect.bisect_right(candidates, cut) - 1
                if j >= 0 and candidates[j] > start and fits(text[start:candidates[j]].strip()):
                    cut = candidates[j]
                    break
        pieces.append(text[start:cut].strip())
        start = cut
        while start < end and text[start].isspace():
            start += 1
    return pieces


def _longest_fitting(text: str, start: int, candidates: list[int],
                     fits: Callable[[str], bool]) -> int | None:
    """The largest candidate c > start with fits(text[start:c].strip()), by galloping from the
    smallest then binary search (so the longest piece tried is at most about twice the answer)."""
    j0 = bisect.bisect_right(candidates, start)
    n = len(candidates) - j0
    if n <= 0:
        return None

    def ok(k: int) -> bool:
        return fits(text[start:candidates[j0 + k]].strip())

    if not ok(0):
        return None
    good, step = 0, 1
    bad = None
    while True:
        k = min(good + step, n - 1)
        if k == good:
            return candidates[j0 + good]
        if ok(k):
            good = k
            step *= 2
        else:
            bad = k
            break
    while bad - good > 1:
        mid = (good + bad) // 2
        if ok(mid):
            good = mid
        else:
            bad = mid
    return candidates[j0 + good]
