"""The openai engine against a loopback OpenAI-compatible server: requests, errors, chatter, cache, CLI."""

from __future__ import annotations

import re
import threading
import time

import pytest

from conftest import run_cli, subprocess_env
from fake_openai import FakeOpenAI, fake_english
from publisher.errors import ConfigError, ModelError
from publisher.articles.read import read_article
from publisher.translate.engines import TranslationConfig, load_engine
from publisher.translate.openai_engine import OpenAITranslator, clean_reply, parse_batch_reply
from publisher.translate.article import TranslationStats, translate_article

URL_RE = re.compile(r"https?://[^\s)\]>]+")


@pytest.fixture
def server():
    fake = FakeOpenAI()
    yield fake
    fake.close()


def engine(server, **settings) -> OpenAITranslator:
    config = TranslationConfig(engine="openai", model="fake-llm", base_url=server.base_url, **settings)
    return OpenAITranslator(config, retry_wait=0.01)


def test_requests_follow_the_api_streaming_off_batched(server):
    t = engine(server, batch=2, concurrency=1, temperature=0.2)
    out = t.translate_sentences(["快手发布了 QX1 可灵 QX2。", "你好。", "", "5 月 3 日。"])
    assert out == ["text QX1 text QX2.", "text.", "", "May 3 text."]
    assert len(server.requests) == 2  # 3 sentences, 2 per request; the empty one is not sent
    body = server.requests[0]
    assert body["stream"] is False and body["model"] == "fake-llm" and body["temperature"] == 0.2
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["max_tokens"] > 0
    assert "Authorization" not in server.headers[0]


def test_concurrency_is_bounded(server):
    server.delay = 0.15
    in_flight, peak = [0], [0]
    lock = threading.Lock()
    real = server._handle

    def counting(handler):
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        try:
            real(handler)
        finally:
            with lock:
                in_flight[0] -= 1

    server._handle = counting
    t = engine(server, batch=1, concurrency=2)
    out = t.translate_sentences([f"第 {i} 句。" for i in range(6)])
    assert out == [f"text {i} text." for i in range(6)]
    assert peak[0] == 2


def test_429_waits_for_retry_after_and_500_is_retried(server):
    server.fail = [429, 500, 503]
    t = engine(server, batch=4)
    assert t.translate_sentences(["你好。"]) == ["text."]
    assert len(server.requests) == 4


@pytest.mark.parametrize("status, words", [(500, "failed 4 times (HTTP 500"), (429, "keeps refusing requests"),
                                           (401, "refused the request (HTTP 401"), (404, "check translation.base_url")])
def test_errors_that_last_are_one_line(server, status, words):
    server.status = status
    with pytest.raises(ModelError) as info:
        engine(server).translate_sentences(["你好。"])
    message = str(info.value)
    assert words in message and server.base_url in message and "\n" not in message


def test_a_slow_server_is_one_line_within_the_timeout_and_the_next_call_fails_at_once(server):
    server.delay = 3
    t = engine(server, timeout=0.5)
    start = time.monotonic()
    with pytest.raises(ModelError, match=r"no answer within 0.5 s"):
        t.translate_sentences(["你好。", "再见。"])
    assert time.monotonic() - start < 2.5
    requests = len(server.requests)
    with pytest.raises(ModelError, match="no answer"):
        t.translate_sentences(["你好。"])
    assert len(server.requests) == requests  # held for a while: no new request, no new wait


def test_a_server_that_is_down_is_one_line():
    config = TranslationConfig(engine="openai", model="m", base_url="http://127.0.0.1:9/v1")
    with pytest.raises(ModelError) as info:
        load_engine(config).translate_sentences(["你好。"])
    assert "cannot be reached" in str(info.value) and "\n" not in str(info.value)


def test_the_key_comes_from_the_named_variable(server, monkeypatch):
    server.api_key = "sk-test-123"
    monkeypatch.setenv("LLM_KEY", "sk-test-123")
    t = engine(server, api_key_env="LLM_KEY")
    assert t.translate_sentences(["你好。"]) == ["text."]
    assert server.headers[-1]["Authorization"] == "Bearer sk-test-123"
    monkeypatch.delenv("LLM_KEY")
    with pytest.raises(ConfigError, match="LLM_KEY, which is not set"):
        engine(server, api_key_env="LLM_KEY").translate_sentences(["你好。"])


