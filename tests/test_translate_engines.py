"""Choosing an engine and its device: schedule.yaml's translation: block, the environment, the CLI."""

from __future__ import annotations

import pytest

from publisher.errors import ConfigError, ModelError
from publisher.translate.argos import ArgosTranslator, DecodingOptions
from publisher.translate.engines import TranslationConfig, load_engine
from publisher.translate.openai_engine import OpenAITranslator


def test_device_auto_gives_the_same_output_as_cpu_on_a_machine_without_gpu(models):
    auto = load_engine(TranslationConfig(beam=1))
    cpu = load_engine(TranslationConfig(beam=1, device="cpu"))
    assert auto.options.device == "auto" and cpu.options.device == "cpu"
    sentences = ["快手推出了文生视频大模型。", "这是 QX1 测试。"]
    assert auto.translate_sentences(sentences) == cpu.translate_sentences(sentences)
    assert auto._model.device == "cpu"  # CTranslate2 chose the CPU here


def test_the_device_reaches_ctranslate2(models, monkeypatch):
    import ctranslate2

    seen = {}

    class Recording:
        def __init__(self, path, **kwargs):
            seen.update(kwargs)
            raise RuntimeError("no CUDA device")

    monkeypatch.setattr(ctranslate2, "Translator", Recording)
    t = load_engine(TranslationConfig(device="cuda"))
    with pytest.raises(ModelError, match="cannot load the CTranslate2 model"):
        t.load()
    assert seen["device"] == "cuda" and seen["compute_type"] == "auto"


def test_device_from_the_environment(monkeypatch):
    monkeypatch.setenv("PUBLISHER_TRANSLATE_DEVICE", "cpu")
    assert DecodingOptions.from_env().device == "cpu"
    assert DecodingOptions.from_env(device="cuda").device == "cuda"  # schedule.yaml / CLI win
    monkeypatch.setenv("PUBLISHER_TRANSLATE_DEVICE", "gpu")
    with pytest.raises(ConfigError, match="PUBLISHER_TRANSLATE_DEVICE must be auto, cpu or cuda"):
        DecodingOptions.from_env()


def test_load_engine_picks_the_engine(models):
    assert isinstance(load_engine(None), ArgosTranslator)
    assert isinstance(load_engine(TranslationConfig(engine="openai", model="m")), OpenAITranslator)
    with pytest.raises(ConfigError, match="needs `model:`"):
        load_engine(TranslationConfig(engine="openai"))
    t = load_engine(TranslationConfig(beam=2, threads=1))
    assert t.options.beam_size == 2 and t.options.threads == 1


def test_engine_argos_without_a_model_says_how_to_install_one(tmp_path, monkeypatch):
    monkeypatch.setenv("PUBLISHER_MODELS_DIR", str(tmp_path / "none"))
    with pytest.raises(ModelError, match="publisher models install"):
        load_engine(TranslationConfig(engine="argos"))


def test_timeout_accepts_durations():
    assert TranslationConfig(timeout="2m").timeout == 120
    assert TranslationConfig(timeout=15).timeout == 15
    with pytest.raises(ValueError):
        TranslationConfig(base_url="localhost:8080")


def test_cli_engine_option_beats_the_schedule(tmp_path, seed_path, models):
    from conftest import run_cli, subprocess_env

    (tmp_path / "schedule.yaml").write_text(
        "timezone: UTC\ntranslation:\n  engine: openai\n  model: m\n  base_url: http://127.0.0.1:9/v1\n",
        encoding="utf-8")
    env = subprocess_env(PUBLISHER_HOME=str(tmp_path / "home"), PUBLISHER_MODELS_DIR=str(models))
    proc = run_cli("translate", str(seed_path), "-o", str(tmp_path / "out"), "--no-cache", env=env, cwd=tmp_path)
    assert proc.returncode == 1 and "cannot be reached" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("translate", str(seed_path), "-o", str(tmp_path / "out"), "--no-cache", "--engine", "ctranslate2",
                   "--beam", "1", env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "model: translate-zh_en" in (tmp_path / "out" / f"{seed_path.stem}.en.md").read_text(encoding="utf-8")


def test_a_short_article_is_cut_into_one_batch_per_worker(models):
    t = load_engine(TranslationConfig(threads=2))
    assert t.options.thread_split() == (2, 1)
    assert t.batch_size(64, 7) == 4 and t.batch_size(64, 1) == 1
    assert t.batch_size(64, 200) == 8  # long articles keep the default batch
    assert t.batch_size(256, 7) == 2  # and the memory bound


def test_a_folder_is_translated_in_one_engine_call_with_the_same_result(tmp_path):
    import shutil
    from pathlib import Path

    from publisher.app import Pipeline, translate_files
    from publisher.translate.base import FakeTranslator
    from publisher.translate.cache import TranslationCache

    corpus = Path(__file__).resolve().parent.parent / "benchmarks" / "corpus"
    folder = tmp_path / "in"
    folder.mkdir()
    for f in corpus.glob("*.md"):
        shutil.copy(f, folder / f.name)
    import json

    reference = json.loads((corpus / "reference.json").read_text(encoding="utf-8"))
    together = FakeTranslator(reference)
    results = translate_files([folder], tmp_path / "out", translators=Pipeline(translator=together))
    assert [r.status for r in results] == ["written"] * 3
    assert len(together.calls) == 1 and len(together.calls[0]) == len(reference)
    alone = FakeTranslator(reference)
    for f in sorted(folder.glob("*.md")):
        translate_files([f], tmp_path / "one", translators=Pipeline(translator=alone))
    assert len(alone.calls) == 3
    for f in (tmp_path / "out").glob("*.en.md"):
        assert f.read_text(encoding="utf-8") == (tmp_path / "one" / f.name).read_text(encoding="utf-8")
    with TranslationCache(tmp_path / "cache.db") as cache:
        first = FakeTranslator(reference)
        translate_files([folder], tmp_path / "out", translators=Pipeline(translator=first), cache=cache)
        again = FakeTranslator(reference)
        results = translate_files([folder], tmp_path / "out", translators=Pipeline(translator=again), cache=cache)
        assert again.calls == [] and all("from the cache" in r.message for r in results)
