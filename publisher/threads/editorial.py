"""Editorial filters on the Chinese source: what an editor never lets into a thread.

Contract: ``review(sentences) -> list[Reviewed]``: for every source sentence of an article, in
reading order, the filters that fired and what follows from them:

* ``filler``: never a point or a gist (lines about the article itself, roadmap lines, reader
  chat and rhetorical questions, picture lead-ins, captions, site blurbs and bylines, halves of
  a Q&A, quotes whose speaker is nowhere near, the source's first person when nobody can be
  named, sentences that lean on a neighbour that is itself filler);
* ``attach``: usable only together with the sentence before it (a dangling 但／例如／所以, an
  opening 这, a quote whose speaker is introduced in the sentence before);
* otherwise usable, possibly rewritten (``text``) by a repair: list and footnote marks
  stripped (3、 [5] ①), an additive opener dropped (而且，…), a picture reference dropped
  from a news sentence (右侧的这些生成视频，都来自… keeps the news and loses 右侧的这些), a
  closing colon made a full stop.

Every filter matches words, not characters: 你 in 迷你 is not the reader, 以下简称 and 千万以下
are not pictures. The filters work on Chinese because the cues are exact there and do not
depend on a translation model; ``publisher.threads.summarize`` ranks what they let through.

Also here: :func:`article_kind` (news, or a transcript, speech or Q&A digest, which are never
auto-approved) and :func:`similarity` (shared character pairs, for "nothing said twice").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import regex

from publisher.text import ASCII_LINK as _URL
from publisher.text import HAN as _HAN
from publisher.text import HAN_CLASS, han_count, has_han

FILLER = "filler"
ATTACH = "attach"
KEEP = "keep"

_CLOSERS = "」』”’）)\"'》】"

# --- repairs -----------------------------------------------------------------------------------

#: List and footnote marks: "3、", "（二）", "①", "[5]", "【1】" (never a number in the text itself).
_LIST_MARK = re.compile(r"^\s*(?:[(（]?\s*(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*[)）]|(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*[、．.](?!\d)|"
                        r"[①-⑳❶-❿➀-➉]|[-*•·▪●◆■]\s)\s*")
_FOOTNOTE = re.compile(r"\s*(?:\[\d{1,3}\]|【\d{1,3}】|\[\^\d{1,3}\]|[¹²³⁴⁵⁶⁷⁸⁹⁰]+)")
#: Additive openers: the sentence stands on its own once they are dropped.
_ADDITIVE = re.compile(r"^(?:(?:而且|并且|並且|此外|再者|除此之外|与此同时|與此同時)\s*[，,、]?|"
                       r"(?:另外|同时|同時|其次|再加上)\s*[，,、])\s*")  # 另外两家 is "the other two"
#: Openers that need the sentence before: contrast, consequence, example, reformulation.
_DANGLING = re.compile(r"^(?:但是|但|可是|不过|不過|然而|所以|因此|因而|于是|於是|例如|比如|譬如|比方说|甚至|总之|總之|"
                       r"换句话说|換句話說|也就是说|也就是說|这也|這也|而)(?![丁])")
#: An opening pronoun or demonstrative that points back.
_PRONOUN = re.compile(r"^(?:这|這|那|此|它|他们|她们|他們|她們|其)(?!些年|时候|時候|天|周|週|次会议|位)")
_PRONOUN_EXCEPT = re.compile(r"^(?:这是|這是|这次|這次|这一|這一|此前|此外|此次|那年|其实|其實|其中|这款|這款|这家|這家|"
                             r"其他|其它|其余|其餘|此后|此後|此时|此時)")
#: A picture reference at the start of a news sentence, dropped: "右侧的这些生成视频，都来自…".
_PICTURE_LEAD = re.compile(r"^(?:就)?(?:右侧|左侧|右側|左側|右边|左边|上图|下图|上圖|下圖|图中|圖中|上方|下方|视频中|影片中)"
                           r"(?:中|里|裡)?(?:的)?(?:这些|这个|这段|这张|这条|這些|這個|這段|這張|這條)?")
_PICTURE_INNER = re.compile(r"(?:图中|圖中|上图中?|下图中?|上圖中?|下圖中?)(?:的)?(?:这个|这些|這個|這些)?")
#: Any reference to a picture or table, as a word.
_PICTURE = re.compile(r"上图|下图|上圖|下圖|如图|如圖|见图|見圖|图中|圖中|上表|下表|如下(?:图|表|所示)?[:：]?$|"
                      r"如下所示|下方|右侧|左侧|右側|左側|右边|左边|(?<![\d万千百亿萬億])以下(?!简称|簡稱)(?=[是为為:：])")


def _strip_marks(text: str) -> str:
    text = _LIST_MARK.sub("", text, count=1)
    return _FOOTNOTE.sub("", text).strip()


# --- the filters --------------------------------------------------------------------------------

_META = re.compile(
    r"^(?:本文|本篇|这篇文章|這篇文章|这篇|在本篇|本期|本系列|本章|本节|本報告|本报告|文章|全文)"
    r"|系列(?:的)?第[一二三四五六七八九十\d]+篇|整理自|根据.{0,24}(?:演讲|分享|发言|演講|發言)整理|"
    r"(?:以下|下文)(?:为|為|是).{0,16}(?:实录|全文|整理|實錄)|将从.{0,30}等?方面|將從.{0,30}等?方面|"
    r"我们将(?:介绍|讨论|探讨|分享|详细)|我們將(?:介紹|討論|探討|分享)|本文将|在这篇(?:博客|文章)中")
_GREETING = re.compile(r"^(?:各位|大家好|谢谢大家|謝謝大家|感谢大家|感謝大家|女士们|女士們|先生们|先生們|谢谢|謝謝)"
                       r"|请到了|請到了|欢迎.{0,8}嘉宾|歡迎.{0,8}嘉賓|感谢.{0,10}(?:嘉宾|分享|聆听|收看|收听)|"
                       r"感謝.{0,10}(?:嘉賓|分享|聆聽|收看|收聽)|非常荣幸|非常榮幸")
_ROADMAP = re.compile(
    r"^(?:下一篇|下篇|下期|下一期|接下来|接下來|下面(?:我们|我們|就|来|來)|首先[，,]?我们|然后[，,]?我们|最后[，,]?我们|下文|后文|後文|"
    r"先来看|先來看|话不多说|話不多說|废话不多说|廢話不多說)"
    r"|我们不妨|我們不妨|让我们|讓我們|一起来看|一起來看|来看看|來看看|我们来看|我們來看|我们先来|我們先來")
#: Reader chat: addressing the reader as a word (你 but not 迷你), or talking about "those who follow".
_READER = re.compile(
    r"(?<![迷])你(?!死我活)|您|大家(?!好)|对于关注.{0,12}的(?:人|朋友|读者|小伙伴)来说|對於關注.{0,12}的(?:人|朋友|讀者)來說|"
    r"相信(?:不少|很多|许多|大家)|想必|小伙伴|小夥伴|各位读者|各位讀者|网友们|朋友们")
_LEAD_IN_END = re.compile(r"(?:如下|以下|如图|如圖|下图|下圖|见下图|所示|效果|例子|案例|截图|截圖|演示|视频|視頻|图片|圖片)(?:所示)?[:：]"
                          r"[" + re.escape(_CLOSERS) + r"]*$")
_COMMENTARY = re.compile(r"^(?:不夸张地说|不誇張地說|毫不夸张地说|毫不誇張地說|可以说|可以說|说实话|說實話|老实说|老實說|坦白说|坦白說|"
                         r"总的来说|總的來說|简单来说|簡單來說|一句话|一句話)")
_SENTENCE_END = re.compile(r"[。！？!?…；;.:：][" + re.escape(_CLOSERS) + r"]*$|[」”』][。！？!?]?$")
_QUESTION = re.compile(r"[?？][" + re.escape(_CLOSERS) + r"]*$|吗[。.]?$|嗎[。.]?$")
_COLON_END = re.compile(r"[:：][" + re.escape(_CLOSERS) + r"]*$")
_CAPTION = re.compile(
    r"^(?:图源|图片来源|图片|图|來源|来源|出处|視頻地址|视频地址|完整视频地址|视频来源|原文地址|官网地址|链接|鏈接|截图|截圖|"
    r"prompt|image|photo|source|video|论文地址|論文地址|项目地址|項目地址|论文|github|代码|代碼|demo|官网)\s*[:：｜|]",
    re.IGNORECASE)
_CAPTION_END = re.compile(r"(?:生成结果|生成結果|生成效果|效果图|效果圖|示意图|示意圖|截图|截圖|演示|原图|原圖|来源|來源)[。.]?$")
_BLURB = re.compile(
    r"(?:机器之心|機器之心|量子位|新智元|雷锋网|雷鋒網|36氪|极客公园|極客公園|AI科技评论|InfoQ)(?:报道|報導|原创|原創|编辑部|編輯部|出品)"
    r"|公众号|公眾號|^(?:编辑|編輯|责编|責編|作者|文|撰文|整理|採訪及整理|采访及整理|采访|採訪|编译|編譯|翻译|翻譯|校对|校對|"
    r"审校|審校|出品|策划|策劃|设计|設計|摄影|攝影|来源|來源|授权|授權|许可|許可|转载|轉載)\s*[：:｜|丨/]"
    r"|本文(?:经|經)?(?:授权|授權)转载|版权(?:归|所有|声明)|版權(?:歸|所有|聲明)|转载请|轉載請|未经(?:授权|许可)"
    r"|点击(?:阅读原文|关注)|关注我们|欢迎(?:关注|转发|留言)|歡迎(?:關注|轉發|留言)|扫码|掃碼|二维码|二維碼")
_QA = re.compile(r"^(?:问|問|答|Q|A|提问|提問|回答|主持人|记者|記者)\s*(?:\d{1,2})?\s*[:：]", re.IGNORECASE)
_QA_QUESTION = re.compile(r"^(?:问|問|Q|提问|提問|主持人|记者|記者)\s*(?:\d{1,2})?\s*[:：]", re.IGNORECASE)
_STAGE = re.compile(r"^[（(](?:笑|掌声|掌聲|鼓掌|众笑|眾笑|停顿|停頓|音乐|音樂|全场笑|全場笑)[)）][。.]?$")
#: A sentence that is a quote and nothing else.
_QUOTED = re.compile(r"「[^」]*」|“[^”]*”|『[^』]*』")
_BARE_QUOTE = re.compile(r"^[「“『\"][^」”』\"]{4,}[」”』\"][。.！!？?]?$")
_SAYS_END = re.compile(r"(?:表示|说|說|称|稱|指出|认为|認為|坦言|写道|寫道|回应|回應|提到|强调|強調)\s*[:：，,]?\s*$")
#: The source speaking in the first person (as a word: 我们 not 我们的读者? both are first person).
_FIRST_PERSON = re.compile(r"(?<![自])我们|我們|(?<![自忘])我(?![们們国國方])|笔者|筆者|小编|小編")


@dataclass(frozen=True)
class Reviewed:
    """One source sentence and what the filters made of it."""

    text: str
    """The sentence as a point would use it (repaired: marks stripped, openers dropped...)."""
    original: str
    """The sentence as the article has it."""
    block: int
    index: int
    """Position among the article's sentences (0 = first)."""
    first_in_block: bool
    verdict: str
    """"keep", "filler" or "attach" (usable only with the sentence before)."""
    fired: tuple[str, ...] = ()
    """Names of the filters that fired (fillers) or repairs that were made."""
    speaker: str | None = None
    """Who a quote or first-person sentence is attributed to, when the filters found out."""

    @property
    def usable(self) -> bool:
        return self.verdict != FILLER


