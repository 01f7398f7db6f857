"""Who wrote it, where it first appeared, where to read it: the credit, from everything the file has.

Contract: ``build_credit(article, base_url=None, glossary=None) -> Credit``.

Where each part comes from, first found wins:

* **link to the original**: the frontmatter's http(s) link; a relative ``permalink``/``url``
  joined with the source's ``base_url`` (schedule.yaml); a 原文链接／原文地址／Original line
  in the body. Read-more banners are not the original.
* **author**: a byline in the body (文｜…, 作者：…, 撰文：…, 採訪及整理：…); speaker headings
  (### 名字：) of a speech or transcript; the frontmatter's author — unless the file was
  republished (a footer naming another site) and the body speaks as another publication:
  then the frontmatter author is the republisher's byline, not the author.
* **publication** (the original): the frontmatter's ``publication``/``source``; a 转载自／来源：
  line; a known outlet (publisher/defaults/publications.yaml) that the body names as itself or
  whose servers host its banners and pictures (the seed: 机器之心, image.jiqizhixin.com).
* **republisher**: a thank-you or "more articles" footer with a link to a site that is not the
  original (the seed: GPTNB, gptnb.com).
* **licence**: a line such as 授權：CC BY 4.0 or "License: CC BY-SA 4.0" (credited as such).
* **date**: the frontmatter's, else a date in a heading.

Chinese names are given as written plus their English: the glossary's English name when it has
one (Synced (机器之心)), else pinyin (pypinyin: Tang Jie (唐杰)).

``Credit.problems`` says what keeps a thread from being auto-approved: no link to the original,
or neither author nor publication.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import regex

from publisher.text import HAN_CLASS, has_han, is_link

if TYPE_CHECKING:
    import datetime as dt

    from publisher.models import Article
    from publisher.translate.glossary import Glossary

PUBLICATIONS_FILE = Path(__file__).resolve().parent.parent / "defaults" / "publications.yaml"

NO_LINK = "no link to the original"
#: Roles, not names: a heading "### 主持人：" names nobody to credit.
NOT_SPEAKERS = ("主持人", "記者", "记者", "嘉宾", "嘉賓", "观众", "觀眾", "提问", "提問", "问", "答", "Q", "A")
NO_AUTHOR = "neither an author nor a publication"


_BYLINE = re.compile(
    r"^\s*(?:\*\*)?(?P<role>文|作者|撰文|记者|記者|采写|採寫|采访及整理|採訪及整理|采访整理|採訪整理|采访|採訪|整理|口述|编译|編譯|"
    r"翻译|翻譯|By|Author)(?:\*\*)?\s*(?:[｜|丨/:：]|\s)\s*(?:\*\*)?(?P<name>[^\n｜|丨]{1,40}?)(?:\*\*)?\s*$",
    re.IGNORECASE)
_AUTHOR_ROLES = {"文", "作者", "撰文", "记者", "記者", "采写", "採寫", "采访及整理", "採訪及整理", "采访整理", "採訪整理",
                 "采访", "採訪", "整理", "口述", "by", "author"}
_TRANSLATOR_ROLES = {"编译", "編譯", "翻译", "翻譯"}
_SPEAKER_HEADING = regex.compile(rf"^\s*(?P<name>[{HAN_CLASS}·A-Za-z][{HAN_CLASS}·A-Za-z .]{{0,15}}?)\s*[:：]\s*$")
#: A Chinese personal name as a byline writes it: two to eight Han characters and name dots.
_NAME = regex.compile(rf"[{HAN_CLASS}·・]{{2,8}}")
_ORIGIN_LINE = re.compile(r"(?:原文(?:链接|鏈接|地址)?|原始链接|首发于|首發於|original(?: article| link)?|source)\s*[:：]\s*"
                          r"(?P<url>https?://\S+)", re.IGNORECASE)
_FROM_LINE = re.compile(
    r"(?:本文)?(?:转载自|轉載自|转自|轉自|原载于|原載於|首发于|首發於|来源|來源|出处|出處)\s*[:：]?\s*(?:公众号|公眾號)?\s*"
    r"[「『《“\"]?(?P<name>[^」』》”\"，。,.\s|｜]{2,24})")
_LICENCE = re.compile(
    r"(?P<cc>CC[\s-]*(?:BY|0)(?:[\s-]*(?:NC|SA|ND))*(?:[\s-]*\d\.\d)?|"
    r"知识共享(?:署名)?[^\s，。]{0,16}(?:\d\.\d)?|創用\s*CC[^\s，。]{0,16}|公有领域|public domain)", re.IGNORECASE)
_LICENCE_CUE = re.compile(r"授權|授权|许可|許可|协议|協議|licen[cs]e|版权|版權|CC[\s-]*BY", re.IGNORECASE)
_HEADING_DATE = re.compile(r"(?P<y>20\d{2})\s*(?:年|[-/.])\s*(?P<m>\d{1,2})\s*(?:月|[-/.])\s*(?P<d>\d{1,2})")
_COMPOUND_SURNAMES = ("欧阳", "歐陽", "司马", "司馬", "诸葛", "諸葛", "上官", "东方", "東方", "皇甫", "尉迟", "公孙", "慕容",
                      "令狐", "司徒", "夏侯", "宇文", "长孙", "長孫", "端木", "独孤", "獨孤", "南宫", "南宮")


@dataclass(frozen=True)
class Credit:
    author: str | None = None
    """Display form: "Tang Jie (唐杰)", "ByteAILab"."""
    publication: str | None = None
    """The original publication, display form: "Synced (机器之心)"."""
    url: str | None = None
    """The original article's http(s) link."""
    date: dt.date | dt.datetime | None = None
    republisher: str | None = None
    republisher_url: str | None = None
    byline: str | None = None
    """The republisher's byline (the frontmatter author of a republished file)."""
    translator: str | None = None
    licence: str | None = None
    voice: str | None = None
    """Short English name the source's first person is attributed to ("Synced")."""
    found: tuple[str, ...] = ()
    """How each part was found, one line each (for the preview and the benchmark)."""
    self_names: tuple[str, ...] = ()
    """The source's own names as the Chinese text writes them (its publication)."""

    @property
    def problems(self) -> tuple[str, ...]:
        out = []
        if not self.url:
            out.append(NO_LINK)
        if not self.author and not self.publication:
            out.append(NO_AUTHOR)
        return tuple(out)


