"""Inline Markdown, scanned into text and the pieces that must come through translation unchanged.

:func:`scan_inline` turns one run of inline Markdown into *segments*: plain text, and
:class:`Protected` pieces: URLs, images, inline code, HTML tags, entities and escapes
(``atom``), and the markers around text that is translated in place (link brackets and
emphasis: an ``open`` and a ``close``). The block plans of :mod:`publisher.translate.markup` hold
these segments in their units.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Literal, Union

from publisher.translate.splitter import URL_RE, has_han


Role = Literal["atom", "open", "close"]


@dataclass(frozen=True)
class Protected:
    """A piece of Markdown that is never translated."""

    markdown: str
    """Exactly as in the source."""
    plain: str
    """What it contributes to plain text (a URL's text, a code span's content; "" for markers)."""
    role: Role = "atom"


Segment = Union[str, Protected]


# --- inline scanning -----------------------------------------------------------------------

_ASCII_PUNCT = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_AUTOLINK_RE = re.compile(r"<(?:(?:https?|ftp|mailto):[^\s<>]*|[\w.+-]+@[\w-]+(?:\.[\w-]+)+)>", re.IGNORECASE)
_HTML_RE = re.compile(
    r"<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<![A-Za-z][^>]*>|<!\[CDATA\[[\s\S]*?\]\]>"
    r"|</?[A-Za-z][A-Za-z0-9-]*(?:\s+[A-Za-z_:][\w.:-]*(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))?)*\s*/?>"
)
_ENTITY_RE = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#\d{1,7}|#[xX][0-9a-fA-F]{1,6});")
_EMPHASIS = [
    ("**", re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", re.DOTALL)),
    ("__", re.compile(r"__(?=\S)(.+?)(?<=\S)__(?![A-Za-z0-9])", re.DOTALL)),
    ("~~", re.compile(r"~~(?=\S)(.+?)(?<=\S)~~", re.DOTALL)),
    ("*", re.compile(r"\*(?=[^\s*])(.+?)(?<=[^\s*])\*", re.DOTALL)),
    ("_", re.compile(r"_(?=[^\s_])(.+?)(?<=[^\s_])_(?![A-Za-z0-9])", re.DOTALL)),
]
_URL_TRAILING = ".,;:!?'\")"


def scan_inline(src: str, *, plain_mode: bool = False) -> list[Segment]:
    """Segments of one run of inline Markdown (or of plain text when ``plain_mode``)."""
    out: list[Segment] = []
    buf: list[str] = []

    def flush() -> None:
        if buf:
            out.append("".join(buf))
            buf.clear()

    def emit(*items: Segment) -> None:
        flush()
        for item in items:
            if isinstance(item, str):
                if item:
                    if out and isinstance(out[-1], str):
                        out[-1] += item
                    else:
                        out.append(item)
            else:
                out.append(item)

    i, n = 0, len(src)
    while i < n:
        ch = src[i]
        prev = src[i - 1] if i > 0 else ""
        if ch in "hHwW" and not (prev and (prev.isalnum() or prev in "/@.:")):
            m = URL_RE.match(src, i)
            if m:
                url = m.group(0).rstrip(_URL_TRAILING)
                if len(url) > 7:
                    emit(Protected(url, url))
                    i += len(url)
                    continue
        if plain_mode:
            buf.append(ch)
            i += 1
            continue
        if ch == "\\" and i + 1 < n and src[i + 1] in _ASCII_PUNCT:
            emit(Protected(src[i:i + 2], src[i + 1]))
            i += 2
            continue
        if ch == "`":
            end = code_span_end(src, i)
            if end is not None:
                ticks = len(src[i:]) - len(src[i:].lstrip("`"))
                content = src[i + ticks:end - ticks]
                if content.startswith(" ") and content.endswith(" ") and content.strip():
                    content = content[1:-1]
                emit(Protected(src[i:end], content))
                i = end
                continue
            run = len(src[i:]) - len(src[i:].lstrip("`"))
            buf.append(src[i:i + run])
            i += run
            continue
        if ch == "<":
            m = _AUTOLINK_RE.match(src, i) or None
            if m:
                emit(Protected(m.group(0), m.group(0)[1:-1]))
                i = m.end()
                continue
            m = _HTML_RE.match(src, i)
            if m:
                emit(Protected(m.group(0), ""))
                i = m.end()
                continue
        if ch == "!" and src.startswith("![", i):
            end = _link_end(src, i + 1)
            if end is not None:
                emit(Protected(src[i:end[1]], ""))
                i = end[1]
                continue
        if ch == "[":
            end = _link_end(src, i)
            if end is not None:
                close, stop = end
                text = src[i + 1:close]
                inner = scan_inline(text)
                if has_han(text):
                    emit(Protected("[", "", "open"), *inner, Protected(src[close:stop], "", "close"))
                else:
                    emit(Protected(src[i:stop], plain_text(inner)))
                i = stop
                continue
        if ch in "*_~":
            if not (ch == "_" and prev.isalnum()):
                matched = False
                for delim, rx in _EMPHASIS:
                    if src.startswith(delim, i):
                        m = rx.match(src, i)
                        if m:
                            emit(Protected(delim, "", "open"), *scan_inline(m.group(1)),
                                 Protected(delim, "", "close"))
                            i = m.end()
                            matched = True
                            break
                if matched:
                    continue
            run = len(src[i:]) - len(src[i:].lstrip(ch))
            buf.append(src[i:i + run])  # a delimiter run that closes nothing is literal
            i += run
            continue
        if ch == "&":
            m = _ENTITY_RE.match(src, i)
            if m:
                emit(Protected(m.group(0), html.unescape(m.group(0))))
                i = m.end()
                continue
        buf.append(ch)
        i += 1
    flush()
    return out


def code_span_end(src: str, i: int) -> int | None:
    """End index (exclusive) of the code span opening at ``i``, or None."""
    ticks = len(src[i:]) - len(src[i:].lstrip("`"))
    j = i + ticks
    while True:
        k = src.find("`" * ticks, j)
        if k < 0:
            return None
        run = len(src[k:]) - len(src[k:].lstrip("`"))
        if run == ticks:
            return k + ticks
        j = k + run


def _bracket_end(src: str, i: int) -> int | None:
    """Index of the ``]`` matching the ``[`` at ``i`` (escapes and code spans skipped)."""
    depth = 0
    j = i
    while j < len(src):
        ch = src[j]
        if ch == "\\":
            j += 2
            continue
        if ch == "`":
            end = code_span_end(src, j)
            if end is not None:
                j = end
                continue
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                return j
        j += 1
    return None


def _link_end(src: str, i: int) -> tuple[int, int] | None:
    """For ``[text](dest)`` or ``[text][ref]`` at ``i``: (index of "]", end of the link)."""
    close = _bracket_end(src, i)
    if close is None:
        return None
    j = close + 1
    if j < len(src) and src[j] == "(":
        depth = 0
        k = j
        while k < len(src):
            ch = src[k]
            if ch == "\\":
                k += 2
                continue
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                if depth == 0:
                    return close, k + 1
            elif ch == "\n" and src[j:k].count("\n") > 1:
                return None
            k += 1
        return None
    if j < len(src) and src[j] == "[":
        end = _bracket_end(src, j)
        if end is not None and "\n" not in src[j:end]:
            return close, end + 1
    return None


def plain_text(segments: list[Segment]) -> str:
    """Plain text of segments: markup removed, link texts kept, images dropped."""
    text = "".join(s if isinstance(s, str) else s.plain for s in segments)
    return " ".join(text.split())
