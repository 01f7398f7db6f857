"""The states of a publication, which may follow which, and what each says to people.

::

    draft ─► approved ─► scheduled ─► publishing ─► posted
                 ▲            │            ├──────► failed           (retryable: attempts, next try)
                 └────────────┘            ├──────► needs_attention  (outcome unknown, or a permanent error)
    (any state before posted) ───────────────────► rejected

Here: the state names (the schema's CHECK is written from :data:`STATES`), :data:`TRANSITIONS`,
:data:`READY` (what the scheduler may take), the columns that only mean something in some states
(:func:`state_columns`), the guards every command shares (:func:`refuse_if_claimed`,
:func:`refuse_if_final`, :func:`length_problems`) and the user-facing messages
(:func:`not_ready_message`, :func:`claimed_message`...). No SQL. Light to import: the CLI reads
:data:`STATES` (through :mod:`publisher.queue.schema`) when it starts.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Literal

from publisher.errors import StoreError

if TYPE_CHECKING:
    from publisher.queue.records import Publication, StoredThread

State = Literal["draft", "approved", "scheduled", "publishing", "posted", "failed", "needs_attention", "rejected"]

#: Every state, in the order people read them (the schema's CHECK constraint lists these).
STATES = ("draft", "approved", "scheduled", "publishing", "posted", "failed", "needs_attention", "rejected")

#: Which state may follow which. Anything else is a bug or a refused command.
TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"draft", "approved", "scheduled", "rejected"}),
    "approved": frozenset({"approved", "scheduled", "publishing", "draft", "rejected"}),
    "scheduled": frozenset({"approved", "scheduled", "publishing", "draft", "rejected"}),
    "publishing": frozenset({"publishing", "posted", "failed", "needs_attention", "approved", "scheduled", "draft"}),
    "failed": frozenset({"failed", "publishing", "approved", "scheduled", "draft", "rejected", "needs_attention"}),
    "needs_attention": frozenset({"approved", "scheduled", "posted", "draft", "rejected"}),
    "posted": frozenset(),
    "rejected": frozenset(),
}
#: States the scheduler may take work from.
READY = ("approved", "scheduled", "failed")
#: States nothing leaves: no approval, edit or rejection any more.
FINAL = ("posted", "rejected")


def state_columns(to_state: str, fields: dict[str, Any], *, approved_at: str | None, scheduled_at: str | None,
                  next_try_at: str | None) -> dict[str, Any]:
    """``fields`` completed for a move to ``to_state`` (the publication's current times given).

    Columns that only mean something in some states are cleared when leaving them: the claim
    (owner, in-flight post) outside ``publishing``, the scheduled time outside
    ``scheduled``/``publishing``, the next try outside ``failed``/``publishing``, the unknown
    post outside ``needs_attention``. ``due_at`` follows from the new state unless given.
    """
    keep = {
        "scheduled_at": to_state in ("scheduled", "publishing"),
        "next_try_at": to_state in ("failed", "publishing"),
        "owner": to_state == "publishing", "claimed_from": to_state == "publishing",
        "claimed_at": to_state == "publishing", "inflight_index": to_state == "publishing",
        "inflight_since": to_state in ("publishing", "needs_attention"),
        "unknown_index": to_state == "needs_attention",
    }
    for column, kept in keep.items():
        if not kept:
            fields.setdefault(column, None)
    if "due_at" not in fields:
        value = {"approved_at": approved_at, "scheduled_at": scheduled_at, "next_try_at": next_try_at}
        value.update({k: fields[k] for k in value if k in fields})
        fields["due_at"] = {"approved": value["approved_at"], "scheduled": value["scheduled_at"],
                            "failed": value["next_try_at"]}.get(to_state)
    return fields


# --- guards ----------------------------------------------------------------------------------


def refuse_if_claimed(pub: "Publication", action: str | None = None) -> None:
    """Refuse a command on a publication another process (or this one) is publishing."""
    if pub.state == "publishing":
        raise StoreError(claimed_message(pub) + (f"; it cannot be {action} now" if action else ""))


def refuse_if_final(pub: "Publication", action: str) -> None:
    """Refuse changing a publication that is posted or rejected."""
    if pub.state in FINAL:
        raise StoreError(f"publication {pub.id} is {pub.state}; it cannot be {action}")


def length_problems(thread: "StoredThread") -> str | None:
    """Problems with the stored lengths (measured when the thread was rendered or edited): a
    thread with one of these is never approved."""
    problems = []
    for post in thread.posts:
        if not post.text.strip():
            problems.append(f"post {post.index + 1} is empty")
        elif post.length > post.limit:
            problems.append(f"post {post.index + 1} has {post.length} characters, over the limit of {post.limit}")
    return "; ".join(problems) or None


# --- messages --------------------------------------------------------------------------------


def post_label(index: int, n_posts: int) -> str:
    return f"post {index + 1} of {n_posts}"


def unknown_outcome_message(pub: "Publication") -> str:
    """A post whose outcome nobody knows, and how to settle it."""
    assert pub.unknown_index is not None
    return (f"publication {pub.id}: nobody knows whether {post_label(pub.unknown_index, pub.n_posts)} was "
            f"posted; check {pub.platform}, then `publisher resolve {pub.id} --posted|--not-posted`")


def not_ready_message(pub: "Publication") -> str:
    """Why ``pub`` cannot be published now (it is not in :data:`READY`)."""
    if pub.state == "draft":
        return f"publication {pub.id} is not approved (`publisher approve {pub.id}`)"
    if pub.state == "posted":
        return f"publication {pub.id} is already posted"
    if pub.state == "rejected":
        return f"publication {pub.id} was rejected"
    if pub.state == "needs_attention":
        if pub.unknown_index is not None:
            return unknown_outcome_message(pub)
        return f"publication {pub.id} needs attention: {pub.note}"
    if pub.state == "publishing":
        return claimed_message(pub)
    return f"publication {pub.id} is {pub.state}"


def claimed_message(pub: "Publication") -> str:
    """Who is publishing ``pub`` since when, and the way out when that cannot be checked."""
    from publisher.queue.owner import describe_owner, owner_status  # (lazy: `publisher --help` reads STATES)

    since = f" since {utc_text(pub.claimed_at)}" if pub.claimed_at else ""
    message = f"publication {pub.id} is being published by {describe_owner(pub.owner)}{since}"
    status = owner_status(pub.owner)
    if status == "unknown":
        message += (" (another machine or container: it cannot be checked from here; if that process is gone, "
                    f"`publisher resolve {pub.id} --release-claim`)")
    elif status == "dead":
        message += " (that process is gone; it is settled at the next `publisher queue`)"
    return message


def utc_text(value: dt.datetime) -> str:
    """An instant in the display zone (schedule.yaml's), named."""
    from publisher.clock import local_text  # (lazy, as above)

    return local_text(value)
