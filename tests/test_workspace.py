"""`publisher init` and the workspace: found from a subfolder like git, its .env read before any
path is resolved, a database that is not there is an error (not an empty queue)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli, subprocess_env
from factories import store
from publisher.queue.outbox import Outbox
from publisher.schedule.config import load_schedule

ROOT = Path(__file__).resolve().parent.parent


def test_init_makes_a_working_folder_and_never_overwrites(tmp_path):
    env = subprocess_env(TZ="UTC")
    proc = run_cli("init", "DESK", env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    desk = tmp_path / "DESK"
    for name in ("seeds", "inbox", "templates"):
        assert (desk / name).is_dir()
    for name in ("schedule.yaml", ".env.example", "glossary.yaml", "templates/README.md",
                 "templates/thread.j2.example", "publisher.service"):
        assert (desk / name).is_file(), name
    schedule = load_schedule(desk / "schedule.yaml")  # the shipped, commented example is valid
    assert schedule.timezone == "Asia/Shanghai" and [str(s.path) for s in schedule.sources] == ["seeds", "inbox"]
    assert "# notify:" in (desk / "schedule.yaml").read_text(encoding="utf-8")
    unit = (desk / "publisher.service").read_text(encoding="utf-8")
    assert "Type=notify" in unit and "WatchdogSec=" in unit
    assert f"WorkingDirectory={desk.resolve()}" in unit and f"EnvironmentFile=-{desk.resolve()}/.env" in unit
    assert "X_API_KEY=" in (desk / ".env.example").read_text(encoding="utf-8")
    assert not (desk / ".env").exists()  # secrets are the operator's to write
    assert "Queue database: created" in proc.stdout
    assert (tmp_path / "home" / "publisher.db").is_file()

    (desk / "schedule.yaml").write_text("timezone: Europe/Berlin\n", encoding="utf-8")
    again = run_cli("init", "DESK", env=env, cwd=tmp_path)
    assert again.returncode == 1
    assert "already has schedule.yaml" in again.stderr and "never overwrites" in again.stderr
    assert (desk / "schedule.yaml").read_text(encoding="utf-8") == "timezone: Europe/Berlin\n"


def test_from_a_subfolder_the_workspace_schedule_zone_and_env_are_used(tmp_path):
    env = subprocess_env(TZ="UTC")
    assert run_cli("init", "DESK", env=env, cwd=tmp_path).returncode == 0
    desk = tmp_path / "DESK"
    (desk / ".env").write_text("X_API_KEY=k\nX_API_SECRET=s\nX_ACCESS_TOKEN=t\nX_ACCESS_TOKEN_SECRET=u\n",
                               encoding="utf-8")
    proc = run_cli("schedule", "--now", "2024-06-14T08:00", "--days", "1", env=env, cwd=desk / "inbox")
    assert proc.returncode == 0, proc.stderr
    assert "zone Asia/Shanghai, now 2024-06-14 08:00 CST" in proc.stdout
    assert "Fri 2024-06-14 08:30 CST  x" in proc.stdout
    x_line = next(line for line in proc.stdout.splitlines() if line.strip().startswith("x/main"))
    assert "missing" not in x_line  # the credentials in DESK/.env were found from DESK/inbox


def test_publisher_db_in_the_workspace_env_is_the_one_every_command_reads(tmp_path):
    desk = tmp_path / "desk"
    (desk / "inbox").mkdir(parents=True)
    (desk / "schedule.yaml").write_text("timezone: America/New_York\n", encoding="utf-8")
    (desk / ".env").write_text("PUBLISHER_DB=data/queue.db\n", encoding="utf-8")
    with Outbox.open(desk / "data" / "queue.db") as outbox:
        store(outbox, tmp_path / "articles", title="工作区里的文章")
    env = subprocess_env()
    proc = run_cli("queue", "--json", env=env, cwd=desk / "inbox")
    assert proc.returncode == 0, proc.stderr
    assert [p["title"] for p in json.loads(proc.stdout)["publications"]] == ["工作区里的文章"]
    # The same from anywhere, with --workspace or $PUBLISHER_WORKSPACE.
    proc = run_cli("--workspace", str(desk), "queue", "--json", env=env, cwd=tmp_path)
    assert [p["title"] for p in json.loads(proc.stdout)["publications"]] == ["工作区里的文章"]
    proc = run_cli("queue", "--json", env=subprocess_env(PUBLISHER_WORKSPACE=str(desk)), cwd=tmp_path)
    assert [p["title"] for p in json.loads(proc.stdout)["publications"]] == ["工作区里的文章"]


def test_a_mistyped_database_path_is_an_error_not_an_empty_queue(tmp_path):
    desk = tmp_path / "desk"
    desk.mkdir()
    (desk / "schedule.yaml").write_text("timezone: Europe/Berlin\n", encoding="utf-8")
    (desk / ".env").write_text("PUBLISHER_DB=qeueu.db\n", encoding="utf-8")
    for args in (["queue"], ["status"], ["show", "1"], ["schedule"], ["approve", "1"]):
        proc = run_cli(*args, env=subprocess_env(), cwd=desk)
        assert proc.returncode == 1, (args, proc.stdout)
        assert proc.stderr.startswith(f"error: {desk / 'qeueu.db'}: no queue database there "
                                      f"(PUBLISHER_DB in {desk / '.env'})"), proc.stderr
        assert "Nothing in the queue" not in proc.stdout
        assert not (desk / "qeueu.db").exists()


def test_the_first_ingest_says_it_creates_the_database(tmp_path):
    article = tmp_path / "a.md"
    article.write_text("---\ntitle: Hello\n---\n\nThis is an English article, not Chinese.\n", encoding="utf-8")
    proc = run_cli("ingest", str(article), env=subprocess_env(PUBLISHER_DB=str(tmp_path / "new.db")), cwd=tmp_path)
    assert f"note: no queue database at {tmp_path / 'new.db'} (PUBLISHER_DB): creating it" in proc.stderr
    assert (tmp_path / "new.db").is_file()
