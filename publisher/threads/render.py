"""Turn a translated article into a thread per platform, through jinja2 templates.

Contract: ``build_threads(translated, platforms, options=ThreadOptions()) -> {platform: Thread}``.
``check_thread(thread)`` re-validates a thread whose posts were edited by hand.

A thread is: a hook post (translated title and the gist), the key points, and an attribution
post (the credit of publisher.threads.credits: author, publication, original title, republisher, date,
licence, original link, "Machine-translated from Chinese"). What it says is chosen on the
Chinese source (publisher.threads.summarize.select); :func:`plan_thread` verifies the English of the
choice and falls back to the next candidate; the layout policy is here: the same points on every
platform, the gist kept in the first post (the title gives way), links only in the attribution
on X, two neighbouring points per post on Mastodon, "…" marking a point split across posts.
Threads that must wait for a person carry a warning starting with :data:`HOLD` (no link to the
original, nobody credited, a transcript, speech or Q&A digest). The wording, order, numbering,
emoji and hashtags live in templates only:

* One jinja2 environment (:func:`environment`): the ``templates/`` folder of the working
  directory first, then the defaults packaged in ``publisher/defaults/templates/``;
  ``StrictUndefined``, so a misspelt variable is an error rather than an empty string; the
  filters are registered in one place (``FILTERS``).
* Article text is data: it is passed to templates as values and never compiled as a
  template. Before that, @mentions, #hashtags and $cashtags in it are made inert (a zero-width
  space after the sign, which the platforms' own extractors do not treat as an entity) unless
  the operator allow-lists them, and links that are not http(s) are removed.

Every post is measured the way its platform counts (publisher.lengths). A point too long for
one post is split at a sentence end, else a clause end, else a word boundary, never inside a
link, number, Latin name or glossary term. When the thread would be longer than the maximum
number of posts, the lowest-ranked points are dropped, and the thread says so; no sentence is
ever cut short silently, and the attribution post is never dropped.
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

import regex

from publisher import lengths
from publisher.errors import ConfigError, PublisherError
from publisher.lengths import DEFAULT_LIMITS, MAX_LIMIT, MIN_LIMIT, PLATFORMS
from publisher.models import Post, PostRole, Thread, TranslatedArticle
from publisher.threads.credits import NO_LINK, Credit, build_credit
from publisher.threads.editorial import KIND_NAMES
from publisher.threads.summarize import DEFAULT_POINTS, KeyPoint, Selection, english_lookup, english_of, key_point, select, split_sentences
from publisher.text import HAN as _HAN
from publisher.text import is_link
from publisher.textsafe import clean as clean_text

if TYPE_CHECKING:
    from jinja2 import Environment, Template

DEFAULT_MAX_POSTS = 6
#: Put after a piece of a point that goes on in the next post (and "…" before the next piece).
CONTINUED = "…"
#: Two points share a post (where the platform allows it) only when they are this close in the
#: article (in sentences): one passage, not a collage.
PAIR_DISTANCE = 3
DEFAULT_TEMPLATES = Path(__file__).resolve().parent.parent / "defaults" / "templates"
SECTIONS = ("hook", "points", "attribution")

#: Put after the sign of an @mention, #hashtag or $cashtag from article text. twitter-text,
#: Mastodon and Bluesky's RichText all stop an entity there, so nobody is notified or tagged.
#: (Not a zero-width joiner: twitter-text accepts U+200D inside hashtags. Not fullwidth ＠/＃:
#: twitter-text treats those as mention and hashtag signs.)
INERT = "\u200b"


class TemplateProblem(ConfigError):
    """A thread template is broken, or cannot produce a post that fits the platform."""


# --- options ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThreadOptions:
    """How threads are built. Validated on creation; unknown platforms are refused."""

    limits: Mapping[str, int] = field(default_factory=dict)
    """Per-platform post limits, e.g. {"x": 25000} for a long-post account or {"mastodon": 1000}
    for an instance that allows it. Platforms not named keep DEFAULT_LIMITS."""
    max_posts: int | Mapping[str, int] = DEFAULT_MAX_POSTS
    """Most posts in one thread (hook and attribution included); one number or per platform."""
    points: int = DEFAULT_POINTS
    """How many key points to try to include."""
    allow: frozenset[str] = frozenset()
    """@mentions, #hashtags and $cashtags from article text that may stay live ("@kling_ai")."""
    terms: tuple[str, ...] = ()
    """English glossary terms never to split across posts (names come in through these)."""
    templates: Path | None = None
    """The user's template folder; None means ``templates/`` in the working directory."""
    base_url: str | None = None
    """What a relative ``permalink:`` is joined with (the schedule source's ``base_url``)."""
    pairs: frozenset[str] = frozenset({"mastodon"})
    """Platforms where two neighbouring points may share a post when both fit whole."""

    def __post_init__(self) -> None:
        limits = dict(DEFAULT_LIMITS)
        for platform, limit in dict(self.limits).items():
            _check_platform(platform)
            if not isinstance(limit, int) or isinstance(limit, bool) or not MIN_LIMIT <= limit <= MAX_LIMIT:
                raise ConfigError(f"post limit for {platform} must be a whole number from {MIN_LIMIT} to {MAX_LIMIT}, "
                                  f"not {limit!r}")
            limits[platform] = limit
        object.__setattr__(self, "limits", MappingProxyType(limits))
        if isinstance(self.max_posts, Mapping):
            per = {}
            for platform, value in self.max_posts.items():
                _check_platform(platform)
                per[platform] = _check_max_posts(value)
            object.__setattr__(self, "max_posts", MappingProxyType(per))
        else:
            _check_max_posts(self.max_posts)
        if not isinstance(self.points, int) or isinstance(self.points, bool) or self.points < 0:
            raise ConfigError(f"number of points must be 0 or more, not {self.points!r}")
        object.__setattr__(self, "allow", frozenset(_normal_entity(e) for e in self.allow if e.strip()))
        object.__setattr__(self, "terms", tuple(t for t in self.terms if t.strip()))

    def limit(self, platform: str) -> int:
        _check_platform(platform)
        return self.limits[platform]

    def max_posts_for(self, platform: str) -> int:
        if isinstance(self.max_posts, Mapping):
            return self.max_posts.get(platform, DEFAULT_MAX_POSTS)
        return self.max_posts


