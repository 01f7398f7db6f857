"""`preview`, `ingest` and the daemon build threads from the same settings (pipeline.resolve_settings):
schedule.yaml's threads: and platforms: limits, the source a file lies in (platforms, auto_approve),
and explicit command-line options on top."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path

import pytest

from conftest import run_cli, subprocess_env
from factories import write_article
from publisher.queue.outbox import Outbox
from publisher.app import Pipeline, ingest_paths
from publisher.settings import resolve_settings, thread_options
from publisher.schedule.config import UTC, load_schedule, load_schedule_if_present, parse_schedule
from publisher.translate.base import FakeTranslator

BODY = "快手发布了视频生成大模型可灵。它可以生成两分钟的视频。"

SCHEDULE = textwrap.dedent("""\
    timezone: Asia/Shanghai
    threads:
      points: 2
      max_posts: 4
      allow: ["@kling_ai"]
      hold_untranslated: false   # the tiny test model's random output is full of Chinese pieces
    sources:
      - path: inbox
        auto_approve: true
        platforms: [x, mastodon]
      - path: inbox/review
        platforms: [bluesky]
      - path: drafts
        platforms: [x]
    platforms:
      x:
        max_characters: 1000
        slots: [{times: ["09:00"]}]
      mastodon:
        max_posts: 3
        slots: [{times: ["10:00"]}]
      bluesky:
        enabled: false
    """)


def write_schedule(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "schedule.yaml"
    path.write_text(SCHEDULE, encoding="utf-8")
    return path


def test_schedule_settings_and_explicit_options_on_top(tmp_path):
    schedule = load_schedule(write_schedule(tmp_path))
    options = resolve_settings(schedule).options
    assert (options.points, options.limit("x"), options.limit("mastodon")) == (2, 1000, 500)
    assert [options.max_posts_for(p) for p in ("x", "mastodon", "bluesky")] == [4, 3, 4]
    assert options.allow == frozenset({"@kling_ai"})
    explicit = resolve_settings(schedule, points=3, max_posts=5, limits={"mastodon": 800}, allow=["#AI"]).options
    assert (explicit.points, explicit.limit("x"), explicit.limit("mastodon")) == (3, 1000, 800)
    assert [explicit.max_posts_for(p) for p in ("x", "mastodon", "bluesky")] == [5, 5, 5]
    assert explicit.allow == frozenset({"#ai"})
    defaults = resolve_settings(None).options
    assert (defaults.points, defaults.limit("x"), defaults.max_posts_for("x")) == (4, 280, 6)


def test_a_platform_the_schedule_does_not_configure_follows_threads_max_posts():
    schedule = parse_schedule("timezone: UTC\nthreads: {max_posts: 3}\nplatforms: {x: {}}\n")
    assert thread_options(schedule).max_posts_for("bluesky") == 3


def test_a_file_inside_a_source_gets_that_source_s_platforms_and_approval(tmp_path):
    schedule = load_schedule(write_schedule(tmp_path))
    settings = resolve_settings(schedule)
    plan = settings.plan(tmp_path / "inbox" / "sub" / "a.md")
    assert (plan.platforms, plan.auto_approve, plan.source.path) == (("x", "mastodon"), True, Path("inbox"))
    plan = settings.plan(tmp_path / "inbox" / "review" / "b.md")  # the innermost source decides
    assert (plan.platforms, plan.auto_approve) == (("bluesky",), False)
    plan = settings.plan(tmp_path / "elsewhere" / "c.md")  # outside every source: drafts, enabled platforms
    assert (plan.platforms, plan.auto_approve, plan.source) == (("x", "mastodon"), False, None)
    plan = resolve_settings(schedule, platforms=("bluesky",), approve=False).plan(tmp_path / "inbox" / "a.md")
    assert (plan.platforms, plan.auto_approve) == (("bluesky",), False)  # explicit choices win
    assert resolve_settings(None).plan(tmp_path / "a.md").platforms == ("x", "mastodon", "bluesky")


def test_the_schedule_finder_uses_publisher_schedule_and_refuses_a_missing_explicit_file(tmp_path, monkeypatch):
    from publisher.errors import ConfigError

    assert load_schedule_if_present() is None  # no ./schedule.yaml: defaults
    elsewhere = write_schedule(tmp_path / "conf")
    monkeypatch.setenv("PUBLISHER_SCHEDULE", str(elsewhere))
    assert load_schedule_if_present().file == elsewhere
    monkeypatch.setenv("PUBLISHER_SCHEDULE", str(tmp_path / "missing.yaml"))
    with pytest.raises(ConfigError, match="missing.yaml: no such file"):
        load_schedule_if_present()
    monkeypatch.delenv("PUBLISHER_SCHEDULE")
    with pytest.raises(ConfigError, match="no such file"):
        load_schedule_if_present(tmp_path / "nope.yaml")


class English(FakeTranslator):
    """Every sentence comes back as English (an empty phrasebook would leave Chinese, and a
    thread with Chinese left in it is never auto-approved)."""

    def translate_sentences(self, sentences):
        self.calls.append(list(sentences))
        return [f"Kuaishou released sentence {i} about Kling." for i, _ in enumerate(sentences, 1)]


def test_a_file_ingested_by_hand_from_an_auto_approve_source_is_approved_like_the_daemon_would(tmp_path):
    from publisher.daemon.wiring import default_ingest

    schedule = load_schedule(write_schedule(tmp_path))
    path = write_article(tmp_path / "inbox", "a.md", body=BODY)
    with Outbox.open(tmp_path / "q.db") as outbox:
        (outcome,) = ingest_paths([path], outbox, Pipeline(translator=English()),
                                  settings=resolve_settings(schedule))
        pubs = [outbox.get(p) for p in outcome.ingested.publications]
        assert [(p.platform, p.state) for p in pubs] == [("x", "approved"), ("mastodon", "approved")]
        assert [len(outbox.thread(p.id).posts) <= m for p, m in zip(pubs, (4, 3))] == [True, True]
        assert outbox.thread(pubs[0].id).posts[0].limit == 1000
        # The daemon finds the same file later: nothing new, nothing left waiting for a person.
        ingest = default_ingest(outbox, translator=English(), settings=lambda: resolve_settings(schedule))
        result = ingest(path, schedule.sources[0], dt.datetime.now(UTC))
        assert result.status == "unchanged" and result.publication_ids == ()
        assert {r.state for r in outbox.rows()} == {"approved"}


def test_the_daemon_builds_threads_with_the_schedule_settings(tmp_path):
    from publisher.daemon.wiring import default_ingest

    schedule = load_schedule(write_schedule(tmp_path))
    path = write_article(tmp_path / "inbox" / "review", "b.md", body=BODY)
    with Outbox.open(tmp_path / "q.db") as outbox:
        ingest = default_ingest(outbox, translator=English(), settings=lambda: resolve_settings(schedule))
        result = ingest(path, schedule.sources[0], dt.datetime.now(UTC))  # scanned from inbox/: review/ decides
        (pub,) = [outbox.get(p) for p in result.publication_ids]
        assert (pub.platform, pub.state) == ("bluesky", "draft")
        assert len(outbox.thread(pub.id).posts) <= 4


def test_preview_follows_schedule_yaml_and_its_options_win(seed_path, tmp_path):
    write_schedule(tmp_path)
    proc = run_cli("preview", "--json", "--platform", "all", str(seed_path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    threads = json.loads(proc.stdout)["articles"][0]["threads"]
    assert len(threads["x"]["posts"]) == 4 and threads["x"]["posts"][0]["limit"] == 1000
    assert len(threads["mastodon"]["posts"]) == 3 and len(threads["bluesky"]["posts"]) == 4
    proc = run_cli("preview", "--json", "--points", "3", "--max-posts", "5", "--limit", "x=280", str(seed_path),
                   cwd=tmp_path)
    x = json.loads(proc.stdout)["articles"][0]["threads"]["x"]
    assert len(x["posts"]) == 5 and x["posts"][0]["limit"] == 280
    # PUBLISHER_SCHEDULE is followed from any folder, as by `publisher run`.
    other = tmp_path / "other"
    other.mkdir()
    env = subprocess_env(PUBLISHER_SCHEDULE=str(tmp_path / "schedule.yaml"))
    proc = run_cli("preview", "--json", str(seed_path), cwd=other, env=env)
    assert len(json.loads(proc.stdout)["articles"][0]["threads"]["x"]["posts"]) == 4
    bad = run_cli("preview", "--schedule", str(tmp_path / "nope.yaml"), str(seed_path), cwd=other)
    assert bad.returncode == 1 and bad.stderr.startswith("error: ") and "no such file" in bad.stderr


@pytest.mark.slow
def test_cli_ingest_uses_publisher_schedule_and_the_source_and_matches_the_preview(tmp_path, tmp_path_factory):
    """The tiny real-format model: what `preview` shows is what `ingest` queues, with the
    schedule found through PUBLISHER_SCHEDULE and the file's source deciding approval."""
    from tinymodel import install_tiny_package

    models = tmp_path / "models"
    install_tiny_package(tmp_path_factory, models)
    conf = tmp_path / "conf"
    write_schedule(conf)
    inbox_file = write_article(conf / "inbox", "a.md", body=BODY)
    drafts_file = write_article(conf / "drafts", "b.md", body=BODY + "网友纷纷申请试用。", title="即梦")
    cwd = tmp_path / "work"
    cwd.mkdir()
    db = tmp_path / "q.db"
    env = subprocess_env(PUBLISHER_DB=str(db), PUBLISHER_MODELS_DIR=str(models),
                         PUBLISHER_SCHEDULE=str(conf / "schedule.yaml"))
    preview = run_cli("preview", "--json", "--platform", "all", str(inbox_file), env=env, cwd=cwd)
    assert preview.returncode == 0, preview.stderr
    shown = json.loads(preview.stdout)["articles"][0]["threads"]
    proc = run_cli("ingest", "--json", str(inbox_file), str(drafts_file), env=env, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    a, b = json.loads(proc.stdout)
    assert len(a["publications"]) == 2 and a["approved"] == a["publications"]  # inbox/ auto-approves
    assert len(b["publications"]) == 1 and b["approved"] == []  # drafts/ does not
    with Outbox.open(db) as outbox:
        for pid in a["publications"]:
            pub = outbox.get(pid)
            queued = outbox.thread(pid)
            assert [p.text for p in queued.posts] == [p["text"] for p in shown[pub.platform]["posts"]]
        assert outbox.get(b["publications"][0]).platform == "x"
    # --no-approve wins over the source
    again = write_article(conf / "inbox", "c.md", body=BODY + "很多用户在申请。", title="第三篇")
    proc = run_cli("ingest", "--json", "--no-approve", "--platform", "x", str(again), env=env, cwd=cwd)
    (c,) = json.loads(proc.stdout)
    assert len(c["publications"]) == 1 and c["approved"] == []


@pytest.mark.parametrize("yaml_value, key, options", [
    ("platforms: {x: {max_characters: 59}}", "platforms.x.max_characters", {"limits": {"x": 59}}),
    ("threads: {max_posts: 1}", "threads.max_posts", {"max_posts": 1}),
    ("platforms: {x: {max_posts: 1}}", "platforms.x.max_posts", {"max_posts": {"x": 1}}),
    ("threads: {points: -1}", "threads.points", {"points": -1}),
    ("platforms: {x: {max_characters: 100001}}", "platforms.x.max_characters", {"limits": {"x": 100001}}),
    ("threads: {max_posts: 26}", "threads.max_posts", {"max_posts": 26}),
    ("platforms: {x: {max_posts: 26}}", "platforms.x.max_posts", {"max_posts": {"x": 26}}),
    ("threads: {points: 21}", "threads.points", {"points": 21}),
])
def test_schedule_yaml_and_thread_options_share_one_set_of_bounds(tmp_path, yaml_value, key, options):
    """A value ThreadOptions would refuse at every build is refused when schedule.yaml is loaded,
    with file:line:key (both read the bounds in publisher.bounds); the bound itself passes both."""
    from publisher import lengths
    from publisher.errors import ConfigError
    from publisher.threads.options import ThreadOptions

    path = tmp_path / "schedule.yaml"
    path.write_text(f"timezone: UTC\n{yaml_value}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_schedule(path)
    assert f"schedule.yaml:2: {key}:" in str(info.value)
    with pytest.raises(ConfigError):
        ThreadOptions(**options)
    at_bound = parse_schedule(f"timezone: UTC\nthreads: {{max_posts: {lengths.MIN_POSTS}, points: {lengths.MIN_POINTS}}}\n"
                              f"platforms: {{x: {{max_characters: {lengths.MIN_LIMIT}}}}}\n")
    from publisher.settings import thread_options

    built = thread_options(at_bound)
    assert (built.limit("x"), built.max_posts_for("x"), built.points) == (lengths.MIN_LIMIT, lengths.MIN_POSTS, 0)
    at_top = parse_schedule(f"timezone: UTC\nthreads: {{max_posts: {lengths.MAX_POSTS}, points: {lengths.MAX_POINTS}}}\n"
                            f"platforms: {{x: {{max_characters: {lengths.MAX_LIMIT}}}}}\n")
    top = thread_options(at_top)
    assert (top.limit("x"), top.max_posts_for("x"), top.points) == (lengths.MAX_LIMIT, lengths.MAX_POSTS, lengths.MAX_POINTS)
