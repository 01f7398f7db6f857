"""Split an article body into typed blocks with markdown-it-py, and flag boilerplate.

A block is one top-level Markdown element (heading, paragraph, quote, list, table, code, HTML,
rule). Paragraphs that hold only images become ``image`` blocks; the credit line that follows
an image (图源：…) becomes a ``credit`` block and is attached to that image. Boilerplate
(thank-you footers, read-more banners, follow-us lines, bylines, promotions) is flagged with a
reason so that no summary ever uses it.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from publisher import limits
from publisher.models import Block, BlockKind, Image, Link
from publisher.text import LINK

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

# Credit lines under images: 图源：…, 图片来源: …, 来源：…, Source: …
CREDIT_RE = re.compile(
    r"^\s*(?:图源|图片来源|图片出处|图片|图|来源|出处|视频来源|视频|截图|Image|Photo|Picture|Source|Credit|Via)"
    r"\s*(?:[:：]|\s*[｜|])\s*(?P<rest>.*)$",
    re.IGNORECASE | re.DOTALL,
)

# Boilerplate phrases. "strong" ones mark a block wherever it is; "weak" ones only short blocks,
# because long paragraphs of real content can mention 点赞 or 关注 in passing.
_STRONG = [
    ("thank-you footer", r"^(?:感谢|谢谢)(?:您|你|大家)?(?:的)?(?:阅读|观看|收看)|^thanks? (?:you )?for reading"),
    ("read-more banner", r"^(?:阅读原文|点击阅读原文|阅读更多|往期推荐|推荐阅读|相关阅读|延伸阅读|read more)"),
    ("end marker", r"^[-—–=·•\s]*(?:END|完|THE END)[-—–=·•\s]*$"),
    ("placeholder", r"^[.…。·\s]+$"),
]
_WEAK = [
    ("follow-us line", r"关注我们|关注公众号|点击关注|加关注|扫码|扫描二维码|二维码|长按识别|长按关注|星标|设为星标|置顶公众号"
                       r"|点个?在看|点赞.{0,6}(?:转发|在看|分享)|分享给.{0,4}朋友|follow us|subscribe"),
    ("promotion", r"更多.{0,12}(?:资讯|文章|内容).{0,12}(?:查看|关注|访问)|(?:查看|访问).{0,6}更多.{0,12}(?:文章|资讯)"
                  r"|商务合作|广告合作|投稿(?:邮箱|请|联系)|加入.{0,10}(?:群|社群|星球)|限时优惠|点击购买|优惠券"),
    ("copyright notice", r"版权(?:归|所有|声明)|转载请|未经(?:授权|许可)|all rights reserved|本文(?:来源|转载)|原文链接"),
    ("byline", r"^(?:文|作者|撰文|编辑|责编|责任编辑|编译|翻译|整理|排版|校对|审核|审校|出品|策划|视觉|设计|摄影|图|来源|编者)"
               r"\s*(?:[｜|丨/:：]|\s)\s*\S.{0,30}$"),
]
_STRONG_RE = [(reason, re.compile(p, re.IGNORECASE)) for reason, p in _STRONG]
_WEAK_RE = [(reason, re.compile(p, re.IGNORECASE)) for reason, p in _WEAK]
WEAK_MAX_CHARS = 80
READ_MORE_RE = re.compile(r"read ?more|阅读原文|阅读更多|点击阅读|推荐阅读|往期|more articles", re.IGNORECASE)
URL_ONLY_RE = re.compile(rf"^\s*(?:{LINK.pattern}\s*)+$", re.IGNORECASE)


@lru_cache(maxsize=1)
def markdown_parser() -> MarkdownIt:
    """The one Markdown dialect publisher reads: CommonMark plus tables and strikethrough."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def parse_blocks(body: str, first_line: int = 1, *, path: Path | None = None) -> tuple[Block, ...]:
    """Parse ``body`` into top-level blocks; ``first_line`` is the file line of the body's line 1.

    With ``path`` (an article file), the limits of :mod:`publisher.limits` are checked first
    (line length, nesting depth, list items, blocks, images): InputError naming the file.
    """
    if path is not None:
        limits.check_lines(path, body, first_line)
        limits.check_quote_markers(path, body, first_line)
        limits.check_list_item_lines(path, body, first_line)
    tokens = markdown_parser().parse(body)
    if path is not None:
        limits.check_tokens(path, tokens, first_line)
    lines = body.split("\n")
    blocks: list[Block] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.level != 0 or tok.nesting == -1:
            i += 1
            continue
        end = _close_index(tokens, i)
        group = tokens[i : end + 1]
        start_line, stop_line = tok.map if tok.map else (0, 0)
        source = "\n".join(lines[start_line:stop_line]).rstrip()
        blocks.append(_make_block(tok, group, source, first_line + start_line))
        i = end + 1
    if path is not None:
        limits.check_images(path, sum(len(b.images) for b in blocks))
    return tuple(_attach_credits(_flag_boilerplate(b) for b in blocks))


