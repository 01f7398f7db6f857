"""Property: every post of any generated thread is within its platform's limit, by its counting."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from publisher.lengths import BLUESKY_MAX_BYTES, measure
from publisher.models import Article, Block, Sentence, TranslatedArticle, TranslatedBlock
from publisher.threads.options import ThreadOptions
from publisher.threads.layout import build_drafts
from publisher.threads.check import check_thread

TOKENS = [
    "Kling", "video", "model", "the", "and", "generates", "minutes,", "long.", "Why?", "Patrick Cederberg",
    "Stability AI", "2.5%", "1,080", "30fps", "$5", "@elonmusk", "#AI", "$TSLA", "＠jack", "＃标签", "😀",
    "👨‍👩‍👧‍👦", "e\u0301", "可灵", "快手推出了文生视频大模型。", "，", "；", "—", "kling.com",
    "https://kling.kuaishou.com/", "https://example.com/" + "x" * 300, "supercalifragilisticexpialidocious",
    "Synced", "「真香」", "ฟ้า", "עִבְרִית", "{{ x }}", "\u200b",
]

sentence = st.lists(st.sampled_from(TOKENS), min_size=1, max_size=60).map(" ".join)
maybe_text = st.one_of(st.none(), sentence.map(lambda s: s[:200]))


@st.composite
def translated_articles(draw):
    english = draw(st.lists(sentence, min_size=0, max_size=12))
    blocks, tblocks = [], []
    for i, text in enumerate(english):
        source = draw(st.sampled_from(["可灵支持生成最长 2 分钟的视频。", "硅谷投资人也在讨论。", text]))
        block = Block(kind="paragraph", source=source, text=source, line=i + 1)
        blocks.append(block)
        tblocks.append(TranslatedBlock(block=block, markdown=text, text=text,
                                       sentences=(Sentence(source=source, text=text, block=i),)))
    url = draw(st.one_of(st.none(), st.just("https://example.com/a?id=1"),
                         st.just("https://example.com/" + "p" * 400 + "?utm_source=x&id=2")))
    article = Article(
        path=None, source_hash="0" * 64, title=draw(sentence), title_from="frontmatter",  # type: ignore[arg-type]
        author=draw(maybe_text), date=draw(st.one_of(st.none(), st.just(dt.date(2024, 6, 14)))), url=url,
        publication=draw(maybe_text), tags=(), description=None, language="zh-Hans", body="",
        blocks=tuple(blocks))
    return TranslatedArticle(article=article, title=draw(sentence), description=draw(st.one_of(st.none(), sentence)),
                             blocks=tuple(tblocks), markdown="", model="fake", model_version="1",
                             translated=draw(st.booleans()))


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(translated=translated_articles(),
       x=st.integers(120, 600), mastodon=st.integers(100, 1000), bluesky=st.integers(100, 600),
       max_posts=st.integers(2, 10), points=st.integers(0, 8))
def test_every_post_fits_its_platform(translated, x, mastodon, bluesky, max_posts, points):
    options = ThreadOptions(limits={"x": x, "mastodon": mastodon, "bluesky": bluesky}, max_posts=max_posts,
                            points=points)
    for platform, draft in build_drafts(translated, options=options).items():
        thread = draft.thread
        assert 2 <= len(thread.posts) <= max_posts
        assert thread.posts[[p.role for p in thread.posts].index("attribution")].text
        for post in thread.posts:
            assert post.text.strip()
            assert measure(platform, post.text) == post.length <= options.limit(platform), post.text
            if platform == "bluesky":
                assert len(post.text.encode("utf-8")) <= BLUESKY_MAX_BYTES
        assert check_thread(thread, options) == []
