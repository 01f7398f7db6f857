"""Hand-made articles, translations and threads for tests.

* Articles are real: written to a file (or bytes) and read with publisher's own ingest.
* ``fake_translate`` splits each block into sentences and looks each one up in a phrasebook
  through FakeTranslator, so that summary and thread tests on small made-up articles do not
  depend on the translation pipeline's details; ``seed_translated`` runs the seed through the
  real pipeline with FakeTranslator and tests/fixtures/seed_phrasebook.yaml.
* ``make_thread`` / ``store`` build threads directly for outbox and publishing tests (lengths
  measured with each platform's real counting).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping, Sequence

import yaml

from publisher.articles.read import parse_article, read_article
from publisher.lengths import DEFAULT_LIMITS, measure
from publisher.models import Article, Post, Sentence, Thread, TranslatedArticle, TranslatedBlock
from publisher.queue.outbox import Outbox
from publisher.queue.records import Ingested
from publisher.threads.summarize import split_sentences
from publisher.translate.base import FakeTranslator

FIXTURES = Path(__file__).parent / "fixtures"
SEED = Path(__file__).resolve().parent.parent / "seeds" / "000_effdbda2e4cb0846.txt"


def load_phrasebook(name: str = "seed_phrasebook.yaml") -> dict[str, str]:
    data = yaml.safe_load((FIXTURES / name).read_text(encoding="utf-8"))
    return {str(k).strip(): str(v).strip() for k, v in data.items()}


def seed_translated(path: Path = SEED) -> TranslatedArticle:
    """The seed through the real translation pipeline, with readable English from the phrasebook."""
    from publisher.articles.read import read_article
    from publisher.translate.article import translate_article

    return translate_article(read_article(path), FakeTranslator(load_phrasebook()))


def article(text: str, name: str = "article.md") -> Article:
    """An Article read by the real ingest from ``text`` (frontmatter and Markdown)."""
    return parse_article(text.encode("utf-8"), Path(name))


_TRANSLATED_KINDS = ("heading", "paragraph", "quote", "list", "table")


def fake_translate(source: Article, phrasebook: Mapping[str, str] | None = None, *,
                   title: str | None = None, description: str | None = None,
                   translated: bool = True, glossary_hits: tuple[str, ...] = ()) -> TranslatedArticle:
    """Translate ``source`` sentence by sentence from ``phrasebook`` (unknown: "[zh] ...")."""
    translator = FakeTranslator(phrasebook or {})
    blocks = []
    english_parts = []
    for index, block in enumerate(source.blocks):
        if block.kind in _TRANSLATED_KINDS and block.text.strip():
            originals = split_sentences(block.text)
            english = translator.translate_sentences(originals) if translated else list(originals)
            sentences = tuple(Sentence(source=o, text=e, block=index) for o, e in zip(originals, english))
            text = " ".join(english)
            markdown = ("#" * block.level + " " + text) if block.kind == "heading" else text
        else:
            sentences, text, markdown = (), block.text, block.source
        blocks.append(TranslatedBlock(block=block, markdown=markdown, text=text, sentences=sentences))
        english_parts.append(markdown)
    if title is None:
        title = translator.translate_sentences([source.title])[0] if translated else source.title
    return TranslatedArticle(
        article=source,
        title=title,
        description=description,
        blocks=tuple(blocks),
        markdown="\n\n".join(english_parts),
        model="fake" if translated else "none",
        model_version="1" if translated else "",
        translated=translated,
        glossary_hits=glossary_hits,
    )

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
