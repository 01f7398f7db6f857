"""Chinese (and mixed Chinese/English) sentence splitting, offline and deterministic.

argostranslate splits with Stanza or MiniSBD, both of which fetch files from the network on
first use; publisher splits itself:

* a sentence ends after 。！？；… (and ! ? ; in Chinese text), including runs such as ？！ or ……;
* closing quotes and brackets (」』”’）》】 ) ]) stay attached to the sentence they close;
* terminators inside quotes or brackets (「……。」) do not end the sentence, unless the quoted
  passage is longer than the bound below;
* a full stop ends a sentence only when a space, a line end or Chinese follows it and it is not a
  decimal point (5.2%), part of a URL, an initial (U.S.) or a common abbreviation (e.g.);
* URLs are never split;
* line breaks always end a sentence;
* a sentence longer than ``max_chars`` is split at commas (，,：) into pieces under the bound.
"""

from __future__ import annotations

import re

from publisher.text import LINK_IN_CHINESE, has_han

#: Sentences longer than this (in characters) are split at commas.
MAX_SENTENCE_CHARS = 160

_TERMINATORS = set("。！？；…!?;｡")
_CLOSERS = set("」』”’）》】〕〉〗〙〛)]}\"'")
_OPENERS = set("「『“‘（《【〔〈〖〘〚([{")
# ASCII quotes are both openers and closers; they are only treated as closers right after a
# terminator, so they never change the depth.
_DEPTH_OPEN = set("「『“‘（《【〔〈〖〘〚([")
_DEPTH_CLOSE = set("」』”’）》】〕〉〗〙〛)]")
_COMMAS = set("，,：:")
_SOFT_COMMAS = set("、")
_ABBREVIATIONS = {"e.g", "i.e", "etc", "vs", "mr", "mrs", "ms", "dr", "prof", "inc", "ltd", "co", "jr", "sr",
                  "st", "no", "fig", "approx", "dept", "est", "u.s", "u.k"}

URL_RE = LINK_IN_CHINESE


def sentence_spans(text: str, max_chars: int = MAX_SENTENCE_CHARS) -> list[tuple[int, int]]:
    """(start, end) of every sentence in ``text``, in order, without surrounding whitespace.

    The spans cover every non-space character of ``text`` exactly once.
    """
    protected = _protected_mask(text)
    spans: list[tuple[int, int]] = []
    for start, end in _split(text, protected, respect_quotes=True):
        if end - start > max_chars:
            inner = _split(text, protected, respect_quotes=False, start=start, end=end)
            for s, e in inner:
                spans.extend(_split_long(text, protected, s, e, max_chars))
        else:
            spans.append((start, end))
    return [span for span in (_trim(text, s, e) for s, e in spans) if span[0] < span[1]]


def split_sentences(text: str, max_chars: int = MAX_SENTENCE_CHARS) -> list[str]:
    """The sentences of ``text``, stripped, in order (see the module docstring for the rules)."""
    return [text[s:e] for s, e in sentence_spans(text, max_chars)]


# --- internals -----------------------------------------------------------------------------


def _protected_mask(text: str) -> list[bool]:
    """True for characters inside a URL (never split there)."""
    mask = [False] * len(text)
    for m in URL_RE.finditer(text):
        end = m.end()
        while end > m.start() and text[end - 1] in ".,;:!?)]'\"":
            end -= 1
        for i in range(m.start(), end):
            mask[i] = True
    return mask


def _split(text: str, protected: list[bool], *, respect_quotes: bool, start: int = 0,
           end: int | None = None) -> list[tuple[int, int]]:
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    depth = 0
    sent_start = start
    i = start
    while i < end:
        ch = text[i]
        if protected[i]:
            i += 1
            continue
        if ch == "\n":
            spans.append((sent_start, i))
            sent_start = i + 1
            depth = 0
            i += 1
            continue
        if ch in _DEPTH_OPEN:
            depth += 1
        elif ch in _DEPTH_CLOSE:
            depth = max(0, depth - 1)
        if _is_terminator(text, i, end):
            j = i + 1
            # a run of terminators: ？！ …… ...
            while j < end and not protected[j] and (text[j] in _TERMINATORS or text[j] == "."):
                j += 1
            # closing quotes and brackets stay with the sentence they close
            while j < end and text[j] in _CLOSERS:
                if text[j] in _DEPTH_CLOSE:
                    depth = max(0, depth - 1)
                j += 1
            if depth == 0 or not respect_quotes:
                spans.append((sent_start, j))
                sent_start = j
            i = j
            continue
        i += 1
    if sent_start < end:
        spans.append((sent_start, end))
    return spans


def _is_terminator(text: str, i: int, end: int) -> bool:
    ch = text[i]
    if ch in _TERMINATORS:
        if ch in "!?;":
            # ASCII ! ? ; end a sentence when followed by space, the end, or Chinese
            nxt = text[i + 1] if i + 1 < end else ""
            return nxt == "" or nxt.isspace() or has_han(nxt) or nxt in _CLOSERS or nxt in _TERMINATORS
        return True
    if ch != ".":
        return False
    prev = text[i - 1] if i > 0 else ""
    nxt = text[i + 1] if i + 1 < end else ""
    if nxt == ".":  # ellipsis "..." : a terminator run handled by the caller
        return prev != "." and _ellipsis_ends(text, i, end)
    if prev.isdigit() and nxt.isdigit():
        return False  # decimal point
    if not (nxt == "" or nxt.isspace() or has_han(nxt) or nxt in _CLOSERS):
        return False
    word = re.search(r"([A-Za-z][A-Za-z.]*)$", text[max(0, i - 12):i])
    if word:
        w = word.group(1).lower()
        if w in _ABBREVIATIONS or (len(w) == 1 and w.isalpha() and prev.isupper()):
            return False
        if "." in w and len(w.replace(".", "")) <= 3:  # U.S. e.g. a.m.
            return False
    return True


def _ellipsis_ends(text: str, i: int, end: int) -> bool:
    j = i
    while j < end and text[j] == ".":
        j += 1
    nxt = text[j] if j < end else ""
    return nxt == "" or nxt.isspace() or has_han(nxt) or nxt in _CLOSERS


def _split_long(text: str, protected: list[bool], start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Split an over-long sentence at commas so that each piece is at most ``max_chars``."""
    pieces: list[tuple[int, int]] = []
    s = start
    while end - s > max_chars:
        cut = _last_break(text, protected, s, s + max_chars, _COMMAS)
        if cut is None:
            cut = _last_break(text, protected, s, s + max_chars, _SOFT_COMMAS)
        if cut is None:
            cut = _last_space(text, protected, s, s + max_chars)
        if cut is None:  # nothing to split at: leave it long rather than cut a word
            break
        pieces.append((s, cut))
        s = cut
    pieces.append((s, end))
    return pieces


def _last_break(text: str, protected: list[bool], start: int, limit: int, chars: set[str]) -> int | None:
    for i in range(min(limit, len(text)) - 1, start, -1):
        if text[i] in chars and not protected[i]:
            if text[i] in ":," and i + 1 < len(text) and text[i + 1].isdigit():
                continue  # 12:30, 1,000
            return i + 1
    return None


def _last_space(text: str, protected: list[bool], start: int, limit: int) -> int | None:
    for i in range(min(limit, len(text)) - 1, start, -1):
        if text[i].isspace() and not protected[i]:
            return i + 1
    return None


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
