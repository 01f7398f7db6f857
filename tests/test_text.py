"""publisher.text: the one definition of Han, CJK punctuation and links, and the stages using it."""

from __future__ import annotations

import pytest

from publisher import text
from publisher.text import CJK_PUNCT, HAN, LINK_IN_CHINESE, han_count, has_han, is_han, is_link


@pytest.mark.parametrize("ch", ["中", "〇", "々", "㐀", "𠮷", "豈", "⺀", "〡"])
def test_han_is_the_unicode_script(ch):
    # 〇 (the zero of 二〇二四年) and 々 are Script=Han; ranges like [\u4e00-\u9fff] missed them
    assert is_han(ch) and has_han(f"abc{ch}") and han_count(ch * 3) == 3


@pytest.mark.parametrize("ch", ["、", "。", "「", "，", "　", "〆", "ー", "・", "a", "1", "Ａ", "ä", "䷀"])
def test_not_han(ch):
    assert not is_han(ch) and not has_han(ch)


def test_cjk_punct_and_han_never_overlap_and_cover_both_blocks():
    for cp in [*range(0x3000, 0x3040), *range(0xFF00, 0xFFF0)]:
        ch = chr(cp)
        assert bool(CJK_PUNCT.fullmatch(ch)) != bool(HAN.fullmatch(ch)), hex(cp)
        assert text.HAN_OR_CJK_PUNCT.fullmatch(ch), hex(cp)
    assert not CJK_PUNCT.search("abc,.!? 中文")


def test_han_count_counts_only_han():
    assert han_count("二〇二四年，AI 发展々") == 8
    assert han_count("no Chinese here, 、。") == 0


def test_link_in_chinese_ends_at_chinese_and_cjk_punctuation():
    assert LINK_IN_CHINESE.search("见https://a.cn/x。后面").group(0) == "https://a.cn/x"
    assert LINK_IN_CHINESE.search("访问www.example.com〇号").group(0) == "www.example.com"
    assert LINK_IN_CHINESE.search("链接 https://a.cn/p?q=1&r=2 在此").group(0) == "https://a.cn/p?q=1&r=2"


def test_is_link():
    assert is_link("https://example.com/a?b=c") and is_link("HTTP://EXAMPLE.COM")
    assert not is_link("https://example.com/a b") and not is_link("ftp://x") and not is_link("example.com")


def test_every_stage_agrees_on_ling_and_the_iteration_mark():
    """The stages that used their own ranges now give the same answer (they disagreed on 〇 and 々)."""
    from publisher.media import choose
    from publisher.threads import credits
    from publisher.threads import editorial
    from publisher.articles import language as langdetect
    from publisher.threads import render
    from publisher.translate import markup, splitter

    for sample in ("二〇", "々", "𠮷"):
        assert splitter.has_han(sample) and markup.has_han(sample) and editorial.has_han(sample)
        assert credits.has_han(sample) and choose._HAN.search(sample) and render._HAN.search(sample)
        assert langdetect._HAN.search(sample)


def test_splitter_ends_a_sentence_before_ling_as_before_any_chinese():
    """An ASCII "!" ends a sentence when Chinese follows; 〇 is Chinese (it was not, to the splitter)."""
    from publisher.translate.splitter import split_sentences

    assert split_sentences("太好了!二号线开通了。") == ["太好了!", "二号线开通了。"]
    assert split_sentences("太好了!〇号线开通了。") == ["太好了!", "〇号线开通了。"]


def test_join_soft_breaks_treats_ext_b_and_ling_as_chinese():
    from publisher.translate.markup import join_soft_breaks

    assert join_soft_breaks("二〇\n二四") == "二〇二四"
    assert join_soft_breaks("𠮷\n野") == "𠮷野"
    assert join_soft_breaks("abc\n中文") == "abc 中文"


def test_names_with_ext_a_characters_are_names():
    from publisher.threads.credits import _NAME

    assert _NAME.fullmatch("王㐀") and _NAME.fullmatch("阿·卜杜")
    assert not _NAME.fullmatch("王") and not _NAME.fullmatch("Wang")


def test_no_stage_defines_han_or_link_ranges_again():
    """A newcomer adding `[\\u4e00-\\u9fff]` or `\\p{Han}` outside text.py gets this failure."""
    import pathlib
    import re

    root = pathlib.Path(text.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        if path.name == "text.py":
            continue
        source = path.read_text(encoding="utf-8")
        for pattern in (r"\\u4e00", r"\\u3400", r"\\p\{Han\}"):
            for line in source.splitlines():
                if re.search(pattern, line):
                    offenders.append(f"{path.relative_to(root)}: {line.strip()}")
    assert offenders == []


def test_is_address_is_what_base_url_settings_accept():
    from publisher.text import is_address

    assert is_address("https://example.com/blog/") and is_address("http://127.0.0.1:8080/v1")
    assert is_address("HTTPS://Example.com")
    assert not is_address("example.com") and not is_address("https:///path") and not is_address(" https://a.b")
