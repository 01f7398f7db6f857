"""The outbox store: migrations, revisions, approval bound to content, transitions and history."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3

import pytest

from factories import make_article, make_thread, make_translated, store, thread_texts
from publisher.queue import schema as migrations
from publisher.errors import StoreError
from publisher.clock import from_ts, ts
from publisher.publishing.editing import edit_publication
from publisher.publishing.failures import record_failure
from publisher.queue.outbox import Outbox
from publisher.queue.owner import current_owner
from publisher.queue.records import EditedPost

NOW = dt.datetime(2024, 6, 14, 8, 0, tzinfo=dt.timezone.utc)


def states(outbox: Outbox, pub_id: int) -> list[str]:
    return [e.to_state for e in outbox.history(pub_id)]


# --- the file --------------------------------------------------------------------------------


def test_open_uses_publisher_db_with_wal_and_named_migrations(tmp_path, monkeypatch):
    monkeypatch.setenv("PUBLISHER_DB", str(tmp_path / "sub" / "q.db"))
    with Outbox.open() as box:
        assert box.path == tmp_path / "sub" / "q.db"
        assert box.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        names = [r[0] for r in box.db.execute("SELECT name FROM migrations ORDER BY rowid")]  # as applied
        assert names == [name for name, _ in migrations.MIGRATIONS]
        assert names[:3] == ["m001_initial", "m002_schedule_slots", "m003_reported_files"]
        assert "m006_cockpit" in names
    with Outbox.open() as again:  # nothing applied twice
        assert again.db.execute("SELECT count(*) FROM migrations").fetchone()[0] == len(migrations.MIGRATIONS)


def test_a_database_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "q.db"
    Outbox.open(path).close()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO migrations VALUES ('m999_future', 'x')")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="newer publisher.*m999_future"):
        Outbox.open(path)


def test_a_file_that_is_not_a_database_is_one_clear_error(tmp_path):
    path = tmp_path / "q.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError) as info:
        Outbox.open(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_times_round_trip_and_must_be_aware(outbox, tmp_path):
    assert from_ts(ts(NOW)) == NOW
    assert ts(dt.datetime(2024, 6, 14, 16, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))) == ts(NOW)
    ing = store(outbox, tmp_path / "in")
    with pytest.raises(ValueError, match="timezone-aware"):
        outbox.approve(ing.publications[0], now=dt.datetime(2024, 6, 14, 8, 0))


# --- articles and revisions ------------------------------------------------------------------


def test_add_article_stores_article_translation_and_drafts(outbox, tmp_path):
    ing = store(outbox, tmp_path / "in", platforms=("x", "mastodon"), n_posts=4)
    assert not ing.unchanged and ing.revision == 1 and len(ing.publications) == 2 and ing.approved == ()
    for pub_id in ing.publications:
        pub = outbox.get(pub_id)
        assert pub.state == "draft" and not pub.approved and pub.n_posts == 4 and pub.posted_count == 0
        assert states(outbox, pub_id) == ["draft"]
    article = outbox.article(ing.article_id)
    assert article.author == "机器之心" and article.url == "https://example.com/articles/article"
    assert article.english_title == "[en] 快手「可灵」爆火" and article.translation_model == "fake 1"
    x = outbox.thread(ing.publications[0])
    assert [p.text for p in x.posts] == thread_texts("article", 4)
    assert x.posts[0].role == "hook" and x.posts[-1].role == "attribution"


def test_an_unchanged_file_again_does_nothing(outbox, tmp_path):
    first = store(outbox, tmp_path / "in")
    outbox.approve(first.publications[0], now=NOW)
    again = store(outbox, tmp_path / "in")
    assert again.unchanged and again.article_id == first.article_id and again.publications == ()
    assert outbox.counts() == {"approved": 1}
    assert outbox.get(first.publications[0]).approved


def test_an_unchanged_file_gets_a_publication_for_a_new_platform_only(outbox, tmp_path):
    first = store(outbox, tmp_path / "in", platforms=("x",))
    again = store(outbox, tmp_path / "in", platforms=("x", "bluesky"))
    assert again.unchanged and len(again.publications) == 1
    assert outbox.get(again.publications[0]).platform == "bluesky"
    assert outbox.get(first.publications[0]).state == "draft"


def test_a_changed_file_is_a_new_revision_that_needs_approval_again(outbox, tmp_path):
    first = store(outbox, tmp_path / "in", auto_approve=True)
    assert first.approved == first.publications
    second = store(outbox, tmp_path / "in", body="快手更新了可灵。现在它更快了。", auto_approve=True)
    assert second.revision == 2 and not second.unchanged
    assert second.superseded == first.publications  # the unstarted approval is withdrawn...
    old = outbox.get(first.publications[0])
    assert old.state == "rejected" and "superseded by revision 2" in old.note
    new = outbox.get(second.publications[0])
    assert new.state == "approved"  # ...and, nothing having been posted, the source's auto-approve applies


def test_a_changed_file_after_posting_is_never_a_silent_repost(outbox, tmp_path):
    from publisher.platforms.dryrun import DryRunPlatform
    from publisher.publishing.publish import publish_publication

    first = store(outbox, tmp_path / "in", auto_approve=True)
    publish_publication(outbox, first.publications[0], DryRunPlatform(), now=NOW)
    assert outbox.get(first.publications[0]).state == "posted"
    second = store(outbox, tmp_path / "in", body="修改后的正文。", auto_approve=True)
    assert second.earlier_posted == first.publications and second.superseded == ()
    new = outbox.get(second.publications[0])
    assert new.state == "draft" and second.approved == ()
    assert "revision 2" in outbox.history(new.id)[0].reason
    assert outbox.due("x", NOW + dt.timedelta(days=1)) == []


def test_a_changed_file_after_a_half_posted_thread_keeps_the_older_publication(outbox, tmp_path):
    # Revision 1 failed after its first post: it is neither superseded (its rest would be lost,
    # and nothing would say post 1 is out) nor a reason to auto-approve revision 2 (a repost).
    from publisher.platforms.base import PostRef, Transient

    first = store(outbox, tmp_path / "in", auto_approve=True)
    pub_id = first.publications[0]
    outbox.claim(pub_id, NOW)
    outbox.begin_post(pub_id, 0, now=NOW)
    outbox.record_post(pub_id, 0, PostRef(id="1001", url="https://x.com/i/status/1001"), now=NOW)
    outbox.begin_post(pub_id, 1, now=NOW)
    record_failure(outbox, pub_id, 1, Transient("x", "503 from the server"), now=NOW)
    half = outbox.get(pub_id)
    assert half.state == "failed" and half.posted_count == 1

    second = store(outbox, tmp_path / "in", body="修改后的正文。", auto_approve=True)
    assert second.superseded == () and second.earlier_posted == (pub_id,)
    assert outbox.get(pub_id).state == "failed"
    new = outbox.get(second.publications[0])
    assert new.state == "draft" and second.approved == ()


def test_auto_approve_leaves_a_too_long_thread_as_a_draft(outbox, tmp_path):
    article = make_article(tmp_path / "in")
    thread = make_thread(article, "x", ["好" * 141, "fine"])
    ing = outbox.add_article(article, make_translated(article), {"x": thread}, auto_approve=True)
    assert ing.approved == () and outbox.get(ing.publications[0]).state == "draft"


def test_threads_must_belong_to_the_article(outbox, tmp_path):
    a = make_article(tmp_path / "a", "a.md")
    b = make_article(tmp_path / "b", "b.md", body="另一篇文章。")
    with pytest.raises(ValueError, match="another article"):
        outbox.add_article(a, None, {"x": make_thread(b, "x")})
    with pytest.raises(ValueError, match="says it is for"):
        outbox.add_article(a, None, {"mastodon": make_thread(a, "x")})
    assert outbox.counts() == {}


def test_a_batch_is_one_transaction(outbox, tmp_path):
    with pytest.raises(RuntimeError):
        with outbox.transaction():
            store(outbox, tmp_path / "in", "a.md")
            store(outbox, tmp_path / "in", "b.md")
            raise RuntimeError("stop")
    assert outbox.counts() == {}
    with outbox.transaction():
        store(outbox, tmp_path / "in", "a.md")
        store(outbox, tmp_path / "in", "b.md")
    assert outbox.counts() == {"draft": 2}


# --- approval and editing --------------------------------------------------------------------


def test_approval_is_bound_to_the_content_hash(outbox, tmp_path):
    pub_id = store(outbox, tmp_path / "in").publications[0]
    pub = outbox.approve(pub_id, now=NOW)
    assert pub.state == "approved" and pub.approved and pub.approved_hash == pub.content_hash
    assert pub.due_at == NOW
    texts = [p.text for p in outbox.thread(pub_id).posts]
    edited = edit_publication(outbox, pub_id, [texts[0] + " (edited)", *texts[1:]], now=NOW)
    assert edited.state == "draft" and not edited.approved and edited.approved_hash is None
    assert "approval withdrawn" in edited.note
    assert edited.content_hash != pub.content_hash
    assert outbox.due("x", NOW + dt.timedelta(hours=1)) == []
    with pytest.raises(StoreError, match="not approved"):
        outbox.claim(pub_id, NOW)


def test_approve_at_a_time_schedules_it(outbox, tmp_path):
    pub_id = store(outbox, tmp_path / "in").publications[0]
    at = NOW + dt.timedelta(hours=3)
    pub = outbox.approve(pub_id, at, now=NOW)
    assert pub.state == "scheduled" and pub.scheduled_at == at and pub.due_at == at
    assert outbox.due("x", NOW) == []
    assert [p.id for p in outbox.due("x", at)] == [pub_id]
    pub = outbox.approve(pub_id, now=NOW)  # approving again without a time: the next slot
    assert pub.state == "approved" and pub.scheduled_at is None


def test_a_tampered_approval_is_caught_at_claim(outbox, tmp_path):
    pub_id = store(outbox, tmp_path / "in").publications[0]
    outbox.approve(pub_id, now=NOW)
    other = store(outbox, tmp_path / "other", "b.md")
    other_thread = outbox.get(other.publications[0]).thread_id
    outbox.db.execute("UPDATE publications SET thread_id = ? WHERE id = ?", (other_thread, pub_id))
    with pytest.raises(StoreError, match="changed after approval"):
        outbox.claim(pub_id, NOW)
    assert outbox.get(pub_id).state == "draft"


def test_unchanged_edit_keeps_the_approval(outbox, tmp_path):
    pub_id = store(outbox, tmp_path / "in").publications[0]
    outbox.approve(pub_id, now=NOW)
    texts = [p.text for p in outbox.thread(pub_id).posts]
    assert edit_publication(outbox, pub_id, [t + "\n" for t in texts], now=NOW).approved


def test_edit_rechecks_lengths_and_saves_nothing_on_a_problem(outbox, tmp_path):
    pub_id = store(outbox, tmp_path / "in").publications[0]
    before = outbox.get(pub_id)
    with pytest.raises(StoreError) as info:
        edit_publication(outbox, pub_id, ["ok", "好" * 141, "   "], now=NOW)
    message = str(info.value)
    assert "post 2: 282 characters, over the x limit of 280" in message and "post 3: empty post" in message
    assert outbox.get(pub_id) == before


def test_edit_can_add_and_drop_posts(outbox, tmp_path):
    pub_id = store(outbox, tmp_path / "in", n_posts=3).publications[0]
    credit = outbox.thread(pub_id).posts[-1].text
    pub = edit_publication(outbox, pub_id, [EditedPost("one", "hook"), EditedPost("two", "point"),
                               EditedPost("three https://example.com/" + "a" * 300, "point"),
                               EditedPost(credit, "attribution")], now=NOW)
    thread = outbox.thread(pub_id)
    assert pub.n_posts == 4 and [p.text[:4] for p in thread.posts] == ["one", "two", "thre", credit[:4]]
    assert [p.role for p in thread.posts] == ["hook", "point", "point", "attribution"]
    assert thread.posts[2].length == 6 + 23 and thread.origin == "edit"
    pub = edit_publication(outbox, pub_id, [EditedPost("only a hook", "hook"), EditedPost(credit, "attribution")], now=NOW)
    assert pub.n_posts == 2
    with pytest.raises(StoreError, match="at least one post"):
        edit_publication(outbox, pub_id, [], now=NOW)
    with pytest.raises(ValueError, match="give each post's role"):  # plain texts only when the count stays
        edit_publication(outbox, pub_id, ["only one"], now=NOW)


def test_approve_refuses_a_post_over_its_limit(outbox, tmp_path):
    article = make_article(tmp_path / "in")
    ing = outbox.add_article(article, None, {"x": make_thread(article, "x", ["好" * 141])})
    with pytest.raises(StoreError, match="282 characters, over the limit of 280"):
        outbox.approve(ing.publications[0], now=NOW)


def test_reject_and_refused_transitions(outbox, tmp_path):
    pub_id = store(outbox, tmp_path / "in").publications[0]
    outbox.reject(pub_id, "not for us", now=NOW)
    assert outbox.get(pub_id).state == "rejected"
    for action in (lambda: outbox.approve(pub_id, now=NOW), lambda: outbox.reject(pub_id, now=NOW),
                   lambda: edit_publication(outbox, pub_id, ["x"], now=NOW), lambda: outbox.retry(pub_id, now=NOW),
                   lambda: outbox.claim(pub_id, NOW), lambda: outbox.resolve(pub_id, True, now=NOW)):
        with pytest.raises(StoreError):
            action()
    assert states(outbox, pub_id) == ["draft", "rejected"]
    assert outbox.history(pub_id)[-1].reason == "not for us"
    with pytest.raises(StoreError, match="no publication 999"):
        outbox.get(999)


def test_history_is_append_only_and_posted_records_are_permanent(outbox, tmp_path):
    from publisher.platforms.dryrun import DryRunPlatform
    from publisher.publishing.publish import publish_publication

    pub_id = store(outbox, tmp_path / "in", auto_approve=True).publications[0]
    publish_publication(outbox, pub_id, DryRunPlatform(), now=NOW)
    for sql in ("DELETE FROM post_results", "UPDATE post_results SET post_id = 'x'", "DELETE FROM events",
                "UPDATE events SET reason = 'x'"):
        with pytest.raises(sqlite3.DatabaseError, match="permanent|append-only"):
            outbox.db.execute(sql)
    with pytest.raises(sqlite3.IntegrityError):
        outbox.db.execute("UPDATE publications SET state = 'gone' WHERE id = ?", (pub_id,))


def test_every_state_change_is_in_the_history(outbox, tmp_path):
    from publisher.platforms.base import Transient
    from publisher.platforms.dryrun import DryRunPlatform, Fault
    from publisher.publishing.publish import publish_publication

    pub_id = store(outbox, tmp_path / "in").publications[0]
    outbox.approve(pub_id, NOW + dt.timedelta(minutes=5), now=NOW)
    publish_publication(outbox, pub_id, DryRunPlatform(faults={1: Fault(Transient("dry-run", "503"))}), now=NOW)
    outbox.retry(pub_id, now=NOW)
    publish_publication(outbox, pub_id, DryRunPlatform(), now=NOW)
    changes = [(e.from_state, e.to_state) for e in outbox.history(pub_id) if e.from_state != e.to_state]
    assert changes == [(None, "draft"), ("draft", "scheduled"), ("scheduled", "publishing"),
                       ("publishing", "failed"), ("failed", "approved"), ("approved", "publishing"),
                       ("publishing", "posted")]
    assert all(e.at == NOW and e.reason for e in outbox.history(pub_id)[1:])


# --- the scheduler's view --------------------------------------------------------------------


def test_due_and_claim_next_order_and_quota(outbox, tmp_path):
    from publisher.platforms.base import Transient
    from publisher.platforms.dryrun import DryRunPlatform, Fault
    from publisher.publishing.publish import publish_publication

    big = store(outbox, tmp_path / "in", "big.md", n_posts=6).publications[0]
    small = store(outbox, tmp_path / "in", "small.md", n_posts=2).publications[0]
    later = store(outbox, tmp_path / "in", "later.md", n_posts=2).publications[0]
    half = store(outbox, tmp_path / "in", "half.md", n_posts=4).publications[0]
    draft = store(outbox, tmp_path / "in", "draft.md", n_posts=1).publications[0]
    other = store(outbox, tmp_path / "in", "m.md", platforms=("mastodon",)).publications[0]
    outbox.approve(big, now=NOW)
    outbox.approve(small, now=NOW + dt.timedelta(seconds=1))
    outbox.approve(later, NOW + dt.timedelta(hours=2), now=NOW)
    outbox.approve(other, now=NOW)
    outbox.approve(half, now=NOW + dt.timedelta(seconds=2))
    publish_publication(outbox, half, DryRunPlatform(faults={2: Fault(Transient("dry-run", "503"))}),
                        now=NOW + dt.timedelta(seconds=3))
    assert outbox.get(half).state == "failed" and outbox.get(half).posted_count == 2
    soon = NOW + dt.timedelta(minutes=1, seconds=3)
    # partly posted threads first (once their retry is due), then by due time; drafts never
    assert [p.id for p in outbox.due("x", NOW + dt.timedelta(seconds=30))] == [big, small]
    assert [p.id for p in outbox.due("x", soon)] == [half, big, small]
    assert [p.id for p in outbox.due("x", NOW + dt.timedelta(hours=3))] == [half, big, small, later]
    assert draft not in [p.id for p in outbox.due("x", NOW + dt.timedelta(days=9))]
    # a 6-post thread is not started with 5 posts of quota left: the 2-post one goes
    claimed = outbox.claim_next("x", NOW + dt.timedelta(seconds=30), max_posts=5)
    assert claimed.id == small and claimed.state == "publishing" and claimed.owner == current_owner()
    assert outbox.claim_next("x", NOW + dt.timedelta(seconds=30), max_posts=1) is None
    outbox.release(small, "slot skipped", now=NOW)
    assert outbox.get(small).state == "approved"
    assert outbox.claim_next("x", soon, max_posts=2).id == half  # 2 of 4 left
    assert outbox.posts_since("x", NOW) == 2 and outbox.posts_since("x", NOW + dt.timedelta(minutes=1)) == 0
    assert outbox.posts_since("mastodon", NOW) == 0


def test_schedule_moves_an_approved_thread(outbox, tmp_path):
    pub_id = store(outbox, tmp_path / "in").publications[0]
    with pytest.raises(StoreError, match="not approved"):
        outbox.schedule(pub_id, NOW, "slot", now=NOW)
    outbox.approve(pub_id, now=NOW)
    claimed = outbox.claim_next("x", NOW)
    pub = outbox.schedule(claimed.id, NOW + dt.timedelta(hours=1), "quota spent; next slot", now=NOW)
    assert pub.state == "scheduled" and pub.owner is None and pub.due_at == NOW + dt.timedelta(hours=1)


def test_blocked_and_paused_accounts_are_not_due(outbox, tmp_path):
    pub_id = store(outbox, tmp_path / "in").publications[0]
    outbox.approve(pub_id, now=NOW)
    outbox.block_account("x", "credentials rejected", now=NOW)
    assert outbox.due("x", NOW) == [] and outbox.claim_next("x", NOW) is None
    outbox.unblock_account("x", handle="@me", now=NOW)
    assert [p.id for p in outbox.due("x", NOW)] == [pub_id]
    state = outbox.account_state("x")
    assert state.blocked_reason is None and state.handle == "@me"


def test_recover_settles_only_dead_owners(outbox, tmp_path):
    ids = [store(outbox, tmp_path / "in", f"{n}.md").publications[0] for n in "abcd"]
    dead = "{}:999999999:1".format(current_owner().rsplit(":", 2)[0])
    gone = Outbox(outbox.db, outbox.path, owner=dead)  # the same queue, as a process that has died
    elsewhere = Outbox(outbox.db, outbox.path, owner="elsewhere:12:34")
    for box, pub_id in zip((gone, gone, elsewhere, outbox), ids):
        outbox.approve(pub_id, now=NOW)
        box.claim(pub_id, NOW)
    gone.begin_post(ids[0], 0, now=NOW)
    outbox.begin_post(ids[3], 0, now=NOW)
    assert [outbox.get(i).owner for i in ids] == [dead, dead, "elsewhere:12:34", current_owner()]
    if outbox.postgres:  # a process on another host is judged by its lease: this one beats
        outbox.db.execute("INSERT INTO publisher_leases (process, host, pid, beat_at) "
                          "VALUES ('elsewhere:12:34', 'elsewhere', 12, clock_timestamp())")
    changed = {p.id: p for p in outbox.recover(NOW)}
    assert set(changed) == {ids[0], ids[1]}
    assert changed[ids[0]].state == "needs_attention" and changed[ids[0]].unknown_post == 1
    assert "interrupted while sending post 1 of 3" in changed[ids[0]].note
    assert changed[ids[1]].state == "approved" and "before sending anything" in changed[ids[1]].note
    assert outbox.get(ids[2]).state == "publishing"  # another host: cannot tell (SQLite), or its lease is live
    assert outbox.get(ids[3]).state == "publishing"  # this process: alive
    assert outbox.recover(NOW) == []


def test_on_postgresql_a_claim_whose_lease_ran_out_on_another_host_is_settled(pg_url, tmp_path):
    outbox = Outbox.open(pg_url)
    try:
        ids = [store(outbox, tmp_path / "in", f"{n}.md").publications[0] for n in "abc"]
        for pub_id in ids:
            outbox.approve(pub_id, now=NOW)
            outbox.claim(pub_id, NOW)
        outbox.begin_post(ids[0], 0, now=NOW)
        outbox.begin_post(ids[2], 0, now=NOW)
        other = "host-b:4242:777:0123-abcd:4026531836"
        outbox.db.execute("UPDATE publications SET owner = ? WHERE id IN (?, ?)", (other + "/1", ids[0], ids[1]))
        outbox.db.execute("INSERT INTO publisher_leases (process, host, pid, beat_at) "
                          "VALUES (?, 'host-b', 4242, clock_timestamp())", (other,))
        assert outbox.recover(NOW) == []  # host-b beats: its claims are its own
        with pytest.raises(StoreError, match="being published by"):
            outbox.claim(ids[0], NOW)
        outbox.db.execute("UPDATE publisher_leases SET beat_at = clock_timestamp() - interval '1 hour' "
                          "WHERE process = ?", (other,))
        changed = {p.id: p for p in outbox.recover(NOW)}
        assert set(changed) == {ids[0], ids[1]}
        assert changed[ids[0]].state == "needs_attention" and changed[ids[0]].unknown_post == 1
        assert "interrupted while sending post 1 of 3" in changed[ids[0]].note
        assert changed[ids[1]].state == "approved"
        assert outbox.get(ids[2]).state == "publishing"  # this process: alive, whatever its lease says
        # this process's own lease is beaten from a thread, on its own connection
        mine = outbox.db.execute("SELECT count(*) FROM publisher_leases WHERE beat_at > clock_timestamp() - "
                                 "interval '1 minute' AND pid = ?", (os.getpid(),)).fetchone()[0]
        assert mine == 1
    finally:
        outbox.close()


def test_two_threads_of_one_process_never_publish_the_same_thread(outbox, tmp_path):
    import threading

    pub_id = store(outbox, tmp_path / "in").publications[0]
    outbox.approve(pub_id, now=NOW)
    outbox.claim(pub_id, NOW)
    errors = []
    release = threading.Event()

    def other_job():
        try:
            outbox.claim(pub_id, NOW)
        except StoreError as exc:
            errors.append(str(exc))
        release.wait(5)

    job = threading.Thread(target=other_job)
    job.start()
    job.join(0.5)
    assert errors and "being published by pid" in errors[0]
    release.set()
    job.join()

    # a job thread that died holding a claim with a post in flight is settled like a dead process
    second = store(outbox, tmp_path / "in", "b.md").publications[0]
    outbox.approve(second, now=NOW)

    def dying_job():
        outbox.claim(second, NOW)
        outbox.begin_post(second, 0, now=NOW)

    job = threading.Thread(target=dying_job)
    job.start()
    job.join()
    (settled,) = outbox.recover(NOW)
    assert settled.id == second and settled.state == "needs_attention" and settled.unknown_post == 1
    assert outbox.get(pub_id).state == "publishing"  # this thread's claim is still alive


def test_approve_article_approves_every_platform_at_once(outbox, tmp_path):
    ing = store(outbox, tmp_path / "in", platforms=("x", "mastodon", "bluesky"))
    approved = outbox.approve_article(ing.article_id, now=NOW)
    assert sorted(p.id for p in approved) == sorted(ing.publications)
    assert {outbox.get(i).state for i in ing.publications} == {"approved"}
    assert outbox.approve_article(ing.article_id, now=NOW) == []  # nothing left in draft


def test_claim_counts_the_quota_in_the_database_with_threads_claimed_elsewhere(db_target, tmp_path):
    """Two processes (two hosts on PostgreSQL) on one queue: the last of the quota goes to one."""
    first, second = Outbox.open(db_target), Outbox.open(db_target)
    try:
        a, b, c = (store(first, tmp_path / "in", f"{n}.md", n_posts=2).publications[0] for n in "abc")
        for pub_id in (a, b, c):
            first.approve(pub_id, now=NOW)
        first.claim(a, NOW, quota=5)  # 2 of 5 reserved by a thread being published
        with pytest.raises(StoreError, match=r"2 posts to send, 1 of the x quota of 3 left"):
            second.claim(b, NOW, quota=3)
        assert second.get(b).state == "approved"  # refused: nothing changed
        assert second.claim(b, NOW, quota=4).state == "publishing"  # 2 + 2 fit in 4
        from publisher.platforms.base import PostRef

        for i in range(2):
            first.begin_post(a, i, now=NOW)
            first.record_post(a, i, PostRef(id=f"a{i}"), now=NOW)
        assert first.get(a).state == "posted"
        # a's 2 posts are in the window now, b still reserves 2: c (2 posts) does not fit in 5
        with pytest.raises(StoreError, match="1 of the x quota of 5 left"):
            first.claim(c, NOW + dt.timedelta(hours=1), quota=5)
        # a day later a's posts left the window
        assert first.claim(c, NOW + dt.timedelta(hours=25), quota=4).state == "publishing"
    finally:
        first.close()
        second.close()
