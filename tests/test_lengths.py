"""Per-platform counting, checked against cases worked out from each platform's rules."""

import pytest

from publisher.lengths import fits, measure, problem


@pytest.mark.parametrize(
    "text, expected",
    [
        ("hello", 5),
        ("可灵", 4),  # CJK weighs 2
        ("see https://kling.kuaishou.com/some/very/long/path/that/goes/on", 4 + 23),
        ("kling.com", 23),  # X counts bare domains as links too
        ("😀", 2),
        ("👨‍👩‍👧‍👦", 2),  # one emoji sequence
        ("e\u0301", 1),  # NFC: é
    ],
)
def test_x_weighted_length(text, expected):
    assert measure("x", text) == expected


def test_x_limit():
    assert fits("x", "a" * 280)
    assert not fits("x", "a" * 281)
    assert fits("x", "可" * 140)
    assert "over the x limit of 280" in problem("x", "可" * 141)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("可灵", 2),
        ("https://example.com/" + "a" * 100, 23),
        ("kling.com", 9),  # Mastodon links only URLs with a scheme
        ("👨‍👩‍👧‍👦", 1),
        ("@user@mastodon.social hi", len("@user hi")),
    ],
)
def test_mastodon_length(text, expected):
    assert measure("mastodon", text) == expected


def test_bluesky_counts_urls_in_full_and_bytes():
    url = "https://example.com/" + "a" * 100
    assert measure("bluesky", url) == len(url)
    assert measure("bluesky", "👨‍👩‍👧‍👦可灵") == 3
    assert fits("bluesky", "a" * 300) and not fits("bluesky", "a" * 301)


def test_unknown_platform():
    with pytest.raises(ValueError):
        measure("myspace", "hi")