def test_a_key_written_into_schedule_yaml_is_refused_without_repeating_it(tmp_path):
    from publisher.schedule.config import ScheduleError, parse_schedule

    text = SCHEDULE.format(base_url="http://127.0.0.1:8080/v1") + ""
    text = text.replace("  timeout: 30s\n", "  timeout: 30s\n  api_key_env: sk-abc.def-123\n")
    with pytest.raises(ScheduleError) as info:
        parse_schedule(text, tmp_path / "schedule.yaml")
    assert "translation.api_key_env" in str(info.value) and "sk-abc" not in str(info.value)


def test_chatter_around_the_translation_is_stripped(server):
    plain = engine(server, batch=1).translate_sentences(["快手发布了 QX1 可灵 QX2。", "你好。"])
    server.chatter = True
    assert engine(server, batch=1).translate_sentences(["快手发布了 QX1 可灵 QX2。", "你好。"]) == plain
    assert engine(server, batch=2).translate_sentences(["快手发布了 QX1 可灵 QX2。", "你好。"]) == plain


@pytest.mark.parametrize("reply, expected", [
    ("Sure! Here's the translation:\n\nKling is popular.", "Kling is popular."),
    ("Translation: Kling is popular.", "Kling is popular."),
    ("<think>The user wants English.</think>\nKling is popular.", "Kling is popular."),
    ("```\nKling is popular.\n```", "Kling is popular."),
    ("“Kling is popular.”", "Kling is popular."),
    ("Kling is popular.\n\nNote: 可灵 is a brand name.", "Kling is popular."),
    ("Here is the translation:", ""),
    ("The sentence says Kling is popular.\n\nIn Chinese, the word order differs.", ""),
    ("", ""),
])
def test_clean_reply(reply, expected):
    assert clean_reply(reply, "可灵很受欢迎。") == expected


def test_parse_batch_reply():
    assert parse_batch_reply('Here:\n```json\n["a", "b"]\n```', 2) == ["a", "b"]
    assert parse_batch_reply('["a"]', 2) is None
    assert parse_batch_reply("a; b", 2) is None


def test_a_rambling_reply_is_rejected_and_the_sentence_falls_back_to_pieces(server, tmp_path):
    server.ramble = True
    path = tmp_path / "a.md"
    path.write_text("---\ntitle: 测试\n---\n\n快手的可灵上线以来，很多用户都在社交媒体上分享了自己的视频。\n", encoding="utf-8")
    stats = TranslationStats()
    t = translate_article(read_article(path), engine(server, batch=1), stats=stats)
    assert stats.pieces >= 1
    assert "word order" not in t.markdown  # the explanation never reaches the article


def test_a_batch_reply_that_is_not_json_is_asked_again_one_by_one(server):
    server.broken_batch = True
    out = engine(server, batch=3).translate_sentences(["你好。", "再见。", "谢谢。"])
    assert out == ["text.", "text.", "text."]
    assert len(server.requests) == 4


SCHEDULE = """\
timezone: UTC
sources:
  - path: inbox/
    platforms: [x]
    translation:
      batch: 4
translation:
  engine: openai
  model: fake-llm
  base_url: {base_url}
  timeout: 30s
platforms:
  x:
    slots:
      - times: ["09:00"]
"""