def _close_index(tokens: list[Token], i: int) -> int:
    """Index of the token closing the top-level element opened at ``i``."""
    if tokens[i].nesting == 0:
        return i
    depth = 0
    for j in range(i, len(tokens)):
        depth += tokens[j].nesting
        if depth == 0:
            return j
    return len(tokens) - 1


_KIND_BY_TYPE: dict[str, BlockKind] = {
    "heading_open": "heading",
    "paragraph_open": "paragraph",
    "blockquote_open": "quote",
    "bullet_list_open": "list",
    "ordered_list_open": "list",
    "table_open": "table",
    "fence": "code",
    "code_block": "code",
    "html_block": "html",
    "hr": "rule",
}


def _make_block(tok: Token, group: list[Token], source: str, line: int) -> Block:
    kind = _KIND_BY_TYPE.get(tok.type, "paragraph")
    level = int(tok.tag[1]) if kind == "heading" and tok.tag[1:].isdigit() else 0
    texts: list[str] = []
    images: list[Image] = []
    links: list[Link] = []
    has_text = False
    for t in group:
        if t.type != "inline" or not t.children:
            continue
        inline_line = line + ((t.map[0] - tok.map[0]) if t.map and tok.map else 0)
        link_stack: list[tuple[str, int]] = []  # (href, index in texts where its text starts)
        for child in t.children:
            if child.type == "text":
                texts.append(child.content)
                if child.content.strip():
                    has_text = True
            elif child.type == "code_inline":
                texts.append(child.content)
                has_text = True
            elif child.type in ("softbreak", "hardbreak"):
                texts.append("\n")
            elif child.type == "link_open":
                link_stack.append((str(child.attrGet("href") or ""), len(texts)))
            elif child.type == "link_close" and link_stack:
                href, start = link_stack.pop()
                link_text = "".join(texts[start:]).strip()
                links.append(Link(url=href, text=link_text, line=inline_line))
            elif child.type == "image":
                wrapped = link_stack[-1][0] if link_stack else None
                images.append(
                    Image(url=str(child.attrGet("src") or ""), alt=child.content, line=inline_line, link=wrapped)
                )
        if kind in ("list", "quote", "table"):
            texts.append("\n")
    if kind == "code":
        text = tok.content
    elif kind == "html":
        text = ""
    else:
        text = re.sub(r"[ \t]*\n[ \t]*", "\n", "".join(texts)).strip()
    if kind in ("paragraph", "heading") and images and not has_text:
        kind = "image"
        text = ""
    return Block(kind=kind, source=source, text=text, line=line, level=level,
                 images=tuple(images), links=tuple(links))


def _flag_boilerplate(block: Block) -> Block:
    reason = boilerplate_reason(block)
    return replace(block, boilerplate=reason) if reason else block


def boilerplate_reason(block: Block) -> str | None:
    """Why ``block`` is boilerplate, or None when it is content."""
    if block.kind == "image":
        for img in block.images:
            if img.link and (READ_MORE_RE.search(img.alt) or READ_MORE_RE.search(img.link)):
                return "read-more banner"
        return None
    if block.kind not in ("paragraph", "heading", "quote", "list"):
        return None
    text = block.text.strip()
    if not text:
        return None
    for reason, rx in _STRONG_RE:
        if rx.search(text):
            return reason
    if URL_ONLY_RE.match(text) and block.kind == "paragraph":
        return "bare link"
    if len(text) <= WEAK_MAX_CHARS:
        for reason, rx in _WEAK_RE:
            if rx.search(text):
                return reason
    return None


def _attach_credits(blocks_iter) -> list[Block]:
    """Turn a credit line that follows an image into a ``credit`` block and give its text to the image."""
    out: list[Block] = []
    for block in blocks_iter:
        prev = out[-1] if out else None
        match = CREDIT_RE.match(block.text) if block.kind == "paragraph" else None
        if match and prev is not None and prev.images and len(block.text) <= 300:
            rest = match.group("rest").strip()
            credit_url = block.links[0].url if block.links else _first_url(rest)
            last = prev.images[-1]
            credited = replace(last, credit=rest or None, credit_url=credit_url)
            out[-1] = replace(prev, images=prev.images[:-1] + (credited,))
            block = replace(block, kind="credit", boilerplate=None)
        out.append(block)
    return out


def _first_url(text: str) -> str | None:
    m = LINK.search(text)
    return m.group(0) if m else None
