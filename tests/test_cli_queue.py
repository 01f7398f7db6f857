"""The queue commands (publisher.cli.queue): stuck claims, safe edits, one approval for all
platforms, times, rough edges of the commands. Each test runs the real outbox (a SQLite file) or the real CLI."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import stat
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from conftest import run_cli
from factories import store, thread_texts
from publisher.cli import cli
from publisher.errors import StoreError
from publisher.publishing.editing import edit_publication
from publisher.queue.outbox import Outbox
from publisher.queue.owner import current_owner, owner_status, parse_owner
from publisher.queue.records import EditedPost

NOW = dt.datetime(2024, 6, 14, 8, 0, tzinfo=dt.timezone.utc)
ELSEWHERE = "oldcontainer:4242:999/1"  # a claim made in a container that no longer exists


def invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def fails(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli, list(args), env=env)


def claimed_elsewhere(outbox: Outbox, pub_id: int, *, in_flight: int | None, now: dt.datetime = NOW,
                      owner: str = ELSEWHERE) -> None:
    """Claim ``pub_id`` as another machine's process (optionally with a post in flight), as a
    daemon in a container that was re-created would leave it."""
    other = Outbox(outbox.db, outbox.path, owner=owner)  # the same queue, claiming as that process
    other.claim(pub_id, now)
    if in_flight is not None:
        other.begin_post(pub_id, in_flight, now=now)
    assert outbox.get(pub_id).owner == owner
    still_beating(outbox, owner)


def still_beating(outbox: Outbox, owner: str) -> None:
    """On PostgreSQL another machine's claim is judged by its lease: make this one live."""
    if outbox.postgres:
        from publisher.queue.owner import parse_owner

        outbox.db.execute("INSERT INTO publisher_leases (process, host, pid, beat_at) VALUES (?, 'elsewhere', 0, "
                          "clock_timestamp()) ON CONFLICT DO NOTHING", (parse_owner(owner).process,))


# --- 1. a claim nobody here can check --------------------------------------------------------


def test_a_claim_from_another_host_is_released_by_hand_to_needs_attention(outbox, tmp_path):
    from publisher.platforms.dryrun import DryRunPlatform
    from publisher.publishing.publish import publish_publication

    pub_id = store(outbox, tmp_path / "in", n_posts=4).publications[0]
    outbox.approve(pub_id, now=NOW)
    first = DryRunPlatform()
    publish_publication(outbox, pub_id, first, now=NOW)  # all 4 sent; start again with a fresh one
    pub_id = store(outbox, tmp_path / "in", "b.md", n_posts=4).publications[0]
    outbox.approve(pub_id, now=NOW)
    # post 1 went out, then the daemon's container died while post 2 was on the wire
    daemon = Outbox(outbox.db, outbox.path, owner=ELSEWHERE)
    daemon.claim(pub_id, NOW)
    daemon.begin_post(pub_id, 0, now=NOW)
    from publisher.platforms.base import PostRef

    daemon.record_post(pub_id, 0, PostRef(id="111"), now=NOW)
    daemon.begin_post(pub_id, 1, now=NOW)
    still_beating(outbox, ELSEWHERE)

    assert owner_status(ELSEWHERE) == "unknown"
    assert outbox.recover(NOW + dt.timedelta(days=1)) == []  # cannot be judged automatically
    for refused in (lambda: outbox.claim(pub_id, NOW), lambda: outbox.reject(pub_id, now=NOW),
                    lambda: outbox.retry(pub_id, now=NOW), lambda: outbox.resolve(pub_id, False, now=NOW),
                    lambda: outbox.approve(pub_id, now=NOW)):
        with pytest.raises(StoreError, match=r"pid 4242 on oldcontainer since 2024-06-14 08:00 UTC.*--release-claim"):
            refused()

    pub = outbox.release_claim(pub_id, now=NOW + dt.timedelta(hours=1))
    assert pub.state == "needs_attention" and pub.unknown_post == 2 and pub.owner is None
    assert "post 2 of 4 was in flight" in pub.note and "pid 4242 on oldcontainer" in pub.note
    assert outbox.due("x", NOW + dt.timedelta(days=1)) == []  # never a blind repost
    outbox.resolve(pub_id, False, now=NOW)  # a person looked: post 2 is not there
    rest = DryRunPlatform()
    assert publish_publication(outbox, pub_id, rest, now=NOW).complete
    assert [p.text for p in rest.posts] == thread_texts("b", 4)[1:]
    assert rest.posts[0].reply_to == "111"


