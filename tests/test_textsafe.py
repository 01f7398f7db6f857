"""Control and bidi characters (#11): never printed to the terminal, never in a post, never
taken from model output; what Chinese, English and emoji need is kept."""

from __future__ import annotations

import logging

from conftest import run_cli, subprocess_env
from factories import article, fake_translate, write_article
from publisher.threads.layout import build_threads
from publisher.textsafe import clean, for_terminal
from publisher.translate.base import FakeTranslator
from publisher.translate.article import translate_article

OSC = "\x1b]0;pwned\x07"
RLO = "\u202e"
KEEP = "快手发布了可灵 Kling 👩‍💻 🏳️‍🌈 🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f é"


def test_clean_removes_controls_and_bidi_and_keeps_what_text_needs():
    assert clean(KEEP) == KEEP
    assert clean(f"a{OSC}b{RLO}c\u2066d\u2069\x85e\u200ff\u2028g") == "a]0;pwnedbcdef\ng"
    assert clean("line one\nline\ttwo") == "line one\nline\ttwo"


def test_for_terminal_shows_them_as_question_marks():
    assert for_terminal(f"osc{OSC}.md") == "osc?]0;pwned?.md"
    assert for_terminal(f"{RLO}gpj.exe") == "?gpj.exe"
    assert for_terminal(KEEP) == KEEP


def test_posts_carry_no_control_or_bidi_character(tmp_path):
    source = article(f"---\ntitle: 快手{RLO}发布\nauthor: 张\x9b三\nurl: https://example.com/a\n---\n\n"
                     f"快手发布了{RLO}可灵。\u2067它可以生成视频。\u2069\n")
    threads = build_threads(fake_translate(source, {"快手发布了可灵。": f"Kuaishou {RLO}released Kling.\x1b[2J"}),
                            ("x", "mastodon", "bluesky"))
    for thread in threads.values():
        for post in thread.posts:
            assert clean(post.text) == post.text, repr(post.text)
            assert "\x1b" not in post.text and RLO not in post.text


def test_model_output_is_cleaned_before_it_is_used_or_cached(tmp_path):
    source = article("---\ntitle: 快手\n---\n\n快手发布了可灵。\n")
    translator = FakeTranslator({"Kuaishou 发布了 Kling。": f"Kuaishou{OSC} released{RLO} Kling."})
    translated = translate_article(source, translator)
    assert "Kuaishou]0;pwned released Kling." in translated.markdown  # the phrasebook answered
    assert OSC not in translated.markdown and RLO not in translated.markdown
    assert "\x1b" not in translated.markdown and "\x07" not in translated.markdown


def test_cli_never_prints_an_escape_sequence_from_a_file_name(tmp_path):
    inbox = tmp_path / "in"
    write_article(inbox, f"osc{OSC}.md")
    env = subprocess_env(PUBLISHER_DB=str(tmp_path / "q.db"), PUBLISHER_MODELS_DIR=str(tmp_path / "none"))
    outputs = [run_cli("preview", str(inbox), env=env, cwd=tmp_path),
               run_cli("ingest", str(inbox), env=env, cwd=tmp_path),
               run_cli("preview", str(inbox / f"gone{OSC}.md"), env=env, cwd=tmp_path)]
    for proc in outputs:
        text = proc.stdout + proc.stderr
        assert "\x1b" not in text and "\x07" not in text, text
    assert "osc?]0;pwned" in outputs[0].stdout + outputs[0].stderr
    assert "gone?]0;pwned?.md" in outputs[2].stderr


def test_daemon_log_lines_show_control_characters_as_question_marks(capsys):
    from publisher.daemon.runtime import setup_logging

    setup_logging()
    logging.getLogger("publisher.test").error("ingest %s: bad", f"/in/osc{OSC}.md")
    err = capsys.readouterr().err
    assert "\x1b" not in err and "/in/osc?]0;pwned?.md: bad" in err
