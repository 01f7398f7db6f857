"""Articles from feeds and web pages (publisher.feeds, `publisher fetch`), against a loopback
HTTP server serving feeds and pages written here: RSS 2.0, Atom, a GBK page, a WeChat-style
page with lazy images, 304s, 500s, redirect loops and other bad input."""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path

import pytest

from conftest import run_cli, subprocess_env
from feed_server import FeedServer, Reply, loopback_client
from publisher.feeds.fetcher import Fetcher
from publisher.feeds.links import wechat_permalink
from publisher.feeds.poll import next_delay, poll_sources
from publisher.feeds.store import FeedStore
from publisher.feeds.web import FetchError, decode_html, http_get
from publisher.articles.read import read_article
from publisher.schedule.config import UTC, parse_schedule
from publisher.translate.base import FakeTranslator

T0 = dt.datetime(2024, 6, 14, 2, 0, tzinfo=UTC)

PARAS = [
    "快手今天正式发布了可灵视频生成大模型，它可以生成长达两分钟的高清视频。",
    "研究团队表示，可灵采用了扩散变换器架构，并使用三维时空联合注意力机制来建模复杂的运动。",
    "这是国内第一个向公众开放的同类模型，用户可以在快影应用中申请试用。",
    "业内人士认为，这一发布将加速国内视频生成技术的商业化进程。",
]


def article_page(title: str, paras=PARAS, *, charset: str = "utf-8", meta: str = "", extra_head: str = "") -> str:
    body = "".join(f"<p>{p}</p>" for p in paras)
    return (f"<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"{charset}\"><title>{title} - 示例科技网</title>"
            f"<meta property=\"og:title\" content=\"{title}\"><meta property=\"og:site_name\" content=\"示例科技网\">"
            f"{meta}{extra_head}</head><body><nav><a href=\"/\">首页</a> | <a href=\"/about\">关于我们</a></nav>"
            f"<article><h1>{title}</h1>{body}</article>"
            "<footer>版权所有 示例科技网 京ICP备12345678号</footer></body></html>")


def rss(items: list[dict], title: str = "示例科技网") -> str:
    out = []
    for it in items:
        guid = f"<guid isPermaLink=\"false\">{it['guid']}</guid>" if it.get("guid") else ""
        author = f"<dc:creator>{it['author']}</dc:creator>" if it.get("author") else ""
        out.append(f"<item><title>{it['title']}</title><link>{it['link']}</link>{guid}{author}"
                   f"<pubDate>{it['date']}</pubDate><description>{it.get('summary', '摘要')}</description></item>")
    return ("<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\" "
            "xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel>"
            f"<title>{title}</title><link>https://example.org/</link><description>科技新闻</description>"
            + "".join(out) + "</channel></rss>")


@pytest.fixture
def server():
    with FeedServer() as s:
        yield s


@pytest.fixture
def fetcher(server, db_target):
    clock = {"now": T0}
    f = Fetcher(FeedStore(db_target), client=loopback_client(server), clock=lambda: clock["now"])
    f.clock_box = clock  # type: ignore[attr-defined]
    yield f
    f.close()


def articles(folder: Path) -> list[Path]:
    """The article files in ``folder`` as the scanner and ingest see them (hidden files are not)."""
    from publisher.articles.read import find_article_files

    return sorted(find_article_files([folder]))


def thread_for(path: Path):
    """The X thread publisher builds from a fetched file (real reader, summary and renderer)."""
    from publisher.app import Pipeline

    article = read_article(path)
    prepared = Pipeline(translator=FakeTranslator()).prepare(article, ["x"])
    return article, prepared.threads["x"]


# --- RSS 2.0, Atom, and what the files say ----------------------------------------------------


