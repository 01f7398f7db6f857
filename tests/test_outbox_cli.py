"""The queue commands, run for real: output, exit codes and database rows."""

from __future__ import annotations

import datetime as dt
import json
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import subprocess_env
from factories import store, thread_texts
from fake_x import CLI_BOOTSTRAP, FakeX, Fault, x_env
from publisher.cli import cli
from publisher.queue.outbox import Outbox

TESTS = Path(__file__).parent


def invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def pub_id(outbox, tmp_path) -> int:
    return store(outbox, tmp_path / "in", n_posts=3).publications[0]


# --- queue and show --------------------------------------------------------------------------


def test_queue_lists_what_needs_doing(outbox, tmp_path):
    ids = [store(outbox, tmp_path / "in", f"{n}.md").publications[0] for n in "abcd"]
    outbox.approve(ids[1])
    outbox.approve(ids[2], dt.datetime(2030, 1, 2, 3, 4, tzinfo=dt.timezone.utc))
    outbox.reject(ids[3])
    result = invoke("queue")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "STATE", "PLATFORM", "POSTS", "WHEN", "TITLE"]
    rows = {int(line.split()[0]): line.split()[1] for line in lines[1:4]}
    assert rows == {ids[0]: "draft", ids[1]: "approved", ids[2]: "scheduled"}  # rejected hidden
    assert "4 publications: 1 draft · 1 approved · 1 scheduled · 1 rejected" in result.stdout
    assert "2030-01-0" in result.stdout
    assert str(ids[3]) in invoke("queue", "--all").stdout.split()
    only = invoke("queue", "--state", "scheduled").stdout.splitlines()
    assert len(only) == 4 and only[1].split()[:2] == [str(ids[2]), "scheduled"]
    assert only[3].startswith("Times in ") and "this machine's zone" in only[3]


def test_queue_json_and_limit(outbox, tmp_path):
    for n in range(5):
        store(outbox, tmp_path / "in", f"{n}.md", n_posts=2)
    data = json.loads(invoke("queue", "--json").stdout)
    assert len(data["publications"]) == 5 and data["counts"] == {"draft": 5}
    row = data["publications"][0]
    assert row["state"] == "draft" and row["posts"] == 2 and row["posted"] == 0 and row["approved"] is False
    assert row["path"].endswith("0.md") and row["revision"] == 1
    limited = invoke("queue", "--limit", "2")
    assert "showing the first 2" in limited.stdout and len(limited.stdout.splitlines()) == 5


def test_queue_rejects_an_unknown_state():
    result = CliRunner().invoke(cli, ["queue", "--state", "done"])
    assert result.exit_code == 2 and "states are: draft" in result.output


def test_show_thread_source_and_history(outbox, pub_id):
    outbox.approve(pub_id)
    result = invoke("show", str(pub_id))
    assert result.exit_code == 0
    out = result.stdout
    assert f"Publication {pub_id} · x · approved" in out  # no schedule: no account name to give
    assert "for this exact content" in out
    assert "快手「可灵」爆火" in out and "机器之心" in out and "https://example.com/articles/article" in out
    for text in thread_texts("article", 3):
        assert text in out
    assert "draft → approved" in out
    data = json.loads(invoke("show", str(pub_id), "--json").stdout)
    assert data["approved"] and [p["text"] for p in data["posts"]] == thread_texts("article", 3)
    assert [h["to"] for h in data["history"]] == ["draft", "approved"]


def test_unknown_id_is_one_line():
    Outbox.open().close()
    result = CliRunner().invoke(cli, ["show", "999"])
    assert result.exit_code == 1
    assert result.output.strip() == "error: no publication 999"


# --- edit ------------------------------------------------------------------------------------