def test_the_seed_through_publisher_translate_with_the_openai_engine(server, tmp_path, seed_path):
    (tmp_path / "schedule.yaml").write_text(SCHEDULE.format(base_url=server.base_url), encoding="utf-8")
    env = subprocess_env(PUBLISHER_HOME=str(tmp_path / "home"))
    out = tmp_path / "out"
    proc = run_cli("translate", str(seed_path), "-o", str(out), env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    english = (out / f"{seed_path.stem}.en.md").read_text(encoding="utf-8")
    source = seed_path.read_text(encoding="utf-8")
    body = english.split("---\n", 2)[2]
    assert sorted(set(URL_RE.findall(body))) == sorted(set(URL_RE.findall(source.split("---", 2)[2])))
    for image in re.findall(r"!\[[^\]]*\]\([^)]*\)", source):
        assert image in body
    assert "Kuaishou" in body and "Kling" in body
    assert "model: openai:fake-llm" in english
    from publisher.translate.numbers import english_values, find_numbers, number_kept

    values = english_values(URL_RE.sub(" ", body))
    numbers = find_numbers(URL_RE.sub(" ", source.split("---", 2)[2]))
    assert numbers and all(number_kept(n, values) for n in numbers)
    sent = len(server.requests)
    assert sent > 0
    again = run_cli("translate", str(seed_path), "-o", str(out), env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert len(server.requests) == sent  # the cache answered everything
    assert "from the cache" in again.stdout


def test_ingest_leaves_the_article_when_the_server_is_down(tmp_path, seed_path):
    from publisher.queue.outbox import Outbox
    from publisher.app import Pipeline, ingest_paths
    from publisher.settings import resolve_settings
    from publisher.schedule.config import parse_schedule

    schedule = parse_schedule(SCHEDULE.format(base_url="http://127.0.0.1:9/v1"), tmp_path / "schedule.yaml")
    outbox = Outbox.open(tmp_path / "queue.db")
    outcomes = ingest_paths([seed_path], outbox, Pipeline(), settings=resolve_settings(schedule))
    assert len(outcomes) == 1 and isinstance(outcomes[0].error, ModelError)
    assert "cannot be reached" in outcomes[0].message and "\n" not in outcomes[0].message
    assert outbox.platforms_of(read_article(seed_path).source_hash) is None  # nothing stored: retried next scan


def test_a_source_block_replaces_only_the_keys_it_sets(tmp_path):
    from publisher.schedule.config import parse_schedule

    schedule = parse_schedule(SCHEDULE.format(base_url="http://127.0.0.1:8080/v1"), tmp_path / "schedule.yaml")
    inside = schedule.translation_for(tmp_path / "inbox" / "a.md")
    outside = schedule.translation_for(tmp_path / "elsewhere" / "a.md")
    assert inside.batch == 4 and outside.batch == 8
    assert inside.engine == outside.engine == "openai" and inside.timeout == 30


def test_a_bad_translation_block_names_file_line_and_key(tmp_path):
    from publisher.schedule.config import ScheduleError, parse_schedule

    text = SCHEDULE.format(base_url="http://127.0.0.1:8080/v1").replace("engine: openai", "engine: deepl")
    with pytest.raises(ScheduleError) as info:
        parse_schedule(text, tmp_path / "schedule.yaml")
    assert "translation.engine" in str(info.value) and "schedule.yaml:" in str(info.value)


def test_fake_english_keeps_values():
    assert fake_english("2024 年 5 月，3.5 万人") == "2024 text May, 35,000 text"


DAEMON_SCHEDULE = """\
timezone: Asia/Shanghai
scan_every: 1s
threads:
  hold_untranslated: false
translation:
  engine: openai
  model: fake-llm
  base_url: {base_url}
  timeout: 5s
sources:
  - path: inbox
    auto_approve: false
    platforms: [x]
platforms:
  x:
    slots:
      - days: daily
        times: ["09:00"]
"""


def test_the_daemon_says_once_that_the_server_fails_and_ingests_when_it_is_back(server, tmp_path):
    import os

    from factories import write_article
    from publisher.queue.outbox import Outbox

    (tmp_path / "schedule.yaml").write_text(DAEMON_SCHEDULE.format(base_url=server.base_url), encoding="utf-8")
    path = write_article(tmp_path / "inbox", "a.md")
    old = time.time() - 60
    os.utime(path, (old, old))
    env = subprocess_env(PUBLISHER_DB=str(tmp_path / "publisher.db"), PUBLISHER_HOME=str(tmp_path / "home"))
    args = ("run", "--once", "--schedule", str(tmp_path / "schedule.yaml"), "--now", "2024-06-14T08:30")
    server.status = 500
    proc = run_cli(*args, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if server.base_url in line]
    assert len(lines) == 1 and "a.md" in lines[0] and "HTTP 500" in lines[0] and "(will try again)" in lines[0], \
        proc.stderr
    with Outbox.open(tmp_path / "publisher.db") as outbox:
        assert outbox.rows() == []
    server.status = None
    proc = run_cli(*args, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert any("a.md: new article" in line for line in proc.stderr.splitlines()), proc.stderr
    with Outbox.open(tmp_path / "publisher.db") as outbox:
        assert len(outbox.rows()) == 1
