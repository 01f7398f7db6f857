"""The whole flow on one screen: read -> translate -> summarise and render -> store.

:class:`Pipeline` holds what is loaded once per run (translation models per source script,
the glossary, the translation cache, thread options) and turns one article file into its
threads; :func:`ingest_paths` stores them in the outbox, :func:`translate_files` writes ``.en.md``
files, each reporting a :class:`FileOutcome` per file. ``publisher ingest``, the daemon's source
scan and the preview (:mod:`publisher.preview`) all go through here, so they agree on every rule:

* Only Chinese articles are queued. Anything else is refused with a message saying what it
  looks like: a thread saying "Machine-translated from Chinese" must never carry untranslated
  or foreign text.
* A Chinese article with no model installed is not queued (ModelError); the preview alone may
  show it untranslated, with a warning.
* Glossary names are never split across posts.
* Threads are cut with the same settings everywhere (:func:`publisher.settings.resolve_settings`):
  schedule.yaml's ``threads:`` and ``platforms.<name>.max_characters/max_posts``, and for a file inside one of
  its sources that source's ``platforms`` and ``auto_approve``; explicit command-line options win.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from publisher.errors import ModelError, PublisherError
from publisher.settings import IngestPlan, Settings

if TYPE_CHECKING:
    import datetime as dt

    from publisher.models import Article, Thread, TranslatedArticle
    from publisher.queue.outbox import Outbox
    from publisher.queue.records import Ingested
    from publisher.preview import ArticlePreview
    from publisher.threads.credits import Credit
    from publisher.threads.layout import ThreadDraft
    from publisher.threads.options import ThreadOptions
    from publisher.threads.summarize import Selection
    from publisher.translate.base import Translator
    from publisher.translate.cache import TranslationCache
    from publisher.translate.engines import TranslationConfig
    from publisher.translate.glossary import Glossary


@dataclass(frozen=True)
class Chosen:
    """What a thread says (publisher.threads.summarize.Selection) and whom it credits (publisher.threads.credits.Credit)."""

    selection: Selection
    credit: Credit


@dataclass(frozen=True)
class Prepared:
    """One article, translated, with a thread per platform."""

    article: Article
    translated: TranslatedArticle
    threads: dict[str, Thread]


class Pipeline:
    """Translate and render articles. Models are loaded once per source script, on first use.

    ``translator`` replaces the installed models (tests pass a FakeTranslator); ``cache``
    (a TranslationCache, or True for the default file) makes unchanged sentences free.
    """

    def __init__(self, *, translator: Translator | None = None, glossary: Glossary | None = None,
                 cache: TranslationCache | bool | None = None, options: ThreadOptions | None = None,
                 load: Callable[[str, str], Translator] | None = None) -> None:
        self._translator = translator
        self._glossary = glossary
        self._cache_arg = cache
        self._cache: TranslationCache | None = None
        self._options = options
        self._load = load
        self._models: dict[tuple[TranslationConfig | None, str], Translator | ModelError] = {}
        self.hold_untranslated = True
        """Auto-approval waits for a person when Chinese is left in the English posts."""
        self.translation: Callable[[Path], TranslationConfig] | None = None
        """The translation settings for a file (schedule.yaml's ``translation:``); None: the defaults."""
        self.images = "none"
        """Images for threads (:mod:`publisher.media`): "none" (the library default), "lead",
        "points", or "off" (asked for none: text-only, with a warning). Settings give "lead"."""
        self.fetcher = None
        """The :class:`publisher.media.fetch.Fetcher` (made on first use)."""
        self.wrap: Callable[[Translator], Translator] | None = None
        """Wraps every translator loaded (the CLI's progress bar counts sentences through it)."""
        self.base_url: str | None = None
        """What a relative permalink of the next article is joined with (its source's base_url)."""

    @property
    def glossary(self) -> Glossary:
        if self._glossary is None:
            from publisher.translate.glossary import load_glossary

            self._glossary = load_glossary()
        return self._glossary

    @property
    def options(self) -> ThreadOptions:
        if self._options is None:
            from publisher.threads.options import ThreadOptions

            self._options = ThreadOptions()
        return self._options

    def use_options(self, options: ThreadOptions) -> None:
        """Build the next threads with ``options`` (the daemon follows schedule.yaml edits)."""
        self._options = options

    @property
    def cache(self) -> TranslationCache | None:
        if self._cache is None and self._cache_arg:
            if self._cache_arg is True:
                from publisher.translate.cache import TranslationCache

                self._cache = TranslationCache()
            else:
                self._cache = self._cache_arg  # type: ignore[assignment]
        return self._cache

    def translator_for(self, article: Article) -> Translator:
        """The model for the article's script (zh-Hant prefers zt->en); ModelError when none."""
        if self._translator is not None:
            return self._translator
        from publisher.translate.argos import source_code_for
        from publisher.translate.engines import load_engine

        code = source_code_for(article.language)
        config = self.translation(article.path) if self.translation is not None and self._load is None else None
        key = (config, code)
        if key not in self._models:
            try:
                from publisher.translate.isolate import isolated

                loaded = self._load(code, "en") if self._load else load_engine(config, code, "en")
                loaded = isolated(loaded)  # native engines run in a worker process (#11)
                self._models[key] = self.wrap(loaded) if self.wrap is not None else loaded
            except ModelError as exc:
                self._models[key] = exc
        found = self._models[key]
        if isinstance(found, ModelError):
            raise found
        return found

    def thread_options(self, translated: TranslatedArticle) -> ThreadOptions:
        """The options, with the glossary's English names protected from splitting."""
        terms = tuple(self.glossary.terms[h] for h in translated.glossary_hits if h in self.glossary.terms)
        options = self.options
        if terms:
            options = replace(options, terms=tuple(dict.fromkeys(options.terms + terms)))
        return options

    def drafts(self, article: Article, translated: TranslatedArticle, platforms: Sequence[str],
               chosen: Chosen | None = None) -> dict[str, ThreadDraft]:
        """The thread drafts for ``chosen`` (made from the article when not given), with their
        images and link cards when images are on (:func:`publisher.media.attach.add_images`)."""
        from publisher.threads.layout import build_drafts

        chosen = chosen or self.choose(translated.article)

        def build(hook_room: str | None = None) -> dict[str, ThreadDraft]:
            return build_drafts(translated, tuple(platforms), options=self.thread_options(translated),
                                selection=chosen.selection, credit=chosen.credit, hook_room=hook_room)

        drafts = build()
        if self.images == "none":
            return drafts
        return self.add_images(translated, drafts, build)

    def add_images(self, translated: TranslatedArticle, drafts: dict[str, ThreadDraft],
                   rebuild: Callable[[str], dict[str, ThreadDraft]] | None = None) -> dict[str, ThreadDraft]:
        """The drafts with their images and link cards (:func:`publisher.media.attach.add_images`)."""
        from publisher.media.attach import add_images
        from publisher.media.fetch import Fetcher

        article = translated.article
        if self.fetcher is None and self.images != "off":
            self.fetcher = Fetcher()
        translator = None
        if article.is_chinese:
            try:
                translator = self.translator_for(article)
            except ModelError:
                translator = None
        return add_images(article, translated, drafts, "lead" if self.images == "off" else self.images,
                                None if self.images == "off" else self.fetcher, translator, self.glossary, rebuild)

    def choose(self, article: Article) -> Chosen:
        """What the thread will say, chosen on the Chinese source (no model involved), and the credit."""
        from publisher.threads.credits import build_credit
        from publisher.threads.plan import selection_budget
        from publisher.threads.summarize import select

        credit = build_credit(article, self.base_url or self.options.base_url, self.glossary)
        selection = select(article, points=self.options.points, budget=selection_budget(self.options),
                           glossary=self.glossary, credit=credit)
        return Chosen(selection, credit)

    def translate_chosen(self, article: Article, chosen: Chosen) -> TranslatedArticle:
        """English for the title, the description and what ``chosen`` may use (not the whole
        article): one translator call, with the glossary, the cache and the usual checks."""
        from publisher.translate.article import passthrough, translate_texts

        if not article.is_chinese:
            from publisher.errors import NotChinese

            raise NotChinese(article.path, f"not Chinese (it looks like {article.language}): publisher only "
                                           "reposts Chinese articles, so it was not queued")
        translator = self.translator_for(article)
        texts = [article.title] + ([article.description] if article.description else [])
        texts += chosen.selection.texts_to_translate()
        english, hits = translate_texts(texts, translator, glossary=self.glossary, cache=self.cache)
        base = passthrough(article, "")
        extracts = {t: english[t] for t in chosen.selection.texts_to_translate() if t in english}
        markdown = "\n".join(f"- {e}" for e in extracts.values())
        notes = tuple(getattr(translator, "notes", ()) or ())
        return replace(base, title=english.get(article.title) or article.title,
                       description=english.get(article.description) if article.description else None,
                       markdown=markdown, model=translator.name, model_version=translator.version,
                       translated=True, glossary_hits=hits, warnings=notes, extracts=extracts)

    def prepare(self, article: Article, platforms: Sequence[str]) -> Prepared:
        chosen = self.choose(article)
        translated = self.translate_chosen(article, chosen)
        drafts = self.drafts(article, translated, platforms, chosen)
        return Prepared(article, translated, {p: d.thread for p, d in drafts.items()})

    def close(self) -> None:
        if self._cache is not None and self._cache_arg is True:
            self._cache.close()
        if self.fetcher is not None:
            self.fetcher.close()


@dataclass(frozen=True)
class FileOutcome:
    """What a command did with one article file, the one record of every per-file loop here:
    ingest (``ingested``), translate (``output``, ``translated``, ``detail``) and preview
    (``preview``). ``error`` is set when the file failed, or was skipped (NotChinese)."""

    path: Path
    ingested: Ingested | None = None
    error: PublisherError | None = None
    output: Path | None = None
    """translate: the ``.en.md`` file written."""
    translated: TranslatedArticle | None = None
    detail: str = ""
    """translate: ``N sentences, M from the cache``."""
    preview: ArticlePreview | None = None

    @property
    def message(self) -> str:
        """The error (or what happened) as one line that names the file."""
        text = str(self.error) if self.error is not None else (self.detail or self.status)
        return text if text.startswith(str(self.path)) else f"{self.path}: {text}"

    @property
    def status(self) -> str:
        """"skipped" or "failed"; ingest: "new", "revision" or "unchanged"; translate: "written";
        preview: "shown"."""
        if self.error is not None:
            from publisher.errors import NotChinese

            return "skipped" if isinstance(self.error, NotChinese) else "failed"
        if self.output is not None:
            return "written"
        if self.ingested is None:
            return "shown"
        if self.ingested.unchanged and not self.ingested.publications:
            return "unchanged"
        return "revision" if self.ingested.revision > 1 and not self.ingested.unchanged else "new"


def ingest_file(path: Path, outbox: Outbox, pipeline: Pipeline, platforms: Sequence[str], *,
                auto_approve: bool = False, now: dt.datetime | None = None, base_url: str | None = None) -> Ingested:
    """Read, translate, render and store one article file (see Outbox.add_article).

    A file whose exact bytes are already stored for every platform does no translation work.
    ``base_url`` (the schedule source's) completes a relative ``permalink:``.
    """
    pipeline.base_url = base_url
    from publisher.articles.read import read_article

    article = read_article(path)
    known = outbox.platforms_of(article.source_hash)
    if known is not None and set(platforms) <= known:
        return outbox.add_article(article, None, {}, auto_approve=auto_approve, now=now)
    prepared = pipeline.prepare(article, platforms)
    held = review_reasons(prepared, untranslated=pipeline.hold_untranslated) if auto_approve else ()
    ingested = outbox.add_article(article, prepared.translated, prepared.threads,
                                  auto_approve=auto_approve and not held, now=now)
    from publisher.publishing.corrections import link

    link(outbox, ingested, now)  # a correction of a posted thread replies to it
    return replace(ingested, held=held) if held else ingested


def review_reasons(prepared: Prepared, *, untranslated: bool = True) -> tuple[str, ...]:
    """Why threads that a source would auto-approve must wait for a person after all.

    Always: a thread without a link to the original, or with neither an author nor a
    publication, and transcripts, speeches and Q&A digests (threads.plan.hold_reasons). With
    ``untranslated`` (schedule.yaml's ``hold_untranslated``, default on): Chinese left in the
    English posts, which means the translation failed somewhere (a sentence the model could not
    handle, a name missing from the glossary).
    """
    reasons: list[str] = []
    for platform, thread in prepared.threads.items():
        reasons.extend(thread.held)
        if untranslated:
            reasons.extend(f"{platform}: {why}" for why in thread.untranslated)
    return tuple(dict.fromkeys(reasons))


def ingest_paths(paths: Iterable[Path], outbox: Outbox, pipeline: Pipeline, platforms: Sequence[str] = (), *,
                 auto_approve: bool = False, settings: Settings | None = None,
                 on_outcome: Callable[[FileOutcome], None] | None = None) -> list[FileOutcome]:
    """Ingest every article under ``paths``; one bad file never stops the others.

    With ``settings`` each file gets its own :meth:`Settings.plan` (and the pipeline its
    options); otherwise ``platforms`` and ``auto_approve`` apply to every file.
    """
    from publisher.articles.read import ReadFailure, find_article_files

    if settings is not None:
        settings.apply_to(pipeline)
    outcomes = []
    for item in find_article_files(paths):
        if isinstance(item, ReadFailure):
            outcome = FileOutcome(item.path, error=item.error)
        else:
            plan = settings.plan(item) if settings is not None else IngestPlan(tuple(platforms), auto_approve)
            try:
                outcome = FileOutcome(item, ingest_file(item, outbox, pipeline, plan.platforms,
                                                          auto_approve=plan.auto_approve,
                                                          base_url=plan.source.base_url if plan.source else None))
            except PublisherError as exc:
                outcome = FileOutcome(item, error=exc)
        outcomes.append(outcome)
        if on_outcome:
            on_outcome(outcome)
    return outcomes


def translate_files(paths: Iterable[Path], out_dir: Path | None = None, *, translators: Pipeline | None = None,
                    cache: Any = None, glossary: Any = None,
                    on_outcome: Callable[[FileOutcome], None] | None = None) -> list[FileOutcome]:
    """Translate every article under ``paths`` to ``<name>.en.md`` (in ``out_dir``, else next to
    it; :mod:`publisher.translate.document`): the Chinese ones with the model for their script
    (zh->en, or zt->en for Traditional Chinese when installed), the others skipped with a reason.
    One bad file never stops the others."""
    from publisher.articles.read import ReadFailure, read_articles
    from publisher.errors import NotChinese
    from publisher.translate.article import TranslationStats, translate_article
    from publisher.translate.batch import chunks, translate_ahead
    from publisher.translate.document import english_document, output_path, write_atomically
    from publisher.translate.glossary import load_glossary

    if translators is None:
        translators = Pipeline()
    results: list[FileOutcome] = []

    def report(result: FileOutcome) -> None:
        results.append(result)
        if on_outcome:
            on_outcome(result)

    if glossary is None:
        glossary = load_glossary()
    for chunk in chunks(read_articles(paths), glossary):
        ahead = translate_ahead([a for a in chunk if not isinstance(a, ReadFailure) and a.is_chinese],
                                translators, glossary, cache)
        for item in chunk:
            if isinstance(item, ReadFailure):
                report(FileOutcome(item.path, error=item.error))
                continue
            article = item
            if not article.is_chinese:
                report(FileOutcome(article.path, error=NotChinese(
                    article.path, f"not Chinese (detected {article.language}), not translated")))
                continue
            try:
                translator = translators.translator_for(article)
                translator = ahead.get(id(translator), translator)
                stats = TranslationStats()
                translated = translate_article(article, translator, glossary=glossary, cache=cache, stats=stats)
                target = output_path(article.path, out_dir)
                write_atomically(target, english_document(translated))
            except PublisherError as exc:
                report(FileOutcome(article.path, error=exc))
                continue
            except OSError as exc:
                report(FileOutcome(article.path, error=PublisherError(
                    f"cannot write the translation ({exc.strerror or exc})")))
                continue
            detail = f"{stats.sentences} sentences, {stats.cached} from the cache"
            if stats.pieces:
                detail += f", {stats.pieces} in pieces"
            report(FileOutcome(article.path, output=target, translated=translated, detail=detail))
    return results
