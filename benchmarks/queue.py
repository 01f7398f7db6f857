"""Queue speed with 10,000 threads stored.

Measures, against a fresh database in a temporary folder:

* ``publisher queue`` as a real subprocess (default view, all rows, JSON), wall time;
  target <= 1 s. Baseline for comparison: ``python -c pass`` and ``publisher --help``.
* claiming the due items in-process: ``Outbox.due`` (every due X thread) and
  ``Outbox.claim_next`` (one claim, committed with fsync); target <= 50 ms.
* the path the daemon really takes in a slot (it does not use ``claim_next``): the account
  check, the posts of the last 24 hours, ``OutboxStore.waiting`` (``Outbox.due`` filtered),
  the slot decision (``publisher.schedule.rules.decide``: quiet hours, min_gap, whole-thread quota) and
  ``claim(id)``; each step, their sum, and a whole ``Daemon.tick()`` (slot ledger writes
  included, the publish step replaced by giving the claim back); target <= 50 ms.

With ``--postgres URL`` (or ``--postgres auto``: a throwaway server from Debian's package, as
the tests start it) the same figures are measured on PostgreSQL too, and a last table puts the
two side by side, with PostgreSQL's time as a ratio of SQLite's (the baseline).

Run: ``python benchmarks/queue.py [--threads 10000] [--repeat 5] [--postgres auto|URL]`` from the
repository root.
"""

from __future__ import annotations

import os
import sys

# This file is named after the standard library's queue module (the outbox issue asks for
# benchmarks/queue.py). Run as a script, its folder comes first on sys.path, and any `import
# queue` (logging.handlers, concurrent.futures, urllib3...) would load this file instead: drop
# the folder, as benchmarks/translate.py does.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import hashlib  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from publisher.models import Article, Post, Thread  # noqa: E402
from publisher.queue.outbox import Outbox  # noqa: E402
from publisher.platforms.dryrun import DryRunPlatform  # noqa: E402
from publisher.publishing.publish import publish_publication  # noqa: E402

QUEUE_TARGET = 1.0
CLAIM_TARGET = 0.050
NOW = dt.datetime.now(dt.timezone.utc)
BODY = "快手发布了视频生成大模型可灵，它可以生成长达两分钟的视频。" * 40


def article(i: int) -> Article:
    data = f"article {i}".encode()
    return Article(path=Path(f"/inbox/{i:05d}.md"), source_hash=hashlib.sha256(data).hexdigest(),
                   title=f"快手「可灵」爆火 第{i}篇", title_from="frontmatter", author="机器之心",
                   date=dt.date(2024, 6, 14), url=f"https://example.com/{i}", publication=None, tags=("AI",),
                   description=None, language="zh-Hans", body=BODY, blocks=())


def thread(a: Article, i: int) -> Thread:
    n = 3 + i % 4
    texts = [f"{i}: Kuaishou's Kling video model, post {k} of {n}. " + "Some words about it. " * 8 for k in range(n)]
    return Thread(platform="x", posts=tuple(Post(text=t, role="point", length=len(t), limit=280) for t in texts),
                  article_hash=a.source_hash, title=a.title)


def build(db: "Path | str", n: int) -> dict[str, int]:
    """n threads: 40% draft, 30% approved, 10% scheduled (half of them due), 15% posted, 5% rejected."""
    outbox = Outbox.open(db)
    dry = DryRunPlatform()
    with outbox.transaction():
        for i in range(n):
            a = article(i)
            pub_id = outbox.add_article(a, None, {"x": thread(a, i)}, now=NOW).publications[0]
            kind = i % 20
            if kind < 8:
                continue
            if kind < 14:
                outbox.approve(pub_id, now=NOW - dt.timedelta(minutes=n - i))
            elif kind < 16:
                at = NOW + dt.timedelta(hours=1 if kind == 14 else -1)
                outbox.approve(pub_id, now=NOW - dt.timedelta(hours=2))
                outbox.schedule(pub_id, at, "slot", now=NOW - dt.timedelta(hours=2))
            elif kind < 19:
                outbox.approve(pub_id, now=NOW - dt.timedelta(days=1))
                publish_publication(outbox, pub_id, dry, now=NOW - dt.timedelta(hours=3))
            else:
                outbox.reject(pub_id, now=NOW)
    counts = outbox.counts()
    outbox.close()
    return counts


