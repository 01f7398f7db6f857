"""translate_article with the fake translator: structure kept, names enforced, fallbacks, cache."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from publisher.articles.blocks import parse_blocks
from publisher.articles.read import read_article
from publisher.text import has_han
from publisher.translate.base import FakeTranslator
from publisher.translate.cache import TranslationCache
from publisher.translate.glossary import Glossary, load_glossary
from publisher.translate.article import TranslationStats, model_inputs, passthrough, translate_article

URL_RE = re.compile(r"https?://[^\s)\]>]+")
IMAGE_RE = re.compile(r"!\[[^\]]*\]\([^)]*\)")


def article(tmp_path: Path, body: str, name: str = "a.md", frontmatter: str = "title: 测试文章\n"):
    path = tmp_path / name
    path.write_text(f"---\n{frontmatter}---\n\n{body}", encoding="utf-8")
    return read_article(path)


class RecordingTranslator:
    """Answers with a function of each sentence; records every call."""

    name = "recording"
    version = "1"

    def __init__(self, fn):
        self.fn = fn
        self.calls: list[list[str]] = []

    def translate_sentences(self, sentences):
        self.calls.append(list(sentences))
        return [self.fn(s) for s in sentences]


# --- the seed ------------------------------------------------------------------------------


def test_seed_keeps_every_url_image_and_marker(seed_path):
    a = read_article(seed_path)
    t = translate_article(a, FakeTranslator())
    assert t.translated and t.model == "fake"
    assert Counter(URL_RE.findall(t.markdown)) == Counter(URL_RE.findall(a.body))
    assert Counter(IMAGE_RE.findall(t.markdown)) == Counter(IMAGE_RE.findall(a.body))
    as_parsed = {"credit": "paragraph"}  # a credit line is a paragraph to the parser
    assert [b.kind for b in parse_blocks(t.markdown)] == [as_parsed.get(b.kind, b.kind) for b in a.blocks]
    assert len(t.blocks) == len(a.blocks)
    for tb, b in zip(t.blocks, a.blocks):
        assert tb.block is b
        if b.kind in ("image", "rule", "code", "html"):
            assert tb.markdown == b.source
    # the model never sees a glossary term in Chinese
    inputs = model_inputs(a)
    for term in ("快手", "可灵", "机器之心", "猎豹移动", "猎户星空", "傅盛", "文生视频"):
        assert not any(term in s for s in inputs), term
    assert set(t.glossary_hits) >= {"快手", "可灵", "机器之心", "猎豹移动", "猎户星空", "傅盛", "文生视频"}
    assert "Kuaishou" in t.title and "Kling" in t.title


def test_seed_sentence_pairs_align_with_the_chinese(seed_path):
    a = read_article(seed_path)
    t = translate_article(a, FakeTranslator())
    by_block: dict[int, list] = {}
    for s in t.sentences:
        by_block.setdefault(s.block, []).append(s)
    assert by_block, "no sentences"
    for index, sentences in by_block.items():
        block_text = "".join(a.blocks[index].text.split())
        assert "".join("".join(s.source.split()) for s in sentences) == block_text
        for s in sentences:
            assert s.text.startswith("[zh] ") or not has_han(s.source)
    first = t.sentences[0]
    assert first.source == "短短一年后，AI 生成的「吃面条」已经如此自然流畅？"
    assert first.block == 0


def test_seed_with_a_phrasebook_gives_exact_english(seed_path):
    a = read_article(seed_path)
    book = {
        "右侧的这些生成视频，都来自 Kuaishou 刚刚推出的 text-to-video 大模型「Kling」（Kling）。":
            "The videos on the right all come from Kling, the text-to-video model Kuaishou just launched.",
        "QX1 Synced QX2 也是第一时间就点进了申请通道，并拿到了试用资格。":
            "QX1 Synced QX2 applied at once and got access to the trial.",
        "（官网地址：QX1)": "(Official website: QX1)",
    }
    t = translate_article(a, FakeTranslator(book))
    md = t.markdown
    assert "The videos on the right all come from Kling, the text-to-video model Kuaishou just launched." in md
    assert "[Synced](https://waytoagi.feishu.cn/wiki/GevKwyEt1i4SUVk0q2JcqQFtnRd) applied at once" in md
    assert "(Official website: [https://kling.kuaishou.com/](https://kling.kuaishou.com/))" in md
    pair = next(s for s in t.sentences if s.source.startswith("机器之心也是"))
    assert pair.text == "Synced applied at once and got access to the trial."
    assert pair.source == "机器之心也是第一时间就点进了申请通道，并拿到了试用资格。"


# --- structure -----------------------------------------------------------------------------

RICH = """# 第一章：快手发布可灵

