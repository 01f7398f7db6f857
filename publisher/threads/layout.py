"""Lay out a translated article as a thread per platform, through the templates.

Contract: ``build_threads(translated, platforms, options=ThreadOptions()) -> {platform: Thread}``;
``build_drafts`` gives the same with the sources and choices behind every post.

A thread is: a hook post (translated title and the gist), the key points, and an attribution
post (the credit of publisher.threads.credits: author, publication, original title, republisher, date,
licence, original link, "Machine-translated from Chinese"). What it says is planned in
publisher.threads.plan; the layout policy is here: the same points on every platform, the gist
kept in the first post (the title gives way), links only in the attribution on X, two
neighbouring points per post on Mastodon, "…" marking a point split across posts
(publisher.threads.fit). The wording, order, numbering, emoji and hashtags live in templates only
(publisher.threads.templates); article text is made inert first (publisher.threads.sanitize).

Every post is measured the way its platform counts (publisher.lengths). When the thread would be
longer than the maximum number of posts, the lowest-ranked points are dropped, and the thread says
so; no sentence is ever cut short silently, and the attribution post is never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

from publisher import lengths
from publisher.errors import PublisherError
from publisher.lengths import PLATFORMS
from publisher.models import Post, PostRole, Thread, TranslatedArticle
from publisher.text import HAN as _HAN
from publisher.text import is_link
from publisher.threads.credits import Credit, build_credit
from publisher.threads.fit import fit_attribution, shorten, split_point
from publisher.threads.options import ThreadOptions, check_platform
from publisher.threads.plan import HOLD, TITLE_ONLY, ThreadPlan, hold_reasons, optional_glossary, plan_thread, selection_budget
from publisher.threads.sanitize import Sanitized, make_inert
from publisher.threads.summarize import KeyPoint, Selection, select
from publisher.threads.templates import ArticleView, PostView, TemplateProblem, macros, template_problem, thread_template, tidy

#: Two points share a post (where the platform allows it) only when they are this close in the
#: article (in sentences): one passage, not a collage.
PAIR_DISTANCE = 3


@dataclass(frozen=True)
class RenderedPost:
    """A post with what it was made from (for side-by-side previews)."""

    post: Post
    sources: tuple[str, ...] = ()
    """Source sentences of the point (on the first piece of a split point only)."""
    point: KeyPoint | None = None
    part: int = 1


@dataclass(frozen=True)
class ThreadDraft:
    """A built thread and how it was built."""

    thread: Thread
    posts: tuple[RenderedPost, ...]
    points: tuple[KeyPoint, ...]
    """The key points that made it into the thread, in reading order."""
    dropped: tuple[KeyPoint, ...]
    """Key points left out because the thread would not fit."""
    template: str
    """File name of the template used."""
    inert: tuple[str, ...] = ()
    """Mentions, hashtags and cashtags from the article that were made inert."""


def build_threads(translated: TranslatedArticle, platforms: Sequence[str] = PLATFORMS, *,
                  options: ThreadOptions | None = None) -> dict[str, Thread]:
    """A thread for each platform, every post within that platform's limit."""
    return {p: d.thread for p, d in build_drafts(translated, platforms, options=options).items()}


def build_drafts(translated: TranslatedArticle, platforms: Sequence[str] = PLATFORMS, *,
                 options: ThreadOptions | None = None, selection: Selection | None = None,
                 credit: Credit | None = None, hook_room: str | None = None) -> dict[str, ThreadDraft]:
    """Like :func:`build_threads`, with the sources and choices behind every post.

    ``hook_room``: a line that will be added to the hook after it is built (the lead image's
    credit line, :mod:`publisher.media`); the hook leaves room for it.

    ``selection`` (publisher.threads.summarize.select) and ``credit`` (publisher.threads.credits.build_credit)
    are made from the article when not given; the pipeline passes the ones it translated for.
    """
    options = options or ThreadOptions()
    for platform in platforms:
        check_platform(platform)
    article = translated.article
    glossary = optional_glossary()
    if credit is None:
        credit = build_credit(article, options.base_url, glossary)
    if selection is None:
        selection = select(article, points=options.points, budget=selection_budget(options), glossary=glossary,
                           credit=credit)
    plan = plan_thread(translated, selection, options)
    holds = hold_reasons(selection, credit)
    if plan.gist is None and not plan.points and plan.no_english:
        # held like Chinese in the posts (schedule.yaml's hold_untranslated): the translation failed
        plan = replace(plan, notes=plan.notes + (TITLE_ONLY,), title_only=True)
    return {p: _Builder(translated, p, options, plan, credit, holds, hook_room).build() for p in platforms}


