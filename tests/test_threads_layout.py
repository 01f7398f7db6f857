"""Threads from templates: one environment, user overrides, exact fitting, attribution always."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

import factories
from factories import article, fake_translate
from publisher.errors import ConfigError
from publisher.lengths import measure
from publisher.threads.templates import TemplateProblem
from publisher.threads.options import ThreadOptions
from publisher.threads.layout import build_drafts, build_threads
from publisher.threads.check import check_thread, edited_thread

SENTENCES = {
    "可灵是快手推出的视频生成模型。": "Kling is a video generation model launched by Kuaishou.",
    "可灵可以生成两分钟的高清视频。": "Kling can generate two-minute HD videos at 30 fps.",
    "很多用户都在申请试用可灵。": "Many users are applying to try Kling.",
    "硅谷投资人也在讨论可灵。": "Investors in Silicon Valley are also discussing Kling.",
    "傅盛用可灵制作了气球人视频。": "Fu Sheng made a balloon-man video with Kling.",
    "可灵视频模型": "Kling video model",
}
BODY = "\n\n".join(list(SENTENCES)[:5]) + "\n"
FRONT = "---\ntitle: 可灵视频模型\nauthor: 张三\ndate: 2024-06-14\nurl: https://example.com/kling?id=7\n---\n"


def translated(front: str = FRONT, body: str = BODY, book: dict | None = None, **kwargs):
    return fake_translate(article(front + body), {**SENTENCES, **(book or {})}, **kwargs)


def numbers_agree(thread) -> bool:
    total = len(thread.posts)
    for i, post in enumerate(thread.posts, start=1):
        m = re.match(r"^(\d+)/(\d+) ", post.text)
        if m and (int(m.group(1)), int(m.group(2))) != (i, total):
            return False
    return True


def write_template(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


MINIMAL = ("{% macro hook(a, post) %}HOOK {{ a.title }}{% endmacro %}"
           "{% macro point(text, a, post) %}- {{ text }}{% endmacro %}"
           "{% macro attribution(a, post) %}CREDIT {{ a.original_title }}{% endmacro %}")


# --- the default thread ----------------------------------------------------------------------


def test_default_thread_shape_and_attribution():
    threads = build_threads(translated())
    assert set(threads) == {"x", "mastodon", "bluesky"}
    x = threads["x"]
    roles = [p.role for p in x.posts]
    assert roles[0] == "hook" and roles[-1] == "attribution" and set(roles[1:-1]) == {"point"}
    hook = x.posts[0].text
    assert hook.startswith("Kling video model\n\n")
    attribution = x.posts[-1].text
    for part in ("可灵视频模型", "Zhang San (张三)", "14 Jun 2024", "https://example.com/kling?id=7",
                 "Machine-translated from Chinese"):
        assert part in attribution
    assert numbers_agree(x)
    assert x.article_hash == translated().article.source_hash
    assert x.title == "Kling video model"


def test_every_post_is_measured_by_its_platform():
    for platform, thread in build_threads(translated()).items():
        for post in thread.posts:
            assert post.length == measure(platform, post.text)
            assert post.length <= post.limit
        assert check_thread(thread) == []


def test_points_number_is_configurable():
    three = build_threads(translated(), ("x",), options=ThreadOptions(points=2))["x"]
    assert [p.role for p in three.posts] == ["hook", "point", "point", "attribution"]
    none = build_threads(translated(), ("x",), options=ThreadOptions(points=0))["x"]
    assert [p.role for p in none.posts] == ["hook", "attribution"]


def test_max_posts_drops_lowest_ranked_points_never_the_attribution():
    full = build_drafts(translated(), ("x",), options=ThreadOptions(points=4))["x"]
    assert len(full.thread.posts) == 6
    short = build_drafts(translated(), ("x",), options=ThreadOptions(points=4, max_posts=4))["x"]
    assert len(short.thread.posts) == 4
    assert short.thread.posts[-1].role == "attribution"
    kept_ranks = sorted(p.rank for p in short.points)
    dropped_ranks = sorted(p.rank for p in short.dropped)
    assert max(kept_ranks) < min(dropped_ranks)  # the lowest-ranked went first
    assert len(short.thread.dropped) == 2
    assert all(any(text in w for w in short.thread.warnings) for text in short.thread.dropped)
    minimal = build_threads(translated(), ("x",), options=ThreadOptions(max_posts=2))["x"]
    assert [p.role for p in minimal.posts] == ["hook", "attribution"]


def test_long_point_is_split_at_sentence_then_clause_then_word_without_losing_words():
    long_en = ("Kling, the model Kuaishou launched this week, generates 1080p video of up to 2 minutes, "
               "at 30 fps, from a single prompt. It was trained on a very large collection of videos, "
               "and the team says that Patrick Cederberg praised the consistency of the results.")
    zh = "可灵是快手推出的视频生成模型。"
    t = translated(body=zh + "\n", book={zh: long_en})
    thread = build_drafts(t, ("x",), options=ThreadOptions(limits={"x": 120}, points=1, max_posts=9))["x"]
    pieces = [rp for rp in thread.posts if rp.post.role == "point"]
    assert len(pieces) >= 3
    texts = [re.sub(r"^\d+/\d+ ", "", rp.post.text) for rp in pieces]
    # a piece cut inside a sentence ends with "…" and the next one starts with it
    for a, b in zip(texts, texts[1:]):
        assert a.endswith("…") == b.startswith("…") and (a.endswith("…") or a.endswith("."))
    texts = [t.strip("…") for t in texts]
    assert " ".join(texts).replace("\u200b", "") == long_en  # nothing lost or cut off
    assert texts[0].startswith("Kling, the model Kuaishou launched this week,")
    assert all(t.endswith((".", ",")) for t in texts[:-1])  # cut at sentence or clause ends
    assert "Patrick Cederberg" in " ".join(texts) and not any(t.endswith("Patrick") for t in texts)
    assert all(rp.post.length <= 120 for rp in thread.posts)
    assert pieces[0].sources == (zh,) and pieces[1].sources == () and pieces[1].part == 2
    assert numbers_agree(thread.thread)


def test_word_split_keeps_glossary_terms_whole():
    en = " ".join(["word"] * 20) + " Synced Review Team " + " ".join(["word"] * 20) + "."
    zh = "可灵是快手推出的视频生成模型。"
    t = translated(body=zh + "\n", book={zh: en})
    opts = ThreadOptions(limits={"x": 100}, points=1, max_posts=9, terms=("synced review team",))
    posts = [p.text for p in build_threads(t, ("x",), options=opts)["x"].posts if p.role == "point"]
    assert sum("Synced Review Team" in p for p in posts) == 1


def test_limits_are_configurable_per_platform():
    long_en = " ".join(["Kling makes long videos, and many people want to try it."] * 8)
    zh = "可灵是快手推出的视频生成模型。"
    front = FRONT.replace("author: 张三", "author: 张三\ndescription: 一个要点。")
    t = translated(front=front, body=zh + "\n", book={zh: long_en}, description="A gist.")
    default = build_threads(t, ("x", "mastodon"), options=ThreadOptions(points=1, max_posts=10))
    longer = build_threads(t, ("x", "mastodon"),
                           options=ThreadOptions(points=1, max_posts=10, limits={"x": 25000, "mastodon": 1000}))
    assert len(default["x"].posts) > len(longer["x"].posts) == 3
    assert len(longer["mastodon"].posts) == 3
    assert longer["x"].posts[1].limit == 25000 and default["mastodon"].posts[1].limit == 500


def test_untranslated_chinese_is_warned():
    t = translated(book={"可灵视频模型": "可灵 video model"})
    thread = build_threads(t, ("x",), options=ThreadOptions(points=5, max_posts=10))["x"]
    assert any(w.startswith("Chinese left untranslated in post 1") for w in thread.warnings)
    # the same words as a field (what the ingest hold reads), not only as a warning's prefix
    assert thread.untranslated and thread.untranslated[0].startswith("Chinese left untranslated in post 1")
    assert set(thread.untranslated) <= set(thread.warnings)


def test_a_translated_thread_reports_nothing_untranslated():
    thread = build_threads(translated(), ("x",), options=ThreadOptions(points=5, max_posts=10))["x"]
    assert thread.untranslated == ()
    assert not any(w.startswith("Chinese left untranslated") for w in thread.warnings)


def test_the_ingest_hold_reads_the_field_not_the_warning_text():
    from dataclasses import replace

    from publisher.app import Prepared, review_reasons

    thread = build_threads(translated(), ("x",), options=ThreadOptions(points=5, max_posts=10))["x"]
    worded = replace(thread, warnings=thread.warnings + ("Chinese left untranslated in post 9",))
    flagged = replace(thread, untranslated=("Chinese left untranslated in post 2",))
    assert review_reasons(Prepared(None, None, {"x": worded})) == ()  # type: ignore[arg-type]
    assert review_reasons(Prepared(None, None, {"x": flagged})) == ("x: Chinese left untranslated in post 2",)
    assert review_reasons(Prepared(None, None, {"x": flagged}), untranslated=False) == ()


def test_a_point_whose_english_still_has_chinese_falls_back_to_the_next_candidate():
    from publisher.threads.summarize import select

    best = select(translated().article, points=3).ranked[0].sources[0]  # the best point
    t = translated(book={best: "可灵 is still in this English."})
    draft = build_drafts(t, ("x",), options=ThreadOptions(points=3, max_posts=10))["x"]
    text = "\n".join(p.text for p in draft.thread.posts)
    assert "可灵 is" not in text and not any(w.startswith("Chinese left") for w in draft.thread.warnings)
    assert any("no usable English" in w and best in w for w in draft.thread.warnings)
    assert len(draft.points) == 3 and best not in [s for p in draft.points for s in p.sources]


# --- templates -------------------------------------------------------------------------------


def test_user_template_folder_overrides_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_template(tmp_path / "templates", "thread.j2", MINIMAL)
    x = build_threads(translated(), ("x",))["x"]
    assert x.posts[0].text == "HOOK Kling video model"
    assert x.posts[-1].text == "CREDIT 可灵视频模型"
    assert all(p.text.startswith("- ") for p in x.posts[1:-1])


def test_platform_template_overrides_only_that_platform(tmp_path):
    folder = write_template(tmp_path / "mine", "thread.mastodon.j2", MINIMAL)
    threads = build_threads(translated(), ("x", "mastodon"), options=ThreadOptions(templates=folder))
    assert threads["mastodon"].posts[0].text == "HOOK Kling video model"
    assert threads["x"].posts[0].text != "HOOK Kling video model"


def test_template_order_numbering_and_emoji_are_the_users(tmp_path):
    folder = write_template(tmp_path / "t", "thread.j2",
                            '{% set order = ["attribution", "hook", "points"] %}'
                            "{% macro hook(a, post) %}🚀 {{ a.title }} ({{ post.number }}){% endmacro %}"
                            "{% macro point(text, a, post) %}[{{ post.number }} of {{ post.total }}] {{ text }}"
                            "{% endmacro %}"
                            "{% macro attribution(a, post) %}Via {{ a.author }} · {{ a.date | date('%d %b %Y') }}"
                            " · {{ a.url | host }}{% endmacro %}")
    x = build_threads(translated(), ("x",), options=ThreadOptions(templates=folder, points=2))["x"]
    assert [p.role for p in x.posts] == ["attribution", "hook", "point", "point"]
    assert x.posts[0].text == "Via Zhang San (张三) · 14 Jun 2024 · example.com"
    assert x.posts[1].text == "🚀 Kling video model (2)"
    assert x.posts[2].text.startswith("[3 of 4] ")


def test_article_text_is_never_a_template():
    book = {"可灵视频模型": "{{ 7 * 7 }} {% if true %}yes{% endif %} {# c #}",
            "可灵是快手推出的视频生成模型。": "Kling {{ a.url }} uses {% raw %} tags."}
    front = FRONT.replace("author: 张三", "author: '{{ post.limit }}'")
    x = build_threads(translated(front=front, book=book), ("x",))["x"]
    text = "\n".join(p.text for p in x.posts)
    assert "{{ 7 * 7 }} {% if true %}yes{% endif %} {# c #}" in text
    assert "Kling {{ a.url }} uses {% raw %} tags." in text
    assert "{{ post.limit }}" in text and "49" not in text


def test_undefined_variable_is_an_error_naming_file_and_line(tmp_path):
    folder = write_template(tmp_path / "t", "thread.j2",
                            MINIMAL.replace("CREDIT {{ a.original_title }}", "CREDIT\n{{ a.orginal_title }}"))
    with pytest.raises(TemplateProblem) as info:
        build_threads(translated(), ("x",), options=ThreadOptions(templates=folder))
    message = str(info.value)
    assert "thread.j2:2" in message and "orginal_title" in message


def test_syntax_error_and_missing_macro_are_clear(tmp_path):
    folder = write_template(tmp_path / "a", "thread.j2", "{% macro hook(a, post) %}{{ a.title }{% endmacro %}")
    with pytest.raises(TemplateProblem, match=r"thread\.j2:1"):
        build_threads(translated(), ("x",), options=ThreadOptions(templates=folder))
    folder = write_template(tmp_path / "b", "thread.j2", "{% macro hook(a, post) %}x{% endmacro %}")
    with pytest.raises(TemplateProblem, match=r"defines no macro point"):
        build_threads(translated(), ("x",), options=ThreadOptions(templates=folder))
    folder = write_template(tmp_path / "c", "thread.j2", '{% set order = ["hook", "points"] %}' + MINIMAL)
    with pytest.raises(TemplateProblem, match="attribution"):
        build_threads(translated(), ("x",), options=ThreadOptions(templates=folder))


def test_template_whose_attribution_can_never_fit(tmp_path):
    folder = write_template(tmp_path / "t", "thread.j2",
                            MINIMAL.replace("CREDIT {{ a.original_title }}", "CREDIT " + "x" * 400))
    with pytest.raises(TemplateProblem, match="attribution post is .* over the x limit of 280"):
        build_threads(translated(), ("x",), options=ThreadOptions(templates=folder))


# --- hook fallbacks and long links -----------------------------------------------------------


def test_gist_too_long_for_the_hook_becomes_a_point():
    long_gist = "Kling " + " ".join(["generates very long and detailed videos"] * 8) + "."
    zh = "可灵是快手推出的视频生成模型。"
    t = translated(body=zh + "\n\n很多用户都在申请试用可灵。\n", book={zh: long_gist})
    draft = build_drafts(t, ("x",), options=ThreadOptions(points=1, max_posts=8))["x"]
    assert draft.thread.posts[0].text.startswith("Kling video model")
    assert long_gist.split()[1] not in draft.thread.posts[0].text
    assert any("became a point" in w for w in draft.thread.warnings)
    assert long_gist in " ".join(re.sub(r"^\d+/\d+ ", "", p.text).strip("…") for p in draft.thread.posts[1:-1])


def test_description_is_the_gist():
    front = FRONT.replace("author: 张三", "author: 张三\ndescription: 中国推出了一个新的文生视频模型。更多内容。")
    t = translated(front=front, description="A new text-to-video model from China. More text here.")
    x = build_threads(t, ("x",), options=ThreadOptions(points=5, max_posts=10))["x"]
    assert x.posts[0].text.startswith("Kling video model\n\nA new text-to-video model from China.")
    assert "More text here" not in x.posts[0].text
    assert sum(p.role == "point" for p in x.posts) == 5  # the best point is not spent on the gist


def test_url_longer_than_a_post():
    long_url = "https://example.com/" + "/".join(["segment"] * 50) + "?utm_source=feed&utm_medium=x&id=3"
    front = FRONT.replace("https://example.com/kling?id=7", long_url)
    zh = "可灵是快手推出的视频生成模型。"
    point_url = "https://example.org/" + "a" * 320
    t = translated(front=front, body=zh + "\n\n很多用户都在申请试用可灵。\n",
                   book={zh: f"Kling is described at {point_url} in detail."})
    threads = build_threads(t, options=ThreadOptions(points=2))
    # X and Mastodon count every link as 23: the link fits and is kept whole
    for platform in ("x", "mastodon"):
        assert long_url in threads[platform].posts[-1].text
    assert point_url in "\n".join(p.text for p in threads["mastodon"].posts)
    # on X only the attribution carries a link (a post with a link costs more)
    assert all(not re.search(r"https?://", p.text) for p in threads["x"].posts[:-1])
    # Bluesky counts links in full: never cut, left out with a warning, attribution still there
    bsky = threads["bluesky"]
    text = "\n".join(p.text for p in bsky.posts)
    assert long_url not in text and point_url not in text
    assert "example.com/segment" not in text  # no broken half-link
    assert bsky.posts[-1].role == "attribution" and "Machine-translated from Chinese" in bsky.posts[-1].text
    assert any("original link" in w and "left out" in w for w in bsky.warnings)
    assert any("longer than a bluesky post" in w for w in bsky.warnings)
    assert "Kling is described at in detail." in text
    assert check_thread(bsky) == []


def test_long_link_loses_tracking_parameters_before_anything_else():
    url = "https://example.com/" + "p" * 150 + "?id=3&utm_source=" + "s" * 80 + "&utm_campaign=" + "c" * 40
    front = FRONT.replace("https://example.com/kling?id=7", url)
    bsky = build_threads(translated(front=front), ("bluesky",))["bluesky"]
    clean = "https://example.com/" + "p" * 150 + "?id=3"
    assert clean in bsky.posts[-1].text
    assert any("tracking parameters removed" in w for w in bsky.warnings)


# --- after an edit ---------------------------------------------------------------------------


def test_check_thread_after_editing():
    x = build_threads(translated(), ("x",))["x"]
    texts = [p.text for p in x.posts]
    texts[1] = "可" * 141  # 282 by X's counting
    edited = edited_thread(x, texts)
    assert edited.posts[1].length == 282
    assert check_thread(edited) == ["post 2: 282 characters, over the x limit of 280"]
    texts[1] = "   "
    assert check_thread(edited_thread(x, texts)) == ["post 2: empty post"]
    no_credit = edited_thread(x, [p.text for p in x.posts[:-1]] + [""])
    assert any("no attribution post" in p for p in check_thread(no_credit))
    assert "more than the maximum of 3" in check_thread(x, ThreadOptions(max_posts=3))[0]
    with pytest.raises(ValueError):
        edited_thread(x, texts[:2])


# --- options ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, message", [
    ({"limits": {"myspace": 100}}, "unknown platform"),
    ({"limits": {"x": 10}}, "from 60 to 100000"),
    ({"max_posts": 1}, "from 2 .* to 25, not 1"),
    ({"max_posts": {"x": 0}}, "from 2 .* to 25, not 0"),
    ({"max_posts": 26}, "from 2 .* to 25, not 26"),
    ({"points": -1}, "from 0 to 20, not -1"),
    ({"points": 21}, "from 0 to 20, not 21"),
])
def test_bad_options_are_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        ThreadOptions(**kwargs)


def test_seed_thread_fits_everywhere():
    from test_golden import seed_drafts

    drafts = seed_drafts()
    for platform, draft in drafts.items():
        # the same points everywhere; Mastodon carries two of them per post
        points = 2 if platform == "mastodon" else 4
        assert [p.role for p in draft.thread.posts] == ["hook"] + ["point"] * points + ["attribution"]
        assert sorted(s for p in draft.points for s in p.sources) == sorted(
            s for p in drafts["x"].points for s in p.sources)
        assert check_thread(draft.thread) == []
        assert "Machine-translated from Chinese" in draft.thread.posts[-1].text
        assert "byline ByteAILab" in draft.thread.posts[-1].text and "14 Jun 2024" in draft.thread.posts[-1].text


def test_mastodon_pairs_neighbouring_points_only_when_both_fit_whole():
    t = translated()
    drafts = build_drafts(t, ("x", "mastodon"), options=ThreadOptions(points=4))
    x, masto = drafts["x"], drafts["mastodon"]
    assert len(masto.thread.posts) < len(x.thread.posts)
    assert any("\n\n" in p.text for p in masto.thread.posts if p.role == "point")
    alone = build_drafts(t, ("mastodon",), options=ThreadOptions(points=4, pairs=frozenset()))["mastodon"]
    assert len(alone.thread.posts) == len(x.thread.posts)
