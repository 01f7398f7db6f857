"""Pick the key points of a translated article: a deterministic extractive summary.

Contract: ``key_points(translated, n) -> list[KeyPoint]``: the ``n`` best sentences of the
article, in reading order, each with its English text, the source sentence(s) it came from,
its score and its rank (1 = best). The same input always gives the same output.

How a sentence is scored (all parts in [0, 1], then multiplied by penalties):

* position: earlier sentences matter more in news writing; the first sentence of a paragraph
  gets a little extra.
* centrality: TextRank over a similarity graph of the sentences (shared content words of the
  English, and shared character pairs of the Chinese source, so that a poor translation does
  not hide what the article keeps coming back to).
* title overlap: words and character pairs shared with the title.
* specificity: names and numbers (concrete facts beat general remarks).
* penalties: image credits and captions ("Source: ...", "视频地址：..."), questions and lines
  addressed to the reader, lead-ins that end in a colon (they introduce a picture), references
  to pictures ("on the right", "图中"), follow-us or promotion phrases, sentences that are
  mostly a link, and very short or very long sentences.

Blocks that ingest flagged as boilerplate, image credits, headings, tables and code never give
points. Near-duplicate sentences (the seed repeats one almost word for word) are kept once.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import regex

from .models import Sentence, TranslatedArticle

#: How many key points a thread gets unless configured otherwise.
DEFAULT_POINTS = 4

# Weights of the score parts (they add up to 1).
W_POSITION = 0.25
W_CENTRALITY = 0.30
W_TITLE = 0.20
W_LEAD = 0.10
W_SPECIFIC = 0.15

#: Two sentences this similar (0..1) are the same point said twice; only the better one is kept.
DUPLICATE_SIMILARITY = 0.6

SHORT_WORDS = 5
SHORT_HAN = 8
LONG_WORDS = 55
LONG_HAN = 110

_CANDIDATE_KINDS = ("paragraph", "quote", "list")

_HAN = regex.compile(r"\p{Han}")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*|\d+(?:[.,]\d+)*")
_URL = re.compile(r"https?://[!-~]+|www\.[!-~]+", re.IGNORECASE)
_STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just me more
    most my myself no nor not now of off on once only or other our ours ourselves out over own same she
    should so some such than that the their theirs them themselves then there these they this those
    through to too under until up very was we were what when where which while who whom why will with
    would you your yours yourself yourselves one two also even still already many much like well said says
    s t""".split()
)

# (name, factor, pattern): a sentence matching the pattern has its score multiplied by factor.
_PENALTIES: tuple[tuple[str, float, re.Pattern[str]], ...] = (
    ("image credit or caption", 0.1, re.compile(
        r"^\s*(?:图源|图片来源|图片|来源|出处|视频地址|完整视频地址|视频来源|原文地址|官网地址|链接|截图|"
        r"image|photo|picture|video|source|credit|via|screenshot|full video|address|prompt)\s*(?:[:：]|\s*[｜|])"
        r"|(?:视频地址|完整视频地址|图源|image source|video address|video link|photo credit)\s*[:：]",
        re.IGNORECASE)),
    ("question to the reader", 0.25, re.compile(r"[?？]\s*[\"'”’」』)）]*\s*$")),
    ("addresses the reader", 0.6, re.compile(
        r"你|您|\byou(?:r|rs)?\b|\blet'?s\b|\bwe (?:might as well|may as well)\b", re.IGNORECASE)),
    ("lead-in to a picture", 0.3, re.compile(r"[:：]\s*[\"'”’」』)）]*\s*$")),
    ("refers to a picture", 0.5, re.compile(
        r"图中|下图|上图|如图|见图|右侧|左侧|右边|左边|下方|以下|如下|"
        r"\bin the (?:picture|image|figure|video|screenshot)\b|\bpictured\b|\bon the (?:right|left)\b|"
        r"\bbelow\b|\bas shown\b", re.IGNORECASE)),
    ("follow or promotion phrase", 0.05, re.compile(
        r"关注我们|关注公众号|点击关注|扫码|二维码|点赞|在看|转发|阅读原文|商务合作|投稿|"
        r"\bfollow us\b|\bsubscribe\b|\bclick (?:here|to read)\b|\bread more\b|\bscan the qr\b",
        re.IGNORECASE)),
)


