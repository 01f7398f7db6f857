"""Crash test: a real worker process publishing real threads to the fake X is SIGKILLed at
random moments, again and again.

After every kill the test checks, against what the fake X actually received:
* every post id in the database is the id X gave that exact post;
* a post X has that the database does not know is the one post that was in flight, and the
  publication is in needs_attention naming exactly that post;
* nothing approved was lost (no publication fell back to draft or vanished).
Then it settles each needs_attention item as a person would (looks at the account, runs
`publisher resolve ID --posted --post-id ID` or `--not-posted`) and restarts the worker.
At the end every thread is complete, X received every post exactly once (no request was ever
repeated, not even one X would have refused as a duplicate), and every reply chain is intact
and in order.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from conftest import run_cli, subprocess_env
from factories import store, thread_texts
from fake_x import FakeX, x_env
from publisher.queue.outbox import Outbox

TESTS = Path(__file__).parent
RUNS = 30
SEED = int(os.environ.get("CRASH_SEED", "20240614"))


def start_worker(env: dict[str, str]) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, str(TESTS / "crash_worker.py")], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.strip() == "ready", (line, proc.stderr.read() if proc.poll() is not None else "")
    return proc


def snapshot(db_path: Path) -> dict[int, dict]:
    """What the database says, read as another process would see it after the crash."""
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        pubs = {}
        for pub_id, state, n_posts, posted, inflight, unknown, stem in db.execute(
                "SELECT p.id, p.state, p.n_posts, p.posted_count, p.inflight_index, p.unknown_index, a.path "
                "FROM publications p JOIN articles a ON a.id = p.article_id"):
            ids = dict(db.execute("SELECT idx, post_id FROM post_results WHERE publication_id = ?", (pub_id,)))
            pubs[pub_id] = {"state": state, "n": n_posts, "posted": posted, "inflight": inflight, "unknown": unknown,
                            "texts": thread_texts(Path(stem).stem, n_posts), "ids": ids}
        return pubs
    finally:
        db.close()


def check_against_x(fake: FakeX, pubs: dict[int, dict]) -> None:
    by_text = {t.text: t for t in fake.tweets}
    created = Counter(r.text for r in fake.received if r.outcome.startswith("created"))
    assert all(n == 1 for n in created.values()), f"posted twice: {[t for t, n in created.items() if n > 1]}"
    refused = [r for r in fake.received if not r.outcome.startswith("created") and r.outcome != "abandoned"]
    assert refused == [], f"X refused requests (a duplicate would be one): {refused}"
    for r in fake.received:  # a request is repeated only after the earlier one was not processed
        assert created[r.text] <= 1
    assert len(by_text) == len(fake.tweets)
    for pub_id, pub in pubs.items():
        assert pub["state"] not in ("draft", "rejected"), f"approved publication {pub_id} was lost: {pub}"
        assert sorted(pub["ids"]) == list(range(pub["posted"]))
        open_index = pub["inflight"] if pub["inflight"] is not None else pub["unknown"]
        for index, text in enumerate(pub["texts"]):
            tweet = by_text.get(text)
            if index in pub["ids"]:
                assert tweet is not None and pub["ids"][index] == tweet.id, (pub_id, index)
            elif tweet is not None:
                assert index == open_index, f"{pub_id}: post {index + 1} is on X but unknown to the database"
            if tweet is not None and index > 0:
                parent = by_text.get(pub["texts"][index - 1])
                assert parent is not None and tweet.in_reply_to == parent.id, f"{pub_id}: chain broken at {index + 1}"
            if tweet is None and index < pub["posted"]:
                raise AssertionError(f"{pub_id}: post {index + 1} recorded but not on X")


@pytest.mark.slow
def test_sigkill_at_random_points_never_posts_twice(tmp_path, isolated_env):
    rng = random.Random(SEED)
    db_path = isolated_env / "publisher.db"
    with FakeX(process_delay=(0.0, 0.03), answer_delay=(0.0, 0.03), abandon_if_client_gone=0.5) as fake:
        env = subprocess_env(**x_env(fake), FAKE_X_URL=fake.base_url)
        outbox = Outbox.open(db_path)
        batch = 0

        def add_threads() -> None:
            nonlocal batch
            batch += 1
            for i in range(3):
                ing = store(outbox, tmp_path / "in", f"b{batch}t{i}.md", n_posts=rng.randint(3, 6))
                outbox.approve(ing.publications[0])

        add_threads()
        stats = Counter()
        run = 0
        # RUNS kills; more (up to twice as many) until both kinds of interrupted post were seen
        while run < RUNS or (run < 2 * RUNS and not (stats["in flight, processed"] and stats["in flight, not processed"])):
            run += 1
            if all(p["state"] == "posted" for p in snapshot(db_path).values()):
                add_threads()
            worker = start_worker(env)
            time.sleep(rng.uniform(0.0, 0.35))
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            stats["killed" if worker.returncode == -signal.SIGKILL else "finished"] += 1
            fake.wait_idle()
            stats["abandoned"] = sum(r.outcome == "abandoned" for r in fake.received)

            before = snapshot(db_path)
            check_against_x(fake, before)
            in_flight = {pub_id: p["inflight"] for pub_id, p in before.items()
                         if p["state"] == "publishing" and p["inflight"] is not None}
            # the next reader settles what the dead process left: exactly the posts in flight
            outbox.recover()
            after = snapshot(db_path)
            attention = {pub_id: p["unknown"] for pub_id, p in after.items() if p["state"] == "needs_attention"}
            assert attention == in_flight
            assert not any(p["state"] == "publishing" for p in after.values())
            for pub_id, index in attention.items():
                listing = run_cli("queue", "--state", "needs_attention", "--json", env=env)
                row = next(r for r in json.loads(listing.stdout)["publications"] if r["id"] == pub_id)
                assert row["unknown_post"] == index + 1 and f"post {index + 1} of" in row["note"]
                tweet = next((t for t in fake.tweets if t.text == after[pub_id]["texts"][index]), None)
                if tweet is not None:
                    stats["in flight, processed"] += 1
                    proc = run_cli("resolve", str(pub_id), "--posted", "--post-id", tweet.id, env=env)
                else:
                    stats["in flight, not processed"] += 1
                    proc = run_cli("resolve", str(pub_id), "--not-posted", env=env)
                assert proc.returncode == 0, proc.stderr
            check_against_x(fake, snapshot(db_path))

        worker = subprocess.run([sys.executable, str(TESTS / "crash_worker.py")], env=env, capture_output=True,
                                text=True, timeout=120)
        assert worker.returncode == 0 and worker.stdout.strip().endswith("done"), worker.stderr
        final = snapshot(db_path)
        check_against_x(fake, final)
        assert all(p["state"] == "posted" for p in final.values()), final
        expected = [text for p in final.values() for text in p["texts"]]
        assert sorted(t.text for t in fake.tweets) == sorted(expected)
        assert len(fake.tweets) == len(expected)
        assert Counter(r.outcome for r in fake.received) == Counter(
            {"created": len(expected), **({"abandoned": stats["abandoned"]} if stats["abandoned"] else {})})
        print(f"\ncrash test (seed {SEED}): {dict(stats)}; {len(final)} threads, {len(expected)} posts")
        assert stats["killed"] >= RUNS // 2
        assert stats["in flight, processed"] >= 1 and stats["in flight, not processed"] >= 1
        outbox.close()