def _check_platform(platform: str) -> None:
    if platform not in PLATFORMS:
        raise ConfigError(f"unknown platform {platform!r}; expected one of {', '.join(PLATFORMS)}")


def _check_max_posts(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 2:
        raise ConfigError(f"maximum posts per thread must be at least 2 (hook and attribution), not {value!r}")
    return value


# --- the template environment ----------------------------------------------------------------


def _date(value: dt.date | dt.datetime | None, fmt: str = "%Y-%m-%d") -> str:
    if value is None:
        return ""
    return value.strftime(fmt)


def _host(url: str | None) -> str:
    if not url:
        return ""
    host = urllib.parse.urlsplit(url).hostname or ""
    return host[4:] if host.startswith("www.") else host


def _hashtag(word: str) -> str:
    """A live hashtag made from ``word`` (spaces and punctuation removed): an operator's choice."""
    cleaned = regex.sub(r"[^\p{L}\p{M}\p{Nd}_]", "", word.replace(INERT, ""))
    return "#" + cleaned if cleaned else ""


#: Every filter templates can use, registered in this one place.
FILTERS: dict[str, Callable[..., str]] = {"date": _date, "host": _host, "hashtag": _hashtag}


def templates_folder(options: ThreadOptions | None = None) -> Path:
    """The user's template folder: options.templates, else ``templates/`` in the working directory."""
    if options is not None and options.templates is not None:
        return Path(options.templates)
    from publisher.workspace import folder

    return folder() / "templates"


def environment(user_templates: Path | None = None) -> Environment:
    """The one jinja2 environment: the user's folder ahead of the packaged defaults."""
    folder = (user_templates or templates_folder()).resolve()
    return _environment(str(folder))


@lru_cache(maxsize=8)
def _environment(folder: str) -> Environment:
    from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(folder), FileSystemLoader(str(DEFAULT_TEMPLATES))]),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        auto_reload=True,
    )
    env.filters.update(FILTERS)
    return env


