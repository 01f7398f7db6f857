"""The Chinese sentence splitter: terminators, quotes, decimals, URLs, over-long sentences."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from publisher.translate.splitter import sentence_spans, split_sentences


@pytest.mark.parametrize(
    "text, expected",
    [
        ("今天下雨了。明天会晴吗？一定会的！", ["今天下雨了。", "明天会晴吗？", "一定会的！"]),
        ("真的吗？！当然……然后呢；结束", ["真的吗？！", "当然……", "然后呢；", "结束"]),
        # closing quotes and brackets stay with the sentence they close
        ("他说：「我们赢了。」大家都笑了。", ["他说：「我们赢了。」", "大家都笑了。"]),
        ("（这是括号里的话。）后面的话。", ["（这是括号里的话。）", "后面的话。"]),
        ("“引号里的话！”然后", ["“引号里的话！”", "然后"]),
        # terminators inside a quotation do not end the sentence
        ("他说：「第一句。第二句。」然后……", ["他说：「第一句。第二句。」", "然后……"]),
        # decimals and URLs are never split
        ("收入增长了5.2%，达到3.14亿元。", ["收入增长了5.2%，达到3.14亿元。"]),
        ("详见 https://example.com/a.b?c=1.2 。下一句。", ["详见 https://example.com/a.b?c=1.2 。", "下一句。"]),
        ("官网：https://kling.kuaishou.com/。很好。", ["官网：https://kling.kuaishou.com/。", "很好。"]),
        # English sentences and abbreviations in mixed text
        ("He left. Then she came. The U.S. is big, e.g. Texas.", ["He left.", "Then she came.",
                                                                  "The U.S. is big, e.g. Texas."]),
        ("版本 v1.2 发布了。Mr. Smith 说好。", ["版本 v1.2 发布了。", "Mr. Smith 说好。"]),
        # line breaks always end a sentence
        ("第一行\n第二行", ["第一行", "第二行"]),
        ("", []),
        ("   ", []),
    ],
)
def test_split(text, expected):
    assert split_sentences(text) == expected


def test_over_long_sentence_is_split_at_commas_under_the_bound():
    clause = "这是一个相当长的分句内容"
    text = "，".join([clause] * 30) + "。"
    parts = split_sentences(text, max_chars=60)
    assert len(parts) > 1
    assert all(len(p) <= 60 for p in parts)
    assert all(p.endswith(("，", "。")) for p in parts)
    assert "".join(parts) == text


def test_over_long_quote_is_split_at_its_sentences():
    inner = "。".join(["引号里很长的一句话内容"] * 30)
    text = f"他说：「{inner}。」"
    parts = split_sentences(text, max_chars=80)
    assert len(parts) > 1 and all(len(p) <= 80 for p in parts)


def test_long_sentence_without_commas_is_left_whole():
    text = "字" * 300 + "。"
    assert split_sentences(text, max_chars=100) == [text]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("中文字句。，！？；…「」（）().:5% \nabcAB/")), max_size=200))
def test_spans_cover_every_character_once_in_order(text):
    spans = sentence_spans(text, max_chars=20)
    pos = 0
    for start, end in spans:
        assert start >= pos and start < end
        assert text[pos:start].strip() == ""  # only whitespace between sentences
        pos = end
    assert text[pos:].strip() == ""
