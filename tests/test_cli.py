"""The command line: fast start, help for every command, preview of files and folders."""

from __future__ import annotations

import json
import sys

import click
import pytest
from click.testing import CliRunner

from conftest import run_cli, subprocess_env
from publisher import __version__
from publisher.cli import cli

HEAVY = ["argostranslate", "ctranslate2", "psycopg", "psycopg_pool", "tweepy", "torch", "stanza", "mastodon", "atproto", "sentencepiece",
         "apscheduler", "spacy",
         # lighter, but not needed to list the commands either (regex: the counting code of publisher.lengths)
         "regex", "pydantic", "jinja2", "PIL", "httpx", "yaml", "rich", "frontmatter", "markdown_it", "twitter_text",
         "apprise", "feedparser", "trafilatura", "lxml"]


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys\n"
        "from publisher.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    import subprocess

    proc = subprocess.run([sys.executable, "-c", code], env=subprocess_env(), capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stdout, proc.stdout


def test_version():
    proc = run_cli("--version")
    assert proc.returncode == 0
    assert __version__ in proc.stdout


def _all_commands(group: click.Group, ctx: click.Context, prefix=""):
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        yield prefix + name, cmd
        if isinstance(cmd, click.Group):
            yield from _all_commands(cmd, ctx, prefix + name + " ")


def test_every_command_has_help_text():
    ctx = click.Context(cli)
    commands = list(_all_commands(cli, ctx))
    assert commands, "no commands registered"
    missing = [name for name, cmd in commands if not (cmd.help or "").strip()]
    assert missing == []


def test_preview_seed_shows_what_was_read(seed_path):
    proc = run_cli("preview", str(seed_path))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "快手「可灵」爆火" in out
    assert "ByteAILab" in out
    assert "2024-06-14" in out
    assert "zh-Hans" in out
    assert "thank-you footer" in out and "read-more banner" in out


def test_preview_json(seed_path):
    result = CliRunner().invoke(cli, ["preview", "--json", str(seed_path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    (article,) = data["articles"]
    assert article["author"] == "ByteAILab"
    assert article["language"] == "zh-Hans"
    assert len(article["images"]) == 13
    assert {b["reason"] for b in article["boilerplate"]} >= {"thank-you footer", "read-more banner"}


def test_preview_folder_with_bad_files_reports_each_and_fails(tmp_path, seed_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.md").write_bytes(seed_path.read_bytes())
    (inbox / "b.md").write_text("---\ntitle: [oops\n---\n正文内容在这里。\n", encoding="utf-8")
    (inbox / "c.txt").write_bytes(b"\x00\x01binary")
    (inbox / "d.md").write_bytes("正文".encode("gbk") * 20)
    proc = run_cli("preview", str(inbox), str(tmp_path / "nope.md"))
    assert proc.returncode == 1
    assert "快手「可灵」爆火" in proc.stdout  # the good file is still shown
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 4, proc.stderr
    for name, fragment in [("b.md", "invalid YAML"), ("c.txt", "NUL"), ("d.md", "UTF-8"), ("nope.md", "no such")]:
        assert any(name in e and fragment in e for e in errors), (name, errors)
    assert "Traceback" not in proc.stderr
    assert "1 read, 4 failed" in proc.stderr


def test_unexpected_error_is_one_line_without_debug(tmp_path, monkeypatch):
    monkeypatch.delenv("PUBLISHER_DEBUG")
    env = subprocess_env()
    env.pop("PUBLISHER_DEBUG", None)
    proc = run_cli("preview", env=env)  # missing argument: a usage error, not a traceback
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("args", [["--help"], ["preview", "--help"]])
def test_help_runs(args):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0
    assert "Usage" in result.output
