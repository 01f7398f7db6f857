"""publisher.testing: the public fakes, and one ScheduleStore contract that the in-memory store and
the real one (the daemon's OutboxStore over a real Outbox on a SQLite file) both pass."""

from __future__ import annotations

import datetime as dt

import pytest

from factories import store
from publisher.daemon.wiring import OutboxStore
from publisher.schedule.store import ScheduleStore
from publisher.queue.outbox import Outbox
from publisher.platforms.base import PostRef
from publisher.testing import FakeTranslator, ManualClock, MemoryScheduleStore

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def later(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


class MemoryDriver:
    """Sets up and drives the in-memory store."""

    def __init__(self):
        self.store = MemoryScheduleStore()

    def add(self, n_posts: int, platform: str = "x", *, at: dt.datetime | None = None) -> int:
        return self.store.add(n_posts, platform, state="scheduled" if at else "approved", at=at or T0)

    def post(self, pid: int, now: dt.datetime) -> None:
        self.store.post(pid, now)


class OutboxDriver:
    """Sets up and drives the real queue, through the Outbox API the publish step uses."""

    def __init__(self, outbox, folder):
        self.outbox, self.folder, self.n = outbox, folder, 0
        self.store = OutboxStore(outbox)

    def add(self, n_posts: int, platform: str = "x", *, at: dt.datetime | None = None) -> int:
        self.n += 1
        pid = store(self.outbox, self.folder, f"a{self.n}.md", n_posts=n_posts, platforms=(platform,),
                    body=f"第{self.n}篇文章。快手发布了视频生成大模型可灵。").publications[0]
        self.outbox.approve(pid, at=at, now=T0)
        return pid

    def post(self, pid: int, now: dt.datetime) -> None:
        index = self.outbox.get(pid).posted_count
        self.outbox.begin_post(pid, index, now=now)
        self.outbox.record_post(pid, index, PostRef(id=f"{pid}-{index}"), now=now)


@pytest.fixture(params=["memory", "outbox"])
def driver(request, tmp_path):
    if request.param == "memory":
        return MemoryDriver()
    outbox = Outbox.open(tmp_path / "queue.db")  # a real SQLite file
    request.addfinalizer(outbox.close)
    return OutboxDriver(outbox, tmp_path / "in")


def ids(items) -> list[tuple[int, int, int]]:
    return [(q.publication_id, q.posts, q.posted) for q in items]


def test_both_stores_have_every_method_of_the_protocol_with_its_parameters(driver):
    import inspect

    names = [n for n, v in vars(ScheduleStore).items() if callable(v) and not n.startswith("_")]
    assert len(names) == 8
    for name in names:
        want = list(inspect.signature(getattr(ScheduleStore, name)).parameters)[1:]
        have = inspect.signature(getattr(driver.store, name)).parameters
        assert list(have)[:len(want)] == want, name  # the protocol's parameters, in order
        extra = list(have.values())[len(want):]
        assert all(p.default is not inspect.Parameter.empty for p in extra), name  # more only if optional


def test_waiting_threads_in_order_per_platform(driver):
    first, second = driver.add(3), driver.add(2)
    other = driver.add(4, "mastodon")
    s = driver.store
    assert ids(s.waiting("x", later(1))) == [(first, 3, 0), (second, 2, 0)]
    assert ids(s.waiting("mastodon", later(1))) == [(other, 4, 0)]
    assert s.continuing("x", later(1)) == [] and s.waiting("bluesky", later(1)) == []
    assert s.recover(later(1)) == [] and s.account_problem("x", later(1)) is None
    assert s.platform_remaining("x", later(1)) is None


def test_a_claim_takes_it_out_of_line_once_and_a_release_puts_it_back(driver):
    first, second = driver.add(3), driver.add(2)
    s = driver.store
    assert s.claim(first, later(1), "slot") is True
    assert s.claim(first, later(1), "slot again") is True  # already this process's: the Outbox says so too
    assert ids(s.waiting("x", later(1))) == [(second, 2, 0)] and s.continuing("x", later(1)) == []
    s.release(first, later(2), "not started")
    assert ids(s.waiting("x", later(2))) == [(first, 3, 0), (second, 2, 0)]


def test_a_partly_posted_thread_continues_first_with_what_is_left(driver):
    first, second = driver.add(3), driver.add(2)
    s = driver.store
    assert s.claim(first, later(1), "slot")
    driver.post(first, later(1))
    s.release(first, later(2), "stopped between posts")
    assert ids(s.continuing("x", later(3))) == [(first, 2, 1)]
    assert ids(s.waiting("x", later(3))) == [(second, 2, 0)]
    assert s.post_times("x", T0) == [later(1)] and s.post_times("x", later(1)) == []
    assert s.post_times("mastodon", T0) == []


def test_a_whole_thread_posted_leaves_the_queue(driver):
    pid = driver.add(2)
    s = driver.store
    assert s.claim(pid, later(1), "slot")
    driver.post(pid, later(1))
    driver.post(pid, later(2))
    assert s.waiting("x", later(3)) == [] and s.continuing("x", later(3)) == []
    assert s.claim(pid, later(3), "again") is False
    assert s.post_times("x", T0) == [later(1), later(2)]


def test_a_thread_scheduled_for_a_time_continues_only_once_it_comes(driver):
    pid = driver.add(2, at=later(60))
    s = driver.store
    assert s.waiting("x", later(30)) == [] and s.continuing("x", later(30)) == []
    assert ids(s.continuing("x", later(60))) == [(pid, 2, 0)]
    assert s.waiting("x", later(61)) == []


def test_claiming_an_unknown_publication_is_refused(driver):
    driver.add(1)
    assert driver.store.claim(999, later(1), "slot") is False


def test_manual_clock_moves_only_when_told():
    clock = ManualClock(T0)
    assert clock.now() == T0 and clock.advance(minutes=5) == later(5) == clock.now()
    clock.set(later(-10))
    assert clock.now() == later(-10)


def test_fake_translator_is_the_pipelines_fake_and_marks_what_it_does_not_know():
    from publisher.translate.base import FakeTranslator as Where

    assert FakeTranslator is Where
    fake = FakeTranslator({"你好。": "Hello."})
    assert fake.translate_sentences(["你好。", "再见。"]) == ["Hello.", "[zh] 再见。"]
    assert fake.calls == [["你好。", "再见。"]]


def test_the_memory_store_refuses_what_the_queue_would_not_hold():
    s = MemoryScheduleStore()
    with pytest.raises(ValueError):
        s.add(2, state="posted")
    with pytest.raises(ValueError):
        s.add(2, state="scheduled")  # no time
    pid = s.add(2)
    with pytest.raises(ValueError):
        s.post(pid, T0)  # not claimed
    s.problems["x"] = "blocked: 401"
    assert s.waiting("x", T0) == [] and s.account_problem("x", T0) == "blocked: 401"


def test_the_memory_store_takes_ids_and_half_posted_threads_as_given():
    s = MemoryScheduleStore()
    assert s.add(3, publication_id=7, posted=1, thread_id=107) == 7
    (item,) = s.continuing("x", T0)
    assert (item.publication_id, item.posts, item.posted, item.thread_id) == (7, 2, 1, 107)
    with pytest.raises(ValueError):
        s.add(1, publication_id=7)
    with pytest.raises(ValueError):
        s.add(2, posted=2)
    s.withdraw(7)
    assert s.continuing("x", T0) == [] and s.claim(7, T0, "slot") is False and s.state(7) == "draft"
