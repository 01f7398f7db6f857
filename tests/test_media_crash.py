"""Crash tests for threads with images: a real worker process, real SIGKILLs, the fake X.

* Killed exactly between the upload (media id committed) and the post: the restarted worker
  reuses the stored media id, uploads nothing again, and posts every post once.
* Killed at random moments while publishing threads with images (uploads included): every
  post is on X at most once, a post the database does not know is the one in flight
  (needs_attention), and at the end every image post carries exactly its image.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

import media_fixtures as mf
from conftest import run_cli, subprocess_env
from factories import make_article, make_thread, make_translated
from fake_x import FakeX, x_env
from publisher.queue.media import uploads_of
from publisher.media.store import MediaStore
from publisher.models import PostImage
from publisher.queue.outbox import Outbox

TESTS = Path(__file__).parent
WORKER = TESTS / "media_crash_worker.py"


def image_thread(outbox: Outbox, folder: Path, name: str, n_posts: int, images_on: tuple[int, ...], seed: int):
    """Store and approve an X thread with an image (made by Pillow, stored in the media store)."""
    article = make_article(folder, name)
    thread = make_thread(article, "x", n_posts=n_posts)
    store = MediaStore()
    pictures = []
    for post in images_on:
        data = mf.png(640, 360, seed=seed * 10 + post)
        sha = store.put(data)
        pictures.append(PostImage(post=post, sha256=sha, mime="image/png", width=640, height=360, size=len(data),
                                  original_sha256=sha, original_size=len(data), alt=f"{name} picture {post}",
                                  credit="https://x.com/someone/status/1", source=f"https://example.org/{name}/{post}.png"))
    from dataclasses import replace

    thread = replace(thread, media=tuple(pictures))
    ing = outbox.add_article(article, make_translated(article), {"x": thread})
    outbox.approve(ing.publications[0])
    return ing.publications[0], thread


def start(env):
    proc = subprocess.Popen([sys.executable, str(WORKER)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.poll() is not None else ""
    return proc


@pytest.mark.slow
def test_sigkill_between_upload_and_post_reuses_the_upload_and_posts_once(tmp_path, isolated_env):
    with FakeX() as fake:
        env = subprocess_env(**x_env(fake), FAKE_X_URL=fake.base_url)
        outbox = Outbox.open()
        pub_id, thread = image_thread(outbox, tmp_path / "in", "a.md", 4, (0, 2), seed=1)
        crashing = start({**env, "MEDIA_CRASH_AFTER_UPLOAD": "1"})
        out, err = crashing.communicate(timeout=60)
        assert crashing.returncode == -signal.SIGKILL, (out, err)
        assert "between upload and post" in out
        assert fake.tweets == [] and len(fake.media) == 1  # uploaded, nothing posted
        [stored] = uploads_of(outbox.db, pub_id)
        assert stored["media_id"] in fake.media
        # the next start: the claim of the dead process is settled (nothing was in flight)
        done = subprocess.run([sys.executable, str(WORKER)], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and done.stdout.strip().endswith("done"), done.stderr
        assert outbox.get(pub_id).state == "posted"
        assert len(fake.tweets) == 4 and len({t.text for t in fake.tweets}) == 4
        with_media = [t for t in fake.tweets if t.media_ids]
        assert [t.text for t in with_media] == [thread.posts[0].text, thread.posts[2].text]
        assert with_media[0].media_ids == (stored["media_id"],)  # the stored upload was reused
        assert len(fake.media) == 2  # ...and only post 3's image was uploaded after the restart
        for tweet, picture in zip(with_media, thread.media):
            assert fake.media[tweet.media_ids[0]].data == MediaStore().get(picture.sha256)
            assert fake.media[tweet.media_ids[0]].alt == picture.alt
        rerun = subprocess.run([sys.executable, str(WORKER)], env=env, capture_output=True, text=True, timeout=60)
        assert rerun.returncode == 0 and len(fake.tweets) == 4
        outbox.close()


@pytest.mark.slow
def test_sigkill_at_random_points_of_threads_with_images_never_posts_twice(tmp_path, isolated_env):
    rng = random.Random(20240614)
    with FakeX(process_delay=(0.0, 0.03), answer_delay=(0.0, 0.03)) as fake:
        env = subprocess_env(**x_env(fake), FAKE_X_URL=fake.base_url)
        outbox = Outbox.open()
        threads = {}
        for i in range(4):
            n = rng.randint(3, 5)
            on = tuple(sorted(rng.sample(range(n - 1), 2)))
            pub_id, thread = image_thread(outbox, tmp_path / "in", f"t{i}.md", n, on, seed=i + 2)
            threads[pub_id] = thread
        stats = Counter()
        for _ in range(14):
            worker = start(env)
            time.sleep(rng.uniform(0.0, 0.6))
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            stats["killed" if worker.returncode == -signal.SIGKILL else "finished"] += 1
            fake.wait_idle()
            created = Counter(t.text for t in fake.tweets)
            assert all(c == 1 for c in created.values()), "posted twice"
            outbox.recover()
            for pub_id in threads:
                pub = outbox.get(pub_id)
                if pub.state == "needs_attention" and pub.unknown_index is not None:
                    text = threads[pub_id].posts[pub.unknown_index].text
                    tweet = next((t for t in fake.tweets if t.text == text), None)
                    args = ["--posted", "--post-id", tweet.id] if tweet else ["--not-posted"]
                    stats["resolved posted" if tweet else "resolved not posted"] += 1
                    proc = run_cli("resolve", str(pub_id), *args, env=env)
                    assert proc.returncode == 0, proc.stderr
        final = subprocess.run([sys.executable, str(WORKER)], env=env, capture_output=True, text=True, timeout=120)
        assert final.returncode == 0, final.stderr
        assert all(outbox.get(p).state == "posted" for p in threads), [outbox.get(p).note for p in threads]
        expected = [p.text for t in threads.values() for p in t.posts]
        assert sorted(t.text for t in fake.tweets) == sorted(expected)
        by_text = {t.text: t for t in fake.tweets}
        for thread in threads.values():
            for index, post in enumerate(thread.posts):
                tweet = by_text[post.text]
                pictures = [m for m in thread.media if m.post == index]
                assert len(tweet.media_ids) == len(pictures)
                for media_id, picture in zip(tweet.media_ids, pictures):
                    assert fake.media[media_id].data == MediaStore().get(picture.sha256)
        stats["uploads"] = len(fake.media)
        stats["image posts"] = sum(len(t.media) for t in threads.values())
        print(f"\nmedia crash test: {dict(stats)}")
        assert stats["killed"] >= 7
        outbox.close()
