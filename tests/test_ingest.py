"""Reading article files: the seed, real-world frontmatter quirks, and every kind of bad input."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from publisher.errors import InputError
from publisher.articles.read import ReadFailure, read_article, read_articles


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


ZH_BODY = "快手推出了文生视频大模型可灵。它可以生成两分钟的视频，很多用户都在申请试用。\n"


# --- the seed --------------------------------------------------------------------------------


def test_seed_metadata(seed_path):
    a = read_article(seed_path)
    assert a.title == "快手「可灵」爆火：海外AI圈巨震，中国版Sora一号难求"
    assert a.title_from == "frontmatter"
    assert a.author == "ByteAILab"
    assert a.date == dt.date(2024, 6, 14)
    assert a.language == "zh-Hans"
    assert a.is_chinese
    assert len(a.source_hash) == 64


def test_seed_images_and_their_credits(seed_path):
    a = read_article(seed_path)
    images = a.images
    # 12 images in the text plus the read-more banner's image.
    assert len(images) == 13
    assert sum(1 for b in a.blocks if b.kind == "image") == 12  # two images share a paragraph
    credited = [img.credit for img in images if img.credit]
    assert credited == [
        "https://x.com/CharaspowerAI/status/1799494388462063632",
        "https://x.com/op7418/status/1799047146089619589",
        "https://weibo.com/7714861068/Oig1Qm8Or?refer_flag=1001030103_",
    ]
    first = images[0]
    assert first.line == 10
    assert first.url.endswith("640?wx_fmt=gif&from=appmsg")
    assert first.credit_url == "https://x.com/CharaspowerAI/status/1799494388462063632"
    # the credit lines are their own kind of block and never content
    credits = [b for b in a.blocks if b.kind == "credit"]
    assert len(credits) == 3 and not any(b.is_content for b in credits)


def test_seed_boilerplate_flagged(seed_path):
    a = read_article(seed_path)
    reasons = {b.boilerplate: b for b in a.boilerplate}
    assert "thank-you footer" in reasons
    assert reasons["thank-you footer"].text.startswith("感谢阅读")
    assert "read-more banner" in reasons
    assert reasons["read-more banner"].images[0].alt == "Read more"
    content_text = " ".join(b.text for b in a.content_blocks)
    assert "感谢阅读" not in content_text
    assert "Read more" not in content_text
    assert "可灵支持生成最长 2 分钟" in content_text


def test_seed_block_kinds(seed_path):
    a = read_article(seed_path)
    kinds = [b.kind for b in a.blocks]
    assert kinds.count("rule") >= 1
    assert kinds.count("image") >= 12
    assert all(b.kind != "image" or not b.text for b in a.blocks)
    # the paragraph with a link keeps the link
    link_urls = [link.url for link in a.links]
    assert "https://kling.kuaishou.com/" in link_urls


def test_seed_file_unchanged_in_repo(seed_path):
    shared = seed_path.parent.parent.parent / "shared" / "seeds" / seed_path.name
    if not shared.exists():
        pytest.skip("../shared is not beside this checkout")
    assert shared.read_bytes() == seed_path.read_bytes()


# --- frontmatter quirks ----------------------------------------------------------------------


def test_key_space_colon_and_numeric_title(tmp_path):
    p = write(tmp_path, "a.md", f"---\ntitle : 111\nauthor :  张三\ndate : 2024-06-14\n---\n{ZH_BODY}")
    a = read_article(p)
    assert a.title == "111" and a.title_from == "frontmatter"
    assert a.author == "张三"
    assert a.date == dt.date(2024, 6, 14)


def test_tags_as_string_and_list(tmp_path):
    a = read_article(write(tmp_path, "a.md", f"---\ntitle: t\ntags: AI, 视频，快手\n---\n{ZH_BODY}"))
    assert a.tags == ("AI", "视频", "快手")
    b = read_article(write(tmp_path, "b.md", f"---\ntitle: t\ncategories: [科技, AI]\n---\n{ZH_BODY}"))
    assert b.tags == ("科技", "AI")
    c = read_article(write(tmp_path, "c.md", f"---\ntitle: t\ntags: 科技\n---\n{ZH_BODY}"))
    assert c.tags == ("科技",)


def test_empty_author_is_none(tmp_path):
    a = read_article(write(tmp_path, "a.md", f"---\ntitle: t\nauthor:\n---\n{ZH_BODY}"))
    assert a.author is None
    b = read_article(write(tmp_path, "b.md", f"---\ntitle: t\nauthor: ''\n---\n{ZH_BODY}"))
    assert b.author is None


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2024-06-14", dt.date(2024, 6, 14)),
        ("'2024-06-14'", dt.date(2024, 6, 14)),
        ("2024-06-14 08:30:00", dt.datetime(2024, 6, 14, 8, 30)),
        ("'2024-06-14T08:30:00+08:00'", dt.datetime(2024, 6, 14, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))),
        ("'2024-06-14T00:30:00Z'", dt.datetime(2024, 6, 14, 0, 30, tzinfo=dt.timezone.utc)),
        ("2024年6月14日", dt.date(2024, 6, 14)),
        ("'2024/06/14'", dt.date(2024, 6, 14)),
    ],
)
def test_date_forms(tmp_path, raw, expected):
    a = read_article(write(tmp_path, "a.md", f"---\ntitle: t\ndate: {raw}\n---\n{ZH_BODY}"))
    assert a.date == expected


def test_missing_and_unreadable_date(tmp_path):
    a = read_article(write(tmp_path, "a.md", f"---\ntitle: t\n---\n{ZH_BODY}"))
    assert a.date is None and a.warnings == ()
    b = read_article(write(tmp_path, "b.md", f"---\ntitle: t\ndate: 上周三\n---\n{ZH_BODY}"))
    assert b.date is None
    assert any("上周三" in w for w in b.warnings)


@pytest.mark.parametrize("key", ["url", "link", "source", "source_url", "original", "canonical", "原文链接"])
def test_original_url_keys(tmp_path, key):
    a = read_article(write(tmp_path, "a.md", f"---\ntitle: t\n{key}: https://example.com/a?b=1\n---\n{ZH_BODY}"))
    assert a.url == "https://example.com/a?b=1"


def test_source_name_is_a_publication_not_a_url(tmp_path):
    a = read_article(write(tmp_path, "a.md", f"---\ntitle: t\nsource: 机器之心\n---\n{ZH_BODY}"))
    assert a.url is None and a.publication == "机器之心"


def test_non_http_url_ignored_with_warning(tmp_path):
    a = read_article(write(tmp_path, "a.md", f"---\ntitle: t\nurl: javascript:alert(1)\n---\n{ZH_BODY}"))
    assert a.url is None
    assert any("not an http(s) link" in w for w in a.warnings)


def test_toml_frontmatter_with_crlf(tmp_path):
    content = f'+++\r\ntitle = "可灵发布"\r\nauthor = "李四"\r\ndate = 2024-06-14\r\ntags = ["AI"]\r\n+++\r\n{ZH_BODY}'
    a = read_article(write(tmp_path, "a.md", content.encode("utf-8")))
    assert (a.title, a.author, a.date, a.tags) == ("可灵发布", "李四", dt.date(2024, 6, 14), ("AI",))
    assert "\r" not in a.body


def test_no_frontmatter_title_from_heading_then_filename(tmp_path):
    a = read_article(write(tmp_path, "a.md", f"# 可灵来了\n\n{ZH_BODY}"))
    assert (a.title, a.title_from) == ("可灵来了", "heading")
    b = read_article(write(tmp_path, "可灵笔记.txt", ZH_BODY))
    assert (b.title, b.title_from) == ("可灵笔记", "filename")
    assert b.author is None and b.date is None and b.url is None


def test_zero_width_and_nbsp_normalised(tmp_path):
    content = "---\ntitle: 可\u200b灵\u00a0发布\nauthor: \u200b\n---\n快\u200b手\u3000推出了可灵。它\u00a0很好用，很多人在用。\n"
    a = read_article(write(tmp_path, "a.md", content))
    assert a.title == "可灵 发布"
    assert a.author is None
    assert "\u200b" not in a.body and "\u00a0" not in a.body
    assert "快手" in a.body


def test_traditional_chinese(tmp_path):
    body = "快手推出了文生視頻大模型可靈。這個產品讓網友們感到震撼，很多用戶都在申請試用。\n"
    a = read_article(write(tmp_path, "a.md", f"---\ntitle: 可靈\n---\n{body}"))
    assert a.language == "zh-Hant"
    assert a.is_chinese


def test_english_and_french_are_not_chinese(tmp_path):
    en = read_article(write(tmp_path, "en.md", "---\ntitle: Kling\n---\nKuaishou released Kling, a video model. "
                                               "It is the talk of the town and the waitlist is long.\n"))
    assert en.language == "en" and not en.is_chinese
    fr = read_article(write(tmp_path, "fr.md", "Kuaishou a lancé Kling, un modèle vidéo. C'est une surprise "
                                               "pour les internautes et la liste d'attente est longue dans le monde.\n"))
    assert fr.language == "fr" and not fr.is_chinese


def test_chinese_with_english_names_is_chinese(tmp_path):
    body = "Stability AI 前 CEO Emad Mostaque 表示：「中国的 AI 技术有自己的优势。」YC CEO 也在 X 平台转发了 Demo。\n"
    assert read_article(write(tmp_path, "a.md", body)).language == "zh-Hans"


# --- bad input -------------------------------------------------------------------------------


def expect_error(path: Path, *fragments: str) -> InputError:
    with pytest.raises(InputError) as info:
        read_article(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    return info.value


def test_invalid_yaml_names_line(tmp_path):
    p = write(tmp_path, "bad.md", f"---\ntitle: ok\nauthor: [unclosed\ndate: 2024-01-01\n---\n{ZH_BODY}")
    err = expect_error(p, "invalid YAML frontmatter", "line")
    assert err.line is not None and 2 <= err.line <= 5


def test_frontmatter_not_a_mapping(tmp_path):
    expect_error(write(tmp_path, "list.md", f"---\n- a\n- b\n---\n{ZH_BODY}"), "key: value")


def test_unclosed_frontmatter(tmp_path):
    expect_error(write(tmp_path, "open.md", f"---\ntitle: t\n{ZH_BODY}"), "never closed")


def test_invalid_toml(tmp_path):
    expect_error(write(tmp_path, "bad.md", f'+++\ntitle = "unclosed\n+++\n{ZH_BODY}'), "invalid TOML frontmatter")


def test_binary_and_nul(tmp_path):
    expect_error(write(tmp_path, "nul.md", b"hello\x00world " * 10), "NUL")
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(1, 9)) * 50
    expect_error(write(tmp_path, "img.md", png))


def test_non_utf8_refused_clearly(tmp_path):
    expect_error(write(tmp_path, "gbk.txt", ZH_BODY.encode("gbk")), "not UTF-8", "save it as UTF-8")


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-8-sig"])
def test_bom_encodings_decoded(tmp_path, codec):
    text = f"---\ntitle: 可灵\n---\n{ZH_BODY}"
    data = text.encode(codec)
    if codec == "utf-16-be":
        data = b"\xfe\xff" + data
    a = read_article(write(tmp_path, f"{codec}.md", data))
    assert a.title == "可灵" and "可灵" in a.body


def test_size_limit(tmp_path, monkeypatch):
    p = write(tmp_path, "big.md", ZH_BODY * 200)
    expect_error_limit = read_article(p, max_bytes=10 * 1024 * 1024)
    assert expect_error_limit.title == "big"
    monkeypatch.setenv("PUBLISHER_MAX_FILE_BYTES", "1000")
    expect_error(p, "over the", "limit", "PUBLISHER_MAX_FILE_BYTES")


def test_empty_file_and_frontmatter_only(tmp_path):
    expect_error(write(tmp_path, "empty.md", ""), "empty")
    expect_error(write(tmp_path, "blank.md", "\n\n  \n"), "empty")
    expect_error(write(tmp_path, "fm.md", "---\ntitle: 只有标题\n---\n\n"), "frontmatter only")
    expect_error(write(tmp_path, "zw.md", "\u200b\u200b\n"), "empty")


def test_one_bad_file_does_not_stop_the_others(tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    write(folder, "1-good.md", f"---\ntitle: 好\n---\n{ZH_BODY}")
    write(folder, "2-bad.md", f"---\ntitle: [\n---\n{ZH_BODY}")
    write(folder, "3-binary.txt", b"\x00\x01\x02" * 10)
    write(folder, "4-good.txt", ZH_BODY)
    write(folder, "notes.json", "{}")
    write(folder, "x.en.md", "translated output is not re-read")
    (folder / ".hidden.md").write_text(ZH_BODY)
    results = list(read_articles([folder, tmp_path / "missing.md"]))
    names = [(r.path.name, isinstance(r, ReadFailure)) for r in results]
    assert names == [("1-good.md", False), ("2-bad.md", True), ("3-binary.txt", True), ("4-good.txt", False),
                     ("missing.md", True)]


# --- body structure --------------------------------------------------------------------------


def test_blocks_of_every_kind(tmp_path):
    body = """# 标题

