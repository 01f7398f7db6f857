"""The retry policy on its own: publishing.failures.decide is a pure function of the publication,
the failed post, the error and the time (no database; test_publish.py runs it through the queue)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from publisher.platforms.base import AuthFailed, OutcomeUnknown, RateLimited, Rejected, Transient
from publisher.publishing.failures import DEFAULT_RATE_LIMIT_WAIT, MAX_ATTEMPTS, backoff, decide
from publisher.queue.records import Publication

NOW = dt.datetime(2024, 6, 14, 8, 0, tzinfo=dt.timezone.utc)
PUB = Publication(id=7, article_id=1, platform="x", account="newsroom", thread_id=1, title="t", state="publishing",
                  content_hash="h", approved_hash="h", approved_at=NOW, scheduled_at=None, next_try_at=None,
                  due_at=NOW, attempts=0, n_posts=4, posted_count=1, owner="me", inflight_index=1,
                  unknown_index=None, note=None, created_at=NOW, updated_at=NOW)


def test_a_transient_failure_backs_off_then_goes_to_a_person():
    step = decide(PUB, 1, Transient("x", "503"), NOW)
    assert (step.state, step.post_index, step.account) == ("failed", 1, {})
    assert step.fields == {"attempts": 1, "next_try_at": NOW + backoff(1)}
    assert step.reason.startswith("post 2 of 4 to x failed (attempt 1), nothing was posted; next try in 60 s")
    last = decide(dataclasses.replace(PUB, attempts=MAX_ATTEMPTS - 1), 1, Transient("x", "503"), NOW)
    assert last.state == "needs_attention" and last.fields == {"attempts": MAX_ATTEMPTS}
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 7, 8)] == [60, 120, 240, 3600, 3600]


def test_a_rate_limit_reschedules_and_pauses_the_account():
    reset = NOW + dt.timedelta(hours=2)
    step = decide(PUB, 1, RateLimited("x", "429", reset_at=reset, daily=True), NOW)
    assert step.state == "scheduled" and step.fields == {"scheduled_at": reset}
    assert step.account == {"paused_until": reset, "pause_reason": step.reason}
    assert step.reason.startswith("daily cap reached before post 2 of 4: rescheduled for")
    no_reset = decide(PUB, 1, RateLimited("x", "429"), NOW)
    assert no_reset.fields == {"scheduled_at": NOW + DEFAULT_RATE_LIMIT_WAIT}
    past = decide(PUB, 1, RateLimited("x", "429", reset_at=NOW - dt.timedelta(minutes=1)), NOW)
    assert past.fields == {"scheduled_at": NOW + dt.timedelta(seconds=5)}


def test_rejected_credentials_stop_the_account_without_a_next_try():
    step = decide(PUB, 1, AuthFailed("x", "401"), NOW)
    assert step.state == "failed" and step.fields == {"next_try_at": None}
    assert step.account["blocked_at"] == NOW and "posting to newsroom is stopped" in step.account["blocked_reason"]


def test_refused_content_and_unknown_outcomes_wait_for_a_person():
    refused = decide(PUB, 1, Rejected("x", "too long"), NOW)
    assert refused.state == "needs_attention" and refused.fields == {} and "edit or reject it" in refused.reason
    for error in (OutcomeUnknown("x", "read timeout"), KeyError("bug")):
        step = decide(PUB, 1, error, NOW)
        assert step.state == "needs_attention" and step.fields == {"unknown_index": 1}
        assert "`publisher resolve 7 --check`" in step.reason
    assert "KeyError: 'bug'" in decide(PUB, 1, KeyError("bug"), NOW).reason
