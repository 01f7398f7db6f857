"""Accounts: stopped (the platform rejected the credentials) until a check succeeds again."""

from __future__ import annotations

import datetime as dt
from typing import Any

from publisher.clock import aware, ts, utcnow
from publisher.queue.reads import Reads


class Accounts(Reads):
    """Stopping and restarting an account."""

    def block_account(self, platform: str, reason: str, *, account: str | None = None,
                      now: dt.datetime | None = None) -> None:
        """Stop posting to an account (its credentials were rejected) until :meth:`unblock_account`."""
        now = aware(now or utcnow(), "now")
        with self.transaction():
            self._account_update(platform, account or platform, blocked_reason=reason, blocked_at=ts(now))

    def unblock_account(self, platform: str, *, account: str | None = None, handle: str | None = None,
                        now: dt.datetime | None = None) -> list[int]:
        """The account works again: clear the stop and retry what waited for it (returns those ids)."""
        now = aware(now or utcnow(), "now")
        account = account or platform
        with self.transaction() as db:
            fields: dict[str, Any] = {"blocked_reason": None, "blocked_at": None, "checked_at": ts(now)}
            if handle:
                fields["handle"] = handle
            self._account_update(platform, account, **fields)
            waiting = [r[0] for r in db.execute(
                "SELECT id FROM publications WHERE platform = ? AND account = ? AND state = 'failed' "
                "AND next_try_at IS NULL", (platform, account))]
            for pub_id in waiting:
                self._transition(pub_id, "failed", now, f"the {platform} account works again; retrying",
                                 next_try_at=ts(now))
            return waiting
