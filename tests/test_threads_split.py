"""Where posts may be split: sentence, then clause, then word; never inside protected text."""

from __future__ import annotations

import pytest

from publisher.lengths import CLAUSE, SENTENCE, WORD, break_points, measure, protected_spans, split_to_fit


def test_levels_of_break_points():
    text = "One sentence here. Then a clause, and more words; end."
    found = {text[:i].rstrip(): lvl for i, lvl in break_points(text)}
    assert found["One sentence here."] == SENTENCE
    assert found["One sentence here. Then a clause,"] == CLAUSE
    assert found["One sentence here. Then a clause, and more words;"] == CLAUSE
    assert found["One sentence here. Then a"] == WORD


def test_chinese_breaks_between_characters_and_after_punctuation():
    text = "可灵支持生成视频，主打一键转化。人人都能申请"
    found = dict(break_points(text))
    assert found[text.index("，") + 1] == CLAUSE
    assert found[text.index("。") + 1] == SENTENCE
    assert found[1] == WORD


@pytest.mark.parametrize("protected", ["https://example.com/a,b;c.d?x=1,2", "kling.com/a,b", "2.5%", "1,080", "Patrick Cederberg",
                                       "Stability AI", "Emad Mostaque"])
def test_never_inside_protected_text(protected):
    text = f"Before the thing, {protected} and after it."
    start = text.index(protected)
    for i, _ in break_points(text):
        assert not (start < i < start + len(protected)), (protected, text[:i])


def test_glossary_terms_are_protected():
    text = "we met the Synced review team today"
    assert any(s < text.index("review") < e for s, e in protected_spans(text, ["synced review team"]))
    assert all(not (text.index("Synced") < i < text.index("today") - 1)
               for i, _ in break_points(text, ["synced review team"]))


def test_split_prefers_sentences_and_loses_nothing():
    text = ("Kling is a video model. It was launched by Kuaishou, which is a large company, "
            "and it generates two-minute videos.")
    pieces = split_to_fit(text, lambda p, i: measure("x", p) <= 60)
    assert pieces[0] == "Kling is a video model."
    assert " ".join(pieces) == text
    assert all(measure("x", p) <= 60 for p in pieces)


def test_split_passes_piece_index_and_reports_impossible():
    seen = []
    split_to_fit("a b c d e f", lambda p, i: seen.append(i) or len(p) <= 3)
    assert set(seen) == {0, 1, 2}
    assert split_to_fit("x" * 50, lambda p, i: len(p) <= 10) is None
