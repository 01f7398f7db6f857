"""Article -> TranslatedArticle: split, protect, translate in one batch, verify, restore.

How one article is translated:

1. Every block becomes a plan (``markup``): verbatim markup around units of inline Markdown.
   Code, HTML, images and rules are never touched.
2. Every unit is split into sentences (``splitter``). In each sentence, protected pieces (URLs,
   images, inline code, HTML, link brackets, emphasis markers) become placeholders ``QX1``,
   ``QX2``... numbered from 1 in each sentence (letters and digits only, so they survive
   SentencePiece decoding, which turns ``_`` into a space), and glossary terms are replaced
   by their English (可灵 -> Kling). What reaches the translator is one sentence per item,
   for example ``QX1 Synced QX2 也是第一时间就点进了申请通道，并拿到了试用资格。``
   (see :func:`model_inputs`).
3. All sentences of the article that are not in the cache go to the translator in one call.
4. Each output is verified: every placeholder exactly once (link and emphasis markers in
   order), every glossary term, Latin-script name and number of the source still there (a
   name that only changed case is put back as it was). When something is lost, the sentence
   is translated again in pieces: the text between the protected items, each piece on its
   own (one more call for all such sentences), with the protected items put back between them
   unchanged. Broken Markdown is never emitted.
5. Placeholders are restored (``restore``); the English Markdown, the plain text and the
   (Chinese source, English) sentence pairs are assembled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

from publisher.errors import ModelError
from publisher.models import Article, Block, Sentence, TranslatedArticle, TranslatedBlock
from publisher.translate import markup
from publisher.translate import numbers as num
from publisher.translate.inline import Protected, Segment, plain_text
from publisher.translate.markup import Part, Rendered, Unit
from publisher.translate.restore import (escape_line_start, normalise_punctuation, render_kept, render_output,
                                        render_pieces)
from publisher.translate.splitter import has_han, split_sentences

if TYPE_CHECKING:
    from publisher.translate.base import Translator
    from publisher.translate.cache import TranslationCache
    from publisher.translate.glossary import Glossary

#: Placeholder prefixes, tried in order until one does not occur in the sentence.
PLACEHOLDER_PREFIXES = ("QX", "QZ", "XQ", "ZQ", "QJ", "JQ", "XZ", "ZX")

_UNTRANSLATED_KINDS = ("code", "html", "image", "rule")


@dataclass
class TranslationStats:
    """What one translate_article call did (filled in when passed as ``stats=``)."""

    sentences: int = 0
    """Sentences that needed the model (before the cache)."""
    cached: int = 0
    """Of those, answered by the cache."""
    translated: int = 0
    """Items sent to the translator (sentences and pieces)."""
    calls: int = 0
    """Calls to translator.translate_sentences."""
    pieces: int = 0
    """Sentences translated piece by piece because the model lost a protected item."""


# --- public API ----------------------------------------------------------------------------


def translate_article(
    article: Article,
    translator: Translator | None,
    *,
    glossary: Glossary | None = None,
    cache: TranslationCache | None = None,
    stats: TranslationStats | None = None,
) -> TranslatedArticle:
    """Translate a Chinese article to English, keeping its Markdown structure.

    Articles that are not Chinese, or a missing translator, give :func:`passthrough`.
    ``glossary`` defaults to the shipped glossary plus ./glossary.yaml; ``cache`` (a
    :class:`~publisher.translate.cache.TranslationCache`) makes unchanged sentences free.
    """
    if not article.is_chinese:
        return passthrough(article, f"not Chinese (detected {article.language}): not translated")
    if translator is None:
        return passthrough(article, "no zh→en translation model installed: not translated "
                                    "(install one with `publisher models install`)")
    if glossary is None:
        from publisher.translate.glossary import load_glossary

        glossary = load_glossary()
    stats = stats if stats is not None else TranslationStats()
    job = _ArticleJob(article, glossary)
    job.translate(translator, cache, stats)
    return job.result(translator, stats)


def passthrough(article: Article, reason: str) -> TranslatedArticle:
    """The article as it is, marked untranslated (``model="none"``), with ``reason`` as a warning."""
    blocks = []
    for index, block in enumerate(article.blocks):
        sentences: tuple[Sentence, ...] = ()
        if block.kind not in _UNTRANSLATED_KINDS:
            sentences = tuple(Sentence(source=s, text=s, block=index)
                              for line in block.text.split("\n") for s in split_sentences(line))
        blocks.append(TranslatedBlock(block=block, markdown=block.source, text=block.text, sentences=sentences))
    return TranslatedArticle(
        article=article,
        title=article.title,
        description=article.description,
        blocks=tuple(blocks),
        markdown=article.body,
        model="none",
        model_version="",
        translated=False,
        warnings=(reason,),
    )


def model_inputs(article: Article, glossary: Glossary | None = None) -> list[str]:
    """The exact sentences translate_article hands the translator first, in order, once each.

    Useful to write a FakeTranslator phrasebook: map each of these to its English, keeping
    the placeholders (``QX1``...) and the glossary's English terms in the translation.
    """
    if glossary is None:
        from publisher.translate.glossary import load_glossary

        glossary = load_glossary()
    job = _ArticleJob(article, glossary)
    return list(dict.fromkeys(s.model_input for s in job.sentences if s.model_input is not None))


# --- one sentence --------------------------------------------------------------------------

_ANCHOR_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.+&'/-]*[A-Za-z0-9+])?")


@dataclass
class _Piece:
    kind: str  # "translate" | "keep" | "protected"
    text: str = ""
    protected: Protected | None = None


@dataclass
class _Sentence:
    segments: list[Segment]
    block: int | None
    source: str
    model_input: str | None = None
    """None when there is no Chinese to translate."""
    prefix: str = "QX"
    keys: dict[int, Protected] = field(default_factory=dict)
    pairs: list[tuple[int, int]] = field(default_factory=list)
    anchors: list[str] = field(default_factory=list)
    """Latin-script names of the source, checked by token."""
    numbers: list[num.Number] = field(default_factory=list)
    """Numbers of the source written with digits, checked by value."""
    terms: list[str] = field(default_factory=list)
    pieces: list[_Piece] = field(default_factory=list)
    """The sentence cut at every protected item, glossary term and name (the fallback)."""
    kept: list[Segment | tuple[str, str]] = field(default_factory=list)
    """The sentence as it is, glossary applied (used when there is no Chinese to translate)."""
    hits: list[str] = field(default_factory=list)
    in_pieces: bool = False
    rendered: Rendered | None = None


def _prepare(segments: list[Segment], block: int | None, glossary: Glossary) -> _Sentence:
    sent = _Sentence(segments=segments, block=block, source=plain_text(segments))
    all_text = "".join(s if isinstance(s, str) else s.markdown for s in segments)
    sent.prefix = next((p for p in PLACEHOLDER_PREFIXES if not _key_regex(p).search(all_text)), "QX")
    tokens: list[tuple[str, str]] = []  # (kind, text): kind in text | key | term
    open_stack: list[int] = []
    for seg in segments:
        if isinstance(seg, Protected):
            n = len(sent.keys) + 1
            sent.keys[n] = seg
            if seg.role == "open":
                open_stack.append(n)
            elif seg.role == "close" and open_stack:
                sent.pairs.append((open_stack.pop(), n))
            tokens.append(("key", f"{sent.prefix}{n}"))
            sent.pieces.append(_Piece("protected", protected=seg))
            sent.kept.append(seg)
            continue
        first_token = len(tokens)
        pos = 0
        for match in glossary.find(seg):
            if match.start > pos:
                _text_token(seg[pos:match.start], tokens, sent)
            tokens.append(("term", match.english))
            sent.terms.append(match.english)
            sent.hits.append(match.source)
            sent.pieces.append(_Piece("keep", match.english))
            pos = match.end
        if pos < len(seg):
            _text_token(seg[pos:], tokens, sent)
        lead = " " if seg[:1].isspace() else ""
        trail = " " if seg[-1:].isspace() else ""
        kept = normalise_punctuation(lead + _join_tokens(tokens[first_token:]) + trail, strip=False)
        if kept:
            sent.kept.append(("keep", kept))
    text_only = "".join(t for kind, t in tokens if kind == "text")
    if has_han(text_only):
        sent.model_input = _join_tokens(tokens)
    return sent


def _text_token(text: str, tokens: list[tuple[str, str]], sent: _Sentence) -> None:
    tokens.append(("text", text))
    cuts: list[tuple[int, int, str]] = []  # (start, end, what a piece keeps) for the fallback
    for number in num.find_numbers(text):
        sent.numbers.append(number)
        cuts.append((number.start, number.end, number.english))
    for m in _ANCHOR_RE.finditer(text):
        word = m.group(0)
        if not any(c.isupper() or c.isdigit() for c in word) or not any(c.isalpha() for c in word):
            continue  # lower-case words are not names; numbers are checked by value
        if any(start < m.end() and m.start() < end for start, end, _ in cuts):
            continue
        sent.anchors.append(word)
        cuts.append((m.start(), m.end(), word))
    pos = 0
    for start, end, keep in sorted(cuts):
        if start > pos:
            sent.pieces.append(_Piece("translate", text[pos:start]))
        sent.pieces.append(_Piece("keep", keep))
        pos = end
    if pos < len(text):
        sent.pieces.append(_Piece("translate", text[pos:]))


def _wordish(ch: str) -> bool:
    return ch.isalnum() or has_han(ch)


def _join_tokens(tokens: list[tuple[str, str]]) -> str:
    out = ""
    prev_kind = ""
    for kind, text in tokens:
        if out and text and (kind != "text" or prev_kind != "text"):
            if _wordish(out[-1]) and _wordish(text[0]):
                out += " "
        out += text
        prev_kind = kind
    return " ".join(out.split())


def _key_regex(prefix: str) -> re.Pattern[str]:
    a, b = prefix[0], prefix[1]
    return re.compile(rf"(?<![A-Za-z0-9]){a}\s?{b}\s?(\d+)(?![0-9])", re.IGNORECASE)


def _verify(output: str, sent: _Sentence) -> str | None:
    """The output with placeholders normalised and names repaired, or None when something is lost."""
    rx = _key_regex(sent.prefix)
    seen: dict[int, int] = {}
    positions: dict[int, int] = {}

    def canon(m: re.Match[str]) -> str:
        n = int(m.group(1))
        seen[n] = seen.get(n, 0) + 1
        positions.setdefault(n, m.start())
        return f"{sent.prefix}{n}"

    text = rx.sub(canon, output)
    if not any(ch.isalnum() for ch in rx.sub("", text)):
        return None  # nothing but placeholders (or nothing at all) for a sentence with text
    if set(seen) != set(sent.keys) or any(count != 1 for count in seen.values()):
        return None
    order = {n: text.index(f"{sent.prefix}{n}") for n in sent.keys}
    if any(order[o] > order[c] for o, c in sent.pairs):
        return None
    if sent.numbers:
        values = num.english_values(rx.sub(" ", text))
        if not all(num.number_kept(n, values) for n in sent.numbers):
            return None
    for word in sent.anchors + sent.terms:
        exact = re.compile(rf"(?<![A-Za-z0-9]){re.escape(word)}(?![A-Za-z0-9])")
        if exact.search(text):
            continue
        m = num.name_pattern(word).search(text)  # by token: "GPT 4o" for "GPT-4o", any case
        if m is None:
            return None
        if word in sent.terms and word == word.lower():
            continue  # a common-noun term may start a sentence with a capital
        text = text[:m.start()] + word + text[m.end():]
    return text


# --- the article ---------------------------------------------------------------------------


class _ArticleJob:
    def __init__(self, article: Article, glossary: Glossary):
        self.article = article
        self.glossary = glossary
        self.sentences: list[_Sentence] = []
        self.plans: list[list[Part] | None] = []
        self.unit_sentences: dict[int, list[_Sentence]] = {}
        for index, block in enumerate(article.blocks):
            if block.kind in _UNTRANSLATED_KINDS:
                self.plans.append(None)
                continue
            plan = markup.plan_block(block.kind, block.source)
            self.plans.append(plan)
            for unit in markup.units_of(plan):
                self._add_unit(unit, index)
        self.title_unit = markup.text_unit(article.title)
        self._add_unit(self.title_unit, None)
        self.description_unit = markup.text_unit(article.description) if article.description else None
        if self.description_unit is not None:
            self._add_unit(self.description_unit, None)

    def _add_unit(self, unit: Unit, block: int | None) -> None:
        sents = [_prepare(segs, block, self.glossary) for segs in markup.unit_sentences(unit)]
        self.unit_sentences[id(unit)] = sents
        self.sentences.extend(sents)

    # translation

    def translate(self, translator: Translator, cache: TranslationCache | None, stats: TranslationStats) -> None:
        todo = [s for s in self.sentences if s.model_input is not None]
        outputs = _run(translator, cache, self.glossary.version, [s.model_input for s in todo if s.model_input],
                       stats, count_sentences=True)
        failed: list[_Sentence] = []
        for sent in todo:
            assert sent.model_input is not None
            verified = _verify(outputs[sent.model_input], sent)
            if verified is None:
                failed.append(sent)
            else:
                sent.rendered = render_output(verified, sent)
        if failed:
            stats.pieces += len(failed)
            pieces = [p.text.strip() for s in failed for p in s.pieces
                      if p.kind == "translate" and has_han(p.text)]
            piece_out = _run(translator, cache, self.glossary.version, pieces, stats, count_sentences=False)
            for sent in failed:
                sent.in_pieces = True
                sent.rendered = render_pieces(sent, piece_out)
        for sent in self.sentences:
            if sent.rendered is None:
                sent.rendered = render_kept(sent)

    def _render_unit(self, unit: Unit, *, line_start: bool = False) -> Rendered:
        sents = self.unit_sentences[id(unit)]
        md = " ".join(s.rendered.markdown for s in sents if s.rendered and s.rendered.markdown)
        plain = " ".join(s.rendered.plain for s in sents if s.rendered and s.rendered.plain)
        if line_start:
            md = escape_line_start(md)
        return Rendered(md, plain)

    def result(self, translator: Translator, stats: TranslationStats) -> TranslatedArticle:
        blocks: list[TranslatedBlock] = []
        for index, (block, plan) in enumerate(zip(self.article.blocks, self.plans)):
            if plan is None:
                blocks.append(TranslatedBlock(block=block, markdown=block.source, text=block.text))
                continue
            rendered = markup.render(plan, lambda u: self._render_unit(u, line_start=_starts_line(plan, u)))
            sentences = tuple(
                Sentence(source=s.source, text=s.rendered.plain if s.rendered else "", block=index)
                for unit in markup.units_of(plan) for s in self.unit_sentences[id(unit)]
                if _has_words(s.source)
            )
            blocks.append(TranslatedBlock(block=block, markdown=rendered.markdown, text=rendered.plain,
                                          sentences=sentences))
        title = self._render_unit(self.title_unit).plain or self.article.title
        description = None
        if self.description_unit is not None:
            description = self._render_unit(self.description_unit).plain
        hits = list(dict.fromkeys(h for s in self.sentences for h in s.hits))
        warnings = list(getattr(translator, "notes", ()) or ())
        if stats.pieces:
            warnings.append(f"{stats.pieces} sentence(s) translated piece by piece because the model dropped a "
                            "link, image, code, name or number")
        return TranslatedArticle(
            article=self.article,
            title=title,
            description=description,
            blocks=tuple(blocks),
            markdown=_splice_body(self.article.body, self.article.blocks, [b.markdown for b in blocks]),
            model=translator.name,
            model_version=translator.version,
            translated=True,
            glossary_hits=tuple(hits),
            warnings=tuple(warnings),
        )


def _starts_line(plan: list[Part], unit: Unit) -> bool:
    """Whether ``unit`` begins a line of a paragraph-like block (where `1.` or `#` would be markup)."""
    for k, part in enumerate(plan):
        if part is unit:
            before = plan[k - 1] if k else ""
            return k == 0 or (isinstance(before, str) and (before.endswith("\n") or not before.strip()))
        if isinstance(part, markup.Indented):
            inner = _starts_line(part.parts, unit)
            if inner:
                return True
    return False


def _has_words(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _run(translator: Translator, cache: TranslationCache | None, glossary_version: str, inputs: Sequence[str],
         stats: TranslationStats, *, count_sentences: bool) -> dict[str, str]:
    unique = list(dict.fromkeys(inputs))
    found: dict[str, str] = {}
    identity = _identity(translator)
    if cache is not None and unique:
        found = cache.get_many(identity, translator.version, glossary_version, unique)
    missing = [s for s in unique if s not in found]
    if count_sentences:
        stats.sentences += len(unique)
        stats.cached += len(unique) - len(missing)
    if missing:
        outputs = translator.translate_sentences(missing)
        stats.calls += 1
        stats.translated += len(missing)
        if len(outputs) != len(missing):
            raise ModelError(f"translator {translator.name} returned {len(outputs)} translations for "
                             f"{len(missing)} sentences")
        from publisher.textsafe import clean  # model output is untrusted text too

        new = dict(zip(missing, (clean(str(o)).strip() for o in outputs)))
        found.update(new)
        if cache is not None:
            cache.put_many(identity, translator.version, glossary_version, new)
    return found


def _identity(translator: Translator) -> str:
    """Model identity for the cache: the name, plus decoding settings when the backend has them."""
    return str(getattr(translator, "identity", None) or translator.name)


def _splice_body(body: str, blocks: Sequence[Block], replacements: Sequence[str]) -> str:
    """``body`` with every block's source replaced by its translation, everything between kept."""
    out: list[str] = []
    cursor = 0
    for block, new in zip(blocks, replacements):
        pos = body.find(block.source, cursor) if block.source else -1
        if pos < 0:
            continue
        out.append(body[cursor:pos])
        out.append(new)
        cursor = pos + len(block.source)
    out.append(body[cursor:])
    return "".join(out)


def translate_texts(texts: Sequence[str], translator: Translator, *, glossary: Glossary | None = None,
                    cache: TranslationCache | None = None,
                    stats: TranslationStats | None = None) -> tuple[dict[str, str], tuple[str, ...]]:
    """English for each plain text (a title, a gist, the sentences of a chosen point), through the
    same protection, glossary, verification and piece-by-piece fallback as whole articles, in one
    translator call. Returns (text -> English, glossary terms used)."""
    if glossary is None:
        from publisher.translate.glossary import load_glossary

        glossary = load_glossary()
    stats = stats if stats is not None else TranslationStats()
    job = _ArticleJob.__new__(_ArticleJob)
    job.glossary = glossary
    job.sentences = []
    job.plans = []
    job.unit_sentences = {}
    units = {}
    for text in dict.fromkeys(t for t in texts if t and t.strip()):
        unit = markup.text_unit(text)
        job._add_unit(unit, None)
        units[text] = unit
    job.translate(translator, cache, stats)
    english = {text: job._render_unit(unit).plain for text, unit in units.items()}
    hits = tuple(dict.fromkeys(h for s in job.sentences for h in s.hits))
    return english, hits
