"""Fetching articles from feeds and pages (publisher.feeds), on loopback.

Measures, with the test suite's loopback server (tests/feed_server.py) and pages made here:

* extraction of one article page (``publisher.feeds.extract.extract_article``: lxml, the lazy-image and
  WeChat steps, trafilatura) against the baseline of ``trafilatura.bare_extraction`` alone on
  the same HTML: an ordinary page, a WeChat-style page, and a 1 MB page;
* a whole poll of a new feed of N entries (``Fetcher.poll_feed``: the feed, every page, the
  files written atomically, the seen entries in SQLite), and the second poll (a 304);
* the peak memory (tracemalloc) of fetching a page that never ends, capped at
  ``PUBLISHER_MAX_PAGE_BYTES`` (default 5 MB).

Run: ``python benchmarks/feeds.py [--entries 20] [--repeat 5]`` from the repository root.
"""

from __future__ import annotations

import os
import sys

# benchmarks/queue.py shadows the standard library's queue module (urllib3 imports it) when this
# folder comes first on sys.path: drop the folder, as benchmarks/queue.py and translate.py do.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import trafilatura

    from feed_server import FeedServer, Reply, loopback_client
    from publisher.feeds.extract import extract_article
    from publisher.feeds.fetcher import Fetcher
    from publisher.feeds.store import FeedStore
    from publisher.feeds.web import http_get
    from test_feeds import PARAS, article_page, rss, wechat_page

    pages = {
        "ordinary page": (article_page("普通文章", PARAS * 5), "https://example.org/a/1"),
        "WeChat page": (wechat_page(), "https://mp.weixin.qq.com/s?__biz=QQ==&mid=1&idx=1&sn=ff"),
        "1 MB page": (article_page("长文章", PARAS * 2400), "https://example.org/a/2"),
    }
    print("extraction, median of", args.repeat)
    for name, (html, url) in pages.items():
        ours = timed(lambda: extract_article(html, url), args.repeat)
        base = timed(lambda: trafilatura.bare_extraction(html, url=url, with_metadata=True, include_images=True,
                                                         include_links=True, include_formatting=True), args.repeat)
        print(f"  {name:<14} {len(html.encode()) / 1024:8.0f} KB   publisher {ours * 1000:7.1f} ms   "
              f"trafilatura alone {base * 1000:7.1f} ms   ratio {ours / base:4.2f}")

    with FeedServer() as server, tempfile.TemporaryDirectory() as tmp:
        items = []
        for i in range(args.entries):
            server.route(f"/n/{i}", article_page(f"第{i}篇", [f"{i}：{p}" for p in PARAS * 3]))
            items.append({"title": f"第{i}篇", "link": server.url(f"/n/{i}"), "guid": f"g{i}",
                          "date": f"Fri, 14 Jun 2024 {i % 24:02d}:00:00 +0800"})
        body = rss(items).encode()

        def feed_reply(req):
            if req.headers.get("if-none-match") == '"v1"':
                return Reply(304, b"", {"ETag": '"v1"'})
            return Reply(200, body, {"Content-Type": "application/rss+xml", "ETag": '"v1"'})

        feed = server.route("/feed.xml", feed_reply)
        fetcher = Fetcher(FeedStore(Path(tmp) / "publisher.db"), client=loopback_client(server))
        start = time.perf_counter()
        got = fetcher.poll_feed(feed, Path(tmp) / "in", backfill=args.entries)
        first = time.perf_counter() - start
        assert sum(o.status == "new" for o in got) == args.entries, got
        second = timed(lambda: fetcher.poll_feed(feed, Path(tmp) / "in", backfill=args.entries), args.repeat)
        print(f"first poll of a new feed of {args.entries} entries (feed + {args.entries} pages + files): "
              f"{first * 1000:.0f} ms ({first * 1000 / args.entries:.1f} ms per entry)")
        print(f"next poll, nothing changed (HTTP 304): {second * 1000:.1f} ms")

        def endless():
            while True:
                yield b"<p>" + "很长".encode() * 3000 + b"</p>"

        server.route("/endless", lambda req: Reply(200, headers={"Content-Type": "text/html"}, chunks=endless))
        client = loopback_client(server)
        tracemalloc.start()
        start = time.perf_counter()
        try:
            http_get(server.url("/endless"), client=client)
        except Exception as exc:  # the cap: FetchError
            message = str(exc)
        took = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"endless page: stopped after {took * 1000:.0f} ms, peak memory {peak / 2**20:.1f} MB "
              f"(cap 5 MB): {message.split(': ', 1)[1]}")
        fetcher.close()
        client.close()


if __name__ == "__main__":
    main()