# --- names ----------------------------------------------------------------------------------


def pinyin_name(name: str, person: bool = True) -> str:
    """Pinyin of a Chinese name: surname then given name ("唐杰" -> "Tang Jie")."""
    from pypinyin import Style, lazy_pinyin

    name = name.strip()
    if not person:
        syllables = lazy_pinyin(name, style=Style.NORMAL, errors="default")
        return "".join(syllables).capitalize() if syllables else name
    surname_len = 2 if name[:2] in _COMPOUND_SURNAMES and len(name) > 2 else 1
    parts = [p for p in re.split(r"[·・]", name) if p]
    if len(parts) > 1:  # a transliterated foreign name: each part on its own
        return " ".join("".join(lazy_pinyin(p)).capitalize() for p in parts)
    sur = "".join(lazy_pinyin(name[:surname_len])).capitalize()
    given = "".join(lazy_pinyin(name[surname_len:])).capitalize()
    return f"{sur} {given}".strip()


def display_name(name: str, glossary: Glossary | None = None, *, person: bool = True) -> str:
    """A name as written, with its English: the glossary's, else pinyin; Latin names unchanged."""
    name = " ".join(name.split())
    if not has_han(name):
        return name
    if glossary is not None and name in glossary.terms:
        return f"{glossary.terms[name]} ({name})"
    if not _NAME.fullmatch(name):
        # several names, or a name with other words: each run of Han that the glossary knows
        if glossary is not None:
            for zh, en in sorted(glossary.terms.items(), key=lambda kv: -len(kv[0])):
                if zh in name:
                    return f"{name.replace(zh, en)} ({name})"
        names = [n for n in re.split(r"[、，,/／\s]+|和|及|与|與", name) if n]
        if len(names) > 1 and all(_NAME.fullmatch(n) for n in names):
            return ", ".join(display_name(n, glossary, person=person) for n in names)
        return name
    try:
        return f"{pinyin_name(name, person)} ({name})"
    except ImportError:  # pypinyin missing: the name as written
        return name


def english_name(name: str, glossary: Glossary | None = None, *, person: bool = True) -> str:
    """Just the English form ("Synced", "Tang Jie"), for attributing a sentence."""
    shown = display_name(name, glossary, person=person)
    m = re.match(r"^(.*?) \((.*)\)$", shown)
    return m.group(1) if m and has_han(m.group(2)) else shown


# --- known publications ---------------------------------------------------------------------


@dataclass(frozen=True)
class Outlet:
    zh: str
    en: str
    domains: tuple[str, ...] = ()
    republisher: bool = False


@lru_cache(maxsize=1)
def known_outlets() -> tuple[Outlet, ...]:
    import yaml

    data = yaml.safe_load(PUBLICATIONS_FILE.read_text(encoding="utf-8")) or {}
    out = []
    for zh, entry in data.items():
        entry = entry or {}
        domains = entry.get("domains") or []
        out.append(Outlet(zh=str(zh), en=str(entry.get("en") or zh),
                          domains=tuple(str(d).lower() for d in domains),
                          republisher=bool(entry.get("republisher"))))
    return tuple(out)


