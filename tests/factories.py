"""Build articles and translated articles by hand, for tests that need exact English.

``fake_translate`` is a small stand-in for the translation pipeline: it splits each block's
text into sentences and looks each one up in a phrasebook (keyed by the raw Chinese sentences)
through FakeTranslator, so that tests of summaries and threads on small made-up articles do not
depend on the pipeline's details (placeholders, glossary). ``seed_translated`` runs the seed
through the real pipeline with FakeTranslator and tests/fixtures/seed_phrasebook.yaml.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import yaml

from publisher.ingest import parse_article
from publisher.models import Article, Sentence, TranslatedArticle, TranslatedBlock
from publisher.summarize import split_sentences
from publisher.translate.base import FakeTranslator

FIXTURES = Path(__file__).parent / "fixtures"
SEED = Path(__file__).resolve().parent.parent / "seeds" / "000_effdbda2e4cb0846.txt"


def load_phrasebook(name: str = "seed_phrasebook.yaml") -> dict[str, str]:
    data = yaml.safe_load((FIXTURES / name).read_text(encoding="utf-8"))
    return {str(k).strip(): str(v).strip() for k, v in data.items()}


def seed_translated(path: Path = SEED) -> TranslatedArticle:
    """The seed through the real translation pipeline, with readable English from the phrasebook."""
    from publisher.ingest import read_article
    from publisher.translate.pipeline import translate_article

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