文｜张三

第一段，有一个[链接](https://example.com/a)和`代码`。

> 引用的话。

- 第一项
- 第二项

| 名称 | 数值 |
| --- | --- |
| 可灵 | 2 分钟 |

```python
print("你好")
```

<div>原始 HTML</div>

![图片](https://img.example.com/1.png)

图片来源：新华社

---

关注我们，扫码加入交流群。

*END*
"""
    a = read_article(write(tmp_path, "k.md", body))
    kinds = [b.kind for b in a.blocks]
    assert kinds == ["heading", "paragraph", "paragraph", "quote", "list", "table", "code", "html", "image",
                     "credit", "rule", "paragraph", "paragraph"]
    by_kind = {b.kind: b for b in a.blocks}
    assert by_kind["heading"].level == 1 and by_kind["heading"].text == "标题"
    assert a.blocks[1].boilerplate == "byline"
    assert a.blocks[2].links[0].url == "https://example.com/a"
    assert "链接" in a.blocks[2].text and "代码" in a.blocks[2].text
    assert "第二项" in by_kind["list"].text
    assert "2 分钟" in by_kind["table"].text
    assert 'print("你好")' in by_kind["code"].text
    assert by_kind["image"].images[0].credit == "新华社"
    assert a.blocks[-2].boilerplate == "follow-us line"
    assert a.blocks[-1].boilerplate == "end marker"
    # line numbers point into the file
    assert a.blocks[0].line == 1 and a.blocks[2].line == 5


def test_long_content_mentioning_like_is_not_boilerplate(tmp_path):
    body = ("这款产品发布之后，网友纷纷点赞转发，很多人表示这是今年最让人惊喜的发布之一，"
            "开发团队在接受采访时说，他们花了一年多时间打磨模型，并且会继续开放更多的功能给普通用户使用，"
            "这也让整个行业开始重新思考视频生成的未来。\n")
    a = read_article(write(tmp_path, "a.md", body))
    assert a.blocks[0].boilerplate is None
