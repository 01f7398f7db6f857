"""`publisher preview`: threads in the terminal, with or without a model, and as JSON."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

import factories
from conftest import run_cli, subprocess_env
from publisher.cli.preview import show_preview
from publisher.preview import Translation, preview_article
from publisher.articles.read import read_article
from publisher.lengths import measure
from publisher.threads.options import ThreadOptions
from publisher.translate.base import FakeTranslator


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def test_preview_without_a_model_shows_untranslated_x_thread_loudly(seed_path, isolated_env):
    proc = run_cli("preview", str(seed_path))
    assert proc.returncode == 0, proc.stderr
    assert "UNTRANSLATED" in proc.stderr and "publisher models install" in proc.stderr
    out = proc.stdout
    assert "x thread: 6 posts, limit 280" in out
    assert "mastodon thread" not in out and "bluesky thread" not in out  # x is the default
    assert "1/6 hook" in out and "6/6 attribution" in out
    assert "NOT TRANSLATED" in out and "Chinese left untranslated" in out
    assert "Machine-translated" not in out  # nothing was machine-translated
    assert "ByteAILab" in out and "thank-you footer" in out  # the ingest header is still there
    assert files_under(isolated_env) == []  # no queue, no cache, nothing written


def test_preview_json_all_platforms(seed_path):
    proc = run_cli("preview", "--json", "--platform", "all", str(seed_path))
    assert proc.returncode == 0, proc.stderr
    (article,) = json.loads(proc.stdout)["articles"]
    assert article["author"] == "ByteAILab"
    assert article["translation"]["translated"] is False
    assert set(article["threads"]) == {"x", "mastodon", "bluesky"}
    for platform, thread in article["threads"].items():
        assert thread["posts"][0]["role"] == "hook" and thread["posts"][-1]["role"] == "attribution"
        for post in thread["posts"]:
            assert post["length"] == measure(platform, post["text"]) <= post["limit"]
        assert len(thread["content_hash"]) == 64


def test_preview_options_reach_the_threads(seed_path, tmp_path):
    proc = run_cli("preview", "--json", "--points", "2", "--max-posts", "4", "--limit", "x=25000", str(seed_path))
    assert proc.returncode == 0, proc.stderr
    thread = json.loads(proc.stdout)["articles"][0]["threads"]["x"]
    assert [p["role"] for p in thread["posts"]] == ["hook", "point", "point", "attribution"]
    assert thread["posts"][0]["limit"] == 25000
    bad = run_cli("preview", "--limit", "x:25", str(seed_path))
    assert bad.returncode == 2 and "PLATFORM=N" in bad.stderr and "Traceback" not in bad.stderr
    small = run_cli("preview", "--limit", "x=5", str(seed_path))
    assert small.returncode == 1 and small.stderr.strip().splitlines()[-1].startswith("error: post limit for x")


def test_preview_with_a_broken_user_template_is_one_clear_line(seed_path, tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "thread.j2").write_text("{% macro hook(a, post) %}{{ a.title }{% endmacro %}")
    proc = run_cli("preview", str(seed_path), cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "thread.j2:1" in proc.stderr and "Traceback" not in proc.stderr


def test_side_by_side_puts_the_chinese_source_beside_each_point(seed_path):
    from rich.console import Console

    translation = Translation(FakeTranslator(factories.load_phrasebook()))
    preview = preview_article(read_article(seed_path), ("x",), ThreadOptions(), translation)
    buffer = io.StringIO()
    show_preview(preview, side_by_side=True, console=Console(file=buffer, width=160, color_system=None))
    lines = buffer.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if "Emad Mostaque, former CEO" in line)
    beside = " ".join(lines[start - 1 : start + 2])  # the panel's rows, with the source to their right
    assert "Stability AI 前 CEO Emad Mostaque 表示" in beside
    assert "glossary terms used" in buffer.getvalue() and "可灵" in buffer.getvalue()


@pytest.mark.slow
def test_preview_with_the_tiny_real_format_model(seed_path, tmp_path, tmp_path_factory, isolated_env):
    from tinymodel import install_tiny_package

    models = tmp_path / "models"
    install_tiny_package(tmp_path_factory, models)
    env = subprocess_env(PUBLISHER_MODELS_DIR=str(models))
    proc = run_cli("preview", "--json", "--platform", "all", str(seed_path), env=env)
    assert proc.returncode == 0, proc.stderr
    assert "UNTRANSLATED" not in proc.stderr
    (article,) = json.loads(proc.stdout)["articles"]
    assert article["translation"]["translated"] is True
    assert article["translation"]["model"] == "translate-zh_en"
    for platform, thread in article["threads"].items():
        assert thread["posts"][-1]["role"] == "attribution"
        assert "Machine-translated from Chinese" in thread["posts"][-1]["text"]
        for post in thread["posts"]:
            assert post["length"] == measure(platform, post["text"]) <= post["limit"]
    assert files_under(isolated_env) == []
