"""The argos backend on a real (tiny, random-weight) argos package: loading, decoding, isolation."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter

import pytest

from conftest import subprocess_env
from publisher.articles.blocks import parse_blocks
from publisher.errors import ModelError
from publisher.articles.read import read_article
from publisher.translate.argos import ArgosTranslator, DecodingOptions, load_translator
from publisher.translate.packages import read_package
from publisher.translate.article import TranslationStats, translate_article
from tinymodel import install_tiny_package

URL_RE = re.compile(r"https?://[^\s)\]>]+")
IMAGE_RE = re.compile(r"!\[[^\]]*\]\([^)]*\)")


def test_load_translator_finds_the_installed_package(models):
    t = load_translator()
    assert t.name == "translate-zh_en" and t.version == "0.1"
    assert t.package.path.parent == models


def test_translations_are_deterministic_and_one_per_sentence(models):
    t = load_translator()
    sentences = ["快手推出了文生视频大模型。", "", "这是 QX1 测试。", "快手推出了文生视频大模型。"]
    first = t.translate_sentences(sentences)
    assert len(first) == 4 and first[1] == ""
    assert first[0] == first[3] and first[0]
    assert "_" not in "".join(first) and "▁" not in "".join(first)
    again = ArgosTranslator(read_package(t.package.path)).translate_sentences(sentences)
    assert again == first


def test_decoding_is_bounded_relative_to_the_source(models):
    t = load_translator()
    t.load()
    short = [t._sp.encode("快手。", out_type=str)]
    long = [t._sp.encode("快手推出了文生视频大模型，" * 20, out_type=str)]
    assert t.decoding_cap(short) == int(len(short[0]) * 2.0) + 10
    assert t.decoding_cap(long) == min(256, int(len(long[0]) * 2.0) + 10)
    fixed = ArgosTranslator(t.package, DecodingOptions(max_decoding_length=7))
    assert fixed.decoding_cap(long) == 7
    # random weights never emit </s>: the output stops at the cap
    out = fixed.translate_sentences(["快手推出了文生视频大模型。"])[0]
    fixed.load()
    assert len(fixed._sp.encode(out, out_type=str)) <= 8


def test_long_bounds_get_smaller_batches(models):
    t = load_translator()
    assert t.batch_size(64) == 8  # the default batch
    assert t.batch_size(160) == 4 and t.batch_size(256) == 2
    small = ArgosTranslator(t.package, DecodingOptions(max_batch_size=2))
    assert small.batch_size(10) == 2


def test_one_batched_call_per_article(models, seed_path, monkeypatch):
    t = load_translator()
    t.load()
    calls = []
    real = t._model.translate_batch

    def spy(batch, **kwargs):
        calls.append((len(batch), kwargs))
        return real(batch, **kwargs)

    monkeypatch.setattr(t, "_model", type("Spy", (), {"translate_batch": staticmethod(spy)})())
    stats = TranslationStats()
    translate_article(read_article(seed_path), t, stats=stats)
    # one call for the article's sentences; random weights lose every placeholder, so the
    # pieces go in one more call
    assert len(calls) == stats.calls == 2
    assert calls[0][0] == stats.sentences
    assert calls[0][1]["beam_size"] == 4 and calls[0][1]["length_penalty"] == 0.2
    assert calls[0][1]["replace_unknowns"] is True and calls[0][1]["max_decoding_length"] <= 256
    assert calls[0][1]["max_batch_size"] * calls[0][1]["max_decoding_length"] <= 640


def test_seed_with_the_tiny_model_keeps_urls_images_and_structure(models, seed_path):
    a = read_article(seed_path)
    t = translate_article(a, load_translator())
    assert t.translated and t.model == "translate-zh_en" and t.model_version == "0.1"
    assert Counter(URL_RE.findall(t.markdown)) == Counter(URL_RE.findall(a.body))
    assert Counter(IMAGE_RE.findall(t.markdown)) == Counter(IMAGE_RE.findall(a.body))
    as_parsed = {"credit": "paragraph"}
    assert [b.kind for b in parse_blocks(t.markdown)] == [as_parsed.get(b.kind, b.kind) for b in a.blocks]
    # glossary names and Latin-script names survive even a model that outputs noise
    for name in ("Kuaishou", "Kling", "Synced", "Cheetah Mobile", "OrionStar", "Fu Sheng", "Emad Mostaque",
                 "Stability AI", "Patrick Cederberg", "1080P", "30fps"):
        assert name in t.markdown, name
    assert "[Synced](https://waytoagi.feishu.cn/wiki/GevKwyEt1i4SUVk0q2JcqQFtnRd)" in t.markdown


RICH = """# 第一章：快手发布可灵

