"""The preview (what ``publisher preview`` shows, a dry run): an article's threads, chosen,
translated and built exactly as ingest builds them, and stored nowhere.

Unlike ingest, it also works without a translation model: the threads are then shown
untranslated, and the reason comes back as data (:attr:`ArticlePreview.untranslated`) for the
command to warn with.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

from publisher.app import FileOutcome

if TYPE_CHECKING:
    from publisher.app import Chosen
    from publisher.settings import Settings
    from publisher.models import Article, TranslatedArticle
    from publisher.threads.layout import ThreadDraft
    from publisher.threads.options import ThreadOptions
    from publisher.translate.base import Translator
    from publisher.translate.glossary import Glossary


@dataclass(frozen=True)
class ArticlePreview:
    """Everything the preview shows for one article."""

    article: Article
    translated: TranslatedArticle
    drafts: dict[str, ThreadDraft]
    chosen: Chosen | None = None
    """The selection and the credit behind the threads."""
    untranslated: str | None = None
    """No model for the article's script: why (to warn that the threads are untranslated; set the
    first time for each script only, as the warning is said once)."""


class Translation:
    """Translates articles for the preview through :class:`publisher.app.Pipeline`:
    with ``translator`` when given (tests pass a FakeTranslator), else with the installed model
    for the article's script, loaded once.

    No model installed: articles pass through untranslated, with a loud warning (once, given
    back as :attr:`ArticlePreview.untranslated`) saying how to install one, so that the preview still works. (Only the preview does this: ingest
    and the daemon never queue an untranslated article.)
    """

    def __init__(self, translator: Translator | None = None, glossary: Glossary | None = None) -> None:
        from publisher.app import Pipeline

        self.pipeline = Pipeline(translator=translator, glossary=glossary)
        self._warned: set[str] = set()

    @property
    def glossary(self) -> Glossary:
        return self.pipeline.glossary

    def __call__(self, article: Article, chosen=None) -> TranslatedArticle:
        """The article's English: what ``chosen`` needs (as ingest translates it), else the whole
        article; untranslated when no model is installed."""
        return self.translate(article, chosen)[0]

    def translate(self, article: Article, chosen=None) -> tuple[TranslatedArticle, str | None]:
        """The article's English, and why it is untranslated when no model is installed (the first
        time for the article's script; None after, and when it is translated)."""
        from publisher.errors import ModelError
        from publisher.translate.article import passthrough, translate_article

        if not article.is_chinese:
            return translate_article(article, None), None
        try:
            translator = self.pipeline.translator_for(article)
        except ModelError as exc:
            warning = None
            if article.language not in self._warned:
                self._warned.add(article.language)
                warning = str(exc)
            return passthrough(article, f"NOT TRANSLATED: {exc}"), warning
        if chosen is not None:
            return self.pipeline.translate_chosen(article, chosen), None
        return translate_article(article, translator, glossary=self.glossary), None


def preview_article(article: Article, platforms: Sequence[str], options: ThreadOptions,
                    translation: Translation, images: str = "none", base_url: str | None = None) -> ArticlePreview:
    """Choose on the source, translate what was chosen and build the threads, exactly as ingest
    does (the same choice with or without a model); glossary names are never split across posts.
    ``images`` ("lead", "points", "off" or "none") adds images as ingest would (fetched into the
    media store, once); ``base_url`` completes a relative permalink (the schedule source's)."""
    pipeline = translation.pipeline
    pipeline.use_options(options)
    pipeline.base_url = base_url
    pipeline.images = images
    chosen = pipeline.choose(article)
    translated, untranslated = translation.translate(article, chosen)
    drafts = pipeline.drafts(article, translated, platforms, chosen)
    return ArticlePreview(article, translated, drafts, chosen, untranslated)


def preview_files(paths: Iterable[Path], platforms: Sequence[str], settings: Settings, translation: Translation,
                  on_outcome: Callable[[FileOutcome], None] | None = None) -> list[FileOutcome]:
    """The preview of every article under ``paths``, with ``settings`` (the options, the images,
    and each file's source for its base_url); a file that cannot be read is reported and the others
    still shown."""
    from publisher.articles.read import ReadFailure, read_articles

    outcomes = []
    for item in read_articles(paths):
        if isinstance(item, ReadFailure):
            outcome = FileOutcome(item.path, error=item.error)
        else:
            source = settings.plan(item.path).source
            outcome = FileOutcome(item.path, preview=preview_article(
                item, platforms, settings.options, translation, settings.image_mode,
                base_url=source.base_url if source is not None else None))
        outcomes.append(outcome)
        if on_outcome:
            on_outcome(outcome)
    return outcomes