def thread_template(platform: str, options: ThreadOptions | None = None) -> Template:
    """``thread.<platform>.j2`` if there is one (user folder first), else ``thread.j2``."""
    from jinja2 import TemplateError

    env = environment(templates_folder(options))
    names = [f"thread.{platform}.j2", "thread.j2"]
    try:
        return env.select_template(names)
    except TemplateError as exc:
        raise _template_problem(exc, names[-1]) from None


def _template_problem(exc: BaseException, name: str | None = None,
                      template: Template | None = None) -> TemplateProblem:
    """One line naming the template file, the line and what is wrong."""
    from jinja2 import TemplateSyntaxError

    where = name or "thread template"
    line = None
    if isinstance(exc, TemplateSyntaxError):
        where = exc.filename or exc.name or where
        line = exc.lineno
    elif template is not None:
        tb = exc.__traceback__
        while tb is not None:
            if template.filename and tb.tb_frame.f_code.co_filename == template.filename:
                line = template.get_corresponding_lineno(tb.tb_lineno)
            tb = tb.tb_next
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return TemplateProblem(f"{where}{f':{line}' if line else ''}: {message}")


@dataclass(frozen=True)
class _Macros:
    name: str
    template: Template
    order: tuple[str, ...]
    hook: Callable[..., Any]
    point: Callable[..., Any]
    attribution: Callable[..., Any]


def _macros(template: Template, platform: str) -> _Macros:
    name = template.filename or template.name or "thread template"
    try:
        module = template.make_module({"platform": platform})
    except Exception as exc:  # any error raised while running the template's top level
        raise _template_problem(exc, name, template) from None
    found = {}
    for macro, args in (("hook", "a, post"), ("point", "text, a, post"), ("attribution", "a, post")):
        fn = getattr(module, macro, None)
        if not callable(fn):
            raise TemplateProblem(f"{name}: defines no macro {macro}({args})")
        found[macro] = fn
    order = tuple(getattr(module, "order", SECTIONS))
    if (sorted(set(order)) != sorted(order) or not set(order) <= set(SECTIONS)
            or "hook" not in order or "attribution" not in order):
        raise TemplateProblem(f"{name}: order must list \"hook\" and \"attribution\" once each, "
                              f"and \"points\" at most once; got {list(order)!r}")
    return _Macros(name=name, template=template, order=order, **found)


# --- untrusted text --------------------------------------------------------------------------

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


def _normal_entity(entity: str) -> str:
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
    allowed = {_normal_entity(a) for a in allow}
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
        if name and _normal_entity(entity.rstrip(".-")) in allowed:
            continue
        out.append(text[pos : i + 1])
        out.append(INERT)
        pos = i + 1
        inert.append(entity)
    out.append(text[pos:])
    return Sanitized(text="".join(out).strip(), inert=tuple(inert), removed_links=tuple(removed))


# --- what templates see ----------------------------------------------------------------------


@dataclass(frozen=True)
class ArticleView:
    """The article as templates see it; every string from the article is already inert."""

    title: str
    original_title: str
    gist: str | None
    author: str | None
    date: dt.date | dt.datetime | None
    url: str | None
    publication: str | None
    tags: tuple[str, ...]
    machine_translated: bool
    model: str
    language: str
    platform: str
    republisher: str | None = None
    """The site the file was republished on (its footer), when that is not the original."""
    republisher_url: str | None = None
    byline: str | None = None
    """The republisher's byline (a republished file's frontmatter author)."""
    translator: str | None = None
    licence: str | None = None
    """The original's licence, e.g. "CC BY 4.0", to be credited as such."""