@dataclass(frozen=True)
class KeyPoint:
    """One point of the summary: an English sentence and where it came from."""

    text: str
    """The English sentence(s), whitespace collapsed to single spaces."""
    sources: tuple[str, ...]
    """The source sentence(s) the point was translated from."""
    score: float
    rank: int
    """1 for the best point of the article."""
    position: int
    """Order of the sentence among the article's candidate sentences (0 = first)."""
    block: int
    """Index of the block (in Article.blocks) it comes from."""
    penalties: tuple[str, ...] = ()
    """Names of the penalties that lowered its score, for previews and debugging."""


@dataclass(frozen=True)
class _Candidate:
    text: str
    sources: tuple[str, ...]
    block: int
    first_in_block: bool


def key_points(translated: TranslatedArticle, n: int = DEFAULT_POINTS) -> list[KeyPoint]:
    """The ``n`` best points of ``translated``, in reading order (fewer when the article is short)."""
    if n < 0:
        raise ValueError("the number of key points cannot be negative")
    chosen = ranked_points(translated)[:n]
    return sorted(chosen, key=lambda p: p.position)


def ranked_points(translated: TranslatedArticle) -> list[KeyPoint]:
    """Every usable sentence of the article as a KeyPoint, best first, near-duplicates removed."""
    cands = _candidates(translated)
    if not cands:
        return []
    all_feats = [_features(c.text, " ".join(c.sources)) for c in cands]
    # A sentence said twice is one point, kept where it first appears; repeats would otherwise
    # lend each other centrality.
    unique: list[int] = []
    for i, f in enumerate(all_feats):
        if not any(_similarity(f, all_feats[j]) >= DUPLICATE_SIMILARITY for j in unique):
            unique.append(i)
    feats = [all_feats[i] for i in unique]
    centrality = _textrank(feats)
    title_feats = _features(translated.title, translated.article.title)
    count = len(cands)
    scored: list[tuple[float, int, tuple[str, ...]]] = []
    for k, i in enumerate(unique):
        cand = cands[i]
        position = 1.0 - i / count
        title = _overlap(feats[k], title_feats)
        base = (W_POSITION * position + W_CENTRALITY * centrality[k] + W_TITLE * title
                + W_LEAD * (1.0 if cand.first_in_block else 0.0) + W_SPECIFIC * _specificity(cand.text))
        factor, names = _penalty(cand)
        scored.append((round(base * factor, 6), i, names))
    order = sorted(scored, key=lambda s: (-s[0], s[1]))
    return [
        KeyPoint(text=cands[i].text, sources=cands[i].sources, score=score, rank=rank, position=i,
                 block=cands[i].block, penalties=names)
        for rank, (score, i, names) in enumerate(order, start=1)
    ]


# --- candidates ------------------------------------------------------------------------------


def _candidates(translated: TranslatedArticle) -> list[_Candidate]:
    """Sentences a summary may use, in reading order."""
    out: list[_Candidate] = []
    blocks = translated.article.blocks
    for index, tblock in enumerate(translated.blocks):
        block = blocks[index] if index < len(blocks) else tblock.block
        if block.boilerplate is not None or block.kind not in _CANDIDATE_KINDS:
            continue
        sentences = list(tblock.sentences) or _split_block(tblock.text, block.text, index)
        first = True
        for group in _merge_fragments(sentences):
            text = _clean(" ".join(s.text for s in group))
            sources = tuple(_clean(s.source) for s in group if s.source.strip())
            if not _has_words(text):
                continue
            out.append(_Candidate(text=text, sources=sources, block=index, first_in_block=first))
            first = False
    return out


_END = re.compile(r"[.!?。！？…][\"'”’」』)）\]]*\s*$")
_PIECE_END = re.compile(r"[,，;；、]\s*$")


def _merge_fragments(sentences: list[Sentence]) -> list[list[Sentence]]:
    """Join pieces of one sentence back together (the translator splits over-long sentences at
    commas, and each piece comes as a Sentence of its own)."""
    groups: list[list[Sentence]] = []
    for s in sentences:
        if groups and _PIECE_END.search(groups[-1][-1].source or groups[-1][-1].text):
            groups[-1].append(s)
        else:
            groups.append([s])
    return groups


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