def wall(args: list[str], env: dict[str, str], repeat: int, ok: tuple[int, ...] = (0,)) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run(args, env=env, capture_output=True, timeout=60)
        times.append(time.perf_counter() - start)
        if proc.returncode not in ok:
            raise SystemExit(f"{' '.join(args)} failed: {proc.stderr.decode()}")
        size = len(proc.stdout)
    return statistics.median(times), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", metavar="URL", default=None,
                        help="also measure on PostgreSQL: a postgresql:// URL of an empty database, or 'auto'")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print("== SQLite ==")
        lite = measure(Path(tmp) / "publisher.db", Path(tmp), opts)
    if not opts.postgres:
        return
    server = None
    url = opts.postgres
    if url == "auto":
        sys.path.insert(0, str(ROOT / "tests"))
        from pgserver import TempPostgres

        server = TempPostgres().start()
        url = server.fresh_url("bench")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            print("\n== PostgreSQL ==")
            pg = measure(url, Path(tmp), opts)
    finally:
        if server is not None:
            server.stop()
    print(f"\nside by side ({opts.threads} threads; ratio = PostgreSQL / SQLite, the baseline):")
    print(f"  {'':<40} {'SQLite':>9} {'PostgreSQL':>11} {'ratio':>7}")
    for name in lite:
        a, b = lite[name], pg.get(name)
        if b is not None:
            print(f"  {name:<40} {a * 1000:7.1f} ms {b * 1000:8.1f} ms {b / a if a else float('nan'):6.2f}x")


def measure(db: "Path | str", tmp: Path, opts: argparse.Namespace) -> dict[str, float]:
    """Every figure of the benchmark on one database (a file path or a PostgreSQL URL)."""
    figures: dict[str, float] = {}
    if True:
        start = time.perf_counter()
        counts = build(db, opts.threads)
        figures["store all threads (one transaction)"] = time.perf_counter() - start
        print(f"stored {opts.threads} threads in {time.perf_counter() - start:.1f} s: {counts}")
        env = dict(os.environ, PUBLISHER_HOME=str(tmp), PUBLISHER_DB=str(db), PYTHONPATH=str(ROOT))
        py = [sys.executable]
        base, _ = wall(py + ["-c", "pass"], env, opts.repeat)
        helptime, _ = wall(py + ["-m", "publisher", "--help"], env, opts.repeat)
        print(f"\nbaseline: python -c pass {base * 1000:.0f} ms; publisher --help {helptime * 1000:.0f} ms")
        print(f"\n`publisher queue` (subprocess, median of {opts.repeat}; target <= {QUEUE_TARGET:.0f} s):")
        for label, extra in [("queue (default: 100 rows + counts)", []),
                             ("queue --limit 0 (every open row)", ["--limit", "0"]),
                             ("queue --json (every open row)", ["--json"]),
                             ("queue --all --limit 0 (all 10,000)", ["--all", "--limit", "0"])]:
            seconds, size = wall(py + ["-m", "publisher", "queue", *extra], env, opts.repeat)
            figures[f"list: {label.split(' (')[0]}"] = seconds
            print(f"  {label:<38} {seconds * 1000:7.0f} ms  ({size / 1024:.0f} KiB out)  "
                  f"{seconds / QUEUE_TARGET:.2f} of target")

        status_path(db, Path(tmp), env, py, opts.repeat)

        outbox = Outbox.open(db)
        due_times, claim_times = [], []
        n_due = 0
        for _ in range(max(opts.repeat, 10)):
            start = time.perf_counter()
            due = outbox.due("x", NOW)
            due_times.append(time.perf_counter() - start)
            n_due = len(due)
            start = time.perf_counter()
            claimed = outbox.claim_next("x", NOW, max_posts=17)
            claim_times.append(time.perf_counter() - start)
            assert claimed is not None
            outbox.release(claimed.id, "benchmark", now=NOW)
        explain = "EXPLAIN " if outbox.postgres else "EXPLAIN QUERY PLAN "
        plan = outbox.db.execute(explain + outbox._due_sql(True) + " LIMIT 1", ("x", "z", "z", 17)).fetchall()
        outbox.close()
        due_ms, claim_ms = statistics.median(due_times), statistics.median(claim_times)
        figures["claim: due('x', now)"] = due_ms
        figures["claim: claim_next + release"] = claim_ms
        print(f"\nclaiming (in-process, median of {len(due_times)}; target <= {CLAIM_TARGET * 1000:.0f} ms):")
        print(f"  due('x', now): {n_due} due threads    {due_ms * 1000:7.1f} ms  {due_ms / CLAIM_TARGET:.2f} of target")
        print(f"  claim_next('x', now, max_posts=17)    {claim_ms * 1000:7.1f} ms  {claim_ms / CLAIM_TARGET:.2f} of target")
        print("  query plan: " + "; ".join(str(row[-1]).strip() for row in plan[:4]))
        figures.update(daemon_path(db, tmp, max(opts.repeat, 10)))
    return figures


