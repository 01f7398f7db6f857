"""Which translation engine translates, and how: schedule.yaml's ``translation:`` block.

Three engines, all behind the same :class:`~publisher.translate.base.Translator` interface
(sentences in, English out, one per input), so the pipeline protects, verifies, caches and
falls back the same way whatever the engine:

* ``ctranslate2`` (default): an installed argos package run by publisher itself through
  SentencePiece and CTranslate2 (:mod:`publisher.translate.argos`); lean, offline, fast.
* ``argos``: argostranslate's own translate path on the same package, with its sentence
  splitter replaced so that it stays offline (:mod:`publisher.translate.argostranslate_engine`);
  needs ``pip install 'publisher[argos]'`` (argostranslate brings torch, Stanza and spaCy).
* ``openai``: any OpenAI-compatible chat server (llama.cpp's llama-server, Ollama, vLLM...)
  at ``base_url`` (:mod:`publisher.translate.openai_engine`).

Settings (all optional but ``model`` for openai)::

    translation:
      engine: openai             # ctranslate2 | argos | openai
      model: qwen2.5-7b-instruct # openai: the model name the server knows
      base_url: http://127.0.0.1:8080/v1
      api_key_env: LLM_API_KEY   # NAME of the environment variable holding the key (if any)
      temperature: 0             # openai
      timeout: 2m                # openai: per request
      concurrency: 2             # openai: requests in flight at once
      batch: 8                   # openai: sentences per request
      beam: 4                    # ctranslate2 / argos: beam size
      threads: 0                 # ctranslate2 / argos: CPU threads (0: every core)
      device: auto               # ctranslate2 / argos: auto (CUDA when available, else CPU), cpu, cuda

A source in schedule.yaml may carry its own ``translation:`` block; the keys it sets replace
the top-level ones for the files in that source.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from publisher.errors import ConfigError, ModelError
from publisher.text import is_address

if TYPE_CHECKING:
    from publisher.translate.base import Translator

ENGINES = ("ctranslate2", "argos", "openai")
DEFAULT_BASE_URL = "http://127.0.0.1:8080/v1"
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class TranslationConfig(BaseModel):
    """One ``translation:`` block (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    engine: Literal["ctranslate2", "argos", "openai"] = "ctranslate2"
    model: str | None = Field(default=None, min_length=1)
    base_url: str = DEFAULT_BASE_URL
    api_key_env: str | None = None
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    timeout: float = Field(default=120.0, gt=0, le=3600)
    """Seconds per request (openai); durations such as 90s or 2m are accepted."""
    concurrency: int = Field(default=2, ge=1, le=32)
    batch: int = Field(default=8, ge=1, le=64)
    beam: int | None = Field(default=None, ge=1, le=16)
    threads: int | None = Field(default=None, ge=0, le=256)
    """ctranslate2 / argos: CPU threads in all (default PUBLISHER_TRANSLATE_THREADS, else every core)."""
    device: Literal["auto", "cpu", "cuda"] | None = None
    """CTranslate2's device: auto (CUDA when available, else CPU); default PUBLISHER_TRANSLATE_DEVICE or auto."""

    @field_validator("timeout", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if isinstance(value, str):
            from publisher.clock import parse_duration

            return parse_duration(value).total_seconds()
        if isinstance(value, dt.timedelta):
            return value.total_seconds()
        return value

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not is_address(value):
            raise ValueError("must be an http:// or https:// URL, e.g. http://127.0.0.1:8080/v1")
        return value.rstrip("/")

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME_RE.match(value):
            # Never repeat the value: it may be a real key.
            raise ValueError("must be the NAME of an environment variable holding the key (e.g. LLM_API_KEY), "
                             "not the key itself")
        return value

    def over(self, base: "TranslationConfig | None") -> "TranslationConfig":
        """``base`` with the keys set in this block replacing its own."""
        if base is None:
            return self
        return base.model_copy(update={k: getattr(self, k) for k in self.model_fields_set})

    def describe(self) -> str:
        if self.engine == "openai":
            return f"openai ({self.model} at {self.base_url})"
        return self.engine


def load_engine(config: TranslationConfig | None, from_code: str = "zh", to_code: str = "en", *,
                directory: Path | None = None) -> "Translator":
    """The translator ``config`` asks for (the default engine when None); ModelError or
    ConfigError with what to do when it cannot be had."""
    config = config or TranslationConfig()
    if config.engine == "openai":
        from publisher.translate.openai_engine import OpenAITranslator

        if not config.model:
            raise ConfigError("translation: engine openai needs `model:` (the model name your server serves)")
        return OpenAITranslator(config, source=from_code)
    from publisher.translate.argos import DecodingOptions, load_translator

    options = DecodingOptions.from_env(beam_size=config.beam, threads=config.threads, device=config.device)
    if config.engine == "argos":
        from publisher.translate.argostranslate_engine import INSTALL_HINT, ArgostranslateTranslator

        if not _importable("argostranslate"):  # said here, before a worker process is started for it
            raise ModelError(f"translation engine argos needs argostranslate, which is not installed; install it "
                             f"with `{INSTALL_HINT}`, or use the default engine ctranslate2")
        found = load_translator(from_code, to_code, directory=directory, options=options)
        return ArgostranslateTranslator(found.package, options, notes=found.notes)
    return load_translator(from_code, to_code, directory=directory, options=options)


def _importable(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False
