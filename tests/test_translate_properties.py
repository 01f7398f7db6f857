"""Property: whatever the model does to a sentence, the Markdown around the text survives."""

from __future__ import annotations

import hashlib
import re
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from publisher.articles.blocks import parse_blocks
from publisher.articles.read import parse_article
from publisher.translate.glossary import Glossary
from publisher.translate.article import translate_article

pytestmark = pytest.mark.slow

URL_RE = re.compile(r"https?://[^\s)\]>]+")


def code_spans(markdown: str) -> Counter:
    """Inline code and code blocks as the Markdown parser sees them."""
    from publisher.articles.blocks import markdown_parser

    found: Counter = Counter()
    for tok in markdown_parser().parse(markdown):
        if tok.type in ("fence", "code_block"):
            found[tok.content] += 1
        for child in tok.children or ():
            if child.type == "code_inline":
                found[child.content] += 1
    return found

han = st.text(alphabet="快手可灵发布视频模型用户生成效果很好研究人员表示", min_size=2, max_size=12)
punct = st.sampled_from(["，", "。", "！", "？", "：", ""])
url = st.builds(lambda p: f"https://ex.com/{p}", st.text(alphabet="abc_XYZ123", min_size=1, max_size=8))
inline = st.one_of(
    st.builds(lambda a, p: a + p, han, punct),
    st.builds(lambda t, u: f"[{t}]({u})", han, url),
    st.builds(lambda u: f"![图]({u})", url),
    st.builds(lambda c: f"`{c}`", st.text(alphabet="abc_|*x", min_size=1, max_size=6)),
    st.builds(lambda u: f" {u} ", url),
    st.builds(lambda t: f"**{t}**", han),
    st.sampled_from([" Sora ", " 5.2% ", " 1080P ", "「可灵」"]),
)
line = st.lists(inline, min_size=1, max_size=6).map("".join).map(str.strip).filter(bool)
block = st.one_of(
    line,
    line.map(lambda s: "## " + s),
    st.lists(line, min_size=1, max_size=3).map(lambda items: "\n".join("- " + i for i in items)),
    st.lists(line, min_size=1, max_size=3).map(lambda items: "\n".join(f"{n + 1}. " + i for n, i in enumerate(items))),
    line.map(lambda s: "> " + s),
    st.builds(lambda a, b: f"| 名称 | 说明 |\n| --- | --- |\n| {a} | {b} |",
              han, han),
    st.just("```\n代码 `不` 翻译 https://ex.com/code\n```"),
)
document = st.lists(block, min_size=1, max_size=6).map(lambda bs: "\n\n".join(bs) + "\n")


class Mischief:
    """A model that, depending on the sentence, echoes, drops, repeats or garbles placeholders."""

    name = "mischief"
    version = "1"

    def translate_sentences(self, sentences):
        out = []
        for s in sentences:
            h = int(hashlib.sha256(s.encode()).hexdigest(), 16) % 7
            if h == 0:
                out.append(s)
            elif h == 1:
                out.append(re.sub(r"QX\d+", "", s))
            elif h == 2:
                out.append(s + " " + s)
            elif h == 3:
                out.append("1. # > * ` | " + s.lower())
            elif h == 4:
                out.append("")
            elif h == 5:
                out.append(" ".join(reversed(s.split())))
            else:
                out.append("Translated text.")
        return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document)
def test_markdown_structure_survives_any_model(body):
    text = "---\ntitle: 测试\n---\n\n这是一篇中文文章，讨论快手的可灵模型和视频生成的效果。\n\n" + body
    article = parse_article(text.encode(), __import__("pathlib").Path("p.md"))
    assert article.is_chinese
    t = translate_article(article, Mischief(), glossary=Glossary({"可灵": "Kling"}))
    assert Counter(URL_RE.findall(t.markdown)) == Counter(URL_RE.findall(article.body))
    assert code_spans(t.markdown) == code_spans(article.body)
    kinds = [{"credit": "paragraph"}.get(b.kind, b.kind) for b in article.blocks]
    assert [b.kind for b in parse_blocks(t.markdown)] == kinds
    for tb in t.blocks:
        if tb.block.kind == "code":
            assert tb.markdown == tb.block.source
        assert "QX" not in tb.text