# The stored data has thousands of X posts made 3 hours before NOW: a quota that large makes
# the decision count all of them (the worst case) and still take a thread.
SCHEDULE = """\
timezone: UTC
platforms:
  x:
    accounts: {main: {daily_quota: 100000}}
    slots: [{days: daily, times: ["09:00"]}]
"""


def status_path(db: "Path | str", tmp: Path, env: dict[str, str], py: list[str], repeat: int) -> None:
    """`publisher status` as a subprocess (a monitoring check), and the status collection the
    daemon's monitor runs once per scan interval (publisher.cockpit.status.collect), in-process."""
    from publisher.schedule.config import parse_schedule
    from publisher.cockpit.status import collect

    schedule_file = tmp / "schedule.yaml"
    schedule_file.write_text(SCHEDULE, encoding="utf-8")
    env = dict(env, PUBLISHER_SCHEDULE=str(schedule_file))
    queue_s, _ = wall(py + ["-m", "publisher", "queue"], env, repeat)
    seconds, size = wall(py + ["-m", "publisher", "status"], env, repeat, ok=(0, 1))
    print(f"\n`publisher status` (subprocess, median of {repeat}; target <= {QUEUE_TARGET:.0f} s; baseline: "
          f"`publisher queue` {queue_s * 1000:.0f} ms):")
    print(f"  status                                 {seconds * 1000:7.0f} ms  ({size / 1024:.0f} KiB out)  "
          f"{seconds / QUEUE_TARGET:.2f} of target, {seconds / queue_s:.2f}x queue")
    schedule = parse_schedule(SCHEDULE, schedule_file)
    outbox = Outbox.open(db)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        found = collect(schedule, outbox, NOW, environ={"X_API_KEY": "k", "X_API_SECRET": "s",
                                                        "X_ACCESS_TOKEN": "t", "X_ACCESS_TOKEN_SECRET": "u"})
        times.append(time.perf_counter() - start)
    outbox.close()
    ms = statistics.median(times) * 1000
    print(f"  collect() per monitor check (in-process, {len(found.problems)} problems)  {ms:7.1f} ms  "
          f"{ms / (CLAIM_TARGET * 1000):.2f} of the {CLAIM_TARGET * 1000:.0f} ms slot target")