这是**非常重要**的消息，详见[官网](https://kling.kuaishou.com/)和 `kling --help` 命令。

> 引用的文字。第二句话。
>
> - 引用里的列表项

1. 第一项，访问 <https://example.com/a_b>。
2. 第二项
   - 嵌套项目 *强调* 内容

| 名称 | 说明 |
| --- | --- |
| 可灵 | 文生视频模型 |

```python
print("你好")
```
"""


def test_markers_survive_the_tiny_model(models, tmp_path):
    path = tmp_path / "rich.md"
    path.write_text(RICH, encoding="utf-8")
    a = read_article(path)
    t = translate_article(a, load_translator())
    md = t.markdown
    assert [b.kind for b in parse_blocks(md)] == [b.kind for b in a.blocks]
    lines = md.splitlines()
    assert lines[0].startswith("# ")
    assert any(line.startswith("> ") for line in lines) and ">" in lines
    assert any(line.startswith("> - ") for line in lines)
    assert any(line.startswith("1. ") for line in lines) and any(line.startswith("2. ") for line in lines)
    assert any(line.startswith("   - ") for line in lines)
    assert "| --- | --- |" in lines
    assert '```python\nprint("你好")\n```' in md
    assert "](https://kling.kuaishou.com/)" in md and "`kling --help`" in md and "<https://example.com/a_b>" in md
    assert md.count("**") == 2


def test_no_model_installed_is_an_actionable_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PUBLISHER_MODELS_DIR", str(tmp_path / "empty"))
    with pytest.raises(ModelError) as info:
        load_translator()
    assert "publisher models install" in str(info.value) and "zh→en" in str(info.value)


def test_traditional_chinese_falls_back_to_zh_with_a_note(models):
    t = load_translator("zt", "en")
    assert t.name == "translate-zh_en" and t.notes and "Traditional" in t.notes[0]


def test_traditional_chinese_uses_a_zt_package_when_installed(models, tmp_path_factory):
    install_tiny_package(tmp_path_factory, models, from_code="zt", to_code="en")
    t = load_translator("zt", "en")
    assert t.name == "translate-zt_en" and t.notes == ()


def test_broken_model_files_are_a_model_error(models):
    package = load_translator().package
    (package.path / "model" / "model.bin").write_bytes(b"not a model")
    with pytest.raises(ModelError) as info:
        load_translator().translate_sentences(["你好。"])
    assert "reinstall" in str(info.value)


def test_bad_decoding_settings_are_a_config_error(monkeypatch):
    from publisher.errors import ConfigError

    monkeypatch.setenv("PUBLISHER_TRANSLATE_BEAM", "four")
    with pytest.raises(ConfigError):
        DecodingOptions.from_env()
    monkeypatch.setenv("PUBLISHER_TRANSLATE_BEAM", "2")
    assert DecodingOptions.from_env().beam_size == 2


HEAVY = ["argostranslate", "argostranslate.translate", "stanza", "spacy", "torch", "minisbd"]


def test_translation_imports_no_argostranslate_stanza_spacy_or_torch(models, seed_path):
    code = (
        "import sys\n"
        "from publisher.articles.read import read_article\n"
        "from publisher.translate.argos import load_translator\n"
        "from publisher.translate.article import translate_article\n"
        f"t = translate_article(read_article({str(seed_path)!r}), load_translator())\n"
        "assert t.translated and 'ctranslate2' in sys.modules and 'sentencepiece' in sys.modules\n"
        f"print('HEAVY', [m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=subprocess_env(PUBLISHER_MODELS_DIR=str(models)),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stdout, proc.stdout


@pytest.mark.slow
def test_outputs_equal_argostranslates_own_path(models, tmp_path, monkeypatch):
    """Same package, same beam: argostranslate.translate (its splitter made offline) gives the same text,
    and so does the `argos` engine (argostranslate's path driven by publisher)."""
    pytest.importorskip("argostranslate", reason="needs publisher[argos]")
    sentences = ["快手推出了文生视频大模型。", "研究人员分析了生成效果，结果令人满意。", "这是 QX1 测试。",
                 "The demo was impressive.", "网友讨论了社交媒体上的演示视频！"]
    code = (
        "import json, sys\n"
        "import argostranslate.sbd as sbd\n"
        "sbd.MiniSBDSentencizer.split_sentences = lambda self, text: [text]\n"
        "sbd.StanzaSentencizer.split_sentences = lambda self, text: [text]\n"
        "from argostranslate import translate\n"
        f"sentences = {sentences!r}\n"
        "t = translate.get_translation_from_codes('zh', 'en')\n"
        "print(json.dumps([t.translate(s) for s in sentences]))\n"
    )
    env = subprocess_env(ARGOS_PACKAGES_DIR=str(models), HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "d"),
                         XDG_CONFIG_HOME=str(tmp_path / "c"), XDG_CACHE_HOME=str(tmp_path / "k"))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    theirs = json.loads(proc.stdout.strip().splitlines()[-1])
    # argostranslate sets no decoding bound (CTranslate2's 256); use the same for the comparison
    ours = ArgosTranslator(load_translator().package, DecodingOptions(max_decoding_length=256)).translate_sentences(
        sentences)
    assert ours == theirs
    from publisher.translate.argostranslate_engine import ArgostranslateTranslator

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "d"))
    engine = ArgostranslateTranslator(load_translator().package, DecodingOptions())
    assert engine.translate_sentences(sentences) == theirs
