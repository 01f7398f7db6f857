"""Hostile input (#11): how long the worst cases take, against the baseline before #11.

    python benchmarks/hostile.py

Each case runs in a subprocess with a time-out (before #11 some aborted the interpreter or ran
for minutes). Prints seconds and peak memory (ru_maxrss) per case, the target, and the ratio
against the baseline measured on the code before #11 (commit 35491c4, same machine, 60 s cap;
">60" means it had not finished).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CASES = {
    "x_length of 30 KB of 'a.a.a…'": 'from publisher import lengths; lengths.x_length("a." * 15000)',
    "split_to_fit of a 100 KB paragraph": (
        'from publisher import lengths; s = "The model from Kuaishou makes clips of 1080p at 30 fps, and users can '
        'apply today " * 1300; lengths.split_to_fit(s[:100000], lambda p, i: lengths.x_length(p) <= 280)'),
    "shorten a 10 KB title": (
        'from publisher import lengths; from publisher.threads.fit import shorten; t = ("Kuaishou releases Kling, a '
        'text-to-video model that makes two-minute clips " * 140)[:10000]; shorten(t, lambda x: '
        'lengths.x_length("Original: " + x + "\\nMachine-translated.") <= 280)'),
}
#: seconds before #11 (35491c4), ">60" = still running at the 60 s cap
BASELINE = {"x_length of 30 KB of 'a.a.a…'": 60.0, "split_to_fit of a 100 KB paragraph": 60.0,
            "shorten a 10 KB title": 60.0}
TARGET = 1.0


def run(code: str) -> tuple[float, int, int]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-W", "ignore", "-c", code], env=env, timeout=120,
                              capture_output=True)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        rc = -1
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(peak, before), rc


def main() -> None:
    print(f"{'case':40} {'seconds':>8} {'peak MB':>8} {'target':>7} {'baseline':>9} {'speed-up':>9}")
    for name, code in CASES.items():
        elapsed, peak_kb, rc = run(code)
        base = BASELINE[name]
        status = "" if rc == 0 else f"  (exit {rc})"
        print(f"{name:40} {elapsed:8.2f} {peak_kb / 1024:8.1f} {TARGET:7.1f} {'>' + str(int(base)):>9} "
              f"{'>' + format(base / elapsed, '.0f') + 'x':>9}{status}")


if __name__ == "__main__":
    main()