def test_a_released_claim_with_nothing_in_flight_goes_back_where_it_was(outbox, tmp_path):
    pub_id = store(outbox, tmp_path / "in").publications[0]
    at = NOW + dt.timedelta(hours=2)
    outbox.approve(pub_id, at, now=NOW)
    claimed_elsewhere(outbox, pub_id, in_flight=None, now=at)
    with pytest.raises(StoreError, match="cannot be rejected"):
        outbox.reject(pub_id, now=at)
    pub = outbox.release_claim(pub_id, now=at)
    assert pub.state == "scheduled" and pub.scheduled_at == at and pub.owner is None
    assert "nothing was in flight" in pub.note and "back in line" in pub.note
    assert [p.id for p in outbox.due("x", at)] == [pub_id]
    with pytest.raises(StoreError, match="not claimed by any process"):
        outbox.release_claim(pub_id, now=at)


def test_release_is_refused_while_the_owner_runs_on_this_machine(outbox, tmp_path):
    from publisher.queue.owner import _boot_id, _pid_namespace, _process_start

    pub_id = store(outbox, tmp_path / "in").publications[0]
    outbox.approve(pub_id, now=NOW)
    outbox.claim(pub_id, NOW)  # this very thread
    with pytest.raises(StoreError, match="which is running"):
        outbox.release_claim(pub_id, now=NOW)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        owner = (f"{socket.gethostname()}:{child.pid}:{_process_start(child.pid)}:{_boot_id()}:"
                 f"{_pid_namespace()}/1")
        outbox.db.execute("UPDATE publications SET owner = ? WHERE id = ?", (owner, pub_id))
        assert owner_status(owner) == "alive"
        with pytest.raises(StoreError, match=f"pid {child.pid}, which is running"):
            outbox.release_claim(pub_id, now=NOW)
    finally:
        child.kill()
        child.wait()
    assert owner_status(owner) == "dead"
    assert [p.id for p in outbox.recover(NOW)] == [pub_id]  # gone for certain: settled on its own


def test_owner_names_its_boot_and_pid_namespace():
    if not os.path.exists("/proc/sys/kernel/random/boot_id"):
        pytest.skip("no Linux boot id here")
    me = parse_owner(current_owner())
    assert me is not None and me.pid == os.getpid() and me.host == socket.gethostname()
    assert me.boot and len(me.boot) == 36 and me.pid_ns and me.pid_ns.isdigit()
    assert owner_status(current_owner()) == "alive"
    # this very process, but under another boot of the kernel: it cannot be running
    rebooted = f"{me.host}:{me.pid}:{me.start}:00000000-0000-4000-8000-000000000000:{me.pid_ns}/{me.thread}"
    assert owner_status(rebooted) == "dead"
    # same kernel, another pid namespace (another container, even with the same host name): unknown
    other_ns = f"{me.host}:999999999:1:{me.boot}:1/1"
    assert me.pid_ns != "1" and owner_status(other_ns) == "unknown"
    # claims written by older versions are still read
    old = parse_owner("oldhost:12:34/5")
    assert (old.host, old.pid, old.start, old.boot, old.thread) == ("oldhost", 12, "34", None, 5)
    assert owner_status(f"{me.host}:999999999:1/1") == "dead"
    assert owner_status("garbage") == "dead"


