"""An HTTP-level fake of the X API v2 on loopback, for the REAL tweepy client.

tweepy's host is hard-coded (``https://api.twitter.com``), so requests for that host are
routed here by a requests transport adapter mounted on the session (:meth:`FakeX.route`,
or :func:`route_all_to` for every session of a process, used by subprocesses). Everything
above the socket is real: tweepy builds and OAuth 1.0a-signs the request, requests/urllib3
send it over TCP, the fake parses HTTP, checks the signature with oauthlib, and answers like
X does:

* ``POST /2/tweets`` -> 201 ``{"data": {"id", "text"}}``; ``reply.in_reply_to_tweet_id`` must
  name an existing post; identical text twice -> 403 duplicate content; every answer carries
  ``x-rate-limit-*`` and ``x-user-limit-24hour-*`` headers; a daily cap gives 429.
* ``GET /2/users/me`` -> the account.
* ``GET /2/users/:id/tweets`` (docs.x.com "User Posts timeline") -> the account's own posts,
  newest first, from ``start_time`` (RFC 3339) on, ``max_results`` (5-100, default 10) a page
  (never more than :attr:`FakeX.timeline_page` when set) with ``meta.next_token`` for the next
  page (``pagination_token``), ``meta.result_count``, ``newest_id``/``oldest_id``; ``tweet.fields``
  ``created_at``, ``referenced_tweets`` (``replied_to``), ``conversation_id``. The text is
  shown as X shows it: every link replaced by a ``https://t.co/...`` link, a t.co link to the
  images appended when the post has any, and ``&``, ``<``, ``>`` as HTML entities.
* Media, v2 (docs.x.com "Media upload"): ``POST /2/media/upload/initialize`` (JSON
  ``media_type``, ``total_bytes``, ``media_category``) -> ``{"data": {"id", "media_key",
  "expires_after_secs"}}``; ``POST /2/media/upload/{id}/append`` (multipart ``media`` and
  ``segment_index``); ``POST /2/media/upload/{id}/finalize`` -> the media, with
  ``processing_info`` for ``tweet_gif`` (``pending`` until polled with
  ``GET /2/media/upload?command=STATUS&media_id=``); ``POST /2/media/metadata`` (JSON ``id`` and
  ``metadata.alt_text.text``, at most 1,000 characters). A tweet's ``media.media_ids`` must
  name finalized, processed, unexpired uploads (else 400); :attr:`FakeX.media` holds every
  upload with its bytes and alt text, and each :class:`Tweet` records the media it carries.
* Wrong credentials -> 401.

Faults are queued per endpoint with :meth:`FakeX.fail_next` (429 with reset headers, 5xx,
401, auth 403, duplicate 403, timeouts and connection resets, each before or after the post
is processed) or made with :meth:`FakeX.refusing` (connection refused: nothing sent).

When is a request "processed"? Exactly when the fake has read the WHOLE request (headers and
the full body) and then appended the post to :attr:`FakeX.tweets`, under a lock, before
writing any answer. What happens to the client afterwards (killed, timed out, reset) does not
undo it, as on the real service. A request cut off before its last byte arrived is never
processed. :attr:`FakeX.received` lists every complete ``POST /2/tweets`` request with its
outcome, so a test can tell "sent twice" from "refused": no credential is kept in it.

Optional random delays before processing and before answering widen the windows in which a
crash test's SIGKILL lands while a request is on the wire. With ``abandon_if_client_gone`` the
fake, like some servers, may drop a request whose client hung up during the processing delay
(outcome "abandoned", nothing created): from the client's side that is indistinguishable from a
request that was processed, which is the point.
"""

from __future__ import annotations

import http.server
import json
import os
import random
import socket
import socketserver
import struct
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator
from urllib.parse import urlsplit

API_HOST = "https://api.twitter.com"
TWEETS = "POST /2/tweets"
ME = "GET /2/users/me"
TIMELINE = "GET /2/users/:id/tweets"
DUPLICATE = "You are not allowed to create a Tweet with duplicate content."


