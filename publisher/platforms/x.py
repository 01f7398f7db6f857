"""X (Twitter): tweepy's v2 ``Client`` with OAuth 1.0a user context.

Credentials come only from the environment (or ``.env``): ``X_API_KEY``, ``X_API_SECRET``,
``X_ACCESS_TOKEN``, ``X_ACCESS_TOKEN_SECRET`` (the app's consumer key and secret and the
account's access token and secret, with read and write permission). They are held in memory,
never logged, stored or printed; tweepy's and oauthlib's debug logs (which print the signed
``Authorization`` header) are kept quiet.

How each failure is classified (what the publisher then does is in :mod:`publisher.publishing.failures`):

================================================  ===========================================
429 (window, or the ``x-user-limit-24hour-*`` /   :class:`RateLimited` with the reset time
``x-app-limit-24hour-*`` daily caps at 0)         (``daily`` when a 24-hour cap is spent)
500, 503; connection refused / DNS / TLS          :class:`Transient`: nothing was sent
verification, connect timeout
read timeout, connection reset or closed after    :class:`OutcomeUnknown`: the post may exist
sending, 502/504 (a gateway gave up waiting),
2xx without an id, 403 "duplicate content"
401; 403 about permissions, suspension or         :class:`AuthFailed`: stop the account
anything else unexpected
400, 404, 403 replying to a deleted post          :class:`Rejected`
================================================  ===========================================

tweepy sends requests without a timeout and the requests library never retries a request
that reached the server; here every request has a connect and a read timeout and is made
exactly once. X has no idempotency key: the publisher's state machine is what prevents
duplicates, and X's own duplicate check is a last line of defence. A post whose outcome was
unknown can be looked for afterwards on the account's own posts (``GET /2/users/:id/tweets``,
:meth:`XPlatform.find_post`, for ``publisher resolve --check``).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import TYPE_CHECKING, Any, Sequence

from publisher.errors import ConfigError
from publisher.platforms import registry
from publisher.platforms.base import (Identity, Attachment, AuthFailed, CannotTell, MediaItem, OutcomeUnknown, PostFailed, PostRef,
                   RateLimited, Rejected, Transient)

if TYPE_CHECKING:
    import requests
    import tweepy

    from publisher.queue.media import Upload

ENV_VARS = tuple(registry.X.credentials.values())
"""X_API_KEY, X_API_SECRET, X_ACCESS_TOKEN, X_ACCESS_TOKEN_SECRET."""
API_HOST = "https://api.twitter.com"
DEFAULT_TIMEOUT = (5.0, 30.0)
"""Seconds to connect, seconds to wait for the answer once the request is sent."""

parse_post_id = registry.x_post_id
post_url = registry.x_post_url


class XPlatform:
    """Posts to one X account. Construct with :meth:`from_env`; nothing connects until used."""

    name = "x"
    env_names: tuple[str, ...] = ENV_VARS
    """The NAMES of the variables the credentials came from (schedule.yaml may name others), for hints."""

    def __init__(self, api_key: str, api_secret: str, access_token: str, access_token_secret: str, *,
                 timeout: tuple[float, float] = DEFAULT_TIMEOUT):
        self._credentials = (api_key, api_secret, access_token, access_token_secret)
        self.timeout = timeout
        self._client: "tweepy.Client | None" = None
        self._oauth1: Any = None

    def __repr__(self) -> str:
        return "XPlatform(<credentials from the environment>)"

    @classmethod
    def from_env(cls, *, timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> "XPlatform":
        """Read the four credentials from the environment; ConfigError names the missing ones."""
        from publisher.config import env_secret

        values = {name: env_secret(name) for name in ENV_VARS}
        missing = [name for name, value in values.items() if not value]
        if missing:
            raise ConfigError(f"x is not configured: set {', '.join(missing)} in the environment or .env")
        return cls(*values.values(), timeout=timeout)  # type: ignore[arg-type]

    @property
    def client(self) -> "tweepy.Client":
        """The tweepy client (created on first use: importing tweepy is slow)."""
        if self._client is None:
            import requests
            import tweepy

            _quiet_secret_loggers()
            key, secret, token, token_secret = self._credentials
            client = tweepy.Client(consumer_key=key, consumer_secret=secret, access_token=token,
                                   access_token_secret=token_secret, return_type=requests.Response,
                                   wait_on_rate_limit=False)
            client.session = _session(self.timeout)
            self._client = client
        return self._client

    def check(self) -> Identity:
        """``GET /2/users/me``: proves the credentials work, posts nothing."""
        try:
            response = self.client.get_me(user_auth=True)
        except Exception as exc:
            failure = classify(exc, self.env_names)
            if failure is None:
                raise
            if isinstance(failure, OutcomeUnknown):  # a read cannot have posted anything
                failure = Transient(self.name, str(failure).removeprefix("x: "))
            raise failure from exc
        try:
            data = response.json()["data"]
            return Identity(platform=self.name, handle="@" + str(data["username"]), id=str(data["id"]))
        except (ValueError, KeyError, TypeError):
            raise Transient(self.name, f"unexpected answer to the credentials check ({response.status_code})") from None

    def post(self, text: str, *, reply_to: PostRef | None, root: PostRef | None,
             idempotency_key: str, media: Sequence[Attachment] = ()) -> PostRef:
        """``POST /2/tweets``, as a reply to ``reply_to`` when given (X has no idempotency key),
        with the uploaded ``media`` (ids from :meth:`upload_media`)."""
        try:
            response = self.client.create_tweet(text=text, in_reply_to_tweet_id=reply_to.id if reply_to else None,
                                                media_ids=[m.media_id for m in media] or None, user_auth=True)
        except Exception as exc:
            failure = classify(exc, self.env_names)
            if failure is None:
                raise
            raise failure from exc
        try:
            tweet_id = str(response.json()["data"]["id"])
        except (ValueError, KeyError, TypeError):
            raise OutcomeUnknown(self.name, f"X answered {response.status_code} without a post id; "
                                            "the post may exist") from None
        return PostRef(id=tweet_id, url=post_url(tweet_id), extra=_daily_quota(response.headers))


    # -- resolve --check ----------------------------------------------------------------------

    LOOKUP_PAGE = 100
    """Posts per page of ``GET /2/users/:id/tweets`` (X's maximum)."""
    LOOKUP_PAGES = 5
    """Pages read at most: a window of more than 500 posts since the attempt is not judged."""

    def _read(self, call: Any) -> dict[str, Any]:
        """One read request; its failures classified (a read that timed out posted nothing)."""
        try:
            response = call()
        except Exception as exc:
            failure = classify(exc, self.env_names)
            if failure is None:
                raise
            if isinstance(failure, OutcomeUnknown):
                failure = Transient(self.name, str(failure).removeprefix("x: "))
            raise failure from exc
        try:
            body = response.json()
        except ValueError:
            raise Transient(self.name, f"unreadable answer ({response.status_code})") from None
        return body if isinstance(body, dict) else {}

    def find_post(self, text: str, *, reply_to: PostRef | None, since: dt.datetime,
                  idempotency_key: str) -> "PostRef | None | CannotTell":
        """Read the account's own posts since the attempt (``GET /2/users/:id/tweets`` with
        ``start_time``, without reposts, every page); see :mod:`publisher.platforms.find`.
        X has no idempotency key to ask about."""
        from publisher.platforms.find import Seen, decide, window_start

        try:
            me = self._read(lambda: self.client.get_me(user_auth=True))
            user_id = str(me["data"]["id"])
        except (KeyError, TypeError):
            return CannotTell("X did not say which account the credentials belong to")
        except (AuthFailed, RateLimited, Rejected) as exc:
            return CannotTell(f"could not read the account: {exc}")
        start = window_start(since).astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        seen: list[Seen] = []
        token: str | None = None
        complete = False
        for _ in range(self.LOOKUP_PAGES):
            try:
                body = self._read(lambda: self.client.get_users_tweets(
                    user_id, start_time=start, max_results=self.LOOKUP_PAGE, pagination_token=token,
                    exclude=["retweets"], tweet_fields=["created_at", "referenced_tweets", "conversation_id"],
                    user_auth=True))
            except (AuthFailed, RateLimited, Rejected) as exc:
                return CannotTell(f"could not read the account's posts: {exc}")
            for tweet in body.get("data") or []:
                replied = next((str(r.get("id")) for r in tweet.get("referenced_tweets") or []
                                if isinstance(r, dict) and r.get("type") == "replied_to"), None)
                seen.append(Seen(id=str(tweet.get("id")), text=str(tweet.get("text") or ""), reply_to=replied,
                                 created_at=_timestamp(tweet.get("created_at")), url=post_url(str(tweet.get("id"))),
                                 extra={"conversation_id": tweet.get("conversation_id")}))
            token = (body.get("meta") or {}).get("next_token")
            if not token:
                complete = True
                break
        return decide(seen, text=text, reply_to=reply_to, since=since, complete=complete, platform=self.name,
                      unescape=True,
                      incomplete=f"more than {len(seen)} posts since the attempt: the look-up stopped before "
                                 "reaching it; look at the account")

    # -- media (v2 endpoints; tweepy has none, so its OAuth 1.0a signer on the raw endpoints) ------

    def _media_call(self, method: str, path: str, what: str, **kwargs: Any) -> dict[str, Any]:
        """One request to X's v2 media endpoints, signed with tweepy's OAuth 1.0a handler
        (the same credentials and session as the posts), classified like a post's failures."""
        import tweepy

        if self._oauth1 is None:
            key, secret, token, token_secret = self._credentials
            self._oauth1 = tweepy.OAuth1UserHandler(key, secret, token, token_secret).apply_auth()
        try:
            response = self.client.session.request(method, API_HOST + path, auth=self._oauth1, **kwargs)
        except Exception as exc:
            failure = classify(exc)
            if failure is None:
                raise
            raise failure from exc
        status = response.status_code
        if status in (200, 201, 202, 204):
            try:
                return response.json() if response.content else {}
            except ValueError:
                raise Transient(self.name, f"{what}: unreadable answer ({status})") from None
        detail = _response_text(response)
        if status == 429:
            raise rate_limited(response.headers)
        if status == 401:
            raise AuthFailed(self.name, f"credentials rejected while {what} ({status}: {detail})")
        if status == 403:
            raise AuthFailed(self.name, f"forbidden while {what} ({status}: {detail}): the app may lack the "
                                        "media.write scope or write permission")
        if status >= 500:
            raise Transient(self.name, f"X server error while {what} ({status}: {detail})")
        raise Rejected(self.name, f"X refused the image while {what} ({status}: {detail})")

    def upload_media(self, item: MediaItem) -> "Upload":
        """Upload one image: ``POST /2/media/upload/initialize``, ``/{id}/append`` (1 MB segments),
        ``/{id}/finalize`` (then ``GET /2/media/upload?command=STATUS`` while X processes a
        GIF), and the alt text with ``POST /2/media/metadata``. X keeps an unused upload for
        ``expires_after_secs`` (about a day)."""
        from publisher.queue.media import Upload

        category = "tweet_gif" if item.animated else "tweet_image"
        init = self._media_call("POST", "/2/media/upload/initialize", "starting an upload",
                                json={"media_type": item.mime, "total_bytes": len(item.data),
                                      "media_category": category})
        media_id = str((init.get("data") or {}).get("id") or "")
        if not media_id:
            raise Transient(self.name, "X started an upload without a media id")
        for segment, start in enumerate(range(0, len(item.data), MEDIA_SEGMENT)):
            self._media_call("POST", f"/2/media/upload/{media_id}/append", "sending the image",
                             files={"media": ("media", item.data[start:start + MEDIA_SEGMENT],
                                              "application/octet-stream")},
                             data={"segment_index": str(segment)})
        done = self._media_call("POST", f"/2/media/upload/{media_id}/finalize", "finishing the upload").get("data") or {}
        processing = done.get("processing_info")
        deadline = time.monotonic() + MEDIA_PROCESSING_TIMEOUT
        while processing and processing.get("state") in ("pending", "in_progress"):
            if time.monotonic() > deadline:
                raise Transient(self.name, f"X is still processing media {media_id}; trying again later")
            time.sleep(min(max(float(processing.get("check_after_secs") or 1), 0.1), 5.0))
            status = self._media_call("GET", "/2/media/upload", "checking the upload",
                                      params={"command": "STATUS", "media_id": media_id})
            processing = (status.get("data") or {}).get("processing_info")
        if processing and processing.get("state") == "failed":
            error = processing.get("error") or {}
            raise Rejected(self.name, f"X could not process the image: {error.get('message') or error or 'failed'}")
        if item.alt:
            self._media_call("POST", "/2/media/metadata", "setting the alt text",
                             json={"id": media_id, "metadata": {"alt_text": {"text": item.alt[:ALT_LIMIT]}}})
        seconds = int(done.get("expires_after_secs") or 86400)
        return Upload(media_id=media_id, extra={"media_key": done.get("media_key")}, expires_in=seconds)


MEDIA_SEGMENT = 1024 * 1024
MEDIA_PROCESSING_TIMEOUT = 120.0
ALT_LIMIT = 1000
"""X's alt text limit (characters)."""


def _response_text(response: "requests.Response") -> str:
    try:
        body = response.json()
    except ValueError:
        return (response.text or response.reason or "")[:200]
    parts = []
    if isinstance(body, dict):
        for key in ("detail", "title"):
            if isinstance(body.get(key), str):
                parts.append(body[key])
        for error in body.get("errors") or []:
            if isinstance(error, dict):
                parts.extend(str(error[k]) for k in ("message", "detail") if k in error)
    return " | ".join(dict.fromkeys(parts)) or response.reason or ""


def _session(timeout: tuple[float, float]) -> "requests.Session":
    """A requests session that gives every request ``timeout`` and never retries one."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    class TimeoutSession(requests.Session):
        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
            if kwargs.get("timeout") is None:
                kwargs["timeout"] = timeout
            return super().request(method, url, *args, **kwargs)

    session = TimeoutSession()
    adapter = HTTPAdapter(max_retries=Retry(total=0, connect=0, read=False, redirect=False, status=0))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _quiet_secret_loggers() -> None:
    """tweepy, oauthlib and requests-oauthlib log the signed request at DEBUG: never let them."""
    for name in ("tweepy", "oauthlib", "requests_oauthlib"):
        logger = logging.getLogger(name)
        if logger.level < logging.INFO:  # also NOTSET, which would inherit a DEBUG root
            logger.setLevel(logging.INFO)


def _timestamp(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _epoch(value: str | None) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(int(str(value).strip()), dt.timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _int(value: str | None) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _daily_quota(headers: Any) -> dict[str, Any]:
    """What the 24-hour headers of a successful answer say is left (for the scheduler)."""
    remaining = _int(headers.get("x-user-limit-24hour-remaining"))
    if remaining is None:
        return {}
    reset = _epoch(headers.get("x-user-limit-24hour-reset"))
    return {"daily_remaining": remaining, "daily_limit": _int(headers.get("x-user-limit-24hour-limit")),
            "daily_reset": reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if reset else None}


def rate_limited(headers: Any) -> RateLimited:
    """A 429's headers as a RateLimited: the daily caps win over the 15-minute window."""
    window = _epoch(headers.get("x-rate-limit-reset"))
    daily: list[tuple[str, dt.datetime | None, int | None]] = []
    for who in ("user", "app"):
        prefix = f"x-{who}-limit-24hour"
        if _int(headers.get(f"{prefix}-remaining")) == 0:
            daily.append((who, _epoch(headers.get(f"{prefix}-reset")), _int(headers.get(f"{prefix}-limit"))))
    if daily:
        resets = [reset for _, reset, _ in daily if reset is not None]
        reset_at = max(resets) if resets else window
        caps = ", ".join(f"{who} cap of {limit if limit is not None else '?'} posts" for who, _, limit in daily)
        return RateLimited("x", f"X 24-hour {caps} spent (429)", reset_at=reset_at, daily=True)
    return RateLimited("x", "X rate limit reached (429)", reset_at=window, daily=False)


def _api_text(exc: "tweepy.HTTPException") -> str:
    """X's own words: messages, details, problem types (tweepy keeps the messages only)."""
    parts = list(map(str, exc.api_messages))
    try:
        body = exc.response.json()
    except Exception:
        body = {}
    if isinstance(body, dict):
        for key in ("detail", "title", "type", "reason"):
            if isinstance(body.get(key), str):
                parts.append(body[key])
        for error in body.get("errors") or []:
            if isinstance(error, dict):
                parts.extend(str(error[k]) for k in ("detail", "title", "type", "reason") if k in error)
    return " | ".join(dict.fromkeys(p for p in parts if p and p != "about:blank"))


def _before_sending(exc: BaseException) -> bool:
    """Whether a requests ConnectionError happened before any byte of the request was sent."""
    import ssl

    from urllib3.exceptions import MaxRetryError, NewConnectionError, SSLError

    reason: Any = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    if isinstance(reason, NewConnectionError):  # refused, unreachable, DNS (NameResolutionError)
        return True
    if isinstance(reason, SSLError) and any(isinstance(a, ssl.SSLCertVerificationError) for a in reason.args):
        return True  # certificate check: during the handshake, before the request
    return False


def _cause(exc: BaseException) -> str:
    """The innermost error class behind a requests exception: ConnectionResetError, RemoteDisconnected..."""
    seen = exc
    for _ in range(6):
        inner = getattr(seen, "reason", None)
        if inner is None:
            inner = next((a for a in getattr(seen, "args", ()) if isinstance(a, BaseException)), None)
        if not isinstance(inner, BaseException):
            break
        seen = inner
    return type(seen).__name__


def classify(exc: BaseException, env_names: tuple[str, ...] = ENV_VARS) -> PostFailed | None:
    """The failure class of an exception raised by tweepy or requests (None: not a network error)."""
    import requests
    import tweepy

    if isinstance(exc, tweepy.TooManyRequests):
        return rate_limited(exc.response.headers)
    if isinstance(exc, tweepy.HTTPException):
        status = exc.response.status_code
        said = _api_text(exc) or exc.response.reason or ""
        detail = f"{status}{': ' + said if said else ''}"
        lowered = said.lower()
        if isinstance(exc, tweepy.Unauthorized):
            return AuthFailed("x", f"credentials rejected ({detail}); check {', '.join(env_names[:-1])} "
                                   f"and {env_names[-1]}")
        if isinstance(exc, tweepy.Forbidden):
            if "duplicate" in lowered:
                return OutcomeUnknown("x", f"X refused it as duplicate content ({detail}): the same text is already "
                                           "on the account, perhaps from an earlier attempt that went through")
            if "deleted" in lowered or "not visible" in lowered:
                return Rejected("x", f"the post it replies to is gone ({detail})")
            return AuthFailed("x", f"forbidden ({detail}): the app may lack write permission, or the account is "
                                   "suspended or locked")
        if isinstance(exc, tweepy.TwitterServerError):
            if status in (502, 504):
                return OutcomeUnknown("x", f"a gateway gave up waiting ({detail}); the post may have gone through")
            return Transient("x", f"X server error ({detail}); nothing was posted")
        return Rejected("x", f"refused ({detail})")
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Transient("x", "could not connect to X in time; nothing was sent")
    if isinstance(exc, requests.exceptions.ConnectionError) and _before_sending(exc):
        return Transient("x", f"could not connect to X ({_cause(exc)}); nothing was sent")
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return OutcomeUnknown("x", "no answer from X in time after the request was sent")
    if isinstance(exc, requests.exceptions.RequestException):
        return OutcomeUnknown("x", f"the connection failed after the request was sent ({_cause(exc)})")
    return None
