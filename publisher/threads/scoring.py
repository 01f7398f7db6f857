"""What makes a source sentence a good point, measured on the Chinese: its concrete facts (specificity),
its centrality (TextRank), its overlap with the title, and its estimated English length.

publisher.threads.summarize combines these, with the weights below, into a unit's score.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from publisher.text import ASCII_LINK as _URL
from publisher.text import HAN as _HAN

if TYPE_CHECKING:
    from publisher.translate.glossary import Glossary

#: How much each signal weighs in a unit's score (they add up to 1).
W_POSITION = 0.25
W_CENTRALITY = 0.25
W_TITLE = 0.15
W_LEAD = 0.10
W_SPECIFIC = 0.25

#: English characters per Han character, and per other character, for the length estimate.
EN_PER_HAN = 3.3
EN_PER_OTHER = 1.1

NUMBER = re.compile(r"\d+(?:[.,]\d+)?\s*(?:%|％|万|萬|亿|億|千|百|倍|年|月|日|号|號|分钟|分鐘|秒|小时|小時|天|人|名|家|款|个|個|"
                    r"元|美元|亿元|fps|[KMGTB]\b|P\b|p\b)?")
CN_NUMBER = re.compile(r"[一二两三四五六七八九十百千万亿]+(?:位|名|个|倍|年|周|週|天|分钟|秒)")
NAME_QUOTE = re.compile(r"「[^」]{1,20}」|《[^》]{1,30}》|“[^”]{1,20}”")
LATIN = re.compile(r"(?<![A-Za-z])[A-Za-z][A-Za-z0-9.+-]*[A-Za-z0-9+]|\b\d{3,4}[Pp]\b")


def estimate_english(text: str) -> int:
    """Rough English length of a Chinese text once translated."""
    han = len(_HAN.findall(text))
    other = len(re.sub(r"\s", "", _HAN.sub("", text)))
    return int(han * EN_PER_HAN + other * EN_PER_OTHER) + 2


def specificity(text: str, glossary: Glossary | None = None) -> float:
    """Concrete facts: numbers with units, glossary names, 「」 names, Latin names; capped at 1."""
    t = _URL.sub(" ", text)
    count = len(NUMBER.findall(t)) + len(CN_NUMBER.findall(t)) + len(NAME_QUOTE.findall(t))
    count += len(set(LATIN.findall(t)))
    if glossary is not None:
        count += len({m.source for m in glossary.find(t)})
    return min(1.0, count / 6)


def overlap(a: frozenset[str], title: frozenset[str]) -> float:
    if not a or not title:
        return 0.0
    return min(1.0, len(a & title) / math.sqrt(len(title) * max(len(a), 1)) * 2)


def textrank(feats: list[frozenset[str]], damping: float = 0.85, iterations: int = 60) -> list[float]:
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
            w = shared / (math.log(len(feats[i]) + 1) + math.log(len(feats[j]) + 1))
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
