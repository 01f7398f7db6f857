"""Translating article files: the English ``.en.md`` document and the per-file loop behind the CLI.

``translate_files(paths, out_dir)`` reads every article, translates the Chinese ones (with the
zh->en model, or zt->en for Traditional Chinese when installed), skips the others with a
reason, and writes ``<name>.en.md``: English Markdown whose frontmatter carries the translated
title next to the original, author, date, source URL, source file hash, model and
``machine_translated: true``. One bad file never stops the others.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

from publisher.errors import PublisherError
from publisher.models import TranslatedArticle

if TYPE_CHECKING:
    from publisher.app import Pipeline


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
    from publisher.config import write_atomically as write

    write(path, text, mode=0o600)  # as mkstemp made it before


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
    from publisher.articles.read import ReadFailure, read_articles
    from publisher.translate.glossary import load_glossary
    from publisher.translate.article import TranslationStats, translate_article

    if translators is None:
        from publisher.app import Pipeline

        translators = Pipeline()
    results: list[FileResult] = []

    def report(result: FileResult) -> None:
        results.append(result)
        if on_result:
            on_result(result)

    if glossary is None:
        glossary = load_glossary()
    for chunk in _chunks(read_articles(paths), glossary):
        ahead = _translate_ahead([a for a in chunk if not isinstance(a, ReadFailure) and a.is_chinese],
                                 translators, glossary, cache)
        for item in chunk:
            if isinstance(item, ReadFailure):
                report(FileResult(item.path, "failed", str(item.error)))
                continue
            article = item
            if not article.is_chinese:
                report(FileResult(article.path, "skipped",
                                  f"not Chinese (detected {article.language}), not translated"))
                continue
            try:
                translator = translators.translator_for(article)
                translator = ahead.get(id(translator), translator)
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


# --- several articles in one model call ---------------------------------------------------------

AHEAD_SENTENCES = 256
"""Sentences of consecutive articles translated together in one engine call (at most)."""
AHEAD_FILES = 64


def _chunks(items: Iterable[Any], glossary: Any) -> Iterator[list[Any]]:
    """Consecutive read results, cut when they hold AHEAD_SENTENCES sentences or AHEAD_FILES files."""
    from publisher.translate.article import model_inputs

    chunk: list[Any] = []
    count = 0
    for item in items:
        chunk.append(item)
        if getattr(item, "is_chinese", False):
            count += len(model_inputs(item, glossary))
        if count >= AHEAD_SENTENCES or len(chunk) >= AHEAD_FILES:
            yield chunk
            chunk, count = [], 0
    if chunk:
        yield chunk


class _Ahead:
    """A translator that answers from translations made ahead, for several articles at once, and
    asks the engine it wraps for anything else (the fallback's pieces)."""

    def __init__(self, inner: Any, answers: dict[str, str]):
        self.inner = inner
        self.answers = answers

    def __getattr__(self, name: str) -> Any:  # name, version, identity, notes, engine...
        return getattr(self.inner, name)

    def translate_sentences(self, sentences: Sequence[str]) -> list[str]:
        missing = list(dict.fromkeys(s for s in sentences if s not in self.answers))
        if missing:
            self.answers.update(zip(missing, self.inner.translate_sentences(missing)))
        return [self.answers[s] for s in sentences]


def _translate_ahead(articles: list[Any], translators: Any, glossary: Any, cache: Any) -> dict[int, _Ahead]:
    """The first-pass sentences of ``articles`` that are not cached, one engine call per engine.

    All the articles of a folder then share CTranslate2's batches (an article of 7 sentences
    alone leaves batches small), which is what makes ``publisher translate FOLDER`` as fast as
    one raw CTranslate2 call on the same sentences. Anything going wrong here is left to the
    per-article path, which reports it against the file.
    """
    from publisher.translate.article import _identity, model_inputs

    groups: dict[int, tuple[Any, list[str]]] = {}
    for article in articles:
        try:
            translator = translators.translator_for(article)
        except PublisherError:
            continue
        groups.setdefault(id(translator), (translator, []))[1].extend(model_inputs(article, glossary))
    ahead: dict[int, _Ahead] = {}
    for key, (translator, inputs) in groups.items():
        unique = list(dict.fromkeys(inputs))
        if cache is not None:
            found = cache.get_many(_identity(translator), translator.version, glossary.version, unique)
            unique = [s for s in unique if s not in found]
        if len(unique) < 2:
            continue
        try:
            outputs = translator.translate_sentences(unique)
        except PublisherError:
            continue
        if len(outputs) == len(unique):
            ahead[key] = _Ahead(translator, dict(zip(unique, outputs)))
    return ahead