def daemon_path(db: "Path | str", tmp: Path, repeat: int) -> dict[str, float]:
    """Time what `publisher run` does in a slot, step by step, then as a whole tick."""
    import logging

    import queue  # the standard library's, not this file (see the top)

    from publisher.daemon.daemon import Daemon
    from publisher.daemon.records import PublishOutcome
    from publisher.daemon.sources import ScheduleWatcher
    from publisher.daemon.wiring import OutboxStore
    from publisher.queue.ledger import SlotLedger
    from publisher.schedule.rules import decide
    from publisher.schedule.slots import DAY
    from publisher.testing import ManualClock
    from publisher.schedule.config import parse_schedule

    assert hasattr(queue, "SimpleQueue"), queue.__file__
    logging.getLogger("publisher").setLevel(logging.ERROR)
    schedule = parse_schedule(SCHEDULE)
    outbox = Outbox.open(db)
    store = OutboxStore(outbox)
    steps: dict[str, list[float]] = {k: [] for k in ("account_problem", "post_times (24 h)", "waiting (due + filter)",
                                                     "platform_remaining", "decide", "claim(id)", "continuing")}
    totals: list[float] = []
    n_waiting = n_recent = 0
    for _ in range(repeat):
        marks = [time.perf_counter()]
        store.account_problem("x", NOW)
        marks.append(time.perf_counter())
        recent = list(store.post_times("x", NOW - DAY))
        marks.append(time.perf_counter())
        candidates = list(store.waiting("x", NOW))
        marks.append(time.perf_counter())
        left = store.platform_remaining("x", NOW)
        marks.append(time.perf_counter())
        decision = decide(schedule, "x", NOW, recent, candidates, left)
        marks.append(time.perf_counter())
        assert decision.item is not None, decision
        assert store.claim(decision.item.publication_id, NOW, "benchmark")
        marks.append(time.perf_counter())
        store.release(decision.item.publication_id, NOW, "benchmark")
        start = time.perf_counter()
        store.continuing("x", NOW)
        steps["continuing"].append(time.perf_counter() - start)
        for name, a, b in zip(list(steps)[:6], marks, marks[1:]):
            steps[name].append(b - a)
        totals.append(marks[-1] - marks[0])
        n_waiting, n_recent = len(candidates), len(recent)

    # A whole tick: one due slot per run (the clock moves a day each time), ledger rows written,
    # the claimed thread given back instead of posted.
    def give_back(item, account, should_stop):
        store.release(item.publication_id, clock.now(), "benchmark")
        return PublishOutcome("approved", 0, "benchmark")

    schedule_file = tmp / "schedule.yaml"
    schedule_file.write_text(SCHEDULE, encoding="utf-8")
    first_slot = dt.datetime.combine(NOW.date() + dt.timedelta(days=1), dt.time(9), tzinfo=dt.timezone.utc)
    clock = ManualClock(first_slot)
    daemon = Daemon(watcher=ScheduleWatcher(schedule_file), store=store, publish=give_back, ingest=None,
                    ledger=SlotLedger(db), clock=clock, environ={"X_API_KEY": "k", "X_API_SECRET": "s",
                                                                "X_ACCESS_TOKEN": "t", "X_ACCESS_TOKEN_SECRET": "u"})
    ticks = []
    for i in range(repeat):
        clock.set(first_slot + dt.timedelta(days=i))
        start = time.perf_counter()
        (outcome,) = daemon.tick()
        ticks.append(time.perf_counter() - start)
        assert outcome.outcome == "approved", outcome
    outbox.close()

    print(f"\nthe daemon's slot path (in-process, median of {repeat}; target <= {CLAIM_TARGET * 1000:.0f} ms):")
    for name, values in steps.items():
        if name == "continuing":
            continue
        extra = (f"  ({n_waiting} waiting threads)" if name.startswith("waiting")
                 else f"  ({n_recent} posts)" if name.startswith("post_times") else "")
        print(f"  {name:<34} {statistics.median(values) * 1000:7.1f} ms{extra}")
    total, tick = statistics.median(totals), statistics.median(ticks)
    cont = statistics.median(steps["continuing"])
    print(f"  {'slot decision + claim (sum)':<34} {total * 1000:7.1f} ms  {total / CLAIM_TARGET:.2f} of target")
    print(f"  {'Daemon.tick() with ledger writes':<34} {tick * 1000:7.1f} ms  {tick / CLAIM_TARGET:.2f} of target")
    print(f"  {'continuing (every scan)':<34} {cont * 1000:7.1f} ms  {cont / CLAIM_TARGET:.2f} of target")
    return {"tick: slot decision + claim (sum)": total, "tick: Daemon.tick() with ledger writes": tick,
            "tick: continuing (every scan)": cont}


if __name__ == "__main__":
    main()