@dataclass
class Tweet:
    id: str
    text: str
    in_reply_to: str | None
    at: float
    media_ids: tuple[str, ...] = ()


@dataclass
class Media:
    """One upload (POST /2/media/upload/...)."""

    id: str
    media_key: str
    media_type: str
    total_bytes: int
    category: str
    segments: dict[int, bytes] = field(default_factory=dict)
    finalized: bool = False
    processed: bool = False
    alt: str | None = None
    expires_at: float = 0.0

    @property
    def data(self) -> bytes:
        return b"".join(self.segments[i] for i in sorted(self.segments))


@dataclass
class Received:
    """One complete POST /2/tweets request and what the fake did with it."""

    text: str
    in_reply_to: str | None
    outcome: str
    """"created", "duplicate", "unauthorized", "rate_limited", "fault:<kind>" ..."""
    tweet_id: str | None = None


@dataclass
class Fault:
    """What to do instead of (or after) answering normally.

    kind: ``status`` (answer ``status`` with an X-style error body), ``rate_limit`` (429;
    ``daily`` spends the user's 24-hour cap, ``app_daily`` the app's), ``duplicate`` (403),
    ``forbidden`` (auth 403: the app lacks write permission), ``unauthorized`` (401),
    ``timeout`` (no answer for ``hold`` seconds, then close), ``reset`` (TCP RST, no answer),
    ``close`` (close cleanly, no answer). ``processed``: for timeout/reset/close, whether the
    post is created before the connection is dropped.
    """

    kind: str
    status: int = 503
    processed: bool = False
    reset_in: int = 900
    daily: bool = False
    app_daily: bool = False
    hold: float = 3.0


