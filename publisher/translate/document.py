"""The English ``.en.md`` document of a translated article: English Markdown whose frontmatter
carries the translated title next to the original, author, date, source URL, source file hash,
model and ``machine_translated: true``. (The per-file loop behind ``publisher translate`` is
:func:`publisher.app.translate_files`.)
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from publisher.models import TranslatedArticle


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
