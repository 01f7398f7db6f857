"""Typed, frozen records passed between the pipeline stages.

ingest -> Article; translate -> TranslatedArticle; summarize/render -> Thread.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, Mapping

BlockKind = Literal[
    "heading", "paragraph", "quote", "list", "table", "code", "html", "image", "credit", "rule"
]

#: Languages that ingest reports. Chinese is split by script; others are a best guess.
CHINESE = ("zh-Hans", "zh-Hant")


@dataclass(frozen=True)
class Image:
    url: str
    alt: str
    line: int
    credit: str | None = None
    """Text of the credit line that follows the image (图源：... ), without its label."""
    credit_url: str | None = None
    link: str | None = None
    """Where the image links to, when it is wrapped in a link."""


@dataclass(frozen=True)
class Link:
    url: str
    text: str
    line: int


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    source: str
    """The block's Markdown exactly as in the (normalised) file."""
    text: str
    """Plain text: markup removed, link texts kept, images dropped."""
    line: int
    """1-based line in the file where the block starts."""
    level: int = 0
    images: tuple[Image, ...] = ()
    links: tuple[Link, ...] = ()
    boilerplate: str | None = None
    """Why this block must never reach a summary (None for content)."""

    @property
    def is_content(self) -> bool:
        """Text a summary may draw from."""
        return self.boilerplate is None and self.kind in ("heading", "paragraph", "quote", "list", "table")


@dataclass(frozen=True)
class Article:
    path: Path
    source_hash: str
    """sha256 of the file's bytes."""
    title: str
    title_from: Literal["frontmatter", "heading", "filename"]
    author: str | None
    date: dt.date | dt.datetime | None
    url: str | None
    """The original article's http(s) address, when the frontmatter gives one."""
    publication: str | None
    """The outlet named by the frontmatter (source: 机器之心), when it is not a URL."""
    tags: tuple[str, ...]
    description: str | None
    language: str
    """zh-Hans, zh-Hant, or a best guess for other text (en, fr, de, es, ja, ko, und)."""
    body: str
    blocks: tuple[Block, ...]
    metadata: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), compare=False)
    warnings: tuple[str, ...] = ()

    @property
    def is_chinese(self) -> bool:
        return self.language in CHINESE

    @property
    def images(self) -> tuple[Image, ...]:
        return tuple(img for b in self.blocks for img in b.images)

    @property
    def links(self) -> tuple[Link, ...]:
        return tuple(link for b in self.blocks for link in b.links)

    @property
    def boilerplate(self) -> tuple[Block, ...]:
        return tuple(b for b in self.blocks if b.boilerplate)

    @property
    def content_blocks(self) -> tuple[Block, ...]:
        return tuple(b for b in self.blocks if b.is_content)


# --- translation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Sentence:
    """One source sentence and its English translation, for side-by-side views and summaries."""

    source: str
    text: str
    block: int
    """Index of the block (in Article.blocks) the sentence comes from."""


@dataclass(frozen=True)
class TranslatedBlock:
    block: Block
    """The source block."""
    markdown: str
    """The block's English Markdown (the source unchanged for code, images, rules...)."""
    text: str
    """Plain English text of the block (markup removed, link texts kept, images dropped)."""
    sentences: tuple[Sentence, ...] = ()


@dataclass(frozen=True)
class TranslatedArticle:
    article: Article
    title: str
    """English title (the original stays in article.title)."""
    description: str | None
    blocks: tuple[TranslatedBlock, ...]
    """Parallel to article.blocks."""
    markdown: str
    """The whole English body."""
    model: str
    """Model name, e.g. "translate-zh_en" (or "fake", or "none" when not translated)."""
    model_version: str
    translated: bool
    """False when the article was not Chinese and was passed through as it is."""
    glossary_hits: tuple[str, ...] = ()
    """Glossary source terms that occurred and were enforced."""
    warnings: tuple[str, ...] = ()
    extracts: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), compare=False)
    """Chinese text -> English for what a thread was made from, when only that was translated
    (publisher.threads.summarize chooses on the source; the pipeline translates the choice)."""

    @property
    def sentences(self) -> tuple[Sentence, ...]:
        return tuple(s for b in self.blocks for s in b.sentences)


# --- threads ---------------------------------------------------------------------------------

PostRole = Literal["hook", "point", "attribution"]


@dataclass(frozen=True)
class Post:
    text: str
    role: PostRole
    length: int
    """Length by the platform's own counting."""
    limit: int


@dataclass(frozen=True)
class PostImage:
    """An image attached to one post of a thread (see :mod:`publisher.media`).

    ``sha256`` names the bytes fitted for the thread's platform, as stored under
    ``$PUBLISHER_HOME/media/``: what is uploaded, and what approval covers."""

    post: int
    """0-based index of the post that carries it."""
    sha256: str
    mime: str
    width: int
    height: int
    size: int
    """Bytes after fitting."""
    original_sha256: str
    original_size: int
    """Bytes as fetched."""
    alt: str
    """Alt text as sent (the credit included)."""
    credit: str | None
    """Who the image is from (the 图源 line: a link or a name), None when the article names nobody."""
    source: str
    """Where it was fetched from (URL, or path relative to the article)."""
    animated: bool = False


@dataclass(frozen=True)
class LinkCard:
    """A link card for the original article (Bluesky ``app.bsky.embed.external``)."""

    post: int
    uri: str
    title: str
    description: str
    thumb: PostImage | None = None


@dataclass(frozen=True)
class Thread:
    platform: str
    """"x", "mastodon" or "bluesky"."""
    posts: tuple[Post, ...]
    article_hash: str
    """Article.source_hash of the article the thread was made from."""
    title: str
    dropped: tuple[str, ...] = ()
    """Key points left out because they did not fit."""
    warnings: tuple[str, ...] = ()
    media: tuple[PostImage, ...] = ()
    """Images attached to posts, in post order."""
    card: LinkCard | None = None
    untranslated: tuple[str, ...] = field(default=(), compare=False)
    """Why Chinese is left in the English posts, when it is (each also among ``warnings``, in the same
    words): which posts, or that no gist or point had usable English. Set when the thread is built;
    the queue stores only the warnings, so a thread read back from it has none here."""

    @property
    def content_hash(self) -> str:
        """Identity of exactly what would be posted: approval is bound to it (the images'
        fitted bytes, alt text and credit and the link card included, when there are any)."""
        import hashlib

        h = hashlib.sha256(self.platform.encode())
        for post in self.posts:
            h.update(b"\x00" + post.text.encode())
        if self.media or self.card:
            from publisher.media import media_identity

            h.update(b"\x01" + media_identity(self.media, self.card).encode())
        return h.hexdigest()


@dataclass(frozen=True)
class PostRef:
    """What a platform returned for one post: enough to reply to it and to link to it (the
    adapters return it, the queue stores it, :mod:`publisher.platforms.base` re-exports it)."""

    id: str
    """X tweet id, Mastodon status id, Bluesky at:// URI."""
    url: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)
    """Platform details needed later (Bluesky: {"cid": ...})."""
