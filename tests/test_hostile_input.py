"""Hostile articles (#11): each crafted file is refused in bounded time with one line naming it,
and the good files beside it are still processed — through the real CLI, in a subprocess."""

from __future__ import annotations

import time

import pytest

from conftest import run_cli, subprocess_env
from publisher import limits
from publisher.errors import InputError
from publisher.articles.read import parse_article

GOOD = ("---\ntitle: 快手发布可灵\nauthor: 张三\nurl: https://example.com/a\n---\n\n"
        "快手本周发布了可灵大模型。它可以生成两分钟的视频。\n\n研究人员分析了生成效果，结果令人满意。\n")

_LOL = '["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'


def _laughs() -> str:
    lines = [f"a0: &a0 {_LOL}"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "---\n" + "\n".join(lines) + "\ntitle: *a8\ntags: *a8\n---\n\n快手发布了可灵。\n"


#: name -> (file text, words the one error line must contain)
CASES = {
    "laughs": (_laughs(), "aliases"),
    "alias-title": ("---\nt: &t 快手\ntitle: *t\n---\n\n快手发布了可灵。\n", "aliases"),
    "big-frontmatter": ("---\ntitle: x\nnote: " + "长" * (limits.MAX_FRONTMATTER_CHARS + 10) + "\n---\n\n正文。\n",
                        "frontmatter is"),
    "deep-yaml": ("---\ntitle: x\nt: " + "[" * 3000 + "]" * 3000 + "\n---\n\n快手发布了可灵。\n", "frontmatter"),
    "deep-toml": ("+++\ntitle = 'x'\nt = " + "[" * 3000 + "]" * 3000 + "\n+++\n\n快手发布了可灵。\n", "frontmatter"),
    "title-30k": ("---\ntitle: " + "a." * 15000 + "\n---\n\n快手发布了可灵。\n", "500-character limit"),
    "heading-title": ("# " + "快手发布了可灵" * 100 + "\n\n快手发布了可灵。\n", "title is"),
    "author": ("---\ntitle: x\nauthor: " + "张" * 3000 + "\n---\n\n快手发布了可灵。\n", "author is"),
    "tags": ("---\ntitle: x\ntags: [" + ",".join(f"t{i}" for i in range(500)) + "]\n---\n\n快手发布了可灵。\n",
             "tags"),
    "long-line": ("---\ntitle: x\n---\n\n" + "快手发布了可灵，" * 5000 + "\n", "characters, over the 20,000"),
    "quote-400": ("---\ntitle: 引用\n---\n\n" + ">" * 400 + " 快手发布了可灵。\n", "nested more than 8"),
    "list-1000-levels": ("---\ntitle: 列表\n---\n\n" + "".join("  " * i + "- 快手发布了可灵。\n" for i in range(1000)),
                         "nested more than 8"),
    "list-10k": ("---\ntitle: 列表\n---\n\n"
                 + "".join(f"- 快手第{i}次发布了可灵，用户可以申请测试资格，效果很好。\n" for i in range(10000)),
                 "list items"),
    "list-50k-lines": ("---\ntitle: 列表\n---\n\n" + "".join(f"- 项目{i}\n" for i in range(50000)), "list items"),
    "blocks": ("---\ntitle: x\n---\n\n" + "".join(f"快手发布了第{i}个模型。\n\n" for i in range(6000)), "blocks"),
    "images": ("---\ntitle: x\n---\n\n快手发布了可灵。\n\n" + "".join(f"![图{i}](https://e.com/{i}.png)\n\n"
                                                                 for i in range(300)), "images"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_limit_is_one_input_error_naming_the_file(tmp_path, name):
    text, words = CASES[name]
    path = tmp_path / f"{name}.md"
    started = time.monotonic()
    with pytest.raises(InputError) as err:
        parse_article(text.encode(), path)
    assert time.monotonic() - started < 5
    message = str(err.value)
    assert message.startswith(str(path)) and words in message and "\n" not in message


def test_limits_leave_real_articles_alone(tmp_path, seed_path):
    article = parse_article(seed_path.read_bytes(), seed_path)
    assert article.blocks and article.title


def test_nesting_within_the_limit_is_read(tmp_path):
    body = "".join("  " * i + f"- 第{i}层快手发布了可灵。\n" for i in range(limits.MAX_NESTING))
    article = parse_article(("---\ntitle: 列表\n---\n\n" + body).encode(), tmp_path / "ok.md")
    assert article.blocks[0].kind == "list" and f"第{limits.MAX_NESTING - 1}层" in article.blocks[0].text


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from tinymodel import install_tiny_package

    folder = tmp_path_factory.mktemp("hostile-models")
    install_tiny_package(tmp_path_factory, folder)
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("command", ["ingest", "preview"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_cli_bad_file_between_two_good_ones(tmp_path, models, command, name):
    text, words = CASES[name]
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "a_good.md").write_text(GOOD, encoding="utf-8")
    (inbox / f"m_{name}.md").write_text(text, encoding="utf-8")
    (inbox / "z_good.md").write_text(GOOD.replace("本周", "今天"), encoding="utf-8")
    env = subprocess_env(PUBLISHER_DB=str(tmp_path / "q.db"), PUBLISHER_MODELS_DIR=str(models),
                         PUBLISHER_HOME=str(tmp_path / "home"), PUBLISHER_DEBUG="")
    started = time.monotonic()
    proc = run_cli(command, str(inbox), env=env, cwd=tmp_path, timeout=120)
    elapsed = time.monotonic() - started
    assert proc.returncode == 1, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    assert f"m_{name}.md" in errors[0] and words in errors[0]
    assert "Traceback" not in proc.stderr and "Fatal" not in proc.stderr
    if command == "ingest":
        assert "a_good.md" in proc.stdout and "z_good.md" in proc.stdout and "2 queued" in proc.stderr + proc.stdout
    else:
        assert "a_good.md" in proc.stdout and "z_good.md" in proc.stdout and "2 read, 1 failed" in proc.stderr + proc.stdout
    assert elapsed < 30  # a few seconds alone; generous for a shared, busy machine
