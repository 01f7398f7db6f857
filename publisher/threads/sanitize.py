"""Article text is untrusted: make its @mentions, #hashtags and $cashtags inert, keep only http(s) links.

An entity is made inert by a zero-width space after its sign (:data:`INERT`), which the
platforms' own extractors do not treat as part of an entity, unless the operator allow-lists it
(``ThreadOptions.allow``); links that are not http(s) are removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import regex

from publisher import lengths
from publisher.textsafe import clean as clean_text

#: Put after the sign of an @mention, #hashtag or $cashtag from article text. twitter-text,
#: Mastodon and Bluesky's RichText all stop an entity there, so nobody is notified or tagged.
#: (Not a zero-width joiner: twitter-text accepts U+200D inside hashtags. Not fullwidth ＠/＃:
#: twitter-text treats those as mention and hashtag signs.)
INERT = "\u200b"

_ASCII_SIGN = {"＠": "@", "＃": "#", "＄": "$"}
_SIGN = regex.compile(r"[@＠#＃$＄](?=\S)")
_ENTITY_NAME = {
    "@": regex.compile(r"[\p{L}\p{N}_.\-]+"),
    "#": regex.compile(r"[\p{L}\p{M}\p{N}_\-]+"),
    "$": regex.compile(r"[A-Za-z][A-Za-z0-9]*(?:[._][A-Za-z0-9]+)?"),
}
# A sign followed by none of these (before the next space) starts no entity anywhere.
_ENTITY_CHAR = {"@": regex.compile(r"[^\p{P}]"), "#": regex.compile(r"[^\p{P}\d]"), "$": regex.compile(r".")}
# Links that are not http(s): a scheme:// of any kind, or a scheme known to run or open things.
_OTHER_LINK = regex.compile(
    r"(?<![\w/.])(?!https?://)(?:[a-z][a-z0-9+.\-]*://\S*"
    r"|(?:javascript|vbscript|data|file|mailto|tel|sms|intent|weixin|alipays?|itms-apps|market|magnet):\S+)",
    regex.IGNORECASE,
)


def normal_entity(entity: str) -> str:
    entity = entity.strip()
    if entity[:1] in _ASCII_SIGN:
        entity = _ASCII_SIGN[entity[0]] + entity[1:]
    return entity.lower()


@dataclass(frozen=True)
class Sanitized:
    text: str
    inert: tuple[str, ...] = ()
    """Entities made inert, as they appeared (e.g. "@elonmusk", "#AI")."""
    removed_links: tuple[str, ...] = ()


def make_inert(text: str, allow: Iterable[str] = ()) -> Sanitized:
    """Make @mentions, #hashtags and $cashtags in untrusted ``text`` inert, keep only http(s) links.

    Whitespace is collapsed to single spaces. Allow-listed entities (compared without case, with
    fullwidth signs read as ASCII) stay live.
    """
    allowed = {normal_entity(a) for a in allow}
    removed: list[str] = []

    def drop_link(m: regex.Match[str]) -> str:
        removed.append(m.group(0))
        return " "

    text = _OTHER_LINK.sub(drop_link, " ".join(clean_text(text).replace(INERT, "").split()))
    text = " ".join(text.split())
    spans = lengths.url_spans(text) if ("http" in text or "." in text) else []
    out: list[str] = []
    inert: list[str] = []
    pos = 0
    for m in _SIGN.finditer(text):
        i = m.start()
        if any(s <= i < e for s, e in spans):
            continue
        sign = _ASCII_SIGN.get(m.group(0), m.group(0))
        name = _ENTITY_NAME[sign].match(text, i + 1)
        if sign == "$" and not name:
            continue  # "$5" is money, not a cashtag
        token = text[i + 1 :].split(None, 1)[0]
        if not _ENTITY_CHAR[sign].search(token):
            continue  # "#}" or "@." name nobody on any platform
        entity = text[i] + (name.group(0) if name else "")
        if name and normal_entity(entity.rstrip(".-")) in allowed:
            continue
        out.append(text[pos : i + 1])
        out.append(INERT)
        pos = i + 1
        inert.append(entity)
    out.append(text[pos:])
    return Sanitized(text="".join(out).strip(), inert=tuple(inert), removed_links=tuple(removed))
