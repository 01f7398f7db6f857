"""An HTTP-level fake of the Mastodon API on loopback, for the real Mastodon.py client.

No Mastodon server can be installed here (it needs RubyGems), so this follows the API
documentation (docs.joinmastodon.org) for the few endpoints publisher uses:

* ``GET /api/v1/accounts/verify_credentials`` — the CredentialAccount of the token's owner;
* ``GET /api/v2/instance`` — including ``configuration.statuses.max_characters`` and
  ``characters_reserved_per_url``;
* ``POST /api/v1/statuses`` — form or JSON parameters ``status``, ``in_reply_to_id``,
  ``visibility``, ``language``, ``sensitive``, ``spoiler_text``; the ``Idempotency-Key`` header
  (a repeat within an hour returns the status the first request created, as Mastodon's
  PostStatusService does with its Redis key); 401 for a bad token, 403 without the
  ``write:statuses`` scope, 404 when ``in_reply_to_id`` does not exist, 422 for an empty or
  too long status;
* ``GET /api/v1/accounts/:id/statuses`` — the account's statuses, newest first, ``limit``
  (default 20, at most 40, and never more than :attr:`FakeMastodon.timeline_page` when set),
  ``max_id`` / ``since_id`` / ``min_id`` (ids, exclusive), ``exclude_reblogs``; a ``Link`` header
  with the next (older) page; 403 for a token without ``read`` or ``read:statuses``;
* ``POST /api/v2/media`` — multipart ``file``, ``description`` (at most
  ``media_attachments.description_limit``, 1,500), ``focus``; answers 200 with the
  MediaAttachment when it is processed at once, 202 with ``url: null`` while it is processed
  (``processing_polls`` sets how many ``GET /api/v1/media/:id`` answer 206 before 200);
  ``POST /api/v1/statuses`` with ``media_ids[]`` (at most 4, each processed and not yet attached
  elsewhere, else 422) attaches them (:attr:`FakeMastodon.media` holds every upload);
* every response carries ``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and
  ``X-RateLimit-Reset`` (an ISO 8601 time, as Mastodon sends it).

Every request is recorded (method, path, headers, parsed body). Faults can be queued for the
next matching request: an HTTP error with headers, a 429, a response that never comes after the
status was created (the client times out), or a dropped connection after the status was
created.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import regex

IDEMPOTENCY_WINDOW = 3600  # seconds Mastodon keeps an Idempotency-Key (Redis EX 3600)
_GRAPHEME = regex.compile(r"\X")
_URL = regex.compile(r"https?://[^\s]+")
_VISIBILITIES = {"public", "unlisted", "private", "direct"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request, client_address) -> None:
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):  # a client that gave up (timeouts, drops)
            return
        super().handle_error(request, client_address)


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]
    json: Any = None


@dataclass
class Fault:
    """What to do with the next request matching ``method`` and ``path``."""

    method: str
    path: str
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    after_commit: str | None = None
    """"hang": create the status, then answer only after ``hang_seconds`` (the client gives up);
    "drop": create the status, then close the connection without an answer."""
    hang_seconds: float = 3.0
    skip: int = 0
    """Let this many matching requests through first (``skip=1``: the second post fails)."""


def iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def status_length(text: str, reserved_per_url: int = 23) -> int:
    """Mastodon's StatusLengthValidator, simplified: graphemes, each URL counting as 23."""
    return len(_GRAPHEME.findall(_URL.sub("x" * reserved_per_url, text)))


