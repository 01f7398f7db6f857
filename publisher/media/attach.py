"""Putting the chosen images on each platform's drafts (fitted, each with its credit line) and
Bluesky's link card; :func:`add_images` is the one call ingest and preview make."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable, Mapping

from publisher.errors import PublisherError
from publisher.media.choose import ImagePlan, candidates, choose, full_alt
from publisher.media.fetch import Fetcher
from publisher.media.images import LIMITS, fit
from publisher.media.store import MediaError, MediaStore

if TYPE_CHECKING:
    from publisher.models import Article, LinkCard, Thread, TranslatedArticle
    from publisher.threads.layout import ThreadDraft
    from publisher.translate.base import Translator


def attach(drafts: Mapping[str, "ThreadDraft"], plan: ImagePlan, store: MediaStore,
           card_for: Callable[[str, "Thread"], "LinkCard | None"] | None = None) -> dict[str, "ThreadDraft"]:
    """The drafts with the chosen images fitted to each platform and attached, each image's
    credit line added to the post that carries it. An image whose credit does not fit its post
    moves to the next post with room; when none has room it is left out, with a warning (an
    image is never posted without its credit)."""
    from publisher import lengths
    from publisher.models import PostImage

    out = {}
    for platform, draft in drafts.items():
        posts = [rp.post for rp in draft.posts]
        media: list[PostImage] = []
        warnings = list(draft.thread.warnings) + list(plan.warnings)
        taken: dict[int, list[bool]] = {}  # post -> animated flags of the images placed on it
        limits = LIMITS[platform]
        for chosen in plan.chosen:
            data = store.get(chosen.fetched.sha256)
            try:
                fitted = fit(data, platform, chosen.fetched.source)
            except MediaError as exc:
                warnings.append(f"image not used on {platform}: {exc}")
                continue
            placed = None
            order = [chosen.post] + [i for i in range(len(posts)) if i > chosen.post and posts[i].role != "attribution"]
            for index in order:
                here = taken.get(index, [])
                if index >= len(posts) or len(here) >= limits.per_post or (here and (fitted.animated or any(here))):
                    continue  # at most 4 per post, and an animated GIF goes alone (X, Mastodon)
                text = posts[index].text
                if chosen.label and chosen.label not in text:
                    text = text.rstrip() + "\n\n" + chosen.label
                if lengths.measure(platform, text) <= posts[index].limit:
                    placed = index
                    posts[index] = replace(posts[index], text=text, length=lengths.measure(platform, text))
                    break
            if placed is None:
                warnings.append(f"image {chosen.fetched.source} not used on {platform}: no post has room for its "
                                f"credit line ({chosen.label})")
                continue
            if placed != chosen.post:
                warnings.append(f"image {chosen.fetched.source} moved to post {placed + 1} on {platform}: post "
                                f"{chosen.post + 1} had no room for its credit line")
            taken.setdefault(placed, []).append(fitted.animated)
            sha = store.put(fitted.data)
            media.append(PostImage(post=placed, sha256=sha, mime=fitted.mime, width=fitted.width,
                                   height=fitted.height, size=fitted.size, original_sha256=chosen.fetched.sha256,
                                   original_size=chosen.fetched.size,
                                   alt=full_alt(chosen.description, chosen.credit, platform),
                                   credit=chosen.credit, source=chosen.fetched.source, animated=fitted.animated))
        media.sort(key=lambda m: m.post)
        thread = replace(draft.thread, posts=tuple(posts), media=tuple(media),
                         warnings=tuple(dict.fromkeys(warnings)))
        if card_for is not None:
            thread = replace(thread, card=card_for(platform, thread))
        rendered = tuple(replace(rp, post=post) for rp, post in zip(draft.posts, posts))
        out[platform] = replace(draft, thread=thread, posts=rendered)
    return out


def link_card(article: "Article", translated: "TranslatedArticle | None", thread: "Thread",
              store: MediaStore) -> "LinkCard | None":
    """Bluesky's card for the original link, on the attribution post: the English title, the
    description (or the gist), and the lead image as thumb (fitted to Bluesky)."""
    from publisher.models import LinkCard, PostImage

    if thread.platform != "bluesky" or not article.url:
        return None
    index = next((i for i, p in enumerate(thread.posts) if p.role == "attribution"), None)
    if index is None or any(m.post == index for m in thread.media):
        return None  # a Bluesky post has one embed: images win
    title = (translated.title if translated is not None else None) or article.title
    description = (translated.description if translated is not None else None) or article.description or ""
    if not description and thread.posts:
        description = thread.posts[0].text.split("\n", 1)[-1].strip()
    thumb = None
    lead = next((m for m in thread.media if m.post == 0), None) or (thread.media[0] if thread.media else None)
    if lead is not None:
        thumb = PostImage(post=index, sha256=lead.sha256, mime=lead.mime, width=lead.width, height=lead.height,
                          size=lead.size, original_sha256=lead.original_sha256, original_size=lead.original_size,
                          alt="", credit=lead.credit, source=lead.source)
    return LinkCard(post=index, uri=article.url, title=title[:300], description=description[:1000], thumb=thumb)


def add_images(article: "Article", translated: "TranslatedArticle | None", drafts: Mapping[str, "ThreadDraft"],
               mode: str, fetcher: Fetcher | None, translator: "Translator | None" = None,
               glossary: Any = None,
               rebuild: Callable[[str], Mapping[str, "ThreadDraft"]] | None = None) -> dict[str, "ThreadDraft"]:
    """Choose, fetch, fit and attach images and link cards (the one call ingest and preview make).
    ``fetcher`` None or ``mode`` "none": text-only threads (with a link card on Bluesky).
    ``rebuild(line)`` builds the drafts again with room in the hook for ``line`` (the lead
    image's credit line), so that the lead image stays on the first post."""
    store = fetcher.store if fetcher is not None else MediaStore()
    translate = _translate_fn(article, translator, glossary)
    if fetcher is None or mode == "none":
        asked_none = fetcher is None and mode != "none" and bool(candidates(article))
        plan = ImagePlan((), ("images left out (--no-images): the thread is text-only",) if asked_none else ())
    else:
        plan = choose(article, translated, drafts, mode, fetcher, translate)
    lead = next((c for c in plan.chosen if c.post == 0), None)
    if rebuild is not None and lead is not None and lead.label:
        drafts = rebuild(lead.label)
    return attach(drafts, plan, store, lambda platform, thread: link_card(article, translated, thread, store))


def _translate_fn(article: "Article", translator: "Translator | None", glossary: Any) -> Callable[[str], str] | None:
    """Translate a snippet (an alt text, a credit) through the same pipeline as the article:
    glossary, protected names and links, cache rules."""
    if translator is None:
        return None
    from publisher.articles.blocks import parse_blocks
    from publisher.translate.article import translate_article

    def translate(text: str) -> str:
        snippet = replace(article, body=text, blocks=parse_blocks(text), title=text, description=None)
        try:
            done = translate_article(snippet, translator, glossary=glossary)
        except PublisherError:
            return text
        return " ".join(b.text for b in done.blocks).strip() or text

    return translate
