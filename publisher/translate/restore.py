"""Translated sentences back to Markdown and plain text: placeholders restored, the model's text
escaped, kept text given English punctuation, and the spaces between the pieces decided.

The sentences are those :mod:`publisher.translate.article` prepares (``_Sentence``: its
placeholders ``keys``, its ``kept`` text and its fallback ``pieces``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from publisher.translate.inline import Protected, Segment
from publisher.translate.markup import Rendered
from publisher.translate.splitter import has_han

if TYPE_CHECKING:
    from publisher.translate.article import _Sentence

_CJK_PUNCT = {
    "，": ", ", "。": ". ", "：": ": ", "；": "; ", "！": "! ", "？": "? ", "、": ", ",
    "（": " (", "）": ") ", "「": ' "', "」": '" ', "『": ' "', "』": '" ', "“": ' "', "”": '" ',
    "《": ' "', "》": '" ', "【": " [", "】": "] ", "～": "~",
}
_CJK_PUNCT_RE = re.compile("|".join(map(re.escape, _CJK_PUNCT)))


def normalise_punctuation(text: str, strip: bool = True) -> str:
    """Chinese punctuation to its English form (for text that is kept, not translated)."""
    if not _CJK_PUNCT_RE.search(text):
        return text.strip() if strip else text
    out = _CJK_PUNCT_RE.sub(lambda m: _CJK_PUNCT[m.group(0)], text)
    out = re.sub(r"[ \t]{2,}", " ", out)
    out = re.sub(r" +([,.;:!?)\]])", r"\1", out)
    out = re.sub(r"([(\[]) +", r"\1", out)
    return out.strip() if strip else out


def escape_markdown(text: str) -> str:
    """Escape characters in translated text that Markdown would read as markup."""
    text = re.sub(r"\\(?=[!-/:-@\[-`{-~])", r"\\\\", text)
    text = text.replace("`", r"\`").replace("*", r"\*")
    text = re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", r"\_", text)
    text = re.sub(r"<(?=[A-Za-z/!?])", r"\<", text)
    text = text.replace("~~", r"\~\~").replace("|", r"\|")
    return text


_LINE_START_RE = re.compile(r"^(\s*)(?:([#>+=-])(?=\s|$)|(\d{1,9})([.)])(?=\s|$))")


def escape_line_start(md: str) -> str:
    m = _LINE_START_RE.match(md)
    if not m:
        return md
    if m.group(2):
        return md[: m.start(2)] + "\\" + md[m.start(2):]
    return md[: m.start(4)] + "\\" + md[m.start(4):]


def _render_items(items: list[Segment | tuple[str, str]]) -> Rendered:
    """Join rendered items: strings of translated text, protected pieces, ("keep", text)."""
    md: list[str] = []
    plain: list[str] = []
    prev: Segment | tuple[str, str] | None = None
    for item in items:
        if isinstance(item, tuple):
            kind, text = item
            md_text, plain_text = (escape_markdown(text), text) if kind == "model" else (text, text)
        elif isinstance(item, Protected):
            md_text, plain_text = item.markdown, item.plain
        else:
            md_text, plain_text = escape_markdown(item), item
        if md and _needs_space(prev, item, md[-1], md_text):
            md.append(" ")
            plain.append(" ")
        md.append(md_text)
        plain.append(plain_text)
        prev = item
    markdown = _tidy_spaces("".join(md))
    return Rendered(markdown, " ".join("".join(plain).split()))


def _needs_space(prev, item, left: str, right: str) -> bool:
    if not left or not right or left[-1].isspace() or right[0].isspace():
        return False
    if isinstance(prev, Protected) and prev.role == "open":
        return False
    if isinstance(item, Protected) and item.role == "close":
        return False
    # An image, link or code span is a word, whatever character its Markdown starts with.
    first = _boundary(item, right[0], 0)
    last = _boundary(prev, left[-1], -1)
    if first in ",.;:!?)]}%'\"" or last in "([{\"'":
        return False
    return True


def _boundary(item, char: str, end: int) -> str:
    if isinstance(item, Protected) and item.role == "atom" and not item.markdown.startswith(("\\", "&")):
        return "a"
    if isinstance(item, Protected) and item.plain:
        return item.plain[end]
    return char


def _tidy_spaces(text: str) -> str:
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def render_output(text: str, sent: _Sentence) -> Rendered:
    """A verified model output with its placeholders restored."""
    rx = re.compile(rf"{sent.prefix}(\d+)")
    md: list[str] = []
    plain: list[str] = []
    pos = 0
    pending_open = False
    for m in rx.finditer(text):
        chunk = text[pos:m.start()]
        protected = sent.keys[int(m.group(1))]
        if pending_open:
            chunk = chunk.lstrip()
        if protected.role == "close":
            chunk = chunk.rstrip()
        md.append(escape_markdown(chunk))
        plain.append(chunk)
        md.append(protected.markdown)
        plain.append(protected.plain)
        pending_open = protected.role == "open"
        pos = m.end()
    tail = text[pos:]
    if pending_open:
        tail = tail.lstrip()
    md.append(escape_markdown(tail))
    plain.append(tail)
    return Rendered(_tidy_spaces("".join(md)), " ".join("".join(plain).split()))


def render_kept(sent: _Sentence) -> Rendered:
    """A sentence without Chinese (a French prompt, a bare link): kept, punctuation made English."""
    md = "".join(item[1] if isinstance(item, tuple) else item.markdown for item in sent.kept)
    plain = "".join(item[1] if isinstance(item, tuple) else item.plain for item in sent.kept)
    return Rendered(_tidy_spaces(md), " ".join(plain.split()))


def render_pieces(sent: _Sentence, outputs: dict[str, str]) -> Rendered:
    items: list[Segment | tuple[str, str]] = []
    for piece in sent.pieces:
        if piece.kind == "protected":
            assert piece.protected is not None
            items.append(piece.protected)
        elif piece.kind == "keep":
            items.append(("keep", piece.text))
        elif has_han(piece.text):
            english = outputs.get(piece.text.strip(), "").strip()
            if any(ch.isalnum() for ch in english):
                items.append(("model", english))
            else:  # the model gave nothing: keep the source rather than lose the words
                items.append(("keep", normalise_punctuation(piece.text)))
        else:
            kept = normalise_punctuation(piece.text, strip=False)
            if kept:
                items.append(("keep", kept if kept.strip() else " "))
    return _render_items(items)