def _split_block(text: str, source: str, block: int) -> list[Sentence]:
    english = split_sentences(text)
    original = split_sentences(source)
    if len(english) == len(original):
        return [Sentence(source=o, text=e, block=block) for e, o in zip(english, original)]
    return [Sentence(source=source if i == 0 else "", text=e, block=block) for i, e in enumerate(english)]


def _clean(text: str) -> str:
    return " ".join(text.split())


def _has_words(text: str) -> bool:
    return bool(_WORD.search(text) or _HAN.search(text))


# --- features and similarity -----------------------------------------------------------------


def _features(english: str, source: str) -> frozenset[str]:
    """Content words of the English and Han character pairs of the source."""
    words = set()
    for w in _WORD.findall(_URL.sub(" ", english)):
        w = w.lower().strip("'’-")
        if w in _STOPWORDS or len(w) < 2:
            continue
        if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        words.add(w)
    han = "".join(_HAN.findall(_URL.sub(" ", source)))
    pairs = {"zh:" + han[i:i + 2] for i in range(len(han) - 1)}
    return frozenset(words | pairs)


def _similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Share of the smaller sentence's features found in the other one."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def _overlap(a: frozenset[str], title: frozenset[str]) -> float:
    if not a or not title:
        return 0.0
    return min(1.0, len(a & title) / math.sqrt(len(title) * max(len(a), 1)) * 2)


def _textrank(feats: list[frozenset[str]], damping: float = 0.85, iterations: int = 60) -> list[float]:
    """PageRank over sentence similarity (Mihalcea & Tarau 2004), scaled so the best is 1."""
    n = len(feats)
    if n == 1:
        return [1.0]
    weights: list[dict[int, float]] = [{} for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            shared = len(feats[i] & feats[j])
            if not shared:
                continue
            denom = math.log(len(feats[i]) + 1) + math.log(len(feats[j]) + 1)
            w = shared / denom
            weights[i][j] = w
            weights[j][i] = w
    out_sum = [sum(w.values()) for w in weights]
    rank = [1.0 / n] * n
    for _ in range(iterations):
        new = [(1 - damping) / n] * n
        for j in range(n):
            if not out_sum[j]:
                continue
            share = damping * rank[j] / out_sum[j]
            for i, w in weights[j].items():
                new[i] += share * w
        if max(abs(a - b) for a, b in zip(new, rank)) < 1e-9:
            rank = new
            break
        rank = new
    top = max(rank)
    return [r / top if top else 0.0 for r in rank]


_SPECIFIC = re.compile(r"(?<!^)(?<![.!?:]\s)\b[A-Z][\w'’.-]*|\b\d[\d.,]*")


def _specificity(text: str) -> float:
    """Names and numbers make a point concrete: their count, capped (the first word does not count)."""
    return min(1.0, len(_SPECIFIC.findall(_URL.sub(" ", text))) / 5)


# --- penalties -------------------------------------------------------------------------------


def _penalty(cand: _Candidate) -> tuple[float, tuple[str, ...]]:
    factor = 1.0
    names: list[str] = []
    source = " ".join(cand.sources)
    for name, f, rx in _PENALTIES:
        if rx.search(cand.text) or (source and rx.search(source)):
            factor *= f
            names.append(name)
    if not _END.search(cand.text) and not (source and _END.search(source)):
        factor *= 0.4
        names.append("not a full sentence")
    without_urls = _URL.sub(" ", cand.text)
    if len(without_urls.strip()) < len(cand.text) * 0.5:
        factor *= 0.1
        names.append("mostly a link")
    words = len(_WORD.findall(without_urls))
    han = len(_HAN.findall(_URL.sub(" ", source)))
    if words < SHORT_WORDS and (not han or han < SHORT_HAN):
        factor *= 0.3
        names.append("very short")
    elif words > LONG_WORDS or han > LONG_HAN:
        factor *= 0.6
        names.append("very long")
    return factor, tuple(names)
