"""Keep Markdown whole through translation: find the text runs, protect everything else.

A block is turned into a *plan*: verbatim markup (heading markers, list markers, quote prefixes,
table pipes, code, HTML, images, rules) around :class:`Unit` s, the runs of inline Markdown that
hold text. A unit is scanned (:mod:`publisher.translate.inline`) into *segments*: plain text, and
:class:`~publisher.translate.inline.Protected` pieces that must come through unchanged. Only the
text is ever translated; the pipeline puts placeholders where the protected pieces are and
restores them afterwards.

Nested containers (a list inside a quote, code inside a list item) are handled by parsing the
container's inside again and indenting the result back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Union

from publisher.text import CJK_PUNCT, HAN_OR_CJK_PUNCT
from publisher.translate.inline import Protected, Segment, code_span_end, scan_inline
from publisher.translate.splitter import has_han, sentence_spans


@dataclass
class Unit:
    """A run of inline Markdown holding text to translate."""

    segments: list[Segment]
    plain_mode: bool = False
    """Plain text (a title): only URLs are protected."""


@dataclass
class Indented:
    """Parts rendered, then every line prefixed (list items, quotes)."""

    parts: list["Part"]
    first: str
    rest: str


Part = Union[str, Unit, Indented]


@dataclass
class Rendered:
    markdown: str
    plain: str


# --- soft line breaks ----------------------------------------------------------------------

_CJK_OR_PUNCT = HAN_OR_CJK_PUNCT


def join_soft_breaks(text: str) -> str:
    """One line from a paragraph's lines: no space between Chinese, a space elsewhere."""

    def joiner(m: re.Match[str]) -> str:
        before = text[m.start() - 1] if m.start() > 0 else ""
        after = text[m.end()] if m.end() < len(text) else ""
        if _CJK_OR_PUNCT.match(before or " ") and _CJK_OR_PUNCT.match(after or " "):
            return ""
        return " "

    return re.sub(r"[ \t]*\n[ \t]*", joiner, text)


# --- block plans ---------------------------------------------------------------------------

_CJK_PUNCT_ONLY = CJK_PUNCT
_ATX_RE = re.compile(r"^( {0,3}#{1,6})([ \t]+|$)(.*?)((?:[ \t]+#+)?[ \t]*)$")
_SETEXT_RE = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
_HARD_BREAK_RE = re.compile(r"(?: {2,}|\\)\n")
_QUOTE_PREFIX_RE = re.compile(r"^ {0,3}> ?")
_ITEM_RE = re.compile(r"^([ \t]*)([-+*]|\d{1,9}[.)])([ \t]+|$)")
_DELIM_ROW_RE = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")


def plan_block(kind: str, source: str) -> list[Part]:
    """The plan of one block of the given kind (a Block's ``kind`` and ``source``)."""
    if kind in ("code", "html", "rule", "image") or not source.strip():
        return [source]
    if not has_han(source) and not _CJK_PUNCT_ONLY.search(source):
        return [source]  # nothing Chinese: kept exactly as written
    if kind == "heading":
        return _plan_heading(source)
    if kind == "quote":
        return _plan_quote(source)
    if kind == "list":
        return _plan_list(source)
    if kind == "table":
        return _plan_table(source)
    return _plan_paragraph(source)


def plan_markdown(markdown: str) -> list[Part]:
    """The plan of a stretch of Markdown holding any number of blocks."""
    from publisher.articles.blocks import parse_blocks

    parts: list[Part] = []
    cursor = 0
    for block in parse_blocks(markdown):
        pos = markdown.find(block.source, cursor) if block.source else -1
        if pos < 0:
            continue
        parts.append(markdown[cursor:pos])
        parts.extend(plan_block(block.kind, block.source))
        cursor = pos + len(block.source)
    parts.append(markdown[cursor:])
    return [p for p in parts if not (isinstance(p, str) and p == "")]


def text_unit(text: str) -> Unit:
    """A unit for plain text such as a title (only URLs are protected)."""
    return Unit(scan_inline(" ".join(text.split()), plain_mode=True), plain_mode=True)


def _unit(markdown: str) -> Unit:
    return Unit(scan_inline(join_soft_breaks(markdown)))


def _plan_paragraph(source: str) -> list[Part]:
    indent = source[: len(source) - len(source.lstrip(" "))]
    body = source[len(indent):]
    parts: list[Part] = [indent] if indent else []
    pos = 0
    for m in _HARD_BREAK_RE.finditer(body):
        parts.append(_unit(body[pos:m.start()]))
        parts.append(m.group(0))
        pos = m.end()
    parts.append(_unit(body[pos:]))
    return parts


def _plan_heading(source: str) -> list[Part]:
    lines = source.split("\n")
    if len(lines) > 1 and _SETEXT_RE.match(lines[-1]):
        return [_unit("\n".join(lines[:-1]).strip()), "\n" + lines[-1]]
    m = _ATX_RE.match(source)
    if not m:
        return _plan_paragraph(source)
    prefix, space, content, suffix = m.groups()
    parts: list[Part] = [prefix + space]
    if content:
        parts.append(_unit(content))
    if suffix:
        parts.append(suffix)
    return parts


def _plan_quote(source: str) -> list[Part]:
    inner = "\n".join(_QUOTE_PREFIX_RE.sub("", line, count=1) for line in source.split("\n"))
    return [Indented(plan_markdown(inner), "> ", "> ")]


