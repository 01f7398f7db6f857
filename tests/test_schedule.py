"""schedule.yaml: validation with file:line:key errors, slot maths across DST, quotas, misfires."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from conftest import ROOT, run_cli, subprocess_env
from publisher.errors import ConfigError
from publisher.clock import parse_duration
from publisher.schedule.config import UTC, ScheduleError, load_schedule, parse_schedule
from publisher.schedule.slots import (
    Slot,
    next_occurrence,
    next_slots,
    parse_instant,
    plan_due,
    quota_frees_at,
    remaining_quota,
    resolve_local,
    slots_between,
)

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def sched(body: str, path: str = "schedule.yaml"):
    return parse_schedule(textwrap.dedent(body), path)


def problems(body: str) -> list[str]:
    with pytest.raises(ScheduleError) as info:
        sched(body)
    return info.value.problems


def one_platform(zone: str, times: str, days: str = "daily", extra: str = "") -> str:
    return f"""
        timezone: {zone}
        {extra}
        platforms:
          x:
            slots:
              - days: {days}
                times: {times}
        """


# --- the example file and loading -------------------------------------------------------------


def test_example_schedule_in_the_repository_is_valid():
    schedule = load_schedule(ROOT / "schedule.yaml")
    assert schedule.timezone == "Asia/Shanghai"
    assert [s.path.as_posix().rstrip("/") for s in schedule.sources] == ["seeds", "inbox"]
    assert {"x", "mastodon", "bluesky"} <= set(schedule.platforms)
    assert schedule.quota_for("x") == 17
    assert schedule.credential_env("x")["api_key"] == "X_API_KEY"
    assert schedule.source_dir(schedule.sources[0]) == ROOT / "seeds"
    assert schedule.active_platforms()  # something actually posts
    text = (ROOT / "schedule.yaml").read_text(encoding="utf-8")
    assert text.count("#") > 20  # commented


def test_defaults():
    s = sched("""
        timezone: Europe/Berlin
        platforms:
          x: {slots: [{times: ["09:00"]}]}
          mastodon: {slots: [{times: ["10:00"]}]}
        """)
    assert s.misfire == "catch_up_one"
    assert s.quota_for("x") == 17  # the X free tier
    assert s.quota_for("mastodon") is None
    assert s.platforms["x"].slots[0].days == tuple(range(7))
    assert s.credential_env("mastodon") == {"instance": "MASTODON_API_BASE_URL", "access_token": "MASTODON_ACCESS_TOKEN"}


def test_unknown_keys_are_refused_with_line_and_suggestion():
    found = problems("""
        timezone: UTC
        platforms:
          x:
            accounts:
              main:
                daily_qouta: 5
            slots:
              - days: daily
                time: ["09:00"]
        misfir: skip
        """)
    assert "schedule.yaml:7: platforms.x.accounts.main.daily_qouta: unknown key (did you mean 'daily_quota'?)" in found
    assert any(p.startswith("schedule.yaml:10: platforms.x.slots[0].time: unknown key (did you mean 'times'?)")
               for p in found), found
    assert any(p.startswith("schedule.yaml:11: misfir: unknown key (did you mean 'misfire'?)") for p in found), found


def test_every_problem_is_reported_on_its_own_line():
    with pytest.raises(ScheduleError) as info:
        sched("""
            timezone: Mars/Olympus
            misfire: sometimes
            min_gap: soon
            """)
    text = str(info.value)
    assert len(info.value.problems) == 3
    assert text.count("\nerror: ") == 2  # the CLI adds the first "error: "
    assert "schedule.yaml:2: timezone: unknown time zone 'Mars/Olympus'" in text
    assert "schedule.yaml:3: misfire: " in text and "catch_up_one" in text
    assert "schedule.yaml:4: min_gap: expected a duration" in text


@pytest.mark.parametrize("body, expected", [
    ("misfire: skip\n", "schedule.yaml:1: timezone: required key is missing"),
    ("timezone: Asia/Shangai\n", "did you mean Asia/Shanghai?"),
    ("timezone: UTC+8\n", "offsets like UTC+8 are not zones"),
    ("timezone: UTC\ntimezone: UTC\n", "schedule.yaml:2: timezone: duplicate key (first on line 1)"),
    ("timezone: UTC\nplatforms: [\n", "schedule.yaml:3: invalid YAML"),
    ("- a\n", "schedule.yaml:1: the file must be a mapping"),
    ("", "the file is empty"),
    ("timezone: UTC\nsources:\n  - path: in\n    platforms: [x]\n",
     "schedule.yaml:4: sources[0].platforms[0]: platform 'x' is not configured under platforms:"),
    ("timezone: UTC\nsources:\n  - path: in\n    platforms: [x, myspace]\n", "'myspace' is not a platform"),
    ("timezone: UTC\nplatforms:\n  x:\n    accounts:\n      a: {}\n      b: {}\n",
     "schedule.yaml:5: platforms.x.accounts: 2 accounts are enabled (a, b)"),
    ("timezone: UTC\nplatforms:\n  mastodon:\n    accounts:\n      m:\n        env: {api_key: FOO}\n",
     "schedule.yaml:6: platforms.mastodon.accounts.m.env.api_key: unknown credential for mastodon"),
    # the bound ThreadOptions enforces, refused at load time rather than at every build
    ("timezone: UTC\nplatforms:\n  x:\n    max_characters: 55\n",
     "schedule.yaml:4: platforms.x.max_characters: Input should be greater than or equal to 60"),
    ("timezone: UTC\nplatforms:\n  x:\n    max_characters: 100001\n",
     "schedule.yaml:4: platforms.x.max_characters: Input should be less than or equal to 100000"),
    ("timezone: UTC\nplatforms:\n  x:\n    accounts:\n      a: {daily_quota: 0}\n",
     "schedule.yaml:5: platforms.x.accounts.a.daily_quota: Input should be greater than 0"),
    ("timezone: UTC\nplatforms:\n  x:\n    slots:\n      - days: [mon, funday]\n        times: ['9:00']\n",
     "schedule.yaml:5: platforms.x.slots[0].days: 'funday' is not a day of the week"),
    ("timezone: UTC\nplatforms:\n  x:\n    slots:\n      - times: ['24:00']\n",
     "schedule.yaml:5: platforms.x.slots[0].times: expected a 24-hour time"),
    ("timezone: UTC\nquiet_hours: {start: '22:00', end: '07:00'}\nplatforms:\n  x:\n    slots:\n"
     "      - times: ['08:00', '23:15']\n",
     "schedule.yaml:6: platforms.x.slots[0].times[1]: 23:15 falls in the quiet hours (22:00–07:00)"),
    ("timezone: UTC\nquiet_hours: {start: '22:00', end: '22:00'}\n", "quiet hours would be empty"),
    ("timezone: UTC\nmin_gap: 25h\n", "schedule.yaml:2: min_gap: must be at most 24h"),
    ("timezone: UTC\nscan_every: 0s\n", "scan_every: must be at least 1s"),
])
def test_bad_values_name_line_and_key(body, expected):
    text = "\n".join(problems(body))
    assert expected in text


@pytest.mark.parametrize("secret", [
    "AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI",  # bearer-token shape
    "xvz1evFS4wEEPTGEFPHBog",  # consumer-key shape (mixed case)
    "abcd-efgh-ijkl-mnop",  # a Bluesky app password
    "ZK4HQWT7NM2RXP9LB3VC8D",  # upper-case, no separator
])
def test_a_secret_in_the_file_is_refused_without_repeating_it(secret):
    with pytest.raises(ScheduleError) as info:
        sched(f"""
            timezone: UTC
            platforms:
              x:
                accounts:
                  main:
                    env:
                      api_key: X_API_KEY
                      api_secret: "{secret}"
            """)
    text = str(info.value)
    assert "schedule.yaml:9: platforms.x.accounts.main.env.api_secret: this looks like a secret" in text
    assert secret not in text


def test_credentials_are_read_only_by_name_and_reported_missing_by_name():
    s = sched("""
        timezone: UTC
        platforms:
          x:
            accounts:
              main:
                env: {api_key: MY_KEY, api_secret: MY_SECRET}
            slots: [{times: ["09:00"]}]
        """)
    env = {"MY_KEY": "k", "MY_SECRET": "s", "X_ACCESS_TOKEN": "t"}
    assert s.missing_credentials("x", env) == ["X_ACCESS_TOKEN_SECRET"]
    env["X_ACCESS_TOKEN_SECRET"] = "  "  # blank counts as missing
    assert s.missing_credentials("x", env) == ["X_ACCESS_TOKEN_SECRET"]
    env["X_ACCESS_TOKEN_SECRET"] = "ts"
    assert s.missing_credentials("x", env) == []


def test_unquoted_times_are_not_read_as_base_60_numbers():
    # YAML 1.1 reads 12:30 as 750; the loader keeps it as the time it looks like.
    s = sched(one_platform("UTC", "[12:30, 09:05, 7:45:30]"))
    assert s.platforms["x"].slots[0].times == (dt.time(7, 45, 30), dt.time(9, 5), dt.time(12, 30))


@pytest.mark.parametrize("days, expected", [
    ("daily", (0, 1, 2, 3, 4, 5, 6)),
    ("weekdays", (0, 1, 2, 3, 4)),
    ("weekends", (5, 6)),
    ("mon-wed", (0, 1, 2)),
    ("fri-mon", (0, 4, 5, 6)),
    ("[Monday, thu, SUN]", (0, 3, 6)),
])
def test_days(days, expected):
    assert sched(one_platform("UTC", '["09:00"]', days)).platforms["x"].slots[0].days == expected


@pytest.mark.parametrize("text, seconds", [(90, 90), ("90s", 90), ("10m", 600), ("2h", 7200),
                                           ("1h30m", 5400), ("1d", 86400), ("10min", 600)])
def test_durations(text, seconds):
    assert parse_duration(text) == dt.timedelta(seconds=seconds)


def test_missing_file_and_relative_sources(tmp_path):
    with pytest.raises(ScheduleError, match="no such file"):
        load_schedule(tmp_path / "nope.yaml")
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "schedule.yaml").write_text(
        "timezone: UTC\nsources:\n  - {path: inbox, platforms: [x]}\n  - {path: /abs/in, platforms: [x]}\n"
        "platforms: {x: {}}\n", encoding="utf-8")
    s = load_schedule(conf / "schedule.yaml")
    assert s.source_dir(s.sources[0]) == conf / "inbox"
    assert s.source_dir(s.sources[1]) == Path("/abs/in")


def test_cli_reports_a_bad_schedule_in_one_line_per_problem(tmp_path):
    bad = tmp_path / "schedule.yaml"
    bad.write_text("timezone: Europe/Berlin\nplatforms:\n  x:\n    slots:\n      - times: ['9:00']\n"
                   "        dayz: daily\n", encoding="utf-8")
    for args in (["schedule"], ["run", "--once"]):
        proc = run_cli(*args, "--schedule", str(bad))
        assert proc.returncode == 1, proc.stderr
        assert f"error: {bad}:6: platforms.x.slots[0].dayz: unknown key (did you mean 'days'?)" in proc.stderr
        assert "Traceback" not in proc.stderr


# --- local time to instant: the DST rules -------------------------------------------------------


@pytest.mark.parametrize("zone, day, wall, expected_utc, expected_local", [
    # spring forward: the local time does not exist -> the first valid instant after the gap
    (NY, dt.date(2024, 3, 10), dt.time(2, 30), utc(2024, 3, 10, 7, 0), "03:00-0400"),
    (NY, dt.date(2024, 3, 10), dt.time(2, 0), utc(2024, 3, 10, 7, 0), "03:00-0400"),
    (BERLIN, dt.date(2024, 3, 31), dt.time(2, 30), utc(2024, 3, 31, 1, 0), "03:00+0200"),
    (SHANGHAI, dt.date(1986, 5, 4), dt.time(2, 30), utc(1986, 5, 3, 18, 0), "03:00+0900"),
])
def test_nonexistent_local_time_posts_at_the_first_valid_instant_after(zone, day, wall, expected_utc,
                                                                          expected_local):
    r = resolve_local(day, wall, zone)
    assert r.at == expected_utc
    assert r.at.astimezone(zone).strftime("%H:%M%z") == expected_local
    assert r.note and "nonexistent" in r.note


@pytest.mark.parametrize("zone, day, wall, expected_utc, offset", [
    # fall back: the local time happens twice -> the first occurrence (fold=0, summer time)
    (NY, dt.date(2024, 11, 3), dt.time(1, 30), utc(2024, 11, 3, 5, 30), "-04:00"),
    (BERLIN, dt.date(2024, 10, 27), dt.time(2, 30), utc(2024, 10, 27, 0, 30), "+02:00"),
    (SHANGHAI, dt.date(1986, 9, 14), dt.time(1, 30), utc(1986, 9, 13, 16, 30), "+09:00"),
])
def test_ambiguous_local_time_posts_at_the_first_occurrence(zone, day, wall, expected_utc, offset):
    r = resolve_local(day, wall, zone)
    assert r.at == expected_utc
    assert r.at.astimezone(zone).isoformat().endswith(offset)
    assert r.note and "ambiguous" in r.note
    # the second occurrence is an hour later and is NOT used
    second = dt.datetime.combine(day, wall).replace(tzinfo=zone, fold=1).astimezone(UTC)
    assert second - r.at == dt.timedelta(hours=1)


def test_ordinary_local_times_have_no_note():
    r = resolve_local(dt.date(2024, 6, 14), dt.time(9), SHANGHAI)
    assert r == type(r)(utc(2024, 6, 14, 1, 0), None)


@pytest.mark.parametrize("zone, before, after", [
    ("America/New_York", (utc(2024, 3, 9, 14), "09:00-05:00"), (utc(2024, 3, 11, 13), "09:00-04:00")),
    ("Europe/Berlin", (utc(2024, 10, 26, 7), "09:00+02:00"), (utc(2024, 10, 28, 8), "09:00+01:00")),
])
def test_slots_keep_their_local_wall_clock_time_across_dst(zone, before, after):
    s = sched(one_platform(zone, '["09:00"]'))
    start = before[0] - dt.timedelta(hours=1)
    slots = list(next_slots(s, start, limit=3))
    assert [sl.local.strftime("%H:%M") for sl in slots] == ["09:00"] * 3
    assert slots[0].at == before[0] and slots[0].local.isoformat().endswith(before[1][-6:])
    assert slots[2].at == after[0] and slots[2].local.isoformat().endswith(after[1][-6:])
    # the UTC instant moved by an hour; the local time did not
    assert abs((slots[2].at - slots[0].at) - dt.timedelta(days=2)) == dt.timedelta(hours=1)


def test_shanghai_slots_are_fixed_in_utc_all_year():
    s = sched(one_platform("Asia/Shanghai", '["09:00", "21:30"]'))
    slots = list(next_slots(s, utc(2024, 1, 1), until=utc(2025, 1, 1)))
    assert len(slots) == 366 * 2
    assert {sl.at.strftime("%H:%M") for sl in slots} == {"01:00", "13:30"}


def test_slot_on_a_transition_day_occurs_exactly_once():
    # New York, daily 01:30 and 02:30: on the spring day 02:30 moves to 03:00; on the fall day
    # 01:30 is used once (not twice).
    s = sched(one_platform("America/New_York", '["01:30", "02:30"]'))
    spring = list(next_slots(s, utc(2024, 3, 10, 0), until=utc(2024, 3, 11, 0)))
    assert [sl.local.strftime("%H:%M %z") for sl in spring] == ["01:30 -0500", "03:00 -0400"]
    assert spring[1].wall == dt.time(2, 30) and "nonexistent" in spring[1].note
    fall = list(next_slots(s, utc(2024, 11, 3, 0), until=utc(2024, 11, 4, 0)))
    assert [sl.local.strftime("%H:%M %z") for sl in fall] == ["01:30 -0400", "02:30 -0500"]


def test_days_and_platforms_and_ordering():
    s = sched("""
        timezone: Europe/Berlin
        platforms:
          x:
            slots:
              - {days: weekdays, times: ["08:30", "19:00"]}
              - {days: weekends, times: ["11:00"]}
          mastodon:
            slots: [{days: [sat], times: ["08:30"]}]
          bluesky:
            enabled: false
            slots: [{times: ["10:00"]}]
        """)
    # Friday 2024-06-14 12:00 CEST
    slots = list(next_slots(s, utc(2024, 6, 14, 10), limit=5))
    assert [(sl.platform, sl.local.strftime("%a %H:%M")) for sl in slots] == [
        ("x", "Fri 19:00"), ("mastodon", "Sat 08:30"), ("x", "Sat 11:00"), ("x", "Sun 11:00"), ("x", "Mon 08:30")]
    assert all(isinstance(sl, Slot) for sl in slots)
    assert "bluesky" not in {sl.platform for sl in next_slots(s, utc(2024, 6, 14), limit=20)}


def test_slots_between_is_exclusive_at_start_and_inclusive_at_end():
    s = sched(one_platform("UTC", '["09:00", "12:00"]'))
    assert [sl.at for sl in slots_between(s, utc(2024, 6, 14, 9), utc(2024, 6, 14, 12))] == [utc(2024, 6, 14, 12)]
    assert slots_between(s, utc(2024, 6, 14, 12), utc(2024, 6, 14, 9)) == []


def test_naive_instants_are_refused():
    s = sched(one_platform("UTC", '["09:00"]'))
    with pytest.raises(ValueError, match="aware"):
        list(next_slots(s, dt.datetime(2024, 1, 1), limit=1))


@pytest.mark.slow
def test_property_one_slot_per_configured_day_at_its_wall_time():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    zones = st.sampled_from(["America/New_York", "Europe/Berlin", "Asia/Shanghai", "Australia/Lord_Howe"])

    @settings(max_examples=150, deadline=None)
    @given(zones, st.times(), st.datetimes(min_value=dt.datetime(1980, 1, 1), max_value=dt.datetime(2035, 1, 1)),
           st.sets(st.integers(0, 6), min_size=1))
    def check(zone_name, wall, start, days):
        wall = wall.replace(microsecond=0)
        zone = ZoneInfo(zone_name)
        times = f'["{wall.isoformat()}"]'
        day_list = "[" + ", ".join(["mon", "tue", "wed", "thu", "fri", "sat", "sun"][d] for d in sorted(days)) + "]"
        s = sched(one_platform(zone_name, times, day_list))
        after = start.replace(tzinfo=UTC)
        slots = list(next_slots(s, after, limit=15))
        assert all(b.at > a.at for a, b in zip(slots, slots[1:]))
        assert slots[0].at > after
        assert slots[0].at == next_occurrence(zone, tuple(sorted(days)), wall, after)
        for sl in slots:
            naive = sl.local.replace(tzinfo=None)
            if sl.note and "nonexistent" in sl.note:
                # the first valid instant after the gap: later the same day, within 3 hours
                assert dt.timedelta(0) < naive - dt.datetime.combine(naive.date(), wall) <= dt.timedelta(hours=3)
            else:
                assert sl.local.time() == wall
            assert sl.local.weekday() in days
        # every configured day between the first and the last slot has exactly one slot
        first, last = slots[0].local.date(), slots[-1].local.date()
        expected = sum(1 for i in range((last - first).days + 1)
                       if (first + dt.timedelta(days=i)).weekday() in days)
        assert len(slots) == expected
        assert len({sl.local.date() for sl in slots}) == len(slots)

    check()


def test_works_with_utc_system_zone_and_no_tz_database():
    # Only the tzdata package: an empty PYTHONTZPATH hides the system database from zoneinfo.
    code = textwrap.dedent("""
        import datetime as dt, time, zoneinfo
        assert zoneinfo.TZPATH == (), zoneinfo.TZPATH
        print("localtime", time.strftime("%Z"))
        from publisher.schedule.config import parse_schedule, UTC
        from publisher.schedule.slots import next_slots
        s = parse_schedule('timezone: America/New_York\\nplatforms: {x: {slots: [{times: ["02:30"]}]}}\\n')
        for slot in next_slots(s, dt.datetime(2024, 3, 9, tzinfo=UTC), limit=2):
            print(slot.at.isoformat(), slot.local.isoformat())
    """)
    env = subprocess_env(TZ="UTC", PYTHONTZPATH="")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.split("\n")
    assert lines[0] == "localtime UTC"
    assert lines[1] == "2024-03-09T07:30:00+00:00 2024-03-09T02:30:00-05:00"
    assert lines[2] == "2024-03-10T07:00:00+00:00 2024-03-10T03:00:00-04:00"  # the gap rule


# --- quotas --------------------------------------------------------------------------------------


def test_remaining_quota_counts_the_previous_rolling_24_hours():
    now = utc(2024, 6, 14, 12)
    posts = [now - dt.timedelta(hours=24),  # exactly 24 h ago: out of the window
             now - dt.timedelta(hours=23, minutes=59),  # in
             now - dt.timedelta(minutes=1), now,  # in
             now + dt.timedelta(minutes=1)]  # the future never counts
    assert remaining_quota(17, posts, now) == 14
    assert remaining_quota(2, posts, now) == 0  # never negative
    assert remaining_quota(None, posts, now) is None


def test_quota_frees_when_enough_old_posts_leave_the_window():
    now = utc(2024, 6, 14, 12)
    # 12 posts: a 6-post thread at 02:00, a 6-post one at 08:00 -> 5 left of 17
    posts = [utc(2024, 6, 14, 2)] * 6 + [utc(2024, 6, 14, 8)] * 6
    assert remaining_quota(17, posts, now) == 5
    assert quota_frees_at(17, posts, now, 5) == now
    assert quota_frees_at(17, posts, now, 6) == utc(2024, 6, 15, 2)  # when the 02:00 thread ages out
    assert quota_frees_at(17, posts, now, 17) == utc(2024, 6, 15, 8)
    assert quota_frees_at(17, posts, now, 18) is None  # more than a day's quota: never
    assert quota_frees_at(None, posts, now, 100) == now


def test_quota_frees_post_by_post_when_a_thread_went_out_over_several_minutes():
    # Posts of a thread go out one after another; the quota frees as each one ages out, so the
    # answer must be the exact post that lets `needed` fit (an off-by-one here posts too early).
    now = utc(2024, 6, 14, 12)
    posts = [utc(2024, 6, 14, 2, m) for m in (0, 1, 2, 3)]  # a 4-post thread, one post a minute
    assert remaining_quota(4, posts, now) == 0
    assert quota_frees_at(4, posts, now, 1) == utc(2024, 6, 15, 2, 0)
    assert quota_frees_at(4, posts, now, 2) == utc(2024, 6, 15, 2, 1)
    assert quota_frees_at(4, posts, now, 3) == utc(2024, 6, 15, 2, 2)
    assert quota_frees_at(4, posts, now, 4) == utc(2024, 6, 15, 2, 3)
    assert quota_frees_at(5, posts, now, 2) == utc(2024, 6, 15, 2, 0)
    assert quota_frees_at(5, posts, now, 1) == now


# --- misfires --------------------------------------------------------------------------------------


def _slots(*hours: int) -> list[Slot]:
    return [Slot("x", utc(2024, 6, 14, h), utc(2024, 6, 14, h), dt.time(h)) for h in hours]


def test_on_time_slot_runs_and_older_ones_are_missed():
    plan = plan_due(_slots(6, 9), utc(2024, 6, 14, 9, 5), policy="skip", grace=dt.timedelta(minutes=10))
    assert plan.run.at == utc(2024, 6, 14, 9) and not plan.late
    assert [s.at.hour for s in plan.missed] == [6]


@pytest.mark.parametrize("policy, runs", [("catch_up_one", True), ("skip", False)])
def test_missed_slots_catch_up_one_or_skip_never_a_burst(policy, runs):
    plan = plan_due(_slots(6, 9, 12), utc(2024, 6, 14, 15), policy=policy, grace=dt.timedelta(minutes=10))
    if runs:
        assert plan.run.at == utc(2024, 6, 14, 12) and plan.late
        assert [s.at.hour for s in plan.missed] == [6, 9]
    else:
        assert plan.run is None
        assert [s.at.hour for s in plan.missed] == [6, 9, 12]


def test_nothing_due():
    plan = plan_due([], utc(2024, 6, 14), policy="catch_up_one", grace=dt.timedelta(minutes=10))
    assert plan.run is None and plan.missed == ()


# --- --now -----------------------------------------------------------------------------------------


def test_parse_instant_reads_naive_times_in_the_schedule_zone():
    assert parse_instant("2024-06-14T09:00", SHANGHAI) == utc(2024, 6, 14, 1)
    assert parse_instant("2024-06-14 09:00", SHANGHAI) == utc(2024, 6, 14, 1)
    assert parse_instant("2024-06-14T09:00Z", SHANGHAI) == utc(2024, 6, 14, 9)
    assert parse_instant("2024-06-14T09:00-04:00", SHANGHAI) == utc(2024, 6, 14, 13)
    assert parse_instant("2024-03-10T02:30", NY) == utc(2024, 3, 10, 7)  # the gap rule again
    with pytest.raises(ConfigError, match="ISO 8601"):
        parse_instant("tomorrow", SHANGHAI)
