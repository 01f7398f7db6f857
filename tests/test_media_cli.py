"""The commands with images: preview, ingest, show and edit in real subprocesses, images served
from loopback under their real host names."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import media_fixtures as mf
from conftest import SEED, subprocess_env
from publisher.articles.read import read_article

TESTS = Path(__file__).parent


def cli(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", mf.BOOTSTRAP, *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture
def served():
    with mf.ImageServer() as server:
        mf.serve_seed_images(server, read_article(SEED))
        yield server


@pytest.fixture
def env(served):
    return subprocess_env(FAKE_MEDIA_URL=served.base_url, FAKE_MEDIA_TESTS=str(TESTS))


def test_preview_lists_each_image_with_post_bytes_alt_and_credit(env, served, tmp_path):
    proc = cli("preview", str(SEED), "--platform", "all", env=env)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.count("post 1: image") == 3, out  # one lead image per platform
    assert "alt: " in out and "credit: https://x.com/CharaspowerAI/status/1799494388462063632" in out
    assert "Image: CharaspowerAI on X" in out
    assert " → " in out and "KB" in out
    # JSON: the same, with bytes before and after fitting
    as_json = json.loads(cli("preview", str(SEED), "--platform", "bluesky", "--json", env=env).stdout)
    [image] = as_json["articles"][0]["threads"]["bluesky"]["images"]
    assert image["post"] == 1 and image["bytes_before"] > 0 and 0 < image["bytes_after"] <= 1_000_000
    assert image["animated"] is False and "CharaspowerAI" in image["alt"]
    hits = len(served.hits)
    # the second preview fetched nothing: the media store remembered the URL
    assert len(served.hits) == hits


def test_no_images_gives_a_text_only_thread_with_a_warning(env):
    proc = cli("preview", str(SEED), "--no-images", env=env)
    assert proc.returncode == 0 and "post 1: image" not in proc.stdout
    assert "images left out (--no-images)" in proc.stdout


def test_offline_preview_is_text_only_with_one_warning(tmp_path):
    env = subprocess_env()  # no loopback routing: the net guard refuses mmbiz.qpic.cn
    proc = subprocess.run([sys.executable, "-m", "publisher", "preview", str(SEED)], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "post 1: image" not in proc.stdout
    assert proc.stdout.count("images not fetched (mmbiz.qpic.cn") == 1


def test_ingest_show_and_edit_images(env, served, tmp_path, isolated_env):
    import factories
    from publisher.media.fetch import Fetcher
    from publisher.queue.outbox import Outbox
    from publisher.app import Pipeline, ingest_file
    from publisher.translate.base import FakeTranslator

    # ingest as `publisher ingest` does, with readable English (the phrasebook) and images from loopback
    pipeline = Pipeline(translator=FakeTranslator(factories.load_phrasebook()))
    pipeline.images = "lead"
    pipeline.fetcher = Fetcher(transport=mf.routed(served.base_url))
    with Outbox.open() as outbox:
        ingested = ingest_file(SEED, outbox, pipeline, ("x", "bluesky"))
        assert [len(outbox.thread(p).media) for p in ingested.publications] == [1, 1]
    pipeline.close()
    show = cli("show", "1", env=env)
    assert "▸ post 1: image" in show.stdout and "credit: https://x.com/CharaspowerAI" in show.stdout, show.stdout + show.stderr
    data = json.loads(cli("show", "1", "--json", env=env).stdout)
    assert data["images"][0]["post"] == 1 and data["uploads"] == []
    before = data["content_hash"]
    assert cli("approve", "1", env=env).returncode == 0
    # change the alt text: a new draft, the approval withdrawn
    proc = cli("edit", "1", "--alt", "1=A bowl of noodles eaten in a generated video.", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "approval was withdrawn" in proc.stdout
    data = json.loads(cli("show", "1", "--json", env=env).stdout)
    assert data["state"] == "draft" and data["content_hash"] != before
    assert data["images"][0]["alt"].startswith("A bowl of noodles") and data["images"][0]["alt"].endswith(
        "(Image: https://x.com/CharaspowerAI/status/1799494388462063632)")
    # replace it with a local file, then drop it
    picture = tmp_path / "mine.jpg"
    picture.write_bytes(mf.jpeg_with_exif())
    proc = cli("edit", "1", "--image", f"1={picture}", "--credit", "Publisher staff", env=env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(cli("show", "1", "--json", env=env).stdout)
    assert data["images"][0]["credit"] == "Publisher staff" and "Image: Publisher staff" in data["posts"][0]["text"]
    assert "CharaspowerAI" not in data["posts"][0]["text"]
    proc = cli("edit", "1", "--drop-image", "1", env=env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(cli("show", "1", "--json", env=env).stdout)
    assert data["images"] == [] and "Image:" not in data["posts"][0]["text"]
    bad = cli("edit", "1", "--drop-image", "1", env=env)
    assert bad.returncode != 0 and "post 1 has no image" in bad.stderr