@dataclass(frozen=True)
class SourceSentence:
    """A sentence of the article as the summariser hands it to the filters."""

    text: str
    block: int
    first_in_block: bool
    kind: str = "paragraph"
    section: int = 0
    """Count of headings before it: a sentence leans only on a neighbour in its own section."""


@dataclass
class _Context:
    speakers: dict[int, str] = field(default_factory=dict)
    """Block index -> speaker named by the heading above it (### 名字：)."""
    voice: str | None = None
    """Who the article's first person is (a publication or author), when known."""
    self_names: tuple[str, ...] = ()
    turns: set[str] = field(default_factory=set)
    """Speakers' names that open paragraphs as "名字：…" (stripped, and the words attributed)."""
    namer: object = None
    """Chinese name -> the English form a thread attributes words to."""


def clean(text: str) -> str:
    """Whitespace collapsed, links removed (they never belong in a point)."""
    text = _URL.sub(" ", text)
    text = re.sub(r"[（(]\s*(?:官网地址|官網地址|地址|链接|鏈接|项目地址|論文地址|论文地址)?\s*[:：]?\s*[)）]", "", text)
    return " ".join(text.split()).strip()


def filler_reason(text: str, *, kind: str = "paragraph") -> str | None:
    """The first filler filter that fires on ``text`` alone (no neighbours), or None."""
    t = _strip_marks(clean(text))
    if not t or not (has_han(t)):
        return "no Chinese text (a label, prompt or link)"
    if _STAGE.match(t):
        return "stage direction"
    if _CAPTION.match(t) or (_CAPTION_END.search(t) and han_count(t) < 10):
        return "caption or link label"
    if _BLURB.search(t) and han_count(t) < 60:
        return "site blurb or byline"
    if _QA_QUESTION.match(t):
        return "half of a Q&A (the question)"
    if _GREETING.search(t):
        return "greeting, thanks or a host's line"
    if _META.search(t):
        return "about the article itself"
    if _ROADMAP.search(t):
        return "roadmap line"
    if _QUESTION.search(t):
        return "question (rhetorical or to the reader)"
    if _READER.search(t):
        return "reader chat"
    if _COLON_END.search(t) and (han_count(t) < 14 or _LEAD_IN_END.search(t)) \
            and not _SAYS_END.search(_COLON_END.sub("", t)):
        return "lead-in to a picture"
    if han_count(t) < 4:
        return "too short to say anything"
    if _COMMENTARY.match(t) and han_count(t) < 20:
        return "commentary without a fact"
    if not _SENTENCE_END.search(t) and han_count(t) < 24 and kind != "list":
        return "a subheading or fragment, not a sentence"
    return None


