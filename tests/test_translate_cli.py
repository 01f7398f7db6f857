"""`publisher translate`: .en.md files with their frontmatter, skips, bad files, the cache."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import yaml
from click.testing import CliRunner

from conftest import run_cli, subprocess_env
from publisher.cli import cli

URL_RE = re.compile(r"https?://[^\s)\]>]+")


def read_doc(path: Path) -> tuple[dict, str]:
    text = path.read_text(encoding="utf-8")
    _, head, body = text.split("---\n", 2)
    return yaml.safe_load(head), body


def test_translate_seed_writes_english_markdown_with_frontmatter(models, seed_path, tmp_path):
    out = tmp_path / "out"
    proc = run_cli("translate", str(seed_path), "-o", str(out), env=subprocess_env(PUBLISHER_MODELS_DIR=str(models)))
    assert proc.returncode == 0, proc.stderr
    target = out / "000_effdbda2e4cb0846.en.md"
    assert f"→ {target}" in proc.stdout
    meta, body = read_doc(target)
    assert meta["original_title"] == "快手「可灵」爆火：海外AI圈巨震，中国版Sora一号难求"
    assert "Kuaishou" in meta["title"] and "Kling" in meta["title"]
    assert meta["author"] == "ByteAILab"
    assert str(meta["date"]) == "2024-06-14"
    assert meta["source_url"] is None  # the seed's frontmatter gives no link
    assert meta["source_file"] == "000_effdbda2e4cb0846.txt"
    assert meta["source_hash"] == __import__("hashlib").sha256(seed_path.read_bytes()).hexdigest()
    assert meta["model"] == "translate-zh_en" and meta["model_version"] == "0.1"
    assert meta["machine_translated"] is True and meta["language"] == "en"
    source = seed_path.read_text(encoding="utf-8").split("---", 2)[2]
    assert Counter(URL_RE.findall(body)) == Counter(URL_RE.findall(source))


def test_frontmatter_keeps_source_url_and_description(models, tmp_path):
    src = tmp_path / "post.md"
    src.write_text("---\ntitle: 可灵发布了新版本\nurl: https://example.com/p/1\ndescription: 快手的视频模型更新了。\n"
                   "date: 2024-06-14T08:30:00+08:00\n---\n\n快手推出了新的文生视频功能，用户可以申请试用。\n",
                   encoding="utf-8")
    result = CliRunner().invoke(cli, ["translate", str(src)])
    assert result.exit_code == 0, result.output
    meta, _ = read_doc(tmp_path / "post.en.md")
    assert meta["source_url"] == "https://example.com/p/1"
    assert meta["original_description"] == "快手的视频模型更新了。" and meta["description"]
    assert meta["date"] == "2024-06-14T08:30:00+08:00"


def test_non_chinese_skipped_bad_files_reported_others_translated(models, seed_path, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.md").write_bytes(seed_path.read_bytes())
    (inbox / "en.md").write_text("This is an English article. It is not translated at all.\n", encoding="utf-8")
    (inbox / "fr.md").write_text("Ceci est un article en français. Il ne sera pas traduit par le modèle.\n",
                                 encoding="utf-8")
    (inbox / "bad.md").write_text("---\ntitle: [oops\n---\n正文内容在这里。\n", encoding="utf-8")
    (inbox / "a.en.md").write_text("old output, never read as an article\n", encoding="utf-8")
    proc = run_cli("translate", str(inbox), env=subprocess_env(PUBLISHER_MODELS_DIR=str(models)))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "skipped" in proc.stderr and "en.md: not Chinese (detected en)" in proc.stderr
    assert "fr.md: not Chinese (detected fr)" in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "bad.md" in errors[0] and "invalid YAML" in errors[0]
    assert (inbox / "a.en.md").read_text(encoding="utf-8").startswith("---\ntitle:")
    assert not (inbox / "en.en.md").exists() and not (inbox / "fr.en.md").exists()
    assert "1 translated, 2 skipped, 1 failed" in proc.stderr


def test_no_model_installed_fails_each_chinese_file_with_the_fix(tmp_path, seed_path):
    env = subprocess_env(PUBLISHER_MODELS_DIR=str(tmp_path / "none"))
    proc = run_cli("translate", str(seed_path), "-o", str(tmp_path / "out"), env=env)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "no zh→en translation model installed" in proc.stderr and "publisher models install" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_second_run_loads_no_model(models, seed_path, tmp_path, monkeypatch):
    from publisher.translate import argos

    runner = CliRunner()
    first = runner.invoke(cli, ["translate", str(seed_path), "-o", str(tmp_path / "out")])
    assert first.exit_code == 0, first.output
    before = (tmp_path / "out" / "000_effdbda2e4cb0846.en.md").read_text(encoding="utf-8")

    def no_model_work(self, *args, **kwargs):
        raise AssertionError("the model was used on the second run")

    monkeypatch.setattr(argos.ArgosTranslator, "load", no_model_work)
    monkeypatch.setattr(argos.ArgosTranslator, "translate_sentences", no_model_work)
    second = runner.invoke(cli, ["translate", str(seed_path), "-o", str(tmp_path / "out")])
    assert second.exit_code == 0, second.output
    m = re.search(r"\((\d+) sentences, (\d+) from the cache", second.output)
    assert m and int(m.group(1)) == int(m.group(2)) > 0, second.output
    assert (tmp_path / "out" / "000_effdbda2e4cb0846.en.md").read_text(encoding="utf-8") == before
    assert (Path.cwd() / "home" / "translations.db").is_file()


def test_traditional_chinese_is_translated_with_a_note(models, tmp_path):
    src = tmp_path / "zt.md"
    src.write_text("---\ntitle: 繁體中文文章\n---\n\n這是一篇繁體中文的文章，討論人工智慧與機器學習的發展。\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["translate", str(src)])
    assert result.exit_code == 0, result.output
    assert "Traditional Chinese translated with the Simplified Chinese model" in result.output
    meta, _ = read_doc(tmp_path / "zt.en.md")
    assert meta["original_language"] == "zh-Hant"
    assert any("Traditional" in n for n in meta["translation_notes"])
