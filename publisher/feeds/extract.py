"""A page's article: its main text as Markdown (trafilatura, imported when first needed) and its
metadata, with WeChat's own layout read too; :class:`FetchError` for a page with no article."""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from publisher.feeds.links import is_wechat, wechat_permalink
from publisher.feeds.web import FetchError, _short


@dataclass(frozen=True)
class Extracted:
    """A page's article: Markdown body and metadata (None where the page says nothing)."""

    url: str
    markdown: str
    title: str | None = None
    author: str | None = None
    date: str | None = None
    canonical: str | None = None
    site_name: str | None = None
    image: str | None = None
    description: str | None = None
    language: str | None = None


_WALL_WORDS = ("环境异常", "完成验证后即可继续访问", "请登录", "登录后查看", "登录后阅读", "sign in to continue",
               "log in to continue", "please log in", "subscribe to read", "访问过于频繁")
_GONE_WORDS = ("该内容已被发布者删除", "此内容因违规无法查看", "内容已删除", "页面不存在", "页面没有找到", "文章不存在",
               "此内容被多人投诉", "该公众号已迁移")
_ERROR_TITLE = re.compile(r"\b(404|403|500|502|503|not found|forbidden|error|access denied)\b|页面不存在|出错|错误|找不到",
                          re.IGNORECASE)
MIN_TEXT_CHARS = 40
"""Fewer characters of article text than this: not an article (an error page, a wall, a JS app)."""


def _quiet_libraries() -> None:
    """trafilatura and its helpers log warnings ("discarding data: URL") through loggers with no
    handler, which Python prints on stderr: our one line per URL says what matters."""
    for name in ("trafilatura", "htmldate", "courlan", "justext"):
        logger = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
            logger.addHandler(logging.NullHandler())
        logger.setLevel(logging.ERROR)


def extract_article(html: str, url: str) -> Extracted:
    """The main text of a page as Markdown, and its metadata; FetchError when there is none."""
    import lxml.html
    import trafilatura

    _quiet_libraries()

    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", html)  # lxml refuses str input with an encoding declaration
    try:
        tree = lxml.html.document_fromstring(text)
    except Exception as exc:  # lxml raises ParserError, ValueError... on empty or broken input
        raise FetchError(url, f"not an HTML page ({_short(exc)})") from None
    meta = _meta(tree)
    wechat = is_wechat(url) or tree.get_element_by_id("js_content", None) is not None
    if wechat:
        info = _wechat(tree, html, meta)
        content = tree.get_element_by_id("js_content", None)
    else:
        info, content = {}, None
    _fix_images(tree, url)
    try:
        tree.make_links_absolute(url, resolve_base_href=True, handle_failures="discard")
    except Exception:  # pragma: no cover - a base href lxml cannot parse
        pass
    images = _stand_in_images(tree)
    if content is not None:
        if "style" in content.attrib:
            del content.attrib["style"]  # WeChat hides the text until its scripts run
        _paragraphs(content)
        body = lxml.html.tostring(content, encoding="unicode")
        target: Any = f"<html><head><title>t</title></head><body>{body}</body></html>"
    else:
        target = tree
    try:
        doc = trafilatura.bare_extraction(target, url=url, with_metadata=True, include_images=True,
                                          include_links=True, include_formatting=True, include_tables=True,
                                          include_comments=False, favor_recall=content is not None)
    except Exception as exc:  # trafilatura or lxml giving up on a page: that page's problem only
        raise FetchError(url, f"cannot extract the article ({type(exc).__name__}: {_short(exc)})") from None
    markdown = (getattr(doc, "text", None) or "").strip() if doc is not None else ""
    for stand_in, real in images.items():
        markdown = markdown.replace(stand_in, real)
    page_title = meta.get("og:title") or (getattr(doc, "title", None) if doc is not None else None) or meta.get("title")
    plain = re.sub(r"[!\[\]()#*_>`\-|]|https?://\S+", "", markdown)
    page_text = " ".join(tree.text_content().split())
    if len("".join(plain.split())) < MIN_TEXT_CHARS:
        raise FetchError(url, _why_empty(page_text, page_title, tree), permanent=False)
    if any(w in page_text for w in _WALL_WORDS[:2]) and len(page_text) < 2000:
        raise FetchError(url, "a verification page (WeChat's 环境异常 wall), not the article")
    canonical = info.get("canonical") or meta.get("canonical") or meta.get("og:url") \
        or (getattr(doc, "url", None) if doc is not None else None)
    if canonical:
        canonical = urljoin(url, canonical)
    image = info.get("image") or meta.get("og:image") or (getattr(doc, "image", None) if doc is not None else None)
    title, suffix = _split_title(_clean(info.get("title") or page_title))
    site_name = _clean(info.get("publication") or meta.get("og:site_name"))
    if not site_name:
        found = _clean(getattr(doc, "sitename", None) if doc is not None else None)
        # trafilatura falls back to the host name; a title's "_网站名" suffix says more.
        site_name = suffix if suffix and (not found or found == (urlsplit(url).hostname or "")) else found
    return Extracted(
        url=url,
        markdown=_tidy_markdown(markdown),
        title=title,
        author=_clean(info.get("author") or (getattr(doc, "author", None) if doc is not None else None)
                      or meta.get("author")),
        date=info.get("date") or meta.get("date") or (getattr(doc, "date", None) if doc is not None else None),
        canonical=canonical,
        site_name=site_name,
        image=urljoin(url, image) if image else None,
        description=_clean(meta.get("og:description") or meta.get("description")
                           or (getattr(doc, "description", None) if doc is not None else None)),
        language=meta.get("lang"),
    )