def test_queue_and_show_say_who_holds_a_claim_and_release_it(outbox, tmp_path):
    pub_id = store(outbox, tmp_path / "in").publications[0]
    outbox.approve(pub_id)
    claimed_at = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)
    claimed_elsewhere(outbox, pub_id, in_flight=0, now=claimed_at)
    listing = " ".join(invoke("queue").stdout.split())  # the note is wrapped under the title
    local = claimed_at.astimezone().strftime("%Y-%m-%d %H:%M")
    assert f"claimed by pid 4242 on oldcontainer since {local}, post 1 of 3 in flight" in listing
    assert f"publisher resolve {pub_id} --release-claim" in listing
    shown = invoke("show", str(pub_id)).stdout
    assert f"claimed by pid 4242 on oldcontainer since {local}" in shown and "IN FLIGHT since" in shown
    data = json.loads(invoke("queue", "--json").stdout)["publications"][0]
    assert data["claim"] == {"owner": ELSEWHERE, "by": "pid 4242 on oldcontainer", "since": claimed_at.isoformat(),
                             "status": "unknown", "post_in_flight": 1}
    assert json.loads(invoke("show", str(pub_id), "--json").stdout)["claim"]["status"] == "unknown"

    refused = fails("publish", str(pub_id))
    assert refused.exit_code == 1 and "--release-claim" in refused.output
    assert fails("resolve", str(pub_id), "--release-claim", "--not-posted").exit_code == 2
    result = invoke("resolve", str(pub_id), "--release-claim")
    assert result.exit_code == 0 and f"{pub_id} is needs_attention" in result.stdout
    assert outbox.get(pub_id).unknown_post == 1
    again = fails("resolve", str(pub_id), "--release-claim")
    assert again.exit_code == 1 and again.output.startswith("error: ") and "not claimed" in again.output
    assert invoke("resolve", str(pub_id), "--not-posted").exit_code == 0
    assert outbox.get(pub_id).state == "approved"


# --- 2. edits keep the credits, the roles and the numbering ----------------------------------

NUMBERED = ["Kling makes two-minute videos. 🧵", "2/4 It runs at 30 fps.", "3/4 It renders 1080p.",
            "4/4 Original article: 快手「可灵」爆火\nBy 机器之心\nhttps://example.com/articles/kling\n\n"
            "Machine-translated from Chinese."]

EDITOR = textwrap.dedent("""
    import os, sys
    path = sys.argv[1]
    text = open(path, encoding="utf-8").read()
    open(os.environ["EDIT_SEEN"], "a", encoding="utf-8").write(text + "\\n<<END>>\\n")
    exec(os.environ["EDIT_CODE"])  # changes `text`
    open(path, "w", encoding="utf-8").write(text)
""")


@pytest.fixture
def editor(tmp_path):
    script = tmp_path / "editor.py"
    script.write_text(EDITOR, encoding="utf-8")
    seen = tmp_path / "seen.txt"

    def env(code: str) -> dict:
        return {"EDITOR": f"{sys.executable} {script}", "VISUAL": "", "EDIT_CODE": code, "EDIT_SEEN": str(seen)}

    env.seen = seen  # type: ignore[attr-defined]
    return env


def block(n: int) -> str:
    """Editor code: delete the block of post ``n`` (its marker line and text, up to the next marker)."""
    return textwrap.dedent(f"""
        import re
        parts = re.split(r"(?m)^(?==== post )", text)
        text = "".join(p for p in parts if not p.startswith("=== post {n} "))
    """)


@pytest.fixture
def numbered(outbox, tmp_path) -> int:
    pub_id = store(outbox, tmp_path / "in", texts=NUMBERED).publications[0]
    outbox.approve(pub_id)
    return pub_id


def test_deleting_the_attribution_is_refused_and_nothing_is_saved(outbox, numbered, editor):
    before = (outbox.get(numbered), outbox.thread(numbered))
    result = fails("edit", str(numbered), env=editor(block(4)))
    assert result.exit_code == 1
    assert result.output == (f"error: publication {numbered} not saved: no attribution post: the original must "
                             "be credited\n")
    shown = editor.seen.read_text(encoding="utf-8").split("<<END>>")
    assert "#| ERROR: no attribution post" in shown[1]  # the editor opened again with the reason
    assert (outbox.get(numbered), outbox.thread(numbered)) == before  # approval and thread untouched
    with pytest.raises(StoreError) as info:  # the library says the same, in one line
        edit_publication(outbox, numbered, [EditedPost(t, r) for t, r in zip(NUMBERED[:3], ("hook", "point", "point"))])
    assert "no attribution post" in str(info.value) and "\n" not in str(info.value)