@dataclass
class _State:
    tweets: list[Tweet] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    faults: dict[str, list[Fault | None]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    next_id: int = 1790000000000000000
    media: dict[str, Media] = field(default_factory=dict)
    next_media_id: int = 1880000000000000000


class FakeX:
    """The fake service. Use as a context manager: ``with FakeX(...) as fake: fake.route(session)``."""

    def __init__(self, *, api_key: str = "test-api-key", api_secret: str = "test-api-secret",
                 access_token: str = "1000-test-access-token", access_token_secret: str = "test-token-secret",
                 username: str = "publisher_test", user_id: str = "1000", daily_limit: int | None = None,
                 process_delay: tuple[float, float] = (0.0, 0.0), answer_delay: tuple[float, float] = (0.0, 0.0),
                 abandon_if_client_gone: float = 0.0):
        self.api_key, self.api_secret = api_key, api_secret
        self.access_token, self.access_token_secret = access_token, access_token_secret
        self.username, self.user_id = username, user_id
        self.daily_limit = daily_limit
        self.process_delay, self.answer_delay = process_delay, answer_delay
        self.abandon_if_client_gone = abandon_if_client_gone
        self.timeline_page: int | None = None
        """At most this many posts a page of GET /2/users/:id/tweets (None: as max_results asks)."""
        self._state = _State()
        self._lock = threading.Lock()
        self._idle = threading.Condition()
        self._connections = 0
        self._stopping = threading.Event()
        self._refuse_port: int | None = None
        self._server: socketserver.ThreadingTCPServer | None = None

    # -- life ---------------------------------------------------------------------------------

    def start(self) -> "FakeX":
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        server = _Server(("127.0.0.1", 0), Handler)
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeX":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._refuse_port is not None:
            return f"http://127.0.0.1:{self._refuse_port}"
        assert self._server is not None, "start the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- routing the real client here ---------------------------------------------------------

    def route(self, session: Any) -> None:
        """Send this requests session's api.twitter.com traffic to the fake."""
        session.mount(API_HOST + "/", _Router(lambda: self.base_url))

    @contextmanager
    def installed(self) -> Iterator["FakeX"]:
        """Route every requests session created inside the block (e.g. by the CLI) to the fake."""
        undo = _install(lambda: self.base_url)
        try:
            yield self
        finally:
            undo()

    @contextmanager
    def refusing(self) -> Iterator[None]:
        """Inside the block, connecting fails (connection refused): X is unreachable."""
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self._refuse_port = probe.getsockname()[1]
        probe.close()
        try:
            yield
        finally:
            self._refuse_port = None

    # -- faults and records -------------------------------------------------------------------

    def fail_next(self, fault: Fault, endpoint: str = TWEETS, times: int = 1, *, after: int = 0) -> None:
        """The next ``times`` requests to ``endpoint`` fail with ``fault``, once ``after`` more have
        been answered normally (``after=1``: the second post of a thread fails)."""
        with self._lock:
            self._state.faults.setdefault(endpoint, []).extend([None] * after + [fault] * times)

    @property
    def tweets(self) -> list[Tweet]:
        with self._lock:
            return list(self._state.tweets)

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._state.received)

    @property
    def requests(self) -> list[tuple[str, str]]:
        """(endpoint, Authorization scheme) of every complete request; the header itself is not kept."""
        with self._lock:
            return list(self._state.requests)

    @property
    def media(self) -> dict[str, Media]:
        with self._lock:
            return dict(self._state.media)

    def expire_media(self) -> None:
        """Every upload so far expires now (X forgets unused media after about a day)."""
        with self._lock:
            for item in self._state.media.values():
                item.expires_at = time.time() - 1

    def tweet(self, tweet_id: str) -> Tweet | None:
        return next((t for t in self.tweets if t.id == tweet_id), None)

    def add_tweet(self, text: str, in_reply_to: str | None = None) -> Tweet:
        """A post made outside publisher (e.g. by hand in the app)."""
        with self._lock:
            return self._create(text, in_reply_to)

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until no connection is open (after a client died, its requests are settled)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._connections:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"fake X still has {self._connections} open connection(s)")
                self._idle.wait(left)

    # -- inside the server --------------------------------------------------------------------

    def _create(self, text: str, in_reply_to: str | None, media_ids: tuple[str, ...] = ()) -> Tweet:
        s = self._state
        s.next_id += random.randint(1, 1000)
        tweet = Tweet(id=str(s.next_id), text=text, in_reply_to=in_reply_to, at=time.time(), media_ids=media_ids)
        s.tweets.append(tweet)
        return tweet

    def _conversation(self, tweet: Tweet) -> str:
        by_id = {t.id: t for t in self._state.tweets}
        while tweet.in_reply_to and tweet.in_reply_to in by_id:
            tweet = by_id[tweet.in_reply_to]
        return tweet.in_reply_to or tweet.id

    def _take_fault(self, endpoint: str) -> Fault | None:
        with self._lock:
            queue = self._state.faults.get(endpoint)
            return queue.pop(0) if queue else None

    def _limit_headers(self) -> dict[str, str]:
        reset = int(time.time()) + 900
        limit = self.daily_limit if self.daily_limit is not None else 100
        remaining = max(limit - len(self._state.tweets), 0)
        return {"x-rate-limit-limit": "200", "x-rate-limit-remaining": "199", "x-rate-limit-reset": str(reset),
                "x-user-limit-24hour-limit": str(limit), "x-user-limit-24hour-remaining": str(remaining),
                "x-user-limit-24hour-reset": str(int(time.time()) + 86400)}

    def _signature_ok(self, method: str, path: str, authorization: str | None) -> bool:
        from oauthlib.common import Request
        from oauthlib.oauth1.rfc5849 import signature

        if not authorization or not authorization.startswith("OAuth "):
            return False
        uri = API_HOST + path
        headers = {"Authorization": authorization}
        query = urlsplit(uri).query
        params = signature.collect_parameters(uri_query=query, headers=headers, exclude_oauth_signature=True)
        every = dict(signature.collect_parameters(uri_query=query, headers=headers, exclude_oauth_signature=False))
        if every.get("oauth_consumer_key") != self.api_key or every.get("oauth_token") != self.access_token:
            return False
        request = Request(uri, http_method=method, headers=headers)
        request.params = params
        request.signature = every.get("oauth_signature", "")
        return signature.verify_hmac_sha1(request, self.api_secret, self.access_token_secret)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that die mid-request are the point of the exercise


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeX
    timeout = 15

    def setup(self) -> None:
        with self.fake._idle:
            self.fake._connections += 1
        self._aborted = False
        super().setup()

    def finish(self) -> None:
        try:
            if not self._aborted:
                super().finish()
        finally:
            with self.fake._idle:
                self.fake._connections -= 1
                self.fake._idle.notify_all()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- answers ------------------------------------------------------------------------------

    def _answer(self, status: int, body: dict[str, Any] | None, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("content-type", "application/json; charset=utf-8")
        self.send_header("content-length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _problem(self, status: int, title: str, detail: str, type_: str = "about:blank",
                 headers: dict[str, str] | None = None) -> None:
        self._answer(status, {"title": title, "detail": detail, "type": type_, "status": status}, headers)

    def _abort(self) -> None:
        """Drop the connection with a TCP RST, now."""
        sock = self.connection
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        os.close(sock.detach())
        self._aborted = True
        self.close_connection = True

    def _close(self) -> None:
        self.close_connection = True

    def _sleep(self, span: tuple[float, float]) -> None:
        lo, hi = span
        if hi > 0:
            time.sleep(random.uniform(lo, hi))

    def _fault_before(self, fault: Fault) -> bool:
        """Apply a fault that answers instead of processing; True when it was applied."""
        fake = self.fake
        if fault.kind == "status":
            titles = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
                      504: "Gateway Timeout"}
            self._problem(fault.status, titles.get(fault.status, "Error"), "Service is temporarily unavailable.")
        elif fault.kind == "rate_limit":
            now = int(time.time())
            headers = {"x-rate-limit-limit": "200", "x-rate-limit-remaining": "0" if not (fault.daily or fault.app_daily) else "150",
                       "x-rate-limit-reset": str(now + fault.reset_in),
                       "x-user-limit-24hour-limit": "17", "x-user-limit-24hour-remaining": "0" if fault.daily else "5",
                       "x-user-limit-24hour-reset": str(now + (fault.reset_in if fault.daily else 86400)),
                       "x-app-limit-24hour-limit": "1500",
                       "x-app-limit-24hour-remaining": "0" if fault.app_daily else "1200",
                       "x-app-limit-24hour-reset": str(now + (fault.reset_in if fault.app_daily else 86400))}
            self._problem(429, "Too Many Requests", "Too Many Requests", headers=headers)
        elif fault.kind == "duplicate":
            self._problem(403, "Forbidden", DUPLICATE)
        elif fault.kind == "forbidden":
            self._problem(403, "Unsupported Authentication",
                          "Your client app is not configured with the appropriate oauth1 app permissions for this "
                          "endpoint.", "https://api.twitter.com/2/problems/oauth1-permissions")
        elif fault.kind == "unauthorized":
            self._problem(401, "Unauthorized", "Unauthorized")
        else:
            return False
        with fake._lock:
            fake._state.received.append(Received(*self._post_fields(), outcome=f"fault:{fault.kind}"))
        return True

    def _client_gone(self) -> bool:
        """Whether the client hung up (EOF or reset waiting on the socket)."""
        import select

        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:  # a live client waiting for its answer sends nothing
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _drop(self, fault: Fault) -> bool:
        """Apply a fault that drops the connection without an answer; True when it was one."""
        if fault.kind == "timeout":
            self.fake._stopping.wait(fault.hold)
            self._close()
        elif fault.kind == "reset":
            self._abort()
        elif fault.kind == "close":
            self._close()
        else:
            return False
        return True

    def _post_fields(self) -> tuple[str, str | None]:
        body = getattr(self, "_json", None) or {}
        reply = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        return str(body.get("text", "")), reply

    # -- requests -----------------------------------------------------------------------------

    def _read(self) -> bool:
        """Read the whole body. False when the client went away before its last byte."""
        length = int(self.headers.get("content-length") or 0)
        data = b""
        try:
            while len(data) < length:
                chunk = self.rfile.read(length - len(data))
                if not chunk:
                    break
                data += chunk
        except OSError:
            return False
        if len(data) < length:
            self.close_connection = True
            return False
        self._body = data
        try:
            self._json = json.loads(data) if data else {}
        except ValueError:
            self._json = None
        return True

    def do_GET(self) -> None:  # noqa: N802
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def _handle(self, method: str) -> None:
        fake = self.fake
        if not self._read():
            return
        path = urlsplit(self.path).path
        endpoint = f"{method} {path}"
        authorization = self.headers.get("Authorization")
        with fake._lock:
            fake._state.requests.append((endpoint, (authorization or "").split(" ", 1)[0]))
        fault = fake._take_fault(_media_endpoint(endpoint))
        if endpoint == TWEETS:
            self._tweets(fault, authorization)
        elif path.startswith("/2/media/"):
            self._media(method, path, fault, authorization)
        elif method == "GET" and path == f"/2/users/{fake.user_id}/tweets":
            if fault is None:
                fault = fake._take_fault(TIMELINE)
            if fault is not None and (self._fault_before(fault) or self._drop(fault)):
                return
            if not fake._signature_ok(method, self.path, authorization):
                self._problem(401, "Unauthorized", "Unauthorized")
                return
            self._timeline()
        elif endpoint == ME:
            if fault is not None and (self._fault_before(fault) or self._drop(fault)):
                return
            if not fake._signature_ok(method, self.path, authorization):
                self._problem(401, "Unauthorized", "Unauthorized")
                return
            self._answer(200, {"data": {"id": fake.user_id, "name": "Publisher Test", "username": fake.username}},
                         fake._limit_headers())
        else:
            self._problem(404, "Not Found", f"no route {endpoint} in the fake")

    def _timeline(self) -> None:
        """GET /2/users/:id/tweets: the account's posts, newest first, a page at a time."""
        from urllib.parse import parse_qs

        fake = self.fake
        query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
        try:
            size = int(query.get("max_results", "10"))
            if not 5 <= size <= 100:
                raise ValueError
        except ValueError:
            self._problem(400, "Invalid Request", "The `max_results` query parameter value is not between 5 and 100")
            return
        if fake.timeline_page:
            size = min(size, fake.timeline_page)
        start = _rfc3339(query["start_time"]) if "start_time" in query else None
        fields = set((query.get("tweet.fields") or "").split(","))
        with fake._lock:
            tweets = sorted(fake._state.tweets, key=lambda t: int(t.id), reverse=True)
        if "retweets" in (query.get("exclude") or ""):
            tweets = [t for t in tweets if not t.text.startswith("RT @")]
        if start is not None:
            tweets = [t for t in tweets if t.at >= start]
        if "pagination_token" in query:
            tweets = [t for t in tweets if int(t.id) <= int(query["pagination_token"])]
        page, rest = tweets[:size], tweets[size:]
        data = []
        for t in page:
            item: dict[str, Any] = {"id": t.id, "text": _as_x_shows(t), "edit_history_tweet_ids": [t.id]}
            if "created_at" in fields:
                millis = int(t.at * 1000) % 1000
                item["created_at"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t.at)) + f".{millis:03d}Z"
            if "referenced_tweets" in fields and t.in_reply_to:
                item["referenced_tweets"] = [{"type": "replied_to", "id": t.in_reply_to}]
            if "conversation_id" in fields:
                item["conversation_id"] = fake._conversation(t)
            data.append(item)
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta.update(newest_id=page[0].id, oldest_id=page[-1].id)
        if rest:
            meta["next_token"] = rest[0].id
        self._answer(200, {"data": data, "meta": meta} if data else {"meta": meta}, fake._limit_headers())

    def _tweets(self, fault: Fault | None, authorization: str | None) -> None:
        fake = self.fake
        if fault is not None and self._fault_before(fault):
            return
        body = self._json
        text, reply_to = self._post_fields()
        if not fake._signature_ok("POST", self.path, authorization):
            with fake._lock:
                fake._state.received.append(Received(text, reply_to, "unauthorized"))
            self._problem(401, "Unauthorized", "Unauthorized")
            return
        if not isinstance(body, dict) or not text:
            self._problem(400, "Invalid Request", "One or more parameters to your request was invalid.")
            return
        self._sleep(fake.process_delay)
        if fake.abandon_if_client_gone and self._client_gone() and random.random() < fake.abandon_if_client_gone:
            with fake._lock:
                fake._state.received.append(Received(text, reply_to, "abandoned"))
            self._close()
            return
        drop = fault is not None and fault.kind in ("timeout", "reset", "close")
        processed = not drop or fault.processed  # type: ignore[union-attr]
        answer: tuple[int, dict[str, Any], dict[str, str]] | None = None
        with fake._lock:
            state = fake._state
            if processed:
                if any(t.text == text for t in state.tweets):
                    state.received.append(Received(text, reply_to, "duplicate"))
                    answer = (403, {"title": "Forbidden", "detail": DUPLICATE, "type": "about:blank", "status": 403}, {})
                elif reply_to is not None and not any(t.id == reply_to for t in state.tweets):
                    state.received.append(Received(text, reply_to, "reply_target_missing"))
                    answer = (403, {"title": "Forbidden", "type": "about:blank", "status": 403,
                                    "detail": "You attempted to reply to a Tweet that is deleted or not visible to you."},
                              {})
                elif self._bad_media(body) is not None:
                    state.received.append(Received(text, reply_to, "bad_media"))
                    answer = (400, {"title": "Invalid Request", "type": "about:blank", "status": 400,
                                    "detail": "One or more parameters to your request was invalid.",
                                    "errors": [{"message": self._bad_media(body)}]}, {})
                elif fake.daily_limit is not None and len(state.tweets) >= fake.daily_limit:
                    state.received.append(Received(text, reply_to, "rate_limited"))
                    headers = fake._limit_headers()
                    headers["x-user-limit-24hour-remaining"] = "0"
                    answer = (429, {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank",
                                    "status": 429}, headers)
                else:
                    tweet = fake._create(text, reply_to, _media_ids(body))
                    state.received.append(Received(text, reply_to, "created" if not drop else f"created+{fault.kind}",  # type: ignore[union-attr]
                                                   tweet.id))
                    answer = (201, {"data": {"id": tweet.id, "text": text, "edit_history_tweet_ids": [tweet.id]}},
                              fake._limit_headers())
            else:
                state.received.append(Received(text, reply_to, f"fault:{fault.kind}"))  # type: ignore[union-attr]
        if drop:
            assert fault is not None
            self._drop(fault)
            return
        self._sleep(fake.answer_delay)
        assert answer is not None
        try:
            self._answer(*answer)
        except OSError:
            self.close_connection = True


    # -- media --------------------------------------------------------------------------------

    def _bad_media(self, body: Any) -> str | None:
        """Why a tweet's media ids are refused (called under the lock), or None."""
        ids = _media_ids(body)
        if not ids:
            return None
        if len(ids) > 4:
            return "Your media IDs are invalid: at most 4 media per post."
        found = [self.fake._state.media.get(i) for i in ids]
        if any(m is None or not m.finalized or not m.processed or m.expires_at < time.time() for m in found):
            return "Your media IDs are invalid."
        if len(ids) > 1 and any(m.category == "tweet_gif" for m in found):  # type: ignore[union-attr]
            return "Your media IDs are invalid: a GIF goes alone."
        return None

    def _media(self, method: str, path: str, fault: Fault | None, authorization: str | None) -> None:
        fake = self.fake
        if fault is not None and (self._fault_before(fault) or self._drop(fault)):
            return
        if not fake._signature_ok(method, self.path, authorization):
            self._problem(401, "Unauthorized", "Unauthorized")
            return
        self._sleep(fake.process_delay)
        parts = path.strip("/").split("/")  # 2 media upload [id] [append|finalize]
        body = self._json if isinstance(getattr(self, "_json", None), dict) else {}
        with fake._lock:
            state = fake._state
            if method == "POST" and path == "/2/media/upload/initialize":
                media_type, total = body.get("media_type"), body.get("total_bytes")
                category = body.get("media_category") or "tweet_image"
                if media_type not in ("image/jpeg", "image/png", "image/gif", "image/webp") \
                        or not isinstance(total, int) or total <= 0:
                    return self._problem(400, "Invalid Request", "media_type and total_bytes are required")
                limit = 15 * 1024 * 1024 if category == "tweet_gif" else 5 * 1024 * 1024
                if total > limit:
                    return self._problem(400, "Invalid Request", f"File size exceeds {limit} bytes.")
                state.next_media_id += random.randint(1, 1000)
                media_id = str(state.next_media_id)
                item = Media(id=media_id, media_key=f"3_{media_id}", media_type=media_type, total_bytes=total,
                             category=category, expires_at=time.time() + 86400)
                state.media[media_id] = item
                return self._answer(200, {"data": {"id": media_id, "media_key": item.media_key,
                                                   "expires_after_secs": 86400}})
            if method == "GET" and path == "/2/media/upload":
                from urllib.parse import parse_qs

                query = parse_qs(urlsplit(self.path).query)
                item = state.media.get((query.get("media_id") or [""])[0])
                if item is None or (query.get("command") or [""])[0] != "STATUS":
                    return self._problem(400, "Invalid Request", "unknown media_id")
                item.processed = True
                return self._answer(200, {"data": {"id": item.id, "media_key": item.media_key,
                                                   "processing_info": {"state": "succeeded", "progress_percent": 100}}})
            if method == "POST" and path == "/2/media/metadata":
                item = state.media.get(str(body.get("id")))
                alt = ((body.get("metadata") or {}).get("alt_text") or {}).get("text")
                if item is None or not isinstance(alt, str):
                    return self._problem(400, "Invalid Request", "id and metadata.alt_text.text are required")
                if len(alt) > 1000:
                    return self._problem(400, "Invalid Request", "alt_text.text is longer than 1000 characters")
                item.alt = alt
                return self._answer(200, {"data": {"id": item.id, "associated_metadata": True}})
            if method == "POST" and len(parts) == 5 and parts[:3] == ["2", "media", "upload"]:
                item = state.media.get(parts[3])
                if item is None or item.expires_at < time.time():
                    return self._problem(400, "Invalid Request", "unknown or expired media id")
                if parts[4] == "append":
                    fields = _multipart(self.headers.get("content-type") or "", self._body)
                    if "media" not in fields or "segment_index" not in fields:
                        return self._problem(400, "Invalid Request", "media and segment_index are required")
                    item.segments[int(fields["segment_index"])] = fields["media"]
                    return self._answer(200, {"data": {"expires_at": int(item.expires_at)}})
                if parts[4] == "finalize":
                    if len(item.data) != item.total_bytes:
                        return self._problem(400, "Invalid Request",
                                             f"got {len(item.data)} bytes, total_bytes said {item.total_bytes}")
                    item.finalized = True
                    data: dict[str, Any] = {"id": item.id, "media_key": item.media_key, "size": item.total_bytes,
                                            "expires_after_secs": int(item.expires_at - time.time())}
                    if item.category == "tweet_gif":
                        data["processing_info"] = {"state": "pending", "check_after_secs": 0.1}
                    else:
                        item.processed = True
                    return self._answer(200, {"data": data})
        self._problem(404, "Not Found", f"no route {method} {path} in the fake")


