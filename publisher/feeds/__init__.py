"""Articles from RSS/Atom feeds and web pages, written as ordinary article files.

A schedule.yaml source may have ``feed: URL`` and/or ``pages: [URL, ...]`` beside its
``path:``. Each new feed entry's page (and each listed page) is fetched, its main text
extracted to Markdown with trafilatura, and written into the source's folder as a normal
article file whose frontmatter carries the credits (``title``, ``author``, ``date``,
``publication``, ``source_url``, ``fetched_at``). Everything downstream (ingest, preview, edit,
the daemon's scan) is unchanged, and a person can open the file and fix it.

Rules:

* **Fetching** (:func:`http_get`): httpx, http(s) only, a connect/read timeout and an overall
  deadline, a size cap on the *decoded* body (``PUBLISHER_MAX_PAGE_BYTES``, default 5 MB, so a
  gzip bomb stops too), at most 5 redirects and only within the same site (``www.`` and
  http→https allowed; another host is refused, a loop is named). Conditional GET with the
  stored ETag / Last-Modified; a 304 does nothing.
* **Encodings** (:func:`decode_html`): the charset the server or the page declares is used
  (GB2312 and GBK are read with the GB18030 superset, as browsers do); with none declared the
  page must be UTF-8: publisher never guesses.
* **Seen entries** (tables ``feed_entries`` and ``feed_state``, migration ``m007_feeds``): an
  entry is known by its guid, else its link, else a hash of its content; a link already
  written from any feed or page list is the same article. An entry edited upstream rewrites
  the same file (a new revision of the same article, never a second thread); a file whose
  extracted content did not change is not touched. The first poll of a feed writes only its
  newest ``backfill`` entries and remembers the rest as seen.
* **Bad input** (HTTP errors, HTML error pages, login walls, pages with no article text,
  undecodable bytes, huge pages, redirect loops or redirects to another host) raises
  :class:`FetchError`: one line naming the URL.
* Files are written atomically (a hidden temporary file in the same folder, then a rename), so
  the daemon's scanner never reads half a file. A file a person edited is never overwritten:
  the upstream change goes to a hidden ``.NAME.upstream.md`` beside it, and the log says so.

The modules, one kind of knowledge each:

* :mod:`publisher.feeds.web`: HTTP under these rules (limits, redirects, conditional GET) and bytes
  to text; :class:`~publisher.feeds.web.FetchError`;
* :mod:`publisher.feeds.links`: a link as identity (tracking parameters, WeChat permalinks);
* :mod:`publisher.feeds.extract`: a page's article as Markdown, and its metadata (trafilatura);
* :mod:`publisher.feeds.parse`: RSS and Atom feeds and their entries (feedparser);
* :mod:`publisher.feeds.files`: the article file (frontmatter, name, atomic write);
* :mod:`publisher.feeds.store`: seen entries and polling state (:class:`~publisher.feeds.store.FeedStore`);
* :mod:`publisher.feeds.fetcher`: fetching feeds and pages into a folder (the Fetcher, one Outcome per URL);
* :mod:`publisher.feeds.poll`: the daemon's hook (:func:`~publisher.feeds.poll.poll_sources`), with the
  back-off after errors; it logs as ``publisher.feeds``.
"""
