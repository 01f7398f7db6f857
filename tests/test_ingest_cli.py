"""`publisher ingest` and the pipeline behind it: read -> translate -> threads -> queue."""

from __future__ import annotations

import json
import sqlite3

import pytest

from conftest import run_cli, subprocess_env
from factories import write_article
from publisher.errors import InputError, ModelError
from publisher.app import Pipeline, ingest_file, ingest_paths
from publisher.translate.base import FakeTranslator

BODY = "快手发布了视频生成大模型可灵。它可以生成两分钟的视频。"


def test_unchanged_file_does_no_translation_work_and_changed_file_is_a_new_revision(tmp_path, outbox):
    translator = FakeTranslator()
    pipeline = Pipeline(translator=translator)
    path = write_article(tmp_path / "in", "a.md", body=BODY)
    first = ingest_file(path, outbox, pipeline, ("x", "mastodon"))
    assert not first.unchanged and len(first.publications) == 2
    assert {outbox.get(p).state for p in first.publications} == {"draft"}
    calls = len(translator.calls)
    assert calls >= 1

    again = ingest_file(path, outbox, pipeline, ("x", "mastodon"))
    assert again.unchanged and again.publications == ()
    assert len(translator.calls) == calls  # no model work for the same bytes

    outbox.approve(first.publications[0])
    write_article(tmp_path / "in", "a.md", body=BODY + "网友纷纷申请试用。")
    revised = ingest_file(path, outbox, pipeline, ("x", "mastodon"))
    assert revised.revision == 2 and not revised.unchanged
    assert set(revised.superseded) == set(first.publications)  # approval does not carry over
    assert {outbox.get(p).state for p in first.publications} == {"rejected"}
    assert {outbox.get(p).state for p in revised.publications} == {"draft"}


def test_a_new_platform_for_a_known_file_gets_its_thread(tmp_path, outbox):
    pipeline = Pipeline(translator=FakeTranslator())
    path = write_article(tmp_path / "in", "a.md", body=BODY)
    ingest_file(path, outbox, pipeline, ("x",))
    more = ingest_file(path, outbox, pipeline, ("x", "bluesky"))
    assert [outbox.get(p).platform for p in more.publications] == ["bluesky"]


def test_not_chinese_and_bad_files_are_refused_one_line_each_and_the_rest_goes_on(tmp_path, outbox):
    folder = tmp_path / "in"
    write_article(folder, "1.md", body=BODY)
    (folder / "2.md").write_text("Kuaishou released Kling. It is the talk of the town and the waitlist is long.\n")
    (folder / "3.md").write_bytes(b"\x00\x01")
    write_article(folder, "4.md", body="字节跳动推出了即梦。即梦支持文字生成图片和视频。", title="即梦")
    outcomes = ingest_paths([folder], outbox, Pipeline(translator=FakeTranslator()), ("x",))
    assert [o.status for o in outcomes] == ["new", "skipped", "failed", "new"]  # not Chinese: skipped, as translate
    assert isinstance(outcomes[1].error, InputError) and "not Chinese" in outcomes[1].message
    assert outcomes[1].message.startswith(str(folder / "2.md"))
    assert "NUL" in outcomes[2].message
    assert outbox.counts().get("draft") == 2


def test_no_model_queues_nothing(tmp_path, outbox):
    def no_model(src, dst):
        raise ModelError(f"no {src}→{dst} translation model installed")

    path = write_article(tmp_path / "in", "a.md", body=BODY)
    (outcome,) = ingest_paths([path], outbox, Pipeline(load=no_model), ("x",))
    assert outcome.status == "failed" and "no zh→en translation model" in outcome.message
    assert outcome.message.startswith(str(path))
    assert not outbox.rows()


def test_cli_without_a_model_names_each_file_and_stores_nothing(tmp_path):
    write_article(tmp_path / "in", "a.md", body=BODY)
    write_article(tmp_path / "in", "b.md", body=BODY + "很多用户在申请。")
    db = tmp_path / "q.db"
    proc = run_cli("ingest", str(tmp_path / "in"), env=subprocess_env(PUBLISHER_DB=str(db),
                                                                       PUBLISHER_MODELS_DIR=str(tmp_path / "none")))
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 2 and all("translation model" in e for e in errors)
    assert any("a.md" in e for e in errors) and any("b.md" in e for e in errors)
    assert "Traceback" not in proc.stderr
    if db.exists():
        assert sqlite3.connect(db).execute("SELECT count(*) FROM publications").fetchone()[0] == 0


@pytest.mark.slow
def test_cli_with_the_tiny_real_model_queues_drafts_then_does_nothing_again(tmp_path, tmp_path_factory):
    from tinymodel import install_tiny_package

    models = tmp_path / "models"
    install_tiny_package(tmp_path_factory, models)
    write_article(tmp_path / "in", "a.md", body=BODY)
    env = subprocess_env(PUBLISHER_DB=str(tmp_path / "q.db"), PUBLISHER_MODELS_DIR=str(models),
                         PUBLISHER_HOME=str(tmp_path / "home"))
    proc = run_cli("ingest", str(tmp_path / "in"), "--platform", "x", "--platform", "bluesky", "--json", env=env,
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (result,) = json.loads(proc.stdout)
    assert result["status"] == "new" and len(result["publications"]) == 2 and result["approved"] == []

    again = run_cli("ingest", str(tmp_path / "in"), "--platform", "x", "--platform", "bluesky", env=env,
                    cwd=tmp_path)
    assert again.returncode == 0 and "unchanged" in again.stdout
    queue = json.loads(run_cli("queue", "--json", env=env, cwd=tmp_path).stdout)
    rows = queue["publications"]
    assert sorted(r["platform"] for r in rows) == ["bluesky", "x"]
    assert all(r["state"] == "draft" for r in rows)


class LeavesChinese(FakeTranslator):
    """A translator that gives up on one sentence and returns it as it came (as models do)."""

    def translate_sentences(self, sentences):
        self.calls.append(list(sentences))
        return [s if "两分钟" in s else "Kuaishou released the Kling video model." for s in sentences]


def test_auto_approve_is_withheld_when_chinese_is_left_in_the_english(tmp_path, outbox):
    path = write_article(tmp_path / "in", "a.md", body=BODY)
    held = ingest_file(path, outbox, Pipeline(translator=LeavesChinese()), ("x",), auto_approve=True)
    assert held.approved == () and held.held and "Chinese left untranslated" in held.held[0]
    assert outbox.get(held.publications[0]).state == "draft"

    clean = write_article(tmp_path / "in", "b.md", body="快手发布了视频生成大模型可灵。", title="可灵")
    ok = ingest_file(clean, outbox, Pipeline(translator=LeavesChinese()), ("x",), auto_approve=True)
    assert ok.held == () and ok.approved == ok.publications


def test_the_hold_can_be_switched_off_in_schedule_yaml(tmp_path, outbox):
    from publisher.settings import resolve_settings
    from publisher.schedule.config import parse_schedule

    schedule = parse_schedule("timezone: UTC\nthreads: {hold_untranslated: false}\n"
                              "sources: [{path: in, auto_approve: true, platforms: [x]}]\nplatforms: {x: {}}\n",
                              tmp_path / "schedule.yaml")
    path = write_article(tmp_path / "in", "a.md", body=BODY)
    (outcome,) = ingest_paths([path], outbox, Pipeline(translator=LeavesChinese()),
                              settings=resolve_settings(schedule))
    assert outcome.ingested.held == () and outcome.ingested.approved == outcome.ingested.publications