def _rfc3339(value: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _as_x_shows(tweet: Tweet) -> str:
    """A post's text as X's API returns it: links as t.co links, images as a trailing t.co link,
    and ``&``, ``<``, ``>`` escaped."""
    import hashlib
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import twitter_text

    text, out, last = tweet.text, [], 0
    for url in twitter_text.extract_urls_with_indices(text, extract_urls_without_protocol=True):
        start, end = url["indices"]
        out += [text[last:start], "https://t.co/" + hashlib.sha1(url["url"].encode()).hexdigest()[:10]]
        last = end
    out.append(text[last:])
    shown = "".join(out)
    if tweet.media_ids:
        shown += " https://t.co/" + hashlib.sha1(tweet.id.encode()).hexdigest()[:10]
    return shown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _media_ids(body: Any) -> tuple[str, ...]:
    if not isinstance(body, dict):
        return ()
    return tuple(str(i) for i in ((body.get("media") or {}).get("media_ids") or []))


def _media_endpoint(endpoint: str) -> str:
    """Fault queues name append/finalize without the id: "POST /2/media/upload/append"."""
    parts = endpoint.split("/")
    if len(parts) == 6 and parts[1:4] == ["2", "media", "upload"]:
        return "/".join(parts[:4] + [parts[5]])
    return endpoint


def _multipart(content_type: str, body: bytes) -> dict[str, Any]:
    """The fields of a multipart/form-data body (file contents as bytes, others as text)."""
    from email import policy
    from email.parser import BytesParser

    message = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        fields[name] = payload if part.get_filename() else payload.decode()
    return fields


# --- routing ---------------------------------------------------------------------------------


def _router_class() -> type:
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    class Router(HTTPAdapter):
        """Sends api.twitter.com requests to the fake's loopback address instead; nothing else changes."""

        def __init__(self, base: Any):
            super().__init__(max_retries=Retry(total=0, connect=0, read=False, redirect=False, status=0))
            self.base = base

        def send(self, request: Any, **kwargs: Any) -> Any:
            if request.url.startswith(API_HOST + "/"):
                request.url = self.base() + request.url[len(API_HOST):]
            return super().send(request, **kwargs)

    return Router


def _Router(base: Any) -> Any:  # noqa: N802
    return _router_class()(base)


def _install(base: Any) -> Any:
    import requests

    original = requests.Session.__init__

    def init(session: Any, *args: Any, **kwargs: Any) -> None:
        original(session, *args, **kwargs)
        session.mount(API_HOST + "/", _Router(base))

    requests.Session.__init__ = init  # type: ignore[method-assign]

    def undo() -> None:
        requests.Session.__init__ = original  # type: ignore[method-assign]

    return undo


def route_all_to(base_url: str) -> None:
    """In a subprocess: every requests session sends api.twitter.com traffic to ``base_url``."""
    _install(lambda: base_url)


def x_env(fake: FakeX) -> dict[str, str]:
    """The environment variables that hold the fake account's credentials."""
    return {"X_API_KEY": fake.api_key, "X_API_SECRET": fake.api_secret, "X_ACCESS_TOKEN": fake.access_token,
            "X_ACCESS_TOKEN_SECRET": fake.access_token_secret}


#: Run the real CLI in a subprocess with api.twitter.com routed to $FAKE_X_URL.
CLI_BOOTSTRAP = (
    "import os, sys; sys.path.insert(0, os.environ['FAKE_X_TESTS']); import fake_x; "
    "fake_x.route_all_to(os.environ['FAKE_X_URL']); from publisher.cli import main; main()"
)