_SURNAMES = set("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
                "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
                "張劉陳楊黃趙吳孫馬鄭謝韓馮鄧蕭葉蘇呂盧鍾譚陸賈韋鄒閆龔錢嚴")
_TURN_LABEL = regex.compile(rf"^(?P<name>[{HAN_CLASS}]{{2,3}}|[A-Z][a-z]+(?: [A-Z][a-z]+){{1,2}})\s*[:：]\s*(?=\S)")


def turn_speakers(sentences: Sequence[SourceSentence]) -> set[str]:
    """Names that open two or more paragraphs as "名字：…" (a transcript's turns)."""
    counts: dict[str, int] = {}
    for s in sentences:
        m = _TURN_LABEL.match(s.text)
        if m and (not has_han(m.group("name")) or m.group("name")[0] in _SURNAMES):
            counts[m.group("name")] = counts.get(m.group("name"), 0) + 1
    return {name for name, n in counts.items() if n >= 2}


def review(sentences: Sequence[SourceSentence], *, speakers: dict[int, str] | None = None,
           voice: str | None = None, self_names: Sequence[str] = (),
           namer=None) -> list[Reviewed]:
    """Run every filter over an article's sentences (see the module docstring).

    ``voice`` is who the source's first person is attributed to; ``self_names`` are the
    source's own names (its publication), so that a sentence about the source itself is skipped.
    """
    ctx = _Context(speakers=dict(speakers or {}), voice=voice, self_names=tuple(n for n in self_names if n),
                   turns=turn_speakers(sentences), namer=namer or (lambda name: name))
    out: list[Reviewed] = []
    for i, s in enumerate(sentences):
        out.append(_review_one(s, i, sentences, out, ctx))
    # An "attach" sentence whose previous neighbour is unusable is filler after all.
    final: list[Reviewed] = []
    for r in out:
        if r.verdict == ATTACH:
            prev = final[-1] if final else None
            if prev is None or prev.index != r.index - 1 or prev.verdict == FILLER:
                r = Reviewed(r.text, r.original, r.block, r.index, r.first_in_block, FILLER,
                             r.fired + ("its context is not usable",), r.speaker)
        final.append(r)
    return final


