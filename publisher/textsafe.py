"""Characters from articles, file names and models that must not reach a terminal or a post.

One place decides, for two uses:

* :func:`clean` — text that becomes a post (article text, titles, model output): C0 and C1
  control characters (but newline and tab), DEL, bidirectional controls (embeddings,
  overrides, isolates, LRM/RLM/ALM: they reorder what readers see, e.g. to disguise a link) and
  other invisible format characters are removed; U+2028/U+2029 become newlines. What Chinese and
  English text and emoji need is kept: ZWJ and ZWNJ (emoji sequences, some scripts), variation
  selectors (U+FE0E/U+FE0F), emoji tag characters (subdivision flags), the zero-width space
  publisher itself puts after the sign of an inert @mention.
* :func:`for_terminal` — anything printed (file names, titles, stored posts): every control
  character but newline and tab, and every bidi control, becomes ``?`` (as ``ls`` shows them),
  so an OSC sequence in a file name (``ESC ] 0 ; … BEL`` sets the window title; OSC 52 writes
  the clipboard) or a right-to-left override cannot act on the operator's terminal.
"""

from __future__ import annotations

import re

#: Bidirectional formatting: LRM, RLM, ALM, LRE/RLE/PDF/LRO/RLO, LRI/RLI/FSI/PDI.
BIDI = "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
#: Other invisible format characters no post needs (word joiner and invisible operators,
#: deprecated format controls, interlinear annotation, Mongolian vowel separator, BOM).
_INVISIBLE = "\u2060\u2061\u2062\u2063\u2064\u206a\u206b\u206c\u206d\u206e\u206f\ufff9\ufffa\ufffb\u180e\ufeff"
_CONTROLS = "".join(chr(c) for c in range(0x20) if chr(c) not in "\n\t") + "\x7f" + "".join(
    chr(c) for c in range(0x80, 0xA0))

_CLEAN = re.compile("[" + re.escape(_CONTROLS + BIDI + _INVISIBLE) + "]")
_TERMINAL = re.compile("[" + re.escape(_CONTROLS + BIDI) + "]")


def clean(text: str) -> str:
    """``text`` without control, bidi and invisible format characters (see the module docstring)."""
    if not text:
        return text
    text = text.replace("\u2028", "\n").replace("\u2029", "\n")
    return _CLEAN.sub("", text)


def for_terminal(text: str) -> str:
    """``text`` with every control and bidi character shown as ``?``."""
    if not text:
        return text
    return _TERMINAL.sub("?", text)
