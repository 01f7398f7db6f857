"""Mastodon through Mastodon.py: threads as chains of ``in_reply_to_id``, posted exactly once.

Configuration (environment or ``.env``):

* ``MASTODON_API_BASE_URL`` — the instance, e.g. ``https://mastodon.social``;
* ``MASTODON_ACCESS_TOKEN`` — an access token with the ``write:statuses`` and
  ``read:accounts`` scopes (Preferences → Development → New application), and
  ``read:statuses`` for ``publisher resolve --check`` (:meth:`MastodonPlatform.find_post`);
* ``MASTODON_VISIBILITY`` — ``public`` (default), ``unlisted``, ``private`` or ``direct``.

The instance's own post length limit is read from its configuration
(``/api/v2/instance`` → ``configuration.statuses.max_characters``; 500 when it does not say)
and posts over it are refused before sending. Every post is sent with ``language='en'``.

**Exactly once.** Every status is sent with an ``Idempotency-Key`` header carrying the post's
``idempotency_key`` (stable for one post of one publication). Mastodon remembers the key for
about an hour (3,600 s, per account) and answers a repeat within that window with the status
the first request created. So a retry within the hour — after a timeout, a dropped connection
or a 5xx — can never duplicate; after the hour the key is forgotten, which is why a timeout
after sending is still :class:`OutcomeUnknown` (a person settles it) and automatic retries of
:class:`Transient` failures must happen well within the hour.

Failures: 429 → :class:`RateLimited` with the ISO 8601 ``X-RateLimit-Reset`` time; timeouts
or broken connections after sending, and 504 → :class:`OutcomeUnknown`; connection refused and
other 5xx → :class:`Transient`; 401/403 → :class:`AuthFailed`; 404 (the post replied to is
gone) and 422 → :class:`Rejected`.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import TYPE_CHECKING, Any, Callable, Sequence, TypeVar
from urllib.parse import urlsplit

from publisher import __version__, lengths
from publisher.config import env_secret
from publisher.errors import ConfigError
from publisher.platforms import registry
from publisher.platforms.base import (Identity, Attachment, AuthFailed, CannotTell, MediaItem, OutcomeUnknown, PostFailed, PostRef,
                   RateLimited, Rejected, Transient)

if TYPE_CHECKING:  # heavy: imported inside the functions that need them
    from mastodon import Mastodon

    from publisher.queue.media import Upload

log = logging.getLogger(__name__)

NAME = "mastodon"
VISIBILITIES = ("public", "unlisted", "private", "direct")
IDEMPOTENCY_WINDOW = dt.timedelta(hours=1)
"""How long a Mastodon server remembers an Idempotency-Key."""

DESCRIPTION_LIMIT = 1500
"""Alt text limit of current Mastodon servers (media_attachments.description_limit)."""
MEDIA_PROCESSING_TIMEOUT = 60.0
MEDIA_KEPT_SECONDS = 6 * 3600
"""How long an unused upload is trusted to stay on the instance (Mastodon removes unattached
media after about a day; a later attempt uploads again)."""

T = TypeVar("T")


def _status_code(exc: BaseException) -> int | None:
    args = getattr(exc, "args", ())
    if len(args) >= 2 and isinstance(args[1], int):
        return args[1]
    return None


def _server_message(exc: BaseException) -> str:
    args = getattr(exc, "args", ())
    if len(args) >= 4 and args[3]:
        return str(args[3])
    if len(args) >= 3 and args[2]:
        return str(args[2])
    return type(exc).__name__


def _network_failure(exc: BaseException, *, sent: bool) -> PostFailed:
    """A MastodonNetworkError: was anything sent? (the requests exception is its __context__)."""
    import requests
    from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NameResolutionError, NewConnectionError

    cause = exc.__cause__ or exc.__context__
    before_sending = False
    if isinstance(cause, (requests.exceptions.ConnectTimeout, requests.exceptions.SSLError)):
        before_sending = True
    elif isinstance(cause, requests.exceptions.ConnectionError) and not isinstance(cause, requests.exceptions.Timeout):
        inner = cause.args[0] if cause.args else None
        reason = inner.reason if isinstance(inner, MaxRetryError) else inner
        before_sending = isinstance(reason, (NewConnectionError, ConnectTimeoutError, NameResolutionError))
    if before_sending or not sent:
        return Transient(NAME, f"could not reach the instance: {cause or exc}")
    what = "timed out" if isinstance(cause, requests.exceptions.Timeout) else "lost its connection"
    return OutcomeUnknown(NAME, f"the request {what} after it was sent; the status may exist "
                                f"(a retry with the same Idempotency-Key within an hour cannot duplicate it)")


def classify(exc: BaseException, *, sent: bool, reset_at: dt.datetime | None = None) -> PostFailed:
    """Map a Mastodon.py exception to a failure class (``sent``: the request was a write)."""
    from mastodon import errors as me

    if isinstance(exc, PostFailed):
        return exc
    if isinstance(exc, me.MastodonRatelimitError):
        when = f"; resets at {reset_at.isoformat()}" if reset_at else ""
        return RateLimited(NAME, f"rate limited by the instance{when}", reset_at=reset_at)
    if isinstance(exc, me.MastodonNetworkError):
        return _network_failure(exc, sent=sent)
    code = _status_code(exc)
    message = _server_message(exc)
    if isinstance(exc, me.MastodonUnauthorizedError) or code == 401:
        return AuthFailed(NAME, f"the instance refused the access token (401: {message}); check MASTODON_ACCESS_TOKEN")
    if code == 403:
        return AuthFailed(NAME, f"the account may not do this (403: {message}); the token needs write:statuses")
    if isinstance(exc, me.MastodonGatewayTimeoutError) or code == 504:
        if sent:
            return OutcomeUnknown(NAME, "the instance's gateway timed out (504); the status may exist")
        return Transient(NAME, "the instance's gateway timed out (504)")
    if isinstance(exc, me.MastodonServerError) or (code is not None and code >= 500):
        return Transient(NAME, f"server error ({code}: {message})")
    if code == 408:
        return Transient(NAME, f"request timeout ({code}: {message})")
    if code is not None:
        return Rejected(NAME, f"refused ({code}: {message})")
    if isinstance(exc, me.MastodonAPIError):  # e.g. an answer that is not JSON
        if sent:
            return OutcomeUnknown(NAME, f"unreadable answer after sending: {exc}")
        return Transient(NAME, f"unreadable answer: {exc}")
    raise exc


class MastodonPlatform:
    """Posts to one Mastodon account (see the module docstring for the rules)."""

    name = NAME

    def __init__(self, api_base_url: str, access_token: str, *, visibility: str = "public",
                 language: str = "en", timeout: float = 30.0, connect_timeout: float = 10.0):
        if not access_token:
            raise AuthFailed(NAME, "an access token is required")
        self.api_base_url = _check_url(api_base_url)
        self._token = access_token
        visibility = (visibility or "public").strip().lower()
        if visibility not in VISIBILITIES:
            raise ConfigError(f"MASTODON_VISIBILITY must be one of {', '.join(VISIBILITIES)}, not {visibility!r}")
        self.visibility = visibility
        self.language = language
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._api: Mastodon | None = None
        self._max_characters: int | None = None
        self._description_limit: int | None = None

    @classmethod
    def from_env(cls, **kwargs: Any) -> "MastodonPlatform":
        """Configured from MASTODON_API_BASE_URL, MASTODON_ACCESS_TOKEN and MASTODON_VISIBILITY."""
        names = registry.MASTODON.credentials  # MASTODON_API_BASE_URL, MASTODON_ACCESS_TOKEN
        base = env_secret(names["instance"])
        if not base:
            raise ConfigError(f"mastodon: {names['instance']} is not set (the instance, e.g. https://mastodon.social)")
        token = env_secret(names["access_token"])
        if not token:
            raise ConfigError(f"mastodon: {names['access_token']} is not set (create an application with "
                              "write:statuses in the instance's Development settings)")
        kwargs.setdefault("visibility", env_secret("MASTODON_VISIBILITY") or "public")
        return cls(base, token, **kwargs)

    def __repr__(self) -> str:
        return f"MastodonPlatform(api_base_url={self.api_base_url!r}, visibility={self.visibility!r})"

    # -- plumbing ---------------------------------------------------------------------------

    def _client(self) -> "Mastodon":
        if self._api is None:
            from mastodon import Mastodon

            self._api = Mastodon(
                access_token=self._token, api_base_url=self.api_base_url,
                version_check_mode="none",  # no version request at start-up
                ratelimit_method="throw",  # never sleep inside a post: the scheduler decides
                request_timeout=(self.connect_timeout, self.timeout),
                user_agent=f"publisher/{__version__}",
            )
        return self._api

    def _reset_at(self) -> dt.datetime | None:
        reset = getattr(self._api, "ratelimit_reset", None)
        if not reset:
            return None
        return dt.datetime.fromtimestamp(float(reset), dt.timezone.utc)

    def _call(self, action: Callable[["Mastodon"], T], *, sent: bool) -> T:
        api = self._client()
        try:
            return action(api)
        except Exception as exc:
            raise classify(exc, sent=sent, reset_at=self._reset_at()) from exc

    # -- Platform --------------------------------------------------------------------------

    def max_characters(self) -> int:
        """The instance's status length limit (cached), from /api/v2/instance, else v1, else 500."""
        if self._max_characters is None:
            from mastodon import errors as me

            def read(api: "Mastodon") -> Any:
                try:
                    return api.instance_v2()
                except me.MastodonNotFoundError:  # before Mastodon 4.0
                    return api.instance_v1()

            instance = self._call(read, sent=False)
            limit = _dig(instance, "configuration", "statuses", "max_characters") \
                or _dig(instance, "max_toot_chars")
            self._max_characters = int(limit) if limit else lengths.DEFAULT_LIMITS[NAME]
        return self._max_characters

    def check(self) -> Identity:
        """Verify the token and read the instance's limit; posts nothing."""
        me = self._call(lambda api: api.account_verify_credentials(), sent=False)
        acct = str(_dig(me, "acct") or _dig(me, "username"))
        host = urlsplit(self.api_base_url).netloc
        handle = f"@{acct}" if "@" in acct else f"@{acct}@{host}"
        return Identity(platform=NAME, handle=handle, id=str(_dig(me, "id")), max_characters=self.max_characters())

    def description_limit(self) -> int:
        """The instance's alt text limit (``configuration.media_attachments.description_limit``, else 1,500)."""
        if self._description_limit is None:
            instance = self._call(lambda api: api.instance_v2(), sent=False)
            limit = _dig(instance, "configuration", "media_attachments", "description_limit")
            self._description_limit = int(limit) if limit else DESCRIPTION_LIMIT
        return self._description_limit

    def upload_media(self, item: MediaItem) -> "Upload":
        """``POST /api/v2/media`` with the alt text as ``description``; when the instance answers
        202 (still processing) poll ``GET /api/v1/media/:id`` until it has a URL. Mastodon removes
        media that no status uses after about a day."""
        from publisher.queue.media import Upload

        try:
            limit = self.description_limit()
        except PostFailed:
            limit = DESCRIPTION_LIMIT
        ext = item.mime.split("/")[-1]
        attachment = self._call(lambda api: api.media_post(item.data, mime_type=item.mime,
                                                           description=item.alt[:limit] or None,
                                                           file_name=f"image.{ext}"), sent=False)
        media_id = str(_dig(attachment, "id"))
        delay, deadline = 0.2, time.monotonic() + MEDIA_PROCESSING_TIMEOUT
        while not _dig(attachment, "url"):
            if time.monotonic() > deadline:
                raise Transient(NAME, f"the instance is still processing media {media_id}; trying again later")
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
            attachment = self._call(lambda api: api.media(media_id), sent=False)
        return Upload(media_id=media_id, extra={"url": _dig(attachment, "url")}, expires_in=MEDIA_KEPT_SECONDS)

    def post(self, text: str, *, reply_to: PostRef | None, root: PostRef | None,
             idempotency_key: str, media: Sequence[Attachment] = ()) -> PostRef:
        """Post one status in reply to ``reply_to`` with ``Idempotency-Key: idempotency_key``,
        with the uploaded ``media`` attached."""
        if not idempotency_key:
            raise ValueError("an idempotency key is required")
        limit = self.max_characters()
        problem = lengths.problem(NAME, text, limit)
        if problem:
            raise Rejected(NAME, f"post is {problem}; not sent")
        status = self._call(lambda api: api.status_post(
            text,
            in_reply_to_id=reply_to.id if reply_to is not None else None,
            visibility=self.visibility,
            language=self.language,
            idempotency_key=idempotency_key,
            media_ids=[m.media_id for m in media] or None,
        ), sent=True)
        status_id = str(_dig(status, "id"))
        if not status_id or status_id == "None":
            raise OutcomeUnknown(NAME, "the instance answered without a status id; the status may exist")
        return PostRef(id=status_id, url=_dig(status, "url") or _dig(status, "uri"),
                       extra={"uri": _dig(status, "uri")})


    # -- resolve --check ----------------------------------------------------------------------

    LOOKUP_PAGE = 40
    """Statuses per page of the account's timeline (Mastodon's maximum)."""
    LOOKUP_PAGES = 5
    """Pages read at most: a window of more than 200 statuses since the attempt is not judged."""

    def find_post(self, text: str, *, reply_to: PostRef | None, since: dt.datetime,
                  idempotency_key: str) -> "PostRef | None | CannotTell":
        """Read the account's own statuses (``GET /api/v1/accounts/:id/statuses``, newest first,
        without boosts) back past ``since``; see :mod:`publisher.platforms.find` for the rule.
        The Idempotency-Key cannot be asked about without sending again, which is never done."""
        from publisher.platforms.find import Seen, decide, window_start

        try:
            me = self._call(lambda api: api.account_verify_credentials(), sent=False)
        except AuthFailed as exc:
            return CannotTell(f"could not read the account: {exc}")
        account_id = _dig(me, "id")
        start = window_start(since)
        seen: list[Seen] = []
        max_id: str | None = None
        complete = False
        for _ in range(self.LOOKUP_PAGES):
            try:
                page = self._call(lambda api: api.account_statuses(account_id, max_id=max_id, limit=self.LOOKUP_PAGE,
                                                                   exclude_reblogs=True), sent=False)
            except AuthFailed as exc:
                return CannotTell(f"the instance would not show the account's statuses ({exc}); --check needs "
                                  "a token with the read:statuses scope")
            except (RateLimited, Rejected) as exc:
                return CannotTell(f"could not read the account's statuses: {exc}")
            if not page:
                complete = True  # the start of the account's timeline
                break
            for status in page:
                seen.append(Seen(id=str(_dig(status, "id")), text=_plain(_dig(status, "content") or ""),
                                 reply_to=_str_or_none(_dig(status, "in_reply_to_id")),
                                 created_at=_aware(_dig(status, "created_at")),
                                 url=_dig(status, "url") or _dig(status, "uri"), extra={"uri": _dig(status, "uri")}))
            oldest = seen[-1].created_at
            if oldest is not None and oldest < start:
                complete = True
                break
            max_id = seen[-1].id
        return decide(seen, text=text, reply_to=reply_to, since=since, complete=complete, platform=NAME,
                      incomplete=f"more than {len(seen)} statuses since the attempt: the look-up stopped before "
                                 "reaching it; look at the account")


def _plain(content: str) -> str:
    """A status's HTML ``content`` as text: paragraphs and line breaks as white space, tags dropped."""
    from html.parser import HTMLParser

    parts: list[str] = []

    class Text(HTMLParser):
        def handle_starttag(self, tag: str, attrs: Any) -> None:
            if tag in ("br", "p"):
                parts.append("\n")

        def handle_endtag(self, tag: str) -> None:
            if tag == "p":
                parts.append("\n")

        def handle_data(self, data: str) -> None:
            parts.append(data)

    parser = Text(convert_charrefs=True)
    parser.feed(content)
    parser.close()
    return "".join(parts).strip()


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _aware(value: Any) -> dt.datetime | None:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(value, dt.datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _dig(obj: Any, *keys: str) -> Any:
    for key in keys:
        if obj is None:
            return None
        try:
            obj = obj[key]
        except (KeyError, TypeError, IndexError):
            obj = getattr(obj, key, None)
    return obj


def _check_url(url: str) -> str:
    url = (url or "").strip().rstrip("/")
    if url and "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"MASTODON_API_BASE_URL must be the instance's URL, e.g. https://mastodon.social, "
                          f"not {url!r}")
    return url