EDITOR = textwrap.dedent("""
    import os, sys
    path = sys.argv[1]
    mode = os.environ["EDIT_MODE"]
    text = open(path, encoding="utf-8").read()
    open(os.environ["EDIT_SEEN"], "a", encoding="utf-8").write(text + "\\n<<END>>\\n")
    if mode == "quit":
        sys.exit(0)
    lines = text.splitlines()
    i = next(n for n, line in enumerate(lines) if line.startswith("=== post 2"))
    if mode == "append":
        lines[i + 1] += " (edited)"
    elif mode == "toolong":
        lines[i + 1] = "好" * 200
    elif mode == "drop":
        del lines[i:i + 2]
    open(path, "w", encoding="utf-8").write("\\n".join(lines) + "\\n")
""")


@pytest.fixture
def editor(tmp_path):
    script = tmp_path / "editor.py"
    script.write_text(EDITOR, encoding="utf-8")
    seen = tmp_path / "seen.txt"

    def env(mode: str) -> dict:
        return {"EDITOR": f"{sys.executable} {script}", "VISUAL": "", "EDIT_MODE": mode, "EDIT_SEEN": str(seen)}

    env.seen = seen  # type: ignore[attr-defined]
    return env


def test_edit_saves_and_withdraws_the_approval(outbox, pub_id, editor):
    outbox.approve(pub_id)
    result = invoke("edit", str(pub_id), env=editor("append"))
    assert result.exit_code == 0, result.output
    assert "approval was withdrawn" in result.stdout
    pub = outbox.get(pub_id)
    assert pub.state == "draft" and not pub.approved
    texts = [p.text for p in outbox.thread(pub_id).posts]
    assert texts[1] == thread_texts("article", 3)[1] + " (edited)"
    assert texts[0] == thread_texts("article", 3)[0] and len(texts) == 3
    shown = editor.seen.read_text(encoding="utf-8")
    assert shown.startswith("#| publisher: publication") and "=== post 3 (attribution) ===" in shown


def test_edit_can_drop_a_post(outbox, pub_id, editor):
    assert invoke("edit", str(pub_id), env=editor("drop")).exit_code == 0
    assert [p.text for p in outbox.thread(pub_id).posts] == [thread_texts("article", 3)[i] for i in (0, 2)]


def test_edit_too_long_reopens_with_the_problem_then_gives_up(outbox, pub_id, editor):
    outbox.approve(pub_id)
    before = outbox.get(pub_id)
    result = CliRunner().invoke(cli, ["edit", str(pub_id)], env=editor("toolong"))
    assert result.exit_code == 1
    assert "error: publication" in result.output and "400 characters, over the x limit of 280" in result.output
    shown = editor.seen.read_text(encoding="utf-8").split("<<END>>")
    assert "#| ERROR: post 2: 400 characters, over the x limit of 280" in shown[1]  # opened again, with the reason
    assert outbox.get(pub_id) == before  # nothing saved, approval intact


def test_edit_without_saving_changes_nothing(outbox, pub_id, editor):
    outbox.approve(pub_id)
    result = invoke("edit", str(pub_id), env=editor("quit"))
    assert result.exit_code == 0 and "No changes" in result.stdout
    assert outbox.get(pub_id).approved


# --- approve, reject, retry, resolve ---------------------------------------------------------


def test_approve_and_approve_at(outbox, pub_id, tmp_path):
    result = invoke("approve", str(pub_id))
    # No schedule.yaml: no slot will take it, and approve says so (not "the next x slot").
    assert result.exit_code == 0 and "next x slot" not in result.stdout
    assert "there is no schedule.yaml" in result.stdout and "no slot will take it" in result.stdout
    assert f"`publisher publish {pub_id}`" in result.stdout
    assert outbox.get(pub_id).state == "approved"
    result = invoke("approve", str(pub_id), "--at", "+2h")
    assert result.exit_code == 0 and "Scheduled" in result.stdout
    pub = outbox.get(pub_id)
    assert pub.state == "scheduled"
    assert abs((pub.scheduled_at - dt.datetime.now(dt.timezone.utc)).total_seconds() - 7200) < 60
    result = invoke("approve", str(pub_id), "--at", "2031-05-06T07:08+08:00")
    assert outbox.get(pub_id).scheduled_at == dt.datetime(2031, 5, 5, 23, 8, tzinfo=dt.timezone.utc)
    bad = CliRunner().invoke(cli, ["approve", str(pub_id), "--at", "soonish"])
    assert bad.exit_code == 2 and "not a time" in bad.output
    past = CliRunner().invoke(cli, ["approve", str(pub_id), "--at", "2001-01-01T00:00Z"])
    assert past.exit_code == 1 and "in the past" in past.output


