"""Threads for awkward articles: very short, title only, missing credits, long links."""

from __future__ import annotations

from factories import article, fake_translate
from publisher.threads.options import ThreadOptions
from publisher.threads.layout import build_drafts, build_threads
from publisher.threads.check import check_thread

BOOK = {"可灵发布了。": "Kling is out.", "快手发布可灵": "Kuaishou launches Kling", "标题": "Title"}


def roles(thread):
    return [p.role for p in thread.posts]


def test_very_short_article():
    t = fake_translate(article("---\ntitle: 标题\nauthor: 张三\n---\n可灵发布了。\n"), BOOK)
    for platform, thread in build_threads(t).items():
        assert roles(thread) == ["hook", "attribution"]  # the only sentence is the gist
        assert thread.posts[0].text.startswith("Title\n\nKling is out.")
        assert "🧵" in thread.posts[0].text
        assert check_thread(thread) == []


def test_title_only_article():
    t = fake_translate(article("# 快手发布可灵\n"), BOOK)
    for platform, thread in build_threads(t).items():
        assert roles(thread) == ["hook", "attribution"]
        assert thread.posts[0].text.startswith("Kuaishou launches Kling")
        assert "快手发布可灵" in thread.posts[1].text
        assert "Machine-translated from Chinese" in thread.posts[1].text
        assert thread.dropped == ()


def test_no_author_no_date_no_url():
    t = fake_translate(article("---\ntitle: 标题\n---\n可灵发布了。\n"), BOOK)
    x = build_threads(t, ("x",))["x"]
    assert x.posts[-1].text == "2/2 Source: 「标题」.\n\nMachine-translated from Chinese."
    assert any("no link to the original" in w for w in x.warnings)
    assert any("neither an author nor a publication" in w for w in x.warnings)
    t = fake_translate(article("---\ntitle: 标题\ndate: 2024-06-14\n---\n可灵发布了。\n"), BOOK)
    assert build_threads(t, ("x",))["x"].posts[-1].text == (
        "2/2 Source: 「标题」 on 14 Jun 2024.\n\nMachine-translated from Chinese.")
    t = fake_translate(article("---\ntitle: 标题\nauthor: 张三\nurl: https://example.com/a\n---\n可灵发布了。\n"), BOOK)
    x = build_threads(t, ("x",))["x"]
    assert x.posts[-1].text == (
        "2/2 Source: Zhang San (张三), 「标题」.\nhttps://example.com/a\n\nMachine-translated from Chinese.")
    assert not any(w.startswith("HELD") for w in x.warnings)
    t = fake_translate(article("---\ntitle: 标题\nsource: 机器之心\n---\n可灵发布了。\n"), BOOK)
    assert "Source: Synced (机器之心), 「标题」" in build_threads(t, ("x",))["x"].posts[-1].text


def test_untranslated_article_does_not_claim_machine_translation():
    src = article("---\ntitle: Kling\n---\nKling is a video model. It makes long videos. People like it.\n")
    t = fake_translate(src, translated=False)
    x = build_threads(t, ("x",))["x"]
    assert "Machine-translated" not in x.posts[-1].text
    assert x.posts[-1].role == "attribution"


def test_non_http_original_link_is_never_used():
    # ingest keeps only http(s) links as the original URL; the renderer double-checks
    src = article("---\ntitle: 标题\nurl: javascript:alert(1)\n---\n可灵发布了。\n")
    x = build_threads(fake_translate(src, BOOK), ("x",))["x"]
    assert "javascript" not in "\n".join(p.text for p in x.posts)


def test_url_longer_than_a_post_in_a_point_and_as_the_original_link():
    long = "https://example.com/" + "a" * 400
    body = "可灵发布了。\n\n硅谷投资人也在讨论。\n"
    src = article(f"---\ntitle: 标题\nurl: {long}\n---\n{body}")
    t = fake_translate(src, {**BOOK, "硅谷投资人也在讨论。": f"Investors discuss it: {long}"})
    drafts = build_drafts(t)
    text = "\n".join(p.text for p in drafts["mastodon"].thread.posts)
    assert text.count(long) == 2  # kept whole: counted as 23
    text = "\n".join(p.text for p in drafts["x"].thread.posts)
    assert text.count(long) == 1  # on X only the attribution carries a link
    bsky = drafts["bluesky"].thread
    assert all(long not in p.text for p in bsky.posts)
    assert "Investors discuss it" in "\n".join(p.text for p in bsky.posts)
    assert bsky.posts[-1].role == "attribution"
    assert check_thread(bsky) == []


def test_article_of_one_unbreakable_word_is_dropped_not_cut():
    word = "Supercalifragilistic" * 20  # 400 letters, no place to split
    src = article("---\ntitle: 标题\n---\n可灵发布了。\n\n硅谷投资人也在讨论。\n")
    t = fake_translate(src, {**BOOK, "硅谷投资人也在讨论。": word})
    draft = build_drafts(t, ("x",), options=ThreadOptions(max_posts=10))["x"]
    assert word not in "".join(p.text for p in draft.thread.posts)
    assert not any(word[:100] in p.text for p in draft.thread.posts)  # no piece of it either
    assert draft.thread.dropped == (word,)
    assert any("no place to split" in w for w in draft.thread.warnings)


def test_very_long_title_is_shortened_visibly():
    title = " ".join(["Kuaishou launches Kling, a model"] * 12)
    # with a gist, the first post keeps the gist (what happened) and leaves the title out
    t = fake_translate(article("---\ntitle: 标题\n---\n可灵发布了。\n"), {**BOOK, "标题": title})
    x = build_threads(t, ("x",))["x"]
    assert x.posts[0].text == "Kling is out. 🧵"
    assert any("title did not fit beside the gist" in w for w in x.warnings)
    # without one (nothing usable in the body), the title is shortened visibly
    t = fake_translate(article("---\ntitle: 标题\n---\n你觉得怎么样？\n"), {**BOOK, "标题": title})
    x = build_threads(t, ("x",))["x"]
    first_line = x.posts[0].text.split("\n")[0]
    assert first_line.endswith("… 🧵") and len(first_line) < len(title)
    assert any("title shortened" in w for w in x.warnings)
    assert check_thread(x) == []