def _plan_list(source: str) -> list[Part]:
    from publisher.articles.blocks import markdown_parser

    lines = source.split("\n")
    tokens = markdown_parser().parse(source)
    items = [t for t in tokens if t.type == "list_item_open" and t.level == 1 and t.map]
    if not items:
        return _plan_paragraph(source)
    parts: list[Part] = []
    pos = 0
    for tok in items:
        start, end = tok.map  # type: ignore[misc]
        while end > start + 1 and not lines[end - 1].strip():
            end -= 1  # blank lines after an item stay outside it
        m = _ITEM_RE.match(lines[start])
        if not m:
            continue
        if pos < start:
            parts.append("\n".join(lines[pos:start]) + "\n")
        elif parts:
            parts.append("\n")
        marker = m.group(0) if m.group(3) else m.group(0) + " "
        width = len(marker.expandtabs(4))
        inner_lines = [lines[start][len(m.group(0)):]]
        for line in lines[start + 1:end]:
            lead = len(line) - len(line.lstrip(" "))
            inner_lines.append(line[min(lead, width):])
        parts.append(Indented(plan_markdown("\n".join(inner_lines)), marker, " " * width))
        pos = end
    if pos < len(lines):
        parts.append("\n" + "\n".join(lines[pos:]))
    return parts


def _plan_table(source: str) -> list[Part]:
    parts: list[Part] = []
    for n, line in enumerate(source.split("\n")):
        if n:
            parts.append("\n")
        if n == 1 or _DELIM_ROW_RE.match(line) or "|" not in line:
            parts.append(line)
            continue
        cells = _split_row(line)
        for k, cell in enumerate(cells):
            if k:
                parts.append("|")
            stripped = cell.strip()
            if not stripped:
                parts.append(cell)
                continue
            lead = cell[: len(cell) - len(cell.lstrip())]
            trail = cell[len(cell.rstrip()):]
            parts.extend([lead, _unit(stripped), trail])
    return [p for p in parts if not (isinstance(p, str) and p == "")]


def _split_row(line: str) -> list[str]:
    """Cells of a table row split at unescaped pipes outside code spans (edge pipes kept as '')."""
    cells, buf = [], []
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == "\\" and i + 1 < len(line):
            buf.append(line[i:i + 2])
            i += 2
            continue
        if ch == "`":
            end = code_span_end(line, i)
            if end is not None:
                buf.append(line[i:end])
                i = end
                continue
        if ch == "|":
            cells.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    cells.append("".join(buf))
    return cells


# --- rendering -----------------------------------------------------------------------------


def render(parts: list[Part], unit: Callable[[Unit], Rendered]) -> Rendered:
    """Markdown and plain text of a plan, with ``unit`` giving each unit's rendering."""
    md: list[str] = []
    plain: list[str] = []
    for part in parts:
        if isinstance(part, str):
            md.append(part)
            newlines = part.count("\n")
            plain.append("\n" * newlines if newlines else (" " if part.strip() else part))
        elif isinstance(part, Unit):
            r = unit(part)
            md.append(r.markdown)
            plain.append(r.plain)
        else:
            inner = render(part.parts, unit)
            lines = inner.markdown.split("\n")
            out = [part.first + lines[0]]
            out += [(part.rest + line) if line.strip() else part.rest.rstrip() for line in lines[1:]]
            md.append("\n".join(out))
            plain.append(inner.plain)
    return Rendered("".join(md), _tidy_plain("".join(plain)))


def _tidy_plain(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


def units_of(parts: list[Part]) -> list[Unit]:
    """Every unit in a plan, in order."""
    found: list[Unit] = []
    for part in parts:
        if isinstance(part, Unit):
            found.append(part)
        elif isinstance(part, Indented):
            found.extend(units_of(part.parts))
    return found


# --- sentences -----------------------------------------------------------------------------

_PUA = 0xF0000  # Supplementary Private Use Area-A: stand-ins while splitting


def unit_sentences(unit: Unit) -> list[list[Segment]]:
    """Split a unit into sentences of segments (closing markers stay with their sentence)."""
    protected: list[Protected] = []
    chars: list[str] = []
    for seg in unit.segments:
        if isinstance(seg, str):
            chars.append(seg)
        else:
            chars.append(chr(_PUA + len(protected)))
            protected.append(seg)
    text = "".join(chars)
    sentences: list[list[Segment]] = []
    for start, end in sentence_spans(text):
        sentences.append(_to_segments(text[start:end], protected))
    # A closing marker that landed at the start of the next sentence belongs to the previous one.
    for k in range(1, len(sentences)):
        while sentences[k] and isinstance(sentences[k][0], Protected) and sentences[k][0].role == "close":
            sentences[k - 1].append(sentences[k].pop(0))
            if sentences[k] and isinstance(sentences[k][0], str):
                sentences[k][0] = sentences[k][0].lstrip()
    return [s for s in sentences if s]


def _to_segments(text: str, protected: list[Protected]) -> list[Segment]:
    out: list[Segment] = []
    buf: list[str] = []
    for ch in text:
        code = ord(ch) - _PUA
        if 0 <= code < len(protected):
            if buf:
                out.append("".join(buf))
                buf = []
            out.append(protected[code])
        else:
            buf.append(ch)
    if buf:
        out.append("".join(buf))
    return out
