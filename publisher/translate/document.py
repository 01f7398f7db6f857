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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from ..errors import PublisherError
from ..models import TranslatedArticle

if TYPE_CHECKING:
    from ..pipeline import Pipeline


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


def translate_files(
    paths: Iterable[Path],
    out_dir: Path | None = None,
    *,
    translators: Pipeline | None = None,
    cache: Any = None,
    glossary: Any = None,
    on_result: Callable[[FileResult], None] | None = None,
) -> list[FileResult]:
    """Translate every article under ``paths``; see the module docstring."""
    from ..ingest import ReadFailure, read_articles
    from .glossary import load_glossary
    from .pipeline import TranslationStats, translate_article

    if translators is None:
        from ..pipeline import Pipeline

        translators = Pipeline()
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
            translator = translators.translator_for(article)
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
