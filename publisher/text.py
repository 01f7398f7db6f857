"""What counts as Chinese, CJK punctuation and a link in text: one definition for every stage.

Han means the Unicode script property ``Script=Han`` (``\\p{Han}``): the unified ideographs and
all their extension blocks (``𠮷``), the compatibility ideographs, the radicals, and the few Han
characters that live in the CJK Symbols and Punctuation block: ``〇`` (ling, the zero of
``二〇二四年``), ``々`` (the iteration mark) and the Hangzhou numerals. Code-point ranges such as
``[\\u4e00-\\u9fff]`` miss all of these, so "二〇二四" was Chinese to one stage and not to the
next; nothing here is written as a range of ideographs any more.

CJK punctuation is every character of the CJK Symbols and Punctuation block (U+3000–U+303F) and of
the Halfwidth and Fullwidth Forms block (U+FF00–U+FFEF) that is not Han: ``、。「」（），：``, the
ideographic space, and fullwidth letters and digits. Han and CJK punctuation never overlap.

Links come in the few shapes the stages need, each defined once: :data:`LINK` (``http(s)://`` up to
the next whitespace), :data:`LINK_IN_CHINESE` (a link written inside Chinese text, which ends at
the first Chinese character or CJK punctuation), :data:`ASCII_LINK` (``http(s)://`` or ``www.``
and printable ASCII), :func:`is_link` for a value that must be one link and nothing else, and :func:`is_address` for a
setting that must start with ``http(s)://`` and a host (``base_url``).
Platform-specific link rules (Bluesky's facets, X's status links) stay with their platform.
"""

from __future__ import annotations

import re

import regex

HAN_CLASS = r"\p{Han}"
"""Han, to put inside a character class of a :mod:`regex` pattern: ``regex.compile(rf"[{HAN_CLASS}·]")``."""

CJK_PUNCT_CLASS = "\u3000-\u3004\u3006\u3008-\u3020\u302a-\u3037\u303c-\u303f\uff00-\uffef"
"""CJK punctuation, to put inside a character class (of :mod:`re` or :mod:`regex`): the two
blocks above without their Han characters (〇 U+3007, 々 U+3005, 〡–〩 U+3021–3029, 〸–〻 U+3038–303B)."""

HAN = regex.compile(HAN_CLASS)
"""One Han character."""
CJK_PUNCT = regex.compile(f"[{CJK_PUNCT_CLASS}]")
"""One CJK punctuation character (see the module docstring)."""
HAN_OR_CJK_PUNCT = regex.compile(f"[{HAN_CLASS}{CJK_PUNCT_CLASS}]")
"""One character of Chinese writing: Han or CJK punctuation (no space between two of them)."""
CJK_CLASS = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}"
"""Chinese, Japanese or Korean script (Han, kana, Hangul), to put inside a :mod:`regex` character class."""
CJK = regex.compile(f"[{CJK_CLASS}]")
"""One character of Chinese, Japanese or Korean script."""

LINK = re.compile(r"https?://\S+", re.IGNORECASE)
"""An http(s) link, up to the next whitespace."""
ASCII_LINK = re.compile(r"https?://[!-~]+|www\.[!-~]+", re.IGNORECASE)
"""An http(s) or www. link made of printable ASCII: what a point of an article may quote."""
LINK_IN_CHINESE = regex.compile(
    rf"(?:https?://|www\.)[^\s<>\"'`{HAN_CLASS}{CJK_PUNCT_CLASS}]+",
    regex.IGNORECASE,
)
"""A link written inside Chinese text: ``http(s)://`` or ``www.`` up to whitespace, a quote, an angle
bracket, a Han character or CJK punctuation (``见https://a.cn/x。`` is ``https://a.cn/x``)."""
_ADDRESS = re.compile(r"https?://[^\s/]+", re.IGNORECASE)


def has_han(text: str) -> bool:
    """Whether ``text`` contains a Han character (Chinese, in this project)."""
    return HAN.search(text) is not None


def han_count(text: str) -> int:
    """How many Han characters ``text`` has."""
    return len(HAN.findall(text))


def is_han(ch: str) -> bool:
    """Whether the one character ``ch`` is Han."""
    return HAN.fullmatch(ch) is not None


def is_address(value: str) -> bool:
    """Whether ``value`` starts with ``http(s)://`` and a host: a base URL a setting may hold
    (``https://example.com/blog/``, ``http://127.0.0.1:8080/v1``)."""
    return _ADDRESS.match(value) is not None


def is_link(value: str) -> bool:
    """Whether ``value`` is one http(s) link and nothing else (a field that must hold a URL)."""
    return LINK.fullmatch(value) is not None