def test_deleting_a_point_keeps_roles_by_marker_and_renumbers(outbox, numbered, editor):
    result = invoke("edit", str(numbered), env=editor(block(2)))
    assert result.exit_code == 0, result.output
    assert "n/m numbers were updated" in result.stdout and "approval was withdrawn" in result.stdout
    thread = outbox.thread(numbered)
    assert [p.role for p in thread.posts] == ["hook", "point", "attribution"]
    assert [p.text for p in thread.posts] == [NUMBERED[0], "2/3 It renders 1080p.", "3/3" + NUMBERED[3][3:]]
    assert "numbering updated" in outbox.get(numbered).note


def test_adding_a_point_renumbers_and_a_bare_marker_keeps_its_role(outbox, numbered, editor):
    code = textwrap.dedent("""
        text = text.replace("=== post 4 (attribution) ===", "=== post 4 ===")
        text = text.replace("=== post 4 ===", "=== post 9 ===\\n3/4 A new point.\\n=== post 4 ===")
    """)
    assert invoke("edit", str(numbered), env=editor(code)).exit_code == 0
    thread = outbox.thread(numbered)
    assert [p.role for p in thread.posts] == ["hook", "point", "point", "point", "attribution"]
    assert [p.text.split(" ", 1)[0] for p in thread.posts[1:]] == ["2/5", "3/5", "4/5", "5/5"]


def test_an_edit_must_keep_the_attribution_last_with_its_link_and_disclosure(outbox, numbered):
    credit = NUMBERED[3]
    cases = {
        "the attribution post must stay last (it is post 3 of 4)":
            [NUMBERED[0], NUMBERED[1], credit, NUMBERED[2]],
        "the attribution post must keep the link to the original (https://example.com/articles/kling)":
            [*NUMBERED[:3], credit.replace("https://example.com/articles/kling", "")],
        "the attribution post must keep saying that the thread is machine-translated":
            [*NUMBERED[:3], credit.replace("Machine-translated from Chinese.", "")],
    }
    before = outbox.thread(numbered)
    for why, texts in cases.items():
        roles = ["hook", "point", "attribution", "point"] if "last" in why else ["hook", "point", "point", "attribution"]
        with pytest.raises(StoreError, match="not saved: " + why.replace("(", r"\(").replace(")", r"\)")):
            edit_publication(outbox, numbered, [EditedPost(t, r) for t, r in zip(texts, roles)])
    with pytest.raises(StoreError, match="posts 3, 4 are all marked attribution"):
        edit_publication(outbox, numbered, [EditedPost(t, r) for t, r in zip(NUMBERED, ["hook", "point", "attribution",
                                                                          "attribution"])])
    with pytest.raises(StoreError, match="unknown role 'pint'"):
        edit_publication(outbox, numbered, [EditedPost(t, r) for t, r in zip(NUMBERED, ["hook", "pint", "point", "attribution"])])
    assert outbox.thread(numbered) == before and outbox.get(numbered).approved


def test_an_edit_may_not_exceed_max_posts(outbox, numbered, editor, tmp_path):
    points = [EditedPost(f"{n}/9 Point {n}.", "point") for n in range(2, 9)]
    with pytest.raises(StoreError, match="9 posts, more than the maximum of 6"):
        edit_publication(outbox, numbered, [EditedPost(NUMBERED[0], "hook"), *points, EditedPost(NUMBERED[3], "attribution")])
    # schedule.yaml's threads.max_posts applies to `publisher edit`
    (tmp_path / "schedule.yaml").write_text("timezone: UTC\nthreads:\n  max_posts: 3\n", encoding="utf-8")
    code = 'text = text.replace("=== post 4 (attribution) ===", "=== post 5 ===\\nOne more.\\n=== post 4 (attribution) ===")'
    result = fails("edit", str(numbered), env=editor(code))
    assert result.exit_code == 1 and "5 posts, more than the maximum of 3" in result.output
    assert outbox.get(numbered).n_posts == 4