@dataclass(frozen=True)
class PostView:
    """Where a post sits in its thread, for numbering."""

    number: int
    total: int
    role: str
    platform: str
    limit: int
    part: int = 1
    rank: int | None = None


# --- the result ------------------------------------------------------------------------------


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
        _check_platform(platform)
    article = translated.article
    glossary = _glossary()
    if credit is None:
        credit = build_credit(article, options.base_url, glossary)
    if selection is None:
        selection = select(article, points=options.points, budget=selection_budget(options), glossary=glossary,
                           credit=credit)
    plan = plan_thread(translated, selection, options)
    holds = hold_reasons(selection, credit)
    if plan.gist is None and not plan.points and any("no usable English" in n for n in plan.notes):
        # held like Chinese in the posts (schedule.yaml's hold_untranslated): the translation failed
        plan = replace(plan, notes=plan.notes + (TITLE_ONLY,))
    return {p: _Builder(translated, p, options, plan, credit, holds, hook_room).build() for p in platforms}


def selection_budget(options: ThreadOptions) -> int:
    """The length one point must fit on every platform: the smallest post limit."""
    return min(options.limit(p) for p in PLATFORMS)


#: Warnings that start with this keep a thread from being auto-approved (pipeline.review_reasons).
HOLD = "HELD FOR A PERSON: "
TITLE_ONLY = ("Chinese left untranslated: the thread says nothing but the title, "
              "because no gist or point has usable English")
"""The warning (and Thread.untranslated entry) of a thread whose translation gave no usable English."""


def hold_reasons(selection: Selection, credit: Credit) -> tuple[str, ...]:
    """Why no source may auto-approve this thread: incomplete credit, or a kind of article
    (transcript, speech, Q&A digest) that an editor must shape by hand."""
    out = []
    for problem in credit.problems:
        if problem == NO_LINK:
            out.append("no link to the original (add source_url: to the frontmatter, a base_url to the "
                       "schedule source, or edit the thread)")
        else:
            out.append(f"{problem} (the credit names nobody)")
    if selection.kind != "news":
        out.append(f"this is a {KIND_NAMES[selection.kind]} ({selection.kind_reason}): its turns and voices "
                   "need an editor")
    return tuple(out)


@dataclass(frozen=True)
class ThreadPlan:
    """What every platform's thread says (the same points everywhere; platforms differ in cutting)."""

    gist: str | None
    gist_point: KeyPoint | None
    points: tuple[KeyPoint, ...]
    """The points to carry, best first."""
    notes: tuple[str, ...] = ()


def _glossary():
    from publisher.translate.glossary import load_glossary

    try:
        return load_glossary()
    except PublisherError:
        return None


_LATIN_NAME = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]*[A-Z][A-Za-z0-9.+-]*[A-Za-z0-9+]")


def _english_ok(text: str | None, translated: bool, source: str = "") -> bool:
    """English a thread may carry: something, no Chinese left, and every Latin name of the source
    (Sora, GLM-5, Stability AI) still there. (Numbers are checked by value in translation.)"""
    if not text or not text.strip():
        return False
    if not translated:
        return True
    if _HAN.search(text):
        return False
    lowered = text.lower()
    return all(name.lower() in lowered for name in _LATIN_NAME.findall(source))


def _fits_everywhere(text: str, options: ThreadOptions) -> bool:
    return all(lengths.measure(p, "10/10 " + text) <= options.limit(p) for p in PLATFORMS)


