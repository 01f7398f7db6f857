"""Property (#11): any Markdown + frontmatter, however hostile, ends in a thread or in one error
line naming its file — within a time bound, in a real subprocess, never an abort, a traceback
or a hang. Bounded: a few batches of generated files, each batch one `publisher preview`."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import subprocess_env

_ZH = "快手发布了可灵大模型它可以生成两分钟的视频用户申请测试资格研究人员分析效果"
_ODD = ["\x1b]0;t\x07", "\u202e", "\u2066", "\x85", "\u200d", "👩‍💻", "🏳️‍🌈", "\ufeff", "\u00a0", "\t", "é",
        "@elonmusk", "#AI", "$TSLA", "javascript:alert(1)", "https://example.com/a?utm_source=x", "a.a.a.a",
        "Kuaishou. The", "1,080p", "QX1", "{{ a.title }}", "{% raw %}", "*", "_", "`", "<b>", "|", "[", "]", ">"]

text = st.lists(st.one_of(st.text(alphabet=_ZH, min_size=1, max_size=30), st.sampled_from(_ODD),
                          st.sampled_from(["。", "，", ". ", "! ", " ", "\n"])), max_size=25).map("".join)
long_text = st.builds(lambda piece, n: piece * n, st.sampled_from(["a.", "可灵", "word ", "x" * 50, "。"]),
                      st.integers(1, 12000))


def _yaml_value(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


frontmatter = st.one_of(
    st.just(""),
    st.builds(lambda title, author, extra: "---\n" + f"title: {_yaml_value(title)}\nauthor: {_yaml_value(author)}\n"
              + extra + "---\n\n", text, text, st.sampled_from(["", "tags: [a, b]\n", "date: 2024-06-14\n",
                                                                "url: https://example.com/x\n",
                                                                "t: &a [1, 2]\nu: *a\n", "x: " + "[" * 200 + "]" * 200
                                                                + "\n", "bad: [unclosed\n", "- a list\n"])),
    st.builds(lambda title: f"+++\ntitle = {_yaml_value(title)}\n+++\n\n", text),
    st.builds(lambda raw: "---\n" + raw + "\n---\n\n", text),
)


def _nested(kind: str, depth: int, inner: str) -> str:
    if kind == "quote":
        return ">" * depth + " " + inner + "\n"
    return "".join("  " * i + "- " + inner + "\n" for i in range(depth))


block = st.one_of(
    text.map(lambda t: t + "\n"),
    text.map(lambda t: "# " + t.replace("\n", " ") + "\n"),
    st.builds(_nested, st.sampled_from(["quote", "list"]), st.integers(1, 40), text.map(lambda t: t.replace("\n", " "))),
    text.map(lambda t: "```\n" + t + "\n```\n"),
    st.builds(lambda alt, n: "".join(f"![{alt}](https://e.com/{i}.png)\n" for i in range(n)), text, st.integers(1, 5)),
    text.map(lambda t: "| a | b |\n|---|---|\n| " + t.replace("\n", " ") + " | x |\n"),
    long_text.map(lambda t: t + "\n"),
    st.builds(lambda n: "".join(f"- 项目{i}\n" for i in range(n)), st.integers(1, 3000)),
)

document = st.builds(lambda fm, blocks: fm + "\n".join(blocks), frontmatter, st.lists(block, max_size=6))


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from tinymodel import install_tiny_package

    folder = tmp_path_factory.mktemp("property-models")
    install_tiny_package(tmp_path_factory, folder)
    return folder


BATCH = 6
TIME_BOUND = 60.0  # seconds for one batch of BATCH files (each alone takes a few seconds at most)


@pytest.mark.slow
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(document, min_size=BATCH, max_size=BATCH))
def test_every_file_ends_in_a_thread_or_one_error_line(tmp_path_factory, models, docs):
    folder = tmp_path_factory.mktemp("docs")
    names = []
    for i, doc in enumerate(docs):
        name = f"doc_{i:02d}.md"
        (folder / name).write_text(doc, encoding="utf-8", errors="surrogatepass")
        names.append(name)
    env = subprocess_env(PUBLISHER_MODELS_DIR=str(models), PUBLISHER_DEBUG="",
                         PUBLISHER_HOME=str(folder / ".home"))
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "publisher", "preview", str(folder)], env=env, capture_output=True,
                          text=True, timeout=TIME_BOUND * 2, cwd=str(folder))
    elapsed = time.monotonic() - started
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "Fatal Python error" not in proc.stderr, proc.stderr[-2000:]
    assert "internal error" not in proc.stderr, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    for name in names:
        failed = [e for e in errors if name in e]
        shown = any(line.strip().endswith(name) for line in proc.stdout.splitlines())
        assert (len(failed) == 1) != shown, (name, failed, shown, proc.stderr[-1000:])
    assert elapsed < TIME_BOUND, elapsed
