"""Engine ``openai``: any OpenAI-compatible chat server (llama.cpp's llama-server, Ollama, vLLM...).

Same contract as the argos engines: sentences in (placeholders ``QX1``... and the glossary's
English already in them), English out, one per input; the pipeline verifies every output,
caches it and falls back piece by piece exactly as for the other engines.

Requests go to ``POST {base_url}/chat/completions`` with streaming off. Sentences travel
``batch`` at a time as a JSON array (the reply must be a JSON array of the same length; when it
is not, that batch is asked again one sentence per request), with at most ``concurrency``
requests in flight. What the model adds around a translation ("Sure! Here is the
translation:", code fences, quotes, a closing note, a ``<think>`` block) is stripped; a reply
that still is not one translation (several paragraphs, an explanation far longer than the
source) is rejected: the sentence then counts as lost and goes to the piece-by-piece fallback.

Failures are one line each, and a :class:`~publisher.errors.ModelError`, so that ingest and
the daemon leave the article for the next scan: the server cannot be reached, does not answer
within ``timeout`` seconds, keeps answering 429 or 5xx after a few retries (429 waits for its
``Retry-After``), refuses the key (401/403), or does not know the model (404). After a server
was found down or stuck, the next articles of the same run fail at once for 30 seconds instead
of each waiting for the timeout.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any, Sequence
from urllib.parse import urlsplit

from publisher.errors import ConfigError, ModelError

if TYPE_CHECKING:
    import httpx

    from publisher.translate.engines import TranslationConfig

PROMPT_VERSION = "1"
"""Part of the cache key: a changed prompt gives other translations."""

SYSTEM_PROMPT = (
    "You are a translation engine. Translate the user's Chinese text into natural, accurate English. "
    "Reply with the English translation only: no introduction, no notes, no quotation marks around it. "
    "Tokens such as QX1, QX2, QZ1 stand for links and formatting: copy each of them exactly once, unchanged, "
    "at the matching place in the English. Keep English words, names and numbers as they are."
)
BATCH_PROMPT = SYSTEM_PROMPT + (
    " The user message is a JSON array of texts. Reply with a JSON array of strings holding their translations, "
    "the same number of items in the same order, and nothing else."
)

MAX_ATTEMPTS = 4
"""Tries per request when the server answers 429 or 5xx."""
DOWN_HOLD_SECONDS = 30.0

_THINK_RE = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_FENCE_RE = re.compile(r"```[A-Za-z0-9_-]*\n?(.*?)```", re.DOTALL)
_INTRO_RE = re.compile(
    r"^(?:(?:sure|certainly|of course|okay|ok|absolutely|alright)\b.*|here(?:'s| is| are)\b.*|below is\b.*"
    r"|(?:the )?(?:english )?translation\b.*|translated(?: text)?\b.*|english\b.*)$",
    re.IGNORECASE,
)
_OUTRO_RE = re.compile(
    r"^(?:\(?\**note\b|i hope\b|hope this\b|let me know\b|feel free\b|if you\b|this translation\b"
    r"|explanation\b|\(?translator'?s note\b)",
    re.IGNORECASE,
)
_LABEL_RE = re.compile(r"^(?:\**(?:english(?: translation)?|translation)\**\s*[:：]\s*)", re.IGNORECASE)
_QUOTES = [('"', '"'), ("“", "”"), ("'", "'"), ("「", "」")]


def clean_reply(reply: str, source: str) -> str:
    """The translation in a chat reply, chatter stripped; "" when it is not one translation."""
    text = _THINK_RE.sub("", reply).strip()
    fenced = _FENCE_RE.search(text)
    if fenced:
        text = fenced.group(1).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    while len(lines) > 1 and (_INTRO_RE.match(lines[0]) and lines[0].rstrip().endswith((":", "：", "!", "."))):
        lines.pop(0)
    while len(lines) > 1 and _OUTRO_RE.match(lines[-1]):
        lines.pop()
    if len(lines) == 1 and lines[0].endswith((":", "：")) and _INTRO_RE.match(lines[0]):
        return ""  # only an introduction
    if len(lines) != 1:
        return ""  # nothing, or several paragraphs for one sentence: not a translation
    text = _LABEL_RE.sub("", lines[0]).strip()
    for left, right in _QUOTES:
        if len(text) > 2 and text.startswith(left) and text.endswith(right) and not source.strip().startswith(left):
            text = text[len(left):-len(right)].strip()
    if len(text) > 6 * len(source) + 200:
        return ""  # an explanation, not a translation
    return text


def parse_batch_reply(reply: str, count: int) -> list[str] | None:
    """The JSON array of ``count`` strings in a reply (chatter around it ignored), or None."""
    text = _THINK_RE.sub("", reply).strip()
    fenced = _FENCE_RE.search(text)
    if fenced:
        text = fenced.group(1).strip()
    start, end = text.find("["), text.rfind("]")
    if start < 0 or end <= start:
        return None
    try:
        items = json.loads(text[start:end + 1])
    except ValueError:
        return None
    if not isinstance(items, list) or len(items) != count or not all(isinstance(i, str) for i in items):
        return None
    return items


class OpenAITranslator:
    """A :class:`~publisher.translate.base.Translator` over an OpenAI-compatible chat endpoint."""

    engine = "openai"

    def __init__(self, config: "TranslationConfig", source: str = "zh", *, transport: Any = None,
                 retry_wait: float = 0.5):
        if not config.model:
            raise ConfigError("translation: engine openai needs `model:`")
        self.config = config
        self.name = f"openai:{config.model}"
        self.version = PROMPT_VERSION
        self.notes: tuple[str, ...] = ()
        self.source = source
        self.requests = 0
        """Requests sent (tests and the benchmark read it)."""
        self._transport = transport
        self._retry_wait = retry_wait
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._down: tuple[float, str] | None = None

    @property
    def identity(self) -> str:
        """Cache identity: engine, model, server and temperature."""
        return f"openai:{self.config.model}@{self.config.base_url}|temperature={self.config.temperature:g}"

    # --- HTTP ---

    def _http(self) -> "httpx.Client":
        with self._lock:
            if self._client is None:
                import httpx

                host = urlsplit(self.config.base_url).hostname or ""
                loopback = host in ("localhost", "::1") or host.startswith("127.")
                self._client = httpx.Client(
                    timeout=httpx.Timeout(self.config.timeout, connect=min(self.config.timeout, 10.0)),
                    headers=self._headers(),
                    trust_env=not loopback,  # no proxy between us and a server on this machine
                    transport=self._transport,
                    limits=httpx.Limits(max_connections=self.config.concurrency),
                )
            return self._client

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        name = self.config.api_key_env
        if name:
            key = os.environ.get(name)
            if not key:
                raise ConfigError(f"translation: api_key_env names {name}, which is not set in the environment "
                                  "(or .env)")
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _fail(self, message: str, hold: bool = False) -> ModelError:
        text = f"translation server {self.config.base_url}: {message}"
        if hold:
            self._down = (time.monotonic() + DOWN_HOLD_SECONDS, text)
        return ModelError(text)

    def _chat(self, system: str, user: str, max_tokens: int) -> str:
        import httpx

        down = self._down
        if down is not None and time.monotonic() < down[0]:
            raise ModelError(down[1])
        body = {
            "model": self.config.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "temperature": self.config.temperature,
            "max_tokens": max_tokens,
            "stream": False,
        }
        url = f"{self.config.base_url}/chat/completions"
        client = self._http()
        last = ""
        for attempt in range(MAX_ATTEMPTS):
            try:
                with self._count_lock:
                    self.requests += 1
                response = client.post(url, json=body)
            except httpx.TimeoutException:
                raise self._fail(f"no answer within {self.config.timeout:g} s (engine openai): the server is slow "
                                 "or stuck; raise translation.timeout or try again later", hold=True) from None
            except httpx.HTTPError as exc:
                reason = str(exc) or type(exc).__name__
                raise self._fail(f"cannot be reached ({reason}); start the server or fix translation.base_url",
                                 hold=True) from None
            status = response.status_code
            if status == 200:
                self._down = None
                return self._content(response)
            last = f"HTTP {status}{_error_text(response)}"
            if status == 429 or status >= 500:
                if attempt + 1 < MAX_ATTEMPTS:
                    time.sleep(self._wait(response, attempt))
                    continue
                if status == 429:
                    raise self._fail(f"keeps refusing requests ({last}); lower translation.concurrency or try "
                                     "again later")
                raise self._fail(f"failed {MAX_ATTEMPTS} times ({last})")
            if status in (401, 403):
                hint = (f"check the key in {self.config.api_key_env}" if self.config.api_key_env
                        else "set translation.api_key_env to the NAME of the variable holding the key")
                raise self._fail(f"refused the request ({last}); {hint}")
            if status == 404:
                raise self._fail(f"not found ({last}); check translation.base_url (usually ending in /v1) and "
                                 f"translation.model ({self.config.model})")
            raise self._fail(f"refused the request ({last})")
        raise self._fail(last)  # pragma: no cover - the loop always returns or raises

    def _wait(self, response: "httpx.Response", attempt: int) -> float:
        after = response.headers.get("retry-after")
        if after:
            try:
                return max(0.0, min(float(after), 30.0, self.config.timeout))
            except ValueError:
                pass
        return min(self._retry_wait * (2 ** attempt), 10.0)

    def _content(self, response: "httpx.Response") -> str:
        try:
            data = response.json()
            choice = data["choices"][0]
            content = choice["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise self._fail("answered with something that is not a chat completion "
                             f"({response.text[:80]!r}); is base_url an OpenAI-compatible /v1 endpoint?") from None
        if not isinstance(content, str):
            raise self._fail("answered a chat completion without text")
        if choice.get("finish_reason") == "length":
            return ""  # cut off at max_tokens: not a whole translation
        return content

    # --- translating ---

    @staticmethod
    def _max_tokens(sentences: Sequence[str]) -> int:
        return min(8192, sum(3 * len(s) + 40 for s in sentences) + 40)

    def _one(self, sentence: str) -> str:
        return clean_reply(self._chat(SYSTEM_PROMPT, sentence, self._max_tokens([sentence])), sentence)

    def _batch(self, sentences: list[str]) -> list[str]:
        if len(sentences) == 1:
            return [self._one(sentences[0])]
        reply = self._chat(BATCH_PROMPT, json.dumps(sentences, ensure_ascii=False), self._max_tokens(sentences))
        items = parse_batch_reply(reply, len(sentences))
        if items is None:  # the model did not keep the format: one sentence per request
            return [self._one(s) for s in sentences]
        return [clean_reply(item, s) for item, s in zip(items, sentences)]

    def translate_sentences(self, sentences: Sequence[str]) -> list[str]:
        results = [""] * len(sentences)
        todo = [i for i, s in enumerate(sentences) if s.strip()]
        size = self.config.batch
        batches = [todo[k:k + size] for k in range(0, len(todo), size)]
        if not batches:
            return results
        workers = min(self.config.concurrency, len(batches))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="openai") as pool:
            futures = {pool.submit(self._batch, [sentences[i] for i in batch]): batch for batch in batches}
            done, pending = wait(futures, return_when=FIRST_EXCEPTION)
            for future in pending:
                future.cancel()
            for future in done:
                if future.exception() is not None:
                    for other in pending:
                        other.cancel()
                    raise future.exception()  # type: ignore[misc]
            for future, batch in futures.items():
                for i, text in zip(batch, future.result()):
                    results[i] = text
        return results

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _error_text(response: "httpx.Response") -> str:
    try:
        data = response.json()
        message = data.get("error", {}).get("message") if isinstance(data.get("error"), dict) else data.get("error")
    except (ValueError, AttributeError):
        message = response.text
    message = " ".join(str(message or "").split())[:160]
    return f": {message}" if message else ""