def test_reject(outbox, pub_id):
    assert invoke("reject", str(pub_id), "--reason", "off topic").exit_code == 0
    assert outbox.get(pub_id).state == "rejected" and outbox.history(pub_id)[-1].reason == "off topic"
    again = CliRunner().invoke(cli, ["reject", str(pub_id)])
    assert again.exit_code == 1 and "cannot be rejected" in again.output


def test_publish_dry_run_changes_nothing(outbox, pub_id):
    outbox.approve(pub_id)
    before = outbox.get(pub_id)
    result = invoke("publish", str(pub_id), "--dry-run")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "3 of 3 posts would go out" in out and "as a new thread" in out and "in reply to dry-run-1" in out
    for text in thread_texts("article", 3):
        assert text in out
    assert outbox.get(pub_id) == before and len(outbox.history(pub_id)) == 2


def test_publish_refuses_a_draft(pub_id):
    result = CliRunner().invoke(cli, ["publish", str(pub_id)])
    assert result.exit_code == 1 and "not approved" in result.output


def test_publish_without_credentials_says_which(outbox, pub_id):
    outbox.approve(pub_id)
    result = CliRunner().invoke(cli, ["publish", str(pub_id)])
    assert result.exit_code == 1
    assert "X_API_KEY, X_API_SECRET, X_ACCESS_TOKEN, X_ACCESS_TOKEN_SECRET" in result.output
    assert outbox.get(pub_id).state == "approved"


@pytest.fixture
def fake():
    with FakeX() as server, server.installed():
        yield server


def test_publish_resolve_and_retry_against_x(outbox, pub_id, fake, monkeypatch):
    for key, value in x_env(fake).items():
        monkeypatch.setenv(key, value)
    outbox.approve(pub_id)
    fake.fail_next(Fault("status", status=503))
    result = CliRunner().invoke(cli, ["publish", str(pub_id)])
    assert result.exit_code == 1 and "failed" in result.stderr and "nothing was posted" in result.stderr
    assert invoke("retry", str(pub_id)).exit_code == 0
    fake.fail_next(Fault("reset", processed=True))
    result = CliRunner().invoke(cli, ["publish", str(pub_id)])
    assert result.exit_code == 1 and "needs_attention" in result.stderr
    listing = json.loads(invoke("queue", "--state", "needs-attention", "--json").stdout)["publications"]
    assert [(r["id"], r["unknown_post"]) for r in listing] == [(pub_id, 1)]
    refused = CliRunner().invoke(cli, ["retry", str(pub_id)])
    assert refused.exit_code == 1 and "resolve" in refused.output
    (hook,) = fake.tweets
    result = invoke("resolve", str(pub_id), "--posted", "--post-id", f"https://x.com/publisher_test/status/{hook.id}")
    assert result.exit_code == 0 and "approved" in result.stdout
    result = invoke("publish", str(pub_id))
    assert result.exit_code == 0, result.output
    assert "posted 2/3: https://x.com/i/status/" in result.stdout and "posted 3/3" in result.stdout
    assert [t.in_reply_to for t in fake.tweets] == [None, hook.id, fake.tweets[1].id]
    assert outbox.thread(pub_id).posts[0].url == f"https://x.com/i/status/{hook.id}"


def test_resolve_needs_a_choice_and_a_valid_id(outbox, pub_id):
    assert CliRunner().invoke(cli, ["resolve", str(pub_id)]).exit_code == 2
    result = CliRunner().invoke(cli, ["resolve", str(pub_id), "--posted", "--post-id", "nonsense"])
    assert result.exit_code == 2 and "not an X post id or link" in result.output
    result = CliRunner().invoke(cli, ["resolve", str(pub_id), "--not-posted"])
    assert result.exit_code == 1 and "no post whose outcome is unknown" in result.output