def plan_thread(translated: TranslatedArticle, selection: Selection, options: ThreadOptions) -> ThreadPlan:
    """The gist and the points in English, verified: a unit whose English is missing, still has
    Chinese in it, or does not fit one post on every platform falls back to the next candidate."""
    table = english_lookup(translated)
    is_translated = translated.translated
    notes: list[str] = []
    gist: str | None = None
    gist_point: KeyPoint | None = None
    if selection.gist_from == "description" and selection.description:
        english = (translated.extracts or {}).get(selection.description) if is_translated else selection.description
        if english is None and translated.description:
            first = split_sentences(translated.description)
            english = first[0] if first else translated.description
        if _english_ok(english, is_translated, selection.description):
            gist = english
    elif selection.gist_from == "lede":
        parts = []
        for unit in selection.gist:
            english = english_of(unit, table, is_translated)
            if _english_ok(english, is_translated, unit.text):
                parts.append(english)
            else:
                notes.append(f"gist: a lead sentence has no usable English, left out: {unit.text}")
                break
        while parts and not _fits_everywhere(" ".join(parts) + " 🧵", options) and len(parts) > 1:
            notes.append(f"gist: the last lead sentence did not fit the first post, left out: {parts[-1]}")
            parts.pop()
        if parts:
            gist = " ".join(parts)
            # when even this does not fit beside the title, the lead becomes the first point
            gist_point = KeyPoint(text=gist, sources=tuple(o for u in selection.gist[:len(parts)] for o in u.originals),
                                  score=selection.gist[0].score, rank=0, position=selection.gist[0].position,
                                  block=selection.gist[0].block, penalties=("the lede",))
    points: list[KeyPoint] = []
    spare_fits: list[tuple[int, KeyPoint]] = []
    candidates = list(selection.ranked)
    wanted = selection.points
    for index, unit in enumerate(candidates):
        if len(points) >= wanted:
            break
        english = english_of(unit, table, is_translated)
        rank = index + 1
        if not _english_ok(english, is_translated, unit.text):
            if index < wanted:
                notes.append(f"point {rank} has no usable English (missing, Chinese left or a name lost); the next "
                             f"candidate is used: {unit.text}")
            continue
        assert english is not None
        point = key_point(unit, english, rank)
        if is_translated and not _fits_everywhere(english, options) and index + 1 < len(candidates):
            # prefer another point to splitting this one, when a spare says something that fits
            spare_fits.append((index, point))
            continue
        points.append(point)
    for _, point in spare_fits:  # nothing better came: split after all
        if len(points) < wanted:
            points.append(point)
    if gist is None and points:
        gist_point = points[0]
        gist = gist_point.text
        points = points[1:]
    return ThreadPlan(gist=gist, gist_point=gist_point, points=tuple(points), notes=tuple(notes))