def _host(url: str) -> str:
    host = (urllib.parse.urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def outlet_for_host(host: str) -> Outlet | None:
    for outlet in known_outlets():
        if any(host == d or host.endswith("." + d) for d in outlet.domains):
            return outlet
    return None


def outlet_named(name: str) -> Outlet | None:
    for outlet in known_outlets():
        if name in (outlet.zh, outlet.en) or name.lower() == outlet.en.lower():
            return outlet
    return None


# --- building the credit --------------------------------------------------------------------

_REL_KEYS = ("permalink", "url", "link", "canonical", "canonical_url", "source_url", "original_url", "path", "slug")
_LICENCE_KEYS = ("license", "licence", "授权", "授權", "许可", "許可", "copyright", "rights")


def join_link(value: str, base_url: str | None) -> str | None:
    """A relative ``permalink`` joined with ``base_url``; an http(s) link as it is; else None."""
    value = value.strip()
    if is_link(value):
        return value
    if not base_url or not value or re.match(r"^[a-z][a-z0-9+.-]*:", value, re.IGNORECASE) or " " in value:
        return None
    base = base_url if base_url.endswith("/") else base_url + "/"
    return urllib.parse.urljoin(base, value.lstrip("/") if not value.startswith("/") else value)


def build_credit(article: Article, base_url: str | None = None, glossary: Glossary | None = None) -> Credit:
    """The article's credit, from its frontmatter and body (see the module docstring)."""
    found: list[str] = []
    meta = {str(k).lower(): v for k, v in dict(article.metadata).items()}
    blocks = article.blocks
    texts = [b.text for b in blocks if b.text]

    # the link
    url = article.url
    if url:
        found.append("link: frontmatter")
    if not url:
        for key in _REL_KEYS:
            value = meta.get(key)
            if isinstance(value, str) and value.strip():
                joined = join_link(value, base_url)
                if joined:
                    url = joined
                    found.append(f"link: frontmatter {key} joined with the source's base_url")
                    break
    if not url:
        for b in blocks:
            m = _ORIGIN_LINE.search(b.text) or _ORIGIN_LINE.search(b.source)
            if m:
                url = m.group("url").rstrip("）)。.,，")
                found.append(f"link: line {b.line} ({m.group(0)[:12]}…)")
                break
            for link in b.links:
                if re.match(r"^\s*(?:原文(?:链接|鏈接|地址)?|original|阅读原文|閱讀原文)\s*$", link.text, re.I) \
                        and re.match(r"^https?://", link.url):
                    url = link.url
                    found.append(f"link: line {link.line} ({link.text})")
                    break
            if url:
                break

    # bylines, speakers
    authors: list[str] = []
    translator = None
    for b in blocks:
        if b.kind not in ("paragraph", "heading", "quote"):
            continue
        for line in b.text.split("\n"):
            m = _BYLINE.match(line)
            if not m:
                continue
            role = m.group("role").lower()
            name = re.sub(r"^[\s*]+|[\s*]+$", "", m.group("name"))
            name = re.split(r"[，,。；;]|\s{2,}", name)[0].strip()
            if not name or len(name) > 24:
                continue
            if role in _TRANSLATOR_ROLES:
                translator = translator or name
            elif role in _AUTHOR_ROLES and name not in authors:
                authors.append(name)
                found.append(f"author: byline on line {b.line} ({line.strip()[:30]})")
    speakers: list[str] = []
    for b in blocks:
        if b.kind == "heading":
            m = _SPEAKER_HEADING.match(b.text)
            if (m and m.group("name").strip() not in speakers and not _HEADING_DATE.search(b.text)
                    and m.group("name").strip() not in NOT_SPEAKERS):
                speakers.append(m.group("name").strip())

    # outlets: the original publication and a republisher
    publication_zh: str | None = None
    publication_en: str | None = None
    if article.publication:
        publication_zh = article.publication
        found.append("publication: frontmatter")
    if publication_zh is None:
        for t in texts:
            m = _FROM_LINE.search(t)
            if m and len(t) < 120:
                name = m.group("name").strip()
                if not re.match(r"^https?:", name) and len(name) >= 2:
                    publication_zh = name
                    found.append(f"publication: {m.group(0)[:20]}")
                    break
    republisher = republisher_url = None
    for b in blocks:
        if b.boilerplate in ("thank-you footer", "promotion") or (b.boilerplate and b is blocks[-1]):
            for link in b.links:
                if re.match(r"^https?://", link.url):
                    host = _host(link.url)
                    outlet = outlet_for_host(host)
                    if outlet is None or outlet.republisher:
                        republisher = link.text.strip() or host
                        republisher_url = link.url
                        found.append(f"republisher: footer on line {b.line} ({republisher})")
                        break
        if republisher:
            break
    body_outlet: Outlet | None = None
    if publication_zh is None:
        hosts: dict[str, int] = {}
        for b in blocks:
            for img in b.images:
                for u in (img.url, img.link or ""):
                    if u:
                        o = outlet_for_host(_host(u))
                        if o is not None and not o.republisher:
                            hosts[o.zh] = hosts.get(o.zh, 0) + 1
        named = [o for o in known_outlets() if not o.republisher
                 and any(o.zh in b.text for b in blocks if b.kind in ("paragraph", "quote") and not b.boilerplate)]
        for o in known_outlets():
            if o.zh in hosts or o in named:
                body_outlet = o
                why = []
                if o.zh in hosts:
                    why.append("its server hosts the article's banner or pictures")
                if o in named:
                    why.append("the body names it as itself")
                found.append(f"publication: {o.zh}, because " + " and ".join(why))
                break
        if body_outlet is not None:
            publication_zh = body_outlet.zh
    if publication_zh:
        outlet = outlet_named(publication_zh)
        if outlet is not None:
            publication_en = outlet.en
    publication = None
    if publication_zh:
        if has_han(publication_zh):
            english = publication_en or (glossary.terms.get(publication_zh) if glossary else None)
            publication = f"{english} ({publication_zh})" if english else display_name(publication_zh, glossary,
                                                                                       person=False)
        else:
            publication = publication_zh

    # the author
    byline = None
    author_zh: str | None = None
    if authors:
        author_zh = "、".join(authors)
        if article.author and article.author not in authors:
            byline = article.author if republisher else None
    elif article.author:
        if republisher and body_outlet is not None:
            byline = article.author
            found.append("frontmatter author is the republisher's byline (the body speaks as "
                         f"{body_outlet.zh}, the footer names {republisher})")
        else:
            author_zh = article.author
            found.append("author: frontmatter")
    elif speakers:
        author_zh = "、".join(speakers[:3])
        found.append("author: speaker headings")
    author = None
    if author_zh:
        author = ", ".join(display_name(a.strip(), glossary) for a in re.split(r"[、,，]", author_zh) if a.strip())

    # licence
    licence = None
    for key in _LICENCE_KEYS:
        value = meta.get(key)
        if isinstance(value, str):
            m = _LICENCE.search(value)
            if m:
                licence = _normal_licence(m.group("cc"))
                found.append(f"licence: frontmatter {key}")
                break
    if licence is None:
        for b in blocks:
            for line in (b.text or "").split("\n"):
                if _LICENCE_CUE.search(line):
                    m = _LICENCE.search(line)
                    if m:
                        licence = _normal_licence(m.group("cc"))
                        found.append(f"licence: line {b.line}")
                        break
            if licence:
                break

    # the date
    date = article.date
    if date is None:
        import datetime as _dt

        for b in blocks:
            if b.kind == "heading":
                m = _HEADING_DATE.search(b.text)
                if m:
                    try:
                        date = _dt.date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
                        found.append(f"date: heading on line {b.line}")
                        break
                    except ValueError:
                        continue

    voice = None
    if publication_zh:
        voice = publication_en or english_name(publication_zh, glossary, person=False)
    elif author_zh and len(authors) <= 1:
        voice = english_name(author_zh.split("、")[0], glossary)
    return Credit(author=author, publication=publication, url=url, date=date, republisher=republisher,
                  republisher_url=republisher_url, byline=byline,
                  translator=display_name(translator, glossary) if translator else None,
                  licence=licence, voice=voice, found=tuple(found),
                  self_names=tuple(n for n in (publication_zh, publication_en) if n))


def _normal_licence(text: str) -> str:
    t = " ".join(text.split())
    m = re.match(r"CC[\s-]*(BY|0)((?:[\s-]*(?:NC|SA|ND))*)(?:[\s-]*(\d\.\d))?", t, re.IGNORECASE)
    if not m:
        return t
    parts = [m.group(1).upper()] + [p.upper() for p in re.findall(r"NC|SA|ND", m.group(2) or "", re.I)]
    return "CC " + "-".join(parts) + (f" {m.group(3)}" if m.group(3) else "")


def credit_completeness(credit: Credit) -> dict[str, bool]:
    return {"link": bool(credit.url), "author": bool(credit.author), "publication": bool(credit.publication),
            "date": credit.date is not None}
