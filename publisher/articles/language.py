"""Which language an article body is in: Simplified Chinese, Traditional Chinese, or other.

Chinese is told from other scripts by counting Han characters against Latin letters and kana;
Simplified from Traditional by characters that exist in only one of the two sets (CC-CEDICT,
through hanzidentifier). For Latin-script text a stopword count gives a best guess (en, fr,
de, es) so that messages can say what the file looks like.
"""

from __future__ import annotations

import re
from functools import lru_cache

import regex

from publisher.text import HAN as _HAN
from publisher.text import LINK as _URL

_KANA = regex.compile(r"[\p{Hiragana}\p{Katakana}]")
_HANGUL = regex.compile(r"\p{Hangul}")
_LATIN = regex.compile(r"\p{Latin}")
_WORD = re.compile(r"[a-zA-ZÀ-ÿ']+")

_STOPWORDS = {
    "en": {"the", "and", "of", "to", "is", "in", "that", "it", "for", "with", "was", "on", "are", "this"},
    "fr": {"le", "la", "les", "et", "des", "est", "une", "dans", "que", "pour", "pas", "sur", "du", "au"},
    "de": {"der", "die", "und", "das", "ist", "nicht", "mit", "ein", "eine", "den", "zu", "auf", "von"},
    "es": {"el", "los", "las", "y", "que", "es", "una", "por", "con", "para", "del", "se", "como"},
}


@lru_cache(maxsize=1)
def _script_sets() -> tuple[frozenset[str], frozenset[str]]:
    from hanzidentifier import helpers

    shared = helpers.SHARED_CHARACTERS
    return (frozenset(helpers.SIMPLIFIED_CHARACTERS - shared),
            frozenset(helpers.TRADITIONAL_CHARACTERS - shared))


def detect_language(text: str) -> str:
    """Return zh-Hans, zh-Hant, ja, ko, en, fr, de, es or und."""
    text = _URL.sub(" ", text)
    han = len(_HAN.findall(text))
    kana = len(_KANA.findall(text))
    hangul = len(_HANGUL.findall(text))
    latin = len(_LATIN.findall(text))
    if kana > 0 and kana * 4 >= han and kana >= 5:
        return "ja"
    if hangul > han and hangul * 3 >= latin and hangul >= 5:
        return "ko"
    # One Han character carries about as much as three Latin letters.
    if han >= 2 and han * 3 >= latin:
        simplified_only, traditional_only = _script_sets()
        simp = sum(1 for ch in text if ch in simplified_only)
        trad = sum(1 for ch in text if ch in traditional_only)
        return "zh-Hant" if trad > simp else "zh-Hans"
    words = [w.lower() for w in _WORD.findall(text)]
    if not words:
        return "und"
    scores = {lang: sum(1 for w in words if w in stop) for lang, stop in _STOPWORDS.items()}
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] >= 2 else "und"