def test_an_rss_feed_becomes_article_files_whose_threads_credit_the_original_link(server, fetcher, tmp_path):
    server.route("/a/1", article_page("快手发布可灵大模型"))
    server.route("/a/2", article_page("第二篇文章", PARAS[::-1]))
    feed = server.route("/feed.xml", rss([
        {"title": "快手发布可灵大模型", "link": server.url("/a/1?utm_source=rss"), "guid": "post-1",
         "author": "张三", "date": "Fri, 14 Jun 2024 09:30:00 +0800"},
        {"title": "第二篇文章", "link": server.url("/a/2"), "guid": "post-2", "date": "Thu, 13 Jun 2024 08:00:00 +0800"},
    ]), content_type="application/rss+xml")
    folder = tmp_path / "inbox"
    outcomes = fetcher.fetch_url(feed, folder)
    assert [o.status for o in outcomes] == ["new", "new"]
    files = articles(folder)
    assert [p.name[:11] for p in files] == ["2024-06-13-", "2024-06-14-"]  # the feed's own (Beijing) dates
    article = read_article(outcomes[0].path)
    assert article.title == "快手发布可灵大模型"
    assert article.author == "张三"                    # the feed's dc:creator
    assert article.publication == "示例科技网"          # the channel's title
    assert article.url == server.url("/a/1?utm_source=rss")  # no canonical on the page: the feed's link
    assert article.date == dt.datetime(2024, 6, 14, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    meta = article.metadata
    assert meta["source_url"] == article.url and meta["feed"] == feed
    assert meta["fetched_at"] == "2024-06-14T02:00:00Z"
    # The main text, without the navigation or the footer.
    assert PARAS[1] in article.body and "关于我们" not in article.body and "京ICP备" not in article.body
    assert article.is_chinese
    _, thread = thread_for(outcomes[0].path)
    attribution = thread.posts[-1].text
    assert server.url("/a/1") in attribution and "Machine-translated" in attribution


def test_a_page_s_canonical_link_is_the_credit_when_it_is_on_the_same_site(server, fetcher, tmp_path):
    canonical = server.url("/articles/42")
    server.route("/a/42?from=timeline", article_page("规范链接", meta=f'<link rel="canonical" href="/articles/42">'
                                                     '<meta name="author" content="李四">'
                                                     '<meta property="og:image" content="/img/lead.jpg">'))
    (outcome,) = fetcher.fetch_url(server.url("/a/42?from=timeline"), tmp_path)
    article = read_article(outcome.path)
    assert article.url == canonical
    assert article.author == "李四"  # trafilatura drops short Chinese names; the page's meta has it
    assert article.metadata["image"] == server.url("/img/lead.jpg")
    assert article.publication == "示例科技网"
    # A canonical link pointing at another site is not trusted as the credit.
    server.route("/b", article_page("别处", meta='<link rel="canonical" href="https://elsewhere.example/x">'))
    (outcome,) = fetcher.fetch_url(server.url("/b"), tmp_path)
    assert read_article(outcome.path).url == server.url("/b")


def test_an_atom_feed(server, fetcher, tmp_path):
    server.route("/p/atom-1", article_page("原子订阅的文章"))
    atom = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>原子博客</title><id>urn:blog</id>
<updated>2024-06-14T10:00:00+08:00</updated>
<entry><title>原子订阅的文章</title><id>urn:entry:1</id><link rel="alternate" href="/p/atom-1"/>
<author><name>王五</name></author><published>2024-06-14T10:00:00+08:00</published>
<updated>2024-06-14T10:00:00+08:00</updated><summary>一篇文章</summary></entry></feed>"""
    feed = server.route("/atom.xml", atom, content_type="application/atom+xml")
    (outcome,) = fetcher.fetch_url(feed, tmp_path / "in")
    assert outcome.status == "new"
    article = read_article(outcome.path)
    assert (article.title, article.author, article.publication) == ("原子订阅的文章", "王五", "原子博客")
    assert article.url == server.url("/p/atom-1")  # the relative link resolved against the feed
    assert article.date.isoformat() == "2024-06-14T10:00:00+08:00"


# --- encodings ----------------------------------------------------------------------------------


def test_a_gbk_page_is_decoded_as_its_server_declares(server, fetcher, tmp_path):
    page = article_page("国标编码的文章", charset="gbk").encode("gbk")
    server.route("/gbk", page, content_type="text/html; charset=GBK")
    (outcome,) = fetcher.fetch_url(server.url("/gbk"), tmp_path)
    article = read_article(outcome.path)
    assert outcome.status == "new" and article.title == "国标编码的文章"
    assert PARAS[0] in article.body
    # Declared only in the page (GB2312, the older label) and not by the server: read as declared too.
    server.route("/gb2312", article_page("国标二三一二", charset="gb2312").encode("gb2312"), content_type="text/html")
    (outcome,) = fetcher.fetch_url(server.url("/gb2312"), tmp_path)
    assert read_article(outcome.path).title == "国标二三一二"
    assert PARAS[2] in read_article(outcome.path).body


def test_undeclared_or_wrongly_declared_encodings_are_refused_not_guessed():
    gbk = article_page("无声明").replace('<meta charset="utf-8">', "").encode("gbk")
    with pytest.raises(FetchError, match=r"^http://x/p: declares no encoding and is not UTF-8"):
        decode_html(gbk, {"content-type": "text/html"}, "http://x/p")
    with pytest.raises(FetchError, match=r"is not valid utf-8 as the server declares"):
        decode_html(gbk, {"content-type": "text/html; charset=utf-8"}, "http://x/p")
    with pytest.raises(FetchError, match=r"declares the encoding 'klingon-8', which is unknown"):
        decode_html(b"<html></html>", {"content-type": "text/html; charset=klingon-8"}, "http://x/p")
    # Labels browsers know and Python's codecs do not.
    text = article_page("别名").encode("gbk")
    assert "别名" in decode_html(text, {"content-type": "text/html; charset=x-gbk"}, "http://x/p")
    assert "别名" in decode_html(text.replace(b'charset="utf-8"', b'charset="GB_2312-80"'), {}, "http://x/p")
    # UTF-8 needs no declaration.
    assert "无声明" in decode_html(article_page("无声明").encode(), {}, "http://x/p")


# --- WeChat -------------------------------------------------------------------------------------

WECHAT_URL = ("https://mp.weixin.qq.com/s?__biz=MzA3MzI4MjgzMw==&mid=2650920000&idx=1&sn=abcdef0123456789"
              "&chksm=84e4aaaa&scene=21#wechat_redirect")


def wechat_page() -> str:
    og_url = ("http://mp.weixin.qq.com/s?__biz=MzA3MzI4MjgzMw==&amp;mid=2650920000&amp;idx=1&amp;"
              "sn=abcdef0123456789&amp;chksm=84e4aaaa#rd")
    paras = "".join(f'<section><span style="font-size: 15px;">{p}</span></section>' for p in PARAS)
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title></title>
<meta property="og:title" content="可灵来了：快手发布视频生成大模型">
<meta property="og:url" content="{og_url}">
<meta property="og:image" content="https://mmbiz.qpic.cn/mmbiz_jpg/lead/0?wx_fmt=jpeg">
<meta property="og:description" content="快手发布可灵，国内首个开放的视频生成大模型。">
<meta name="author" content="机器之心编辑部">
</head><body><div id="js_article" class="rich_media">
<h1 class="rich_media_title" id="activity-name">可灵来了：快手发布视频生成大模型</h1>
<div id="meta_content"><span class="rich_media_meta rich_media_meta_text">机器之心编辑部</span>
<span class="rich_media_meta rich_media_meta_nickname" id="profile_nickname"><a id="js_name">机器之心</a></span>
<em id="publish_time" class="rich_media_meta rich_media_meta_text"></em></div>
<div class="rich_media_content" id="js_content" style="visibility: hidden;">
{paras}
<p><img class="rich_pages wxw-img" data-src="https://mmbiz.qpic.cn/mmbiz_png/abc/640?wx_fmt=png" data-type="png"
 src="data:image/svg+xml,%3Csvg%3E%3C/svg%3E" data-w="1080"></p>
<p style="text-align:center"><span>图源：快手</span></p>
</div></div>
<div id="js_pc_qr_code">微信扫一扫关注该公众号</div>
<script>var nickname = htmlDecode("机器之心"); var ct = "1718332200"; var msg_title = '可灵来了';</script>
</body></html>"""


def test_a_wechat_page_layout_lazy_images_and_permalink(server, fetcher, tmp_path):
    server.route(WECHAT_URL.split("#")[0].replace("https://mp.weixin.qq.com", ""), wechat_page())
    (outcome,) = fetcher.fetch_url(WECHAT_URL, tmp_path)  # over the loopback transport, the URL unchanged
    assert outcome.status == "new", outcome.detail
    assert server.requests[-1].host == "mp.weixin.qq.com"
    article = read_article(outcome.path)
    assert article.title == "可灵来了：快手发布视频生成大模型"
    assert article.publication == "机器之心"          # the account's nickname
    assert article.author == "机器之心编辑部"
    assert article.date.isoformat() == "2024-06-14T10:30:00+08:00"  # var ct, in Beijing time
    # The permanent link: the article's own parameters, without who shared it when.
    assert article.url == ("https://mp.weixin.qq.com/s?__biz=MzA3MzI4MjgzMw==&mid=2650920000&idx=1"
                           "&sn=abcdef0123456789")
    assert "![](https://mmbiz.qpic.cn/mmbiz_png/abc/640?wx_fmt=png)" in article.body  # data-src, not the SVG stub
    assert "data:image" not in article.body
    assert all(p in article.body for p in PARAS)      # hidden by style until scripts run: still read
    assert "扫一扫" not in article.body
    assert article.description == "快手发布可灵，国内首个开放的视频生成大模型。"
    _, thread = thread_for(outcome.path)
    assert "mp.weixin.qq.com/s?__biz=" in thread.posts[-1].text


def test_wechat_walls_and_deleted_articles_are_one_line(server, fetcher, tmp_path):
    server.route("/s?__biz=wall", "<html><head><title>微信公众平台</title></head><body><div class='weui-msg'>"
                                  "<p>环境异常</p><p>当前环境异常，完成验证后即可继续访问。</p><a>去验证</a></div></body></html>")
    server.route("/s?__biz=gone", "<html><head><title></title></head><body><div id='js_content'></div>"
                                  "<p class='weui-msg__title'>该内容已被发布者删除</p></body></html>")
    (wall,) = fetcher.fetch_url("https://mp.weixin.qq.com/s?__biz=wall", tmp_path)
    (gone,) = fetcher.fetch_url("https://mp.weixin.qq.com/s?__biz=gone", tmp_path)
    assert wall.status == gone.status == "failed"
    assert wall.line() == "https://mp.weixin.qq.com/s?__biz=wall: a login or verification wall ('环境异常'), not the article"
    assert gone.line() == "https://mp.weixin.qq.com/s?__biz=gone: the page says '该内容已被发布者删除': no article here"
    assert articles(tmp_path) == []


def test_wechat_script_variables():
    from publisher.feeds.extract import _js_var

    assert _js_var('var fact = "no"; d.ct = "1718332200" * 1;', "ct") == "1718332200"  # not fact
    assert _js_var("x = {create_time: JsDecode('1718332201')}", "ct", "create_time") == "1718332201"
    assert _js_var('var nickname = htmlDecode("机器&amp;之心");', "nickname") == "机器&之心"
    assert _js_var('var msg_link = "http://mp.weixin.qq.com/s?__biz=Q\\x26amp;mid=1";', "msg_link") \
        == "http://mp.weixin.qq.com/s?__biz=Q&mid=1"


def test_wechat_permalink():
    assert wechat_permalink("http://mp.weixin.qq.com/s?__biz=QQ==&amp;mid=1&amp;idx=2&amp;sn=ff&amp;chksm=9#rd") \
        == "https://mp.weixin.qq.com/s?__biz=QQ==&mid=1&idx=2&sn=ff"
    assert wechat_permalink("https://mp.weixin.qq.com/s/AbCdEf?scene=1#x") == "https://mp.weixin.qq.com/s/AbCdEf?scene=1"


# --- seen entries, backfill, upstream edits ------------------------------------------------------


def entries(server, n: int) -> list[dict]:
    out = []
    for i in range(1, n + 1):
        server.route(f"/n/{i}", article_page(f"第{i}篇新闻", [f"第{i}篇：{p}" for p in PARAS],
                                             meta=f'<meta property="og:description" content="第{i}篇的简介">'))
        out.append({"title": f"第{i}篇新闻", "link": server.url(f"/n/{i}"), "guid": f"g{i}",
                    "date": f"Fri, {i:02d} Mar 2024 09:00:00 +0800"})
    return out[::-1]  # newest first, as feeds list them


def test_a_new_feed_queues_only_its_newest_entries_then_every_new_one(server, fetcher, tmp_path):
    items = entries(server, 6)
    feed = server.route("/feed.xml", rss(items), content_type="application/rss+xml")
    folder = tmp_path / "in"
    got = fetcher.poll_feed(feed, folder, backfill=3)
    assert sorted((o.status, o.title) for o in got if o.status == "new") == \
        [("new", "第4篇新闻"), ("new", "第5篇新闻"), ("new", "第6篇新闻")]
    assert sum(o.status == "skipped" for o in got) == 3
    assert len(articles(folder)) == 3
    assert [h.path for h in server.requests if h.path.startswith("/n/")] == ["/n/6", "/n/5", "/n/4"]
    # The next poll: nothing new, and no page is fetched again.
    before = len(server.requests)
    assert [o.line() for o in fetcher.poll_feed(feed, folder, backfill=3)] == [
        f"unchanged {feed} (示例科技网): nothing new (6 entries known)"]
    assert [r.path for r in server.requests[before:]] == ["/feed.xml"]
    # One entry more: exactly one file more; the old skipped ones stay skipped.
    items = entries(server, 7)
    server.route("/feed.xml", rss(items), content_type="application/rss+xml")
    got = fetcher.poll_feed(feed, folder, backfill=3)
    assert [(o.status, o.title) for o in got] == [("new", "第7篇新闻")]
    assert len(articles(folder)) == 4


def test_backfill_zero_takes_only_what_comes_after_the_first_poll(server, fetcher, tmp_path):
    feed = server.route("/feed.xml", rss(entries(server, 2)), content_type="application/rss+xml")
    assert {o.status for o in fetcher.poll_feed(feed, tmp_path, backfill=0)} == {"skipped"}
    assert articles(tmp_path) == []


def test_an_entry_edited_upstream_rewrites_the_same_file_and_an_unchanged_one_is_not_touched(server, fetcher, tmp_path):
    items = entries(server, 1)
    feed = server.route("/feed.xml", rss(items), content_type="application/rss+xml")
    (first,) = fetcher.poll_feed(feed, tmp_path)
    text = first.path.read_text(encoding="utf-8")
    # The feed changes (a new summary) but the page does not: the file stays as it was (same bytes,
    # same fetched_at), so ingest sees nothing new.
    items[0]["summary"] = "新的摘要"
    server.route("/feed.xml", rss(items), content_type="application/rss+xml")
    fetcher.clock_box["now"] = T0 + dt.timedelta(hours=1)
    (again,) = fetcher.poll_feed(feed, tmp_path)
    assert again.status == "unchanged" and first.path.read_text(encoding="utf-8") == text
    # The page is corrected upstream (and the feed's entry updated): the same file is rewritten.
    server.route("/n/1", article_page("第1篇新闻（更正）", [f"更正：{p}" for p in PARAS],
                                      meta='<meta property="og:description" content="第1篇的简介">'))
    items[0]["title"] = "第1篇新闻（更正）"
    server.route("/feed.xml", rss(items), content_type="application/rss+xml")
    (edited,) = fetcher.poll_feed(feed, tmp_path)
    assert (edited.status, edited.path) == ("updated", first.path)
    assert articles(tmp_path) == [first.path]
    article = read_article(first.path)
    assert article.title == "第1篇新闻（更正）" and "更正：" in article.body
    assert article.metadata["fetched_at"] == "2024-06-14T03:00:00Z"


def test_a_guid_change_with_the_same_link_is_still_the_same_article(server, fetcher, tmp_path):
    items = entries(server, 1)
    feed = server.route("/feed.xml", rss(items), content_type="application/rss+xml")
    (first,) = fetcher.poll_feed(feed, tmp_path)
    items[0]["guid"] = "renamed-guid"
    server.route("/feed.xml", rss(items), content_type="application/rss+xml")
    # Known by its link: nothing fetched, nothing written.
    assert [o.status for o in fetcher.poll_feed(feed, tmp_path)] == ["unchanged"]
    assert articles(tmp_path) == [first.path]
    # And the same page fetched by hand later is that article too.
    (by_hand,) = fetcher.fetch_url(items[0]["link"], tmp_path)
    assert (by_hand.status, by_hand.path) == ("unchanged", first.path)


def test_a_file_edited_by_hand_is_never_overwritten(server, fetcher, tmp_path):
    items = entries(server, 1)
    feed = server.route("/feed.xml", rss(items), content_type="application/rss+xml")
    (first,) = fetcher.poll_feed(feed, tmp_path)
    fixed = first.path.read_text(encoding="utf-8") + "\n编辑补充的一段话。\n"
    first.path.write_text(fixed, encoding="utf-8")
    server.route("/n/1", article_page("第1篇新闻", [f"改：{p}" for p in PARAS]))
    items[0]["summary"] = "改了"
    server.route("/feed.xml", rss(items), content_type="application/rss+xml")
    (kept,) = fetcher.poll_feed(feed, tmp_path)
    assert kept.status == "kept" and "edited by hand" in kept.detail
    assert first.path.read_text(encoding="utf-8") == fixed
    side = first.path.with_name(f".{first.path.stem}.upstream.md")
    assert "改：" in side.read_text(encoding="utf-8")
    assert articles(tmp_path) == [first.path]  # the side file is hidden: never a second article


def test_files_are_written_atomically(tmp_path, monkeypatch):
    import os

    from publisher.feeds.files import write_atomic

    target = tmp_path / "a.md"
    target.write_text("old", encoding="utf-8")
    real_replace = os.replace
    seen = {}

    def spy(src, dst):
        seen["tmp"] = Path(src)
        assert Path(src).name.startswith(".") and Path(src).parent == tmp_path  # hidden, same folder
        assert target.read_text(encoding="utf-8") == "old"  # the old file is whole until the rename
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    write_atomic(target, "new text")
    assert target.read_text(encoding="utf-8") == "new text" and not seen["tmp"].exists()


# --- conditional GET, errors, bad input ------------------------------------------------------------


def test_conditional_get_a_304_changes_nothing(server, fetcher, tmp_path):
    items = entries(server, 1)
    body = rss(items).encode()

    def feed_reply(req):
        if req.headers.get("if-none-match") == '"v1"':
            return Reply(304, b"", {"ETag": '"v1"'})
        return Reply(200, body, {"Content-Type": "application/rss+xml", "ETag": '"v1"',
                                 "Last-Modified": "Fri, 14 Jun 2024 01:00:00 GMT"})

    feed = server.route("/feed.xml", feed_reply)
    fetcher.poll_feed(feed, tmp_path)
    got = fetcher.poll_feed(feed, tmp_path)
    assert [o.status for o in got] == ["not_modified"]
    last = server.hits("/feed.xml")[-1].headers
    assert last["if-none-match"] == '"v1"' and last["if-modified-since"] == "Fri, 14 Jun 2024 01:00:00 GMT"
    assert len(server.hits("/n/1")) == 1  # the page was not fetched again


@pytest.mark.parametrize("setup, expected", [
    (lambda s: s.route("/x", "<h1>Internal Server Error</h1>", status=500), r"^{u}/x: HTTP 500 Internal Server Error$"),
    (lambda s: None, r"^{u}/x: HTTP 404 Not Found \(no such page\)$"),
    (lambda s: s.route("/x", "", status=403), r"^{u}/x: HTTP 403 Forbidden \(a login wall or a blocked client\)$"),
    (lambda s: (s.route("/x", Reply(302, headers={"Location": "/y"})), s.route("/y", Reply(301, headers={"Location": "/x"}))),
     r"^{u}/x: redirect loop \({u}/x -> {u}/y -> {u}/x\)$"),
    (lambda s: s.route("/x", Reply(302, headers={"Location": "http://localhost:1/elsewhere"})),
     r"^{u}/x: redirects to another host \(localhost\); not followed"),
    (lambda s: s.route("/x", "<html><head><title>请登录</title></head><body><form><input type='text' name='u'>"
                             "<input type='password' name='p'></form></body></html>"),
     r"^{u}/x: a login or verification wall \('请登录'\), not the article$"),
    (lambda s: s.route("/x", "<html><head><title>页面不存在 - 404</title></head><body><p>抱歉</p></body></html>"),
     r"^{u}/x: the page says '页面不存在': no article here$"),
    (lambda s: s.route("/x", "<html><head><title>Oops, Error</title></head><body><p>Sorry.</p></body></html>"),
     r"^{u}/x: an error page \('Oops, Error'\), not an article$"),
    (lambda s: s.route("/x", b"%PDF-1.4 ...", content_type="application/pdf"), r"^{u}/x: not a web page \(application/pdf\)$"),
])
def test_bad_pages_are_one_line_naming_the_url(server, fetcher, tmp_path, setup, expected):
    import re

    setup(server)
    (outcome,) = fetcher.fetch_url(server.url("/x"), tmp_path)
    assert outcome.status == "failed"
    assert re.match(expected.format(u=re.escape(server.base)), outcome.line()), outcome.line()
    assert "\n" not in outcome.line() and articles(tmp_path) == []


def test_a_same_site_redirect_is_followed_and_credits_where_it_landed(server, fetcher, tmp_path):
    server.route("/old", Reply(301, headers={"Location": "/new"}))
    server.route("/new", article_page("搬家的文章"))
    (outcome,) = fetcher.fetch_url(server.url("/old"), tmp_path)
    assert outcome.status == "new"


def test_html_given_as_a_feed_is_not_a_feed(server, fetcher, tmp_path):
    url = server.route("/feed", "<html><head><title>维护中</title></head><body>稍后再来</body></html>")
    (outcome,) = fetcher.poll_feed(url, tmp_path)
    assert outcome.line() == f"{url}: not a feed: an HTML page ('维护中')"
    url = server.route("/broken.xml", b"<?xml version='1.0'?><nothing/>", content_type="application/xml")
    (outcome,) = fetcher.poll_feed(url, tmp_path)
    assert outcome.line().startswith(f"{url}: not an RSS or Atom feed")


def test_huge_pages_are_capped_with_or_without_a_content_length(server, fetcher, tmp_path, monkeypatch):
    monkeypatch.setenv("PUBLISHER_MAX_PAGE_BYTES", "20000")
    server.route("/big", article_page("大", PARAS * 200))
    sent = []

    def endless():
        for _ in range(100_000):  # 180 MB if nobody stopped reading
            sent.append(1)
            yield b"<p>" + "很长".encode() * 300 + b"</p>"

    server.route("/endless", lambda req: Reply(200, headers={"Content-Type": "text/html"}, chunks=endless))
    (big,) = fetcher.fetch_url(server.url("/big"), tmp_path)
    (endless_outcome,) = fetcher.fetch_url(server.url("/endless"), tmp_path)
    assert big.line() == f"{server.url('/big')}: is {big.line().split(' is ')[1].split(',')[0]}, over the 19.5 KB limit " \
                         "(raise it with PUBLISHER_MAX_PAGE_BYTES)"
    assert endless_outcome.line() == f"{server.url('/endless')}: is over the 19.5 KB limit (raise it with " \
                                     "PUBLISHER_MAX_PAGE_BYTES)"
    assert len(sent) < 10_000  # the reader hung up early: what was sent is the socket buffers, not 180 MB


def test_a_server_that_never_answers_times_out(monkeypatch):
    import socket

    from publisher.feeds import web

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the connection, never answers
    monkeypatch.setattr(web, "READ_TIMEOUT", 0.3)
    try:
        with pytest.raises(FetchError, match=r"^http://127\.0\.0\.1:\d+/: timed out$"):
            http_get(f"http://127.0.0.1:{listener.getsockname()[1]}/")
    finally:
        listener.close()


def test_only_http_urls():
    with pytest.raises(FetchError, match=r"^file:///etc/passwd: not an http\(s\) URL$"):
        http_get("file:///etc/passwd")
    for bad in ("http://[::1/x", "http://exa mple.org/", "http://example.org:99999/", "https://"):
        with pytest.raises(FetchError, match=r"^" + re.escape(bad) + r": not (a valid|an http\(s\)) URL"):
            http_get(bad)


def test_a_redirect_to_a_broken_location_is_one_line(server, fetcher, tmp_path):
    server.route("/x", Reply(302, headers={"Location": "http://[::1/nope"}))
    (outcome,) = fetcher.fetch_url(server.url("/x"), tmp_path)
    assert outcome.line() == f"{server.url('/x')}: cannot fetch: Invalid URL in location header: Invalid port: ':1'."


# --- schedule.yaml ------------------------------------------------------------------------------

SCHEDULE = """\
timezone: Asia/Shanghai
scan_every: 1s
threads:
  hold_untranslated: false
sources:
  - path: inbox
    feed: {feed}
    pages: [{page}]
    poll_every: 10m
    backfill: 2
    auto_approve: true
    platforms: [x]
platforms:
  x:
    accounts:
      main:
        daily_quota: 17
    slots:
      - days: daily
        times: ["09:00", "12:00", "15:00"]
"""


def test_schedule_feed_and_pages_keys():
    s = parse_schedule(SCHEDULE.format(feed="https://example.org/feed.xml", page="https://example.org/a/1"))
    (source,) = s.sources
    assert source.feed == "https://example.org/feed.xml" and source.pages == ("https://example.org/a/1",)
    assert source.poll_every == dt.timedelta(minutes=10) and source.backfill == 2
    plain = parse_schedule("timezone: UTC\nsources:\n  - path: inbox\n    platforms: [x]\nplatforms:\n  x: {}\n")
    assert (plain.sources[0].feed, plain.sources[0].pages, plain.sources[0].backfill) == (None, (), 3)
    from publisher.schedule.config import ScheduleError

    with pytest.raises(ScheduleError) as exc:
        parse_schedule(SCHEDULE.format(feed="ftp://example.org/feed", page="example.org/a").replace("10m", "10s"))
    assert exc.value.problems == [
        "schedule.yaml:7: sources[0].feed: 'ftp://example.org/feed' is not an http(s) URL",
        "schedule.yaml:8: sources[0].pages: 'example.org/a' is not an http(s) URL",
        "schedule.yaml:9: sources[0].poll_every: must be at least 1m (be kind to the sites you read)",
    ]


def test_backoff_doubles_and_is_capped():
    every = dt.timedelta(minutes=30)
    assert [next_delay(every, n) for n in (0, 1, 2, 3)] == [every, every * 2, every * 4, every * 8]
    assert next_delay(every, 40) == dt.timedelta(hours=24)
    assert next_delay(every, 0, retry_after=7200) == dt.timedelta(hours=2)


def test_polling_follows_poll_every_and_backs_off_after_errors(server, tmp_path, caplog):
    feed = server.route("/feed.xml", "<h1>oops</h1>", status=500)
    schedule = parse_schedule(SCHEDULE.format(feed=feed, page=server.url("/n/1")), tmp_path / "schedule.yaml")
    entries(server, 1)
    db = tmp_path / "publisher.db"
    client = loopback_client(server)
    caplog.set_level(logging.INFO, logger="publisher")

    def poll(now):
        return poll_sources(schedule, db, now, fetcher=Fetcher(FeedStore(db), client=client, clock=lambda: now))

    got = poll(T0)
    assert [(o.url, o.status) for o in got] == [(feed, "failed"), (server.url("/n/1"), "new")]
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [f"{feed}: HTTP 500 Internal Server Error (retrying in 20m)"]
    # Not polled again before its time; after 20 minutes the feed is, the page (10m) too.
    assert poll(T0 + dt.timedelta(minutes=5)) == []
    caplog.clear()
    got = poll(T0 + dt.timedelta(minutes=21))
    assert [(o.url, o.status) for o in got] == [(feed, "failed"), (server.url("/n/1"), "unchanged")]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []  # said once already
    assert FeedStore(db).state(feed).failures == 2
    assert FeedStore(db).state(feed).next_poll == T0 + dt.timedelta(minutes=21 + 40)
    # The feed recovers: said once, and polling is back to every 10 minutes.
    server.route("/feed.xml", rss([]), content_type="application/rss+xml")
    caplog.clear()
    poll(T0 + dt.timedelta(minutes=62))
    assert f"{feed}: reachable again" in [r.getMessage() for r in caplog.records]
    assert FeedStore(db).state(feed).next_poll == T0 + dt.timedelta(minutes=72)
    assert FeedStore(db).state(feed).failures == 0


# --- the command ----------------------------------------------------------------------------------


def test_publisher_fetch_by_hand(server, tmp_path):
    items = entries(server, 2)
    feed = server.route("/feed.xml", rss(items), content_type="application/rss+xml")
    server.route("/bad", "<h1>x</h1>", status=500)
    env = subprocess_env(PUBLISHER_HOME=str(tmp_path / "home"))
    proc = run_cli("fetch", feed, server.url("/bad"), "--to", str(tmp_path / "in"), env=env, cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout.count("\nnew") + proc.stdout.startswith("new") == 2, proc.stdout
    assert proc.stderr.splitlines()[0] == f"error: {server.url('/bad')}: HTTP 500 Internal Server Error"
    assert "Traceback" not in proc.stderr and "2 new, 0 updated, 0 unchanged, 1 failed" in proc.stderr
    assert len(list((tmp_path / "in").glob("*.md"))) == 2
    # Again: nothing new (the database remembers the entries).
    proc = run_cli("fetch", feed, "--to", str(tmp_path / "in"), env=env, cwd=tmp_path)
    assert proc.returncode == 0 and "0 new, 0 updated, 1 unchanged, 0 failed" in proc.stderr
    assert proc.stdout == f"unchanged  {feed}  (示例科技网)  nothing new (2 entries known)\n"
    # Without --to and outside any source: a usage error naming the URL.
    proc = run_cli("fetch", server.url("/n/1"), env=env, cwd=tmp_path)
    assert proc.returncode == 2 and f"{server.url('/n/1')}: say where to write it with --to FOLDER" in proc.stderr
    # A source's feed: its folder, and the files ingest like any others.
    (tmp_path / "schedule.yaml").write_text(SCHEDULE.format(feed=feed, page=server.url("/n/1")), encoding="utf-8")
    # Without URLs: every feed and page of schedule.yaml (a fresh database: the feed is new, backfill 2;
    # the page is the feed's first entry, already written: the same article, not a second file).
    env = subprocess_env(PUBLISHER_HOME=str(tmp_path / "home2"))
    proc = run_cli("fetch", env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "2 new, 0 updated, 1 unchanged, 0 failed" in proc.stderr
    files = sorted((tmp_path / "inbox").glob("*.md"))
    assert len(files) == 2 and {read_article(f).url for f in files} == {server.url("/n/1"), server.url("/n/2")}


def test_the_feed_s_own_text_stands_in_for_a_page_behind_a_wall_but_not_for_a_server_error(server, fetcher, tmp_path):
    full = "".join(f"<p>{p}</p>" for p in PARAS)
    server.route("/walled", "<html><head><title>请登录</title></head><body><p>登录后查看全文</p></body></html>")
    server.route("/down", "<h1>Bad Gateway</h1>", status=502)
    feed = ("<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\" "
            "xmlns:content=\"http://purl.org/rss/1.0/modules/content/\"><channel><title>有全文的订阅</title>"
            f"<item><title>墙后的文章</title><link>{server.url('/walled')}</link><guid>w</guid>"
            f"<pubDate>Fri, 14 Jun 2024 09:00:00 +0800</pubDate><content:encoded><![CDATA[{full}]]></content:encoded></item>"
            f"<item><title>服务器坏了</title><link>{server.url('/down')}</link><guid>d</guid>"
            f"<pubDate>Fri, 14 Jun 2024 08:00:00 +0800</pubDate><content:encoded><![CDATA[{full}]]></content:encoded></item>"
            "</channel></rss>")
    url = server.route("/full.xml", feed, content_type="application/rss+xml")
    walled, down = fetcher.poll_feed(url, tmp_path)
    assert (walled.status, walled.detail) == (
        "new", "the text of the feed's entry (the page: a login or verification wall ('请登录'), not the article)")
    article = read_article(walled.path)
    assert article.url == server.url("/walled") and article.title == "墙后的文章" and PARAS[3] in article.body
    assert down.status == "failed" and down.line() == f"{server.url('/down')}: HTTP 502 Bad Gateway"
    # The failed entry is tried again at the next poll (it was not marked as seen for good).
    server.route("/down", article_page("服务器坏了"))
    assert [(o.status, o.title) for o in fetcher.poll_feed(url, tmp_path)] == [("new", "服务器坏了")]


def test_an_entry_whose_page_is_gone_is_not_asked_again_until_the_entry_changes(server, fetcher, tmp_path):
    items = entries(server, 2)
    del server.routes["/n/2"]  # 404
    feed = server.route("/feed.xml", rss(items), content_type="application/rss+xml")
    assert sorted(o.status for o in fetcher.poll_feed(feed, tmp_path)) == ["failed", "new"]
    assert [o.status for o in fetcher.poll_feed(feed, tmp_path)] == ["unchanged"] and len(server.hits("/n/2")) == 1
    items[0]["title"] = "第2篇新闻（重发）"
    server.route("/feed.xml", rss(items), content_type="application/rss+xml")
    server.route("/n/2", article_page("第2篇新闻（重发）"))
    assert [o.status for o in fetcher.poll_feed(feed, tmp_path)] == ["new"]


def test_the_commented_feed_source_in_the_example_schedule_is_valid_once_uncommented():
    from conftest import ROOT

    text = (ROOT / "schedule.yaml").read_text(encoding="utf-8")
    uncommented = text.replace("  # - path: inbox/feeds/", "  - path: inbox/feeds/")
    for key in ("feed", "pages", "poll_every", "backfill", "platforms: [x, mastodon]\n"):
        uncommented = uncommented.replace(f"  #   {key}", f"    {key}")
    schedule = parse_schedule(uncommented, ROOT / "schedule.yaml")
    (source,) = [s for s in schedule.sources if s.feed]
    assert source.feed == "https://example.org/feed.xml" and source.pages == ("https://mp.weixin.qq.com/s/AbCdEf",)
    assert (source.poll_every, source.backfill, source.platforms) == (dt.timedelta(minutes=30), 3, ("x", "mastodon"))


def test_publisher_run_once_fetches_the_feeds_of_the_schedule(server, tmp_path):
    feed = server.route("/feed.xml", rss(entries(server, 4)), content_type="application/rss+xml")
    server.route("/gone", "<h1>gone</h1>", status=410)
    (tmp_path / "schedule.yaml").write_text(SCHEDULE.format(feed=feed, page=server.url("/gone")), encoding="utf-8")
    env = subprocess_env(PUBLISHER_HOME=str(tmp_path / "home"), PUBLISHER_MODELS_DIR=str(tmp_path / "no-models"))
    proc = run_cli("run", "--once", env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    fetched = [line for line in proc.stderr.splitlines() if " fetched new " in line]
    assert len(fetched) == 2 and all(" -> inbox/2024-03-0" in line for line in fetched)  # backfill: 2
    errors = [line for line in proc.stderr.splitlines() if " ERROR " in line and "/gone" in line]
    assert len(errors) == 1 and errors[0].endswith(f"{server.url('/gone')}: HTTP 410 Gone (no such page) "
                                                   "(retrying in 20m)")
    assert len(articles(tmp_path / "inbox")) == 2
    # Again at once: nothing is due, nothing is asked.
    asked = len(server.requests)
    proc = run_cli("run", "--once", env=env, cwd=tmp_path)
    assert proc.returncode == 0 and len(server.requests) == asked


def test_an_rss_1_0_feed_in_gb2312_as_its_xml_declaration_says(server, fetcher, tmp_path):
    server.route("/rdf/1", article_page("资源描述框架的文章"))
    rdf = f"""<?xml version="1.0" encoding="gb2312"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="{server.url('/')}"><title>老牌新闻站</title><link>{server.url('/')}</link><description>新闻</description>
<items><rdf:Seq><rdf:li rdf:resource="{server.url('/rdf/1')}"/></rdf:Seq></items></channel>
<item rdf:about="{server.url('/rdf/1')}"><title>资源描述框架的文章</title><link>{server.url('/rdf/1')}</link>
<dc:creator>赵六</dc:creator><dc:date>2024-06-14T08:00:00+08:00</dc:date></item></rdf:RDF>"""
    url = server.route("/index.rdf", rdf.encode("gb2312"), content_type="application/rdf+xml")
    (outcome,) = fetcher.fetch_url(url, tmp_path)
    assert outcome.status == "new", outcome.line()
    article = read_article(outcome.path)
    assert (article.title, article.author, article.publication) == ("资源描述框架的文章", "赵六", "老牌新闻站")
    assert article.date.isoformat() == "2024-06-14T08:00:00+08:00"


def test_a_chinese_site_s_title_suffix_is_not_the_title_but_the_publication():
    from publisher.feeds.extract import extract_article

    body = "".join(f"<p>{p}</p>" for p in PARAS)
    page = extract_article(f"<html><head><title>快手发布可灵大模型_新浪科技_新浪网</title></head><body><article>{body}"
                           "</article></body></html>", "https://tech.sina.com.cn/a")
    assert (page.title, page.site_name) == ("快手发布可灵大模型", "新浪网")
    page = extract_article(f"<html><head><title>snake_case_names are fine</title></head><body><article>{body}"
                           "</article></body></html>", "https://example.org/a")
    assert page.title == "snake_case_names are fine"


@pytest.mark.slow
def test_no_input_makes_a_traceback():
    """Whatever bytes a server sends as a feed or a page: an article or one FetchError line."""
    from hypothesis import HealthCheck, given, settings, strategies as st

    from publisher.feeds.extract import extract_article
    from publisher.feeds.parse import parse_feed
    from publisher.feeds.web import Response

    fragments = st.sampled_from(["<html>", "<head>", "<meta charset=\"gbk\">", "<title>", "</title>", "<body>",
                                 "<article>", "<p>", "</p>", "<img data-src=\"x\">", "<div id=\"js_content\">",
                                 "<?xml version=\"1.0\"?>", "<rss version=\"2.0\">", "<channel>", "<item>",
                                 "<link>", "</link>", "<guid>", "<feed xmlns=\"http://www.w3.org/2005/Atom\">",
                                 "<entry>", "]]>", "<![CDATA[", "&amp;", "&#0;", "\x00", "\ufffd", PARAS[0], "环境异常",
                                 "var ct = \"99999999999999\";", "<a href=\"javascript:alert(1)\">"])
    documents = st.one_of(st.binary(max_size=300),
                          st.lists(fragments, max_size=30).map(lambda xs: "".join(xs).encode("utf-8")))
    charsets = st.sampled_from(["", "; charset=utf-8", "; charset=gbk", "; charset=nope", "; charset=utf-16"])

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(documents, charsets)
    def check(body, charset):
        headers = {"content-type": "text/html" + charset}
        try:
            text = decode_html(body, headers, "http://x/p")
            extract_article(text, "https://mp.weixin.qq.com/s?__biz=x")
        except FetchError as exc:
            assert "\n" not in str(exc) and str(exc).startswith("http")
        try:
            parse_feed(Response("http://x/f", "http://x/f", 200, {"content-type": "application/xml" + charset}, body))
        except FetchError as exc:
            assert "\n" not in str(exc) and str(exc).startswith("http://x/f: ")

    check()


def test_an_article_too_long_for_ingest_is_not_written(server, fetcher, tmp_path, monkeypatch):
    monkeypatch.setenv("PUBLISHER_MAX_FILE_BYTES", "2000")
    server.route("/long", article_page("很长的文章", PARAS * 20))
    (outcome,) = fetcher.fetch_url(server.url("/long"), tmp_path)
    assert outcome.status == "failed" and articles(tmp_path) == []
    assert re.match(re.escape(server.url("/long")) + r": the article is [\d.]+ KB, over the 2 KB an article file may "
                    r"have \(PUBLISHER_MAX_FILE_BYTES\); not written$", outcome.line()), outcome.line()


def test_a_poll_stopped_halfway_resumes_and_the_backfill_holds(server, fetcher, tmp_path):
    feed = server.route("/feed.xml", rss(entries(server, 6)), content_type="application/rss+xml")
    calls = []
    fetcher.between = lambda: calls.append("tick")
    fetcher.should_stop = lambda: len(calls) >= 1  # SIGTERM after the first page
    got = fetcher.poll_feed(feed, tmp_path, backfill=3)
    assert [o.title for o in got if o.status == "new"] == ["第6篇新闻"] and calls == ["tick"]
    fetcher.should_stop = lambda: False
    got = fetcher.poll_feed(feed, tmp_path, backfill=3)
    assert sorted(o.title for o in got if o.status == "new") == ["第4篇新闻", "第5篇新闻"]
    assert len(articles(tmp_path)) == 3  # never the three older ones
