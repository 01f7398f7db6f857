"""The old path of the thread builder, kept for the README's library examples (``publisher.render.build_threads``,
``publisher.render.check_thread``). The code now lives in publisher.threads: options, layout, check, sanitize,
templates. Code in publisher imports those modules, never this one."""

from publisher.threads.check import check_thread, edited_thread
from publisher.threads.layout import ThreadDraft, build_drafts, build_threads
from publisher.threads.options import DEFAULT_MAX_POSTS, ThreadOptions
from publisher.threads.sanitize import make_inert
from publisher.threads.templates import TemplateProblem

__all__ = ["DEFAULT_MAX_POSTS", "TemplateProblem", "ThreadDraft", "ThreadOptions", "build_drafts", "build_threads",
           "check_thread", "edited_thread", "make_inert"]
