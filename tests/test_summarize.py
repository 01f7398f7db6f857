"""The selection on the Chinese source: deterministic, model-free, and what an editor would pick."""

from __future__ import annotations

import pytest

import factories
from factories import article, fake_translate
from publisher.articles.read import read_article
from publisher.threads.scoring import estimate_english, specificity
from publisher.threads.summarize import key_points, ranked_points, select


@pytest.fixture(scope="module")
def seed():
    return read_article(factories.SEED)


def test_seed_selection_is_deterministic_and_starts_with_the_news(seed):
    first, again = select(seed), select(seed)
    assert first == again
    gist = "".join(u.text for u in first.gist)
    # the news sentence, though it starts with 右侧 (the picture reference is dropped, the news kept)
    assert gist.startswith("生成视频，都来自快手刚刚推出的文生视频大模型「可灵」")
    assert "人人都能申请" in gist and "2 分钟" in gist and "1080P" in gist
    assert "而且" not in gist  # the additive opener is dropped, not posted
    assert len(first.chosen) == 4


def test_seed_fillers_never_become_points(seed):
    from publisher.threads.credits import build_credit

    sel = select(seed, credit=build_credit(seed))  # the credit knows the source is 机器之心
    everything = " ".join(u.text for u in sel.ranked) + "".join(u.text for u in sel.gist)
    for filler in ("对于关注 AI 的人来说", "接下来，我们不妨", "或许你还记得", "吃面条」已经如此自然流畅？", "机器之心也是",
                   "视频地址", "Prompt", "感谢阅读", "最早一批用上的用户"):
        assert filler not in everything, filler
    # the seed says one sentence twice: it is one point
    assert sum("「一气呵成」生成 1 分钟以上的内容确实有难度" in u.text for u in sel.ranked) == 1
    # a dangling 不过 travels with the sentence it answers
    pair = next(u for u in sel.ranked if any("不过" in s for s in u.sources))
    assert pair.sources[0].startswith("三位创作者")


def test_number_of_points_is_configurable(seed):
    assert len(select(seed, points=2).chosen) == 2
    assert len(select(seed, points=0).chosen) == 0
    with pytest.raises(ValueError):
        select(seed, points=-1)


def test_nothing_is_said_twice():
    body = ("快手发布了视频生成大模型可灵，可以生成两分钟的视频。\n\n"
            "快手发布了视频生成大模型可灵，可以生成两分钟的高清视频。\n\n"
            "硅谷投资人也在讨论可灵的生成效果。\n\n傅盛用可灵制作了气球人视频，只用了几十分钟。\n")
    sel = select(article(f"---\ntitle: 快手发布视频生成大模型可灵\n---\n{body}"), points=4)
    texts = [u.text for u in sel.gist + sel.ranked]
    assert sum("快手发布了视频生成大模型可灵" in t for t in texts) == 1


def test_a_description_equal_to_the_title_or_about_the_article_is_not_the_gist():
    body = "快手发布了视频生成大模型可灵。\n\n硅谷投资人也在讨论可灵。\n\n傅盛用可灵制作了气球人视频。\n"
    same = select(article(f"---\ntitle: 快手发布可灵\ndescription: 快手发布可灵\n---\n{body}"))
    meta = select(article(f"---\ntitle: 快手发布可灵\ndescription: 本文介绍快手的可灵模型。\n---\n{body}"))
    good = select(article(f"---\ntitle: 快手发布可灵\ndescription: 可灵能生成两分钟的视频。\n---\n{body}"))
    assert same.gist_from == meta.gist_from == "lede"
    assert good.gist_from == "description" and good.description == "可灵能生成两分钟的视频。"


def test_a_short_table_of_numbers_becomes_a_fact_point():
    body = ("快手发布了视频生成大模型可灵，向所有人开放测试。\n\n"
            "| 模型 | 时长 | 分辨率 |\n|---|---|---|\n| 可灵 | 2 分钟 | 1080P |\n| Sora | 1 分钟 | 1080P |\n\n"
            "硅谷投资人也在讨论可灵。\n")
    sel = select(article(f"---\ntitle: 可灵\n---\n{body}"), points=3)
    table = [u for u in sel.ranked if u.kind == "table"]
    assert table and "可灵：时长2 分钟，分辨率1080P" in table[0].text and "Sora" in table[0].text


def test_specificity_and_length_estimate_read_the_chinese():
    assert specificity("可灵支持生成最长 2 分钟、30fps 的 1080P 视频") > specificity("这让人感到十分惊艳")
    assert 60 < estimate_english("不是预发布、不是纯 Demo 合集，而是直接开放测试的产品级应用，人人都能申请。") < 140


def test_title_only_article_has_no_points():
    src = article("# 快手发布可灵\n")
    t = fake_translate(src, {"快手发布可灵": "Kuaishou launches Kling"})
    assert key_points(t, 4) == []


def test_key_points_give_the_selection_in_english():
    zh = ["快手发布了视频生成大模型可灵。", "可灵可以生成两分钟的高清视频。", "硅谷投资人也在讨论可灵的效果。",
          "傅盛用可灵制作了气球人视频。"]
    en = ["Kuaishou released Kling.", "Kling makes two-minute HD videos.", "Silicon Valley investors discuss it.",
          "Fu Sheng made an Air Head video with Kling."]
    t = fake_translate(article("---\ntitle: 可灵\n---\n" + "\n\n".join(zh) + "\n"), dict(zip(zh, en)))
    points = ranked_points(t)
    assert points and all(p.text in en and p.sources[0] in zh for p in points)
    assert [p.position for p in key_points(t, 2)] == sorted(p.position for p in key_points(t, 2))
