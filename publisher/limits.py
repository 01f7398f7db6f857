"""Limits checked before any work is done on an article, so hostile input costs bounded time.

Every limit is one number here (documented in the README under "Limits"); a file over one is
refused with one line naming the file and the limit (an :class:`~publisher.errors.InputError`),
and the other files of the run go on. The numbers are far above what real articles need (the
seed article: 3 KB of frontmatter-less text, 40 blocks, no list) and low enough that the slowest
stage (translation, with the real model about 20 sentences a second) stays within minutes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable

from publisher.errors import InputError

#: Frontmatter block (between the --- or +++ lines), in characters.
MAX_FRONTMATTER_CHARS = 64 * 1024
#: The title (frontmatter or heading), in characters.
MAX_TITLE_CHARS = 500
#: Any other frontmatter text field that publisher uses (author, publication, description, a tag...).
MAX_FIELD_CHARS = 2000
#: Tags (or categories/keywords).
MAX_TAGS = 100
#: One line of the body, in characters (a paragraph may have many lines).
MAX_LINE_CHARS = 20_000
#: Top-level blocks (paragraphs, headings, lists...) in the body.
MAX_BLOCKS = 5000
#: Quotes and lists inside one another (CommonMark parsers stop at about 20 levels).
MAX_NESTING = 8
#: List items in the whole article, all lists and levels together.
MAX_LIST_ITEMS = 2000
#: Images in the whole article.
MAX_IMAGES = 200


def _n(value: int) -> str:
    return f"{value:,}"


def check_frontmatter_size(path: Path, fm_text: str) -> None:
    if len(fm_text) > MAX_FRONTMATTER_CHARS:
        raise InputError(path, f"frontmatter is {_n(len(fm_text))} characters, over the "
                               f"{_n(MAX_FRONTMATTER_CHARS)}-character limit", line=1)


def check_lines(path: Path, body: str, first_line: int) -> None:
    """Refuse the first body line longer than MAX_LINE_CHARS (found without splitting the body)."""
    if len(body) <= MAX_LINE_CHARS:
        return
    start = 0
    line = first_line
    while True:
        end = body.find("\n", start)
        stop = len(body) if end == -1 else end
        if stop - start > MAX_LINE_CHARS:
            raise InputError(path, f"line {line} is {_n(stop - start)} characters, over the "
                                   f"{_n(MAX_LINE_CHARS)}-character limit for one line", line=line)
        if end == -1:
            return
        start = end + 1
        line += 1


def check_tokens(path: Path, tokens: Iterable[Any], first_line: int) -> None:
    """Nesting depth, list items and top-level blocks, from markdown-it's tokens (one pass)."""
    depth = 0
    items = 0
    blocks = 0
    for tok in tokens:
        kind = tok.type
        if tok.level == 0 and tok.nesting != -1:
            blocks += 1
            if blocks > MAX_BLOCKS:
                raise InputError(path, f"more than {_n(MAX_BLOCKS)} blocks (paragraphs, headings, lists...): "
                                       "over the limit for one article")
        if kind in ("blockquote_open", "bullet_list_open", "ordered_list_open"):
            depth += 1
            if depth > MAX_NESTING:
                line = first_line + tok.map[0] if tok.map else None
                raise InputError(path, f"quotes and lists nested more than {MAX_NESTING} deep: over the limit",
                                 line=line)
        elif kind in ("blockquote_close", "bullet_list_close", "ordered_list_close"):
            depth -= 1
        elif kind == "list_item_open":
            items += 1
            if items > MAX_LIST_ITEMS:
                line = first_line + tok.map[0] if tok.map else None
                raise InputError(path, f"more than {_n(MAX_LIST_ITEMS)} list items: over the limit for one "
                                       "article", line=line)


def check_quote_markers(path: Path, body: str, first_line: int) -> None:
    """Lines starting with more `>` than MAX_NESTING allows (markdown-it drops what lies deeper,
    so the tokens alone would show an article with its text silently missing)."""
    deep = re.search(r"^[ \t]{0,3}(?:>[ \t]?){%d,}" % (MAX_NESTING + 1), body, re.MULTILINE)
    if deep:
        line = first_line + body.count("\n", 0, deep.start())
        raise InputError(path, f"quotes and lists nested more than {MAX_NESTING} deep: over the limit", line=line)


_ITEM_LINE = re.compile(r"^[ \t>]*(?:[-+*]|\d{1,9}[.)])(?:[ \t]|$)", re.MULTILINE)


def check_list_item_lines(path: Path, body: str, first_line: int) -> None:
    """A quick count of lines that start a list item, before parsing (markdown-it takes about a
    second per 10,000 items). Lines in fenced code are counted too, so this refuses only at
    twice the limit; the exact count comes from the tokens."""
    count = 0
    for m in _ITEM_LINE.finditer(body):
        count += 1
        if count > 2 * MAX_LIST_ITEMS:
            line = first_line + body.count("\n", 0, m.start())
            raise InputError(path, f"more than {_n(MAX_LIST_ITEMS)} list items: over the limit for one article",
                             line=line)


def check_images(path: Path, count: int) -> None:
    if count > MAX_IMAGES:
        raise InputError(path, f"{_n(count)} images, over the limit of {_n(MAX_IMAGES)} for one article")


def check_title(path: Path, title: str) -> None:
    if len(title) > MAX_TITLE_CHARS:
        raise InputError(path, f"title is {_n(len(title))} characters, over the {_n(MAX_TITLE_CHARS)}-character limit")


def check_field(path: Path, name: str, value: str | None) -> None:
    if value is not None and len(value) > MAX_FIELD_CHARS:
        raise InputError(path, f"{name} is {_n(len(value))} characters, over the "
                               f"{_n(MAX_FIELD_CHARS)}-character limit for a frontmatter field")


def check_tags(path: Path, tags: tuple[str, ...]) -> None:
    if len(tags) > MAX_TAGS:
        raise InputError(path, f"{_n(len(tags))} tags, over the limit of {MAX_TAGS}")
    for tag in tags:
        check_field(path, "a tag", tag)
