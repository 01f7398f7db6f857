"""The translation worker (#11): an abort or a hang in native code is that article's error; the
run, and the daemon, go on with the next file, and the crashing file is not retried every scan."""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from pathlib import Path

import pytest

from abort_translator import make_crashing
from factories import write_article
from publisher.daemon.daemon import Daemon
from publisher.daemon.sources import ScheduleWatcher
from publisher.daemon.wiring import default_ingest
from publisher.queue.ledger import SlotLedger
from publisher.testing import ManualClock
from publisher.queue.outbox import Outbox
from publisher.app import Pipeline, ingest_paths
from publisher.schedule.config import UTC
from publisher.translate.isolate import IsolatedTranslator, TranslationCrash


def crashing(timeout: float = 30) -> IsolatedTranslator:
    return IsolatedTranslator(make_crashing, name="crashing", version="1", timeout=timeout)


@pytest.mark.slow
def test_a_worker_that_aborts_is_the_calls_error_and_the_next_call_gets_a_new_worker():
    translator = crashing()
    try:
        assert translator.translate_sentences(["你好。"]) == ["EN:你好。"]
        first = translator._process.pid
        with pytest.raises(TranslationCrash, match="crashed.*SIGABRT"):
            translator.translate_sentences(["这句会崩溃。"])
        assert translator.translate_sentences(["再见。"]) == ["EN:再见。"]
        assert translator._process.pid != first
    finally:
        translator.close()


@pytest.mark.slow
def test_a_worker_that_hangs_is_stopped_after_the_time_out():
    translator = IsolatedTranslator(make_crashing, name="crashing", version="1", timeout=1)
    try:
        started = time.monotonic()
        with pytest.raises(TranslationCrash, match="did not finish within"):
            translator.translate_sentences(["这句会卡住。"])
        assert time.monotonic() - started < 10
        assert translator.translate_sentences(["好。"]) == ["EN:好。"]
    finally:
        translator.close()


@pytest.mark.slow
def test_the_tiny_real_model_gives_the_same_output_in_the_worker(tmp_path_factory):
    from tinymodel import install_tiny_package
    from publisher.translate.argos import load_translator

    models = tmp_path_factory.mktemp("iso-models")
    install_tiny_package(tmp_path_factory, models)
    direct = load_translator("zh", "en", directory=models)
    worker = IsolatedTranslator.for_argos(direct)
    sentences = ["快手发布了可灵。", "用户可以申请测试资格。", "长" * 900]
    try:
        assert worker.translate_sentences(sentences) == direct.translate_sentences(sentences)
        assert worker.identity == direct.identity and worker.version == direct.version
    finally:
        worker.close()


@pytest.mark.slow
def test_ingest_of_a_folder_goes_on_after_a_file_that_crashes_the_engine(tmp_path):
    folder = tmp_path / "in"
    write_article(folder, "a.md", body="快手发布了可灵。")
    write_article(folder, "b.md", title="这篇文章会崩溃", body="快手发布了可灵大模型。")  # the title is always translated
    write_article(folder, "c.md", body="用户可以申请。")
    translator = crashing()
    outbox = Outbox.open(tmp_path / "q.db")
    try:
        outcomes = ingest_paths([folder], outbox, Pipeline(translator=translator), ("x",))
    finally:
        translator.close()
    by_name = {o.path.name: o for o in outcomes}
    assert by_name["a.md"].status != "failed" and by_name["c.md"].status != "failed"
    assert by_name["b.md"].status == "failed"
    assert str(folder / "b.md") in by_name["b.md"].message and "crashed" in by_name["b.md"].message
    assert "\n" not in by_name["b.md"].message
    assert len({r.article_id for r in outbox.rows()}) == 2
    outbox.close()


SCHEDULE = """\
timezone: UTC
sources:
  - {path: inbox, platforms: [x]}
platforms:
  x:
    slots: [{times: ["09:00"]}]
"""


def _settle(path: Path) -> None:
    old = time.time() - 60
    os.utime(path, (old, old))


@pytest.mark.slow
def test_the_daemon_reports_a_crashing_file_once_and_queues_the_next_good_one(tmp_path, caplog):
    (tmp_path / "schedule.yaml").write_text(SCHEDULE, encoding="utf-8")
    inbox = tmp_path / "inbox"
    for name, title in (("a.md", "这篇文章会崩溃"), ("b.md", "快手发布了可灵")):
        _settle(write_article(inbox, name, title=title, body="快手发布了可灵大模型。研究人员分析了生成效果。"))
    db = tmp_path / "q.db"
    outbox = Outbox.open(db)
    translator = crashing()

    def scan() -> list[str]:
        caplog.clear()
        daemon = Daemon(watcher=ScheduleWatcher(tmp_path / "schedule.yaml"), store=_NoStore(), publish=None,
                        ingest=default_ingest(outbox, translator=translator), ledger=SlotLedger(db),
                        clock=ManualClock(dt.datetime(2024, 6, 14, 1, tzinfo=UTC)))
        with caplog.at_level(logging.INFO, logger="publisher"):
            daemon.scan()
        return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]

    try:
        errors = scan()
        assert len(errors) == 1 and "a.md" in errors[0] and "crashed" in errors[0]
        assert [outbox.get(r.id).state for r in outbox.rows()] == ["draft"]  # b.md was queued
        pid = translator._process.pid if translator._process else None
        assert scan() == []  # a new run (cron's --once): not reported again...
        assert (translator._process.pid if translator._process else None) == pid  # ...nor retried
    finally:
        translator.close()
        outbox.close()


class _NoStore:
    def recover(self, now):
        return []

    def continuing(self, platform, now):
        return []

    def waiting(self, platform, now):
        return []
