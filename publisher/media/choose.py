"""Which images a thread gets (the lead image, and in ``points`` mode the image next to each
point's paragraph), their alt text and their credit."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping
from urllib.parse import urlsplit

from publisher.media.fetch import Fetched, Fetcher
from publisher.media.images import shape_problem
from publisher.media.store import FetchFailed, MediaError
from publisher.platforms import registry
from publisher.text import HAN as _HAN
from publisher.text import LINK

if TYPE_CHECKING:
    from publisher.models import Article, Image, TranslatedArticle
    from publisher.threads.render import ThreadDraft

MODES = ("none", "lead", "points")
DEFAULT_MODE = "lead"
MAX_LEAD_TRIES = 6
"""Candidates fetched at most when looking for the lead image."""
_GENERIC_ALT = re.compile(r"^\s*(?:图片|图|image|img|photo|picture|pic|照片|配图|插图|封面|gif|动图|screenshot|截图)?"
                          r"\s*\d*\s*(?:\.(?:png|jpe?g|gif|webp))?\s*$", re.IGNORECASE)
_NOT_CONTENT = re.compile(r"qr[-_ ]?code|\bqr\b|二维码|扫码|logo|banner|头像|avatar|read ?more|阅读原文|关注|follow|"
                          r"subscribe|广告|\bad\b|divider|分割线", re.IGNORECASE)
_CAPTION_START = re.compile(r"^\s*(?:[▲△▼↑↓]|图\s*\d|如图|上图|下图|图注|图为|图中|Figure|Fig\.)", re.IGNORECASE)
ALT_LIMITS = {s.name: s.alt_text_limit for s in registry.SPECS.values()}
"""Alt text limits (the registry's): X 1,000 characters, Mastodon 1,500 (description_limit), Bluesky 2,000."""


@dataclass(frozen=True)
class Candidate:
    image: "Image"
    block: int
    """Index of the block (in Article.blocks) that holds it."""


def candidates(article: "Article") -> list[Candidate]:
    """Content images in reading order: not in boilerplate, not wrapped in read-more links, not
    named like a QR code, logo or banner, not next to a follow-us line."""
    out = []
    blocks = article.blocks
    for index, block in enumerate(blocks):
        if not block.images or block.boilerplate:
            continue
        neighbours = [blocks[j] for j in (index - 1, index + 1) if 0 <= j < len(blocks)]
        if any(n.boilerplate in ("follow-us line", "read-more banner", "promotion") for n in neighbours):
            continue
        for image in block.images:
            words = " ".join(x for x in (image.alt, image.url, image.link or "") if x)
            if _NOT_CONTENT.search(words) or (image.link and not image.link.startswith(("http://", "https://"))):
                continue
            if not image.url.strip() or image.url.strip().startswith("data:"):
                continue
            out.append(Candidate(image, index))
    return out


@dataclass(frozen=True)
class Chosen:
    """An image chosen for a post, fetched, with its alt text and credit."""

    post: int
    fetched: Fetched
    description: str
    """Alt text without the credit."""
    credit: str | None
    label: str | None
    """The credit as the post shows it ("Image: …")."""
    candidate: Candidate


def alt_text(article: "Article", translated: "TranslatedArticle | None", candidate: Candidate,
             translate: Callable[[str], str] | None = None) -> str:
    """The image's description: its Markdown alt text when real, else a caption next to it,
    else the sentence before it (English when a translation is there), without a trailing colon."""
    return re.sub(r"\s*[:：]+\s*$", "", _alt_text(article, translated, candidate, translate)) or \
        "An image from the original article."


def _alt_text(article: "Article", translated: "TranslatedArticle | None", candidate: Candidate,
              translate: Callable[[str], str] | None = None) -> str:
    image = candidate.image
    alt = " ".join(image.alt.split())
    if alt and not _GENERIC_ALT.match(alt) and not re.fullmatch(r"[\w.-]+\.(?:png|jpe?g|gif|webp)", alt, re.I):
        if _HAN.search(alt) and translate is not None:
            alt = translate(alt)
        if not _HAN.search(alt):
            return alt
    blocks = article.blocks
    after = candidate.block + 1
    while after < len(blocks) and blocks[after].kind == "credit":
        after += 1

    def english(index: int) -> str:
        if translated is not None and index < len(translated.blocks):
            return " ".join(translated.blocks[index].text.split())
        return " ".join(blocks[index].text.split())

    if after < len(blocks) and blocks[after].kind == "paragraph" and not blocks[after].boilerplate \
            and (_CAPTION_START.match(blocks[after].text) or len(blocks[after].text) <= 40):
        caption = re.sub(r"^[▲△▼↑↓\s]+", "", english(after))
        if caption and not (_HAN.search(caption) and translated is not None and translated.translated):
            return caption
    before = candidate.block - 1
    while before >= 0 and (blocks[before].kind in ("credit", "image", "rule") or blocks[before].boilerplate):
        before -= 1
    if before >= 0 and blocks[before].is_content:
        sentences = [s for s in re.split(r"(?<=[.!?。！？])\s+", english(before)) if s.strip()]
        if sentences:
            return sentences[-1].rstrip(":：").strip()
    return "An image from the original article."


def credit_text(image: "Image", translate: Callable[[str], str] | None = None) -> str | None:
    """The 图源 credit as written (a link or a name; Chinese names translated)."""
    credit = (image.credit or "").strip()
    if image.credit_url and (not credit or credit.startswith("http")):
        return image.credit_url
    if not credit:
        return None
    if _HAN.search(credit) and translate is not None:
        translated = translate(credit).strip()
        return translated or credit
    return credit


_SITE_NAMES = {"x.com": "X", "twitter.com": "X", "weibo.com": "Weibo", "weibo.cn": "Weibo", "youtube.com": "YouTube",
               "youtu.be": "YouTube", "bilibili.com": "Bilibili", "github.com": "GitHub", "zhihu.com": "Zhihu",
               "douyin.com": "Douyin", "kuaishou.com": "Kuaishou", "xiaohongshu.com": "Xiaohongshu",
               "weixin.qq.com": "WeChat", "huggingface.co": "Hugging Face", "arxiv.org": "arXiv",
               "reddit.com": "Reddit", "instagram.com": "Instagram", "tiktok.com": "TikTok"}


def credit_label(credit: str) -> str:
    """The credit as a post shows it, without a link (on X a link costs more and belongs to the
    attribution post; the full link is in the alt text): "CharaspowerAI on X", "Weibo"."""
    credit = credit.strip()
    if not re.match(r"^(?:https?://)?[\w.-]+\.[a-z]{2,}(?:/\S*)?$", credit, re.I):
        text = LINK.sub("", credit).strip(" :：-")
        return _unlinked(text or credit)
    parts = urlsplit(credit if "://" in credit else "https://" + credit)
    host = (parts.hostname or "").lower().removeprefix("www.").removeprefix("m.").removeprefix("mobile.")
    site = next((name for domain, name in _SITE_NAMES.items() if host == domain or host.endswith("." + domain)), None)
    segments = [s for s in parts.path.split("/") if s]
    if site == "X" and segments and segments[0] not in ("i", "home", "search"):
        return f"{segments[0]} on X"
    if site:
        return site
    labels = host.split(".")
    name = labels[-2] if len(labels) >= 2 else host
    return name[:1].upper() + name[1:]


def _unlinked(text: str) -> str:
    """``text`` that no platform turns into a link or a mention."""
    from publisher.threads.render import make_inert

    text = make_inert(text).text
    return re.sub(r"\b([\w-]+)\.([a-z]{2,})\b", r"\1 \2", text)


def credit_line(label: str) -> str:
    return f"Image: {label}"


def full_alt(description: str, credit: str | None, platform: str) -> str:
    """Alt text within the platform's limit; the credit is always whole, the description is cut."""
    limit = ALT_LIMITS[platform]
    tail = f" (Image: {credit})" if credit else ""
    room = limit - len(tail)
    if room < 20:
        return (description[: max(limit - len(credit or '') - 10, 0)] + tail)[:limit]
    desc = description if len(description) <= room else description[: room - 1].rstrip() + "…"
    return desc + tail


@dataclass(frozen=True)
class ImagePlan:
    """What :func:`attach` decided for one article (shared by every platform)."""

    chosen: tuple[Chosen, ...]
    warnings: tuple[str, ...] = ()


def choose(article: "Article", translated: "TranslatedArticle | None", drafts: Mapping[str, "ThreadDraft"],
           mode: str, fetcher: Fetcher, translate: Callable[[str], str] | None = None) -> ImagePlan:
    """Pick and fetch the images: the lead image for post 1 and, in ``points`` mode, the image
    next to each point's paragraph for that point's post (the same for every platform: the
    posts of a point have the same index on each, or not — indexes are resolved per platform
    by :func:`attach`)."""
    if mode == "none":
        return ImagePlan(())
    if mode not in MODES:
        raise MediaError(f"threads.images must be one of {', '.join(MODES)}, not {mode!r}")
    warnings: list[str] = []
    chosen: list[Chosen] = []
    base = article.path.parent if article.path else None
    cands = candidates(article)
    bad: dict[str, str] = {}
    unreachable: dict[str, str] = {}

    def usable(cand: Candidate) -> Fetched | None:
        key = cand.image.url
        if key in bad:
            return None
        try:
            fetched = fetcher.fetch(cand.image.url, base)
            data = fetcher.store.get(fetched.sha256)
            problem = shape_problem(data, fetched.info)
            if problem:
                raise MediaError(f"{cand.image.url}: not used, it looks like {problem}")
        except FetchFailed as exc:
            bad[key] = str(exc)
            host = urlsplit(key).hostname or key
            unreachable.setdefault(host, str(exc).split(": ", 1)[-1])
            return None
        except MediaError as exc:
            bad[key] = str(exc)
            warnings.append(f"image not used: {exc}")
            return None
        return fetched

    def make(post: int, cand: Candidate, fetched: Fetched) -> Chosen:
        credit = credit_text(cand.image, translate)
        return Chosen(post=post, fetched=fetched, description=alt_text(article, translated, cand, translate),
                      credit=credit, label=credit_line(credit_label(credit)) if credit else None, candidate=cand)

    lead = None
    for cand in cands[:MAX_LEAD_TRIES]:
        fetched = usable(cand)
        if fetched is not None:
            lead = make(0, cand, fetched)
            chosen.append(lead)
            break
    if lead is None and cands:
        why = "; ".join(f"{host}: {reason}" for host, reason in unreachable.items())
        warnings.append(f"images not fetched ({why}): the thread is text-only" if why and not chosen
                        else "no usable lead image: the thread is text-only")
    if mode == "points" and drafts:
        draft = next(iter(drafts.values()))
        used = {lead.candidate.image.url} if lead else set()
        by_block = {c.block: c for c in cands}
        for index, rp in enumerate(draft.posts):
            if rp.point is None or rp.part != 1 or index == 0:
                continue
            near = _near(rp.point.block, by_block, article)
            if near is None or near.image.url in used:
                continue
            fetched = usable(near)
            if fetched is not None:
                used.add(near.image.url)
                chosen.append(make(index, near, fetched))
    return ImagePlan(tuple(chosen), tuple(dict.fromkeys(warnings)))


def _near(block: int, by_block: Mapping[int, Candidate], article: "Article") -> Candidate | None:
    """The image next to paragraph ``block``: right after it (credit lines skipped), else right before."""
    blocks = article.blocks
    for step in (1, -1):
        j = block + step
        while 0 <= j < len(blocks) and blocks[j].kind == "credit":
            j += step
        if j in by_block:
            return by_block[j]
    return by_block.get(block)
