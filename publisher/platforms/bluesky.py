"""Bluesky through the atproto SDK: threads of posts with link facets, posted exactly once.

Configuration (environment or ``.env``):

* ``BLUESKY_HANDLE`` — the account, e.g. ``name.bsky.social`` (a DID or the e-mail also work);
* ``BLUESKY_APP_PASSWORD`` — an *app password* (Settings → Privacy and security → App
  passwords), never the account password;
* ``BLUESKY_SERVICE`` — the PDS or entryway to log in to (default ``https://bsky.social``).

**The session is reused.** ``com.atproto.server.createSession`` is rate-limited (30 per 5
minutes, 300 a day per account), so the session is created once and kept in
``$PUBLISHER_HOME/bluesky-session.json`` (permissions 0600; never in the database or logs),
reused across posts and runs, refreshed by the SDK before its access token expires (the new
tokens are written back), and recreated with the app password only when the PDS refuses it
(expired or revoked). The file names the service and handle it belongs to; a file for another
account is ignored.

**Exactly once.** Bluesky has no idempotency key, so the record key is made deterministic:
:func:`record_key` turns the post's ``idempotency_key`` into a TID (the key type
``app.bsky.feed.post`` requires), and the post is written with
``com.atproto.repo.createRecord`` under that key. A repository holds one record per key, so a
retry of the same post can never create a second one: before writing, and after any failure
that might hide a write, the adapter reads the record under that key; if it holds the same
text in the same thread the earlier attempt succeeded and its reference is returned; a
different post under that key is :class:`Rejected` for a person to look at. The caller still
marks the post "publishing" before the call; a timeout after sending whose record cannot be
found (yet) raises :class:`OutcomeUnknown`, and retrying it with the same key is safe.

What goes into the record (the record key, the link facets, the embed) is
:mod:`publisher.platforms.bluesky_record`. ``langs`` is ``['en']``. Posts over 300 graphemes or
3,000 UTF-8 bytes are refused before anything is sent.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence, TypeVar
from urllib.parse import urlsplit

from publisher import lengths
from publisher.config import Paths, env_secret
from publisher.errors import ConfigError
from publisher.platforms import registry
from publisher.platforms.base import (Identity, Attachment, AuthFailed, Card, MediaItem, OutcomeUnknown, PostFailed, PostRef, RateLimited,
                   Rejected, Transient)
from publisher.platforms.bluesky_record import embed, record_key, rich_text

if TYPE_CHECKING:  # heavy: imported inside the functions that need them
    from atproto import Client

    from publisher.queue.media import Upload

log = logging.getLogger(__name__)

NAME = "bluesky"
DEFAULT_SERVICE = "https://bsky.social"
POST_COLLECTION = "app.bsky.feed.post"
SESSION_FILE = "bluesky-session.json"
_AUTH_ERRORS = {"ExpiredToken", "InvalidToken", "AuthenticationRequired", "AuthMissing", "BadJwt"}
_ACCOUNT_ERRORS = {"AccountTakedown", "AccountDeactivated", "AuthFactorTokenRequired"}

BLOB_KEPT_SECONDS = 3600
"""How long an uploaded blob that no record uses yet is trusted to stay on the PDS."""

T = TypeVar("T")

# ---------------------------------------------------------------------------------------------
# The session file


class SessionStore:
    """The exported session string of one account, in a 0600 JSON file (never logged)."""

    def __init__(self, path: Path, service: str, identifier: str):
        self.path = Path(path)
        self.service = service
        self.identifier = identifier

    def load(self) -> str | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            log.warning("bluesky: ignoring unreadable session file %s", self.path)
            return None
        if not isinstance(data, dict) or data.get("service") != self.service \
                or data.get("identifier") != self.identifier or not isinstance(data.get("session"), str):
            log.info("bluesky: session file %s belongs to another account or service; not using it", self.path)
            return None
        return data["session"]

    def save(self, session_string: str) -> None:
        payload = json.dumps({"service": self.service, "identifier": self.identifier, "session": session_string,
                              "saved_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})
        from publisher.config import write_atomically

        write_atomically(self.path, payload, mode=0o600)

    def clear(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


# ---------------------------------------------------------------------------------------------
# Failure classification


def _xrpc_error(exc: BaseException) -> tuple[int | None, str, str]:
    response = getattr(exc, "response", None)
    if response is None:
        return None, "", ""
    content = response.content
    error = getattr(content, "error", None) or ""
    message = getattr(content, "message", None) or ""
    return response.status_code, error, message


def _is_auth_error(exc: BaseException) -> bool:
    from atproto_client import exceptions as ax

    if isinstance(exc, ax.LoginRequiredError):
        return True
    status, error, _ = _xrpc_error(exc)
    if error in _ACCOUNT_ERRORS:
        return False
    return isinstance(exc, ax.UnauthorizedError) or (status == 400 and error in _AUTH_ERRORS)


def classify(exc: BaseException, *, sent: bool) -> PostFailed:
    """Map an atproto/httpx exception to a failure class.

    ``sent`` says whether the request could have changed something on the server (a write):
    a timeout or broken connection after sending is then OutcomeUnknown, not Transient.
    """
    import httpx
    from atproto_client import exceptions as ax

    if isinstance(exc, PostFailed):
        return exc
    status, error, message = _xrpc_error(exc)
    detail = f"{status} {error}: {message}".strip(": ") if status else ""
    if isinstance(exc, ax.RateLimitExceededError):
        policy = exc.policy or ""
        window = policy.partition("w=")[2]
        daily = window.isdigit() and int(window) >= 86400
        return RateLimited(NAME, f"rate limited ({policy or 'no policy given'})", reset_at=exc.reset_at, daily=daily)
    if error in _ACCOUNT_ERRORS:
        return AuthFailed(NAME, f"the account cannot post: {detail}")
    if _is_auth_error(exc):
        return AuthFailed(NAME, f"the PDS refused the credentials or session: {detail or type(exc).__name__}")
    cause = exc.__cause__ if isinstance(exc, ax.NetworkError) and exc.response is None else exc
    if isinstance(cause, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return Transient(NAME, f"could not connect: {cause}")
    if isinstance(cause, (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)):
        what = "timed out" if isinstance(cause, httpx.TimeoutException) else f"connection broke ({cause})"
        if sent:
            return OutcomeUnknown(NAME, f"the request {what} after it was sent; the post may exist")
        return Transient(NAME, f"the request {what}")
    if status is not None:
        if status >= 500 or status in (408, 409):
            return Transient(NAME, f"server error {detail}")
        if status == 413:
            return Rejected(NAME, f"too large: {detail}")
        return Rejected(NAME, f"refused: {detail}")
    if isinstance(exc, (httpx.HTTPError, ax.AtProtocolError)):
        if sent:
            return OutcomeUnknown(NAME, f"unexpected failure after sending: {type(exc).__name__}: {exc}")
        return Transient(NAME, f"unexpected failure: {type(exc).__name__}: {exc}")
    raise exc


# ---------------------------------------------------------------------------------------------
# The platform


class BlueskyPlatform:
    """Posts to one Bluesky account (see the module docstring for sessions and exactly-once)."""

    name = NAME

    def __init__(self, handle: str, app_password: str, *, service: str = DEFAULT_SERVICE,
                 session_path: Path | str | None = None, langs: Sequence[str] = ("en",), timeout: float = 30.0,
                 transport: Any = None):
        """``transport`` (an httpx transport) lets tests put a fault injector between us and a PDS."""
        if not handle or not app_password:
            raise AuthFailed(NAME, "a handle and an app password are required")
        self.handle = handle.strip().lstrip("@")
        self._password = app_password
        self.service = _check_service(service)
        self.langs = list(langs)
        self.timeout = timeout
        self._transport = transport
        path = Path(session_path) if session_path else Paths.from_env().home / SESSION_FILE
        self._store = SessionStore(path, self.service, self.handle)
        self._client: Client | None = None
        self._did: str | None = None
        self._account_handle: str | None = None
        self._fresh_login = False

    @classmethod
    def from_env(cls, *, session_path: Path | str | None = None, **kwargs: Any) -> "BlueskyPlatform":
        """Configured from BLUESKY_HANDLE, BLUESKY_APP_PASSWORD and BLUESKY_SERVICE."""
        names = registry.BLUESKY.roles  # BLUESKY_HANDLE, BLUESKY_APP_PASSWORD, BLUESKY_SERVICE
        handle = env_secret(names["handle"])
        if not handle:
            raise ConfigError(f"bluesky: {names['handle']} is not set (the account handle, e.g. name.bsky.social)")
        password = env_secret(names["app_password"])
        if not password:
            raise ConfigError(f"bluesky: {names['app_password']} is not set (create an app password in Bluesky's "
                              "settings)")
        service = env_secret(names["service"]) or DEFAULT_SERVICE
        return cls(handle, password, service=service, session_path=session_path, **kwargs)

    def __repr__(self) -> str:
        return f"BlueskyPlatform(handle={self.handle!r}, service={self.service!r})"

    @property
    def session_path(self) -> Path:
        return self._store.path

    # -- sessions ---------------------------------------------------------------------------

    def _new_client(self) -> "Client":
        import httpx
        from atproto import Client, SessionEvent
        from atproto_client.request import Request

        options: dict[str, Any] = {"timeout": httpx.Timeout(self.timeout, connect=10.0)}
        if self._transport is not None:
            options["transport"] = self._transport
        client = Client(base_url=self.service, request=Request(**options))

        def remember(event, session) -> None:
            if event in (SessionEvent.CREATE, SessionEvent.REFRESH):
                self._store.save(session.export())
                log.info("bluesky: session %s, saved to %s", "created" if event == SessionEvent.CREATE
                         else "refreshed", self._store.path)

        client.on_session_change(remember)
        return client

    def _login(self) -> "Client":
        client = self._new_client()
        try:
            client.login(self.handle, self._password, fetch_bsky_profile=False)
        except Exception as exc:
            failure = classify(exc, sent=False)
            if isinstance(failure, (AuthFailed, Rejected)):  # Rejected: e.g. 400 for an unknown handle
                reason = str(failure).removeprefix(f"{NAME}: ")
                failure = AuthFailed(NAME, f"could not log in as {self.handle} at {self.service} ({reason}); "
                                           "check BLUESKY_HANDLE and BLUESKY_APP_PASSWORD")
            raise failure from exc
        self._fresh_login = True
        return client

    def _connect(self) -> "Client":
        """A logged-in client: the stored session when there is one, else a new session."""
        if self._client is not None:
            return self._client
        client = None
        stored = self._store.load()
        if stored:
            client = self._new_client()
            try:
                client.login(session_string=stored, fetch_bsky_profile=False)  # no request
                log.info("bluesky: reusing the session stored in %s", self._store.path)
            except Exception:
                log.info("bluesky: the stored session cannot be read; logging in again")
                self._store.clear()
                client = None
        self._client = client or self._login()
        try:
            me = self._call(lambda c: c.com.atproto.server.get_session(), sent=False)
        except BaseException:
            self._client = None
            raise
        self._did, self._account_handle = me.did, me.handle
        return self._client

    def _call(self, action: Callable[["Client"], T], *, sent: bool) -> T:
        """Run ``action`` with the client; a refused stored session is replaced once by a new login."""
        assert self._client is not None
        try:
            return action(self._client)
        except Exception as exc:
            if not _is_auth_error(exc) or self._fresh_login:
                raise classify(exc, sent=sent) from exc
            log.info("bluesky: the stored session was refused (%s); logging in again", type(exc).__name__)
        self._store.clear()
        self._client = self._login()
        try:
            return action(self._client)
        except Exception as exc:
            raise classify(exc, sent=sent) from exc

    # -- Platform --------------------------------------------------------------------------

    def check(self) -> Identity:
        """Log in (or reuse the session) and say who we are; posts nothing."""
        self._connect()
        return Identity(platform=NAME, handle=self._account_handle or self.handle, id=self._did,
                       max_characters=lengths.DEFAULT_LIMITS[NAME])

    def upload_media(self, item: MediaItem) -> "Upload":
        """``com.atproto.repo.uploadBlob``: the blob's CID, MIME type and size go in the post's
        embed. A PDS removes blobs no record uses after a while (an hour is assumed; a later
        attempt uploads again, which gives the same CID)."""
        from publisher.queue.media import Upload

        self._connect()
        response = self._call(lambda c: c.upload_blob(item.data), sent=False)
        blob = response.blob
        ref = getattr(blob, "ref", None)
        cid = getattr(ref, "link", None) or str(getattr(blob, "cid", "") or ref)
        return Upload(media_id=str(cid), extra={"mime_type": blob.mime_type, "size": blob.size},
                      expires_in=BLOB_KEPT_SECONDS)

    def post(self, text: str, *, reply_to: PostRef | None, root: PostRef | None,
             idempotency_key: str, media: Sequence[Attachment] = (), card: Card | None = None) -> PostRef:
        """Create the post under the record key derived from ``idempotency_key`` (see module doc),
        with the uploaded images (or the link card) as its embed."""
        from atproto import models

        problem = lengths.problem(NAME, text)
        if problem:
            raise Rejected(NAME, f"post is {problem}; not sent")
        rkey = record_key(idempotency_key)
        self._connect()
        assert self._did is not None
        reply = self._reply_ref(reply_to, root) if reply_to is not None else None

        existing = self._existing(rkey)
        if existing is not None:
            return self._settle(existing, text, reply, rkey, idempotency_key)

        builder = rich_text(text)
        record = models.AppBskyFeedPost.Record(
            text=builder.build_text(),
            facets=builder.build_facets() or None,
            langs=self.langs,
            reply=reply,
            embed=embed(media, card),
            created_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        )
        data = models.ComAtprotoRepoCreateRecord.Data(repo=self._did, collection=POST_COLLECTION, rkey=rkey,
                                                      record=record, validate=True)
        try:
            created = self._call(lambda c: c.com.atproto.repo.create_record(data), sent=True)
        except (Transient, OutcomeUnknown) as failure:
            # The write may have happened (or a parallel attempt made it): look under the key.
            try:
                existing = self._existing(rkey)
            except PostFailed:
                existing = None
            if existing is not None:
                return self._settle(existing, text, reply, rkey, idempotency_key)
            raise failure
        return self._ref(created.uri, created.cid, rkey)

    def find_post(self, text: str, *, reply_to: PostRef | None, since: Any,
                  idempotency_key: str) -> PostRef | None:
        """The record under the post's derived record key (:meth:`lookup`): there or surely not,
        since a retry writes under the same key and so can never make a second post."""
        return self.lookup(idempotency_key)

    def lookup(self, idempotency_key: str) -> PostRef | None:
        """The post made with ``idempotency_key``, read under its derived record key; None when no
        record is there (then it was never written, and a retry under the same key is safe)."""
        rkey = record_key(idempotency_key)
        self._connect()
        existing = self._existing(rkey)
        return None if existing is None else self._ref(existing.uri, existing.cid, rkey)

    # -- helpers ---------------------------------------------------------------------------

    def _ref(self, uri: str, cid: str, rkey: str) -> PostRef:
        return PostRef(id=uri, url=f"https://bsky.app/profile/{self._did}/post/{rkey}",
                       extra={"cid": cid, "rkey": rkey})

    def _existing(self, rkey: str):
        """The record under ``rkey`` in our repository, or None."""
        from atproto import models

        params = models.ComAtprotoRepoGetRecord.Params(repo=self._did, collection=POST_COLLECTION, rkey=rkey)
        try:
            return self._call(lambda c: c.com.atproto.repo.get_record(params), sent=False)
        except Rejected as failure:
            cause = failure.__cause__
            if cause is not None and _xrpc_error(cause)[1] == "RecordNotFound":
                return None
            raise

    def _settle(self, existing, text: str, reply, rkey: str, idempotency_key: str) -> PostRef:
        """A record already sits under our key: the same post (return it) or another (refuse)."""
        value = existing.value
        same_text = getattr(value, "text", None) == text
        old_reply = getattr(value, "reply", None)
        same_thread = (old_reply is None and reply is None) or (
            old_reply is not None and reply is not None
            and old_reply.parent.uri == reply.parent.uri and old_reply.root.uri == reply.root.uri)
        if same_text and same_thread:
            log.info("bluesky: %s already exists (idempotency key %s); not posting again", existing.uri,
                     idempotency_key)
            return self._ref(existing.uri, existing.cid, rkey)
        raise Rejected(NAME, f"record key {rkey} (idempotency key {idempotency_key!r}) already holds a different "
                             f"post, {existing.uri}; not posting")

    def _strong_ref(self, ref: PostRef):
        from atproto import models
        from atproto_core.uri import AtUri

        cid = ref.extra.get("cid") if ref.extra else None
        if not cid:  # a reference restored without its CID: read it from the record
            try:
                uri = AtUri.from_str(ref.id)
            except Exception as exc:
                raise Rejected(NAME, f"not an at:// post URI: {ref.id!r}") from exc
            params = models.ComAtprotoRepoGetRecord.Params(repo=uri.host, collection=uri.collection, rkey=uri.rkey)
            try:
                cid = self._call(lambda c: c.com.atproto.repo.get_record(params), sent=False).cid
            except Rejected as failure:
                raise Rejected(NAME, f"the post to reply to, {ref.id}, cannot be read: {failure}") from failure
        return models.ComAtprotoRepoStrongRef.Main(uri=ref.id, cid=cid)

    def _reply_ref(self, reply_to: PostRef, root: PostRef | None):
        from atproto import models

        parent = self._strong_ref(reply_to)
        root_ref = parent if root is None or root.id == reply_to.id else self._strong_ref(root)
        return models.AppBskyFeedPost.ReplyRef(root=root_ref, parent=parent)


def _check_service(service: str) -> str:
    service = (service or "").strip().rstrip("/")
    if service.endswith("/xrpc"):
        service = service[: -len("/xrpc")]
    parts = urlsplit(service)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"BLUESKY_SERVICE must be an http(s) URL such as {DEFAULT_SERVICE}, not {service!r}")
    return service