def test_numbered_posts_already_posted_pin_the_count(outbox, numbered):
    from publisher.platforms.base import PostRef

    outbox.claim(numbered)
    outbox.begin_post(numbered, 0)
    outbox.record_post(numbered, 0, PostRef(id="1"))
    outbox.begin_post(numbered, 1)
    outbox.record_post(numbered, 1, PostRef(id="2"))
    outbox.release(numbered, "stopped by hand")
    posts = [EditedPost(t, r) for t, r in zip(NUMBERED, ["hook", "point", "point", "attribution"])]
    with pytest.raises(StoreError, match="post 2 is already on x numbered for 4 posts; keep 4 posts"):
        edit_publication(outbox, numbered, [posts[0], posts[1], posts[3]])
    pub = edit_publication(outbox, numbered, [posts[0], posts[1], EditedPost("3/4 It renders 4K.", "point"), posts[3]])
    assert pub.n_posts == 4 and pub.posted_count == 2


# --- 3. one approval for all platforms -------------------------------------------------------

PLATFORMS = ("x", "mastodon", "bluesky")


def test_approve_one_mentions_the_siblings_then_article_approves_the_rest(outbox, tmp_path):
    ing = store(outbox, tmp_path / "in", platforms=PLATFORMS)
    x, mastodon, bluesky = ing.publications
    result = invoke("approve", str(x))
    assert result.exit_code == 0
    assert (f"Still waiting for approval on other platforms: {mastodon} (mastodon), {bluesky} (bluesky); "
            f"`publisher approve --article {ing.article_id}` approves them all.") in result.stdout
    proc = run_cli("approve", "--article", str(ing.article_id))  # a real process, as people run it
    assert proc.returncode == 0, proc.stderr
    assert (f"Approved 2 publications of article {ing.article_id} ({tmp_path / 'in' / 'article.md'}, revision 1): "
            f"{mastodon} (mastodon, 3 posts), {bluesky} (bluesky, 3 posts)") in proc.stdout
    assert {outbox.get(p).state for p in ing.publications} == {"approved"}
    again = fails("approve", "--article", str(ing.article_id))
    assert again.exit_code == 1 and "has no drafts to approve" in again.output and f"{x} (x) is approved" in again.output
    shown = invoke("show", str(x)).stdout
    assert f"(article {ing.article_id}, revision 1," in shown  # where the article id is found


def test_approve_article_by_id_is_bound_to_that_revision_by_path_takes_the_latest(outbox, tmp_path):
    first = store(outbox, tmp_path / "in", platforms=PLATFORMS)
    second = store(outbox, tmp_path / "in", platforms=PLATFORMS, body="快手发布了可灵。它很快。")
    assert second.revision == 2
    # The operator reviewed article 1; revision 2 came in since: approving 1 must not approve 2.
    result = fails("approve", "--article", str(first.article_id), "--at", "+3h")
    assert result.exit_code == 1
    assert (f"article {first.article_id} is revision 1 of" in result.output
            and f"revision 2 (article {second.article_id}" in result.output
            and "is not what you reviewed" in result.output
            and f"`publisher approve --article {second.article_id}`" in result.output), result.output
    assert {outbox.get(p).state for p in second.publications} == {"draft"}
    result = invoke("approve", "--article", str(second.article_id), "--at", "+3h")
    assert result.exit_code == 0, result.output
    assert f"Scheduled 3 publications of article {second.article_id}" in result.stdout
    assert {outbox.get(p).state for p in second.publications} == {"scheduled"}
    third = store(outbox, tmp_path / "in", platforms=PLATFORMS, body="快手发布了可灵。它很慢。")
    result = invoke("approve", "--article", "in/article.md")
    assert result.exit_code == 0 and f"of article {third.article_id}" in result.stdout
    assert {outbox.get(p).state for p in third.publications} == {"approved"}


