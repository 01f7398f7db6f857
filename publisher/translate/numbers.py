"""Numbers checked by value, Latin-script names by token: what a translation must keep.

A translation keeps a number when it says the same *value*, however it writes it: 「5 月」 is
"May", 「3.5 万」 is "35,000" or "35 thousand", 「1.2 亿」 is "120 million", 「50%」 is "50
percent", 「3日」 is "3rd", 「2 倍」 is "twice". Only numbers written with digits in the source
are required (a Chinese numeral such as 一 is too often part of a word: 一些, 统一); ranges
(「3-5 年」) require both ends. A Latin-script name keeps its tokens in order, whatever the
spacing, hyphens or case the model gave them ("GPT 4o" for "GPT-4o"; the pipeline puts the name
back as written).

:func:`find_numbers` finds the numbers of a Chinese text (with their unit: 月 日 年 % 倍 and
the multipliers 万 亿 千 百); :func:`english_values` reads every value an English text states;
:func:`number_kept` says whether one number survived. :attr:`Number.english` is how a number
is written when the sentence falls back to piece-by-piece translation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FULLWIDTH = str.maketrans("０１２３４５６７８９．％", "0123456789.%")

_MULTIPLIERS = {"万亿": 1e12, "千亿": 1e11, "百亿": 1e10, "十亿": 1e9, "亿": 1e8, "千万": 1e7, "百万": 1e6,
                "十万": 1e5, "万": 1e4, "千": 1e3, "百": 1e2}
_UNITS = ("%", "‰", "月", "日", "号", "年", "倍")

_SOURCE_RE = re.compile(
    r"(?<![A-Za-z0-9.,])(?<![A-Za-z]-)(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![A-Za-z0-9]|\.\d)"
    r"(?:\s?(" + "|".join(sorted(_MULTIPLIERS, key=len, reverse=True)) + r"))?"
    r"(?:\s?(" + "|".join(map(re.escape, _UNITS)) + r"))?"
)

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
_MONTH_RE = re.compile(r"\b(" + "|".join(MONTHS) + r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\b\.?")

_SCALES = {"thousand": 1e3, "k": 1e3, "million": 1e6, "mn": 1e6, "m": 1e6, "billion": 1e9, "bn": 1e9, "b": 1e9,
           "trillion": 1e12, "万": 1e4, "亿": 1e8, "lakh": 1e5, "crore": 1e7}
_ENGLISH_NUMBER_RE = re.compile(
    r"(?<![A-Za-z0-9.,])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?:st|nd|rd|th)?"
    r"(?:\s?-?\s?(thousand|million|billion|trillion|lakh|crore|mn|bn|k|m|b|万|亿)(?![A-Za-z]))?",
    re.IGNORECASE,
)
_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "dozen": 12, "a": 1, "an": 1,
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12,
}
_WORD_SCALES = {"hundred": 1e2, "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_MULTIPLES = {"twice": 2, "double": 2, "doubled": 2, "doubles": 2, "triple": 3, "tripled": 3, "triples": 3,
              "quadruple": 4, "quadrupled": 4, "half": 0.5}
_WORD_RE = re.compile(r"[A-Za-z]+")


@dataclass(frozen=True)
class Number:
    """A number written with digits in the source text."""

    start: int
    end: int
    text: str
    """As written, unit included (``3.5万``, ``5月``, ``50%``)."""
    value: float
    """Its value (multiplier applied: 3.5万 -> 35000)."""
    unit: str = ""
    """月 日 号 年 % ‰ 倍, or ""."""

    @property
    def month(self) -> int | None:
        """The month, for 1月 to 12月."""
        if self.unit == "月" and self.value == int(self.value) and 1 <= self.value <= 12:
            return int(self.value)
        return None

    @property
    def english(self) -> str:
        """How the number is written in English text (the piece-by-piece fallback)."""
        if self.month is not None:
            return MONTHS[self.month - 1]
        number = _format(self.value) if self.value != _plain(self.text) else _digits(self.text)
        if self.unit in ("%", "‰"):
            return number + self.unit
        if self.unit == "倍":
            return f"{number} times"
        return number


def _digits(text: str) -> str:
    m = re.match(r"[\d,]+(?:\.\d+)?", text)
    return m.group(0) if m else text


def _plain(text: str) -> float:
    return float(_digits(text).replace(",", ""))


def _format(value: float) -> str:
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.6f}".rstrip("0").rstrip(".")


def find_numbers(text: str) -> list[Number]:
    """The numbers written with digits in ``text`` (a Chinese sentence), in order."""
    normal = text.translate(_FULLWIDTH)
    found = []
    for m in _SOURCE_RE.finditer(normal):
        whole, frac, mult, unit = m.group(1), m.group(2) or "", m.group(3), m.group(4) or ""
        value = float(whole.replace(",", "") + frac)
        if mult:
            value *= _MULTIPLIERS[mult]
        found.append(Number(m.start(), m.end(), text[m.start():m.end()], round(value, 6), unit))
    return found


@dataclass(frozen=True)
class EnglishValues:
    values: frozenset[float]
    months: frozenset[int]


def english_values(text: str) -> EnglishValues:
    """Every value an English text states: digits (with a scale word or not), number words,
    multiples (twice, half), and the months it names (capitalised: "May", not "may")."""
    values: set[float] = set()
    normal = text.translate(_FULLWIDTH)
    for m in _ENGLISH_NUMBER_RE.finditer(normal):
        base = float(m.group(1).replace(",", "") + (m.group(2) or ""))
        values.add(round(base, 6))
        scale = m.group(3)
        if scale:
            values.add(round(base * _SCALES[scale.lower() if scale.isascii() else scale], 6))
    words = [w.lower() for w in _WORD_RE.findall(normal)]
    total, current, seen = 0.0, 0.0, False
    for word in words + [""]:
        if word in _WORDS and not (word in ("a", "an") and seen):
            current += _WORDS[word]
            seen = True
            values.add(float(_WORDS[word]))
        elif word in _WORD_SCALES and (seen or word != "hundred"):
            current = (current or 1) * _WORD_SCALES[word]
            if word != "hundred":
                total += current
                current = 0
            seen = True
            values.add(round(total + current, 6))
        elif word in _MULTIPLES:
            values.add(float(_MULTIPLES[word]))
        else:
            if seen:
                values.add(round(total + current, 6))
            total, current, seen = 0.0, 0.0, False
    months = {MONTHS.index(_full_month(m.group(1))) + 1 for m in _MONTH_RE.finditer(normal)}
    return EnglishValues(frozenset(values), frozenset(months))


def _full_month(name: str) -> str:
    return next(full for full in MONTHS if full.startswith(name[:3]))


def number_kept(number: Number, english: EnglishValues) -> bool:
    """Whether an English text states ``number`` (by value; a month by its name too)."""
    if number.value in english.values:
        return True
    if number.month is not None and number.month in english.months:
        return True
    if number.unit in ("%", "‰"):
        return False
    # 「3.5万」 may come through as "3.5 万" or "3.5" left with its multiplier: the digits as written
    return _plain(number.text) in english.values and number.value == _plain(number.text)


# --- Latin-script names ----------------------------------------------------------------------

_TOKEN_RE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def name_pattern(word: str) -> re.Pattern[str]:
    """A name's tokens in order, any case, separated by nothing, spaces, hyphens, dots or
    apostrophes ("GPT-4o" matches "GPT 4o", "gpt-4o" and "GPT4o"; "OpenAI" matches "Open AI"); a
    name ending in a letter may take a plural ("GPUs", "Cybertrucks")."""
    tokens = _TOKEN_RE.findall(word)
    if not tokens:
        return re.compile(re.escape(word), re.IGNORECASE)
    body = r"[\s\-–./'’+&]{0,2}".join(re.escape(t) for t in tokens)
    plural = "(?:e?s)?" if tokens[-1][-1:].isalpha() else ""  # "GPUs", "Cybertrucks", "iPhones"
    return re.compile(rf"(?<![A-Za-z0-9]){body}{plural}(?![A-Za-z0-9])", re.IGNORECASE)
