"""Translators for the isolation tests, built inside the worker process (module-level, picklable).

``make_crashing()`` dies for real (``os.abort()``, SIGABRT, as CTranslate2 does on an input it
cannot take) on a sentence containing 崩溃, hangs on one containing 卡住, and otherwise answers
``EN:<sentence>``."""

from __future__ import annotations

import os
import time


class Crashing:
    name = "crashing"
    version = "1"

    def translate_sentences(self, sentences):
        for s in sentences:
            if "崩溃" in s:
                os.abort()
            if "卡住" in s:
                time.sleep(3600)
        return [f"EN:{s}" for s in sentences]


def make_crashing():
    return Crashing()