def test_approve_article_is_all_or_none(outbox, tmp_path):
    from factories import make_article, make_thread, make_translated

    article = make_article(tmp_path / "in")
    threads = {p: make_thread(article, p) for p in PLATFORMS}
    threads["bluesky"] = make_thread(article, "bluesky", ["好" * 301, "credit"])
    ing = outbox.add_article(article, make_translated(article), threads)
    result = fails("approve", "--article", str(ing.article_id))
    assert result.exit_code == 1
    assert "over the limit of 300; edit it first; nothing of article" in result.output
    assert {outbox.get(p).state for p in ing.publications} == {"draft"}


def test_approve_needs_an_id_or_an_article(outbox, tmp_path):
    ing = store(outbox, tmp_path / "in")
    assert fails("approve").exit_code == 2
    both = fails("approve", str(ing.publications[0]), "--article", str(ing.article_id))
    assert both.exit_code == 2 and "not both" in both.output
    assert fails("approve", "--article", "999").output == "error: no article 999\n"


# --- 4. times ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["25:00", "12:99", "+99999999d", "+999999999999d", "soonish", "2024-02-30T08:00",
                                  "9999-12-31T23:59-01:00", "0001-01-01T00:00+01:00", "8:5"])
def test_every_bad_time_is_a_usage_error_on_one_line(outbox, tmp_path, text):
    pub_id = store(outbox, tmp_path / "in").publications[0]
    result = fails("approve", str(pub_id), "--at", text)
    assert result.exit_code == 2, (result.output, result.exception)
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and errors[0].startswith("Error: Invalid value for '--at': ")
    assert outbox.get(pub_id).state == "draft"


def test_the_reported_bad_times_in_a_real_process(outbox, tmp_path):
    pub_id = store(outbox, tmp_path / "in").publications[0]
    for text in ("25:00", "+99999999d"):
        proc = run_cli("approve", str(pub_id), "--at", text, env=None)
        assert proc.returncode == 2, proc.stderr
        assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
        assert f"Error: Invalid value for '--at': '{text}'" in proc.stderr


def test_times_are_read_and_shown_in_the_schedule_zone(outbox, tmp_path):
    (tmp_path / "schedule.yaml").write_text("timezone: Asia/Shanghai\n", encoding="utf-8")
    pub_id = store(outbox, tmp_path / "in").publications[0]
    result = invoke("approve", str(pub_id), "--at", "2031-05-06T07:08")
    assert result.exit_code == 0, result.output
    assert "set for Tue 2031-05-06 07:08 Asia/Shanghai" in result.stdout
    assert outbox.get(pub_id).scheduled_at == dt.datetime(2031, 5, 5, 23, 8, tzinfo=dt.timezone.utc)
    assert outbox.history(pub_id)[-1].reason == "approved for 2031-05-06 07:08 Asia/Shanghai"
    listing = invoke("queue").stdout
    assert "2031-05-06 07:08" in listing and "Times in Asia/Shanghai (schedule.yaml)." in listing
    shown = invoke("show", str(pub_id)).stdout
    assert "scheduled for 2031-05-06 07:08" in shown and "Times in Asia/Shanghai (schedule.yaml)." in shown
    # a time of day: the next time Shanghai's clocks show it
    assert invoke("approve", str(pub_id), "--at", "08:00").exit_code == 0
    at = outbox.get(pub_id).scheduled_at
    import zoneinfo

    local = at.astimezone(zoneinfo.ZoneInfo("Asia/Shanghai"))
    assert (local.hour, local.minute) == (8, 0)
    assert dt.timedelta(0) < at - dt.datetime.now(dt.timezone.utc) <= dt.timedelta(days=1)
    # an explicit offset still wins
    invoke("approve", str(pub_id), "--at", "2031-05-06T07:08Z")
    assert outbox.get(pub_id).scheduled_at == dt.datetime(2031, 5, 6, 7, 8, tzinfo=dt.timezone.utc)


def test_a_time_skipped_by_daylight_saving_is_the_first_valid_instant(outbox, tmp_path):
    (tmp_path / "schedule.yaml").write_text("timezone: Europe/Berlin\n", encoding="utf-8")
    pub_id = store(outbox, tmp_path / "in").publications[0]
    assert invoke("approve", str(pub_id), "--at", "2031-03-30T02:30").exit_code == 0  # clocks jump 02:00 -> 03:00
    assert outbox.get(pub_id).scheduled_at == dt.datetime(2031, 3, 30, 1, 0, tzinfo=dt.timezone.utc)