这是**非常重要**的消息，详见[官网](https://kling.kuaishou.com/)和 `kling --help` 命令。增长了5.2%。

> 引用的文字。第二句话。
>
> - 引用里的列表项

1. 第一项，访问 <https://example.com/a_b>。
2. 第二项
   - 嵌套项目 *强调* 内容

| 名称 | 说明 |
| --- | :---: |
| 可灵 | 文生视频模型 |

```python
print("你好")  # 代码不翻译
```

<div align="center">居中的HTML</div>

![示意图](https://img.example.com/x_y.png "标题")

标题二
---

第一行  
第二行
"""


def test_structure_survives_with_every_block_kind(tmp_path):
    a = article(tmp_path, RICH)
    t = translate_article(a, FakeTranslator())
    md = t.markdown
    assert [b.kind for b in parse_blocks(md)] == [b.kind for b in a.blocks]
    assert md.lstrip().startswith("# [zh] 第一章：Kuaishou 发布 Kling\n")
    assert "**非常重要**" in md and "[官网](https://kling.kuaishou.com/)" in md and "`kling --help`" in md
    assert "> [zh] 引用的文字。 [zh] 第二句话。\n>\n> - [zh] 引用里的列表项" in md
    assert "1. [zh] 第一项，访问 <https://example.com/a_b>。\n2. [zh] 第二项\n   - [zh] 嵌套项目 *强调* 内容" in md
    assert "| [zh] 名称 | [zh] 说明 |\n| --- | :---: |\n| Kling | [zh] text-to-video 模型 |" in md
    assert '```python\nprint("你好")  # 代码不翻译\n```' in md
    assert '<div align="center">居中的HTML</div>' in md
    assert '![示意图](https://img.example.com/x_y.png "标题")' in md
    assert "[zh] 标题二\n---" in md
    assert "[zh] 第一行  \n[zh] 第二行" in md


def test_text_reaches_the_model_without_markup(tmp_path):
    a = article(tmp_path, RICH)
    inputs = model_inputs(a)
    assert "这是 QX1 非常重要 QX2 的消息，详见 QX3 官网 QX4 和 QX5 命令。" in inputs
    assert "增长了5.2%。" in inputs
    assert "嵌套项目 QX1 强调 QX2 内容" in inputs
    joined = "\n".join(inputs)
    for markup in ("http", "](", "```", "<div", "print(", "| ", "# ", "> ", "_"):
        assert markup not in joined, markup


def test_link_text_is_translated_and_its_url_kept(tmp_path):
    a = article(tmp_path, "请访问[官方网站](https://a.example/x_y?q=1)了解详情。\n")
    fake = FakeTranslator({"请访问 QX1 官方网站 QX2 了解详情。": "Visit QX1 the official website QX2 for details."})
    t = translate_article(a, fake)
    assert t.blocks[0].markdown == "Visit [the official website](https://a.example/x_y?q=1) for details."
    assert t.blocks[0].text == "Visit the official website for details."


def test_lost_placeholder_translates_the_pieces_separately(tmp_path):
    a = article(tmp_path, "请访问[官方网站](https://a.example/x)了解详情。\n")
    fake = FakeTranslator({
        "请访问 QX1 官方网站 QX2 了解详情。": "Visit the official website for details.",  # markers lost
        "请访问": "Visit",
        "官方网站": "the official website",
        "了解详情。": "for details.",
    })
    stats = TranslationStats()
    t = translate_article(a, fake, stats=stats)
    assert t.blocks[0].markdown == "Visit [the official website](https://a.example/x) for details."
    assert stats.pieces == 1 and stats.calls == 2
    assert fake.calls[1] == ["请访问", "官方网站", "了解详情。"]
    assert any("piece by piece" in w for w in t.warnings)


def test_markers_out_of_order_count_as_lost(tmp_path):
    a = article(tmp_path, "这是**重点**内容。\n")
    fake = FakeTranslator({"这是 QX1 重点 QX2 内容。": "This is QX2 key QX1 content.",
                           "这是": "This is", "重点": "key", "内容。": "content."})
    t = translate_article(a, fake)
    assert t.blocks[0].markdown == "This is **key** content."


def test_duplicated_placeholder_counts_as_lost(tmp_path):
    a = article(tmp_path, "图源：https://x.com/a_b/1\n")
    fake = FakeTranslator({"图源：QX1": "Source: QX1 QX1", "图源：": "Source:"})
    t = translate_article(a, fake)
    assert t.blocks[0].markdown == "Source: https://x.com/a_b/1"


def test_placeholders_tolerate_spacing_and_case_from_the_model(tmp_path):
    a = article(tmp_path, "图源：https://x.com/a\n")
    t = translate_article(a, FakeTranslator({"图源：QX1": "Source: qx 1"}))
    assert t.blocks[0].markdown == "Source: https://x.com/a"


def test_names_and_numbers_must_survive(tmp_path):
    a = article(tmp_path, "使用 Sora 制作了 21 秒的视频。\n")
    # the model changed the name's case: put back as written
    t = translate_article(a, FakeTranslator({"使用 Sora 制作了 21 秒的视频。": "Made a 21-second video with SORA."}))
    assert t.blocks[0].markdown == "Made a 21-second video with Sora."
    # the model lost the number: pieces
    fake = FakeTranslator({"使用 Sora 制作了 21 秒的视频。": "Made a video with Sora.",
                           "使用": "using", "制作了": "made", "秒的视频。": "second video."})
    t = translate_article(a, fake)
    assert t.blocks[0].markdown == "using Sora made 21 second video."


def test_glossary_term_mangled_by_the_model_is_enforced(tmp_path):
    a = article(tmp_path, "可灵很受欢迎。\n")
    fake = FakeTranslator({"Kling 很受欢迎。": "Keling is very popular.", "很受欢迎。": "is very popular."})
    t = translate_article(a, fake)
    assert t.blocks[0].markdown == "Kling is very popular."
    assert t.glossary_hits == ("可灵",)


def test_lowercase_glossary_term_may_be_capitalised_at_sentence_start(tmp_path):
    a = article(tmp_path, "文生视频很火。\n")
    t = translate_article(a, FakeTranslator({"text-to-video 很火。": "Text-to-video is hot."}))
    assert t.blocks[0].markdown == "Text-to-video is hot."


def test_model_output_that_looks_like_markup_is_escaped(tmp_path):
    a = article(tmp_path, "第一。\n\n星号。\n")
    fake = FakeTranslator({"第一。": "1. The first", "星号。": "a *star* and <b> tag"})
    t = translate_article(a, fake)
    assert t.blocks[0].markdown == "1\\. The first"
    assert t.blocks[1].markdown == "a \\*star\\* and \\<b> tag"
    assert [b.kind for b in parse_blocks(t.markdown)] == ["paragraph", "paragraph"]
    assert t.blocks[0].text == "1. The first"


def test_text_without_chinese_is_kept(tmp_path):
    a = article(tmp_path, "这是一个足够长的中文段落，用来让语言检测认出中文。\n\nPrompt：Une personne\n\n...\n...\n")
    t = translate_article(a, FakeTranslator())
    assert t.translated
    assert t.blocks[1].markdown == "Prompt: Une personne"
    assert t.blocks[2].markdown == "...\n..."


def test_placeholder_prefix_avoids_text_that_looks_like_one(tmp_path):
    a = article(tmp_path, "型号 QX1 的链接：https://a.example/\n")
    sentence = model_inputs(a)[0]
    assert "QZ1" in sentence and sentence.count("QX1") == 1
    t = translate_article(a, FakeTranslator({sentence: sentence.replace("型号", "Model ").replace("的链接：", "link: ")}))
    assert t.blocks[0].markdown == "Model QX1 link: https://a.example/"


def test_frontmatter_title_and_description_are_translated(tmp_path):
    a = article(tmp_path, "正文。\n", frontmatter="title: 可灵发布\ndescription: 一段描述。\n")
    t = translate_article(a, FakeTranslator({"Kling 发布": "Kling launched", "一段描述。": "A description."}))
    assert t.title == "Kling launched"
    assert t.description == "A description."
    assert t.article.title == "可灵发布"


# --- glossary ------------------------------------------------------------------------------


def test_longest_glossary_term_wins():
    g = Glossary({"猎豹": "Cheetah", "猎豹移动": "Cheetah Mobile", "移动": "mobile"})
    assert [m.english for m in g.find("猎豹移动和猎豹")] == ["Cheetah Mobile", "Cheetah"]


def test_user_glossary_adds_and_overrides(tmp_path):
    (tmp_path / "glossary.yaml").write_text("可灵: KLING\n新词: New Word\n傅盛: ''\n", encoding="utf-8")
    g = load_glossary()
    assert g.terms["可灵"] == "KLING" and g.terms["新词"] == "New Word" and "傅盛" not in g.terms
    assert g.terms["快手"] == "Kuaishou"
    (tmp_path / "glossary.yaml").unlink()
    assert load_glossary().version != g.version


def test_glossary_version_changes_with_terms():
    assert Glossary({"a": "b"}).version != Glossary({"a": "c"}).version
    assert Glossary({"a": "b"}).version == Glossary({"a": "b"}).version


@pytest.mark.parametrize("content, fragment", [
    ("可灵: [oops\n", "invalid YAML"),
    ("- 可灵\n", "mapping"),
    ("可灵: Kling\n快手:\n  nested: x\n", ":2: the English for '快手' must be text"),
])
def test_bad_glossary_names_file_and_line(tmp_path, content, fragment):
    from publisher.errors import ConfigError

    (tmp_path / "glossary.yaml").write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_glossary()
    assert "glossary.yaml" in str(info.value) and fragment in str(info.value)


# --- cache ---------------------------------------------------------------------------------


def test_second_run_of_an_unchanged_article_does_no_model_work(seed_path, tmp_path):
    a = read_article(seed_path)
    fake = FakeTranslator()
    with TranslationCache(tmp_path / "cache.db") as cache:
        first = translate_article(a, fake, cache=cache)
        assert len(fake.calls) == 1
        stats = TranslationStats()
        second = translate_article(a, fake, cache=cache, stats=stats)
    assert len(fake.calls) == 1, "the second run called the model"
    assert stats.calls == 0 and stats.cached == stats.sentences > 0
    assert second.markdown == first.markdown and second.sentences == first.sentences


def test_cache_survives_reopening_and_fallback_pieces_are_cached(tmp_path):
    a = article(tmp_path, "请访问[官方网站](https://a.example/x)了解详情。\n")
    lossy = RecordingTranslator(lambda s: "lost everything")
    with TranslationCache(tmp_path / "cache.db") as cache:
        translate_article(a, lossy, cache=cache)
    assert len(lossy.calls) == 2
    with TranslationCache(tmp_path / "cache.db") as cache:
        t = translate_article(a, lossy, cache=cache)
    assert len(lossy.calls) == 2
    assert "(https://a.example/x)" in t.markdown


def test_cache_key_includes_glossary_and_model(tmp_path):
    a = article(tmp_path, "可灵很好。\n")
    fake = FakeTranslator()
    with TranslationCache(tmp_path / "cache.db") as cache:
        translate_article(a, fake, cache=cache, glossary=Glossary({"可灵": "Kling"}))
        translate_article(a, fake, cache=cache, glossary=Glossary({"可灵": "Kling"}))
        assert len(fake.calls) == 1
        translate_article(a, fake, cache=cache, glossary=Glossary({"可灵": "Keling"}))
        assert len(fake.calls) == 2
        other = FakeTranslator()
        other.version = "2"
        translate_article(a, other, cache=cache, glossary=Glossary({"可灵": "Kling"}))
        assert len(other.calls) == 1


# --- not translated ------------------------------------------------------------------------


def test_english_article_passes_through(tmp_path):
    a = article(tmp_path, "This is an English article. It has two sentences.\n", frontmatter="title: Hello\n")
    fake = FakeTranslator()
    t = translate_article(a, fake)
    assert not t.translated and t.model == "none" and fake.calls == []
    assert t.markdown == a.body and t.title == "Hello"
    assert "not Chinese" in t.warnings[0] and "en" in t.warnings[0]
    assert [s.text for s in t.sentences] == ["This is an English article.", "It has two sentences."]


def test_no_translator_passes_through_with_the_reason(seed_path):
    a = read_article(seed_path)
    t = translate_article(a, None)
    assert not t.translated and t.model == "none"
    assert "publisher models install" in t.warnings[0]
    assert [b.markdown for b in t.blocks] == [b.source for b in a.blocks]


def test_passthrough_is_parallel_to_blocks(seed_path):
    a = read_article(seed_path)
    t = passthrough(a, "because")
    assert len(t.blocks) == len(a.blocks) and t.warnings == ("because",)
