"""The argos backend: an installed argos package driven through CTranslate2 directly.

argostranslate's own translate path imports spaCy, Stanza and torch (1.3 s, 600 MB), fetches
sentence-splitter files from the network on first use, and translates sentence by sentence in
batches of 32 *tokens* with no decoding bound. This backend loads only the package's
SentencePiece model and its CTranslate2 model, and translates all the sentences it is given in
one ``translate_batch`` call: CTranslate2 sorts them by length and cuts them into small
batches itself, so similar lengths share a batch, and runs the batches in parallel, one per
core (see ``benchmarks/translate.py`` for why that beats bigger batches or more threads per
batch).

Decoding matches argostranslate 1.11 (``apply_packaged_translation``): the same tokenizer
calls, ``beam_size`` 4, one hypothesis, ``length_penalty=0.2``, ``replace_unknowns=True``, the
package's target prefix, and the same decoding of pieces (``▁`` and ``_`` become spaces, one
leading space dropped), so at the same beam size the outputs are argostranslate's. What differs
is only what makes it fast and bounded: ``max_decoding_length`` is at most
``length_ratio`` × the longest source (in pieces) + ``length_extra`` and never more than 256,
so a repetition loop cannot run long.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from publisher.errors import ConfigError, ModelError
from publisher.translate.packages import InstalledPackage, find_installed, models_dir

if TYPE_CHECKING:
    import ctranslate2
    import sentencepiece

#: CTranslate2's own default bound; ours is never higher.
HARD_DECODING_CAP = 256
#: Longest input handed to the model, in SentencePiece pieces (OPUS-MT models were trained on
#: sentences up to 512 positions; a longer input can abort CTranslate2). Longer sentences are
#: translated in chunks of this many pieces.
MAX_INPUT_PIECES = 200
#: Sentences per translate_batch call (CTranslate2 holds all results of a call in memory).
MAX_SENTENCES_PER_CALL = 512


@dataclass(frozen=True)
class DecodingOptions:
    beam_size: int = 4
    """argostranslate's default (ARGOS_BEAM_SIZE)."""
    threads: int = 0
    """CPU threads in all; 0 means every core."""
    inter_threads: int | None = None
    """Batches translated in parallel (default: up to 4, one per core)."""
    intra_threads: int | None = None
    """Threads per batch (default: the rest of ``threads`` spread over the batches)."""
    max_batch_size: int = 8
    """Sentences per batch. CTranslate2 sorts the sentences by length before cutting batches.
    Small batches on parallel workers beat big batches on a 65k vocabulary: each decoding step
    holds batch x beam x vocabulary scores, so big batches cost memory and cache misses."""
    step_budget: int = 640
    """Batch size x decoding bound at most this: long bounds get smaller batches. Each decoding
    step keeps keys and values for every step so far, so memory grows with both; this keeps
    the peak of a worst case (a model that never stops) under about 400 MB."""
    compute_type: str = "auto"
    """CTranslate2 picks the fastest type the device supports (int8 on CPU for an int8 model)."""
    device: str = "auto"
    """CTranslate2's device: "auto" is CUDA when CTranslate2 finds a GPU, else the CPU (where
    nothing changes); "cpu" or "cuda" to choose."""
    length_ratio: float = 2.0
    length_extra: int = 10
    max_decoding_length: int | None = None
    """A fixed bound instead of the relative one (benchmarks use it to compare engines)."""

    def thread_split(self) -> tuple[int, int]:
        """(inter_threads, intra_threads) for CTranslate2."""
        total = self.threads or os.cpu_count() or 1
        inter = self.inter_threads or max(1, min(4, total))
        intra = self.intra_threads if self.intra_threads is not None else max(1, total // inter)
        return inter, intra

    @classmethod
    def from_env(cls, **overrides: object) -> "DecodingOptions":
        """Options from PUBLISHER_TRANSLATE_BEAM / _THREADS / _INTER_THREADS / _BATCH, then overrides."""
        values: dict[str, object] = {}
        device = os.environ.get("PUBLISHER_TRANSLATE_DEVICE")
        if device:
            if device not in ("auto", "cpu", "cuda"):
                raise ConfigError(f"PUBLISHER_TRANSLATE_DEVICE must be auto, cpu or cuda, not {device!r}")
            values["device"] = device
        for env, key in (("PUBLISHER_TRANSLATE_BEAM", "beam_size"), ("PUBLISHER_TRANSLATE_THREADS", "threads"),
                         ("PUBLISHER_TRANSLATE_INTER_THREADS", "inter_threads"),
                         ("PUBLISHER_TRANSLATE_BATCH", "max_batch_size")):
            raw = os.environ.get(env)
            if raw:
                try:
                    values[key] = int(raw)
                except ValueError:
                    raise ConfigError(f"{env} must be a whole number, not {raw!r}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        options = cls(**values)  # type: ignore[arg-type]
        if options.beam_size < 1 or options.max_batch_size < 1 or options.threads < 0 \
                or (options.inter_threads is not None and options.inter_threads < 1) \
                or (options.intra_threads is not None and options.intra_threads < 0):
            raise ConfigError(f"invalid translation settings: {options}")
        return options


class ArgosTranslator:
    """A :class:`~publisher.translate.base.Translator` over one installed argos package.

    Nothing is loaded until the first sentence is translated, so a run answered entirely from
    the cache never loads the model.
    """

    engine = "ctranslate2"

    def __init__(self, package: InstalledPackage, options: DecodingOptions | None = None,
                 notes: Sequence[str] = ()):
        self.package = package
        self.options = options or DecodingOptions()
        self.name = package.code
        self.version = package.version
        self.notes = tuple(notes)
        self._lock = threading.Lock()
        self._sp: sentencepiece.SentencePieceProcessor | None = None
        self._model: ctranslate2.Translator | None = None

    @property
    def identity(self) -> str:
        """Cache identity: the package, and the beam size (which changes outputs)."""
        return f"{self.name}|beam={self.options.beam_size}"

    def load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            import ctranslate2
            import sentencepiece

            _limit_malloc_arenas()
            path = self.package.path
            try:
                self._sp = sentencepiece.SentencePieceProcessor(model_file=str(path / "sentencepiece.model"))
            except (OSError, RuntimeError) as exc:
                raise ModelError(f"{path}: cannot load sentencepiece.model ({exc}); reinstall the package") from None
            inter, intra = self.options.thread_split()
            try:
                self._model = ctranslate2.Translator(
                    str(path / "model"),
                    device=self.options.device,
                    compute_type=self.options.compute_type,
                    inter_threads=inter,
                    intra_threads=intra,
                )
            except (OSError, RuntimeError, ValueError) as exc:
                raise ModelError(f"{path}: cannot load the CTranslate2 model ({exc}); reinstall the package") from None

    def decoding_cap(self, tokens: Sequence[Sequence[str]]) -> int:
        if self.options.max_decoding_length is not None:
            return self.options.max_decoding_length
        longest = max((len(t) for t in tokens), default=0)
        return max(1, min(HARD_DECODING_CAP, int(longest * self.options.length_ratio) + self.options.length_extra))

    def batch_size(self, cap: int, count: int | None = None) -> int:
        """Sentences per batch for a decoding bound (see DecodingOptions.step_budget); with
        ``count`` sentences, small enough that every parallel worker gets a batch (an article of
        7 sentences is 2 batches of 4 on 2 workers, not 1 batch of 7 and an idle core)."""
        size = max(1, min(self.options.max_batch_size, self.options.step_budget // max(cap, 1)))
        if count:
            inter, _ = self.options.thread_split()
            size = min(size, max(1, -(-count // inter)))
        return size

    def translate_sentences(self, sentences: Sequence[str]) -> list[str]:
        """Translate all ``sentences`` in one batched CTranslate2 call."""
        if not sentences:
            return []
        self.load()
        assert self._sp is not None and self._model is not None
        tokens = [self._sp.encode(s, out_type=str) for s in sentences]
        # Never hand CTranslate2 more than it can take: a sentence longer than MAX_INPUT_PIECES
        # is cut into chunks of that many pieces, each translated on its own and joined again.
        items: list[list[str]] = []
        owner: list[int] = []
        for i, t in enumerate(tokens):
            for start in range(0, len(t), MAX_INPUT_PIECES):
                items.append(t[start:start + MAX_INPUT_PIECES])
                owner.append(i)
        results: list[str] = [""] * len(sentences)
        if not items:
            return results
        outputs: list[str] = []
        for start in range(0, len(items), MAX_SENTENCES_PER_CALL):  # bounded memory per call
            outputs += self._translate_tokens(items[start:start + MAX_SENTENCES_PER_CALL])
        parts: dict[int, list[str]] = {}
        for i, text in zip(owner, outputs):
            parts.setdefault(i, []).append(text)
        for i, texts in parts.items():
            results[i] = " ".join(t.strip() for t in texts if t.strip())
        return results

    def _translate_tokens(self, batch: list[list[str]]) -> list[str]:
        assert self._model is not None
        cap = self.decoding_cap(batch)
        prefix = self.package.target_prefix
        try:
            translated = self._model.translate_batch(
                batch,
                target_prefix=[[prefix]] * len(batch) if prefix else None,
                beam_size=self.options.beam_size,
                num_hypotheses=1,
                length_penalty=0.2,
                replace_unknowns=True,
                max_batch_size=self.batch_size(cap, len(batch)),
                batch_type="examples",
                max_decoding_length=cap,
                return_scores=False,
            )
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"{self.package.path}: translation failed ({exc})") from None
        finally:
            _release_freed_memory()
        return [self.decode(result.hypotheses[0]) for result in translated]

    def decode(self, pieces: Sequence[str]) -> str:
        """Pieces to text exactly as argostranslate's SentencePieceTokenizer does it."""
        assert self._sp is not None
        value = self._sp.decode_pieces(list(pieces)).replace("▁", " ").replace("_", " ")
        prefix = self.package.target_prefix
        if prefix and value.startswith(prefix):
            value = value[len(prefix):]
        if value.startswith(" "):
            value = value[1:]
        return value


def _libc():
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name) if name else None


def _limit_malloc_arenas() -> None:
    """Two malloc arenas instead of 8 per core: CTranslate2's worker threads otherwise each grow
    their own heap with the step buffers of beam search (glibc only; elsewhere a no-op)."""
    try:
        libc = _libc()
        if libc is not None and hasattr(libc, "mallopt"):
            libc.mallopt(-8, 2)  # M_ARENA_MAX
    except OSError:
        pass


def _release_freed_memory() -> None:
    """Give the buffers of a finished batch back to the system (glibc malloc_trim; else a no-op)."""
    try:
        libc = _libc()
        if libc is not None and hasattr(libc, "malloc_trim"):
            libc.malloc_trim(0)
    except OSError:
        pass


def load_translator(from_code: str = "zh", to_code: str = "en", *, directory: Path | None = None,
                    options: DecodingOptions | None = None) -> ArgosTranslator:
    """The installed translator for a pair; ModelError (with what to do) when none is installed.

    Traditional Chinese (``zt``) uses a zt->en package when one is installed, else zh->en with
    a note that ends up in the translated article's warnings.
    """
    directory = directory or models_dir()
    package = find_installed(from_code, to_code, directory)
    notes: tuple[str, ...] = ()
    if package is None and from_code == "zt":
        package = find_installed("zh", to_code, directory)
        if package is not None:
            notes = (f"Traditional Chinese translated with the Simplified Chinese model {package.code} "
                     "(no zt→en package installed)",)
    if package is None:
        raise ModelError(
            f"no {from_code}→{to_code} translation model installed in {directory}; run "
            f"`publisher models install` to get it from the argos index, or `publisher models install "
            f"FILE.argosmodel` to install a downloaded package"
        )
    return ArgosTranslator(package, options or DecodingOptions.from_env(), notes=notes)


def source_code_for(language: str) -> str:
    """The argos language code for an Article.language: zh-Hant -> zt, other Chinese -> zh."""
    return "zt" if language == "zh-Hant" else "zh"
