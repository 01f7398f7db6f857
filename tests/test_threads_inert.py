"""Article text cannot notify or tag anyone, checked with the platforms' own extractors."""

from __future__ import annotations

import pytest

from factories import article, fake_translate
from platform_text import js_entities, live_entities, mastodon_entities
from publisher.threads.sanitize import INERT, make_inert
from publisher.threads.options import ThreadOptions
from publisher.threads.layout import build_threads

HOSTILE = [
    "hi @elonmusk and @jack.bsky.social, see #AI #人工智能 $TSLA $tsla",
    "fullwidth ＠elonmusk ＃tag ＄TSLA",
    "RT@elonmusk .@jack x#tag (#tag) #-abc #!wow #1st $ABC.D",
    "@@double ##double #＃mixed",
    "mail me: someone@example.com, C# is fine, costs $5",
    "link https://example.com/#anchor?a=@b and https://example.com/@user",
]


@pytest.fixture(scope="module")
def hostile_js():
    return js_entities(HOSTILE)


def test_the_extractors_see_the_raw_entities(hostile_js):
    # The check can fail: raw text is full of live entities on every platform.
    found = [live_entities(t, js) for t, js in zip(HOSTILE, hostile_js)]
    assert "x:@elonmusk" in found[0] and "x:#AI" in found[0] and "x:$TSLA" in found[0]
    assert any(e.startswith("bluesky:mention:jack.bsky.social") for e in found[0])
    assert any(e.startswith("bluesky:tag:") for e in found[0])
    assert "mastodon:@elonmusk" in found[0] and "mastodon:#AI" in found[0]
    assert "x:@elonmusk" in found[1] and "x:#tag" in found[1]  # twitter-text reads ＠ and ＃ as signs
    assert "x:@elonmusk" in found[2]  # RT@name is a mention on X
    assert "bluesky:tag:!wow" in found[2]


def test_made_inert_nothing_is_live(hostile_js):
    inert = [make_inert(t).text for t in HOSTILE]
    results = js_entities(inert)
    for text, js in zip(inert, results):
        assert live_entities(text, js) == [], text
    # links survive whole: the same URLs are found before and after
    assert results[5]["x"]["urls"] == hostile_js[5]["x"]["urls"] == [
        "https://example.com/#anchor?a=@b", "https://example.com/@user"]


def test_inert_text_reads_the_same():
    text = HOSTILE[0]
    result = make_inert(text)
    assert result.text.replace(INERT, "") == text
    assert set(result.inert) >= {"@elonmusk", "@jack.bsky.social", "#AI", "#人工智能", "$TSLA"}
    assert "$5" in make_inert(HOSTILE[4]).text  # money is not a cashtag


def test_zero_width_joiner_would_not_do():
    # Why INERT is a zero-width space: twitter-text takes U+200D as part of a hashtag.
    (js,) = js_entities(["#\u200dtag"])
    assert js["x"]["hashtags"] == ["\u200dtag"]


def test_allow_list_keeps_chosen_entities_live():
    text = "thanks @kling_ai and @elonmusk #AI #spam $TSLA"
    result = make_inert(text, allow={"@Kling_AI", "＃ai", "$tsla"})
    (js,) = js_entities([result.text])
    assert js["x"]["mentions"] == ["kling_ai"]
    assert js["x"]["hashtags"] == ["AI"]
    assert js["x"]["cashtags"] == ["TSLA"]
    assert mastodon_entities(result.text) == {"mentions": ["kling_ai"], "hashtags": ["AI"]}


def test_only_http_links_are_kept():
    result = make_inert("click javascript:alert(1) or ftp://files.example.com/x or https://ok.example.com/a "
                        "and mailto:a@b.c, weixin://dl/business")
    assert "javascript:" not in result.text and "ftp://" not in result.text and "mailto:" not in result.text
    assert "weixin://" not in result.text
    assert "https://ok.example.com/a" in result.text
    assert len(result.removed_links) == 4


def test_threads_from_an_article_full_of_names_and_tags():
    zh = ("@马斯克 和 @elonmusk 都在讨论 #AI 与 #可灵 。", "投资者关注 $TSLA 和 ＄NVDA 。")
    en = {zh[0]: "@elonmusk and @sama discussed #AI and #Kling with ＠jack.", zh[1]: "Investors watch $TSLA and ＄NVDA."}
    src = article(f"---\ntitle: '#热点 @快手 发布'\nauthor: '@ByteAILab'\ntags: [AI]\n---\n{zh[0]}{zh[1]}\n")
    translated = fake_translate(src, {**en, "#热点 @快手 发布": "#Trending @Kuaishou launches #Kling"})
    threads = build_threads(translated, options=ThreadOptions(points=4))
    texts = [p.text for t in threads.values() for p in t.posts]
    results = js_entities(texts)
    for text, js in zip(texts, results):
        assert live_entities(text, js) == [], text
    assert any("made inert" in w and "@elonmusk" in w for w in threads["x"].warnings)
    allowed = build_threads(translated, ("x",), options=ThreadOptions(allow=frozenset({"@sama"})))["x"]
    (js,) = js_entities(["\n".join(p.text for p in allowed.posts)])
    assert js["x"]["mentions"] == ["sama"]


def test_template_hashtags_stay_live(tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "thread.j2").write_text(
        '{% macro hook(a, post) %}{{ a.title }} #AI {{ a.tags | map("hashtag") | join(" ") }}{% endmacro %}'
        "{% macro point(text, a, post) %}{{ text }}{% endmacro %}"
        "{% macro attribution(a, post) %}Source: {{ a.original_title }}{% endmacro %}",
        encoding="utf-8")
    src = article("---\ntitle: 标题\ntags: [视频, Kling AI]\n---\n可灵发布了新模型。\n")
    translated = fake_translate(src, {"标题": "#Title", "可灵发布了新模型。": "Kling launched a new #model."})
    thread = build_threads(translated, ("x",), options=ThreadOptions(templates=tmp_path / "templates"))["x"]
    js = js_entities([p.text for p in thread.posts])
    # the operator's #AI and the explicit hashtag filter are live; the article's #Title and #model are not
    assert js[0]["x"]["hashtags"] == ["AI", "视频", "KlingAI"]
    assert all(not j["x"]["hashtags"] for j in js[1:])