class _DoesNotFit(Exception):
    def __init__(self, point: KeyPoint, why: str):
        self.point = point
        self.why = why


class _Builder:
    """Lays out one platform's thread; see the module docstring for the rules."""

    def __init__(self, translated: TranslatedArticle, platform: str, options: ThreadOptions,
                 plan: ThreadPlan, credit: Credit, holds: Sequence[str] = (), hook_room: str | None = None):
        self.translated = translated
        self.hook_room = hook_room
        self.platform = platform
        self.options = options
        self.limit = options.limit(platform)
        self.max_posts = options.max_posts_for(platform)
        self.macros = macros(thread_template(platform, options), platform)
        self.holds = tuple(holds)
        self.title_only = plan.title_only
        self.warnings: list[str] = [HOLD + h for h in holds] + list(plan.notes)
        self.inert: list[str] = []
        self.terms = options.terms
        article = translated.article
        gist = self._no_links(plan.gist) if plan.gist else None
        self.view = ArticleView(
            title=self._safe(translated.title or article.title, "title"),
            original_title=self._safe(article.title, "original title"),
            gist=self._safe(gist, "gist") if gist else None,
            author=self._safe(credit.author, "author") if credit.author else None,
            date=credit.date,
            url=credit.url if credit.url and is_link(credit.url) else None,
            publication=self._safe(credit.publication, "publication") if credit.publication else None,
            tags=tuple(self._safe(t, "tag") for t in article.tags),
            machine_translated=bool(translated.translated),
            model=translated.model,
            language=article.language,
            platform=platform,
            republisher=self._safe(credit.republisher, "republisher") if credit.republisher else None,
            republisher_url=(credit.republisher_url if credit.republisher_url
                             and is_link(credit.republisher_url) else None),
            byline=self._safe(credit.byline, "byline") if credit.byline else None,
            translator=self._safe(credit.translator, "translator") if credit.translator else None,
            licence=credit.licence,
        )
        self.english_title = self.view.title
        self.gist_point = self._link_free(plan.gist_point) if plan.gist_point else None
        self.points = [self._safe_point(self._link_free(p)) for p in plan.points]

    # -- links: on X only the attribution carries one (a post with a link costs more) --

    def _no_links(self, text: str) -> str:
        if self.platform != "x":
            return text
        spans = lengths.url_spans(text)
        for start, end in reversed(spans):
            text = (text[:start].rstrip(" :：") + " " + text[end:].lstrip()).strip()
        return " ".join(text.split())

    def _link_free(self, point: KeyPoint) -> KeyPoint:
        text = self._no_links(point.text)
        return replace(point, text=text) if text != point.text else point

    # -- untrusted text --

    def _safe(self, text: str, what: str) -> str:
        result = make_inert(text, self.options.allow)
        self._note(result, what)
        return result.text

    def _safe_point(self, point: KeyPoint) -> KeyPoint:
        result = make_inert(point.text, self.options.allow)
        self._note(result, f"point {point.rank}")
        return replace(point, text=result.text)

    def _note(self, result: Sanitized, what: str) -> None:
        for entity in result.inert:
            if entity not in self.inert:
                self.inert.append(entity)
        for link in result.removed_links:
            self.warnings.append(f"{what}: removed a link that is not http(s): {link}")

    # -- rendering --

    def _call(self, macro: Callable[..., Any], *args: Any) -> str:
        try:
            text = str(macro(*args))
        except PublisherError:
            raise
        except Exception as exc:  # UndefinedError, TypeError from a filter...: the template's fault
            raise template_problem(exc, self.macros.name, self.macros.template) from None
        return tidy(text)

    def _fits(self, text: str) -> bool:
        return lengths.problem(self.platform, text, self.limit) is None

    def _post_view(self, number: int, total: int, role: str, part: int = 1,
                   rank: int | None = None) -> PostView:
        return PostView(number=number, total=total, role=role, platform=self.platform, limit=self.limit,
                        part=part, rank=rank)

    def _hook_text(self, view: ArticleView, number: int, total: int) -> str:
        return self._call(self.macros.hook, view, self._post_view(number, total, "hook"))

    def _hook_fits(self, text: str) -> bool:
        """The hook fits with room for the line added to it later (``hook_room``)."""
        return self._fits(text + "\n\n" + self.hook_room if self.hook_room else text)

    def _point_text(self, text: str, point: KeyPoint, number: int, total: int, part: int) -> str:
        return self._call(self.macros.point, text, self.view,
                          self._post_view(number, total, "point", part, point.rank))

    def _attribution_text(self, view: ArticleView, number: int, total: int) -> str:
        return self._call(self.macros.attribution, view, self._post_view(number, total, "attribution"))

    # -- the hook --

    def _settle_hook(self) -> None:
        """Decide, once, what the hook carries: with the gist if it fits, else without it (the
        gist then becomes a point); a title too long even alone is shortened, visibly (…)."""
        worst = self.max_posts
        if self._hook_fits(self._hook_text(self.view, 1, worst)):
            return
        if self.view.gist is not None and self._hook_fits(self._hook_text(replace(self.view, title=""), 1, worst)):
            # the gist says what happened; the title is in the attribution (as the original's)
            self.view = replace(self.view, title="")
            self.warnings.append("the title did not fit beside the gist; the first post carries the gist")
            return
        if self.view.gist is not None:
            self.view = replace(self.view, gist=None)
            if self.gist_point is not None:
                self.points.append(self._safe_point(self.gist_point))
                self.warnings.append("the gist did not fit in the first post with the title; it became a point")
            else:
                self.warnings.append("the description did not fit in the first post with the title; left out")
            if self._hook_fits(self._hook_text(self.view, 1, worst)):
                return
        title = self.view.title
        shortened = shorten(title, lambda t: self._hook_fits(self._hook_text(replace(self.view, title=t), 1, worst)),
                             self.terms)
        if shortened is None:
            raise TemplateProblem(f"{self.macros.name}: the hook post does not fit the {self.platform} limit of "
                                  f"{self.limit} even with an empty title")
        self.view = replace(self.view, title=shortened)
        self.warnings.append(f"title shortened to fit the first post: {shortened}")

    # -- the attribution --

    def _attribution(self, number: int, total: int) -> tuple[str, list[str]]:
        """The attribution post, made to fit (:func:`publisher.threads.fit.fit_attribution`); never dropped."""
        return fit_attribution(self.view, lambda view: self._attribution_text(view, number, total), self._fits,
                               platform=self.platform, limit=self.limit, terms=self.terms, template=self.macros.name)

    # -- points --

    def _fit_links(self, point: KeyPoint) -> KeyPoint:
        """Remove links that cannot fit in any post (Bluesky counts links in full), with a warning."""
        room = self.limit - lengths.measure(self.platform, self._point_text("", point, 99, 99, 2))
        text = point.text
        for start, end in reversed(lengths.url_spans(text)):
            url = text[start:end]
            if lengths.measure(self.platform, url) > room:
                text = (text[:start].rstrip(" :：") + " " + text[end:].lstrip()).strip()
                self.warnings.append(f"point {point.rank}: a link of {len(url)} characters is longer than a "
                                     f"{self.platform} post; left out of the point: {url}")
        return replace(point, text=text) if text != point.text else point

    def _layout(self, kept: list[KeyPoint], total: int) -> tuple[list[RenderedPost], list[str]]:
        posts: list[RenderedPost] = []
        notes: list[str] = []
        for section in self.macros.order:
            number = len(posts) + 1
            if section == "hook":
                text = self._hook_text(self.view, number, total)
                if not self._hook_fits(text):  # a template whose hook grows with fewer posts
                    short = shorten(self.view.title, lambda t: self._hook_fits(
                        self._hook_text(replace(self.view, title=t), number, total)), self.terms)
                    if short is None:
                        raise TemplateProblem(f"{self.macros.name}: the hook post does not fit the {self.platform} "
                                              f"limit of {self.limit}")
                    notes.append(f"title shortened to fit the first post: {short}")
                    text = self._hook_text(replace(self.view, title=short), number, total)
                posts.append(self._rendered(text, "hook"))
            elif section == "attribution":
                text, att_notes = self._attribution(number, total)
                notes += att_notes
                posts.append(self._rendered(text, "attribution"))
            else:
                for point in sorted(kept, key=lambda p: p.position):
                    start = len(posts) + 1

                    def fits(piece: str, index: int, point: KeyPoint = point, start: int = start) -> bool:
                        return self._fits(self._point_text(piece, point, start + index, total, index + 1))

                    pieces = split_point(point.text, fits, self.terms, max_pieces=self.max_posts)
                    if pieces is None:
                        raise _DoesNotFit(point, "too long for a post, and it has no place to split")
                    for index, piece in enumerate(pieces):
                        text = self._point_text(piece, point, start + index, total, index + 1)
                        posts.append(self._rendered(text, "point", point if index == 0 else None, point, index + 1))
        return posts, notes

    def _rendered(self, text: str, role: PostRole, sourced: KeyPoint | None = None,
                  point: KeyPoint | None = None, part: int = 1) -> RenderedPost:
        post = Post(text=text, role=role, length=lengths.measure(self.platform, text), limit=self.limit)
        return RenderedPost(post=post, sources=sourced.sources if sourced else (), point=point, part=part)

    def _paired(self, points: list[KeyPoint]) -> list[KeyPoint]:
        """Two neighbouring points in one post where the platform allows it, they come from one
        passage and both fit whole (Mastodon's 500 characters: fewer, fuller posts); the pair keeps
        the better rank."""
        if self.platform not in self.options.pairs or len(points) < 2:
            return points
        ordered = sorted(points, key=lambda p: p.position)
        out: list[KeyPoint] = []
        i = 0
        while i < len(ordered):
            a = ordered[i]
            if i + 1 < len(ordered) and ordered[i + 1].position - a.position <= PAIR_DISTANCE:
                b = ordered[i + 1]
                both = replace(a, text=a.text + "\n\n" + b.text, sources=a.sources + b.sources,
                               rank=min(a.rank, b.rank), score=max(a.score, b.score),
                               penalties=a.penalties + ("two points in one post",))
                if self._fits(self._point_text(both.text, both, 99, 99, 1)):
                    out.append(both)
                    i += 2
                    continue
            out.append(a)
            i += 1
        return out

    def build(self) -> ThreadDraft:
        self._settle_hook()
        kept = self._paired([self._fit_links(p) for p in self.points])
        dropped: list[tuple[KeyPoint, str]] = []
        while True:
            try:
                posts, notes = self._settled_layout(kept)
            except _DoesNotFit as exc:
                kept = [p for p in kept if p is not exc.point]
                dropped.append((exc.point, exc.why))
                continue
            if len(posts) <= self.max_posts or not kept:
                break
            worst = max(kept, key=lambda p: p.rank)
            kept = [p for p in kept if p is not worst]
            dropped.append((worst, f"the thread would be longer than {self.max_posts} posts"))
        if len(posts) > self.max_posts:
            raise TemplateProblem(f"{self.macros.name}: even without points the thread has {len(posts)} posts, "
                                  f"more than the maximum of {self.max_posts}")
        for number, rp in enumerate(posts, start=1):  # never hand out a post the platform would refuse
            problem = lengths.problem(self.platform, rp.post.text, self.limit)
            if problem:
                raise TemplateProblem(f"{self.macros.name}: post {number} ({rp.post.role}): {problem}")
        warnings = list(self.warnings) + notes
        for point, why in dropped:
            warnings.append(f"point {point.rank} left out ({why}): {point.text}")
        chinese = [str(n) for n, rp in enumerate(posts, start=1)
                   if rp.post.role != "attribution" and _HAN.search(rp.post.text)]
        untranslated = [TITLE_ONLY] if self.title_only else []
        if chinese:
            untranslated.append(f"Chinese left untranslated in post{'s' if len(chinese) > 1 else ''} "
                                + ", ".join(chinese))
            warnings.append(untranslated[-1])
        if self.inert:
            warnings.append("made inert (they will not notify or tag anyone): " + ", ".join(self.inert))
        thread = Thread(
            platform=self.platform,
            posts=tuple(rp.post for rp in posts),
            article_hash=self.translated.article.source_hash,
            title=self.english_title,
            dropped=tuple(p.text for p, _ in dropped),
            warnings=tuple(dict.fromkeys(warnings)),
            untranslated=tuple(untranslated),
            held=tuple(dict.fromkeys(self.holds)),
        )
        return ThreadDraft(
            thread=thread,
            posts=tuple(posts),
            points=tuple(sorted(kept, key=lambda p: p.position)),
            dropped=tuple(p for p, _ in dropped),
            template=self.macros.name,
            inert=tuple(self.inert),
        )

    def _settled_layout(self, kept: list[KeyPoint]) -> tuple[list[RenderedPost], list[str]]:
        """Lay out with a guessed total, then again with the total that came out, until the
        numbering agrees with the number of posts (more posts only ever make more posts)."""
        total = 2 + len(kept)
        for _ in range(50):
            posts, notes = self._layout(kept, total)
            if len(posts) == total:
                return posts, notes
            total = len(posts)
        raise TemplateProblem(f"{self.macros.name}: the numbering never settles (the post count keeps changing)")