def _review_one(s: SourceSentence, i: int, sentences: Sequence[SourceSentence], done: list[Reviewed],
                ctx: _Context) -> Reviewed:
    original = s.text
    text = clean(original)
    fired: list[str] = []
    stripped = _strip_marks(text)
    if stripped != text:
        fired.append("list or footnote mark stripped")
        text = stripped

    def result(verdict: str, *more: str, speaker: str | None = None, final: str | None = None) -> Reviewed:
        return Reviewed(final if final is not None else text, original, s.block, i, s.first_in_block, verdict,
                        tuple(fired) + more, speaker)

    speaker = ctx.speakers.get(s.block)
    turn = _TURN_LABEL.match(text)
    if turn and turn.group("name") in ctx.turns:
        text = text[turn.end():]
        speaker = ctx.namer(turn.group("name"))  # type: ignore[operator]
        fired.append("speaker's label stripped")
    reason = filler_reason(text, kind=s.kind)
    if reason is None and _QA.match(text):  # the answer half: keep its words, strip the label
        text = _QA.sub("", text, count=1).strip()
        fired.append("Q&A label stripped")
        if not speaker:
            return result(FILLER, "half of a Q&A (the answer, nobody named)")
    if reason is not None:
        return result(FILLER, reason)
    if any(text.startswith(n) for n in ctx.self_names):
        return result(FILLER, "the source speaks about itself")
    # picture references: drop them from a news sentence, never penalise the news for them
    lead = _PICTURE_LEAD.match(text)
    if lead and lead.end() > 0 and lead.group(0) not in ("就",):
        rest = text[lead.end():].lstrip("，, ")
        if han_count(rest) >= 8:
            fired.append("picture reference dropped")
            text = ("就" + rest) if lead.group(0).startswith("就") else rest
    inner = _PICTURE_INNER.search(text)
    if inner:
        fired.append("picture reference dropped")
        text = (text[:inner.start()] + text[inner.end():]).strip()
    if _COLON_END.search(text) and _SAYS_END.search(_COLON_END.sub("", text)):
        nxt = clean(sentences[i + 1].text) if i + 1 < len(sentences) else ""
        if _BARE_QUOTE.match(nxt):
            return result(KEEP, "introduces the quote that follows")
        return result(FILLER, "lead-in to a quote that is not there")
    if _COLON_END.search(text):
        fired.append("closing colon made a full stop")
        text = _COLON_END.sub("。", text)
    if _ADDITIVE.match(text) and han_count(_ADDITIVE.sub("", text)) >= 8:
        fired.append("additive opener dropped")
        text = _ADDITIVE.sub("", text, count=1)
    prev = done[-1] if done else None
    same_block_prev = (prev is not None and prev.index == i - 1
                       and (prev.block == s.block or sentences[i - 1].section == s.section))
    if _DANGLING.match(text):
        return result(ATTACH if same_block_prev else FILLER, "dangling opener")
    if _PRONOUN.match(text) and not _PRONOUN_EXCEPT.match(text):
        return result(ATTACH if same_block_prev else FILLER, "opening pronoun points back")
    if _BARE_QUOTE.match(text):
        if same_block_prev and prev is not None and _SAYS_END.search(prev.original.rstrip("：:，, ")):
            return result(ATTACH, "quote with its speaker in the sentence before")
        nxt = sentences[i + 1].text if i + 1 < len(sentences) else ""
        who = re.match(r"^\s*[—–-]{1,2}\s*(\S{2,12})", nxt)
        if who:
            return result(KEEP, "quote: speaker from the next line", speaker=who.group(1))
        if speaker:
            return result(KEEP, "quote: speaker from the heading", speaker=speaker)
        return result(FILLER, "quote without its speaker")
    if _FIRST_PERSON.search(_QUOTED.sub("", text)):
        who = speaker or ctx.voice
        if who:
            return result(KEEP, "the source's first person: attributed", speaker=who)
        return result(FILLER, "the source's first person, and nobody to attribute it to")
    if speaker and s.kind in ("paragraph", "quote"):
        return result(KEEP, speaker=speaker)
    return result(KEEP)


