"""Engine ``argos``: argostranslate's own translate path, made offline (``pip install 'publisher[argos]'``).

For users who want argostranslate's exact behaviour, and the benchmark's baseline. The package
is read by ``argostranslate.package.Package`` and translated by its ``PackageTranslation``:
argostranslate's tokenizer calls, its ``translate_batch`` settings (batches of 32 *tokens*,
``ARGOS_BEAM_SIZE``-style beam, no decoding bound) and its decoding. One thing is replaced:
its sentence splitter. argostranslate 1.11 splits with Stanza or MiniSBD, which fetch files
from the network on first use; publisher has already split the article into sentences
(:mod:`publisher.translate.splitter`), so each sentence goes to argostranslate as one.

Importing argostranslate.translate loads torch, Stanza and spaCy (about 1.3 s and 600 MB),
which is why this engine is optional and only imported when chosen.
"""

from __future__ import annotations

import threading
from typing import Any, Sequence

from publisher.errors import ModelError
from publisher.translate.argos import DecodingOptions
from publisher.translate.packages import InstalledPackage

INSTALL_HINT = "pip install 'publisher[argos]'"


class _GivenSentences:
    """A sentencizer for argostranslate that keeps the text as one sentence (already split)."""

    def __init__(self, pkg: Any):
        self.pkg = pkg

    def split_sentences(self, text: str) -> list[str]:
        return [text]

    def __str__(self) -> str:
        return "publisher's sentences"


class ArgostranslateTranslator:
    """A :class:`~publisher.translate.base.Translator` that runs argostranslate's translate path."""

    engine = "argos"

    def __init__(self, package: InstalledPackage, options: DecodingOptions | None = None, notes: Sequence[str] = ()):
        self.package = package
        self.options = options or DecodingOptions()
        self.name = package.code
        self.version = package.version
        self.notes = tuple(notes)
        self._lock = threading.Lock()
        self._translation: Any = None
        self._settings: Any = None

    @property
    def identity(self) -> str:
        """Cache identity: engine, package and beam (argostranslate decodes differently from ours)."""
        return f"argostranslate:{self.name}|beam={self.options.beam_size}"

    def load(self) -> None:
        with self._lock:
            if self._translation is not None:
                return
            try:
                from argostranslate import package as argos_package
                from argostranslate import settings
                from argostranslate import translate as argos_translate
            except ImportError as exc:
                raise ModelError(f"translation engine argos needs argostranslate ({exc}); install it with "
                                 f"`{INSTALL_HINT}`, or use the default engine ctranslate2") from None
            try:
                pkg = argos_package.Package(self.package.path)
                translation = argos_translate.PackageTranslation(None, None, pkg)
            except Exception as exc:  # argostranslate raises whatever its parts raise
                raise ModelError(f"{self.package.path}: argostranslate cannot load the package ({exc})") from None
            translation.sentencizer = _GivenSentences(pkg)
            inter, intra = self.options.thread_split()
            settings.device = self.options.device
            settings.inter_threads = inter
            settings.intra_threads = intra
            self._settings = settings
            self._translation = translation

    def translate_sentences(self, sentences: Sequence[str]) -> list[str]:
        if not sentences:
            return []
        self.load()
        settings = self._settings
        results = []
        with self._lock:  # argostranslate's settings are module globals
            settings.beam_size = self.options.beam_size
            for sentence in sentences:
                if not sentence.strip():
                    results.append("")
                    continue
                try:
                    results.append(self._translation.translate(sentence))
                except (RuntimeError, ValueError) as exc:
                    raise ModelError(f"{self.package.path}: translation failed ({exc})") from None
        return results
