"""Several articles in one model call: the first-pass sentences of consecutive articles are
translated together (:func:`translate_ahead`), and each article's translation then answers from
them (:class:`Ahead`), so that ``publisher translate FOLDER`` fills the engine's batches.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Sequence

from publisher.errors import PublisherError


AHEAD_SENTENCES = 256
"""Sentences of consecutive articles translated together in one engine call (at most)."""
AHEAD_FILES = 64


def chunks(items: Iterable[Any], glossary: Any) -> Iterator[list[Any]]:
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


class Ahead:
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


def translate_ahead(articles: list[Any], translators: Any, glossary: Any, cache: Any) -> dict[int, Ahead]:
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
    ahead: dict[int, Ahead] = {}
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
            ahead[key] = Ahead(translator, dict(zip(unique, outputs)))
    return ahead