def _split_title(title: str | None) -> tuple[str | None, str | None]:
    """``标题_新浪科技_新浪网`` -> (``标题``, ``新浪网``): Chinese sites end their <title> with
    ``_`` and the site's names (trafilatura already splits `` - `` and `` | ``)."""
    if not title or "_" not in title:
        return title, None
    parts = [p.strip() for p in title.split("_")]
    if len(parts[0]) >= 4 and all(1 <= len(p) <= 12 for p in parts[1:]):
        return parts[0], parts[-1]
    return title, None


def _why_empty(page_text: str, title: str | None, tree) -> str:
    low = page_text.lower()
    for word in _GONE_WORDS:
        if word in page_text:
            return f"the page says {word!r}: no article here"
    for word in _WALL_WORDS:
        if word.lower() in low:
            return f"a login or verification wall ({word!r}), not the article"
    if tree.xpath("//input[@type='password']"):
        return "a login page, not the article"
    if title and _ERROR_TITLE.search(title):
        return f"an error page ({title.strip()[:80]!r}), not an article"
    return ("no article text found (an error page, a login wall, or a page built by JavaScript?)")


def _meta(tree) -> dict[str, str]:
    """The page's own metadata: og:*, article:*, name=author/description, canonical, title, lang."""
    found: dict[str, str] = {}
    for el in tree.iter("meta"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
        value = (el.get("content") or "").strip()
        if key and value and key not in found:
            found[key] = value
    out: dict[str, str] = {}
    for key in ("og:title", "og:site_name", "og:url", "og:image", "og:description", "description", "author"):
        if found.get(key):
            out[key] = found[key]
    if "author" not in out:
        for key in ("article:author", "og:article:author", "dc.creator", "byl"):
            if found.get(key) and not found[key].startswith("http"):
                out["author"] = found[key]
                break
    for key in ("article:published_time", "og:article:published_time", "pubdate", "publishdate", "dc.date",
                "date", "og:release_date"):
        if found.get(key):
            out["date"] = found[key]
            break
    for link in tree.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split() and link.get("href"):
            out["canonical"] = link.get("href").strip()
            break
    titles = tree.findall(".//title")
    if titles and (titles[0].text or "").strip():
        out["title"] = titles[0].text.strip()
    lang = tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang")
    if lang:
        out["lang"] = lang.strip()
    return out


_JS_VAR = r"""(?<![\w$]){name}\s*[=:]\s*(?:(?:htmlDecode|JsDecode)\()?\s*(["'])(.*?)\1"""
"""``var nickname = htmlDecode("…")``, ``var ct = "…"``, ``create_time: JsDecode('…')``: WeChat's
scripts carry what its HTML fills in only when they run."""


def _js_var(html: str, *names: str) -> str | None:
    for name in names:
        m = re.search(_JS_VAR.format(name=re.escape(name)), html)
        if m and m.group(2).strip():
            import html as html_mod

            return html_mod.unescape(m.group(2).strip().replace("\\x26", "&").replace("\\x0a", " "))
    return None


def _wechat(tree, html: str, meta: dict[str, str]) -> dict[str, str]:
    """WeChat's own layout: #activity-name, #js_name (the account: the publication), the
    author line, ``var ct`` (publication time, epoch seconds), og:url (the permanent link)."""
    def text_of(id_: str) -> str | None:
        el = tree.get_element_by_id(id_, None)
        value = " ".join(el.text_content().split()) if el is not None else ""
        return value or None

    info: dict[str, str] = {}
    title = meta.get("og:title") or text_of("activity-name") or _js_var(html, "msg_title")
    if title:
        info["title"] = title
    nickname = text_of("js_name") or _js_var(html, "nickname") or meta.get("og:site_name")
    if not nickname:
        names = tree.xpath("//*[contains(concat(' ', normalize-space(@class), ' '), ' profile_nickname ')]")
        nickname = " ".join(names[0].text_content().split()) if names else None
    if nickname:
        info["publication"] = nickname
    author = meta.get("author") or text_of("js_author_name")
    if not author:
        spans = tree.xpath("//*[contains(@class, 'rich_media_meta_text')]")
        for span in spans:
            value = " ".join(span.text_content().split())
            if value and value != nickname and not re.search(r"\d{4}", value) and "原创" not in value:
                author = value
                break
    if author:
        info["author"] = author
    ct = _js_var(html, "ct", "create_time")
    when = None
    if ct and ct.isdigit():
        try:
            when = dt.datetime.fromtimestamp(int(ct), tz=dt.timezone(dt.timedelta(hours=8))).isoformat()
        except (ValueError, OverflowError, OSError):  # not a time this calendar has
            when = None
    if when:
        info["date"] = when
    else:
        published = text_of("publish_time")
        if published:
            info["date"] = published
    link = meta.get("og:url") or _js_var(html, "msg_link")
    if link:
        info["canonical"] = wechat_permalink(link)
    image = meta.get("og:image") or _js_var(html, "msg_cdn_url")
    if image:
        info["image"] = image
    return info


_LAZY = ("data-src", "data-original", "data-lazy-src", "data-actualsrc", "data-url", "data-echo")


def _fix_images(tree, url: str) -> None:
    """Lazy-loaded images (``data-src`` and friends, WeChat's among them) get their real ``src``."""
    for img in tree.iter("img"):
        src = (img.get("src") or "").strip()
        placeholder = not src or src.startswith("data:") or re.search(r"(blank|placeholder|spacer|loading)\.(gif|png|svg)",
                                                                      src, re.IGNORECASE)
        if placeholder:
            for attr in _LAZY:
                value = (img.get(attr) or "").strip()
                if value and not value.startswith("data:"):
                    img.set("src", value)
                    break


_STAND_IN = "https://publisher.invalid/image/{}.png"
_IMAGE_EXT = re.compile(r"\.(avif|bmp|gif|hei[cf]|jpe?g|png|webp)(\b|$)", re.IGNORECASE)
_BLOCKS = {"p", "section", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "blockquote", "table", "figure",
           "pre", "article", "header", "footer", "hr"}


def _stand_in_images(tree) -> dict[str, str]:
    """trafilatura keeps only images whose URL ends in an image extension; CDNs (WeChat's
    ``…/640?wx_fmt=png`` among them) often have none. Such an image gets a stand-in URL for the
    extraction, put back in the Markdown afterwards."""
    stand_ins: dict[str, str] = {}
    for img in tree.iter("img"):
        src = (img.get("src") or "").strip()
        if src and not src.startswith("data:") and not _IMAGE_EXT.search(urlsplit(src).path):
            key = _STAND_IN.format(len(stand_ins) + 1)
            stand_ins[key] = src
            img.set("src", key)
            for attr in _LAZY:
                img.attrib.pop(attr, None)
    return stand_ins


def _paragraphs(content) -> None:
    """WeChat's editors build paragraphs out of ``<section><span>…</span></section>``: a section
    (or div) holding no other block is a paragraph."""
    for el in list(content.iter("section", "div")):
        if el is content:
            continue
        if not any(isinstance(child.tag, str) and child.tag in _BLOCKS for child in el.iterdescendants()):
            el.tag = "p"


def _tidy_markdown(text: str) -> str:
    text = re.sub(r"\n{3,}", "\n\n", text.replace("\r\n", "\n"))
    return text.strip() + "\n"


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    import html as html_mod

    text = re.sub(r"<[^>]+>", "", html_mod.unescape(str(value)))
    text = " ".join(text.split())
    return text or None
