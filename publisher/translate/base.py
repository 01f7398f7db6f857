"""The Translator interface, and a fake for tests that need exact English.

A translator turns plain sentences into English, one output per input, in order. Everything
around it (sentence splitting, keeping Markdown, the glossary, the cache) is done by the
pipeline, so every backend behaves the same.
"""

from __future__ import annotations

from typing import Mapping, Protocol, Sequence, runtime_checkable


@runtime_checkable
class Translator(Protocol):
    name: str
    """Model identity, e.g. "translate-zh_en"; part of the cache key."""
    version: str
    """Model version, e.g. "1.9"; part of the cache key."""

    def translate_sentences(self, sentences: Sequence[str]) -> list[str]:
        """Translate each sentence; returns exactly one string per input, in order."""
        ...


class FakeTranslator:
    """Looks sentences up in a phrasebook; unknown ones come back marked, never invented.

    ``phrasebook`` maps a source sentence (as the pipeline hands it over, placeholders
    included) to its English. An unknown sentence becomes ``"[zh] " + sentence`` so that a
    test can see exactly which sentence was missing.
    """

    name = "fake"
    version = "1"

    def __init__(self, phrasebook: Mapping[str, str] | None = None):
        self.phrasebook = dict(phrasebook or {})
        self.calls: list[list[str]] = []

    def translate_sentences(self, sentences: Sequence[str]) -> list[str]:
        self.calls.append(list(sentences))
        return [self.phrasebook.get(s.strip(), f"[zh] {s.strip()}") for s in sentences]
