"""Hand-made articles, translations and threads for outbox and publishing tests.

Articles are real: written to a file and read with :func:`publisher.ingest.read_article`.
Translations and threads are built directly (the translate and threads stages are tested on
their own); thread lengths are measured with the platform's real counting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

from publisher.ingest import read_article
from publisher.lengths import DEFAULT_LIMITS, measure
from publisher.models import Article, Post, Thread, TranslatedArticle, TranslatedBlock
from publisher.outbox import Ingested, Outbox

ARTICLE = """---
title: {title}
author: 机器之心
date: 2024-06-14
url: https://example.com/articles/{slug}
---

# {title}

{body}
"""


def write_article(folder: Path, name: str = "article.md", *, title: str = "快手「可灵」爆火",
                  body: str = "快手发布了视频生成大模型可灵。它可以生成两分钟的视频。", slug: str | None = None) -> Path:
    """Write an article file (UTF-8, YAML frontmatter) and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(ARTICLE.format(title=title, body=body, slug=slug or path.stem), encoding="utf-8")
    return path


def make_article(folder: Path, name: str = "article.md", **kwargs) -> Article:
    return read_article(write_article(folder, name, **kwargs))


def make_translated(article: Article, title: str | None = None) -> TranslatedArticle:
    blocks = tuple(TranslatedBlock(block=b, markdown=f"[en] {b.source}", text=f"[en] {b.text}") for b in article.blocks)
    return TranslatedArticle(article=article, title=title or f"[en] {article.title}", description=None, blocks=blocks,
                             markdown="\n\n".join(b.markdown for b in blocks), model="fake", model_version="1",
                             translated=True)


def thread_texts(tag: str, n_posts: int) -> list[str]:
    """``n_posts`` distinct post texts (X refuses duplicates, so every thread's texts differ)."""
    texts = [f"{tag}: Kuaishou's Kling makes two-minute videos. A thread 🧵"]
    texts += [f"{tag} — point {i}: the model runs at 30 fps and 1080p." for i in range(1, n_posts - 1)]
    if n_posts > 1:
        texts.append(f"{tag} — machine-translated from 机器之心 (https://example.com/{tag}).")
    return texts


def make_thread(article: Article, platform: str = "x", texts: Sequence[str] | None = None, *,
                n_posts: int = 3, measured: bool = True) -> Thread:
    texts = list(texts) if texts is not None else thread_texts(article.path.stem, n_posts)
    limit = DEFAULT_LIMITS[platform]
    roles = ["hook"] + ["point"] * (len(texts) - 2) + ["attribution"] if len(texts) > 1 else ["hook"]
    posts = tuple(Post(text=t, role=r, length=measure(platform, t) if measured else len(t), limit=limit)  # type: ignore[arg-type]
                  for t, r in zip(texts, roles))
    return Thread(platform=platform, posts=posts, article_hash=article.source_hash, title=article.title)


def store(outbox: Outbox, folder: Path, name: str = "article.md", *, n_posts: int = 3,
          platforms: Iterable[str] = ("x",), auto_approve: bool = False, texts: Sequence[str] | None = None,
          **article_kwargs) -> Ingested:
    """Write, read and store one article with a thread per platform."""
    article = make_article(folder, name, **article_kwargs)
    threads = {p: make_thread(article, p, texts, n_posts=n_posts) for p in platforms}
    return outbox.add_article(article, make_translated(article), threads, auto_approve=auto_approve)
