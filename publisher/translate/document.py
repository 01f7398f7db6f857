"""Translating article files: the English ``.en.md`` document and the per-file loop behind the CLI.

``translate_files(paths, out_dir)`` reads every article, translates the Chinese ones (with the
zh->en model, or zt->en for Traditional Chinese when installed), skips the others with a
reason, and writes ``<name>.en.md``: English Markdown whose frontmatter carries the translated
title next to the original, author, date, source URL, source file hash, model and
``machine_translated: true``. One bad file never stops the others.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from ..errors import ModelError, PublisherError
from ..models import Article, TranslatedArticle


def output_path(article_path: Path, out_dir: Path | None = None) -> Path:
    """``<out_dir or the article's folder>/<stem>.en.md``."""
    return (out_dir or article_path.parent) / f"{article_path.stem}.en.md"


def frontmatter(translated: TranslatedArticle) -> dict[str, Any]:
    a = translated.article
    meta: dict[str, Any] = {"title": translated.title, "original_title": a.title}
    if a.description:
        meta["description"] = translated.description
        meta["original_description"] = a.description
    meta["author"] = a.author
    meta["date"] = _yaml_date(a.date)
    meta["source_url"] = a.url
    if a.publication:
        meta["publication"] = a.publication
    meta["source_file"] = a.path.name
    meta["source_hash"] = a.source_hash
    meta["language"] = "en" if translated.translated else a.language
    meta["original_language"] = a.language
    meta["model"] = translated.model
    meta["model_version"] = translated.model_version
    meta["machine_translated"] = translated.translated
    if translated.warnings:
        meta["translation_notes"] = list(translated.warnings)
    return meta


def _yaml_date(value: dt.date | dt.datetime | None) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def english_document(translated: TranslatedArticle) -> str:
    """The ``.en.md`` text: YAML frontmatter, then the English Markdown body."""
    import yaml

    head = yaml.safe_dump(frontmatter(translated), allow_unicode=True, sort_keys=False, width=1000)
    return f"---\n{head}---\n\n{translated.markdown.strip()}\n"


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class FileResult:
    path: Path
    status: str
    """"written", "skipped" or "failed"."""
    message: str
    output: Path | None = None
    translated: TranslatedArticle | None = None


@dataclass
class Translators:
    """Translators by source language, loaded once each; a missing model is remembered too."""

    load: Callable[[str], Any]
    loaded: dict[str, Any] = field(default_factory=dict)

    def for_article(self, article: Article) -> Any:
        from .argos import source_code_for

        code = source_code_for(article.language)
        if code not in self.loaded:
            try:
                self.loaded[code] = self.load(code)
            except ModelError as exc:
                self.loaded[code] = exc
        found = self.loaded[code]
        if isinstance(found, ModelError):
            raise found
        return found


def translate_files(
    paths: Iterable[Path],
    out_dir: Path | None = None,
    *,
    translators: Translators | None = None,
    cache: Any = None,
    glossary: Any = None,
    on_result: Callable[[FileResult], None] | None = None,
) -> list[FileResult]:
    """Translate every article under ``paths``; see the module docstring."""
    from ..ingest import ReadFailure, read_articles
    from .glossary import load_glossary
    from .pipeline import TranslationStats, translate_article

    if translators is None:
        from .argos import load_translator

        translators = Translators(lambda code: load_translator(code, "en"))
    results: list[FileResult] = []

    def report(result: FileResult) -> None:
        results.append(result)
        if on_result:
            on_result(result)

    for item in read_articles(paths):
        if isinstance(item, ReadFailure):
            report(FileResult(item.path, "failed", str(item.error)))
            continue
        article = item
        if not article.is_chinese:
            report(FileResult(article.path, "skipped", f"not Chinese (detected {article.language}), not translated"))
            continue
        try:
            if glossary is None:
                glossary = load_glossary()
            translator = translators.for_article(article)
            stats = TranslationStats()
            translated = translate_article(article, translator, glossary=glossary, cache=cache, stats=stats)
            target = output_path(article.path, out_dir)
            write_atomically(target, english_document(translated))
        except PublisherError as exc:
            report(FileResult(article.path, "failed", str(exc)))
            continue
        except OSError as exc:
            report(FileResult(article.path, "failed", f"cannot write the translation ({exc.strerror or exc})"))
            continue
        detail = f"{stats.sentences} sentences, {stats.cached} from the cache"
        if stats.pieces:
            detail += f", {stats.pieces} in pieces"
        report(FileResult(article.path, "written", detail, output=target, translated=translated))
    return results
