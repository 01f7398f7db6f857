"""Numbers are checked by value and names by token: correct translations are not sent to the fallback."""

from __future__ import annotations

import pytest

from publisher.articles.read import read_article
from publisher.translate.base import FakeTranslator
from publisher.translate.numbers import english_values, find_numbers, name_pattern, number_kept
from publisher.translate.article import TranslationStats, model_inputs, translate_article


def kept(source: str, english: str) -> bool:
    values = english_values(english)
    return all(number_kept(n, values) for n in find_numbers(source))


@pytest.mark.parametrize("source, english", [
    ("5 月上线", "launched in May"),
    ("5月3日", "on May 3"),
    ("2024年5月3日发布", "released on 3 May 2024"),
    ("12月", "in Dec."),
    ("3日", "on the 3rd"),
    ("3.5万人", "35,000 people"),
    ("3.5万人", "35 thousand people"),
    ("3.5万人", "35k people"),
    ("1.2亿美元", "120 million dollars"),
    ("1.2亿美元", "$0.12 billion"),
    ("200万", "two million"),
    ("50%的用户", "50 percent of users"),
    ("５０％", "50%"),
    ("3-5年", "three to five years"),
    ("3至5年", "3 to 5 years"),
    ("提高了2倍", "twice as fast"),
    ("1,000 元", "1000 yuan"),
    ("21 秒", "a 21-second clip"),
    ("10:30", "at 10:30"),
    ("第2名", "second place"),
    ("两分钟", "whatever: Chinese numerals alone are not required"),
])
def test_the_same_value_is_accepted(source, english):
    assert kept(source, english)


@pytest.mark.parametrize("source, english", [
    ("5 月上线", "launched in March"),
    ("5 月上线", "launched, you may know"),  # "may" is not the month
    ("3.5万人", "3,500 people"),
    ("1.2亿美元", "12 million dollars"),
    ("50%的用户", "half of users"),
    ("3-5年", "3 years"),
    ("2024年", "last year"),
])
def test_another_value_is_refused(source, english):
    assert not kept(source, english)


def test_numbers_found_with_their_units_and_values():
    found = find_numbers("2024年5月，3.5万人参与，增长50%，GPT-4 和 1080P 视频，H100，第 3-5 名")
    assert [(n.text, n.value, n.unit) for n in found] == [
        ("2024年", 2024, "年"), ("5月", 5, "月"), ("3.5万", 35000, ""), ("50%", 50, "%"), ("3", 3, ""), ("5", 5, "")]
    assert [n.english for n in found] == ["2024", "May", "35,000", "50%", "3", "5"]  # GPT-4 is a name


@pytest.mark.parametrize("name, english", [
    ("GPT-4o", "GPT 4o"), ("GPT-4o", "gpt-4o"), ("OpenAI", "Open AI"), ("OpenAI", "OpenAI's"),
    ("1080P", "1080p"), ("Sora", "SORA"), ("GPU", "GPUs"), ("Cybertruck", "Cybertrucks"),
])
def test_names_match_by_token(name, english):
    assert name_pattern(name).search(english)


@pytest.mark.parametrize("name, english", [("Sora", "Soraya"), ("GPT-4o", "GPT-4"), ("H100", "H 1000"),
                                           ("H100", "H100s0")])
def test_other_names_do_not_match(name, english):
    assert not name_pattern(name).search(english)


def _article(tmp_path, body: str):
    path = tmp_path / "a.md"
    path.write_text("---\ntitle: 测试\n---\n\n" + body, encoding="utf-8")
    return read_article(path)


def test_a_correct_translation_of_a_date_is_not_sent_to_the_fallback(tmp_path):
    a = _article(tmp_path, "快手在 2024 年 5 月 3 日发布了可灵，首日就有 3.5 万人申请。\n")
    inputs = model_inputs(a)
    assert inputs[0] == "Kuaishou 在 2024 年 5 月 3 日发布了 Kling，首日就有 3.5 万人申请。"
    fake = FakeTranslator({inputs[0]: "Kuaishou released Kling on May 3, 2024, and 35,000 people applied on "
                                      "the first day.", inputs[1]: "Test"})
    stats = TranslationStats()
    t = translate_article(a, fake, stats=stats)
    assert stats.pieces == 0 and stats.calls == 1
    assert t.blocks[0].markdown.startswith("Kuaishou released Kling on May 3, 2024")


def test_a_lost_number_still_falls_back_and_pieces_write_it_in_english(tmp_path):
    a = _article(tmp_path, "5月有3.5万人申请。\n")
    fake = FakeTranslator({"5月有3.5万人申请。": "Many people applied.", "有": "there were", "人申请。": "applicants."})
    stats = TranslationStats()
    t = translate_article(a, fake, stats=stats)
    assert stats.pieces == 1
    assert t.blocks[0].markdown == "May there were 35,000 applicants."


def test_a_name_with_other_spacing_is_put_back_as_written(tmp_path):
    a = _article(tmp_path, "今天早上，OpenAI 发布了新的模型 GPT-4o。\n")
    fake = FakeTranslator({"今天早上，OpenAI 发布了新的模型 GPT-4o。": "This morning, Open AI released GPT 4o."})
    stats = TranslationStats()
    t = translate_article(a, fake, stats=stats)
    assert stats.pieces == 0
    assert t.blocks[0].markdown == "This morning, OpenAI released GPT-4o."


def test_correct_translations_of_the_benchmark_sentences_are_accepted(tmp_path):
    """benchmarks/corpus/sentences.json: correct English for sentences full of figures and names."""
    import json
    from pathlib import Path

    pairs = json.loads((Path(__file__).resolve().parent.parent / "benchmarks" / "corpus" / "sentences.json")
                       .read_text(encoding="utf-8"))
    refused = []
    for chinese, english in pairs.items():
        a = _article(tmp_path, chinese + "\n")
        stats = TranslationStats()
        translate_article(a, FakeTranslator({model_inputs(a)[0]: english, "测试": "Test"}), stats=stats)
        if stats.pieces:
            refused.append(chinese)
    assert len(pairs) == 15 and refused == []