# --- accounts --------------------------------------------------------------------------------


def test_accounts_check(outbox, fake, monkeypatch):
    result = CliRunner().invoke(cli, ["accounts", "check"])
    assert result.exit_code == 1 and "x: not configured" in result.output and "no platform is configured" in result.output
    env = x_env(fake)
    env["X_API_SECRET"] = "wrong"
    result = CliRunner().invoke(cli, ["accounts", "check"], env=env)
    assert result.exit_code == 1 and "x: FAILED" in result.output and "stopped" in result.output
    assert "401" in outbox.account_state("x").blocked_reason
    result = CliRunner().invoke(cli, ["accounts", "check", "x"], env=x_env(fake))
    assert result.exit_code == 0 and "x: ok — @publisher_test (id 1000)" in result.output
    assert outbox.account_state("x").blocked_reason is None
    assert fake.tweets == []  # a check never posts
    assert CliRunner().invoke(cli, ["accounts", "check", "myspace"]).exit_code == 2


# --- real subprocesses -----------------------------------------------------------------------


def test_queue_commands_never_import_tweepy(outbox, pub_id):
    outbox.approve(pub_id)
    for args in (["queue"], ["queue", "--json"], ["show", str(pub_id)], ["approve", str(pub_id)],
                 ["publish", str(pub_id), "--dry-run"], ["reject", str(pub_id)]):
        code = ("import sys\nfrom publisher.cli import main\n"
                f"try:\n    main({args!r})\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
                "heavy = [m for m in ('tweepy', 'requests_oauthlib', 'twitter_text', 'apscheduler') if m in sys.modules]\n"
                "print('HEAVY', heavy, file=sys.stderr)\n")
        import subprocess

        proc = subprocess.run([sys.executable, "-c", code], env=subprocess_env(), capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0, (args, proc.stderr)
        assert "HEAVY []" in proc.stderr, (args, proc.stderr)


@pytest.mark.sqlite_only  # reads the database file's bytes
def test_secrets_never_reach_the_database_or_the_output(outbox, tmp_path, isolated_env):
    secret = uuid.uuid4().hex
    with FakeX(api_key=f"key-{secret}", api_secret=f"apisecret-{secret}", access_token=f"1-token-{secret}",
               access_token_secret=f"tokensecret-{secret}") as fake:
        ids = [store(outbox, tmp_path / "in", f"{n}.md").publications[0] for n in "ab"]
        for pub_id in ids:
            outbox.approve(pub_id)
        env = subprocess_env(**x_env(fake), FAKE_X_URL=fake.base_url, FAKE_X_TESTS=str(TESTS))
        outputs = []

        def run(*args: str):
            import subprocess

            proc = subprocess.run([sys.executable, "-c", CLI_BOOTSTRAP, *args], env=env, capture_output=True,
                                  text=True, timeout=60)
            outputs.append(proc.stdout + proc.stderr)
            return proc

        assert run("accounts", "check").returncode == 0
        assert run("publish", str(ids[0])).returncode == 0
        fake.fail_next(Fault("unauthorized"))
        assert run("publish", str(ids[1])).returncode == 1
        run("queue", "--all")
        run("show", str(ids[1]))
        env["X_API_SECRET"] = "wrong"
        assert run("accounts", "check").returncode == 1
        assert len(fake.tweets) == 3
    outbox.close()
    stored = b"".join(p.read_bytes() for p in isolated_env.iterdir() if p.is_file())
    assert b"publisher.db" in b"".join(p.name.encode() for p in isolated_env.iterdir())
    assert len(fake.tweets) == 3 and all(t.id.encode() in stored for t in fake.tweets), "posts not recorded"
    text = "\n".join(outputs)
    assert "stopped" in text and "posted" in text
    for value in x_env(fake).values():
        assert value.encode() not in stored, "a credential was written to the database"
        assert value not in text, "a credential was printed"
    assert not list(tmp_path.rglob(".env"))