class FakeMastodon:
    def __init__(self, *, token: str = "test-token-" + "s3cr3t", username: str = "publisher",
                 max_characters: int = 500, scopes: tuple[str, ...] = ("read", "write")):
        self.token = token
        self.username = username
        self.max_characters = max_characters
        self.scopes = set(scopes)
        self.statuses: dict[str, dict] = {}
        self.requests: list[Recorded] = []
        self.faults: list[Fault] = []
        self.clock_offset = 0.0
        self.ratelimit_limit = 300
        self.ratelimit_remaining = 300
        self._idempotency: dict[str, tuple[str, float]] = {}
        self.media: dict[str, dict] = {}
        """Uploads by id: the MediaAttachment plus "data" (bytes), "polls_left", "status_id"."""
        self.processing_polls = 0
        """GET /api/v1/media/:id answers 206 this many times before 200 (0: ready at once, 200)."""
        self.description_limit = 1500
        self.timeline_page: int | None = None
        """At most this many statuses a page of GET /api/v1/accounts/:id/statuses (None: as asked)."""
        self._next_id = 113_000_000_000_000_000
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeMastodon":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "FakeMastodon":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- test controls -------------------------------------------------------------------------

    def now(self) -> float:
        return time.time() + self.clock_offset

    def advance(self, seconds: float) -> None:
        """Move the fake's clock (to see an Idempotency-Key expire)."""
        self.clock_offset += seconds

    def fail_next(self, method: str, path: str, **kwargs: Any) -> None:
        self.faults.append(Fault(method, path, **kwargs))

    def rate_limit_next(self, reset_at: float) -> None:
        """Answer the next status post with 429 and the reset time Mastodon would send."""
        self.fail_next("POST", "/api/v1/statuses", status=429, body={"error": "Too many requests"},
                       headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": iso(reset_at)})

    def posts(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST" and r.path == "/api/v1/statuses"]

    def account(self) -> dict:
        return {
            "id": "109000000000000001", "username": self.username, "acct": self.username,
            "display_name": "Publisher", "locked": False, "bot": True, "discoverable": True, "group": False,
            "created_at": "2024-01-01T00:00:00.000Z", "note": "", "url": f"{self.base_url}/@{self.username}",
            "uri": f"{self.base_url}/users/{self.username}", "avatar": "", "avatar_static": "", "header": "",
            "header_static": "", "followers_count": 0, "following_count": 0, "statuses_count": len(self.statuses),
            "last_status_at": None, "emojis": [], "fields": [],
        }

    def instance(self) -> dict:
        host = urlsplit(self.base_url).netloc
        return {
            "domain": host, "title": "Fake Mastodon", "version": "4.3.0", "api_versions": {"mastodon": 2},
            "source_url": "", "description": "",
            "usage": {"users": {"active_month": 1}}, "thumbnail": {"url": ""}, "languages": ["en"],
            "configuration": {
                "urls": {"streaming": f"ws://{host}"},
                "accounts": {"max_featured_tags": 10},
                "statuses": {"max_characters": self.max_characters, "max_media_attachments": 4,
                             "characters_reserved_per_url": 23},
                "media_attachments": {"supported_mime_types": ["image/jpeg", "image/png", "image/gif", "image/webp"],
                                      "description_limit": self.description_limit, "image_size_limit": 16777216,
                                      "image_matrix_limit": 33177600},
                "polls": {}, "translation": {"enabled": False},
            },
            "registrations": {"enabled": False, "approval_required": False, "message": None},
            "contact": {"email": "", "account": None}, "rules": [],
        }

    # -- the API -------------------------------------------------------------------------------

    def _create_status(self, params: dict[str, str], key: str | None) -> tuple[int, Any]:
        """POST /api/v1/statuses after authentication; returns (HTTP status, body)."""
        if key:
            with self._lock:
                known = self._idempotency.get(key)
                if known and self.now() - known[1] < IDEMPOTENCY_WINDOW and known[0] in self.statuses:
                    return 200, self.statuses[known[0]]
        text = params.get("status", "")
        if not text.strip():
            return 422, {"error": "Validation failed: Text can't be blank"}
        if status_length(text) + len(params.get("spoiler_text", "")) > self.max_characters:
            return 422, {"error": f"Validation failed: Text character limit of {self.max_characters} exceeded"}
        media_ids = [m for m in (params.get("media_ids[]") or params.get("media_ids") or []) if m]
        if isinstance(media_ids, str):
            media_ids = [media_ids]
        if len(media_ids) > 4:
            return 422, {"error": "Validation failed: You can attach at most 4 images"}
        for media_id in media_ids:
            item = self.media.get(str(media_id))
            if item is None:
                return 422, {"error": f"Validation failed: media {media_id} not found"}
            if item["url"] is None:
                return 422, {"error": "Cannot attach files that have not finished processing. Try again in a moment!"}
            if item["status_id"] is not None:
                return 422, {"error": "Validation failed: media already attached to another status"}
        reply_to = params.get("in_reply_to_id") or None
        if reply_to and reply_to not in self.statuses:
            return 404, {"error": "The post you are trying to reply to does not appear to exist."}
        visibility = params.get("visibility") or "public"
        if visibility not in _VISIBILITIES:
            return 422, {"error": "Validation failed: Visibility is not included in the list"}
        with self._lock:
            self._next_id += 1
            status_id = str(self._next_id)
            status = {
                "id": status_id, "created_at": iso(self.now()), "in_reply_to_id": reply_to,
                "in_reply_to_account_id": self.statuses[reply_to]["account"]["id"] if reply_to else None,
                "sensitive": params.get("sensitive", "").lower() in ("true", "1"),
                "spoiler_text": params.get("spoiler_text", ""), "visibility": visibility,
                "language": params.get("language") or None,
                "uri": f"{self.base_url}/users/{self.username}/statuses/{status_id}",
                "url": f"{self.base_url}/@{self.username}/{status_id}",
                "replies_count": 0, "reblogs_count": 0, "favourites_count": 0, "edited_at": None,
                "content": _html(text),
                "text": None, "reblog": None, "application": {"name": "publisher", "website": None},
                "account": self.account(), "mentions": [], "tags": [], "emojis": [],
                "media_attachments": [self._public_media(self.media[str(m)]) for m in media_ids],
                "card": None, "poll": None,
            }
            self.statuses[status_id] = status
            for media_id in media_ids:
                self.media[str(media_id)]["status_id"] = status_id
            if key:
                self._idempotency[key] = (status_id, self.now())
        return 200, status

    def add_status(self, text: str, in_reply_to_id: str | None = None) -> dict:
        """A status made outside publisher (by hand in the app)."""
        code, status = self._create_status({"status": text, "in_reply_to_id": in_reply_to_id or ""}, None)
        assert code == 200, status
        return status

    def _timeline(self, account_id: str, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        """GET /api/v1/accounts/:id/statuses."""
        if not {"read", "read:statuses"} & self.scopes:
            return 403, {"error": "This action is outside the authorized scopes"}, {}
        if account_id != self.account()["id"]:
            return 404, {"error": "Record not found"}, {}
        try:
            limit = min(int(query.get("limit") or 20), 40)
        except ValueError:
            limit = 20
        if self.timeline_page:
            limit = min(limit, self.timeline_page)
        with self._lock:
            statuses = sorted(self.statuses.values(), key=lambda st: int(st["id"]), reverse=True)
        if query.get("exclude_reblogs", "").lower() in ("true", "1"):
            statuses = [st for st in statuses if st.get("reblog") is None]
        if query.get("max_id"):
            statuses = [st for st in statuses if int(st["id"]) < int(query["max_id"])]
        if query.get("since_id"):
            statuses = [st for st in statuses if int(st["id"]) > int(query["since_id"])]
        if query.get("min_id"):  # the oldest ones after min_id, still answered newest first
            statuses = sorted([st for st in statuses if int(st["id"]) > int(query["min_id"])],
                              key=lambda st: int(st["id"]))[:limit][::-1]
        page = statuses[:limit]
        headers = {}
        if page:
            here = f"{self.base_url}/api/v1/accounts/{account_id}/statuses"
            headers["Link"] = (f'<{here}?limit={limit}&max_id={page[-1]["id"]}>; rel="next", '
                               f'<{here}?limit={limit}&min_id={page[0]["id"]}>; rel="prev"')
        return 200, page, headers

    def _upload(self, form: dict, files: dict) -> tuple[int, Any]:
        """POST /api/v2/media."""
        upload = files.get("file")
        if upload is None:
            return 422, {"error": "Validation failed: File can't be blank"}
        data, mime = upload
        if mime not in ("image/jpeg", "image/png", "image/gif", "image/webp"):
            return 422, {"error": "Validation failed: File content type is invalid"}
        description = form.get("description") or None
        if description and len(description) > self.description_limit:
            return 422, {"error": f"Validation failed: Description is too long (maximum is {self.description_limit} "
                                  "characters)"}
        with self._lock:
            self._next_id += 1
            media_id = str(self._next_id)
            ready = self.processing_polls == 0
            item = {"id": media_id, "type": "gifv" if mime == "image/gif" else "image",
                    "url": f"{self.base_url}/media/{media_id}" if ready else None,
                    "preview_url": f"{self.base_url}/media/{media_id}/small", "remote_url": None,
                    "text_url": None, "meta": {}, "description": description, "blurhash": None,
                    "data": data, "mime": mime, "polls_left": self.processing_polls, "status_id": None}
            self.media[media_id] = item
        return (200 if ready else 202), self._public_media(item)

    def _poll(self, media_id: str) -> tuple[int, Any]:
        """GET /api/v1/media/:id: 206 while processing, then 200 with the url."""
        item = self.media.get(media_id)
        if item is None:
            return 404, {"error": "Record not found"}
        if item["url"] is None:
            if item["polls_left"] > 1:
                item["polls_left"] -= 1
                return 206, self._public_media(item)
            item["polls_left"] = 0
            item["url"] = f"{self.base_url}/media/{media_id}"
        return 200, self._public_media(item)

    @staticmethod
    def _public_media(item: dict) -> dict:
        return {k: v for k, v in item.items() if k not in ("data", "mime", "polls_left", "status_id")}

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _reply(self, code: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                reset = fake.now() + 300 - (fake.now() % 300)
                all_headers = {"X-RateLimit-Limit": str(fake.ratelimit_limit),
                               "X-RateLimit-Remaining": str(max(fake.ratelimit_remaining, 0)),
                               "X-RateLimit-Reset": iso(reset), **(headers or {})}
                for name, value in all_headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                url = urlsplit(self.path)
                path = url.path.rstrip("/")
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                ctype = self.headers.get("Content-Type", "")
                form: dict[str, Any] = {}
                files: dict[str, tuple[bytes, str]] = {}
                body_json = None
                if "json" in ctype and raw:
                    body_json = json.loads(raw)
                    form = {k: (v if isinstance(v, list) else "" if v is None else str(v)) for k, v in body_json.items()}
                elif "multipart/form-data" in ctype and raw:
                    form, files = _multipart(ctype, raw)
                elif raw:
                    parsed = parse_qs(raw.decode(), keep_blank_values=True)
                    form = {k: (v if k.endswith("[]") else v[-1]) for k, v in parsed.items()}
                if method == "GET" and url.query:
                    form.update({k: v[-1] for k, v in parse_qs(url.query).items()})
                fake.requests.append(Recorded(method, path, {k.lower(): v for k, v in self.headers.items()},
                                              form, body_json))
                fake.ratelimit_remaining -= 1

                fault = next((f for f in fake.faults if f.method == method and f.path == path), None)
                if fault is not None and fault.skip > 0:
                    fault.skip -= 1
                    fault = None
                elif fault is not None:
                    fake.faults.remove(fault)
                    if fault.status is not None:
                        return self._reply(fault.status, fault.body or {"error": "injected"}, fault.headers)

                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    return self._reply(401, {"error": "The access token is invalid"})
                if method == "GET" and path == "/api/v1/accounts/verify_credentials":
                    return self._reply(200, {**fake.account(), "source": {"privacy": "public", "language": "en"}})
                if method == "GET" and path in ("/api/v2/instance", "/api/v1/instance"):
                    return self._reply(200, fake.instance())
                if method == "GET" and path.startswith("/api/v1/accounts/") and path.endswith("/statuses"):
                    return self._reply(*fake._timeline(path.split("/")[4], form))
                if method == "POST" and path == "/api/v2/media":
                    return self._reply(*fake._upload(form, files))
                if method == "GET" and path.startswith("/api/v1/media/"):
                    return self._reply(*fake._poll(path.rsplit("/", 1)[1]))
                if method == "POST" and path == "/api/v1/statuses":
                    if not {"write", "write:statuses"} & fake.scopes:
                        return self._reply(403, {"error": "This action is outside the authorized scopes"})
                    code, body = fake._create_status(form, self.headers.get("Idempotency-Key"))
                    if fault is not None and fault.after_commit == "hang":
                        time.sleep(fault.hang_seconds)
                    if fault is not None and fault.after_commit == "drop":
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return None
                    return self._reply(code, body)
                return self._reply(404, {"error": "Record not found"})

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

        return Handler



def _html(text: str) -> str:
    """A status's ``content`` as Mastodon renders plain text: paragraphs at blank lines, ``<br />``
    at single line breaks, ``&``, ``<``, ``>`` escaped, links wrapped in ``<a>`` with the scheme in
    an invisible span (as Mastodon's TextFormatter does)."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    def link(match: Any) -> str:
        url = match.group(0)
        scheme, rest = url.split("://", 1)
        return (f'<a href="{url}" target="_blank" rel="nofollow noopener" translate="no">'
                f'<span class="invisible">{scheme}://</span><span class="">{rest}</span></a>')

    paragraphs = [_URL.sub(link, p).replace("\n", "<br />") for p in escaped.strip().split("\n\n")]
    return "".join(f"<p>{p}</p>" for p in paragraphs)


def _multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, tuple[bytes, str]]]:
    """Fields and files of a multipart/form-data body."""
    from email import policy
    from email.parser import BytesParser

    message = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    fields: dict[str, Any] = {}
    files: dict[str, tuple[bytes, str]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if part.get_filename() is not None:
            files[name] = (payload, part.get_content_type())
        else:
            fields[name] = payload.decode()
    return fields, files
