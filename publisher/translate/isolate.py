"""Run the translator in a worker process, so that native code cannot take the run down.

CTranslate2 and SentencePiece are C++: an input they cannot take ends the process with
``Fatal Python error: Aborted`` — no exception, no message, and in the daemon every article
behind it waits forever. Limits (publisher.limits, MAX_INPUT_PIECES in argos.py) rule out the
inputs known to do that; this module is the net under them. :class:`IsolatedTranslator` hands
every ``translate_sentences`` call to a long-lived worker process (started on first use, so the
model is loaded once per run, in the worker only). When the worker dies (a signal, an abort) or
does not answer within the time-out, the call raises :class:`TranslationCrash` — that article's
error, one line — and the next call starts a fresh worker. ``TranslationCrash`` is an ordinary
:class:`~publisher.errors.PublisherError` (not a ModelError), so the daemon reports the file
once, remembers that version of it in ``reported_files``, and does not retry it on every scan.

Time-out: ``PUBLISHER_TRANSLATE_TIMEOUT`` seconds per call (default 120) plus one second per
sentence. ``PUBLISHER_TRANSLATE_ISOLATE=0`` translates in the process itself (no worker).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from typing import Any, Callable, Sequence

from publisher.errors import ConfigError, PublisherError

DEFAULT_TIMEOUT = 120.0
PER_SENTENCE = 1.0


class TranslationCrash(PublisherError):
    """The translation worker died or hung on this article's text."""


_CRASHED = "the translation engine crashed on this article's text"
_HUNG = "translation did not finish within"


def is_crash_message(message: str) -> bool:
    """Whether a reported error (as stored in reported_files) is a crash or a hang of the worker."""
    return _CRASHED in message or _HUNG in message


def isolation_enabled() -> bool:
    return os.environ.get("PUBLISHER_TRANSLATE_ISOLATE", "1").strip().lower() not in ("0", "no", "false", "off")


def base_timeout() -> float:
    raw = os.environ.get("PUBLISHER_TRANSLATE_TIMEOUT")
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"PUBLISHER_TRANSLATE_TIMEOUT must be a number of seconds, not {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"PUBLISHER_TRANSLATE_TIMEOUT must be more than 0, not {raw!r}")
    return value


def _argos_factory(cls: type, package: Any, options: Any, notes: Sequence[str]) -> Any:
    return cls(package, options, notes=notes)


def _worker(conn: Any, factory: Callable[..., Any], args: tuple) -> None:
    """The worker's loop: build the translator, answer calls until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    translator = None
    while True:
        try:
            sentences = conn.recv()
        except (EOFError, OSError):
            return
        try:
            if translator is None:
                translator = factory(*args)
            conn.send(("ok", translator.translate_sentences(sentences)))
        except PublisherError as exc:
            conn.send(("error", type(exc).__name__, str(exc)))
        except Exception as exc:  # noqa: BLE001 - sent back as the article's error
            conn.send(("error", "PublisherError", f"{type(exc).__name__}: {exc}"))


def _signal_name(code: int | None) -> str:
    if code is None:
        return "no exit status"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


class IsolatedTranslator:
    """A Translator whose work happens in a worker process (see the module docstring).

    ``factory(*args)`` builds the real translator inside the worker; it and ``args`` must be
    picklable (a module-level function). ``name``, ``version``, ``identity`` and ``notes`` are
    the real translator's, given here so that the cache never needs the worker.
    """

    def __init__(self, factory: Callable[..., Any], args: tuple = (), *, name: str, version: str,
                 identity: str | None = None, notes: Sequence[str] = (), timeout: float | None = None):
        self.factory = factory
        self.args = args
        self.name = name
        self.version = version
        self.identity = identity or name
        self.notes = tuple(notes)
        self.timeout = timeout
        self._lock = threading.Lock()
        self._process: Any = None
        self._conn: Any = None

    @classmethod
    def for_argos(cls, translator: Any) -> "IsolatedTranslator":
        """The same ArgosTranslator, run in a worker."""
        return cls(_argos_factory, (type(translator), translator.package, translator.options, translator.notes),
                   name=translator.name, version=translator.version, identity=translator.identity,
                   notes=translator.notes)

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a process holding threads and locks
        parent, child = context.Pipe()
        process = context.Process(target=_worker, args=(child, self.factory, self.args), daemon=True,
                                  name="publisher-translate")
        process.start()
        child.close()
        self._process, self._conn = process, parent

    def _stop(self) -> None:
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            conn.close()
        if process is not None:
            if process.is_alive():
                process.kill()
            process.join(5)

    def translate_sentences(self, sentences: Sequence[str]) -> list[str]:
        sentences = list(sentences)
        if not sentences:
            return []
        timeout = (self.timeout if self.timeout is not None else base_timeout()) + PER_SENTENCE * len(sentences)
        with self._lock:
            if self._process is None or not self._process.is_alive():
                self._stop()
                self._start()
            try:
                self._conn.send(sentences)
                ready = self._conn.poll(timeout)
                answer = self._conn.recv() if ready else None
            except (EOFError, OSError, BrokenPipeError):
                answer = None
                ready = True
            if answer is None:
                process = self._process
                if not ready:
                    self._stop()
                    raise TranslationCrash(f"{_HUNG} {timeout:.0f} s "
                                           f"({len(sentences)} sentences); stopped (PUBLISHER_TRANSLATE_TIMEOUT)")
                process.join(5)
                code = process.exitcode
                self._stop()
                raise TranslationCrash(f"{_CRASHED} ({_signal_name(code)}); the other articles go on")
        if answer[0] == "ok":
            return list(answer[1])
        _, kind, message = answer
        if kind == "ModelError":
            from publisher.errors import ModelError

            raise ModelError(message)
        raise TranslationCrash(f"translation failed: {message}")

    def close(self) -> None:
        with self._lock:
            self._stop()

    def __del__(self) -> None:  # pragma: no cover - best effort at interpreter exit
        try:
            self._stop()
        except Exception:
            pass


def isolated(translator: Any) -> Any:
    """``translator`` run in a worker when it drives native code (CTranslate2, directly or through
    argostranslate) and isolation is on."""
    from publisher.translate.argos import ArgosTranslator

    native: tuple[type, ...] = (ArgosTranslator,)
    try:
        from publisher.translate.argostranslate_engine import ArgostranslateTranslator

        native += (ArgostranslateTranslator,)
    except ImportError:  # pragma: no cover - the module is part of publisher
        pass
    if isinstance(translator, native) and isolation_enabled():
        return IsolatedTranslator.for_argos(translator)
    return translator