# --- similarity ---------------------------------------------------------------------------------


def features(text: str) -> frozenset[str]:
    """Han character pairs and lower-cased Latin words of a Chinese sentence."""
    t = _URL.sub(" ", text)
    han = "".join(_HAN.findall(t))
    pairs = {han[i:i + 2] for i in range(len(han) - 1)}
    words = {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z0-9.+-]*|\d+(?:\.\d+)?", t)}
    return frozenset(pairs | words)


def covered(a: str | frozenset[str], by: str | frozenset[str]) -> float:
    """Share of ``a``'s features that ``by`` already has (0..1): how much of ``a`` is said by ``by``."""
    fa = a if isinstance(a, frozenset) else features(a)
    fb = by if isinstance(by, frozenset) else features(by)
    if not fa:
        return 0.0
    return len(fa & fb) / len(fa)


def similarity(a: str | frozenset[str], b: str | frozenset[str]) -> float:
    """Share of the smaller text's features found in the other (0..1)."""
    fa = a if isinstance(a, frozenset) else features(a)
    fb = b if isinstance(b, frozenset) else features(b)
    if not fa or not fb:
        return 0.0
    return len(fa & fb) / min(len(fa), len(fb))


# --- kinds of article ---------------------------------------------------------------------------

KINDS = ("news", "qa", "transcript", "speech")
KIND_NAMES = {"news": "article", "qa": "Q&A digest", "transcript": "transcript", "speech": "speech"}