def test_a_broken_schedule_stops_at_but_not_the_listing(outbox, tmp_path):
    (tmp_path / "schedule.yaml").write_text("timezone: Mars/Olympus\n", encoding="utf-8")
    pub_id = store(outbox, tmp_path / "in").publications[0]
    outbox.approve(pub_id, dt.datetime(2031, 1, 1, tzinfo=dt.timezone.utc))
    refused = fails("approve", str(pub_id), "--at", "+2h")
    assert refused.exit_code == 1 and refused.output.startswith("error: ") and "Mars/Olympus" in refused.output
    listing = fails("queue")
    machine = dt.datetime(2031, 1, 1, tzinfo=dt.timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M")
    assert listing.exit_code == 0 and machine in listing.stdout
    assert "warning: " in listing.stderr and "this machine's zone" in listing.stderr


# --- 5. rough edges ----------------------------------------------------------------------------


def test_a_broken_editor_is_one_house_error_line(outbox, tmp_path):
    pub_id = store(outbox, tmp_path / "in").publications[0]
    outbox.approve(pub_id)
    before = outbox.thread(pub_id)
    for editor in ("false", str(tmp_path / "no-such-editor")):
        result = fails("edit", str(pub_id), env={"EDITOR": editor, "VISUAL": ""})
        assert result.exit_code == 1, result.output
        assert result.output.startswith("error: ") and result.output.count("\n") == 1, result.output
        assert "Editing failed" in result.output and "set $VISUAL or $EDITOR" in result.output
    assert outbox.thread(pub_id) == before and outbox.get(pub_id).approved


def test_queue_platform_is_a_choice(outbox, tmp_path):
    store(outbox, tmp_path / "in", platforms=PLATFORMS)
    bad = fails("queue", "--platform", "facebook")
    assert bad.exit_code == 2 and "Invalid value for '--platform'" in bad.output and "'x'" in bad.output
    rows = json.loads(invoke("queue", "--platform", "Mastodon", "--json").stdout)["publications"]
    assert [r["platform"] for r in rows] == ["mastodon"]


def test_the_queue_database_is_private(tmp_path):
    old = os.umask(0o022)  # the usual umask: files would be 0644, readable by everyone
    try:
        path = tmp_path / "fresh" / "queue.db"
        with Outbox.open(path) as box:
            store(box, tmp_path / "in")
            files = [path, path.with_name("queue.db-wal"), path.with_name("queue.db-shm")]
            assert all(f.exists() for f in files)
            for f in files:
                assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        existing = tmp_path / "mine.db"
        existing.touch(mode=0o640)
        import sqlite3

        conn = sqlite3.connect(existing)  # an existing database (an empty file is refused: #11)
        conn.execute("CREATE TABLE mine (x)")
        conn.close()
        Outbox.open(existing).close()
        assert stat.S_IMODE(existing.stat().st_mode) == 0o640  # the operator's own choice stays
    finally:
        os.umask(old)


# --- 6. the README says what the daemon uses ---------------------------------------------------


def test_the_readme_library_section_names_what_the_daemon_calls():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### For the scheduler (library)"):readme.index("## Scheduling")]
    used, _, others = section.partition("not used by the daemon")
    daemon = "".join(p.read_text(encoding="utf-8") for p in sorted((root / "publisher" / "daemon").glob("*.py")))
    daemon += (root / "publisher" / "app.py").read_text(encoding="utf-8")
    said_used = {n for n in re.findall(r"`(?:[\w.]+\.)?(\w+)\(", used) if hasattr(Outbox, n)}
    said_unused = {n for n in re.findall(r"`(\w+)\(", others) if hasattr(Outbox, n)}
    assert {"due", "claim", "release", "recover"} <= said_used
    for name in said_used:
        assert re.search(rf"\b[oO]utbox\.{name}\(", daemon), f"the README says the daemon calls {name}()"
    assert "claim_next" in said_unused
    for name in said_unused:
        assert f".{name}(" not in daemon, f"the README says the daemon does not call {name}()"
