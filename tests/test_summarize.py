"""Key points: deterministic, from content only, penalising what makes a poor point."""

from __future__ import annotations

import pytest

import factories
from factories import article, fake_translate
from publisher.summarize import key_points, ranked_points


@pytest.fixture
def seed_translated():
    return factories.seed_translated()


def test_seed_points_are_deterministic_and_in_reading_order(seed_translated):
    first = key_points(seed_translated, 4)
    again = key_points(seed_translated, 4)
    assert first == again
    assert len(first) == 4
    assert [p.position for p in first] == sorted(p.position for p in first)
    assert sorted(p.rank for p in first) == [1, 2, 3, 4]
    # every point carries its Chinese source sentence(s), as they are in the article
    body = " ".join(seed_translated.article.body.split())
    for p in first:
        assert p.sources and all(s in body and "可灵" not in p.text for s in p.sources)


def test_seed_best_point_and_what_never_becomes_a_point(seed_translated):
    ranked = ranked_points(seed_translated)
    assert ranked[0].text.startswith("Kling can generate 1080P videos of up to 2 minutes")
    top = " ".join(p.text for p in ranked[:6])
    for bad in ("Prompt:", "Video:", "Full video", "this natural and smooth?", "on the right",
                "impossible to get:", "GPTNB", "Thank"):
        assert bad not in top, bad
    everything = " ".join(p.text for p in ranked)
    # boilerplate flagged at ingest (the thank-you footer) never appears at all
    assert "GPTNB" not in everything and "[zh]" not in everything
    # the sentence the seed says twice is one point
    assert sum("producing more than 1 minute of content" in p.text for p in ranked) == 1


def test_number_of_points_is_configurable(seed_translated):
    assert len(key_points(seed_translated, 2)) == 2
    assert len(key_points(seed_translated, 0)) == 0
    many = key_points(seed_translated, 100)
    assert 10 < len(many) < 40  # all the candidate sentences, no more
    with pytest.raises(ValueError):
        key_points(seed_translated, -1)


ZH = ["可灵是快手推出的视频生成模型。", "可灵可以生成两分钟的高清视频。", "你觉得可灵怎么样？", "图源：快手官网",
      "好。", "可灵的视频生成效果比其他模型更真实。"]
EN = ["Kling is a video generation model launched by Kuaishou.", "Kling can generate two-minute HD videos.",
      "What do you think of Kling?", "Image: Kuaishou's website", "Good.",
      "Kling's videos look more real than other models'."]


def _small(body: str, title: str = "可灵视频模型"):
    src = article(f"---\ntitle: {title}\n---\n{body}")
    return fake_translate(src, dict(zip(ZH, EN)) | {title: "Kling video model"})


def test_penalties_push_questions_credits_and_short_lines_down():
    t = _small("\n".join(ZH) + "\n")
    ranked = ranked_points(t)
    order = [p.text for p in ranked]
    good = {EN[0], EN[1], EN[5]}
    assert set(order[:3]) == good
    by_text = {p.text: p for p in ranked}
    assert "question to the reader" in by_text[EN[2]].penalties
    assert "image credit or caption" in by_text[EN[3]].penalties
    assert "very short" in by_text[EN[4]].penalties


def test_boilerplate_and_headings_never_become_points():
    body = ("## 可灵可以生成两分钟的高清视频\n\n" + ZH[0] + "\n\n"
            "感谢阅读！可灵可以生成两分钟的高清视频。\n")
    t = _small(body)
    points = ranked_points(t)
    assert [p.text for p in points] == [EN[0]]


def test_title_only_article_has_no_points():
    src = article("# 快手发布可灵\n")
    t = fake_translate(src, {"快手发布可灵": "Kuaishou launches Kling"})
    assert key_points(t, 4) == []


def test_untranslated_article_is_summarised_from_its_own_text():
    src = article("Kling is a video model from Kuaishou. It makes two-minute videos. Many people applied.\n")
    t = fake_translate(src, translated=False)
    points = key_points(t, 2)
    assert len(points) == 2 and all(p.sources == (p.text,) for p in points)