_KIND_TAGS = {
    "qa": re.compile(r"问答|問答|答疑|Q&A|QA|FAQ|访谈|訪談|专访|專訪|采访|採訪|interview", re.IGNORECASE),
    "transcript": re.compile(r"实录|實錄|对话|對話|圆桌|圓桌|transcript|播客|podcast|直播", re.IGNORECASE),
    "speech": re.compile(r"演讲|演講|致辞|致辭|讲话|講話|发言|發言|speech|keynote|主题分享", re.IGNORECASE),
}
_TURN = regex.compile(rf"^\s*(?:\*\*)?([{HAN_CLASS}A-Za-z·]{{1,12}})(?:\*\*)?\s*[:：]")
_SPEECH_CUES = re.compile(r"各位(?:来宾|來賓|嘉宾|嘉賓|朋友|同学|同學|领导|領導)|女士们|女士們|先生们|先生們|大家好|谢谢大家|謝謝大家")


def article_kind(title: str, tags: Iterable[str], lines: Sequence[str]) -> tuple[str, str | None]:
    """("news"|"qa"|"transcript"|"speech", why) for an article, from its title, tags and lines."""
    meta = " ".join([title, *tags])
    qa = sum(1 for line in lines if _QA.match(line.strip()))
    stage = sum(1 for line in lines if re.search(r"[（(](?:笑|掌声|掌聲|鼓掌)[)）]", line))
    turns: dict[str, int] = {}
    for line in lines:
        m = _TURN.match(line)
        if m and not _CAPTION.match(line) and not _BLURB.search(line):
            turns[m.group(1)] = turns.get(m.group(1), 0) + 1
    speakers = [name for name, n in turns.items() if n >= 2]
    speech = sum(1 for line in lines if _SPEECH_CUES.search(line))
    if qa >= 4 or (qa >= 2 and _KIND_TAGS["qa"].search(meta)):
        return "qa", f"{qa} question/answer lines (问：/答：)"
    if len(speakers) >= 2 and sum(turns[s] for s in speakers) >= 6:
        return "transcript", f"turns by {len(speakers)} speakers ({', '.join(speakers[:3])})"
    if stage >= 1 and len(speakers) >= 1:
        return "transcript", "stage directions such as （笑） between speakers' turns"
    if speech >= 2 or (speech >= 1 and _KIND_TAGS["speech"].search(meta)):
        return "speech", "addresses an audience (大家好, 各位…, 谢谢大家)"
    for kind in ("transcript", "speech", "qa"):
        if _KIND_TAGS[kind].search(title):
            return kind, f"the title says so ({_KIND_TAGS[kind].search(title).group(0)})"
    return "news", None
