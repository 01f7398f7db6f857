"""The thread templates: one jinja2 environment, its filters, the macros a template defines, what it sees.

* One jinja2 environment (:func:`environment`): the ``templates/`` folder of the working
  directory first, then the defaults packaged in ``publisher/defaults/templates/``;
  ``StrictUndefined``, so a misspelt variable is an error rather than an empty string; the
  filters are registered in one place (``FILTERS``).
* A template defines ``order`` and three macros, ``hook(a, post)``, ``point(text, a, post)``
  and ``attribution(a, post)``, each returning one post; ``a`` is an :class:`ArticleView`
  (every string from the article already inert) and ``post`` a :class:`PostView`.
* Article text is data: it is passed to templates as values and never compiled as a template.
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import regex

from publisher.errors import ConfigError
from publisher.threads.options import ThreadOptions
from publisher.threads.sanitize import INERT

if TYPE_CHECKING:
    from jinja2 import Environment, Template

DEFAULT_TEMPLATES = Path(__file__).resolve().parent.parent / "defaults" / "templates"
SECTIONS = ("hook", "points", "attribution")


class TemplateProblem(ConfigError):
    """A thread template is broken, or cannot produce a post that fits the platform."""



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
        raise template_problem(exc, names[-1]) from None


def template_problem(exc: BaseException, name: str | None = None,
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
class Macros:
    name: str
    template: Template
    order: tuple[str, ...]
    hook: Callable[..., Any]
    point: Callable[..., Any]
    attribution: Callable[..., Any]


def macros(template: Template, platform: str) -> Macros:
    name = template.filename or template.name or "thread template"
    try:
        module = template.make_module({"platform": platform})
    except Exception as exc:  # any error raised while running the template's top level
        raise template_problem(exc, name, template) from None
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
    return Macros(name=name, template=template, order=order, **found)


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


def tidy(text: str) -> str:
    """Trailing spaces off every line, at most one blank line in a row, no blank ends."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