_SENTENCE_END = re.compile(r"[.!?。！？…][\"'”’」』)）\]]*$")
_TRACKING = re.compile(r"^(?:utm_\w+|spm|from|refer_flag|si|share_\w+|fbclid|gclid|isappinstalled|scene|"
                       r"srcid|sharer_\w+|clicktime|enterid|xtrack|ref|ref_src)$", re.IGNORECASE)


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
        self.macros = _macros(thread_template(platform, options), platform)
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
            raise _template_problem(exc, self.macros.name, self.macros.template) from None
        return _tidy(text)

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
        shortened = _shorten(title, lambda t: self._hook_fits(self._hook_text(replace(self.view, title=t), 1, worst)),
                             self.terms)
        if shortened is None:
            raise TemplateProblem(f"{self.macros.name}: the hook post does not fit the {self.platform} limit of "
                                  f"{self.limit} even with an empty title")
        self.view = replace(self.view, title=shortened)
        self.warnings.append(f"title shortened to fit the first post: {shortened}")

    # -- the attribution --

    def _attribution(self, number: int, total: int) -> tuple[str, list[str]]:
        """The attribution post, made to fit. In turn, until it fits: a long original link loses
        its tracking parameters; the original title is shortened visibly (…); the link is left
        out with a warning when it cannot fit at all (Bluesky counts links in full); the
        publication and the author are shortened visibly. Never dropped."""
        def render(view: ArticleView) -> str:
            return self._attribution_text(view, number, total)

        view = self.view
        notes: list[str] = []
        if self._fits(render(view)):
            return render(view), notes
        if view.url and _without_tracking(view.url) != view.url:
            view = replace(view, url=_without_tracking(view.url))
            notes.append("tracking parameters removed from the original link to fit the attribution post")
            if self._fits(render(view)):
                return render(view), notes
        shortened = self._shorten_field(view, "original_title", render)
        if shortened is not None:
            return render(shortened[0]), notes + shortened[1]
        if view.url:
            measured = lengths.measure(self.platform, view.url)
            notes.append(f"the original link ({measured} characters as {self.platform} counts it) does not fit "
                         f"in a {self.limit}-character post; left out of the attribution: {view.url}")
            view = replace(view, url=None)
            if self._fits(render(view)):
                return render(view), notes
        for name in ("original_title", "publication", "author"):
            shortened = self._shorten_field(view, name, render)
            if shortened is not None:
                return render(shortened[0]), notes + shortened[1]
            if getattr(view, name):
                view = replace(view, **{name: "…"})
                notes.append(f"{name.replace('_', ' ')} shortened to fit the attribution post: …")
        length = lengths.measure(self.platform, render(view))
        raise TemplateProblem(f"{self.macros.name}: the attribution post is {length} characters even at its "
                              f"shortest, over the {self.platform} limit of {self.limit}")

    def _shorten_field(self, view: ArticleView, name: str,
                       render: Callable[[ArticleView], str]) -> tuple[ArticleView, list[str]] | None:
        value = getattr(view, name)
        if not value:
            return None
        short = _shorten(value, lambda v: self._fits(render(replace(view, **{name: v}))), self.terms)
        if short is None:
            return None
        return replace(view, **{name: short}), [f"{name.replace('_', ' ')} shortened to fit the attribution "
                                                f"post: {short}"]

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
                    short = _shorten(self.view.title, lambda t: self._hook_fits(
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

                    def fits_marked(piece: str, index: int, point: KeyPoint = point, start: int = start) -> bool:
                        # room for the continuation marks: "…" after every piece but the last, before
                        # every piece but the first (the last one is not known yet: count both)
                        marked = ("…" if index else "") + piece + CONTINUED
                        return self._fits(self._point_text(marked, point, start + index, total, index + 1))

                    pieces = lengths.split_to_fit(point.text, fits, self.terms, max_pieces=self.max_posts)
                    if pieces is not None and len(pieces) > 1:
                        marked = lengths.split_to_fit(point.text, fits_marked, self.terms, max_pieces=self.max_posts)
                        if marked is not None:
                            # a piece that ends inside a sentence says so, and so does the next one
                            cut = [i < len(marked) - 1 and not _SENTENCE_END.search(p) for i, p in enumerate(marked)]
                            pieces = [("…" if i and cut[i - 1] else "") + p + (CONTINUED if cut[i] else "")
                                      for i, p in enumerate(marked)]
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
        untranslated = [w for w in warnings if w == TITLE_ONLY]
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


def _tidy(text: str) -> str:
    """Trailing spaces off every line, at most one blank line in a row, no blank ends."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _shorten(text: str, fits: Callable[[str], bool], terms: Sequence[str] = ()) -> str | None:
    """The longest start of ``text`` ending at a word boundary, with "…", for which ``fits`` holds.

    Binary search over the word boundaries (found once), then over graphemes when no boundary
    fits: O(log n) calls of ``fits``, so a 10 KB title costs milliseconds, not minutes."""
    def at(end: int) -> str:
        return text[:end].rstrip(" ,;:，；：、—–-") + "…"

    ends = sorted(i for i, _ in lengths.break_points(text, tuple(terms)))
    best = _last_fitting(ends, lambda end: fits(at(end)))
    if best is not None:
        return at(best)
    bounds = [m.end() for m in regex.finditer(r"\X", text)][:-1]
    best = _last_fitting(bounds, lambda end: fits(text[:end].rstrip() + "…"))
    return text[:best].rstrip() + "…" if best is not None else None


def _last_fitting(ends: Sequence[int], fits: Callable[[int], bool]) -> int | None:
    """The largest of the sorted ``ends`` for which ``fits`` holds (monotone: shorter fits better)."""
    lo, hi, best = 0, len(ends) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        if fits(ends[mid]):
            best = ends[mid]
            lo = mid + 1
        else:
            hi = mid - 1
    return best


def _without_tracking(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
             if not _TRACKING.match(k)]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query), fragment=""))


# --- after editing ---------------------------------------------------------------------------


def edited_thread(thread: Thread, texts: Sequence[str]) -> Thread:
    """``thread`` with its posts' texts replaced by ``texts`` (same number of posts) and re-measured."""
    if len(texts) != len(thread.posts):
        raise ValueError(f"the thread has {len(thread.posts)} posts; got {len(texts)} texts")
    posts = tuple(
        Post(text=_tidy(text), role=post.role, length=lengths.measure(thread.platform, _tidy(text)),
             limit=post.limit)
        for post, text in zip(thread.posts, texts)
    )
    return replace(thread, posts=posts)


def check_thread(thread: Thread, options: ThreadOptions | None = None, *,
                 edited_from: Thread | None = None) -> list[str]:
    """Problems that would make the platform refuse the thread, or that would post it without
    its credits, one line each (empty: all good).

    Lengths are measured afresh from the texts (the recorded lengths may be stale after an
    edit), against each post's own limit, or the options' limit for the platform when given;
    the options' maximum number of posts applies when given. Exactly one attribution post.

    ``edited_from`` is the thread before a hand edit: the attribution post must then keep its
    place at the end (when it was last, as every packaged template puts it), keep the links
    to the original and keep saying the thread is machine-translated.
    """
    problems: list[str] = []
    if thread.platform not in PLATFORMS:
        return [f"unknown platform {thread.platform!r}"]
    if not thread.posts:
        return ["the thread has no posts"]
    max_posts = options.max_posts_for(thread.platform) if options else None
    if max_posts is not None and len(thread.posts) > max_posts:
        problems.append(f"{len(thread.posts)} posts, more than the maximum of {max_posts}")
    for number, post in enumerate(thread.posts, start=1):
        limit = options.limit(thread.platform) if options else post.limit
        problem = lengths.problem(thread.platform, post.text, limit)
        if problem:
            problems.append(f"post {number}: {problem}")
    credits = [n for n, p in enumerate(thread.posts, start=1) if p.role == "attribution" and p.text.strip()]
    if not credits:
        problems.append("no attribution post: the original must be credited")
    elif len(credits) > 1:
        problems.append(f"posts {', '.join(map(str, credits))} are all marked attribution; keep one")
    elif edited_from is not None:
        problems.extend(_attribution_kept(thread, credits[0], edited_from))
    return problems


_DISCLOSURE = re.compile(r"machine[\s-]*translat", re.IGNORECASE)


def _http_links(text: str) -> list[str]:
    return [text[s:e] for s, e in lengths.url_spans(text) if text[s:e].lower().startswith(("http://", "https://"))]


def _attribution_kept(thread: Thread, number: int, before: Thread) -> list[str]:
    """What an edit must keep of the attribution post of ``before`` (see :func:`check_thread`)."""
    old = next((p for p in before.posts if p.role == "attribution"), None)
    if old is None:
        return []
    new = thread.posts[number - 1]
    problems = []
    if before.posts[-1].role == "attribution" and number != len(thread.posts):
        problems.append(f"the attribution post must stay last (it is post {number} of {len(thread.posts)})")
    for link in _http_links(old.text):
        if link not in new.text:
            problems.append(f"the attribution post must keep the link to the original ({link})")
    if _DISCLOSURE.search(old.text) and not _DISCLOSURE.search(new.text):
        problems.append("the attribution post must keep saying that the thread is machine-translated")
    return problems
